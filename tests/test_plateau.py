"""lrsched.plateau against the real torch.optim.lr_scheduler.ReduceLROnPlateau (torch 2.x).

Torch computes in Python float64, so under x64 the rates must be identical; in
float32 they agree to 1e-6 relative.
"""

import json
import math

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

import lrsched
from lrsched._plateau import Plateau, PlateauState, plateau

N = 40  # metrics per sequence (fixed, so each static configuration compiles once)
INF = math.inf


def torch_rates(metrics, base, mode="min", factor=0.1, patience=10, threshold=1e-4, threshold_mode="rel",
                cooldown=0, min_lr=0.0, eps=1e-8):
    """param_groups[0]['lr'] after each ReduceLROnPlateau.step(metric) (the anchor)."""
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=base)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(
        opt, mode=mode, factor=factor, patience=patience, threshold=threshold, threshold_mode=threshold_mode,
        cooldown=cooldown, min_lr=min_lr, eps=eps)
    out = []
    for m in metrics:
        sched.step(m)
        out.append(opt.param_groups[0]["lr"])
    return out


@jax.jit
def _run(p, metrics, steps):
    """For each metric: the value at its step before the update, and the rate after it
    (one jitted scan per static configuration)."""

    def body(state, ms):
        m, step = ms
        before = p(step, state)
        state = p.update(state, m, step=step)
        return state, (before, p(0, state))

    return jax.lax.scan(body, p.init(), (metrics, steps))


def our_rates(p, metrics, steps=None, values=False):
    metrics = np.asarray(metrics, dtype=np.float64)
    steps = np.arange(len(metrics)) if steps is None else np.asarray(steps)
    state, (before, rates) = _run(p, jnp.asarray(metrics), jnp.asarray(steps))
    out = [float(r) for r in np.asarray(before if values else rates)]
    return out, state


def settings_to_plateau(base, kw):
    kw = dict(kw)
    kw["min_value"] = kw.pop("min_lr", 0.0)
    return plateau(lrsched.constant(base), **kw)


# ------------------------------------------------------------------- strategies

grid = st.integers(-40, 40).map(lambda k: k / 4)  # exact in float32 and float64: ties are real ties
value = st.one_of(grid, grid, grid, st.sampled_from([INF, -INF, 0.0, 1e6, -1e-3]))
runs = st.lists(st.tuples(value, st.integers(1, 12)), min_size=1, max_size=N)  # long flat runs


@st.composite
def metric_sequences(draw):
    seq = [v for v, n in draw(runs) for _ in range(n)]
    seq = (seq * N)[:N]
    return seq


@st.composite
def torch_settings(draw, nice=False):
    thresholds_rel = [0.0, 2.0**-10, 0.25, 0.5] if nice else [0.0, 1e-4, 0.01, 0.1, 0.5, 1.0]
    thresholds_abs = [0.0, 0.25, 1.0] if nice else [0.0, 1e-4, 0.3, 1.0, 2.5]
    threshold_mode = draw(st.sampled_from(["rel", "abs"]))
    return dict(
        mode=draw(st.sampled_from(["min", "max"])),
        factor=draw(st.sampled_from([0.1, 0.5, 0.3, 0.9, 0.0])),
        patience=draw(st.integers(0, 5)),
        threshold=draw(st.sampled_from(thresholds_rel if threshold_mode == "rel" else thresholds_abs)),
        threshold_mode=threshold_mode,
        cooldown=draw(st.integers(0, 3)),
        min_lr=draw(st.sampled_from([0.0, 1e-4, 1e-2, 0.05])),
        eps=draw(st.sampled_from([1e-8, 1e-3, 0.02] if nice else [0.0, 1e-8, 1e-3, 0.02])),
    )


bases = st.sampled_from([1.0, 0.1, 0.3, 1e-3, 0.0123, 2.5e-4, 0.7])


# ------------------------------------------------------------------ torch parity


@given(metrics=metric_sequences(), kw=torch_settings(), base=bases)
def test_torch_parity_bit_exact_x64(metrics, kw, base):
    ref = torch_rates(metrics, base, **kw)
    with jax.enable_x64(True):
        got, _ = our_rates(settings_to_plateau(base, kw), metrics)
    assert got == ref


@given(metrics=metric_sequences(), kw=torch_settings(nice=True), base=bases)
def test_torch_parity_float32(metrics, kw, base):
    ref = torch_rates(metrics, base, **kw)
    got, state = our_rates(settings_to_plateau(base, kw), metrics)
    assert state.rate.dtype == jnp.float32
    np.testing.assert_allclose(got, ref, rtol=1e-6, atol=0)


@pytest.mark.parametrize("metrics, kw", [
    # patience=0: torch reduces on every non-improving evaluation; optax.contrib reduces on the first
    # (improving) metric already, since its test is bad count == patience
    ([1.0, 2.0, 2.0, 0.5, 0.7, 0.8, 0.9], dict(patience=0)),
    # negative losses: torch's rel threshold best * (1 - thr) and its "exceeds patience" rule
    ([-5.0, -4.0, -3.0, -2.0, -1.0, 0.0], dict(patience=1)),
    ([-5.0, -4.0, -4.5, -4.9, -3.0, -3.0, -3.0], dict(patience=2, threshold=0.1)),
    ([-2.0, -2.0, -2.0, -2.0, -2.0], dict(patience=1, threshold_mode="abs", threshold=0.5)),
])
def test_where_optax_contrib_differs_from_torch(metrics, kw):
    base = 1.0
    ref = torch_rates(metrics, base, **kw)
    with jax.enable_x64(True):
        got, _ = our_rates(plateau(lrsched.constant(base), **kw), metrics)
    assert got == ref
    threshold = kw.get("threshold", 1e-4)
    rel = kw.get("threshold_mode", "rel") == "rel"
    tx = optax.contrib.reduce_on_plateau(factor=0.1, patience=kw["patience"], rtol=threshold if rel else 0.0,
                                         atol=0.0 if rel else threshold, accumulation_size=1)
    def body(state, m):
        state = tx.update(jnp.zeros(()), state, value=m)[1]
        return state, state.scale

    optax_rates = jax.jit(lambda ms: jax.lax.scan(body, tx.init(jnp.zeros(())), ms)[1])(jnp.float32(metrics))
    assert not np.allclose(optax_rates, ref), "the case should show optax.contrib's difference"


def test_base_rate_below_min_lr_is_left_alone_as_torch_does():
    metrics = [1.0] + [2.0] * (N - 1)
    for base, min_lr, eps in [(1e-3, 1e-2, 1e-8), (0.05, 0.05, 0.0), (0.1, 0.0999, 1e-3)]:
        ref = torch_rates(metrics, base, patience=0, min_lr=min_lr, eps=eps)
        with jax.enable_x64(True):
            got, state = our_rates(plateau(lrsched.constant(base), patience=0, min_value=min_lr, eps=eps), metrics)
        assert got == ref and int(state.num_reductions) == 0


def test_all_bad_patience_zero_reduces_every_time_and_floors():
    metrics = [1.0] + [2.0] * (N - 1)
    with jax.enable_x64(True):
        got, state = our_rates(plateau(lrsched.constant(1.0), patience=0, min_value=2e-3), metrics)
    assert got == torch_rates(metrics, 1.0, patience=0, min_lr=2e-3)
    assert got[-1] == 2e-3 and int(state.num_reductions) == 3


# -------------------------------------------------------------- NaN, windows, start


@given(metrics=metric_sequences(), kw=torch_settings(), nan_at=st.sets(st.integers(0, N - 1), max_size=8))
def test_nan_policies(metrics, kw, nan_at):
    seq = [math.nan if i in nan_at else m for i, m in enumerate(metrics)]
    with jax.enable_x64(True):
        ignored, _ = our_rates(settings_to_plateau(0.1, {**kw, "nan": "ignore"}), seq)
        bad, _ = our_rates(settings_to_plateau(0.1, {**kw, "nan": "bad"}), seq)
    # "ignore": as if the NaN metrics never came (the rate is held through them)
    kept = torch_rates([m for m in seq if not math.isnan(m)], 0.1, **kw)
    expected, j, rate = [], 0, 0.1
    for m in seq:
        if not math.isnan(m):
            rate = kept[j]
            j += 1
        expected.append(rate)
    assert ignored == expected
    # "bad": torch's own behaviour (float('nan') is never an improvement)
    assert bad == torch_rates(seq, 0.1, **kw)


def test_nan_never_changes_the_rate_by_default():
    p = plateau(lrsched.constant(1.0), patience=0)
    rates, state = our_rates(p, [1.0] + [math.nan] * (N - 1))
    assert rates == [1.0] * N
    assert int(state.count) == N and int(state.last_epoch) == 1 and int(state.num_bad_epochs) == 0
    assert float(state.best) == 1.0


@given(metrics=metric_sequences(), kw=torch_settings(), every=st.integers(1, 5),
       aggregate=st.sampled_from(["last", "mean"]))
def test_every_and_aggregate(metrics, kw, every, aggregate):
    chunks = [metrics[i:i + every] for i in range(0, len(metrics) - every + 1, every)]
    if aggregate == "last":
        evaluated = [c[-1] for c in chunks]
    else:  # a running sum then one division, like the reducer
        evaluated = []
        for c in chunks:
            s = 0.0
            for m in c:
                s += m
            evaluated.append(s / len(c))
    with np.errstate(invalid="ignore"):
        finite = [e for e in evaluated if not math.isnan(e)]  # inf + -inf: a NaN mean, ignored
    ref = torch_rates(finite, 0.3, **kw)
    with jax.enable_x64(True):
        got, _ = our_rates(settings_to_plateau(0.3, {**kw, "every": every, "aggregate": aggregate}), metrics)
    expected, j, rate = [], 0, 0.3
    for i in range(len(metrics)):
        if (i + 1) % every == 0 and not math.isnan(evaluated[(i + 1) // every - 1]):
            rate = ref[j]
            j += 1
        expected.append(rate)
    assert got == expected


@given(metrics=metric_sequences(), kw=torch_settings(), start=st.integers(0, 20), explicit=st.booleans())
def test_start_ignores_early_metrics(metrics, kw, start, explicit):
    ref = torch_rates(metrics[start:], 0.5, **kw)
    p = settings_to_plateau(0.5, {**kw, "start": start})
    with jax.enable_x64(True):
        if explicit:  # steps passed explicitly (e.g. the optimizer count): every other step has a metric
            got, _ = our_rates(p, metrics, steps=2 * np.arange(N))
            ref = torch_rates([m for i, m in enumerate(metrics) if 2 * i >= start], 0.5, **kw)
            ref = [0.5] * (N - len(ref)) + ref
        else:
            got, _ = our_rates(p, metrics)
            ref = [0.5] * start + ref
    assert got == ref


# ---------------------------------------------------------- warmup and min_value


def test_warmup_plus_plateau_is_torch_after_the_warmup():
    base, w = 1e-3, 10
    losses = list(np.r_[np.linspace(5, 1, 10), [1.0] * 10, [0.8] * 3, [0.9] * 17])
    p = plateau(lrsched.warmup(lrsched.constant(base), w), factor=0.5, patience=2, start=w, min_value=2e-4)
    with jax.enable_x64(True):
        # the rate of update k, then the metric it produced
        values, _ = our_rates(p, losses, values=True)
        warm = lrsched.evaluate(lrsched.warmup(lrsched.constant(base), w), w)
    np.testing.assert_array_equal(values[:w], warm)  # the warmup is untouched
    ref = torch_rates(losses[w:], base, factor=0.5, patience=2, min_lr=2e-4)
    assert values[w:] == [base] + ref[:-1]
    assert min(values[w:]) == 2e-4  # floored at min_value


def _values_after(p, metrics, steps, at):
    """The values at steps `at` after feeding `metrics` at `steps` (x64)."""
    with jax.enable_x64(True):
        _, state = our_rates(p, metrics, steps=steps)
        return np.asarray(jax.jit(lambda p, s, t: p(t, s))(p, state, np.asarray(at))), state


def test_the_floor_is_on_the_rate_for_schedules_with_equal_values():
    """The issue's example: the same values built two ways get the same floor (torch's min_lr on the rate)."""
    a = plateau(lrsched.warmup(lrsched.cosine(1e-3, 900), 100), factor=0.1, patience=0, min_value=1e-5)
    b = plateau(lrsched.warmup_cosine(1e-3, 100, 1000), factor=0.1, patience=0, min_value=1e-5)
    with jax.enable_x64(True):
        np.testing.assert_allclose(lrsched.evaluate(a.schedule, 1200), lrsched.evaluate(b.schedule, 1200),
                                   rtol=1e-12, atol=1e-18)
    metrics, steps, at = [1.0] + [2.0] * (N - 1), 100 + np.arange(N), np.arange(0, 1200, 7)
    va, sa = _values_after(a, metrics, steps, at)
    vb, sb = _values_after(b, metrics, steps, at)
    np.testing.assert_allclose(va, vb, rtol=1e-12, atol=1e-18)
    assert int(sa.num_reductions) == int(sb.num_reductions) == 2  # 1e-3 -> 1e-4 -> 1e-5, then floored
    with jax.enable_x64(True):
        inner = lrsched.evaluate(b.schedule, at)
    after = at >= 140
    # where the schedule is above the floor, the rate is the floor, not 1e-5 * 1e-3 of the schedule
    np.testing.assert_allclose(va[after & (inner > 1e-5)], 1e-5, rtol=1e-12)
    np.testing.assert_allclose(va[after & (inner <= 1e-5)], inner[after & (inner <= 1e-5)], rtol=1e-12)


@settings(max_examples=10)
@given(metrics=metric_sequences(), kw=torch_settings(), step=st.integers(0, 300))
def test_the_envelope_never_raises_the_schedule_nor_lowers_below_the_floor(metrics, kw, step):
    inner = lrsched.warmup(lrsched.cosine(0.1, 200, end_value=1e-3), 30)
    kw = dict(kw)
    kw["min_value"] = kw.pop("min_lr")
    p = plateau(inner, **kw)
    steps = step + np.arange(N)
    values, state = _values_after(p, metrics, steps, np.arange(0, 400, 3))
    with jax.enable_x64(True):
        s = lrsched.evaluate(inner, np.arange(0, 400, 3))
    assert np.all(values <= s)
    assert np.all(values >= np.minimum(s, kw["min_value"]) * (1 - 1e-15))
    with jax.enable_x64(True):
        scale = float(p.scale(state))
    np.testing.assert_allclose(values, np.minimum(s, np.maximum(s * scale, kw["min_value"])), rtol=1e-13)


def test_a_reduction_scales_the_schedule_and_keeps_its_shape():
    inner = lrsched.warmup(lrsched.cosine(1.0, 100, end_value=0.1), 10)
    p = plateau(inner, factor=0.5, patience=0, start=10)
    at = np.arange(0, 120, 7)
    values, state = _values_after(p, [1.0] + [2.0] * 3 + [0.5 * 0.9**i for i in range(N - 4)], [20] * N, at)
    assert int(state.num_reductions) == 3
    with jax.enable_x64(True):
        s = lrsched.evaluate(inner, at)
        sigma = float(inner(20))
    np.testing.assert_allclose(values, s * (sigma * 0.125) / sigma, rtol=1e-13)
    np.testing.assert_allclose(values[at < 10], s[at < 10] * 0.125, rtol=1e-13)  # the warmup is scaled, not raised


def test_calling_a_plateau_without_its_state_is_a_clear_error():
    p = plateau(lrsched.constant(0.1))
    with pytest.raises(lrsched.ScheduleError, match=r"needs its state.*scale_by_schedule.*inject.*p\(step, state\)"):
        p(3)
    with pytest.raises(lrsched.ScheduleError, match="needs its state"):
        lrsched.evaluate(p, 4)
    tx = optax.sgd(p)  # optax calls the learning rate with the count only: it fails at once
    params = jnp.zeros(2)
    with pytest.raises(lrsched.ScheduleError, match="lrsched.optax.scale_by_schedule"):
        tx.update(jnp.ones(2), tx.init(params), params)
    np.testing.assert_array_equal(p.schedule(jnp.arange(3)), np.full(3, np.float32(0.1)))


# ------------------------------------------------------------------- JAX behaviour


def test_vmap_over_settings_and_states_matches_single_runs():
    factors = [0.1, 0.5, 0.2, 0.7]
    patiences = [0, 1, 2, 3]
    singles = [plateau(lrsched.constant(0.1), factor=f, patience=p) for f, p in zip(factors, patiences)]
    batched = jax.tree.map(lambda *xs: jnp.stack([jnp.asarray(x) for x in xs]), *singles)
    metrics = jnp.asarray([3.0, 2.0, 2.5, 2.5, 2.5, 1.0, 1.0, 1.0, 1.0, 1.0])

    def run(p):
        def body(state, m):
            state = p.update(state, m)
            return state, p(0, state)

        return jax.lax.scan(body, p.init(), metrics)[1]

    got = jax.jit(jax.vmap(run))(batched)
    for i, p in enumerate(singles):
        np.testing.assert_array_equal(np.asarray(got[i]), np.asarray(run(p)))


def test_value_and_state_shapes_and_dtypes():
    p = plateau(lrsched.cosine(1.0, 10))
    state = jax.eval_shape(p.init)
    assert isinstance(state, PlateauState)
    assert state.rate.dtype == jnp.float32 and state.count.dtype == jnp.int32
    assert jax.eval_shape(lambda: p(jnp.arange(5), p.init())).shape == (5,)
    assert jax.eval_shape(lambda: p(3, p.init())).dtype == jnp.float32
    np.testing.assert_array_equal(jax.jit(lambda p, t: p(t, p.init()))(p, jnp.arange(12)),
                                  lrsched.evaluate(p.schedule, 12))  # before any reduction: the schedule itself
    with jax.enable_x64(True):
        assert jax.eval_shape(lambda: p(3, p.init())).dtype == jnp.float64


def test_grad_through_the_inner_schedule():
    def f(v):
        p = plateau(lrsched.constant(v), factor=0.5, patience=0)
        state = p.update(p.update(p.init(), 1.0), 2.0)
        return p(0, state)

    assert float(jax.jit(jax.grad(f))(0.3)) == pytest.approx(0.5)


def test_count_saturates():
    p = plateau(lrsched.constant(1.0))
    state = p.init()._replace(count=jnp.asarray(2**31 - 2, jnp.int32))
    update = jax.jit(p.update)
    state = update(update(state, 1.0), 1.0)
    assert int(state.count) == 2**31 - 1


# ------------------------------------------------------- validation and configs


@pytest.mark.parametrize("kwargs, field", [
    (dict(factor=1.0), "factor"), (dict(factor=-0.1), "factor"), (dict(patience=-1), "patience"),
    (dict(mode="minimum"), "mode"), (dict(threshold_mode="relative"), "threshold_mode"),
    (dict(every=0), "every"), (dict(nan="raise"), "nan"), (dict(aggregate="median"), "aggregate"),
    (dict(min_value=-1.0), "min_value"), (dict(cooldown=-2), "cooldown"), (dict(eps=-1.0), "eps"),
])
def test_bad_arguments_raise_clear_errors(kwargs, field):
    with pytest.raises(lrsched.ScheduleError, match=rf"plateau\({field}=.*{field} must be"):
        plateau(lrsched.constant(1.0), **kwargs)


def test_not_a_schedule():
    with pytest.raises(lrsched.ScheduleError, match="lrsched.constant"):
        plateau(0.1)


def test_config_round_trip_keeps_settings_not_state():
    p = plateau(lrsched.warmup(lrsched.cosine(0.1, 100), 10), factor=0.5, patience=3, mode="max",
                threshold_mode="abs", cooldown=2, min_value=1e-4, eps=0.0, every=5, aggregate="mean",
                start=10, nan="bad")
    config = json.loads(json.dumps(lrsched.to_config(p)))
    assert config["type"] == "plateau" and config["mode"] == "max"
    q = lrsched.from_config(config)
    assert isinstance(q, Plateau) and repr(q) == repr(p)
    np.testing.assert_array_equal(lrsched.evaluate(q.schedule, 50), lrsched.evaluate(p.schedule, 50))
    metrics = [1.0, 0.5, 0.2, 0.1, 0.3] * (N // 5)
    rp, sp = our_rates(p, metrics, values=True)
    rq, sq = our_rates(q, metrics, values=True)
    assert rp == rq and int(sp.num_reductions) == int(sq.num_reductions) > 0


def test_pytree_round_trip_revalidates():
    p = plateau(lrsched.constant(0.1), factor=0.5)
    leaves, treedef = jax.tree.flatten(p)
    assert len(leaves) == 9  # constant's value and the 8 numbers of the plateau
    q = jax.tree.unflatten(treedef, leaves)
    assert repr(q) == repr(p)


@pytest.mark.parametrize("step, match", [([10, 11], "one step count; got shape"), (True, "is a bool"),
                                         (float("nan"), "not finite"), ("5", "is a str"),
                                         (2**31, "does not fit in int32")])
def test_update_refuses_a_step_that_is_not_one_step_count(step, match):
    """``update(state, metric, step)`` checks its step as a schedule checks steps, and wants one: an array would
    silently batch the state (and fail later inside JAX), a NaN would never reach ``start`` (the metric dropped)."""
    p = lrsched.plateau(lrsched.constant(1.0), patience=0)
    with pytest.raises(lrsched.ScheduleError, match=match):
        p.update(p.init(), 1.0, step)
    assert int(jax.jit(p.update)(p.init(), 1.0, 7).count) == 1  # (one traced step is fine, and so is vmap's)
    assert jax.vmap(p.update, in_axes=(None, 0, 0))(p.init(), jnp.ones(3), jnp.arange(3)).count.tolist() == [1] * 3


@pytest.mark.parametrize("field", ["factor", "min_value", "patience"])
def test_a_plateau_of_array_numbers_is_refused_and_a_stack_of_plateaus_is_the_sweep(field):
    """A plateau's state takes one decision per update, so its numbers are single numbers (an array built, then
    failed at the first value with a broadcasting error inside JAX); a sweep stacks plateaus and vmaps them."""
    from lrsched import sweep

    values = {"factor": [0.1, 0.5], "min_value": [0.0, 0.2], "patience": [0, 3]}[field]
    with pytest.raises(lrsched.ScheduleError, match=f"plateau\\({field}=.*one number.*sweep.stack"):
        lrsched.plateau(lrsched.constant(1.0), **{field: values})
    batch = sweep.stack([lrsched.plateau(lrsched.constant(1.0), **{field: v}) for v in values])
    states = jax.vmap(lambda p: p.init())(batch)
    for m in (1.0, 2.0, 3.0, 4.0, 5.0):
        states = jax.vmap(lambda p, s: p.update(s, m))(batch, states)
    assert jax.vmap(lambda p, s: p(5, s))(batch, states).shape == (2,)
