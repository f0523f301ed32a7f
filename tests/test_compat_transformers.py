"""lrsched.compat.transformers against float64 re-statements of transformers' optimization.py, and against
the installed transformers itself (every name of ``get_scheduler``, step by step: see the end of the file).

Each reference below is the lr_lambda of transformers 5.x's ``optimization.py`` (the
function named above it); ``LambdaLR`` then sets ``base_lr * lr_lambda(step)``.
"""

from __future__ import annotations

import enum
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import lrsched
from lrsched.compat import transformers as hf

# ----------------------------------------------------------------- references


# optimization.py: _get_constant_schedule_with_warmup_lr_lambda
def lam_constant_with_warmup(t, num_warmup_steps):
    if t < num_warmup_steps:
        return float(t) / float(max(1.0, num_warmup_steps))
    return 1.0


# optimization.py: _get_linear_schedule_with_warmup_lr_lambda
def lam_linear(t, num_warmup_steps, num_training_steps):
    if t < num_warmup_steps:
        return float(t) / float(max(1, num_warmup_steps))
    return max(0.0, float(num_training_steps - t) / float(max(1, num_training_steps - num_warmup_steps)))


# optimization.py: _get_cosine_schedule_with_warmup_lr_lambda (the definition with min_lr_rate, which
# both get_cosine_schedule_with_warmup and get_cosine_with_min_lr_schedule_with_warmup use)
def lam_cosine(t, num_warmup_steps, num_training_steps, num_cycles=0.5, min_lr_rate=0.0):
    if t < num_warmup_steps:
        return float(t) / float(max(1, num_warmup_steps))
    progress = float(t - num_warmup_steps) / float(max(1, num_training_steps - num_warmup_steps))
    factor = 0.5 * (1.0 + math.cos(math.pi * float(num_cycles) * 2.0 * progress))
    factor = factor * (1 - min_lr_rate) + min_lr_rate
    return max(0, factor)


# optimization.py: _get_cosine_with_hard_restarts_schedule_with_warmup_lr_lambda
def lam_restarts(t, num_warmup_steps, num_training_steps, num_cycles=1):
    if t < num_warmup_steps:
        return float(t) / float(max(1, num_warmup_steps))
    progress = float(t - num_warmup_steps) / float(max(1, num_training_steps - num_warmup_steps))
    if progress >= 1.0:
        return 0.0
    return max(0.0, 0.5 * (1.0 + math.cos(math.pi * ((float(num_cycles) * progress) % 1.0))))


# optimization.py: _get_polynomial_decay_schedule_with_warmup_lr_lambda (lr_init = the optimizer's lr).
# transformers divides by zero at t == N == W; lrsched gives lr_end there (documented).
def lam_polynomial(t, num_warmup_steps, num_training_steps, lr_end, power, lr_init):
    if t < num_warmup_steps:
        return float(t) / float(max(1, num_warmup_steps))
    elif t > num_training_steps or num_training_steps == num_warmup_steps:
        return lr_end / lr_init
    lr_range = lr_init - lr_end
    decay_steps = num_training_steps - num_warmup_steps
    pct_remaining = 1 - (t - num_warmup_steps) / decay_steps
    return (lr_range * pct_remaining**power + lr_end) / lr_init


# optimization.py: _get_inverse_sqrt_schedule_lr_lambda, with get_inverse_sqrt_schedule's default timescale
def lam_inverse_sqrt(t, num_warmup_steps, timescale=None):
    if timescale is None:
        timescale = num_warmup_steps or 10_000
    if t < num_warmup_steps:
        return float(t) / float(max(1, num_warmup_steps))
    shift = timescale - num_warmup_steps
    return 1.0 / math.sqrt((t + shift) / timescale)


# optimization.py: _get_cosine_with_min_lr_schedule_with_warmup_lr_rate_lambda
def lam_cosine_warmup_min_lr(t, num_warmup_steps, num_training_steps, num_cycles, min_lr_rate, warmup_lr_rate=None):
    t, num_warmup_steps, num_training_steps = float(t), float(num_warmup_steps), float(num_training_steps)
    if t < num_warmup_steps:
        if warmup_lr_rate is None:
            return (t + 1.0) / max(1.0, num_warmup_steps)
        warmup_lr_rate = float(warmup_lr_rate)
        return warmup_lr_rate + (1.0 - warmup_lr_rate) * t / (max(1, num_warmup_steps - 1))
    progress = (t - num_warmup_steps + 1.0) / (max(1.0, num_training_steps - num_warmup_steps))
    factor = 0.5 * (1.0 + math.cos(math.pi * num_cycles * 2.0 * progress))
    factor = factor * (1 - min_lr_rate) + min_lr_rate
    return max(0, factor)


# optimization.py: _get_wsd_scheduler_lambda
def lam_wsd(t, num_warmup_steps, num_stable_steps, num_decay_steps, warmup_type, decay_type, min_lr_ratio,
            num_cycles):
    if t < num_warmup_steps:
        progress = float(t) / float(max(1, num_warmup_steps))
        if warmup_type == "linear":
            factor = progress
        elif warmup_type == "cosine":
            factor = 0.5 * (1.0 - math.cos(math.pi * progress))
        elif warmup_type == "1-sqrt":
            factor = 1.0 - math.sqrt(1.0 - progress)
        factor = factor * (1.0 - min_lr_ratio) + min_lr_ratio
        return max(0.0, factor)
    if t < num_warmup_steps + num_stable_steps:
        return 1.0
    if t < num_warmup_steps + num_stable_steps + num_decay_steps:
        progress = float(t - num_warmup_steps - num_stable_steps) / float(max(1, num_decay_steps))
        if decay_type == "linear":
            factor = 1.0 - progress
        elif decay_type == "cosine":
            factor = 0.5 * (1.0 + math.cos(math.pi * float(num_cycles) * 2.0 * progress))
        elif decay_type == "1-sqrt":
            factor = 1.0 - math.sqrt(progress)
        factor = factor * (1.0 - min_lr_ratio) + min_lr_ratio
        return max(0.0, factor)
    return min_lr_ratio


GRID = 2600  # steps 0..GRID-1 for every configuration (one compilation per schedule shape)
run_all = jax.jit(lambda schedules, steps: [s(steps) for s in schedules])  # one compilation per list shape


def check(schedule, base_lr, lam, float32_until=None, tol32=2e-6):
    """lrsched vs ``base_lr * lam(t)``: 1e-12 of base_lr under x64; float32 up to `float32_until`."""
    ref = np.array([base_lr * lam(t) for t in range(GRID)])
    with jax.enable_x64(True):
        ours = lrsched.evaluate(schedule(), GRID)
    err = np.max(np.abs(ours - ref)) / base_lr
    assert err <= 1e-12, f"x64 error {err:.3g} x base_lr"
    if float32_until is not None:
        n = min(GRID, float32_until + 1)
        ours32 = lrsched.evaluate(schedule(), GRID)
        assert ours32.dtype == np.float32
        err = np.max(np.abs(ours32[:n] - ref[:n])) / base_lr
        assert err <= tol32, f"float32 error {err:.3g} x base_lr"


warmups = st.one_of(st.sampled_from([0, 1, 2]), st.integers(0, 300))
lengths = st.one_of(st.sampled_from([0, 1]), st.integers(0, 2200))
rates = st.floats(1e-6, 1.0)


# --------------------------------------------------------- one test per family


@given(base=rates, w=warmups, n=lengths, name=st.sampled_from(["linear", "constant_with_warmup", "constant"]))
def test_linear_and_constant(base, w, n, name):
    lam = {"linear": lambda t: lam_linear(t, w, w + n), "constant": lambda t: 1.0,
           "constant_with_warmup": lambda t: lam_constant_with_warmup(t, w)}[name]
    check(lambda: hf.get_scheduler(name, base, w, w + n), base, lam, float32_until=GRID)


@given(base=rates, w=warmups, n=lengths, cycles=st.sampled_from([0.5, 0.5, 1.0, 1.5, 0.25, 3.0]),
       min_lr=st.one_of(st.none(), st.floats(0.0, 0.9)))
def test_cosine_and_cosine_with_min_lr(base, w, n, cycles, min_lr):
    if min_lr is None:
        build = lambda: hf.get_scheduler("cosine", base, w, w + n, num_cycles=cycles)  # noqa: E731
        lam = lambda t: lam_cosine(t, w, w + n, cycles)  # noqa: E731
    else:  # half the time by min_lr (divided by base_lr as transformers does), half by min_lr_rate
        kw = {"min_lr_rate": min_lr} if w % 2 else {"min_lr": min_lr * base}
        build = lambda: hf.get_scheduler("cosine_with_min_lr", base, w, w + n, num_cycles=cycles, **kw)  # noqa: E731
        lam = lambda t: lam_cosine(t, w, w + n, cycles, min_lr if w % 2 else min_lr * base / base)  # noqa: E731
    check(build, base, lam, float32_until=w + n)


@given(base=rates, w=warmups, n=lengths, cycles=st.integers(1, 7))
def test_cosine_with_restarts(base, w, n, cycles):
    # float32: a restart may land one step off when c * p rounds just below an integer, so x64 only
    check(lambda: hf.get_scheduler("cosine_with_restarts", base, w, w + n, num_cycles=cycles), base,
          lambda t: lam_restarts(t, w, w + n, cycles))


def test_cosine_with_restarts_keeps_transformers_float_rounding():
    # c * p = 49 * (1/49) = 0.9999999999999999 in float64: transformers stays at the end of a cycle (~0)
    # for that step rather than restarting; under x64 lrsched computes the same.
    check(lambda: hf.get_scheduler("cosine_with_restarts", 1.0, 0, 49, num_cycles=49), 1.0,
          lambda t: lam_restarts(t, 0, 49, 49))
    with jax.enable_x64(True):
        assert lrsched.evaluate(hf.get_scheduler("cosine_with_restarts", 1.0, 0, 49, num_cycles=49), GRID)[1] < 1e-30


@given(base=st.floats(1e-4, 1.0), w=warmups, n=lengths, end_frac=st.floats(0.0, 0.99),
       power=st.sampled_from([1.0, 2.0, 0.5, 3.7]))
def test_polynomial(base, w, n, end_frac, power):
    lr_end = end_frac * base
    check(lambda: hf.get_scheduler("polynomial", base, w, w + n, lr_end=lr_end, power=power), base,
          lambda t: lam_polynomial(t, w, w + n, lr_end, power, base), float32_until=GRID, tol32=5e-6)


@given(base=rates, w=warmups, timescale=st.one_of(st.none(), st.integers(1, 5000)))
def test_inverse_sqrt(base, w, timescale):
    check(lambda: hf.get_inverse_sqrt_schedule(base, w, timescale), base, lambda t: lam_inverse_sqrt(t, w, timescale),
          float32_until=GRID)
    if timescale is None:  # get_scheduler passes only num_warmup_steps, as in transformers
        check(lambda: hf.get_scheduler("inverse_sqrt", base, w), base, lambda t: lam_inverse_sqrt(t, w))


@given(base=rates, w=warmups, n=lengths, cycles=st.sampled_from([0.5, 1.0, 0.3]), min_rate=st.floats(0.0, 0.9),
       warmup_rate=st.one_of(st.none(), st.floats(0.0, 0.9)))
def test_cosine_warmup_with_min_lr(base, w, n, cycles, min_rate, warmup_rate):
    check(lambda: hf.get_scheduler("cosine_warmup_with_min_lr", base, w, w + n, num_cycles=cycles,
                                   min_lr_rate=min_rate, warmup_lr_rate=warmup_rate), base,
          lambda t: lam_cosine_warmup_min_lr(t, w, w + n, cycles, min_rate, warmup_rate), float32_until=w + n)


_TYPES = ("linear", "cosine", "1-sqrt")


@given(base=rates, w=st.integers(0, 400), s=st.integers(-50, 600), d=st.integers(0, 800),
       ratio=st.one_of(st.just(0.0), st.floats(0.0, 0.9)), cycles=st.sampled_from([0.5, 0.5, 1.0, 0.25]),
       by_total=st.booleans())
def test_warmup_stable_decay_every_shape(base, w, s, d, ratio, cycles, by_total):
    """All nine warmup/decay shapes in one jitted call (one compilation for the whole test)."""
    kinds = [(a, b) for a in _TYPES for b in _TYPES]
    if by_total:  # num_stable_steps = num_training_steps - W - D (negative when W + D > N, as in transformers)
        built = [hf.get_scheduler("warmup_stable_decay", base, w, w + s + d, num_decay_steps=d, warmup_type=a,
                                  decay_type=b, min_lr_ratio=ratio, num_cycles=cycles) for a, b in kinds]
    else:
        built = [hf.get_wsd_schedule(base, w, d, num_stable_steps=s, warmup_type=a, decay_type=b, min_lr_ratio=ratio,
                                     num_cycles=cycles) for a, b in kinds]
    steps = np.arange(GRID)
    with jax.enable_x64(True):
        values = run_all(built, steps)
    for (a, b), got in zip(kinds, values):
        ref = np.array([base * lam_wsd(t, w, s, d, a, b, ratio, cycles) for t in steps])
        err = np.max(np.abs(np.asarray(got) - ref)) / base
        assert err <= 1e-12, (a, b, err)


# ------------------------------------------------- properties, config, vmap, errors


def test_past_the_end_behaviour_is_transformers():
    steps = np.array([100, 150, 200, 300])
    with jax.enable_x64(True):
        cos = lrsched.evaluate(hf.get_scheduler("cosine", 1.0, 0, 100), steps)
        lin = lrsched.evaluate(hf.get_scheduler("linear", 1.0, 0, 100), steps)
        poly = lrsched.evaluate(hf.get_scheduler("polynomial", 1.0, 0, 100, lr_end=0.01), steps)
    np.testing.assert_allclose(cos, [0.0, 0.5, 1.0, 0.0], atol=1e-15)  # the cosine goes on past N
    np.testing.assert_allclose(lin, 0.0)
    np.testing.assert_allclose(poly, 0.01, rtol=1e-15)


# Every name's jit / x64 / vmap-over-every-argument / grad / config / repr checks: tests/cases.py.


def test_scheduler_type_enum_and_nested_kwargs_dict():
    class SchedulerType(enum.Enum):  # transformers' enum has .value strings
        COSINE = "cosine"

    a = hf.get_scheduler(SchedulerType.COSINE, 1.0, 2, 10, scheduler_specific_kwargs={"num_cycles": 1.0})
    b = hf.get_cosine_schedule_with_warmup(1.0, 2, 10, num_cycles=1.0)
    np.testing.assert_array_equal(lrsched.evaluate(a, 12), lrsched.evaluate(b, 12))
    assert set(hf.SCHEDULER_NAMES) >= {"linear", "cosine", "cosine_with_restarts", "polynomial", "constant",
                                       "constant_with_warmup", "inverse_sqrt", "cosine_with_min_lr",
                                       "cosine_warmup_with_min_lr", "warmup_stable_decay"}


@pytest.mark.parametrize("build, match", [
    (lambda: hf.get_scheduler("cosine_annealing", 1.0, 0, 10), r"unknown schedule.*linear, cosine, cosine_with"),
    (lambda: hf.get_scheduler("reduce_lr_on_plateau", 1.0, cooldwn=1), r"unexpected argument\(s\) \['cooldwn'\]"),
    (lambda: hf.get_scheduler("greedy", 1.0, factor=1.5), r"factor must be below 1"),
    (lambda: hf.get_scheduler("greedy", 1.0, min_lr=[0.1, 0.2]), r"min_lr must be a single number"),
    (lambda: hf.get_scheduler("linear", 1.0, None, 10), r"requires num_warmup_steps"),
    (lambda: hf.get_scheduler("cosine", 1.0, 10), r"requires num_training_steps"),
    (lambda: hf.get_scheduler("warmup_stable_decay", 1.0, 10, 100), r"requires num_decay_steps"),
    (lambda: hf.get_scheduler("warmup_stable_decay", 1.0, 10, num_decay_steps=5), r"num_training_steps or num_stable"),
    (lambda: hf.get_scheduler("linear", 1.0, 0, 10, num_cycles=2), r"unexpected argument\(s\) \['num_cycles'\]"),
    (lambda: hf.get_scheduler("cosine_with_min_lr", 1.0, 0, 10), r"one of min_lr or min_lr_rate must be set"),
    (lambda: hf.get_scheduler("cosine_with_min_lr", 1.0, 0, 10, min_lr=0.1, min_lr_rate=0.1), r"only one of"),
    (lambda: hf.get_scheduler("polynomial", 1e-7, 0, 10), r"lr_end must be smaller than base_lr"),
    (lambda: hf.get_scheduler("linear", 1.0, -3, 10), r"num_warmup_steps must be a non-negative number of steps"),
    (lambda: hf.get_wsd_schedule(1.0, 1, 1, 10, warmup_type="exp"), r"warmup_type must be one of"),
])
def test_errors_say_what_and_how(build, match):
    with pytest.raises(lrsched.ScheduleError, match=match):
        build()


# ------------------------------------- the installed transformers, every name of get_scheduler

transformers = pytest.importorskip("transformers")
torch = pytest.importorskip("torch")

STEP_NAMES = {  # name: (num_warmup_steps, num_training_steps, scheduler_specific_kwargs)
    "linear": (30, 700, {}),
    "cosine": (30, 700, {"num_cycles": 1.3}),
    "cosine_with_restarts": (30, 700, {"num_cycles": 3}),
    "polynomial": (30, 700, {"lr_end": 1e-6, "power": 1.7}),
    "constant": (None, None, {}),
    "constant_with_warmup": (30, None, {}),
    "inverse_sqrt": (30, None, {"timescale": 45}),
    "cosine_with_min_lr": (30, 700, {"num_cycles": 0.5, "min_lr": 1e-5}),
    "cosine_warmup_with_min_lr": (30, 700, {"num_cycles": 0.5, "min_lr_rate": 0.01}),
    "warmup_stable_decay": (30, 700, {"num_decay_steps": 200, "decay_type": "1-sqrt", "min_lr_ratio": 0.001}),
}
BASE = 3.3e-4  # not a float32 number


def _transformers_rates(name, warmup, total, kwargs, steps):
    """``get_last_lr()`` of the installed transformers' scheduler after 0..steps-1 calls of step()."""
    param = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    opt = torch.optim.SGD([param], lr=BASE)
    sched = transformers.get_scheduler(name, opt, num_warmup_steps=warmup, num_training_steps=total,
                                       scheduler_specific_kwargs=dict(kwargs))
    out = []
    for _ in range(steps):
        out.append(sched.get_last_lr()[0])
        opt.step()
        sched.step()
    return np.array(out)


def test_the_twelve_names_are_transformers_names():
    assert set(hf.SCHEDULER_NAMES) == {t.value for t in transformers.SchedulerType}
    assert len(hf.SCHEDULER_NAMES) == 12


@pytest.mark.parametrize("name", list(STEP_NAMES))
def test_every_step_name_matches_installed_transformers(name):
    """Each schedule against transformers' own LambdaLR, 1000 steps (past num_training_steps): within 1e-12 of
    the rate under x64, and in float32 within 2e-6 of each value (relative), with a base rate float32 cannot
    hold."""
    warmup, total, kwargs = STEP_NAMES[name]
    ref = _transformers_rates(name, warmup, total, kwargs, 1000)
    with jax.enable_x64(True):
        ours64 = lrsched.evaluate(hf.get_scheduler(name, BASE, warmup, total, **kwargs), 1000)
    np.testing.assert_allclose(ours64, ref, rtol=1e-12, atol=1e-12 * BASE)
    ours32 = lrsched.evaluate(hf.get_scheduler(name, BASE, warmup, total, **kwargs), 1000).astype(np.float64)
    # the reference's own float64 rounding near an exact zero of the cosine is ~1e-16 absolute
    np.testing.assert_allclose(ours32, ref, rtol=2e-6, atol=1e-15 * BASE)


METRICS = {
    "losses": list(np.cumsum(np.random.default_rng(0).normal(0.0, 1.0, 150))),
    "with_nan": [1.0, float("nan"), float("nan"), 0.5, 0.5, float("nan"), 0.4, 0.4, 0.4, 0.4, 0.4, 0.4],
    "flat_negative": [-1.0] * 12,
}


def _transformers_metric_rates(name, kwargs, metrics):
    param = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    opt = torch.optim.SGD([param], lr=BASE)
    sched = transformers.get_scheduler(name, opt, scheduler_specific_kwargs=dict(kwargs))
    out = []
    for m in metrics:
        sched.step(m)
        out.append(opt.param_groups[0]["lr"])
    return np.array(out)


@pytest.mark.parametrize("metrics", list(METRICS))
@pytest.mark.parametrize("name, kwargs", [
    ("reduce_lr_on_plateau", {"patience": 1}),
    ("reduce_lr_on_plateau", {"patience": 2, "factor": 0.5, "threshold_mode": "abs", "cooldown": 1, "min_lr": 1e-6}),
    ("greedy", {"patience": 1, "factor": 0.7, "min_lr": 1e-6, "max_lr": 1e-2}),
    ("greedy", {"patience": 2, "factor": 0.5, "cooldown": 1, "warmup": 2, "min_lr": 2e-5, "max_lr": 1e-3,
                "threshold_mode": "rel", "smooth": True, "window_size": 4, "reset_start": 3}),
    ("greedy", {"mode": "max", "patience": 0, "min_lr": 1e-4, "reset_start": 2}),
])
def test_metric_names_match_installed_transformers(name, kwargs, metrics):
    """reduce_lr_on_plateau (torch's ReduceLROnPlateau) and greedy (GreedyLR) against the installed transformers,
    metric by metric: bit for bit under x64, and within 2e-6 of each rate in float32."""
    seq = METRICS[metrics]
    ref = _transformers_metric_rates(name, kwargs, seq)
    for x64 in (True, False):
        with jax.enable_x64(x64):
            s = hf.get_scheduler(name, BASE, scheduler_specific_kwargs=kwargs)
            update = jax.jit(s.update)
            state, got = s.init(), []
            for m in seq:
                state = update(state, m)
                got.append(float(s(0, state)))
        if x64:
            np.testing.assert_array_equal(got, ref)
        else:
            np.testing.assert_allclose(got, ref, rtol=2e-6)


@pytest.mark.parametrize("warmup_lr_rate", [None, 0.1, 0.35])
@pytest.mark.parametrize("warmup", [0.5, 1.5, 2.5, 7.25, 30.7, 0, 1, 2, 30])
def test_cosine_warmup_with_min_lr_fractional_warmup_matches_installed_transformers(warmup, warmup_lr_rate):
    """transformers branches on ``t < W`` and its ramps are not clamped, so with a fractional W the last warmup
    step (floor(W)) rises above base_lr and the decay starts at ceil(W): step by step against the installed
    transformers, x64 (1e-12) and float32 (2e-6), also with W traced (jit, and vmap over W)."""
    kwargs = {"num_cycles": 0.5, "min_lr_rate": 0.05, "warmup_lr_rate": warmup_lr_rate}
    ref = _transformers_rates("cosine_warmup_with_min_lr", warmup, 90, kwargs, 120)
    with jax.enable_x64(True):
        ours64 = lrsched.evaluate(hf.get_scheduler("cosine_warmup_with_min_lr", BASE, warmup, 90, **kwargs), 120)
        traced = jax.jit(lambda w: hf.get_scheduler("cosine_warmup_with_min_lr", BASE, w, 90, **kwargs)(
            np.arange(120)))(float(warmup))
        batched = jax.vmap(lambda w: hf.get_scheduler("cosine_warmup_with_min_lr", BASE, w, 90, **kwargs)(
            np.arange(120)))(np.array([float(warmup), 3.0]))
    np.testing.assert_allclose(ours64, ref, rtol=1e-12, atol=1e-12 * BASE)
    np.testing.assert_allclose(traced, ref, rtol=1e-12, atol=1e-12 * BASE)
    np.testing.assert_allclose(batched[0], ref, rtol=1e-12, atol=1e-12 * BASE)
    ours32 = lrsched.evaluate(hf.get_scheduler("cosine_warmup_with_min_lr", BASE, warmup, 90, **kwargs), 120)
    np.testing.assert_allclose(ours32.astype(np.float64), ref, rtol=2e-6, atol=1e-15 * BASE)



@pytest.mark.parametrize("base", [0, 0.0, np.float32(0)])
@pytest.mark.parametrize("name", ["cosine_with_min_lr", "cosine_warmup_with_min_lr"])
def test_zero_base_lr_with_min_lr_is_a_schedule_error(name, base):
    """transformers computes min_lr / optimizer lr (a ZeroDivisionError for lr=0); ours names base_lr, says why
    and what to pass instead (a bare ZeroDivisionError, or min_lr_rate=inf with a numpy zero, before)."""
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=float(base))
    with pytest.raises(ZeroDivisionError):
        transformers.get_scheduler(name, opt, 0, 10, scheduler_specific_kwargs={"min_lr": 1e-5})
    with pytest.raises(lrsched.ScheduleError, match=r"\(base_lr=0(\.0)?\): base_lr must be non-zero when min_lr is "
                       r"given.*undefined.*Pass min_lr_rate instead of min_lr.*or a non-zero base_lr"):
        hf.get_scheduler(name, base, 0, 10, min_lr=1e-5)
    # min_lr_rate with base_lr = 0 is defined (every rate 0), as in transformers
    assert not np.any(lrsched.evaluate(hf.get_scheduler(name, base, 0, 10, min_lr_rate=0.1), 12))


def test_scheduler_specific_kwargs_as_transformers_passes_them():
    """transformers drops scheduler_specific_kwargs only for constant and constant_with_warmup (ours raises);
    for the other names it passes them on: inverse_sqrt's timescale is honoured by both, an unknown key is
    transformers' TypeError and our ScheduleError naming the key (docs/migrating-fastai-transformers-timm.md)."""
    def theirs(name, kwargs, warmup=2, total=None):
        opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))], lr=1.0)
        return transformers.get_scheduler(name, opt, num_warmup_steps=warmup, num_training_steps=total,
                                          scheduler_specific_kwargs=kwargs)

    for name in ("constant", "constant_with_warmup"):
        theirs(name, {"bogus": 1})  # silently dropped
        with pytest.raises(lrsched.ScheduleError, match=rf"get_scheduler\('{name}'\): unexpected argument\(s\) "
                                                         r"\['bogus'\]"):
            hf.get_scheduler(name, 1.0, 2, bogus=1)
    with pytest.raises(TypeError, match="bogus"):
        theirs("inverse_sqrt", {"bogus": 1})
    with pytest.raises(lrsched.ScheduleError, match=r"get_scheduler\('inverse_sqrt'\): unexpected argument\(s\) "
                                                     r"\['bogus'\]; 'inverse_sqrt' takes timescale"):
        hf.get_scheduler("inverse_sqrt", 1.0, 2, bogus=1)
    ref = theirs("inverse_sqrt", {"timescale": 50})
    want = [ref.lr_lambdas[0](t) for t in range(60)]
    assert want != [theirs("inverse_sqrt", {}).lr_lambdas[0](t) for t in range(60)]  # timescale changes it
    with jax.enable_x64(True):
        np.testing.assert_allclose(lrsched.evaluate(hf.get_scheduler("inverse_sqrt", 1.0, 2, timescale=50), 60),
                                   want, rtol=1e-14)


def test_hard_restarts_default_and_docstring():
    import inspect

    ours = inspect.signature(hf.get_cosine_with_hard_restarts_schedule_with_warmup).parameters["num_cycles"].default
    theirs = inspect.signature(transformers.get_cosine_with_hard_restarts_schedule_with_warmup).parameters
    assert ours == theirs["num_cycles"].default == 1
    assert "the default 1" in hf.get_cosine_with_hard_restarts_schedule_with_warmup.__doc__


def test_float32_restart_exception_is_as_documented():
    """The documented float32 exception: num_cycles == N (one step per cycle), N=22, step 15: transformers'
    float64 (22 * 15/22) % 1 rounds to just below 1 (about 0 there), float32 lrsched restarts (base_lr);
    x64 lrsched reproduces transformers. Every other step agrees within 2e-6."""
    ref = _transformers_rates("cosine_with_restarts", 0, 22, {"num_cycles": 22}, 22)
    ours32 = lrsched.evaluate(hf.get_scheduler("cosine_with_restarts", BASE, 0, 22, num_cycles=22), 22)
    with jax.enable_x64(True):
        ours64 = lrsched.evaluate(hf.get_scheduler("cosine_with_restarts", BASE, 0, 22, num_cycles=22), 22)
    assert ref[15] < 1e-12 * BASE and ours32[15] == np.float32(BASE)
    np.testing.assert_allclose(ours64, ref, rtol=1e-12, atol=1e-12 * BASE)
    differ = np.nonzero(~np.isclose(ours32.astype(np.float64), ref, rtol=2e-6, atol=1e-15 * BASE))[0]
    assert 15 in differ and all((22 * int(t)) % 22 == 0 for t in differ)  # restarts only (c t / N whole)


def test_greedy_runs_in_lrsched_optax_like_transformers_greedy_lr():
    """The docs' claim: greedy runs in JAX through lrsched.optax (the metric as update(..., value=loss)), rate by
    rate as transformers' GreedyLR sets them."""
    optax = pytest.importorskip("optax")
    import lrsched.optax as lo

    kwargs = {"patience": 1, "factor": 0.5, "min_lr": 1e-4, "max_lr": 0.4}
    metrics = [3.0, 2.0, 1.0, 1.0, 1.0, 1.0, 0.5, 0.4, 0.3, 0.3, 0.3, 0.3]
    tx = optax.chain(lo.scale_by_schedule(hf.get_scheduler("greedy", 0.1, **kwargs)), optax.scale(-1.0))
    params = jax.numpy.zeros(2)
    state = tx.init(params)
    update = jax.jit(lambda s, m: tx.update(jax.numpy.ones(2), s, params, value=m))
    got = []
    for m in metrics:
        u, state = update(state, m)
        got.append(float(-u[0]))
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    sched = transformers.get_scheduler("greedy", opt, scheduler_specific_kwargs=kwargs)
    want = []
    for m in metrics:  # the rate of update i was set by the metrics before it
        want.append(opt.param_groups[0]["lr"])
        sched.step(m)
    assert want[2] > want[0] and min(want[3:]) < max(want)  # it rose and fell
    np.testing.assert_allclose(got, want, rtol=2e-7)


def _exact_cosine(t, w, n, cycles, restarts=False):
    """transformers' cosine (or hard restarts) at a far step, the position ``c (t - W) mod D`` taken exactly."""
    from fractions import Fraction

    d = max(1, n - w)
    if restarts:
        if t - w >= d:
            return 0.0
        x = float((Fraction(cycles) * (t - w)) % d) / d
        return 0.5 * (1.0 + math.cos(math.pi * x))
    x = float((Fraction(cycles) * 2 * (t - w)) % (2 * d)) / d  # cos(pi x), x in [0, 2)
    return 0.5 * (1.0 + math.cos(math.pi * x))


@pytest.mark.parametrize("n", [7, 10, 977, 2**24 + 1, 100_000_000])
@pytest.mark.parametrize("cycles", [0.5, 1.0, 0.3])
def test_float32_cosine_wave_far_past_the_end_keeps_its_precision(n, cycles):
    """The wave goes on past N: at steps up to 2**31 - 1 ``c t mod D`` must be exact in float32 too, whether
    the float quotient is many periods off (c t / D past 2**24) or D itself does not fit a float32 (past 2**24);
    eagerly, jitted and in an array alike."""
    rng = np.random.default_rng(n)
    steps = np.concatenate([rng.integers(2**28, 2**31 - 1, 300), [2**31 - 1, 2**31 - 2]]).astype(np.int32)
    s = hf.get_scheduler("cosine", 1.0, 0, n, num_cycles=cycles)
    want = np.array([_exact_cosine(int(t), 0, n, cycles) for t in steps])
    got = lrsched.evaluate(s, steps)
    assert np.max(np.abs(got - want)) <= 2e-6, np.max(np.abs(got - want))
    eager = np.array([float(s(int(t))) for t in steps[:4]])
    np.testing.assert_allclose(eager, want[:4], rtol=0, atol=2e-6)


@pytest.mark.parametrize("x64", [False, True])
@pytest.mark.parametrize("cycles", [-1, -0.5, -2.5])
def test_hard_restarts_with_negative_cycles(cycles, x64):
    """transformers takes ``(c p) mod 1`` of a negative ``c`` too (Python's mod: in [0, 1)); the float32
    position, from ``|c|``, is mirrored back."""
    with jax.enable_x64(x64):
        got = lrsched.evaluate(hf.get_scheduler("cosine_with_restarts", 1.0, 3, 40, num_cycles=cycles), 45)
    want = np.array([lam_restarts(t, 3, 40, cycles) for t in range(45)])
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-12 if x64 else 2e-6)


@pytest.mark.parametrize("n", [2**24 + 1, 100_000_007, 2**31 - 1])
@pytest.mark.parametrize("cycles", [0.5, 0.0, 1.0])
def test_float32_hard_restarts_end_at_n_itself(n, cycles):
    """The restarts end (0) where ``t - W`` reaches ``D``; in float32 ``t / D`` rounds to 1 up to ~64 steps earlier
    past 2**24, so the end is found on the steps themselves (transformers' values right up to N)."""
    steps = np.arange(n - 70, n + 1, dtype=np.int64)
    steps = steps[(steps >= 0) & (steps <= 2**31 - 1)].astype(np.int32)
    got = lrsched.evaluate(hf.get_scheduler("cosine_with_restarts", 1.0, 0, n, num_cycles=cycles), steps)
    want = np.array([_exact_cosine(int(t), 0, n, cycles, restarts=True) for t in steps])
    np.testing.assert_allclose(got, want, rtol=0, atol=2e-6)
    assert steps[-1] == n and got[-1] == 0.0
    if cycles != 1.0:  # (half a cycle: 0.5 just before N, none: 1; old float32: 0 from ~64 steps before N)
        assert (got[:-1] >= 0.5 - 2e-6).all()


def test_the_factor_form_scales_each_param_group_as_transformers_does():
    """The migration guide's recipe for several param groups: LambdaLR with a base_lr=1 schedule as the factor,
    lr_end divided by the optimizer's default lr (transformers divides by it for every group)."""
    import lrsched_torch

    def optimizer():
        return torch.optim.AdamW([{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": 1e-3},
                                  {"params": [torch.nn.Parameter(torch.zeros(1))], "lr": 1e-4}], lr=1e-3)

    theirs, ours = optimizer(), optimizer()
    a = transformers.get_polynomial_decay_schedule_with_warmup(theirs, 2, 10, lr_end=1e-7, power=2.0)
    b = lrsched_torch.LambdaLR(ours, hf.get_polynomial_decay_schedule_with_warmup(1.0, 2, 10, lr_end=1e-7 / 1e-3,
                                                                                  power=2.0))
    for _ in range(12):
        for opt, sched in ((theirs, a), (ours, b)):
            opt.step()
            sched.step()
        np.testing.assert_allclose([g["lr"] for g in ours.param_groups], [g["lr"] for g in theirs.param_groups],
                                   rtol=1e-12)


@pytest.mark.parametrize("total, warmup", [(20_000_000, 3), (50_000_001, 10), (2**31 - 5, 7)])
def test_float32_cosines_near_their_end_past_2_24_steps(total, warmup):
    """A length N - W that float32 cannot hold (past 2**24): the distance to the trough is taken from the exact
    integer length (two floats), so the last steps keep their relative precision (one step of N - W, up to 64
    near 2**31, before; 0 for the exact 6e-15 at N - 1). References in float64 from exact integer distances."""
    d = total - warmup
    t = np.array([warmup + 1, warmup + d // 2 + 1, total - 100_000, total - 1000, total - 1, total], np.int64)
    rest = (total - t).astype(np.float64)  # steps to the end: exact integers
    cos_ref = np.sin(np.pi * rest / (2 * d)) ** 2  # (1 + cos(pi p)) / 2, p = (t - W) / D
    k = 2 * (t - warmup) % d  # 2 cycles: (2 p) mod 1 = k / D, exactly
    restart_ref = np.where(t >= total, 0.0, np.sin(np.pi * (d - k) / (2 * d)) ** 2)
    steps = jnp.asarray(t.astype(np.int32))
    cos = np.asarray(jax.jit(hf.get_cosine_schedule_with_warmup(1.0, warmup, total))(steps), np.float64)
    restarts = np.asarray(jax.jit(hf.get_cosine_with_hard_restarts_schedule_with_warmup(1.0, warmup, total, 2))(steps),
                          np.float64)
    for got, want in ((cos, cos_ref), (restarts, restart_ref)):
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1e-30)
