"""Numerics: the dtype and step policy, phases, and the exact or precise building blocks.

Everything a schedule computes goes through these helpers, so the precision
rules live in one place:

- integers first: offsets and positions within a period are integer
  arithmetic (:func:`split`, :func:`phase`, :func:`cycle_index`), and only a
  phase in [0, 1] becomes floating point;
- each formula is written so that the side that matters is exact
  (:func:`phase` returns ``done`` and ``left``, :func:`cos_anneal` uses
  ``sin(pi left / 2)**2`` instead of ``(1 + cos(pi done)) / 2``);
- exponentials of large arguments keep their precision (:func:`rate_power`:
  a double-float exponent, ~1e-7 in float32 where ``exp(t log r)`` is ~2e-6 at
  ``e**-40``).

This module imports only jax and numpy: it is the bottom layer.
"""

from __future__ import annotations

import fractions
import itertools
from functools import partial
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "INT32_MAX", "ScheduleError", "float_dtype", "int_dtype", "as_float", "as_number", "check_step_range", "as_step",
    "step_array", "clamp_step", "common", "divide", "phase", "Case", "Known", "known_cases", "power", "unit_power",
    "split", "cos_anneal", "cos_weights", "lerp", "anneal", "k_decay_phase", "two_product", "two_sum", "whole_and_rest",
    "product_parts", "rate_power", "computed_once", "POWER_TABLE", "int_power", "power_pair", "scaled_remainder",
    "ratio_phase", "exact_parts", "LINEAR_LOOKUP", "count_reached", "pick", "cycle_start", "cycle_index",
    "cycle_starts", "latest_start", "power_of_two",
]

INT32_MAX = 2**31 - 1


class ScheduleError(ValueError):
    """A schedule was built (or called) with a bad argument; the message says what, why and how to fix it.

    Errors about one argument carry it: ``where`` (the schedule or function),
    ``field`` (the argument's name) and ``value``; they are None otherwise.
    """

    def __init__(self, message: str, *, where: str | None = None, field: str | None = None,
                 value: Any = None) -> None:
        super().__init__(message)
        self.where, self.field, self.value = where, field, value
        self.expected: str | None = None  # for a value of the wrong kind: the kind's name ("numbers", ...)


# --------------------------------------------------------------------- dtypes


def float_dtype() -> np.dtype:
    """float32, or float64 when ``jax_enable_x64`` is on."""
    return jnp.dtype(jax.dtypes.canonicalize_dtype(np.float64))


def int_dtype() -> np.dtype:
    """int32, or int64 when ``jax_enable_x64`` is on."""
    return jnp.dtype(jax.dtypes.canonicalize_dtype(np.int64))


def as_float(x: Any) -> jax.Array:
    """A leaf as an array of the default float dtype (never bf16)."""
    return jnp.asarray(x, dtype=float_dtype())


def as_number(x: Any) -> jax.Array:
    """A step-like leaf: integers stay integers (exact offsets), the rest is float."""
    x = jnp.asarray(x)
    if jnp.issubdtype(x.dtype, jnp.integer) or x.dtype == jnp.bool_:
        return x.astype(int_dtype())
    return x.astype(float_dtype())


def _step_error(what: str, fix: str) -> ScheduleError:
    return ScheduleError(f"step {what}. {fix}")


def check_step_range(step: Any) -> None:
    """Steps that cannot be a step count refuse: bools, complex numbers, strings and other
    non-numbers (the dtype is checked on traced steps too), and concrete integers, signed
    or unsigned, beyond the step integer (int32 unless ``jax_enable_x64``), which would
    wrap around silently (``uint32(3e9)`` would become a negative step, so step 0)."""
    if isinstance(step, (bool, np.bool_)):
        raise _step_error(f"{step!r} is a bool", "Pass an int (or float) step count, e.g. int(step)")
    if isinstance(step, jax.Array):  # traced or concrete: the dtype is known without the values
        _check_step_dtype(step, step.dtype)
        big_unsigned = jnp.issubdtype(step.dtype, jnp.unsignedinteger) and step.dtype.itemsize >= int_dtype().itemsize
        if isinstance(step, jax.core.Tracer) or not big_unsigned:
            return  # a concrete signed jax integer array is already in the step integer's range
        a = np.asarray(step)
    elif isinstance(step, (int, float, np.number, np.ndarray, list, tuple)):
        if isinstance(step, int) and abs(step) > int(np.iinfo(int_dtype()).max):  # (before numpy sees it: an
            _range_error(step)                                                    # object array past int64)
        try:
            a = np.asarray(step)
        except (TypeError, ValueError):
            raise _step_error(f"{_short(step)} is not an array of numbers", "Pass an int, a float or an array "
                              "of them with one shape (not a ragged list)") from None
        _check_step_dtype(step, a.dtype)
        if a.dtype.kind == "f" and a.size and not np.isfinite(a).all():  # (NaN: no step; inf: no value)
            raise _step_error(f"{_short(step)} is not finite", "Pass finite steps (a schedule holds its final "
                              "value past its end: any large finite step gives it)")
    else:
        raise _step_error(f"{_short(step)} is a {type(step).__name__}, not a number",
                          "Pass an int or float step, or an array of them")
    if a.dtype.kind in "iu" and a.size:
        top = int(np.iinfo(int_dtype()).max)
        low, high = int(a.min()), int(a.max())
        if high > top or low < -top:
            _range_error(high if high > top else low)


def _range_error(worst: int) -> None:
    fits = np.dtype(int_dtype()).name
    fix = ("Enable 64-bit steps with jax.config.update('jax_enable_x64', True)" if fits == "int32"
           else "Pass it as a float")
    raise _step_error(f"{worst} does not fit in {fits} (it would wrap around)", fix)


def _check_step_dtype(step: Any, dtype: Any) -> None:
    if not (jnp.issubdtype(dtype, jnp.integer) or jnp.issubdtype(dtype, jnp.floating)):
        raise _step_error(f"{_short(step)} has dtype {dtype}: steps are integers or floats",
                          "Pass int or float steps (a bool or complex step is not a step count)")


def _short(x: Any) -> str:
    text = repr(x)
    return text if len(text) <= 60 else text[:57] + "..."


def as_step(step: Any) -> jax.Array:
    """The step policy: integer steps stay integers, negatives count as step 0.

    Concrete steps are checked (:func:`check_step_range`); a traced unsigned step
    beyond the signed step integer saturates at its maximum instead of wrapping
    around to a negative step (its values cannot be checked while tracing).
    """
    return clamp_step(step_array(step))


def step_array(step: Any) -> jax.Array:
    """:func:`as_step` before the clamp at 0: checked, in the step dtype (may be negative)."""
    check_step_range(step)
    t = jnp.asarray(step)
    if jnp.issubdtype(t.dtype, jnp.unsignedinteger) and t.dtype.itemsize >= int_dtype().itemsize:
        t = jnp.minimum(t, jnp.asarray(np.iinfo(int_dtype()).max, t.dtype))
    return as_number(t)


def clamp_step(t: jax.Array) -> jax.Array:
    """Negative steps count as step 0 (the last part of :func:`as_step`)."""
    return jnp.maximum(t, jnp.zeros((), t.dtype))


def common(*xs: jax.Array) -> tuple[jax.Array, ...]:
    """Promote step-like arrays to one dtype: integer if all are, else float."""
    if all(jnp.issubdtype(x.dtype, jnp.integer) for x in xs):
        return tuple(x.astype(int_dtype()) for x in xs)
    return tuple(x.astype(float_dtype()) for x in xs)


# ------------------------------------------------------------------- phases


def divide(a: Any, b: Any) -> jax.Array:
    """``a / b`` correctly rounded, in the default float dtype.

    XLA on CPU turns a division by a broadcast scalar into a multiplication by
    its reciprocal (one ulp off at about half of all steps); the barrier keeps
    the true division, so phases and boundary tests match float64 references.
    """
    a, b = jnp.broadcast_arrays(as_float(a), as_float(b))
    return a / jax.lax.optimization_barrier(b)


def phase(offset: Any, length: Any) -> tuple[jax.Array, jax.Array]:
    """Progress through a stretch of `length` steps, as ``(done, left)`` in [0, 1].

    ``done = clip(offset, 0, length) / length`` and ``left = 1 - done``, each
    computed from an exact integer numerator when the inputs are integers (then
    scaled by one reciprocal: within an ulp), so a formula can use whichever side
    avoids cancellation (``left`` stays exact near the end of a decay even past
    2**24 steps). A zero (or negative) length counts as already finished.
    """
    offset, length = common(as_number(offset), as_number(length))
    zero = jnp.zeros((), length.dtype)
    length = jnp.maximum(length, zero)
    done = jnp.clip(offset, zero, length)
    left = length - done
    empty = length <= 0  # then done == left == 0 and `finished` supplies the 1
    # (the barrier: XLA would merge the reciprocal with a schedule's constant factor, ``a * (n * r)`` into
    # ``(a * r) * n``, under jit with the numbers closed over: 1-2 ulp off at the ends, where n * r is exactly 1)
    scale = jax.lax.optimization_barrier(1.0 / as_float(jnp.where(empty, jnp.ones((), length.dtype), length)))
    finished = jnp.where(empty, 1.0, 0.0).astype(float_dtype())
    return as_float(done) * scale + finished, as_float(left) * scale


def split(offset: Any, period: Any, non_negative: bool = False) -> tuple[jax.Array, jax.Array]:
    """``(k, r)`` with ``offset = k * period + r`` and ``0 <= r < period``.

    Integer division when both are integers, so the position within a period is
    exact for every int32 step. A period that is not positive counts as 1.
    ``non_negative=True`` promises ``offset >= 0`` (a step inside ``compute``, which
    :func:`as_step` has clamped): the division then needs no unsigned shift (whose
    unsigned conversions AVX2 lacks: about half the time).
    """
    offset, period = common(as_number(offset), as_number(period))
    one = jnp.ones((), period.dtype)
    period = jnp.where(period > 0, period, one)
    if jnp.issubdtype(offset.dtype, jnp.integer):
        if non_negative:
            return _floor_divmod_non_negative(offset, period)
        return _floor_divmod(offset, period)
    k = jnp.floor(offset / period)
    return k, offset - k * period


def split_sum(offset: Any, first: Any, second: Any) -> tuple[jax.Array, jax.Array]:
    """``split(offset, first + second)`` for ``offset >= 0`` and a period that is the sum of two non-negative
    step counts, which may pass the step integer's top (a cyclic rate with two 2**30-step halves, a periodic
    cosine over 2**30 steps, in int32): such a period is longer than every step, so ``(0, offset)``; the sum
    would wrap to a negative period."""
    offset, first, second = common(as_number(offset), as_number(first), as_number(second))
    if not jnp.issubdtype(offset.dtype, jnp.integer):
        return split(offset, first + second, non_negative=True)
    fits = first <= jnp.iinfo(offset.dtype).max - second
    k, r = split(offset, jnp.where(fits, first + second, jnp.ones((), first.dtype)), non_negative=True)
    return jnp.where(fits, k, jnp.zeros((), k.dtype)), jnp.where(fits, r, offset)


def shifted(t: Any, steps: Any) -> jax.Array:
    """``t - steps`` on the step integer, held at its top where a negative shift would pass it (and wrap to a
    negative step: the value at step 0 where the end is due)."""
    t, steps = common(as_number(t), as_number(steps))
    if not jnp.issubdtype(t.dtype, jnp.integer):
        return t - steps
    top = jnp.iinfo(t.dtype).max
    return jnp.where((steps < 0) & (t > top + steps), top, t - steps)


def _floor_divmod(offset: jax.Array, period: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Floor division and modulo of integers by positive periods, exact for every value of
    the integer type, without an integer division (XLA CPU does not vectorise it: 2.5-4.5
    ms per 10^6 steps, against ~1 ms here).

    The offset is moved to ``u = offset + 2**(bits-1)`` (unsigned, so non-negative). A
    float estimate of ``u / period``, made low by a relative ``2**-21`` (``2**-50`` in
    float64) so that it never exceeds the true quotient, leaves a non-negative remainder
    that fits the unsigned type; a second estimate from that remainder leaves it in
    ``[0, 2 period)``, and one comparison finishes. The shift is then taken off again
    with its own quotient and remainder (scalars when `period` is one).
    """
    bits = 8 * offset.dtype.itemsize
    unsigned = jnp.dtype(f"uint{bits}")
    fdt, eps = (jnp.float32, 2.0**-21) if bits <= 32 else (jnp.float64, 2.0**-50)
    shift = unsigned.type(1 << (bits - 1))
    u = jax.lax.bitcast_convert_type(offset, unsigned) ^ shift  # offset + 2**(bits-1), in [0, 2**bits)
    p = period.astype(unsigned)
    inv = jnp.asarray(1.0 - eps, fdt) / p.astype(fdt)  # a little low: no estimate exceeds the quotient
    q = jnp.floor(u.astype(fdt) * inv).astype(unsigned)
    q = q + jnp.floor((u - q * p).astype(fdt) * inv).astype(unsigned)
    r = u - q * p  # in [0, 2 p)
    over = r >= p
    q, r = jnp.where(over, q + 1, q), jnp.where(over, r - p, r)
    c, d = shift // p, shift % p  # the shift is c p + d
    under = r < d
    q = jnp.where(under, q - c - 1, q - c)  # wraps around to the signed quotient's bits
    r = jnp.where(under, r + (p - d), r - d)
    return jax.lax.bitcast_convert_type(q, offset.dtype), r.astype(offset.dtype)


def _floor_divmod_non_negative(offset: jax.Array, period: jax.Array) -> tuple[jax.Array, jax.Array]:
    """:func:`_floor_divmod` for ``offset >= 0``: the same two low float estimates and one
    comparison, in the signed type (no estimate exceeds the quotient, so no remainder is
    negative and no product overflows)."""
    bits = 8 * offset.dtype.itemsize
    fdt, eps = (jnp.float32, 2.0**-21) if bits <= 32 else (jnp.float64, 2.0**-50)
    inv = jnp.asarray(1.0 - eps, fdt) / period.astype(fdt)  # a little low: no estimate exceeds the quotient
    q = jnp.floor(offset.astype(fdt) * inv).astype(offset.dtype)
    q = q + jnp.floor((offset - q * period).astype(fdt) * inv).astype(offset.dtype)
    r = offset - q * period  # in [0, 2 period)
    over = r >= period
    return jnp.where(over, q + 1, q), jnp.where(over, r - period, r)


class Case(NamedTuple):
    """A leaf whose special ``values`` get code of their own (:func:`known_cases`): the exponents 1
    and 2 of a power, a cycle's ``period_mul`` of 1 or 2, a decay of 1. ``low``: a precise leaf's
    remainder (a value is known only where the remainder is 0 too). A None leaf stays None."""

    leaf: Any
    values: tuple[float, ...] = (1.0, 2.0)
    low: Any = None


class Known(NamedTuple):
    """A :class:`Case`'s leaf (as a float) inside one branch of :func:`known_cases`: ``value`` is one
    of the case's values when the leaf equals it there, None in the general branch."""

    leaf: jax.Array
    value: float | None


def known_cases(body: Callable[..., jax.Array], *cases: Case) -> jax.Array:
    """``body(*known)``: each case's leaf passed as a :class:`Known` whose special values are known
    statically in the branch that runs, without making the leaf static (None stays None).

    Scalar leaves pick their branch at run time (``lax.switch``): only that branch is computed, and
    it fuses with the rest of the body into one loop (a squared polynomial: 0.4 ms per 10^6 steps,
    where a switch inside the formula costs 1.8 ms and a ``where`` over the general power 6 ms).
    Batched leaves compute every branch and select per element, as ``vmap`` of the switch does.
    Concrete leaves (a schedule closed over, or called outside ``jit``) pick their branch while
    tracing: the program holds that branch only.
    :class:`lrsched.Schedule` calls it around ``compute`` with the schedule's ``cases()``.
    """
    given = [i for i, c in enumerate(cases) if c.leaf is not None]
    if not given:
        return body(*(None for _ in cases))
    options = [cases[i].values + (None,) for i in given]
    combos = list(itertools.product(*options))
    chosen = _concrete_combo([cases[i] for i in given], options)
    leaves = [as_float(cases[i].leaf) for i in given]

    def branch(combo: tuple[float | None, ...]) -> jax.Array:
        known: list[Known | None] = [None] * len(cases)
        for i, leaf, value in zip(given, leaves, combo):
            known[i] = Known(leaf, value)
        return body(*known)

    if chosen is not None:
        return branch(chosen)
    index = jnp.zeros((), jnp.int32)  # the combination's index in product's order (the first varies slowest)
    for i, leaf, values in zip(given, leaves, options):
        index = index * len(values) + _choice(leaf, cases[i], jnp)
    if index.ndim == 0:
        return jax.lax.switch(index, [lambda c=c: branch(c) for c in combos])
    outs = [branch(c) for c in combos]
    shape = jnp.broadcast_shapes(index.shape, *(o.shape for o in outs))
    return jax.lax.select_n(jnp.broadcast_to(index, shape), *(jnp.broadcast_to(o, shape) for o in outs))


def _concrete_combo(cases: list[Case], options: list[tuple[float | None, ...]]
                    ) -> tuple[float | None, ...] | None:
    """The combination :func:`known_cases` runs when every leaf (and ``low``) is a concrete scalar: a
    schedule closed over by a jitted function (``optax.adam(schedule)``) or called outside ``jit``. Picked
    here, so the program holds that branch only (no switch to compile for the others); the same values
    as the switch's branch. None when some leaf is traced or batched."""
    combo: list[float | None] = []
    for case, values in zip(cases, options):
        parts = [case.leaf] if case.low is None else [case.leaf, case.low]
        if any(isinstance(x, jax.core.Tracer) for x in parts):
            return None
        leaf = np.asarray(case.leaf, dtype=float_dtype())
        if leaf.ndim:
            return None
        combo.append(values[int(_choice(leaf, case, np))])
    return tuple(combo)


def _choice(leaf: Any, case: Case, xp: Any) -> Any:
    """Which of ``case.values + (None,)`` the leaf (as a float) is: the first value it equals where its
    ``low`` part is 0, else the last (None: general); `xp` is ``jnp`` (traced, maybe batched) or ``np``."""
    exact = True if case.low is None else (xp.asarray(case.low, dtype=float_dtype()) == 0)
    which = xp.full(xp.shape(leaf), len(case.values), np.int32)
    for j in reversed(range(len(case.values))):
        which = xp.where((leaf == case.values[j]) & exact, j, which)
    return which


def _known(exponent: Any) -> Known:
    """An exponent as :func:`known_cases` gives it (a raw leaf: the general case)."""
    return exponent if isinstance(exponent, Known) else Known(as_float(exponent), None)


def _broadcast(x: jax.Array, e: jax.Array) -> tuple[jax.Array, jax.Array]:
    return tuple(jnp.broadcast_arrays(x, e)) if e.ndim else (x, e)  # type: ignore[return-value]


def _general_power(x: jax.Array, e: jax.Array) -> jax.Array:
    return x**e


@partial(jax.custom_jvp, nondiff_argnums=(2,))
def _fixed_power(x: jax.Array, e: jax.Array, value: float) -> jax.Array:
    return x if value == 1.0 else x * x


@_fixed_power.defjvp
def _fixed_power_jvp(value, primals, tangents):
    return _fixed_power(*primals, value), _power_tangent(primals, tangents)


def _power_tangent(primals, tangents):
    x, _ = primals
    positive = x > 0  # at x == 0 (a held end value) the value is constant: no inf * 0 = NaN
    safe = jnp.where(positive, x, jnp.ones_like(x))
    _, tangent = jax.jvp(_general_power, (safe, primals[1]), tangents)  # the derivative of the plain power
    return jnp.where(positive, tangent, jnp.zeros_like(tangent))


@jax.custom_jvp
def _plain_power(x: jax.Array, e: jax.Array) -> jax.Array:
    return x**e


@_plain_power.defjvp
def _plain_power_jvp(primals, tangents):
    return _plain_power(*primals), _power_tangent(primals, tangents)


@jax.custom_jvp
def unit_power(base: jax.Array, k: jax.Array) -> jax.Array:
    """``base ** k`` where :func:`known_cases` knows ``base == 1``: ones (nothing computed per step: a
    multiply by it folds away), with the power's derivative there, ``k`` (a decay of 1 stays
    differentiable)."""
    return jnp.ones(jnp.broadcast_shapes(jnp.shape(base), jnp.shape(k)), as_float(base).dtype)


@unit_power.defjvp
def _unit_power_jvp(primals, tangents):
    base, k = primals
    return unit_power(base, k), as_float(k) * tangents[0]


def power(x: jax.Array, exponent: Any) -> jax.Array:
    """``x ** exponent``: ``x`` itself and ``x * x`` (correctly rounded) where :func:`known_cases`
    knows the exponent is 1 or 2, the general power otherwise; the derivative (also with
    respect to the exponent) is always that of ``x ** e``, and 0 at ``x == 0``."""
    e = _known(exponent)
    x, leaf = _broadcast(x, e.leaf)
    return _plain_power(x, leaf) if e.value is None else _fixed_power(x, leaf, e.value)


def cos_anneal(done: jax.Array | None, left: jax.Array) -> jax.Array:
    """``(1 + cos(pi * done)) / 2``, computed as ``sin(pi * left / 2) ** 2``.

    The two are equal because ``done + left = 1``; the sine form is accurate to
    the last bit near both ends (``left`` is exact near the end of a decay) and
    needs one transcendental. ``cos_anneal(left, done)`` is the complementary
    weight ``(1 - cos(pi * done)) / 2``, as accurate. `left` is in [0, 1].

    In float32 the sine is :func:`_half_pi_sine_squared` (XLA CPU calls the C
    library's scalar ``sinf`` for every element: a cosine schedule cost 7x its
    polynomial); float64 keeps ``jnp.sin``.
    """
    del done
    left = as_float(left)
    if left.dtype == jnp.float32:
        return _half_pi_sine_squared(left)
    return jnp.sin(0.5 * jnp.pi * left) ** 2


#: ``sin(pi u / 2) = u (c1 + c3 u^2 + c5 u^4 + c7 u^6)`` on ``0 <= u <= 1/2``: the minimax polynomial of the
#: relative error (3.2e-9, a twentieth of float32's half ulp), coefficients rounded to float32; ``c1`` is
#: ``pi / 2`` in two floats (its low part keeps ``u c1`` within half an ulp). ``scripts/sine_polynomial.py``
#: fits them and measures the result against float64 on every float32 in [0, 1].
_SINE_HI = 1.5707963705062866
_SINE_LO = -4.371138828673793e-08
_SINE_ODD = (-0.6459634900093079, 0.07968003302812576, -0.004601660650223494)


def _half_pi_sine_squared(x: jax.Array) -> jax.Array:
    """``sin(pi x / 2) ** 2`` for float32 ``x``, in a few vectorised multiplies and adds.

    ``x`` is first brought into [0, 1] exactly (the function is even, has period 2 and is symmetric
    about 1: a one-cycle's extrapolated phase passes 1). Below 1/2 the square of the polynomial sine (within
    0.72 ulp); above, ``1 - sin(pi (1 - x) / 2)**2`` (``1 - x`` is exact there). Over every float32 x
    in [2**-60, 1] the result is within 2.52 ulp (``jnp.sin(pi x / 2)**2``, whose argument is rounded
    first: 4.36), 0.55 ulp on average (0.81), and more than 1 ulp off for 14% of them (34%):
    ``scripts/sine_polynomial.py``.
    """
    f = x.dtype.type
    x = jnp.abs(x)  # an even function
    y = x - f(2.0) * jnp.floor(x * f(0.5))  # x mod 2, exact: in [0, 2)
    # (jnp.where, not jnp.minimum: at a tie the minimum's derivative would be half of each side's, 0 here)
    z = jnp.where(y > f(1.0), f(2.0) - y, y)  # in [0, 1]; 2 - y is exact there
    flip = z > f(0.5)
    u = jnp.where(flip, f(1.0) - z, z)  # in [0, 1/2]; 1 - z is exact there
    s = u * u
    p = (f(_SINE_ODD[2]) * s + f(_SINE_ODD[1])) * s + f(_SINE_ODD[0])
    sine = u * f(_SINE_HI) + u * (f(_SINE_LO) + s * p)
    small = sine * sine
    return jnp.where(flip, f(1.0) - small, small)


def lerp(start: Any, end: Any, done: jax.Array, left: jax.Array) -> jax.Array:
    """``start`` at ``done = 0`` to ``end`` at ``done = 1``, exact at both ends."""
    return as_float(start) * left + as_float(end) * done


def cos_weights(done: jax.Array, left: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Both cosine weights, ``(cos_anneal(done, left), cos_anneal(left, done))``, with one sine.

    The smaller weight comes from the smaller of ``done`` and ``left`` (exact near
    that end), the larger is one minus it (at least 1/2, so within an ulp): no
    cancellation at either end, and half the transcendentals of two
    :func:`cos_anneal` calls."""
    near_end = left <= done
    small = cos_anneal(None, jnp.where(near_end, left, done))
    big = 1.0 - small
    return jnp.where(near_end, small, big), jnp.where(near_end, big, small)


def anneal(kind: str, start: Any, end: Any, done: jax.Array, left: jax.Array) -> jax.Array:
    """Move from `start` to `end` as `done` goes 0 -> 1: "linear" or "cos".

    The cosine is a weighted sum ``start w + end (1 - w)`` of non-negative terms
    (no cancellation, rising or falling): the smaller weight is computed directly
    from the smaller of ``done`` and ``left`` (one sine), the larger as one minus
    it (at least 1/2, so within an ulp)."""
    if kind == "linear":
        return lerp(start, end, done, left)
    w, rest = cos_weights(done, left)
    return as_float(start) * w + as_float(end) * rest


def power_pair(weight: jax.Array, rest: jax.Array, exponent: Any) -> tuple[jax.Array, jax.Array]:
    """``(w**e, 1 - w**e)`` from a weight ``w`` and its complement ``rest = 1 - w``, both accurate.

    ``1 - w**e`` computed as written cancels where ``w**e`` is near 1 (the start of
    a rising polynomial or a powered cosine); here it is ``-expm1(e log w)``, with
    ``log w = log1p(-rest)`` where ``w > 1/2``: accurate to the last bits at both
    ends, so ``a w**e + b (1 - w**e)`` has no cancellation whichever of ``a``, ``b``
    is larger. Where :func:`known_cases` knows ``e``: ``(w, rest)`` at 1 and
    ``(w * w, rest (1 + w))`` (1.5 ulp) at 2, no logarithm. Finite derivatives, those
    of the general form.
    """
    e = _known(exponent)
    weight, leaf = _broadcast(weight, e.leaf)
    rest, _ = _broadcast(rest, e.leaf)
    if e.value is None:
        return power(weight, e), _general_complement(weight, rest, leaf)
    return power(weight, e), _fixed_complement(weight, rest, leaf, e.value)


def _general_complement(weight: jax.Array, rest: jax.Array, e: jax.Array) -> jax.Array:
    near_one = weight > 0.5
    positive = weight > 0
    log_w = jnp.where(near_one, jnp.log1p(-jnp.where(near_one, rest, 0.0)),
                      jnp.log(jnp.where(positive & ~near_one, weight, 1.0)))
    return jnp.where(positive, -jnp.expm1(e * log_w), 1.0)


@partial(jax.custom_jvp, nondiff_argnums=(3,))
def _fixed_complement(weight: jax.Array, rest: jax.Array, e: jax.Array, value: float) -> jax.Array:
    return rest if value == 1.0 else rest * (1.0 + weight)


@_fixed_complement.defjvp
def _fixed_complement_jvp(value, primals, tangents):
    _, tangent = jax.jvp(_general_complement, primals, tangents)  # the general form's derivative (also in e)
    return _fixed_complement(*primals, value), tangent


def k_decay_phase(done: jax.Array, left: jax.Array, k: Any) -> tuple[jax.Array, jax.Array]:
    """The phase warped by k-decay (Zhang & Li, arXiv:2004.05909): ``done**k`` and ``1 - done**k``,
    which is :func:`power_pair` of the phase: ``1 - done**k`` exact near the end (from ``left``) and
    near the start (from ``done``), ``left (1 + done)`` where :func:`known_cases` knows ``k == 2``,
    ``left`` at 1. Finite derivatives at both ends."""
    return power_pair(done, left, k)


# ------------------------------------------------------- exact arithmetic


def _split_constant(dtype: Any) -> float:
    """Veltkamp's ``2**ceil(p/2) + 1`` for a ``p``-bit significand: splits it in two exact halves."""
    return 4097.0 if jnp.dtype(dtype) == np.float32 else 134217729.0


def two_product(a: jax.Array, b: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``(p, e)`` with ``p = fl(a b)`` and ``p + e = a b`` exactly (Dekker, without an FMA)."""
    p = a * b
    c = _split_constant(p.dtype)

    def halves(x):
        y = c * x
        high = y - (y - x)
        return high, x - high

    a_hi, a_lo = halves(a)
    b_hi, b_lo = halves(b)
    return p, ((a_hi * b_hi - p) + a_hi * b_lo + a_lo * b_hi) + a_lo * b_lo


def two_sum(a: jax.Array, b: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``(s, e)`` with ``s = fl(a + b)`` and ``s + e = a + b`` exactly (Knuth)."""
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


def whole_and_rest(x: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``x`` as an integer part and a float remainder in [0, 1)."""
    whole = jnp.floor(x)
    return whole.astype(int_dtype()), x - whole


def product_parts(fraction: jax.Array, total: jax.Array, fraction_lo: Any = None) -> tuple[jax.Array, jax.Array]:
    """``fraction * total`` as (integer part, float remainder), exact up to the rounding of
    the small remainder: an integer `total` is split in two float32-exact halves and
    each product keeps its rounding error (:func:`two_product`). `fraction_lo` (a
    schedule's :meth:`lrsched.Schedule.low`) is what float32 lost of `fraction`: its
    product with `total` joins the remainder, so the fraction the user passed is the
    one multiplied."""
    if float_dtype() != np.float32 or not jnp.issubdtype(total.dtype, jnp.integer):
        whole, rest = whole_and_rest(fraction * as_float(total))
    else:
        high = total - total % 4096  # at most 19 significant bits: exact in float32
        whole, rest = jnp.zeros((), int_dtype()), jnp.zeros((), fraction.dtype)
        for part in (high, total - high):
            product, error = two_product(fraction, as_float(part))
            n, f = whole_and_rest(product)
            whole, rest = whole + n, rest + f + error
    if fraction_lo is None:
        return whole, rest
    n, f = whole_and_rest(rest + as_float(fraction_lo) * as_float(total))
    return whole + n.astype(whole.dtype), f


# ---------------------------------------------------------- exponentials


def _split_log(rate: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``log(rate)`` as ``hi + lo``: ``hi = fl(log rate)`` and ``lo`` its correction.

    A float log is off by up to an ulp, and ``t * log(rate)`` multiplies that
    error by ``t``. With ``n = 2**p`` chosen so that ``n |hi|`` is in (32, 64],
    ``rate**n`` (a correctly rounded power) and ``exp(n hi)`` (``n hi`` exact)
    differ by the factor ``exp(n lo)``, which gives ``lo`` to a few per cent:
    ``hi + lo`` is within ~2e-9 of ``log(rate)`` relative, in float32.
    """
    hi = jnp.log(rate)
    size = jnp.abs(hi)
    usable = (size > 0) & jnp.isfinite(size)
    safe = jnp.where(usable, size, 1.0)
    scale = jnp.ldexp(jnp.ones_like(safe), jnp.floor(jnp.log2(64.0 / safe)).astype(jnp.int32))
    exact = jnp.power(rate, scale)
    rounded = jnp.exp(scale * hi)
    lo = jnp.where(usable, (exact - rounded) / rounded / scale, 0.0)
    return hi, jax.lax.stop_gradient(lo)


def _exact_parts(x: jax.Array) -> tuple[jax.Array, jax.Array]:
    """An integer (or float) array as two floats that hold it exactly: ``x = hi + lo``.

    An integer beyond the float's significand (2**24 in float32) loses bits when
    converted; clearing its low bits first leaves a part that converts exactly,
    and the low bits are a small second part. Floats are their own ``hi``."""
    if not jnp.issubdtype(x.dtype, jnp.integer):
        return as_float(x), jnp.zeros((), float_dtype())
    bits = np.finfo(float_dtype()).nmant + 1
    low = max(8 * x.dtype.itemsize - 1 - bits, 0) + 1  # clearing these bits leaves <= bits significant bits
    top = x & ~((1 << low) - 1)
    return as_float(top), as_float(x - top)


exact_parts = _exact_parts


def _significand_limit() -> int:
    """The first integer the float type may not hold: ``2**24`` in float32, ``2**53`` under x64."""
    return 2 ** (np.finfo(float_dtype()).nmant + 1)


def largest_count(step_dtype: Any, period: np.ndarray | None) -> int | None:
    """An upper bound of ``floor(t / period)`` over every step ``t >= 0`` of the integer `step_dtype`, for a
    concrete scalar ``period >= 1`` (a schedule closed over); None when unknown (a traced or batched period,
    float steps). Lets :func:`int_power` and :func:`rate_power` skip work counts that large never need."""
    if period is None or np.ndim(period) or not jnp.issubdtype(step_dtype, jnp.integer) or not period >= 1:
        return None
    # exact (a Fraction); +1: a step converted to float for a float period may round up
    return int(np.iinfo(step_dtype).max // fractions.Fraction(float(period))) + 1


def rate_power(rate: Any, t: jax.Array, steps: Any = 1, rate_lo: Any = None, most: int | None = None
               ) -> jax.Array:
    """``rate ** (t / steps)`` for a positive `rate` and ``t >= 0``: the precise exponential
    of :func:`lrsched.exponential` (``t`` a whole count of periods for a staircase).

    ``exp(t / T * log r)`` in float32 loses ``|t/T log r| * 2**-24`` of relative
    precision (2e-6 at ``e**-40``: optax's ``exponential_decay`` does), and
    ``r**k * r**f`` costs two general powers per step (twice optax's time). Here
    ``log r / T`` is carried in two floats (``_split_log``, then one correction
    of the division), the step as two floats that hold it exactly
    (:func:`_exact_parts`), their products exactly (:func:`two_product`), and the
    exponent as a float plus a tiny correction applied as ``exp(s) (1 + c)``:
    ~1e-7 relative over float32's whole range, with no division per step (about
    a fifth of optax's time). The derivative is that of ``r**(t/T)``.

    `rate_lo` is what float32 lost of the rate the user passed (a schedule's
    :meth:`lrsched.Schedule.low`): ``log(r + lo) = log r + lo / r`` to first order,
    folded into the exponent's correction, so a rate that float32 cannot hold keeps
    its precision over any number of steps.

    `most`, when known, is the largest ``t`` (an integer count: a cycle, a staircase
    period): counts that one float holds exactly need no low part (a fifth less work).
    """
    if most is not None and jnp.issubdtype(t.dtype, jnp.integer) and most < _significand_limit():
        t = as_float(t)  # exact: every count fits the float's significand
    rate = as_float(rate)
    hi, lo = _split_log(rate)
    if rate_lo is not None:
        lo = lo + jax.lax.stop_gradient(as_float(rate_lo) / jnp.where(rate > 0, rate, 1.0))
    # c = log(r) / T in two floats: one division, then its remainder (exact products) divided again
    steps = as_number(steps)
    steps_hi, steps_lo = _exact_parts(steps)
    per = steps_hi + steps_lo
    c = hi / per
    product, error = two_product(c, steps_hi)
    c_lo = (((hi - product) - error) - c * steps_lo + lo) / per
    t_hi, t_lo = _exact_parts(t)
    total, small = two_product(t_hi, c)
    if jnp.issubdtype(t.dtype, jnp.integer):  # an integer beyond the significand: its low part's product too
        p2, e2 = two_product(t_lo, c)
        total, carry = two_sum(total, p2)
        small = carry + small + e2
    # the small terms join the exponent's high part first: t * c_lo is not small when a rate near 1 lost
    # its last bits (rate_lo) over many steps (0.01 at 0.9999**8e5), and exp(s) (1 + c) is only first order
    tail = jax.lax.stop_gradient(small + (t_hi + t_lo) * c_lo)
    total, correction = two_sum(total, tail)
    correction = jax.lax.stop_gradient(correction)
    # exp(total) * (1 + correction), not exp(total) * exp(correction): XLA would fuse the latter into one exp
    return _times_one_plus(jnp.exp(total), correction)


def _times_one_plus(value: jax.Array, small: jax.Array) -> jax.Array:
    """``value * (1 + small)`` as ``value + value * small`` (no rounding of ``1 + small``); an overflowed
    ``value`` stays infinite (``inf + inf * small`` would be NaN where ``small <= 0``: a growth past the
    float's range, which a cap such as ``end_value`` then clips)."""
    return jnp.where(jnp.isinf(value), value, value + value * small)


def computed_once(table: jax.Array) -> jax.Array:
    """A small computed table (1-D) that steps gather from, kept as an array of its own.

    XLA fuses the computation of a gathered table into the loop over the steps,
    so each step would compute its entry again (a general power per step for
    :func:`int_power`'s table: 10 ms per 10^6 steps instead of 1); an
    optimization barrier does not prevent that fusion on CPU, a sort does (by
    position: it leaves the table as it is, and XLA does not fuse sorts).
    """
    return jax.lax.sort((jnp.arange(table.shape[-1]), table), num_keys=1)[1]


#: :func:`int_power` tabulates ``base**k`` for ``k`` below this (correctly rounded powers).
POWER_TABLE = 16


def int_power(base: Any, k: jax.Array, base_lo: Any = None, most: int | None = None) -> jax.Array:
    """``base ** k`` for a non-negative `base` leaf and integer counts ``k >= 0`` (step
    decays, milestones, cycles), without a general power per step (~6 ms per 10^6 on
    XLA CPU, where this costs a gather and :func:`rate_power`'s few operations).

    The powers for ``k < POWER_TABLE`` (or ``k <= most`` when the largest count is
    known and smaller) come from a table of correctly rounded powers computed once,
    so ``gamma**1`` is ``gamma`` exactly; larger counts use :func:`rate_power`
    (~1e-7 relative in float32). ``0**0 = 1``. The derivative is that of ``base**k``.

    What a float32 evaluation loses beyond that is the rounding of `base` itself,
    multiplied by ``k``. `base_lo` (a schedule's :meth:`lrsched.Schedule.low`)
    restores it: ``(b + lo)**k = b**k exp(k lo / b)`` (``k lo / b`` is tiny, so
    ``expm1`` keeps it exact).
    """
    base = as_float(base)
    if base.ndim:  # per-element bases (no single table): the general power
        value = base ** as_float(k)
        return value if base_lo is None else _lo_factor(value, base, k, base_lo, jnp.expm1)
    size = POWER_TABLE if most is None else min(POWER_TABLE, most + 1)
    j = jnp.arange(size, dtype=base.dtype)
    zeroth = j == 0
    # correctly rounded powers; b**0 is 1 from a base of 1, so its derivative is 0 where b = 0 (0 * 0**-1, NaN,
    # from b itself: d/db of g**k at g = 0 is then 1 for k = 1 and 0 otherwise)
    table = computed_once(jnp.where(zeroth, 1.0, jnp.where(zeroth, 1.0, base) ** j))
    small = pick(table, k.astype(jnp.int32) if jnp.issubdtype(k.dtype, jnp.floating) else k)
    if base_lo is not None:  # k < 16 here: k lo / b is below 2**-20, so exp(x) - 1 = x to 2**-41
        small = _lo_factor(small, base, jnp.minimum(k, size - 1), base_lo, lambda x: x)
    if most is not None and most < size:
        return small
    positive = base > 0
    # beyond the table the low part joins rate_power's two-float exponent (no expm1 per step)
    large = rate_power(jnp.where(positive, base, 1.0), k, rate_lo=base_lo, most=most)
    return jnp.where(k < size, small, jnp.where(positive, large, 0.0))


def _lo_factor(value: jax.Array, base: jax.Array, k: jax.Array, base_lo: Any, expm1: Any) -> jax.Array:
    """``value * (1 + lo / b)**k``, as ``value + value * expm1(k lo / b)``."""
    ratio = jax.lax.stop_gradient(as_float(base_lo) / jnp.where(base > 0, base, 1.0))
    return _times_one_plus(value, expm1(as_float(k) * jnp.where(base > 0, ratio, 0.0)))


# ------------------------------------------------------------------ lookup

#: Up to this many marks, :func:`count_reached` compares every step with each mark (one fused
#: pass, no gather); beyond it, a binary search (log2 of the number of marks rounds of a gather).
#: On XLA CPU at 10^6 steps the comparisons take 0.3 ms for 8 marks (the search 1.7 ms) and
#: 1.7 ms for 64 (4.6 ms), but each mark adds to the program: 128 compiled in 1.3 s against
#: 0.3 s, so the search takes over early and compile time stays flat in the number of marks.
LINEAR_LOOKUP = 16


def count_reached(marks: Any, t: jax.Array) -> jax.Array:
    """How many of the sorted `marks` are ``<= t``, for every element of `t`: the index of the
    piece that holds step `t` when the marks are the boundaries between pieces.

    ``numpy.searchsorted(marks, t, side="right")``, with memory and time independent of
    steps x marks (the obvious ``sum(marks <= t[..., None])`` needs a steps x marks
    temporary: 4 GB for 1,000 marks at 10^6 steps). Up to :data:`LINEAR_LOOKUP` marks
    each step is compared with each mark in one fused pass (no temporary); beyond, a
    branchless binary search over the marks padded to ``2**k - 1`` entries (``k``
    rounds of a gather: 14 at 10,000 marks; one step-sized temporary), 2-3x faster
    than ``jnp.searchsorted``'s loop. Integers
    are compared as integers (exact for every int32 step, and int64 under x64). Under
    ``jax.vmap`` the marks may be batched (a sweep over boundaries); the result is
    an int32 array of `t`'s shape, with no derivative (it only selects).
    """
    marks = as_number(marks)
    t, marks = common(t, marks)
    n = marks.shape[-1]
    count = jnp.zeros(t.shape, jnp.int32)
    if n <= LINEAR_LOOKUP:
        for i in range(n):
            count = count + (marks[..., i] <= t).astype(jnp.int32)
        return count
    size = 1 << n.bit_length()  # the smallest power of two above n
    top = jnp.iinfo(marks.dtype).max if jnp.issubdtype(marks.dtype, jnp.integer) else jnp.inf
    padded = jnp.concatenate([marks, jnp.full(marks.shape[:-1] + (size - 1 - n,), top, marks.dtype)], axis=-1)
    half = size // 2
    while half:  # invariant: the first `count` entries are <= t (the padding only when t is the top value)
        above = count + half
        count = jnp.where(jnp.take(padded, above - 1, axis=-1, mode="clip") <= t, above, count)
        half //= 2
    return jnp.minimum(count, n)


def pick(table: Any, index: jax.Array) -> jax.Array:
    """``table[..., index]`` for every element of `index` (an index outside the table reads
    its nearest end): the reading side of :func:`count_reached`.

    Up to :data:`LINEAR_LOOKUP` entries a tree of selects on the index's bits (``n - 1``
    selects and one bit test per level: a fifth fewer operations than a chain of
    ``index >= j`` comparisons), which XLA CPU vectorises with the computation of the
    index; a gather in the loop over the steps makes the whole loop scalar (10 ms
    instead of 0.6 for 10 entries at 10^6 steps). Larger tables are gathered. A
    computed table should come through :func:`computed_once`.
    """
    table = jnp.asarray(table)
    n = table.shape[-1]
    shape = jnp.broadcast_shapes(table.shape[:-1], index.shape)
    if n == 1:
        return jnp.broadcast_to(table[..., 0], shape)
    if n <= LINEAR_LOOKUP:
        index = jnp.clip(index, 0, n - 1)
        entries = [table[..., j] for j in range(n)]
        bit = 1
        while len(entries) > 1:  # pair the entries that differ in this bit of the index
            chosen = (index & bit) != 0
            entries = [jnp.where(chosen, entries[i + 1], entries[i]) if i + 1 < len(entries) else entries[i]
                       for i in range(0, len(entries), 2)]
            bit *= 2
        return jnp.broadcast_to(entries[0], shape)
    return jnp.take(table, jnp.clip(index, 0, n - 1), axis=-1, mode="clip")


def scaled_remainder(n: Any, c: Any, c_lo: Any, period: Any) -> tuple[jax.Array, jax.Array, jax.Array]:
    """``c * n = k * period + r`` with ``0 <= r < period``, for an integer ``n >= 0``, a float `c`
    (``c_lo``: what float32 lost of it, or 0) and a positive `period`, as ``(k, r_hi, r_lo)``.

    The product is carried in two floats (:func:`two_product` of `c` with the exact
    parts of ``n``), and so is the remainder: ``r_hi + r_lo`` holds ``r`` to about
    ``1e-14`` of ``c n``, so a distance such as ``period - r`` near the end of a
    period (a cosine's trough, a restart) keeps its relative precision in float32,
    where ``fmod(c * n, period)`` in one float loses ``c n * 6e-8`` of it.
    """
    cf = as_float(c)
    n_hi, n_lo = _exact_parts(as_number(n))
    p1, e1 = two_product(cf, n_hi)
    p2, e2 = two_product(cf, n_lo)
    s, e3 = two_sum(p1, p2)
    tail = (e1 + e2 + e3) + as_float(c_lo) * (n_hi + n_lo)
    s, tail = two_sum(s, tail)
    # the period in two floats that hold it exactly (an integer period past 2**24 does not fit one float32)
    size_hi, size_lo = _exact_parts(as_number(period))
    size = size_hi + size_lo

    def take(r_hi: jax.Array, r_lo: jax.Array, m: jax.Array) -> tuple[jax.Array, jax.Array]:
        """``r - m * period`` in two floats (`m` a whole number; its products exact)."""
        q, qe = two_product(m, size_hi)
        q2, qe2 = two_product(m, size_lo)
        q, qe3 = two_sum(q, q2)  # the product's leading float first: r - q is then exact
        r_hi, r1e = two_sum(r_hi, -q)
        return two_sum(r_hi, ((((r1e - qe3) - qe) - qe2) + r_lo))

    k = jnp.floor(s / size)
    r_hi, r_lo = take(s, tail, k)
    # a quotient beyond the float's integers (c n / period past 2**24 in float32) can be many periods off: the
    # remainder's own quotient takes them off
    dk = jnp.floor((r_hi + r_lo) / size)
    r_hi, r_lo = take(r_hi, r_lo, dk)
    k = k + dk
    for _ in range(2):  # the float quotient may be one off either way (m * period is then exact as it is)
        # (the signs from the exact parts: r + r_lo and the period both round to 2**31 a step below it)
        below = r_hi + r_lo < 0
        past = (r_hi - size_hi) + (r_lo - size_lo) >= 0
        m = jnp.where(below, -1.0, jnp.where(past, 1.0, 0.0)).astype(size.dtype)
        k = k + m
        a, a_err = two_sum(r_hi, -m * size_hi)  # (r_hi - size_hi need not fit one float: a small r, a big period)
        r_hi, r_lo = two_sum(a, a_err + (r_lo - m * size_lo))
    return k, r_hi, r_lo


def ratio_phase(num: tuple[Any, Any], den: tuple[Any, Any], length: Any) -> tuple[jax.Array, jax.Array]:
    """:func:`phase` at the step ``num / den`` of a stretch of `length` steps, the ratio never rounded.

    `num` and `den` are each two floats ``(hi, lo)`` (a float or an integer and 0),
    e.g. a fraction of training ``t / N`` whose pieces start at fractional points:
    ``done = num / (den length)`` and ``left = (den length - num) / (den length)``
    are each rounded once, from a numerator carried in two floats, so ``left``
    stays exact near the end of the stretch where ``1 - fl(num / den)`` would
    keep only ``6e-8`` of absolute precision. Clipped to [0, 1]; an empty
    stretch counts as finished.
    """
    n_hi, n_lo = (as_float(x) for x in num)
    d_hi, d_lo = (as_float(x) for x in den)
    size = as_float(length)
    total, e = two_product(d_hi, size)
    total, total_lo = two_sum(total, e + d_lo * size)
    rest, r = two_sum(total, -n_hi)
    rest = rest + ((r + total_lo) - n_lo)
    whole = total + total_lo
    empty = whole <= 0
    safe = jnp.where(empty, 1.0, whole)
    done = jnp.where(empty, 1.0, jnp.clip((n_hi + n_lo) / safe, 0.0, 1.0))
    left = jnp.where(empty, 0.0, jnp.clip(rest / safe, 0.0, 1.0))
    return done, left


# ------------------------------------------------------------------ cycles


def power_of_two(k: jax.Array) -> jax.Array:
    """``2.0**k`` in the default float dtype for integers ``k`` within its normal exponents (float32: -126 to
    127), exactly: built from its bits, so ``x * power_of_two(-k)`` is ``x / 2**k`` without a division."""
    dtype = float_dtype()
    info = jnp.finfo(dtype)
    bits = jnp.int32 if dtype == jnp.float32 else jnp.int64
    exponent = k.astype(bits) + bits(info.maxexp - 1)
    return jax.lax.bitcast_convert_type(jnp.left_shift(exponent, bits(info.nmant)), dtype)


def latest_start() -> float:
    """The largest cycle start :func:`cycle_start` counts as in the step integer's range (a float test with a
    safety margin below the integer's maximum)."""
    return 2.0**31 - 512 if int_dtype() == np.int32 else 2.0**63 - 2.0**42


def cycle_start(k: jax.Array, period: jax.Array, mul: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Step at which cycle ``k`` starts, ``period * (mul**k - 1) / (mul - 1)``
    (``k * period`` when ``mul == 1``), and whether that is out of the step
    integer's range. The inputs share one dtype; integers give exact results."""
    geometric = mul != 1
    one = jnp.ones((), k.dtype)
    k = jnp.maximum(k, jnp.zeros((), k.dtype))
    denominator = jnp.where(geometric, mul - one, one)
    if jnp.issubdtype(k.dtype, jnp.integer):
        # start = period * (q + (q - 1) / (mul - 1)) with q = mul**(k-1): no intermediate exceeds
        # the start itself; whether the start fits is checked in float with a safety margin
        top = latest_start()
        mf = as_float(mul)
        approx = as_float(period) * (mf ** as_float(k) - 1.0) / jnp.where(geometric, mf - 1.0, 1.0)
        out_of_range = geometric & (approx > top)
        q = jnp.power(mul, jnp.where(out_of_range, 0, jnp.maximum(k - one, 0 * one)))
        geo = period * jnp.where(k == 0, 0 * one, q + (q - one) // denominator)
    else:
        # period * (m**k - 1) / (m - 1) as a ratio of expm1s: exactly `period` for k = 1, ~2e-7
        # otherwise (m**k - 1 cancels for m near 1); a start within float32's error of a whole step
        # is that step, so restarts that fall on a step in exact arithmetic (m = 1.5, 2.5...) stay there
        out_of_range = jnp.zeros(k.shape, bool)
        log_mul = jnp.log(jnp.where(geometric, mul, 2.0))
        geo = period * jnp.expm1(k * log_mul) / jnp.expm1(log_mul)
        whole = jnp.round(geo)
        geo = jnp.where(jnp.abs(geo - whole) <= 1e-6 * jnp.maximum(jnp.abs(geo), 1.0), whole, geo)
    return jnp.where(geometric, geo, k * period), out_of_range


def cycle_index(t: jax.Array, period: jax.Array, mul: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Cycle ``k`` containing step ``t`` (cycle ``i`` lasting ``period * mul**i`` steps) and its start.

    A float estimate ``log1p(t (m - 1) / P) / log m`` corrected by one either way
    with exact integer starts (:func:`cycle_start`), so a restart lands on exactly
    its step for every int32 step when `period` and `mul` are integers.
    """
    t, period, mul = common(t, period, mul)
    tf, pf, mf = as_float(t), as_float(period), as_float(mul)
    geometric = mul != 1
    log_mul = jnp.log(jnp.where(geometric, mf, 2.0))
    k = jnp.floor(jnp.log1p(tf * (mf - 1.0) / pf) / log_mul).astype(t.dtype)
    here, beyond = cycle_start(k, period, mul)
    k = jnp.where((here > t) | beyond, k - 1, k)  # correct the float estimate by one either way
    nxt, beyond = cycle_start(k + 1, period, mul)
    k = jnp.where((nxt <= t) & ~beyond, k + 1, k)
    equal_periods = split(t, period)[0]
    k = jnp.maximum(jnp.where(geometric, k, equal_periods), jnp.zeros((), k.dtype))
    return k, cycle_start(k, period, mul)[0]


def cycle_starts(period: jax.Array, mul: jax.Array) -> tuple[jax.Array, jax.Array]:
    """The start of every cycle that fits the step integer, as a table for
    :func:`count_reached`, when cycle ``i`` lasts ``period * mul**i`` steps (integers,
    ``mul >= 2``): ``(starts, size)``.

    32 entries in int32 (64 in int64) hold every start up to the largest step, since
    the periods at least double; starts beyond it are the integer's maximum and
    `size` counts the others. Exact (:func:`cycle_start`), computed once per call.
    """
    entries = 8 * jnp.dtype(period.dtype).itemsize
    starts, beyond = cycle_start(jnp.arange(entries, dtype=period.dtype), period, mul)
    starts = jnp.where(beyond, jnp.iinfo(period.dtype).max, starts)
    return computed_once(starts), entries - jnp.sum(beyond.astype(jnp.int32))
