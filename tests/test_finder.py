"""lrsched.finder: the JAX range test, its ramp and smoothing, the suggestion rules
(against references transcribed from fastai's code), the vmapped variants, and the
digits check that a suggested rate actually trains."""

from __future__ import annotations

import functools
import math
import pathlib
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import given
from hypothesis import strategies as st

import lrsched
from lrsched.demo import digits as demo_digits
from lrsched.finder import (
    LossTracker,
    RangeTestResult,
    RangeTestRuns,
    lr_range_test,
    lr_sweep,
    minimum,
    ramp_schedule,
    ramp_values,
    repeated_range_test,
    robust,
    slide,
    steep,
    steepest,
    suggest,
    valley,
)

# ----------------------------------------------------------------------------------------------
# Independent references, transcribed from fastai/callback/schedule.py (fastai 2.x, functions
# `valley`, `slide`, `minimum`, `steep` and `Learner.lr_find`) and fastai/learner.py
# (`AvgSmoothLoss`), in float64 numpy with plain Python loops.


def fastai_trim(lrs, losses, num_it):
    """Learner.lr_find: lrs[num_it//10:-5], losses likewise, cut at the first NaN."""
    lrs, losses = np.asarray(lrs, float)[num_it // 10:-5], np.asarray(losses, float)[num_it // 10:-5]
    nan = np.flatnonzero(np.isnan(losses))
    if len(nan):
        lrs, losses = lrs[: nan.min()], losses[: nan.min()]
    return lrs, losses


def ref_valley(lrs, losses):
    n = len(losses)
    max_start, max_end = 0, 0
    lds = [1] * n
    for i in range(1, n):
        for j in range(0, i):
            if (losses[i] < losses[j]) and (lds[i] < lds[j] + 1):
                lds[i] = lds[j] + 1
            if lds[max_end] < lds[i]:
                max_end = i
                max_start = max_end - lds[max_end]
    sections = (max_end - max_start) / 3
    idx = max_start + int(sections) + int(sections / 2)
    return float(lrs[idx])


def ref_slide(lrs, losses, lr_diff=15, thresh=0.005, adjust_value=1.0):
    loss_grad = np.gradient(losses)
    r_idx = -1
    l_idx = r_idx - lr_diff
    local_min_lr = lrs[l_idx]
    while (l_idx >= -len(losses)) and (abs(loss_grad[r_idx] - loss_grad[l_idx]) > thresh):
        local_min_lr = lrs[l_idx]
        r_idx -= 1
        l_idx -= 1
    return float(local_min_lr) * adjust_value


def ref_minimum(lrs, losses):
    return lrs[int(np.argmin(losses))] / 10


def ref_steep(lrs, losses):
    grads = (losses[1:] - losses[:-1]) / (np.log(lrs[1:]) - np.log(lrs[:-1]))
    return float(lrs[int(np.argmin(grads))])


def ref_smooth_torch(raw, f):
    """torch_lr_finder 0.2.2 LRFinder.range_test: first raw, then f*raw + (1-f)*previous."""
    out = []
    for i, x in enumerate(raw):
        out.append(x if (i == 0 or f == 0) else f * x + (1 - f) * out[-1])
    return np.array(out)


def ref_smooth_fastai(raw, beta=0.98):
    """fastai AvgSmoothLoss: val = torch.lerp(loss, val, beta); value = val / (1 - beta**count)."""
    val, out = 0.0, []
    for count, x in enumerate(raw, start=1):
        val = x + beta * (val - x)
        out.append(val / (1 - beta**count))
    return np.array(out)


FASTAI = {"valley": ref_valley, "slide": ref_slide, "minimum": ref_minimum, "steep": ref_steep}
RULE = {"valley": valley, "slide": slide, "minimum": minimum, "steep": steep}
NEED = {"valley": 1, "minimum": 1, "steep": 2, "slide": 16}


def curve(n, seed, nan_from=None):
    """A range-test-like loss curve: flat, falling, then blowing up, plus noise."""
    rng = np.random.default_rng(seed)
    x = np.linspace(0, 1, n)
    y = 2.5 - 1.5 / (1 + np.exp(-(x - 0.5) * 12)) + np.exp(np.clip((x - 0.85) * 25, None, 5)) * 0.2
    y = y + rng.normal(0, 0.05, n)
    if nan_from is not None:
        y[nan_from:] = np.nan
    return np.geomspace(1e-7, 10, n), y


# ---------------------------------------------------------------------------------- the rules


@pytest.mark.parametrize("name", ["valley", "slide", "minimum", "steep"])
@pytest.mark.parametrize("n,nan_from", [(100, None), (100, 70), (60, None), (37, 25)])
def test_fastai_rules_on_fixed_curves(name, n, nan_from):
    lrs, losses = curve(n, seed=n, nan_from=nan_from)
    tl, tf = fastai_trim(lrs, losses, n)
    got = RULE[name](lrs, losses, skip_start=n // 10)
    assert got.lr == pytest.approx(FASTAI[name](tl, tf), rel=1e-12)
    assert got.method == name and float(got) == got.lr


@given(
    values=st.lists(st.one_of(st.floats(0.0, 5.0), st.sampled_from([1.0, 2.0, 2.0, 3.0])), min_size=0, max_size=60),
    nan_tail=st.integers(0, 10),
    num_it=st.integers(1, 80),
)
def test_fastai_rules_on_drawn_curves(values, nan_tail, num_it):
    losses = np.array(values + [np.nan] * nan_tail, dtype=float)
    lrs = np.geomspace(1e-6, 1.0, max(len(losses), 1))[: len(losses)]
    tl, tf = fastai_trim(lrs, losses, num_it)
    for name in RULE:
        if len(tf) < NEED[name]:
            with pytest.raises(ValueError, match="too short"):
                RULE[name](lrs, losses, skip_start=num_it // 10)
            continue
        got = RULE[name](lrs, losses, skip_start=num_it // 10).lr
        assert got == pytest.approx(FASTAI[name](tl, tf), rel=1e-12), name


def test_valley_keeps_fastais_index_quirk():
    # longest decreasing run of length 2 ending at index 1: fastai's max_start is -1 and it
    # suggests lrs[-1] (Python's negative index); we reproduce it to equal fastai.
    lrs, losses = np.geomspace(1e-3, 1, 5), np.array([2.0, 1.0, 3.0, 4.0, 5.0])
    assert valley(lrs, losses, skip_start=0, skip_end=0).lr == ref_valley(lrs, losses) == lrs[-1]


@pytest.mark.parametrize("rule", [steepest, minimum, steep, valley, slide])
def test_rules_reject_short_and_nan_curves_clearly(rule):
    lrs = np.geomspace(1e-5, 1, 12)
    for losses in (np.full(12, np.nan), np.r_[1.0, np.full(11, np.nan)]):
        with pytest.raises(ValueError, match="too short"):
            rule(lrs, losses)
    with pytest.raises(ValueError, match="too short"):
        rule(lrs[:3], np.ones(3))
    with pytest.raises(ValueError, match="same length"):
        rule(lrs, np.ones(5))


def test_steepest_formula_and_trimming():
    lrs, losses = curve(100, seed=3)
    t_l, t_f = lrs[10:-5], losses[10:-5]
    i = int(np.argmin(np.gradient(t_f)))
    s = steepest(lrs, losses)
    assert s.lr == t_l[i] and s.point == (t_l[i], t_f[i])
    assert steepest(lrs, losses, skip_start=0, skip_end=0).lr == lrs[int(np.argmin(np.gradient(losses)))]
    with pytest.raises(ValueError, match="at least 2"):
        steepest(lrs[:16], losses[:16])  # 16 < 10 + 5 + 2 (torch_lr_finder raises here too)


def test_robust_median_and_interval():
    lrs = np.geomspace(1e-6, 1, 100)
    runs = [curve(100, seed=s)[1] for s in range(5)]
    picks = [valley(lrs, r).lr for r in runs]
    s = robust(lrs, runs)
    assert s.lr == pytest.approx(10 ** np.median(np.log10(picks)), rel=1e-12)
    assert s.interval == (min(picks), max(picks))
    assert s.interval[0] <= s.lr <= s.interval[1]
    # a run too short for the base rule is left out; fewer than two usable runs is an error
    short = np.r_[runs[0][:5], np.full(95, np.nan)]
    assert robust(lrs, runs[:2] + [short]).lr == pytest.approx(robust(lrs, runs[:2]).lr)
    with pytest.raises(ValueError, match="at least 2 runs"):
        robust(lrs, runs[:1])
    with pytest.raises(ValueError, match="fewer than 2"):
        robust(lrs, [runs[0], short])
    with pytest.raises(ValueError, match="base must be"):
        robust(lrs, runs, base="robust")
    assert suggest(lrs, runs, "robust", base="minimum").lr == robust(lrs, runs, base="minimum").lr


# ------------------------------------------------------------------------------ ramp and smoothing


@pytest.mark.parametrize("mode", ["exp", "linear"])
@pytest.mark.parametrize("convention", ["torch", "fastai"])
def test_ramp_schedule_matches_the_anchor_formula(mode, convention):
    s, e, n = 1e-7, 10.0, 100
    d = n - 1 if convention == "torch" else n
    r = np.arange(n) / d
    ref = s * (e / s) ** r if mode == "exp" else s + r * (e - s)  # torch_lr_finder ExponentialLR/LinearLR.get_lr
    np.testing.assert_allclose(ramp_values(s, e, n, mode, convention), ref, rtol=1e-14)
    np.testing.assert_allclose(lrsched.evaluate(ramp_schedule(s, e, n, mode, convention), n), ref, rtol=2e-5)
    with jax.enable_x64(True):
        np.testing.assert_allclose(lrsched.evaluate(ramp_schedule(s, e, n, mode, convention), n), ref, rtol=1e-12)


def test_ramp_rejects_bad_arguments():
    with pytest.raises(ValueError, match="num_steps"):
        ramp_schedule(num_steps=1)
    with pytest.raises(ValueError, match="start_lr > 0"):
        ramp_schedule(0.0, 1.0)
    with pytest.raises(ValueError, match="mode"):
        ramp_schedule(mode="cos")


@given(raw=st.lists(st.floats(0.01, 10.0), min_size=1, max_size=40), f=st.sampled_from([0.0, 0.05, 0.3]))
def test_loss_tracker_smoothing(raw, f):
    t = LossTracker("torch", smooth_f=f, diverge_factor=None)
    np.testing.assert_allclose([t.update(x)[0] for x in raw], ref_smooth_torch(raw, f), rtol=1e-12)
    t = LossTracker("fastai", diverge_factor=None)
    np.testing.assert_allclose([t.update(x)[0] for x in raw], ref_smooth_fastai(raw), rtol=1e-12)


def test_loss_tracker_divergence():
    t = LossTracker("none", diverge_factor=4.0)
    assert [t.update(x)[1] for x in (2.0, 1.0, 3.9, 4.1)] == [False, False, False, True]
    t = LossTracker("none", diverge_factor=4.0)  # negative: a rise of 3 |best| above the best
    assert [t.update(x)[1] for x in (-2.0, -1.0, 3.9, 4.1)] == [False, False, False, True]
    assert LossTracker("torch").update(float("nan"))[1]
    with pytest.raises(ValueError, match="smooth_f"):
        LossTracker("torch", smooth_f=1.0)
    with pytest.raises(ValueError, match="smoothing"):
        LossTracker("ema")


# ---------------------------------------------------------------- the JAX range test, small model


def quad_loss(w, batch):
    x, y = batch
    return jnp.mean((x * w - y) ** 2)


QX = np.linspace(-1, 1, 48, dtype=np.float32).reshape(6, 8)
QBATCHES = (QX, 3.0 * QX)


def reference_range_test(start, end, n, f, factor, momentum=0.0, shift=0.0):
    """float64 numpy range test of quad_loss + shift with SGD (optax.sgd's update w -= lr * (g + m * buf)).
    Divergence as documented: s - best > (factor - 1) |best| (the anchors' s > factor best for best > 0)."""
    lrs = ramp_values(start, end, n)
    w, buf, raw = 0.0, 0.0, []
    for i in range(n):
        x, y = QX[i % 6].astype(float), 3.0 * QX[i % 6].astype(float)
        raw.append(np.mean((x * w - y) ** 2) + shift)
        g = np.mean(2 * (x * w - y) * x)
        buf = g + momentum * buf
        w -= lrs[i] * buf
    smoothed = ref_smooth_torch(raw, f)
    stop = None
    for i in range(n):
        best = min(smoothed[: i + 1])
        if smoothed[i] - best > (factor - 1) * abs(best) or not np.isfinite(smoothed[i]):
            stop = i
            break
    k = n if stop is None else stop + 1
    return lrs[:k], np.array(raw[:k]), smoothed[:k], stop


def test_scan_matches_a_float64_reference_and_stops_at_divergence():
    r = lr_range_test(quad_loss, jnp.zeros(()), QBATCHES, start_lr=1e-3, end_lr=1e2, num_steps=40)
    lrs, raw, sm, stop = reference_range_test(1e-3, 1e2, 40, 0.05, 5.0)
    assert stop is not None and r.stopped_at == stop and r.diverged
    assert len(r.lrs) == len(r.losses) == len(r.smoothed) == stop + 1
    np.testing.assert_allclose(r.lrs, lrs, rtol=2e-5)
    np.testing.assert_allclose(r.losses, raw, rtol=1e-3, atol=1e-6)
    np.testing.assert_allclose(r.smoothed, sm, rtol=1e-3, atol=1e-6)


def test_iterator_route_equals_scan_route():
    kw = dict(start_lr=1e-3, end_lr=1e2, num_steps=40)
    r = lr_range_test(quad_loss, jnp.zeros(()), QBATCHES, **kw)
    as_list = [(QX[i], 3.0 * QX[i]) for i in range(6)]  # a list restarts when exhausted
    r2 = lr_range_test(quad_loss, jnp.zeros(()), as_list, **kw)
    np.testing.assert_allclose(r2.smoothed, r.smoothed, rtol=1e-6)
    assert r2.stopped_at == r.stopped_at
    gen = ((QX[i], 3.0 * QX[i]) for i in range(3))  # a one-shot iterator ends the test
    with pytest.warns(UserWarning, match="ran out after 3"):
        r3 = lr_range_test(quad_loss, jnp.zeros(()), gen, start_lr=1e-3, end_lr=1e-2, num_steps=10)
    assert len(r3.lrs) == 3 and not r3.diverged
    assert r3.stop_reason == "data ran out after 3 of 10 steps"
    k = r.stopped_at
    assert r.stop_reason.startswith(f"diverged at step {k} (lr {r.lrs[k]:.3g}, smoothed loss {r.smoothed[k]:.4g}")


def test_no_divergence_runs_to_the_end_and_params_untouched():
    w0 = np.zeros((), np.float32)
    r = lr_range_test(quad_loss, w0, QBATCHES, start_lr=1e-4, end_lr=1e-1, num_steps=40, diverge_factor=None)
    lrs, raw, sm, stop = reference_range_test(1e-4, 1e-1, 40, 0.05, math.inf)
    assert stop is None and r.stopped_at is None and len(r.lrs) == 40
    assert r.stop_reason == "ran all 40 steps"
    np.testing.assert_allclose(r.smoothed, sm, rtol=1e-3)
    assert w0 == 0.0


def test_any_optax_factory_and_momentum():
    sgd_m = functools.partial(optax.sgd, momentum=0.5)
    r = lr_range_test(quad_loss, jnp.zeros(()), QBATCHES, optimizer=sgd_m, start_lr=1e-3, end_lr=1e2, num_steps=40)
    _, raw, _, stop = reference_range_test(1e-3, 1e2, 40, 0.05, 5.0, momentum=0.5)
    assert r.stopped_at == stop
    np.testing.assert_allclose(r.losses, raw, rtol=1e-3, atol=1e-6)
    for opt in (optax.adam,):
        res = lr_range_test(quad_loss, jnp.zeros(()), QBATCHES, optimizer=opt, start_lr=1e-4, end_lr=10.0,
                            num_steps=30)
        assert len(res.lrs) >= 2 and np.isfinite(res.smoothed).all()
    with pytest.raises(TypeError, match="factory"):
        lr_range_test(quad_loss, jnp.zeros(()), QBATCHES, optimizer=optax.adam(1e-3))


def test_fastai_style_and_aux():
    def with_aux(w, b):
        return quad_loss(w, b), {"w": w}

    r = lr_range_test(with_aux, jnp.zeros(()), QBATCHES, start_lr=1e-3, end_lr=1e2, num_steps=40, has_aux=True,
                      smoothing="fastai", convention="fastai", diverge_factor=4.0)
    lrs = ramp_values(1e-3, 1e2, 40, convention="fastai")
    np.testing.assert_allclose(r.lrs, lrs[: len(r.lrs)], rtol=2e-5)
    np.testing.assert_allclose(r.smoothed, ref_smooth_fastai(r.losses), rtol=1e-4)
    assert r.smoothed[-1] > 4.0 * r.smoothed.min() and np.all(r.smoothed[:-1] <= 4.0 * np.minimum.accumulate(
        r.smoothed[:-1]))


def test_result_suggest_and_plot():
    import matplotlib.pyplot as plt

    lrs, losses = curve(100, seed=7)
    res = RangeTestResult(lrs=lrs, losses=losses, smoothed=losses, num_steps=100)
    assert res.suggest("valley").lr == ref_valley(*fastai_trim(lrs, losses, 100))
    assert res.suggest("steepest").lr == steepest(lrs, losses).lr
    with pytest.raises(ValueError, match="several runs"):
        res.suggest("robust")
    assert set(res.suggestions()) == {"steepest", "minimum", "steep", "valley", "slide"}
    ax = res.plot(methods=("steepest", "valley", "minimum"))
    assert ax.get_xscale() == "log"
    labels = [t.get_text() for t in ax.get_legend().get_texts()]
    assert any(t.startswith("valley") for t in labels) and any(t.startswith("steepest") for t in labels)
    # trimmed as torch_lr_finder's plot (skip_start=10, skip_end=5), y fitted to the smoothed curve shown
    raw_line, smooth_line = ax.lines[0], ax.lines[1]
    np.testing.assert_array_equal(smooth_line.get_xdata(), lrs[10:-5])
    np.testing.assert_array_equal(raw_line.get_ydata(), losses[10:-5])
    lo, hi = ax.get_ylim()
    shown = losses[10:-5]
    assert lo < shown.min() and hi > shown.max() and hi - lo < 1.2 * (shown.max() - shown.min())
    st = res.suggest("steepest")
    marked = [ln for ln in ax.lines if ln.get_label().startswith("steepest")][0]
    assert (marked.get_xdata()[0], marked.get_ydata()[0]) == st.point
    ax = res.plot(skip_start=0, skip_end=0, raw=False, ylabel="validation loss")
    assert len(ax.lines[0].get_xdata()) == 100 and ax.get_ylabel() == "validation loss"
    short = RangeTestResult(lrs=lrs[:8], losses=losses[:8], smoothed=losses[:8], num_steps=100, stopped_at=7)
    assert len(short.plot().lines[1].get_xdata()) == 8  # too short to trim: the whole curve
    with pytest.raises(ValueError, match="skip_start"):
        res.plot(skip_start=-1)
    runs = RangeTestRuns([RangeTestResult(lrs, curve(100, s)[1], curve(100, s)[1], 100) for s in range(3)])
    ax2 = runs.plot()
    assert ax2.get_xscale() == "log"
    plt.close("all")
    with pytest.raises(ValueError, match="same ramp"):
        RangeTestRuns([res, RangeTestResult(lrs * 2, losses, losses, 100)])


# ----------------------------------------------------------------------- vmapped variants


def test_lr_sweep_equals_sequential_runs_and_reference():
    rates = [1e-3, 1e-2, 1e-1, 0.5, 3.0]
    sw = lr_sweep(quad_loss, jnp.zeros(()), QBATCHES, rates, num_steps=12, tail=3)
    assert sw.losses.shape == (5, 12)
    for k, lr in enumerate(rates):
        w, ref = 0.0, []
        for i in range(12):
            x = QX[i % 6].astype(float)
            ref.append(np.mean((x * w - 3 * x) ** 2))
            w -= lr * np.mean(2 * (x * w - 3 * x) * x)
        if np.all(np.isfinite(ref)) and max(ref) < 1e6:
            np.testing.assert_allclose(sw.losses[k], ref, rtol=1e-3, atol=1e-6)
            assert sw.final[k] == pytest.approx(np.mean(ref[-3:]), rel=1e-3, abs=1e-6)
        one = lr_sweep(quad_loss, jnp.zeros(()), QBATCHES, [lr], num_steps=12, tail=3)
        np.testing.assert_allclose(one.losses[0], sw.losses[k], rtol=1e-6)
    assert sw.best().lr == 0.5
    with pytest.raises(ValueError, match="lrs"):
        lr_sweep(quad_loss, jnp.zeros(()), QBATCHES, [])
    with pytest.raises(TypeError, match="stacked"):
        lr_sweep(quad_loss, jnp.zeros(()), [QBATCHES], [0.1])


def test_repeated_range_test_runs_are_independent_tests():
    runs = repeated_range_test(quad_loss, jnp.zeros(()), QBATCHES, repeats=3, start_lr=1e-3, end_lr=1e2,
                               num_steps=40)
    single = lr_range_test(quad_loss, jnp.zeros(()), QBATCHES, start_lr=1e-3, end_lr=1e2, num_steps=40)
    # run 0 sees the given order: it is the plain test
    np.testing.assert_allclose(runs.runs[0].smoothed, single.smoothed, rtol=1e-5)
    assert runs.runs[0].stopped_at == single.stopped_at
    assert not np.allclose(runs.runs[1].losses[:10], runs.runs[0].losses[:10])
    with pytest.raises(ValueError, match="identical"):
        repeated_range_test(quad_loss, jnp.zeros(()), QBATCHES, shuffle=False)
    def init(key):  # a different start per run (cheap: no jax.random program to compile)
        return {"w": (key[-1] % 7).astype(jnp.float32) / 7.0}

    inits = repeated_range_test(lambda p, b: quad_loss(p["w"], b), None, QBATCHES, repeats=2, shuffle=False,
                                init=init, start_lr=1e-3, end_lr=1e2, num_steps=40)
    assert inits.runs[0].losses[0] != inits.runs[1].losses[0]
    with pytest.raises(ValueError, match="not both"):
        repeated_range_test(quad_loss, jnp.zeros(()), QBATCHES, init=init)


# ------------------------------------------------------------------- the digits MLP (the real check)


@pytest.fixture(scope="module")
def digits():
    data = demo_digits.load()
    xb, yb = demo_digits.batches(data.x_train, data.y_train, 100, batch_size=64, seed=0)
    xt, yt = demo_digits.batches(data.x_train, data.y_train, 300, batch_size=64, seed=1)
    return data, (xb, yb), (xt, yt), demo_digits.init_mlp(0)  # numpy He init: jax.random compiles are slow here


@jax.jit
def _train_adam(params, lr, xs, ys):
    tx = optax.adam(lr)

    def body(carry, batch):
        p, s = carry
        g = jax.grad(demo_digits.loss_fn)(p, batch)
        u, s = tx.update(g, s, p)
        return (optax.apply_updates(p, u), s), None

    return jax.lax.scan(body, (params, tx.init(params)), (xs, ys))[0][0]


def test_digits_suggestions_train_to_90_percent(digits):
    data, test_batches, (xt, yt), params = digits
    res = lr_range_test(demo_digits.loss_fn, params, test_batches, optimizer=optax.adam)
    assert res.diverged and 50 < len(res.lrs) <= 100  # the loss blows up before lr = 10
    # the rules we recommend (slide is erratic on flat noisy starts: see docs/lr-finder.md)
    picks = {name: res.suggest(name).lr for name in ("valley", "steepest", "minimum")}
    for name, lr in picks.items():
        trained = _train_adam(params, lr, xt, yt)
        acc = float(demo_digits.accuracy(trained, data.x_test, data.y_test))
        assert acc >= 0.90, (name, lr, acc)
    # and the check is not vacuous: well below the suggestions, 300 steps do not get there
    low = float(demo_digits.accuracy(_train_adam(params, 1e-5, xt, yt), data.x_test, data.y_test))
    assert low < 0.9
    # (the robust rule on the digits is checked by tests/test_demo.py)


def test_negative_losses_never_stop_without_a_factor():
    def shifted(w, b):
        return quad_loss(w, b) - 10.0

    r = lr_range_test(shifted, jnp.zeros(()), QBATCHES, start_lr=1e-4, end_lr=1e-1, num_steps=20,
                      diverge_factor=None)
    assert r.stopped_at is None and len(r.lrs) == 20 and np.all(r.smoothed < 0)
    t = LossTracker("none", diverge_factor=None)
    assert not any(t.update(x)[1] for x in (-1.0, -5.0, -0.5))


@pytest.mark.parametrize("shift", [-10.0, -3.0, 0.0, 2.0])
def test_divergence_rule_for_negative_and_positive_losses(shift):
    """A loss shifted below zero runs until it rises (factor - 1) |best| above its best, as a
    float64 reference does; the anchors' `s > factor * best` would stop at step 0 there."""
    def shifted(w, b):
        return quad_loss(w, b) + shift

    kw = dict(start_lr=1e-3, end_lr=1e2, num_steps=40)
    r = lr_range_test(shifted, jnp.zeros(()), QBATCHES, **kw)
    lrs, raw, sm, stop = reference_range_test(1e-3, 1e2, 40, 0.05, 5.0, shift=shift)
    assert stop is not None and stop > 10 and r.stopped_at == stop, (r.stopped_at, stop)
    np.testing.assert_allclose(r.smoothed, sm, rtol=1e-3, atol=1e-4)
    anchors_stop = next(i for i in range(len(sm)) if sm[i] > 5.0 * min(sm[: i + 1]))
    if shift < 0:  # the anchors' rule stops as soon as the best is negative: far too early
        assert anchors_stop < stop - 5 and min(sm[: anchors_stop + 1]) < 0
    else:  # for positive losses it is the anchors' rule
        assert anchors_stop == stop
    it = lr_range_test(shifted, jnp.zeros(()), [(QX[i], 3.0 * QX[i]) for i in range(6)], **kw)  # the loop route
    assert it.stopped_at == stop


def test_diverges_formula():
    from lrsched.finder import diverges

    for best in (2.0, 0.37, 1e-8):  # positive best: exactly the anchors' s > factor * best
        for s in np.linspace(0, 6 * best, 61):
            for factor in (1.5, 4.0, 5.0):
                assert diverges(float(s), best, factor) == (s > factor * best)
    assert not diverges(-0.85, -1.0, 1.2) and diverges(-0.75, -1.0, 1.2)  # the bar: -1 + 0.2 * |-1| = -0.8
    assert diverges(1e-9, 0.0, 5.0) and not diverges(0.0, 0.0, 5.0)
    assert diverges(float("nan"), 1.0, math.inf) and not diverges(1e30, -1.0, math.inf)
    t = LossTracker("none", diverge_factor=5.0)
    assert [t.update(x)[1] for x in (-2.0, -4.0, 0.0, 11.9, 12.1)] == [False, False, False, False, True]


# ------------------------------------------------------------------- the rules need no JAX


RULES_NO_JAX = """
import importlib.util, sys
for name in ("jax", "jaxlib", "optax", "lrsched"):
    sys.modules[name] = None  # from here on, importing any of them raises ImportError
spec = importlib.util.spec_from_file_location("finder_rules", sys.argv[1])
rules = importlib.util.module_from_spec(spec)
sys.modules["finder_rules"] = rules
spec.loader.exec_module(rules)
import numpy as np
lrs = np.geomspace(1e-4, 1, 9); losses = np.array([3, 2.5, 2, 1.5, 1, 0.5, 0.4, 2, 5.0])
print(rules.valley(lrs, losses, skip_end=0).lr, rules.suggest(lrs, losses, "steepest", skip_start=0).lr)
print(sorted(k for k, m in sys.modules.items() if m is not None and k.split(".")[0] in ("jax", "jaxlib", "optax")))
"""


def test_rules_module_loads_and_works_without_jax():
    """lrsched/finder/_rules.py is numpy only: loaded by path with jax, optax and lrsched
    unimportable, every rule still works (a torch user's process never needs a JAX device)."""
    path = pathlib.Path(lrsched.finder._rules.__file__)
    out = subprocess.run([sys.executable, "-c", RULES_NO_JAX, str(path)], capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    first, modules = out.stdout.strip().splitlines()
    lrs = np.geomspace(1e-4, 1, 9)
    losses = np.array([3, 2.5, 2, 1.5, 1, 0.5, 0.4, 2, 5.0])
    assert first.split() == [repr(valley(lrs, losses, skip_end=0).lr), repr(steepest(lrs, losses, skip_start=0).lr)]
    assert modules == "[]"
