"""Primitive schedules: one class and one factory function per schedule.

Each factory documents its formula with ``t`` the (clamped, non-negative) step.
Finite schedules hold their final value past their end.
"""

from __future__ import annotations

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

from lrsched._core import (
    Schedule,
    as_float,
    as_number,
    check,
    check_choice,
    check_length,
    check_non_negative,
    check_positive,
    check_sorted,
    common,
    concrete,
    cos_anneal,
    divide,
    fail,
    float_dtype,
    int_dtype,
    phase,
    power,
    schedule_class,
    split,
    static_field,
)

__all__ = [
    "constant", "linear", "polynomial", "cosine", "exponential", "step_decay",
    "multistep", "inverse_sqrt", "inverse_time", "piecewise_constant",
    "piecewise_linear", "cyclic", "one_cycle", "one_cycle_momentum",
    "warmup_cosine", "wsd", "tanh", "noise",
    "Constant", "Linear", "Polynomial", "Cosine", "Exponential", "StepDecay",
    "MultiStep", "InverseSqrt", "InverseTime", "PiecewiseConstant",
    "PiecewiseLinear", "Cyclic", "OneCycle", "OneCycleMomentum", "WarmupCosine",
    "WSD", "Tanh", "Noise",
]

Number = Any  # a Python number, numpy or JAX scalar/array (a pytree leaf)


def lerp(start: Any, end: Any, done: jax.Array, left: jax.Array) -> jax.Array:
    """``start`` at ``done = 0`` to ``end`` at ``done = 1``, exact at both ends."""
    return as_float(start) * left + as_float(end) * done


def anneal(kind: str, start: Any, end: Any, done: jax.Array, left: jax.Array) -> jax.Array:
    """Move from `start` to `end` as `done` goes 0 -> 1: "linear" or "cos".

    The cosine is a weighted sum ``start w + end (1 - w)`` with both weights
    computed directly (non-negative terms: no cancellation while rising)."""
    if kind == "linear":
        return lerp(start, end, done, left)
    return as_float(start) * cos_anneal(done, left) + as_float(end) * cos_anneal(left, done)


def _count_reached(marks: Any, t: jax.Array) -> jax.Array:
    """How many of `marks` (last axis) are <= t, for every element of t."""
    marks = as_number(marks)
    t, marks = common(t, marks)
    return jnp.sum(marks <= t[..., None], axis=-1)


# ------------------------------------------------------------------ constant


@schedule_class("constant")
class Constant(Schedule):
    value: Number

    def compute(self, t):
        return as_float(self.value)


def constant(value: Number) -> Constant:
    r"""A constant value.

    .. math:: v(t) = \text{value}

    Examples:
      >>> import lrsched
      >>> lrsched.evaluate(lrsched.constant(0.1), 3)
      array([0.1, 0.1, 0.1], dtype=float32)
    """
    return Constant(value)


# ------------------------------------------------------------- linear family


@schedule_class("linear")
class Linear(Schedule):
    init_value: Number
    end_value: Number
    steps: Number

    def validate(self):
        check_non_negative(self, "steps")

    def compute(self, t):
        done, left = phase(t, self.steps)
        return lerp(self.init_value, self.end_value, done, left)


def linear(init_value: Number, end_value: Number, steps: Number) -> Linear:
    r"""Linear interpolation from `init_value` to `end_value` over `steps` steps.

    .. math:: v(t) = v_0 + (v_1 - v_0) \min(t, T) / T

    Computed as ``v0 * (T - t) / T + v1 * t / T`` from exact integer offsets, so
    consecutive steps stay distinct even over 2**30 steps. ``steps=0`` jumps to
    `end_value` at once.

    Examples:
      >>> import lrsched
      >>> lrsched.evaluate(lrsched.linear(0.0, 1.0, steps=4), 6)
      array([0.  , 0.25, 0.5 , 0.75, 1.  , 1.  ], dtype=float32)
    """
    return Linear(init_value, end_value, steps)


@schedule_class("polynomial")
class Polynomial(Schedule):
    init_value: Number
    end_value: Number
    steps: Number
    power: Number = 1.0

    def validate(self):
        check_non_negative(self, "steps")
        check_positive(self, "power")

    def compute(self, t):
        _, left = phase(t, self.steps)
        end = as_float(self.end_value)
        return end + (as_float(self.init_value) - end) * power(left, self.power)


def polynomial(init_value: Number, end_value: Number, steps: Number, power: Number = 1.0) -> Polynomial:
    r"""Polynomial decay (optax's ``polynomial_schedule``).

    .. math:: v(t) = v_1 + (v_0 - v_1) (1 - \min(t, T) / T)^{p}

    Examples:
      >>> import lrsched
      >>> lrsched.evaluate(lrsched.polynomial(1.0, 0.0, steps=4, power=2), 5)
      array([1.    , 0.5625, 0.25  , 0.0625, 0.    ], dtype=float32)
    """
    return Polynomial(init_value, end_value, steps, power)


@schedule_class("cosine")
class Cosine(Schedule):
    init_value: Number
    steps: Number
    end_value: Number = 0.0
    exponent: Number = None

    def validate(self):
        check_positive(self, "steps", "exponent")

    def compute(self, t):
        done, left = phase(t, self.steps)
        end = as_float(self.end_value)
        shape = cos_anneal(done, left)
        if self.exponent is not None:
            shape = power(shape, self.exponent)
        return end + (as_float(self.init_value) - end) * shape


def cosine(init_value: Number, steps: Number, end_value: Number = 0.0, exponent: Number | None = None) -> Cosine:
    r"""Cosine decay (Loshchilov & Hutter, SGDR, arXiv:1608.03983; optax's
    ``cosine_decay_schedule`` with ``alpha = end_value / init_value``).

    .. math:: v(t) = v_1 + (v_0 - v_1) \left(\tfrac{1 + \cos(\pi \min(t,T)/T)}{2}\right)^{e}

    `exponent` ``e`` is 1 when left out (no power is computed); any number given,
    1.0 included, is a leaf like the others (vmappable, differentiable).

    Examples:
      >>> import lrsched
      >>> lrsched.evaluate(lrsched.cosine(1.0, steps=4), 5).round(4)
      array([1.    , 0.8536, 0.5   , 0.1464, 0.    ], dtype=float32)
    """
    return Cosine(init_value, steps, end_value, exponent)


# --------------------------------------------------------- exponential family


@schedule_class("exponential")
class Exponential(Schedule):
    init_value: Number
    rate: Number
    steps: Number = 1
    staircase: bool = static_field(False)
    end_value: Number = None

    def validate(self):
        check_positive(self, "rate", "steps")

    def compute(self, t):
        rate = as_float(self.rate)
        if self.staircase:
            exponent = as_float(split(t, self.steps)[0])
        else:
            exponent = as_float(t) * (1.0 / as_float(self.steps))
        value = as_float(self.init_value) * jnp.exp(exponent * jnp.log(rate))
        if self.end_value is not None:
            end = as_float(self.end_value)
            value = jnp.where(rate < 1, jnp.maximum(value, end), jnp.minimum(value, end))
        return value


def exponential(init_value: Number, rate: Number, steps: Number = 1, staircase: bool = False,
                end_value: Number | None = None) -> Exponential:
    r"""Exponential decay (or growth): `rate` per `steps` steps (optax's
    ``exponential_decay``; torch's ``ExponentialLR`` with ``steps=1``).

    .. math:: v(t) = v_0 \, r^{t / T} \quad (\lfloor t/T \rfloor \text{ if staircase})

    clamped at `end_value` (from below when ``rate < 1``, from above when
    ``rate > 1``) when given. The staircase count ``floor(t/T)`` is exact
    integer division.

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
    init_value: Number
    step_size: Number
    gamma: Number

    def validate(self):
        check_positive(self, "step_size")
        check_non_negative(self, "gamma")

    def compute(self, t):
        k, _ = split(t, self.step_size)
        return as_float(self.init_value) * as_float(self.gamma) ** as_float(k)


def step_decay(init_value: Number, step_size: Number, gamma: Number) -> StepDecay:
    r"""Multiply by `gamma` every `step_size` steps (torch's ``StepLR``).

    .. math:: v(t) = v_0 \, \gamma^{\lfloor t / s \rfloor}

    Examples:
      >>> import lrsched
      >>> lrsched.evaluate(lrsched.step_decay(1.0, step_size=2, gamma=0.5), 5)
      array([1.  , 1.  , 0.5 , 0.5 , 0.25], dtype=float32)
    """
    return StepDecay(init_value, step_size, gamma)


@schedule_class("multistep")
class MultiStep(Schedule):
    init_value: Number
    milestones: Any
    gamma: Number

    def validate(self):
        check_sorted(self, "milestones")
        check_non_negative(self, "gamma")

    def compute(self, t):
        n = _count_reached(self.milestones, t)
        return as_float(self.init_value) * as_float(self.gamma) ** as_float(n)


def multistep(init_value: Number, milestones: Any, gamma: Number) -> MultiStep:
    r"""Multiply by `gamma` at each milestone (torch's ``MultiStepLR``).

    .. math:: v(t) = v_0 \, \gamma^{\#\{m_i \le t\}}

    A repeated milestone counts twice, as in torch.

    Examples:
      >>> import lrsched
      >>> lrsched.evaluate(lrsched.multistep(1.0, milestones=[1, 3], gamma=0.1), 4)
      array([1.  , 0.1 , 0.1 , 0.01], dtype=float32)
    """
    return MultiStep(init_value, milestones, gamma)


@schedule_class("inverse_sqrt")
class InverseSqrt(Schedule):
    init_value: Number
    timescale: Number
    offset: Number = 0

    def validate(self):
        check_positive(self, "timescale")
        check_non_negative(self, "offset")

    def compute(self, t):
        t, offset = common(t, as_number(self.offset))
        since = as_float(jnp.maximum(t - offset, jnp.zeros((), t.dtype)))
        return as_float(self.init_value) * jax.lax.rsqrt(1.0 + since / as_float(self.timescale))


def inverse_sqrt(init_value: Number, timescale: Number, offset: Number = 0) -> InverseSqrt:
    r"""Inverse square-root decay (Vaswani et al. 2017; transformers' ``inverse_sqrt``).

    .. math:: v(t) = v_0 \sqrt{\tau / (\tau + \max(t - o, 0))}

    It holds `init_value` until step `offset`, then decays like ``1/sqrt(t)``.

    Examples:
      >>> import lrsched
      >>> lrsched.evaluate(lrsched.inverse_sqrt(1.0, timescale=1), [0, 3, 8])
      array([1.        , 0.5       , 0.33333334], dtype=float32)
    """
    return InverseSqrt(init_value, timescale, offset)


@schedule_class("inverse_time")
class InverseTime(Schedule):
    init_value: Number
    rate: Number
    steps: Number = 1

    def validate(self):
        check_non_negative(self, "rate")
        check_positive(self, "steps")

    def compute(self, t):
        k, r = split(t, self.steps)
        x = as_float(k) + as_float(r) / as_float(self.steps)
        return as_float(self.init_value) / (1.0 + as_float(self.rate) * x)


def inverse_time(init_value: Number, rate: Number, steps: Number = 1) -> InverseTime:
    r"""Time-based (inverse time) decay, as in Keras' ``InverseTimeDecay``.

    .. math:: v(t) = v_0 / (1 + r \, t / T)

    Examples:
      >>> import lrsched
      >>> lrsched.evaluate(lrsched.inverse_time(1.0, rate=1.0, steps=2), 5)
      array([1.        , 0.6666667 , 0.5       , 0.4       , 0.33333334], dtype=float32)
    """
    return InverseTime(init_value, rate, steps)


# ---------------------------------------------------------------- piecewise


@schedule_class("piecewise_constant")
class PiecewiseConstant(Schedule):
    boundaries: Any
    values: Any

    def validate(self):
        check_sorted(self, "boundaries")
        b = concrete(self.boundaries)
        if b is not None and b.ndim >= 1:
            check_length(self, "values", b.shape[-1] + 1, "one more than boundaries")

    def compute(self, t):
        i = _count_reached(self.boundaries, t)
        return jnp.take(as_float(self.values), i, axis=-1)


def piecewise_constant(boundaries: Any, values: Any) -> PiecewiseConstant:
    r"""Constant pieces: ``values[i]`` for ``boundaries[i-1] <= t < boundaries[i]``.

    .. math:: v(t) = \text{values}[\#\{b_i \le t\}]

    Unlike optax's ``piecewise_constant_schedule`` these are values, not scales.

    Examples:
      >>> import lrsched
      >>> lrsched.evaluate(lrsched.piecewise_constant([2, 3], [1.0, 0.5, 0.1]), 4)
      array([1. , 1. , 0.5, 0.1], dtype=float32)
    """
    return PiecewiseConstant(boundaries, values)


@schedule_class("piecewise_linear")
class PiecewiseLinear(Schedule):
    boundaries: Any
    values: Any
    kind: str = static_field("linear")

    def validate(self):
        check_sorted(self, "boundaries")
        check(self, "boundaries", lambda a: a.shape[-1] >= 1, "non-empty", "Give at least one point")
        check_choice(self, "kind", ("linear", "cos"))
        b = concrete(self.boundaries)
        if b is not None and b.ndim >= 1:
            check_length(self, "values", b.shape[-1], "the same as boundaries")

    def compute(self, t):
        b, v = as_number(self.boundaries), as_float(self.values)
        n = b.shape[-1]
        if n == 1:
            return jnp.take(v, 0, axis=-1)
        i = jnp.clip(_count_reached(b, t) - 1, 0, n - 2)
        t, b = common(t, b)
        lo, hi = jnp.take(b, i), jnp.take(b, i + 1)
        done, left = phase(t - lo, hi - lo)
        return anneal(self.kind, jnp.take(v, i), jnp.take(v, i + 1), done, left)


def piecewise_linear(boundaries: Any, values: Any, kind: str = "linear") -> PiecewiseLinear:
    r"""Interpolation through the points ``(boundaries[i], values[i])``.

    .. math:: v(t) = v_i + (v_{i+1} - v_i) \frac{t - b_i}{b_{i+1} - b_i},\ b_i \le t \le b_{i+1}

    (``kind="cos"``: half-cosines between the points, as optax's
    ``cosine_onecycle_schedule``). The first value holds before the first point
    and the last after the last. Two equal boundaries make a jump.

    Examples:
      >>> import lrsched
      >>> lrsched.evaluate(lrsched.piecewise_linear([1, 3], [0.0, 1.0]), 5)
      array([0. , 0. , 0.5, 1. , 1. ], dtype=float32)
    """
    return PiecewiseLinear(boundaries, values, kind)


# ------------------------------------------------------------------- cyclical


@schedule_class("cyclic")
class Cyclic(Schedule):
    base_value: Number
    peak_value: Number
    up_steps: Number
    down_steps: Number = None
    mode: str = static_field("triangular")
    gamma: Number = 1.0

    def validate(self):
        check_positive(self, "up_steps", "down_steps", "gamma")
        check_choice(self, "mode", ("triangular", "triangular2", "exp_range"))

    def compute(self, t):
        up = as_number(self.up_steps)
        down = up if self.down_steps is None else as_number(self.down_steps)
        t, up, down = common(t, up, down)
        k, pos = split(t, up + down)
        rising, _ = phase(pos, up)
        falling, _ = phase(up + down - pos, down)
        height = jnp.where(pos <= up, rising, falling)
        if self.mode == "triangular2":
            height = height * 0.5 ** as_float(k)
        elif self.mode == "exp_range":
            height = height * as_float(self.gamma) ** as_float(t)
        base = as_float(self.base_value)
        return base + (as_float(self.peak_value) - base) * height


def cyclic(base_value: Number, peak_value: Number, up_steps: Number, down_steps: Number | None = None,
           mode: str = "triangular", gamma: Number = 1.0) -> Cyclic:
    r"""Cyclical learning rates (Smith, arXiv:1506.01186; torch's ``CyclicLR``).

    With ``c = up + down`` and ``x = t mod c``, the height is ``x / up`` while
    rising and ``(c - x) / down`` while falling, and

    .. math:: v(t) = b + (p - b) \, h(t) \, s(t)

    with ``s = 1`` (``"triangular"``), ``s = 2^{-\lfloor t/c \rfloor}``
    (``"triangular2"``) or ``s = \gamma^t`` (``"exp_range"``). `down_steps`
    defaults to `up_steps`. It cycles forever.

    Examples:
      >>> import lrsched
      >>> lrsched.evaluate(lrsched.cyclic(0.0, 1.0, up_steps=2), 6)
      array([0. , 0.5, 1. , 0.5, 0. , 0.5], dtype=float32)
    """
    return Cyclic(base_value, peak_value, up_steps, down_steps, mode, gamma)


def _two_product(a: jax.Array, b: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``(p, e)`` with ``p = fl(a b)`` and ``p + e = a b`` exactly (Dekker; float32 operands)."""
    p = a * b

    def halves(x):
        c = 4097.0 * x  # 2**12 + 1 splits a 24-bit mantissa
        hi = c - (c - x)
        return hi, x - hi

    a_hi, a_lo = halves(a)
    b_hi, b_lo = halves(b)
    return p, ((a_hi * b_hi - p) + a_hi * b_lo + a_lo * b_hi) + a_lo * b_lo


def _whole_and_rest(x: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``x`` as an integer part and a float remainder in [0, 1)."""
    whole = jnp.floor(x)
    return whole.astype(int_dtype()), x - whole


def _times(pct: jax.Array, total: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``pct * total`` as (integer part, float remainder), exact up to the rounding of
    the small remainder: an integer `total` is split in two float32-exact halves and
    each product keeps its rounding error (Dekker)."""
    if float_dtype() != np.float32 or not jnp.issubdtype(total.dtype, jnp.integer):
        return _whole_and_rest(pct * as_float(total))
    high = total - total % 4096  # at most 19 significant bits: exact in float32
    whole, rest = jnp.zeros((), int_dtype()), jnp.zeros((), pct.dtype)
    for part in (high, total - high):
        product, error = _two_product(pct, as_float(part))
        n, f = _whole_and_rest(product)
        whole, rest = whole + n, rest + f + error
    return whole, rest


def _one_cycle_ends(total_steps: Any, pct_start: Any, three_phase: bool) -> list[tuple[jax.Array, jax.Array]]:
    """torch's phase ends ``pct T - 1`` (``2 pct T - 2``) ``T - 1`` as (integer, remainder) pairs.

    torch rounds ``pct * T`` once in float64. Keeping the integer part exact and
    the remainder apart makes offsets from a phase end exact integers plus a small
    float, so float32 phases stay as precise as torch's even past 2**24 steps.
    """
    total, pct = as_number(total_steps), as_float(pct_start)
    whole, rest = _times(pct, total)
    ends = [(whole - 1, rest)]
    if three_phase:
        ends.append((2 * whole - 2, 2.0 * rest))
    last = (total - 1, jnp.zeros((), pct.dtype)) if jnp.issubdtype(total.dtype, jnp.integer) else \
        (lambda n, f: (n - 1, f))(*_whole_and_rest(total))
    return ends + [last]


def _segments(t: jax.Array, total_steps: Any, ends: list[tuple[jax.Array, jax.Array]], values: list[Any],
              kind: str) -> jax.Array:
    """Anneal through ``values``, segment i running up to ``ends[i]`` (torch's OneCycleLR
    convention: a step equal to an end belongs to that segment); past ``T - 1`` hold.
    Offsets are integer differences plus the ends' float remainders."""
    t = jnp.minimum(*common(t, as_number(total_steps) - 1))
    out, start = None, (jnp.zeros((), int_dtype()), jnp.zeros((), float_dtype()))
    for i, end in enumerate(ends):
        (s_n, s_f), (e_n, e_f) = start, end
        length = as_float(e_n - s_n) + (e_f - s_f)
        since = as_float(jnp.subtract(*common(t, s_n))) - s_f
        until = as_float(jnp.subtract(*common(e_n, t))) + e_f
        valid = length > 0
        safe = jnp.where(valid, length, 1.0)
        done = jnp.where(valid, divide(jnp.clip(since, 0.0, safe), safe), 1.0)
        left = jnp.where(valid, divide(jnp.clip(until, 0.0, safe), safe), 0.0)
        piece = anneal(kind, values[i], values[i + 1], done, left)
        out = piece if out is None else jnp.where(since > 0, piece, out)
        start = end
    return out


@schedule_class("one_cycle")
class OneCycle(Schedule):
    total_steps: Number
    peak_value: Number
    pct_start: Number = 0.3
    div_factor: Number = 25.0
    final_div_factor: Number = 1e4
    anneal: str = static_field("cos")
    three_phase: bool = static_field(False)

    def validate(self):
        check_positive(self, "total_steps", "div_factor", "final_div_factor")
        check(self, "pct_start", lambda a: (a >= 0) & (a <= 1), "in [0, 1]", "Pass a fraction such as 0.3")
        check_choice(self, "anneal", ("cos", "linear"))

    def compute(self, t):
        initial = as_float(self.peak_value) / as_float(self.div_factor)
        low = initial / as_float(self.final_div_factor)
        values = [initial, self.peak_value] + ([initial] if self.three_phase else []) + [low]
        ends = _one_cycle_ends(self.total_steps, self.pct_start, self.three_phase)
        return _segments(t, self.total_steps, ends, values, self.anneal)


def one_cycle(total_steps: Number, peak_value: Number, pct_start: Number = 0.3, div_factor: Number = 25.0,
              final_div_factor: Number = 1e4, anneal: str = "cos", three_phase: bool = False) -> OneCycle:
    r"""The 1cycle policy (Smith & Topin, arXiv:1708.07120) exactly as torch's ``OneCycleLR``.

    From ``peak / div_factor`` up to `peak_value` until step ``pct_start*T - 1``,
    then down to ``peak / (div_factor * final_div_factor)`` at step ``T - 1``
    (``three_phase``: back to the initial value at ``2*pct_start*T - 2`` first).
    Each phase anneals by cosine, ``e + (s - e)(1 + cos(\pi p))/2``, or linearly.
    Past ``T - 1`` it holds the final value (torch raises).

    Examples:
      >>> import lrsched
      >>> lrsched.evaluate(lrsched.one_cycle(5, peak_value=1.0, pct_start=0.4, anneal="linear"), 5).round(4)
      array([0.04  , 1.    , 0.6667, 0.3333, 0.    ], dtype=float32)
    """
    return OneCycle(total_steps, peak_value, pct_start, div_factor, final_div_factor, anneal, three_phase)


@schedule_class("one_cycle_momentum")
class OneCycleMomentum(Schedule):
    total_steps: Number
    base_value: Number = 0.85
    peak_value: Number = 0.95
    pct_start: Number = 0.3
    anneal: str = static_field("cos")
    three_phase: bool = static_field(False)

    def validate(self):
        check_positive(self, "total_steps")
        check(self, "pct_start", lambda a: (a >= 0) & (a <= 1), "in [0, 1]", "Pass a fraction such as 0.3")
        check_choice(self, "anneal", ("cos", "linear"))

    def compute(self, t):
        hi, lo = self.peak_value, self.base_value
        values = [hi, lo, hi] + ([hi] if self.three_phase else [])
        ends = _one_cycle_ends(self.total_steps, self.pct_start, self.three_phase)
        return _segments(t, self.total_steps, ends, values, self.anneal)


def one_cycle_momentum(total_steps: Number, base_value: Number = 0.85, peak_value: Number = 0.95,
                       pct_start: Number = 0.3, anneal: str = "cos", three_phase: bool = False) -> OneCycleMomentum:
    r"""The momentum of the 1cycle policy (torch's ``OneCycleLR`` with ``cycle_momentum``).

    Moves inversely to :func:`one_cycle`: `peak_value` down to `base_value` while
    the rate rises, back up while it falls (``three_phase``: held at the peak in
    the last phase). Same phase ends as :func:`one_cycle`.

    Examples:
      >>> import lrsched
      >>> lrsched.evaluate(lrsched.one_cycle_momentum(5, pct_start=0.4, anneal="linear"), 5).round(4)
      array([0.95  , 0.85  , 0.8833, 0.9167, 0.95  ], dtype=float32)
    """
    return OneCycleMomentum(total_steps, base_value, peak_value, pct_start, anneal, three_phase)


# ------------------------------------------------------ warmup-shaped schedules


@schedule_class("warmup_cosine")
class WarmupCosine(Schedule):
    peak_value: Number
    warmup_steps: Number
    total_steps: Number
    init_value: Number = 0.0
    end_value: Number = 0.0
    exponent: Number = None

    def validate(self):
        check_non_negative(self, "warmup_steps")
        check_positive(self, "total_steps", "exponent")
        w, n = concrete(self.warmup_steps), concrete(self.total_steps)
        if w is not None and n is not None and not (n >= w).all():
            fail(self, "total_steps", f"at least warmup_steps ({w.tolist()}), since it includes the warmup",
                 "Pass the length of the whole schedule")

    def compute(self, t):
        t, w = common(t, as_number(self.warmup_steps))
        up = lerp(self.init_value, self.peak_value, *phase(t, w))
        done, left = phase(t - w, as_number(self.total_steps) - w)
        end = as_float(self.end_value)
        shape = cos_anneal(done, left)
        if self.exponent is not None:
            shape = power(shape, self.exponent)
        down = end + (as_float(self.peak_value) - end) * shape
        return jnp.where(t < w, up, down)


def warmup_cosine(peak_value: Number, warmup_steps: Number, total_steps: Number, init_value: Number = 0.0,
                  end_value: Number = 0.0, exponent: Number | None = None) -> WarmupCosine:
    r"""Linear warmup then cosine decay (optax's ``warmup_cosine_decay_schedule``).

    Linear from `init_value` to `peak_value` over `warmup_steps`, then cosine
    from `peak_value` to `end_value` over ``total_steps - warmup_steps``
    (`total_steps` includes the warmup, as in optax), raised to `exponent`
    when one is given (as :func:`cosine`).

    Examples:
      >>> import lrsched
      >>> lrsched.evaluate(lrsched.warmup_cosine(1.0, warmup_steps=2, total_steps=4), 5).round(4)
      array([0. , 0.5, 1. , 0.5, 0. ], dtype=float32)
    """
    return WarmupCosine(peak_value, warmup_steps, total_steps, init_value, end_value, exponent)


@schedule_class("wsd")
class WSD(Schedule):
    peak_value: Number
    total_steps: Number
    warmup_steps: Number
    decay_steps: Number
    init_value: Number = 0.0
    end_value: Number = 0.0
    decay: str = static_field("linear")

    def validate(self):
        check_positive(self, "total_steps")
        check_non_negative(self, "warmup_steps", "decay_steps")
        check_choice(self, "decay", ("linear", "cosine", "sqrt"))
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
            down = end + (peak - end) * cos_anneal(done, left)
        else:
            started = done > 0  # sqrt's derivative is infinite at 0: keep it out of the gradient
            root = jnp.sqrt(jnp.where(started, done, 1.0))
            down = end + (peak - end) * jnp.where(started, 1.0 - root, 1.0)
        return jnp.where(t < w, up, jnp.where(t < n - d, peak, down))


def wsd(peak_value: Number, total_steps: Number, warmup_steps: Number, decay_steps: Number,
        init_value: Number = 0.0, end_value: Number = 0.0, decay: str = "linear") -> WSD:
    r"""Warmup-stable-decay (Hu et al., MiniCPM, arXiv:2404.06395).

    Linear warmup from `init_value` to `peak_value` over `warmup_steps`, hold
    the peak, then decay to `end_value` over the last `decay_steps` of
    `total_steps` with the shape ``d(p)`` of `decay`: ``"linear"`` (``1 - p``),
    ``"cosine"`` (``(1 + cos(pi p))/2``) or ``"sqrt"`` (``1 - sqrt(p)``):

    .. math:: v(t) = v_1 + (v_{peak} - v_1)\, d(p)

    Examples:
      >>> import lrsched
      >>> lrsched.evaluate(lrsched.wsd(1.0, total_steps=6, warmup_steps=2, decay_steps=2), 7)
      array([0. , 0.5, 1. , 1. , 1. , 0.5, 0. ], dtype=float32)
    """
    return WSD(peak_value, total_steps, warmup_steps, decay_steps, init_value, end_value, decay)


@schedule_class("tanh")
class Tanh(Schedule):
    init_value: Number
    steps: Number
    end_value: Number = 0.0
    lower: Number = -7.0
    upper: Number = 3.0

    def validate(self):
        check_positive(self, "steps")

    def compute(self, t):
        done, left = phase(t, self.steps)
        x = lerp(self.lower, self.upper, done, left)
        end = as_float(self.end_value)
        return end + (as_float(self.init_value) - end) * 0.5 * (1.0 - jnp.tanh(x))


def tanh(init_value: Number, steps: Number, end_value: Number = 0.0, lower: Number = -7.0,
         upper: Number = 3.0) -> Tanh:
    r"""Hyperbolic-tangent decay (Hsueh et al. 2019, arXiv:1909.08868; timm's ``TanhLRScheduler``).

    .. math:: v(t) = v_1 + \tfrac12 (v_0 - v_1)\,(1 - \tanh(L (1 - p) + U p)),\ p = \min(t, T)/T

    with ``L = lower = -7`` and ``U = upper = 3`` (timm's bounds). As in timm it
    starts within 1e-6 of `init_value` and ends at ``v1 + 0.0025 (v0 - v1)``.

    Examples:
      >>> import lrsched
      >>> lrsched.evaluate(lrsched.tanh(1.0, steps=2), 3).round(4)
      array([1.    , 0.982 , 0.0025], dtype=float32)
    """
    return Tanh(init_value, steps, end_value, lower, upper)


@schedule_class("noise")
class Noise(Schedule):
    schedule: Schedule
    pct: Number
    seed: Number = 0
    kind: str = static_field("normal")
    start: Number = 0
    end: Number = None

    def validate(self):
        check(self, "pct", lambda a: (a >= 0) & (a < 1), "in [0, 1)", "Pass a fraction such as 0.67")
        check_choice(self, "kind", ("normal", "uniform"))
        check_non_negative(self, "start")

    def _draw(self, t: jax.Array) -> jax.Array:
        step = jnp.floor(t).astype(int_dtype()) if jnp.issubdtype(t.dtype, jnp.floating) else t
        pct = as_float(self.pct)
        key = jax.random.key(jnp.asarray(self.seed, jnp.uint32))
        if step.dtype.itemsize > 4:  # both 32-bit halves: no repeat every 2**32 steps
            low, high = (step & 0xFFFFFFFF).astype(jnp.uint32), (step >> 32).astype(jnp.uint32)
        else:
            low, high = step.astype(jnp.uint32), jnp.zeros((), jnp.uint32)
        key = jax.random.fold_in(jax.random.fold_in(key, low), high)
        if self.kind == "uniform":
            return jax.random.uniform(key, (), pct.dtype, -pct, pct)
        safe = jnp.where(pct > 0, pct, 1.0)
        return jnp.where(pct > 0, jax.random.truncated_normal(key, -safe, safe, (), pct.dtype), 0.0)

    def compute(self, t):
        flat = t.reshape(-1)
        draws = jax.vmap(self._draw)(flat).reshape(t.shape)
        inside = t >= as_number(self.start)
        if self.end is not None:
            inside = inside & (t < as_number(self.end))
        return self.schedule(t) * jnp.where(inside, 1.0 + draws, 1.0)


def noise(schedule: Schedule, pct: Number, seed: Number = 0, kind: str = "normal", start: Number = 0,
          end: Number | None = None) -> Noise:
    r"""Reproducible multiplicative noise (timm's ``noise_pct``), keyed by step and seed.

    .. math:: v(t) = s(t)\,(1 + n_t)

    for ``start <= t < end``, with ``n_t`` drawn from ``fold_in(key(seed), t)``:
    a standard normal truncated to ``(-pct, pct)`` (``kind="normal"``, the
    distribution timm's resampling loop gives) or uniform in ``(-pct, pct)``.
    The same step always gets the same noise; the draws are JAX's, not torch's.

    Examples:
      >>> import lrsched
      >>> s = lrsched.noise(lrsched.constant(1.0), pct=0.1, seed=3)
      >>> bool(abs(lrsched.evaluate(s, 100) - 1.0).max() < 0.1)
      True
    """
    return Noise(schedule, pct, seed, kind, start, end)
