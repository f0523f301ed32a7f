"""Reduce-on-plateau through the bridge: the same metric stream gives the same rates as lrsched.optax.

The reference is the JAX plateau itself (``lrsched.optax.scale_by_schedule`` and
``Plateau.update`` / ``Plateau.__call__(step, state)``), never a copied formula, so
a change of the core's plateau shows up here if the bridge stops following it.
"""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp
import lrsched_torch
import numpy as np
import pytest
import torch

import lrsched
import lrsched.optax
from lrsched.compat import torch as tc

N = 90


def metric_stream(n: int = N, seed: int = 0) -> list[float]:
    """A loss that improves, stalls, jumps and improves again: every plateau branch is taken."""
    rng = np.random.default_rng(seed)
    third = n // 3
    base = np.concatenate([np.linspace(3.0, 1.0, third), np.full(third, 1.0), np.linspace(1.2, 0.4, n - 2 * third)])
    return (base + rng.normal(0.0, 0.05, n)).tolist()


def optax_rates(p: lrsched.Schedule, metrics: list[float]) -> list[float]:
    """The rate lrsched.optax applies at each update (float64), fed metrics[k] with update k."""
    with jax.enable_x64(True):
        p64 = lrsched.from_config(lrsched.to_config(p))
        tx = lrsched.optax.scale_by_schedule(p64)
        params = {"w": jnp.zeros((), jnp.float64)}
        state = tx.init(params)
        update = jax.jit(lambda g, s, m: tx.update(g, s, params, value=m))
        out = []
        for m in metrics:
            updates, state = update({"w": jnp.ones((), jnp.float64)}, state, jnp.float64(m))
            out.append(float(updates["w"]))
        return out


def bridge_rates(p: lrsched.Schedule, metrics: list[float], chunk: int = 4096) -> list[float]:
    """The lr the optimizer holds at each step, with step(metric) after every optimizer step."""
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = lrsched_torch.ScheduleLR(opt, lr=p, chunk=chunk)
    out = []
    for m in metrics:
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step(m)
    return out


WARM = lrsched.warmup(lrsched.cosine(0.1, 200, end_value=0.01), 12, init_value=0.001)


@pytest.mark.parametrize("kw", [
    dict(),
    dict(start=12),
    dict(start=13, cooldown=2),
    dict(start=5, every=3),
    dict(start=12, every=3, aggregate="mean", cooldown=1),
    dict(every=4, aggregate="mean", patience=0),
    dict(start=20, every=2, cooldown=3, threshold_mode="abs", threshold=0.05),
    dict(start=12, min_value=0.02, patience=0),
])
def test_same_metric_stream_same_rates_as_lrsched_optax(kw):
    options = dict(factor=0.5, patience=1) | kw
    p = lrsched.plateau(WARM, **options)
    metrics = metric_stream()
    want = optax_rates(p, metrics)
    got = bridge_rates(p, metrics)
    np.testing.assert_allclose(got, want, rtol=1e-15, atol=0)
    assert len({round(x / y, 12) for x, y in zip(want[40:], lrsched.evaluate(WARM, N)[40:])}) >= 2, \
        "the plateau must act in this stream"


@pytest.mark.parametrize("chunk", [1, 5, 8])
def test_small_chunks_prefetched_ahead_never_serve_a_stale_plateau_state(chunk):
    """Chunks of a few steps: the next one is computed ahead on the table's thread; a metric in between makes
    that prefetch stale, and it must not be served."""
    p = lrsched.plateau(WARM, factor=0.5, patience=1, start=12, every=2)
    metrics = metric_stream(seed=7)
    np.testing.assert_allclose(bridge_rates(p, metrics, chunk), optax_rates(p, metrics), rtol=1e-15, atol=0)


def test_the_metric_of_the_last_warmup_update_is_not_counted():
    """plateau(start=W): the metric passed with update W - 1 is ignored, the one with update W counts."""
    p = lrsched.plateau(lrsched.warmup(lrsched.constant(1.0), 4), factor=0.5, patience=0, start=4)
    metrics = [1.0, 1.0, 1.0, 0.1, 5.0, 5.0, 5.0]  # a best of 0.1 at update 3 would make 5.0 a bad epoch
    assert bridge_rates(p, metrics) == optax_rates(p, metrics) == [0.0, 0.25, 0.5, 0.75, 1.0, 1.0, 0.5]


def test_observe_after_step_attributes_the_metric_to_the_step_just_done():
    """step() every update and observe(metric) every 5: the JAX replay with update(state, m, step=k)."""
    p = lrsched.plateau(WARM, factor=0.5, patience=0, start=12, threshold=0.2)
    metrics = metric_stream(seed=3)
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=1.0)
    sched = lrsched_torch.ScheduleLR(opt, lr=p, chunk=8)  # prefetched chunks made stale by the metrics
    with jax.enable_x64(True):
        p64 = lrsched.from_config(lrsched.to_config(p))
        state = jax.jit(lambda p: p.init())(p64)
        value = jax.jit(lambda p, t, s: p(t, s))
        update = jax.jit(lambda p, s, m, t: p.update(s, m, t))
        got, want = [], []
        for k, m in enumerate(metrics):
            got.append(opt.param_groups[0]["lr"])
            want.append(float(value(p64, np.int64(k), state)))
            opt.step()
            sched.step()
            if k % 5 == 4:
                sched.observe(m)
                state = update(p64, state, np.float64(m), np.int64(k))
    np.testing.assert_allclose(got, want, rtol=1e-15, atol=0)
    assert int(sched.plateau_states[0].num_reductions) == int(state.num_reductions) >= 2


# ------------------------------------------------------------------------- metric values


@pytest.mark.parametrize("metric", [
    0.75, 3, np.float32(0.75), np.asarray(0.75), np.asarray([0.75]), torch.tensor(0.75), torch.tensor([0.75]),
    torch.tensor([[0.75]], dtype=torch.float64), torch.tensor(0.75, requires_grad=True) * 1.0, jnp.asarray(0.75),
    jnp.asarray([0.75]),
])
def test_metric_numbers_and_one_element_tensors(metric):
    p = tc.ReduceLROnPlateau(0.1, patience=0)

    def run(m):
        opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
        sched = lrsched_torch.ScheduleLR(opt, lr=p)
        sched.step(1.0)
        sched.step(m)
        return int(sched.plateau_states[0].num_bad_epochs), float(sched.plateau_states[0].best)

    assert run(metric) == run(float(np.asarray(jnp.asarray(metric) if not isinstance(metric, torch.Tensor)
                                               else metric.detach()).reshape(())))


@pytest.mark.parametrize("metric,error,match", [
    (torch.tensor([0.5, 0.7]), ValueError, r"2 elements \(shape \(2,\)\).*loss.mean"),
    (np.zeros((2, 3)), ValueError, "6 elements"),
    (jnp.zeros(3), ValueError, "3 elements"),
    ("0.5", TypeError, "string, not a number"),
    (True, TypeError, "bool"),
    ([0.5], TypeError, "not a number"),
])
def test_metric_that_is_not_one_number_is_a_clear_error(metric, error, match):
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    sched = lrsched_torch.ScheduleLR(opt, lr=tc.ReduceLROnPlateau(0.1))
    with pytest.raises(error, match=match):
        sched.step(metric)
    with pytest.raises(error, match=match):
        sched.observe(metric)
    assert sched.last_epoch == 0  # nothing advanced


# ------------------------------------------------------------------ where no metric can arrive


def test_plateau_where_no_metric_can_arrive_is_refused_at_construction():
    p = lrsched.plateau(lrsched.constant(0.1))
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1, momentum=0.9)
    with pytest.raises(ValueError, match="LambdaLR has no way to receive one"):
        lrsched_torch.lambda_lr(opt, p)
    with pytest.raises(ValueError, match="LambdaLR has no way to receive one"):
        lrsched_torch.LambdaLR(opt, p)
    with pytest.raises(ValueError, match="drives the lr only"):
        lrsched_torch.ScheduleLR(opt, lr=0.1, momentum=lrsched.plateau(lrsched.constant(0.9)))
    with pytest.raises(ValueError, match="nested inside"):
        lrsched_torch.ScheduleLR(opt, lr=lrsched.warmup(p, 10))
    with pytest.raises(ValueError, match="nested inside"):
        lrsched_torch.ScheduleLR(opt, lr=p * 2.0)
    from lrsched.compat import transformers as hf

    with pytest.raises(ValueError, match="transformers' greedy.*LambdaLR has no way to receive one"):
        lrsched_torch.lambda_lr(opt, hf.get_scheduler("greedy", 0.1))


GREEDY = [dict(patience=1, factor=0.5, min_lr=0.01, max_lr=1.0), dict(patience=2, cooldown=1, warmup=1, factor=0.8),
          dict(patience=1, smooth=True, window_size=3, reset_start=2, min_lr=0.05, factor=0.5),
          dict(mode="max", patience=0, threshold_mode="rel", threshold=0.01)]


@pytest.mark.parametrize("kw", GREEDY)
def test_transformers_greedy_driven_by_step_metric_equals_greedy_lr(kw):
    """transformers' GreedyLR (a metric-driven schedule like reduce-on-plateau, raising the lr too) through
    ScheduleLR(lr=compat.transformers.get_scheduler("greedy", ...)) and step(metric): the same lr at every step as
    transformers' own on a torch optimizer, and a resume from a state dict mid-run continues exactly."""
    import transformers.optimization

    from lrsched.compat import transformers as hf

    metrics = np.cumsum(np.random.default_rng(len(kw)).normal(0, 1, 60)).tolist()
    theirs_opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(2))], lr=0.1)
    theirs = transformers.optimization.GreedyLR(theirs_opt, **kw)
    ours_opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(2))], lr=0.1)
    ours = lrsched_torch.ScheduleLR(ours_opt, lr=hf.get_scheduler("greedy", 0.1, **kw))
    want, got = [], []
    for i, m in enumerate(metrics):
        want.append(theirs_opt.param_groups[0]["lr"])
        got.append(ours_opt.param_groups[0]["lr"])
        theirs.step(m)
        ours.step(m)
        if i == 29:  # resume in a fresh optimizer and scheduler
            state = ours.state_dict()
            ours_opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(2))], lr=0.1)
            ours = lrsched_torch.ScheduleLR(ours_opt, lr=hf.get_scheduler("greedy", 0.1, **kw))
            ours.load_state_dict(state)
    assert len(set(want)) >= 4, "the schedule must act in this run"
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_a_plateau_never_fed_warns_once():
    p = lrsched.plateau(lrsched.constant(0.1), start=10)
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
    sched = lrsched_torch.ScheduleLR(opt, lr=p, chunk=1000)
    sched.metric_warning_steps = 3000
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(6000):
            sched.step()
    messages = [str(w.message) for w in caught if "no metric" in str(w.message)]
    assert len(messages) == 1 and "FeedPlateau" in messages[0]
    fed = lrsched_torch.ScheduleLR(torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1), lr=p, chunk=1000)
    fed.metric_warning_steps = 3000
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for k in range(6000):
            fed.step(1.0) if k == 100 else fed.step()
    assert not [w for w in caught if "no metric" in str(w.message)]


# ------------------------------------------------------------------ the torch-named class


def test_drop_in_reduce_lr_on_plateau_attributes_follow_torch():
    from lrsched_torch.lr_scheduler import ReduceLROnPlateau

    kw = dict(mode="max", factor=0.3, patience=2, cooldown=2, threshold=0.01, min_lr=[1e-3, 0.05])

    def groups():
        return [{"params": [torch.nn.Parameter(torch.zeros(1))], "lr": 0.1},
                {"params": [torch.nn.Parameter(torch.zeros(1))], "lr": 0.2}]

    opt_a, opt_b = torch.optim.SGD(groups(), lr=0.1), torch.optim.SGD(groups(), lr=0.1)
    native = torch.optim.lr_scheduler.ReduceLROnPlateau(opt_a, **kw)
    ours = ReduceLROnPlateau(opt_b, **kw)
    assert isinstance(ours, torch.optim.lr_scheduler.ReduceLROnPlateau)
    for m in [-x for x in metric_stream(seed=5)]:
        native.step(m)
        ours.step(m)
        assert [g["lr"] for g in opt_b.param_groups] == [g["lr"] for g in opt_a.param_groups]
        assert (ours.best, ours.num_bad_epochs, ours.cooldown_counter, ours.in_cooldown, ours.last_epoch) == \
               (native.best, native.num_bad_epochs, native.cooldown_counter, native.in_cooldown, native.last_epoch)
        assert ours.get_last_lr() == native.get_last_lr()
    assert ours.min_lrs == native.min_lrs and ours.mode == native.mode and ours.factor == native.factor
    assert len({g["lr"] for g in opt_a.param_groups}) == 2 and opt_a.param_groups[0]["lr"] < 0.1
    with pytest.raises(TypeError, match="metrics"):
        ours.step()


@pytest.mark.parametrize("metric", ["1.5", True, np.float32(1.5), np.array([1.5]), torch.tensor([1.5]), "loss",
                                    [1.5]], ids=repr)
def test_drop_in_reduce_lr_on_plateau_converts_the_metric_as_torch_does(metric):
    """torch's ``float(metrics)``: the same accepted values (a numeric string, a bool, a one-element tensor) and the
    same error types (a 1-d array, a word, a list), where ScheduleLR's own step(metric) is stricter."""
    from lrsched_torch import lr_scheduler as dl

    outcomes = []
    for module in (torch.optim.lr_scheduler, dl):
        opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.1)
        sched = module.ReduceLROnPlateau(opt, patience=0)
        try:
            sched.step(metric)
            sched.step(metric)
            outcomes.append(("ok", sched.best, opt.param_groups[0]["lr"]))
        except (TypeError, ValueError) as e:
            outcomes.append((type(e).__name__,))
    assert outcomes[1] == outcomes[0]
