"""timm's schedulers (``timm.scheduler``) as lrsched schedules, counted in updates.

Each function takes the arguments of its timm scheduler with `base_lr` in place
of the optimizer and returns the learning rate that ``step_update(num_updates=t)``
sets (timm's ``t_in_epochs=False``): all ``*_t`` arguments count updates.

timm's pieces map onto lrsched as follows:

- the warmup (``warmup_lr_init + t * (base_lr - warmup_lr_init) / warmup_t`` for
  ``t < warmup_t``) is a :func:`lrsched.linear` ramp joined in front of the main
  schedule; with ``warmup_prefix=True`` the main schedule starts after the warmup,
  otherwise it runs from step 0 underneath it (timm's default for cosine, tanh and
  poly), so the ramp ends at `base_lr` and the schedule jumps to its value at
  ``warmup_t`` (timm's tanh alone ramps to that value instead); a private
  :class:`Warmup` node holds this;
- the cycles of cosine, tanh and poly (``cycle_mul``, ``cycle_decay``,
  ``cycle_limit``, ``k_decay``) are a private :class:`Cycles` schedule that
  evaluates :func:`lrsched.cosine`, :func:`lrsched.tanh` or
  :func:`lrsched.polynomial` at the cycle's phase;
- ``step`` and ``multistep`` are :func:`lrsched.step_decay` and a
  :func:`lrsched.multistep` advanced by one step (timm counts milestones ``<= t + 1``);
- the noise is :func:`lrsched.noise`: the same distribution as timm's
  (``lr * (1 + n)`` inside ``noise_range_t``, ``n`` a standard normal resampled
  until ``|n| < noise_pct``, or uniform in ``±noise_pct``) and reproducible per
  step and seed, but drawn with JAX's generator, so the draws differ from timm's
  torch generator.
"""

from __future__ import annotations

from typing import Any, Sequence

import jax.numpy as jnp
import numpy as np

from lrsched._combinators import _cycle_index, shift, warmup
from lrsched._core import (
    Schedule,
    ScheduleError,
    argument_error,
    as_float,
    as_number,
    check,
    check_non_negative,
    check_positive,
    common,
    concrete,
    divide,
    schedule_class,
    static_field,
)
from lrsched._primitives import Cosine, Polynomial, Tanh, linear, noise, step_decay
from lrsched._primitives import multistep as _multistep

__all__ = ["cosine", "tanh", "step", "multistep", "poly", "Cycles", "Warmup"]

Number = Any


# ------------------------------------------------------------------- cycles


@schedule_class("timm.cycles")
class Cycles(Schedule):
    """The main part of timm's cosine, tanh and poly schedulers (after any warmup prefix).

    Cycle ``i`` starts at ``t_initial * (cycle_mul**i - 1) / (cycle_mul - 1)``
    (``i * t_initial`` when ``cycle_mul == 1``) and lasts ``t_i = t_initial *
    cycle_mul**i``; with ``x = (t_curr / t_i)**k_decay`` its value is the
    `shape` from ``base_lr * cycle_decay**i`` down to ``lr_min``. From cycle
    ``cycle_limit`` on the value is ``lr_min``.
    """

    base_lr: Number
    t_initial: Number
    lr_min: Number = 0.0
    cycle_mul: Number = 1.0
    cycle_decay: Number = 1.0
    cycle_limit: Number = 1
    k_decay: Number = 1.0
    power: Number = 0.5
    lb: Number = -7.0
    ub: Number = 3.0
    shape: str = static_field("cosine")

    def validate(self):
        check_positive(self, "t_initial")
        check_non_negative(self, "lr_min", "cycle_decay", "cycle_limit")
        check(self, "cycle_mul", lambda a: a >= 1, ">= 1", "timm takes 1 for equal cycles or e.g. 2 to double them")
        if self.shape not in ("cosine", "tanh", "poly"):
            raise ScheduleError(f"timm.cycles(shape={self.shape!r}): shape must be 'cosine', 'tanh' or 'poly'")
        lb, ub = concrete(self.lb), concrete(self.ub)
        if lb is not None and ub is not None and not np.all(lb < ub):
            raise argument_error("tanh", "lb", self.lb, f"below ub ({ub.tolist()!r})", "timm asserts lb < ub")

    def compute(self, t):
        t, period, mul = common(t, as_number(self.t_initial), as_number(self.cycle_mul))
        i, begin = _cycle_index(t, period, mul, None)
        length = as_float(period) * as_float(mul) ** as_float(i)
        done = jnp.clip(divide(t - begin, length), 0.0, 1.0)
        peak = as_float(self.base_lr) * as_float(self.cycle_decay) ** as_float(i)
        if self.shape == "cosine":
            value = Cosine(peak, 1.0, self.lr_min)(done ** as_float(self.k_decay))
        elif self.shape == "poly":
            value = Polynomial(peak, self.lr_min, 1.0, self.power)(done ** as_float(self.k_decay))
        else:
            value = Tanh(peak, 1.0, self.lr_min, self.lb, self.ub)(done)
        i, limit = common(i, as_number(self.cycle_limit))
        return jnp.where(i < limit, value, as_float(self.lr_min))


# ---------------------------------------------------------- warmup and noise


@schedule_class("timm.warmup")
class Warmup(Schedule):
    """timm's warmup: for ``t < warmup_t`` the ramp ``linear(warmup_lr_init, base_lr, warmup_t)``;
    after it ``schedule(t - warmup_t)`` with ``prefix``, else ``schedule(t)`` (no jump in time)."""

    schedule: Schedule
    warmup_t: Number
    warmup_lr_init: Number
    base_lr: Number
    prefix: bool = static_field(False)

    def validate(self):
        check_non_negative(self, "warmup_t")

    def compute(self, t):
        t, w = common(t, as_number(self.warmup_t))
        ramp = linear(self.warmup_lr_init, self.base_lr, w)(t)
        after = self.schedule(t - w) if self.prefix else self.schedule(t)
        return jnp.where(t < w, ramp, after)


def _assemble(func: str, main: Schedule, base_lr: Number, warmup_t: Number, warmup_lr_init: Number,
              warmup_prefix: bool, noise_range_t: Any, noise_pct: Number, noise_seed: Number, noise_type: str,
              ramp_to_main: bool = False) -> Schedule:
    """timm's warmup in front of `main`, then its noise."""
    w = concrete(warmup_t)
    if w is not None and not np.all(w >= 0):
        raise argument_error(func, "warmup_t", warmup_t, "a non-negative number of updates", "Pass warmup_t >= 0")
    if ramp_to_main and not warmup_prefix:
        # timm's tanh ramps to the main schedule's value at warmup_t, which then carries on unshifted
        schedule = warmup(shift(main, -warmup_t), warmup_t, warmup_lr_init)
    else:
        schedule = Warmup(main, warmup_t, warmup_lr_init, base_lr, bool(warmup_prefix))
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
    return noise(schedule, noise_pct, noise_seed, noise_type, start, end)


_NOISE_DOC = """
    Noise: with `noise_range_t` (``t0`` for ``t >= t0``, or ``(t0, t1)`` for
    ``t0 <= t < t1``) the value is multiplied by ``1 + n`` with ``n`` from
    :func:`lrsched.noise` (``noise_type`` ``"normal"``: a standard normal truncated
    to ``±noise_pct``, timm's distribution; ``"uniform"``: uniform in ``±noise_pct``),
    keyed by `noise_seed` and the step: reproducible, but not timm's torch draws.
    `noise_std` is accepted and ignored, as in timm."""


def cosine(base_lr: Number, t_initial: Number, lr_min: Number = 0.0, cycle_mul: Number = 1.0,
           cycle_decay: Number = 1.0, cycle_limit: Number = 1, warmup_t: Number = 0, warmup_lr_init: Number = 0.0,
           warmup_prefix: bool = False, noise_range_t: Any = None, noise_pct: Number = 0.67,
           noise_std: Number = 1.0, noise_seed: Number = 42, k_decay: Number = 1.0,
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

    Examples:
      >>> import lrsched
      >>> from lrsched.compat import timm
      >>> s = timm.cosine(1.0, t_initial=4, lr_min=0.1, cycle_limit=2, cycle_decay=0.5)
      >>> lrsched.evaluate(s, 10).round(4)
      array([1.    , 0.8682, 0.55  , 0.2318, 0.5   , 0.4414, 0.3   , 0.1586, 0.1   , 0.1   ], dtype=float32)
    """
    main = Cycles(base_lr, t_initial, lr_min, cycle_mul, cycle_decay, cycle_limit, k_decay, shape="cosine")
    return _assemble("cosine", main, base_lr, warmup_t, warmup_lr_init, warmup_prefix, noise_range_t, noise_pct,
                     noise_seed, noise_type)


def tanh(base_lr: Number, t_initial: Number, lb: Number = -7.0, ub: Number = 3.0, lr_min: Number = 0.0,
         cycle_mul: Number = 1.0, cycle_decay: Number = 1.0, cycle_limit: Number = 1, warmup_t: Number = 0,
         warmup_lr_init: Number = 0.0, warmup_prefix: bool = False, noise_range_t: Any = None,
         noise_pct: Number = 0.67, noise_std: Number = 1.0, noise_seed: Number = 42,
         noise_type: str = "normal") -> Schedule:
    r"""timm's ``TanhLRScheduler`` per update (Hsueh et al., arXiv:1806.01593).

    In cycle ``i`` with ``r = t_curr / t_i``:

    .. math:: v = l_{min} + \tfrac12 (b\,\gamma^i - l_{min})\,(1 - \tanh(lb\,(1 - r) + ub\,r))

    ``lr_min`` from cycle `cycle_limit` on. Unlike the cosine, timm's tanh warmup
    without prefix ramps to the schedule's value at `warmup_t` (continuous).
    {noise}

    Examples:
      >>> import lrsched
      >>> from lrsched.compat import timm
      >>> lrsched.evaluate(timm.tanh(1.0, t_initial=4), 6).round(4)
      array([1.    , 0.9999, 0.982 , 0.2689, 0.    , 0.    ], dtype=float32)
    """
    main = Cycles(base_lr, t_initial, lr_min, cycle_mul, cycle_decay, cycle_limit, lb=lb, ub=ub, shape="tanh")
    return _assemble("tanh", main, base_lr, warmup_t, warmup_lr_init, warmup_prefix, noise_range_t, noise_pct,
                     noise_seed, noise_type, ramp_to_main=True)


def poly(base_lr: Number, t_initial: Number, power: Number = 0.5, lr_min: Number = 0.0, cycle_mul: Number = 1.0,
         cycle_decay: Number = 1.0, cycle_limit: Number = 1, warmup_t: Number = 0, warmup_lr_init: Number = 0.0,
         warmup_prefix: bool = False, noise_range_t: Any = None, noise_pct: Number = 0.67,
         noise_std: Number = 1.0, noise_seed: Number = 42, k_decay: Number = 1.0,
         noise_type: str = "normal") -> Schedule:
    r"""timm's ``PolyLRScheduler`` per update.

    .. math:: v = l_{min} + (b\,\gamma^i - l_{min})\left(1 - \frac{t_{curr}^k}{t_i^k}\right)^{\text{power}}

    in cycle ``i``; ``lr_min`` from cycle `cycle_limit` on.
    {noise}

    Examples:
      >>> import lrsched
      >>> from lrsched.compat import timm
      >>> lrsched.evaluate(timm.poly(1.0, t_initial=4, power=1.0, warmup_t=2, warmup_prefix=True), 8)
      array([0.  , 0.5 , 1.  , 0.75, 0.5 , 0.25, 0.  , 0.  ], dtype=float32)
    """
    a = concrete(power)
    if a is not None and not np.all(a > 0):
        raise argument_error("poly", "power", power, "positive", "Pass power > 0 (timm's default is 0.5)")
    main = Cycles(base_lr, t_initial, lr_min, cycle_mul, cycle_decay, cycle_limit, k_decay, power, shape="poly")
    return _assemble("poly", main, base_lr, warmup_t, warmup_lr_init, warmup_prefix, noise_range_t, noise_pct,
                     noise_seed, noise_type)


def step(base_lr: Number, decay_t: Number, decay_rate: Number = 1.0, warmup_t: Number = 0,
         warmup_lr_init: Number = 0.0, warmup_prefix: bool = True, noise_range_t: Any = None,
         noise_pct: Number = 0.67, noise_std: Number = 1.0, noise_seed: Number = 42,
         noise_type: str = "normal") -> Schedule:
    r"""timm's ``StepLRScheduler`` per update: `decay_rate` every `decay_t` updates.

    .. math:: v(t) = b\,\text{rate}^{\lfloor t / \text{decay\_t} \rfloor}

    (``t`` counted after the warmup when ``warmup_prefix=True``, timm's default here).
    {noise}

    Examples:
      >>> import lrsched
      >>> from lrsched.compat import timm
      >>> lrsched.evaluate(timm.step(1.0, decay_t=2, decay_rate=0.5, warmup_t=2, warmup_lr_init=0.5), 7)
      array([0.5 , 0.75, 1.  , 1.  , 0.5 , 0.5 , 0.25], dtype=float32)
    """
    return _assemble("step", step_decay(base_lr, decay_t, decay_rate), base_lr, warmup_t, warmup_lr_init,
                     warmup_prefix, noise_range_t, noise_pct, noise_seed, noise_type)


def multistep(base_lr: Number, decay_t: Sequence[Number], decay_rate: Number = 1.0, warmup_t: Number = 0,
              warmup_lr_init: Number = 0.0, warmup_prefix: bool = True, noise_range_t: Any = None,
              noise_pct: Number = 0.67, noise_std: Number = 1.0, noise_seed: Number = 42,
              noise_type: str = "normal") -> Schedule:
    r"""timm's ``MultiStepLRScheduler`` per update: `decay_rate` at each milestone of `decay_t`.

    timm counts the milestones ``m <= t + 1`` (``bisect_right(decay_t, t + 1)``),
    one update earlier than torch's ``MultiStepLR``:

    .. math:: v(t) = b\,\text{rate}^{\#\{m \in \text{decay\_t} : m \le t + 1\}}

    {noise}

    Examples:
      >>> import lrsched
      >>> from lrsched.compat import timm
      >>> lrsched.evaluate(timm.multistep(1.0, decay_t=[2, 4], decay_rate=0.1), 5)
      array([1.  , 0.1 , 0.1 , 0.01, 0.01], dtype=float32)
    """
    main = shift(_multistep(base_lr, decay_t, decay_rate), -1)
    return _assemble("multistep", main, base_lr, warmup_t, warmup_lr_init, warmup_prefix, noise_range_t, noise_pct,
                     noise_seed, noise_type)


for _f in (cosine, tanh, poly, step, multistep):
    _f.__doc__ = _f.__doc__.replace("{noise}", _NOISE_DOC)
del _f
