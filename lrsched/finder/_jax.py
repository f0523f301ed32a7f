"""The JAX engine of the LR range test: one jitted ``lax.scan``, and its vmapped variants.

- :func:`lr_range_test`: one run with a rate ramped from `start_lr` to `end_lr`
  (torch_lr_finder's ``range_test`` / fastai's ``lr_find``). With stacked batches
  the whole test is one jitted ``lax.scan``; with an iterator it is a Python loop
  over one jitted step. It stops at divergence.
- :func:`repeated_range_test`: R such runs (batch orders and/or initialisations)
  in parallel under ``jax.vmap``, for the noise-robust rule.
- :func:`lr_sweep`: K short runs at K fixed rates in parallel: final loss vs rate.

All are pure: the caller's params are never touched, so there is nothing to restore.
"""

from __future__ import annotations

import functools
import warnings
from collections.abc import Iterator
from typing import Any, Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
import optax

from lrsched._core import ScheduleError, float_dtype
from lrsched._primitives import constant
from lrsched.finder._ramp import _resolve_diverge, _resolve_smoothing, ramp_schedule
from lrsched.finder._results import RangeTestResult, RangeTestRuns, SweepResult

__all__ = ["lr_range_test", "repeated_range_test", "lr_sweep"]


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



def _diverges_jax(s: jax.Array, best: jax.Array, factor: jax.Array) -> jax.Array:
    """:func:`lrsched.finder.diverges`, traced (``s > factor * best`` for a positive best)."""
    rose = jnp.where(best > 0, s > factor * best, s - best > (factor - 1) * jnp.abs(best))
    return ~jnp.isfinite(s) | (jnp.isfinite(factor) & rose)


def _is_stacked(batches: Any) -> bool:
    """A pytree of arrays sharing a leading (step) axis; lists count as sequences of batches."""
    if isinstance(batches, list) or not isinstance(batches, (np.ndarray, jax.Array, tuple, dict)):
        return False
    leaves = jax.tree.leaves(batches)
    if not leaves or not all(isinstance(x, (np.ndarray, jax.Array)) and np.ndim(x) >= 1 for x in leaves):
        return False
    return len({np.shape(x)[0] for x in leaves}) == 1


def _check_stacked(where: str, batches: Any) -> None:
    """A tuple, dict or array of arrays is stacked batches: every array needs the same leading (step) size.

    Without this, ``(x_100_steps, y_50_steps)`` would not count as stacked and would be iterated as a
    sequence of two per-step batches, giving a plausible but wrong curve."""
    if isinstance(batches, list) or not isinstance(batches, (np.ndarray, jax.Array, tuple, dict)):
        return
    paths = jax.tree_util.tree_flatten_with_path(batches)[0]
    if not paths or not all(isinstance(x, (np.ndarray, jax.Array)) and np.ndim(x) >= 1 for _, x in paths):
        return
    sizes = {jax.tree_util.keystr(p) or "batches": int(np.shape(x)[0]) for p, x in paths}
    if len(set(sizes.values())) > 1:
        shown = ", ".join(f"batches{k if k != 'batches' else ''}: {n}" for k, n in sizes.items())
        raise ScheduleError(
            f"{where}(batches=...): stacked batches need the same leading (step) size in every array; got {shown}. "
            "A tuple, dict or array of arrays holds one entry per step along the first axis: trim the arrays to "
            "one length, or pass a list of per-step batches", where=where, field="batches")


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
        diverged = _diverges_jax(s, best, factor)
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
    first step whose smoothed loss diverges: ``s - best > (diverge_factor - 1) * |best|``,
    the anchors' ``s > diverge_factor * best`` for positive losses (see
    :func:`lrsched.finder.diverges`), or NaN.

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
        (torch_lr_finder's ``diverge_th=5``; fastai uses 4), or for a negative best
        rises above it by ``diverge_factor - 1`` times its size; ``None`` never stops
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
    _check_stacked("lr_range_test", batches)
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
    lrs, raw, smoothed, stopped = out
    return _result(lrs, raw, smoothed, stopped, num_steps,
                   dict(start_lr=start_lr, end_lr=end_lr, num_steps=num_steps, mode=mode, convention=convention,
                        smoothing=smoothing, smooth_f=f, diverge_factor=diverge_factor, backend="jax"))


def _result(lrs: np.ndarray, raw: np.ndarray, s: np.ndarray, stopped: np.ndarray, num_steps: int,
            config: dict) -> RangeTestResult:
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

    Args:
      loss_fn: ``loss_fn(params, batch) -> scalar`` (``-> (scalar, aux)`` with `has_aux`).
      params: the initial parameters shared by every run, or None with `init`.
      batches: a pytree of arrays stacked along a leading step axis.
      repeats: the number of runs (>= 2).
      seed: seeds the batch orders and the keys given to `init`.
      shuffle: give every run but the first its own batch order.
      init: ``init(key) -> params``, one initialisation per run (instead of `params`).
      optimizer, start_lr, end_lr, num_steps, mode, smoothing, smooth_f, diverge_factor, convention, has_aux:
        as for :func:`lr_range_test`.

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
    _check_stacked("repeated_range_test", batches)
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
    if init is not None:
        params = jax.vmap(init)(jax.random.split(jax.random.PRNGKey(seed), repeats))
    orders = jnp.asarray(_orders(num_steps, _num_batches(batches), repeats, seed, shuffle))
    out = jax.device_get(_scan_repeated(
        params, batches, orders, ramp, jnp.asarray(f, float_dtype()), jnp.asarray(factor, float_dtype()),
        loss_fn=loss_fn, optimizer=optimizer, smoothing=smoothing, has_aux=has_aux, shared_params=shared))
    config = dict(start_lr=start_lr, end_lr=end_lr, num_steps=num_steps, mode=mode, convention=convention,
                  smoothing=smoothing, smooth_f=f, diverge_factor=diverge_factor, backend="jax",
                  repeats=repeats, seed=seed, shuffle=shuffle)
    lrs, raw, smoothed, stopped = (np.asarray(x) for x in out)
    return RangeTestRuns([_result(lrs[k], raw[k], smoothed[k], stopped[k], num_steps, dict(config, run=k))
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
    ``max(1, num_steps // 10)``), NaN when it blew up:

    .. math::
       \text{final}_k = \frac{1}{T} \sum_{i = n - T}^{n - 1} L_{k, i}

    Args:
      loss_fn: ``loss_fn(params, batch) -> scalar`` (``-> (scalar, aux)`` with `has_aux`).
      params: the initial parameters of every run.
      batches: stacked arrays (leading step axis, reused in order if shorter).
      lrs: the K rates (for example ``np.geomspace(1e-4, 1, 8)``).
      optimizer: an optax factory taking ``learning_rate``.
      num_steps: steps per run (default: the number of batches).
      tail: the number ``T`` of last steps averaged into the final loss.
      has_aux: `loss_fn` returns ``(loss, aux)``.

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
    _check_stacked("lr_sweep", batches)
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
