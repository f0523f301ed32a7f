"""lrsched.compat.optax against the real optax 0.2.8 schedules, step for step.

Each configuration evaluates the optax schedule over N = 10,000 steps under x64
(float64, the reference) and the lrsched schedule in float32 (max relative
error <= 2e-6) and under x64 (<= 1e-12). Float arguments are drawn as any
Python float (most not float32-representable): float32 must follow the float64
number passed, not its float32 rounding. optax's float64
formulas cancel in places (``1 + cos`` near the bottom of a cosine, ``1 - t/T``
near the end of a polynomial, ``(end - start) * pct + start``), so every test
also builds an independent numpy long-double reference from optax's published
formula (optax/schedules/_schedule.py, the function named); at each step ours
must be within the tolerance of optax's value or, where optax's float64 value
is itself off that formula (by at most 1e-9), of the exact one.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import Phase, example, given, settings
from hypothesis import strategies as st

import lrsched
from lrsched.compat import optax as ox

N = 10_000
T = np.arange(N)
LD = np.longdouble
PI = np.arccos(LD(-1))
FLOOR = 1e-20  # relative errors against max(|value|, FLOOR * peak): an exact 0 is ~1e-17 in float64
TINY32 = 1e-30  # float32 subnormals are flushed to zero


def budget(n):
    return settings(max_examples=n, phases=[Phase.explicit, Phase.reuse, Phase.generate])


def f32(lo, hi):
    """Any float in [lo, hi], float32-representable or not."""
    return st.floats(lo, hi).map(float)


def optax_values(schedule, n=N):
    """The optax schedule at steps 0..n-1 in float64 (eager: compiling every closure costs more)."""
    with jax.enable_x64(True):
        return np.asarray(jax.vmap(schedule)(jnp.arange(n)), np.float64)


def rel_err(ours, ref, floor):
    return np.abs(np.asarray(ours, np.float64) - ref) / np.maximum(np.abs(ref), floor)


def assert_matches(schedule, reference, exact, rtol32=2e-6, rtol64=1e-12):
    n = len(reference)
    exact = np.asarray(exact, LD)
    floor = FLOOR * max(np.abs(reference).max(), 1e-300)
    # sanity: the reference models optax up to optax's float64 rounding (1e-9 relative, 1e-14 of the peak)
    off = np.abs(reference - exact) - 1e-9 * np.abs(exact) - 1e-14 * np.abs(exact).max()
    assert off.max() <= 0, f"the long-double reference does not model optax: off by {off.max():.3g}"
    ours32 = lrsched.evaluate(schedule, n)
    assert ours32.dtype == np.float32
    f32_floor = max(floor, TINY32)
    err32 = np.minimum(rel_err(ours32, reference, f32_floor), rel_err(ours32, exact, f32_floor))
    with jax.enable_x64(True):
        ours64 = lrsched.evaluate(schedule, n)
    err64 = np.minimum(rel_err(ours64, reference, floor), rel_err(ours64, exact, floor))
    worst = int(np.argmax(err64))
    assert err32.max() <= rtol32 and err64.max() <= rtol64, (
        f"{schedule!r}: float32 {err32.max():.3g} at {int(np.argmax(err32))} (<= {rtol32}), x64 {err64.max():.3g} "
        f"(<= {rtol64}); worst x64 step {worst}: ours {ours64[worst]!r} optax {reference[worst]!r} "
        f"exact {float(exact[worst])!r}")


# ----------------------------------------------- long-double references
# written from optax/schedules/_schedule.py (optax 0.2.8), the function named


def cos_half(num, den):
    """(1 + cos(pi num/den)) / 2 without cancellation."""
    return np.cos(PI * LD(1) * num / (2 * LD(den))) ** 2


def ref_polynomial(init, end, power, steps, begin=0, t=T):  # polynomial_schedule
    if steps <= 0:
        return LD(init) + 0 * t
    count = np.clip(t - max(begin, 0), 0, steps)
    return (LD(init) - LD(end)) * ((steps - count) / LD(steps)) ** LD(power) + LD(end)


def ref_cosine(init, steps, alpha, exponent, t=T):  # cosine_decay_schedule
    c = cos_half(np.minimum(t, steps), steps) ** LD(exponent)
    return LD(init) * ((1 - LD(alpha)) * c + LD(alpha))


def ref_exponential(init, steps, rate, begin=0, staircase=False, end=None, t=T):  # exponential_decay
    if steps <= 0 or rate == 0:
        return LD(init) + 0 * t
    d = t - max(begin, 0)
    p = np.floor_divide(d, steps).astype(LD) if staircase else d / LD(steps)
    value = np.where(d <= 0, LD(init), LD(init) * LD(rate) ** p)
    if end is not None:
        value = np.maximum(value, LD(end)) if rate < 1 else np.minimum(value, LD(end))
    return value


def ref_piecewise_constant(init, table, t=T):  # piecewise_constant_schedule
    value = LD(init) + 0 * t
    for b, s in sorted((table or {}).items()):
        value = np.where(t >= b, value * LD(s), value)
    return value


def ref_interpolate(kind, init, table, t=T):  # piecewise_interpolate_schedule
    keys = sorted((table or {}).items())
    bounds = np.array([0] + [k for k, _ in keys])
    values = np.cumprod(np.array([LD(init)] + [LD(s) for _, s in keys], LD))
    out = np.full(len(t), values[-1], LD)
    for i in range(len(bounds) - 1):
        lo, hi = bounds[i], bounds[i + 1]
        inside = (t >= lo) & (t < hi)
        size = LD(max(hi - lo, 1))
        left, done = (hi - t[inside]) / size, (t[inside] - lo) / size
        if kind == "linear":
            out[inside] = values[i] * left + values[i + 1] * done
        else:
            out[inside] = values[i + 1] + (values[i] - values[i + 1]) * np.sin(PI * left / 2) ** 2
    return out


def ref_warmup_cosine(init, peak, warmup, decay, end=0.0, exponent=1.0, t=T):  # warmup_cosine_decay_schedule
    alpha = LD(0) if peak == 0 else LD(end) / LD(peak)
    up = ref_polynomial(init, peak, 1, warmup, t=t)
    down = ref_cosine(peak, decay - warmup, alpha, exponent, t=np.maximum(t - warmup, 0))
    return np.where(t < warmup, up, down)


# ------------------------------------------------------------------ basics


steps = st.one_of(st.sampled_from([1, 2, N - 1, N]), st.integers(1, 2 * N))
values = f32(1e-4, 10.0)


@budget(6)
@given(values)
def test_constant(value):
    assert_matches(ox.constant_schedule(value), optax_values(lambda c: optax.constant_schedule(value)(c) + 0.0 * c),
                   LD(value) + 0 * T)


@budget(15)
@given(values, values, f32(0.1, 5.0), st.one_of(st.sampled_from([0, -3]), steps), st.sampled_from([0, 7, 3000, -2]))
@example(1.0, 0.01, 2.0, 0, 5)
def test_polynomial_schedule(init, end, power, transition_steps, begin):
    ref = optax_values(optax.polynomial_schedule(init, end, power, transition_steps, begin))
    assert_matches(ox.polynomial_schedule(init, end, power, transition_steps, begin), ref,
                   ref_polynomial(init, end, power, transition_steps, begin))


@budget(10)
@given(values, values, st.one_of(st.just(0), steps), st.sampled_from([0, 10, 5000]))
def test_linear_schedule(init, end, transition_steps, begin):
    ref = optax_values(optax.linear_schedule(init, end, transition_steps, begin))
    assert_matches(ox.linear_schedule(init, end, transition_steps, begin), ref,
                   ref_polynomial(init, end, 1, transition_steps, begin))


@budget(15)
@given(values, steps, st.one_of(st.just(0.0), f32(0.0, 1.0)), st.one_of(st.just(1.0), f32(0.5, 2.0)))
def test_cosine_decay_schedule(init, decay_steps, alpha, exponent):
    ref = optax_values(optax.cosine_decay_schedule(init, decay_steps, alpha, exponent))
    assert_matches(ox.cosine_decay_schedule(init, decay_steps, alpha, exponent), ref,
                   ref_cosine(init, decay_steps, alpha, exponent))


@budget(20)
@given(values, st.one_of(st.sampled_from([0, 1]), st.integers(-2, 3000)), st.one_of(st.just(0.0), f32(0.5, 1.0)),
       st.sampled_from([0, 100, -4]), st.booleans(), st.one_of(st.none(), f32(1e-4, 1.0)))
@example(1.0, 1000, 1.5, 0, False, 30.0)
def test_exponential_decay(init, transition_steps, rate, begin, staircase, end):
    ref = optax_values(optax.exponential_decay(init, transition_steps, rate, begin, staircase, end))
    assert_matches(ox.exponential_decay(init, transition_steps, rate, begin, staircase, end), ref,
                   ref_exponential(init, transition_steps, rate, begin, staircase, end))


tables = st.dictionaries(st.integers(0, N + 100), f32(0.0, 2.0), max_size=4)


@budget(10)
@given(values, tables)
@example(1.0, {0: 0.5, 100: 0.0, 200: 3.0})
def test_piecewise_constant_schedule(init, table):
    ref = optax_values(optax.piecewise_constant_schedule(init, table))
    assert_matches(ox.piecewise_constant_schedule(init, table), ref, ref_piecewise_constant(init, table))


@budget(16)
@given(st.sampled_from(["linear", "cosine"]), values, st.dictionaries(st.integers(0, N + 100), f32(0.01, 2.0),
                                                                      max_size=3))
@example("cosine", 1.0, {0: 0.5, 5000: 1e-4})
def test_piecewise_interpolate_schedule(kind, init, table):
    ref = optax_values(optax.piecewise_interpolate_schedule(kind, init, table))
    assert_matches(ox.piecewise_interpolate_schedule(kind, init, table), ref, ref_interpolate(kind, init, table))


pcts = st.one_of(st.sampled_from([0.0, 1e-4, 0.3, 0.5, 0.9999, 1.0]).map(float),
                 f32(0.0, 1.0))


@budget(12)
@given(st.integers(N - 100, 2 * N), values, pcts, pcts, f32(1.0, 100.0), f32(1.0, 1e5))
@example(10_000, 1.0, 0.5, 0.5, 25.0, 1e4)  # equal keys: optax's dict keeps the later scale
def test_linear_onecycle_schedule(total, peak, pct_start, pct_final, div, final_div):
    ref = optax_values(optax.linear_onecycle_schedule(total, peak, pct_start, pct_final, div, final_div))
    table = {int(pct_start * total): div, int(pct_final * total): 1.0 / div, total: 1.0 / final_div}
    assert_matches(ox.linear_onecycle_schedule(total, peak, pct_start, pct_final, div, final_div), ref,
                   ref_interpolate("linear", peak / div, table))


@pytest.mark.parametrize("total", [12.5, 1000.25, 999.0])
def test_linear_onecycle_schedule_with_a_float_length_ends_at_it(total):
    """optax's linear one-cycle truncates the ``pct * T`` keys but keeps ``T`` itself as the last key: a float
    length ends the descent at the float step."""
    ref = optax_values(optax.linear_onecycle_schedule(total, 0.2, 0.3, 0.8))
    table = {int(0.3 * total): 25.0, int(0.8 * total): 1.0 / 25.0, total: 1e-4}
    assert_matches(ox.linear_onecycle_schedule(total, 0.2, 0.3, 0.8), ref, ref_interpolate("linear", 0.2 / 25, table))


@budget(12)
@given(st.integers(N - 100, 2 * N), values, pcts, f32(1.0, 100.0), f32(1.0, 1e5))
def test_cosine_onecycle_schedule(total, peak, pct_start, div, final_div):
    ref = optax_values(optax.cosine_onecycle_schedule(total, peak, pct_start, div, final_div))
    table = {int(pct_start * total): div, int(total): 1.0 / (div * final_div)}
    assert_matches(ox.cosine_onecycle_schedule(total, peak, pct_start, div, final_div), ref,
                   ref_interpolate("cosine", peak / div, table))


# ----------------------------------------------------------------- warmups


@budget(6)
@given(values, values, st.one_of(st.just(0), steps))
def test_warmup_constant_schedule(init, peak, warmup):
    ref = optax_values(optax.warmup_constant_schedule(init, peak, warmup))
    assert_matches(ox.warmup_constant_schedule(init, peak, warmup), ref, ref_polynomial(init, peak, 1, warmup))


@budget(16)
@given(values, st.one_of(st.just(0.0), values), st.one_of(st.sampled_from([0, 1]), st.integers(0, 5000)),
       st.integers(1, N + 5000), st.one_of(st.just(0.0), f32(0.0, 1.0)), st.one_of(st.just(1.0), f32(0.5, 2.0)))
@example(0.0, 0.0, 10, 100, 0.5, 1.0)  # peak 0: optax's alpha is 0, so end_value is ignored
def test_warmup_cosine_decay_schedule(init, peak, warmup, length, end, exponent):
    decay = warmup + length
    ref = optax_values(optax.warmup_cosine_decay_schedule(init, peak, warmup, decay, end, exponent))
    assert_matches(ox.warmup_cosine_decay_schedule(init, peak, warmup, decay, end, exponent), ref,
                   ref_warmup_cosine(init, peak, warmup, decay, end, exponent))


@budget(14)
@given(values, values, st.one_of(st.just(0), st.integers(0, 3000)), st.integers(1, 3000), f32(0.5, 1.0),
       st.sampled_from([0, 50]), st.booleans(), st.one_of(st.none(), f32(1e-4, 1.0)))
def test_warmup_exponential_decay_schedule(init, peak, warmup, steps_, rate, begin, staircase, end):
    ref = optax_values(optax.warmup_exponential_decay_schedule(init, peak, warmup, steps_, rate, begin, staircase,
                                                               end))
    exact = np.where(T < warmup, ref_polynomial(init, peak, 1, warmup),
                     ref_exponential(peak, steps_, rate, begin, staircase, end, t=np.maximum(T - warmup, 0)))
    assert_matches(ox.warmup_exponential_decay_schedule(init, peak, warmup, steps_, rate, begin, staircase, end),
                   ref, exact)


cosine_kwargs = st.fixed_dictionaries({
    "init_value": values, "peak_value": values, "warmup_steps": st.integers(0, 300),
    "decay_steps": st.integers(301, 4000), "end_value": f32(0.0, 1e-3),
})


@budget(8)
@given(st.lists(cosine_kwargs, min_size=1, max_size=4))
def test_sgdr_schedule(kwargs):
    ref = optax_values(optax.sgdr_schedule(kwargs))
    exact, start = np.empty(N, LD), 0
    for i, kw in enumerate(kwargs):
        stop = start + kw["decay_steps"] if i < len(kwargs) - 1 else N
        if start < N:
            local = T[start:stop] - start
            exact[start:stop] = ref_warmup_cosine(kw["init_value"], kw["peak_value"], kw["warmup_steps"],
                                                  kw["decay_steps"], kw["end_value"], t=local)
        start = stop
    assert_matches(ox.sgdr_schedule(kwargs), ref, exact)


@budget(8)
@given(st.lists(st.integers(0, N), min_size=2, max_size=2), values)
def test_join_schedules_including_unsorted_boundaries(bounds, value):
    """optax's where-chain: for unsorted boundaries a later boundary wins; reproduced."""
    pieces_optax = [optax.constant_schedule(value), optax.linear_schedule(value, 0.0, 500),
                    optax.cosine_decay_schedule(value, 700)]
    pieces = [ox.constant_schedule(value), ox.linear_schedule(value, 0.0, 500), ox.cosine_decay_schedule(value, 700)]
    ref = optax_values(lambda c: optax.join_schedules(pieces_optax, bounds)(c) + 0.0 * c)
    exact = LD(value) + 0 * T
    for b, f in zip(bounds, [lambda t: ref_polynomial(value, 0.0, 1, 500, t=t),
                             lambda t: ref_cosine(value, 700, 0.0, 1.0, t=t)]):
        exact = np.where(T < b, exact, f(np.maximum(T - b, 0)))
    assert_matches(ox.join_schedules(pieces, bounds), ref, exact)


# ------------------------------------------------------------------ quirks


def test_step_policy_where_optax_differs():
    # cosine_decay_schedule mirrors negative steps; we evaluate them as step 0
    neg = np.array([-3, -1, 0, 2])
    ours = lrsched.evaluate(ox.cosine_decay_schedule(1.0, 10), neg)
    assert np.all(ours[:3] == 1.0)
    assert float(optax.cosine_decay_schedule(1.0, 10)(-3)) < 1.0
    # piecewise_interpolate_schedule gives 0 before step 0; we hold the first value
    assert float(optax.piecewise_interpolate_schedule("linear", 1.0, {5: 0.5})(-1)) == 0.0
    assert lrsched.evaluate(ox.piecewise_interpolate_schedule("linear", 1.0, {5: 0.5}), [-1])[0] == 1.0


def test_optax_raises_where_we_raise():
    with pytest.raises(ValueError):
        optax.cosine_decay_schedule(1.0, 0)
    with pytest.raises(lrsched.ScheduleError, match="decay_steps"):
        ox.cosine_decay_schedule(1.0, 0)
    with pytest.raises(ValueError):
        optax.warmup_cosine_decay_schedule(0.0, 1.0, 10, 10)
    with pytest.raises(lrsched.ScheduleError, match="decay_steps"):
        ox.warmup_cosine_decay_schedule(0.0, 1.0, 10, 10)
    with pytest.raises(ValueError):
        optax.piecewise_constant_schedule(1.0, {3: -0.5})
    with pytest.raises(lrsched.ScheduleError, match="non-negative"):
        ox.piecewise_constant_schedule(1.0, {3: -0.5})
    with pytest.raises(lrsched.ScheduleError, match="interpolate_type"):
        ox.piecewise_interpolate_schedule("cubic", 1.0)
    with pytest.raises(lrsched.ScheduleError, match="transition_steps"):
        ox.linear_onecycle_schedule(0, 1.0)
    # optax takes a negative fraction (a key before step 0); refused, named after the fraction
    with pytest.raises(lrsched.ScheduleError, match=r"pct_start=-0.2\).*non-negative"):
        ox.linear_onecycle_schedule(10, 1.0, pct_start=-0.2)
    with pytest.raises(lrsched.ScheduleError, match=r"pct_final=-0.5\)"):
        ox.linear_onecycle_schedule(10, 1.0, pct_final=-0.5)
    with pytest.raises(lrsched.ScheduleError, match=r"pct_start=-0.1\)"):
        ox.cosine_onecycle_schedule(10, 1.0, pct_start=-0.1)
    with pytest.raises(lrsched.ScheduleError, match="lrsched"):
        ox.join_schedules([optax.constant_schedule(1.0)], [])


# ---------------------------------------------------------- vmap, configs


# Every constructor's jit / x64 / vmap-over-every-argument / grad / config / repr checks: tests/cases.py.


def test_vmap_dict_scales_sgdr_and_join():
    steps = jnp.arange(60)
    scales = jnp.array([[0.1, 0.5], [0.2, 0.3]])

    def pc(init, s):
        return ox.piecewise_constant_schedule(init, {10: s[0], 30: s[1]})(steps)

    def interp(init, s):
        return ox.piecewise_interpolate_schedule("cosine", init, {10: s[0], 30: s[1]})(steps)

    for f, make in [(pc, ox.piecewise_constant_schedule),
                    (lambda i, s: interp(i, s), lambda i, d: ox.piecewise_interpolate_schedule("cosine", i, d))]:
        got = np.asarray(jax.jit(jax.vmap(f))(jnp.array([1.0, 2.0]), scales))
        for row, init, s in zip(got, [1.0, 2.0], np.asarray(scales)):
            want = lrsched.evaluate(make(init, {10: float(s[0]), 30: float(s[1])}), steps)
            np.testing.assert_allclose(row, want, rtol=2e-6)

    def sgdr(peak, decay):
        kw = dict(init_value=0.0, peak_value=peak, warmup_steps=3, decay_steps=decay)
        return ox.sgdr_schedule([kw, kw])(steps)

    got = np.asarray(jax.jit(jax.vmap(sgdr))(jnp.array([1.0, 0.5]), jnp.array([20, 25])))
    for row, peak, decay in zip(got, [1.0, 0.5], [20, 25]):
        kw = dict(init_value=0.0, peak_value=peak, warmup_steps=3, decay_steps=decay)
        np.testing.assert_allclose(row, lrsched.evaluate(ox.sgdr_schedule([kw, kw]), steps), rtol=2e-6, atol=1e-9)


@pytest.mark.parametrize("build, anchor, match", [
    # optax divides by div_factor / final_div_factor (ZeroDivisionError): ours names the argument and the fix
    (lambda m: m.cosine_onecycle_schedule(100, 0.1, div_factor=0), ZeroDivisionError,
     r"cosine_onecycle_schedule\(div_factor=0\): div_factor must be non-zero .*div_factor=25.0"),
    (lambda m: m.cosine_onecycle_schedule(100, 0.1, final_div_factor=0.0), ZeroDivisionError,
     r"cosine_onecycle_schedule\(final_div_factor=0.0\): final_div_factor must be non-zero"),
    (lambda m: m.linear_onecycle_schedule(100, 0.1, div_factor=0), ZeroDivisionError,
     r"linear_onecycle_schedule\(div_factor=0\): div_factor must be non-zero"),
    (lambda m: m.linear_onecycle_schedule(100, 0.1, final_div_factor=0), ZeroDivisionError,
     r"linear_onecycle_schedule\(final_div_factor=0\): final_div_factor must be non-zero .*1e4"),
    # 1-element arrays: optax raises (int() of an array, or a stack of mixed shapes); lrsched reads leading
    # axes as a batch, so a lone 1-element argument is refused by name, at construction (numpy's stack error
    # before)
    (lambda m: m.cosine_onecycle_schedule(np.array([100]), 0.1), TypeError,
     r"cosine_onecycle_schedule\(transition_steps=\[100\]\): transition_steps must be of the shape of the other"),
    (lambda m: m.cosine_onecycle_schedule(100, np.array([0.1])), ValueError,
     r"cosine_onecycle_schedule\(peak_value=\[0.1\]\).*peak_value.item\(\)"),
    (lambda m: m.linear_onecycle_schedule(100, 0.1, pct_final=np.array([0.8])), TypeError,
     r"linear_onecycle_schedule\(pct_final=\[0.8\]\)"),
])
def test_onecycle_bad_numbers_are_schedule_errors(build, anchor, match):
    with pytest.raises(anchor):  # optax raises at construction, or (a (1,) peak_value) at its first call
        build(optax)(5)
    with pytest.raises(lrsched.ScheduleError, match=match):
        build(ox)


def test_piecewise_one_element_arrays():
    # optax broadcasts a (1,) init_value into (1,)-shaped rates; in lrsched that is a batch of one schedule,
    # so the lone 1-element argument among plain numbers is refused by name (numpy's stack error before)
    with pytest.raises(lrsched.ScheduleError, match=r"piecewise_constant_schedule\(init_value=\[0.1\]\)"):
        ox.piecewise_constant_schedule(np.array([0.1]), {10: 0.5})
    with pytest.raises(lrsched.ScheduleError, match=r"piecewise_interpolate_schedule\(boundaries_and_scales\[10\]="):
        ox.piecewise_interpolate_schedule("linear", 0.1, {10: np.array([0.5])})
    # 0-d arrays are numbers, as in optax
    for ours, theirs in [(ox.piecewise_constant_schedule(np.array(0.1), {10: np.float32(0.5)}),
                          optax.piecewise_constant_schedule(np.array(0.1), {10: np.float32(0.5)})),
                         (ox.cosine_onecycle_schedule(np.array(100), np.array(0.1)),
                          optax.cosine_onecycle_schedule(np.array(100), np.array(0.1)))]:
        np.testing.assert_allclose(lrsched.evaluate(ours, 120), [theirs(t) for t in range(120)], rtol=2e-6,
                                   atol=2e-8)  # optax's own float32 cosine near its end


@pytest.mark.parametrize("name", ["linear_onecycle_schedule", "cosine_onecycle_schedule"])
def test_onecycle_with_a_jax_array_length_is_the_int_length(name):
    """A concrete jax (or numpy) array for ``transition_steps`` keys the phase table as its number (it raised
    'unhashable type' from inside the constructor)."""
    want = lrsched.evaluate(getattr(ox, name)(100, 1.0), 120)
    for length in (jnp.asarray(100), np.int64(100), np.asarray(100)):
        np.testing.assert_array_equal(lrsched.evaluate(getattr(ox, name)(length, 1.0), 120), want)


@pytest.mark.parametrize("name", ["linear_onecycle_schedule", "cosine_onecycle_schedule"])
@pytest.mark.parametrize("field", ["div_factor", "final_div_factor"])
def test_onecycle_divisors_are_checked_under_their_own_names(name, field):
    """A negative divisor gives negative values in the phase table, which it refused naming its own argument
    (``boundaries_and_scales``, never passed here): the error names the one-cycle's argument."""
    with pytest.raises(lrsched.ScheduleError, match=f"{name}\\({field}=-2.0\\): {field} must be positive"):
        getattr(ox, name)(100, 1.0, **{field: -2.0})
