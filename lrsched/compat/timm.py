"""timm's schedulers (``timm.scheduler``) as lrsched schedules, counted in updates.

Each function takes the arguments of its timm scheduler with `base_lr` in place
of the optimizer and returns the learning rate that ``step_update(num_updates=t)``
sets (timm's ``t_in_epochs=False``): all ``*_t`` arguments count updates.

Every schedule is a composition of core schedules:

- the warmup (``warmup_lr_init + t * (base_lr - warmup_lr_init) / warmup_t`` for
  ``t < warmup_t``) is a :func:`lrsched.linear` ramp joined (:func:`lrsched.join`)
  in front of the main schedule; with ``warmup_prefix=True`` the main schedule
  starts after the warmup, otherwise it runs from step 0 underneath it (timm's
  default for cosine, tanh and poly: ``shift(main, -warmup_t)``), so the ramp
  ends at `base_lr` and the schedule jumps to its value at ``warmup_t`` (timm's
  tanh alone ramps to that value instead: :func:`lrsched.warmup`);
- the cycles of cosine, tanh and poly (``cycle_mul``, ``cycle_decay``,
  ``cycle_limit``) are :func:`lrsched.cycle` of :func:`lrsched.cosine`,
  :func:`lrsched.tanh` or :func:`lrsched.polynomial` (``k_decay`` is their
  ``k_decay``). timm decays only the peak (``lr_min + (base γ^i - lr_min) c``), so
  with ``cycle_decay != 1`` the value is ``γ^i base c + lr_min (1 - c)``: two
  cycles of the unit shape ``c``; after ``cycle_limit`` cycles it is ``lr_min``
  (the cycle's ``end_value``);
- ``step`` and ``multistep`` are :func:`lrsched.step_decay` and a
  :func:`lrsched.multistep` advanced by one step (timm counts milestones ``<= t + 1``);
- the noise is :func:`lrsched.noise`: the same distribution as timm's
  (``lr * (1 + n)`` inside ``noise_range_t``, ``n`` a standard normal resampled
  until ``|n| < noise_pct``, or uniform in ``±noise_pct``) and reproducible per
  step and seed, but drawn with lrsched's generator (``lrsched.noise``'s default
  ``generator="hash"``), so the draws differ from timm's torch generator.
"""

from __future__ import annotations

from typing import Any, Callable, Sequence, cast

import jax.numpy as jnp
import numpy as np

import lrsched
from lrsched import Schedule
from lrsched.compat._common import Real, any_traced, argument_error, checked, concrete, is_concretely, require

__all__ = ["cosine", "tanh", "step", "multistep", "poly", "create_scheduler_v2", "SCHEDULER_NAMES"]


# ------------------------------------------------------------------- cycles


def _cycles(func: str, shape: Callable[[Real, Real], Schedule], base_lr: Real, t_initial: Real, lr_min: Real,
            cycle_mul: Real, cycle_decay: Real, cycle_limit: Real) -> Schedule:
    """timm's cycles of ``shape(top, bottom)`` (a schedule from `top` to `bottom` over `t_initial`):
    cycle ``i`` runs ``shape`` stretched over ``t_initial * cycle_mul**i`` from ``base_lr * cycle_decay**i``
    down to ``lr_min``, and from cycle `cycle_limit` on the value is ``lr_min``."""
    require(func, "t_initial", t_initial, lambda a: a > 0, "positive", "Pass the first cycle's length in updates")
    require(func, "lr_min", lr_min, lambda a: a >= 0, "non-negative", "Pass lr_min >= 0")
    require(func, "cycle_mul", cycle_mul, lambda a: a >= 1, ">= 1",
            "timm takes 1 for equal cycles or e.g. 2 to double them")
    require(func, "cycle_decay", cycle_decay, lambda a: a >= 0, "non-negative", "Pass e.g. cycle_decay=0.5")
    require(func, "cycle_limit", cycle_limit, lambda a: a >= 0, "non-negative", "Pass the number of cycles")
    if is_concretely(cycle_limit, 0):  # timm: i < 0 never holds
        return lrsched.constant(lr_min)
    # timm's test is i < cycle_limit: a fractional limit counts as the next whole number
    limit = jnp.maximum(jnp.ceil(cycle_limit), 1) if any_traced(cycle_limit) else max(int(np.ceil(cycle_limit)), 1)
    if is_concretely(cycle_decay, 1.0):
        return lrsched.cycle(shape(base_lr, lr_min), t_initial, cycle_mul, limit=limit, end_value=lr_min)
    unit = shape(1.0, 0.0)
    peak: Schedule = lrsched.cycle(unit * base_lr, t_initial, cycle_mul, cycle_decay, limit=limit, end_value=0.0)
    floor: Schedule = lrsched.cycle(unit, t_initial, cycle_mul, limit=limit, end_value=0.0)
    if any_traced(cycle_limit):  # a traced limit of 0 means lr_min throughout: switch the cycles off
        on = jnp.where(cycle_limit > 0, 1.0, 0.0)
        peak, floor = peak * on, floor * on
    return peak + (1.0 - floor) * lr_min


def _k(k_decay: Real) -> Real | None:
    """``k_decay`` as a core option: None (no leaf) when it is concretely 1."""
    return None if is_concretely(k_decay, 1.0) else k_decay


# ---------------------------------------------------------- warmup and noise


def _assemble(func: str, main: Schedule, base_lr: Real, warmup_t: Real, warmup_lr_init: Real,
              warmup_prefix: bool, noise_range_t: Any, noise_pct: Real, noise_seed: Real, noise_type: str,
              ramp_to_main: bool = False) -> Schedule:
    """timm's warmup in front of `main`, then its noise."""
    w = concrete(warmup_t)
    if w is not None and not np.all(w >= 0):
        raise argument_error(func, "warmup_t", warmup_t, "a non-negative number of updates", "Pass warmup_t >= 0")
    if is_concretely(warmup_t, 0):
        schedule = main
    elif ramp_to_main and not warmup_prefix:
        # timm's tanh ramps to the main schedule's value at warmup_t, which then carries on unshifted
        schedule = lrsched.warmup(lrsched.shift(main, -warmup_t), warmup_t, warmup_lr_init)
    else:
        after = main if warmup_prefix else lrsched.shift(main, -warmup_t)
        bound = jnp.reshape(warmup_t, (1,)) if any_traced(warmup_t) else [warmup_t]
        schedule = lrsched.join([lrsched.linear(warmup_lr_init, base_lr, warmup_t), after], bound)
    if noise_range_t is None:
        return schedule
    if noise_type not in ("normal", "uniform"):
        raise argument_error(func, "noise_type", noise_type, "'normal' or 'uniform'",
                             "timm draws a normal unless told otherwise")
    if isinstance(noise_range_t, (list, tuple)):
        if len(noise_range_t) != 2:
            raise argument_error(func, "noise_range_t", noise_range_t, "a start or a (start, end) pair",
                                 "Noise applies for start <= t < end, or for t >= start")
        start, end = noise_range_t
    else:
        start, end = noise_range_t, None
    return lrsched.noise(schedule, noise_pct, noise_seed, noise_type, start=start, end=end)


_NOISE_DOC = """
    Noise: with `noise_range_t` (``t0`` for ``t >= t0``, or ``(t0, t1)`` for
    ``t0 <= t < t1``) the value is multiplied by ``1 + n`` with ``n`` from
    :func:`lrsched.noise` (``noise_type`` ``"normal"``: a standard normal truncated
    to ``±noise_pct``, timm's distribution; ``"uniform"``: uniform in ``±noise_pct``),
    keyed by `noise_seed` and the step: reproducible, but not timm's torch draws.
    `noise_std` is accepted and ignored, as in timm."""


@checked
def cosine(base_lr: Real, t_initial: Real, lr_min: Real = 0.0, cycle_mul: Real = 1.0,
           cycle_decay: Real = 1.0, cycle_limit: Real = 1, warmup_t: Real = 0, warmup_lr_init: Real = 0.0,
           warmup_prefix: bool = False, noise_range_t: Any = None, noise_pct: Real = 0.67,
           noise_std: Real = 1.0, noise_seed: int = 42, k_decay: Real = 1.0,
           noise_type: str = "normal") -> Schedule:
    r"""timm's ``CosineLRScheduler`` per update (SGDR, arXiv:1608.03983; k-decay, arXiv:2004.05909).

    In cycle ``i`` of length ``t_i = t_initial * cycle_mul**i``, at ``t_curr``
    steps into it:

    .. math:: v = l_{min} + \tfrac12 (b\,\gamma^i - l_{min})
              \left(1 + \cos\left(\pi\,\frac{t_{curr}^k}{t_i^k}\right)\right)

    with ``gamma = cycle_decay`` and ``k = k_decay``; ``lr_min`` from cycle
    `cycle_limit` on. Warmup: linear from `warmup_lr_init` to `base_lr` over
    `warmup_t` updates, before the cosine (``warmup_prefix=True``) or over its
    start (the default, as in timm).
    {noise}

    Args:
      base_lr: the optimizer's learning rate.
      t_initial: the first cycle's length in updates (> 0).
      lr_min: the lowest rate (>= 0).
      cycle_mul: each cycle is this many times longer than the previous one (>= 1).
      cycle_decay: each cycle's peak is this many times the previous one's.
      cycle_limit: the number of cycles; ``lr_min`` after them.
      warmup_t: the warmup's length in updates (>= 0).
      warmup_lr_init: the rate at update 0 of the warmup.
      warmup_prefix: run the main schedule after the warmup (else underneath it).
      noise_range_t: where the noise applies: a start, a (start, end) pair, or None.
      noise_pct: the bound of the relative noise.
      noise_std: accepted and ignored, as in timm.
      noise_seed: the noise's seed.
      k_decay: the k-decay exponent of the cycle's progress.
      noise_type: "normal" or "uniform".

    Returns:
      An lrsched Schedule.

    Examples:
      >>> import lrsched
      >>> from lrsched.compat import timm
      >>> s = timm.cosine(1.0, t_initial=4, lr_min=0.1, cycle_limit=2, cycle_decay=0.5)
      >>> lrsched.evaluate(s, 10).round(4)
      array([1.    , 0.8682, 0.55  , 0.2318, 0.5   , 0.4414, 0.3   , 0.1586, 0.1   , 0.1   ], dtype=float32)
    """
    main = _cycles("cosine", lambda top, bottom: lrsched.cosine(top, t_initial, bottom, k_decay=_k(k_decay)),
                   base_lr, t_initial, lr_min, cycle_mul, cycle_decay, cycle_limit)
    return _assemble("cosine", main, base_lr, warmup_t, warmup_lr_init, warmup_prefix, noise_range_t, noise_pct,
                     noise_seed, noise_type)


@checked
def tanh(base_lr: Real, t_initial: Real, lb: Real = -7.0, ub: Real = 3.0, lr_min: Real = 0.0,
         cycle_mul: Real = 1.0, cycle_decay: Real = 1.0, cycle_limit: Real = 1, warmup_t: Real = 0,
         warmup_lr_init: Real = 0.0, warmup_prefix: bool = False, noise_range_t: Any = None,
         noise_pct: Real = 0.67, noise_std: Real = 1.0, noise_seed: int = 42,
         noise_type: str = "normal") -> Schedule:
    r"""timm's ``TanhLRScheduler`` per update (Hsueh et al., arXiv:1806.01593).

    In cycle ``i`` with ``r = t_curr / t_i``:

    .. math:: v = l_{min} + \tfrac12 (b\,\gamma^i - l_{min})\,(1 - \tanh(lb\,(1 - r) + ub\,r))

    ``lr_min`` from cycle `cycle_limit` on. Unlike the cosine, timm's tanh warmup
    without prefix ramps to the schedule's value at `warmup_t` (continuous).
    {noise}

    Args:
      base_lr: the optimizer's learning rate.
      t_initial: the first cycle's length in updates (> 0).
      lb: the tanh argument at a cycle's start.
      ub: the tanh argument at a cycle's end.
      lr_min: the lowest rate (>= 0).
      cycle_mul: each cycle is this many times longer than the previous one (>= 1).
      cycle_decay: each cycle's peak is this many times the previous one's.
      cycle_limit: the number of cycles; ``lr_min`` after them.
      warmup_t: the warmup's length in updates (>= 0).
      warmup_lr_init: the rate at update 0 of the warmup.
      warmup_prefix: run the main schedule after the warmup (else underneath it).
      noise_range_t: where the noise applies: a start, a (start, end) pair, or None.
      noise_pct: the bound of the relative noise.
      noise_std: accepted and ignored, as in timm.
      noise_seed: the noise's seed.
      noise_type: "normal" or "uniform".

    Returns:
      An lrsched Schedule.

    Examples:
      >>> import lrsched
      >>> from lrsched.compat import timm
      >>> lrsched.evaluate(timm.tanh(1.0, t_initial=4), 6).round(4)
      array([1.    , 0.9999, 0.982 , 0.2689, 0.    , 0.    ], dtype=float32)
    """
    lo, hi = concrete(lb), concrete(ub)
    if lo is not None and hi is not None and not np.all(lo < hi):
        raise argument_error("tanh", "lb", lb, f"below ub ({hi.tolist()!r})", "timm asserts lb < ub")
    main = _cycles("tanh", lambda top, bottom: lrsched.tanh(top, t_initial, bottom, lb, ub),
                   base_lr, t_initial, lr_min, cycle_mul, cycle_decay, cycle_limit)
    return _assemble("tanh", main, base_lr, warmup_t, warmup_lr_init, warmup_prefix, noise_range_t, noise_pct,
                     noise_seed, noise_type, ramp_to_main=True)


@checked
def poly(base_lr: Real, t_initial: Real, power: Real = 0.5, lr_min: Real = 0.0, cycle_mul: Real = 1.0,
         cycle_decay: Real = 1.0, cycle_limit: Real = 1, warmup_t: Real = 0, warmup_lr_init: Real = 0.0,
         warmup_prefix: bool = False, noise_range_t: Any = None, noise_pct: Real = 0.67,
         noise_std: Real = 1.0, noise_seed: int = 42, k_decay: Real = 1.0,
         noise_type: str = "normal") -> Schedule:
    r"""timm's ``PolyLRScheduler`` per update.

    .. math:: v = l_{min} + (b\,\gamma^i - l_{min})\left(1 - \frac{t_{curr}^k}{t_i^k}\right)^{\text{power}}

    in cycle ``i``; ``lr_min`` from cycle `cycle_limit` on.
    {noise}

    Args:
      base_lr: the optimizer's learning rate.
      t_initial: the first cycle's length in updates (> 0).
      power: the exponent of the polynomial decay.
      lr_min: the lowest rate (>= 0).
      cycle_mul: each cycle is this many times longer than the previous one (>= 1).
      cycle_decay: each cycle's peak is this many times the previous one's.
      cycle_limit: the number of cycles; ``lr_min`` after them.
      warmup_t: the warmup's length in updates (>= 0).
      warmup_lr_init: the rate at update 0 of the warmup.
      warmup_prefix: run the main schedule after the warmup (else underneath it).
      noise_range_t: where the noise applies: a start, a (start, end) pair, or None.
      noise_pct: the bound of the relative noise.
      noise_std: accepted and ignored, as in timm.
      noise_seed: the noise's seed.
      k_decay: the k-decay exponent of the cycle's progress.
      noise_type: "normal" or "uniform".

    Returns:
      An lrsched Schedule.

    Examples:
      >>> import lrsched
      >>> from lrsched.compat import timm
      >>> lrsched.evaluate(timm.poly(1.0, t_initial=4, power=1.0, warmup_t=2, warmup_prefix=True), 8)
      array([0.  , 0.5 , 1.  , 0.75, 0.5 , 0.25, 0.  , 0.  ], dtype=float32)
    """
    a = concrete(power)
    if a is not None and not np.all(a > 0):
        raise argument_error("poly", "power", power, "positive", "Pass power > 0 (timm's default is 0.5)")
    main = _cycles("poly", lambda top, bottom: lrsched.polynomial(top, bottom, t_initial, power, _k(k_decay)),
                   base_lr, t_initial, lr_min, cycle_mul, cycle_decay, cycle_limit)
    return _assemble("poly", main, base_lr, warmup_t, warmup_lr_init, warmup_prefix, noise_range_t, noise_pct,
                     noise_seed, noise_type)


@checked
def step(base_lr: Real, decay_t: Real, decay_rate: Real = 1.0, warmup_t: Real = 0,
         warmup_lr_init: Real = 0.0, warmup_prefix: bool = True, noise_range_t: Any = None,
         noise_pct: Real = 0.67, noise_std: Real = 1.0, noise_seed: int = 42,
         noise_type: str = "normal") -> Schedule:
    r"""timm's ``StepLRScheduler`` per update: `decay_rate` every `decay_t` updates.

    .. math:: v(t) = b\,\text{rate}^{\lfloor t / \text{decay\_t} \rfloor}

    (``t`` counted after the warmup when ``warmup_prefix=True``, timm's default here).
    {noise}

    Args:
      base_lr: the optimizer's learning rate.
      decay_t: the updates between two decays (multistep: the milestones).
      decay_rate: the factor per decay.
      warmup_t: the warmup's length in updates (>= 0).
      warmup_lr_init: the rate at update 0 of the warmup.
      warmup_prefix: run the main schedule after the warmup (else underneath it).
      noise_range_t: where the noise applies: a start, a (start, end) pair, or None.
      noise_pct: the bound of the relative noise.
      noise_std: accepted and ignored, as in timm.
      noise_seed: the noise's seed.
      noise_type: "normal" or "uniform".

    Returns:
      An lrsched Schedule.

    Examples:
      >>> import lrsched
      >>> from lrsched.compat import timm
      >>> lrsched.evaluate(timm.step(1.0, decay_t=2, decay_rate=0.5, warmup_t=2, warmup_lr_init=0.5), 7)
      array([0.5 , 0.75, 1.  , 1.  , 0.5 , 0.5 , 0.25], dtype=float32)
    """
    return _assemble("step", lrsched.step_decay(base_lr, decay_t, decay_rate), base_lr, warmup_t, warmup_lr_init,
                     warmup_prefix, noise_range_t, noise_pct, noise_seed, noise_type)


@checked
def multistep(base_lr: Real, decay_t: Sequence[Real], decay_rate: Real = 1.0, warmup_t: Real = 0,
              warmup_lr_init: Real = 0.0, warmup_prefix: bool = True, noise_range_t: Any = None,
              noise_pct: Real = 0.67, noise_std: Real = 1.0, noise_seed: int = 42,
              noise_type: str = "normal") -> Schedule:
    r"""timm's ``MultiStepLRScheduler`` per update: `decay_rate` at each milestone of `decay_t`.

    timm counts the milestones ``m <= t + 1`` (``bisect_right(decay_t, t + 1)``),
    one update earlier than torch's ``MultiStepLR``:

    .. math:: v(t) = b\,\text{rate}^{\#\{m \in \text{decay\_t} : m \le t + 1\}}

    {noise}

    Args:
      base_lr: the optimizer's learning rate.
      decay_t: the updates between two decays (multistep: the milestones).
      decay_rate: the factor per decay.
      warmup_t: the warmup's length in updates (>= 0).
      warmup_lr_init: the rate at update 0 of the warmup.
      warmup_prefix: run the main schedule after the warmup (else underneath it).
      noise_range_t: where the noise applies: a start, a (start, end) pair, or None.
      noise_pct: the bound of the relative noise.
      noise_std: accepted and ignored, as in timm.
      noise_seed: the noise's seed.
      noise_type: "normal" or "uniform".

    Returns:
      An lrsched Schedule.

    Examples:
      >>> import lrsched
      >>> from lrsched.compat import timm
      >>> lrsched.evaluate(timm.multistep(1.0, decay_t=[2, 4], decay_rate=0.1), 5)
      array([1.  , 0.1 , 0.1 , 0.01, 0.01], dtype=float32)
    """
    main = lrsched.shift(lrsched.multistep(base_lr, decay_t, decay_rate), -1)
    return _assemble("multistep", main, base_lr, warmup_t, warmup_lr_init, warmup_prefix, noise_range_t, noise_pct,
                     noise_seed, noise_type)


for _f in (cosine, tanh, poly, step, multistep):
    _f.__doc__ = (_f.__doc__ or "").replace("{noise}", _NOISE_DOC)
del _f


# ------------------------------------------------------------------ create_scheduler_v2

#: The names ``create_scheduler_v2`` builds (``"plateau"`` is stateful: it follows a metric, see below).
SCHEDULER_NAMES = ("cosine", "tanh", "step", "multistep", "poly", "plateau")


def _plateau(func: str, base_lr: Real, patience: int, decay_rate: Real, min_lr: Real, warmup_lr: Real,
             warmup_t: Real, noise: Any, mode: str, step_on_epochs: bool) -> lrsched.Plateau:
    """timm's ``PlateauLRScheduler`` as the factory builds it (``cooldown_t=0``, torch's ``threshold=1e-4``):
    the linear warmup over epochs ``0..warmup_t``, then torch's ``ReduceLROnPlateau`` on the rate the warmup
    ended at, fed only the metrics of the epochs after the warmup."""
    if not step_on_epochs:
        raise argument_error(func, "step_on_epochs", step_on_epochs, "True with sched='plateau'",
                             "timm asserts 'Plateau LR only supports step per epoch': the plateau takes one "
                             "metric per epoch; pass step_on_epochs=True and update it once per epoch")
    if noise is not None:
        raise argument_error(func, "noise", noise, "None with sched='plateau'",
                             "timm multiplies the plateau's rate by its noise after each step and restores the "
                             "rate before the next; lrsched's noise is a function of the step and cannot wrap a "
                             "stateful plateau that way, so it is not built. Pass noise=None (timm's default)")
    if mode not in ("min", "max"):
        raise argument_error(func, "plateau_mode", mode, "'min' or 'max'",
                             "'min' for a loss, 'max' for an accuracy (timm's default)")
    if isinstance(patience, bool) or not isinstance(patience, (int, np.integer)) or patience < 0:
        raise argument_error(func, "patience_epochs", patience, "a non-negative integer",
                             "Pass the epochs without improvement to tolerate, e.g. patience_epochs=10")
    require(func, "decay_rate", decay_rate, lambda a: (a >= 0) & (a < 1), "in [0, 1) with sched='plateau'",
            "The rate is multiplied by decay_rate at each reduction (torch's factor, which must be < 1)")
    require(func, "min_lr", min_lr, lambda a: a >= 0, "non-negative", "Pass min_lr >= 0")
    require(func, "warmup_epochs", warmup_t, lambda a: a == np.floor(a), "a whole number with sched='plateau'",
            "timm steps the plateau at whole epochs; pass an int")
    if is_concretely(warmup_t, 0):
        inner: Schedule = lrsched.constant(base_lr)
    else:
        # timm's step(epoch) sets warmup_lr_init + epoch * (base - warmup_lr_init) / warmup_t for epoch <= warmup_t,
        # and torch's plateau then reduces the rate the warmup ended at, this sum (base up to rounding)
        ended = warmup_lr + warmup_t * ((base_lr - warmup_lr) / warmup_t)
        bound = jnp.reshape(warmup_t, (1,)) if any_traced(warmup_t) else [warmup_t]
        inner = lrsched.join([lrsched.linear(warmup_lr, base_lr, warmup_t), lrsched.constant(ended)], bound)
    # timm calls the torch plateau only for epoch > warmup_t: metrics at earlier steps are ignored (start);
    # a NaN metric is a bad epoch, as in torch
    return lrsched.plateau(inner, factor=decay_rate, patience=patience, threshold=1e-4, threshold_mode="rel",
                           mode=mode, cooldown=0, min_value=min_lr, eps=1e-8, start=warmup_t + 1, nan="bad")


def _count(func: str, name: str, value: Any, fix: str, positive: bool = False) -> None:
    known = concrete(value)
    if known is None:
        return
    if isinstance(value, bool) or known.dtype.kind not in "iuf" or not np.all(np.isfinite(known)) or \
            not np.all(known > 0 if positive else known >= 0):
        raise argument_error(func, name, value, "a positive number" if positive else "a non-negative number", fix)


@checked
def create_scheduler_v2(base_lr: Real, sched: str = "cosine", num_epochs: int = 300, decay_epochs: Real = 90,
                        decay_milestones: Sequence[Real] = (90, 180, 270), cooldown_epochs: int = 0,
                        patience_epochs: int = 10, decay_rate: Real = 0.1, min_lr: Real = 0.0,
                        warmup_lr: Real = 1e-5, warmup_epochs: Real = 0, warmup_prefix: bool = False,
                        noise: Real | Sequence[Real] | None = None, noise_pct: Real = 0.67, noise_std: Real = 1.0,
                        noise_seed: int = 42, cycle_mul: Real = 1.0, cycle_decay: Real = 0.1,
                        cycle_limit: Real = 1, k_decay: Real = 1.0, plateau_mode: str = "max",
                        step_on_epochs: bool = True, updates_per_epoch: int = 0) -> tuple[Schedule, Any]:
    r"""timm's ``create_scheduler_v2`` (``timm/scheduler/scheduler_factory.py``, timm 1.0): a scheduler by name,
    configured in epochs, with timm's argument names, defaults and semantics.

    With ``step_on_epochs=True`` (timm's default) every ``*_epochs`` argument is the
    scheduler's ``*_t`` and the schedule is indexed by **epoch** (timm's
    ``scheduler.step(epoch)``: the value at ``e`` is the rate of epoch ``e``). With
    ``step_on_epochs=False`` each of them is multiplied by `updates_per_epoch` and the
    schedule is indexed by **update** (``step_update(num_updates)``), as timm does:

    .. math:: t_{initial} = \text{num\_epochs}\cdot u,\quad w = \text{warmup\_epochs}\cdot u,\quad
              d = \text{decay\_epochs}\cdot u \qquad (u = 1 \text{ or updates\_per\_epoch})

    ``"cosine"``, ``"tanh"`` and ``"poly"`` get the cycle arguments (``poly``'s power is
    `decay_rate`, as in timm; ``k_decay`` for cosine and poly); ``"step"`` decays by
    `decay_rate` every `decay_epochs`, ``"multistep"`` at `decay_milestones`. Every
    schedule starts with timm's linear warmup from `warmup_lr`. `noise` (a fraction of
    ``t_initial``, or a ``[start, end]`` pair of fractions) switches on timm's noise
    (:func:`cosine` describes it: timm's distribution, JAX's draws).

    The second value returned is timm's: the number of epochs to train, for cosine,
    tanh and poly ``get_cycle_length() + cooldown`` (the cycles, plus the warmup with
    `warmup_prefix`) in epochs (``// updates_per_epoch`` when stepping on updates),
    else `num_epochs` (plus `warmup_epochs` with `warmup_prefix`). `cooldown_epochs`
    only lengthens that count: after the cycles the schedule holds `min_lr`, as timm's.

    ``sched="plateau"`` is timm's ``PlateauLRScheduler`` as its factory builds it, a
    stateful :class:`lrsched.Plateau`: timm's warmup
    ``warmup_lr + e * (base_lr - warmup_lr) / warmup_epochs`` for epochs
    ``e <= warmup_epochs``, then torch's ``ReduceLROnPlateau`` (``factor=decay_rate``,
    ``patience=patience_epochs``, ``mode=plateau_mode``, ``min_lr=min_lr``,
    ``threshold=1e-4`` relative, ``cooldown=0``: timm passes 0, not `cooldown_epochs`)
    on the rate the warmup ended at. timm steps the torch plateau only for epochs after
    the warmup, so the metrics of epochs ``e <= warmup_epochs`` are ignored (never
    compared, never the best); a NaN metric after it is a bad epoch, as in torch.
    Feed it as timm's ``scheduler.step(e, metric)``:
    ``state = s.update(state, metric, step=e)`` (the step is needed: it tells the
    warmup's metrics apart), and the rate of epoch ``e`` is ``s(e, state)``.
    `warmup_prefix` does not change the plateau (timm drops it) but adds
    `warmup_epochs` to the returned count, as timm does; `noise` and
    ``step_on_epochs=False`` are refused (timm asserts the latter; its noise
    perturbs and restores the stateful rate, which lrsched's noise cannot wrap).
    timm's newer ``"wsd"`` and ``"rsqrt"`` are not re-created:
    ``lrsched.compat.transformers.get_wsd_schedule`` and :func:`lrsched.wsd` are the
    warmup-stable-decay shapes.

    Args:
      base_lr: the optimizer's learning rate (timm takes the optimizer).
      sched: "cosine", "tanh", "step", "multistep", "poly" or "plateau".
      num_epochs: the schedule's length in epochs (timm's ``t_initial``; the first cycle's).
      decay_epochs: epochs between two decays ("step").
      decay_milestones: the epochs of the decays ("multistep").
      cooldown_epochs: epochs at `min_lr` after the cycles (counted in the returned length).
      patience_epochs: epochs without improvement tolerated before a reduction ("plateau").
      decay_rate: the decay factor ("step", "multistep", "plateau"), the power ("poly").
      min_lr: the lowest rate (cosine, tanh, poly; the plateau's floor).
      warmup_lr: the rate at the start of the warmup.
      warmup_epochs: the warmup's length in epochs.
      warmup_prefix: run the main schedule after the warmup (else underneath it).
      noise: None, a start fraction, or a [start, end] pair of fractions of ``t_initial``.
      noise_pct: the bound of the relative noise.
      noise_std: accepted and ignored, as in timm.
      noise_seed: the noise's seed.
      cycle_mul: each cycle this many times longer than the previous one.
      cycle_decay: each cycle's peak this many times the previous one's.
      cycle_limit: the number of cycles.
      k_decay: the k-decay exponent (cosine, poly).
      plateau_mode: "max" (an accuracy, timm's default) or "min" (a loss), with "plateau".
      step_on_epochs: index by epoch (True) or by update (False).
      updates_per_epoch: the updates in one epoch (> 0 when ``step_on_epochs=False``).

    Returns:
      ``(schedule, num_epochs)`` as timm returns ``(scheduler, num_epochs)``.

    Examples:
      >>> import lrsched
      >>> from lrsched.compat import timm
      >>> s, n = timm.create_scheduler_v2(0.1, "cosine", num_epochs=4, warmup_epochs=1, warmup_lr=0.01,
      ...                                 cooldown_epochs=2)
      >>> n, lrsched.evaluate(s, 6).round(4)
      (6, array([0.01  , 0.0854, 0.05  , 0.0146, 0.    , 0.    ], dtype=float32))

      The plateau ignores the metrics of the warmup (epochs 0 to 2 here):

      >>> p, n = timm.create_scheduler_v2(0.1, "plateau", num_epochs=10, warmup_epochs=2, warmup_lr=0.0,
      ...                                 patience_epochs=1, decay_rate=0.5, plateau_mode="min")
      >>> state = p.init()
      >>> for epoch, loss in enumerate([0.0, 0.0, 1.0, 1.0, 1.0], start=1):
      ...     state = p.update(state, loss, step=epoch)
      ...     print(epoch, round(float(p(epoch, state)), 6))
      1 0.05
      2 0.1
      3 0.1
      4 0.1
      5 0.05
    """
    func = "create_scheduler_v2"
    if sched not in SCHEDULER_NAMES:
        raise argument_error(func, "sched", sched, "one of " + ", ".join(map(repr, SCHEDULER_NAMES)),
                             "Pass one of timm's scheduler names")
    if not isinstance(step_on_epochs, bool):
        raise argument_error(func, "step_on_epochs", step_on_epochs, "True or False",
                             "True: the schedule is indexed by epoch; False: by update")
    for name, value in (("num_epochs", num_epochs), ("updates_per_epoch", updates_per_epoch),
                        ("cooldown_epochs", cooldown_epochs)):
        if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
            raise argument_error(func, name, value, "an integer", "Pass a whole number of epochs or updates")
    _count(func, "num_epochs", num_epochs, "Pass the number of epochs to train (> 0)", positive=True)
    _count(func, "cooldown_epochs", cooldown_epochs, "Pass cooldown_epochs >= 0")
    _count(func, "warmup_epochs", warmup_epochs, "Pass warmup_epochs >= 0")
    if sched == "plateau":
        plateau = _plateau(func, base_lr, patience_epochs, decay_rate, min_lr, warmup_lr, warmup_epochs, noise,
                           plateau_mode, step_on_epochs)
        # timm counts no cycles for the plateau: num_epochs, plus the warmup with warmup_prefix (which the
        # plateau itself ignores); cooldown_epochs counts only for cosine, tanh and poly
        return plateau, num_epochs + warmup_epochs if warmup_prefix else num_epochs
    if step_on_epochs:
        u = 1
    else:
        if updates_per_epoch <= 0:  # timm: assert updates_per_epoch > 0
            raise argument_error(func, "updates_per_epoch", updates_per_epoch, "the number of updates in an epoch "
                                 "(> 0) with step_on_epochs=False", "Pass updates_per_epoch=len(loader)")
        u = int(updates_per_epoch)
    t_initial, warmup_t, cooldown_t = num_epochs * u, warmup_epochs * u, cooldown_epochs * u
    if noise is None:
        noise_range: Any = None
    elif isinstance(noise, (list, tuple)):
        if len(noise) not in (1, 2):
            raise argument_error(func, "noise", noise, "a start fraction or a [start, end] pair",
                                 "Noise applies for start <= t < end (fractions of num_epochs)")
        noise_range = [n * t_initial for n in noise]
        if len(noise_range) == 1:
            noise_range = noise_range[0]
    else:
        noise_range = cast(Real, noise) * t_initial
    warm: dict[str, Any] = dict(warmup_t=warmup_t, warmup_lr_init=warmup_lr, warmup_prefix=warmup_prefix)
    noisy: dict[str, Any] = dict(noise_range_t=noise_range, noise_pct=noise_pct, noise_std=noise_std,
                                 noise_seed=noise_seed)
    cycles: dict[str, Any] = dict(cycle_mul=cycle_mul, cycle_decay=cycle_decay, cycle_limit=cycle_limit)
    schedule: Schedule
    if sched == "cosine":
        schedule = cosine(base_lr, t_initial, min_lr, **cycles, **warm, **noisy, k_decay=k_decay)
    elif sched == "tanh":
        schedule = tanh(base_lr, t_initial, lr_min=min_lr, **cycles, **warm, **noisy)
    elif sched == "poly":
        schedule = poly(base_lr, t_initial, decay_rate, min_lr, **cycles, **warm, **noisy, k_decay=k_decay)
    elif sched == "step":
        schedule = step(base_lr, decay_epochs * u, decay_rate, **warm, **noisy)
    else:
        schedule = multistep(base_lr, [d * u for d in decay_milestones], decay_rate, **warm, **noisy)
    epochs: Any
    if sched in ("cosine", "tanh", "poly"):
        # CosineLRScheduler.get_cycle_length (tanh and poly alike), plus the cooldown
        limit = max(1, cycle_limit or 1)
        if cycle_mul == 1.0:
            length = t_initial * limit
        else:
            length = int(np.floor(-t_initial * (cycle_mul ** limit - 1) / (1 - cycle_mul)))
        length = length + warmup_t if warmup_prefix else length
        total = length + cooldown_t
        epochs = total if step_on_epochs else total // u
    else:
        epochs = num_epochs + warmup_epochs if warmup_prefix else num_epochs
    return schedule, epochs
