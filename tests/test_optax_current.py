"""``lrsched.optax.current(state)`` reports every hyperparameter ``inject`` holds, whatever it was given: an lrsched
schedule, an optax schedule (any JAX function of the step count), or a number; and says clearly, once, which
ones it cannot read (a callable that is not a function of the step, a string), unless they are declared in
``static_args``.
"""

from __future__ import annotations

import warnings

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

import lrsched
import lrsched.optax as lo

PARAMS = {"w": jnp.asarray([0.3, -1.2, 2.0]), "b": jnp.asarray(0.5)}


def _grads(k):
    return {"w": jnp.asarray([1.0, -0.5, 0.25]) * (k + 1) ** 0.5, "b": jnp.asarray(0.1 * k - 0.3)}


def _train(tx, n=12):
    params, state = PARAMS, tx.init(PARAMS)
    seen = []
    update = jax.jit(tx.update)
    for k in range(n):
        seen.append({name: np.asarray(v) for name, v in jax.jit(lo.current)(state).items()})
        updates, state = update(_grads(k), state, params)
        params = optax.apply_updates(params, updates)
    return params, state, seen


def test_an_optax_schedule_is_reported_and_trains_like_optax():
    closure = optax.warmup_cosine_decay_schedule(0.0, 0.0123456789, 3, 12, end_value=1e-4)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an optax schedule is readable: no warning
        tx = lo.inject(optax.adam, learning_rate=closure, b1=lrsched.linear(0.9, 0.8, 12), eps=1e-6)
    params, _, seen = _train(tx)
    for k, values in enumerate(seen):
        assert set(values) == {"learning_rate", "b1", "eps"}
        np.testing.assert_allclose(values["learning_rate"], closure(k), rtol=1e-6)
        assert values["learning_rate"].dtype == np.float32
    # the same training as optax's own inject_hyperparams with the closure
    ref_tx = optax.inject_hyperparams(optax.adam)(learning_rate=closure,
                                                  b1=lambda c: lrsched.linear(0.9, 0.8, 12)(c), eps=1e-6)
    ref, _, _ = _train_plain(ref_tx)
    for a, b in zip(jax.tree.leaves(params), jax.tree.leaves(ref)):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)  # float32 rounding of two programs


def _train_plain(tx, n=12):
    params, state = PARAMS, tx.init(PARAMS)
    update = jax.jit(tx.update)
    for k in range(n):
        updates, state = update(_grads(k), state, params)
        params = optax.apply_updates(params, updates)
    return params, state, None


def test_numbers_schedules_and_optax_callables_all_reported_under_vmap():
    tx = lo.inject(optax.sgd, learning_rate=optax.exponential_decay(0.1, 5, 0.5), momentum=0.9)
    states = jax.vmap(lambda _: tx.init(PARAMS))(jnp.arange(3))
    values = lo.current(states)
    assert set(values) == {"learning_rate", "momentum"}
    np.testing.assert_allclose(values["learning_rate"], [0.1, 0.1, 0.1])
    np.testing.assert_allclose(values["momentum"], [0.9, 0.9, 0.9])


def test_what_current_cannot_read_is_named_once_at_construction():
    mask = lambda p: jax.tree.map(lambda x: x.ndim > 0, p)  # noqa: E731 - optax.adamw's mask: not a schedule
    with pytest.warns(UserWarning, match=r"current\(state\) cannot report mask.*static_args=\('mask',\)"):
        tx = lo.inject(optax.adamw, learning_rate=lrsched.constant(0.01), weight_decay=1e-2, mask=mask)
    _, _, seen = _train(tx, n=2)
    assert set(seen[0]) == {"learning_rate", "weight_decay"}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # declared static: not reported, no warning
        tx = lo.inject(optax.adamw, learning_rate=lrsched.constant(0.01), weight_decay=1e-2, mask=mask,
                       static_args=("mask",))
    params, _, _ = _train(tx, n=3)
    # the mask still reaches adamw: it excludes the scalar "b" from decay: with mask=None, b would decay too
    unmasked, _, _ = _train(lo.inject(optax.adamw, learning_rate=lrsched.constant(0.01), weight_decay=1e-2), n=3)
    assert float(params["b"]) != float(unmasked["b"])


def test_an_empty_report_is_impossible():
    """The reported case of issue 13: an optax closure used to give {}."""
    tx = lo.inject(optax.adam, learning_rate=optax.linear_schedule(0.1, 0.0, 10))
    assert set(lo.current(tx.init(PARAMS))) == {"learning_rate"}
