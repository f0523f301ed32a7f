"""Primitive schedules: one class and one factory function per schedule.

Each factory documents its formula with ``t`` the (clamped, non-negative) step.
Finite schedules hold their final value past their end. Durations are
``time_field`` leaves (see :meth:`lrsched.Schedule.stretched`).
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import jax
import jax.numpy as jnp

from lrsched._core import (
    Leaf,
    Leaves,
    Schedule,
    ScheduleError,
    check,
    check_length,
    check_non_negative,
    check_positive,
    check_sorted,
    choice_field,
    concrete,
    fail,
    flag_field,
    function_field,
    numbers_field,
    precise_field,
    repr_arg,
    schedule_class,
    time_field,
)
from lrsched._numerics import (
    Case,
    anneal,
    as_float,
    as_number,
    common,
    cos_anneal,
    cos_weights,
    count_reached,
    divide,
    float_dtype,
    int_dtype,
    int_power,
    k_decay_phase,
    known_cases,
    largest_count,
    lerp,
    phase,
    pick,
    power_pair,
    product_parts,
    rate_power,
    ratio_phase,
    split,
    split_sum,
    whole_and_rest,
)

__all__ = [
    "constant", "linear", "polynomial", "cosine", "exponential", "step_decay",
    "multistep", "inverse_sqrt", "inverse_time", "piecewise_constant",
    "piecewise_linear", "cyclic", "one_cycle", "one_cycle_momentum",
    "warmup_cosine", "wsd", "tanh",
    "Constant", "Linear", "Polynomial", "Cosine", "Exponential", "StepDecay",
    "MultiStep", "InverseSqrt", "InverseTime", "PiecewiseConstant",
    "PiecewiseLinear", "Cyclic", "OneCycle", "OneCycleMomentum", "WarmupCosine",
    "WSD", "Tanh",
]


def _warped(done: jax.Array, left: jax.Array, k_decay: Any) -> tuple[jax.Array, jax.Array]:
    return (done, left) if k_decay is None else k_decay_phase(done, left, k_decay)


# ------------------------------------------------------------------ constant


@schedule_class("constant")
class Constant(Schedule):
    value: Leaf

    def compute(self, t):
        return as_float(self.value)


def constant(value: Leaf) -> Constant:
    r"""A constant value.

    .. math:: v(t) = \text{value}

    Args:
      value: the value at every step.

    Returns:
      A :class:`Constant`.

    Examples:
      >>> import lrsched
      >>> lrsched.evaluate(lrsched.constant(0.1), 3)
      array([0.1, 0.1, 0.1], dtype=float32)
    """
    return Constant(value)


# ------------------------------------------------------------- linear family


@schedule_class("linear")
class Linear(Schedule):
    init_value: Leaf
    end_value: Leaf
    steps: Leaf = time_field()

    def validate(self):
        check_non_negative(self, "steps")

    def compute(self, t):
        done, left = phase(t, self.steps)
        return lerp(self.init_value, self.end_value, done, left)

    def at_ratio(self, num, den):
        """The value at the step ``num / den`` (each two floats ``(hi, lo)``), the ratio never rounded
        (``lrsched._numerics.ratio_phase``): compat's fastai pieces of a fraction of training."""
        return lerp(self.init_value, self.end_value, *ratio_phase(num, den, self.steps))


def linear(init_value: Leaf, end_value: Leaf, steps: Leaf) -> Linear:
    r"""Linear interpolation from `init_value` to `end_value` over `steps` steps.

    .. math:: v(t) = v_0 + (v_1 - v_0) \min(t, T) / T

    Computed as ``v0 * (T - t) / T + v1 * t / T`` from exact integer offsets, so
    consecutive steps stay distinct even over 2**30 steps. ``steps=0`` jumps to
    `end_value` at once.

    Args:
      init_value: the value at step 0.
      end_value: the value from step `steps` on.
      steps: the length of the ramp ``T`` (>= 0).

    Returns:
      A :class:`Linear`.

    Examples:
      >>> import lrsched
      >>> lrsched.evaluate(lrsched.linear(0.0, 1.0, steps=4), 6)
      array([0.  , 0.25, 0.5 , 0.75, 1.  , 1.  ], dtype=float32)
    """
    return Linear(init_value, end_value, steps)


@schedule_class("polynomial")
class Polynomial(Schedule):
    init_value: Leaf
    end_value: Leaf
    steps: Leaf = time_field()
    power: Leaf = 1.0
    k_decay: Leaf | None = None

    def validate(self):
        check_non_negative(self, "steps")
        check_positive(self, "power", "k_decay")

    def cases(self):
        return Case(self.power), Case(self.k_decay)

    def compute(self, t, power, k_decay):
        return self._value(*phase(t, self.steps), power, k_decay)

    def at_ratio(self, num, den):
        """The value at the step ``num / den`` (each two floats ``(hi, lo)``), the ratio never rounded."""
        return known_cases(lambda power, k: self._value(*ratio_phase(num, den, self.steps), power, k), *self.cases())

    def _value(self, done, left, power, k_decay):
        done, left = _warped(done, left, k_decay)
        # both weights computed directly (power_pair): no cancellation, falling or rising
        w, rest = power_pair(left, done, power)
        return as_float(self.init_value) * w + as_float(self.end_value) * rest


def polynomial(init_value: Leaf, end_value: Leaf, steps: Leaf, power: Leaf = 1.0,
               k_decay: Leaf | None = None) -> Polynomial:
    r"""Polynomial decay (optax's ``polynomial_schedule``).

    .. math:: v(t) = v_1 + (v_0 - v_1) (1 - p^k)^{\text{power}},\quad p = \min(t, T) / T

    With ``k = 1`` (`k_decay` left out) this is the usual ``(1 - t/T)^power``;
    `k_decay` warps the progress as in k-decay (Zhang & Li, arXiv:2004.05909;
    timm's ``k_decay``): ``k > 1`` keeps the value high for longer. ``1 - p^k``
    is computed without cancellation near the end.

    Args:
      init_value: the value at step 0.
      end_value: the value from step `steps` on.
      steps: the length of the decay ``T`` (>= 0).
      power: the exponent (> 0).
      k_decay: the progress exponent ``k`` (> 0), or None for 1 (no leaf).

    Returns:
      A :class:`Polynomial`.

    Examples:
      >>> import lrsched
      >>> lrsched.evaluate(lrsched.polynomial(1.0, 0.0, steps=4, power=2), 5)
      array([1.    , 0.5625, 0.25  , 0.0625, 0.    ], dtype=float32)
    """
    return Polynomial(init_value, end_value, steps, power, k_decay)


@schedule_class("cosine")
class Cosine(Schedule):
    init_value: Leaf
    steps: Leaf = time_field()
    end_value: Leaf = 0.0
    exponent: Leaf | None = None
    k_decay: Leaf | None = None
    periodic: bool = flag_field(default=False)

    def validate(self):
        check_positive(self, "steps", "exponent", "k_decay")

    def cases(self):
        return Case(self.exponent), Case(self.k_decay)

    def compute(self, t, exponent, k_decay):
        return self._value(*phase(self._mirrored(t), self.steps), exponent, k_decay)

    def _mirrored(self, t):
        if not self.periodic:
            return t
        # mirror the step into [0, steps]: period 2 * steps, exact for integer steps
        t, steps = common(t, as_number(self.steps))
        _, r = split_sum(t, steps, steps)
        return jnp.where(r <= steps, r, steps - (r - steps))  # (2 steps - r: 2 steps may pass the integer's top)

    def at_ratio(self, num, den):
        """The value at the step ``num / den`` (each two floats ``(hi, lo)``), the ratio never rounded."""
        if self.periodic:
            return self(divide(as_float(num[0]) + as_float(num[1]), as_float(den[0]) + as_float(den[1])))
        return known_cases(lambda e, k: self._value(*ratio_phase(num, den, self.steps), e, k), *self.cases())

    def _value(self, done, left, exponent, k_decay):
        done, left = _warped(done, left, k_decay)
        init, end = as_float(self.init_value), as_float(self.end_value)
        if exponent is not None:  # both weights direct (power_pair): exact near both ends, either direction
            w, rest = power_pair(*cos_weights(done, left), exponent)
            return init * w + end * rest
        # the weight of the nearer end is computed directly: no cancellation whether it falls or rises
        rising = init < end
        low, high = jnp.where(rising, init, end), jnp.where(rising, end, init)
        return low + (high - low) * cos_anneal(None, jnp.where(rising, done, left))


def cosine(init_value: Leaf, steps: Leaf, end_value: Leaf = 0.0, exponent: Leaf | None = None,
           k_decay: Leaf | None = None, periodic: bool = False) -> Cosine:
    r"""Cosine decay (Loshchilov & Hutter, SGDR, arXiv:1608.03983; optax's
    ``cosine_decay_schedule`` with ``alpha = end_value / init_value``).

    .. math:: v(t) = v_1 + (v_0 - v_1) \left(\tfrac{1 + \cos(\pi p^k)}{2}\right)^{e},
              \quad p = \min(t, T) / T

    `exponent` ``e`` and `k_decay` ``k`` are 1 when left out (nothing is
    computed for them); any number given, 1.0 included, is a leaf like the others
    (vmappable, differentiable). `k_decay` warps the progress (k-decay, Zhang &
    Li, arXiv:2004.05909; timm's ``k_decay``). Without `exponent` the values are
    accurate to the last bits near both ends, also when ``end_value >
    init_value`` (a rising half-cosine).

    ``periodic=True`` keeps oscillating past `steps` instead of holding
    `end_value`: back up to `init_value` at ``2T``, and so on (torch's
    ``CosineAnnealingLR`` past ``T_max``); the step is mirrored with integer
    arithmetic, so the phase stays exact.

    Args:
      init_value: the value at step 0.
      steps: the length of the decay ``T`` (> 0).
      end_value: the value at step `steps` (held after it unless `periodic`).
      exponent: the power of the cosine shape (> 0), or None for 1.
      k_decay: the progress exponent (> 0), or None for 1.
      periodic: oscillate with period ``2T`` instead of holding the end.

    Returns:
      A :class:`Cosine`.

    Examples:
      >>> import lrsched
      >>> lrsched.evaluate(lrsched.cosine(1.0, steps=4), 5).round(4)
      array([1.    , 0.8536, 0.5   , 0.1464, 0.    ], dtype=float32)
      >>> lrsched.evaluate(lrsched.cosine(1.0, steps=2, periodic=True), 6).round(4)
      array([1. , 0.5, 0. , 0.5, 1. , 0.5], dtype=float32)
    """
    return Cosine(init_value, steps, end_value, exponent, k_decay, periodic)


# --------------------------------------------------------- exponential family


@schedule_class("exponential")
class Exponential(Schedule):
    init_value: Leaf
    rate: Leaf = precise_field()
    steps: Leaf = time_field(default=1)
    staircase: bool = flag_field(default=False)
    end_value: Leaf | None = None

    def validate(self):
        check_positive(self, "rate", "steps")

    def compute(self, t):
        lo = self.low("rate")  # the rate as passed, not its float32 rounding (raised to the power t)
        if self.staircase:
            periods = split(t, self.steps, non_negative=True)[0]
            most = largest_count(periods.dtype, concrete(self.steps))
            value = as_float(self.init_value) * rate_power(self.rate, periods, rate_lo=lo, most=most)
        else:
            value = as_float(self.init_value) * rate_power(self.rate, t, self.steps, rate_lo=lo)
        if self.end_value is not None:
            end = as_float(self.end_value)
            value = jnp.where(as_float(self.rate) < 1, jnp.maximum(value, end), jnp.minimum(value, end))
        return value


def exponential(init_value: Leaf, rate: Leaf, steps: Leaf = 1, staircase: bool = False,
                end_value: Leaf | None = None) -> Exponential:
    r"""Exponential decay (or growth): `rate` per `steps` steps (optax's
    ``exponential_decay``; torch's ``ExponentialLR`` with ``steps=1``).

    .. math:: v(t) = v_0 \, r^{t / T} \quad (\lfloor t/T \rfloor \text{ if staircase})

    clamped at `end_value` (from below when ``rate < 1``, from above when
    ``rate > 1``) when given. The count of whole periods ``floor(t/T)`` is exact
    integer division, and the power keeps ~1e-7 relative precision in float32
    down to the smallest normal float (``exp(t/T log r)`` loses 2e-6 at
    ``e**-40``; see ``lrsched._numerics.rate_power``).

    Args:
      init_value: the value at step 0.
      rate: the factor per `steps` steps (> 0).
      steps: the number of steps ``T`` over which the value is multiplied by `rate` (> 0).
      staircase: multiply by `rate` only at whole multiples of `steps`.
      end_value: the floor (``rate < 1``) or ceiling (``rate > 1``), or None.

    Returns:
      An :class:`Exponential`.

    Examples:
      >>> import lrsched
      >>> lrsched.evaluate(lrsched.exponential(1.0, rate=0.5, steps=2), 5)
      array([1.        , 0.70710677, 0.5       , 0.35355338, 0.25      ], dtype=float32)
      >>> lrsched.evaluate(lrsched.exponential(1.0, 0.5, staircase=True, end_value=0.2), 4)
      array([1.  , 0.5 , 0.25, 0.2 ], dtype=float32)
    """
    return Exponential(init_value, rate, steps, staircase, end_value)


@schedule_class("step_decay")
class StepDecay(Schedule):
    init_value: Leaf
    step_size: Leaf = time_field()
    gamma: Leaf = precise_field()

    def validate(self):
        check_positive(self, "step_size")
        check_non_negative(self, "gamma")

    def compute(self, t):
        k, _ = split(t, self.step_size, non_negative=True)
        most = largest_count(k.dtype, concrete(self.step_size))
        return as_float(self.init_value) * int_power(self.gamma, k, self.low("gamma"), most=most)


def step_decay(init_value: Leaf, step_size: Leaf, gamma: Leaf) -> StepDecay:
    r"""Multiply by `gamma` every `step_size` steps (torch's ``StepLR``).

    .. math:: v(t) = v_0 \, \gamma^{\lfloor t / s \rfloor}

    Args:
      init_value: the value at step 0.
      step_size: the number of steps ``s`` between two multiplications (> 0).
      gamma: the factor (>= 0).

    Returns:
      A :class:`StepDecay`.

    Examples:
      >>> import lrsched
      >>> lrsched.evaluate(lrsched.step_decay(1.0, step_size=2, gamma=0.5), 5)
      array([1.  , 1.  , 0.5 , 0.5 , 0.25], dtype=float32)
    """
    return StepDecay(init_value, step_size, gamma)


@schedule_class("multistep")
class MultiStep(Schedule):
    init_value: Leaf
    milestones: Leaves = numbers_field(time=True)
    gamma: Leaf = precise_field()

    def validate(self):
        check_sorted(self, "milestones")
        check_non_negative(self, "milestones", "gamma")

    def compute(self, t):
        n = count_reached(self.milestones, t)
        return as_float(self.init_value) * int_power(self.gamma, n, self.low("gamma"),
                                                     most=as_number(self.milestones).shape[-1])


def multistep(init_value: Leaf, milestones: Leaves, gamma: Leaf) -> MultiStep:
    r"""Multiply by `gamma` at each milestone (torch's ``MultiStepLR``).

    .. math:: v(t) = v_0 \, \gamma^{\#\{m_i \le t\}}

    A repeated milestone counts twice, as in torch.

    Args:
      init_value: the value at step 0.
      milestones: the steps where the value is multiplied, in non-decreasing order.
      gamma: the factor (>= 0).

    Returns:
      A :class:`MultiStep`.

    Examples:
      >>> import lrsched
      >>> lrsched.evaluate(lrsched.multistep(1.0, milestones=[1, 3], gamma=0.1), 4)
      array([1.  , 0.1 , 0.1 , 0.01], dtype=float32)
    """
    return MultiStep(init_value, milestones, gamma)


@schedule_class("inverse_sqrt")
class InverseSqrt(Schedule):
    init_value: Leaf
    timescale: Leaf = time_field()
    offset: Leaf = time_field(default=0)

    def validate(self):
        check_positive(self, "timescale")
        check_non_negative(self, "offset")

    def compute(self, t):
        t, offset = common(t, as_number(self.offset))
        since = as_float(jnp.maximum(t - offset, jnp.zeros((), t.dtype)))
        return as_float(self.init_value) * jax.lax.rsqrt(1.0 + since / as_float(self.timescale))


def inverse_sqrt(init_value: Leaf, timescale: Leaf, offset: Leaf = 0) -> InverseSqrt:
    r"""Inverse square-root decay (Vaswani et al. 2017; transformers' ``inverse_sqrt``).

    .. math:: v(t) = v_0 \sqrt{\tau / (\tau + \max(t - o, 0))}

    It holds `init_value` until step `offset`, then decays like ``1/sqrt(t)``.

    Args:
      init_value: the value up to step `offset`.
      timescale: ``tau`` (> 0): the value halves ``3 tau`` steps after `offset`.
      offset: the step ``o`` where the decay starts (>= 0).

    Returns:
      An :class:`InverseSqrt`.

    Examples:
      >>> import lrsched
      >>> lrsched.evaluate(lrsched.inverse_sqrt(1.0, timescale=1), [0, 3, 8])
      array([1.        , 0.5       , 0.33333334], dtype=float32)
    """
    return InverseSqrt(init_value, timescale, offset)


@schedule_class("inverse_time")
class InverseTime(Schedule):
    init_value: Leaf
    rate: Leaf
    steps: Leaf = time_field(default=1)

    def validate(self):
        check_non_negative(self, "rate")
        check_positive(self, "steps")

    def compute(self, t):
        k, r = split(t, self.steps, non_negative=True)
        x = as_float(k) + as_float(r) / as_float(self.steps)
        return as_float(self.init_value) / (1.0 + as_float(self.rate) * x)


def inverse_time(init_value: Leaf, rate: Leaf, steps: Leaf = 1) -> InverseTime:
    r"""Time-based (inverse time) decay, as Keras' ``InverseTimeDecay`` with its default
    ``staircase=False`` (Keras' staircase form, ``t // T``, is not an option here).

    .. math:: v(t) = v_0 / (1 + r \, t / T)

    Args:
      init_value: the value at step 0.
      rate: the decay rate ``r`` per `steps` (>= 0).
      steps: ``T`` (> 0).

    Returns:
      An :class:`InverseTime`.

    Examples:
      >>> import lrsched
      >>> lrsched.evaluate(lrsched.inverse_time(1.0, rate=1.0, steps=2), 5)
      array([1.        , 0.6666667 , 0.5       , 0.4       , 0.33333334], dtype=float32)
    """
    return InverseTime(init_value, rate, steps)


# ---------------------------------------------------------------- piecewise


@schedule_class("piecewise_constant")
class PiecewiseConstant(Schedule):
    boundaries: Leaves = numbers_field(time=True)
    values: Leaves = numbers_field()

    def validate(self):
        check_sorted(self, "boundaries")
        b = concrete(self.boundaries)
        if b is not None and b.ndim >= 1:
            check_length(self, "values", b.shape[-1] + 1, "one more than boundaries")

    def compute(self, t):
        return pick(as_float(self.values), count_reached(self.boundaries, t))


def piecewise_constant(boundaries: Leaves, values: Leaves) -> PiecewiseConstant:
    r"""Constant pieces: ``values[i]`` for ``boundaries[i-1] <= t < boundaries[i]``.

    .. math:: v(t) = \text{values}[\#\{b_i \le t\}]

    Unlike optax's ``piecewise_constant_schedule`` these are values, not scales.

    Args:
      boundaries: the steps where the value changes, in non-decreasing order. A boundary
        before step 0 is allowed: its value already holds at step 0 (as in optax).
      values: ``len(boundaries) + 1`` values.

    Returns:
      A :class:`PiecewiseConstant`.

    Examples:
      >>> import lrsched
      >>> lrsched.evaluate(lrsched.piecewise_constant([2, 3], [1.0, 0.5, 0.1]), 4)
      array([1. , 1. , 0.5, 0.1], dtype=float32)
    """
    return PiecewiseConstant(boundaries, values)


@schedule_class("piecewise_linear")
class PiecewiseLinear(Schedule):
    boundaries: Leaves = numbers_field(time=True)
    values: Leaves = numbers_field()
    kind: str = choice_field("linear", "cos", default="linear")

    def validate(self):
        check_sorted(self, "boundaries")
        check(self, "boundaries", lambda a: a.shape[-1] >= 1, "non-empty", "Give at least one point")
        b = concrete(self.boundaries)
        if b is not None and b.ndim >= 1:
            check_length(self, "values", b.shape[-1], "the same as boundaries")

    def compute(self, t):
        b, v = as_number(self.boundaries), as_float(self.values)
        n = b.shape[-1]
        if n == 1:
            return jnp.take(v, 0, axis=-1)
        i = jnp.clip(count_reached(b, t) - 1, 0, n - 2)
        t, b = common(t, b)
        lo, hi = pick(b, i), pick(b, i + 1)
        done, left = phase(t - lo, hi - lo)
        return anneal(self.kind, pick(v, i), pick(v, i + 1), done, left)


def piecewise_linear(boundaries: Leaves, values: Leaves, kind: str = "linear") -> PiecewiseLinear:
    r"""Interpolation through the points ``(boundaries[i], values[i])``.

    .. math:: v(t) = v_i + (v_{i+1} - v_i) \frac{t - b_i}{b_{i+1} - b_i},\ b_i \le t \le b_{i+1}

    (``kind="cos"``: half-cosines between the points, as optax's
    ``cosine_onecycle_schedule``). The first value holds before the first point
    and the last after the last. Two equal boundaries make a jump.

    Args:
      boundaries: the steps of the points, in non-decreasing order (at least one).
      values: the values at those steps (as many as `boundaries`).
      kind: "linear" or "cos".

    Returns:
      A :class:`PiecewiseLinear`.

    Examples:
      >>> import lrsched
      >>> lrsched.evaluate(lrsched.piecewise_linear([1, 3], [0.0, 1.0]), 5)
      array([0. , 0. , 0.5, 1. , 1. ], dtype=float32)
    """
    return PiecewiseLinear(boundaries, values, kind)


# ------------------------------------------------------------------- cyclical


@schedule_class("cyclic")
class Cyclic(Schedule):
    base_value: Leaf
    peak_value: Leaf
    up_steps: Leaf = time_field()
    down_steps: Leaf | None = time_field(default=None)
    mode: str = choice_field(default="triangular")  # any string: ignored with a scale_fn, as in torch
    gamma: Leaf = precise_field(default=1.0)
    scale_fn: Callable[[jax.Array], Any] | None = function_field(default=None)
    scale_mode: str = choice_field("cycle", "iterations", default="cycle")

    def validate(self):
        check_positive(self, "up_steps", "down_steps", "gamma")
        if self.scale_fn is None:
            modes = ("triangular", "triangular2", "exp_range")
            if self.mode not in modes:
                fail(self, "mode", "one of " + ", ".join(repr(m) for m in modes), f"Pick one of {list(modes)}")

    def can_stretch(self) -> bool:
        if self.scale_fn is not None:
            return self.scale_mode == "cycle"
        return self.mode != "exp_range"  # gamma**t is per step

    def config_args(self) -> dict[str, Any]:
        if self.scale_fn is not None:
            raise ScheduleError(
                "to_config(cyclic with a scale_fn): a Python function is code, not data, so it cannot be "
                "written to a config. Use mode='triangular'|'triangular2'|'exp_range', or rebuild the "
                "schedule with the same scale_fn after loading")
        return super().config_args()

    def __repr__(self) -> str:
        if self.scale_fn is None:
            return super().__repr__()
        parts = ", ".join(f"{f.name}={repr_arg(getattr(self, f.name))}" for f in dataclasses.fields(self))
        return f"{self.factory_name}({parts})"

    def compute(self, t):
        up = as_number(self.up_steps)
        down = up if self.down_steps is None else as_number(self.down_steps)
        t, up, down = common(t, up, down)
        k, pos = split_sum(t, up, down)
        rising, below = phase(pos, up)
        falling, above = phase(down - (pos - up), down)  # (up + down - pos: the sum may pass the integer's top)
        up_side = pos <= up
        height = jnp.where(up_side, rising, falling)
        depth = jnp.where(up_side, below, above)  # 1 - height, from exact integers too
        # the weight of the peak is height * s; the base's, 1 - height * s = depth + height * (1 - s),
        # is computed directly so that neither end cancels (a falling cycle reaches a tiny peak exactly)
        if self.scale_fn is not None:
            x = as_float(k) + 1.0 if self.scale_mode == "cycle" else as_float(t)
            scale = jnp.asarray(self.scale_fn(x), float_dtype())
            unscaled = 1.0 - scale
        elif self.mode == "triangular2":
            scale = int_power(0.5, k)
            unscaled = 1.0 - scale
        elif self.mode == "exp_range":
            scale = rate_power(self.gamma, t, rate_lo=self.low("gamma"))
            log_gamma = jnp.log(as_float(self.gamma)) + self.low("gamma") / as_float(self.gamma)
            unscaled = -jnp.expm1(as_float(t) * log_gamma)
        else:
            scale, unscaled = jnp.ones((), float_dtype()), jnp.zeros((), float_dtype())
        top = height * scale
        return as_float(self.base_value) * (depth + height * unscaled) + as_float(self.peak_value) * top


def cyclic(base_value: Leaf, peak_value: Leaf, up_steps: Leaf, down_steps: Leaf | None = None,
           mode: str = "triangular", gamma: Leaf = 1.0, scale_fn: Callable[[jax.Array], Any] | None = None,
           scale_mode: str = "cycle") -> Cyclic:
    r"""Cyclical learning rates (Smith, arXiv:1506.01186; torch's ``CyclicLR``).

    With ``c = up + down`` and ``x = t mod c``, the height is ``x / up`` while
    rising and ``(c - x) / down`` while falling, and

    .. math:: v(t) = b + (p - b) \, h(t) \, s(t)

    with ``s = 1`` (``"triangular"``), ``s = 2^{-\lfloor t/c \rfloor}``
    (``"triangular2"``) or ``s = \gamma^t`` (``"exp_range"``). A custom
    `scale_fn` replaces the mode (torch's ``scale_fn``): ``s = scale_fn(k + 1)``
    with ``k`` the cycle (``scale_mode="cycle"``) or ``s = scale_fn(t)``
    (``"iterations"``); it must be a JAX-traceable function of a float array
    (``lambda x: 0.5 ** x``, not ``math.pow``). It is code, not data: such a
    schedule works under jit and vmap but has no config (``to_config`` raises).
    `down_steps` defaults to `up_steps`. It cycles forever.

    Args:
      base_value: the value at the bottom of each cycle.
      peak_value: the value at the top (scaled by ``s``).
      up_steps: steps from the bottom to the top (> 0).
      down_steps: steps from the top back to the bottom (> 0), or None for `up_steps`.
      mode: "triangular", "triangular2" or "exp_range" (ignored with a `scale_fn`).
      gamma: exp_range's factor per step (> 0).
      scale_fn: a function giving the scale ``s``, or None.
      scale_mode: "cycle" or "iterations": what `scale_fn` is a function of.

    Returns:
      A :class:`Cyclic`.

    Examples:
      >>> import lrsched
      >>> lrsched.evaluate(lrsched.cyclic(0.0, 1.0, up_steps=2), 6)
      array([0. , 0.5, 1. , 0.5, 0. , 0.5], dtype=float32)
      >>> lrsched.evaluate(lrsched.cyclic(0.0, 1.0, up_steps=1, scale_fn=lambda x: 1.0 / x), 6).round(4)
      array([0.    , 1.    , 0.    , 0.5   , 0.    , 0.3333], dtype=float32)
    """
    return Cyclic(base_value, peak_value, up_steps, down_steps, mode, gamma, scale_fn, scale_mode)


# ------------------------------------------------------------------ one cycle


def _one_cycle_ends(total_steps: Any, pct_start: Any, three_phase: bool,
                    pct_lo: Any = None) -> list[tuple[jax.Array, jax.Array]]:
    """torch's phase ends ``pct T - 1`` (``2 pct T - 2``) ``T - 1`` as (integer, remainder) pairs.

    torch rounds ``pct * T`` once in float64. Keeping the integer part exact and
    the remainder apart makes offsets from a phase end exact integers plus a small
    float, so float32 phases stay as precise as torch's even past 2**24 steps; `pct_lo`
    (what float32 lost of `pct_start`) keeps the fraction the user passed.
    """
    total, pct = as_number(total_steps), as_float(pct_start)
    whole, rest = product_parts(pct, total, pct_lo)
    ends = [(whole - 1, rest)]
    if three_phase:
        ends.append((2 * whole - 2, 2.0 * rest))
    if jnp.issubdtype(total.dtype, jnp.integer):
        last = (total - 1, jnp.zeros((), pct.dtype))
    else:
        n, f = whole_and_rest(total)
        last = (n - 1, f)
    return ends + [last]


def _segments(t: jax.Array, total_steps: Any, ends: list[tuple[jax.Array, jax.Array]], values: list[Any],
              kind: str, extrapolate: bool = False) -> jax.Array:
    """Anneal through ``values``, segment i running up to ``ends[i]`` (torch's OneCycleLR
    convention: a step equal to an end belongs to that segment); past ``T - 1`` hold
    (`extrapolate`: steps in ``(T - 1, T]`` continue their segment's formula past its end, as torch
    computes step ``T``; where torch divides by zero, a segment of no length, they hold).
    Offsets are integer differences plus the ends' float remainders. The active segment
    is found first and only its anneal is computed (one sine per step, whatever the phases)."""
    t, total = common(t, as_number(total_steps))
    if extrapolate:  # the steps whose phase is not clipped to [0, 1]: (T - 1, T]; later ones hold
        free = (t > total - 1) & (t <= total)
        t = jnp.where(t > total, total - 1, t)
    else:
        free = jnp.zeros(t.shape, bool)
        t = jnp.minimum(t, total - 1)
    starts = [(jnp.zeros((), int_dtype()), jnp.zeros((), float_dtype()))] + ends[:-1]
    active = jnp.zeros(t.shape, jnp.int32)
    for i in range(1, len(ends)):  # the last segment whose start t is past (torch's order)
        s_n, s_f = starts[i]
        active = jnp.where(as_float(jnp.subtract(*common(t, s_n))) - s_f > 0, i, active)

    def pick(options: list[Any]) -> jax.Array:
        out = jnp.asarray(options[0])
        for i in range(1, len(options)):
            out = jnp.where(active == i, options[i], out)
        return out

    s_n, s_f = pick([s[0] for s in starts]), pick([s[1] for s in starts])
    e_n, e_f = pick([e[0] for e in ends]), pick([e[1] for e in ends])
    length = as_float(e_n - s_n) + (e_f - s_f)
    since = as_float(jnp.subtract(*common(t, s_n))) - s_f
    until = as_float(jnp.subtract(*common(e_n, t))) + e_f
    # past the end (free steps): the segment's formula unclipped (torch's pct > 1, or < 0 for a reversed segment);
    # a segment of no length there is the last one, from T - 1: its start holds (`stuck`)
    free = free & (length != 0)
    valid = (length > 0) | free
    safe = jnp.where(valid, length, 1.0)
    since = jnp.where(free, since, jnp.clip(since, 0.0, safe))
    until = jnp.where(free, until, jnp.clip(until, 0.0, safe))
    stuck = (t > total - 1) & ~valid  # (never without `extrapolate`: t <= T - 1 there)
    done = jnp.where(valid, divide(since, safe), jnp.where(stuck, 0.0, 1.0))
    left = jnp.where(valid, divide(until, safe), jnp.where(stuck, 1.0, 0.0))
    start = pick([as_float(v) for v in values[:-1]])
    end = pick([as_float(v) for v in values[1:]])
    return anneal(kind, start, end, done, left)


@schedule_class("one_cycle")
class OneCycle(Schedule):
    stretchable = False  # torch's phase ends pct * T - 1 do not scale with T

    total_steps: Leaf
    peak_value: Leaf
    pct_start: Leaf = precise_field(default=0.3)
    div_factor: Leaf = 25.0
    final_div_factor: Leaf = 1e4
    anneal: str = choice_field("cos", "linear", default="cos")
    three_phase: bool = flag_field(default=False)
    extrapolate: bool = flag_field(default=False, since=(3, False))

    def validate(self):
        check_positive(self, "total_steps", "div_factor", "final_div_factor")
        check(self, "pct_start", lambda a: (a >= 0) & (a <= 1), "in [0, 1]", "Pass a fraction such as 0.3")

    def compute(self, t):
        initial = as_float(self.peak_value) / as_float(self.div_factor)
        low = initial / as_float(self.final_div_factor)
        values = [initial, self.peak_value] + ([initial] if self.three_phase else []) + [low]
        ends = _one_cycle_ends(self.total_steps, self.pct_start, self.three_phase, self.low("pct_start"))
        return _segments(t, self.total_steps, ends, values, self.anneal, self.extrapolate)


def one_cycle(total_steps: Leaf, peak_value: Leaf, pct_start: Leaf = 0.3, div_factor: Leaf = 25.0,
              final_div_factor: Leaf = 1e4, anneal: str = "cos", three_phase: bool = False,
              extrapolate: bool = False) -> OneCycle:
    r"""The 1cycle policy (Smith & Topin, arXiv:1708.07120) exactly as torch's ``OneCycleLR``.

    From ``peak / div_factor`` up to `peak_value` until step ``pct_start*T - 1``,
    then down to ``peak / (div_factor * final_div_factor)`` at step ``T - 1``
    (``three_phase``: back to the initial value at ``2*pct_start*T - 2`` first).
    Each phase from ``s`` to ``e`` anneals by cosine or linearly:

    .. math:: v = e + (s - e)\,\tfrac{1 + \cos(\pi p)}{2} \quad\text{or}\quad v = s + (e - s)\,p

    with ``p`` the fraction of the phase done. Past ``T - 1`` it holds the final
    value; with `extrapolate`, step ``T`` itself continues the last phase (``p > 1``)
    as torch does (its ``get_last_lr()`` after the ``T``-th ``step()``, which no update
    of a ``T``-step run uses: slightly above the final value for "cos", past it, even
    negative, for "linear"), and the final value is held after it (torch raises there).

    Args:
      total_steps: ``T`` (> 0).
      peak_value: the top of the cycle.
      pct_start: the fraction of ``T`` spent rising, in [0, 1].
      div_factor: the start value is ``peak_value / div_factor``.
      final_div_factor: the end value is the start value over this.
      anneal: "cos" or "linear".
      three_phase: torch's three-phase variant.
      extrapolate: step ``T`` as torch computes it (``lrsched.compat.torch.OneCycleLR`` sets it);
        False holds the final value from ``T - 1`` on.

    Returns:
      A :class:`OneCycle`.

    Examples:
      >>> import lrsched
      >>> lrsched.evaluate(lrsched.one_cycle(5, peak_value=1.0, pct_start=0.4, anneal="linear"), 5).round(4)
      array([0.04  , 1.    , 0.6667, 0.3333, 0.    ], dtype=float32)
      >>> lrsched.evaluate(lrsched.one_cycle(5, 1.0, 0.4, anneal="linear", extrapolate=True), 7).round(4)
      array([ 0.04  ,  1.    ,  0.6667,  0.3333,  0.    , -0.3333,  0.    ], dtype=float32)
    """
    return OneCycle(total_steps, peak_value, pct_start, div_factor, final_div_factor, anneal, three_phase, extrapolate)


@schedule_class("one_cycle_momentum")
class OneCycleMomentum(Schedule):
    stretchable = False

    total_steps: Leaf
    base_value: Leaf = 0.85
    peak_value: Leaf = 0.95
    pct_start: Leaf = precise_field(default=0.3)
    anneal: str = choice_field("cos", "linear", default="cos")
    three_phase: bool = flag_field(default=False)
    extrapolate: bool = flag_field(default=False, since=(3, False))

    def validate(self):
        check_positive(self, "total_steps")
        check(self, "pct_start", lambda a: (a >= 0) & (a <= 1), "in [0, 1]", "Pass a fraction such as 0.3")

    def compute(self, t):
        hi, lo = self.peak_value, self.base_value
        values = [hi, lo, hi] + ([hi] if self.three_phase else [])
        ends = _one_cycle_ends(self.total_steps, self.pct_start, self.three_phase, self.low("pct_start"))
        return _segments(t, self.total_steps, ends, values, self.anneal, self.extrapolate)


def one_cycle_momentum(total_steps: Leaf, base_value: Leaf = 0.85, peak_value: Leaf = 0.95,
                       pct_start: Leaf = 0.3, anneal: str = "cos", three_phase: bool = False,
                       extrapolate: bool = False) -> OneCycleMomentum:
    r"""The momentum of the 1cycle policy (torch's ``OneCycleLR`` with ``cycle_momentum``).

    Moves inversely to :func:`one_cycle`: `peak_value` down to `base_value` while
    the rate rises, back up while it falls (``three_phase``: held at the peak in
    the last phase), with the same phase ends and anneal:

    .. math:: m = e + (s - e)\,\tfrac{1 + \cos(\pi p)}{2}

    Args:
      total_steps: ``T`` (> 0).
      base_value: the momentum at the rate's peak.
      peak_value: the momentum at the start and the end.
      pct_start: as :func:`one_cycle`.
      anneal: "cos" or "linear".
      three_phase: as :func:`one_cycle`.
      extrapolate: as :func:`one_cycle` (step ``T`` as torch computes it).

    Returns:
      A :class:`OneCycleMomentum`.

    Examples:
      >>> import lrsched
      >>> lrsched.evaluate(lrsched.one_cycle_momentum(5, pct_start=0.4, anneal="linear"), 5).round(4)
      array([0.95  , 0.85  , 0.8833, 0.9167, 0.95  ], dtype=float32)
    """
    return OneCycleMomentum(total_steps, base_value, peak_value, pct_start, anneal, three_phase, extrapolate)


# ------------------------------------------------------ warmup-shaped schedules


@schedule_class("warmup_cosine")
class WarmupCosine(Schedule):
    peak_value: Leaf
    warmup_steps: Leaf = time_field()
    total_steps: Leaf = time_field()
    init_value: Leaf = 0.0
    end_value: Leaf = 0.0
    exponent: Leaf | None = None

    def validate(self):
        check_non_negative(self, "warmup_steps")
        check_positive(self, "total_steps", "exponent")
        w, n = concrete(self.warmup_steps), concrete(self.total_steps)
        if w is not None and n is not None and not (n >= w).all():
            fail(self, "total_steps", f"at least warmup_steps ({w.tolist()}), since it includes the warmup",
                 "Pass the length of the whole schedule")

    def cases(self):
        return (Case(self.exponent),)

    def compute(self, t, exponent):
        t, w = common(t, as_number(self.warmup_steps))
        up = lerp(self.init_value, self.peak_value, *phase(t, w))
        done, left = phase(t - w, as_number(self.total_steps) - w)
        shape, rest = cos_weights(done, left)
        if exponent is not None:
            shape, rest = power_pair(shape, rest, exponent)
        down = as_float(self.peak_value) * shape + as_float(self.end_value) * rest  # no cancellation either way
        return jnp.where(t < w, up, down)


def warmup_cosine(peak_value: Leaf, warmup_steps: Leaf, total_steps: Leaf, init_value: Leaf = 0.0,
                  end_value: Leaf = 0.0, exponent: Leaf | None = None) -> WarmupCosine:
    r"""Linear warmup then cosine decay (optax's ``warmup_cosine_decay_schedule``).

    .. math:: v(t) = \begin{cases} v_0 + (v_p - v_0)\, t / W & t < W \\
              v_1 + (v_p - v_1) \left(\tfrac{1 + \cos(\pi p)}{2}\right)^{e},\ p = \tfrac{\min(t, N) - W}{N - W}
              & t \ge W \end{cases}

    `total_steps` ``N`` includes the warmup ``W``, as in optax.

    Args:
      peak_value: the value at the end of the warmup.
      warmup_steps: ``W`` (>= 0).
      total_steps: ``N`` (>= W), warmup included.
      init_value: the value at step 0.
      end_value: the value from step ``N`` on.
      exponent: the power of the cosine shape (> 0), or None for 1.

    Returns:
      A :class:`WarmupCosine`.

    Examples:
      >>> import lrsched
      >>> lrsched.evaluate(lrsched.warmup_cosine(1.0, warmup_steps=2, total_steps=4), 5).round(4)
      array([0. , 0.5, 1. , 0.5, 0. ], dtype=float32)
    """
    return WarmupCosine(peak_value, warmup_steps, total_steps, init_value, end_value, exponent)


@schedule_class("wsd")
class WSD(Schedule):
    peak_value: Leaf
    total_steps: Leaf = time_field()
    warmup_steps: Leaf = time_field()
    decay_steps: Leaf = time_field()
    init_value: Leaf = 0.0
    end_value: Leaf = 0.0
    decay: str = choice_field("linear", "cosine", "sqrt", default="linear")

    def validate(self):
        check_positive(self, "total_steps")
        check_non_negative(self, "warmup_steps", "decay_steps")
        n, w, d = (concrete(x) for x in (self.total_steps, self.warmup_steps, self.decay_steps))
        if n is not None and w is not None and d is not None and not (w + d <= n).all():
            fail(self, "total_steps", f"at least warmup_steps + decay_steps ({(w + d).tolist()})",
                 "Shorten the warmup or the decay, or lengthen the schedule")

    def compute(self, t):
        t, w, n, d = common(t, *(as_number(x) for x in (self.warmup_steps, self.total_steps, self.decay_steps)))
        up = lerp(self.init_value, self.peak_value, *phase(t, w))
        done, left = phase(t - (n - d), d)
        peak, end = as_float(self.peak_value), as_float(self.end_value)
        if self.decay == "linear":
            down = lerp(peak, end, done, left)
        elif self.decay == "cosine":
            down = anneal("cos", peak, end, done, left)
        else:
            started = done > 0  # sqrt's derivative is infinite at 0: keep it out of the gradient
            root = jnp.where(started, jnp.sqrt(jnp.where(started, done, 1.0)), 0.0)
            # 1 - sqrt(p) = (1 - p) / (1 + sqrt(p)): exact near the end of the decay too
            down = peak * jnp.where(started, left / (1.0 + root), 1.0) + end * root
        return jnp.where(t < w, up, jnp.where(t < n - d, peak, down))


def wsd(peak_value: Leaf, total_steps: Leaf, warmup_steps: Leaf, decay_steps: Leaf,
        init_value: Leaf = 0.0, end_value: Leaf = 0.0, decay: str = "linear") -> WSD:
    r"""Warmup-stable-decay (Hu et al., MiniCPM, arXiv:2404.06395).

    Linear warmup from `init_value` to `peak_value` over `warmup_steps`, hold
    the peak, then decay to `end_value` over the last `decay_steps` of
    `total_steps` with the shape ``d(p)`` of `decay`: ``"linear"`` (``1 - p``),
    ``"cosine"`` (``(1 + cos(pi p))/2``) or ``"sqrt"`` (``1 - sqrt(p)``):

    .. math:: v(t) = v_1 + (v_{peak} - v_1)\, d(p)

    Args:
      peak_value: the value held between warmup and decay.
      total_steps: the whole length ``N`` (>= warmup_steps + decay_steps).
      warmup_steps: ``W`` (>= 0).
      decay_steps: ``D`` (>= 0): the decay runs from ``N - D`` to ``N``.
      init_value: the value at step 0.
      end_value: the value from step ``N`` on.
      decay: "linear", "cosine" or "sqrt".

    Returns:
      A :class:`WSD`.

    Examples:
      >>> import lrsched
      >>> lrsched.evaluate(lrsched.wsd(1.0, total_steps=6, warmup_steps=2, decay_steps=2), 7)
      array([0. , 0.5, 1. , 1. , 1. , 0.5, 0. ], dtype=float32)
    """
    return WSD(peak_value, total_steps, warmup_steps, decay_steps, init_value, end_value, decay)


@schedule_class("tanh")
class Tanh(Schedule):
    init_value: Leaf
    steps: Leaf = time_field()
    end_value: Leaf = 0.0
    lower: Leaf = -7.0
    upper: Leaf = 3.0

    def validate(self):
        check_positive(self, "steps")

    def compute(self, t):
        done, left = phase(t, self.steps)
        x = lerp(self.lower, self.upper, done, left)
        # (1 - tanh x) / 2 = sigmoid(-2x) and (1 + tanh x) / 2 = sigmoid(2x): both weights without the
        # cancellation of 1 - tanh(x) near the end (tanh(3) = 0.995)
        return as_float(self.init_value) * jax.nn.sigmoid(-2.0 * x) + as_float(self.end_value) * jax.nn.sigmoid(2.0 * x)


def tanh(init_value: Leaf, steps: Leaf, end_value: Leaf = 0.0, lower: Leaf = -7.0,
         upper: Leaf = 3.0) -> Tanh:
    r"""Hyperbolic-tangent decay (Hsueh et al. 2019, arXiv:1909.08868; timm's ``TanhLRScheduler``).

    .. math:: v(t) = v_1 + \tfrac12 (v_0 - v_1)\,(1 - \tanh(L (1 - p) + U p)),\ p = \min(t, T)/T

    with ``L = lower = -7`` and ``U = upper = 3`` (timm's bounds). As in timm it
    starts within 1e-6 of `init_value` and ends at ``v1 + 0.0025 (v0 - v1)``.

    Args:
      init_value: ``v0``.
      steps: ``T`` (> 0).
      end_value: ``v1``.
      lower: ``L``, the tanh argument at step 0.
      upper: ``U``, the tanh argument at step ``T``.

    Returns:
      A :class:`Tanh`.

    Examples:
      >>> import lrsched
      >>> lrsched.evaluate(lrsched.tanh(1.0, steps=2), 3).round(4)
      array([1.    , 0.982 , 0.0025], dtype=float32)
    """
    return Tanh(init_value, steps, end_value, lower, upper)
