"""Checkpoint and resume: flax.serialization and orbax-checkpoint give bit-identical continuations."""

import flax.serialization
import jax
import jax.numpy as jnp
import numpy as np
import optax
import orbax.checkpoint as ocp
import pytest

import lrsched
import lrsched.optax as lo
from lrsched._plateau import plateau
from lrsched.demo import digits

N, K = 24, 11  # total steps, and the step at which the run is stopped


def make_tx(kind="linear"):
    return optax.chain(
        lo.inject(optax.adam, learning_rate=lrsched.warmup(lrsched.cosine(0.02, N), 4, kind=kind),
                  b1=lrsched.linear(0.9, 0.85, N)),
        # patience 0 and a 5% threshold: reductions happen both before and after the stop
        lo.scale_by_schedule(plateau(lrsched.constant(1.0), factor=0.7, patience=0, threshold=0.05, start=4)),
    )


TX = make_tx()
_current = jax.jit(lo.current)


@pytest.fixture(scope="module")
def data():
    d = digits.load()
    x, y = digits.batches(d.x_train, d.y_train, N, batch_size=32)
    return jnp.asarray(x), jnp.asarray(y)


def _step_fn(tx):
    def step(params, state, batch):
        loss, grads = jax.value_and_grad(digits.loss_fn)(params, batch)
        updates, state = tx.update(grads, state, params, value=loss)
        return optax.apply_updates(params, updates), state

    return step


def _fresh(tx):
    params = digits.init_mlp(jax.random.PRNGKey(0), (64, 32, 10))
    return {"params": params, "opt": tx.init(params)}


def _run(step, ckpt, data, start, stop, current=_current):
    x, y = data
    lrs = []
    params, state = ckpt["params"], ckpt["opt"]
    for i in range(start, stop):
        lrs.append({k: np.asarray(v) for k, v in current(state).items()})
        params, state = step(params, state, (x[i], y[i]))
    return {"params": params, "opt": state}, lrs


def _assert_equal(a, b):
    assert jax.tree.structure(a) == jax.tree.structure(b)
    for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
        np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def _save_flax(ckpt, tmp_path):
    return flax.serialization.to_bytes(ckpt)


def _load_flax(target, saved):
    return lo.restore(target, saved)


def _save_orbax_standard(ckpt, tmp_path):
    path = tmp_path / "standard"
    with ocp.StandardCheckpointer() as checkpointer:
        checkpointer.save(path, ckpt)
    return path


def _load_orbax_standard(target, path):
    with ocp.StandardCheckpointer() as checkpointer:
        restored = checkpointer.restore(path, jax.tree.map(ocp.utils.to_shape_dtype_struct, target))
    return lo.restore(target, restored)


def _save_orbax_raw(ckpt, tmp_path):
    path = tmp_path / "pytree"
    ocp.PyTreeCheckpointer().save(path, ckpt)
    return path


def _load_orbax_raw(target, path):
    return lo.restore(target, ocp.PyTreeCheckpointer().restore(path))  # plain dicts and lists, no target


FORMATS = {
    "flax-msgpack": (_save_flax, _load_flax),
    "orbax-standard": (_save_orbax_standard, _load_orbax_standard),
    "orbax-pytree-raw": (_save_orbax_raw, _load_orbax_raw),
}


_STEP = jax.jit(_step_fn(TX))


@pytest.fixture(scope="module")
def uninterrupted(data):
    return _run(_STEP, _fresh(TX), data, 0, N)


@pytest.mark.parametrize("fmt", FORMATS)
def test_resume_is_bit_identical_under_jit(fmt, data, uninterrupted, tmp_path):
    save, load = FORMATS[fmt]
    tx, step = TX, _STEP
    full, lrs_full = uninterrupted

    half, lrs_a = _run(step, _fresh(tx), data, 0, K)
    saved = save(half, tmp_path)
    reductions_at_stop = int(half["opt"][1].plateau.num_reductions)
    resumed = load(_fresh(tx), saved)  # a freshly built target, as after a restart
    assert int(resumed["opt"][0].count) == K and int(resumed["opt"][1].count) == K
    resumed, lrs_b = _run(step, resumed, data, K, N)

    _assert_equal(resumed, full)
    for a, b in zip(lrs_a + lrs_b, lrs_full):
        _assert_equal(a, b)
    assert 0 < reductions_at_stop < int(full["opt"][1].plateau.num_reductions)  # the plateau state mattered


def test_resume_is_bit_identical_eagerly(data):
    tx = make_tx()
    step = _step_fn(tx)
    n, k = 4, 2
    full, lrs_full = _run(step, _fresh(tx), data, 0, n, lo.current)
    half, lrs_a = _run(step, _fresh(tx), data, 0, k, lo.current)
    resumed = lo.restore(_fresh(tx), flax.serialization.to_bytes(half))
    resumed, lrs_b = _run(step, resumed, data, k, n, lo.current)
    _assert_equal(resumed, full)
    for a, b in zip(lrs_a + lrs_b, lrs_full):
        _assert_equal(a, b)


# ------------------------------------------------------ a different structure


@pytest.mark.parametrize("fmt", FORMATS)
def test_restoring_into_another_schedule_structure_fails_clearly(fmt, tmp_path):
    saved = FORMATS[fmt][0](_fresh(make_tx()), tmp_path)
    other = _fresh(make_tx(kind="cosine"))  # same field names and shapes, another warmup
    with pytest.raises(ValueError, match="different (schedule )?structure"):
        FORMATS[fmt][1](other, saved)


@pytest.mark.parametrize("fmt", ["flax-msgpack", "orbax-pytree-raw"])
def test_restoring_into_another_optimizer_fails_clearly(fmt, tmp_path):
    saved = FORMATS[fmt][0](_fresh(make_tx()), tmp_path)
    other_tx = optax.chain(lo.inject(optax.sgd, learning_rate=lrsched.constant(0.1)),
                           lo.scale_by_schedule(lrsched.constant(1.0)))
    with pytest.raises(ValueError, match="restore: .*(different|no entry|holds)"):
        FORMATS[fmt][1](_fresh(other_tx), saved)


def test_plain_flax_from_bytes_also_refuses_a_different_schedule():
    lo.restore  # noqa: B018 - importing lrsched.optax registers the schedules with flax
    a = lo.scale_by_schedule(lrsched.constant(1.0) * 2).init(jnp.zeros(2))
    b = lo.scale_by_schedule(lrsched.constant(1.0) + 2).init(jnp.zeros(2))
    with pytest.raises(ValueError, match="different structure"):
        flax.serialization.from_bytes(b, flax.serialization.to_bytes(a))
    restored = flax.serialization.from_bytes(a, flax.serialization.to_bytes(a))
    assert repr(restored.schedule) == repr(a.schedule)


def test_structure_fingerprint_is_the_same_in_another_process():
    """The fingerprint stored in optimizer states names functions by module and qualified name, never by a
    memory address, so a checkpoint restores in another process (a custom scale_fn included)."""
    import subprocess
    import sys

    from lrsched._tree import fingerprint, structure_string

    code = ("import jax, lrsched; from lrsched._tree import fingerprint; "
            "print(fingerprint(lrsched.warmup(lrsched.cyclic(0.1, 1.0, 10, scale_fn=jax.nn.sigmoid), 5)))")
    s = lrsched.warmup(lrsched.cyclic(0.1, 1.0, 10, scale_fn=jax.nn.sigmoid), 5)
    assert "0x" not in structure_string(s) and "sigmoid" in structure_string(s)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert int(out.stdout) == fingerprint(s)
    # and it tells structures apart: another static field, another shape
    assert fingerprint(lrsched.warmup(lrsched.cyclic(0.1, 1.0, 10), 5)) != fingerprint(s)
    assert fingerprint(lrsched.multistep(1.0, [1, 2], 0.1)) != fingerprint(lrsched.multistep(1.0, [1, 2, 3], 0.1))


@pytest.mark.parametrize("how", ["to_bytes", "state_dict", "written_before_low_parts"])
def test_precise_numbers_survive_a_flax_checkpoint(how):
    """A precise number keeps what float32 lost of it in a companion leaf (exponential's rate 0.999: its
    1000th power 1.3e-5 off without it). A checkpoint saves it, so the restored state's updates are the saved
    state's bit for bit; one written before the low parts were saved still restores (with them recomputed)."""
    tx = lo.scale_by_schedule(lrsched.exponential(1.0, 0.999))
    state = tx.init(jnp.zeros(1))._replace(count=jnp.asarray(1000, jnp.int32))
    target = tx.init(jnp.zeros(1))
    if how == "to_bytes":
        restored = lo.restore(target, flax.serialization.to_bytes(state))
    else:
        saved = flax.serialization.to_state_dict(state)
        if how == "written_before_low_parts":
            saved = jax.tree_util.tree_map(lambda x: x, saved)
            for node in _dicts(saved):
                for key in [k for k in node if k.endswith("_lo")]:
                    del node[key]
        restored = flax.serialization.from_state_dict(target, saved)
    want = np.asarray(tx.update(jnp.ones(1), state)[0])
    got = np.asarray(tx.update(jnp.ones(1), restored)[0])
    if how == "written_before_low_parts":
        np.testing.assert_allclose(got, want, rtol=1e-4)
    else:
        assert got == want, (got, want)


def _dicts(tree):
    if isinstance(tree, dict):
        yield tree
        for v in tree.values():
            yield from _dicts(v)


@pytest.mark.parametrize("schedule", [lrsched.exponential(1.0, 0.999), lrsched.one_cycle(1000, 1.0, pct_start=0.3),
                                      lrsched.cycle(lrsched.cosine(1.0, 10), 10, decay=0.97)], ids=repr)
def test_a_config_of_float32_numbers_keeps_what_they_lost(schedule):
    """``jax.device_put`` (or a jit output, or an optimizer state) makes a schedule's numbers float32 arrays; its
    config still evaluates identically (the precise numbers' low parts join them) and is the original's."""
    import json

    moved = jax.device_put(schedule)
    again = lrsched.from_config(json.loads(json.dumps(lrsched.to_config(moved))))
    np.testing.assert_array_equal(lrsched.evaluate(again, 3000), lrsched.evaluate(schedule, 3000))
    assert lrsched.to_config(moved) == lrsched.to_config(schedule)
