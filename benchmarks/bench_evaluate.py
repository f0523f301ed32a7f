"""``lrsched.evaluate(s, n)`` against the bare jitted call it wraps, at 10^6 and 10^7 steps.

The bare call is ``jax.jit(lambda s, t: s(t))(s, t)`` with the steps ``t`` already
on the device (built once, outside the timing) and the result left there; the
``evaluate`` call builds its steps and returns a numpy array. Timed in
alternation, medians of ``--repeat`` rounds. Goal: evaluate / bare <= 1.2.

A second row per schedule times ``evaluate(s, steps)`` with a numpy int64 array of
the same steps (the range check and the host-to-device copy of the array are the
difference).

Run:  .venv/bin/python benchmarks/bench_evaluate.py [--steps 1000000 10000000] [--repeat 21]
Writes benchmarks/results/evaluate.json.
"""

from __future__ import annotations

import argparse
import json
import os

import jax
import jax.numpy as jnp
import numpy as np
from _timing import header, load_average, medians

import lrsched


def schedules(n: int) -> dict[str, lrsched.Schedule]:
    return {
        "cosine": lrsched.cosine(1.0, n, end_value=0.01),
        "warmup_cosine": lrsched.warmup_cosine(1.0, n // 10, n, end_value=0.01),
        "join of 10 cosines": lrsched.join([lrsched.cosine(1.0 + i, n // 10) for i in range(10)],
                                           [n // 10 * i for i in range(1, 10)]),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--steps", type=int, nargs="*", default=[1_000_000, 10_000_000])
    parser.add_argument("--repeat", type=int, default=21)
    args = parser.parse_args()
    bare = jax.jit(lambda s, t: s(t))
    print(header())
    print(f"medians of {args.repeat} alternating rounds; goal evaluate(s, n) / bare <= 1.2")
    print(f"{'schedule':22} {'steps':>11} {'bare ms':>9} {'evaluate(s, n) ms':>18} {'ratio':>6} "
          f"{'evaluate(s, array) ms':>22} {'ratio':>6}")
    rows = []
    load_before = load_average()
    for n in args.steps:
        t = jnp.arange(n, dtype=jnp.int32)
        host = np.arange(n, dtype=np.int64)
        for name, s in schedules(n).items():
            np.testing.assert_array_equal(lrsched.evaluate(s, n), np.asarray(bare(s, t)))
            times = medians([lambda s=s: bare(s, t), lambda s=s: lrsched.evaluate(s, n),
                             lambda s=s: lrsched.evaluate(s, host)], args.repeat)
            row = {"schedule": name, "steps": n, "bare_ms": 1e3 * times[0], "evaluate_n_ms": 1e3 * times[1],
                   "ratio_n": times[1] / times[0], "evaluate_array_ms": 1e3 * times[2],
                   "ratio_array": times[2] / times[0]}
            rows.append(row)
            print(f"{name:22} {n:11,} {row['bare_ms']:9.3f} {row['evaluate_n_ms']:18.3f} {row['ratio_n']:6.2f} "
                  f"{row['evaluate_array_ms']:22.3f} {row['ratio_array']:6.2f}", flush=True)
    print(f"worst evaluate(s, n) / bare: {max(r['ratio_n'] for r in rows):.2f} (goal <= 1.2); "
          f"load average before {load_before}, after {load_average()}")
    out = os.path.join(os.path.dirname(__file__), "results", "evaluate.json")
    os.makedirs(os.path.dirname(out), exist_ok=True)
    with open(out, "w") as f:
        json.dump({"repeat": args.repeat, "load_before": load_before, "load_after": load_average(), "rows": rows},
                  f, indent=1)


if __name__ == "__main__":
    main()
