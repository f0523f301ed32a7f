"""The command line: ``python -m lrsched {demo,plot,show,gallery,table} ...`` (also installed as ``lrsched``).

- ``demo``: the main job (:mod:`lrsched.demo.run`): the LR range test on
  scikit-learn's digits, then one vmapped sweep of one-cycle, cosine and constant
  schedules over peak rates.
- ``plot SPEC --steps N [--out FILE]`` and ``show SPEC --steps N``: look at your
  own schedule. SPEC is a JSON config file (from :func:`lrsched.to_config`) or a
  Python expression over lrsched's public names, such as
  ``"warmup(cosine(0.1, 900), 100)"``.
- ``gallery [--out DIR]``: a PNG of every schedule (the README's pictures).
- ``table``: every gallery schedule at sample steps.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from typing import Any

import numpy as np

SPEC_HELP = (
    "a JSON config file (lrsched.to_config written with json.dump), or a Python expression over lrsched's public "
    "names, e.g. \"warmup(cosine(0.1, 900), 100)\" or \"compat.torch.OneCycleLR(0.1, total_steps=1000)\". The "
    "expression is evaluated as Python, in a namespace holding only lrsched's public names and no builtins: that "
    "is a convenience, not a sandbox, so evaluate only expressions you would run yourself")

GALLERY_DIR = "lrsched-gallery"


def _namespace(spec: str) -> dict[str, Any]:
    """lrsched's public names (and ``compat`` when the expression uses it), no builtins."""
    import lrsched

    names: dict[str, Any] = {"__builtins__": {}}
    for name in dir(lrsched):
        value = getattr(lrsched, name)
        if not name.startswith("_") and callable(value):
            names[name] = value
    if "compat" in spec:
        import importlib
        import types

        mods = {m: importlib.import_module(f"lrsched.compat.{m}")
                for m in ("torch", "optax", "fastai", "transformers", "timm")}
        names["compat"] = types.SimpleNamespace(**mods)
    return names


def load_spec(spec: str) -> Any:
    """The schedule SPEC names: a JSON config file, or a Python expression over lrsched's public names.

    Args:
      spec: a path to an existing file holding a JSON config (:func:`lrsched.to_config`),
        or an expression such as ``"warmup(cosine(0.1, 900), 100)"``, evaluated as
        Python with only lrsched's public names in scope and no builtins (not a sandbox).

    Returns:
      The :class:`lrsched.Schedule`.

    Examples:
      >>> from lrsched.__main__ import load_spec
      >>> round(float(load_spec("constant(0.1) * 2")(0)), 6)
      0.2
    """
    import lrsched

    if os.path.isfile(spec):
        try:
            with open(spec) as f:
                config = json.load(f)
        except (OSError, json.JSONDecodeError) as e:
            raise ValueError(f"{spec}: not a readable JSON config ({e}); write one with "
                             "json.dump(lrsched.to_config(schedule), file)") from None
        return lrsched.from_config(config)
    if spec.endswith(".json"):
        raise ValueError(f"{spec}: no such file (a SPEC ending in .json is read as a config file)")
    try:
        schedule = eval(spec, _namespace(spec))  # noqa: S307 - documented: an expression the user writes
    except lrsched.ScheduleError:
        raise
    except Exception as e:  # noqa: BLE001 - any error of the expression is the user's to fix
        raise ValueError(f"could not evaluate the schedule expression {spec!r}: {type(e).__name__}: {e}. "
                         "Use lrsched's factories, e.g. \"warmup(cosine(0.1, 900), 100)\"") from None
    if not isinstance(schedule, lrsched.Schedule):
        raise ValueError(f"{spec!r} gave {type(schedule).__name__}, not a schedule; use lrsched's factories, e.g. "
                         "\"cosine(0.1, 1000)\"")
    return schedule


def _can_show(plt: Any) -> bool:
    """Whether the current backend opens a window (Agg, the headless fallback, does not)."""
    backend = str(plt.get_backend()).lower()
    try:
        from matplotlib.backends import BackendFilter, backend_registry

        batch = backend_registry.list_builtin(BackendFilter.NON_INTERACTIVE)
    except ImportError:  # matplotlib < 3.9
        from matplotlib import rcsetup

        batch = getattr(rcsetup, "non_interactive_bk", ["agg"])
    return backend not in {b.lower() for b in batch}


def _steps(n: int) -> int:
    if n < 1:
        raise ValueError(f"--steps must be >= 1; got {n}")
    return n


def _cmd_plot(args: argparse.Namespace) -> int:
    """``lrsched plot``: draw the schedule over ``0 .. steps-1``; save it to ``--out`` or show it."""
    import lrsched
    from lrsched.plot import _pyplot

    schedule = load_spec(args.spec)
    plt = _pyplot()
    if args.out is None and not _can_show(plt):
        raise ValueError(f"no display to show the plot on (matplotlib backend {plt.get_backend()!r}); "
                         "pass --out FILE.png to save it")
    ax = lrsched.plot(schedule, _steps(args.steps), ylabel=args.ylabel)
    if args.log:
        ax.set_yscale("log")
    title = args.spec if not os.path.isfile(args.spec) else os.path.basename(args.spec)
    ax.set_title(title if len(title) <= 70 else title[:67] + "...", fontsize=9)
    if args.out is None:
        plt.show()
        return 0
    folder = os.path.dirname(args.out)
    if folder:
        os.makedirs(folder, exist_ok=True)
    ax.figure.savefig(args.out, dpi=args.dpi)
    plt.close(ax.figure)
    print(f"wrote {args.out}")
    return 0


def show_text(schedule: Any, steps: int, at: list[int] | None = None, every: bool = False) -> str:
    """What ``lrsched show`` prints: the schedule, its values at sample steps, and a summary.

    Args:
      schedule: the schedule.
      steps: the length looked at (steps ``0 .. steps-1``).
      at: the steps to print (default: 0, 1, ten steps spread over the range, the
        last one and the first one past it).
      every: print every step instead.

    Returns:
      The text.

    Examples:
      >>> import lrsched
      >>> from lrsched.__main__ import show_text
      >>> print(show_text(lrsched.linear(1.0, 0.0, 4), 4, at=[0, 2]))
      linear(init_value=1.0, end_value=0.0, steps=4)
       step  value
          0  1
          2  0.5
      over steps 0..3: max 1 at step 0, min 0.25 at step 3, last 0.25
    """
    import lrsched

    n = _steps(steps)
    if every:
        points = np.arange(n)
    elif at:
        points = np.asarray(sorted(set(at)))
    else:
        points = np.unique(np.r_[0, 1, np.linspace(0, n - 1, 11).round().astype(int), n - 1, n])
    values = lrsched.evaluate(schedule, points)
    curve = lrsched.evaluate(schedule, n)
    width = max(4, len(str(int(points.max()))))
    lines = [repr(schedule), f"{'step':>{width + 1}}  value"]
    lines += [f"{int(t):>{width + 1}}  {float(v):.6g}" for t, v in zip(points, values)]
    hi, lo = int(np.argmax(curve)), int(np.argmin(curve))
    lines.append(f"over steps 0..{n - 1}: max {float(curve[hi]):.6g} at step {hi}, "
                 f"min {float(curve[lo]):.6g} at step {lo}, last {float(curve[-1]):.6g}")
    return "\n".join(lines)


def _cmd_show(args: argparse.Namespace) -> int:
    """``lrsched show``: print the schedule, its values and (with ``--config``) its JSON config."""
    import lrsched

    schedule = load_spec(args.spec)
    print(show_text(schedule, args.steps, args.at, args.all))
    if args.config:
        print(json.dumps(lrsched.to_config(schedule), indent=2))
    return 0


def _cmd_gallery(args: argparse.Namespace) -> int:
    """``lrsched gallery``: one PNG per schedule and ``gallery.png`` in ``--out``."""
    from lrsched.demo import gallery

    paths = gallery.write_gallery(args.out)
    print(f"wrote {len(paths)} PNG files to {args.out}")
    return 0


def _cmd_table(args: argparse.Namespace) -> int:
    """``lrsched table``: every gallery schedule at sample steps."""
    from lrsched.demo import gallery

    print(gallery.table())
    return 0


def _cmd_demo(args: argparse.Namespace) -> int:
    """``lrsched demo``: the schedule table and gallery, then (unless ``--no-train``) the range test and sweep."""
    from lrsched.demo import gallery

    start = time.perf_counter()
    print(gallery.table())
    path = gallery.write_gallery(args.out_dir, singles=False)[0]
    print(f"\nwrote every schedule's curve to {path}")
    if not args.no_train:
        from lrsched.demo import run as demo_run

        demo_run.run_demo_from_args(args)
    print(f"\ndemo finished in {time.perf_counter() - start:.1f} s")
    return 0


def parser() -> argparse.ArgumentParser:
    """The ``lrsched`` / ``python -m lrsched`` argument parser.

    Returns:
      The ``argparse.ArgumentParser`` with one sub-command per job.

    Examples:
      >>> from lrsched.__main__ import parser
      >>> parser().parse_args(["show", "cosine(0.1, 100)", "--steps", "100"]).command
      'show'
    """
    import lrsched

    p = argparse.ArgumentParser(
        prog="lrsched",
        description="lrsched: learning-rate schedules as JAX pytree data. Also run as python -m lrsched.",
    )
    p.add_argument("--version", action="version", version=f"lrsched {lrsched.__version__}")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    from lrsched.demo import run as demo_run

    demo = sub.add_parser(
        "demo",
        help="the main job: the schedule table and gallery, the LR range test on scikit-learn's digits, then "
        "one-cycle, cosine and constant trained at a grid of peak rates in one vmapped program",
        description="Print a table of schedules and write the gallery PNG into OUT_DIR; then, on scikit-learn's "
        "digits, run the LR range test (several batch orders at once), print every suggestion rule, train an MLP "
        "with one-cycle (with momentum cycling), cosine and constant schedules at peak rates from 0.1x to 10x the "
        "suggestion, all in one vmapped program, print the best peak of each schedule, its accuracy, the steps to a "
        "target accuracy and the time against one compile per configuration, and save the plots into OUT_DIR.",
    )
    demo_run.add_demo_arguments(demo)
    demo.add_argument("--no-train", action="store_true", help="only the schedule table and the gallery")
    demo.set_defaults(func=_cmd_demo)

    plot = sub.add_parser("plot", help="draw a schedule (yours: SPEC) to a PNG file or a window",
                          description="Draw SPEC's values at steps 0..N-1. SPEC: " + SPEC_HELP + ".")
    plot.add_argument("spec", metavar="SPEC", help="a JSON config file or a Python expression (see above)")
    plot.add_argument("--steps", type=int, required=True, metavar="N", help="draw steps 0..N-1")
    plot.add_argument("--out", default=None, metavar="FILE",
                      help="save to FILE (.png, .pdf, .svg: the extension picks the format); without it the plot is "
                           "shown in a window, which needs a display")
    plot.add_argument("--ylabel", default="learning rate", help="the y-axis label (default: %(default)s)")
    plot.add_argument("--log", action="store_true", help="a log y axis")
    plot.add_argument("--dpi", type=int, default=110, help="resolution of a saved PNG (default: %(default)s)")
    plot.set_defaults(func=_cmd_plot)

    show = sub.add_parser("show", help="print a schedule (yours: SPEC) and its values at sample steps",
                          description="Print SPEC, its values at sample steps of 0..N-1 and where it peaks. SPEC: "
                          + SPEC_HELP + ".")
    show.add_argument("spec", metavar="SPEC", help="a JSON config file or a Python expression (see above)")
    show.add_argument("--steps", type=int, required=True, metavar="N", help="look at steps 0..N-1")
    show.add_argument("--at", type=int, nargs="+", default=None, metavar="STEP", help="print these steps")
    show.add_argument("--all", action="store_true", help="print every step")
    show.add_argument("--config", action="store_true", help="also print the JSON config (lrsched.to_config)")
    show.set_defaults(func=_cmd_show)

    gallery = sub.add_parser("gallery", help="write one PNG per schedule and gallery.png (the README's pictures)",
                             description="Write one PNG per gallery schedule and gallery.png with all of them into "
                             f"DIR (default: ./{GALLERY_DIR}; the README's pictures: --out docs/gallery).")
    gallery.add_argument("--out", default=GALLERY_DIR, metavar="DIR",
                         help="folder, created if missing (default: ./%(default)s)")
    gallery.set_defaults(func=_cmd_gallery)

    table = sub.add_parser("table", help="print every gallery schedule at sample steps")
    table.set_defaults(func=_cmd_table)
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the command line.

    Args:
      argv: the arguments (default: ``sys.argv[1:]``).

    Returns:
      The exit status: 0, or 2 after a usage error (the message goes to stderr).
    """
    args = parser().parse_args(argv)
    try:
        return int(args.func(args))
    except ValueError as e:  # ScheduleError included: say what is wrong, without a traceback
        print(f"lrsched {args.command}: error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
