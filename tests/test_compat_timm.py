"""lrsched.compat.timm against float64 re-statements of timm's scheduler/*.py (per update).

timm is not installed here (it pulls a CUDA torch); the references below follow timm
1.0's published source, each citing its file and function. ``t`` is ``num_updates``
(timm's ``t_in_epochs=False``).
"""

from __future__ import annotations

import bisect
import json
import math
from fractions import Fraction

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

import lrsched
from lrsched.compat import timm

# ----------------------------------------------------------------- references


def cycle_of(t, t_initial, cycle_mul, exact):
    """timm's cycle index ``i``, length ``t_i`` and position ``t_curr`` (cosine_lr.py, tanh_lr.py,
    poly_lr.py: ``_get_lr``). ``exact=True`` replaces timm's ``floor(log(...))`` by an exact search."""
    if cycle_mul != 1:
        if exact:
            m, i = Fraction(cycle_mul), 0
            while t_initial * (m ** (i + 1) - 1) / (m - 1) <= t:
                i += 1
        else:
            i = math.floor(math.log(1 - t / t_initial * (1 - cycle_mul), cycle_mul))
        t_i = cycle_mul**i * t_initial
        t_curr = t - (1 - cycle_mul**i) / (1 - cycle_mul) * t_initial
    else:
        i = t // t_initial
        t_i = t_initial
        t_curr = t - (t_initial * i)
    return i, t_i, t_curr


# timm/scheduler/cosine_lr.py: CosineLRScheduler._get_lr
def cosine_main(t, base, t_initial, lr_min, cycle_mul, cycle_decay, cycle_limit, k_decay, exact):
    i, t_i, t_curr = cycle_of(t, t_initial, cycle_mul, exact)
    lr_max = base * cycle_decay**i
    k = k_decay
    if i < cycle_limit:
        return lr_min + 0.5 * (lr_max - lr_min) * (1 + math.cos(math.pi * t_curr**k / t_i**k))
    return lr_min


# timm/scheduler/tanh_lr.py: TanhLRScheduler._get_lr
def tanh_main(t, base, t_initial, lb, ub, lr_min, cycle_mul, cycle_decay, cycle_limit, exact):
    i, t_i, t_curr = cycle_of(t, t_initial, cycle_mul, exact)
    if i < cycle_limit:
        lr_max = base * cycle_decay**i
        tr = t_curr / t_i
        return lr_min + 0.5 * (lr_max - lr_min) * (1 - math.tanh(lb * (1.0 - tr) + ub * tr))
    return lr_min


# timm/scheduler/poly_lr.py: PolyLRScheduler._get_lr
def poly_main(t, base, t_initial, power, lr_min, cycle_mul, cycle_decay, cycle_limit, k_decay, exact):
    i, t_i, t_curr = cycle_of(t, t_initial, cycle_mul, exact)
    lr_max = base * cycle_decay**i
    k = k_decay
    if i < cycle_limit:
        return lr_min + (lr_max - lr_min) * (1 - t_curr**k / t_i**k) ** power
    return lr_min


# timm/scheduler/step_lr.py: StepLRScheduler._get_lr (after the warmup)
def step_main(t, base, decay_t, decay_rate):
    return base * (decay_rate ** (t // decay_t))


# timm/scheduler/multistep_lr.py: MultiStepLRScheduler.get_curr_decay_steps and _get_lr
def multistep_main(t, base, decay_t, decay_rate):
    return base * (decay_rate ** bisect.bisect_right(decay_t, t + 1))


# The warmup every scheduler's __init__ and _get_lr share: warmup_steps = (v - warmup_lr_init) / warmup_t with
# v = base_lr (tanh_lr.py without warmup_prefix: v = self._get_lr(warmup_t)); t < warmup_t gives
# warmup_lr_init + t * warmup_steps, and warmup_prefix shifts t by warmup_t for the main part.
def with_warmup(main, base, warmup_t, warmup_lr_init, warmup_prefix, ramp_to_main=False):
    target = main(warmup_t) if (ramp_to_main and not warmup_prefix) else base

    def lr(t):
        if warmup_t and t < warmup_t:
            return warmup_lr_init + t * ((target - warmup_lr_init) / warmup_t)
        return main(t - warmup_t if warmup_prefix else t)

    return lr


# timm/scheduler/scheduler.py: Scheduler._is_apply_noise and _calculate_noise (torch generator)
def timm_noise(t, noise_range_t, noise_pct, noise_seed, noise_type="normal"):
    if isinstance(noise_range_t, (list, tuple)):
        apply = noise_range_t[0] <= t < noise_range_t[1]
    else:
        apply = t >= noise_range_t
    if not apply:
        return 0.0
    g = torch.Generator()
    g.manual_seed(noise_seed + t)
    if noise_type == "normal":
        while True:
            noise = torch.randn(1, generator=g).item()
            if abs(noise) < noise_pct:
                return noise
    return 2 * (torch.rand(1, generator=g).item() - 0.5) * noise_pct


GRID = 2000
run_all = jax.jit(lambda schedules, steps: [s(steps) for s in schedules])


def compare(ours_schedule, lr_exact, lr_timm, base):
    """ours vs timm's formula with exact cycle indices (1e-12 x base under x64), and the steps where
    timm's own float-log index differs (a documented quirk: they must be restart steps)."""
    exact = np.array([lr_exact(t) for t in range(GRID)])
    with jax.enable_x64(True):
        ours = lrsched.evaluate(ours_schedule(), GRID)
    err = np.max(np.abs(ours - exact)) / base
    assert err <= 1e-12, f"x64 error {err:.3g} x base"
    if lr_timm is not None:
        as_timm = np.array([lr_timm(t) for t in range(GRID)])
        return np.nonzero(np.abs(as_timm - exact) > 1e-12 * base)[0]
    return np.array([], int)


cycle_muls = st.sampled_from([1.0, 1.0, 2.0, 3.0, 1.5])
limits = st.sampled_from([0, 1, 1, 2, 5, 1000])
warmup_ts = st.sampled_from([0, 0, 1, 7, 60])


def _assert_only_restarts(differ, t_initial, cycle_mul, warmup_t, prefix):
    """Steps where timm's floor(log(.)) index is off: each is a cycle's first step."""
    for t in differ:
        local = t - warmup_t if prefix else t
        i, _, t_curr = cycle_of(local, t_initial, cycle_mul, exact=True)
        assert i >= 1 and t_curr == 0, (t, i, t_curr)


# ---------------------------------------------------------------------- cosine


@given(base=st.floats(1e-4, 1.0), t_initial=st.integers(1, 300), min_frac=st.sampled_from([0.0, 0.01, 0.3]),
       cycle_mul=cycle_muls, cycle_decay=st.floats(0.1, 1.0), cycle_limit=limits, warmup_t=warmup_ts,
       init_frac=st.floats(0.0, 1.0), prefix=st.booleans(), k_decay=st.sampled_from([1.0, 1.0, 0.5, 2.0]))
def test_cosine_matches_timm(base, t_initial, min_frac, cycle_mul, cycle_decay, cycle_limit, warmup_t, init_frac,
                             prefix, k_decay):
    lr_min, init = min_frac * base, init_frac * base
    args = (base, t_initial, lr_min, cycle_mul, cycle_decay, cycle_limit)

    def ref(exact):
        return with_warmup(lambda t: cosine_main(t, *args, k_decay, exact), base, warmup_t, init, prefix)

    differ = compare(lambda: timm.cosine(*args, warmup_t=warmup_t, warmup_lr_init=init, warmup_prefix=prefix,
                                         k_decay=k_decay), ref(True), ref(False), base)
    _assert_only_restarts(differ, t_initial, cycle_mul, warmup_t, prefix)


def test_cosine_seed_defaults_and_quirks():
    # timm's default cosine: one cycle then lr_min; the warmup (no prefix) ramps to base_lr, then the
    # cosine resumes at its value at warmup_t: a jump down, as in timm
    s = timm.cosine(0.1, t_initial=100, lr_min=1e-4, warmup_t=10, warmup_lr_init=1e-5)
    v = lrsched.evaluate(s, 200)
    assert v[0] == pytest.approx(1e-5) and v[9] == pytest.approx(1e-5 + 9 * (0.1 - 1e-5) / 10)
    assert v[10] == pytest.approx(1e-4 + 0.5 * (0.1 - 1e-4) * (1 + math.cos(math.pi * 0.1)))
    np.testing.assert_allclose(v[100:], 1e-4)  # cycle_limit=1: lr_min from t_initial on
    # k_decay applies t**k / t_i**k
    k = lrsched.evaluate(timm.cosine(1.0, t_initial=10, k_decay=2.0), [5])[0]
    assert k == pytest.approx(0.5 * (1 + math.cos(math.pi * 25 / 100)))


def test_timm_float_log_restart_quirk_not_reproduced():
    # timm: i = floor(log(1 - 121 * (1 - 3), 3)) = floor(4.999999999999999) = 4, so at the restart t=121
    # timm gives the end of cycle 4 (lr_min) where the exact cycle 5 starts at its peak.
    s = timm.cosine(1.0, t_initial=1, cycle_mul=3.0, cycle_decay=0.5, cycle_limit=100)
    with jax.enable_x64(True):
        ours = lrsched.evaluate(s, [121, 122])
    assert ours[0] == pytest.approx(0.5**5) and ours[1] < ours[0]
    assert cosine_main(121, 1.0, 1, 0.0, 3.0, 0.5, 100, 1.0, exact=False) == pytest.approx(0.0, abs=1e-12)


# ------------------------------------------------------------------ tanh, poly


@given(base=st.floats(1e-4, 1.0), t_initial=st.integers(1, 300), lb=st.floats(-8.0, -4.0), ub=st.floats(1.0, 4.0),
       min_frac=st.sampled_from([0.0, 0.2]), cycle_mul=cycle_muls, cycle_decay=st.floats(0.1, 1.0),
       cycle_limit=limits, warmup_t=warmup_ts, init_frac=st.floats(0.0, 1.0), prefix=st.booleans())
def test_tanh_matches_timm(base, t_initial, lb, ub, min_frac, cycle_mul, cycle_decay, cycle_limit, warmup_t,
                           init_frac, prefix):
    lr_min, init = min_frac * base, init_frac * base
    cyc = (cycle_mul, cycle_decay, cycle_limit)

    def ref(exact):
        main = lambda t: tanh_main(t, base, t_initial, lb, ub, lr_min, *cyc, exact)  # noqa: E731
        return with_warmup(main, base, warmup_t, init, prefix, ramp_to_main=True)

    differ = compare(lambda: timm.tanh(base, t_initial, lb, ub, lr_min, *cyc, warmup_t=warmup_t, warmup_lr_init=init,
                                       warmup_prefix=prefix), ref(True), ref(False), base)
    _assert_only_restarts(differ, t_initial, cycle_mul, warmup_t, prefix)


@given(base=st.floats(1e-4, 1.0), t_initial=st.integers(1, 300), power=st.sampled_from([0.5, 1.0, 2.0, 3.3]),
       min_frac=st.sampled_from([0.0, 0.2]), cycle_mul=cycle_muls, cycle_decay=st.floats(0.1, 1.0),
       cycle_limit=limits, warmup_t=warmup_ts, init_frac=st.floats(0.0, 1.0), prefix=st.booleans(),
       k_decay=st.sampled_from([1.0, 0.5, 2.0]))
def test_poly_matches_timm(base, t_initial, power, min_frac, cycle_mul, cycle_decay, cycle_limit, warmup_t,
                           init_frac, prefix, k_decay):
    lr_min, init = min_frac * base, init_frac * base
    cyc = (cycle_mul, cycle_decay, cycle_limit)

    def ref(exact):
        main = lambda t: poly_main(t, base, t_initial, power, lr_min, *cyc, k_decay, exact)  # noqa: E731
        return with_warmup(main, base, warmup_t, init, prefix)

    differ = compare(lambda: timm.poly(base, t_initial, power, lr_min, *cyc, warmup_t=warmup_t, warmup_lr_init=init,
                                       warmup_prefix=prefix, k_decay=k_decay), ref(True), ref(False), base)
    _assert_only_restarts(differ, t_initial, cycle_mul, warmup_t, prefix)


# -------------------------------------------------------------- step, multistep


@given(base=st.floats(1e-4, 1.0), decay_t=st.one_of(st.integers(1, 400), st.sampled_from([2.5, 7.25])),
       rate=st.floats(0.1, 1.0), warmup_t=warmup_ts, init_frac=st.floats(0.0, 1.0), prefix=st.booleans())
def test_step_matches_timm(base, decay_t, rate, warmup_t, init_frac, prefix):
    init = init_frac * base
    ref = with_warmup(lambda t: step_main(t, base, decay_t, rate), base, warmup_t, init, prefix)
    compare(lambda: timm.step(base, decay_t, rate, warmup_t, init, prefix), ref, None, base)


@given(base=st.floats(1e-4, 1.0), marks=st.lists(st.integers(0, 1500), min_size=3, max_size=3).map(sorted),
       rate=st.floats(0.1, 1.0), warmup_t=warmup_ts, init_frac=st.floats(0.0, 1.0), prefix=st.booleans())
def test_multistep_matches_timm(base, marks, rate, warmup_t, init_frac, prefix):
    init = init_frac * base
    ref = with_warmup(lambda t: multistep_main(t, base, marks, rate), base, warmup_t, init, prefix)
    compare(lambda: timm.multistep(base, marks, rate, warmup_t, init, prefix), ref, None, base)


def test_float32_against_the_references():
    """Float32 (the default) within 2e-6 of each value on one configuration of each scheduler."""
    specs = [
        (timm.cosine(0.1, 300, 1e-3, 2.0, 0.7, 4, warmup_t=20, warmup_lr_init=1e-4, k_decay=1.5),
         with_warmup(lambda t: cosine_main(t, 0.1, 300, 1e-3, 2.0, 0.7, 4, 1.5, True), 0.1, 20, 1e-4, False)),
        (timm.tanh(0.1, 300, lr_min=1e-3, cycle_limit=3, warmup_t=20, warmup_lr_init=1e-4),
         with_warmup(lambda t: tanh_main(t, 0.1, 300, -7.0, 3.0, 1e-3, 1.0, 1.0, 3, True), 0.1, 20, 1e-4, False,
                     ramp_to_main=True)),
        (timm.poly(0.1, 700, 2.0, 1e-3, 1.5, 0.8, 3, warmup_t=20, warmup_prefix=True),
         with_warmup(lambda t: poly_main(t, 0.1, 700, 2.0, 1e-3, 1.5, 0.8, 3, 1.0, True), 0.1, 20, 0.0, True)),
        (timm.step(0.1, 30, 0.5, warmup_t=5), with_warmup(lambda t: step_main(t, 0.1, 30, 0.5), 0.1, 5, 0.0, True)),
        (timm.multistep(0.1, [100, 400, 401], 0.5),
         with_warmup(lambda t: multistep_main(t, 0.1, [100, 400, 401], 0.5), 0.1, 0, 0.0, True)),
    ]
    values = run_all([s for s, _ in specs], np.arange(GRID))
    for got, (_, ref) in zip(values, specs):
        assert np.asarray(got).dtype == np.float32
        np.testing.assert_allclose(np.asarray(got, np.float64), [ref(t) for t in range(GRID)], rtol=2e-6, atol=1e-30)


def test_multistep_counts_milestones_one_update_early():
    v = lrsched.evaluate(timm.multistep(1.0, [5, 5, 9], 0.1), 12)
    np.testing.assert_allclose(v, [1, 1, 1, 1, 0.01, 0.01, 0.01, 0.01, 0.001, 0.001, 0.001, 0.001], rtol=1e-6)


# ---------------------------------------------------------------- create_scheduler_v2


# timm/scheduler/scheduler_factory.py: create_scheduler_v2 (timm 1.0), re-stated in float64: the *_epochs
# arguments times updates_per_epoch unless step_on_epochs, the scheduler chosen by name with timm's arguments
# (poly's power is decay_rate), and the returned epoch count from get_cycle_length() + cooldown_t.
def ref_factory(base, sched, num_epochs=300, decay_epochs=90, decay_milestones=(90, 180, 270), cooldown_epochs=0,
                decay_rate=0.1, min_lr=0.0, warmup_lr=1e-5, warmup_epochs=0, warmup_prefix=False, cycle_mul=1.0,
                cycle_decay=0.1, cycle_limit=1, k_decay=1.0, step_on_epochs=True, updates_per_epoch=0):
    u = 1 if step_on_epochs else updates_per_epoch
    t_initial, warmup_t, decay_t, cooldown_t = num_epochs * u, warmup_epochs * u, decay_epochs * u, cooldown_epochs * u
    milestones = [d * u for d in decay_milestones]
    cyc = (cycle_mul, cycle_decay, cycle_limit)
    mains = {
        "cosine": lambda t: cosine_main(t, base, t_initial, min_lr, *cyc, k_decay, True),
        "tanh": lambda t: tanh_main(t, base, t_initial, -7.0, 3.0, min_lr, *cyc, True),
        "poly": lambda t: poly_main(t, base, t_initial, decay_rate, min_lr, *cyc, k_decay, True),
        "step": lambda t: step_main(t, base, decay_t, decay_rate),
        "multistep": lambda t: multistep_main(t, base, milestones, decay_rate),
    }
    lr = with_warmup(mains[sched], base, warmup_t, warmup_lr, warmup_prefix, ramp_to_main=(sched == "tanh"))
    if sched in ("cosine", "tanh", "poly"):  # CosineLRScheduler.get_cycle_length (and tanh's, poly's)
        cycles = max(1, cycle_limit)
        if cycle_mul == 1.0:
            length = t_initial * cycles
        else:
            length = int(math.floor(-t_initial * (cycle_mul**cycles - 1) / (1 - cycle_mul)))
        length = length + warmup_t if warmup_prefix else length
        epochs = length + cooldown_t if step_on_epochs else (length + cooldown_t) // u
    else:
        epochs = num_epochs + warmup_epochs if warmup_prefix else num_epochs
    return lr, epochs


FACTORY_CASES = [
    dict(sched="cosine", num_epochs=50, warmup_epochs=5, warmup_lr=1e-6, min_lr=1e-5, cooldown_epochs=10),
    dict(sched="cosine", num_epochs=30, warmup_epochs=3, warmup_prefix=True, cycle_mul=2.0, cycle_limit=3,
         cycle_decay=0.5, k_decay=1.5, cooldown_epochs=2, step_on_epochs=False, updates_per_epoch=17),
    dict(sched="tanh", num_epochs=40, warmup_epochs=4, min_lr=2e-5, cycle_limit=2, cycle_decay=0.7,
         step_on_epochs=False, updates_per_epoch=9, cooldown_epochs=3),
    dict(sched="poly", num_epochs=60, decay_rate=2.0, min_lr=1e-6, warmup_epochs=2, warmup_prefix=True,
         cycle_mul=1.5, cycle_limit=2, step_on_epochs=False, updates_per_epoch=11),
    dict(sched="step", decay_epochs=2.4, decay_rate=0.97, warmup_epochs=3, warmup_lr=1e-6),
    dict(sched="step", decay_epochs=7, decay_rate=0.5, warmup_epochs=1, warmup_prefix=True,
         step_on_epochs=False, updates_per_epoch=13),
    dict(sched="multistep", decay_milestones=[10, 25, 25, 60], decay_rate=0.3, warmup_epochs=2,
         step_on_epochs=False, updates_per_epoch=7),
]


@pytest.mark.parametrize("case", range(len(FACTORY_CASES)))
def test_create_scheduler_v2_matches_timm(case):
    """timm's factory: the same schedule (1e-12 under x64, 2e-6 of each value in float32) and the same epoch
    count, with a base rate float32 cannot hold."""
    kw, base = FACTORY_CASES[case], 3.3e-4
    ref, epochs = ref_factory(base, **kw)
    want = np.array([ref(t) for t in range(GRID)])
    with jax.enable_x64(True):
        s, n = timm.create_scheduler_v2(base, **kw)
        ours64 = lrsched.evaluate(s, GRID)
    assert n == epochs
    np.testing.assert_allclose(ours64, want, rtol=1e-12, atol=1e-12 * base)
    ours32 = lrsched.evaluate(timm.create_scheduler_v2(base, **kw)[0], GRID)
    np.testing.assert_allclose(ours32.astype(np.float64), want, rtol=2e-6, atol=1e-30)


def test_create_scheduler_v2_noise_and_epoch_indexing():
    """noise fractions of t_initial become timm's noise_range_t; per epoch and per update index the same timm
    scheduler at different rates of time."""
    s, _ = timm.create_scheduler_v2(0.1, "cosine", num_epochs=100, noise=[0.2, 0.8], noise_pct=0.1, noise_seed=3)
    same = timm.cosine(0.1, 100, cycle_decay=0.1, warmup_lr_init=1e-5, noise_range_t=(20.0, 80.0), noise_pct=0.1,
                       noise_seed=3)
    np.testing.assert_array_equal(lrsched.evaluate(s, 120), lrsched.evaluate(same, 120))
    clean = lrsched.evaluate(timm.create_scheduler_v2(0.1, "cosine", num_epochs=100)[0], 120)
    noisy = lrsched.evaluate(s, 120)
    assert np.all(noisy[:20] == clean[:20]) and np.all(noisy[80:] == clean[80:])
    assert np.all(noisy[20:80] != clean[20:80])
    one, _ = timm.create_scheduler_v2(0.1, "cosine", num_epochs=10, noise=[0.5], noise_pct=0.1)
    v, c = lrsched.evaluate(one, 12), lrsched.evaluate(timm.cosine(0.1, 10, cycle_decay=0.1, warmup_lr_init=1e-5), 12)
    assert np.all(v[:5] == c[:5]) and np.all(v[5:10] != c[5:10])  # a single fraction: noise from there on (0 stays 0)
    by_epoch, _ = timm.create_scheduler_v2(0.1, "step", decay_epochs=3, decay_rate=0.5)
    by_update, _ = timm.create_scheduler_v2(0.1, "step", decay_epochs=3, decay_rate=0.5, step_on_epochs=False,
                                            updates_per_epoch=4)
    np.testing.assert_array_equal(lrsched.evaluate(by_epoch, 10), lrsched.evaluate(by_update, 40)[::4])


@pytest.mark.parametrize("kwargs, match", [
    (dict(sched="plateau", noise=0.5), r"noise must be None with sched='plateau'.*Pass noise=None"),
    (dict(sched="plateau", step_on_epochs=False, updates_per_epoch=10),
     r"step_on_epochs must be True with sched='plateau'.*only supports step per epoch"),
    (dict(sched="plateau", plateau_mode="mean"), r"plateau_mode must be 'min' or 'max'"),
    (dict(sched="plateau", patience_epochs=-1), r"patience_epochs must be a non-negative integer"),
    (dict(sched="plateau", patience_epochs=2.5), r"patience_epochs must be a whole number"),
    (dict(sched="plateau", decay_rate=1.0), r"decay_rate must be in \[0, 1\) with sched='plateau'"),
    (dict(sched="plateau", min_lr=-1e-3), r"min_lr must be non-negative"),
    (dict(sched="plateau", warmup_epochs=2.5), r"warmup_epochs must be a whole number with sched='plateau'"),
    (dict(sched="plateau", warmup_epochs=-1), r"warmup_epochs must be a non-negative number"),
    (dict(sched="cosin"), r"sched must be one of 'cosine', 'tanh'.*'plateau'"),
    (dict(step_on_epochs=False), r"updates_per_epoch.*Pass updates_per_epoch=len\(loader\)"),
    (dict(num_epochs=0), r"num_epochs must be a positive number"),
    (dict(num_epochs=10.5), r"num_epochs must be a whole number.*pass an int"),
    (dict(warmup_epochs=-1), r"warmup_epochs must be a non-negative number"),
    (dict(noise=[0.1, 0.5, 0.9]), r"noise must be a start fraction or a \[start, end\] pair"),
    (dict(step_on_epochs="no"), r"step_on_epochs must be True or False"),
])
def test_create_scheduler_v2_errors(kwargs, match):
    with pytest.raises(lrsched.ScheduleError, match=match):
        timm.create_scheduler_v2(0.1, **kwargs)


# ---------------------------------------------------------------------- plateau


def ref_plateau(base, metrics, decay_rate=0.1, patience_epochs=10, min_lr=0.0, warmup_lr=1e-5, warmup_epochs=0,
                plateau_mode="max"):
    """timm 1.0's create_scheduler_v2(sched="plateau") (scheduler_factory.py: PlateauLRScheduler(decay_rate,
    patience_t=patience_epochs, cooldown_t=0, warmup_lr_init=warmup_lr, warmup_t=warmup_epochs, lr_min=min_lr,
    mode=plateau_mode)) re-stated from timm/scheduler/plateau_lr.py (__init__ and step, no noise) around torch's
    real ReduceLROnPlateau on an SGD optimizer in float64, stepped as timm's train.py does: step(epoch, metric)
    for epoch = 1, 2, ... The rates of epochs 0..len(metrics)."""
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))], lr=base)
    for group in opt.param_groups:  # Scheduler.__init__(initialize=True)
        group.setdefault("initial_lr", group["lr"])
    base_values = [group["initial_lr"] for group in opt.param_groups]
    # timm also passes verbose=True, which torch 2.13 no longer takes (it only printed)
    plateau = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, patience=patience_epochs, factor=decay_rate,
                                                         threshold=1e-4, cooldown=0, mode=plateau_mode,
                                                         min_lr=min_lr)
    if warmup_epochs:
        warmup_steps = [(v - warmup_lr) / warmup_epochs for v in base_values]
        for group in opt.param_groups:  # update_groups(warmup_lr_init)
            group["lr"] = warmup_lr
    else:
        warmup_steps = [1 for _ in base_values]
    rates = [float(opt.param_groups[0]["lr"])]
    for epoch, metric in enumerate(metrics, start=1):
        if epoch <= warmup_epochs:
            for group, s in zip(opt.param_groups, warmup_steps):
                group["lr"] = warmup_lr + epoch * s
        else:
            plateau.step(float(metric))  # timm passes (metric, epoch); the epoch only sets last_epoch
        rates.append(float(opt.param_groups[0]["lr"]))
    return np.array(rates)


def run_plateau(p, metrics):
    """Feed `metrics` as timm's step(epoch, metric) for epoch = 1, 2, ...; the rates of epochs 0..len(metrics)."""
    state = p.init()
    rates = [p(0, state)]
    for epoch, metric in enumerate(metrics, start=1):
        state = p.update(state, metric, step=epoch)
        rates.append(p(epoch, state))
    return np.array([float(r) for r in rates])


def plateau_metrics(seed, n=30, mode="max"):
    """Metrics with plateaus, repeats, improvements, a NaN and infinities, all float32 numbers."""
    rng = np.random.default_rng(seed)
    trend = np.cumsum(rng.choice([0.0, 0.0, 0.0, 1e-5, 0.02, -0.01], size=n)) * (1 if mode == "max" else -1)
    m = (0.5 + trend + rng.normal(0, 0.003, n) * (rng.random(n) < 0.3)).astype(np.float32).astype(np.float64)
    m[rng.integers(n)] = np.nan
    if seed % 3 == 0:
        m[rng.integers(n)] = -np.inf if mode == "max" else np.inf
    return m


PLATEAU_CASES = [
    dict(),
    dict(plateau_mode="min", patience_epochs=2, decay_rate=0.5),
    dict(patience_epochs=0, decay_rate=0.3, min_lr=2.7e-5, warmup_epochs=4, warmup_lr=1.1e-6),
    dict(plateau_mode="min", patience_epochs=1, decay_rate=0.7, min_lr=1e-6, warmup_epochs=3, warmup_lr=0.0),
    dict(patience_epochs=3, decay_rate=0.1, min_lr=1e-4, warmup_epochs=1, warmup_prefix=True),
    dict(plateau_mode="min", patience_epochs=0, decay_rate=0.0, warmup_epochs=5, warmup_lr=3e-3),
    dict(plateau_mode="min", patience_epochs=1, decay_rate=0.9, min_lr=1.0),  # min_lr above the rate: kept
]


@pytest.mark.parametrize("case", range(len(PLATEAU_CASES)))
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_create_scheduler_v2_plateau_matches_timm(case, seed):
    """timm's plateau (its warmup, then torch's real ReduceLROnPlateau fed only the metrics after the warmup):
    the same rates under x64 (bit for bit from the warmup's end on; the ramp within 1e-15), to 2e-6 of each
    in float32, and timm's epoch count."""
    kw, base = PLATEAU_CASES[case], 3.3e-4
    metrics = plateau_metrics(seed * 10 + case, mode=kw.get("plateau_mode", "max"))
    ref_kw = {k: v for k, v in kw.items() if k != "warmup_prefix"}
    want = ref_plateau(base, metrics, **ref_kw)
    with jax.enable_x64(True):
        p, n = timm.create_scheduler_v2(base, "plateau", num_epochs=30, cooldown_epochs=7, **kw)
        ours64 = run_plateau(p, metrics)
    assert n == 30 + kw.get("warmup_epochs", 0) * kw.get("warmup_prefix", False)  # no cooldown, no cycles
    w = kw.get("warmup_epochs", 0)  # the ramp is lrsched.linear's (an ulp off timm's sum); the rest bit for bit
    np.testing.assert_allclose(ours64[:w], want[:w], rtol=1e-15, atol=0)
    np.testing.assert_array_equal(ours64[w:], want[w:])
    p32, _ = timm.create_scheduler_v2(base, "plateau", num_epochs=30, **kw)
    ours32 = run_plateau(p32, metrics)
    np.testing.assert_allclose(ours32, want, rtol=2e-6, atol=0)
    if kw.get("decay_rate", 0.1) < 1 and kw.get("min_lr", 0) < base and case != 0:
        assert np.any(want[1:] < want[:-1]), "the case should reduce at least once"


def test_create_scheduler_v2_plateau_ignores_the_warmups_metrics():
    """A metric fed during the warmup is never compared nor kept as the best: here the warmup's 0.0 would
    make every later loss bad and reduce at once (what a plateau that saw it would do)."""
    losses = [0.0, 0.0, 0.0, 1.0, 1.0, 0.9, 0.9, 0.9]
    kw = dict(warmup_epochs=3, warmup_lr=0.0, patience_epochs=1, decay_rate=0.5, plateau_mode="min")
    with jax.enable_x64(True):
        p, _ = timm.create_scheduler_v2(0.1, "plateau", **kw)
        got = run_plateau(p, losses)
        np.testing.assert_allclose(got, ref_plateau(0.1, losses, **kw), rtol=1e-15, atol=0)
        np.testing.assert_allclose(got, [0, 0.1 / 3, 0.2 / 3, 0.1, 0.1, 0.1, 0.1, 0.1, 0.05], rtol=1e-15)
        seen = lrsched.plateau(p.schedule, factor=0.5, patience=1, mode="min")  # the same, fed everything
        assert np.all(run_plateau(seen, losses)[4:] < 0.1)  # reduced from the first epoch after the warmup


def test_create_scheduler_v2_plateau_under_jit_scan_and_vmap():
    """The plateau's update is pure: a jitted scan over the epochs, and a vmap over metric sequences, give the
    eager rates."""
    base, kw = 0.02, dict(warmup_epochs=2, patience_epochs=1, decay_rate=0.5, plateau_mode="min", min_lr=1e-3)
    seqs = np.stack([plateau_metrics(s, mode="min") for s in range(4)])
    p, _ = timm.create_scheduler_v2(base, "plateau", **kw)

    @jax.jit
    def rates(metrics):
        def body(state, xs):
            epoch, metric = xs
            state = p.update(state, metric, step=epoch)
            return state, p(epoch, state)
        _, out = jax.lax.scan(body, p.init(), (jnp.arange(1, 31), metrics))
        return out

    batched = np.asarray(jax.vmap(rates)(jnp.asarray(seqs, jnp.float32)), np.float64)
    for row, metrics in zip(batched, seqs):
        want = ref_plateau(base, metrics, **kw)[1:]
        np.testing.assert_allclose(row, want, rtol=2e-6, atol=0)
        np.testing.assert_allclose(row, run_plateau(p, metrics)[1:], rtol=1e-7, atol=0)


# ------------------------------------------------------------------------ noise


def test_noise_bounds_range_and_reproducibility():
    clean = timm.cosine(1.0, t_initial=3000)
    noisy = timm.cosine(1.0, t_initial=3000, noise_range_t=(500, 2500), noise_pct=0.1, noise_seed=7)
    again = timm.cosine(1.0, t_initial=3000, noise_range_t=(500, 2500), noise_pct=0.1, noise_seed=7)
    other = timm.cosine(1.0, t_initial=3000, noise_range_t=(500, 2500), noise_pct=0.1, noise_seed=8)
    open_ended = timm.cosine(1.0, t_initial=3000, noise_range_t=2500, noise_pct=0.1, noise_seed=7)
    c, n, a, o, e = (np.asarray(v, np.float64) for v in run_all([clean, noisy, again, other, open_ended],
                                                                np.arange(3000)))
    ratio = n / c
    np.testing.assert_array_equal(n, a)  # same seed, same values
    assert np.mean(n[500:2500] != o[500:2500]) > 0.99  # another seed, other draws
    np.testing.assert_array_equal(n[:500], c[:500])  # only inside noise_range_t
    np.testing.assert_array_equal(n[2500:], c[2500:])
    assert np.all(np.abs(ratio[500:2500] - 1) < 0.1 + 1e-6) and np.all(np.abs(ratio[500:2500] - 1) > 0)
    np.testing.assert_array_equal(e[:2500], c[:2500])  # a single start: noise from there on
    assert np.all(e[2500:] != c[2500:])


def test_noise_distribution_matches_timm_torch_draws():
    """Same law as timm's resampled torch draws: compare quantiles and moments over 3000 steps."""
    n, pct = 3000, 0.5
    kinds = ("normal", "uniform")
    built = [timm.step(1.0, decay_t=10**6, noise_range_t=0, noise_pct=pct, noise_seed=42, noise_type=k) for k in kinds]
    for kind, values in zip(kinds, run_all(built, np.arange(n))):
        ours = np.asarray(values, np.float64) - 1.0
        theirs = np.array([timm_noise(t, 0, pct, 42, kind) for t in range(n)])
        assert np.all(np.abs(ours) < pct) and np.all(np.abs(theirs) < pct)
        for q in (0.1, 0.25, 0.5, 0.75, 0.9):
            assert abs(np.quantile(ours, q) - np.quantile(theirs, q)) < 0.04, (kind, q)
        assert abs(ours.std() - theirs.std()) < 0.02 and abs(ours.mean()) < 0.02, kind


NOISE_STEPS = np.concatenate([np.arange(400), [2**24 - 1, 2**24, 2**24 + 1, 2**31 - 2, 2**31 - 1]])


@pytest.mark.parametrize("kind", ["normal", "uniform"])
@pytest.mark.parametrize("seed", [0, 7, 2**31 - 1])
def test_noise_draws_are_the_same_with_x64_on_and_off(kind, seed):
    """The draw is made in float32 in both modes: x64's value is the float32 draw widened, so the float32
    evaluation is exactly x64's rounded to float32 (a different draw would be off by up to pct)."""
    pct = 0.3
    built = [lrsched.noise(lrsched.constant(1.0), pct, seed=seed, kind=kind),
             timm.step(1.0, decay_t=10**9, noise_range_t=0, noise_pct=pct, noise_seed=seed, noise_type=kind)]
    for s in built:
        with jax.enable_x64(True):
            wide = np.asarray(jax.jit(s)(jnp.asarray(NOISE_STEPS)))
        narrow = np.asarray(jax.jit(s)(jnp.asarray(NOISE_STEPS, jnp.int32)))
        assert wide.dtype == np.float64 and narrow.dtype == np.float32
        np.testing.assert_array_equal(wide.astype(np.float32), narrow)
        draws = wide - 1.0
        np.testing.assert_array_equal(draws.astype(np.float32).astype(np.float64), draws)  # a float32 draw
        assert np.all(np.abs(draws) < pct) and len(np.unique(draws)) == len(NOISE_STEPS)


def test_noise_in_the_torch_bridge_equals_jax_for_the_same_seed():
    """The torch bridge evaluates its tables under x64; its noisy rates are JAX's float32 ones."""
    lrsched_torch = pytest.importorskip("lrsched_torch")
    noisy = timm.cosine(0.1, t_initial=300, noise_range_t=(20, 250), noise_pct=0.2, noise_seed=11)
    param = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    opt = torch.optim.SGD([param], lr=0.1)
    sched = lrsched_torch.ScheduleLR(opt, lr=noisy)
    rates = []
    for _ in range(300):
        rates.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    ours = np.asarray(jax.jit(noisy)(jnp.arange(300)), np.float64)
    with jax.enable_x64(True):
        wide = np.asarray(jax.jit(noisy)(jnp.arange(300)))
    np.testing.assert_allclose(rates, wide, rtol=1e-15)
    np.testing.assert_allclose(rates, ours, rtol=2e-6)  # float32 (the guarantee); another draw is off by up to 20%
    assert np.mean(np.asarray(rates[20:250]) != np.asarray(run_all([timm.cosine(0.1, 300)], np.arange(300))[0],
                                                           np.float64)[20:250]) > 0.99


# ------------------------------------------------------------- config and vmap


# Every scheduler's jit / x64 / vmap-over-every-argument / grad / config / repr checks: tests/cases.py.
# The noise (random, so not in the shared list) gets them here.


def test_noise_arguments_vmap_and_config_round_trip():
    def noisy(base, start, pct, seed):
        return timm.cosine(base, 40, 1e-3, cycle_limit=3, warmup_t=5, noise_range_t=(start, start + 50),
                           noise_pct=pct, noise_seed=seed)

    args = dict(base=[0.1, 0.02], start=[10, 60], pct=[0.2, 0.4], seed=[1, 2])
    batched = jax.jit(jax.vmap(lambda *a: noisy(*a)(jnp.arange(150))))(*(jnp.asarray(v) for v in args.values()))
    for i in range(2):
        s = noisy(*(v[i] for v in args.values()))
        want = np.asarray(run_all([s], np.arange(150))[0])
        np.testing.assert_allclose(np.asarray(batched[i]), want, rtol=2e-6, atol=1e-9)
        again = lrsched.from_config(json.loads(json.dumps(lrsched.to_config(s))))
        np.testing.assert_array_equal(np.asarray(run_all([again], np.arange(150))[0]), want)


@pytest.mark.parametrize("build, match", [
    (lambda: timm.cosine(0.1, 0), r"t_initial must be positive"),
    (lambda: timm.cosine(0.1, 10, lr_min=-1.0), r"lr_min must be non-negative"),
    (lambda: timm.cosine(0.1, 10, cycle_mul=0.5), r"cycle_mul must be >= 1"),
    (lambda: timm.tanh(0.1, 10, lb=3.0, ub=-7.0), r"lb must be below ub"),
    (lambda: timm.poly(0.1, 10, power=0.0), r"power must be positive"),
    (lambda: timm.step(0.1, 10, warmup_t=-1), r"warmup_t must be a non-negative number of updates"),
    (lambda: timm.step(0.1, 10, noise_range_t=(1, 2, 3)), r"noise_range_t must be a start or a \(start, end\) pair"),
    (lambda: timm.step(0.1, 10, noise_range_t=0, noise_type="laplace"), r"noise_type must be 'normal' or 'uniform'"),
    (lambda: timm.multistep(0.1, [5, 3]), r"milestones must be a sequence in non-decreasing order"),
])
def test_errors_say_what_and_how(build, match):
    with pytest.raises(lrsched.ScheduleError, match=match):
        build()
