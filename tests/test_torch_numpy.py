"""The bridge's numpy tables equal the core's JAX evaluation (float64) for every type they cover.

``lrsched_torch._numpy`` follows the core's formulas in numpy so that a torch
program builds its tables without XLA. These tests evaluate the same configs both
ways at the shared case list's steps and at random parameters: a change of a core
formula that the numpy copy does not follow fails here.
"""

from __future__ import annotations

import dataclasses

import jax
import numpy as np
import pytest
from cases import CASES, STEPS
from hypothesis import given, settings
from hypothesis import strategies as st
from lrsched_torch import _numpy
from lrsched_torch._table import evaluate64

import lrsched
from lrsched.compat import fastai, optax, timm  # noqa: F401 - their schedule types join the registry
from lrsched.compat import torch as tc
from lrsched.compat import transformers as tf

# a few ulps (of the value, or of the schedule's scale where the value is much smaller) apart at most: XLA's
# and libm's sin/exp/log/pow may differ in the last bit, and XLA may fuse a multiply-add; where a formula
# cancels (a cosine warmup near its end) that bit grows to ~1e-15. tanh's 1 - tanh(x) cancels near x = 3 and
# amplifies it about 200 times
RTOL = {"tanh": 1e-13}
# k-decay's 1 - p**k is -expm1(k log1p(-left)), and XLA's float64 log1p is off by up to 2.7e-14 (relative, against
# mpmath) for arguments in [-0.5, -0.3], where numpy's is within an ulp
RTOL.update({name: 1e-13 for name in ("cosine_k_decay", "cosine_k_decay_rising", "cosine_periodic_all",
                                       "polynomial_k_decay")})
STEPS_BIG = np.concatenate([STEPS, [2**24 + 1, 2**31 - 1, 2**40 + 3]]).astype(np.int64)


def both(schedule: lrsched.Schedule, steps: np.ndarray = STEPS_BIG) -> tuple[np.ndarray | None, np.ndarray]:
    config = lrsched.to_config(schedule)
    return _numpy.values(config, steps), evaluate64(config, steps)


def assert_same(got: np.ndarray, want: np.ndarray, name: str, rtol: float | None = None) -> None:
    rtol = RTOL.get(name, 1e-14) if rtol is None else rtol
    finite = np.abs(want[np.isfinite(want)])
    scale = float(finite.max()) if finite.size else 0.0
    np.testing.assert_allclose(got, want, rtol=rtol, atol=4e-16 * scale, err_msg=name)


# the shared cases evaluated with JAX (a type without a numpy evaluator somewhere inside); every other case
# must have its numpy tables (a lost evaluator fails here, and so does a new one not listed)
EXPECTED_JAX = {
    "cycle_sgdr", "cycle_limit", "torch.CosineAnnealingWarmRestarts", "fastai.one_cycle",
    "fastai.one_cycle_momentum", "fastai.flat_cos", "fastai.sgdr", "fastai.combine_scheds",
    "transformers.warmup_stable_decay", "timm.cosine", "timm.tanh", "timm.poly",
}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_every_shared_case_numpy_equals_jax(case):
    for params in (case.params, case.alt):
        got, want = both(case.make(params))
        if case.name in EXPECTED_JAX:
            assert got is None, f"{case.name} has a numpy evaluator now: remove it from EXPECTED_JAX"
            continue
        assert got is not None, f"{case.name} lost its numpy evaluator"
        assert_same(got, want, case.name)


COMPAT = {
    "StepLR": tc.StepLR(0.1, 30, 0.3), "MultiStepLR": tc.MultiStepLR(0.1, [5, 50, 50], 0.5),
    "ConstantLR": tc.ConstantLR(0.1, 0.25, 17), "LinearLR": tc.LinearLR(0.1, 0.2, 0.9, 33),
    "ExponentialLR": tc.ExponentialLR(0.1, 0.997), "PolynomialLR": tc.PolynomialLR(0.1, 123, 1.7),
    "CosineAnnealingLR": tc.CosineAnnealingLR(0.1, 77, 1e-4), "CyclicLR": tc.CyclicLR(0.01, 0.1, 13, 7),
    "CyclicMomentum": tc.CyclicMomentum(0.01, 0.1, 13, 7), "OneCycleLR": tc.OneCycleLR(0.1, total_steps=1001),
    "OneCycleMomentum": tc.OneCycleMomentum(0.1, total_steps=1001, three_phase=True, pct_start=0.27),
    "SequentialLR": tc.SequentialLR([tc.LinearLR(0.1, 0.1, total_iters=9), tc.CosineAnnealingLR(0.1, 300),
                                     tc.ExponentialLR(0.1, 0.99)], [9, 300]),
    "transformers.linear": tf.get_scheduler("linear", 0.1, 50, 1000),
    "transformers.constant_with_warmup": tf.get_scheduler("constant_with_warmup", 0.1, 50, 1000),
    "transformers.cosine": tf.get_scheduler("cosine", 0.1, 50, 1000),
    "transformers.cosine_cycles": tf.get_cosine_schedule_with_warmup(0.1, 7, 333, num_cycles=1.37),
    "transformers.cosine_with_min_lr": tf.get_scheduler("cosine_with_min_lr", 0.1, 50, 1000, min_lr_rate=0.1),
    "transformers.cosine_with_restarts": tf.get_scheduler("cosine_with_restarts", 0.1, 50, 1000, num_cycles=3),
}


@pytest.mark.parametrize("name", list(COMPAT))
def test_compat_schedules_numpy_equals_jax(name):
    got, want = both(COMPAT[name])
    assert got is not None, f"{name}: expected a numpy evaluator"
    assert_same(got, want, name)


def test_unsupported_types_and_schedules_without_config_fall_back_to_jax():
    noisy = lrsched.noise(lrsched.cosine(0.1, 100), pct=0.1)
    assert _numpy.values(lrsched.to_config(noisy), np.arange(5)) is None
    sgdr = lrsched.cycle(lrsched.cosine(0.1, 10), 10, 2)
    assert not _numpy.supported(lrsched.to_config(sgdr))
    assert _numpy.values(lrsched.to_config(lrsched.plateau(lrsched.constant(0.1))), np.arange(5)) is None
    # a batched (sweep) config is not a scalar schedule: JAX's business
    batched = lrsched.to_config(lrsched.cosine(np.asarray([0.1, 0.2]), 100))
    assert _numpy.values(batched, np.arange(5)) is None


def _config_keys_in_cases() -> dict[str, set[str]]:
    """The config keys of every schedule type that the shared cases build."""
    found: dict[str, set[str]] = {}

    def walk(c):
        if isinstance(c, dict):
            if "type" in c:
                found.setdefault(c["type"], set(c) - {"type", "lrsched_config"})
            for v in c.values():
                walk(v)
        elif isinstance(c, list):
            for v in c:
                walk(v)

    for case in CASES:
        for params in (case.params, case.alt):
            try:
                walk(lrsched.to_config(case.make(params)))
            except lrsched.ScheduleError:  # no config (a Python function inside)
                pass
    return found


def test_every_numpy_spec_declares_exactly_the_core_config_keys():
    """A new core field fails here until the numpy evaluator implements it or assumes its default."""
    registry = lrsched.Schedule._registry
    assert set(_numpy.SPECS) <= set(registry), "a numpy evaluator for a type the core no longer has"
    in_cases = _config_keys_in_cases()
    for name, cls in registry.items():
        spec = _numpy.SPECS.get(name)
        if spec is None:
            continue  # evaluated with JAX
        fields = {f.name: f for f in dataclasses.fields(cls)}
        if cls.config_args is lrsched.Schedule.config_args:
            keys = set(fields)
        else:  # its own config_args: the keys of a config it wrote
            assert name in in_cases, f"{name}: no shared case builds it, so its config keys are unknown here"
            keys = in_cases[name]
        assert set(in_cases.get(name, keys)) == keys, name
        assert spec.declared == keys, (
            f"{name}: the numpy evaluator declares {sorted(spec.declared)}, the core's config has {sorted(keys)}: "
            "implement the new option in lrsched_torch/_numpy.py or list it in `assumed` with the core's default")
        assert set(spec.scale) <= keys and set(spec.choices) <= keys, name
        for key, default in spec.assumed.items():
            assert fields[key].default is default or fields[key].default == default, (name, key)
        for key, options in spec.choices.items():
            if fields[key].default is not dataclasses.MISSING:
                assert fields[key].default in options, (name, key)
        assert not spec.assumed.keys() & spec.keys, name


def test_the_config_format_is_the_core_one():
    from lrsched import _config

    assert _numpy.FORMAT == _config.FORMAT


CHANGED = [  # a config each numpy evaluator must refuse (JAX evaluates it, or raises a clear error)
    ("unknown key", lambda c: {**c, "warp": 2.0}),
    ("missing key", lambda c: {k: v for k, v in c.items() if k != "end_value"}),
    ("unknown static choice", lambda c: {**c, "periodic": "sometimes"}),
    ("newer config format", lambda c: {**c, "lrsched_config": _numpy.FORMAT + 1}),
    ("unknown key in a nested schedule", lambda c: {"type": "shift", "schedule": {**c, "warp": 2.0}, "steps": 3}),
]


@pytest.mark.parametrize("what,change", CHANGED, ids=[c[0] for c in CHANGED])
def test_a_config_beyond_the_spec_is_refused_never_evaluated_wrongly(what, change):
    config = change(lrsched.to_config(lrsched.cosine(0.1, 100, 0.01)))
    assert not _numpy.supported(config)
    assert _numpy.values(config, np.arange(5)) is None
    assert _numpy.proportion(config, config) is None


def test_an_unimplemented_option_away_from_its_default_is_refused():
    config = lrsched.to_config(tc.CyclicLR(0.01, 0.1, 13, 7))
    assert _numpy.SPECS["cyclic"].assumed == {"scale_fn": None}
    assert _numpy.supported(config)
    for changed in ({**config, "scale_fn": "lambda x: 1 / x"}, {**config, "mode": "triangular3"}):
        assert not _numpy.supported(changed)
        assert _numpy.values(changed, np.arange(5)) is None
    # a ScheduleColumn on such a config uses JAX (here: from_config's clear error, not a wrong table)
    from lrsched_torch._table import ScheduleColumn

    assert not ScheduleColumn({**config, "warp": 1}).numpy


@settings(max_examples=30)
@given(peak=st.floats(1e-6, 10.0), total=st.integers(1, 5000), pct=st.floats(0.0, 1.0),
       div=st.floats(1.0, 1e3), final=st.floats(1.0, 1e5), anneal=st.sampled_from(["cos", "linear"]),
       three=st.booleans(), w=st.integers(0, 400), end=st.floats(0.0, 1.0), ext=st.booleans())
def test_random_parameters_numpy_equals_jax(peak, total, pct, div, final, anneal, three, w, end, ext):
    # a fixed number of steps: one XLA compile per schedule structure for the whole test
    steps = np.concatenate([np.arange(0, 50), np.linspace(0, 2 * total + w, 197).astype(np.int64),
                            [total - 1, total, total + 1], STEPS_BIG[-3:]])
    k = 0.3 + 3 * pct  # a k-decay exponent on either side of 1
    schedules = {
        "one_cycle": lrsched.one_cycle(total, peak, pct, div, final, anneal, three, ext),
        "one_cycle_momentum": lrsched.one_cycle_momentum(total, 0.85, 0.95, pct, anneal, three, ext),
        "warmup_cosine": lrsched.warmup_cosine(peak, w, total + w, init_value=peak * end / 3, end_value=peak * end),
        "warmup": lrsched.warmup(lrsched.linear(peak, peak * end, total), w, peak * end / 7, "cosine"),
        "cosine": lrsched.cosine(peak, total, peak * end, exponent=1.0 + pct),
        "cosine_rising": lrsched.cosine(peak * end, total, peak),
        "cosine_k_decay": lrsched.cosine(peak, total, peak * end, k_decay=k),
        "cosine_k_decay_rising": lrsched.cosine(peak * end, total, peak, k_decay=k),
        "cosine_periodic": lrsched.cosine(peak, total, peak * end, periodic=True),
        "cosine_periodic_all": lrsched.cosine(peak * end, total + pct, peak, 1.0 + pct, k, periodic=True),
        "polynomial_k_decay": lrsched.polynomial(peak, peak * end, total, 0.5 + 2 * pct, k_decay=k),
        "cyclic": lrsched.cyclic(peak * end, peak, max(1, w), total, "exp_range", 1.0 - pct * 1e-3),
        "cyclic_float": lrsched.cyclic(peak * end, peak, w + pct + 0.5, total + 0.25, "triangular2"),
        "inverse_time_float": lrsched.inverse_time(peak, pct, total + 0.5),
    }
    for name, s in schedules.items():
        got, want = both(s, steps)
        assert got is not None, name
        assert_same(got, want, name)


@settings(max_examples=30)
@given(init=st.floats(1e-6, 10.0), rate=st.floats(0.05, 3.0), steps=st.integers(1, 5000), frac=st.floats(0.0, 1.0),
       staircase=st.booleans(), clamp=st.sampled_from([None, 0.01, 100.0]))
def test_random_exponentials_numpy_equals_jax_relatively(init, rate, steps, frac, staircase, clamp):
    """The double-float exponent of ``rate_power``: relative agreement at every step (no atol), integer and
    float periods, up to 2**40 steps and rates within 1e-9 of 1."""
    t = np.concatenate([np.arange(0, 40), np.geomspace(41, 2**40, 120).astype(np.int64), STEPS_BIG[-3:]])
    for r in (rate, 1.0 - frac * 1e-9, 1.0 + frac * 1e-9):
        end = None if clamp is None else init * clamp
        for period in (steps, steps + frac + 1e-3):
            got, want = both(lrsched.exponential(init, r, period, staircase, end), t)
            assert got is not None
            # where the unclamped value leaves float64's range the core gives inf or NaN, clamped or not
            # (exp(s) (1 + c) with exp(s) = inf and c < 0: reported), and which of the two depends on the last
            # bit of c: compared only within the range
            exponent = (np.floor(t / period) if staircase else t / period) * np.log(r) + np.log(init)
            inside = exponent < 700
            normal = inside & (np.abs(want) > 1e-300)  # subnormal results carry fewer bits
            np.testing.assert_allclose(got[normal], want[normal], rtol=1e-14, atol=0)
            np.testing.assert_allclose(got[inside & ~normal], want[inside & ~normal], rtol=0, atol=1e-300)


@settings(max_examples=30)
@given(base=st.floats(1e-6, 10.0), steps=st.integers(0, 5000), frac=st.floats(0.0, 1.0),
       cycles=st.floats(-3.0, 7.0), rate=st.floats(-0.5, 0.9))
def test_random_transformers_cosines_numpy_equals_jax(base, steps, frac, cycles, rate):
    """transformers' cosine wave (``c t mod D`` in two floats, the value from the distance to the trough) and
    its hard restarts (transformers' float order under x64): any cycle count, integer and float step counts,
    up to 2**40 steps."""
    t = np.concatenate([np.arange(0, 60), np.linspace(0, 3 * steps + 7, 150).astype(np.int64), STEPS_BIG[-3:]])
    for d in (steps, steps + frac):
        for name, s in (("wave", tf.CosineWave(base, d, cycles, rate)),
                        ("restarts", tf.CosineRestarts(base, d, cycles))):
            got, want = both(s, t)
            assert got is not None, name
            assert_same(got, want, name)


@settings(max_examples=25)
@given(step_size=st.integers(1, 3000), gamma=st.floats(0.05, 1.5), start=st.integers(0, 2**40),
       length=st.integers(1, 2048))
def test_counted_powers_in_table_chunks_numpy_equals_jax(step_size, gamma, start, length):
    """A table refills consecutive steps, where a step decay's count takes a few values: each count's power is
    computed once then (``_int_power``), the same floats as per element and as the core's."""
    t = np.arange(start, start + length, dtype=np.int64)
    for s in (lrsched.step_decay(0.1, step_size, gamma), lrsched.multistep(0.1, [3, 9, 27, 81], gamma),
              tc.CyclicLR(0.01, 0.1, step_size, 7, mode="triangular2")):
        got, want = both(s, t)
        assert got is not None
        np.testing.assert_array_equal(got, _numpy.values(lrsched.to_config(s), np.concatenate([t, [2**41]]))[:-1])
        assert_same(got, want, type(s).__name__, rtol=1e-15)


def test_growth_past_float64_is_inf_or_the_cap_as_in_the_core():
    t = np.concatenate([np.arange(0, 3000, 7), [2**24 + 1, 2**40 + 3]]).astype(np.int64)
    for s in (lrsched.exponential(1e-7, 10.0, steps=100, end_value=1.0), lrsched.exponential(1.0, 2.0),
              lrsched.step_decay(1.0, 1, 2.0), lrsched.multistep(1.0, list(range(1, 20)), 1e20),
              tc.ExponentialLR(0.1, 1.5)):
        got, want = both(s, t)
        assert got is not None and not np.isnan(got).any() and not np.isnan(want).any(), s
        np.testing.assert_array_equal(np.isinf(got), np.isinf(want))
        assert_same(got[np.isfinite(want)], want[np.isfinite(want)], type(s).__name__)


def test_float_leaves_take_the_float_path():
    for s in (lrsched.cosine(0.1, 1000.0), lrsched.linear(0.1, 0.0, 333.5), lrsched.step_decay(0.1, 2.5, 0.5)):
        got, want = both(s)
        assert_same(got, want, repr(s))


@pytest.mark.parametrize("name", ["OneCycleLR", "CosineAnnealingLR", "SequentialLR", "transformers.linear",
                                  "transformers.cosine", "transformers.cosine_with_min_lr",
                                  "transformers.cosine_with_restarts"])
def test_jax_is_not_needed_for_numpy_tables(monkeypatch, name):
    """A ScheduleLR on a numpy type never calls the JAX evaluation."""
    import lrsched_torch
    import torch
    from lrsched_torch import _table

    def refuse(name):
        raise AssertionError(f"JAX function {name} used")

    monkeypatch.setattr(_table, "jitted", refuse)
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1, momentum=0.9)
    momentum = COMPAT["OneCycleMomentum"] if name == "OneCycleLR" else None
    sched = lrsched_torch.ScheduleLR(opt, lr=COMPAT[name], momentum=momentum, chunk=128)
    for _ in range(1000):
        sched.step()
    monkeypatch.undo()
    with jax.enable_x64(True):
        want = float(lrsched.evaluate(lrsched.from_config(lrsched.to_config(COMPAT[name])), [1000])[0])
    assert opt.param_groups[0]["lr"] == pytest.approx(want, rel=1e-14)


PROPORTIONAL = [
    (tc.OneCycleLR(0.1, total_steps=1001), tc.OneCycleLR(0.3, total_steps=1001), True),
    (tc.StepLR(0.1, 30, 0.3), tc.StepLR(0.25, 30, 0.3), True),
    (tc.StepLR(0.1, 30, 0.3), tc.StepLR(0.1, 31, 0.3), False),
    (tc.LinearLR(0.1, 0.2, 0.9, 33), tc.LinearLR(0.7, 0.2, 0.9, 33), True),
    (tc.ConstantLR(0.1, 0.25, 17), tc.ConstantLR(0.1, 0.3, 17), False),
    (COMPAT["SequentialLR"], tc.SequentialLR([tc.LinearLR(0.3, 0.1, total_iters=9), tc.CosineAnnealingLR(0.3, 300),
                                              tc.ExponentialLR(0.3, 0.99)], [9, 300]), True),
    (lrsched.warmup(lrsched.cosine(0.1, 500), 50, 0.01), lrsched.warmup(lrsched.cosine(0.2, 500), 50, 0.02), True),
    (lrsched.warmup(lrsched.cosine(0.1, 500), 50, 0.01), lrsched.warmup(lrsched.cosine(0.2, 500), 50, 0.01), False),
    (tf.get_scheduler("linear", 0.1, 50, 1000), tf.get_scheduler("linear", 0.4, 50, 1000), True),
    (lrsched.cosine(0.1, 100), lrsched.cosine(-0.1, 100), False),
    (lrsched.clip(lrsched.cosine(0.1, 100), 0.01, 0.05), lrsched.clip(lrsched.cosine(0.2, 100), 0.02, 0.1), True),
    (tc.CosineAnnealingLR(0.1, 77, 1e-4), tc.CosineAnnealingLR(0.3, 77, 3e-4), True),
    (tc.CosineAnnealingLR(0.1, 77, 1e-4), tc.CosineAnnealingLR(0.3, 77, 1e-4), False),
    (tc.CyclicLR(0.01, 0.1, 13, 7, "exp_range", 0.999), tc.CyclicLR(0.02, 0.2, 13, 7, "exp_range", 0.999), True),
    (tf.get_scheduler("cosine", 0.1, 50, 1000), tf.get_scheduler("cosine", 0.4, 50, 1000), True),
    (lrsched.exponential(0.1, 1.01, 3, end_value=0.5), lrsched.exponential(0.2, 1.01, 3, end_value=1.0), True),
    (lrsched.exponential(0.1, 0.99, 3, end_value=0.01), lrsched.exponential(0.2, 0.99, 3, end_value=0.01), False),
    # cycle is evaluated with JAX: never proportional here, whatever its fields (end_value scales, period does not)
    (lrsched.cycle(lrsched.cosine(0.1, 10), 10, limit=2, end_value=0.01),
     lrsched.cycle(lrsched.cosine(0.2, 10), 10, limit=2, end_value=0.02), False),
]


@pytest.mark.parametrize("a,b,proportional", PROPORTIONAL)
def test_proportional_columns_are_one_evaluation_and_a_product(a, b, proportional):
    ca, cb = lrsched.to_config(a), lrsched.to_config(b)
    r = _numpy.proportion(ca, cb)
    assert (r is not None) == proportional
    from lrsched_torch._table import ScheduleColumn, Table

    table = Table([ScheduleColumn(ca), ScheduleColumn(cb)], chunk=600)
    family = _numpy.family(ca) is not None and _numpy.family(ca) == _numpy.family(cb)
    assert len(table._jobs) == (1 if proportional or family else 2)  # (a family: shared weights, see below)
    steps = np.arange(0, 1200)
    got = np.array([table.row(int(k)) for k in steps])
    for j, c in enumerate((ca, cb)):
        want = evaluate64(c, steps)
        # an ulp of the schedule's scale apart at most: XLA fuses the rising cosine's ``low + (high - low) w``
        # into one multiply-add, and with ``high = 0`` (cosine(-0.1, 100)) that rounding is all that is left
        # of a value near the end
        np.testing.assert_allclose(got[:, j], want, rtol=6e-16, atol=2e-16 * np.abs(want).max())


def test_shape_options_must_agree_for_proportional_schedules():
    """The new options are shape fields: equal in both, or not proportional (k_decay, exponent, periodic,
    staircase, mode); the values scale."""
    c = lrsched.cosine
    # (ratios of floats must agree exactly: these scale by exactly 3)
    assert _numpy.proportion(*map(lrsched.to_config, (c(0.5, 100, 0.125, k_decay=2.0),
                                                      c(1.5, 100, 0.375, k_decay=2.0)))) == 3.0
    assert _numpy.proportion(*map(lrsched.to_config, (c(0.125, 100, 0.5, periodic=True),
                                                      c(0.375, 100, 1.5, periodic=True)))) == 3.0
    for a, b in [(c(0.1, 100, k_decay=2.0), c(0.3, 100, k_decay=3.0)), (c(0.1, 100, k_decay=2.0), c(0.3, 100)),
                 (c(0.1, 100, periodic=True), c(0.3, 100)), (c(0.1, 100, exponent=2.0), c(0.3, 100, exponent=1.0)),
                 (lrsched.polynomial(0.1, 0.0, 9, k_decay=2.0), lrsched.polynomial(0.3, 0.0, 9, k_decay=0.5)),
                 (lrsched.exponential(0.1, 0.9, 3), lrsched.exponential(0.3, 0.9, 3, staircase=True)),
                 (tc.CyclicLR(0.01, 0.1, 13), tc.CyclicLR(0.03, 0.3, 13, mode="triangular2"))]:
        assert _numpy.proportion(lrsched.to_config(a), lrsched.to_config(b)) is None, (a, b)


# schedules of one family share their weights (torch's CosineAnnealingLR with an eta_min, one per param group;
# a one-cycle's lr and momentum): each column from them with its evaluator's own last operations
_FAMILY_SHAPES = [dict(), dict(periodic=True), dict(k_decay=2.0), dict(k_decay=0.5, periodic=True)]


def _table_equals_each_alone(configs, start, chunk=1000):
    from lrsched_torch._table import ScheduleColumn, Table

    columns = [ScheduleColumn(c) for c in configs]
    table = Table(columns, chunk=chunk, prefetch=False)
    got = table.at(start).values
    t = np.arange(start, start + chunk, dtype=np.int64)
    for j, (c, column) in enumerate(zip(configs, columns)):
        np.testing.assert_array_equal(got[:, j], column.compute(t), err_msg=str(c))
    return table


@pytest.mark.parametrize("shape", _FAMILY_SHAPES, ids=str)
@settings(max_examples=15, deadline=None)
@given(ends=st.lists(st.tuples(st.floats(-10, 10, allow_subnormal=False), st.floats(-10, 10, allow_subnormal=False)),
                     min_size=2, max_size=6),
       steps=st.sampled_from([1, 7, 300, 4099, 300.5]), start=st.sampled_from([0, 5, 2**31 - 9, 2**40]))
def test_cosines_sharing_a_weight_equal_each_alone_bit_for_bit(shape, ends, steps, start):
    configs = [lrsched.to_config(lrsched.cosine(a, steps, b, **shape)) for a, b in ends]
    table = _table_equals_each_alone(configs, start)
    # one evaluation per direction (a rising and a falling cosine weight different phases), less the proportional
    assert len(table._jobs) <= len({a < b for a, b in ends}), table._jobs


@settings(max_examples=25, deadline=None)
@given(total=st.sampled_from([10, 997, 3000, 10**7, 2500.5]), pct=st.sampled_from([0.0, 0.25, 0.3, 0.999, 1]),
       three=st.booleans(), anneal=st.sampled_from(["cos", "linear"]),
       peaks=st.lists(st.floats(1e-4, 10), min_size=1, max_size=3),
       momentum=st.tuples(st.floats(0, 1), st.floats(0, 1)), start=st.sampled_from([0, 290, 2**31 - 9]),
       ext=st.booleans())
def test_one_cycles_sharing_weights_equal_each_alone_bit_for_bit(total, pct, three, anneal, peaks, momentum, start,
                                                                 ext):
    configs = [lrsched.to_config(lrsched.one_cycle(total, p, pct_start=pct, anneal=anneal, three_phase=three,
                                                   div_factor=7.0 + k, extrapolate=ext)) for k, p in enumerate(peaks)]
    configs.append(lrsched.to_config(lrsched.one_cycle_momentum(total, base_value=momentum[0], peak_value=momentum[1],
                                                                pct_start=pct, anneal=anneal, three_phase=three,
                                                                extrapolate=ext)))
    table = _table_equals_each_alone(configs, start, chunk=1000)  # (chunks across the phase ends of short cycles)
    assert len(table._jobs) == 1 and table._jobs[0][2] == list(range(len(configs))), table._jobs


def test_families_are_shared_weights_and_a_few_operations_per_column():
    from lrsched_torch._table import ScheduleColumn, Table

    def jobs(*schedules):
        return Table([ScheduleColumn(lrsched.to_config(s)) for s in schedules], chunk=64)._jobs

    # torch's per-group cosines with one eta_min: one weight shared by all 100
    assert jobs(*[tc.CosineAnnealingLR(0.01 * (i + 1), 5000, 1e-4) for i in range(100)]) == [(0, [], list(range(100)))]
    c = lrsched.cosine
    # a proportional one is a product of the first column; a rising cosine weights the other phase
    assert jobs(c(0.1, 100, 0.01), c(0.2, 100, 0.02), c(0.3, 100, 0.0), c(0.0, 100, 0.1)) == [
        (0, [(1, 2.0)], [0, 2]), (3, [], [])]
    # different steps, k_decay, periodic or their types, or an exponent: separate evaluations
    for a, b in [(c(0.1, 100, 0.01), c(0.2, 101, 0.01)), (c(0.1, 100, 0.01), c(0.2, 100.0, 0.01)),
                 (c(0.1, 100, 0.01, k_decay=2.0), c(0.2, 100, 0.01, k_decay=3.0)),
                 (c(0.1, 100, 0.01, periodic=True), c(0.2, 100, 0.01)),
                 (c(0.1, 100, 0.01, exponent=2.0), c(0.2, 100, 0.01, exponent=2.0)),
                 (tc.OneCycleLR(0.1, total_steps=1000), tc.OneCycleMomentum(total_steps=1001)),
                 (tc.OneCycleLR(0.1, total_steps=1000), tc.OneCycleMomentum(total_steps=1000, pct_start=0.4)),
                 (tc.OneCycleLR(0.1, total_steps=1000, three_phase=True), tc.OneCycleMomentum(total_steps=1000)),
                 (tc.OneCycleLR(0.1, total_steps=1000, anneal_strategy="linear"),
                  tc.OneCycleMomentum(total_steps=1000))]:
        assert len(jobs(a, b)) == 2, (a, b)
    # a one-cycle's lr (per group: proportional) and its momentum
    assert jobs(tc.OneCycleLR(0.125, total_steps=1000), tc.OneCycleLR(0.375, total_steps=1000),
                tc.OneCycleMomentum(total_steps=1000)) == [(0, [(1, 3.0)], [0, 2])]


def test_a_family_whose_weights_cannot_be_read_is_evaluated_column_by_column(monkeypatch):
    from lrsched_torch._table import ScheduleColumn, Table

    def unreadable(config, t):
        raise _numpy.Unsupported("test")
        yield

    configs = [lrsched.to_config(tc.CosineAnnealingLR(0.1 * (i + 1), 50, 1e-3)) for i in range(3)]
    want = np.stack([ScheduleColumn(c).compute(np.arange(100, 164)) for c in configs], axis=1)
    monkeypatch.setattr(_numpy, "family_weights", unreadable)
    table = Table([ScheduleColumn(c) for c in configs], chunk=64)
    assert table._jobs == [(0, [], [0, 1, 2])]
    np.testing.assert_array_equal(table.at(100).values, want)
