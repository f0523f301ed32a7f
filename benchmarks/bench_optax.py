"""Optax integration cost: a jitted MLP Adam step with different learning-rate sources,
and compile counts when sweeping the peak learning rate.

    python benchmarks/bench_optax.py [--steps 200] [--repeats 7]

Variants (all the same Adam math):
  constant           optax.adam(1e-3)
  optax closure      optax.adam(optax.warmup_cosine_decay_schedule(...))
  lrsched direct     optax.adam(lrsched.warmup_cosine(...))
  scale_by_schedule  chain(scale_by_adam(), lrsched.optax.scale_by_schedule(s), scale(-1))  (schedule in the state)
  inject             lrsched.optax.inject(optax.adam, learning_rate=s)                       (schedule in the state)

Prints a table of per-step times and ratios to the constant-rate step (goal <= 1.02),
then the compile counts for a sweep over 8 peak values; writes
benchmarks/results/optax.json.
"""

from __future__ import annotations

import argparse
import json
import pathlib
import platform
import time

import jax
import jax.numpy as jnp
import numpy as np
import optax

import lrsched
import lrsched.optax as lo

WARMUP, TOTAL = 100, 10_000
SIZES = (64, 512, 512, 10)
BATCH = 128


def init_params(key):
    params = []
    for n_in, n_out in zip(SIZES[:-1], SIZES[1:]):
        key, sub = jax.random.split(key)
        params.append({"w": jax.random.normal(sub, (n_in, n_out)) * jnp.sqrt(2.0 / n_in), "b": jnp.zeros(n_out)})
    return params


def loss_fn(params, x, y):
    for layer in params[:-1]:
        x = jax.nn.relu(x @ layer["w"] + layer["b"])
    logits = x @ params[-1]["w"] + params[-1]["b"]
    return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()


def make_step(tx, counter=None):
    def step(params, state, x, y):
        if counter is not None:
            counter.append(1)  # runs once per trace (= per compilation)
        loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
        updates, state = tx.update(grads, state, params)
        return optax.apply_updates(params, updates), state, loss

    return jax.jit(step, donate_argnums=(0, 1))


def variants(peak=1e-3):
    s = lrsched.warmup_cosine(peak, WARMUP, TOTAL)
    return {
        "constant": optax.adam(peak),
        "optax closure": optax.adam(optax.warmup_cosine_decay_schedule(0.0, peak, WARMUP, TOTAL)),
        "lrsched direct": optax.adam(s),
        "scale_by_schedule": optax.chain(optax.scale_by_adam(), lo.scale_by_schedule(s), optax.scale(-1.0)),
        "inject": lo.inject(optax.adam, learning_rate=s),
    }


def time_steps(args):
    key = jax.random.PRNGKey(0)
    x = jax.random.normal(key, (BATCH, SIZES[0]))
    y = jax.random.randint(key, (BATCH,), 0, SIZES[-1])
    runs = {}
    for name, tx in variants().items():
        step = make_step(tx)
        params = init_params(key)
        state = tx.init(params)
        params, state, loss = step(params, state, x, y)  # compile
        loss.block_until_ready()
        runs[name] = [step, params, state]
    per_step = {name: [] for name in runs}
    for _ in range(args.repeats):  # interleaved, so drift in machine load hits every variant alike
        for name, run in runs.items():
            step, params, state = run
            t0 = time.perf_counter()
            for _ in range(args.steps):
                params, state, loss = step(params, state, x, y)
            loss.block_until_ready()
            per_step[name].append((time.perf_counter() - t0) / args.steps)
            run[1], run[2] = params, state
    return {name: float(np.median(ts)) for name, ts in per_step.items()}


def compile_counts(n_peaks=8):
    peaks = np.geomspace(1e-4, 1e-2, n_peaks)
    key = jax.random.PRNGKey(0)
    x = jax.random.normal(key, (BATCH, SIZES[0]))
    y = jax.random.randint(key, (BATCH,), 0, SIZES[-1])
    out = {}

    # optax closures: the peak is a Python constant inside the schedule closure -> one program per value
    counter = []
    t0 = time.perf_counter()
    for peak in peaks:
        tx = optax.adam(optax.warmup_cosine_decay_schedule(0.0, float(peak), WARMUP, TOTAL))
        params = init_params(key)
        make_step(tx, counter)(params, tx.init(params), x, y)[2].block_until_ready()
    out["optax closures"] = {"compiles": len(counter), "seconds": time.perf_counter() - t0}

    # lrsched: the schedule is state -> one program for every value
    counter = []
    t0 = time.perf_counter()
    template = lo.inject(optax.adam, learning_rate=lrsched.warmup_cosine(1e-3, WARMUP, TOTAL))
    step = make_step(template, counter)
    for peak in peaks:
        tx = lo.inject(optax.adam, learning_rate=lrsched.warmup_cosine(float(peak), WARMUP, TOTAL))
        params = init_params(key)
        step(params, tx.init(params), x, y)[2].block_until_ready()
    out["lrsched state-held (sequential)"] = {"compiles": len(counter), "seconds": time.perf_counter() - t0}

    # lrsched vmapped: all 8 runs in one program
    counter = []
    t0 = time.perf_counter()
    singles = [lrsched.warmup_cosine(float(peak), WARMUP, TOTAL) for peak in peaks]
    batched = jax.tree.map(lambda *xs: jnp.stack([jnp.asarray(v) for v in xs]), *singles)
    params = init_params(key)
    states = jax.vmap(lambda s: lo.inject(optax.adam, learning_rate=s).init(params))(batched)

    def step_fn(params, state):
        counter.append(1)
        loss, grads = jax.value_and_grad(loss_fn)(params, x, y)
        updates, state = template.update(grads, state, params)
        return optax.apply_updates(params, updates), state, loss

    sweep = jax.jit(jax.vmap(step_fn, in_axes=(None, 0)))
    sweep(params, states)[2].block_until_ready()
    out["lrsched state-held (vmapped)"] = {"compiles": len(counter), "seconds": time.perf_counter() - t0}
    return out


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()

    times = time_steps(args)
    base = times["constant"]
    print(f"jitted MLP {SIZES} Adam step, batch {BATCH}, {args.steps} steps x {args.repeats} repeats "
          f"(median), {jax.devices()[0].platform}")
    print(f"{'variant':<20}{'us/step':>10}{'ratio':>8}")
    for name, t in times.items():
        print(f"{name:<20}{t * 1e6:>10.1f}{t / base:>8.3f}")

    counts = compile_counts()
    print("\nsweep over 8 peak learning rates")
    print(f"{'approach':<34}{'compiles':>9}{'seconds':>9}")
    for name, c in counts.items():
        print(f"{name:<34}{c['compiles']:>9}{c['seconds']:>9.2f}")

    out = pathlib.Path(__file__).parent / "results" / "optax.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "step_seconds": times, "ratio_to_constant": {k: v / base for k, v in times.items()},
        "sweep_8_peaks": counts, "steps": args.steps, "repeats": args.repeats,
        "jax": jax.__version__, "optax": optax.__version__, "machine": platform.machine(),
        "device": str(jax.devices()[0]),
    }, indent=2))
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
