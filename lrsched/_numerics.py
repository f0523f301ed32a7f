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

from typing import Any

import jax
import jax.numpy as jnp
import numpy as np

__all__ = [
    "INT32_MAX", "float_dtype", "int_dtype", "as_float", "as_number", "check_step_range", "as_step", "common",
    "divide", "phase", "power", "split", "cos_anneal", "lerp", "anneal", "k_decay_phase", "two_product",
    "two_sum", "whole_and_rest", "product_parts", "rate_power", "int_power", "power_pair", "scaled_remainder",
    "ratio_phase", "exact_parts", "cycle_start", "cycle_index",
]

INT32_MAX = 2**31 - 1


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


def check_step_range(step: Any) -> None:
    """Concrete integer steps beyond int32 raise (without x64 they would wrap silently)."""
    if int_dtype() == np.int32 and not isinstance(step, (jax.core.Tracer, bool)):
        a = np.asarray(step) if isinstance(step, (int, np.integer, np.ndarray, list, tuple)) else None
        if a is not None and a.dtype.kind in "iu" and a.size and np.abs(a.astype(np.float64)).max() > INT32_MAX:
            raise ValueError(
                f"step {a.reshape(-1)[np.abs(a.astype(np.float64)).argmax()]} does not fit in int32; enable "
                "64-bit steps with jax.config.update('jax_enable_x64', True)"
            )


def as_step(step: Any) -> jax.Array:
    """The step policy: integer steps stay integers, negatives count as step 0."""
    check_step_range(step)
    t = as_number(step)
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
    scale = 1.0 / as_float(jnp.where(empty, jnp.ones((), length.dtype), length))
    finished = jnp.where(empty, 1.0, 0.0).astype(float_dtype())
    return as_float(done) * scale + finished, as_float(left) * scale


def split(offset: Any, period: Any) -> tuple[jax.Array, jax.Array]:
    """``(k, r)`` with ``offset = k * period + r`` and ``0 <= r < period``.

    Integer division when both are integers, so the position within a period is
    exact for every int32 step. A period that is not positive counts as 1.
    """
    offset, period = common(as_number(offset), as_number(period))
    one = jnp.ones((), period.dtype)
    period = jnp.where(period > 0, period, one)
    if jnp.issubdtype(offset.dtype, jnp.integer):
        k = jax.lax.div(offset, period)  # truncates toward zero: one fix-up for negative offsets
        r = offset - k * period
        below = r < 0
        return jnp.where(below, k - one, k), jnp.where(below, r + period, r)
    k = jnp.floor(offset / period)
    return k, offset - k * period


@jax.custom_jvp
def _unit_fast_power(x: jax.Array, e: jax.Array) -> jax.Array:
    return jnp.where(e == 1.0, x, x**e)  # e: a scalar, or broadcast to x's shape


@_unit_fast_power.defjvp
def _unit_fast_power_jvp(primals, tangents):
    x, e = primals
    positive = x > 0  # at x == 0 (a held end value) the value is constant: no inf * 0 = NaN
    safe = jnp.where(positive, x, jnp.ones_like(x))
    _, tangent = jax.jvp(lambda x, e: x**e, (safe, e), tangents)  # the derivative of the plain power
    return _unit_fast_power(x, e), jnp.where(positive, tangent, jnp.zeros_like(tangent))


def power(x: jax.Array, exponent: Any) -> jax.Array:
    """``x ** exponent`` for a leaf exponent, skipping the general power when a
    scalar exponent is 1 (the common default) without making it static; the
    derivative (also with respect to the exponent) is that of ``x ** e``."""
    e = as_float(exponent)
    if e.ndim:
        x, e = jnp.broadcast_arrays(x, e)
    return _unit_fast_power(x, e)


def cos_anneal(done: jax.Array, left: jax.Array) -> jax.Array:
    """``(1 + cos(pi * done)) / 2``, computed as ``sin(pi * left / 2) ** 2``.

    The two are equal because ``done + left = 1``; the sine form is accurate to
    the last bit near both ends (``left`` is exact near the end of a decay) and
    needs one transcendental. ``cos_anneal(left, done)`` is the complementary
    weight ``(1 - cos(pi * done)) / 2``, as accurate.
    """
    del done
    return jnp.sin(0.5 * jnp.pi * left) ** 2


def lerp(start: Any, end: Any, done: jax.Array, left: jax.Array) -> jax.Array:
    """``start`` at ``done = 0`` to ``end`` at ``done = 1``, exact at both ends."""
    return as_float(start) * left + as_float(end) * done


def anneal(kind: str, start: Any, end: Any, done: jax.Array, left: jax.Array) -> jax.Array:
    """Move from `start` to `end` as `done` goes 0 -> 1: "linear" or "cos".

    The cosine is a weighted sum ``start w + end (1 - w)`` with both weights
    computed directly (non-negative terms: no cancellation, rising or falling)."""
    if kind == "linear":
        return lerp(start, end, done, left)
    return as_float(start) * cos_anneal(done, left) + as_float(end) * cos_anneal(left, done)


def power_pair(weight: jax.Array, rest: jax.Array, exponent: Any) -> tuple[jax.Array, jax.Array]:
    """``(w**e, 1 - w**e)`` from a weight ``w`` and its complement ``rest = 1 - w``, both accurate.

    ``1 - w**e`` computed as written cancels where ``w**e`` is near 1 (the start of
    a rising polynomial or a powered cosine); here it is ``-expm1(e log w)``, with
    ``log w = log1p(-rest)`` where ``w > 1/2``: accurate to the last bits at both
    ends, so ``a w**e + b (1 - w**e)`` has no cancellation whichever of ``a``, ``b``
    is larger. With ``e == 1`` the pair is ``(w, rest)`` itself. Finite derivatives.
    """
    e = as_float(exponent)
    if e.ndim:
        weight, rest, e = jnp.broadcast_arrays(weight, rest, e)
    powered = power(weight, e)
    near_one = weight > 0.5
    positive = weight > 0
    log_w = jnp.where(near_one, jnp.log1p(-jnp.where(near_one, rest, 0.0)),
                      jnp.log(jnp.where(positive & ~near_one, weight, 1.0)))
    complement = jnp.where(positive, -jnp.expm1(e * log_w), 1.0)
    # e == 1: the exact complement as the value, the general form's derivative (also in e)
    exact = jax.lax.stop_gradient(jnp.where(e == 1.0, rest - complement, 0.0))
    return powered, complement + exact


def k_decay_phase(done: jax.Array, left: jax.Array, k: Any) -> tuple[jax.Array, jax.Array]:
    """The phase warped by k-decay (Zhang & Li, arXiv:2004.05909): ``done**k`` and ``1 - done**k``.

    ``1 - done**k`` is ``-expm1(k log1p(-left))``: exact near the end, where
    ``left`` is small, as the unwarped phase is. Finite derivatives at both ends.
    """
    k = as_float(k)
    warped = power(done, k)
    inside = (left > 0) & (left < 1)
    safe = jnp.where(inside, left, 0.5)
    rest = -jnp.expm1(k * jnp.log1p(-safe))
    return warped, jnp.where(inside, rest, left)


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


def product_parts(fraction: jax.Array, total: jax.Array) -> tuple[jax.Array, jax.Array]:
    """``fraction * total`` as (integer part, float remainder), exact up to the rounding of
    the small remainder: an integer `total` is split in two float32-exact halves and
    each product keeps its rounding error (:func:`two_product`)."""
    if float_dtype() != np.float32 or not jnp.issubdtype(total.dtype, jnp.integer):
        return whole_and_rest(fraction * as_float(total))
    high = total - total % 4096  # at most 19 significant bits: exact in float32
    whole, rest = jnp.zeros((), int_dtype()), jnp.zeros((), fraction.dtype)
    for part in (high, total - high):
        product, error = two_product(fraction, as_float(part))
        n, f = whole_and_rest(product)
        whole, rest = whole + n, rest + f + error
    return whole, rest


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


def rate_power(rate: Any, t: jax.Array, steps: Any = 1, rate_lo: Any = None) -> jax.Array:
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
    """
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
    p1, e1 = two_product(t_hi, c)
    p2, e2 = two_product(t_lo, c)
    total, carry = two_sum(p1, p2)
    correction = jax.lax.stop_gradient(carry + e1 + e2 + (t_hi + t_lo) * c_lo)
    # exp(total) * (1 + correction), not exp(total) * exp(correction): XLA would fuse the latter into one exp
    value = jnp.exp(total)
    return value + value * correction


def int_power(base: Any, k: jax.Array, base_lo: Any = None) -> jax.Array:
    """``base ** k`` for a non-negative `base` and an integer-valued count ``k >= 0``.

    XLA's power is accurate to an ulp or so for integer exponents; what a float32
    evaluation loses is the rounding of `base` itself, multiplied by ``k``.
    `base_lo` (a schedule's :meth:`lrsched.Schedule.low`) restores it:
    ``(b + lo)**k = b**k exp(k lo / b)`` (``k lo / b`` is tiny, so ``expm1`` keeps
    it exact). ``0**0 = 1``.
    """
    b = as_float(base)
    kf = as_float(k)
    value = b**kf
    if base_lo is None:
        return value
    ratio = jax.lax.stop_gradient(as_float(base_lo) / jnp.where(b > 0, b, 1.0))
    return value + value * jnp.expm1(kf * jnp.where(b > 0, ratio, 0.0))


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
    size = as_float(period)
    k = jnp.floor(s / size)
    q, qe = two_product(k, size)
    r_hi, r1e = two_sum(s, -q)
    r_lo = (r1e - qe) + tail
    r_hi, r_lo = two_sum(r_hi, r_lo)
    for _ in range(2):  # the float quotient may be one off either way
        below = r_hi + r_lo < 0
        above = r_hi + r_lo >= size
        fix = jnp.where(below, size, jnp.where(above, -size, 0.0))
        k = k - jnp.sign(fix)
        r_hi, r_lo = two_sum(r_hi + fix, r_lo)
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
        top = 2.0**31 - 512 if int_dtype() == np.int32 else 2.0**63 - 2.0**42
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
