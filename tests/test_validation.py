"""Bad input never passes silently: every constructor checks its arguments against the kinds its
fields declare (lrsched._core.Kind), steps and evaluate's arguments are checked, batched schedules
print, save, load and plot per entry (or refuse clearly), and ``/`` and ``**`` build nodes.

Each test names the finding of issue 14 it covers; tests/test_fuzz_constructors.py draws random
arguments for every public constructor."""

from __future__ import annotations

import dataclasses
import inspect
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest

import lrsched
from lrsched import ScheduleError, sweep
from lrsched._core import field_kind
from lrsched.compat import fastai as fa
from lrsched.compat import optax as ox
from lrsched.compat import timm
from lrsched.compat import torch as tc
from lrsched.compat import transformers as hf
from lrsched.finder import lr_range_test, lr_sweep, repeated_range_test

C = lrsched.constant(1.0)
BF16, F16 = jnp.bfloat16, jnp.float16


def refuses(build, *patterns):
    with pytest.raises(ScheduleError) as e:
        build()
    for p in patterns:
        assert p in str(e.value), f"{p!r} not in {str(e.value)!r}"
    return e.value


# ------------------------------------------------------------ kinds of numbers


@pytest.mark.parametrize("dtype", [BF16, F16, np.float16, np.float32, np.float64, float])
@pytest.mark.parametrize("bad", [float("nan"), float("inf"), -float("inf")])
def test_nan_and_inf_refuse_in_every_float_dtype(dtype, bad):
    refuses(lambda: lrsched.cosine(dtype(bad), 100), "cosine(init_value=", "must be finite")
    refuses(lambda: lrsched.plateau(C, eps=dtype(bad)), "plateau(eps=", "must be finite")


def test_bf16_and_f16_values_are_checked_like_any_other():
    """Finding: cosine(0.1, bf16(-100)) returned zeros; plateau(factor=bf16(2)) doubled the rate."""
    refuses(lambda: lrsched.cosine(0.1, jnp.bfloat16(-100)), "cosine(steps=-100.0): steps must be positive")
    refuses(lambda: lrsched.cosine(0.1, jnp.float16(-100)), "cosine(steps=-100.0)")
    refuses(lambda: lrsched.plateau(C, factor=jnp.bfloat16(2.0)), "plateau(factor=2.0): factor must be in [0, 1)")
    refuses(lambda: lrsched.plateau(C, factor=jnp.asarray([0.5, 2.0], BF16)), "factor must be in [0, 1)")
    assert float(lrsched.cosine(0.1, jnp.bfloat16(100))(50)) == pytest.approx(0.05, rel=1e-6)


@pytest.mark.parametrize("bad", [False, True, np.bool_(True), np.array([True, False]), jnp.array(True), [1, True]])
def test_bools_are_not_numbers(bad):
    """Finding: cosine(0.1, False) was accepted (a steps of 0 that skipped every check)."""
    refuses(lambda: lrsched.cosine(0.1, bad), "cosine(steps=", "must be a real number", "ools are not numbers")


@pytest.mark.parametrize("bad,word", [("100", "str"), (None, "None"), ({3, 1}, "set"), ({"a": 1}, "dict"),
                                      (1 + 2j, "complex"), (np.complex64(1), "complex"), (b"1", "bytes"),
                                      ([[1, 2], [3]], "ragged"), (object(), "object"),
                                      (lrsched.constant(1.0), "Constant")])
def test_non_numbers_refuse_at_construction(bad, word):
    """Finding: strings, None, sets and complex numbers passed and failed late inside JAX."""
    refuses(lambda: lrsched.cosine(0.1, bad), "cosine(steps=", "steps must be", word)


def test_sequences_refuse_sets_strings_and_scalars():
    refuses(lambda: lrsched.multistep(1.0, {3, 1}, 0.1), "multistep(milestones={1, 3})", "a set has no order")
    refuses(lambda: lrsched.multistep(1.0, "30", 0.1), "milestones must be a sequence of numbers")
    refuses(lambda: lrsched.multistep(1.0, 30, 0.1), "A single number is not a sequence")
    refuses(lambda: lrsched.piecewise_constant([10], [1.0, None]), "values must be a sequence")


def test_optional_numbers_take_none_and_required_ones_do_not():
    assert lrsched.cosine(1.0, 10, exponent=None).exponent is None
    assert lrsched.clip(C, None, 2.0).min_value is None
    refuses(lambda: lrsched.constant(None), "constant(value=None): value must be a real number", "None is not")
    refuses(lambda: lrsched.cosine(1.0, None), "cosine(steps=None)")


# --------------------------------------------------------------------- counts


@pytest.mark.parametrize("build,message", [
    (lambda: lrsched.plateau(C, patience=2.5), "plateau(patience=2.5): patience must be a whole number"),
    (lambda: lrsched.plateau(C, cooldown=0.5), "plateau(cooldown=0.5)"),
    (lambda: lrsched.plateau(C, every=1.5), "plateau(every=1.5)"),
    (lambda: lrsched.noise(C, 0.1, seed=1.5), "noise(seed=1.5): seed must be a whole number"),
    (lambda: lrsched.cycle(C, 10, limit=2.5), "cycle(limit=2.5)"),
    (lambda: tc.ReduceLROnPlateau(0.1, patience=2.5), "patience must be a whole number"),
    (lambda: timm.cosine(0.1, 10, noise_range_t=5, noise_seed=1.5), "seed must be a whole number"),
])
def test_counts_refuse_fractions(build, message):
    """Finding: plateau(patience=2.5) and noise(seed=1.5) truncated silently."""
    refuses(build, message)


def test_counts_take_whole_floats_and_step_counts_take_fractions():
    """A count given as 2.0 (a JSON config, a grid axis) is fine; step counts stay numbers: a float
    steps is a fractional step (documented), evaluated as the formula says."""
    p = lrsched.plateau(C, patience=2.0, cooldown=np.int64(1), every=1.0)
    assert float(p.patience) == 2.0 and int(p.cooldown) == 1
    half = lrsched.cosine(1.0, 100.5)
    np.testing.assert_allclose(lrsched.evaluate(half, [50]), 0.5 * (1 + np.cos(np.pi * 50 / 100.5)), rtol=1e-6)


# --------------------------------------------------------------- flags, modes


@pytest.mark.parametrize("bad", ["no", "False", 0, 1, None, np.array(True)])
def test_flags_take_a_bool_only(bad):
    """Finding: exponential(staircase="no") turned the staircase on."""
    refuses(lambda: lrsched.exponential(1.0, 0.5, staircase=bad), "exponential(staircase=", "must be True or False")
    refuses(lambda: tc.OneCycleLR(0.1, total_steps=100, three_phase=bad), "three_phase must be True or False")
    refuses(lambda: ox.exponential_decay(0.1, 10, 0.5, staircase=bad), "exponential_decay(staircase=")


def test_a_numpy_bool_flag_becomes_a_bool():
    s = lrsched.exponential(1.0, 0.5, staircase=np.bool_(True))
    assert s.staircase is True
    assert jax.tree.structure(s) == jax.tree.structure(lrsched.exponential(1.0, 0.5, staircase=True))


@pytest.mark.parametrize("bad", [1, None, ["linear"], np.array(["linear"]), "LINEAR"])
def test_modes_take_one_of_their_strings(bad):
    refuses(lambda: lrsched.wsd(1.0, 100, 10, 10, decay=bad), "wsd(decay=", "decay must be one of 'linear'")
    refuses(lambda: lrsched.warmup(C, 5, kind=bad), "warmup(kind=")
    refuses(lambda: lrsched.plateau(C, mode=bad), "plateau(mode=")


def test_a_scale_fn_replaces_the_mode_but_must_be_a_function():
    assert lrsched.cyclic(0.0, 1.0, 2, mode="anything", scale_fn=lambda x: 1.0 / x).mode == "anything"  # as torch
    refuses(lambda: lrsched.cyclic(0.0, 1.0, 2, scale_fn=3), "cyclic(scale_fn=3): scale_fn must be a function")
    refuses(lambda: lrsched.cyclic(0.0, 1.0, 2, mode=3), "cyclic(mode=3): mode must be a string")


def test_schedules_where_schedules_belong():
    """Finding: noise(0.1, 0.1) failed with "'DynamicJaxprTracer' object is not callable" (fixed by issue 10's
    need_schedule; the declared kind keeps it)."""
    refuses(lambda: lrsched.noise(0.1, 0.1), "noise(schedule): expected an lrsched Schedule; got float")
    refuses(lambda: lrsched.Noise(0.1, 0.1), "noise(schedule): expected an lrsched Schedule")  # the class too
    refuses(lambda: lrsched.join([C, 0.5], [3]), "join(schedules[1]): expected an lrsched Schedule")
    refuses(lambda: lrsched.plateau("x"), "plateau(schedule): expected an lrsched Schedule; got str")


# ------------------------------------------------------------------- ranges


@pytest.mark.parametrize("build,message", [
    (lambda: lrsched.multistep(1.0, [-5, 3], 0.1), "multistep(milestones=[-5, 3]): milestones must be non-negative"),
    (lambda: tc.MultiStepLR(1.0, [3, -5]), "milestones must be non-negative"),
    (lambda: lrsched.clip(C, 0.5, 0.1), "clip(max_value=0.1): max_value must be at least min_value (0.5)"),
    (lambda: lrsched.noise(C, 0.1, seed=-1), "noise(seed=-1): seed must be in [0, 2**32 - 1]"),
    (lambda: lrsched.noise(C, 0.1, seed=2**32), "noise(seed=4294967296)"),
    (lambda: lrsched.noise(C, 0.1, start=10, end=5), "noise(end=5): end must be at least start (10)"),
    (lambda: C / 0, "div(right=0): right must be non-zero"),
    (lambda: (-2.0) ** C, "pow(left=-2.0): left must be non-negative when the exponent is a schedule"),
    (lambda: lrsched.constant(2**70), "within the int64 range"),
])
def test_out_of_range_values_refuse(build, message):
    """Finding: multistep accepted negative milestones (and applied them from step 0)."""
    refuses(build, message)


def test_piecewise_linear_keeps_points_before_step_0():
    s = lrsched.piecewise_linear([-10, 10], [0.0, 1.0])  # an interpolation point, not a change of value
    np.testing.assert_allclose(lrsched.evaluate(s, [0, 10]), [0.5, 1.0])


def test_piecewise_constant_takes_a_boundary_before_step_0_as_optax_does():
    """optax's piecewise_constant_schedule({-1: 0.5}) scales from step 0 on; a negative boundary is not refused."""
    import optax
    s = lrsched.piecewise_constant([-1, 3], [1.0, 0.5, 0.1])
    np.testing.assert_allclose(lrsched.evaluate(s, 5), [0.5, 0.5, 0.5, 0.1, 0.1])
    ours, theirs = ox.piecewise_constant_schedule(1.0, {-1: 0.5, 3: 0.1}), optax.piecewise_constant_schedule(
        1.0, {-1: 0.5, 3: 0.1})
    np.testing.assert_allclose([float(ours(t)) for t in range(5)], [float(theirs(t)) for t in range(5)], rtol=1e-7)
    refuses(lambda: lrsched.piecewise_constant([3, -1], [1.0, 0.5, 0.1]), "boundaries")  # still sorted


# -------------------------------------------------------------------- compat


@pytest.mark.parametrize("build,message", [
    (lambda: tc.StepLR(0.1, "3"), "StepLR(step_size='3'): step_size must be a real number"),
    (lambda: tc.ConstantLR(0.1, total_iters="5"), "ConstantLR(total_iters='5')"),
    (lambda: tc.OneCycleLR(0.1, total_steps=True), "OneCycleLR(total_steps=True)"),
    (lambda: tc.MultiStepLR(0.1, {30, 10}), "MultiStepLR(milestones={10, 30})"),
    (lambda: tc.MultiStepLR(0.1, 30), "MultiStepLR(milestones=30)"),
    (lambda: tc.ReduceLROnPlateau(0.1, mode=1), "ReduceLROnPlateau(mode=1): mode must be a string"),
    (lambda: tc.SequentialLR([0.1], []), "SequentialLR(schedulers[0]): expected an lrsched Schedule"),
    (lambda: ox.join_schedules([ox.constant_schedule(0.1), "x"], [3]), "join_schedules(schedules[1])"),
    (lambda: ox.cosine_decay_schedule(None, 10), "cosine_decay_schedule(init_value=None)"),
    (lambda: hf.get_scheduler("linear", 0.1, "10", 100), "get_scheduler(num_warmup_steps='10')"),
    (lambda: hf.get_scheduler("cosine", 0.1, 10, 100, num_cycles="x"), "(num_cycles='x')"),
    (lambda: hf.get_wsd_schedule(0.1, 10, 10, 100, warmup_type=1), "get_wsd_schedule(warmup_type=1)"),
    (lambda: fa.one_cycle(100, float("nan")), "one_cycle(lr_max=nan): lr_max must be finite"),
    (lambda: fa.one_cycle(100, jnp.bfloat16(float("inf"))), "one_cycle(lr_max=inf)"),
    (lambda: fa.sgdr(3.0, 1, 0.1), "sgdr(n_cycles=3.0)"),
    (lambda: fa.combine_scheds([0.5, 0.5], [fa.SchedLin(0, 1), 1.0]), "combine_scheds(scheds[1])"),
    # fastai's discriminative rates: each group's value is checked, named by its index
    (lambda: fa.SchedLin([0.1, "x"], 1.0), "SchedLin(start[1]='x'): start[1] must be a real number"),
    (lambda: fa.SchedNo(1.0, [0.1, True]), "SchedNo(end[1]=True)"),
    (lambda: fa.SchedExp(np.array([0.1, np.inf]), 1.0), "SchedExp(start[1]=inf): start[1] must be finite"),
    (lambda: fa.SchedLin([0.1, 0.2, 0.3], [1.0, 2.0]), "SchedLin(end=[1.0, 2.0]): end must be one value per "
                                                        "parameter group (3, as start)"),
    (lambda: fa.SchedCos([], 1.0), "SchedCos(start=[]): start must be one value per parameter group (not empty)"),
    (lambda: fa.SchedPoly(0.0, 1.0, [2.0, 0.0]), "SchedPoly(power=[2.0, 0.0]): power must be positive"),
    (lambda: fa.combined_cos(0.25, [1e-4, None], 1e-3, 1e-8), "combined_cos(start[1]=None)"),
    (lambda: fa.one_cycle(100, [1e-3, float("nan")]), "one_cycle(lr_max[1]=nan): lr_max[1] must be finite"),
    (lambda: fa.fit_one_cycle(100, (1e-3, "x")), "fit_one_cycle(lr_max[1]='x')"),
    (lambda: fa.flat_cos(100, slice(1e-5, float("inf")), n_groups=2), "flat_cos(lr.stop=inf): lr.stop must be finite"),
    (lambda: fa.sgdr(2, 1, slice(-1e-5, 1e-3), n_groups=2), "sgdr(lr_max.start=-1e-05): lr_max.start must be "
                                                            "positive"),
    (lambda: fa.one_cycle(100, slice(1e-3), n_groups=True), "one_cycle(n_groups=True)"),
    (lambda: fa.one_cycle(100, slice(1e-3)), "one_cycle(lr_max=slice(None, 0.001, None)): lr_max must be given "
                                             "with n_groups"),
    (lambda: fa.per_step([fa.SchedLin(0, 1), "x"], 10), "per_step(schedule[1]='x')"),
    (lambda: fa.per_step([], 10), "per_step(schedule=[])"),
    (lambda: fa.combine_scheds([0.5, 0.5], 0.1), "combine_scheds(scheds=0.1)"),
    (lambda: fa.combine_scheds([0.5, 0.5], [[fa.SchedLin(0, 1), "x"], fa.SchedLin(0, 1)]),
     "combine_scheds(scheds[0][1]='x')"),
    (lambda: timm.cosine(0.1, 10, warmup_prefix="yes"), "cosine(warmup_prefix='yes')"),
    (lambda: timm.multistep(0.1, {30, 60}), "multistep(decay_t={"),
])
def test_compat_constructors_check_their_arguments(build, message):
    """The compat constructors compute with their arguments before building core schedules: the
    argument's declared kind is checked first, naming the library's function and argument."""
    refuses(build, message)


def test_every_public_compat_constructor_is_checked():
    for module in (tc, ox, fa, hf, timm):
        for name in module.__all__:
            obj = getattr(module, name)
            if inspect.isfunction(obj):
                assert getattr(obj, "__lrsched_checked__", False), f"{module.__name__}.{name} lacks @checked"


def test_every_field_declares_its_kind():
    """Fields that are not plain numbers declare their kind (a schedule, a flag, a choice...): a
    registered class whose static field or schedule-holding field has no declaration fails here."""
    import lrsched.compat  # noqa: F401 - registers the compat nodes
    for name, cls in lrsched.Schedule._registry.items():
        for f in dataclasses.fields(cls):
            kind = field_kind(f)
            text = str(f.type)
            if f.metadata.get("static"):
                assert kind.name in ("flag", "choice", "function", "internal"), (name, f.name)
            elif "Schedule" in text:
                assert kind.name in ("schedule", "schedules", "operand"), (name, f.name, text)
            elif "Leaves" in text:
                assert kind.name == "numbers", (name, f.name)
            else:
                assert kind.name in ("number", "count"), (name, f.name)


# -------------------------------------------------------------- traced values


def test_traced_values_pass_unchecked_and_vmap_grad_still_work():
    rows = jax.vmap(lambda b: lrsched.cosine(0.1, b)(50))(jnp.array([100, -5]))  # -5: not checked when traced
    assert np.isfinite(float(rows[0]))
    f = jax.jit(lambda patience, seed: lrsched.plateau(lrsched.noise(C, 0.1, seed=seed), patience=patience).init())
    f(2.5, 1.5)  # fractions are not checked when traced
    g = jax.grad(lambda x: lrsched.exponential(x, jnp.bfloat16(0.5))(3))(1.0)
    assert float(g) == pytest.approx(0.125)
    batched = jax.vmap(lambda k: tc.StepLR(0.1, k)(9))(jnp.array([3, 5]))
    np.testing.assert_allclose(batched, [0.1 * 0.1**3, 0.1 * 0.1])


def test_traced_values_of_the_wrong_dtype_refuse():
    refuses(lambda: jax.vmap(lambda b: lrsched.cosine(0.1, b)(5))(jnp.array([True, False])),
            "cosine(steps=<traced bool[]>)", "A traced array of bool is not a real number")


# ---------------------------------------------------------------------- steps


def test_unsigned_steps_beyond_the_signed_range_refuse():
    """Finding: cosine(...)(jnp.uint32([3e9])) gave the step-0 value (the uint32 wrapped to a negative int32)."""
    s = lrsched.linear(0.0, 1.0, 2**31 - 1)
    refuses(lambda: s(jnp.uint32([3e9])), "step 3000000000 does not fit in int32", "jax_enable_x64")
    refuses(lambda: s(np.array([3e9], np.uint32)), "does not fit in int32")
    refuses(lambda: lrsched.evaluate(s, np.array([3e9], np.uint32)), "does not fit in int32")
    np.testing.assert_allclose(s(jnp.uint32([2**31 - 1])), [1.0])  # in range: fine
    # traced: the values are unknown, so the step saturates at the largest one instead of wrapping to step 0
    assert float(jax.jit(s)(jnp.uint32(3_000_000_000))) == 1.0
    with jax.enable_x64(True):
        assert float(s(np.uint32(3_000_000_000))) == 1.0  # fits int64
        refuses(lambda: s(np.array([2**63], np.uint64)), "does not fit in int64")


@pytest.mark.parametrize("bad,message", [(True, "step True is a bool"), (np.bool_(False), "is a bool"),
                                         (jnp.array([True]), "dtype bool"), ("3", "is a str"),
                                         (np.array([1 + 1j]), "dtype complex128"), (None, "NoneType")])
def test_steps_that_are_not_step_counts_refuse(bad, message):
    refuses(lambda: lrsched.cosine(1.0, 10)(bad), message)


def test_evaluate_takes_an_int_count_or_an_array():
    """Finding: evaluate(s, 5.0) returned one value and evaluate(s, True) evaluated step 1."""
    s = lrsched.linear(1.0, 0.0, 4)
    refuses(lambda: lrsched.evaluate(s, 5.0), "evaluate(steps=5.0)", "a float is neither", "[5.0]")
    refuses(lambda: lrsched.evaluate(s, np.float32(5.0)), "a float is neither")
    refuses(lambda: lrsched.evaluate(s, True), "evaluate(steps=True)", "not a bool")
    refuses(lambda: lrsched.evaluate(s, "5"), "A str is neither")
    refuses(lambda: lrsched.evaluate(s, {1, 2}), "A set is neither")
    refuses(lambda: lrsched.evaluate(s, [1.0, float("nan")]), "must be finite")
    refuses(lambda: lrsched.evaluate(s, -1), "must be >= 0")
    assert lrsched.evaluate(s, 5).shape == (5,)
    assert lrsched.evaluate(s, np.int64(3)).shape == (3,)
    np.testing.assert_array_equal(lrsched.evaluate(s, [2.0]), [0.5])
    # a 0-d array could be read as a count (np.int64(2) is one) or as one step: it refuses either way
    for zero_d in (np.asarray(2), jnp.int32(2), jnp.asarray(2.0)):
        refuses(lambda: lrsched.evaluate(s, zero_d), "a 0-d array is ambiguous", "int(n)", "[n]")
    np.testing.assert_array_equal(lrsched.evaluate(s, jnp.asarray([2])), [0.5])


# ------------------------------------------------------------- batched schedules


def _batched_join():
    def make(v, b):
        return lrsched.join([lrsched.linear(0.0, v, b), lrsched.cosine(v, 20), lrsched.constant(0.1 * v)], [b, b + 20])
    return sweep.grid(make, v=[0.5, 1.0, 2.0], b=[5, 10])


def test_batched_join_repr_and_config_keep_every_entry():
    """Finding: the repr and to_config of a batched join indexed the sweep axis instead of the piece axis,
    losing entries, and from_config failed."""
    batched, configs = _batched_join()
    text = repr(batched)
    assert text.count("linear(") == 1 and "[0.5, 0.5, 1.0, 1.0, 2.0, 2.0]" in text
    config = lrsched.to_config(batched)
    assert [p["type"] for p in config["schedules"]] == ["linear", "cosine", "constant"]
    assert np.shape(config["boundaries"]) == (6, 2)
    again = lrsched.from_config(json.loads(json.dumps(config)))
    assert jax.tree.structure(again) == jax.tree.structure(batched)
    assert lrsched.to_config(again) == config
    steps = jnp.arange(60)
    want = np.stack([lrsched.evaluate(s, 60) for s in sweep.unstack(batched)])
    # (an ulp or two apart: op by op, XLA rounds a multiply and an add separately, where evaluate's compiled
    # program contracts them into one FMA)
    np.testing.assert_allclose(jax.vmap(lambda s: s(steps))(again), want, rtol=5e-7, atol=1e-7)
    for s, c in zip(sweep.unstack(again), configs):  # each entry is the join of its own configuration
        np.testing.assert_array_equal(lrsched.evaluate(s, 60), lrsched.evaluate(
            lrsched.join([lrsched.linear(0.0, c["v"], c["b"]), lrsched.cosine(c["v"], 20),
                          lrsched.constant(0.1 * c["v"])], [c["b"], c["b"] + 20]), 60))


def test_batched_join_from_vmap_and_nested_round_trips():
    pieces = lambda v: [lrsched.cosine(v, 10), lrsched.cosine(2 * v, 10)]  # noqa: E731
    made = jax.vmap(lambda v, b: lrsched.warmup(lrsched.join(pieces(v), jnp.reshape(b, (1,))), 3))(
        jnp.array([0.1, 0.2]), jnp.array([4, 7]))
    config = lrsched.to_config(made)
    again = lrsched.from_config(json.loads(json.dumps(config)))
    steps = jnp.arange(30)
    np.testing.assert_allclose(jax.vmap(lambda s: s(steps))(again), jax.vmap(lambda s: s(steps))(made))
    assert repr(again) == repr(made)


def test_evaluate_refuses_a_batch_and_plot_draws_each_entry():
    """Finding: evaluate/plot of a batched schedule failed with a JAX shape error."""
    batched, _ = sweep.grid(lrsched.cosine, init_value=[0.1, 0.2, 0.3], steps=50)
    refuses(lambda: lrsched.evaluate(batched, 10), "holds a batch of 3 schedules", "sweep.unstack", "jax.vmap")
    refuses(lambda: lrsched.evaluate(_batched_join()[0], 10), "holds a batch of 6 schedules")
    ax = lrsched.plot(batched, 50)
    assert [line.get_label() for line in ax.lines] == ["#0", "#1", "#2"]
    for line, s in zip(ax.lines, sweep.unstack(batched)):
        np.testing.assert_array_equal(line.get_ydata(), lrsched.evaluate(s, 50))
    ax = lrsched.plot(_batched_join()[0], 40, label="join")
    assert len(ax.lines) == 6 and ax.lines[5].get_label() == "join #5"
    import matplotlib.pyplot as plt
    plt.close("all")


def test_grid_names_a_list_read_as_an_axis():
    """Finding: sweep.grid(multistep, milestones=[30, 60]) said "Sort milestones"."""
    e = refuses(lambda: sweep.grid(lrsched.multistep, init_value=1.0, gamma=0.1, milestones=[30, 60]),
                "grid(milestones=[30, 60]): multistep needs a sequence for milestones",
                "grid reads every list as an axis", "milestones=[[30, 60]]")
    assert e.field == "milestones"
    refuses(lambda: sweep.grid(tc.MultiStepLR, base_lr=1.0, milestones=[30, 60]), "MultiStepLR needs a sequence")
    batched, configs = sweep.grid(lrsched.multistep, init_value=1.0, gamma=0.1, milestones=[[30, 60]])
    assert batched.milestones.shape == (1, 2) and configs[0]["milestones"] == [30, 60]
    # an axis of numbers that fail for another reason keeps the generic message
    refuses(lambda: sweep.grid(lrsched.cosine, init_value=1.0, steps=[0, 10]), "configuration {'steps': 0} is invalid")


# ---------------------------------------------------------------------- finder


def _loss(w, b):
    return jnp.mean((b[0] * w - b[1]) ** 2)


def test_finder_refuses_stacked_arrays_of_different_lengths():
    """Finding: (x_steps_100, y_steps_50) was iterated as two per-step batches: a plausible wrong curve."""
    x, y = jnp.ones((100, 8)), 3 * jnp.ones((50, 8))
    for run in (lambda: lr_range_test(_loss, jnp.zeros(()), (x, y), num_steps=20),
                lambda: repeated_range_test(_loss, jnp.zeros(()), (x, y), repeats=2, num_steps=20),
                lambda: lr_sweep(_loss, jnp.zeros(()), (x, y), lrs=[0.1])):
        refuses(run, "stacked batches need the same leading (step) size", "batches[0]: 100, batches[1]: 50")
    refuses(lambda: lr_range_test(_loss, jnp.zeros(()), {"x": x, "y": y}, num_steps=5), "batches['y']: 50")
    r = lr_range_test(_loss, jnp.zeros(()), (x[:50], y), num_steps=20, diverge_factor=None)
    assert len(r.lrs) == 20
    r = lr_range_test(_loss, jnp.zeros(()), [(x[i], y[i]) for i in range(5)], num_steps=5, diverge_factor=None)
    assert len(r.lrs) == 5  # a list is still a sequence of per-step batches


# ------------------------------------------------------------------ arithmetic


def test_division_and_powers_build_nodes():
    """Finding: s / 2, 1 / s and s ** 2 raised TypeError while *, + and - worked."""
    s, r = lrsched.linear(1.0, 2.0, 4), lrsched.cosine(1.0, 4, end_value=0.5)
    t = np.arange(6)
    vs, vr = lrsched.evaluate(s, t).astype(np.float64), lrsched.evaluate(r, t).astype(np.float64)
    for node, want, cls in [(s / 2, vs / 2, lrsched.Div), (1 / s, 1 / vs, lrsched.Div), (s / r, vs / vr, lrsched.Div),
                            (s ** 2, vs**2, lrsched.Pow), (2 ** s, 2**vs, lrsched.Pow), (s ** r, vs**vr, lrsched.Pow),
                            (s - r, vs - vr, lrsched.Add), (3 - s, 3 - vs, lrsched.Add)]:
        assert isinstance(node, cls)
        np.testing.assert_allclose(lrsched.evaluate(node, t), want, rtol=1e-6)
        again = lrsched.from_config(json.loads(json.dumps(lrsched.to_config(node))))
        np.testing.assert_array_equal(lrsched.evaluate(again, t), lrsched.evaluate(node, t))
    assert repr(s / 2) == "div(left=linear(init_value=1.0, end_value=2.0, steps=4), right=2)"
    assert repr(2 ** s).startswith("pow(left=2, right=linear(")
    assert isinstance(np.float32(2.0) / s, lrsched.Div) and isinstance(np.float64(2.0) ** s, lrsched.Pow)
    refuses(lambda: s / "2", "div(right='2')")
    refuses(lambda: "2" ** s, "pow(left='2')")
    refuses(lambda: s - "x", "sub(right='x')")


def test_division_and_powers_vmap_and_grad():
    def f(d, e):
        return (lrsched.linear(1.0, 2.0, 4) / d + lrsched.linear(1.0, 2.0, 4) ** e)(2)

    rows = jax.vmap(f)(jnp.array([2.0, 4.0]), jnp.array([1.0, 2.0]))
    np.testing.assert_allclose(rows, [1.5 / 2 + 1.5, 1.5 / 4 + 2.25], rtol=1e-6)
    gd, ge = jax.grad(f, argnums=(0, 1))(2.0, 2.0)
    np.testing.assert_allclose([gd, ge], [-1.5 / 4, 1.5**2 * np.log(1.5)], rtol=1e-6)
    g0 = jax.grad(lambda e: (lrsched.linear(1.0, 0.0, 2) ** e)(5))(2.0)  # base 0: the exponent's derivative is 0
    assert float(g0) == 0.0


@pytest.mark.parametrize("build,message", [
    (lambda: lrsched.join(C, [3]), "join(schedules): expected a list of lrsched Schedules; got Constant"),
    (lambda: lrsched.join(5, []), "join(schedules): expected a list of lrsched Schedules; got int"),
    (lambda: lrsched.join("ab", []), "join(schedules): expected a list of lrsched Schedules; got str"),
    # keys of mixed types would fail in sorted() with a TypeError; each key and scale is checked first
    (lambda: ox.piecewise_constant_schedule(1.0, {3: 0.5, "5": 0.1}), "boundaries_and_scales['5']='5'"),
    (lambda: ox.piecewise_constant_schedule(1.0, {3: None}), "boundaries_and_scales[3]=None"),
    (lambda: ox.piecewise_constant_schedule(1.0, {True: 0.5}), "Bools are not numbers"),
])
def test_containers_of_the_wrong_shape_refuse_before_any_jax_call(build, message):
    refuses(build, message)


@pytest.mark.parametrize("build", [lambda: lrsched.cosine(1.0, steps=[]), lambda: lrsched.constant(np.zeros((0,))),
                                   lambda: lrsched.exponential(jnp.zeros((0,)), 0.9),
                                   lambda: _timm().poly(base_lr=[], t_initial=10)],
                         ids=["list", "numpy", "jax", "compat"])
def test_an_empty_array_for_a_number_is_refused_at_construction(build):
    """A number field may hold a batch of numbers (a sweep without vmap), but not an empty one: every value
    would be an empty array, failing later inside an optimizer ("incompatible shapes"). A sequence field may be
    empty (multistep without milestones)."""
    with pytest.raises(ScheduleError, match="not an empty array.*Pass one number"):
        build()
    assert float(lrsched.multistep(1.0, [], 0.5)(10)) == 1.0


def test_a_join_of_batched_pieces_is_refused_and_a_batch_of_joins_evaluates():
    """A join's pieces are single schedules: one holding a batch (array numbers) is refused at construction
    (it failed at the first call with a reshape error inside JAX); a batch of joins (lrsched.sweep.stack)
    evaluates per entry without vmap too, as every batched schedule does (numpy's broadcasting rule)."""
    with pytest.raises(ScheduleError, match=r"join\(schedules\[0\].*batch of \(2,\).*sweep.stack"):
        lrsched.join([lrsched.constant([0.1, 0.2]), lrsched.constant(0.3)], [5])
    joins = [lrsched.join([lrsched.linear(p, 1.0, 4), lrsched.cosine(0.3, 10)], [b]) for p, b in ((0.1, 5), (0.2, 2))]
    batch = sweep.stack(joins)
    np.testing.assert_array_equal(batch(3), [j(3) for j in joins])
    steps = jnp.arange(24).reshape(12, 2)
    np.testing.assert_array_equal(batch(steps), np.stack([joins[0](steps[:, 0]), joins[1](steps[:, 1])], -1))
    np.testing.assert_array_equal(jax.jit(lambda s, t: s(t))(batch, 8), [j(8) for j in joins])


def _timm():
    from lrsched.compat import timm

    return timm


@pytest.mark.parametrize("make", [lambda: lrsched.constant(1e39), lambda: lrsched.cosine(0.1, 4e38),
                                  lambda: lrsched.linear(0.1, -1e39, 10), lambda: lrsched.multistep(1.0, [10], 1e39)],
                         ids=["value", "steps", "end", "gamma"])
def test_numbers_beyond_float32_are_refused_while_schedules_compute_in_float32(make):
    """Finite in float64, inf in float32 (JAX's default): a clear error at construction, not an inf at step 0;
    with x64 on the same schedule is fine."""
    with pytest.raises(ScheduleError, match=r"float32's range .* jax_enable_x64"):
        make()
    with jax.enable_x64(True):
        assert np.isfinite(np.asarray(lrsched.evaluate(make(), 3))).all()


@pytest.mark.parametrize("make, steps, want", [
    (lambda b: lrsched.multistep(0.1, [b(10), b(20)], 0.5), [0, 12, 30], [0.1, 0.05, 0.025]),
    (lambda b: lrsched.join([lrsched.constant(1.0), lrsched.constant(0.5)], [b(10)]), [0, 12], [1.0, 0.5]),
    (lambda b: lrsched.piecewise_constant([b(5)], [1.0, 0.5]), [0, 7], [1.0, 0.5]),
    (lambda b: lrsched.piecewise_linear([0, 10], [b(1.0), b(0.5)]), [0, 5, 10], [1.0, 0.75, 0.5]),
], ids=["multistep milestones", "join boundaries", "piecewise_constant boundaries", "piecewise_linear values"])
def test_bf16_jax_scalars_in_lists_are_numbers(make, steps, want):
    """A model's bf16 numbers (jnp.bfloat16 scalars) inside a list: numbers as anywhere else (numpy cannot stack
    them into one array: a raw 'expected number' TypeError before), checked (unsorted: the project's error)."""
    np.testing.assert_allclose(np.asarray(lrsched.evaluate(make(jnp.bfloat16), steps)), want, rtol=1e-6)
    np.testing.assert_allclose(np.asarray(jax.jit(make(jnp.bfloat16))(jnp.asarray(steps))), want, rtol=1e-6)
    with pytest.raises(ScheduleError, match="non-decreasing"):
        lrsched.multistep(0.1, [jnp.bfloat16(20), jnp.bfloat16(10)], 0.5)
