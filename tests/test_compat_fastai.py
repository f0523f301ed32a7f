"""lrsched.compat.fastai against float64 re-statements of fastai's callback/schedule.py.

fastai is not installed here (it pulls a CUDA torch); the references below follow
fastai 2.8's published source line by line, each citing its function.
"""

from __future__ import annotations

import math

import jax
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import lrsched
from lrsched.compat import fastai as fa

# ----------------------------------------------------------------- references
# fastai/callback/schedule.py: sched_lin, sched_cos, sched_no, sched_exp, SchedPoly._inner


def ref_lin(s, e):
    return lambda p: s + p * (e - s)


def ref_cos(s, e):
    return lambda p: s + (1 + math.cos(math.pi * (1 - p))) * (e - s) / 2


def ref_no(s, e):
    return lambda p: s


def ref_exp(s, e):
    return lambda p: s * (e / s) ** p


def ref_poly(s, e, power):
    return lambda p: s + (e - s) * p**power


# fastai/callback/schedule.py: combine_scheds, with the cumulative fractions in float64
# (fastai keeps them in a float32 torch tensor: see ref_combine_as_run for that). lrsched's documented
# tie rule: a boundary that pos misses by less than 1e-12 (fractions that meet, 1/8 + 5/24 + 1/3 and
# 166/249, rounded to either side) counts as reached.
TIE = 1e-12


def ref_combine(pcts, scheds):
    c = np.cumsum(np.asarray([0.0] + list(pcts), dtype=np.float64))
    lim = len(c) - 2

    def f(pos):
        idx = min(int(np.nonzero(pos + TIE >= c)[0].max()), lim)
        return scheds[idx]((pos - c[idx]) / (c[idx + 1] - c[idx]))

    return f


# fastai/callback/schedule.py: combine_scheds exactly as it runs, with torch's default float32 tensor.
def ref_combine_as_run(pcts, scheds):
    c = torch.cumsum(torch.tensor([0] + list(pcts)), 0)
    lim = len(c) - 2

    def f(pos):
        idx = min(int((pos >= c).nonzero().max()), lim)
        return scheds[idx](((pos - c[idx]) / (c[idx + 1] - c[idx])).item())

    return f


# fastai/callback/schedule.py: combined_cos
def ref_combined_cos(pct, start, middle, end, combine=ref_combine):
    return combine([pct, 1 - pct], [ref_cos(start, middle), ref_cos(middle, end)])


# fastai/callback/schedule.py: ParamScheduler.before_batch sets f(pct_train) with pct_train = i / N
# (fastai/learner.py TrainEvalCallback); past the last batch lrsched holds batch N - 1.
def ref_per_step(f, total, n):
    return np.array([f(min(i, total - 1) / total) for i in range(n)])


# fastai/learner.py TrainEvalCallback: pct_train = epoch / n_epoch at each epoch's start,
# then += 1 / (n_iter * n_epoch) after each batch (a running float sum).
def ref_as_run(f, n_epoch, n_iter):
    out = []
    for epoch in range(n_epoch):
        pos = epoch / n_epoch
        for _ in range(n_iter):
            out.append(f(pos))
            pos += 1.0 / (n_iter * n_epoch)
    return np.array(out)


# fastai/callback/schedule.py: Learner.fit_sgdr's n_epoch and pcts
def ref_sgdr(n_cycles, cycle_len, lr_max, cycle_mult, combine=ref_combine):
    n_epoch = cycle_len * (cycle_mult**n_cycles - 1) // (cycle_mult - 1)
    pcts = [cycle_len * cycle_mult**i / n_epoch for i in range(n_cycles)]
    return n_epoch, combine(pcts, [ref_cos(lr_max, 0) for _ in range(n_cycles)])


def close(ours, ref, scale, tol):
    """Maximum error relative to the schedule's scale (its largest value)."""
    ours, ref = np.asarray(ours, np.float64), np.asarray(ref, np.float64)
    assert ours.shape == ref.shape
    err = np.max(np.abs(ours - ref)) / scale
    assert err <= tol, f"max error {err:.3g} x scale > {tol}"


def close_rel(ours, ref, tol, floor=1e-30):
    """Maximum error relative to each value (values below `floor` times the peak compare absolutely)."""
    ours, ref = np.asarray(ours, np.float64), np.asarray(ref, np.float64)
    assert ours.shape == ref.shape
    err = np.abs(ours - ref) / np.maximum(np.abs(ref), floor * np.abs(ref).max())
    assert err.max() <= tol, f"max relative error {err.max():.3g} at {int(np.argmax(err))} > {tol}"


fractions = st.one_of(st.sampled_from([0.0, 1e-3, 0.25, 0.5, 0.999, 1.0]), st.floats(0.0, 1.0))

GRID = 2600  # every drawn configuration is evaluated on steps 0..GRID-1 (one compilation per schedule shape)


# ------------------------------------------------------------------ fit_one_cycle


@given(total=st.integers(1, 2500), lr_max=st.floats(1e-5, 10.0), div=st.floats(1.0, 100.0),
       div_final=st.floats(1.0, 1e6), pct=fractions)
def test_one_cycle_matches_fastai(total, lr_max, div, div_final, pct):
    ref = ref_per_step(ref_combined_cos(pct, lr_max / div, lr_max, lr_max / div_final), total, GRID)
    with jax.enable_x64(True):
        close(lrsched.evaluate(fa.one_cycle(total, lr_max, div, div_final, pct), GRID), ref, lr_max, 1e-12)
    # float32: within 2e-6 of each value (values below 1e-30 of the peak absolutely)
    close_rel(lrsched.evaluate(fa.one_cycle(total, lr_max, div, div_final, pct), GRID), ref, 2e-6)


@given(total=st.integers(1, 2500), pct=fractions,
       moms=st.tuples(st.floats(0.5, 0.99), st.floats(0.5, 0.99), st.floats(0.5, 0.99)))
def test_one_cycle_momentum_matches_fastai(total, pct, moms):
    ref = ref_per_step(ref_combined_cos(pct, *moms), total, GRID)
    with jax.enable_x64(True):
        close(lrsched.evaluate(fa.one_cycle_momentum(total, pct, moms), GRID), ref, 1.0, 1e-12)
    close_rel(lrsched.evaluate(fa.one_cycle_momentum(total, pct, moms), GRID), ref, 2e-6)


def test_seed_fit_one_cycle_defaults_over_10000_steps():
    # fastai's fit_one_cycle defaults: div=25, div_final=1e5, pct_start=0.25, moms=(0.95, 0.85, 0.95)
    total = 10_000
    s = fa.fit_one_cycle(total, lr_max=3e-3)
    lr_ref = ref_per_step(ref_combined_cos(0.25, 3e-3 / 25, 3e-3, 3e-3 / 1e5), total, total)
    mom_ref = ref_per_step(ref_combined_cos(0.25, 0.95, 0.85, 0.95), total, total)
    with jax.enable_x64(True):
        close(lrsched.evaluate(s["lr"], total), lr_ref, 3e-3, 1e-12)
        close(lrsched.evaluate(s["mom"], total), mom_ref, 1.0, 1e-12)
    lr32 = lrsched.evaluate(s["lr"], total)
    assert lr32.dtype == np.float32
    close(lr32, lr_ref, 3e-3, 1e-6)
    assert lr32[0] == pytest.approx(3e-3 / 25) and lr32[2500] == pytest.approx(3e-3)
    assert np.argmax(lr32) == 2500 and np.argmin(lrsched.evaluate(s["mom"], total)) == 2500


def test_one_cycle_as_fastai_runs_it():
    """fastai's float32 boundaries and running pct_train move its values by ~1e-7 only."""
    n_epoch, n_iter = 7, 143
    f = ref_combined_cos(0.25, 1e-3 / 25, 1e-3, 1e-3 / 1e5, combine=ref_combine_as_run)
    with jax.enable_x64(True):
        ours = lrsched.evaluate(fa.one_cycle(n_epoch * n_iter, 1e-3), n_epoch * n_iter)
    close(ours, ref_as_run(f, n_epoch, n_iter), 1e-3, 1e-6)


# ------------------------------------------------------------- flat_cos and sgdr


@given(total=st.integers(1, 2500), lr=st.floats(1e-5, 1.0), div_final=st.floats(1.0, 1e6), pct=fractions)
def test_flat_cos_matches_fastai(total, lr, div_final, pct):
    ref = ref_per_step(ref_combined_cos(pct, lr, lr, lr / div_final), total, GRID)
    with jax.enable_x64(True):
        close(lrsched.evaluate(fa.flat_cos(total, lr, div_final, pct), GRID), ref, lr, 1e-12)
    close_rel(lrsched.evaluate(fa.flat_cos(total, lr, div_final, pct), GRID), ref, 2e-6)


@given(n_cycles=st.sampled_from([1, 4]), cycle_len=st.integers(1, 4), mult=st.integers(2, 3),
       steps_per_epoch=st.integers(1, 10), lr_max=st.floats(1e-4, 1.0))
def test_sgdr_matches_fastai(n_cycles, cycle_len, mult, steps_per_epoch, lr_max):
    n_epoch, f = ref_sgdr(n_cycles, cycle_len, lr_max, mult)
    total = n_epoch * steps_per_epoch
    with jax.enable_x64(True):
        ours = lrsched.evaluate(fa.sgdr(n_cycles, cycle_len, lr_max, mult, steps_per_epoch), GRID)
    close(ours, ref_per_step(f, total, GRID), lr_max, 1e-12)
    close_rel(lrsched.evaluate(fa.sgdr(n_cycles, cycle_len, lr_max, mult, steps_per_epoch), GRID),
              ref_per_step(f, total, GRID), 2e-6)  # float32: every restart on time too
    # every cycle restarts at lr_max, on the step where its fraction of training begins
    starts = np.cumsum([0] + [cycle_len * mult**i * steps_per_epoch for i in range(n_cycles - 1)])
    assert np.allclose(ours[starts], lr_max, rtol=1e-12)


def test_sgdr_restart_quirk_of_fastai_not_reproduced():
    """fastai's float32 boundary 3/7 rounds up: as run, it restarts one batch late (documented)."""
    n_iter = 10
    n_epoch, f = ref_sgdr(3, 1, 1.0, 2, combine=ref_combine_as_run)
    as_run = ref_as_run(f, n_epoch, n_iter)
    with jax.enable_x64(True):
        ours = lrsched.evaluate(fa.sgdr(3, 1, 1.0, 2, steps_per_epoch=n_iter), n_epoch * n_iter)
    differ = np.nonzero(np.abs(ours - as_run) > 1e-6)[0]
    assert differ.tolist() == [30]
    assert ours[30] == 1.0 and as_run[30] < 1e-12 and as_run[31] > 0.99


def test_sgdr_cycle_mult_one_gives_equal_cycles():
    ours = lrsched.evaluate(fa.sgdr(3, 2, 1.0, cycle_mult=1, steps_per_epoch=2), 12)
    np.testing.assert_allclose(ours, np.tile([1.0, 0.8535534, 0.5, 0.1464466], 3), atol=1e-6)


# ------------------------------------------------------------ combine_scheds


_PIECES = {
    "lin": (fa.SchedLin, ref_lin),
    "cos": (fa.SchedCos, ref_cos),
    "no": (fa.SchedNo, ref_no),
    "exp": (fa.SchedExp, ref_exp),
}


_ORDERS = (("lin", "cos", "no", "exp", "poly"),)  # one order: one compilation


@st.composite
def combos(draw):
    """Five pieces, one of every kind, any fractions (zeros included), any numbers."""
    order = draw(st.sampled_from(_ORDERS))
    raw = draw(st.lists(st.sampled_from([0, 1, 2, 3, 5, 8]), min_size=5, max_size=5).filter(lambda w: sum(w) > 0))
    pcts = [w / sum(raw) for w in raw]
    pcts[-1] = 1.0 - sum(pcts[:-1])  # fastai asserts sum(pcts) == 1
    pieces = []
    for kind in order:
        s, e = draw(st.floats(0.01, 2.0)), draw(st.floats(0.01, 2.0))
        if kind == "poly":
            power = draw(st.floats(0.25, 4.0))
            pieces.append((fa.SchedPoly(s, e, power), ref_poly(s, e, power)))
        else:
            ours, ref = _PIECES[kind]
            pieces.append((ours(s, e), ref(s, e)))
    return pcts, pieces


_at = jax.jit(lambda s, p: s(p))


@given(combo=combos(), total=st.integers(1, 400))
def test_combine_scheds_matches_fastai(combo, total):
    pcts, pieces = combo
    f = ref_combine(pcts, [r for _, r in pieces])
    starts = [c for c in np.cumsum([0.0] + pcts)[:-1] if c < 1.0]  # every piece's first pos (fastai never sees 1)
    positions = np.concatenate([np.arange(total) / total, starts, np.zeros(406 - total - len(starts))])
    with jax.enable_x64(True):
        combined = fa.combine_scheds(pcts, [o for o, _ in pieces])
        close(np.asarray(_at(combined, positions)), [f(p) for p in positions], 2.0, 1e-12)
        close(lrsched.evaluate(fa.per_step(combined, total), 401), ref_per_step(f, total, 401), 2.0, 1e-12)


def test_sched_functions_at_pos():
    pos = np.linspace(0.0, 1.0, 11)
    pairs = [(fa.SchedLin(0.1, 3.0), ref_lin(0.1, 3.0)), (fa.SchedCos(2.0, 0.5), ref_cos(2.0, 0.5)),
             (fa.SchedNo(0.7, 9.0), ref_no(0.7, 9.0)), (fa.SchedExp(1e-7, 10.0), ref_exp(1e-7, 10.0)),
             (fa.SchedPoly(0.2, 1.2, 2.5), ref_poly(0.2, 1.2, 2.5))]
    with jax.enable_x64(True):
        got = jax.jit(lambda ss, p: [s(p) for s in ss])([o for o, _ in pairs], pos)
    for g, (_, ref) in zip(got, pairs):
        np.testing.assert_allclose(np.asarray(g), [ref(p) for p in pos], rtol=1e-13, atol=1e-15)
    # float32, both directions (a rising cosine from 1e-7 has no cancellation at its start), against the
    # float64 formula at the float32 positions the schedules are given
    pairs += [(fa.SchedCos(1e-7, 1.0), ref_cos(1e-7, 1.0)), (fa.SchedCos(1.0, 1e-7), ref_cos(1.0, 1e-7)),
              (fa.SchedLin(1e-7, 1.0), ref_lin(1e-7, 1.0)), (fa.SchedPoly(1e-7, 1.0, 0.5), ref_poly(1e-7, 1.0, 0.5))]
    pos32 = pos.astype(np.float32)
    got32 = jax.jit(lambda ss, p: [s(p) for s in ss])([o for o, _ in pairs], pos32)
    for g, (_, ref) in zip(got32, pairs):
        assert np.asarray(g).dtype == np.float32
        np.testing.assert_allclose(np.asarray(g, np.float64), [ref(float(p)) for p in pos32], rtol=2e-6, atol=1e-30)
    start = lrsched.evaluate(fa.one_cycle(100, 1.0, div=1e4), 1)[0]  # the case: 1.0002e-4 before
    assert abs(float(start) / 1e-4 - 1) < 2e-6


# ------------------------------------------------------ config, vmap, errors


# Every fit_* schedule's jit / x64 / vmap-over-every-argument / grad / config / repr checks: tests/cases.py.


def test_grad_through_lr_max_and_pct_start():
    g = jax.jit(jax.grad(lambda lr, p: fa.one_cycle(100, lr, pct_start=p)(40)))(0.1, 0.25)
    assert np.isfinite(g) and g > 0


@pytest.mark.parametrize("build, match", [
    (lambda: fa.one_cycle(100, 0.1, pct_start=1.5), r"one_cycle\(pct_start=1.5\): pct_start must be in \[0, 1\]"),
    (lambda: fa.one_cycle(0, 0.1), r"total_steps must be positive"),
    (lambda: fa.combine_scheds([0.5, 0.4], [fa.SchedLin(0, 1), fa.SchedNo(1, 1)]), r"sum to 1"),
    (lambda: fa.combine_scheds([1.0], [fa.SchedLin(0, 1), fa.SchedNo(1, 1)]), r"one fraction per schedule"),
    (lambda: fa.combine_scheds([1.0], [lambda p: p]), r"expected an lrsched Schedule"),
    (lambda: fa.SchedExp(0.0, 1.0), r"SchedExp\(end=1.0\): end must be non-zero with the sign of start"),
    (lambda: fa.sgdr(0, 1, 0.1), r"n_cycles must be a positive Python int"),
    (lambda: fa.sgdr(2, 1, 0.1, cycle_mult=0.5), r"cycle_mult must be >= 1"),
    (lambda: fa.one_cycle_momentum(10, moms=(0.9, 0.8)), r"moms must be three values"),
    # fastai divides by div / div_final (ZeroDivisionError): ours says which argument and the fix
    (lambda: fa.one_cycle(100, 0.1, div=0), r"one_cycle\(div=0\): div must be non-zero .*div=25.0"),
    (lambda: fa.one_cycle(100, 0.1, div_final=0.0), r"one_cycle\(div_final=0.0\): div_final must be non-zero"),
    (lambda: fa.fit_one_cycle(100, 0.1, div=np.float32(0)), r"fit_one_cycle\(div=0.0\): div must be non-zero"),
    (lambda: fa.flat_cos(100, 0.1, div_final=0), r"flat_cos\(div_final=0\): div_final must be non-zero .*1e5"),
])
def test_errors_say_what_and_how(build, match):
    with pytest.raises(lrsched.ScheduleError, match=match):
        build()


@settings(max_examples=10)
@given(total=st.integers(1, 500), pct=fractions)
def test_one_cycle_shape_invariants(total, pct):
    lr = lrsched.evaluate(fa.one_cycle(total, 1.0, pct_start=pct), 505)
    assert np.all(lr > 0) and np.all(lr <= 1.0 + 1e-6)
    np.testing.assert_array_equal(lr[total:], lr[total - 1])  # holds the last batch's value
    peak = int(np.argmax(lr))
    assert np.all(np.diff(lr[: peak + 1]) >= -1e-7) and np.all(np.diff(lr[peak:total]) <= 1e-7)
