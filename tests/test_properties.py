"""Hypothesis properties: finite and non-negative values, continuity where pieces meet."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

import lrsched

rates = st.floats(1e-6, 10.0)
fractions = st.floats(0.0, 1.0)
lengths = st.integers(1, 10_000)
steps = st.lists(st.integers(0, 2**31 - 1), min_size=16, max_size=16)  # one shape: one compile

# One vectorised evaluation per example: all families at once keeps compiles few.
FAMILIES = {
    "linear": lambda d: lrsched.linear(d["a"], d["b"], d["n"]),
    "polynomial": lambda d: lrsched.polynomial(d["a"], d["b"], d["n"], 0.1 + 3 * d["f"]),
    "cosine": lambda d: lrsched.cosine(d["a"], d["n"], d["b"], 0.1 + 3 * d["f"]),
    "exponential": lambda d: lrsched.exponential(d["a"], 0.01 + 0.98 * d["f"], d["m"], end_value=d["b"] * 1e-3),
    "step_decay": lambda d: lrsched.step_decay(d["a"], d["m"], d["f"]),
    "inverse_sqrt": lambda d: lrsched.inverse_sqrt(d["a"], d["m"], d["n"]),
    "inverse_time": lambda d: lrsched.inverse_time(d["a"], d["f"] * 10, d["m"]),
    "cyclic": lambda d: lrsched.cyclic(d["b"], d["a"], d["m"], d["n"], "exp_range", 0.5 + 0.5 * d["f"]),
    "one_cycle": lambda d: lrsched.one_cycle(d["n"], d["a"], d["f"], 1 + d["m"], 1 + d["m"]),
    "one_cycle_momentum": lambda d: lrsched.one_cycle_momentum(d["n"], d["f"] * 0.9, 0.95, d["f"], three_phase=True),
    "warmup_cosine": lambda d: lrsched.warmup_cosine(d["a"], d["m"], d["m"] + d["n"], d["b"], d["b"]),
    "wsd": lambda d: lrsched.wsd(d["a"], d["m"] + d["n"] + 1, d["m"], d["n"], d["b"], d["b"] * d["f"], "sqrt"),
    "tanh": lambda d: lrsched.tanh(d["a"], d["n"], d["b"]),
    "noise": lambda d: lrsched.noise(lrsched.cosine(d["a"], d["n"]), 0.99 * d["f"], seed=d["m"]),
    "cycle": lambda d: lrsched.cycle(lrsched.cosine(d["a"], d["m"]), d["m"], 1 + d["m"] % 3, d["f"], limit=5),
    "warmup": lambda d: lrsched.warmup(lrsched.exponential(d["a"], 0.5, d["n"]), d["m"], d["b"], "cosine"),
}

params = st.fixed_dictionaries({"a": rates, "b": rates, "f": fractions, "n": lengths, "m": lengths})


@given(params, steps)
def test_every_family_is_finite_and_non_negative(d, t):
    t = np.asarray(t, np.int32)
    for name, make in FAMILIES.items():
        v = lrsched.evaluate(make(d), t)
        assert np.all(np.isfinite(v)), name
        assert np.all(v >= 0), name


@given(st.floats(1e-4, 1.0), st.floats(0.0, 1e-3), lengths, lengths)
def test_join_is_continuous_where_the_pieces_meet(peak, low, warm, decay):
    s = lrsched.join([lrsched.linear(low, peak, warm), lrsched.cosine(peak, decay, low)], [warm])
    left, at = lrsched.evaluate(s, [warm - 1, warm])
    assert at == np.float32(peak)
    assert abs(left - at) <= (peak - low) / warm + 1e-6


@given(st.floats(1e-4, 1.0), lengths, lengths, st.sampled_from(["linear", "cosine"]))
def test_warmup_ends_at_the_schedule_start(peak, warm, decay, kind):
    inner = lrsched.cosine(peak, decay)
    s = lrsched.warmup(inner, warm, kind=kind)
    before, at, after = lrsched.evaluate(s, [warm - 1, warm, warm + 1])
    first, second = lrsched.evaluate(inner, [0, 1])
    assert at == first and after == second
    assert before <= first


@given(st.integers(1, 50), st.integers(1, 3), st.floats(0.1, 1.0), st.integers(0, 5000))
def test_cycle_restarts_at_each_period(period, mul, decay, t):
    inner = lrsched.linear(1.0, 0.0, period)
    s = lrsched.cycle(inner, period, mul, decay)
    k, start = 0, 0
    while t >= start + period * mul**k:
        start += period * mul**k
        k += 1
    want = decay**k * lrsched.evaluate(inner, np.float32([(t - start) / mul**k]))[0]
    np.testing.assert_allclose(lrsched.evaluate(s, [t])[0], want, rtol=1e-5)


@given(st.lists(st.tuples(st.integers(1, 100), st.floats(0.0, 1.0)), min_size=1, max_size=5))
def test_piecewise_linear_is_continuous_and_bounded(points):
    gaps, values = zip(*points)
    bounds = np.cumsum(gaps)
    s = lrsched.piecewise_linear(bounds, list(values))
    v = lrsched.evaluate(s, np.linspace(0, bounds[-1] + 3, 64).astype(np.int32))
    assert np.all(v >= min(values) - 1e-6) and np.all(v <= max(values) + 1e-6)
    at = np.resize(bounds, 5)  # a fixed shape: one compile per number of points
    np.testing.assert_allclose(lrsched.evaluate(s, at), np.resize(values, 5), rtol=1e-6, atol=1e-7)
