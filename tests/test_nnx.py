"""Flax NNX: ``nnx.Optimizer`` with lrsched schedules, ``lrsched.optax.inject``, a plateau fed through
``optimizer.update(model, grads, value=metric)``, and an orbax checkpoint of the NNX state that resumes exactly.

Every run is a real NNX training loop under ``nnx.jit``:

- a Schedule passed to an optax factory is applied at every step with ``lrsched.evaluate``'s value
  (read off the updates ``nnx.Optimizer.update`` returns: ``-lr * grad`` for SGD), float32 and x64;
- ``inject``'s state lives in NNX's ``OptArray`` variables; ``lrsched.optax.current(optimizer.opt_state)``
  reads it; the parameters equal the functional optax loop's (to float32 rounding); bf16 parameters keep a
  float32 learning rate;
- the plateau's rates equal torch's ``ReduceLROnPlateau`` fed the same metrics;
- save ``nnx.state`` with orbax at step K, restore into freshly built objects, continue: bit-identical to
  the uninterrupted run.
"""

from __future__ import annotations

import flax.serialization
import jax
import jax.numpy as jnp
import numpy as np
import optax
import orbax.checkpoint as ocp
import pytest
import torch
from flax import nnx

import lrsched
import lrsched.optax as lo
from lrsched import checkpoint

RNG = np.random.default_rng(0)
X = RNG.normal(size=(24, 16, 4)).astype(np.float32)  # 24 batches of 16
Y = (X @ np.array([1.0, -2.0, 0.5, 3.0], np.float32))[..., None] + 0.1 * RNG.normal(size=(24, 16, 1)).astype(
    np.float32)


class MLP(nnx.Module):
    def __init__(self, rngs: nnx.Rngs, dtype=jnp.float32):
        self.l1 = nnx.Linear(4, 8, rngs=rngs, param_dtype=dtype, dtype=dtype)
        self.l2 = nnx.Linear(8, 1, rngs=rngs, param_dtype=dtype, dtype=dtype)

    def __call__(self, x):
        return self.l2(jnp.tanh(self.l1(x)))


def loss_fn(model, x, y):
    return jnp.mean((model(x) - y.astype(model(x).dtype)) ** 2)


@nnx.jit
def train_step(model, optimizer, x, y):
    loss, grads = nnx.value_and_grad(loss_fn)(model, x, y)
    updates = optimizer.update(model, grads)
    return loss, grads, updates


@nnx.jit
def train_step_metric(model, optimizer, x, y, metric):
    loss, grads = nnx.value_and_grad(loss_fn)(model, x, y)
    optimizer.update(model, grads, value=metric)
    return loss


@jax.jit
def _current(opt_state):
    return lo.current(opt_state)


def current(opt_state):
    """lrsched.optax.current, jitted as the update is (an eager evaluation may round differently by an ulp)."""
    return _current(nnx.as_pure(opt_state))


def _assert_same_run(rest, resumed, first, second) -> None:
    """A resumed run equals the uninterrupted one: the logged values step by step, the model's and the
    optimizer's states leaf by leaf (`first`, `second`: (model, optimizer) of each)."""
    for a, b in zip(rest, resumed):
        assert a.keys() == b.keys() == {"learning_rate", "b1", "schedule"}
        for name in a:
            np.testing.assert_array_equal(a[name], b[name])
    for one, two in zip(first, second):
        for a, b in zip(_leaves(nnx.state(one)), _leaves(nnx.state(two))):
            np.testing.assert_array_equal(a, b)


def _leaves(tree):
    return [np.asarray(x) for x in jax.tree.leaves(nnx.as_pure(tree))]


def _functional(tx, steps, seed=0):
    """The same training with plain optax on the parameter pytree (no NNX optimizer): the reference."""
    graphdef, params = nnx.split(MLP(nnx.Rngs(seed)))
    state = tx.init(params)

    @jax.jit
    def step(params, state, x, y):
        loss, grads = jax.value_and_grad(lambda p: loss_fn(nnx.merge(graphdef, p), x, y))(params)
        updates, state = tx.update(grads, state, params)
        return optax.apply_updates(params, updates), state

    for k in range(steps):
        params, state = step(params, state, X[k], Y[k])
    return params


# ------------------------------------------------------------------ a schedule in an optax factory


@pytest.mark.parametrize("x64", [False, True])
def test_schedule_in_an_optax_factory_is_applied_at_every_step(x64):
    s = lrsched.warmup(lrsched.cosine(0.0123456789, 15), 5)  # not float32-representable; holds after 20
    with jax.enable_x64(x64):
        model = MLP(nnx.Rngs(0), dtype=jnp.float64 if x64 else jnp.float32)
        optimizer = nnx.Optimizer(model, optax.sgd(s), wrt=nnx.Param)
        expected = lrsched.evaluate(s, 24)
        for k in range(24):
            _, grads, updates = train_step(model, optimizer, X[k], Y[k])
            g, u = _leaves(grads), _leaves(updates)
            for gi, ui in zip(g, u):
                assert ui.dtype == (np.float64 if x64 else np.float32)
                big = np.abs(gi) > 1e-3
                applied = -ui[big] / gi[big]
                eps = np.finfo(ui.dtype).eps
                np.testing.assert_allclose(applied, expected[k], rtol=4 * eps, atol=0, err_msg=f"step {k}")
        assert int(optimizer.step[...]) == 24


# ------------------------------------------------------------------ inject


def test_inject_in_nnx_matches_functional_optax_and_reports_its_values():
    lr = lrsched.warmup(lrsched.cosine(0.02, 20), 4)
    b1 = lrsched.linear(0.95, 0.85, 20)
    tx = lo.inject(optax.adamw, learning_rate=lr, b1=b1, weight_decay=1e-3)
    model = MLP(nnx.Rngs(0))
    optimizer = nnx.Optimizer(model, tx, wrt=nnx.Param)
    assert isinstance(optimizer.opt_state, lo.InjectState)  # NNX keeps the optax state's type, leaves in OptArrays
    read = []
    for k in range(20):
        read.append({k_: np.asarray(v) for k_, v in current(optimizer.opt_state).items()})
        train_step(model, optimizer, X[k], Y[k])
    for k, values in enumerate(read):
        assert set(values) == {"learning_rate", "b1", "weight_decay"}
        assert values["learning_rate"] == lrsched.evaluate(lr, [k])[0]
        assert values["b1"] == lrsched.evaluate(b1, [k])[0]
        assert values["weight_decay"] == np.float32(1e-3)
    ref = _functional(tx, 20)  # another compiled program: equal up to float32 rounding (about 1e-7 relative)
    for a, b in zip(_leaves(nnx.state(model, nnx.Param)), jax.tree.leaves(ref)):
        np.testing.assert_allclose(a, np.asarray(b), rtol=1e-5, atol=1e-7)


def test_inject_keeps_a_float32_learning_rate_for_bf16_parameters():
    lr = lrsched.linear(0.0123456789, 0.001, 10)
    model = MLP(nnx.Rngs(0), dtype=jnp.bfloat16)
    optimizer = nnx.Optimizer(model, lo.inject(optax.adam, learning_rate=lr), wrt=nnx.Param)
    for k in range(3):
        train_step(model, optimizer, X[k], Y[k])
    value = current(optimizer.opt_state)["learning_rate"]
    assert value.dtype == jnp.float32 and value == lrsched.evaluate(lr, [3])[0]
    assert all(x.dtype == jnp.bfloat16 for x in jax.tree.leaves(nnx.as_pure(nnx.state(model, nnx.Param))))
    mu = optimizer.opt_state.inner_state[0].mu
    assert all(x.dtype == jnp.bfloat16 for x in jax.tree.leaves(nnx.as_pure(mu)))  # moments keep their dtype


# ------------------------------------------------------------------ plateau


def test_plateau_through_update_value_equals_torch():
    # a validation metric with improvements, plateaus, a tie and a rise; patience 1, cooldown 1
    metrics = [1.0, 0.9, 0.9, 0.91, 0.8, 0.8, 0.8, 0.8, 0.5, 0.6, 0.6, 0.6, 0.6, 0.49, 0.49, 0.49, 0.49, 0.49]
    base = 0.05
    p = lrsched.plateau(lrsched.constant(base), factor=0.5, patience=1, threshold=0.01, cooldown=1)
    model = MLP(nnx.Rngs(0))
    optimizer = nnx.Optimizer(model, lo.inject(optax.sgd, learning_rate=p, momentum=0.9), wrt=nnx.Param)
    used = []
    for k, m in enumerate(metrics):
        used.append(float(current(optimizer.opt_state)["learning_rate"]))
        train_step_metric(model, optimizer, X[k], Y[k], jnp.float32(m))
    used.append(float(current(optimizer.opt_state)["learning_rate"]))

    opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=base)
    sched = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=1, threshold=0.01, cooldown=1)
    torch_lrs = [base]
    for m in metrics:
        opt.step()
        sched.step(m)
        torch_lrs.append(opt.param_groups[0]["lr"])
    np.testing.assert_allclose(used, torch_lrs, rtol=1e-6)
    assert len(set(torch_lrs)) >= 3  # it really reduced, more than once


def test_plateau_without_a_metric_says_how_to_pass_it():
    p = lrsched.plateau(lrsched.constant(0.05))
    model = MLP(nnx.Rngs(0))
    optimizer = nnx.Optimizer(model, lo.inject(optax.sgd, learning_rate=p), wrt=nnx.Param)
    with pytest.raises(ValueError, match=r"pass it as an extra argument.*value=loss"):
        train_step(model, optimizer, X[0], Y[0])


# ------------------------------------------------------------------ orbax checkpoint and exact resume


def _tx():
    return optax.chain(
        lo.inject(optax.adam, learning_rate=lrsched.warmup(lrsched.cosine(0.03, 24), 4),
                  b1=lrsched.linear(0.9, 0.85, 24)),
        # a plateau on the training loss, patience 0: reductions both before and after the stop
        lo.scale_by_schedule(lrsched.plateau(lrsched.constant(1.0), factor=0.7, patience=0, threshold=0.05,
                                             start=4)),
    )


def _run(model, optimizer, start, stop):
    rates = []
    for k in range(start, stop):
        rates.append({n: np.asarray(v) for n, v in current(optimizer.opt_state).items()})
        train_step_loss(model, optimizer, X[k], Y[k])
    return rates


@nnx.jit
def train_step_loss(model, optimizer, x, y):
    loss, grads = nnx.value_and_grad(loss_fn)(model, x, y)
    optimizer.update(model, grads, value=loss)


@pytest.mark.parametrize("how", ["standard", "pytree"])
def test_orbax_checkpoint_of_the_nnx_state_resumes_exactly(tmp_path, how):
    n, stop = 24, 11
    model = MLP(nnx.Rngs(0))
    optimizer = nnx.Optimizer(model, _tx(), wrt=nnx.Param)
    first = _run(model, optimizer, 0, stop)
    path = tmp_path / how
    checkpointer = ocp.StandardCheckpointer() if how == "standard" else ocp.PyTreeCheckpointer()
    with checkpointer:
        checkpointer.save(path, {"model": nnx.state(model), "optimizer": nnx.state(optimizer)})
    rest = _run(model, optimizer, stop, n)  # the uninterrupted run

    model2 = MLP(nnx.Rngs(1))  # other initial parameters: everything must come from the checkpoint
    optimizer2 = nnx.Optimizer(model2, _tx(), wrt=nnx.Param)
    target = {"model": nnx.state(model2), "optimizer": nnx.state(optimizer2)}
    checkpointer = ocp.StandardCheckpointer() if how == "standard" else ocp.PyTreeCheckpointer()
    with checkpointer:
        if how == "standard":
            restored = checkpointer.restore(path, target)
        else:
            restored = checkpointer.restore(path, item=target)
    nnx.update(model2, restored["model"])
    nnx.update(optimizer2, restored["optimizer"])
    assert int(optimizer2.step[...]) == stop and int(optimizer2.opt_state[0].count) == stop
    resumed = _run(model2, optimizer2, stop, n)

    _assert_same_run(rest, resumed, (model, optimizer), (model2, optimizer2))
    factors = [float(r["schedule"]) for r in first + rest]
    assert min(factors[:stop]) < 1.0 and min(factors[stop:]) < min(factors[:stop])  # reduced on both sides


# ------------------------------------------------------------------ lrsched.checkpoint with NNX


def _tx_steps(steps, decay="cosine"):
    inner = lrsched.cosine(0.03, steps) if decay == "cosine" else lrsched.linear(0.03, 0.0, steps)
    return optax.chain(lo.inject(optax.adam, learning_rate=lrsched.warmup(inner, 4)),
                       lo.scale_by_schedule(lrsched.plateau(lrsched.constant(1.0), factor=0.7, patience=0,
                                                            threshold=0.05, start=4)))


@pytest.fixture(scope="module")
def saved_nnx(tmp_path_factory):
    model = MLP(nnx.Rngs(0))
    optimizer = nnx.Optimizer(model, _tx_steps(24), wrt=nnx.Param)
    _run(model, optimizer, 0, 11)
    path = tmp_path_factory.mktemp("nnx") / "ckpt"
    with ocp.StandardCheckpointer() as ckpt:
        ckpt.save(path, nnx.state(optimizer))
    return path, optimizer


def _load(path, target=None):
    with ocp.StandardCheckpointer() as ckpt:
        return ckpt.restore(path) if target is None else ckpt.restore(path, target)


def test_checkpoint_restore_into_an_nnx_optimizer_checks_the_structure(saved_nnx):
    path, saved = saved_nnx
    optimizer = nnx.Optimizer(MLP(nnx.Rngs(1)), _tx_steps(24), wrt=nnx.Param)
    assert checkpoint.restore(optimizer, _load(path, nnx.state(optimizer))) is optimizer  # in place
    for a, b in zip(_leaves(nnx.state(optimizer)), _leaves(nnx.state(saved))):
        np.testing.assert_array_equal(a, b)
    other = nnx.Optimizer(MLP(nnx.Rngs(1)), _tx_steps(24, decay="linear"), wrt=nnx.Param)
    with pytest.raises(ValueError, match="different schedule structure"):
        checkpoint.restore(other, _load(path))  # orbax without a target: the checkpoint's own structure


def test_nnx_update_around_restore_is_caught_by_check(saved_nnx):
    path, _ = saved_nnx
    other = nnx.Optimizer(MLP(nnx.Rngs(1)), _tx_steps(24, decay="linear"), wrt=nnx.Param)
    nnx.update(other, _load(path, nnx.state(other)))  # orbax and NNX mix another structure in silently
    with pytest.raises(ValueError, match="holds schedules of another structure"):
        checkpoint.check(other.opt_state)
    same = nnx.Optimizer(MLP(nnx.Rngs(1)), _tx_steps(24), wrt=nnx.Param)
    nnx.update(same, _load(path, nnx.state(same)))
    assert checkpoint.check(same.opt_state) is same.opt_state


@pytest.mark.parametrize("decay", ["cosine", "linear"])
def test_nnx_resume_with_the_codes_schedule(saved_nnx, decay):
    path, saved = saved_nnx
    optimizer = nnx.Optimizer(MLP(nnx.Rngs(1)), _tx_steps(240, decay), wrt=nnx.Param)
    checkpoint.restore(optimizer, _load(path), schedules="code")
    assert int(optimizer.step[...]) == 11 and int(optimizer.opt_state[0].count) == 11
    now, before = current(optimizer.opt_state), current(saved.opt_state)
    code = lrsched.warmup(lrsched.cosine(0.03, 240) if decay == "cosine" else lrsched.linear(0.03, 0.0, 240), 4)
    assert now["learning_rate"] == lrsched.evaluate(code, [11])[0]  # the new schedule at the saved step
    assert now["schedule"] == before["schedule"] < 1.0  # the plateau's reductions kept
    for a, b in zip(_leaves(optimizer.opt_state[0].inner_state), _leaves(saved.opt_state[0].inner_state)):
        np.testing.assert_array_equal(a, b)  # Adam's moments kept


# ------------------------------------------------------------------ current(optimizer.opt_state), as documented


@nnx.jit
def train_step_reading(model, optimizer, x, y):
    """Read the values inside the compiled step, straight from ``optimizer.opt_state`` (OptArray leaves)."""
    now = lo.current(optimizer.opt_state)
    loss, grads = nnx.value_and_grad(loss_fn)(model, x, y)
    optimizer.update(model, grads)
    return now


@pytest.mark.parametrize("x64", [False, True])
@pytest.mark.parametrize("kind", ["inject", "scale_by_schedule"])
def test_current_reads_the_nnx_opt_state_as_it_is_eagerly_and_inside_nnx_jit(kind, x64):
    with jax.enable_x64(x64):
        _current_reads_the_nnx_opt_state(kind, jnp.float64 if x64 else jnp.float32)


def _current_reads_the_nnx_opt_state(kind, dtype):
    lr = lrsched.warmup(lrsched.cosine(0.0123456789, 12), 3)
    b1 = lrsched.linear(0.95, 0.85, 15)
    if kind == "inject":
        tx = lo.inject(optax.adamw, learning_rate=lr, b1=b1, weight_decay=1e-3)
        expected = {"learning_rate": lr, "b1": b1}
    else:
        tx = optax.chain(optax.scale_by_adam(), lo.scale_by_schedule(lr), optax.scale(-1.0))
        expected = {"schedule": lr}
    model = MLP(nnx.Rngs(0), dtype=dtype)
    optimizer = nnx.Optimizer(model, tx, wrt=nnx.Param)
    assert any(isinstance(x, nnx.Variable) for x in jax.tree.leaves(optimizer.opt_state,
                                                                    is_leaf=lambda v: isinstance(v, nnx.Variable)))
    for k in range(18):  # past the end of the schedules too
        eager = lo.current(optimizer.opt_state)  # the documented call: no nnx.as_pure
        inside = train_step_reading(model, optimizer, X[k], Y[k])
        for name, s in expected.items():
            want = lrsched.evaluate(s, [k])[0]
            assert eager[name].dtype == inside[name].dtype == want.dtype == dtype, (k, name)
            assert eager[name] == want and inside[name] == want, (k, name)
        if kind == "inject":
            assert eager["weight_decay"] == inside["weight_decay"] == np.asarray(1e-3, dtype)
        assert eager.keys() == inside.keys()
    assert int(optimizer.step[...]) == 18


def test_current_on_an_optax_factory_holding_a_schedule_says_where_the_schedule_is():
    """optax.adamw(schedule) keeps the schedule in the transformation, not in the state: current() says so
    (eagerly and inside nnx.jit) instead of failing on NNX's OptArray leaves; training itself works."""
    lr = lrsched.warmup(lrsched.cosine(0.01, 10), 2)
    model = MLP(nnx.Rngs(0))
    optimizer = nnx.Optimizer(model, optax.adamw(lr, weight_decay=1e-3), wrt=nnx.Param)
    train_step(model, optimizer, X[0], Y[0])
    with pytest.raises(ValueError, match=r"no lrsched\.optax state.*optax\.adamw\(schedule\).*schedule\(count\)"):
        lo.current(optimizer.opt_state)
    with pytest.raises(ValueError, match=r"no lrsched\.optax state.*inject\(optax\.adamw"):
        train_step_reading(model, optimizer, X[1], Y[1])


# ------------------------------------------------------------------ msgpack bytes of nnx.state(optimizer)


def _bytes(node):
    """flax.serialization bytes of an NNX object's state (flax cannot serialize an NNX State itself)."""
    return flax.serialization.to_bytes(nnx.to_pure_dict(nnx.state(node)))


def _load_model(model, data):
    state = nnx.state(model)
    nnx.replace_by_pure_dict(state, flax.serialization.from_bytes(nnx.to_pure_dict(state), data))
    nnx.update(model, state)


def test_checkpoint_restore_takes_msgpack_bytes_of_the_nnx_state_and_resumes_exactly():
    n, stop = 24, 11
    model = MLP(nnx.Rngs(0))
    optimizer = nnx.Optimizer(model, _tx(), wrt=nnx.Param)
    _run(model, optimizer, 0, stop)
    model_bytes, data = _bytes(model), _bytes(optimizer)
    saved = _leaves(nnx.state(optimizer))
    rest = _run(model, optimizer, stop, n)  # the uninterrupted run

    model2 = MLP(nnx.Rngs(1))  # other initial parameters: everything must come from the bytes
    optimizer2 = nnx.Optimizer(model2, _tx(), wrt=nnx.Param)
    _load_model(model2, model_bytes)
    assert checkpoint.restore(optimizer2, data) is optimizer2  # in place, like the orbax forms
    assert int(optimizer2.step[...]) == stop and int(optimizer2.opt_state[0].count) == stop
    resumed = _run(model2, optimizer2, stop, n)
    _assert_same_run(rest, resumed, (model, optimizer), (model2, optimizer2))
    # bytearray and memoryview as bytes, and the same as msgpack_restore first, as for a plain optax state
    for form in (bytearray(data), memoryview(data), flax.serialization.msgpack_restore(data)):
        again = nnx.Optimizer(MLP(nnx.Rngs(2)), _tx(), wrt=nnx.Param)
        checkpoint.restore(again, form)
        for a, b in zip(_leaves(nnx.state(again)), saved):
            np.testing.assert_array_equal(a, b)


def test_msgpack_bytes_into_an_nnx_optimizer_check_the_structure_and_take_schedules_code():
    model = MLP(nnx.Rngs(0))
    optimizer = nnx.Optimizer(model, _tx_steps(24), wrt=nnx.Param)
    _run(model, optimizer, 0, 11)
    data = _bytes(optimizer)
    other = nnx.Optimizer(MLP(nnx.Rngs(1)), _tx_steps(24, decay="linear"), wrt=nnx.Param)
    with pytest.raises(ValueError, match="different schedule structure"):
        checkpoint.restore(other, data)
    checkpoint.restore(other, data, schedules="code")  # the saved position, the code's schedules
    assert int(other.step[...]) == 11 and int(other.opt_state[0].count) == 11
    now, before = lo.current(other.opt_state), lo.current(optimizer.opt_state)
    assert now["learning_rate"] == lrsched.evaluate(lrsched.warmup(lrsched.linear(0.03, 0.0, 24), 4), [11])[0]
    assert now["schedule"] == before["schedule"] < 1.0  # the plateau's reductions kept
    for a, b in zip(_leaves(other.opt_state[0].inner_state), _leaves(optimizer.opt_state[0].inner_state)):
        np.testing.assert_array_equal(a, b)  # Adam's moments kept
    with pytest.raises(ValueError, match=r"got a dict with keys \['l1', 'l2'\].*Save nnx.state\(optimizer\)"):
        checkpoint.restore(other, _bytes(model))  # the model's bytes, not the optimizer's


def test_current_of_a_plain_state_keeps_its_order_with_flax_imported():
    """With flax.nnx imported, a plain optax state (no NNX variables) is read as it is: ``current`` gives the
    hyperparameters in the order inject was given them (a rebuilt tree's dicts come back sorted)."""
    tx = lrsched.optax.inject(optax.adam, learning_rate=lrsched.one_cycle(1000, 1e-2),
                              b1=lrsched.one_cycle_momentum(1000))
    assert list(lrsched.optax.current(tx.init({"w": jnp.zeros(3)}))) == ["learning_rate", "b1"]
