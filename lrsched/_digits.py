"""scikit-learn's ``load_digits`` and a small pure-JAX MLP, shared by the demo,
the examples, the tests and the benchmarks (needs scikit-learn; not imported by
``import lrsched``)."""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["Digits", "load", "batches", "init_mlp", "apply_mlp", "loss_fn", "accuracy", "train"]


class Digits(NamedTuple):
    x_train: np.ndarray  # (n, 64) float32, standardised with the training statistics
    y_train: np.ndarray  # (n,) int32 labels 0..9
    x_test: np.ndarray
    y_test: np.ndarray


def load(test_fraction: float = 0.25, seed: int = 0) -> Digits:
    """The 1,797 8x8 handwritten digits, shuffled with `seed` and split."""
    try:
        from sklearn.datasets import load_digits
    except ImportError as e:
        raise ImportError("the digits data needs scikit-learn: pip install 'lrsched[examples]'") from e
    data = load_digits()
    x = data.data.astype(np.float32)
    y = data.target.astype(np.int32)
    order = np.random.default_rng(seed).permutation(len(x))
    x, y = x[order], y[order]
    n_test = int(round(len(x) * test_fraction))
    x_train, x_test = x[n_test:], x[:n_test]
    mean, std = x_train.mean(0), x_train.std(0) + 1e-6
    return Digits((x_train - mean) / std, y[n_test:], (x_test - mean) / std, y[:n_test])


def batches(x: np.ndarray, y: np.ndarray, num_steps: int, batch_size: int = 64, seed: int = 0):
    """`num_steps` batches stacked as arrays ``(num_steps, batch_size, ...)``: epochs
    of reshuffled samples, as a data loader would give them."""
    rng = np.random.default_rng(seed)
    per_epoch = len(x) // batch_size
    idx = np.concatenate([rng.permutation(len(x))[: per_epoch * batch_size]
                          for _ in range(-(-num_steps // per_epoch))])
    idx = idx[: num_steps * batch_size].reshape(num_steps, batch_size)
    return x[idx], y[idx]


def _seed(key: Any) -> int:
    """An int seed from an int, a typed JAX key or a raw ``PRNGKey`` array."""
    if isinstance(key, (int, np.integer)):
        return int(key)
    if jnp.issubdtype(key.dtype, jax.dtypes.prng_key):
        key = jax.random.key_data(key)
    return int.from_bytes(np.asarray(key, np.uint32).tobytes(), "little")


def init_mlp(key: Any = 0, sizes: tuple[int, ...] = (64, 64, 10)) -> list[dict[str, jax.Array]]:
    """He-initialised dense layers, drawn with numpy from `key` (an int seed or a
    JAX key): ``jax.random`` would compile a program per shape, seconds on a small CPU."""
    rng = np.random.default_rng(_seed(key))
    return [{"w": jnp.asarray(rng.standard_normal((n_in, n_out), np.float32) * np.sqrt(2.0 / n_in)),
             "b": jnp.zeros((n_out,), jnp.float32)}
            for n_in, n_out in zip(sizes[:-1], sizes[1:])]


def apply_mlp(params: Any, x: jax.Array) -> jax.Array:
    for layer in params[:-1]:
        x = jax.nn.relu(x @ layer["w"] + layer["b"])
    return x @ params[-1]["w"] + params[-1]["b"]


def loss_fn(params: Any, batch: tuple[jax.Array, jax.Array]) -> jax.Array:
    """Mean softmax cross-entropy of a batch ``(x, y)``."""
    x, y = batch
    logits = apply_mlp(params, x)
    return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), y[:, None], axis=1))


def accuracy(params: Any, x: jax.Array, y: jax.Array) -> jax.Array:
    return jnp.mean(jnp.argmax(apply_mlp(params, x), axis=1) == y)


def train(tx: Any, params: Any, state: Any, xs: jax.Array, ys: jax.Array) -> tuple[Any, Any, jax.Array]:
    """One optimizer step per batch ``(xs[i], ys[i])`` as a ``lax.scan``; returns
    ``(params, state, losses)`` with each step's loss before its update."""
    import optax

    def step(carry, batch):
        p, st = carry
        loss, grads = jax.value_and_grad(loss_fn)(p, batch)
        updates, st = tx.update(grads, st, p)
        return (optax.apply_updates(p, updates), st), loss

    (params, state), losses = jax.lax.scan(step, (params, state), (xs, ys))
    return params, state, losses
