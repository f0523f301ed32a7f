"""The LR range test (Smith, arXiv:1506.01186) in JAX, and the suggestion rules.

Three ways to look for a learning rate, all pure (the caller's params are never
touched, so there is nothing to restore):

- :func:`lr_range_test`: one run with a rate ramped from `start_lr` to `end_lr`
  (torch_lr_finder's ``range_test`` / fastai's ``lr_find``). With stacked batches
  the whole test is one jitted ``lax.scan``; with an iterator it is a Python loop
  over one jitted step. It stops at divergence.
- :func:`repeated_range_test`: R such runs (batch orders and/or initialisations)
  in parallel under ``jax.vmap``, for the noise-robust :func:`robust` rule.
- :func:`lr_sweep`: K short runs at K fixed rates in parallel: final loss vs rate.

The suggestion rules (:func:`steepest`, :func:`minimum`, :func:`steep`,
:func:`valley`, :func:`slide`, :func:`robust`) work on plain numpy arrays and are
shared with the PyTorch bridge (``lrsched_torch.lr_range_test``). See
``docs/lr-finder.md`` for how each one works.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import warnings
from collections.abc import Iterator
from typing import Any, Callable, Iterable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax

from lrsched._core import Schedule, float_dtype
from lrsched._primitives import constant, exponential, linear

__all__ = [
    "lr_range_test", "repeated_range_test", "lr_sweep",
    "RangeTestResult", "RangeTestRuns", "SweepResult", "Suggestion",
    "ramp_schedule", "ramp_values", "LossTracker",
    "steepest", "minimum", "steep", "valley", "slide", "robust", "suggest", "RULES",
]

_MODES = ("exp", "linear")
_CONVENTIONS = ("torch", "fastai")
_SMOOTHINGS = ("torch", "fastai", "none")
_DEFAULT_SMOOTH_F = {"torch": 0.05, "fastai": 0.02, "none": 0.0}


# ===================================================================== the ramp


def _check_ramp(start_lr: float, end_lr: float, num_steps: int, mode: str, convention: str) -> None:
    if mode not in _MODES:
        raise ValueError(f"lr range test: mode must be one of {list(_MODES)}; got {mode!r}")
    if convention not in _CONVENTIONS:
        raise ValueError(f"lr range test: convention must be one of {list(_CONVENTIONS)}; got {convention!r}")
    if not isinstance(num_steps, (int, np.integer)) or isinstance(num_steps, bool) or num_steps < 2:
        raise ValueError(f"lr range test: num_steps must be an integer >= 2; got {num_steps!r}. "
                         "A range test needs at least two learning rates (100 is usual)")
    if not (math.isfinite(start_lr) and math.isfinite(end_lr)):
        raise ValueError(f"lr range test: start_lr and end_lr must be finite; got {start_lr!r}, {end_lr!r}")
    if mode == "exp" and (start_lr <= 0 or end_lr <= 0):
        raise ValueError(f"lr range test: an exponential ramp needs start_lr > 0 and end_lr > 0; got "
                         f"start_lr={start_lr!r}, end_lr={end_lr!r}. Pass positive rates or mode='linear'")
    if mode == "linear" and (start_lr < 0 or end_lr < 0):
        raise ValueError(f"lr range test: learning rates must be >= 0; got start_lr={start_lr!r}, end_lr={end_lr!r}")


def ramp_schedule(start_lr: float = 1e-7, end_lr: float = 10.0, num_steps: int = 100, mode: str = "exp",
                  convention: str = "torch") -> Schedule:
    r"""The range test's learning-rate ramp as an lrsched schedule.

    .. math::
       \text{exp: } s\,(e/s)^{i/d} \qquad \text{linear: } s + (e - s)\, i / d

    with ``d = num_steps - 1`` (``convention="torch"``, torch_lr_finder: the last
    step runs at `end_lr`) or ``d = num_steps`` (``convention="fastai"``, fastai's
    ``lr_find``: `end_lr` is never reached).

    Examples:
      >>> import lrsched
      >>> from lrsched.finder import ramp_schedule
      >>> lrsched.evaluate(ramp_schedule(1e-3, 1.0, num_steps=4), 4).round(4)
      array([0.001, 0.01 , 0.1  , 1.   ], dtype=float32)
      >>> lrsched.evaluate(ramp_schedule(0.0, 1.0, 4, mode="linear", convention="fastai"), 4)
      array([0.  , 0.25, 0.5 , 0.75], dtype=float32)
    """
    _check_ramp(start_lr, end_lr, num_steps, mode, convention)
    d = int(num_steps) - 1 if convention == "torch" else int(num_steps)
    if mode == "exp":
        return exponential(float(start_lr), float(end_lr) / float(start_lr), steps=d)
    return linear(float(start_lr), float(end_lr), steps=d)


def ramp_values(start_lr: float = 1e-7, end_lr: float = 10.0, num_steps: int = 100, mode: str = "exp",
                convention: str = "torch") -> np.ndarray:
    """The ramp of :func:`ramp_schedule` in float64 numpy, computed as torch_lr_finder
    computes it (``s * (e / s) ** r`` or ``s + r * (e - s)``, ``r = i / d``).

    The PyTorch bridge uses this so that its rates equal torch_lr_finder's bit for
    bit, without starting a JAX device.

    Examples:
      >>> from lrsched.finder import ramp_values
      >>> ramp_values(1e-3, 1.0, 4)
      array([0.001, 0.01 , 0.1  , 1.   ])
    """
    _check_ramp(start_lr, end_lr, num_steps, mode, convention)
    d = int(num_steps) - 1 if convention == "torch" else int(num_steps)
    r = [i / d for i in range(int(num_steps))]
    s, e = float(start_lr), float(end_lr)
    if mode == "exp":
        return np.array([s * (e / s) ** x for x in r], dtype=np.float64)
    return np.array([s + x * (e - s) for x in r], dtype=np.float64)


# ================================================================= smoothing


def _resolve_smoothing(smoothing: str, smooth_f: float | None) -> float:
    if smoothing not in _SMOOTHINGS:
        raise ValueError(f"lr range test: smoothing must be one of {list(_SMOOTHINGS)}; got {smoothing!r}")
    f = _DEFAULT_SMOOTH_F[smoothing] if smooth_f is None else float(smooth_f)
    if smoothing != "none" and not 0.0 <= f < 1.0:
        raise ValueError(f"lr range test: smooth_f must be in [0, 1) (the weight of the newest loss); got {f!r}")
    return f


def _resolve_diverge(diverge_factor: float | None) -> float:
    if diverge_factor is None:
        return math.inf
    if not diverge_factor > 0:
        raise ValueError(f"lr range test: diverge_factor must be > 0 or None (never stop); got {diverge_factor!r}")
    return float(diverge_factor)


class LossTracker:
    """Online loss smoothing and divergence test, one Python float at a time.

    ``smoothing="torch"`` (torch_lr_finder's ``smooth_f`` form): the first loss
    raw, then ``s_i = f * raw_i + (1 - f) * s_{i-1}`` (no debiasing; ``f = 0``
    means no smoothing). ``smoothing="fastai"`` (fastai's ``AvgSmoothLoss``):
    ``v_i = raw_i + beta * (v_{i-1} - raw_i)`` with ``v_{-1} = 0``, ``beta = 1 - f``,
    reported debiased ``s_i = v_i / (1 - beta**(i+1))``. ``"none"``: ``s_i = raw_i``.

    ``best`` is the lowest smoothed loss so far (the first loss to start with);
    a step diverges when ``s_i > diverge_factor * best`` or ``s_i`` is not finite
    (torch_lr_finder keeps going on NaN; here a NaN ends the test). The diverging
    step is still recorded, as both anchors record it.

    Examples:
      >>> from lrsched.finder import LossTracker
      >>> t = LossTracker("torch", smooth_f=0.5, diverge_factor=2.0)
      >>> [t.update(x) for x in (1.0, 3.0, 7.0)]
      [(1.0, False), (2.0, False), (4.5, True)]
    """

    def __init__(self, smoothing: str = "torch", smooth_f: float | None = None,
                 diverge_factor: float | None = 5.0) -> None:
        self.smoothing = smoothing
        self.f = _resolve_smoothing(smoothing, smooth_f)
        self.factor = _resolve_diverge(diverge_factor)
        self.n = 0
        self.prev = 0.0
        self.best = math.inf

    def update(self, raw: float) -> tuple[float, bool]:
        """Take the raw loss of the next step; return ``(smoothed, diverged)``."""
        raw = float(raw)
        if self.smoothing == "fastai":
            beta = 1.0 - self.f
            self.prev = raw + beta * (self.prev - raw)
            s = self.prev / (1.0 - beta ** (self.n + 1))
        elif self.smoothing == "torch" and self.n > 0 and self.f > 0:
            s = self.f * raw + (1.0 - self.f) * self.prev
            self.prev = s
        else:
            s = raw
            self.prev = s
        if self.n == 0:
            self.best = s
        elif s < self.best:
            self.best = s
        self.n += 1
        diverged = (not math.isfinite(s)) or (math.isfinite(self.factor) and s > self.factor * self.best)
        return s, diverged


def _smooth_jax(smoothing: str, f: jax.Array, i: jax.Array, prev: jax.Array, raw: jax.Array):
    """One step of :class:`LossTracker`'s smoothing, traced; returns ``(s, new_prev)``."""
    if smoothing == "fastai":
        beta = 1.0 - f
        v = raw + beta * (prev - raw)
        return v / (1.0 - beta ** (i + 1).astype(raw.dtype)), v
    if smoothing == "torch":
        s = jnp.where((i > 0) & (f > 0), f * raw + (1.0 - f) * prev, raw)
        return s, s
    return raw, raw


# ======================================================== the JAX range test


def _is_stacked(batches: Any) -> bool:
    """A pytree of arrays sharing a leading (step) axis; lists count as sequences of batches."""
    if isinstance(batches, list) or not isinstance(batches, (np.ndarray, jax.Array, tuple, dict)):
        return False
    leaves = jax.tree.leaves(batches)
    if not leaves or not all(isinstance(x, (np.ndarray, jax.Array)) and np.ndim(x) >= 1 for x in leaves):
        return False
    return len({np.shape(x)[0] for x in leaves}) == 1


def _num_batches(batches: Any) -> int:
    return int(np.shape(jax.tree.leaves(batches)[0])[0])


def _check_optimizer(optimizer: Any) -> None:
    if isinstance(optimizer, optax.GradientTransformation) or not callable(optimizer):
        raise TypeError(
            "lr range test: optimizer must be an optax optimizer factory taking learning_rate (optax.sgd, "
            f"optax.adam, functools.partial(optax.sgd, momentum=0.9)); got {type(optimizer).__name__}. "
            "Pass the factory itself, not optax.adam(1e-3)")


def _value_and_grad(loss_fn: Callable, has_aux: bool) -> Callable:
    vg = jax.value_and_grad(loss_fn, has_aux=has_aux)
    if has_aux:
        return lambda p, b: (lambda out: (out[0][0], out[1]))(vg(p, b))
    return vg


def _ramp_step(loss_fn, optimizer, smoothing, has_aux, ramp, f, factor):
    """The body of the range test: ``(carry, i, batch) -> (carry, (lr, raw, smoothed, stopped))``;
    ``stopped`` turns True at the diverging step, after which steps are skipped (NaN)."""
    tx = optax.inject_hyperparams(optimizer)(learning_rate=ramp)
    vg = _value_and_grad(loss_fn, has_aux)

    def init(params):
        zero = jnp.zeros((), float_dtype())
        return (params, tx.init(params), zero, jnp.asarray(jnp.inf, float_dtype()), jnp.zeros((), bool))

    def live(carry, i, batch):
        params, opt_state, prev, best, _ = carry
        raw, grads = vg(params, batch)
        raw = jnp.asarray(raw, float_dtype())
        updates, opt_state = tx.update(grads, opt_state, params)
        params = optax.apply_updates(params, updates)
        s, prev = _smooth_jax(smoothing, f, i, prev, raw)
        best = jnp.where((i == 0) | (s < best), s, best)
        diverged = ~jnp.isfinite(s) | (jnp.isfinite(factor) & (s > factor * best))
        return (params, opt_state, prev, best, diverged), (raw, s)

    def step(carry, i, batch):
        def dead(carry, i, batch):
            nan = jnp.full((), jnp.nan, float_dtype())
            return carry, (nan, nan)

        carry, (raw, s) = jax.lax.cond(carry[4], dead, live, carry, i, batch)
        return carry, (jnp.asarray(ramp(i), float_dtype()), raw, s, carry[4])

    return init, step


def _take(batches: Any, j: jax.Array) -> Any:
    return jax.tree.map(lambda b: jax.lax.dynamic_index_in_dim(b, j, keepdims=False), batches)


def _scan_impl(params, batches, order, ramp, f, factor, *, loss_fn, optimizer, smoothing, has_aux):
    """The whole range test as one ``lax.scan``; `order` is the batch index of each step."""
    init, step = _ramp_step(loss_fn, optimizer, smoothing, has_aux, ramp, f, factor)

    def body(carry, xs):
        i, j = xs
        return step(carry, i, _take(batches, j))

    steps = jnp.arange(order.shape[-1], dtype=order.dtype)
    _, out = jax.lax.scan(body, init(params), (steps, order))
    return out


_scan_test = jax.jit(_scan_impl, static_argnames=("loss_fn", "optimizer", "smoothing", "has_aux"))


@functools.partial(jax.jit, static_argnames=("loss_fn", "optimizer", "smoothing", "has_aux", "shared_params"))
def _scan_repeated(params, batches, orders, ramp, f, factor, *, loss_fn, optimizer, smoothing, has_aux,
                   shared_params):
    def one(p, order):
        return _scan_impl(p, batches, order, ramp, f, factor, loss_fn=loss_fn, optimizer=optimizer,
                          smoothing=smoothing, has_aux=has_aux)

    return jax.vmap(one, in_axes=(None if shared_params else 0, 0))(params, orders)


@functools.partial(jax.jit, static_argnames=("loss_fn", "optimizer", "smoothing", "has_aux"))
def _jit_init(params, ramp, f, factor, *, loss_fn, optimizer, smoothing, has_aux):
    init, _ = _ramp_step(loss_fn, optimizer, smoothing, has_aux, ramp, f, factor)
    return init(params)


@functools.partial(jax.jit, static_argnames=("loss_fn", "optimizer", "smoothing", "has_aux"))
def _jit_step(carry, i, batch, ramp, f, factor, *, loss_fn, optimizer, smoothing, has_aux):
    _, step = _ramp_step(loss_fn, optimizer, smoothing, has_aux, ramp, f, factor)
    return step(carry, i, batch)


def _iterate(batches: Any, what: str):
    """Batches one by one; a re-iterable (list, data loader) restarts when exhausted."""
    restartable = not isinstance(batches, Iterator)  # iter() once: a shuffling loader draws per iter()
    it = iter(batches)
    while True:
        try:
            yield next(it)
        except StopIteration:
            if not restartable:
                return
            it = iter(batches)
            try:
                yield next(it)
            except StopIteration:
                raise ValueError(f"{what}: the batches are empty") from None


def lr_range_test(
    loss_fn: Callable[[Any, Any], Any],
    params: Any,
    batches: Any,
    optimizer: Callable[..., optax.GradientTransformation] = optax.sgd,
    start_lr: float = 1e-7,
    end_lr: float = 10.0,
    num_steps: int = 100,
    mode: str = "exp",
    smoothing: str = "torch",
    smooth_f: float | None = None,
    diverge_factor: float | None = 5.0,
    convention: str = "torch",
    has_aux: bool = False,
) -> RangeTestResult:
    r"""The LR range test: train with a rate ramped from `start_lr` to `end_lr`, record the loss.

    Step ``i`` (``i = 0 .. num_steps - 1``) computes the loss of batch ``i`` at the
    current params, then takes one optimizer step at rate ``lr_i`` (see
    :func:`ramp_schedule`); the rate reaches the optimizer through
    ``optax.inject_hyperparams`` with the ramp as a schedule, so any optax factory
    taking ``learning_rate`` works and nothing recompiles between steps. The loss
    is smoothed (:class:`LossTracker`) and the test stops after recording the
    first step whose smoothed loss exceeds ``diverge_factor * best`` (or is NaN).

    torch_lr_finder's defaults are the defaults here. fastai's ``lr_find`` is
    ``convention="fastai", smoothing="fastai", diverge_factor=4.0``.

    Args:
      loss_fn: ``loss_fn(params, batch) -> scalar`` (``-> (scalar, aux)`` with `has_aux`).
      params: the initial parameters (a pytree); never modified.
      batches: a pytree of arrays stacked along a leading step axis (a tuple ``(x, y)``
        of arrays, an array, a dict): the whole test is one jitted ``lax.scan``; if
        there are fewer than `num_steps` batches they are reused in order. Or a
        list / iterable of per-step batches: a Python loop over one jitted step
        (a list or data loader restarts when exhausted; a one-shot iterator ends the test).
      optimizer: an optax factory taking ``learning_rate`` (``optax.adam``,
        ``functools.partial(optax.sgd, momentum=0.9)``).
      start_lr, end_lr, num_steps, mode, convention: the ramp (:func:`ramp_schedule`).
      smoothing, smooth_f: ``"torch"`` (``smooth_f=0.05``), ``"fastai"`` (``smooth_f = 1 - beta = 0.02``), "none".
      diverge_factor: stop when the smoothed loss exceeds this times the best one
        (torch_lr_finder's ``diverge_th=5``; fastai uses 4); ``None`` never stops
        (except on NaN).
      has_aux: `loss_fn` returns ``(loss, aux)``.

    Returns:
      A :class:`RangeTestResult` truncated at the diverging step.

    Examples:
      >>> import jax.numpy as jnp
      >>> from lrsched.finder import lr_range_test
      >>> loss = lambda w, b: jnp.mean((b[0] * w - b[1]) ** 2)   # fit y = 3 x
      >>> x = jnp.linspace(-1, 1, 32).reshape(4, 8); batches = (x, 3 * x)
      >>> r = lr_range_test(loss, jnp.zeros(()), batches, start_lr=1e-3, end_lr=1e2, num_steps=30)
      >>> r.diverged, len(r.lrs) < 30
      (True, True)
      >>> bool(1e-3 < r.suggest("minimum").lr < 10.0)
      True

    References:
      Smith, Cyclical Learning Rates for Training Neural Networks, arXiv:1506.01186.
    """
    _check_optimizer(optimizer)
    ramp = ramp_schedule(start_lr, end_lr, num_steps, mode, convention)
    f = _resolve_smoothing(smoothing, smooth_f)
    factor = _resolve_diverge(diverge_factor)
    statics = dict(loss_fn=loss_fn, optimizer=optimizer, smoothing=smoothing, has_aux=has_aux)
    fa, fac = jnp.asarray(f, float_dtype()), jnp.asarray(factor, float_dtype())
    if _is_stacked(batches):
        nb = _num_batches(batches)
        if nb == 0:
            raise ValueError("lr_range_test: the stacked batches have a leading (step) axis of size 0")
        order = jnp.asarray(np.arange(num_steps) % nb, jnp.int32)
        out = jax.device_get(_scan_test(params, batches, order, ramp, fa, fac, **statics))
    else:
        carry = _jit_init(params, ramp, fa, fac, **statics)
        out = []
        batch_iter = _iterate(batches, "lr_range_test")
        for i in range(num_steps):
            try:
                batch = next(batch_iter)
            except StopIteration:
                warnings.warn(f"lr_range_test: the batch iterator ran out after {i} of {num_steps} steps; "
                              "the result stops there. Pass a list or a re-iterable loader to reuse batches",
                              stacklevel=2)
                break
            carry, rec = _jit_step(carry, jnp.asarray(i, jnp.int32), batch, ramp, fa, fac, **statics)
            out.append(rec)
            if bool(rec[3]):
                break
        if not out:
            raise ValueError("lr_range_test: the batches are empty; pass at least one batch")
        out = [np.asarray(x) for x in zip(*jax.device_get(out))]
    return _result(*out, num_steps,
                   dict(start_lr=start_lr, end_lr=end_lr, num_steps=num_steps, mode=mode, convention=convention,
                        smoothing=smoothing, smooth_f=f, diverge_factor=diverge_factor, backend="jax"))


def _result(lrs, raw, s, stopped, num_steps, config) -> RangeTestResult:
    """Truncate after the step the scan marked as diverging (it computed nothing after it)."""
    hit = np.flatnonzero(np.asarray(stopped))
    stop = int(hit[0]) if hit.size else None
    n = len(lrs) if stop is None else stop + 1
    return RangeTestResult(lrs=lrs[:n].astype(np.float64), losses=raw[:n].astype(np.float64),
                           smoothed=s[:n].astype(np.float64), num_steps=int(num_steps), stopped_at=stop,
                           config=config)



# ====================================================== repeated range tests


def _orders(num_steps: int, nb: int, repeats: int, seed: int, shuffle: bool) -> np.ndarray:
    rng = np.random.default_rng(seed)
    rows = [np.arange(num_steps) % nb]
    for _ in range(1, repeats):
        if not shuffle:
            rows.append(rows[0])
            continue
        epochs = -(-num_steps // nb)
        rows.append(np.concatenate([rng.permutation(nb) for _ in range(epochs)])[:num_steps])
    return np.stack(rows).astype(np.int32)


def repeated_range_test(
    loss_fn: Callable[[Any, Any], Any],
    params: Any,
    batches: Any,
    repeats: int = 5,
    seed: int = 0,
    shuffle: bool = True,
    init: Callable[[jax.Array], Any] | None = None,
    optimizer: Callable[..., optax.GradientTransformation] = optax.sgd,
    start_lr: float = 1e-7,
    end_lr: float = 10.0,
    num_steps: int = 100,
    mode: str = "exp",
    smoothing: str = "torch",
    smooth_f: float | None = None,
    diverge_factor: float | None = 5.0,
    convention: str = "torch",
    has_aux: bool = False,
) -> RangeTestRuns:
    """`repeats` range tests in parallel (one jitted, vmapped ``lax.scan``), for :func:`robust`.

    Run 0 sees the batches in their given order; with `shuffle` every other run sees
    them in its own random order (epochs of permutations drawn from `seed`, as a
    shuffling loader would give them). All runs start from `params`, unless `init` is
    given: a function ``init(key) -> params`` called (vmapped) with ``repeats`` keys
    split from ``jax.random.PRNGKey(seed)``, a different initialisation per run (pass
    ``params=None`` then). Each run stops
    at its own divergence. Other arguments as in :func:`lr_range_test` (`batches`
    must be stacked arrays here).

    Returns:
      A :class:`RangeTestRuns`; ``.suggest()`` gives the median suggestion and its spread.

    Examples:
      >>> import jax.numpy as jnp
      >>> from lrsched.finder import repeated_range_test
      >>> loss = lambda w, b: jnp.mean((b[0] * w - b[1]) ** 2)
      >>> x = jnp.linspace(-1, 1, 64).reshape(8, 8); batches = (x, 3 * x)
      >>> runs = repeated_range_test(loss, jnp.zeros(()), batches, repeats=3, start_lr=1e-3, end_lr=1e2,
      ...                            num_steps=30)
      >>> len(runs.runs)
      3
    """
    _check_optimizer(optimizer)
    if not isinstance(repeats, (int, np.integer)) or repeats < 2:
        raise ValueError(f"repeated_range_test: repeats must be an integer >= 2; got {repeats!r}")
    if not _is_stacked(batches):
        raise TypeError("repeated_range_test: batches must be a pytree of arrays stacked along a leading step "
                        "axis (for example a tuple (x, y) of shape (steps, batch, ...)); use lr_range_test for "
                        "an iterator")
    shared = init is None
    if not shared and params is not None:
        raise ValueError("repeated_range_test: pass either params (shared by all runs) or init (a function "
                         "init(key) -> params, one initialisation per run), not both; set params=None")
    if shared and not shuffle:
        raise ValueError("repeated_range_test: with shuffle=False and one shared params pytree every run would be "
                         "identical. Set shuffle=True or pass init=lambda key: params")
    ramp = ramp_schedule(start_lr, end_lr, num_steps, mode, convention)
    f = _resolve_smoothing(smoothing, smooth_f)
    factor = _resolve_diverge(diverge_factor)
    if not shared:
        params = jax.vmap(init)(jax.random.split(jax.random.PRNGKey(seed), repeats))
    orders = jnp.asarray(_orders(num_steps, _num_batches(batches), repeats, seed, shuffle))
    out = jax.device_get(_scan_repeated(
        params, batches, orders, ramp, jnp.asarray(f, float_dtype()), jnp.asarray(factor, float_dtype()),
        loss_fn=loss_fn, optimizer=optimizer, smoothing=smoothing, has_aux=has_aux, shared_params=shared))
    config = dict(start_lr=start_lr, end_lr=end_lr, num_steps=num_steps, mode=mode, convention=convention,
                  smoothing=smoothing, smooth_f=f, diverge_factor=diverge_factor, backend="jax",
                  repeats=repeats, seed=seed, shuffle=shuffle)
    return RangeTestRuns([_result(*(np.asarray(x[k]) for x in out), num_steps, dict(config, run=k))
                          for k in range(repeats)])


# ================================================================ fixed rates


@functools.partial(jax.jit, static_argnames=("loss_fn", "optimizer", "has_aux"))
def _sweep(params, batches, order, lrs, *, loss_fn, optimizer, has_aux):
    vg = _value_and_grad(loss_fn, has_aux)

    def one(lr):
        tx = optax.inject_hyperparams(optimizer)(learning_rate=constant(lr))

        def body(carry, j):
            p, st = carry
            raw, grads = vg(p, _take(batches, j))
            updates, st = tx.update(grads, st, p)
            return (optax.apply_updates(p, updates), st), jnp.asarray(raw, float_dtype())

        _, losses = jax.lax.scan(body, (params, tx.init(params)), order)
        return losses

    return jax.vmap(one)(lrs)


def lr_sweep(
    loss_fn: Callable[[Any, Any], Any],
    params: Any,
    batches: Any,
    lrs: Sequence[float] | np.ndarray,
    optimizer: Callable[..., optax.GradientTransformation] = optax.sgd,
    num_steps: int | None = None,
    tail: int | None = None,
    has_aux: bool = False,
) -> SweepResult:
    r"""K short trainings at K fixed learning rates, in parallel (one jitted, vmapped scan).

    Every run starts from `params` and sees the same batches in the same order; run
    ``k`` trains at the constant rate ``lrs[k]`` for `num_steps` steps. The final
    loss of a run is the mean training loss over its last `tail` steps (default
    ``max(1, num_steps // 10)``), NaN when it blew up.

    Args:
      batches: stacked arrays (leading step axis, reused in order if shorter).
      lrs: the K rates (for example ``np.geomspace(1e-4, 1, 8)``).
      num_steps: steps per run (default: the number of batches).

    Returns:
      A :class:`SweepResult` (``lrs``, ``losses`` of shape ``(K, num_steps)``,
      ``final``) whose ``.best()`` is the rate with the lowest final loss.

    Examples:
      >>> import jax.numpy as jnp
      >>> from lrsched.finder import lr_sweep
      >>> loss = lambda w, b: jnp.mean((b[0] * w - b[1]) ** 2)
      >>> x = jnp.linspace(-1, 1, 32).reshape(4, 8)
      >>> sw = lr_sweep(loss, jnp.zeros(()), (x, 3 * x), lrs=[1e-3, 1e-1, 1.0], num_steps=20)
      >>> sw.losses.shape, sw.best().lr
      ((3, 20), 1.0)
    """
    _check_optimizer(optimizer)
    if not _is_stacked(batches):
        raise TypeError("lr_sweep: batches must be a pytree of arrays stacked along a leading step axis")
    rates = np.asarray(lrs, np.float64).reshape(-1)
    if rates.size == 0 or not np.all(np.isfinite(rates)) or np.any(rates < 0):
        raise ValueError(f"lr_sweep: lrs must be a non-empty list of finite rates >= 0; got {lrs!r}")
    nb = _num_batches(batches)
    n = nb if num_steps is None else int(num_steps)
    if n < 1:
        raise ValueError(f"lr_sweep: num_steps must be >= 1; got {num_steps!r}")
    tail = max(1, n // 10) if tail is None else int(tail)
    if not 1 <= tail <= n:
        raise ValueError(f"lr_sweep: tail must be in [1, num_steps={n}]; got {tail!r}")
    order = jnp.asarray(np.arange(n) % nb, jnp.int32)
    losses = np.asarray(jax.device_get(_sweep(params, batches, order, jnp.asarray(rates, float_dtype()),
                                              loss_fn=loss_fn, optimizer=optimizer, has_aux=has_aux)), np.float64)
    with np.errstate(invalid="ignore"):
        final = losses[:, -tail:].mean(axis=1)
    final[~np.isfinite(final)] = np.nan
    return SweepResult(lrs=rates, losses=losses, final=final)


# ============================================================ suggestion rules


@dataclasses.dataclass(frozen=True)
class Suggestion:
    """A suggested learning rate.

    Attributes:
      method: the rule's name.
      lr: the suggested rate (``float(suggestion)`` gives it too).
      point: ``(lr, loss)`` where the rule marks the curve (fastai's marker: for
        ``minimum`` the minimum itself, although ``lr`` is a tenth of it).
      interval: ``(low, high)`` for rules that report a spread (:func:`robust`), else None.
    """

    method: str
    lr: float
    point: tuple[float, float]
    interval: tuple[float, float] | None = None

    def __float__(self) -> float:
        return float(self.lr)


def _arrays(lrs: Any, losses: Any, rule: str) -> tuple[np.ndarray, np.ndarray]:
    lrs = np.asarray(lrs, np.float64).reshape(-1)
    losses = np.asarray(losses, np.float64).reshape(-1)
    if lrs.shape != losses.shape:
        raise ValueError(f"{rule}: lrs and losses must have the same length; got {lrs.size} and {losses.size}")
    return lrs, losses


def _cut_nonfinite(lrs: np.ndarray, losses: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Keep the curve up to its first NaN/inf (fastai's lr_find cuts at the first NaN)."""
    bad = np.flatnonzero(~np.isfinite(losses))
    if bad.size:
        return lrs[: bad[0]], losses[: bad[0]]
    return lrs, losses


def _trim(lrs: np.ndarray, losses: np.ndarray, skip_start: int, skip_end: int, rule: str, need: int,
          ) -> tuple[np.ndarray, np.ndarray]:
    if skip_start < 0 or skip_end < 0:
        raise ValueError(f"{rule}: skip_start and skip_end must be >= 0; got {skip_start}, {skip_end}")
    n = len(lrs)
    stop = max(n - skip_end, 0)
    lrs, losses = lrs[skip_start:stop], losses[skip_start:stop]
    lrs, losses = _cut_nonfinite(lrs, losses)
    if len(lrs) < need:
        raise ValueError(
            f"{rule}: the loss curve is too short to suggest a learning rate: {n} points, {len(lrs)} left after "
            f"skipping {skip_start} at the start, {skip_end} at the end and cutting at the first NaN/inf; the "
            f"rule needs at least {need}. Run more steps (num_steps), start lower (start_lr), raise "
            "diverge_factor, or pass smaller skip_start/skip_end")
    return lrs, losses


def _fastai_skip(n: int, skip_start: int | None) -> int:
    return n // 10 if skip_start is None else int(skip_start)


def steepest(lrs: Any, losses: Any, skip_start: int = 10, skip_end: int = 5) -> Suggestion:
    """torch_lr_finder's suggestion (``LRFinder.plot(suggest_lr=True)``): the rate at the
    steepest descent of the (smoothed) loss.

    Drop `skip_start` points at the start and `skip_end` at the end (and the curve
    from its first NaN/inf on), then ``i = argmin(np.gradient(losses))`` (the
    gradient per step, not per log-rate) and suggest ``lrs[i]``.

    Examples:
      >>> import numpy as np
      >>> from lrsched.finder import steepest
      >>> lrs = np.geomspace(1e-4, 1, 9); losses = np.array([2, 2, 1.9, 1.5, 0.8, 0.5, 0.4, 0.6, 3])
      >>> steepest(lrs, losses, skip_start=0, skip_end=1).lr
      0.01
    """
    lrs, losses = _arrays(lrs, losses, "steepest")
    lrs, losses = _trim(lrs, losses, skip_start, skip_end, "steepest", 2)
    i = int(np.argmin(np.gradient(losses)))
    return Suggestion("steepest", float(lrs[i]), (float(lrs[i]), float(losses[i])))


def minimum(lrs: Any, losses: Any, skip_start: int | None = None, skip_end: int = 5) -> Suggestion:
    """fastai's ``minimum``: a tenth of the rate at the lowest loss.

    As fastai's ``lr_find``, the curve is first trimmed to ``[skip_start:-skip_end]``
    (``skip_start`` defaults to ``len(lrs) // 10``, fastai's ``num_it // 10``) and cut
    at its first NaN/inf. Then ``lr = lrs[argmin(losses)] / 10``.

    Examples:
      >>> import numpy as np
      >>> from lrsched.finder import minimum
      >>> minimum(np.geomspace(1e-4, 1, 5), np.array([2.0, 1.0, 0.5, 0.9, 4.0]), skip_end=0).lr
      0.001
    """
    lrs, losses = _arrays(lrs, losses, "minimum")
    lrs, losses = _trim(lrs, losses, _fastai_skip(len(lrs), skip_start), skip_end, "minimum", 1)
    i = int(np.argmin(losses))
    return Suggestion("minimum", float(lrs[i]) / 10.0, (float(lrs[i]), float(losses[i])))


def steep(lrs: Any, losses: Any, skip_start: int | None = None, skip_end: int = 5) -> Suggestion:
    r"""fastai's ``steep``: the rate where the loss falls fastest per unit of log-rate.

    After fastai's trimming (see :func:`minimum`):
    :math:`g_i = (L_{i+1} - L_i) / (\log \eta_{i+1} - \log \eta_i)`, suggest
    ``lrs[argmin(g)]`` (the left end of the steepest segment).

    Examples:
      >>> import numpy as np
      >>> from lrsched.finder import steep
      >>> steep(np.geomspace(1e-4, 1, 5), np.array([2.0, 1.8, 0.5, 0.4, 4.0]), skip_end=0).lr
      0.001
    """
    lrs, losses = _arrays(lrs, losses, "steep")
    lrs, losses = _trim(lrs, losses, _fastai_skip(len(lrs), skip_start), skip_end, "steep", 2)
    if np.any(lrs <= 0):
        raise ValueError("steep: needs positive learning rates (it divides by differences of log(lr))")
    with np.errstate(divide="ignore", invalid="ignore"):
        grads = np.diff(losses) / np.diff(np.log(lrs))
    i = int(np.argmin(grads))
    return Suggestion("steep", float(lrs[i]), (float(lrs[i]), float(losses[i])))


def _valley_index(losses: np.ndarray) -> int:
    """fastai's ``valley`` index, including its quirks: ``lds`` is the longest strictly
    decreasing *subsequence* ending at each point (O(n^2)); ``max_start`` is taken when
    ``max_end`` is first overtaken inside the inner loop (so it can lag the final
    length) and is ``max_end - lds`` (one before the valley's start, -1 at worst, and
    -1 then indexes the last element as Python does)."""
    n = len(losses)
    lds = np.ones(n, dtype=np.int64)
    max_start, max_end = 0, 0
    for i in range(1, n):
        mask = losses[:i] > losses[i]
        if not mask.any():
            continue
        cand = lds[:i][mask]
        m = lds[max_end]
        # the first j (in order) whose update makes lds[i] exceed lds[max_end]
        over = np.flatnonzero(cand >= m)
        lds[i] = 1 + cand.max()
        if over.size:
            max_end = i
            max_start = i - (int(cand[over[0]]) + 1)
    sections = (max_end - max_start) / 3
    return max_start + int(sections) + int(sections / 2)


def valley(lrs: Any, losses: Any, skip_start: int | None = None, skip_end: int = 5) -> Suggestion:
    """fastai's ``valley`` (its default): about two thirds down the longest valley.

    After fastai's trimming (see :func:`minimum`): ``lds[i]`` is the length of the
    longest strictly decreasing run of losses (a subsequence, not necessarily
    contiguous) ending at ``i``; for the longest one, ending at ``max_end`` and
    starting at ``max_start = max_end - lds``, suggest ``lrs[idx]`` with
    ``idx = max_start + int(len / 3) + int(len / 6)`` (``len = max_end - max_start``).
    fastai's index quirks are kept, so the result equals fastai's on the same curve.

    Examples:
      >>> import numpy as np
      >>> from lrsched.finder import valley
      >>> lrs = np.geomspace(1e-4, 1, 9); losses = np.array([3, 2.5, 2, 1.5, 1, 0.5, 0.4, 2, 5.0])
      >>> valley(lrs, losses, skip_end=0).lr
      0.001
    """
    lrs, losses = _arrays(lrs, losses, "valley")
    lrs, losses = _trim(lrs, losses, _fastai_skip(len(lrs), skip_start), skip_end, "valley", 1)
    i = _valley_index(losses)
    return Suggestion("valley", float(lrs[i]), (float(lrs[i]), float(losses[i])))


def slide(lrs: Any, losses: Any, skip_start: int | None = None, skip_end: int = 5, lr_diff: int = 15,
          thresh: float = 0.005, adjust_value: float = 1.0) -> Suggestion:
    """fastai's ``slide``: slide a window of `lr_diff` points left from the diverging end
    until the loss gradient at its two ends agrees within `thresh`.

    After fastai's trimming (see :func:`minimum`): ``g = np.gradient(losses)``;
    starting with ``r = n - 1`` and ``l = r - lr_diff``, while ``l >= 0`` and
    ``|g[r] - g[l]| > thresh`` remember ``lrs[l]`` and move both one step left.
    Suggest the last remembered rate (``lrs[n - 1 - lr_diff]`` if the first window
    already agrees) times `adjust_value`; it is marked on the curve by interpolating
    the loss in log-rate.

    Examples:
      >>> import numpy as np
      >>> from lrsched.finder import slide
      >>> lrs = np.geomspace(1e-4, 1, 20); losses = np.r_[np.full(10, 2.0), np.linspace(2, 0.2, 6), [0.5, 2, 5, 9]]
      >>> round(slide(lrs, losses, skip_start=0, skip_end=0, lr_diff=5, thresh=0.01).lr, 6)
      0.001129
    """
    lrs, losses = _arrays(lrs, losses, "slide")
    if lr_diff < 1:
        raise ValueError(f"slide: lr_diff must be >= 1; got {lr_diff}")
    lrs, losses = _trim(lrs, losses, _fastai_skip(len(lrs), skip_start), skip_end, "slide", lr_diff + 1)
    g = np.gradient(losses) if len(losses) > 1 else np.zeros(1)
    n = len(losses)
    # window m (m = 0, 1, ...) compares g[n-1-m] with g[n-1-lr_diff-m]; it exists while n-1-lr_diff-m >= 0
    m = np.arange(n - lr_diff)
    fails = ~(np.abs(g[n - 1 - m] - g[n - 1 - lr_diff - m]) > thresh)
    m0 = int(np.argmax(fails)) if fails.any() else len(m)
    i = n - 1 - lr_diff - max(m0 - 1, 0)
    lr = float(lrs[i]) * float(adjust_value)
    if np.all(lrs > 0) and lr > 0:
        y = float(np.interp(np.log10(lr), np.log10(lrs), losses))
    else:
        y = float(np.interp(lr, lrs, losses))
    return Suggestion("slide", lr, (lr, y))


def robust(lrs: Any, runs: Any, base: str = "valley", **kwargs: Any) -> Suggestion:
    """Our rule: the median of a base rule over several runs, with the spread as an interval.

    Each run (a smoothed loss curve over the same `lrs`; shorter runs, stopped at
    their divergence, or NaN-padded rows are fine) gets the `base` rule
    (``"valley"`` by default; `kwargs` go to it). Runs too short for the rule are
    left out; at least two must remain. The suggestion is the geometric median of
    the per-run rates, ``10 ** median(log10 lr_k)``, and the interval is
    ``(min lr_k, max lr_k)``. One noisy run moves the median by at most one rank,
    so a single lucky or unlucky batch order cannot drag the suggestion away; a
    wide interval says the curve does not pin the rate down. Get the runs from
    :func:`repeated_range_test` (one vmapped program) or by repeating the torch
    test with different seeds.

    Examples:
      >>> import numpy as np
      >>> from lrsched.finder import robust
      >>> lrs = np.geomspace(1e-4, 1, 5)
      >>> runs = [[2.0, 1.0, 0.5, 0.9, 4.0], [2.0, 0.9, 1.0, 3.0, 5.0], [2.0, 1.5, 1.0, 0.6, 0.7]]
      >>> s = robust(lrs, runs, base="minimum", skip_end=0)
      >>> s.lr, s.interval
      (0.001, (0.0001, 0.01))
    """
    if base == "robust" or base not in RULES:
        raise ValueError(f"robust: base must be one of {[k for k in RULES if k != 'robust']}; got {base!r}")
    lrs = np.asarray(lrs, np.float64).reshape(-1)
    rows = [np.asarray(r, np.float64).reshape(-1) for r in runs]
    if len(rows) < 2:
        raise ValueError(f"robust: needs at least 2 runs (loss curves) to take a median and a spread; got "
                         f"{len(rows)}. Use lrsched.finder.repeated_range_test, or repeat the test with other seeds")
    picks, skipped = [], []
    for k, row in enumerate(rows):
        if len(row) > len(lrs):
            raise ValueError(f"robust: run {k} has {len(row)} losses but there are only {len(lrs)} lrs")
        try:
            picks.append(RULES[base](lrs[: len(row)], row, **kwargs).lr)
        except ValueError as e:
            skipped.append(f"run {k}: {e}")
    if len(picks) < 2:
        raise ValueError("robust: fewer than 2 runs could be used by the base rule: " + "; ".join(skipped))
    picks_a = np.asarray(picks)
    if np.any(picks_a <= 0):
        raise ValueError(f"robust: the base rule {base!r} gave a rate <= 0 ({picks}); use an exponential ramp")
    lr = float(10 ** np.median(np.log10(picks_a)))
    n = min(len(r) for r in rows)
    med = np.nanmedian(np.stack([r[:n] for r in rows]), axis=0) if n else np.array([np.nan])
    finite = np.isfinite(med)
    y = float(np.interp(np.log10(lr), np.log10(lrs[:n][finite]), med[finite])) if finite.sum() >= 1 else float("nan")
    return Suggestion("robust", lr, (lr, y), (float(picks_a.min()), float(picks_a.max())))


RULES: dict[str, Callable[..., Suggestion]] = {
    "steepest": steepest, "minimum": minimum, "steep": steep, "valley": valley, "slide": slide, "robust": robust,
}


def suggest(lrs: Any, losses: Any, method: str = "valley", **kwargs: Any) -> Suggestion:
    """Apply the rule named `method` (a key of :data:`RULES`) to a curve.

    Examples:
      >>> import numpy as np
      >>> from lrsched.finder import suggest
      >>> suggest(np.geomspace(1e-4, 1, 5), [2.0, 1.0, 0.5, 0.9, 4.0], "minimum", skip_end=0).lr
      0.001
    """
    if method not in RULES:
        raise ValueError(f"suggest: method must be one of {list(RULES)}; got {method!r}")
    return RULES[method](lrs, losses, **kwargs)


# ============================================================ result objects


def _pyplot():
    from lrsched.plot import _pyplot as get

    return get()


_MARKERS = {"steepest": "o", "minimum": "v", "steep": "^", "valley": "s", "slide": "D", "robust": "*"}


@dataclasses.dataclass(eq=False)
class RangeTestResult:
    """What a range test recorded (JAX or torch), up to and including the diverging step.

    Attributes:
      lrs: the learning rate of each recorded step (float64).
      losses: the raw training (or validation) loss of each step.
      smoothed: the smoothed loss (what the rules and the divergence test use).
      num_steps: the number of steps asked for.
      stopped_at: index of the step whose smoothed loss diverged (the last one
        recorded), or None when the test ran all `num_steps`.
      config: the options of the test.
    """

    lrs: np.ndarray
    losses: np.ndarray
    smoothed: np.ndarray
    num_steps: int
    stopped_at: int | None = None
    config: dict = dataclasses.field(default_factory=dict)

    @property
    def diverged(self) -> bool:
        return self.stopped_at is not None

    def suggest(self, method: str = "valley", **kwargs: Any) -> Suggestion:
        """A rule of :data:`RULES` on the smoothed curve. fastai's rules skip
        ``num_steps // 10`` points at the start unless `skip_start` is given."""
        if method == "robust":
            raise ValueError("suggest('robust') needs several runs: use lrsched.finder.repeated_range_test(...) "
                             "or RangeTestRuns([result1, result2, ...]).suggest()")
        if method in ("minimum", "steep", "valley", "slide"):
            kwargs.setdefault("skip_start", self.num_steps // 10)
        return suggest(self.lrs, self.smoothed, method, **kwargs)

    def suggestions(self, methods: Iterable[str] = ("steepest", "minimum", "steep", "valley", "slide"),
                    ) -> dict[str, Suggestion]:
        """Every rule in `methods` that can suggest on this curve (too-short curves are left out)."""
        out = {}
        for m in methods:
            try:
                out[m] = self.suggest(m)
            except ValueError:
                pass
        return out

    def plot(self, ax: Any = None, methods: Iterable[str] = ("steepest", "valley"), raw: bool = True) -> Any:
        """The smoothed loss against the rate on a log axis, the raw loss faint,
        and the suggestions of `methods` marked. Returns the matplotlib Axes."""
        plt = _pyplot()
        if ax is None:
            _, ax = plt.subplots(figsize=(6, 4))
        if raw:
            ax.plot(self.lrs, self.losses, color="0.75", lw=0.8, label="loss")
        ax.plot(self.lrs, self.smoothed, color="C0", label="smoothed loss")
        for m, s in self.suggestions(methods).items():
            ax.plot(*s.point, _MARKERS.get(m, "o"), ms=8, label=f"{m}: {s.lr:.2e}")
        if np.all(self.lrs > 0):
            ax.set_xscale("log")
        ax.set_xlabel("learning rate")
        ax.set_ylabel("loss")
        _limit_y(ax, self.smoothed)
        ax.legend(fontsize="small")
        return ax


def _limit_y(ax: Any, curve: np.ndarray) -> None:
    finite = curve[np.isfinite(curve)]
    if finite.size:
        lo, hi = float(finite.min()), float(min(finite.max(), 4 * finite[0] if finite[0] > 0 else finite.max()))
        if hi > lo:
            pad = 0.05 * (hi - lo)
            ax.set_ylim(lo - pad, hi + pad)


@dataclasses.dataclass(eq=False)
class RangeTestRuns:
    """Several range tests over the same rates (from :func:`repeated_range_test`, or
    torch results collected by hand), for the :func:`robust` rule."""

    runs: list

    def __post_init__(self) -> None:
        if len(self.runs) < 1:
            raise ValueError("RangeTestRuns: pass at least one RangeTestResult")
        n = max(len(r.lrs) for r in self.runs)
        longest = next(r for r in self.runs if len(r.lrs) == n)
        for k, r in enumerate(self.runs):
            if not np.allclose(r.lrs, longest.lrs[: len(r.lrs)], rtol=1e-6):
                raise ValueError(f"RangeTestRuns: run {k} used other learning rates; every run must use the same ramp")
        self.lrs = longest.lrs

    def suggest(self, method: str = "robust", base: str = "valley", **kwargs: Any) -> Suggestion:
        """``"robust"`` (default): :func:`robust` over the runs with `base`; any other
        rule is applied to the median curve."""
        num_steps = self.runs[0].num_steps
        rule = base if method == "robust" else method
        if rule in ("minimum", "steep", "valley", "slide"):
            kwargs.setdefault("skip_start", num_steps // 10)
        if method == "robust":
            return robust(self.lrs, [r.smoothed for r in self.runs], base=base, **kwargs)
        return suggest(self.lrs[: len(self.median())], self.median(), method, **kwargs)

    def median(self) -> np.ndarray:
        """The median smoothed curve over the steps every run recorded."""
        n = min(len(r.smoothed) for r in self.runs)
        return np.median(np.stack([r.smoothed[:n] for r in self.runs]), axis=0)

    def plot(self, ax: Any = None, base: str = "valley") -> Any:
        """Every run's smoothed curve, the median curve, and the robust suggestion with its interval."""
        plt = _pyplot()
        if ax is None:
            _, ax = plt.subplots(figsize=(6, 4))
        for k, r in enumerate(self.runs):
            ax.plot(r.lrs, r.smoothed, color="0.7", lw=0.8, label="runs" if k == 0 else None)
        med = self.median()
        ax.plot(self.lrs[: len(med)], med, color="C0", label="median")
        try:
            s = self.suggest(base=base)
        except ValueError:
            s = None
        if s is not None:
            ax.axvspan(*s.interval, color="C1", alpha=0.2, label="spread")
            ax.plot(*s.point, "*", color="C1", ms=12, label=f"robust ({base}): {s.lr:.2e}")
        ax.set_xscale("log")
        ax.set_xlabel("learning rate")
        ax.set_ylabel("loss")
        _limit_y(ax, med)
        ax.legend(fontsize="small")
        return ax


@dataclasses.dataclass(eq=False)
class SweepResult:
    """K runs at K fixed rates (from :func:`lr_sweep`).

    Attributes:
      lrs: the rates, shape (K,).
      losses: training loss per run and step, shape (K, num_steps).
      final: the mean loss of each run's last steps (NaN if it blew up), shape (K,).
    """

    lrs: np.ndarray
    losses: np.ndarray
    final: np.ndarray

    def best(self) -> Suggestion:
        """The rate with the lowest final loss."""
        if not np.any(np.isfinite(self.final)):
            raise ValueError("SweepResult.best: every run blew up (final loss NaN); try lower rates")
        i = int(np.nanargmin(self.final))
        return Suggestion("sweep", float(self.lrs[i]), (float(self.lrs[i]), float(self.final[i])))

    def plot(self, ax: Any = None) -> Any:
        """Final loss against rate (log x), the best rate marked."""
        plt = _pyplot()
        if ax is None:
            _, ax = plt.subplots(figsize=(6, 4))
        ax.plot(self.lrs, self.final, "o-", label="final loss")
        try:
            b = self.best()
            ax.plot(*b.point, "*", ms=12, label=f"best: {b.lr:.2e}")
        except ValueError:
            pass
        if np.all(self.lrs > 0):
            ax.set_xscale("log")
        ax.set_xlabel("learning rate")
        ax.set_ylabel("final loss")
        ax.legend(fontsize="small")
        return ax
