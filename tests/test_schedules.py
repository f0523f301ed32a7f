"""Every case of the shared list: values (jit, eager, negative and float steps), x64, vmap over every
numeric field and over a batch of schedules, grad, repr and config round trips."""

import json
import types

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from cases import CASE_IDS, CASES, STEPS

import lrsched


def assert_close(got, want, rtol=2e-5, what=""):
    got, want = np.asarray(got, np.float64), np.asarray(want, np.float64)
    scale = max(np.max(np.abs(want)), 1e-30)
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * scale, err_msg=what)


NEGATIVE = np.array([-1, -7, -(2**31) + 1])


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_matches_reference_under_jit(case):
    """The reference at every step (and at negative steps: step 0's value), under jit, eagerly and with
    float steps, for both parameter sets."""
    for params in (case.params, case.alt):
        s = case.make(params)
        want = case.ref(STEPS.astype(np.float64), params)
        got = lrsched.evaluate(s, np.concatenate([STEPS, NEGATIVE]))
        assert_close(got[:len(STEPS)], want, what=case.name)
        np.testing.assert_array_equal(got[len(STEPS):], np.repeat(got[:1], len(NEGATIVE)),
                                      err_msg=f"{case.name}: negative steps must evaluate as step 0")
        if case.non_negative:
            assert (got >= 0).all()
    assert_close(lrsched.evaluate(s, STEPS.astype(np.float32)), got[:len(STEPS)], rtol=1e-5, what="float steps")
    # a fresh jit around a call with a traced step, and the eager call
    assert_close(jax.jit(lambda t, s=s: s(t))(STEPS[:40]), want[:40])
    assert_close(s(7), want[7])


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_float64_under_x64(case):
    with jax.enable_x64(True):
        s = case.make(case.params)
        got = lrsched.evaluate(s, STEPS)
        assert got.dtype == np.float64
        assert_close(got, case.ref(STEPS.astype(np.float64), case.params), rtol=1e-9, what=case.name)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_vmap_over_every_field(case):
    """Every numeric parameter traced at once: the schedule is built inside jax.vmap (as a sweep over a
    factory's or a compat constructor's arguments does) and each row equals its own reference."""
    steps = jnp.asarray(STEPS)
    fields = sorted(case.params)
    batch = [np.stack([np.asarray(case.params[f]), np.asarray(case.alt[f])]) for f in fields]
    values = jax.jit(jax.vmap(lambda *xs: case.make(dict(zip(fields, xs)))(steps)))(*batch)
    for row, p in zip(values, (case.params, case.alt)):
        assert_close(row, case.ref(STEPS.astype(np.float64), p), what=case.name)


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_vmap_over_batched_schedule(case):
    """A batch of schedules as one pytree (what sweeps do) evaluates row by row."""
    one, two = case.make(case.params), case.make(case.alt)
    if jax.tree.structure(one) != jax.tree.structure(two) or any(
        np.shape(a) != np.shape(b) for a, b in zip(jax.tree.leaves(one), jax.tree.leaves(two))
    ):
        pytest.skip("alternative parameters change the structure")
    batched = jax.tree.map(lambda a, b: jnp.stack([jnp.asarray(a), jnp.asarray(b)]), one, two)
    values = jax.vmap(lambda s: s(jnp.asarray(STEPS)))(batched)
    assert_close(values[0], lrsched.evaluate(one, STEPS))
    assert_close(values[1], lrsched.evaluate(two, STEPS))


@pytest.mark.parametrize("x64", [False, True])
def test_grad_of_a_factor_of_zero_is_that_of_its_powers(x64):
    """d/dg of ``g**k`` at ``g = 0`` (allowed: a decay to nothing) is 1 for ``k = 1`` and 0 otherwise, not NaN
    (the correctly rounded table ``g ** arange(16)`` has ``0 * 0**-1`` in its derivative)."""
    steps = np.array([0, 5, 10, 15, 25, 200], np.int64)
    k = steps // 10
    want = 0.1 * (k == 1)
    builds = [lambda g: lrsched.step_decay(0.1, 10, g), lambda g: lrsched.multistep(0.1, [10, 20, 30], g),
              lambda g: lrsched.cycle(lrsched.constant(0.1), 10, decay=g),
              lambda g: lrsched.cycle(lrsched.constant(0.1), 10, decay=g, limit=25)]
    with jax.enable_x64(x64):
        t = jnp.asarray(steps)
        for build in builds:
            for grad in (jax.vmap(jax.grad(lambda g, t: build(g)(t)), (None, 0)),
                         jax.jit(jax.vmap(jax.grad(lambda g, t: build(g)(t)), (None, 0)))):
                got = np.asarray(grad(jnp.asarray(0.0), t), np.float64)
                np.testing.assert_allclose(got, want if build is not builds[1] else 0.1 * (np.minimum(k, 3) == 1),
                                           rtol=1e-6, err_msg=str(build(0.0)))
        # a power past the float range stays inf (no NaN from the derivative's construction)
        huge = 1e300 if x64 else 1e30
        assert np.asarray(lrsched.step_decay(1.0, 1, huge)(jnp.asarray([0, 1, 2, 40]))).tolist()[2:] == [np.inf] * 2


@pytest.mark.parametrize("case", [c for c in CASES if c.grad], ids=[c.name for c in CASES if c.grad])
def test_grad_matches_finite_differences(case):
    steps = np.array([0, 3, 17, 42, 99, 150, 230], np.float64)
    with jax.enable_x64(True):
        x0 = {f: np.asarray(case.params[f], np.float64) for f in case.grad}

        @jax.jit
        def grads(xs):  # every field's gradient in one compiled program
            return jax.grad(lambda xs: jnp.sum(case.make({**case.params, **xs})(jnp.asarray(steps, jnp.int64))))(xs)

        g = {f: np.asarray(v) for f, v in grads({f: jnp.asarray(v) for f, v in x0.items()}).items()}
    for field in case.grad:
        fd = np.zeros_like(x0[field])
        h = 1e-6 * np.maximum(np.abs(x0[field]), 1e-3)
        for idx in np.ndindex(x0[field].shape):
            e = np.zeros_like(x0[field])
            e[idx] = h[idx]
            up = case.ref(steps, {**case.params, field: x0[field] + e}).sum()
            down = case.ref(steps, {**case.params, field: x0[field] - e}).sum()
            fd[idx] = (up - down) / (2 * h[idx])
        np.testing.assert_allclose(g[field], fd, rtol=1e-5, atol=1e-7, err_msg=f"{case.name}.{field}")


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_config_round_trip(case):
    s = case.make(case.params)
    config = lrsched.to_config(s)
    text = json.dumps(config)
    again = lrsched.from_config(json.loads(text))
    assert type(again) is type(s)
    assert lrsched.to_config(again) == config
    np.testing.assert_array_equal(lrsched.evaluate(again, STEPS), lrsched.evaluate(s, STEPS))


def _constructors():
    """Every registered factory name: lrsched's own functions, and compat's nodes by their dotted names."""
    names = dict(vars(lrsched))
    for name, cls in lrsched.Schedule._registry.items():
        if "." in name:
            library, short = name.split(".", 1)
            names.setdefault(library, types.SimpleNamespace())
            setattr(names[library], short, cls)
    return names


@pytest.mark.parametrize("case", CASES, ids=CASE_IDS)
def test_repr_is_readable_and_rebuilds(case):
    s = case.make(case.params)
    text = repr(s)
    assert text.startswith(type(s).factory_name + "(") and "object at" not in text
    again = eval(text, _constructors())  # the repr is the factory (or registered class) call
    np.testing.assert_array_equal(lrsched.evaluate(again, STEPS), lrsched.evaluate(s, STEPS))


def test_output_dtype_never_follows_bf16_leaves():
    s = lrsched.cosine(jnp.asarray(0.1, jnp.bfloat16), 100)
    assert s(3).dtype == jnp.float32
    assert jax.jit(lambda t: s(t))(jnp.arange(3)).dtype == jnp.float32


@pytest.mark.parametrize("x64", [False, True])
def test_growth_past_the_float_range_is_inf_or_its_cap_never_nan(x64):
    """A rate above 1 (an LR range test's exponential ramp, a decay > 1) overflows the float at some step:
    the value is then inf, or the cap (``end_value``) where there is one, as optax's; never NaN (the precise
    exponential's ``exp(s) + exp(s) c`` made ``inf - inf`` there)."""
    with jax.enable_x64(x64):
        top = 2**63 - 1 if x64 else 2**31 - 1
        t = np.concatenate([np.arange(0, 4000, 7), [2**24 + 1, top]])
        n = 1100 if x64 else 130  # past 2**1024 / 2**128
        ramp = lrsched.exponential(1e-7, 10.0, steps=100, end_value=1.0)
        with np.errstate(over="ignore"):
            capped = np.minimum(1e-7 * 10.0 ** (t / 100), 1.0)
        cases = {
            "ramp with cap": (ramp, capped),
            "growth": (lrsched.exponential(1.0, 2.0), None),
            "step_decay": (lrsched.step_decay(1.0, 1, 2.0), None),
            "multistep": (lrsched.multistep(1.0, list(range(1, 20)), 1e20), None),
            "cycle decay 3": (lrsched.cycle(lrsched.constant(1.0), 1, decay=3.0), None),
        }
        for name, (s, want) in cases.items():
            for got in (jax.jit(lambda s, t: s(t))(s, t), jax.jit(lambda t, s=s: s(t))(t),
                        jax.vmap(lambda x, s=s: s(x))(jnp.asarray(t))):
                got = np.asarray(got, np.float64)
                assert not np.isnan(got).any(), name
                assert np.all(got[1:] >= got[:-1]), name  # growing, then inf or the cap
                if want is not None:
                    np.testing.assert_allclose(got, want, rtol=2e-5 if not x64 else 1e-12, err_msg=name)
                else:
                    assert np.isinf(got[t >= n]).all(), name


def test_scalar_and_array_steps_keep_shape():
    s = lrsched.warmup_cosine(1.0, 10, 100)
    assert s(3).shape == ()
    assert s(jnp.zeros((2, 3), jnp.int32)).shape == (2, 3)
    assert lrsched.constant(0.1)(jnp.zeros((4,))).shape == (4,)
    assert lrsched.evaluate(s, 0).shape == (0,)


def test_join_compiles_to_a_graph_that_does_not_grow_with_the_pieces():
    def equations(n):
        pieces = [lrsched.cosine(0.1 * (i + 1), 10) for i in range(n)]
        s = lrsched.join(pieces, list(range(10, 10 * n, 10)))
        return len(jax.make_jaxpr(lambda s, t: s(t))(s, jnp.arange(5)).jaxpr.eqns)

    # up to LINEAR_LOOKUP pieces, select chains (one select per piece); beyond, a binary search:
    # a few equations per round, log2(pieces) rounds
    sizes = {n: equations(n) for n in (1, 16, 100, 1000)}
    assert sizes[100] <= sizes[16] and sizes[1000] - sizes[100] <= 4 * 4, sizes


def test_join_of_mixed_structures_groups_them():
    s = lrsched.join([lrsched.linear(0.0, 1.0, 10), lrsched.cosine(1.0, 10), lrsched.linear(0.5, 0.0, 10),
                      lrsched.cosine(0.2, 10)], [10, 20, 30])
    assert len(s.groups) == 2
    pieces = s.pieces()
    assert [type(p).__name__ for p in pieces] == ["Linear", "Cosine", "Linear", "Cosine"]
    want = np.concatenate([lrsched.evaluate(p, 10) for p in pieces])
    np.testing.assert_array_equal(lrsched.evaluate(s, 40), want)


def test_plot_returns_axes(tmp_path):
    ax = lrsched.plot(lrsched.one_cycle(100, 0.1), 120, label="one cycle")
    ax.figure.savefig(tmp_path / "x.png")
    assert (tmp_path / "x.png").stat().st_size > 1000


def test_pytree_rebuilds_skip_validation_and_keep_paths():
    s = lrsched.warmup(lrsched.cosine(0.1, 100), 10)
    axes = jax.tree.map(lambda _: 0, s)  # an in_axes tree: steps=0 must not raise here
    assert axes.schedule.steps == 0
    paths = [jax.tree_util.keystr(p) for p, _ in jax.tree_util.tree_flatten_with_path(s)[0]]
    assert paths == [".schedule.init_value", ".schedule.steps", ".schedule.end_value", ".steps", ".init_value"]
    batch = jax.tree.map(lambda x: jnp.stack([jnp.asarray(x)] * 3), s)
    out = jax.vmap(lambda s: s(jnp.arange(20)), in_axes=(axes,))(batch)
    assert out.shape == (3, 20)
    with pytest.raises(lrsched.ScheduleError):  # user construction still validates
        lrsched.cosine(0.1, 0)


def test_batched_config_round_trip_keeps_2d_leaves():
    a, b = lrsched.multistep(1.0, [1, 2], 0.1), lrsched.multistep(0.5, [3, 4], 0.1)
    batched = jax.tree.map(lambda x, y: np.stack([np.asarray(x), np.asarray(y)]), a, b)
    again = lrsched.from_config(json.loads(json.dumps(lrsched.to_config(batched))))
    assert jax.tree.structure(again) == jax.tree.structure(batched)
    assert again.milestones.shape == (2, 2)
    steps = jnp.arange(6)
    np.testing.assert_array_equal(jax.vmap(lambda s: s(steps))(again), jax.vmap(lambda s: s(steps))(batched))


def test_from_config_imports_the_compat_module_of_a_compat_node():
    """A config naming a compat node (transformers' hard restarts) loads in a process that never imported
    lrsched.compat: from_config imports lrsched.compat.<library> on demand."""
    import subprocess
    import sys

    from lrsched.compat import transformers as hf

    s = hf.get_scheduler("cosine_with_restarts", 1.0, 2, 20, num_cycles=2)
    code = ("import json, sys, lrsched; s = lrsched.from_config(json.loads(sys.argv[1])); "
            "print(type(s).__module__, list(map(float, lrsched.evaluate(s, 25))))")
    out = subprocess.run([sys.executable, "-c", code, json.dumps(lrsched.to_config(s))], capture_output=True,
                         text=True, check=True).stdout.split(" ", 1)
    assert out[0] == "lrsched._combinators"  # the top node is a warmup around the compat node
    np.testing.assert_array_equal(np.asarray(eval(out[1])), lrsched.evaluate(s, 25).astype(np.float64))
