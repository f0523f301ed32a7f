"""The step policy at large counts (2**24 + 1, 2**31 - 1), and the errors for bad input."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lrsched

BIG = 2**31 - 1


def f32(x):
    return np.float32(x)


def test_linear_over_2_30_steps_distinguishes_consecutive_steps():
    n = 2**30
    down = lrsched.linear(1.0, 0.0, n)
    t = np.array([n - 3, n - 2, n - 1, n])
    got = lrsched.evaluate(down, t)
    want = np.array([3, 2, 1, 0]) / 2.0**30  # exact integers remaining / n
    np.testing.assert_array_equal(got, want.astype(np.float32))
    assert len(set(got.tolist())) == 4
    up = lrsched.linear(0.0, 1.0, n)
    t = np.array([1, 2, 3, 2**24 + 2, 2**24 + 4])
    np.testing.assert_array_equal(lrsched.evaluate(up, t), (t / 2.0**30).astype(np.float32))


def test_linear_phase_exact_under_x64_past_2_24():
    with jax.enable_x64(True):
        s = lrsched.linear(0.0, 1.0, 2**30)
        t = 2**24 + np.arange(5)
        got = lrsched.evaluate(s, t)
        np.testing.assert_array_equal(got, t / 2.0**30)
        assert np.all(np.diff(got) > 0)


@pytest.mark.parametrize("step", [2**24 + 1, BIG])
def test_values_at_large_steps(step):
    # cosine over the whole int32 range: exact near its end thanks to the integer `left` count
    s = lrsched.cosine(1.0, BIG)
    left = (BIG - step) / BIG
    want = math.sin(0.5 * math.pi * left) ** 2 if step > BIG / 2 else math.cos(0.5 * math.pi * step / BIG) ** 2
    np.testing.assert_allclose(lrsched.evaluate(s, [step])[0], want, rtol=1e-6, atol=1e-30)
    # cyclic position from integer modulo
    c = lrsched.cyclic(0.0, 1.0, up_steps=7, down_steps=5)
    pos = step % 12
    want = pos / 7 if pos <= 7 else (12 - pos) / 5
    assert lrsched.evaluate(c, [step])[0] == f32(want)
    # step decay counts whole periods exactly
    d = lrsched.step_decay(1.0, step_size=step, gamma=0.5)
    np.testing.assert_array_equal(lrsched.evaluate(d, [step - 1, step]), f32([1.0, 0.5]))
    # join boundaries and local steps in integers
    j = lrsched.join([lrsched.constant(1.0), lrsched.linear(0.0, 1.0, 10)], [step - 4])
    np.testing.assert_array_equal(lrsched.evaluate(j, [step - 5, step - 4, step]), f32([1.0, 0.0, 0.4]))
    # warm restarts with doubling periods: cycle position from exact integer starts
    period = 1000
    r = lrsched.cycle(lrsched.linear(0.0, 1.0, 2**30), period=period, period_mul=2, stretch=False)
    k, start = 0, 0
    while step >= start + period * 2**k:
        start += period * 2**k
        k += 1
    assert lrsched.evaluate(r, [step])[0] == f32((step - start) / 2**30)


def test_cosine_tail_is_not_cancelled():
    s = lrsched.cosine(1.0, BIG)
    v = lrsched.evaluate(s, [BIG - 1, BIG - 2])
    want = [math.sin(0.5 * math.pi / BIG) ** 2, math.sin(math.pi / BIG) ** 2]
    np.testing.assert_allclose(v, want, rtol=1e-5)
    assert v[0] > 0 and v[1] > v[0]


def test_past_the_end_holds_and_periodic_ones_keep_cycling():
    assert lrsched.evaluate(lrsched.one_cycle(100, 1.0), [99, 100, BIG]).tolist() == [
        lrsched.evaluate(lrsched.one_cycle(100, 1.0), [99])[0]
    ] * 3
    assert np.all(lrsched.evaluate(lrsched.cosine(1.0, 10, end_value=0.1), [10, 11, BIG]) == f32(0.1))
    cyc = lrsched.evaluate(lrsched.cyclic(0.0, 1.0, 4), [2, 10, 18])
    assert cyc.tolist() == [0.5, 0.5, 0.5]


def test_periods_and_shifts_past_the_step_integers_top_do_not_wrap():
    """int32 sums of step counts that pass 2**31 - 1 wrapped to negative periods and steps: a periodic cosine
    over 2**30 steps held its initial value, a cyclic rate with two 2**30-step halves its base, an advanced
    schedule near the top gave its value at step 0."""
    big = 2**31 - 1
    cos = lrsched.cosine(0.1, 2**30 + 10, 0.0, periodic=True)
    tri = lrsched.cyclic(0.0, 1.0, 2**30, 2**30)
    ahead = lrsched.shift(lrsched.linear(0.0, 1.0, big), -1000)
    cases = [(cos, [(2**30 + 10) // 2, 2**30 + 10, big], [0.05, 0.0, 0.1 * np.cos(np.pi / 2 * 21 / (2**30 + 10))**2]),
             (tri, [2**29, 2**30, big], [0.5, 1.0, 1.0 / 2**30]),
             (ahead, [big - 1001, big - 1000, big], [1.0, 1.0, 1.0])]
    for s, steps, want in cases:
        t = jnp.asarray(steps, jnp.int32)
        for got in (s(t), jax.jit(lambda t, s=s: s(t))(t), jax.jit(lambda s, t: s(t))(s, t)):
            np.testing.assert_allclose(np.asarray(got, np.float64), want, rtol=1e-5, atol=1e-9, err_msg=str(s))


def test_python_int_step_outside_int32_raises_clearly():
    with pytest.raises(ValueError, match="does not fit in int32.*jax_enable_x64"):
        lrsched.cosine(1.0, 10)(2**31)
    with pytest.raises(ValueError, match=r"cosine\(steps=4294967296\).*int32"):
        lrsched.cosine(1.0, 2**32)
    with jax.enable_x64(True):
        s = lrsched.linear(0.0, 1.0, 2**40)
        assert float(s(2**39)) == 0.5
        # every int64 step is a step, as a Python int too (those past 2**62 were refused as not fitting)
        c = lrsched.cosine(0.1, 1000, periodic=True)
        for t in (2**62 + 3, 2**63 - 1):
            assert float(c(t)) == float(c(np.int64(t)))
        with pytest.raises(ValueError, match="does not fit in int64"):
            c(2**63)


BAD = [
    (lambda: lrsched.cosine(1.0, 0), r"cosine\(steps=0\): steps must be positive; got 0\. Pass a number > 0"),
    (lambda: lrsched.cosine(1.0, -5), r"cosine\(steps=-5\): steps must be positive"),
    (lambda: lrsched.linear(float("nan"), 0.0, 10), r"linear\(init_value=nan\): init_value must be finite"),
    (lambda: lrsched.linear(0.0, 1.0, -1), r"linear\(steps=-1\): steps must be non-negative"),
    (lambda: lrsched.polynomial(1.0, 0.0, 10, power=0), r"polynomial\(power=0\): power must be positive"),
    (lambda: lrsched.exponential(1.0, rate=0.0), r"exponential\(rate=0\.0\): rate must be positive"),
    (lambda: lrsched.exponential(1.0, 0.5, end_value=float("inf")), r"end_value must be finite"),
    (lambda: lrsched.step_decay(1.0, 0, 0.5), r"step_decay\(step_size=0\)"),
    (lambda: lrsched.multistep(1.0, [30, 10], 0.1), r"multistep\(milestones=\[30, 10\]\).*non-decreasing.*Sort"),
    (lambda: lrsched.inverse_sqrt(1.0, timescale=0), r"inverse_sqrt\(timescale=0\)"),
    (lambda: lrsched.piecewise_constant([5, 2], [1.0, 0.5, 0.1]), r"piecewise_constant\(boundaries=\[5, 2\]\)"),
    (lambda: lrsched.piecewise_constant([2, 5], [1.0, 0.5]), r"values must be of length 3 \(one more than"),
    (lambda: lrsched.piecewise_linear([1, 2, 3], [0.0, 1.0]), r"values must be of length 3"),
    (lambda: lrsched.piecewise_linear([], []), r"boundaries must be non-empty"),
    (lambda: lrsched.cyclic(0.0, 1.0, 10, mode="triangle"), r"cyclic\(mode='triangle'\): mode must be one of"),
    (lambda: lrsched.cyclic(0.0, 1.0, 0), r"cyclic\(up_steps=0\)"),
    (lambda: lrsched.one_cycle(100, 1.0, pct_start=1.5), r"one_cycle\(pct_start=1\.5\): pct_start must be in \[0, 1\]"),
    (lambda: lrsched.one_cycle(0, 1.0), r"one_cycle\(total_steps=0\)"),
    (lambda: lrsched.one_cycle(100, 1.0, anneal="cosine"), r"anneal must be one of 'cos', 'linear'"),
    (lambda: lrsched.one_cycle_momentum(100, pct_start=-0.1), r"pct_start must be in \[0, 1\]"),
    (lambda: lrsched.warmup_cosine(1.0, 50, 10), r"warmup_cosine\(total_steps=10\).*at least warmup_steps"),
    (lambda: lrsched.wsd(1.0, 100, 60, 50), r"wsd\(total_steps=100\).*warmup_steps \+ decay_steps"),
    (lambda: lrsched.wsd(1.0, 100, 10, 10, decay="exp"), r"decay must be one of"),
    (lambda: lrsched.tanh(1.0, 0), r"tanh\(steps=0\)"),
    (lambda: lrsched.noise(lrsched.constant(1.0), pct=1.5), r"noise\(pct=1\.5\)"),
    (lambda: lrsched.noise(lrsched.constant(1.0), pct=0.1, kind="gauss"), r"kind must be one of"),
    (lambda: lrsched.join([lrsched.constant(1.0)] * 3, [10]),
     r"join\(boundaries=\[10\]\): boundaries must be of length 2"),
    (lambda: lrsched.join([lrsched.constant(1.0)] * 3, [20, 10]), r"join\(boundaries=\[20, 10\]\).*non-decreasing"),
    (lambda: lrsched.join([], []), r"schedules must be non-empty"),
    (lambda: lrsched.join([lrsched.constant(1.0), 0.5], [3]), r"join\(schedules\[1\]\): expected an lrsched Schedule"),
    (lambda: lrsched.warmup(lrsched.constant(1.0), -1), r"warmup\(steps=-1\)"),
    (lambda: lrsched.warmup(lrsched.constant(1.0), 5, kind="exp"), r"warmup\(kind='exp'\)"),
    (lambda: lrsched.cycle(lrsched.constant(1.0), 0), r"cycle\(period=0\)"),
    (lambda: lrsched.cycle(lrsched.constant(1.0), 10, period_mul=0.5),
     r"cycle\(period_mul=0\.5\): period_mul must be >= 1"),
    (lambda: lrsched.cycle(lrsched.constant(1.0), 10, limit=0), r"cycle\(limit=0\)"),
    (lambda: lrsched.clip(lambda t: t, 0.0), r"clip\(schedule\): expected an lrsched Schedule; got function"),
    (lambda: lrsched.constant(1.0) * "x", r"mul\(right='x'\): right must be a Schedule or a number; got 'x'"),
]


@pytest.mark.parametrize("build,message", BAD, ids=[m[:40] for _, m in BAD])
def test_bad_input_raises_a_clear_error(build, message):
    with pytest.raises(lrsched.ScheduleError, match=message):
        build()


def test_traced_values_are_not_validated_under_jit():
    @jax.jit
    def f(steps, pct, bounds):
        a = lrsched.cosine(1.0, steps)(3)
        b = lrsched.one_cycle(100, 1.0, pct_start=pct)(3)
        c = lrsched.piecewise_constant(bounds, [1.0, 0.5, 0.1])(3)
        return a, b, c

    a, b, c = f(0, 1.5, jnp.array([5, 2]))  # all invalid, none raises under tracing
    assert np.isfinite(float(b)) and np.isfinite(float(c))


def test_config_errors_are_clear():
    with pytest.raises(lrsched.ScheduleError, match="unknown schedule type 'kosine'. Known types:"):
        lrsched.from_config({"type": "kosine", "init_value": 1.0})
    with pytest.raises(lrsched.ScheduleError, match="bad arguments for 'cosine'"):
        lrsched.from_config({"type": "cosine", "init_value": 1.0, "stepz": 3})
    with pytest.raises(lrsched.ScheduleError, match=r"cosine\(steps=0\)"):
        lrsched.from_config({"type": "cosine", "init_value": 1.0, "steps": 0})
    with pytest.raises(lrsched.ScheduleError, match="made by lrsched.to_config"):
        lrsched.from_config([1, 2])
    with pytest.raises(lrsched.ScheduleError, match="'type' is its name, a string; got \\['cosine'\\]"):
        lrsched.from_config({"type": ["cosine"], "init_value": 1.0})  # (an unhashable name: a raw TypeError before)

    @jax.jit
    def traced(x):
        lrsched.to_config(lrsched.constant(x))
        return x

    with pytest.raises(lrsched.ScheduleError, match="traced value"):
        traced(1.0)


def test_evaluate_rejects_non_schedules():
    with pytest.raises(TypeError, match="needs an lrsched Schedule"):
        lrsched.evaluate(lambda t: t, 3)
    with pytest.raises(ValueError, match="must be >= 0"):
        lrsched.evaluate(lrsched.constant(1.0), -1)


@pytest.mark.parametrize("period,mul", [(1, 1), (5, 1), (1000, 1), (3, 3), (1000, 2), (7, 5), (2**30, 2)])
def test_cycle_starts_are_exact_over_the_int32_range(period, mul):
    """Every restart (and the steps around it) up to 2**31 - 1, against Python integers."""
    span = 2**31 - 1
    r = lrsched.cycle(lrsched.linear(0.0, 1.0, span), period=period, period_mul=mul, stretch=False)
    starts, k = [0], 0
    while starts[-1] < 2**31 and len(starts) < 200:
        starts.append(starts[-1] + period * mul**k)
        k += 1
    t = np.array(sorted({min(max(s + d, 0), BIG) for s in starts for d in (-1, 0, 1)} | {BIG - 1, BIG}))
    if mul == 1:
        want = (t % period) / span
    else:
        want = np.array([x - starts[np.searchsorted(starts, x, side="right") - 1] for x in t]) / span
    np.testing.assert_array_equal(lrsched.evaluate(r, t), want.astype(np.float32))


def test_integer_step_arrays_outside_int32_raise_clearly():
    big = np.array([3, 2**31 + 5], np.int64)
    with pytest.raises(ValueError, match="2147483653 does not fit in int32"):
        lrsched.evaluate(lrsched.linear(1.0, 0.0, 10), big)
    with pytest.raises(ValueError, match="does not fit in int32"):
        lrsched.linear(1.0, 0.0, 10)(big)


def test_gradients_are_finite_where_a_schedule_is_held_or_not_started():
    wsd = [float(jax.grad(lambda d, t=t: lrsched.wsd(1.0, 100.0, 10.0, d, decay="sqrt")(t))(20.0))
           for t in (5, 50, 80, 90)]
    assert wsd[:3] == [0.0, 0.0, 0.0] and np.isfinite(wsd[3]) and wsd[3] < 0
    assert float(jax.grad(lambda s: lrsched.polynomial(1.0, 0.0, s, power=0.5)(20))(10.0)) == 0.0
    assert float(jax.grad(lambda n: lrsched.warmup_cosine(1.0, 10.0, n, exponent=0.5)(150))(100.0)) == 0.0


def test_noise_is_keyed_by_the_whole_step():
    n = lrsched.noise(lrsched.constant(1.0), 0.1)
    with jax.enable_x64(True):
        ints = np.asarray(n(np.array([3, 2**32 + 3])))
        floats = np.asarray(n(np.array([3.0, 2**32 + 3.0])))
    assert ints[0] != ints[1]  # no repeat every 2**32 steps
    np.testing.assert_array_equal(ints, floats)  # int and float steps draw alike


@pytest.mark.parametrize("total", [1000, 2**26 + 5, 30_000_007])
def test_one_cycle_phases_are_exact_past_2_24_steps(total):
    """torch's formula in float64 (phase ends pct*T - 1 and T - 1), linear anneal: relative 1e-6 in float32."""
    peak, initial = 1.0, 1.0 / 25
    low, e1, e2 = initial / 1e4, 0.3 * total - 1, total - 1.0

    def ref(t):
        t = min(t, total - 1)
        if t <= e1:
            return initial + (peak - initial) * t / e1
        return peak + (low - peak) * (t - e1) / (e2 - e1)

    k = int(0.3 * total)
    t = np.array([0, 1, k - 2, k - 1, k, k + 1, total - 7, total - 2, total - 1, total + 5])
    got = lrsched.evaluate(lrsched.one_cycle(total, peak, anneal="linear"), t)
    np.testing.assert_allclose(got, [ref(x) for x in t], rtol=1e-6)


def test_a_batch_of_schedules_at_one_step_gives_a_value_per_entry():
    """Numbers that are arrays (a stacked sweep, or a numpy user's array argument) broadcast with the steps by
    numpy's rule, as optax's schedules do: at one step, one value per entry (a late JAX broadcasting error
    before); steps of a shape they do not broadcast with are a clear error."""
    from lrsched import sweep

    one, two = lrsched.cosine(0.1, 100), lrsched.cosine(0.2, 100)
    stacked = sweep.stack([one, two])
    want = np.array([float(one(5)), float(two(5))], np.float32)
    for s in (stacked, lrsched.cosine(jnp.array([0.1, 0.2]), 100)):
        np.testing.assert_array_equal(np.asarray(s(5)), want)
        np.testing.assert_array_equal(np.asarray(jax.jit(lambda s: s(5))(s)), want)
        np.testing.assert_array_equal(np.asarray(s(jnp.array([5, 5]))), want)
        with pytest.raises(ValueError, match=r"values of shape \(2,\), and the steps have shape \(3,\): the two "
                                             r"do not broadcast"):
            s(jnp.arange(3))
    assert lrsched.cosine(jnp.array([[0.1], [0.2]]), 100)(jnp.arange(3)).shape == (2, 3)


@pytest.mark.parametrize("step", [float("nan"), float("inf"), -np.inf, np.array([1.0, np.nan])], ids=repr)
def test_a_concrete_non_finite_step_is_refused(step):
    """A NaN step is no step (a join answered its first piece's value), an infinite one has no value (an
    exponential's was NaN): refused when called, as ``evaluate`` refuses them."""
    s = lrsched.join([lrsched.exponential(1.0, 0.5), lrsched.constant(0.5)], [5])
    with pytest.raises(lrsched.ScheduleError, match="is not finite"):
        s(step)


@pytest.mark.parametrize("make, step", [
    (lambda: lrsched.linear(0.3, 0.0, 7), 0), (lambda: lrsched.polynomial(25.0, 10.0, 10, 2.0), 0),
    (lambda: lrsched.warmup(lrsched.constant(0.1), 5), 5), (lambda: lrsched.linear(0.0, 0.1, 3), 3),
    (lambda: lrsched.warmup_cosine(0.1, 5, 50), 5), (lambda: lrsched.wsd(0.3, 100, 7, 13, decay="linear"), 7),
], ids=["linear start", "polynomial start", "warmup end", "linear end", "warmup_cosine peak", "wsd peak"])
def test_the_ends_are_exact_under_jit_with_the_numbers_closed_over(make, step):
    """optax's habit (jax.jit(schedule) with its numbers as constants): XLA must not merge a phase's reciprocal
    with the schedule's constant factor (0.30000004 instead of 0.3 at step 0 before): the ends are the numbers."""
    s = make()
    eager = np.asarray(s(step))
    assert np.asarray(jax.jit(s)(step)) == eager == np.float32(np.asarray(eager, np.float64))
    assert np.asarray(jax.jit(lambda t: s(t))(jnp.asarray(step))) == eager


@pytest.mark.parametrize("c", [1.0, 2.0, 3.0, 0.5, 1.5, 0.3, 7.25])
def test_scaled_remainder_is_exact_against_integer_arithmetic(c):
    """``c n = k period + r`` (the transformers cosine's and restarts' position) for int32 steps and periods up to
    2**31, float32: k exact and ``r_hi + r_lo`` the true remainder within 1e-14 c n, near the period's end too
    (where ``r + r_lo`` and the period both round to 2**31: a remainder of one period instead of period - 1 before)."""
    from fractions import Fraction

    from lrsched._numerics import scaled_remainder

    rng = np.random.default_rng(int(c * 100))
    periods = np.concatenate([rng.integers(1, 2**31, 300), 2**31 - rng.integers(1, 300, 100),
                              rng.integers(1, 2**25, 100)])
    ns = np.concatenate([rng.integers(0, 2**31, 300), periods[300:400] - rng.integers(1, 20, 100),
                         rng.integers(0, 2**31, 100)])
    ns = np.minimum(ns, 2**31 - 1)
    c32 = np.float32(c)
    k, r_hi, r_lo = jax.jit(scaled_remainder)(jnp.asarray(ns, jnp.int32), jnp.float32(c32), jnp.float32(0),
                                              jnp.asarray(periods, jnp.int32))
    cf = Fraction(float(c32))
    for i, (n, p) in enumerate(zip(ns.tolist(), periods.tolist())):
        q, r = divmod(cf * n, p)
        got = Fraction(float(r_hi[i])) + Fraction(float(r_lo[i]))
        assert int(k[i]) == q, (n, p, int(k[i]), q)
        assert abs(got - r) <= Fraction(1, 10**14) * cf * n + Fraction(1, 10**30), (n, p, float(got), float(r))


def test_float32_cosine_weight_is_within_its_documented_ulps_and_periodic():
    """``cos_anneal``'s float32 sine is a polynomial (XLA CPU's ``jnp.sin`` is a scalar libm call per element):
    against float64 on 2**20 float32 values spread over [2**-60, 1] it stays within the 2.52 ulp that
    ``scripts/sine_polynomial.py`` measures on all of them, and beyond [0, 1] it is sin(pi x / 2)**2 still
    (a one-cycle's extrapolated phase); its derivative is the sine's."""
    from lrsched._numerics import cos_anneal

    lo, hi = int(np.float32(2.0**-60).view(np.uint32)), int(np.float32(1.0).view(np.uint32))
    x = np.linspace(lo, hi, 2**20).astype(np.uint32).view(np.float32)
    truth = np.sin(np.pi / 2 * x.astype(np.float64)) ** 2
    got = np.asarray(jax.jit(lambda x: cos_anneal(None, x))(x), np.float64)
    ulps = np.abs(got - truth) / np.spacing(truth.astype(np.float32))
    assert ulps.max() <= 2.52 and ulps.mean() < 0.6
    wide = np.linspace(-7.0, 7.0, 100_001, dtype=np.float32)
    np.testing.assert_allclose(jax.jit(lambda x: cos_anneal(None, x))(wide),
                               np.sin(np.pi / 2 * wide.astype(np.float64)) ** 2, rtol=0, atol=2e-7)
    slope = jax.jit(jax.vmap(jax.grad(lambda x: cos_anneal(None, x))))(wide)
    np.testing.assert_allclose(slope, np.pi / 2 * np.sin(np.pi * wide.astype(np.float64)), rtol=0, atol=2e-6)
