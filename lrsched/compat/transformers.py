"""Hugging Face transformers' schedules (``transformers.optimization``) as lrsched schedules.

transformers builds each schedule as a ``LambdaLR`` whose factor multiplies the
optimizer's learning rate. Here the optimizer's rate is `base_lr` and the result
is the absolute learning rate, ``base_lr * factor(t)``, at update ``t`` (the
count after ``t`` calls of ``scheduler.step()``).

:func:`get_scheduler` takes transformers' names; each ``get_*`` function takes
the arguments of its transformers namesake with `base_lr` in place of the
optimizer. The schedules are built from lrsched's (``linear``, ``constant``,
``polynomial``, ``inverse_sqrt``, ``warmup``, ``join``, and ``cosine(periodic=True)``
for the cosine that keeps oscillating past ``num_training_steps``). Two reproduce
transformers' own float arithmetic, which no core schedule should copy, and are
small nodes registered as ``transformers.*``: the hard restarts (``(c p) mod 1``
in transformers' order, so a restart lands on the same step) and
warmup-stable-decay (its ``num_stable_steps`` may be negative).
"""

from __future__ import annotations

import inspect
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

import lrsched
from lrsched import Schedule, ScheduleError, constant, inverse_sqrt, join, linear, polynomial, shift, warmup
from lrsched.compat._common import (
    Leaf,
    Real,
    argument_error,
    as_float,
    as_number,
    check_non_negative,
    checked,
    choice_field,
    common,
    concrete,
    cos_anneal,
    count_field,
    divide,
    exact_parts,
    flag_field,
    float_dtype,
    is_concretely,
    precise_field,
    require,
    scaled_remainder,
    schedule_class,
    static_field,
    two_sum,
)

__all__ = [
    "get_scheduler", "SCHEDULER_NAMES",
    "get_constant_schedule", "get_constant_schedule_with_warmup", "get_linear_schedule_with_warmup",
    "get_cosine_schedule_with_warmup", "get_cosine_with_hard_restarts_schedule_with_warmup",
    "get_polynomial_decay_schedule_with_warmup", "get_inverse_sqrt_schedule",
    "get_cosine_with_min_lr_schedule_with_warmup", "get_cosine_with_min_lr_schedule_with_warmup_lr_rate",
    "get_wsd_schedule", "get_reduce_on_plateau_schedule", "get_greedy_schedule", "CosineRestarts", "CosineWave",
    "WarmupStableDecay", "Greedy", "GreedyState",
]


def _steps(func: str, **fields: Any) -> None:
    for field, value in fields.items():
        require(func, field, value, lambda a: a >= 0, "a non-negative number of steps", f"Pass {field} >= 0")


def _at_least_one(x: Any) -> Any:
    """transformers' ``max(1, x)`` (integers stay integers)."""
    x = as_number(x)
    return jnp.maximum(x, jnp.ones((), x.dtype))


def _sub(a: Any, b: Any, floor: Any = None) -> Any:
    """``a - b`` (or ``max(a - b, floor)``): plain numbers when both are concrete, else traced."""
    if concrete(a) is not None and concrete(b) is not None:
        return a - b if floor is None else max(a - b, floor)
    a, b = common(as_number(a), as_number(b))
    return a - b if floor is None else jnp.maximum(a - b, jnp.asarray(floor, a.dtype))


def _bounds(step: Any) -> Any:
    """One join boundary, concrete or traced."""
    return np.asarray([step]) if concrete(step) is not None else jnp.reshape(as_number(step), (1,))


# ------------------------------------------------------------ private shapes


def _cosine_decay(base_lr: Any, steps: Any, num_cycles: Any, min_lr_rate: Any = 0.0) -> Schedule:
    """The decay of ``get_cosine_schedule_with_warmup`` (and ``..._with_min_lr``) at local step ``t``:
    ``base_lr * max(0, r + (1 - r) (1 + cos(2 pi c p)) / 2)`` with ``p = t / max(1, steps)``, which keeps
    oscillating past ``p = 1`` (:class:`CosineWave`)."""
    if is_concretely(num_cycles, 0):  # cos(0) = 1 at every step
        return constant(base_lr)
    return CosineWave(base_lr, steps, num_cycles, min_lr_rate)


def _position(t: Any, steps: Any, num_cycles: Any, cycles_lo: Any) -> tuple[Any, Any, Any, Any, Any]:
    """Where ``c * t / D`` (``D = max(1, steps)``) falls within a whole number of cycles: ``(k, r_hi,
    r_lo, d_hi, d_lo)`` with ``c t = k D + r``, ``r = r_hi + r_lo`` carried in two floats
    (``scaled_remainder``), and ``D = d_hi + d_lo`` exactly (a ``D`` past 2**24 does not fit one float32:
    the distances to the period's end and middle need its last bits)."""
    t, d = common(as_number(t), _at_least_one(steps))
    k, r_hi, r_lo = scaled_remainder(t, num_cycles, cycles_lo, d)
    d_hi, d_lo = two_sum(*exact_parts(d))  # (d_hi: D rounded, as before; d_lo: what that lost, exactly)
    return k, r_hi, r_lo, d_hi, d_lo


@schedule_class("transformers.cosine")
class CosineWave(Schedule):
    """The decay of ``get_cosine_schedule_with_warmup`` at local step ``t``: with ``p = t / max(1, steps)``,
    ``base_lr * max(0, r + (1 - r) (1 + cos(2 pi c p)) / 2)``, a cosine wave that goes on past ``p = 1``.

    The position within a cycle is ``c t mod D`` carried in two floats, and the
    value ``cos(pi x)**2`` is taken as ``sin(pi/2 * left)**2`` with ``left`` the
    distance to the nearest trough over half a cycle: exact near every trough in
    float32 too, whatever (fractional) half-period ``D / (2c)`` results.
    """

    stretchable = False  # its period is D / c, not a duration field

    base_lr: Leaf
    steps: Leaf
    num_cycles: Leaf = precise_field(default=0.5)
    min_lr_rate: Leaf = 0.0

    def compute(self, t):
        rate = as_float(self.min_lr_rate)
        factor = (1.0 - rate) * _wave(t, self.steps, self.num_cycles, self.low("num_cycles")) + rate
        return as_float(self.base_lr) * jnp.maximum(factor, 0.0)


def _wave(t: Any, steps: Any, num_cycles: Any, cycles_lo: Any) -> Any:
    """``(1 + cos(2 pi c t / D)) / 2 = cos(pi c t / D)**2`` (``D = max(1, steps)``), exact near its zeros:
    ``c t mod D`` in two floats, then ``sin(pi/2 * left)**2`` with ``left`` the distance to the nearest
    trough over half a cycle."""
    c = as_float(num_cycles)
    _, r_hi, r_lo, d, d_lo = _position(t, steps, jnp.abs(c), cycles_lo * jnp.sign(c))
    half, half_lo = 0.5 * d, 0.5 * d_lo
    first = (r_hi - half) + (r_lo - half_lo) <= 0  # (from the exact parts: the first half of the period)
    crest, crest_lo = two_sum(jnp.where(first, r_hi, d - r_hi), jnp.where(first, r_lo, d_lo - r_lo))
    trough = jnp.abs((r_hi - half) + (r_lo - half_lo))
    return cos_anneal(divide(crest + crest_lo, half + half_lo), divide(trough, half + half_lo))


@schedule_class("transformers.cosine_with_restarts")
class CosineRestarts(Schedule):
    """The decay of ``get_cosine_with_hard_restarts_schedule_with_warmup`` at local step
    ``t``: ``x = (c * p) mod 1``, ``base_lr * (1 + cos(pi x)) / 2`` while ``p < 1``, then 0.

    Under x64, ``(c p) mod 1`` is computed in transformers' float order, so a restart
    lands on the step where transformers' float64 puts it. In float32 that order
    would lose ``6e-8 c`` of ``x`` (and its restarts); ``c t mod D`` is carried in
    two floats instead, with ``1 - x`` from the same two floats, so the value near
    the end of each cycle keeps its relative precision and a restart lands where
    ``c t / D`` reaches a whole number.
    """

    stretchable = False

    base_lr: Leaf
    steps: Leaf
    num_cycles: Leaf = precise_field(default=1)

    def compute(self, t):
        t, steps = common(t, as_number(self.steps))
        progress = divide(t, _at_least_one(steps))
        if float_dtype() != np.float32:
            x = jnp.mod(as_float(self.num_cycles) * progress, 1.0)  # transformers' float op order
            factor = jnp.cos(0.5 * jnp.pi * x) ** 2  # = (1 + cos(pi x)) / 2
        else:
            c = as_float(self.num_cycles)
            lo = self.low("num_cycles") * jnp.sign(c)
            _, r_hi, r_lo, d, d_lo = _position(t, steps, jnp.abs(c), lo)
            rest_hi, rest_lo = two_sum(d - r_hi, d_lo - r_lo)
            done, left = divide(r_hi + r_lo, d + d_lo), divide(rest_hi + rest_lo, d + d_lo)
            # a negative c: (c p) mod 1 is 1 - (|c| p mod 1), except where that is 0
            flip = (c < 0) & (r_hi + r_lo > 0)
            factor = cos_anneal(jnp.where(flip, left, done), jnp.where(flip, done, left))
        # the end where t reaches D: in float32 by comparing the steps themselves (t / D rounds to 1 up to
        # ~D * 6e-8 steps before it past 2**24), under x64 transformers' own test of its float
        ended = progress >= 1.0 if float_dtype() != np.float32 else t >= _at_least_one(steps)
        return as_float(self.base_lr) * jnp.where(ended, 0.0, factor)


_SHAPES = ("linear", "cosine", "1-sqrt")


@schedule_class("transformers.wsd")
class WarmupStableDecay(Schedule):
    """``get_wsd_schedule``: warmup (``linear``, ``cosine`` or ``1-sqrt``) from
    ``min_lr_ratio``, hold, decay back to ``min_lr_ratio`` (then hold it), times `base_lr`."""

    base_lr: Leaf
    num_warmup_steps: Leaf
    num_stable_steps: Leaf
    num_decay_steps: Leaf
    warmup_type: str = choice_field(*_SHAPES, default="linear")
    decay_type: str = choice_field(*_SHAPES, default="cosine")
    min_lr_ratio: Leaf = 0.0
    num_cycles: Leaf = precise_field(default=0.5)

    def validate(self):
        check_non_negative(self, "num_warmup_steps", "num_decay_steps")

    def compute(self, t):
        t, w, s, d = common(t, *(as_number(x) for x in (self.num_warmup_steps, self.num_stable_steps,
                                                          self.num_decay_steps)))
        ratio = as_float(self.min_lr_ratio)
        # each progress and its complement from exact integers, and every shape written without the
        # cancellation of 1 - x near its zero (1 - sqrt(x) = (1 - x) / (1 + sqrt(x)))
        w1, d1 = _at_least_one(w), _at_least_one(d)
        up, up_rest = divide(t, w1), jnp.clip(divide(w1 - t, w1), 0.0, None)
        if self.warmup_type == "linear":
            rise = up
        elif self.warmup_type == "cosine":
            rise = cos_anneal(None, up)  # sin(pi p / 2)**2 = (1 - cos(pi p)) / 2
        else:
            rise = up / (1.0 + jnp.sqrt(up_rest))  # = 1 - sqrt(1 - p)
        since = t - w - s
        down, down_rest = jnp.clip(divide(since, d1), 0.0, None), jnp.clip(divide(d1 - since, d1), 0.0, None)
        if self.decay_type == "linear":
            fall = down_rest
        elif self.decay_type == "cosine":  # (1 + cos(2 pi c p)) / 2
            fall = _wave(jnp.maximum(since, jnp.zeros((), since.dtype)), d1, self.num_cycles, self.low("num_cycles"))
        else:
            fall = down_rest / (1.0 + jnp.sqrt(down))  # = 1 - sqrt(p)
        rise = jnp.maximum(rise * (1.0 - ratio) + ratio, 0.0)
        fall = jnp.maximum(fall * (1.0 - ratio) + ratio, 0.0)
        factor = jnp.where(t < w, rise, jnp.where(t < w + s, 1.0, jnp.where(t < w + s + d, fall, ratio)))
        return as_float(self.base_lr) * factor


# ------------------------------------------------------ one function per name


@checked
def get_constant_schedule(base_lr: Real) -> Schedule:
    r"""transformers' ``get_constant_schedule``: `base_lr` at every step.

    .. math:: v(t) = b

    Args:
      base_lr: the optimizer's learning rate.

    Returns:
      An lrsched Schedule.

    Examples:
      >>> import lrsched
      >>> from lrsched.compat import transformers as hf
      >>> lrsched.evaluate(hf.get_constant_schedule(1e-3), 3)
      array([0.001, 0.001, 0.001], dtype=float32)
    """
    return constant(base_lr)


@checked
def get_constant_schedule_with_warmup(base_lr: Real, num_warmup_steps: Real) -> Schedule:
    r"""transformers' ``get_constant_schedule_with_warmup``: linear warmup from 0, then `base_lr`.

    .. math:: v(t) = b \min(t / \max(1, W), 1)

    Args:
      base_lr: the optimizer's learning rate.
      num_warmup_steps: the length of the linear warmup from 0 (>= 0).

    Returns:
      An lrsched Schedule.

    Examples:
      >>> import lrsched
      >>> from lrsched.compat import transformers as hf
      >>> lrsched.evaluate(hf.get_constant_schedule_with_warmup(1.0, 4), 6)
      array([0.  , 0.25, 0.5 , 0.75, 1.  , 1.  ], dtype=float32)
    """
    _steps("get_constant_schedule_with_warmup", num_warmup_steps=num_warmup_steps)
    return warmup(constant(base_lr), num_warmup_steps)


@checked
def get_linear_schedule_with_warmup(base_lr: Real, num_warmup_steps: Real, num_training_steps: Real) -> Schedule:
    r"""transformers' ``get_linear_schedule_with_warmup``: warmup from 0, linear decay to 0 at `N`.

    .. math:: v(t) = b \begin{cases} t / W & t < W \\ \max(0, (N - t) / \max(1, N - W)) & t \ge W \end{cases}

    Args:
      base_lr: the optimizer's learning rate.
      num_warmup_steps: the length of the linear warmup from 0 (>= 0).
      num_training_steps: the total number of updates, warmup included.

    Returns:
      An lrsched Schedule.

    Examples:
      >>> import lrsched
      >>> from lrsched.compat import transformers as hf
      >>> lrsched.evaluate(hf.get_linear_schedule_with_warmup(1.0, 2, 6), 8)
      array([0.  , 0.5 , 1.  , 0.75, 0.5 , 0.25, 0.  , 0.  ], dtype=float32)
    """
    _steps("get_linear_schedule_with_warmup", num_warmup_steps=num_warmup_steps,
           num_training_steps=num_training_steps)
    # a join, not lrsched.warmup: with N == W transformers still ramps to base_lr, then drops to 0
    ramp = linear(0.0, base_lr, num_warmup_steps)
    return join([ramp, linear(base_lr, 0.0, _sub(num_training_steps, num_warmup_steps, 0))], _bounds(num_warmup_steps))


@checked
def get_cosine_schedule_with_warmup(base_lr: Real, num_warmup_steps: Real, num_training_steps: Real,
                                    num_cycles: Real = 0.5) -> Schedule:
    r"""transformers' ``get_cosine_schedule_with_warmup``: warmup from 0, then a cosine wave.

    With ``p = (t - W) / max(1, N - W)`` after the warmup:

    .. math:: v(t) = b \max\left(0, \tfrac12 (1 + \cos(2 \pi c p))\right)

    With the default ``num_cycles=0.5`` it reaches 0 at `N`; like transformers it
    goes on with the cosine past `N` (back up to `base_lr` at ``p = 2``).

    Args:
      base_lr: the optimizer's learning rate.
      num_warmup_steps: the length of the linear warmup from 0 (>= 0).
      num_training_steps: the total number of updates, warmup included.
      num_cycles: the number of cosine waves (the default 0.5: one decay to the minimum).

    Returns:
      An lrsched Schedule.

    Examples:
      >>> import lrsched
      >>> from lrsched.compat import transformers as hf
      >>> lrsched.evaluate(hf.get_cosine_schedule_with_warmup(1.0, 2, 6), 7).round(4)
      array([0.    , 0.5   , 1.    , 0.8536, 0.5   , 0.1464, 0.    ], dtype=float32)
    """
    _steps("get_cosine_schedule_with_warmup", num_warmup_steps=num_warmup_steps,
           num_training_steps=num_training_steps)
    steps = _sub(num_training_steps, num_warmup_steps)
    return warmup(_cosine_decay(base_lr, steps, num_cycles), num_warmup_steps)


@checked
def get_cosine_with_hard_restarts_schedule_with_warmup(base_lr: Real, num_warmup_steps: Real,
                                                       num_training_steps: Real, num_cycles: Real = 1) -> Schedule:
    r"""transformers' ``get_cosine_with_hard_restarts_schedule_with_warmup``.

    Warmup from 0, then `num_cycles` cosine decays from `base_lr` to 0, each
    restarting at `base_lr`; 0 from `N` on. With ``p = (t - W) / max(1, N - W)``:

    .. math:: v(t) = b \tfrac12 (1 + \cos(\pi ((c p) \bmod 1))),\quad p < 1

    ``(c p) mod 1`` is computed in floating point in transformers' order, so
    under x64 a restart lands on exactly the step it lands on in transformers. In
    float32 a restart lands where ``c p`` is a whole number exactly; where
    transformers' float64 rounds that just below 1 it stays at the cycle's end
    (about 0) for that step (:class:`CosineRestarts`).

    Args:
      base_lr: the optimizer's learning rate.
      num_warmup_steps: the length of the linear warmup from 0 (>= 0).
      num_training_steps: the total number of updates, warmup included.
      num_cycles: the number of hard restarts, each a cosine decay from `base_lr` to 0 (the default 1: one
        decay over the whole run).

    Returns:
      An lrsched Schedule.

    Examples:
      >>> import lrsched
      >>> from lrsched.compat import transformers as hf
      >>> lrsched.evaluate(hf.get_cosine_with_hard_restarts_schedule_with_warmup(1.0, 0, 8, 2), 9).round(4)
      array([1.    , 0.8536, 0.5   , 0.1464, 1.    , 0.8536, 0.5   , 0.1464, 0.    ], dtype=float32)
    """
    _steps("get_cosine_with_hard_restarts_schedule_with_warmup", num_warmup_steps=num_warmup_steps,
           num_training_steps=num_training_steps)
    steps = _sub(num_training_steps, num_warmup_steps)
    return warmup(CosineRestarts(base_lr, steps, num_cycles), num_warmup_steps)


@checked
def get_polynomial_decay_schedule_with_warmup(base_lr: Real, num_warmup_steps: Real, num_training_steps: Real,
                                              lr_end: Real = 1e-7, power: Real = 1.0) -> Schedule:
    r"""transformers' ``get_polynomial_decay_schedule_with_warmup``: warmup from 0, then
    polynomial decay to `lr_end` at `N`, held after.

    .. math:: v(t) = e + (b - e) \left(1 - \frac{t - W}{N - W}\right)^{\text{power}},\quad W \le t \le N

    `base_lr` must exceed `lr_end` (transformers raises otherwise).

    Args:
      base_lr: the optimizer's learning rate.
      num_warmup_steps: the length of the linear warmup from 0 (>= 0).
      num_training_steps: the total number of updates, warmup included.
      lr_end: the final learning rate (below `base_lr`).
      power: the exponent of the polynomial decay (> 0).

    Returns:
      An lrsched Schedule.

    Examples:
      >>> import lrsched
      >>> from lrsched.compat import transformers as hf
      >>> lrsched.evaluate(hf.get_polynomial_decay_schedule_with_warmup(1.0, 1, 5, lr_end=0.0, power=2), 7)
      array([0.    , 1.    , 0.5625, 0.25  , 0.0625, 0.    , 0.    ], dtype=float32)
    """
    func = "get_polynomial_decay_schedule_with_warmup"
    _steps(func, num_warmup_steps=num_warmup_steps, num_training_steps=num_training_steps)
    b, e = concrete(base_lr), concrete(lr_end)
    if b is not None and e is not None and not np.all(b > e):
        raise argument_error(func, "lr_end", lr_end, f"smaller than base_lr ({b.tolist()!r})",
                   "transformers raises here too: lower lr_end or raise base_lr")
    require(func, "power", power, lambda a: a > 0, "positive", "Pass power > 0 (1.0 is linear)")
    decay = polynomial(base_lr, lr_end, _sub(num_training_steps, num_warmup_steps, 0), power)
    return join([linear(0.0, base_lr, num_warmup_steps), decay], _bounds(num_warmup_steps))


@checked
def get_inverse_sqrt_schedule(base_lr: Real, num_warmup_steps: Real, timescale: Real | None = None) -> Schedule:
    r"""transformers' ``get_inverse_sqrt_schedule``: warmup from 0, then inverse square root.

    .. math:: v(t) = b \sqrt{\tau / (t - W + \tau)},\quad t \ge W

    `timescale` (``tau``) defaults to `num_warmup_steps`, or 10000 when that is 0.

    Args:
      base_lr: the optimizer's learning rate.
      num_warmup_steps: the length of the linear warmup from 0 (>= 0).
      timescale: the decay's timescale, or None for `num_warmup_steps` (10000 when that is 0).

    Returns:
      An lrsched Schedule.

    Examples:
      >>> import lrsched
      >>> from lrsched.compat import transformers as hf
      >>> lrsched.evaluate(hf.get_inverse_sqrt_schedule(1.0, 2), [0, 1, 2, 8]).round(4)
      array([0. , 0.5, 1. , 0.5], dtype=float32)
    """
    func = "get_inverse_sqrt_schedule"
    _steps(func, num_warmup_steps=num_warmup_steps)
    if timescale is None:
        known = concrete(num_warmup_steps)
        if known is not None and known.ndim == 0:
            timescale = num_warmup_steps or 10_000
        else:
            w = as_number(num_warmup_steps)
            timescale = jnp.where(w == 0, jnp.asarray(10_000, w.dtype), w)
    require(func, "timescale", timescale, lambda a: a > 0, "positive", "Pass a timescale > 0")
    return warmup(inverse_sqrt(base_lr, timescale), num_warmup_steps)


def _min_lr_rate(func: str, base_lr: Real, min_lr: Real | None, min_lr_rate: Real | None) -> Real:
    if min_lr is not None and min_lr_rate is not None:
        raise ScheduleError(f"{func}: only one of min_lr or min_lr_rate may be set; got both. Drop one of them")
    if min_lr is not None:
        require(func, "base_lr", base_lr, lambda a: a != 0,
                "non-zero when min_lr is given (min_lr_rate = min_lr / base_lr; with base_lr=0 that is undefined, "
                "and transformers raises ZeroDivisionError)",
                "Pass min_lr_rate instead of min_lr (every rate is then base_lr * factor = 0), or a non-zero base_lr")
        return min_lr / base_lr
    if min_lr_rate is None:
        raise ScheduleError(f"{func}: one of min_lr or min_lr_rate must be set (transformers requires it too). "
                            "Pass e.g. min_lr_rate=0.1")
    return min_lr_rate


@checked
def get_cosine_with_min_lr_schedule_with_warmup(base_lr: Real, num_warmup_steps: Real, num_training_steps: Real,
                                                num_cycles: Real = 0.5, min_lr: Real | None = None,
                                                min_lr_rate: Real | None = None) -> Schedule:
    r"""transformers' ``get_cosine_with_min_lr_schedule_with_warmup``: the cosine schedule
    decaying to ``r = min_lr_rate`` (or ``min_lr / base_lr``) instead of 0.

    .. math:: v(t) = b \max\left(0, r + (1 - r) \tfrac12 (1 + \cos(2 \pi c p))\right)

    Args:
      base_lr: the optimizer's learning rate.
      num_warmup_steps: the length of the linear warmup from 0 (>= 0).
      num_training_steps: the total number of updates, warmup included.
      num_cycles: the number of cosine waves (the default 0.5: one decay to the minimum).
      min_lr: the lowest rate (or give `min_lr_rate`).
      min_lr_rate: the lowest rate as a fraction of `base_lr`.

    Returns:
      An lrsched Schedule.

    Examples:
      >>> import lrsched
      >>> from lrsched.compat import transformers as hf
      >>> s = hf.get_cosine_with_min_lr_schedule_with_warmup(1.0, 0, 4, min_lr=0.2)
      >>> lrsched.evaluate(s, 5).round(4)
      array([1.    , 0.8828, 0.6   , 0.3172, 0.2   ], dtype=float32)
    """
    func = "get_cosine_with_min_lr_schedule_with_warmup"
    _steps(func, num_warmup_steps=num_warmup_steps, num_training_steps=num_training_steps)
    rate = _min_lr_rate(func, base_lr, min_lr, min_lr_rate)
    steps = _sub(num_training_steps, num_warmup_steps)
    return warmup(_cosine_decay(base_lr, steps, num_cycles, rate), num_warmup_steps)


@checked
def get_cosine_with_min_lr_schedule_with_warmup_lr_rate(
        base_lr: Real, num_warmup_steps: Real, num_training_steps: Real, num_cycles: Real = 0.5,
        min_lr: Real | None = None, min_lr_rate: Real | None = None,
        warmup_lr_rate: Real | None = None) -> Schedule:
    r"""transformers' ``cosine_warmup_with_min_lr``: the min-lr cosine shifted one step early.

    Warmup ``(t + 1) / max(1, W)`` (or, with `warmup_lr_rate` ``w``,
    ``w + (1 - w) t / max(1, W - 1)``) while ``t < W``, then the min-lr cosine with
    ``p = (t - W + 1) / max(1, N - W)``, so it reaches its minimum at ``N - 1``.
    As in transformers, a fractional `W` is taken literally: the warmup's last
    step ``floor(W)`` goes on past `base_lr` (e.g. ``W=2.5``: 0.4, 0.8, 1.2 times
    `base_lr`) and the cosine starts at ``ceil(W)``.

    .. math:: v(t) = b \max\left(0, r + (1 - r) \tfrac12 (1 + \cos(2 \pi c p))\right),\quad t \ge W

    Args:
      base_lr: the optimizer's learning rate.
      num_warmup_steps: the length of the linear warmup from 0 (>= 0).
      num_training_steps: the total number of updates, warmup included.
      num_cycles: the number of cosine waves (the default 0.5: one decay to the minimum).
      min_lr: the lowest rate (or give `min_lr_rate`).
      min_lr_rate: the lowest rate as a fraction of `base_lr`.
      warmup_lr_rate: the warmup's start as a fraction of `base_lr`, or None (transformers' ``(t + 1) / W``).

    Returns:
      An lrsched Schedule.

    Examples:
      >>> import lrsched
      >>> from lrsched.compat import transformers as hf
      >>> s = hf.get_cosine_with_min_lr_schedule_with_warmup_lr_rate(1.0, 2, 6, min_lr_rate=0.0)
      >>> lrsched.evaluate(s, 7).round(4)
      array([0.5   , 1.    , 0.8536, 0.5   , 0.1464, 0.    , 0.1464], dtype=float32)
    """
    func = "get_cosine_with_min_lr_schedule_with_warmup_lr_rate"
    _steps(func, num_warmup_steps=num_warmup_steps, num_training_steps=num_training_steps)
    rate = _min_lr_rate(func, base_lr, min_lr, min_lr_rate)
    steps = _sub(num_training_steps, num_warmup_steps)
    decay = _cosine_decay(base_lr, steps, num_cycles, rate)
    # transformers' branch is ``t < W`` and its ramp is not clamped: with a fractional W the last warmup
    # step t = floor(W) lies past the ramp's nominal end (above base_lr). Each ramp is therefore a linear
    # over twice its length, which it never reaches before W (no clamp), and the decay starts at t = W.
    ramp: Schedule
    if warmup_lr_rate is None:
        # (t + 1) / max(1, W): 2 b (t + 1) / (2 D) is b (t + 1) / D with one rounding (a power of two apart)
        ramp = shift(linear(0.0, 2 * base_lr, 2 * _sub(num_warmup_steps, 0, 1)), -1)
    else:
        # w + (1 - w) t / E with E = max(1, W - 1): from b w to b (w + 2 (1 - w)) = b (2 - w) over 2 E steps
        ramp = linear(base_lr * warmup_lr_rate, base_lr * (2 - warmup_lr_rate), 2 * _sub(num_warmup_steps, 1, 1))
    return join([ramp, shift(decay, -1)], _bounds(num_warmup_steps))


@checked
def get_wsd_schedule(base_lr: Real, num_warmup_steps: Real, num_decay_steps: Real,
                     num_training_steps: Real | None = None, num_stable_steps: Real | None = None,
                     warmup_type: str = "linear", decay_type: str = "cosine", min_lr_ratio: Real = 0.0,
                     num_cycles: Real = 0.5) -> Schedule:
    r"""transformers' ``get_wsd_schedule`` (warmup-stable-decay).

    With ``r = min_lr_ratio``: warmup over `W` steps from ``r`` to 1 (``linear``
    ``p``, ``cosine`` ``(1 - cos(pi p))/2`` or ``1-sqrt`` ``1 - sqrt(1 - p)``), hold 1
    for `num_stable_steps` ``S`` (default ``N - W - D``), decay over `D` steps to
    ``r`` (``linear`` ``1 - p``, ``cosine`` ``(1 + cos(2 pi c p))/2``, ``1-sqrt``
    ``1 - sqrt(p)``), then hold ``r``; each shape ``f`` enters as

    .. math:: v(t) = b \max(0, r + (1 - r) f(p))

    Args:
      base_lr: the optimizer's learning rate.
      num_warmup_steps: the length of the linear warmup from 0 (>= 0).
      num_decay_steps: the length of the decay.
      num_training_steps: the total number of updates, warmup included.
      num_stable_steps: the length of the stable phase (default ``N - W - D``).
      warmup_type: "linear", "cosine" or "1-sqrt".
      decay_type: "linear", "cosine" or "1-sqrt".
      min_lr_ratio: the start of the warmup and the end of the decay, as a fraction of `base_lr`.
      num_cycles: the number of cosine waves (the default 0.5: one decay to the minimum).

    Returns:
      An lrsched Schedule.

    Examples:
      >>> import lrsched
      >>> from lrsched.compat import transformers as hf
      >>> s = hf.get_wsd_schedule(1.0, num_warmup_steps=2, num_decay_steps=2, num_training_steps=6,
      ...                         decay_type="linear")
      >>> lrsched.evaluate(s, 7)
      array([0. , 0.5, 1. , 1. , 1. , 0.5, 0. ], dtype=float32)
    """
    func = "get_wsd_schedule"
    if num_training_steps is None and num_stable_steps is None:
        raise ScheduleError(f"{func}: either num_training_steps or num_stable_steps must be given "
                            "(transformers requires it too)")
    _steps(func, num_warmup_steps=num_warmup_steps, num_decay_steps=num_decay_steps)
    if num_stable_steps is None:  # transformers uses num_stable_steps when both are given
        num_stable_steps = _sub(_sub(num_training_steps, num_warmup_steps), num_decay_steps)
    return WarmupStableDecay(base_lr, num_warmup_steps, num_stable_steps, num_decay_steps, warmup_type, decay_type,
                             min_lr_ratio, num_cycles)


# ------------------------------------------------------ metric-driven schedules


_PLATEAU_ARGS = ("mode", "factor", "patience", "threshold", "threshold_mode", "cooldown", "min_lr", "eps")


@checked
def get_reduce_on_plateau_schedule(base_lr: Real, **kwargs: Any) -> lrsched.Plateau:
    r"""transformers' ``get_reduce_on_plateau_schedule``: torch's ``ReduceLROnPlateau(optimizer, **kwargs)``.

    .. math:: \eta \leftarrow \max(\eta \cdot f, \eta_{min}) \text{ after more than `patience` bad evaluations}

    torch's defaults and semantics exactly (``lrsched.compat.torch.ReduceLROnPlateau``:
    a NaN metric is a bad evaluation, as in torch): a stateful schedule,
    ``p.init()``, ``p.update(state, metric)``, ``p(step, state)``. The Trainer
    steps it after each evaluation with the metric (``lrsched_torch`` does the same).

    Args:
      base_lr: the optimizer's learning rate.
      kwargs: torch's ``ReduceLROnPlateau`` arguments: ``mode``, ``factor``, ``patience``, ``threshold``,
        ``threshold_mode``, ``cooldown``, ``min_lr``, ``eps``.

    Returns:
      An :class:`lrsched.Plateau`.

    Examples:
      >>> from lrsched.compat import transformers as hf
      >>> p = hf.get_scheduler("reduce_lr_on_plateau", 1.0, scheduler_specific_kwargs={"patience": 0})
      >>> state = p.init()
      >>> for loss in [1.0, 2.0, 2.0]:
      ...     state = p.update(state, loss)
      >>> round(float(p(0, state)), 6)
      0.01
    """
    unknown = sorted(set(kwargs) - set(_PLATEAU_ARGS))
    if unknown:
        raise ScheduleError(f"get_reduce_on_plateau_schedule: unexpected argument(s) {unknown}; torch's "
                            f"ReduceLROnPlateau takes {', '.join(_PLATEAU_ARGS)}")
    options = {k: v for k, v in kwargs.items() if k != "min_lr"}
    return lrsched.plateau(constant(base_lr), min_value=kwargs.get("min_lr", 0.0), nan="bad",
                           **options)


class GreedyState(NamedTuple):
    """:class:`Greedy`'s state (transformers' ``GreedyLR`` attributes, as arrays).

    Attributes:
      lr: the current learning rate (``param_group['lr']``).
      best: the best metric so far.
      num_bad_epochs: evaluations without improvement in a row.
      num_good_epochs: improving evaluations in a row.
      cooldown_counter: evaluations left to ignore after a reduction.
      warmup_counter: evaluations left to ignore after an increase.
      reset_start: reductions at ``min_lr`` left before the reset.
      last_epoch: evaluations so far.
      window: the last ``window_size`` metrics (``smooth=True``), oldest first.
      window_count: how many of them are filled.
      window_sum: their running sum, updated as transformers' ``StreamingAverage`` does.
    """

    lr: jax.Array
    best: jax.Array
    num_bad_epochs: jax.Array
    num_good_epochs: jax.Array
    cooldown_counter: jax.Array
    warmup_counter: jax.Array
    reset_start: jax.Array
    last_epoch: jax.Array
    window: jax.Array
    window_count: jax.Array
    window_sum: jax.Array


@schedule_class("transformers.greedy")
class Greedy(Schedule):
    """transformers' ``GreedyLR`` (arXiv:2512.14527) as a pure ``(state, metric) -> state`` reducer.

    ``get_scheduler("greedy", ...)`` returns it. Stateful like :func:`lrsched.plateau`:
    ``g.init()``, ``g.update(state, metric)`` once per evaluation, the value
    ``g(step, state)``. Each update is transformers' ``GreedyLR.step(metric)``: the
    metric (or, with ``smooth``, the mean of the last ``window_size`` metrics) is
    compared with the best; more than ``patience`` improvements in a row divide
    the rate by ``factor`` (up to ``max_lr``; then ``warmup`` evaluations are
    ignored), more than ``patience`` bad evaluations multiply it by ``factor``
    (down to ``min_lr``; then ``cooldown`` are ignored), a change smaller than
    ``eps`` is skipped, and after ``reset_start`` reductions at ``min_lr`` the
    whole state returns to the start (rate ``base_lr``).
    """

    stateful = True
    stretchable = False

    base_lr: Leaf
    mode: str = choice_field("min", "max", default="min")
    factor: Leaf = 0.95
    patience: Leaf = count_field(default=10)
    threshold: Leaf = 1e-6
    threshold_mode: str = choice_field("rel", "abs", default="abs")
    cooldown: Leaf = count_field(default=0)
    warmup: Leaf = count_field(default=0)
    min_lr: Leaf = 1e-3
    max_lr: Leaf = 1.0
    eps: Leaf = 1e-8
    smooth: bool = flag_field(default=False)
    window_size: int = static_field(default=50)  # a static int, checked in validate
    reset_start: Leaf = count_field(default=500)

    def validate(self):
        a = concrete(self.factor)
        if a is not None and not np.all(a < 1.0):
            raise argument_error("greedy", "factor", self.factor, "below 1", "transformers raises too: Factor should "
                                 "be < 1.0; the rate is multiplied by factor on a plateau and divided by it on gains")
        check_non_negative(self, "patience", "cooldown", "warmup")
        if isinstance(self.window_size, bool) or not isinstance(self.window_size, (int, np.integer)) \
                or self.window_size < 1:
            raise argument_error("greedy", "window_size", self.window_size, "a positive int",
                                 "It fixes the size of the smoothing window; pass e.g. window_size=50")

    def init(self) -> GreedyState:
        """The initial state: the rate ``base_lr``, ``best`` the worst value for the mode."""
        f, i = float_dtype(), jnp.dtype(jax.dtypes.canonicalize_dtype(np.int64))
        zero = jnp.zeros((), i)
        return GreedyState(
            lr=as_float(self.base_lr), best=jnp.asarray(jnp.inf if self.mode == "min" else -jnp.inf, f),
            num_bad_epochs=zero, num_good_epochs=zero, cooldown_counter=zero, warmup_counter=zero,
            reset_start=as_number(self.reset_start).astype(i), last_epoch=zero,
            window=jnp.zeros((self.window_size,), f), window_count=zero, window_sum=jnp.zeros((), f))

    def _is_better(self, a, best):
        thr = as_float(self.threshold)
        if self.mode == "min":
            return a < best * (1.0 - thr) if self.threshold_mode == "rel" else a < best - thr
        return a > best * (1.0 + thr) if self.threshold_mode == "rel" else a > best + thr

    def update(self, state: GreedyState, metric: Any, step: Any = None) -> GreedyState:
        """transformers' ``GreedyLR.step(metric)``: the next state (pure: jit- and vmap-safe).
        `step` is accepted for the stateful-schedule protocol and ignored (GreedyLR counts its calls)."""
        del step
        ints = state.num_bad_epochs.dtype
        one, zero = jnp.ones((), ints), jnp.zeros((), ints)
        current = jnp.asarray(metric).astype(state.best.dtype)
        window, count, total = state.window, state.window_count, state.window_sum
        if self.smooth:  # StreamingAverage: append, add; past the window, drop the oldest and subtract it
            full = count >= self.window_size
            total = total + current
            removed = jnp.where(full, window[0], 0.0)
            window = jnp.where(full, jnp.roll(window, -1).at[-1].set(current),
                               window.at[jnp.minimum(count, self.window_size - 1)].set(current))
            total = jnp.where(full, total - removed, total)
            count = jnp.minimum(count + 1, self.window_size)
            current = divide(total, count)  # a true division: XLA would multiply by a reciprocal
        cooling, warming = state.cooldown_counter > 0, state.warmup_counter > 0
        idle = cooling | warming
        better = self._is_better(current, state.best)
        best = jnp.where(idle | ~better, state.best, current)
        bad = jnp.where(idle | better, zero, state.num_bad_epochs + 1)
        good = jnp.where(idle, zero, jnp.where(better, state.num_good_epochs + 1, zero))
        patience = as_number(self.patience).astype(ints)
        increase = ~idle & (good > patience)
        reduce = ~idle & ~increase & (bad > patience)
        factor, lr = as_float(self.factor), state.lr
        raised = jnp.minimum(divide(lr, factor), as_float(self.max_lr))
        lowered = jnp.maximum(lr * factor, as_float(self.min_lr))
        eps = as_float(self.eps)
        new_lr = jnp.where(increase & (raised - lr > eps), raised,
                           jnp.where(reduce & (lr - lowered > eps), lowered, lr))
        reset_left = jnp.where(increase, as_number(self.reset_start).astype(ints), state.reset_start)
        at_min = reduce & ~(new_lr > as_float(self.min_lr))
        reset_left = jnp.where(at_min, reset_left - 1, reset_left)
        reset = at_min & (reset_left <= 0)
        new = GreedyState(
            lr=new_lr, best=best,
            num_bad_epochs=jnp.where(reduce, zero, bad), num_good_epochs=jnp.where(increase, zero, good),
            cooldown_counter=jnp.where(cooling, state.cooldown_counter - 1,
                                       jnp.where(reduce, as_number(self.cooldown).astype(ints),
                                                 state.cooldown_counter)),
            warmup_counter=jnp.where(cooling, state.warmup_counter,
                                     jnp.where(warming, state.warmup_counter - 1,
                                               jnp.where(increase, as_number(self.warmup).astype(ints),
                                                         state.warmup_counter))),
            reset_start=reset_left, last_epoch=state.last_epoch + one,
            window=window, window_count=count, window_sum=total)
        # GreedyLR._reset, inside the reduction: then step() still starts the cooldown
        start = self.init()._replace(last_epoch=new.last_epoch, cooldown_counter=new.cooldown_counter)
        return jax.tree.map(lambda r, n: jnp.where(reset, r, n), start, new)

    def compute(self, t):
        raise ScheduleError("greedy(...)(step): GreedyLR follows a metric, so it needs its state: "
                            "g(step, state) with state = g.init() and state = g.update(state, metric)")

    def __call__(self, step: Any, state: GreedyState | None = None) -> jax.Array:
        """The rate at `step` under `state` (the rate the last update set)."""
        if state is None:
            return self.compute(step)  # raises: the rate needs the state
        t = jnp.asarray(step)
        return jnp.broadcast_to(jnp.asarray(state.lr, float_dtype()), t.shape)


@checked
def get_greedy_schedule(base_lr: Real, **kwargs: Any) -> Greedy:
    r"""transformers' ``get_greedy_schedule``: ``GreedyLR(optimizer, **kwargs)`` (arXiv:2512.14527).

    .. math:: \eta \leftarrow \min(\eta / f, \eta_{max}) \text{ after gains},\quad
              \eta \leftarrow \max(\eta f, \eta_{min}) \text{ on a plateau}

    A metric-driven, stateful schedule (:class:`Greedy`), with transformers'
    arguments and defaults (``mode="min"``, ``factor=0.95``, ``patience=10``,
    ``threshold=1e-6``, ``threshold_mode="abs"``, ``cooldown=0``, ``warmup=0``,
    ``min_lr=1e-3``, ``max_lr=1.0``, ``eps=1e-8``, ``smooth=False``,
    ``window_size=50``, ``reset_start=500``; ``verbose`` is accepted and ignored).
    ``min_lr``/``max_lr`` per parameter group are not supported: build one per group.

    Args:
      base_lr: the optimizer's learning rate (the start, and the rate a reset returns to).
      kwargs: GreedyLR's arguments, above.

    Returns:
      A :class:`Greedy`.

    Examples:
      >>> from lrsched.compat import transformers as hf
      >>> g = hf.get_scheduler("greedy", 0.1, scheduler_specific_kwargs={"patience": 1, "factor": 0.5})
      >>> state = g.init()
      >>> for loss in [3.0, 2.0, 1.0, 1.0, 1.0]:
      ...     state = g.update(state, loss)
      ...     print(float(g(0, state)))
      0.1
      0.2
      0.2
      0.2
      0.1
    """
    kwargs = dict(kwargs)
    kwargs.pop("verbose", None)
    accepted = [f for f in inspect.signature(Greedy).parameters if f != "base_lr"]
    unknown = sorted(set(kwargs) - set(accepted))
    if unknown:
        raise ScheduleError(f"get_greedy_schedule: unexpected argument(s) {unknown}; GreedyLR takes "
                            + ", ".join(accepted) + " (and verbose)")
    for name in ("min_lr", "max_lr"):
        if isinstance(kwargs.get(name), (list, tuple)):
            raise argument_error("get_greedy_schedule", name, kwargs[name], "a single number",
                                 "Build one greedy schedule per parameter group")
    return Greedy(base_lr, **kwargs)


# --------------------------------------------------------------- get_scheduler

_FUNCTIONS: dict[str, Callable[..., Schedule]] = {
    "linear": get_linear_schedule_with_warmup,
    "cosine": get_cosine_schedule_with_warmup,
    "cosine_with_restarts": get_cosine_with_hard_restarts_schedule_with_warmup,
    "polynomial": get_polynomial_decay_schedule_with_warmup,
    "constant": get_constant_schedule,
    "constant_with_warmup": get_constant_schedule_with_warmup,
    "inverse_sqrt": get_inverse_sqrt_schedule,
    "reduce_lr_on_plateau": get_reduce_on_plateau_schedule,
    "cosine_with_min_lr": get_cosine_with_min_lr_schedule_with_warmup,
    "cosine_warmup_with_min_lr": get_cosine_with_min_lr_schedule_with_warmup_lr_rate,
    "warmup_stable_decay": get_wsd_schedule,
    "greedy": get_greedy_schedule,
}

#: The names transformers' ``SchedulerType`` knows (``reduce_lr_on_plateau`` and ``greedy`` follow a metric).
SCHEDULER_NAMES = tuple(_FUNCTIONS)


@checked
def get_scheduler(name: Any, base_lr: Real, num_warmup_steps: Real | None = None,
                  num_training_steps: Real | None = None, **scheduler_specific_kwargs: Any) -> Schedule:
    r"""transformers' ``get_scheduler`` with `base_lr` in place of the optimizer.

    Returns the absolute learning rate of the named schedule,

    .. math:: v(t) = b \cdot \lambda_{\text{name}}(t)

    with ``b = base_lr`` and ``lambda`` transformers' factor for the name:
    ``linear``, ``cosine``, ``cosine_with_restarts``, ``polynomial``, ``constant``,
    ``constant_with_warmup``, ``inverse_sqrt``,
    ``cosine_with_min_lr``, ``cosine_warmup_with_min_lr`` or
    ``warmup_stable_decay`` (a ``SchedulerType`` member works too). The two
    metric-driven names return stateful schedules (``s.init()``,
    ``s.update(state, metric)``, ``s(step, state)``), taking only their own keyword
    arguments as transformers does: ``reduce_lr_on_plateau`` (torch's
    ``ReduceLROnPlateau``: :func:`get_reduce_on_plateau_schedule`) and ``greedy``
    (transformers' ``GreedyLR``: :func:`get_greedy_schedule`). Extra
    arguments (``num_cycles``, ``lr_end``, ``power``, ``min_lr``, ``min_lr_rate``,
    ``warmup_lr_rate``, ``num_decay_steps``, ``num_stable_steps``, ``warmup_type``,
    ``decay_type``, ``min_lr_ratio``, ``timescale``) go as keywords or, as in
    transformers, in a ``scheduler_specific_kwargs`` dict. An argument the schedule
    does not take is a ``lrsched.ScheduleError`` naming it (transformers
    raises ``TypeError``, or for ``constant`` and ``constant_with_warmup`` silently
    drops it).

    Args:
      name: a transformers schedule name (or a ``SchedulerType`` member).
      base_lr: the optimizer's learning rate.
      num_warmup_steps: the length of the linear warmup from 0 (>= 0).
      num_training_steps: the total number of updates, warmup included.
      scheduler_specific_kwargs: the name's extra arguments (also accepted as a nested dict, as in transformers).

    Returns:
      An lrsched Schedule (stateful for ``reduce_lr_on_plateau`` and ``greedy``).

    Examples:
      >>> import lrsched
      >>> from lrsched.compat import transformers as hf
      >>> s = hf.get_scheduler("linear", 5e-5, num_warmup_steps=2, num_training_steps=10)
      >>> (lrsched.evaluate(s, 4) * 1e5).round(4)
      array([0.   , 2.5  , 5.   , 4.375], dtype=float32)
    """
    key = getattr(name, "value", name)
    if key not in _FUNCTIONS:
        raise ScheduleError(f"get_scheduler(name={name!r}): unknown schedule. transformers' names are: "
                            + ", ".join(SCHEDULER_NAMES))
    kwargs = dict(scheduler_specific_kwargs)
    nested = kwargs.pop("scheduler_specific_kwargs", None)
    if nested:
        kwargs.update(nested)
    func: Callable[..., Schedule] = _FUNCTIONS[key]
    if key in ("reduce_lr_on_plateau", "greedy"):  # transformers passes only the specific kwargs (no step counts)
        return func(base_lr, **kwargs)
    accepted = [p for p in inspect.signature(func).parameters
                if p not in ("base_lr", "num_warmup_steps", "num_training_steps")]
    unknown = sorted(set(kwargs) - set(accepted))
    if unknown:
        raise ScheduleError(f"get_scheduler({key!r}): unexpected argument(s) {unknown}; {key!r} takes "
                            + (", ".join(accepted) if accepted else "no extra arguments")
                            + " besides base_lr, num_warmup_steps and num_training_steps")
    if key == "constant":
        return func(base_lr)
    if num_warmup_steps is None:
        raise ScheduleError(f"get_scheduler({key!r}) requires num_warmup_steps; pass num_warmup_steps=0 for none")
    if key in ("constant_with_warmup", "inverse_sqrt"):
        return func(base_lr, num_warmup_steps, **kwargs)
    if key == "warmup_stable_decay":
        if "num_decay_steps" not in kwargs:
            raise ScheduleError("get_scheduler('warmup_stable_decay') requires num_decay_steps (a scheduler-specific "
                                "argument); pass e.g. num_decay_steps=1000")
        return func(base_lr, num_warmup_steps, num_training_steps=num_training_steps, **kwargs)
    if num_training_steps is None:
        raise ScheduleError(f"get_scheduler({key!r}) requires num_training_steps; pass the total number of updates")
    return func(base_lr, num_warmup_steps, num_training_steps, **kwargs)
