"""lrsched.sweep: stacking, grids, vmapped training sweeps, results helpers.

The sharded (8 host devices) tests live in tests/test_sweep_sharded.py.
"""

from __future__ import annotations

import importlib.util
import itertools
import math
import pathlib
import sys

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import lrsched
from lrsched import sweep
from lrsched._core import ScheduleError
from lrsched.demo import digits

ROOT = pathlib.Path(__file__).resolve().parents[1]


_values = jax.jit(jax.vmap(lambda s, t: s(t), in_axes=(0, None)))


def values(batched, steps):
    """Every entry of a batched schedule at `steps`, in one vmapped program."""
    return np.asarray(_values(batched, jnp.asarray(steps)))


def composite(peak, warm, period, mul, decay):
    return lrsched.warmup(lrsched.cycle(lrsched.cosine(peak, steps=period, end_value=0.1 * peak),
                                        period=period, period_mul=mul, decay=decay), steps=warm)


# ------------------------------------------------------------------ stack


def test_stack_unstack_round_trip_and_values():
    singles = [composite(p, w, n, m, d) for p, w, n, m, d in
               [(0.1, 0, 10, 1, 1.0), (0.5, 7, 13, 2, 0.5), (1.0, 3, 4, 3, 0.9), (0.3, 20, 50, 1, 0.1)]]
    batched = sweep.stack(singles)
    assert sweep.size(batched) == 4
    assert isinstance(batched, lrsched.Warmup)
    np.testing.assert_array_equal(batched.steps, [0, 7, 3, 20])
    assert batched.steps.dtype.kind == "i" and batched.schedule.period.dtype.kind == "i"  # step counts stay ints
    t = np.arange(300)
    ref = np.stack([lrsched.evaluate(s, t) for s in singles])
    np.testing.assert_allclose(values(batched, t), ref, rtol=1e-6, atol=1e-7)
    back = sweep.unstack(batched)
    assert len(back) == 4
    for s, b in zip(singles, back):
        assert lrsched.to_config(s) == lrsched.to_config(b)  # the same numbers, so the same schedule
    assert lrsched.to_config(sweep.index(batched, -1)) == lrsched.to_config(singles[-1])
    sub = sweep.take(batched, [3, 1])
    assert [lrsched.to_config(s) for s in sweep.unstack(sub)] == [lrsched.to_config(singles[i]) for i in (3, 1)]
    with pytest.raises(IndexError):
        sweep.index(batched, 4)


def test_stack_mixed_int_and_float_leaves_promote_to_float():
    b = sweep.stack([lrsched.linear(1.0, 0.0, 10), lrsched.linear(1.0, 0.0, 10.5)])
    assert b.steps.dtype.kind == "f"
    np.testing.assert_allclose(values(b, [5])[:, 0], [0.5, 1 - 5 / 10.5], rtol=1e-6)


def test_stack_keeps_device_arrays_on_device():
    b = sweep.stack([lrsched.constant(jnp.float32(0.1)), lrsched.constant(jnp.float32(0.2))])
    assert isinstance(b.value, jax.Array)


@pytest.mark.parametrize("pair, where", [
    ((lrsched.wsd(1.0, 100, 10, 20), lrsched.wsd(1.0, 100, 10, 20, decay="cosine")),
     "at wsd.decay (static field: 'linear' vs 'cosine')"),
    ((lrsched.multistep(1.0, [10, 20], 0.1), lrsched.multistep(1.0, [10, 20, 30], 0.1)),
     "at multistep.milestones (leaf shape (2,) vs (3,))"),
    ((lrsched.exponential(1.0, 0.9), lrsched.exponential(1.0, 0.9, end_value=0.1)),
     "at exponential.end_value (None vs a leaf"),
    ((lrsched.warmup(lrsched.cosine(1.0, 10), 5), lrsched.warmup(lrsched.linear(1.0, 0.0, 10), 5)),
     "at warmup.schedule (a cosine schedule vs a linear schedule)"),
    ((lrsched.warmup(lrsched.one_cycle(100, 1.0), 5), lrsched.warmup(lrsched.one_cycle(100, 1.0, three_phase=True), 5)),
     "at warmup.schedule.three_phase (static field: False vs True)"),
    ((lrsched.cosine(1.0, 10), lrsched.linear(1.0, 0.0, 10)), "at the top level"),
])
def test_stack_names_the_first_field_that_differs(pair, where):
    first, other = pair
    with pytest.raises(ScheduleError) as e:
        sweep.stack([first, first, other])
    msg = str(e.value)
    assert "schedules[2]" in msg and where in msg, msg
    assert "sweep.group" in msg  # says how to fix it


def test_stack_rejects_non_schedules_and_empty():
    with pytest.raises(ScheduleError, match=r"schedules\[1\]\): expected an lrsched Schedule; got function"):
        sweep.stack([lrsched.constant(1.0), optax.constant_schedule(1.0)])
    with pytest.raises(ScheduleError, match="non-empty"):
        sweep.stack([])


def test_group_splits_by_structure_and_keeps_order():
    mixed = [lrsched.wsd(p, 100, 10, 30, decay=d) for p, d in
             [(1.0, "linear"), (0.5, "cosine"), (0.2, "linear"), (0.1, "sqrt"), (0.3, "cosine")]]
    groups = sweep.group(mixed)
    assert [idx for idx, _ in groups] == [[0, 2], [1, 4], [3]]
    t = np.arange(120)
    for idx, batched in groups:
        ref = np.stack([lrsched.evaluate(mixed[i], t) for i in idx])
        np.testing.assert_allclose(values(batched, t), ref, rtol=1e-6, atol=1e-7)


def test_size_rejects_unbatched():
    with pytest.raises(ScheduleError, match="leading sweep axis"):
        sweep.size(lrsched.cosine(1.0, 10))


# ------------------------------------------------------------------- grid


def test_grid_product_order_fixed_arguments_and_configs():
    peaks, warms, totals = [0.1, 0.3, 1.0], [0, 5], [50, 80]
    batched, configs = sweep.grid(lrsched.warmup_cosine, peak_value=peaks, warmup_steps=warms,
                                  total_steps=totals, end_value=1e-3, exponent=[2.0])
    combos = list(itertools.product(peaks, warms, totals))  # last axis fastest
    assert configs == [{"peak_value": p, "warmup_steps": w, "total_steps": n, "exponent": 2.0} for p, w, n in combos]
    assert configs.shape == (3, 2, 2, 1)
    assert configs.names == ["peak_value", "warmup_steps", "total_steps", "exponent"]
    assert configs.axes == {"peak_value": peaks, "warmup_steps": warms, "total_steps": totals, "exponent": [2.0]}
    np.testing.assert_array_equal(batched.total_steps, [n for _, _, n in combos])
    np.testing.assert_array_equal(batched.end_value, 1e-3)
    np.testing.assert_array_equal(batched.exponent, 2.0)
    for i, c in enumerate(configs):
        single = lrsched.warmup_cosine(**c, end_value=1e-3)
        assert lrsched.to_config(sweep.index(batched, i)) == lrsched.to_config(single)
    text = str(configs)
    assert text.splitlines()[0].split() == ["#", "peak_value", "warmup_steps", "total_steps", "exponent"]
    assert len(text.splitlines()) == 13
    assert configs.column("warmup_steps") == [w for _, w, _ in combos]
    assert isinstance(configs[:2], sweep.Configs)


def test_grid_numpy_axes_array_valued_axes_and_custom_factories():
    b, configs = sweep.grid(lrsched.multistep, init_value=np.array([0.1, 1.0]),
                            milestones=[[10, 20], [30, 60]], gamma=0.5)
    assert configs[1] == {"init_value": 0.1, "milestones": [30, 60]}
    assert type(configs[0]["init_value"]) is float  # plain Python values in the table
    np.testing.assert_array_equal(b.milestones, [[10, 20], [30, 60], [10, 20], [30, 60]])
    np.testing.assert_allclose(values(b, [35])[:, 0], [0.025, 0.05, 0.25, 0.5], rtol=1e-6)

    def shaped(peak, warm, total, cos_weight):
        # two decay shapes of different structure in one sweep: a numeric weight selects one exactly
        cos = lrsched.warmup_cosine(peak, warm, total)
        lin = lrsched.warmup(lrsched.linear(peak, 0.0, total - warm), warm)
        return cos_weight * cos + (1.0 - cos_weight) * lin

    b, configs = sweep.grid(shaped, peak=[0.5], warm=[0, 10], total=100, cos_weight=[0.0, 1.0])
    t = np.arange(120)
    got = values(b, t)
    for i, c in enumerate(configs):
        if c["cos_weight"] == 1.0:
            ref = lrsched.evaluate(lrsched.warmup_cosine(0.5, c["warm"], 100), t)
        else:
            ref = lrsched.evaluate(lrsched.warmup(lrsched.linear(0.5, 0.0, 100 - c["warm"]), c["warm"]), t)
        np.testing.assert_allclose(got[i], ref, rtol=1e-6, atol=1e-7)


def test_grid_where_filter_and_errors():
    b, configs = sweep.grid(lrsched.warmup_cosine, peak_value=[1.0], warmup_steps=[0, 60, 150],
                            total_steps=[100, 200], where=lambda c: c["warmup_steps"] < c["total_steps"])
    kept = [(0, 100), (0, 200), (60, 100), (60, 200), (150, 200)]
    assert configs == [{"peak_value": 1.0, "warmup_steps": w, "total_steps": n} for w, n in kept]
    assert configs.shape == (5,) and sweep.size(b) == 5
    with pytest.raises(ScheduleError, match=r"configuration \{'warmup_steps': 150, 'total_steps': 100\} is invalid"):
        sweep.grid(lrsched.warmup_cosine, peak_value=1.0, warmup_steps=[0, 150], total_steps=[100, 200])
    with pytest.raises(ScheduleError, match="at least one value"):
        sweep.grid(lrsched.cosine, init_value=[], steps=10)
    with pytest.raises(ScheduleError, match="dropped every combination"):
        sweep.grid(lrsched.cosine, init_value=[1.0], steps=[10], where=lambda c: False)
    with pytest.raises(ScheduleError, match="at wsd.decay"):
        sweep.grid(lrsched.wsd, peak_value=1.0, total_steps=100, warmup_steps=10, decay_steps=20,
                   decay=["linear", "cosine"])


def test_describe_lists_varying_leaves():
    b = sweep.stack([composite(0.1, 5, 10, 2, 1.0), composite(0.1, 5, 20, 2, 1.0)])
    d = sweep.describe(b)
    assert d == [{"schedule.schedule.steps": 10, "schedule.period": 10},
                 {"schedule.schedule.steps": 20, "schedule.period": 20}]


@settings(max_examples=6)
@given(peaks=st.lists(st.floats(1e-4, 10.0), min_size=1, max_size=3),
       warms=st.lists(st.integers(0, 50), min_size=1, max_size=3, unique=True),
       extra=st.lists(st.integers(1, 500), min_size=1, max_size=3, unique=True))
def test_grid_matches_each_schedule_alone(peaks, warms, extra):
    """Property: the product has prod(len(axis)) entries and entry i is factory(**configs[i])."""
    b, configs = sweep.grid(lambda peak, warm, extra: lrsched.warmup_cosine(peak, warm, warm + extra),
                            peak=peaks, warm=warms, extra=extra)
    assert sweep.size(b) == len(configs) == len(peaks) * len(warms) * len(extra)
    t = np.arange(0, 600, 7)
    got = values(b, t)
    for i, c in enumerate(configs):
        ref = lrsched.evaluate(lrsched.warmup_cosine(c["peak"], c["warm"], c["warm"] + c["extra"]), t)
        np.testing.assert_allclose(got[i], ref, rtol=2e-6, atol=1e-6 * c["peak"])


# ------------------------------------------------- against optax, compile once


def test_vmapped_warmup_and_total_steps_match_optax_per_config():
    """optax's closures cannot be vmapped over step counts; lrsched's can, with optax's values."""
    b, configs = sweep.grid(lrsched.warmup_cosine, peak_value=[0.01, 0.1], warmup_steps=[0, 3, 40],
                            total_steps=[41, 100, 333], init_value=1e-4, end_value=1e-5)
    t = np.arange(400)
    got = values(b, t)
    for i, c in enumerate(configs):
        ref = optax.warmup_cosine_decay_schedule(1e-4, c["peak_value"], c["warmup_steps"], c["total_steps"], 1e-5)
        np.testing.assert_allclose(got[i], np.asarray(jax.vmap(ref)(t)), rtol=2e-5, atol=1e-8)


def test_sweep_over_warmup_and_total_steps_compiles_once():
    traces = []

    @jax.jit
    def run(batched):
        traces.append(1)  # runs only while tracing
        return jax.vmap(lambda s: s(jnp.arange(500)))(batched)

    first, c1 = sweep.grid(lrsched.warmup_cosine, peak_value=1.0, warmup_steps=[0, 10, 50], total_steps=[100, 400])
    second, c2 = sweep.grid(lrsched.warmup_cosine, peak_value=1.0, warmup_steps=[5, 7, 99], total_steps=[300, 499])
    a, b = np.asarray(run(first)), np.asarray(run(second))
    assert len(traces) == 1
    for got, batched in ((a, first), (b, second)):
        ref = np.stack([lrsched.evaluate(s, 500) for s in sweep.unstack(batched)])
        np.testing.assert_allclose(got, ref, rtol=1e-6, atol=1e-7)
    # N separate runs through one jitted function: one compile for all of them too
    single = jax.jit(lambda s: (traces.append(1), s(jnp.arange(500)))[1])
    for s in sweep.unstack(first) + sweep.unstack(second):
        single(s)
    assert len(traces) == 2


def test_256_schedules_for_10000_steps_match_each_alone():
    peaks = np.geomspace(1e-3, 1.0, 4)
    b, configs = sweep.grid(lrsched.warmup_cosine, peak_value=peaks, warmup_steps=[0, 1, 100, 2499],
                            total_steps=[2500, 5000, 9999, 20000], exponent=[0.5, 1.0, 2.0, 3.0],
                            end_value=[0.0, 1e-4], init_value=[0.0, 1e-5])
    keep = np.sort(np.random.default_rng(0).choice(1024, size=256, replace=False))  # every axis still varies
    b, configs = sweep.take(b, keep), sweep.Configs([configs[i] for i in keep])
    assert sweep.size(b) == 256
    t = np.arange(10_000)
    got = values(b, t)
    # reference 1: optax's formula (optax/schedules/_schedule.py, warmup_cosine_decay_schedule and
    # cosine_decay_schedule) in float64 numpy, vectorised over all 256 configurations
    col = {k: np.asarray(configs.column(k), dtype=np.float64)[:, None] for k in configs.names}
    w, n, e, p = col["warmup_steps"], col["total_steps"], col["exponent"], col["peak_value"]
    v0, v1 = col["init_value"], col["end_value"]
    tt = t[None, :].astype(np.float64)
    up = v0 + (p - v0) * np.where(w > 0, tt / np.maximum(w, 1), 1.0)
    frac = np.clip(tt - w, 0, n - w) / (n - w)
    down = v1 + (p - v1) * (0.5 * (1 + np.cos(np.pi * frac))) ** e
    ref = np.where(tt < w, up, down)
    np.testing.assert_allclose(got, ref, rtol=2e-5, atol=1e-9)
    # reference 2: each schedule evaluated alone (one jitted call each, one compile for all)
    alone = np.stack([lrsched.evaluate(s, t) for s in sweep.unstack(b)])
    np.testing.assert_allclose(got, alone, rtol=4e-6, atol=1e-9)  # a few float32 ulps
    assert np.mean(got == alone) > 0.9  # most entries are bit-identical; XLA's division rewrites differ by 1 ulp


# ----------------------------------------------------- vmapped training sweeps


def _training(num_steps):
    from lrsched import optax as lro

    data = digits.load()
    xs, ys = digits.batches(data.x_train, data.y_train, num_steps, batch_size=64)
    params0 = digits.init_mlp(jax.random.key(0), (64, 16, 10))

    def chain(s):
        return optax.chain(optax.scale_by_adam(), lro.scale_by_schedule(s), optax.scale(-1.0))

    def train(schedule):
        opt = chain(schedule)
        params, _, losses = digits.train(opt, params0, opt.init(params0), xs, ys)
        return params, losses

    return train, chain, params0, (xs, ys)


def test_vmapped_training_equals_separate_runs():
    train, _, _, _ = _training(num_steps=40)
    batched, configs = sweep.grid(lrsched.warmup_cosine, peak_value=[3e-3, 3e-2], warmup_steps=[0, 20],
                                  total_steps=[30, 40], exponent=1.0)
    traces = []

    def counted(s):
        traces.append(1)
        return train(s)

    run = jax.jit(jax.vmap(counted))
    params, losses = run(batched)
    other, _ = sweep.grid(lrsched.warmup_cosine, peak_value=[1e-2, 2e-2], warmup_steps=[3, 7],
                          total_steps=[11, 25], exponent=2.0)
    run(other)  # other step counts and exponent: the same program
    assert len(traces) == 1 and losses.shape == (8, 40)
    one = jax.jit(counted)
    for i, s in enumerate(sweep.unstack(batched)):
        p, loss = one(s)
        np.testing.assert_allclose(losses[i], loss, rtol=2e-5, atol=2e-6)
        for a, b in zip(jax.tree.leaves(params), jax.tree.leaves(p)):
            np.testing.assert_allclose(a[i], b, rtol=2e-5, atol=2e-6)
    assert len(traces) == 2  # the 8 separate runs share one compile too
    # and every run actually followed its own schedule: the final losses differ
    assert len(np.unique(np.round(np.asarray(losses[:, -1]), 5))) == 8


def test_vmapped_optimizer_states_hold_the_schedules():
    """The sweep as lrsched.optax intends it: vmap init over the batched schedule, vmap the step."""
    _, chain, params0, (xs, ys) = _training(num_steps=30)
    batched, configs = sweep.grid(lrsched.wsd, peak_value=[1e-2, 3e-2, 1e-1], total_steps=30, warmup_steps=[0, 5],
                                  decay_steps=10)
    template = sweep.index(batched, 0)  # structure only; the values come from each state
    opt = chain(template)
    states = jax.vmap(lambda s: chain(s).init(params0))(batched)
    params = jax.tree.map(lambda x: jnp.broadcast_to(x, (6,) + x.shape), params0)

    traces = []

    def update(params, state, x, y):
        traces.append(1)
        loss, grads = jax.value_and_grad(digits.loss_fn)(params, (x, y))
        updates, state = opt.update(grads, state, params)
        return optax.apply_updates(params, updates), state, loss

    step = jax.jit(jax.vmap(update))
    losses = []
    for k in range(30):
        params, states, loss = step(params, states, jnp.broadcast_to(xs[k], (6,) + xs[k].shape),
                                    jnp.broadcast_to(ys[k], (6,) + ys[k].shape))
        losses.append(loss)
    losses = np.stack(losses, axis=1)
    single = jax.jit(update)  # the same update, unbatched: one compile serves every config
    for i, c in enumerate(configs):
        p, st = params0, chain(lrsched.wsd(c["peak_value"], 30, c["warmup_steps"], 10)).init(params0)
        for k in range(30):
            p, st, loss = single(p, st, xs[k], ys[k])
            np.testing.assert_allclose(losses[i, k], loss, rtol=2e-5, atol=2e-6)
    assert len(traces) == 2


# -------------------------------------------------------------- results


def test_best_table_and_nan_handling():
    configs = sweep.Configs([{"lr": 0.1, "w": 0}, {"lr": 1.0, "w": 0}, {"lr": 10.0, "w": 5}])
    loss = np.array([0.5, 0.2, np.nan])
    assert sweep.best(configs, loss) == (1, {"lr": 1.0, "w": 0})
    assert sweep.best(configs, [0.5, 0.2, 0.9], mode="max") == (2, {"lr": 10.0, "w": 5})
    assert sweep.best(configs, jnp.asarray([3.0, np.inf, 1.0])) == (2, {"lr": 10.0, "w": 5})
    with pytest.raises(ScheduleError, match="all diverged"):
        sweep.best(configs, [np.nan, np.inf, np.nan])
    with pytest.raises(ScheduleError, match="gather"):
        sweep.best(configs, np.zeros(8))  # shard padding left in
    with pytest.raises(ScheduleError, match="mode"):
        sweep.best(configs, loss, mode="lowest")
    text = sweep.table(configs, loss=loss, acc=[0.9, 0.95, 0.1], sort_by="loss")
    lines = text.splitlines()
    assert lines[0].split() == ["#", "lr", "w", "loss", "acc"]
    assert [line.split()[0] for line in lines[1:]] == ["1", "0", "2"]  # NaN sorts last
    assert lines[1].split() == ["1", "1", "0", "0.2", "0.95"]
    top = sweep.table(configs, loss=loss, acc=[0.9, 0.95, 0.1], sort_by="acc", descending=True, limit=1)
    assert [line.split()[0] for line in top.splitlines()] == ["#", "1"]
    with pytest.raises(ScheduleError, match="no such column"):
        sweep.table(configs, sort_by="nope")
    with pytest.raises(ScheduleError, match="2 values for 3"):
        sweep.table(configs, loss=[1.0, 2.0])


def test_plot_final_loss_against_each_swept_parameter():
    pytest.importorskip("matplotlib")
    import matplotlib.pyplot as plt

    _, configs = sweep.grid(lrsched.wsd, peak_value=[1e-3, 1e-2, 1e-1], total_steps=100, warmup_steps=[0, 10],
                            decay_steps=20)
    loss = np.array([1.0, 0.9, 0.5, 0.4, np.nan, 0.7])
    axes = sweep.plot(configs, loss)
    try:
        assert len(axes) == 2
        assert [ax.get_xlabel() for ax in axes] == ["peak_value", "warmup_steps"]
        assert axes[0].get_xscale() == "log" and axes[1].get_xscale() == "linear"
        profile = axes[0].lines[0].get_ydata()  # best run at each peak value
        np.testing.assert_allclose(profile, [0.9, 0.4, 0.7])
        assert any(ax.get_legend() is not None for ax in axes)  # the diverged run is marked
    finally:
        plt.close("all")
    cat = sweep.Configs([{"shape": "cos"}, {"shape": "linear"}, {"shape": "cos"}])
    ax = sweep.plot(cat, [0.3, 0.2, 0.1])[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["cos", "linear"]
    plt.close("all")


# ------------------------------------------------------------ one device


def test_shard_on_one_device_is_a_no_op_on_values():
    b, _ = sweep.grid(lrsched.cosine, init_value=[0.1, 0.2, 0.3], steps=[10, 20])
    m = sweep.mesh(jax.devices()[:1])
    sb = sweep.shard(b, m)
    assert sb.init_value.shape == (6,) and isinstance(sb.init_value, jax.Array)
    assert sb.init_value.sharding.spec == jax.sharding.PartitionSpec("sweep")
    np.testing.assert_array_equal(sweep.gather(values(sb, np.arange(30))), values(b, np.arange(30)))
    assert sweep.gather({"x": jnp.arange(8)}, n=6)["x"].tolist() == list(range(6))
    with pytest.raises(ScheduleError, match="no 'sweep' axis"):
        sweep.shard(b, jax.sharding.Mesh(np.asarray(jax.devices()[:1]), ("data",)))
    r = sweep.replicate({"x": np.ones((3, 2))}, m)
    assert r["x"].sharding.spec == jax.sharding.PartitionSpec()


# ------------------------------------------------------------ the example


def test_example_sweep_digits_runs_and_matches_separate_runs(tmp_path, monkeypatch):
    pytest.importorskip("flax")
    spec = importlib.util.spec_from_file_location("sweep_digits", ROOT / "examples" / "sweep_digits.py")
    mod = importlib.util.module_from_spec(spec)
    monkeypatch.setitem(sys.modules, "sweep_digits", mod)  # flax's dataclasses look their module up
    spec.loader.exec_module(mod)
    result = mod.main(["--steps", "40", "--peaks", "0.003", "0.03", "--warmups", "0", "10", "--totals", "1.0",
                       "--check", "2", "--plot", str(tmp_path / "sweep.png")])
    assert len(result["configs"]) == 8 and np.all(np.isfinite(result["final_loss"]))
    assert result["check_max_abs_diff"] < 1e-4
    assert (tmp_path / "sweep.png").exists()
    assert math.isfinite(result["best"]["final_loss"])
