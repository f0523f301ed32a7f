"""Keras 3 (JAX backend): the cost of lrsched schedules in a compiled Keras train step.

    python benchmarks/bench_keras.py [--steps 100] [--repeats 7]

Variants (one MLP (64, 512, 512, 10), batch 128, ``model.train_on_batch`` per step, all compiled once):
  Adam constant           keras.optimizers.Adam(1e-3)
  Adam Keras CosineDecay  keras.optimizers.schedules.CosineDecay with Keras's own linear warmup (the anchor)
  Adam lrsched            lrsched.keras.LearningRateSchedule(lrsched.warmup_cosine(...))
  AdamW constant          keras.optimizers.AdamW(1e-3, weight_decay=0.004)
  AdamW inject            lrsched.keras.inject(AdamW, learning_rate=..., beta_1=..., weight_decay=...)
                          (three schedules evaluated inside the step)

Prints per-step medians of interleaved repeats and the ratio of each variant to its constant-rate
baseline (goal: within noise of 1); writes benchmarks/results/keras.json.
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import time

os.environ.setdefault("KERAS_BACKEND", "jax")

import jax  # noqa: E402
import keras  # noqa: E402
import numpy as np  # noqa: E402

import lrsched  # noqa: E402
import lrsched.keras as lk  # noqa: E402

WARMUP, TOTAL = 100, 10_000
SIZES = (64, 512, 512, 10)
BATCH = 128


def variants(peak=1e-3):
    s = lrsched.warmup_cosine(peak, WARMUP, TOTAL)
    return {
        "Adam constant": keras.optimizers.Adam(peak),
        "Adam Keras CosineDecay": keras.optimizers.Adam(keras.optimizers.schedules.CosineDecay(
            0.0, TOTAL - WARMUP, warmup_target=peak, warmup_steps=WARMUP)),
        "Adam lrsched": keras.optimizers.Adam(lk.LearningRateSchedule(s)),
        "AdamW constant": keras.optimizers.AdamW(peak, weight_decay=0.004),
        "AdamW inject": lk.inject(keras.optimizers.AdamW, learning_rate=s,
                                  beta_1=lrsched.one_cycle_momentum(TOTAL),
                                  weight_decay=lrsched.linear(0.004, 0.0, TOTAL)),
    }


def model(optimizer):
    keras.utils.set_random_seed(0)
    inp = keras.Input((SIZES[0],))
    x = inp
    for n in SIZES[1:-1]:
        x = keras.layers.Dense(n, activation="relu")(x)
    m = keras.Model(inp, keras.layers.Dense(SIZES[-1])(x))
    m.compile(optimizer, loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    return m


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=7)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    x = rng.normal(size=(BATCH, SIZES[0])).astype(np.float32)
    y = rng.integers(0, SIZES[-1], size=(BATCH,)).astype(np.int32)
    models = {name: model(opt) for name, opt in variants().items()}
    for m in models.values():
        m.train_on_batch(x, y)  # compile
    per_step = {name: [] for name in models}
    for _ in range(args.repeats):  # interleaved, so drift in machine load hits every variant alike
        for name, m in models.items():
            t0 = time.perf_counter()
            for _ in range(args.steps):
                m.train_on_batch(x, y)
            per_step[name].append((time.perf_counter() - t0) / args.steps)
    times = {name: float(np.median(ts)) for name, ts in per_step.items()}
    base = {name: times["AdamW constant" if name.startswith("AdamW") else "Adam constant"] for name in times}
    print(f"Keras {keras.__version__} ({keras.backend.backend()}) MLP {SIZES}, batch {BATCH}, train_on_batch, "
          f"{args.steps} steps x {args.repeats} repeats (median), {jax.devices()[0].platform}, "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"{'variant':<26}{'us/step':>10}{'ratio':>8}")
    for name, t in times.items():
        print(f"{name:<26}{t * 1e6:>10.1f}{t / base[name]:>8.3f}")
    out = pathlib.Path(__file__).parent / "results" / "keras.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({
        "step_seconds": times, "ratio_to_constant": {k: v / base[k] for k, v in times.items()},
        "steps": args.steps, "repeats": args.repeats, "keras": keras.__version__, "jax": jax.__version__,
        "machine": platform.machine(), "device": str(jax.devices()[0]), "load_average": os.getloadavg()[0],
    }, indent=2))
    print(f"\nwrote {out}")


if __name__ == "__main__":
    main()
