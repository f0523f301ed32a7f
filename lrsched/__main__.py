"""The command line: ``python -m lrsched {demo,gallery,table} ...``."""

from __future__ import annotations

import argparse
import sys
import time


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m lrsched",
        description="lrsched: learning-rate schedules as JAX pytree data. Commands:",
    )
    sub = p.add_subparsers(dest="command", required=True)
    from lrsched.demo import run as demo_run

    demo = sub.add_parser(
        "demo",
        help="the main job: a table of schedules, the PNG gallery, then the LR range test and one-cycle "
        "training on scikit-learn's digits",
        description="Print a table of schedules at sample steps and write the PNG gallery into OUT_DIR; then, on "
        "scikit-learn's digits, run the LR range test (several batch orders at once), print every suggestion "
        "rule, train an MLP with one-cycle at the suggested rate and with a constant rate for the same number of "
        "steps, print a table (steps, final accuracy, wall time) and save the plots into OUT_DIR.",
    )
    demo_run.add_demo_arguments(demo)
    demo.add_argument("--no-train", action="store_true", help="only the schedule table and the gallery")
    gallery = sub.add_parser("gallery", help="write one PNG per schedule and gallery.png (README pictures)")
    gallery.add_argument("out", nargs="?", default="docs/gallery", help="folder (default: docs/gallery)")
    sub.add_parser("table", help="print every gallery schedule at sample steps")
    return p


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    from lrsched.demo import gallery

    if args.command == "table":
        print(gallery.table())
        return 0
    if args.command == "gallery":
        paths = gallery.write_gallery(args.out)
        print(f"wrote {len(paths)} PNG files to {args.out}")
        return 0
    start = time.perf_counter()
    print(gallery.table())
    path = gallery.write_gallery(args.out_dir, singles=False)[0]
    print(f"\nwrote every schedule's curve to {path}")
    if not args.no_train:
        from lrsched.demo import run as demo_run

        demo_run.run_demo_from_args(args)
    print(f"\ndemo finished in {time.perf_counter() - start:.1f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
