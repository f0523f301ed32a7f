"""scikit-learn's ``load_digits`` and a small pure-JAX MLP: the data and model of the
demo, the examples, the tests and the benchmarks.

Everything here is plain JAX (no flax), so a training run is one ``lax.scan``
(:func:`train`) that ``jax.vmap`` can batch over optimizer states: the demo trains
a whole grid of schedules as one program. Needs scikit-learn for :func:`load`
(``pip install 'lrsched[examples]'``); ``import lrsched`` does not import this module.

Examples:
  >>> import optax
  >>> from lrsched.demo import digits
  >>> data = digits.load()
  >>> xs, ys = digits.batches(data.x_train, data.y_train, num_steps=50)
  >>> params = digits.init_mlp(0)
  >>> tx = optax.adam(1e-2)
  >>> params, _, losses = digits.train(tx, params, tx.init(params), xs, ys)
  >>> bool(losses[-5:].mean() < losses[:5].mean()), bool(digits.accuracy(params, data.x_test, data.y_test) > 0.8)
  (True, True)
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["Digits", "load", "batches", "init_mlp", "apply_mlp", "loss_fn", "accuracy", "update", "train"]

Params = list  # a list of {"w": (n_in, n_out), "b": (n_out,)} layers


class Digits(NamedTuple):
    """The digits split into training and test sets (from :func:`load`).

    Examples:
      >>> from lrsched.demo.digits import load
      >>> x_train, y_train, x_test, y_test = load()
      >>> len(x_train) + len(x_test)
      1797
    """

    x_train: np.ndarray  # (n, 64) float32, standardised with the training statistics
    y_train: np.ndarray  # (n,) int32 labels 0..9
    x_test: np.ndarray
    y_test: np.ndarray


def load(test_fraction: float = 0.25, seed: int = 0) -> Digits:
    """The 1,797 8x8 handwritten digits, shuffled with `seed`, split, and standardised.

    Each pixel is standardised with the training set's mean and standard deviation
    (``(x - mean) / (std + 1e-6)``), applied to both sets.

    Args:
      test_fraction: the share of the images held out for testing.
      seed: seeds the shuffle before the split.

    Returns:
      A :class:`Digits` of float32 images ``(n, 64)`` and int32 labels ``(n,)``.

    Examples:
      >>> from lrsched.demo.digits import load
      >>> d = load()
      >>> d.x_train.shape, d.x_test.shape, d.y_train.dtype
      ((1348, 64), (449, 64), dtype('int32'))
    """
    try:
        from sklearn.datasets import load_digits
    except ImportError as e:
        raise ImportError("the digits data needs scikit-learn: pip install 'lrsched[examples]'") from e
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"digits.load: test_fraction must be in (0, 1); got {test_fraction!r}")
    data = load_digits()
    x = data.data.astype(np.float32)
    y = data.target.astype(np.int32)
    order = np.random.default_rng(seed).permutation(len(x))
    x, y = x[order], y[order]
    n_test = int(round(len(x) * test_fraction))
    x_train, x_test = x[n_test:], x[:n_test]
    mean, std = x_train.mean(0), x_train.std(0) + 1e-6
    return Digits((x_train - mean) / std, y[n_test:], (x_test - mean) / std, y[:n_test])


def batches(x: np.ndarray, y: np.ndarray, num_steps: int, batch_size: int = 64,
            seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """`num_steps` batches stacked as arrays, as a shuffling data loader would give them.

    Each epoch is a fresh permutation of the samples (the last incomplete batch
    of an epoch is dropped); epochs follow one another until `num_steps` batches.

    Args:
      x, y: the samples and their labels.
      num_steps: the number of batches.
      batch_size: samples per batch (at most ``len(x)``).
      seed: seeds the permutations.

    Returns:
      ``(xs, ys)`` of shapes ``(num_steps, batch_size, ...)``.

    Examples:
      >>> import numpy as np
      >>> from lrsched.demo.digits import batches
      >>> xs, ys = batches(np.arange(10.0), np.arange(10), num_steps=7, batch_size=3)
      >>> xs.shape, len(set(xs[:3].reshape(-1).tolist()))   # one epoch: 3 batches, 9 distinct samples
      ((7, 3), 9)
    """
    if not 1 <= batch_size <= len(x):
        raise ValueError(f"digits.batches: batch_size must be in [1, {len(x)}] (the number of samples); "
                         f"got {batch_size!r}")
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


def init_mlp(key: Any = 0, sizes: tuple[int, ...] = (64, 64, 10)) -> Params:
    r"""He-initialised dense layers: :math:`W \sim \mathcal{N}(0, 2 / n_{in})`, :math:`b = 0`.

    The weights are drawn with numpy from `key` (``jax.random`` would compile a
    program per shape, seconds on a small CPU), so the same `key` gives the same
    parameters on every machine.

    Args:
      key: an int seed, a typed JAX key (``jax.random.key``) or a raw ``PRNGKey``.
      sizes: the layer widths, input first (64 pixels, ..., 10 classes).

    Returns:
      A list of ``{"w": (n_in, n_out), "b": (n_out,)}`` float32 layers.

    Examples:
      >>> from lrsched.demo.digits import init_mlp
      >>> [layer["w"].shape for layer in init_mlp(0, (64, 32, 10))]
      [(64, 32), (32, 10)]
    """
    rng = np.random.default_rng(_seed(key))
    return [{"w": jnp.asarray(rng.standard_normal((n_in, n_out), np.float32) * np.sqrt(2.0 / n_in)),
             "b": jnp.zeros((n_out,), jnp.float32)}
            for n_in, n_out in zip(sizes[:-1], sizes[1:])]


def apply_mlp(params: Params, x: jax.Array) -> jax.Array:
    r"""The logits: ReLU hidden layers, a linear last layer,
    :math:`h_{k+1} = \max(0, h_k W_k + b_k)`.

    Args:
      params: layers from :func:`init_mlp`.
      x: inputs of shape ``(..., sizes[0])``.

    Returns:
      Logits of shape ``(..., sizes[-1])``.

    Examples:
      >>> import jax.numpy as jnp
      >>> from lrsched.demo.digits import apply_mlp, init_mlp
      >>> apply_mlp(init_mlp(0), jnp.zeros((5, 64))).shape
      (5, 10)
    """
    for layer in params[:-1]:
        x = jax.nn.relu(x @ layer["w"] + layer["b"])
    return x @ params[-1]["w"] + params[-1]["b"]


def loss_fn(params: Params, batch: tuple[jax.Array, jax.Array]) -> jax.Array:
    r"""Mean softmax cross-entropy of a batch ``(x, y)``:
    :math:`-\frac{1}{n}\sum_i \log \operatorname{softmax}(f(x_i))_{y_i}`.

    Args:
      params: layers from :func:`init_mlp`.
      batch: ``(x, y)``, inputs ``(n, 64)`` and int labels ``(n,)``.

    Returns:
      The scalar loss.

    Examples:
      >>> import jax.numpy as jnp
      >>> from lrsched.demo.digits import init_mlp, loss_fn
      >>> zero = [{"w": l["w"] * 0, "b": l["b"]} for l in init_mlp(0)]   # uniform over 10 classes
      >>> round(float(loss_fn(zero, (jnp.ones((4, 64)), jnp.arange(4)))), 4)   # log(10)
      2.3026
    """
    x, y = batch
    logits = apply_mlp(params, x)
    return -jnp.mean(jnp.take_along_axis(jax.nn.log_softmax(logits), y[:, None], axis=1))


def accuracy(params: Params, x: jax.Array, y: jax.Array) -> jax.Array:
    """The share of `x` whose largest logit is its label `y`.

    Args:
      params: layers from :func:`init_mlp`.
      x, y: inputs ``(n, 64)`` and int labels ``(n,)``.

    Returns:
      A scalar in [0, 1].

    Examples:
      >>> import jax.numpy as jnp
      >>> from lrsched.demo.digits import accuracy
      >>> eye = [{"w": jnp.eye(3), "b": jnp.zeros(3)}]        # logits = inputs
      >>> round(float(accuracy(eye, jnp.eye(3), jnp.array([0, 1, 0]))), 4)
      0.6667
    """
    return jnp.mean(jnp.argmax(apply_mlp(params, x), axis=1) == y)


def update(tx: Any, params: Params, state: Any, batch: tuple[jax.Array, jax.Array]) -> tuple[Params, Any, jax.Array]:
    """One optimizer step on one batch: the loss and its gradient at `params`, then `tx`'s update.

    Args:
      tx: an optax ``GradientTransformation``.
      params: layers from :func:`init_mlp`.
      state: `tx`'s state.
      batch: ``(x, y)``.

    Returns:
      ``(params, state, loss)`` with the loss before the update.

    Examples:
      >>> import jax.numpy as jnp, optax
      >>> from lrsched.demo.digits import init_mlp, update
      >>> p = init_mlp(0); tx = optax.sgd(0.1)
      >>> p2, _, loss = update(tx, p, tx.init(p), (jnp.ones((4, 64)), jnp.arange(4)))
      >>> bool(jnp.any(p2[0]["w"] != p[0]["w"])), loss.shape
      (True, ())
    """
    import optax

    loss, grads = jax.value_and_grad(loss_fn)(params, batch)
    updates, state = tx.update(grads, state, params)
    return optax.apply_updates(params, updates), state, loss


def train(tx: Any, params: Params, state: Any, xs: jax.Array, ys: jax.Array) -> tuple[Params, Any, jax.Array]:
    """One optimizer step per batch ``(xs[i], ys[i])``, as one ``lax.scan`` of :func:`update`.

    Step ``i`` computes the loss of batch ``i`` and its gradient at the current
    params, then applies ``tx``'s update. Pure, so ``jax.jit`` and ``jax.vmap``
    (over optimizer states holding schedules, for example) apply.

    Args:
      tx: an optax ``GradientTransformation`` (``optax.adam(schedule)``,
        ``lrsched.optax.inject(...)``).
      params: layers from :func:`init_mlp`.
      state: ``tx.init(params)``.
      xs, ys: stacked batches from :func:`batches`.

    Returns:
      ``(params, state, losses)`` with each step's loss before its update.

    Examples:
      >>> import optax
      >>> from lrsched.demo import digits
      >>> d = digits.load(); xs, ys = digits.batches(d.x_train, d.y_train, 3)
      >>> p = digits.init_mlp(0); tx = optax.sgd(0.1)
      >>> digits.train(tx, p, tx.init(p), xs, ys)[2].shape
      (3,)
    """
    def step(carry: tuple[Params, Any], batch: tuple[jax.Array, jax.Array]) -> tuple[tuple[Params, Any], jax.Array]:
        p, st, loss = update(tx, *carry, batch)
        return (p, st), loss

    (params, state), losses = jax.lax.scan(step, (params, state), (xs, ys))
    return params, state, losses
