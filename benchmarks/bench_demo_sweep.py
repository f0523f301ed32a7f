"""Benchmark: the demo's sweep as one vmapped program vs one compiled program per configuration.

The work of ``python -m lrsched demo``'s sweep: the digits MLP (64-64-10), Adam with
lrsched.optax.inject (learning rate and b1 schedules), 300 steps of batch 64, test
accuracy after every step, for one-cycle (with momentum cycling), cosine and constant
at 7 peak rates (0.1x to 10x a centre rate): 21 configurations.

- lrsched: the 21 configurations as one batched schedule, one jitted ``jax.vmap``
  program (what the demo runs);
- the anchor, one program per configuration: each configuration's schedules closed
  over as constants, as an optax schedule closure bakes its numbers into the
  program, so each configuration compiles again; all 21 are run here (nothing is
  extrapolated).

Each repeat clears JAX's caches first, so both sides pay their compiles; the two
sides alternate, and the table gives medians. The warm rows re-run the already
compiled programs (computation only). The losses of both sides are compared: they
agree to float32 rounding (~5e-7) except in runs at a rate high enough to be
unstable, where the batched program's different summation order is amplified
after a few dozen steps; the script names those runs and the step where they part.

    .venv/bin/python benchmarks/bench_demo_sweep.py [--repeats 3] [--steps 300] [--peaks 7]

Prints a table and writes benchmarks/results/demo_sweep.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

from lrsched import sweep
from lrsched.demo import digits
from lrsched.demo.run import FAMILIES, mixture, sweep_program

CENTRE = 4.75e-3  # the demo's robust suggestion on seed 0 (any rate does: the work is the same)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--steps", type=int, default=300)
    ap.add_argument("--peaks", type=int, default=7)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "results", "demo_sweep.json"))
    args = ap.parse_args()

    data = digits.load()
    params = digits.init_mlp(0)
    xs, ys = digits.batches(data.x_train, data.y_train, args.steps, batch_size=64, seed=1)
    xs, ys, xt, yt = (jnp.asarray(a) for a in (xs, ys, data.x_test, data.y_test))
    grid = CENTRE * np.logspace(-1.0, 1.0, args.peaks)
    names = [f"{f} at {p:.2e}" for f in FAMILIES for p in grid]
    configs = [mixture(f, args.steps, float(p)) for f in FAMILIES for p in grid]
    lr_batch, mom_batch = (sweep.stack(list(s)) for s in zip(*configs))
    one = sweep_program("adam")

    def vmapped():
        program = jax.jit(jax.vmap(one, in_axes=(0, 0, None, None, None, None, None)))
        t0 = time.perf_counter()
        exe = program.lower(lr_batch, mom_batch, params, xs, ys, xt, yt).compile()
        c = time.perf_counter() - t0
        out = jax.block_until_ready(exe(lr_batch, mom_batch, params, xs, ys, xt, yt))
        total = time.perf_counter() - t0
        t0 = time.perf_counter()
        jax.block_until_ready(exe(lr_batch, mom_batch, params, xs, ys, xt, yt))
        return total, c, time.perf_counter() - t0, np.asarray(out[0])

    def separate():
        exes, losses = [], []
        t0 = time.perf_counter()
        compile_s = 0.0
        for lr_i, mom_i in configs:
            c0 = time.perf_counter()
            exe = jax.jit(lambda p, lr_i=lr_i, mom_i=mom_i: one(lr_i, mom_i, p, xs, ys, xt, yt)).lower(params).compile()
            compile_s += time.perf_counter() - c0
            losses.append(np.asarray(jax.block_until_ready(exe(params))[0]))
            exes.append(exe)
        total = time.perf_counter() - t0
        t0 = time.perf_counter()
        for exe in exes:
            jax.block_until_ready(exe(params))
        return total, compile_s, time.perf_counter() - t0, np.stack(losses)

    rows: dict[str, list] = {"vmapped": [], "separate": []}
    diff = np.zeros((len(configs), args.steps))
    for _ in range(args.repeats):
        jax.clear_caches()
        v = vmapped()
        jax.clear_caches()
        s = separate()
        rows["vmapped"].append(v[:3])
        rows["separate"].append(s[:3])
        diff = np.maximum(diff, np.abs(v[3] - s[3]))

    med = {k: [statistics.median(r[i] for r in v) for i in range(3)] for k, v in rows.items()}
    n = len(configs)
    print(f"demo sweep: {n} configurations (3 schedules x {args.peaks} peaks), digits MLP 64-64-10, Adam, "
          f"{args.steps} steps of batch 64; median of {args.repeats}; load average {os.getloadavg()[0]:.2f}")
    print(f"{'':<34} {'one vmapped program':>20} {f'{n} separate programs':>22} {'ratio':>7}")
    measures = ("compile + run (cold caches)", "of which compile", "run again (warm)")
    out_rows = []
    for i, name in enumerate(measures):
        a, b = med["vmapped"][i], med["separate"][i]
        print(f"{name:<34} {a:>18.2f} s {b:>20.2f} s {b / a:>7.1f}")
        out_rows.append({"measure": name, "vmapped_s": a, "separate_s": b, "separate_over_vmapped": b / a})
    per_run = diff.max(axis=1)
    parted = {names[k]: int(np.argmax(diff[k] > 1e-4)) for k in np.flatnonzero(per_run > 1e-4)}
    agree = float(np.max(per_run[per_run <= 1e-4])) if (per_run <= 1e-4).any() else float("nan")
    print(f"losses: {len(configs) - len(parted)} of {len(configs)} runs agree within {agree:.1e} at every step; "
          + ("the others part (|difference| > 1e-4) at " + ", ".join(f"{k}: step {v}" for k, v in parted.items())
             if parted else "all do"))
    result = {
        "benchmark": "demo_sweep", "configurations": n, "steps": args.steps, "repeats": args.repeats,
        "rows": out_rows, "raw": rows, "agree_within": agree, "parted_runs": parted,
        "versions": {"jax": jax.__version__, "optax": optax.__version__, "python": platform.python_version()},
        "machine": {"cpus": os.cpu_count(), "load_avg": os.getloadavg(), "device": str(jax.devices()[0])},
    }
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "w") as f:
        json.dump(result, f, indent=2)
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
