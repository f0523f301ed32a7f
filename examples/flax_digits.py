"""A flax MLP on scikit-learn's digits, trained with an lrsched schedule.

Two schedules:

- ``cosine``: warmup + cosine decay, passed to ``optax.adam`` as it is (a
  Schedule is an optax schedule).
- ``plateau``: warmup, then reduce-on-plateau on the training loss averaged
  over windows of 20 steps (by 0.01 absolute); the plateau lives in the optimizer state
  (``lrsched.optax.inject``) and takes the loss as ``update(..., value=loss)``.

Run::

    python examples/flax_digits.py --schedule cosine --steps 300
    python examples/flax_digits.py --schedule plateau --steps 300
"""

from __future__ import annotations

import argparse
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax.training import train_state

import lrsched
import lrsched.optax
from lrsched.demo import digits


class MLP(nn.Module):
    hidden: int = 64

    @nn.compact
    def __call__(self, x):
        x = nn.relu(nn.Dense(self.hidden)(x))
        return nn.Dense(10)(x)


class TrainState(train_state.TrainState):
    """flax's TrainState, passing the loss on to the optimizer (a plateau schedule needs it)."""

    def apply_gradients(self, *, grads, value=None, **kwargs):
        extra = {} if value is None else {"value": value}
        updates, opt_state = self.tx.update(grads, self.opt_state, self.params, **extra)
        return self.replace(step=self.step + 1, params=optax.apply_updates(self.params, updates),
                            opt_state=opt_state, **kwargs)


def make_optimizer(schedule: str, steps: int, peak: float = 1e-2, warmup: int = 30):
    """The optimizer and a function giving the learning rate of the next update from the TrainState."""
    if schedule == "cosine":
        lr = lrsched.warmup(lrsched.cosine(peak, steps - warmup, end_value=peak / 100), warmup)
        return optax.adam(lr), lambda state: lr(state.step)
    if schedule == "plateau":
        # reduce 3x when the mean loss of 20 steps has not improved by 0.01 for two windows in a row
        lr = lrsched.plateau(lrsched.warmup(lrsched.constant(peak), warmup), factor=0.3, patience=1,
                             threshold=0.01, threshold_mode="abs", every=20, aggregate="mean", start=warmup,
                             min_value=peak / 100)
        return (lrsched.optax.inject(optax.adam, learning_rate=lr),
                lambda state: lrsched.optax.current(state.opt_state)["learning_rate"])
    raise ValueError(f"schedule must be 'cosine' or 'plateau'; got {schedule!r}")


def train(schedule: str = "cosine", steps: int = 300, batch_size: int = 64, seed: int = 0) -> dict[str, Any]:
    """Train and return the test accuracy, the learning rates and the losses of every step."""
    data = digits.load(seed=seed)
    model = MLP()
    tx, learning_rate = make_optimizer(schedule, steps)
    state = TrainState.create(apply_fn=model.apply, params=model.init(jax.random.PRNGKey(seed), data.x_train[:1]),
                              tx=tx)

    @jax.jit
    def train_step(state, x, y):
        def loss_fn(params):
            logits = state.apply_fn(params, x)
            return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()

        loss, grads = jax.value_and_grad(loss_fn)(state.params)
        lr = learning_rate(state)  # the rate this update uses
        return state.apply_gradients(grads=grads, value=loss), loss, lr

    xs, ys = digits.batches(data.x_train, data.y_train, steps, batch_size, seed=seed)
    losses, lrs = [], []
    for x, y in zip(xs, ys):
        state, loss, lr = train_step(state, x, y)
        losses.append(loss)
        lrs.append(lr)
    logits = jax.jit(state.apply_fn)(state.params, data.x_test)
    accuracy = float(jnp.mean(jnp.argmax(logits, -1) == data.y_test))
    return {"accuracy": accuracy, "lrs": np.asarray(lrs), "losses": np.asarray(losses), "state": state}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--schedule", choices=["cosine", "plateau"], default="cosine")
    parser.add_argument("--steps", type=int, default=300)
    args = parser.parse_args()
    out = train(args.schedule, args.steps)
    lrs = out["lrs"]
    print(f"{args.schedule}: test accuracy {out['accuracy']:.3f}; final loss {out['losses'][-20:].mean():.3f}; "
          f"lr {lrs[0]:.2e} -> max {lrs.max():.2e} -> last {lrs[-1]:.2e}")


if __name__ == "__main__":
    main()
