"""Resuming with a schedule the code changed since the checkpoint.

The rule (documented in docs/optax-and-plateau.md): by default the checkpoint's schedule numbers replace the
code's (``schedules="checkpoint"``): a run resumed from step k continues exactly the saved run, whatever the
code now says; a checkpoint of another schedule *structure* is refused. ``schedules="code"`` keeps the
position -- the step count, the plateau state (best, bad epochs, reductions so far), the moments -- and takes
the code's schedules and numeric hyperparameters, whatever their structure.

Every source format is covered: msgpack bytes, a flax state dict, orbax restored with a target, and orbax
restored without one (nested dicts and lists).
"""

from __future__ import annotations

import flax.serialization
import jax
import jax.numpy as jnp
import numpy as np
import optax
import orbax.checkpoint as ocp
import pytest

import lrsched
import lrsched.optax as lo
from lrsched import checkpoint

N_SAVED, N_CODE, STOP = 30, 300, 10


def make_tx(steps, decay="cosine", b1_end=0.85):
    sched = lrsched.warmup(lrsched.cosine(0.02, steps) if decay == "cosine" else lrsched.linear(0.02, 0.0, steps), 3)
    return optax.chain(
        lo.inject(optax.adam, learning_rate=sched, b1=lrsched.linear(0.9, b1_end, steps), eps=1e-8),
        lo.scale_by_schedule(lrsched.plateau(lrsched.constant(1.0), factor=0.5, patience=0, threshold=0.05,
                                             start=2)),
    ), sched


PARAMS = {"w": jnp.asarray([0.5, -1.0, 2.0])}


def _train(tx, state, params, start, stop):
    update = jax.jit(lambda g, s, p, v: tx.update(g, s, p, value=v))
    for k in range(start, stop):
        loss = jnp.sum(params["w"] ** 2) * (1.0 + 0.3 * np.sin(k))  # a noisy metric: the plateau reduces
        grads = {"w": 2.0 * params["w"] + 0.1 * k}
        updates, state = update(grads, state, params, loss)
        params = optax.apply_updates(params, updates)
    return params, state


@pytest.fixture(scope="module")
def saved():
    tx, _ = make_tx(N_SAVED)
    params, state = _train(tx, tx.init(PARAMS), PARAMS, 0, STOP)
    assert float(lo.current(state)["schedule"]) < 1.0  # the plateau reduced before the stop
    return params, state


def _sources(state, tmp_path, target):
    """The saved state in every form a restore may get it."""
    yield "bytes", flax.serialization.to_bytes(state)
    yield "state dict", flax.serialization.to_state_dict(state)
    path = tmp_path / "orbax"
    with ocp.StandardCheckpointer() as ckpt:
        ckpt.save(path, state)
    with ocp.StandardCheckpointer() as ckpt:
        yield "orbax raw", ckpt.restore(path)
    if jax.tree.structure(target) == jax.tree.structure(state):
        with ocp.StandardCheckpointer() as ckpt:
            yield "orbax with target", ckpt.restore(path, jax.tree.map(ocp.utils.to_shape_dtype_struct, target))


def _position(state):
    """What "the position" is: counts, plateau states and Adam's moments."""
    inject, scale = state
    return {"count": inject.count, "count2": scale.count, "plateau": scale.plateau,
            "moments": inject.inner_state}


def _assert_tree_equal(a, b):
    assert jax.tree.structure(a) == jax.tree.structure(b)
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def test_default_rule_the_checkpoints_numbers_replace_the_codes(saved, tmp_path):
    _, state = saved
    tx_code, _ = make_tx(N_CODE)  # the code now says 300 steps; the checkpoint 30
    target = tx_code.init(PARAMS)
    _, sched_saved = make_tx(N_SAVED)
    for how, source in _sources(state, tmp_path, target):
        restored = checkpoint.restore(target, source)
        _assert_tree_equal(_position(restored), _position(state))
        assert int(restored[0].hyperparams["learning_rate"].schedule.steps) == N_SAVED, how
        assert float(lo.current(restored)["learning_rate"]) == pytest.approx(float(sched_saved(STOP)))


def test_schedules_code_keeps_the_position_and_takes_the_codes_schedules(saved, tmp_path):
    params, state = saved
    tx_code, sched_code = make_tx(N_CODE, b1_end=0.8)
    target = tx_code.init(PARAMS)
    for how, source in _sources(state, tmp_path, target):
        restored = checkpoint.restore(target, source, schedules="code")
        _assert_tree_equal(_position(restored), _position(state))  # step, plateau, moments: the checkpoint's
        _assert_tree_equal(restored[0].hyperparams, target[0].hyperparams)  # schedules and numbers: the code's
        _assert_tree_equal(restored[1].schedule, target[1].schedule)
        now = lo.current(restored)
        assert float(now["learning_rate"]) == float(sched_code(STOP)), how  # the new schedule at the saved step
        assert float(now["b1"]) == float(lrsched.linear(0.9, 0.8, N_CODE)(STOP))
        assert float(now["schedule"]) == float(lo.current(state)["schedule"])  # the reductions so far are kept
    # and training goes on from there with the new schedule
    restored = checkpoint.restore(target, flax.serialization.to_bytes(state), schedules="code")
    _, after = _train(tx_code, restored, params, STOP, STOP + 3)
    assert int(after[0].count) == STOP + 3


def test_schedules_code_accepts_another_structure_the_default_refuses(saved, tmp_path):
    _, state = saved
    tx_code, sched_code = make_tx(N_CODE, decay="linear")  # cosine -> linear decay: another structure
    target = tx_code.init(PARAMS)
    data = flax.serialization.to_bytes(state)
    with pytest.raises(ValueError, match="schedule structure"):
        checkpoint.restore(target, data)
    for how, source in _sources(state, tmp_path, target):
        restored = checkpoint.restore(target, source, schedules="code")
        _assert_tree_equal(_position(restored), _position(state))
        assert float(lo.current(restored)["learning_rate"]) == float(sched_code(STOP)), how
        np.testing.assert_array_equal(np.asarray(restored[0].structure), np.asarray(target[0].structure))


def test_schedules_code_still_refuses_another_optimizer(saved):
    _, state = saved
    other = optax.chain(lo.inject(optax.sgd, learning_rate=lrsched.constant(0.1), momentum=0.9),
                        lo.scale_by_schedule(lrsched.constant(1.0)))  # no plateau, other moments
    with pytest.raises(ValueError, match="restore"):
        checkpoint.restore(other.init(PARAMS), flax.serialization.to_bytes(state), schedules="code")


def test_bad_option_is_refused():
    tx, _ = make_tx(N_SAVED)
    state = tx.init(PARAMS)
    with pytest.raises(ValueError, match=r"schedules='newest'\): must be 'checkpoint' .* or 'code'"):
        checkpoint.restore(state, flax.serialization.to_bytes(state), schedules="newest")
