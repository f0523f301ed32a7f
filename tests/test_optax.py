"""lrsched in Optax: plain use, lrsched.optax.scale_by_schedule / inject / current, vmapped sweeps."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
import torch

import lrsched
import lrsched.optax as lo
from lrsched._plateau import plateau

STEPS = 12


def _params(dtype=jnp.float32):
    k1, k2 = jax.random.split(jax.random.PRNGKey(0))
    return {"w": jax.random.normal(k1, (4, 3)).astype(dtype), "b": jax.random.normal(k2, (3,)).astype(dtype)}


def _grads(i, params):
    """Deterministic, step-dependent gradients."""
    return jax.tree.map(lambda p: jnp.sin(p * (1.0 + i) + i).astype(p.dtype), params)


def _train(tx, params, steps=STEPS, losses=None):
    """`steps` jitted updates in one scan; returns (params, state, per-step current values)."""
    losses = jnp.zeros(steps) if losses is None else jnp.asarray(losses, jnp.float32)

    def body(carry, xs):
        params, state = carry
        i, loss = xs
        updates, state = tx.update(_grads(i, params), state, params, value=loss)
        return (optax.apply_updates(params, updates), state), None

    (params, state), _ = jax.jit(lambda p, s: jax.lax.scan(body, (p, s), (jnp.arange(steps), losses)))(
        params, tx.init(params))
    return params, state


def _assert_trees_equal(a, b):
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


SCHEDULES = [
    lrsched.warmup(lrsched.cosine(0.1, 20, end_value=0.01), 4),
    lrsched.one_cycle(STEPS, 0.05),
    lrsched.multistep(0.1, [3, 7], 0.5),
    lrsched.exponential(0.1, 0.9, steps=2, staircase=True),
]


# ---------------------------------------------------------------- plain use


def _torch_one_cycle(total, peak):
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=peak)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=peak, total_steps=total)
    out = []
    for _ in range(total):
        out.append(opt.param_groups[0]["lr"])
        opt.step()
        sched.step()
    return out


def _references(n):
    """Each of SCHEDULES at counts 0..n-1 in float64, from its formula (or torch), not from lrsched."""
    t = np.arange(n, dtype=np.float64)
    warm = np.where(t < 4, 0.1 * t / 4, 0.01 + 0.09 * 0.5 * (1 + np.cos(np.pi * np.minimum(t - 4, 20) / 20)))
    return [warm, np.array(_torch_one_cycle(n, 0.05)), 0.1 * 0.5 ** ((t >= 3).astype(int) + (t >= 7)),
            0.1 * 0.9 ** np.floor(t / 2)]


@pytest.mark.parametrize("i", range(len(SCHEDULES)), ids=[s.factory_name for s in SCHEDULES])
def test_plain_use_trains_with_the_schedule_values(i):
    """optax.adam(schedule) and friends train exactly as with the rates from an independent reference."""
    schedule, ref = SCHEDULES[i], _references(STEPS)[i]
    table = jnp.asarray(ref, jnp.float32)
    np.testing.assert_allclose(lrsched.evaluate(schedule, STEPS), ref, rtol=2e-6, atol=1e-9)
    p = _params()
    for make in (lambda lr: optax.adam(lr), lambda lr: optax.sgd(lr, momentum=0.9),
                 lambda lr: optax.chain(optax.scale_by_adam(), optax.scale_by_schedule(lr), optax.scale(-1.0))):
        ours, _ = _train(make(schedule), p)
        theirs, _ = _train(make(lambda count: table[jnp.minimum(count, STEPS - 1)]), p)
        off_by_one, _ = _train(make(lambda count: table[jnp.minimum(count + 1, STEPS - 1)]), p)
        for x, y, z in zip(jax.tree.leaves(ours), jax.tree.leaves(theirs), jax.tree.leaves(off_by_one)):
            np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=1e-5, atol=1e-6)
            assert np.max(np.abs(np.asarray(x) - np.asarray(z))) > 1e-5  # the comparison can tell steps apart


def test_plain_use_equals_optax_native_schedules():
    p = _params()
    pairs = [
        (lrsched.warmup_cosine(0.1, 3, 10, end_value=0.01),
         optax.warmup_cosine_decay_schedule(0.0, 0.1, 3, 10, end_value=0.01)),
        (lrsched.linear(0.1, 0.01, 8), optax.linear_schedule(0.1, 0.01, 8)),
        (lrsched.constant(0.05), 0.05),
    ]
    for ours, theirs in pairs:
        a, _ = _train(optax.adam(ours), p)
        b, _ = _train(optax.adam(theirs), p)
        for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
            np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("schedule", SCHEDULES[:2], ids=lambda s: s.factory_name)
def test_scale_by_schedule_equals_optax_scale_by_schedule(schedule):
    p = _params()
    ours, state = _train(optax.chain(optax.scale_by_adam(), lo.scale_by_schedule(schedule), optax.scale(-1.0)), p)
    theirs, _ = _train(optax.chain(optax.scale_by_adam(), optax.scale_by_schedule(schedule), optax.scale(-1.0)), p)
    # optax's closure bakes the numbers into the program as constants, which XLA may fold (1-ulp differences);
    # the state-held schedule computes from its leaves like lrsched.evaluate does
    for x, y in zip(jax.tree.leaves(ours), jax.tree.leaves(theirs)):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=1e-6, atol=1e-7)
    assert int(state[1].count) == STEPS
    assert float(lo.current(state)["schedule"]) == pytest.approx(float(schedule(STEPS)), rel=1e-6)
    tx = lo.scale_by_schedule(schedule)
    update = jax.jit(tx.update)
    state, got = tx.init(jnp.zeros(())), []
    for _ in range(STEPS):
        u, state = update(jnp.ones(()), state)
        got.append(float(u))
    # a scalar-step program and the vectorised evaluate() may round the last bit apart
    np.testing.assert_allclose(got, lrsched.evaluate(schedule, STEPS), rtol=2e-7, atol=0)


# ---------------------------------------------------- state-held schedules


def test_state_holds_the_schedule_and_changing_numbers_does_not_recompile():
    traces = []
    tx = lo.scale_by_schedule(lrsched.warmup_cosine(0.1, 3, 10))

    @jax.jit
    def update(grads, state):
        traces.append(1)
        return tx.update(grads, state)

    g = jnp.ones(3)
    for peak, warm, total in [(0.1, 3, 10), (0.5, 2, 30), (1e-3, 0, 5)]:
        s = lrsched.warmup_cosine(peak, warm, total)
        state = lo.scale_by_schedule(s).init(g)
        assert isinstance(state, lo.ScheduleState) and state.count.dtype == jnp.int32
        for k in range(3):
            u, state = update(g, state)
            np.testing.assert_array_equal(np.asarray(u), np.full(3, float(s(k)), np.float32))
    assert len(traces) == 1


def test_vmap_over_16_schedules_one_compile_same_as_separate_runs():
    peaks = np.geomspace(1e-3, 1e-1, 16)
    warms = np.arange(16) % 5
    totals = 10 + np.arange(16)
    singles = [lrsched.warmup_cosine(float(p), int(w), int(t)) for p, w, t in zip(peaks, warms, totals)]
    batched = jax.tree.map(lambda *xs: jnp.stack([jnp.asarray(x) for x in xs]), *singles)
    params = _params()
    tx = optax.chain(optax.scale_by_adam(), lo.scale_by_schedule(singles[0]), optax.scale(-1.0))
    traces = []

    def run(params, state):
        traces.append(1)

        def body(carry, i):
            params, state = carry
            updates, state = tx.update(_grads(i, params), state, params)
            return (optax.apply_updates(params, updates), state), None

        return jax.lax.scan(body, (params, state), jnp.arange(STEPS))[0]

    # the sweep pattern: one init per schedule under vmap, one vmapped update
    states = jax.vmap(lambda s: optax.chain(optax.scale_by_adam(), lo.scale_by_schedule(s),
                                            optax.scale(-1.0)).init(params))(batched)
    batched_run = jax.jit(jax.vmap(run, in_axes=(None, 0)))
    out_params, out_states = batched_run(params, states)
    assert len(traces) == 1
    # other numbers, same structure: no recompilation
    batched_run(params, jax.vmap(lambda s: tx.init(params))(jax.tree.map(lambda x: x[::-1], batched)))
    assert len(traces) == 1

    single_run = jax.jit(run)
    for i, s in enumerate(singles):
        p_i, _ = single_run(params, optax.chain(optax.scale_by_adam(), lo.scale_by_schedule(s),
                                                optax.scale(-1.0)).init(params))
        for x, y in zip(jax.tree.leaves(p_i), jax.tree.leaves(out_params)):
            np.testing.assert_allclose(np.asarray(x), np.asarray(y[i]), rtol=1e-6, atol=1e-7)
    assert len(traces) == 2  # one trace for the 16 single runs too: the schedule lives in the state
    values = lo.current(out_states)["schedule"]
    np.testing.assert_allclose(np.asarray(values), [float(s(STEPS)) for s in singles], rtol=1e-6)


def test_count_saturates_instead_of_overflowing():
    tx = lo.scale_by_schedule(lrsched.inverse_sqrt(1.0, 100))
    state = tx.init(jnp.zeros(2))._replace(count=jnp.asarray(2**31 - 2, jnp.int32))
    update = jax.jit(tx.update)
    for _ in range(3):
        u, state = update(jnp.ones(2), state)
    assert int(state.count) == 2**31 - 1
    assert np.all(np.isfinite(np.asarray(u))) and float(u[0]) > 0


def test_not_a_schedule_and_nested_plateau_errors():
    with pytest.raises(lrsched.ScheduleError, match="lrsched.cosine"):
        lo.scale_by_schedule(lambda c: 0.1)
    nested = lrsched.warmup(plateau(lrsched.constant(0.1)), 10)
    with pytest.raises(lrsched.ScheduleError, match="outermost"):
        lo.scale_by_schedule(nested)
    with pytest.raises(lrsched.ScheduleError, match="outermost"):
        lo.inject(optax.adam, learning_rate=nested)


# ------------------------------------------------------------------ plateau


def test_plateau_takes_the_metric_from_extra_args_like_torch():
    losses = [3.0, 2.0, 2.5, 2.5, 2.5, 1.0, 1.5, 1.5, 1.5, 1.5, 1.5, 1.5]
    p = plateau(lrsched.constant(0.1), factor=0.5, patience=1, cooldown=1)
    tx = lo.scale_by_schedule(p)
    seen = []

    @jax.jit
    def step(state, loss):
        u, state = tx.update(jnp.ones(()), state, value=loss)
        return u, state

    state = tx.init(jnp.zeros(()))
    for loss in losses:
        u, state = step(state, loss)
        seen.append(float(u))
    # torch: the update uses get_last_lr(), then scheduler.step(loss)
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=1, cooldown=1)
    expected = []
    for loss in losses:
        expected.append(opt.param_groups[0]["lr"])
        sched.step(loss)
    np.testing.assert_allclose(seen, expected, rtol=1e-6)
    assert float(lo.current(state)["schedule"]) == pytest.approx(opt.param_groups[0]["lr"], rel=1e-6)
    assert int(state.plateau.num_reductions) == 3 and opt.param_groups[0]["lr"] == 0.1 / 8


def test_plateau_without_a_value_is_a_clear_error():
    for tx in (lo.scale_by_schedule(plateau(lrsched.constant(0.1))),
               lo.inject(optax.sgd, learning_rate=plateau(lrsched.constant(0.1)))):
        state = tx.init(jnp.zeros(2))
        with pytest.raises(ValueError, match=r"value=loss"):
            tx.update(jnp.ones(2), state, jnp.zeros(2))


def test_warmup_then_plateau_in_inject():
    w, base = 5, 0.1
    losses = [5.0, 4.0, 3.0, 2.0, 1.0] + [1.0] * 7
    tx = lo.inject(optax.sgd, learning_rate=plateau(lrsched.warmup(lrsched.constant(base), w), patience=2,
                                                    start=w, factor=0.5))
    state = tx.init(jnp.zeros(()))
    update = jax.jit(lambda s, loss: tx.update(jnp.ones(()), s, jnp.zeros(()), value=loss)[1])
    rates = []
    for loss in losses:
        rates.append(float(lo.current(state)["learning_rate"]))
        state = update(state, loss)
    np.testing.assert_allclose(rates[:w], lrsched.evaluate(lrsched.warmup(lrsched.constant(base), w), w))
    # after the warmup: torch on the losses from step w on (the first one only sets `best`)
    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=base)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=2)
    expected = []
    for loss in losses[w:]:
        expected.append(opt.param_groups[0]["lr"])
        sched.step(loss)
    np.testing.assert_allclose(rates[w:], expected, rtol=1e-6)
    assert min(rates[w:]) < base


# ------------------------------------------------------------------- inject


def test_inject_equals_optax_inject_hyperparams():
    lr = lrsched.warmup(lrsched.cosine(0.05, 10), 3)
    b1 = lrsched.linear(0.95, 0.85, 10)
    p = _params()
    ours, state = _train(lo.inject(optax.adam, learning_rate=lr, b1=b1, eps=1e-6), p)
    theirs, ref = _train(optax.inject_hyperparams(optax.adam)(learning_rate=lr, b1=b1, eps=1e-6), p)
    # same math; optax bakes the schedules' numbers in as constants (XLA folds them: last-ulp differences)
    for x, y in zip(jax.tree.leaves(ours), jax.tree.leaves(theirs)):
        np.testing.assert_allclose(np.asarray(x), np.asarray(y), rtol=1e-5, atol=1e-6)
    now = lo.current(state)
    assert set(now) == {"learning_rate", "b1", "eps"}
    assert float(now["learning_rate"]) == pytest.approx(float(lr(STEPS)), rel=1e-6)
    assert float(now["b1"]) == pytest.approx(float(b1(STEPS)), rel=1e-6)
    assert float(now["eps"]) == np.float32(1e-6)
    # optax's state holds the values of the last update (count - 1), ours the next (torch's convention)
    assert float(ref.hyperparams["learning_rate"]) == pytest.approx(float(lr(STEPS - 1)), rel=1e-6)


def test_inject_values_stay_float32_with_bf16_params():
    lr = lrsched.cosine(1e-3, 100, end_value=1e-5)
    p = _params(jnp.bfloat16)
    tx = lo.inject(optax.adamw, learning_rate=lr, weight_decay=0.01)
    params, state = _train(tx, p)  # a scan: the carry's dtypes must not change
    now = lo.current(state)
    assert now["learning_rate"].dtype == jnp.float32 and now["weight_decay"].dtype == jnp.float32
    assert float(now["learning_rate"]) == pytest.approx(float(lr(STEPS)), rel=1e-6)
    assert float(now["learning_rate"]) != float(jnp.bfloat16(lr(STEPS)))  # a bf16 lr would be rounded
    assert all(x.dtype == jnp.bfloat16 for x in jax.tree.leaves(params))
    assert all(x.dtype == jnp.bfloat16 for x in jax.tree.leaves(state.inner_state[0].mu))
    # numbers too: optax.inject_hyperparams casts a Python-number learning rate to the params' dtype (#1414)
    ours = lo.current(lo.inject(optax.adamw, learning_rate=3e-4, weight_decay=0.01).init(p))
    ref = optax.inject_hyperparams(optax.adamw)(learning_rate=3e-4, weight_decay=0.01).init(p)
    assert ref.hyperparams["learning_rate"].dtype == jnp.bfloat16
    assert ours["learning_rate"].dtype == jnp.float32 and float(ours["learning_rate"]) == np.float32(3e-4)


def test_one_cycle_with_momentum_cycling_matches_torch():
    total, peak = 30, 0.01
    tx = lo.inject(optax.adam, learning_rate=lrsched.one_cycle(total, peak),
                   b1=lrsched.one_cycle_momentum(total))
    state = tx.init(jnp.zeros(2))
    update = jax.jit(lambda s: tx.update(jnp.ones(2), s, jnp.zeros(2))[1])
    opt = torch.optim.Adam([torch.zeros(2, requires_grad=True)], lr=peak)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=peak, total_steps=total)
    for _ in range(total):
        now = lo.current(state)
        assert float(now["learning_rate"]) == pytest.approx(opt.param_groups[0]["lr"], rel=1e-5)
        assert float(now["b1"]) == pytest.approx(opt.param_groups[0]["betas"][0], rel=1e-6)
        state = update(state)
        opt.step()
        sched.step()


def test_inject_numbers_are_state_leaves_and_static_args_pass_through():
    tx = lo.inject(optax.sgd, learning_rate=0.1, momentum=0.9, nesterov=True)
    state = tx.init(jnp.zeros(2))
    assert set(state.hyperparams) == {"learning_rate", "momentum"}
    bigger = state._replace(hyperparams={**state.hyperparams, "learning_rate": jnp.float32(0.2)})
    update = jax.jit(lambda s: tx.update(jnp.ones(2), s, jnp.zeros(2))[0])
    np.testing.assert_allclose(np.asarray(update(bigger)), 2 * np.asarray(update(state)), rtol=1e-6)
    with pytest.raises(ValueError, match="static_args"):
        lo.inject(optax.sgd, static_args=("foo",), learning_rate=0.1)


def test_current_finds_states_in_a_chain_and_names_them():
    s = lrsched.linear(1.0, 0.0, 10)
    tx = optax.chain(lo.inject(optax.sgd, learning_rate=s), lo.scale_by_schedule(s), lo.scale_by_schedule(2 * s))
    state = tx.init(jnp.zeros(2))
    for _ in range(3):
        _, state = tx.update(jnp.ones(2), state, jnp.zeros(2))
    now = lo.current(state)
    assert set(now) == {"learning_rate", "schedule", "schedule_1"}
    assert float(now["schedule_1"]) == pytest.approx(2 * 0.7)
    with pytest.raises(ValueError, match="no lrsched.optax state"):
        lo.current(optax.adam(0.1).init(jnp.zeros(2)))


def test_current_of_a_vmapped_sweep_has_one_value_per_run():
    singles = [lrsched.multistep(0.1 * (i + 1), [2 + i, 5 + i], 0.5) for i in range(3)]
    batched = jax.tree.map(lambda *xs: jnp.stack([jnp.asarray(x) for x in xs]), *singles)
    tx = lo.inject(optax.sgd, learning_rate=singles[0], momentum=0.9)
    states = jax.vmap(lambda s: lo.inject(optax.sgd, learning_rate=s, momentum=0.9).init(jnp.zeros(2)))(batched)
    update = jax.jit(jax.vmap(lambda s: tx.update(jnp.ones(2), s, jnp.zeros(2))[1]))
    for _ in range(4):
        states = update(states)
    now = lo.current(states)
    assert now["learning_rate"].shape == (3,) and now["momentum"].shape == (3,)
    np.testing.assert_allclose(np.asarray(now["learning_rate"]), [float(s(4)) for s in singles], rtol=1e-6)


def test_vmapped_plateau_states_take_one_metric_per_run():
    singles = [plateau(lrsched.constant(0.1), factor=f, patience=p) for f, p in [(0.5, 0), (0.1, 1), (0.3, 2)]]
    batched = jax.tree.map(lambda *xs: jnp.stack([jnp.asarray(x) for x in xs]), *singles)
    tx = lo.scale_by_schedule(singles[0])
    states = jax.vmap(lambda s: lo.scale_by_schedule(s).init(jnp.zeros(())))(batched)
    update = jax.jit(jax.vmap(lambda s, loss: tx.update(jnp.ones(()), s, value=loss)))
    losses = np.array([[3.0, 2.0, 2.0, 2.0, 2.0, 2.0], [1.0, 1.0, 1.0, 1.0, 0.5, 0.5], [5.0, 6.0, 7.0, 8.0, 9.0, 9.0]])
    got = []
    for i in range(losses.shape[1]):
        u, states = update(states, jnp.asarray(losses[:, i], jnp.float32))
        got.append(np.asarray(u))
    for j, p in enumerate(singles):
        opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)
        sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=float(p.factor), patience=int(p.patience))
        expected = []
        for loss in losses[j]:
            expected.append(opt.param_groups[0]["lr"])
            sched.step(float(loss))
        np.testing.assert_allclose(np.asarray(got)[:, j], expected, rtol=1e-6)
