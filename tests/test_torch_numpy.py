"""The bridge's numpy tables equal the core's JAX evaluation (float64) for every type they cover.

``lrsched_torch._numpy`` follows the core's formulas in numpy so that a torch
program builds its tables without XLA. These tests evaluate the same configs both
ways at the shared case list's steps and at random parameters: a change of a core
formula that the numpy copy does not follow fails here.
"""

from __future__ import annotations

import jax
import numpy as np
import pytest
from cases import CASES, STEPS
from hypothesis import given, settings
from hypothesis import strategies as st
from lrsched_torch import _numpy
from lrsched_torch._table import evaluate64

import lrsched
from lrsched.compat import torch as tc
from lrsched.compat import transformers as tf

# a few ulps (of the value, or of the schedule's scale where the value is much smaller) apart at most: XLA's
# and libm's sin/exp/log/pow may differ in the last bit, and XLA may fuse a multiply-add; where a formula
# cancels (a cosine warmup near its end) that bit grows to ~1e-15. tanh's 1 - tanh(x) cancels near x = 3 and
# amplifies it about 200 times
RTOL = {"tanh": 1e-13}
STEPS_BIG = np.concatenate([STEPS, [2**24 + 1, 2**31 - 1, 2**40 + 3]]).astype(np.int64)


def both(schedule: lrsched.Schedule, steps: np.ndarray = STEPS_BIG) -> tuple[np.ndarray | None, np.ndarray]:
    config = lrsched.to_config(schedule)
    return _numpy.values(config, steps), evaluate64(config, steps)


def assert_same(got: np.ndarray, want: np.ndarray, name: str) -> None:
    rtol = RTOL.get(name, 1e-14)
    scale = float(np.abs(want).max()) if want.size else 0.0
    np.testing.assert_allclose(got, want, rtol=rtol, atol=4e-16 * scale, err_msg=name)


EXPECTED_NUMPY = {
    "constant", "linear", "polynomial", "cosine", "exponential", "exponential_staircase_clamped", "step_decay",
    "multistep", "inverse_sqrt", "inverse_time", "piecewise_constant", "piecewise_linear", "cyclic",
    "cyclic_triangular2", "cyclic_exp_range", "one_cycle", "one_cycle_linear_three_phase", "one_cycle_momentum",
    "one_cycle_momentum_three_phase", "warmup_cosine", "wsd_linear", "wsd_cosine", "wsd_sqrt", "tanh", "join_mixed",
    "join_stacked", "warmup", "arithmetic_clip", "shift",
}


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_every_shared_case_numpy_equals_jax(case):
    for params in (case.params, case.alt):
        got, want = both(case.make(params))
        if got is None:
            assert case.name not in EXPECTED_NUMPY, f"{case.name} lost its numpy evaluator"
            continue
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


@settings(max_examples=30)
@given(peak=st.floats(1e-6, 10.0), total=st.integers(1, 5000), pct=st.floats(0.0, 1.0),
       div=st.floats(1.0, 1e3), final=st.floats(1.0, 1e5), anneal=st.sampled_from(["cos", "linear"]),
       three=st.booleans(), w=st.integers(0, 400), end=st.floats(0.0, 1.0))
def test_random_parameters_numpy_equals_jax(peak, total, pct, div, final, anneal, three, w, end):
    # a fixed number of steps: one XLA compile per schedule structure for the whole test
    steps = np.concatenate([np.arange(0, 50), np.linspace(0, 2 * total + w, 200).astype(np.int64)])
    schedules = {
        "one_cycle": lrsched.one_cycle(total, peak, pct, div, final, anneal, three),
        "one_cycle_momentum": lrsched.one_cycle_momentum(total, 0.85, 0.95, pct, anneal, three),
        "warmup_cosine": lrsched.warmup_cosine(peak, w, total + w, init_value=peak * end / 3, end_value=peak * end),
        "warmup": lrsched.warmup(lrsched.linear(peak, peak * end, total), w, peak * end / 7, "cosine"),
        "cosine": lrsched.cosine(peak, total, peak * end, exponent=1.0 + pct),
        "cyclic": lrsched.cyclic(peak * end, peak, max(1, w), total, "exp_range", 1.0 - pct * 1e-3),
    }
    for name, s in schedules.items():
        got, want = both(s, steps)
        assert got is not None, name
        assert_same(got, want, name)


def test_float_leaves_take_the_float_path():
    for s in (lrsched.cosine(0.1, 1000.0), lrsched.linear(0.1, 0.0, 333.5), lrsched.step_decay(0.1, 2.5, 0.5)):
        got, want = both(s)
        assert_same(got, want, repr(s))


def test_jax_is_not_needed_for_numpy_tables(monkeypatch):
    """A ScheduleLR on a numpy type never calls the JAX evaluation."""
    import lrsched_torch
    import torch
    from lrsched_torch import _table

    def refuse(name):
        raise AssertionError(f"JAX function {name} used")

    monkeypatch.setattr(_table, "jitted", refuse)
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1, momentum=0.9)
    sched = lrsched_torch.ScheduleLR(opt, lr=COMPAT["OneCycleLR"], momentum=COMPAT["OneCycleMomentum"], chunk=128)
    for _ in range(1000):
        sched.step()
    with jax.enable_x64(True):
        want = float(lrsched.evaluate(lrsched.from_config(lrsched.to_config(COMPAT["OneCycleLR"])), [1000])[0])
    assert opt.param_groups[0]["lr"] == pytest.approx(want, rel=1e-15)


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
]


@pytest.mark.parametrize("a,b,proportional", PROPORTIONAL)
def test_proportional_columns_are_one_evaluation_and_a_product(a, b, proportional):
    ca, cb = lrsched.to_config(a), lrsched.to_config(b)
    r = _numpy.proportion(ca, cb)
    assert (r is not None) == proportional
    from lrsched_torch._table import ScheduleColumn, Table

    table = Table([ScheduleColumn(ca), ScheduleColumn(cb)], chunk=600)
    assert len(table._jobs) == (1 if proportional else 2)
    steps = np.arange(0, 1200)
    got = np.array([table.row(int(k)) for k in steps])
    for j, c in enumerate((ca, cb)):
        want = evaluate64(c, steps)
        np.testing.assert_allclose(got[:, j], want, rtol=6e-16, atol=1e-300)
