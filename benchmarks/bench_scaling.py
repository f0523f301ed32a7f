"""How cost grows: against pieces, configurations, steps and param groups, lrsched and its anchor.

Each column times lrsched and its anchor alternately in one run (medians) and fits the
growth exponent ``b`` of ``cost ~ size**b`` (least-squares slope in log-log):

- **pieces**: a ``join`` of P cosines (``lrsched.join`` vs ``optax.join_schedules``) over
  10^6 int32 steps, P = 10, 100, 1,000 (lrsched also at 10,000; optax's compile there takes
  ~15 minutes). Run time (compile excluded), compile time and the compiled program's
  temporary memory (XLA's memory analysis).
- **configs**: K warmup-cosine configurations (different peaks, warmups, lengths) over
  10^4 steps, from a cold start to values: lrsched stacks them into one schedule and runs
  one vmapped program (``lrsched.sweep.stack``); optax compiles one closure per
  configuration. K = 1, 8, 64.
- **steps**: ``warmup_cosine`` over n = 10^4 .. 10^7 int32 steps (compile excluded).
- **param groups**: mean ``step()`` of the torch bridge against torch's native scheduler at
  1, 10, 100 groups, read from ``results/torch_bridge.json`` (``bench_torch_bridge.py``;
  10^6 steps per side, timed alternately in chunks).

Run:  .venv/bin/python benchmarks/bench_scaling.py [--repeat 7]
Writes benchmarks/results/scaling.json.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax
from _timing import header, load_average, medians

import lrsched
import lrsched.sweep

HERE = os.path.dirname(__file__)


def exponent(sizes: list[float], costs: list[float]) -> float:
    """Least-squares slope of log(cost) against log(size)."""
    return float(np.polyfit(np.log(sizes), np.log(costs), 1)[0])


def compiled(fn: Callable[..., Any], *args: Any) -> tuple[Any, float, int]:
    """(compiled program, trace+compile seconds, temporary bytes)."""
    start = time.perf_counter()
    program = jax.jit(fn).lower(*args).compile()
    seconds = time.perf_counter() - start
    analysis = program.memory_analysis()
    return program, seconds, int(analysis.temp_size_in_bytes) if analysis is not None else -1


def pieces_column(repeat: int, steps: int, optax_up_to: int = 1000) -> list[dict[str, Any]]:
    t = jnp.arange(steps, dtype=jnp.int32)
    rows = []
    for p in (10, 100, 1000, 10000):
        length = steps // p
        bounds = [length * i for i in range(1, p)]
        ours = lrsched.join([lrsched.cosine(1.0 + i / p, length) for i in range(p)], bounds)
        lr_prog, lr_compile, lr_temp = compiled(lambda s, t: s(t), ours, t)
        row: dict[str, Any] = {"pieces": p, "lrsched_compile_s": lr_compile, "lrsched_temp_mb": lr_temp / 2**20}
        if p <= optax_up_to:
            theirs = optax.join_schedules(
                [optax.cosine_decay_schedule(1.0 + i / p, length) for i in range(p)], bounds)
            op_prog, op_compile, op_temp = compiled(theirs, t)
            np.testing.assert_allclose(np.asarray(lr_prog(ours, t)), np.asarray(op_prog(t)), rtol=2e-5, atol=2e-6)
            a, b = medians([lambda: lr_prog(ours, t), lambda: op_prog(t)], repeat)
            row.update(lrsched_ms=1e3 * a, optax_ms=1e3 * b, optax_compile_s=op_compile, optax_temp_mb=op_temp / 2**20)
        else:
            row.update(lrsched_ms=1e3 * medians([lambda: lr_prog(ours, t)], repeat)[0])
        rows.append(dict(row, steps=steps))
        print(f"  pieces {p:6}: " + ", ".join(f"{k} {v:.4g}" for k, v in row.items() if k != "pieces"), flush=True)
    return rows


def configs_column(repeat: int, steps: int) -> list[dict[str, Any]]:
    t = jnp.arange(steps, dtype=jnp.int32)
    rows = []
    for k in (1, 8, 64):
        peaks = [0.1 * (1 + i) for i in range(k)]
        warmups = [steps // 20 + 7 * i for i in range(k)]
        totals = [steps - 3 * i for i in range(k)]

        def ours() -> Any:
            stacked = lrsched.sweep.stack([lrsched.warmup_cosine(pk, w, n, end_value=0.0)
                                           for pk, w, n in zip(peaks, warmups, totals)])
            return jax.jit(jax.vmap(lambda s: s(t)))(stacked)  # a fresh jit: traced and compiled again

        def theirs() -> Any:
            return [jax.jit(optax.warmup_cosine_decay_schedule(0.0, pk, w, n, 0.0))(t)
                    for pk, w, n in zip(peaks, warmups, totals)]

        np.testing.assert_allclose(np.asarray(ours()), np.stack([np.asarray(v) for v in theirs()]),
                                   rtol=1e-4, atol=1e-6)
        a, b = medians([ours, theirs], repeat, budget_s=40.0)
        rows.append({"configs": k, "lrsched_s": a, "optax_s": b})
        print(f"  configs {k:5}: lrsched {a:.3f} s, optax {b:.3f} s", flush=True)
    return rows


def steps_column(repeat: int) -> list[dict[str, Any]]:
    rows = []
    for n in (10_000, 100_000, 1_000_000, 10_000_000):
        t = jnp.arange(n, dtype=jnp.int32)
        ours = lrsched.warmup_cosine(1.0, n // 10, n, end_value=0.01)
        theirs = jax.jit(optax.warmup_cosine_decay_schedule(0.0, 1.0, n // 10, n, 0.01))
        run = jax.jit(lambda s, t: s(t))
        a, b = medians([lambda: run(ours, t), lambda: theirs(t)], repeat)
        rows.append({"steps": n, "lrsched_ms": 1e3 * a, "optax_ms": 1e3 * b})
        print(f"  steps {n:10,}: lrsched {1e3 * a:.3f} ms, optax {1e3 * b:.3f} ms", flush=True)
    return rows


def groups_column() -> list[dict[str, Any]]:
    path = os.path.join(HERE, "results", "torch_bridge.json")
    with open(path) as f:
        data = json.load(f)
    rows = [{"case": r["case"], "groups": r["groups"], "torch_mean_us": r["torch"]["mean_us"],
             "bridge_mean_us": r["bridge"]["mean_us"]} for r in data["rows"] if "case" in r]
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--join-at-1e7", action="store_true",
                        help="also the pieces column at 10^7 steps (optax up to 100 pieces: ~1 min more)")
    args = parser.parse_args()
    load_before = load_average()
    print(header())
    print("pieces (join of cosines, 10^6 steps):")
    pieces = pieces_column(args.repeat, 1_000_000)
    pieces_1e7 = []
    if args.join_at_1e7:
        print("pieces (join of cosines, 10^7 steps; optax up to 100 pieces):")
        pieces_1e7 = pieces_column(args.repeat, 10_000_000, optax_up_to=100)
    print("configs (warmup_cosine, 10^4 steps, cold: trace + compile + run):")
    configs = configs_column(args.repeat, 10_000)
    print("steps (warmup_cosine):")
    steps = steps_column(args.repeat)
    groups = groups_column()

    both = [r for r in pieces if "optax_ms" in r]

    def fit(rows: list[dict[str, Any]], size: str, ours: str, theirs: str | None) -> tuple[float, float | None]:
        """Both exponents; a cost that is zero at some sizes is fitted where it is not (0.0 if never)."""
        def one(key: str) -> float:
            kept = [r for r in rows if r[key] > 0]
            return exponent([r[size] for r in kept], [r[key] for r in kept]) if len(kept) >= 2 else 0.0
        return one(ours), None if theirs is None else one(theirs)

    table: list[tuple[str, float, float | None]] = [
        ("run time vs pieces (10-1000, 10^6 steps)", *fit(both, "pieces", "lrsched_ms", "optax_ms")),
        ("run time vs pieces (10-10000, lrsched)", *fit(pieces, "pieces", "lrsched_ms", None)),
        ("compile time vs pieces (10-1000)", *fit(both, "pieces", "lrsched_compile_s", "optax_compile_s")),
        ("temp memory vs pieces (10-10000; optax 10-1000)", fit(pieces, "pieces", "lrsched_temp_mb", None)[0],
         fit(both, "pieces", "optax_temp_mb", "optax_temp_mb")[0]),
        ("cold sweep time vs configs (1-64)", *fit(configs, "configs", "lrsched_s", "optax_s")),
        ("run time vs steps (10^4-10^7)", *fit(steps, "steps", "lrsched_ms", "optax_ms")),
        ("run time vs steps (10^6-10^7)", *fit(steps[2:], "steps", "lrsched_ms", "optax_ms")),
    ]
    for case in sorted({r["case"] for r in groups}):
        sel = [r for r in groups if r["case"] == case]
        table.append((f"mean step() vs param groups (1-100): {case}",
                      *fit(sel, "groups", "bridge_mean_us", "torch_mean_us")))

    print()
    print("| size | lrsched | anchor | ratio |")
    print("|---|---|---|---|")
    for r in pieces + pieces_1e7:
        anchor = f"{r['optax_ms']:.2f} ms, {r['optax_temp_mb']:.2f} MB, compile {r['optax_compile_s']:.2f} s" \
            if "optax_ms" in r else "(not run: compile or run time in minutes)"
        ratio = f"{r['lrsched_ms'] / r['optax_ms']:.2f}" if "optax_ms" in r else ""
        print(f"| join, {r['pieces']:,} pieces, {r['steps']:,} steps | {r['lrsched_ms']:.2f} ms, "
              f"{r['lrsched_temp_mb']:.2f} MB, "
              f"compile {r['lrsched_compile_s']:.2f} s | {anchor} | {ratio} |")
    for r in configs:
        print(f"| sweep, {r['configs']} configs (cold) | {r['lrsched_s']:.3f} s | {r['optax_s']:.3f} s | "
              f"{r['lrsched_s'] / r['optax_s']:.3f} |")
    for r in steps:
        print(f"| warmup_cosine, {r['steps']:,} steps | {r['lrsched_ms']:.3f} ms | {r['optax_ms']:.3f} ms | "
              f"{r['lrsched_ms'] / r['optax_ms']:.2f} |")
    for r in groups:
        print(f"| {r['case']}, {r['groups']} groups | {r['bridge_mean_us']:.2f} us | {r['torch_mean_us']:.2f} us | "
              f"{r['bridge_mean_us'] / r['torch_mean_us']:.2f} |")
    print()
    print("| growth exponent b (cost ~ size^b) | lrsched | anchor |")
    print("|---|---|---|")
    for name, ours_b, theirs_b in table:
        print(f"| {name} | {ours_b:.2f} | {'' if theirs_b is None else f'{theirs_b:.2f}'} |")
    print(f"load average before {load_before}, after {load_average()}")
    out = os.path.join(HERE, "results", "scaling.json")
    with open(out, "w") as f:
        json.dump({"load_before": load_before, "load_after": load_average(), "pieces": pieces, "pieces_1e7": pieces_1e7,
                   "configs": configs,
                   "steps": steps, "groups": groups,
                   "exponents": [{"cost": n, "lrsched": a, "anchor": b} for n, a, b in table]}, f, indent=1)


if __name__ == "__main__":
    main()
