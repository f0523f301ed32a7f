"""Trace + compile time of schedules with special cases (``known_cases``): closed over, as an argument, optax.

A schedule whose exponent, ``period_mul`` or decay has code of its own for special
values (an exponent of 1 or 2, equal or doubling cycles, a decay of 1) compiles
every case when its numbers are arguments (an optimizer state, a sweep: a
``lax.switch`` picks the case at run time). Closed over by the jitted function, as
``optax.adam(schedule)`` does, its numbers are constants and the case is picked
while tracing: the program holds one branch. Three programs per schedule, each
``jax.jit(...).lower(steps).compile()`` from a fresh function (nothing cached),
timed in alternation, medians of ``--repeat`` rounds:

- ``closed``: ``jax.jit(lambda t: schedule(t))``;
- ``argument``: ``jax.jit(lambda s, t: s(t))`` with the schedule as an argument;
- ``optax``: optax's closure for the same schedule, where optax has one.

Run:  .venv/bin/python benchmarks/bench_compile.py [--repeat 9]
Writes benchmarks/results/compile.json.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time
from typing import Any, Callable

import jax
import numpy as np
import optax
from _timing import header, load_average

import lrsched


def cases() -> list[tuple[str, lrsched.Schedule, Callable[[Any], Any] | None]]:
    n = 100_000
    cos = lrsched.cosine
    return [
        ("polynomial power=2", lrsched.polynomial(1.0, 0.01, n, power=2.0),
         optax.polynomial_schedule(1.0, 0.01, 2.0, n)),
        ("cosine exponent=2", cos(1.0, n, end_value=0.01, exponent=2.0),
         optax.cosine_decay_schedule(1.0, n, alpha=0.01, exponent=2.0)),
        ("warmup_cosine", lrsched.warmup_cosine(1.0, 1000, n), optax.warmup_cosine_decay_schedule(0.0, 1.0, 1000, n)),
        ("cycle(cosine)", lrsched.cycle(cos(1.0, 1000), period=1000), None),
        ("cycle(cosine, period_mul=2)", lrsched.cycle(cos(1.0, 1000), period=1000, period_mul=2), None),
        ("cycle(polynomial, period_mul=2)",
         lrsched.cycle(lrsched.polynomial(1.0, 0.0, 1000, power=2.0), period=1000, period_mul=2), None),
    ]


def compile_s(make: Callable[[], Callable[..., Any]], *args: Any) -> float:
    start = time.perf_counter()
    jax.jit(make()).lower(*args).compile()
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> list[dict]:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args(argv)
    print(header())
    t = np.arange(4096, dtype=np.int32)
    rows = []
    print(f"{'schedule':<34}{'closed ms':>10}{'argument ms':>12}{'optax ms':>10}{'closed/arg':>11}{'closed/optax':>13}")
    for name, schedule, theirs in cases():
        sides: dict[str, tuple[Callable[[], Callable[..., Any]], tuple]] = {
            "closed": (lambda s=schedule: (lambda t: s(t)), (t,)),
            "argument": (lambda: (lambda s, t: s(t)), (schedule, t)),
        }
        if theirs is not None:
            sides["optax"] = (lambda f=theirs: (lambda t: f(t)), (t,))
        times: dict[str, list[float]] = {k: [] for k in sides}
        for make, a in sides.values():  # once each first: imports and first-use costs
            compile_s(make, *a)
        for r in range(args.repeat):
            for side in (list(sides) if r % 2 == 0 else list(sides)[::-1]):
                make, a = sides[side]
                times[side].append(compile_s(make, *a))
        med = {k: 1e3 * statistics.median(v) for k, v in times.items()}
        row = {"case": name, **{f"{k}_ms": v for k, v in med.items()},
               "closed_over_argument": med["closed"] / med["argument"]}
        if "optax" in med:
            row["closed_over_optax"] = med["closed"] / med["optax"]
        rows.append(row)
        optax_ms = f"{med['optax']:>10.1f}" if "optax" in med else f"{'-':>10}"
        vs_optax = f"{row['closed_over_optax']:>13.2f}" if "optax" in med else f"{'-':>13}"
        print(f"{name:<34}{med['closed']:>10.1f}{med['argument']:>12.1f}{optax_ms}"
              f"{row['closed_over_argument']:>11.2f}{vs_optax}")
    out = os.path.join(os.path.dirname(__file__), "results", "compile.json")
    with open(out, "w") as f:
        json.dump({"load_average": load_average(), "repeat": args.repeat, "rows": rows}, f, indent=1)
    print(f"load average after: {load_average()}; wrote {out}")
    return rows


if __name__ == "__main__":
    main()
