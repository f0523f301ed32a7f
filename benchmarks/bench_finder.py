"""Benchmark: the LR range test, lrsched (JAX and torch) vs torch_lr_finder 0.2.2.

The same MLP (64-64-10), the same digits batches of 64, 100 iterations, Adam, the
ramp 1e-7 -> 1 with divergence stopping off so that every run does all 100 steps:

- lrsched.finder.lr_range_test (one jitted lax.scan), warm and with compile, vs
  torch_lr_finder's LRFinder.range_test (goal: <= 0.1x excluding compile);
- the same in a Python loop over one jitted step (batches from an iterator);
- lrsched_torch.lr_range_test vs torch_lr_finder (goal: <= 1.05x: the same work);
- lrsched.finder.lr_sweep, K runs at K fixed rates in one vmapped program, vs the
  K runs one after the other (the same compiled single-rate program).

Each timing is the median of several runs, ours and the anchor's interleaved. torch
runs with one thread (torch's two-thread pool spins on a shared 2-core machine).

    .venv/bin/python benchmarks/bench_finder.py [--repeats 5] [--k 8]

Prints a table and writes benchmarks/results/finder.json.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import statistics
import time

import jax
import numpy as np
import optax
import torch
from lrsched_torch.finder import lr_range_test as torch_range_test
from torch.utils.data import DataLoader, TensorDataset

from lrsched.demo import digits
from lrsched.finder import lr_range_test, lr_sweep

STEPS = 100
START, END = 1e-7, 1.0
NEVER = 1e12  # diverge_th / diverge_factor that never triggers: all runs do all 100 steps


def timed(fn):
    t0 = time.perf_counter()
    out = fn()
    return time.perf_counter() - t0, out


def quiet(fn):
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
        return fn()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=5)
    ap.add_argument("--k", type=int, default=8, help="rates in the vmapped sweep")
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results", "finder.json"))
    args = ap.parse_args()
    torch.set_num_threads(1)
    from torch_lr_finder import LRFinder

    data = digits.load()
    xb, yb = digits.batches(data.x_train, data.y_train, STEPS, batch_size=64, seed=0)
    params = digits.init_mlp(0)
    ds = TensorDataset(torch.tensor(data.x_train), torch.tensor(data.y_train).long())
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(64, 64), torch.nn.ReLU(), torch.nn.Linear(64, 10))
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    crit = torch.nn.CrossEntropyLoss()

    def loader():
        return DataLoader(ds, batch_size=64, shuffle=True, generator=torch.Generator().manual_seed(0))

    def jax_scan():
        return lr_range_test(digits.loss_fn, params, (xb, yb), optimizer=optax.adam, start_lr=START, end_lr=END,
                             num_steps=STEPS, diverge_factor=None)

    batch_list = [(xb[i], yb[i]) for i in range(STEPS)]

    def jax_loop():
        return lr_range_test(digits.loss_fn, params, batch_list, optimizer=optax.adam, start_lr=START, end_lr=END,
                             num_steps=STEPS, diverge_factor=None)

    def anchor():
        finder = LRFinder(model, opt, crit)
        finder.range_test(loader(), start_lr=START, end_lr=END, num_iter=STEPS, diverge_th=NEVER)
        n = len(finder.history["lr"])
        finder.reset()
        return n

    def ours_torch():
        return torch_range_test(model, opt, crit, loader(), start_lr=START, end_lr=END, num_iter=STEPS,
                                diverge_th=NEVER, progress=True)

    # ---- compile times (a cleared cache each time)
    compile_scan, compile_loop = [], []
    for _ in range(min(3, args.repeats)):
        jax.clear_caches()
        compile_scan.append(timed(jax_scan)[0])
        jax.clear_caches()
        compile_loop.append(timed(jax_loop)[0])
    assert len(jax_scan().lrs) == STEPS and len(jax_loop().lrs) == STEPS
    quiet(anchor)
    quiet(ours_torch)  # warm-up

    t_scan, t_loop, t_anchor, t_torch = [], [], [], []
    for _ in range(args.repeats):
        t_anchor.append(timed(lambda: quiet(anchor))[0])
        t_torch.append(timed(lambda: quiet(ours_torch))[0])
        t_scan.append(timed(jax_scan)[0])
        t_loop.append(timed(jax_loop)[0])
    assert quiet(anchor) == STEPS and len(quiet(ours_torch).lrs) == STEPS

    # ---- K fixed rates: one vmapped program vs K sequential runs
    rates = np.geomspace(1e-4, 1e-1, args.k)

    def sweep():
        return lr_sweep(digits.loss_fn, params, (xb, yb), rates, optimizer=optax.adam, num_steps=STEPS)

    def sequential():
        return [lr_sweep(digits.loss_fn, params, (xb, yb), [r], optimizer=optax.adam, num_steps=STEPS)
                for r in rates]

    c_sweep = timed(sweep)[0]
    c_seq = timed(sequential)[0]
    t_sweep, t_seq = [], []
    for _ in range(args.repeats):
        t_sweep.append(timed(sweep)[0])
        t_seq.append(timed(sequential)[0])
    # batched matmuls reassociate sums: equal to float32 rounding, amplified at the largest rate
    np.testing.assert_allclose(sweep().final, [s.final[0] for s in sequential()], rtol=2e-3)

    med = statistics.median
    a = med(t_anchor)
    rows = [
        ("JAX scan (warm) vs torch_lr_finder", med(t_scan), a, 0.1),
        ("JAX scan incl. compile vs torch_lr_finder", med(compile_scan), a, None),
        ("JAX loop over jitted step (warm) vs torch_lr_finder", med(t_loop), a, None),
        ("JAX loop incl. compile vs torch_lr_finder", med(compile_loop), a, None),
        ("lrsched_torch.lr_range_test vs torch_lr_finder", med(t_torch), a, 1.05),
        (f"lr_sweep K={args.k} vmapped vs {args.k} sequential (warm)", med(t_sweep), med(t_seq), None),
        (f"lr_sweep K={args.k} incl. compile vs sequential incl. compile", c_sweep, c_seq, None),
    ]
    print(f"LR range test, digits MLP 64-64-10, Adam, {STEPS} iterations, batch 64; median of {args.repeats}")
    print(f"{'comparison':<62} {'lrsched (s)':>12} {'anchor (s)':>11} {'ratio':>7} {'goal':>6}")
    out_rows = []
    for name, ours, ref, goal in rows:
        ratio = ours / ref
        print(f"{name:<62} {ours:>12.4f} {ref:>11.4f} {ratio:>7.3f} {('<= ' + str(goal)) if goal else '':>6}")
        out_rows.append({"comparison": name, "lrsched_s": ours, "anchor_s": ref, "ratio": ratio, "goal": goal,
                         "met": None if goal is None else bool(ratio <= goal)})
    result = {
        "benchmark": "finder", "steps": STEPS, "batch_size": 64, "repeats": args.repeats, "k": args.k,
        "rows": out_rows,
        "raw": {"jax_scan": t_scan, "jax_scan_compile": compile_scan, "jax_loop": t_loop,
                "jax_loop_compile": compile_loop, "torch_lr_finder": t_anchor, "lrsched_torch": t_torch,
                "sweep": t_sweep, "sequential": t_seq},
        "versions": {"jax": jax.__version__, "optax": optax.__version__, "torch": torch.__version__,
                     "python": platform.python_version()},
        "machine": {"cpus": os.cpu_count(), "load_avg": os.getloadavg(), "torch_threads": 1},
    }
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=2)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
