"""Tabulating a schedule: lrsched.compat.torch (one jitted call) vs stepping torch's scheduler.

For each scheduler, the 100,000-step curve is computed three ways in the same run:

- torch: construct the real scheduler on an SGD optimizer and call ``step()``
  100,000 times, reading ``get_last_lr()`` each time (what users do to plot it);
- lrsched, first call: ``lrsched.evaluate(schedule, 100_000)`` after clearing
  JAX's caches, so the time includes tracing and compiling;
- lrsched, warm: the same call again with different numbers (no recompile,
  since the numbers are pytree leaves), best of a few repeats.

Run: ``.venv/bin/python benchmarks/bench_compat_torch.py`` (``--steps`` to change
the length). Prints a table of ratios and writes benchmarks/results/compat_torch.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
import warnings

import jax
import numpy as np
import torch

import lrsched
from lrsched.compat import torch as tc

S = torch.optim.lr_scheduler


def cases():
    """name -> (torch factory on an optimizer, lrsched schedule, the same with other numbers)."""
    def seq(o):
        return S.SequentialLR(o, [S.LinearLR(o, 0.1, total_iters=5_000), S.CosineAnnealingLR(o, 95_000)], [5_000])

    return {
        "StepLR": (lambda o: S.StepLR(o, 1_000, 0.5), tc.StepLR(0.1, 1_000, 0.5), tc.StepLR(0.2, 700, 0.8)),
        "MultiStepLR": (lambda o: S.MultiStepLR(o, [30_000, 60_000, 90_000], 0.1),
                        tc.MultiStepLR(0.1, [30_000, 60_000, 90_000], 0.1),
                        tc.MultiStepLR(0.2, [20_000, 50_000, 80_000], 0.5)),
        "ConstantLR": (lambda o: S.ConstantLR(o, 0.25, 5_000), tc.ConstantLR(0.1, 0.25, 5_000),
                       tc.ConstantLR(0.2, 0.5, 3_000)),
        "LinearLR": (lambda o: S.LinearLR(o, 0.1, 1.0, 10_000), tc.LinearLR(0.1, 0.1, 1.0, 10_000),
                     tc.LinearLR(0.2, 0.2, 0.9, 5_000)),
        "ExponentialLR": (lambda o: S.ExponentialLR(o, 0.9999), tc.ExponentialLR(0.1, 0.9999),
                          tc.ExponentialLR(0.2, 0.99995)),
        "PolynomialLR": (lambda o: S.PolynomialLR(o, 100_000, 2.0), tc.PolynomialLR(0.1, 100_000, 2.0),
                         tc.PolynomialLR(0.2, 80_000, 1.5)),
        "CosineAnnealingLR": (lambda o: S.CosineAnnealingLR(o, 100_000, 1e-5), tc.CosineAnnealingLR(0.1, 100_000, 1e-5),
                              tc.CosineAnnealingLR(0.2, 50_000, 0.0)),
        "CosineAnnealingWarmRestarts": (lambda o: S.CosineAnnealingWarmRestarts(o, 1_000, 2, 1e-5),
                                        tc.CosineAnnealingWarmRestarts(0.1, 1_000, 2, 1e-5),
                                        tc.CosineAnnealingWarmRestarts(0.2, 700, 3, 0.0)),
        "CyclicLR": (lambda o: S.CyclicLR(o, 0.01, 0.1, 2_000, mode="triangular2"),
                     tc.CyclicLR(0.01, 0.1, 2_000, mode="triangular2"),
                     tc.CyclicLR(0.02, 0.2, 1_500, mode="triangular2")),
        "OneCycleLR": (lambda o: S.OneCycleLR(o, 0.1, total_steps=100_000), tc.OneCycleLR(0.1, total_steps=100_000),
                       tc.OneCycleLR(0.2, total_steps=100_000, pct_start=0.25)),
        "SequentialLR": (seq, tc.SequentialLR([tc.LinearLR(0.1, 0.1, total_iters=5_000),
                                               tc.CosineAnnealingLR(0.1, 95_000)], [5_000]),
                         tc.SequentialLR([tc.LinearLR(0.2, 0.2, total_iters=3_000),
                                          tc.CosineAnnealingLR(0.2, 90_000)], [3_000])),
    }


def time_torch(make, n):
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1, momentum=0.9)
    start = time.perf_counter()
    sched = make(opt)
    out = np.empty(n)
    for i in range(n):
        out[i] = sched.get_last_lr()[0]
        sched.step()
    return time.perf_counter() - start, out


def time_lrsched(schedule, other, n, repeats=5):
    jax.clear_caches()
    start = time.perf_counter()
    first = lrsched.evaluate(schedule, n)
    cold = time.perf_counter() - start
    warm = []
    for _ in range(repeats):
        start = time.perf_counter()
        lrsched.evaluate(other, n)
        warm.append(time.perf_counter() - start)
    return cold, min(warm), first


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=100_000)
    parser.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results", "compat_torch.json"))
    args = parser.parse_args()
    n = args.steps
    warnings.filterwarnings("ignore", message=".*lr_scheduler.*")
    time_torch(cases()["StepLR"][0], 10)  # torch's one-time lazy imports out of the timings
    rows = []
    for name, (make, schedule, other) in cases().items():
        t_torch, ref = time_torch(make, n)
        cold, warm, ours = time_lrsched(schedule, other, n)
        err = float(np.max(np.abs(ours - ref) / np.maximum(np.abs(ref), 1e-30)))
        rows.append(dict(scheduler=name, steps=n, torch_s=t_torch, lrsched_first_call_s=cold, lrsched_warm_s=warm,
                         speedup_first_call=t_torch / cold, speedup_warm=t_torch / warm, max_rel_err_float32=err))
    head = (f"{'scheduler':29s} {'torch step() x N':>17s} {'lrsched 1st call':>17s} {'lrsched warm':>13s} "
            f"{'x (1st)':>8s} {'x (warm)':>9s} {'f32 err':>8s}")
    cpu = platform.processor() or platform.machine()
    print(f"{n:,} steps; torch {torch.__version__}, jax {jax.__version__}, {cpu}, {os.cpu_count()} cores")
    print("f32 err: lrsched float32 vs torch float64 (inputs such as 0.9999 are rounded to float32 first)")
    print(head)
    print("-" * len(head))
    for r in rows:
        print(f"{r['scheduler']:29s} {r['torch_s'] * 1e3:14.1f} ms {r['lrsched_first_call_s'] * 1e3:14.1f} ms "
              f"{r['lrsched_warm_s'] * 1e3:10.2f} ms {r['speedup_first_call']:7.1f}x {r['speedup_warm']:8.0f}x "
              f"{r['max_rel_err_float32']:8.1e}")
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump({"benchmark": "compat_torch", "steps": n, "torch": torch.__version__, "jax": jax.__version__,
                   "cpu_count": os.cpu_count(), "rows": rows}, f, indent=2)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
