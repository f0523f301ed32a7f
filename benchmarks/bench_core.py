"""Core benchmark (issue: foundation), lrsched beside optax in one run.

1. Evaluating 1,000,000 steps at once (jitted, compile excluded): warmup_cosine,
   exponential (with its float32 precision against float64, both libraries), a
   join of 10 pieces. Goal: lrsched / optax <= 1.0.
2. Trace + compile time of a join of 1, 10, 100, 1000 pieces. Goal: at 100
   pieces <= 0.25 of optax's join_schedules; <= 2x growth from 10 to 1000.
3. A jitted Adam update of an MLP with a schedule versus a constant learning
   rate. Goal: <= 1.02.

Run: .venv/bin/python benchmarks/bench_core.py [--quick]
Writes benchmarks/results/core.json.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

import lrsched


def best_of(fn, repeat: int) -> float:
    """Minimum wall time of `repeat` calls (each blocked until ready)."""
    jax.block_until_ready(fn())
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        jax.block_until_ready(fn())
        times.append(time.perf_counter() - start)
    return min(times)


def best_of_interleaved(fns, repeat: int) -> list[float]:
    """Minimum wall time of each function, timed in alternation so that machine
    drift falls on all of them alike."""
    best = [float("inf")] * len(fns)
    for fn in fns:
        jax.block_until_ready(fn())
    for _ in range(repeat):
        for i, fn in enumerate(fns):
            start = time.perf_counter()
            jax.block_until_ready(fn())
            best[i] = min(best[i], time.perf_counter() - start)
    return best


def bench_evaluate(n: int, repeat: int) -> list[dict]:
    steps = jnp.arange(n, dtype=jnp.int32)
    pairs = {
        "warmup_cosine": (
            lrsched.warmup_cosine(1e-3, 10_000, n, init_value=0.0, end_value=1e-5),
            optax.warmup_cosine_decay_schedule(0.0, 1e-3, 10_000, n, end_value=1e-5),
        ),
        "exponential": (  # down to e**-40 at 1e6 steps: where a float32 exp(t log r) loses 2e-6
            lrsched.exponential(1e-3, 0.96, steps=1000),
            optax.exponential_decay(1e-3, 1000, 0.96),
        ),
        "exponential (rate per step)": (
            lrsched.exponential(1e-3, 0.99996),
            optax.exponential_decay(1e-3, 1, 0.99996),
        ),
        "join of 10": (
            lrsched.join([lrsched.cosine(1e-3 * (i + 1), n // 10) for i in range(10)],
                         [n // 10 * i for i in range(1, 10)]),
            optax.join_schedules([optax.cosine_decay_schedule(1e-3 * (i + 1), n // 10) for i in range(10)],
                                 [n // 10 * i for i in range(1, 10)]),
        ),
    }
    rows = []
    for name, (ours, theirs) in pairs.items():
        f_ours = jax.jit(lambda s, t: s(t))
        f_theirs = jax.jit(theirs)
        np.testing.assert_allclose(f_ours(ours, steps[:5000]), f_theirs(steps[:5000]), rtol=2e-4, atol=1e-9)
        t_ours, t_theirs = best_of_interleaved([lambda: f_ours(ours, steps), lambda: f_theirs(steps)], repeat)
        # float32 precision of both against lrsched's float64 evaluation (x64) of the float32-rounded
        # arguments (both libraries see those), where the value is a normal float32
        rounded = jax.tree.map(lambda x: np.float32(x) if np.asarray(x).dtype.kind == "f" else x, ours)
        with jax.enable_x64(True):
            exact = lrsched.evaluate(rounded, np.arange(n))
        tiny = exact > 1e-37
        err = [float(np.max(np.abs(np.asarray(f(), np.float64)[tiny] - exact[tiny]) / exact[tiny]))
               for f in (lambda: f_ours(ours, steps), lambda: f_theirs(steps))]
        rows.append({"bench": f"evaluate {n:,} steps", "case": name, "lrsched_ms": 1e3 * t_ours,
                     "optax_ms": 1e3 * t_theirs, "ratio": t_ours / t_theirs, "goal": "<= 1.0",
                     "lrsched_f32_rel_err": err[0], "optax_f32_rel_err": err[1]})
    return rows


def compile_time(fn, *args) -> float:
    start = time.perf_counter()
    jax.jit(fn).lower(*args).compile()
    return time.perf_counter() - start


def bench_join_compile(sizes: list[int]) -> list[dict]:
    rows = []
    t = jnp.arange(16, dtype=jnp.int32)
    for n in sizes:
        bounds = [10 * i for i in range(1, n)]
        ours = lrsched.join([lrsched.cosine(0.1 + 1e-4 * i, 10) for i in range(n)], bounds)
        theirs = optax.join_schedules([optax.cosine_decay_schedule(0.1 + 1e-4 * i, 10) for i in range(n)], bounds)
        t_ours = compile_time(lambda s, t: s(t), ours, t)
        t_theirs = compile_time(lambda t: theirs(t), t)
        eqns = len(jax.make_jaxpr(lambda s, t: s(t))(ours, t).jaxpr.eqns)
        rows.append({"bench": "join trace+compile", "case": f"{n} pieces", "lrsched_ms": 1e3 * t_ours,
                     "optax_ms": 1e3 * t_theirs, "ratio": t_ours / t_theirs, "lrsched_jaxpr_eqns": eqns,
                     "goal": "<= 0.25 at 100"})
    return rows


def bench_adam(repeat: int, inner: int) -> list[dict]:
    key = jax.random.key(0)
    params = [{"w": jax.random.normal(key, (64, 256)) * 0.05, "b": jnp.zeros(256)},
              {"w": jax.random.normal(key, (256, 10)) * 0.05, "b": jnp.zeros(10)}]
    grads = jax.tree.map(lambda p: jnp.full_like(p, 1e-3), params)

    def runner(tx):
        state = tx.init(params)

        @jax.jit
        def many(params, state):
            def body(_, c):
                p, s = c
                u, s = tx.update(grads, s, p)
                return optax.apply_updates(p, u), s

            return jax.lax.fori_loop(0, inner, body, (params, state))

        return lambda: many(params, state)

    variants = {
        "constant lr": optax.adam(1e-3),
        "lrsched warmup_cosine": optax.adam(lrsched.warmup_cosine(1e-3, 100, 10_000)),
        "optax warmup_cosine": optax.adam(optax.warmup_cosine_decay_schedule(0.0, 1e-3, 100, 10_000)),
    }
    best = best_of_interleaved([runner(tx) for tx in variants.values()], repeat)
    times = {name: t / inner for name, t in zip(variants, best)}
    base = times["constant lr"]
    return [{"bench": "jitted Adam update (64-256-10 MLP)", "case": name, "lrsched_ms": 1e3 * t,
             "optax_ms": 1e3 * base, "ratio": t / base, "goal": "<= 1.02 vs constant"} for name, t in times.items()]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="smaller sizes, fewer repeats")
    args = parser.parse_args()
    n = 100_000 if args.quick else 1_000_000
    rows = bench_evaluate(n, repeat=3 if args.quick else 30)
    rows += bench_join_compile([1, 10, 100] if args.quick else [1, 10, 100, 1000])
    rows += bench_adam(repeat=3 if args.quick else 7, inner=200 if args.quick else 1000)
    print(f"device: {jax.devices()[0].device_kind} ({jax.default_backend()}), jax {jax.__version__}, "
          f"optax {optax.__version__}, {platform.processor() or platform.machine()}")
    print(f"{'benchmark':36} {'case':28} {'lrsched ms':>11} {'anchor ms':>10} {'ratio':>7}  goal")
    for r in rows:
        errors = (f"  f32 rel err {r['lrsched_f32_rel_err']:.1e} vs {r['optax_f32_rel_err']:.1e}"
                  if "lrsched_f32_rel_err" in r else "")
        print(f"{r['bench']:36} {r['case']:28} {r['lrsched_ms']:11.4f} {r['optax_ms']:10.4f} {r['ratio']:7.3f}  "
              f"{r['goal']}{errors}")
    joins = {r["case"]: r["lrsched_ms"] for r in rows if r["bench"] == "join trace+compile"}
    if "10 pieces" in joins and "1000 pieces" in joins:
        print(f"lrsched join compile growth 10 -> 1000 pieces: {joins['1000 pieces'] / joins['10 pieces']:.2f}x "
              "(goal <= 2x)")
    os.makedirs(os.path.join(os.path.dirname(__file__), "results"), exist_ok=True)
    out = os.path.join(os.path.dirname(__file__), "results", "core.json")
    with open(out, "w") as f:
        json.dump({"device": str(jax.devices()[0]), "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
