"""`known_cases`: the exponents 1 and 2 of a power, a powered cosine and a k-decay warp get exact fast
forms, chosen at run time for a scalar exponent and per element for a batched one, with the general form's
derivative. The same values whichever way the case is chosen (switch, select, vmap), and the right case for
every combination of two exponents."""

from __future__ import annotations

import itertools

import jax
import jax.extend
import jax.numpy as jnp
import numpy as np
import pytest

import lrsched
from lrsched import _numerics
from lrsched._numerics import Case, known_cases

VALUES = (1.0, 2.0, 0.7, 3.0)  # the two fast cases and general ones on either side

# jitted once for the module: a structure compiles once, whatever its numbers (they are arguments)
_call = jax.jit(lambda s, t: s(t))
_mapped = jax.jit(jax.vmap(lambda s, t: s(t), in_axes=(0, None)))


def test_each_combination_reaches_its_case():
    """Two exponents: the body sees each one as known 1, known 2 or general, as its value says (the
    switch's branch order and the index built from both exponents agree)."""

    def body(a, b):
        code = lambda k: 0.0 if k.value is None else k.value  # noqa: E731
        return jnp.asarray(10 * code(a) + code(b), jnp.float32)

    for a, b in itertools.product(VALUES, repeat=2):
        want = 10 * (a if a in (1.0, 2.0) else 0.0) + (b if b in (1.0, 2.0) else 0.0)
        assert float(jax.jit(lambda a, b: known_cases(body, Case(a), Case(b)))(a, b)) == want, (a, b)
        batched = known_cases(body, Case(jnp.full((3,), a)), Case(b))  # a batched exponent: selected per element
        assert batched.tolist() == [want] * 3, (a, b)


def test_none_stays_none():
    assert known_cases(lambda a, b: jnp.asarray(0.0 if a is None else 1.0), Case(None), Case(None)) == 0.0
    assert known_cases(lambda a, b: jnp.asarray(float(b is None)), Case(2.0), Case(None)) == 1.0


def test_a_value_is_known_only_where_its_low_part_is_zero():
    """A precise leaf (a float64 number's float32 remainder riding along): 1.0 with a remainder is general."""
    body = lambda d: jnp.asarray(-1.0 if d.value is None else d.value)  # noqa: E731
    assert float(known_cases(body, Case(1.0, (1.0,), low=0.0))) == 1.0
    assert float(known_cases(body, Case(1.0, (1.0,), low=1e-9))) == -1.0
    assert float(known_cases(body, Case(0.5, (1.0,), low=0.0))) == -1.0


def _families(power, k):
    n = 1000
    return {
        "polynomial": lrsched.polynomial(0.9, 0.01, n, power=power, k_decay=k),
        "polynomial rising": lrsched.polynomial(0.01, 0.9, n, power=power, k_decay=k),
        "cosine": lrsched.cosine(0.9, n, end_value=0.01, exponent=power, k_decay=k),
        "cosine rising": lrsched.cosine(0.01, n, end_value=0.9, exponent=power, k_decay=k),
        "warmup_cosine": lrsched.warmup_cosine(0.9, 100, n, end_value=0.01, exponent=power),
    }


def _reference(name, power, k, t):
    """float64: the formulas as written."""
    n = 1000
    p = np.minimum(t, n) / n
    if name == "warmup_cosine":
        up = 0.9 * t / 100
        q = np.clip((t - 100) / 900, 0, 1)
        return np.where(t < 100, up, 0.01 + 0.89 * ((1 + np.cos(np.pi * q)) / 2) ** power)
    init, end = (0.01, 0.9) if "rising" in name else (0.9, 0.01)
    pk = p ** (1.0 if k is None else k)
    shape = (1 - pk) ** power if name.startswith("polynomial") else ((1 + np.cos(np.pi * pk)) / 2) ** power
    return end + (init - end) * shape


@pytest.mark.parametrize("x64", [False, True], ids=["float32", "x64"])
@pytest.mark.parametrize("power,k", [(2.0, None), (1.0, 2.0), (0.7, 2.0), (3.0, 0.7)])
def test_values_match_the_formula_and_every_path_agrees(power, k, x64):
    """Each case against the float64 formula; then the same values bit for bit from a scalar exponent (the
    switch), a batched schedule called directly (the select) and `vmap` over the exponents."""
    t = np.concatenate([np.arange(0, 1001, 7), [999, 1000, 1001, 2**31 - 1]])
    with jax.enable_x64(x64):
        rtol = 1e-12 if x64 else 2e-6
        pairs = [(power, k)] + [(p, None if k is None else q) for p, q in [(1.0, 1.0), (2.0, 2.0), (2.5, 0.5)]]
        others = [_families(p, q) for p, q in pairs]
        for name in others[0]:
            members = [o[name] for o in others]
            singles = np.stack([np.asarray(_call(m, t)) for m in members])
            for (p, q), got in zip(pairs, singles):
                np.testing.assert_allclose(got, _reference(name, p, q, t.astype(np.float64)), rtol=rtol,
                                           atol=1e-7 if not x64 else 1e-15, err_msg=f"{name} {p} {q}")
            batched = lrsched.sweep.stack(members)
            mapped = np.asarray(_mapped(batched, t))
            np.testing.assert_array_equal(mapped, singles, err_msg=name)
            direct = np.asarray(_per(batched, t))  # as a join's gathered pieces: a select
            np.testing.assert_array_equal(direct, singles, err_msg=name)


def _per_element(batched, t):
    """The stacked schedule called with every leaf broadcast to the steps' shape (4, len(t))."""
    shape = (len(jax.tree.leaves(batched)[0]), len(t))
    s = jax.tree.map(lambda leaf: jnp.broadcast_to(leaf.reshape(leaf.shape[:1] + (1,) * (leaf.ndim == 1)), shape),
                     batched)
    return s(jnp.broadcast_to(t, shape))


_per = jax.jit(_per_element)


@pytest.mark.parametrize("field", ["power", "k_decay"])
@pytest.mark.parametrize("value", [1.0, 2.0, 1.3])
def test_derivative_in_the_exponent_is_the_general_one(field, value):
    """At 1 and 2 the fast forms do not depend on the exponent, but the derivative is that of the general
    power: ``d/de (1 - p)^e = (1 - p)^e log(1 - p)``, ``d/dk (1 - p^k) = -p^k log p``."""
    n, t = 1000, 250.0
    p = t / n

    def value_at(x):
        args = {"power": 1.5, "k_decay": 1.5, field: x}
        return lrsched.polynomial(1.0, 0.0, n, power=args["power"], k_decay=args["k_decay"])(t)

    with jax.enable_x64(True):
        got = float(jax.jit(jax.grad(value_at))(value))
        e, k = (value, 1.5) if field == "power" else (1.5, value)
        base = 1 - p**k
        want = base**e * np.log(base) if field == "power" else e * base ** (e - 1) * (-(p**k) * np.log(p))
        np.testing.assert_allclose(got, want, rtol=1e-10)


@pytest.mark.parametrize("x64", [False, True], ids=["float32", "x64"])
def test_cycles_every_period_mul_and_decay_path_agrees(x64):
    """A cycle's ``period_mul`` 1 and 2 and its decay of 1 have branches of their own: a single cycle (the
    switch) and a sweep over them (vmap: a select) agree bit for bit, a join of them (which gathers its pieces'
    numbers per step) within an ulp, and a decay of 1 that is not exactly 1 (a float64 remainder) still decays."""
    t = np.concatenate([np.arange(0, 3000, 3), [2**24 + 1, 2**31 - 1]])
    with jax.enable_x64(x64):
        members = [lrsched.cycle(lrsched.cosine(1.0, 100, end_value=0.1), 100, period_mul=m, decay=d)
                   for m in (1, 2, 3) for d in (1.0, 0.9)]
        singles = np.stack([np.asarray(_call(m, t)) for m in members])
        batched = lrsched.sweep.stack(members)
        mapped = np.asarray(_mapped(batched, t))
        np.testing.assert_array_equal(mapped, singles)
        bounds = [500 * i for i in range(1, len(members))]  # a join gathers its pieces' leaves per step
        joined = np.asarray(_call(lrsched.join(members, bounds), np.arange(3000)))
        for i, m in enumerate(members):
            np.testing.assert_allclose(joined[500 * i:500 * (i + 1)], np.asarray(m(np.arange(500))), rtol=4e-7,
                                       err_msg=str(i))  # an ulp: the join's own program (fused otherwise)
        first, second = t < 100, (t >= 100) & (t < 200)
        np.testing.assert_array_equal(singles[0][first], singles[1][first])  # no decay in the first cycle
        np.testing.assert_allclose(singles[1][second], 0.9 * singles[0][second], rtol=1e-6)
        if x64:
            return
        nearly = lrsched.cycle(lrsched.constant(1.0), 10, decay=1.0 + 1e-12)  # 1.0 in float32, a remainder
        assert nearly.low("decay") != 0
        far = float(nearly(10**9))  # 10^8 cycles: 1 + 1e-4
        np.testing.assert_allclose(far, (1.0 + 1e-12) ** 10**8, rtol=1e-6)
        assert float(lrsched.cycle(lrsched.constant(1.0), 10, decay=1.0)(10**9)) == 1.0


def test_a_decay_of_one_keeps_its_derivative():
    """The branch for a decay of exactly 1 computes no power, but ``d/dd (d**k) = k`` there still: the
    derivative of a cycle's value in its decay is the cycle count at 1 as near it (hypergradients)."""
    def value(d, t):
        return lrsched.cycle(lrsched.constant(2.0), 10, decay=d)(t)

    grad = jax.jit(jax.grad(value))
    for t, k in [(5, 0), (35, 3), (10**6 + 3, 10**5)]:
        assert float(grad(1.0, t)) == pytest.approx(2.0 * k, rel=1e-6)
        assert float(grad(0.999, t)) == pytest.approx(2.0 * k * 0.999 ** (k - 1), rel=1e-3)
    grads = jax.jit(jax.vmap(jax.grad(value), in_axes=(0, None)))(jnp.array([1.0, 0.5]), 35)
    np.testing.assert_allclose(np.asarray(grads), [6.0, 2.0 * 3 * 0.25], rtol=1e-6)


def test_a_growing_cycle_of_a_schedule_with_several_durations_traces():
    """The longest duration inside a stretched growing cycle is found with traced leaves too (the schedule
    passed to a jitted function, as in an optimizer state or a sweep): a warmup then a cosine has two."""
    inner = lrsched.warmup(lrsched.cosine(1.0, 100, k_decay=1.5), 10)
    for mul in (2, 3):
        s = lrsched.cycle(inner, 110, period_mul=mul, decay=0.5)
        t = np.arange(0, 5000, 7)
        traced = np.asarray(_call(s, t))
        constants = np.asarray(jax.jit(lambda t: s(t))(t))  # the numbers known when compiling
        np.testing.assert_allclose(traced, constants, rtol=3e-7)


def _conds(jaxpr) -> int:
    """The conditionals in a jaxpr, nested ones included."""
    count = 0
    for eqn in jaxpr.eqns:
        count += eqn.primitive.name == "cond"
        for sub in jax.extend.core.jaxprs_in_params(eqn.params):
            count += _conds(sub)
    return count


@pytest.mark.parametrize("x64", [False, True], ids=["float32", "x64"])
def test_a_closed_over_schedule_compiles_its_own_case_only(x64, monkeypatch):
    """A schedule closed over by the jitted function (``optax.adam(schedule)``): its numbers are concrete while
    tracing, so the case is picked then: no conditional in the program (a cycle's six branches would each
    hold a copy of the inner schedule), and the values of the same program with the switch bit for bit. (Its
    numbers are constants XLA folds, so both may differ from the program that takes them as arguments by
    float32 rounding.)"""
    t = np.concatenate([np.arange(0, 3000, 11), [2**31 - 1]])
    with jax.enable_x64(x64):
        schedules = [lrsched.polynomial(0.9, 0.01, 1000, power=2.0), lrsched.polynomial(0.9, 0.01, 1000, power=0.7),
                     lrsched.cosine(0.9, 1000, exponent=1.0, k_decay=2.0),
                     lrsched.cycle(lrsched.cosine(0.9, 100), period=100, period_mul=2),
                     lrsched.cycle(lrsched.cosine(0.9, 100), period=100, period_mul=1.5, decay=0.5)]
        picked = []
        for s in schedules:
            closed = jax.jit(lambda t, s=s: s(t))
            assert _conds(jax.make_jaxpr(closed)(t).jaxpr) == 0, s
            assert _conds(jax.make_jaxpr(_call)(s, t).jaxpr) > 0, s  # (its numbers as arguments: the switch)
            picked.append(np.asarray(closed(t)))
        monkeypatch.setattr(_numerics, "_concrete_combo", lambda cases, options: None)
        for s, got in zip(schedules, picked):
            switched = jax.jit(lambda t, s=s: s(t))
            assert _conds(jax.make_jaxpr(switched)(t).jaxpr) > 0, s
            np.testing.assert_array_equal(got, np.asarray(switched(t)), err_msg=str(s))
