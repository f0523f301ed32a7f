"""A learning-rate sweep in one jitted program: N copies of a flax MLP on scikit-learn's digits.

Every configuration (peak value x warmup steps x decay shape x total steps) is one
entry of a batched schedule; the optimizer states hold the schedules
(``lrsched.optax.scale_by_schedule``), and ``jax.vmap`` trains all the copies at
once. Changing any number, step counts included, never recompiles. With
``--shard`` the sweep axis is spread over every device (and every host after
``jax.distributed.initialize()``).

    python examples/sweep_digits.py                      # 32 configurations, 300 steps
    python examples/sweep_digits.py --check 3 --plot sweep.png
    XLA_FLAGS=--xla_force_host_platform_device_count=8 python examples/sweep_digits.py --shard

Decay shapes of different structure (cosine vs linear) share one program here
through a numeric weight: ``w * cosine + (1 - w) * linear`` with ``w`` in {0, 1}
is exactly one of the two.
"""

from __future__ import annotations

import argparse
import time
from typing import Any, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

import lrsched
import lrsched.optax
from lrsched import sweep
from lrsched.demo import digits

SHAPES = {"cosine": 1.0, "linear": 0.0}


class MLP(nn.Module):
    hidden: int = 64

    @nn.compact
    def __call__(self, x: jax.Array) -> jax.Array:
        x = nn.relu(nn.Dense(self.hidden)(x))
        return nn.Dense(10)(x)


def make_schedule(peak_value: float, warmup_steps: int, decay: str, total_steps: int) -> lrsched.Schedule:
    """Linear warmup to `peak_value`, then a cosine or linear decay to 0 at `total_steps`."""
    length = total_steps - warmup_steps
    w = SHAPES[decay]  # a number, so both shapes share one structure and stack together
    shape = w * lrsched.cosine(peak_value, length) + (1.0 - w) * lrsched.linear(peak_value, 0.0, length)
    return lrsched.warmup(shape, warmup_steps)


def make_optimizer(schedule: lrsched.Schedule) -> optax.GradientTransformation:
    """Adam whose learning rate is the schedule held in the optimizer state."""
    return optax.chain(optax.scale_by_adam(), lrsched.optax.scale_by_schedule(schedule), optax.scale(-1.0))


def build(model: MLP, template: lrsched.Schedule, xs: jax.Array, ys: jax.Array, x_test: Any, y_test: Any):
    """``train(params, opt_state) -> (params, losses, test_loss, test_accuracy)`` for one configuration.

    `template` only fixes the structure: the update reads each schedule from its state.
    """
    tx = make_optimizer(template)

    def loss_fn(params, x, y):
        logits = model.apply(params, x)
        return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

    def train(params, opt_state):
        def step(carry, batch):
            params, opt_state = carry
            loss, grads = jax.value_and_grad(loss_fn)(params, *batch)
            updates, opt_state = tx.update(grads, opt_state, params)
            return (optax.apply_updates(params, updates), opt_state), loss

        (params, _), losses = jax.lax.scan(step, (params, opt_state), (xs, ys))
        logits = model.apply(params, x_test)
        test_loss = optax.softmax_cross_entropy_with_integer_labels(logits, y_test).mean()
        return params, losses, test_loss, jnp.mean(jnp.argmax(logits, -1) == y_test)

    return train


def main(argv: Sequence[str] | None = None) -> dict[str, Any]:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", type=int, default=300, help="training steps (the longest schedule)")
    p.add_argument("--peaks", type=float, nargs="+", default=[3e-3, 1e-2, 3e-2, 1e-1])
    p.add_argument("--warmups", type=int, nargs="+", default=[0, 30])
    p.add_argument("--decays", nargs="+", default=list(SHAPES), choices=list(SHAPES))
    p.add_argument("--totals", type=float, nargs="+", default=[0.5, 1.0],
                   help="schedule lengths, as fractions of --steps (a short schedule then holds its end)")
    p.add_argument("--batch-size", type=int, default=64)
    p.add_argument("--check", type=int, default=0, help="re-run the first K configurations one by one and compare")
    p.add_argument("--shard", action="store_true", help="spread the sweep over every device")
    p.add_argument("--plot", default=None, help="save final test loss vs each swept parameter to this file")
    args = p.parse_args(argv)

    data = digits.load()
    xs, ys = digits.batches(data.x_train, data.y_train, args.steps, args.batch_size)
    model = MLP()
    params0 = model.init(jax.random.key(0), jnp.zeros((1, 64)))  # the same start for every configuration

    totals = sorted({max(1, round(f * args.steps)) for f in args.totals})
    batched, configs = sweep.grid(make_schedule, peak_value=args.peaks, warmup_steps=args.warmups,
                                  decay=args.decays, total_steps=totals,
                                  where=lambda c: c["warmup_steps"] < c["total_steps"])
    n = len(configs)
    train = build(model, sweep.index(batched, 0), xs, ys, data.x_test, data.y_test)
    init = jax.vmap(lambda s: make_optimizer(s).init(params0))
    params = jax.tree.map(lambda x: np.broadcast_to(x, (n,) + x.shape), params0)
    if args.shard:
        m = sweep.mesh()
        batched, params = sweep.shard(batched, m), sweep.shard(params, m)
        print(f"sharding {n} configurations over {m.devices.size} devices ({sweep.size(batched)} with padding)")

    start = time.perf_counter()
    states = jax.jit(init)(batched)
    out = jax.jit(jax.vmap(train))(params, states)
    _, losses, test_loss, test_acc = sweep.gather(out, n=n)
    seconds = time.perf_counter() - start
    final = losses[:, -10:].mean(axis=1)
    print(f"{n} configurations x {args.steps} steps in one program: {seconds:.2f} s (compile included)\n")
    print(sweep.table(configs, train_loss=final, test_loss=test_loss, test_acc=test_acc, sort_by="test_loss"))
    i, best = sweep.best(configs, test_loss)
    print(f"\nbest: {best} -> test loss {test_loss[i]:.4f}, accuracy {test_acc[i]:.3f}")

    result: dict[str, Any] = {"configs": list(configs), "final_loss": final, "test_loss": test_loss,
                              "test_accuracy": test_acc, "seconds": seconds,
                              "best": {**best, "final_loss": float(test_loss[i])}}
    if args.check:
        one = jax.jit(train)  # unbatched: one compile serves every configuration
        diff = 0.0
        for k, s in enumerate(sweep.unstack(sweep.take(batched, np.arange(min(args.check, n))))):
            _, l_k, t_k, _ = one(params0, make_optimizer(s).init(params0))
            diff = max(diff, float(np.abs(np.asarray(l_k) - losses[k]).max()), float(abs(t_k - test_loss[k])))
        print(f"separate runs of the first {min(args.check, n)} configurations: max |difference| {diff:.2e}")
        result["check_max_abs_diff"] = diff
    if args.plot:
        import matplotlib.pyplot as plt

        axes = sweep.plot(configs, test_loss, label="final test loss")  # a constrained layout: labels fit
        axes[0].figure.savefig(args.plot, dpi=120)
        plt.close(axes[0].figure)
        print(f"plot: {args.plot}")
    return result


if __name__ == "__main__":
    main()
