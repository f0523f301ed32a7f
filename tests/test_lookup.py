"""The piece lookup (``lrsched._numerics.count_reached``) behind join, multistep and the piecewise schedules.

It must equal ``numpy.searchsorted(marks, t, side="right")`` exactly (integer
comparisons: every int32 step, int64 under x64), on both of its methods (the
fused comparisons up to ``LINEAR_LOOKUP`` marks, the binary search beyond), with
batched marks under ``jax.vmap``, and with memory that does not grow with the
number of pieces (the compiled program's temporaries, not a timing).
"""

import dataclasses
import fractions

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import lrsched
from lrsched import _numerics
from lrsched._numerics import LINEAR_LOOKUP, Known, count_reached

BIG = 2**31 - 1
lookup = jax.jit(count_reached)
SIZES = [0, 1, 3, LINEAR_LOOKUP, LINEAR_LOOKUP + 1, 100, 1000, 4097]


def marks_and_steps(n, seed=0, top=BIG):
    rng = np.random.default_rng(seed)
    marks = np.sort(rng.integers(0, top, n))
    if n > 4:
        marks[n // 2] = marks[n // 2 - 1]  # a repeated mark
    near = np.concatenate([marks + d for d in (-1, 0, 1)]) if n else np.zeros(0, np.int64)
    steps = np.concatenate([near, rng.integers(0, top, 500), [0, top - 1, top]])
    return marks, np.clip(steps, -(2**31), BIG)


@pytest.mark.parametrize("n", SIZES)
def test_count_reached_is_searchsorted_right_for_every_size(n):
    marks, steps = marks_and_steps(n)
    want = np.searchsorted(marks, steps, side="right")
    got = lookup(marks.astype(np.int32), steps.astype(np.int32))
    np.testing.assert_array_equal(got, want)
    assert got.dtype == jnp.int32 and got.shape == steps.shape
    # float steps against integer marks, and steps of any shape
    floats = np.asarray(steps[:64], np.float32).reshape(8, 8)
    np.testing.assert_array_equal(lookup(marks.astype(np.int32), floats),
                                  np.searchsorted(marks.astype(np.float32), floats, side="right"))


def test_count_reached_at_the_top_of_the_integer_range():
    marks = np.arange(1, 40, dtype=np.int32) * 1000
    marks[-1] = BIG  # a mark equal to the padding value of the binary search
    steps = np.array([0, BIG - 1, BIG], np.int32)
    np.testing.assert_array_equal(lookup(marks, steps), [0, 38, 39])


@pytest.mark.parametrize("n", [5, 1000])
def test_count_reached_is_exact_for_int64_steps_under_x64(n):
    with jax.enable_x64(True):
        marks, steps = marks_and_steps(n, seed=1, top=2**62)
        got = jax.jit(count_reached)(marks, steps)
        assert got.dtype == jnp.int32
        np.testing.assert_array_equal(got, np.searchsorted(marks, steps, side="right"))
        # 2**53 + 1 is not a float64: integer comparisons tell it from 2**53
        j = lrsched.join([lrsched.constant(1.0), lrsched.constant(2.0)], [2**53 + 1])
        np.testing.assert_array_equal(lrsched.evaluate(j, np.array([2**53, 2**53 + 1])), [1.0, 2.0])


@pytest.mark.parametrize("n", [5, 300])
def test_count_reached_with_batched_marks_under_vmap(n):
    batch = np.stack([marks_and_steps(n, seed=s)[0] for s in range(3)]).astype(np.int32)
    steps = marks_and_steps(n, seed=9)[1].astype(np.int32)
    got = jax.jit(jax.vmap(count_reached, in_axes=(0, None)))(batch, steps)
    for row, marks in zip(np.asarray(got), batch):
        np.testing.assert_array_equal(row, np.searchsorted(marks, steps, side="right"))


@given(st.sampled_from([LINEAR_LOOKUP, 40]).flatmap(lambda n: st.lists(st.integers(0, 200), min_size=n, max_size=n)),
       st.lists(st.integers(-5, 2**31 - 1), min_size=20, max_size=20))
def test_count_reached_property(gaps, steps):
    """Any sorted marks (repeats included: zero gaps), either method: searchsorted's counts."""
    marks = np.cumsum(np.array(gaps, np.int64) ** 3).astype(np.int32)
    steps = np.concatenate([np.array(steps, np.int32), marks[::2]])
    np.testing.assert_array_equal(lookup(marks, steps), np.searchsorted(marks, steps, side="right"))


def pieces(n, length=10):
    return [lrsched.cosine(1.0 + i, length, end_value=0.01 * i) for i in range(n)]


@pytest.mark.parametrize("n", [3, 1000])
def test_join_multistep_and_piecewise_match_references_at_many_pieces(n):
    bounds = np.arange(1, n) * 10
    t = np.concatenate([np.arange(0, 10 * n + 20, 7), bounds - 1, bounds])
    piece = np.searchsorted(bounds, t, side="right")
    local = t - np.concatenate([[0], bounds])[piece]
    j = lrsched.evaluate(lrsched.join(pieces(n), bounds), t)
    init, end = 1.0 + piece, 0.01 * piece
    want = end + (init - end) * 0.5 * (1 + np.cos(np.pi * np.minimum(local, 10) / 10))
    np.testing.assert_allclose(j, want, rtol=2e-6, atol=1e-6)
    m = lrsched.evaluate(lrsched.multistep(1.0, bounds, 0.999), t)
    np.testing.assert_allclose(m, 0.999 ** piece, rtol=2e-6)  # the gamma passed, not its float32 rounding
    values = np.linspace(1.0, 0.0, n)
    c = lrsched.evaluate(lrsched.piecewise_constant(bounds, values), t)
    np.testing.assert_array_equal(c, values[piece].astype(np.float32))
    points = np.concatenate([[0], bounds])
    lin = lrsched.evaluate(lrsched.piecewise_linear(points, values), t)
    np.testing.assert_allclose(lin, np.interp(t, points, values), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("n", [4, 40])
def test_join_vmaps_over_boundaries_and_differentiates(n):
    t = jnp.arange(0, 10 * n, 3)
    batched = jnp.stack([jnp.arange(1, n) * 10, jnp.arange(1, n) * 10 + 5])

    def values(bounds):
        return lrsched.join(pieces(n), bounds)(t)

    got = jax.jit(jax.vmap(values))(batched)
    for row, bounds in zip(np.asarray(got), np.asarray(batched)):
        # an ulp or two apart: XLA contracts a multiply and an add into one rounding (an FMA) where a fusion
        # lets it, so a program built otherwise (batched numbers, op by op) may round differently
        np.testing.assert_allclose(row, lrsched.evaluate(lrsched.join(pieces(n), bounds), np.asarray(t)),
                                   rtol=5e-7, atol=1e-7)
    # derivative with respect to a piece's number, and to float boundaries (the local step moves)
    def scaled(a):
        return lrsched.join([lrsched.cosine(a * (1.0 + i), 10) for i in range(n)], np.arange(1, n) * 10)(25)

    np.testing.assert_allclose(jax.jit(jax.grad(scaled))(1.0), 3.0 * 0.5 * (1 + np.cos(np.pi * 0.5)), rtol=1e-6)
    gb = float(jax.jit(jax.grad(lambda b: lrsched.join(pieces(n), b)(25.0)))(jnp.arange(1, n) * 10.0)[1])
    assert gb > 0  # a later start of piece 2 means an earlier local step: a higher cosine value


def test_memory_does_not_grow_with_the_pieces():
    """Temporaries of the compiled program at 10^6 steps (the steps x pieces comparison needed 4.1 GB)."""
    t = jax.ShapeDtypeStruct((10**6,), jnp.int32)

    def temp(s):
        compiled = jax.jit(lambda s, t: s(t)).lower(s, t).compile()
        return compiled.memory_analysis().temp_size_in_bytes

    bounds = np.arange(1, 1000) * 1000
    joined = temp(lrsched.join(pieces(1000, 1000), bounds))
    milestones = temp(lrsched.multistep(1.0, bounds, 0.5))
    few = temp(lrsched.join(pieces(10, 1000), bounds[:9]))
    assert joined <= 64 * 2**20 and milestones <= 64 * 2**20, (joined, milestones)
    assert joined <= few + 16 * 2**20, (joined, few)


def _cycle_reference(t, period, mul, limit=None):
    """(cycle index k, step in the cycle) by walking the cycles in Python integers."""
    k, start, length = 0, 0, period
    while t >= start + length and (limit is None or k < limit - 1):
        start, length, k = start + length, length * mul, k + 1
    return k, t - start, length


@pytest.mark.parametrize("mul", [2, 3, 7])
@pytest.mark.parametrize("x64", [False, True])
def test_cycle_starts_table_is_exact_up_to_the_top_of_the_integer(mul, x64):
    from lrsched._numerics import cycle_starts

    with jax.enable_x64(x64):
        dtype = np.int64 if x64 else np.int32
        top = np.iinfo(dtype).max
        period = 1237
        starts, size = jax.jit(cycle_starts)(jnp.asarray(period, dtype), jnp.asarray(mul, dtype))
        starts = np.asarray(starts).astype(object)
        want, start, length = [], 0, period
        while start <= top:
            want.append(start)
            start, length = start + length, length * mul
        assert int(size) == len(want)
        assert list(starts[:len(want)]) == want
        assert all(s == top for s in starts[len(want):])


@pytest.mark.parametrize("mul", [1, 2, 3])
@pytest.mark.parametrize("limit", [None, 4])
def test_cycle_integer_path_matches_a_float64_walk_at_large_steps(mul, limit):
    period = 1000
    inner = lrsched.cosine(1.0, period, end_value=0.1)
    kwargs = {} if limit is None else {"limit": limit, "end_value": 0.05}
    s = lrsched.cycle(inner, period, period_mul=mul, decay=0.9, **kwargs)
    rng = np.random.default_rng(3)
    steps = np.concatenate([rng.integers(0, 2**31 - 1, 300), [0, 999, 1000, 2999, 3000, 6999, 7000, 2**31 - 1]])
    got = np.asarray(jax.jit(lambda s, t: s(t))(s, steps.astype(np.int32)))
    want = []
    for t in steps.tolist():
        k, local, length = _cycle_reference(t, period, mul, limit)
        if limit is not None and (t >= sum(period * mul**i for i in range(limit))):
            want.append(0.05)
            continue
        x = min(local / length, 1.0)  # the cosine stretched to this cycle's length
        want.append(0.9**k * (0.1 + 0.9 * 0.5 * (1 + np.cos(np.pi * x))))
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=1e-6)


def test_cycle_with_numbers_batched_without_vmap_is_elementwise():
    import dataclasses

    s = lrsched.cycle(lrsched.cosine(1.0, 10), 10, period_mul=2)
    batched = dataclasses.replace(s, period_mul=jnp.array([1, 2, 3]))
    got = batched(jnp.array([25, 25, 25]))
    want = [lrsched.cycle(lrsched.cosine(1.0, 10), 10, period_mul=m)(25) for m in (1, 2, 3)]
    np.testing.assert_allclose(got, want, rtol=1e-6)


# ------------------------------------------------------------ the elementwise fast paths (issue 12 item 2)


@pytest.mark.parametrize("x64", [False, True])
def test_split_of_non_negative_steps_is_floor_divmod(x64):
    """The signed division for steps inside ``compute`` equals numpy's floor_divmod at every edge."""
    from lrsched._numerics import split

    with jax.enable_x64(x64):
        top = 2**63 - 1 if x64 else BIG
        dtype = np.int64 if x64 else np.int32
        rng = np.random.default_rng(3)
        offsets = np.concatenate([np.arange(0, 2000), [top, top - 1, top - 2, top // 2, top // 3],
                                  rng.integers(0, top, 3000, dtype=np.int64)]).astype(dtype)
        for period in [1, 2, 3, 7, 977, 2**20 + 1, 2**24 - 1, 2**30 + 3, top // 2, top - 1, top]:
            k, r = jax.jit(lambda o, p: split(o, p, non_negative=True))(offsets, dtype(period))
            want_k, want_r = np.divmod(offsets, dtype(period))
            np.testing.assert_array_equal(np.asarray(k), want_k, err_msg=str(period))
            np.testing.assert_array_equal(np.asarray(r), want_r, err_msg=str(period))


# jitted once for the module: every period reuses the programs of its structure (15 per dtype), no recompiles
_growing = jax.jit(lambda c, t, args, doubling: c._growing_cycles(t, *args, Known(c.decay, None), doubling=doubling),
                   static_argnums=3)
_call = jax.jit(lambda c, t: c(t))


@pytest.mark.parametrize("x64", [False, True])
@pytest.mark.parametrize("period", [1, 3, 977, 2**20 + 1, 2**29])
def test_doubling_cycles_equal_the_table_of_starts(period, x64):
    """``period_mul=2`` finds the cycle by bit length; it must give what the table of starts gives, bit for bit."""
    with jax.enable_x64(x64):
        dtype = np.int64 if x64 else np.int32
        rng = np.random.default_rng(4)
        steps = np.concatenate([np.arange(3000), [BIG, BIG - 1, 2**30, 2**30 - 1, 2**31 - 512, 2**31 - 511],
                                rng.integers(0, BIG, 3000)]).astype(dtype)
        inner = [lrsched.cosine(1.0, period), lrsched.one_cycle(max(period, 10), 1.0),
                 lrsched.linear(1.0, 0.0, min(3 * period, BIG))]
        options = [{}, {"decay": 0.9}, {"limit": 3}, {"limit": 5, "end_value": 0.01}, {"stretch": False}]
        for s in inner:
            for kw in options:
                c = lrsched.cycle(s, period, period_mul=2, **kw)
                args = (jnp.asarray(period, dtype), jnp.asarray(2, dtype),
                        None if c.limit is None else jnp.asarray(c.limit, dtype))
                fast = _growing(c, steps, args, True)
                table = _growing(c, steps, args, False)
                np.testing.assert_array_equal(np.asarray(fast), np.asarray(table), err_msg=f"{s} {kw}")
                np.testing.assert_array_equal(np.asarray(_call(c, steps)), np.asarray(table))


@pytest.mark.parametrize("x64", [False, True])
def test_growing_cycles_known_to_fit_skip_the_scaling_with_the_same_values(x64, monkeypatch):
    """Closed over (numbers concrete while tracing), a growing cycle whose stretched durations all fit the step
    integer drops the per-step test and scaling for the longest cycles (``Cycle._stretch_fits``): the same
    values bit for bit as the general path, and cycles whose last durations reach the integer's top keep it
    (every growing cycle under x64)."""
    from lrsched._combinators import Cycle

    with jax.enable_x64(x64):
        dtype = np.int64 if x64 else np.int32
        rng = np.random.default_rng(5)
        steps = np.concatenate([np.arange(3000), [BIG, BIG - 1, 2**30, 2**30 - 1, 2**31 - 512],
                                rng.integers(0, BIG, 3000)]).astype(dtype)
        cycles = [(lrsched.cycle(lrsched.cosine(1.0, 977), 977, period_mul=2), True),
                  (lrsched.cycle(lrsched.cosine(1.0, 977, end_value=0.1), 977, period_mul=2, decay=0.9, limit=9), True),
                  (lrsched.cycle(lrsched.linear(1.0, 0.0, 1000), 1000, period_mul=3), True),
                  (lrsched.cycle(lrsched.linear(1.0, 0.0, 3000), 1000, period_mul=3), False),
                  (lrsched.cycle(lrsched.cosine(1.0, 2**29), 2**29, period_mul=2), False),
                  (lrsched.cycle(lrsched.cosine(1.0, 2**29 + 7), 2**29 + 7, period_mul=2), False)]
        fast = []
        for c, fits in cycles:
            # int64 steps reach 2**63 and stretched durations are capped at 2**62: the last cycles never fit
            assert c._stretch_fits() is (fits and not x64), c
            fast.append(np.asarray(jax.jit(lambda t, c=c: c(t))(steps)))
        monkeypatch.setattr(Cycle, "_stretch_fits", lambda self: False)
        for (c, _), got in zip(cycles, fast):
            np.testing.assert_array_equal(got, np.asarray(jax.jit(lambda t, c=c: c(t))(steps)), err_msg=str(c))


@pytest.mark.parametrize("period, mul", [(10, 3), (7, 5), (3, 7), (1000, 3)])
def test_the_last_cycle_longer_than_the_step_integer_still_restarts_and_anneals(period, mul):
    """A growing cycle whose last cycle starts within int32 but lasts longer than the integer holds: its
    duration is capped and the step scaled (``Cycle._growing_cycles``). The cap was the float32 quotient
    ``2**31 / longest`` rounded up (214748368 for 10 steps): the stretched duration wrapped negative and the
    whole last cycle held the end value."""
    k = 0
    while period * (mul ** (k + 1) - 1) // (mul - 1) <= BIG:
        k += 1
    start, length = period * (mul**k - 1) // (mul - 1), period * mul**k
    assert start <= BIG < start + length
    c = lrsched.cycle(lrsched.cosine(0.1, period, 1e-6), period, period_mul=mul)
    t = np.array([start, start + 1, min(start + 10**8, BIG - 1), start + (BIG - start) // 2, BIG], np.int64)
    want = 1e-6 + (0.1 - 1e-6) * (1 + np.cos(np.pi * (t - start) / length)) / 2
    steps = jnp.asarray(t, jnp.int32)
    for got in (c(steps), jax.jit(lambda t: c(t))(steps), jax.jit(lambda c, t: c(t))(c, steps)):
        np.testing.assert_allclose(np.asarray(got, np.float64), want, rtol=2e-6, err_msg=str(c))


@pytest.mark.parametrize("x64", [False, True])
def test_counts_known_to_fit_one_float_give_the_same_powers(x64, monkeypatch):
    """A power's count with a known bound (a closed-over step_size or period, the table of a growing cycle's
    starts, a concrete limit, multistep's number of milestones) that one float holds exactly skips the low
    part of the two-float exponent: the same values bit for bit as the general path, at every step."""
    from lrsched import _combinators, _primitives

    with jax.enable_x64(x64):
        dtype = np.int64 if x64 else np.int32
        rng = np.random.default_rng(11)
        steps = np.concatenate([np.arange(5000), [BIG, BIG - 1, 2**24 + 1, 2**30 - 1, 2**31 - 512],
                                rng.integers(0, BIG, 5000)]).astype(dtype)
        schedules = [lrsched.step_decay(0.1, 1000, 0.97), lrsched.step_decay(1.0, 200, 0.999_9),
                     lrsched.step_decay(1.0, 3, 0.9),  # a count past the significand: the general path
                     lrsched.exponential(1.0, 0.93, 500, staircase=True),
                     lrsched.multistep(1.0, list(range(100, 2100, 100)), 0.9),
                     lrsched.cycle(lrsched.cosine(1.0, 1000), 1000, decay=0.9),
                     lrsched.cycle(lrsched.cosine(1.0, 1000), 1000, decay=0.9, limit=40, end_value=0.01),
                     lrsched.cycle(lrsched.cosine(1.0, 977, end_value=0.1), 977, period_mul=2, decay=0.97),
                     lrsched.cycle(lrsched.linear(1.0, 0.0, 100), 100, period_mul=3, decay=0.8)]
        fast = [np.asarray(jax.jit(lambda t, s=s: s(t))(steps)) for s in schedules]
        monkeypatch.setattr(_primitives, "largest_count", lambda *a: None)
        monkeypatch.setattr(_combinators, "largest_count", lambda *a: None)
        monkeypatch.setattr(_numerics, "_significand_limit", lambda: 0)  # no count fits: the general path
        for s, got in zip(schedules, fast):
            np.testing.assert_array_equal(got, np.asarray(jax.jit(lambda t, s=s: s(t))(steps)), err_msg=str(s))


def test_largest_count_bounds_every_quotient():
    for dtype in (np.int32, np.int64):
        top = np.iinfo(dtype).max
        for period in (1, 2, 3, 127, 128, 1000, 2.5, 10**9):
            most = _numerics.largest_count(dtype, np.asarray(period))
            exact = int(top // fractions.Fraction(period))
            assert most is not None and exact <= most <= exact + 1, (dtype, period)
    assert _numerics.largest_count(np.int32, None) is None
    assert _numerics.largest_count(np.float32, np.asarray(100)) is None  # float steps: no bound
    assert _numerics.largest_count(np.int32, np.asarray([100, 200])) is None  # batched
    assert _numerics.largest_count(np.int32, np.asarray(0.5)) is None


def test_powers_of_a_growing_cycle_have_the_derivative_of_the_decay():
    """A growing cycle's count is always bounded (its table of starts): d/dd of d**k inner through the float
    count path."""
    c = lrsched.cycle(lrsched.constant(1.0), 10, period_mul=2, decay=0.9)
    t = jnp.asarray([0, 9, 10, 29, 30, 1000, 10**6], jnp.int32)
    k = np.asarray([0, 0, 1, 1, 2, 6, 16], np.float64)
    grad = jax.vmap(jax.grad(lambda d, t: dataclasses.replace(c, decay=d)(t)), (None, 0))(jnp.float32(0.9), t)
    np.testing.assert_allclose(np.asarray(grad, np.float64), k * 0.9 ** np.maximum(k - 1, 0), rtol=2e-6)


def test_powers_of_a_rate_near_one_keep_float32_precision_over_many_steps():
    """A rate float32 cannot hold (0.9999) raised to 8e5: its low part joins the two-float exponent (it
    was a first-order factor exp(s) (1 + c), 9e-5 off where c = t lo / r reached 0.013)."""
    t = np.array([0, 1, 15, 16, 17, 1000, 100_000, 400_000, 800_000])
    want = 0.9999 ** t.astype(np.float64)
    for s in [lrsched.exponential(1.0, 0.9999, steps=1), lrsched.exponential(1.0, 0.9999, 1, staircase=True),
              lrsched.step_decay(1.0, 1, 0.9999), lrsched.cycle(lrsched.constant(1.0), 1, decay=0.9999)]:
        got = np.asarray(jax.jit(lambda s, t: s(t))(s, jnp.asarray(t, jnp.int32)), np.float64)
        np.testing.assert_allclose(got, want, rtol=2e-7, err_msg=str(s))
