"""A plateau's metric is one number: a one-element array is taken (as torch's ``float(metric)`` does), a larger
one is refused at the call with an error that says how to fix it, never a late error from inside JAX.

Both routes are covered: the pure reducer ``Plateau.update`` and the optax side (``scale_by_schedule`` and
``inject`` with ``tx.update(..., value=metric)``), eagerly and under jit; a vmapped sweep still gives each
configuration its own scalar.
"""

from __future__ import annotations

import re

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import lrsched
import lrsched.optax as lo

P = lrsched.plateau(lrsched.constant(0.1), factor=0.5, patience=0, threshold=0.01)
METRICS = [1.0, 0.9, 0.95, 0.97, 0.5, 0.6, 0.7]


def _rates(metrics, shape):
    state = P.init()
    out = []
    for m in metrics:
        state = P.update(state, np.full(shape, m, np.float32))
        out.append(float(P(0, state)))
    return out, state


@pytest.mark.parametrize("shape", [(1,), (1, 1)])
def test_one_element_metric_is_taken_as_the_scalar(shape):
    ref, ref_state = _rates(METRICS, ())
    got, state = _rates(METRICS, shape)
    assert got == ref and min(ref) < 0.1
    for a, b in zip(jax.tree.leaves(state), jax.tree.leaves(ref_state)):
        assert np.shape(a) == np.shape(b) == ()  # no field took the metric's shape


@pytest.mark.parametrize("shape", [(2,), (3, 1), (0,)])
def test_larger_metric_is_refused_by_the_reducer(shape):
    with pytest.raises(lrsched.ScheduleError, match=re.escape(f"one number; got an array of shape {shape}")):
        P.update(P.init(), np.ones(shape, np.float32))
    with pytest.raises(lrsched.ScheduleError, match="one number"):
        jax.jit(P.update)(P.init(), jnp.ones(shape))


def _chain(kind):
    if kind == "scale_by_schedule":
        return optax.chain(optax.scale_by_adam(), lo.scale_by_schedule(P), optax.scale(-1.0))
    return lo.inject(optax.adam, learning_rate=P)


@pytest.mark.parametrize("kind", ["scale_by_schedule", "inject"])
@pytest.mark.parametrize("jit", [False, True])
def test_optax_update_takes_a_one_element_value_and_refuses_a_vector(kind, jit):
    tx = _chain(kind)
    params = {"w": jnp.ones(3)}
    update = jax.jit(tx.update) if jit else tx.update
    state = tx.init(params)
    ref_state = state
    for m in METRICS:
        _, state = update({"w": jnp.ones(3)}, state, params, value=jnp.asarray([m]))
        _, ref_state = update({"w": jnp.ones(3)}, ref_state, params, value=jnp.asarray(m))
    for a, b in zip(jax.tree.leaves(state), jax.tree.leaves(ref_state)):
        np.testing.assert_array_equal(a, b)  # same values, same (scalar) shapes
    with pytest.raises(lrsched.ScheduleError, match=r"value=.*one number.*shape \(4,\).*jnp.mean"):
        update({"w": jnp.ones(3)}, state, params, value=jnp.ones(4))


def test_a_vmapped_sweep_still_gives_each_configuration_its_scalar():
    batched = lrsched.sweep.stack([lrsched.plateau(lrsched.constant(v), factor=0.5, patience=0) for v in
                                   (0.1, 0.2, 0.3)])
    tx0 = lo.scale_by_schedule(lrsched.sweep.index(batched, 0))
    states = jax.vmap(lambda s: lo.scale_by_schedule(s).init(jnp.zeros(2)))(batched)
    step = jax.jit(jax.vmap(lambda st, m: tx0.update(jnp.ones(2), st, value=m)))
    for m in ([1.0, 1.0, 1.0], [2.0, 0.5, 2.0], [3.0, 0.4, 3.0]):
        _, states = step(states, jnp.asarray(m))
    rates = lo.current(states)["schedule"]
    np.testing.assert_allclose(rates, [0.025, 0.2, 0.075])  # two, zero and two reductions


# ------------------------------------------------------------------ what is not a metric

class _Opaque:  # an object that is no number (a stable repr: test ids must agree across xdist workers)
    def __repr__(self) -> str:
        return "_Opaque()"


NOT_METRICS = [
    ("1.0", r"is the str '1\.0'.*real number.*float\('1\.0'\)"),
    (b"1.0", r"is the bytes b'1\.0'.*real number"),
    (True, r"is a bool \(True\).*never a bool.*count as 1\.0"),
    (np.bool_(False), r"is a bool \(an array of dtype bool and shape \(\)\)"),
    (jnp.asarray([True]), r"is a bool \(an array of dtype bool and shape \(1,\)\)"),
    (1.0 + 0.5j, r"has dtype complex64 \(\(1\+0\.5j\)\).*real value"),
    (jnp.asarray(1.0 + 0j, jnp.complex64), r"has dtype complex64 \(an array of dtype complex64"),
    (None, r"metric is None.*real number.*value=loss"),
    (np.asarray(["a"]), r"is not a number.*real number"),
    (_Opaque(), r"is not a number.*real number"),
]


@pytest.mark.parametrize("metric,message", NOT_METRICS, ids=lambda x: repr(x)[:24])
def test_the_reducer_refuses_what_is_not_a_real_number_saying_what_a_metric_is(metric, message):
    with pytest.raises(lrsched.ScheduleError, match=r"plateau\(\.\.\.\)\.update\(state, metric\).*" + message):
        P.update(P.init(), metric)


@pytest.mark.parametrize("metric,message", [m for m in NOT_METRICS if m[0] is not None],
                         ids=lambda x: repr(x)[:24])
@pytest.mark.parametrize("kind", ["scale_by_schedule", "inject"])
def test_optax_update_refuses_what_is_not_a_real_number(kind, metric, message):
    tx = _chain(kind)
    params = {"w": jnp.ones(3)}
    with pytest.raises(lrsched.ScheduleError, match=r"tx\.update\(\.\.\., value=\.\.\.\).*" + message):
        tx.update({"w": jnp.ones(3)}, tx.init(params), params, value=metric)


@pytest.mark.parametrize("kind", ["scale_by_schedule", "inject"])
def test_a_missing_metric_is_a_schedule_error_saying_how_to_pass_it(kind):
    tx = _chain(kind)
    params = {"w": jnp.ones(3)}
    for extra in ({}, {"value": None}):
        with pytest.raises(lrsched.ScheduleError, match=r"needs the monitored metric.*value=loss"):
            tx.update({"w": jnp.ones(3)}, tx.init(params), params, **extra)


def test_a_traced_bool_is_refused_by_its_dtype_and_traced_numbers_still_work():
    """Inside jit the metric is a tracer: its value is unknown, its dtype is not. A bool tracer (a comparison
    passed by mistake) is refused; a traced float or int is taken."""
    with pytest.raises(lrsched.ScheduleError, match=r"is a bool \(an array of dtype bool and shape \(\)\)"):
        jax.jit(P.update)(P.init(), jnp.asarray(True))
    with pytest.raises(lrsched.ScheduleError, match="is a bool"):
        jax.jit(lambda s, loss: P.update(s, loss < 1.0))(P.init(), jnp.float32(0.5))
    tx = _chain("inject")
    params = {"w": jnp.ones(3)}
    with pytest.raises(lrsched.ScheduleError, match=r"value=\.\.\.\).*is a bool"):
        jax.jit(tx.update)({"w": jnp.ones(3)}, tx.init(params), params, value=jnp.asarray(False))
    # numbers, traced or not, integer or float, all give the same rates
    ref, _ = _rates(METRICS, ())
    for convert in (float, np.float64, jnp.float32, jnp.bfloat16):
        state, got = P.init(), []
        update = jax.jit(P.update)
        for m in METRICS:
            state = update(state, convert(m))
            got.append(float(P(0, state)))
        assert got == ref, convert
    ints = [3, 2, 2, 2, 1]
    eager, traced = P.init(), P.init()
    for m in ints:
        eager = P.update(eager, m)
        traced = jax.jit(P.update)(traced, jnp.int32(m))
    floats = P.init()
    for m in ints:
        floats = P.update(floats, float(m))
    assert float(P(0, floats)) < 0.1  # integer metrics reduced the rate, as float ones do
    for a, b, c in zip(jax.tree.leaves(eager), jax.tree.leaves(traced), jax.tree.leaves(floats)):
        np.testing.assert_array_equal(a, c)
        np.testing.assert_array_equal(b, c)
