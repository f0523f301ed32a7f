"""Benchmark: a 32-configuration learning-rate sweep of the digits MLP, 300 steps each.

Routes, wall time including compilation (each measured cold, in this one process):

  (a) optax closures: 32 sequential runs of optax.adam(warmup_cosine_decay_schedule(...)),
      one compile per run (the schedule's numbers are baked into the program);
  (b) lrsched, sequential: 32 runs of one jitted function, the schedule held in the optimizer
      state (lrsched.optax.scale_by_schedule), so one compile serves all 32;
  (c) lrsched, vmapped: one program trains all 32 (peak x warmup steps x total steps x decay
      exponent), via jax.vmap over the optimizer states;
  (d) optax's own sweep route: optax.inject_hyperparams(optax.adam) vmapped over 32 constant
      learning rates (it cannot sweep schedule shapes or step counts);

and, in a subprocess with XLA_FLAGS=--xla_force_host_platform_device_count=8, route (c)
sharded over 8 host devices with lrsched.sweep.shard versus unsharded.

    python benchmarks/bench_sweep.py                # writes benchmarks/results/sweep.json
    python benchmarks/bench_sweep.py --device-info  # also print the devices (e.g. on a GPU)
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import subprocess
import sys
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

import lrsched
import lrsched.optax
from lrsched import sweep
from lrsched.demo import digits

ROOT = pathlib.Path(__file__).resolve().parents[1]


def setup(steps: int, n: int):
    data = digits.load()
    xs, ys = digits.batches(data.x_train, data.y_train, steps, batch_size=64)
    xs, ys = jnp.asarray(xs), jnp.asarray(ys)
    params0 = digits.init_mlp(jax.random.key(0), (64, 64, 10))
    peaks = [1e-3, 3e-3, 1e-2, 3e-2, 1e-1, 3e-1, 1.0, 3.0][: max(1, n // 8)]
    batched, configs = sweep.grid(lrsched.warmup_cosine, peak_value=peaks, warmup_steps=[0, steps // 10],
                                  total_steps=[steps // 2, steps], exponent=[1.0, 2.0])
    return xs, ys, params0, batched, configs


def scan_train(tx, params, state, xs, ys):
    return digits.train(tx, params, state, xs, ys)[2]


def lrsched_chain(s):
    return optax.chain(optax.scale_by_adam(), lrsched.optax.scale_by_schedule(s), optax.scale(-1.0))


def route_a(xs, ys, params0, configs):
    out = []
    for c in configs:
        sched = optax.warmup_cosine_decay_schedule(0.0, c["peak_value"], c["warmup_steps"], c["total_steps"],
                                                   0.0, c["exponent"])
        tx = optax.adam(sched)
        run = jax.jit(lambda p, x, y, tx=tx: scan_train(tx, p, tx.init(p), x, y))  # a new closure: a new compile
        out.append(run(params0, xs, ys))
    return np.asarray(jnp.stack(out))


def route_b(xs, ys, params0, batched):
    tx = lrsched_chain(sweep.index(batched, 0))  # the structure; each state carries its own numbers
    run = jax.jit(lambda p, st, x, y: scan_train(tx, p, st, x, y))
    out = [run(params0, lrsched_chain(s).init(params0), xs, ys) for s in sweep.unstack(batched)]
    return np.asarray(jnp.stack(out))


def make_c(params0, template):
    """One jitted program: init every optimizer state from the batched schedule, train all of them."""
    tx = lrsched_chain(template)
    init = jax.vmap(lambda s: lrsched_chain(s).init(params0))
    return jax.jit(lambda b, x, y: jax.vmap(lambda st: scan_train(tx, params0, st, x, y))(init(b)))


def route_c(xs, ys, params0, batched, run=None):
    run = make_c(params0, sweep.index(batched, 0)) if run is None else run
    return np.asarray(run(batched, xs, ys))


def make_d(params0):
    make = optax.inject_hyperparams(optax.adam)
    tx = make(learning_rate=0.0)

    def one(lr, x, y):
        state = make(learning_rate=lr).init(params0)
        return scan_train(tx, params0, state, x, y)

    return jax.jit(jax.vmap(one, in_axes=(0, None, None)))


def route_d(xs, ys, params0, lrs, run=None):
    run = make_d(params0) if run is None else run
    return np.asarray(run(jnp.asarray(lrs, jnp.float32), xs, ys))


def timed(fn, *args):
    start = time.perf_counter()
    out = fn(*args)
    return time.perf_counter() - start, out


SHARDED = r"""
import json, sys, time
import jax, jax.numpy as jnp, numpy as np
sys.path.insert(0, sys.argv[1])
import bench_sweep as B
from lrsched import sweep
steps, n = int(sys.argv[2]), int(sys.argv[3])
xs, ys, params0, batched, configs = B.setup(steps, n)
res = {"devices": len(jax.devices())}
for name, b in (("unsharded", batched), ("sharded", sweep.shard(batched))):
    run = B.make_c(params0, sweep.index(batched, 0))
    cold, out = B.timed(B.route_c, xs, ys, params0, b, run)
    warm, out2 = B.timed(B.route_c, xs, ys, params0, b, run)
    res[name] = {"cold_s": cold, "warm_s": warm, "losses": sweep.gather(out, n=len(configs))[:, -1].tolist()}
print("RESULT" + json.dumps(res))
"""


def sharded_run(steps: int, n: int) -> dict:
    env = dict(os.environ, JAX_PLATFORMS="cpu", XLA_FLAGS="--xla_force_host_platform_device_count=8",
               PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, "-c", SHARDED, str(ROOT / "benchmarks"), str(steps), str(n)],
                          capture_output=True, text=True, env=env, timeout=1800)
    if proc.returncode != 0:
        raise RuntimeError(proc.stderr[-3000:])
    return json.loads([x for x in proc.stdout.splitlines() if x.startswith("RESULT")][-1][6:])


def main(argv=None) -> dict:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=300)
    p.add_argument("--configs", type=int, default=32, help="a multiple of 8 (peaks x 2 x 2 x 2)")
    p.add_argument("--device-info", action="store_true", help="print jax.devices() and the platform")
    p.add_argument("--no-sharded", action="store_true", help="skip the 8-host-device subprocess")
    p.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "sweep.json"))
    args = p.parse_args(argv)

    device = {"devices": [str(d) for d in jax.devices()], "backend": jax.default_backend(),
              "cpu_count": os.cpu_count(), "machine": platform.platform(), "jax": jax.__version__,
              "optax": optax.__version__, "load_avg_1m_at_start": os.getloadavg()[0]}
    if args.device_info:
        print("devices:", jax.devices(), "| backend:", jax.default_backend(), "| cpus:", os.cpu_count(),
              f"| load average: {os.getloadavg()[0]:.1f}")
    xs, ys, params0, batched, configs = setup(args.steps, args.configs)
    n = len(configs)
    print(f"{n} configurations of the digits MLP (64-64-10, Adam), {args.steps} steps, batch 64, "
          f"on {jax.default_backend()}\n")

    rows = {}
    rows["a"] = timed(route_a, xs, ys, params0, configs)
    rows["b"] = timed(route_b, xs, ys, params0, batched)
    run_c, run_d, lrs = make_c(params0, sweep.index(batched, 0)), make_d(params0), configs.column("peak_value")
    rows["c"] = timed(route_c, xs, ys, params0, batched, run_c)
    rows["d"] = timed(route_d, xs, ys, params0, lrs, run_d)
    warm_c = timed(route_c, xs, ys, params0, batched, run_c)[0]  # compiled: run time only
    warm_d = timed(route_d, xs, ys, params0, lrs, run_d)[0]
    other, _ = sweep.grid(lrsched.warmup_cosine, peak_value=configs.axes["peak_value"], warmup_steps=[7, 11],
                          total_steps=[101, 257], exponent=[0.5, 3.0])
    new_numbers = timed(route_c, xs, ys, params0, other, run_c)[0]  # other step counts: no recompile
    diff_ac = float(np.max(np.abs(rows["a"][1] - rows["c"][1])))
    diff_bc = float(np.max(np.abs(rows["b"][1] - rows["c"][1])))

    names = {"a": f"(a) optax closures, {n} sequential runs", "b": f"(b) lrsched state, {n} sequential, 1 compile",
             "c": "(c) lrsched, one vmapped program", "d": "(d) optax inject_hyperparams vmapped (const lr)"}
    t_a, t_c, t_d = rows["a"][0], rows["c"][0], rows["d"][0]
    print(f"{'route':48s} {'wall s':>8s} {'vs (a)':>8s}")
    for k in "abcd":
        print(f"{names[k]:48s} {rows[k][0]:8.2f} {t_a / rows[k][0]:7.1f}x")
    print(f"\n(c) speed-up over (a): {t_a / t_c:.1f}x (goal >= 15x); (c) / (d): {t_c / t_d:.2f} (goal <= 1.2)")
    print(f"compiled, run time only: (c) {warm_c:.2f} s, (d) {warm_d:.2f} s; (c) with other warmup/total steps "
          f"and exponents through the same program: {new_numbers:.2f} s (no recompile)")
    print(f"max |final-loss curve difference| (a) vs (c): {diff_ac:.2e}; (b) vs (c): {diff_bc:.2e}")

    result = {"device": device, "steps": args.steps, "configs": n,
              "wall_s": {k: rows[k][0] for k in "abcd"},
              "run_only_s": {"c": warm_c, "d": warm_d, "c_other_step_counts": new_numbers},
              "ratios": {"a_over_c": t_a / t_c, "c_over_d": t_c / t_d, "a_over_b": t_a / rows["b"][0]},
              "max_abs_loss_diff": {"a_vs_c": diff_ac, "b_vs_c": diff_bc}}
    if not args.no_sharded:
        sh = sharded_run(args.steps, args.configs)
        same = float(np.max(np.abs(np.asarray(sh["sharded"]["losses"]) - np.asarray(sh["unsharded"]["losses"]))))
        print(f"\nsharded over {sh['devices']} host devices (subprocess, XLA_FLAGS), route (c):")
        print(f"{'':14s} {'cold s':>8s} {'warm s':>8s}")
        for k in ("unsharded", "sharded"):
            print(f"{k:14s} {sh[k]['cold_s']:8.2f} {sh[k]['warm_s']:8.2f}")
        print(f"sharded / unsharded (cold): {sh['sharded']['cold_s'] / sh['unsharded']['cold_s']:.2f}; "
              f"max |final loss difference|: {same:.2e}")
        result["sharded_8_host_devices"] = {k: {"cold_s": sh[k]["cold_s"], "warm_s": sh[k]["warm_s"]}
                                            for k in ("unsharded", "sharded")}
        result["sharded_8_host_devices"]["max_abs_final_loss_diff"] = same
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    print(f"\nwrote {out}")
    return result


if __name__ == "__main__":
    main()
