"""lrsched.keras on Keras 3's JAX backend, with real Keras training (model.fit, compiled train steps).

KERAS_BACKEND=jax is set only while this module imports Keras (Keras reads it once, at import), and the
environment is restored right after, so no other test's process or subprocess inherits it.

- the learning rate applied at every step of ``model.fit`` is ``lrsched.evaluate``'s value at that step
  (a one-weight model whose gradient is exactly 1, so each update is ``-lr``), float32, under x64 with
  float64 weights, and at steps past 2**24 and near 2**31;
- every numeric hyperparameter of every built-in Keras optimizer, scheduled through ``lrsched.keras.inject``
  and run in a jitted ``stateless_apply``, equals the plain optimizer driven eagerly with that step's
  number set on it, step by step; the ones Keras decides on in Python are refused at construction;
- ``model.save`` / ``keras.models.load_model`` in a fresh process keep the schedules and the position,
  and the resumed run equals the uninterrupted one;
- why a callback cannot do it: Keras's compiled step never sees an attribute set between batches.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import textwrap

import numpy as np
import pytest

_before = os.environ.get("KERAS_BACKEND")
os.environ["KERAS_BACKEND"] = "jax"
try:
    import keras
finally:
    if _before is None:
        del os.environ["KERAS_BACKEND"]
    else:
        os.environ["KERAS_BACKEND"] = _before

import jax  # noqa: E402

import lrsched  # noqa: E402
import lrsched.keras as lk  # noqa: E402
from lrsched import sweep  # noqa: E402

assert keras.backend.backend() == "jax", f"Keras was imported earlier with the {keras.backend.backend()!r} backend"

ROOT = pathlib.Path(__file__).resolve().parents[1]


def _run_python(code: str, extra_env: dict[str, str] | None = None, timeout: int = 240) -> dict:
    env = {k: v for k, v in os.environ.items() if k not in ("KERAS_BACKEND", "JAX_ENABLE_X64")}
    env.update(JAX_PLATFORMS="cpu", PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""),
               **(extra_env or {}))
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True, env=env,
                          cwd=ROOT, timeout=timeout)
    assert proc.returncode == 0, proc.stderr[-4000:]
    line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT")][-1]
    return json.loads(line[len("RESULT"):])


# ------------------------------------------------------------------ the learning rate, at every step

# One weight w, input 1, mean absolute error against a target of -1000: the gradient is exactly 1 at every
# step, so plain SGD moves w by exactly -lr(k) at update k, and the applied rate is read off the weights.
RATE_SCRIPT = r'''
import json, sys
import numpy as np
import lrsched, lrsched.keras as lk
import keras

def applied_rates(schedule, steps, start=0, dtype="float32"):
    keras.config.set_floatx(dtype)
    inp = keras.Input((1,))
    model = keras.Model(inp, keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros")(inp))
    model.compile(keras.optimizers.SGD(lk.LearningRateSchedule(schedule)), loss="mae")
    model.optimizer.build(model.trainable_variables)
    model.optimizer.iterations.assign(start)
    weights, read = [], []

    class Record(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            read.append(np.asarray(lk.current(self.model.optimizer)["learning_rate"]).item())

        def on_train_batch_end(self, batch, logs=None):
            weights.append(self.model.layers[-1].kernel.numpy()[0, 0].item())

    model.fit(np.ones((steps, 1), dtype), np.full((steps, 1), -1e3, dtype), batch_size=1, shuffle=False, verbose=0,
              callbacks=[Record()])
    w = np.array([0.0] + weights, dtype)
    return {"applied": (-np.diff(w)).tolist(), "read": read, "w_max": float(np.abs(w).max()),
            "iterations": int(model.optimizer.iterations.numpy())}
'''

SCHEDULE = lrsched.warmup(lrsched.cosine(0.0123456789, 53), 7)  # not float32-representable; holds after 60


def _check_rates(out: dict, expected: np.ndarray, dtype: type) -> None:
    applied = np.asarray(out["applied"], dtype)
    tol = 4 * np.spacing(dtype(out["w_max"]))  # w - lr is rounded to w's precision
    np.testing.assert_allclose(applied, expected, rtol=0, atol=tol)
    np.testing.assert_array_equal(np.asarray(out["read"], dtype), expected)  # what Keras reads: bit for bit
    # a one-step shift would be far outside the tolerance: the schedule changes by much more per step
    assert np.max(np.abs(np.diff(expected))) > 100 * tol


def test_learning_rate_applied_at_every_step_float32():
    ns: dict = {}
    exec(RATE_SCRIPT, ns)
    out = ns["applied_rates"](SCHEDULE, 64)
    assert out["iterations"] == 64
    _check_rates(out, lrsched.evaluate(SCHEDULE, 64), np.float32)


def test_learning_rate_applied_at_every_step_x64_float64_weights():
    out = _run_python(RATE_SCRIPT + r'''
s = lrsched.warmup(lrsched.cosine(0.0123456789, 53), 7)
print("RESULT" + json.dumps({"out": applied_rates(s, 64, dtype="float64"),
                             "ref": lrsched.evaluate(s, 64).tolist(), "dtype": str(lrsched.evaluate(s, 3).dtype)}))
''', {"JAX_ENABLE_X64": "1"})
    assert out["dtype"] == "float64"
    _check_rates(out["out"], np.asarray(out["ref"]), np.float64)


@pytest.mark.parametrize("start", [2**24 + 1, 2**31 - 40])
def test_learning_rate_at_large_step_counts(start):
    s = lrsched.cycle(lrsched.linear(0.0123456789, 0.001, 7), 9)  # changes at every step, forever
    ns: dict = {}
    exec(RATE_SCRIPT, ns)
    out = ns["applied_rates"](s, 24, start=start)
    assert out["iterations"] == start + 24
    _check_rates(out, lrsched.evaluate(s, np.arange(start, start + 24)), np.float32)


# ------------------------------------------------------------------ every hyperparameter of every optimizer

BUILTIN = sorted(n for n in dir(keras.optimizers)
                 if isinstance(getattr(keras.optimizers, n), type)
                 and issubclass(getattr(keras.optimizers, n), keras.optimizers.Optimizer)
                 and n not in ("Optimizer", "LossScaleOptimizer", "MultiOptimizer"))  # wrappers, no defaults


def _numeric_hyperparameters(cls: type) -> dict[str, float]:
    config = cls().get_config()
    out = {k: float(v) for k, v in config.items()
           if isinstance(v, (int, float)) and not isinstance(v, bool) and k not in ("learning_rate", "name")}
    out.setdefault("weight_decay", 0.004)  # None by default in most: drive it anyway
    return out


def test_the_builtin_optimizers_are_all_covered():
    assert {"Adam", "AdamW", "SGD", "RMSprop", "Adagrad", "Adadelta", "Adamax", "Nadam", "Ftrl", "Lion",
            "Lamb", "Adafactor", "Muon"} <= set(BUILTIN)


@pytest.mark.parametrize("name", BUILTIN)
def test_every_numeric_hyperparameter_follows_its_schedule(name):
    """The injected optimizer, compiled, equals the plain one driven eagerly with each step's numbers."""
    cls = getattr(keras.optimizers, name)
    n = 6
    allowed, refused = {}, []
    for k, v in _numeric_hyperparameters(cls).items():
        if lk._refusal(cls, k):
            refused.append(k)
        else:  # down by 2% over the run (betas stay below 1; up to 0.01 from a default of 0)
            allowed[k] = lrsched.linear(v, v * 0.98 if v else 0.01, steps=n)
    allowed["learning_rate"] = lrsched.linear(0.01, 0.004, steps=n)
    fixed = {"use_ema": True}  # so that ema_momentum is used
    rng = np.random.default_rng(0)
    init = [rng.normal(size=(3, 2)).astype(np.float32), rng.normal(size=(2,)).astype(np.float32)]
    grads = [[rng.normal(size=x.shape).astype(np.float32) for x in init] for _ in range(n)]

    for k in refused:  # refused at construction, with the reason and the fix
        with pytest.raises(lrsched.ScheduleError, match=f"{k} cannot follow a schedule.*Pass a number"):
            lk.inject(cls, **{k: lrsched.constant(1.0)})

    # lrsched: one jitted stateless_apply, the schedules evaluated inside it at the iteration count
    opt = lk.inject(cls, **fixed, **allowed)
    variables = [keras.Variable(x, name=f"v{i}") for i, x in enumerate(init)]
    opt.build(variables)
    step = jax.jit(lambda ov, tv, g: opt.stateless_apply(ov, g, tv))
    ov, tv = [v.value for v in opt.variables], [v.value for v in variables]
    ours = []
    for g in grads:
        tv, ov = step(ov, tv, g)
        ours.append([np.asarray(x) for x in tv])

    # reference: the plain Keras optimizer, eagerly, with step k's numbers set on it before update k
    ref_opt = cls(**fixed, **{k: float(lrsched.evaluate(s, [0])[0]) for k, s in allowed.items()})
    ref_vars = [keras.Variable(x, name=f"v{i}") for i, x in enumerate(init)]
    ref_opt.build(ref_vars)
    for k, g in enumerate(grads):
        for h, s in allowed.items():
            setattr(ref_opt, h, float(lrsched.evaluate(s, [k])[0]))
        ref_opt.apply(g, ref_vars)
        for a, b in zip(ours[k], ref_vars):
            np.testing.assert_allclose(a, b.numpy(), rtol=2e-5, atol=1e-6, err_msg=f"{name} step {k}")
    assert int(opt.iterations.numpy()) == 0  # stateless: the optimizer's own variables are untouched
    assert set(opt.schedules) == set(allowed) - {"learning_rate"}
    # the values differ from step 0's: a run with constants would not match the reference
    assert not np.allclose(ours[-1][0], ours[0][0])


def test_an_injected_optimizer_trains_with_model_fit_and_reports_current_values():
    lr, b1 = lrsched.warmup(lrsched.cosine(0.02, 12), 3), lrsched.linear(0.95, 0.85, 12)
    wd = lrsched.linear(0.0, 0.01, 12)
    opt = lk.inject(keras.optimizers.AdamW, learning_rate=lr, beta_1=b1, weight_decay=wd, epsilon=1e-6)
    assert isinstance(opt, keras.optimizers.AdamW) and isinstance(opt, lk.ScheduledOptimizer)
    assert opt.beta_1 is b1 and opt.epsilon == 1e-6  # outside an update the attribute is the schedule
    seen = []

    class Record(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            seen.append({k: float(v) for k, v in lk.current(self.model.optimizer).items()})

    model = _mlp()
    model.compile(opt, loss="mse")
    x, y = _data()
    model.fit(x, y, batch_size=8, epochs=3, shuffle=False, verbose=0, callbacks=[Record()])
    assert len(seen) == 12 and int(opt.iterations.numpy()) == 12
    for k, values in enumerate(seen):
        assert values == {"learning_rate": float(lrsched.evaluate(lr, [k])[0]),
                          "beta_1": float(lrsched.evaluate(b1, [k])[0]),
                          "weight_decay": float(lrsched.evaluate(wd, [k])[0])}


def test_current_reads_through_mixed_precisions_loss_scale_optimizer():
    lr, b1 = lrsched.cosine(0.01, 100), lrsched.linear(0.9, 0.8, 100)
    opt = lk.inject(keras.optimizers.AdamW, learning_rate=lr, beta_1=b1)
    wrapped = keras.optimizers.LossScaleOptimizer(opt)
    assert {k: float(v) for k, v in lk.current(wrapped).items()} == {k: float(v) for k, v in lk.current(opt).items()}
    assert set(lk.current(wrapped)) == {"learning_rate", "beta_1"}
    multi = keras.optimizers.MultiOptimizer([(opt, [])]) if hasattr(keras.optimizers, "MultiOptimizer") else None
    if multi is not None:
        with pytest.raises(lrsched.ScheduleError, match="each of optimizer.optimizers"):
            lk.current(multi)


def test_an_injected_optimizer_pickles_also_into_a_fresh_process(tmp_path):
    """Keras pickles through its saving format (distributed frameworks pickle optimizers and models); an
    injected optimizer's class is made at run time, so its pickle names lrsched.keras's loader, which a fresh
    process imports. As with Keras's own optimizers, a pickled optimizer alone comes back unbuilt (count 0)
    and a pickled model keeps its optimizer's count."""
    import pickle

    lr, b1 = lrsched.warmup(lrsched.cosine(0.02, 12), 3), lrsched.linear(0.95, 0.85, 12)

    def expected(count):
        return {"learning_rate": float(lrsched.evaluate(lr, [count])[0]),
                "beta_1": float(lrsched.evaluate(b1, [count])[0])}

    opt = lk.inject(keras.optimizers.AdamW, learning_rate=lr, beta_1=b1)
    model = _mlp()
    model.compile(opt, loss="mse")
    x, y = _data()
    model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
    plain = pickle.loads(pickle.dumps(keras.optimizers.AdamW(0.01)))
    again = pickle.loads(pickle.dumps(opt))
    assert isinstance(again, lk.ScheduledOptimizer) and type(again).__name__ == "ScheduledAdamW"
    assert int(again.iterations.numpy()) == int(plain.iterations.numpy())
    assert {k: float(v) for k, v in lk.current(again).items()} == expected(int(again.iterations.numpy()))
    restored = pickle.loads(pickle.dumps(model))
    assert isinstance(restored.optimizer, lk.ScheduledOptimizer) and int(restored.optimizer.iterations.numpy()) == 4
    assert {k: float(v) for k, v in lk.current(restored.optimizer).items()} == expected(4)
    path = tmp_path / "model.pickle"
    path.write_bytes(pickle.dumps(model))
    result = _run_python(f"""
        import json, pickle
        import lrsched.keras as lk  # (Keras on the JAX backend, as the saving side had it)
        model = pickle.loads(open({str(path)!r}, "rb").read())
        print("RESULT" + json.dumps({{k: float(v) for k, v in lk.current(model.optimizer).items()}}))
    """)
    assert result == expected(4)


# ------------------------------------------------------------------ save and load

def _mlp():
    keras.utils.set_random_seed(0)
    inp = keras.Input((4,))
    return keras.Model(inp, keras.layers.Dense(1)(keras.layers.Dense(8, activation="tanh")(inp)))


def _data():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(32, 4)).astype(np.float32)
    return x, (x @ np.array([1.0, -2.0, 0.5, 3.0], np.float32))[:, None]


def test_model_save_and_load_in_a_fresh_process_resume_exactly(tmp_path):
    lr = lrsched.warmup(lrsched.cosine(0.0123456789, 40), 5)
    b1 = lrsched.one_cycle_momentum(40)
    wd = lrsched.step_decay(0.01, 5, 0.5)
    model = _mlp()
    model.compile(lk.inject(keras.optimizers.AdamW, learning_rate=lr, beta_1=b1, weight_decay=wd), loss="mse")
    x, y = _data()
    model.fit(x, y, batch_size=8, epochs=2, shuffle=False, verbose=0)  # 8 updates
    path = tmp_path / "model.keras"
    model.save(path)
    plain = tmp_path / "plain.keras"  # a plain Keras optimizer with an lrsched learning rate
    model2 = _mlp()
    model2.compile(keras.optimizers.SGD(lk.LearningRateSchedule(lr)), loss="mse")
    model2.save(plain)
    config = model.optimizer.get_config()
    model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)  # 4 more: the uninterrupted run
    np.save(tmp_path / "x.npy", x)
    np.save(tmp_path / "y.npy", y)

    out = _run_python(f'''
        import json
        import numpy as np
        import lrsched.keras as lk   # registers the classes; also picks the JAX backend
        import keras
        model = keras.models.load_model({str(path)!r})
        opt = model.optimizer
        before = {{"iterations": int(opt.iterations.numpy()), "config": opt.get_config(),
                   "current": {{k: float(v) for k, v in lk.current(opt).items()}}, "type": type(opt).__name__,
                   "schedules": sorted(opt.schedules)}}
        x, y = np.load({str(tmp_path / "x.npy")!r}), np.load({str(tmp_path / "y.npy")!r})
        model.fit(x, y, batch_size=8, epochs=1, shuffle=False, verbose=0)
        plain = keras.models.load_model({str(plain)!r}).optimizer
        print("RESULT" + json.dumps({{"before": before, "weights": [w.numpy().tolist() for w in model.weights],
                                      "plain": [type(plain._learning_rate).__name__,
                                                plain._learning_rate.get_config(),
                                                float(lk.current(plain)["learning_rate"])]}}))
    ''')
    before = out["before"]
    assert before["iterations"] == 8 and before["type"] == "ScheduledAdamW"
    assert before["schedules"] == ["beta_1", "weight_decay"]
    assert before["config"] == json.loads(json.dumps(config))
    assert before["current"] == {"learning_rate": float(lrsched.evaluate(lr, [8])[0]),
                                 "beta_1": float(lrsched.evaluate(b1, [8])[0]),
                                 "weight_decay": float(lrsched.evaluate(wd, [8])[0])}
    for a, b in zip(out["weights"], model.weights):
        np.testing.assert_allclose(np.asarray(a, np.float32), b.numpy(), rtol=1e-6, atol=1e-7)
    assert out["plain"] == ["LearningRateSchedule", {"schedule": lrsched.to_config(lr)},
                            float(lrsched.evaluate(lr, [0])[0])]


def test_learning_rate_schedule_config_round_trip():
    import lrsched.compat.transformers as ct

    lr = lk.LearningRateSchedule(ct.get_wsd_schedule(0.1, 10, 100, num_stable_steps=50))
    config = keras.saving.serialize_keras_object(lr)
    assert config["registered_name"] == "lrsched>LearningRateSchedule"
    again = keras.saving.deserialize_keras_object(json.loads(json.dumps(config)))
    assert isinstance(again, lk.LearningRateSchedule)
    np.testing.assert_array_equal(lrsched.evaluate(again.schedule, 120), lrsched.evaluate(lr.schedule, 120))
    assert config["config"]["schedule"]["type"] == "transformers.wsd" and "transformers.wsd" in repr(again)


# ------------------------------------------------------------------ refusals

def test_bad_schedules_and_hyperparameters_are_refused_clearly():
    with pytest.raises(lrsched.ScheduleError, match="plateau schedule needs the monitored metric"):
        lk.LearningRateSchedule(lrsched.plateau(lrsched.constant(0.1)))
    batched = sweep.stack([lrsched.cosine(0.1, 10), lrsched.cosine(0.2, 10)])
    with pytest.raises(lrsched.ScheduleError, match="not a batched one"):
        lk.LearningRateSchedule(batched)
    with pytest.raises(lrsched.ScheduleError, match="expected an lrsched Schedule; got function"):
        lk.LearningRateSchedule(lambda step: 0.1)
    with pytest.raises(lrsched.ScheduleError, match="clipnorm cannot follow a schedule: Keras decides in Python"):
        lk.inject(keras.optimizers.Adam, clipnorm=lrsched.constant(1.0))
    with pytest.raises(lrsched.ScheduleError, match=r"momentum cannot follow a schedule.*`if self.momentum != 0`"):
        lk.inject(keras.optimizers.SGD, momentum=lrsched.linear(0.95, 0.85, 10))
    with pytest.raises(lrsched.ScheduleError, match="expected a Keras optimizer class"):
        lk.inject("adam", learning_rate=lrsched.constant(0.1))
    with pytest.raises(ValueError, match="not recognized"):  # Keras's own check of unknown arguments
        lk.inject(keras.optimizers.Adam, b1=lrsched.constant(0.9))
    with pytest.raises(lrsched.ScheduleError, match="plateau"):
        lk.inject(keras.optimizers.Adam, beta_1=lrsched.plateau(lrsched.constant(0.9)))

    class Hidden(keras.optimizers.SGD):  # keeps the number under another name: a schedule would do nothing
        def __init__(self, shadow=0.5, **kwargs):
            super().__init__(**kwargs)
            self._shadow = shadow

    with pytest.raises(lrsched.ScheduleError, match="does not keep shadow as the attribute optimizer.shadow"):
        lk.inject(Hidden, shadow=lrsched.constant(0.5))


def test_a_branching_custom_optimizer_fails_clearly_at_its_first_update():
    class Branchy(keras.optimizers.SGD):
        def __init__(self, boost=0.0, **kwargs):
            super().__init__(**kwargs)
            self.boost = boost

        def update_step(self, gradient, variable, learning_rate):
            if self.boost > 0:  # decided in Python: cannot follow a traced value
                gradient = gradient * (1 + self.boost)
            super().update_step(gradient, variable, learning_rate)

    opt = lk.inject(Branchy, boost=lrsched.constant(0.5))
    v = keras.Variable(np.ones(2, np.float32))
    opt.build([v])
    with pytest.raises(lrsched.ScheduleError, match=r"decides in Python on one of the scheduled.*\['boost'\]"):
        jax.jit(lambda ov, tv, g: opt.stateless_apply(ov, g, tv))([x.value for x in opt.variables], [v.value],
                                                                   [np.ones(2, np.float32)])
    assert opt.boost is opt.schedules["boost"]  # restored after the failure


def test_another_backend_is_refused_and_import_leaves_the_environment_alone():
    out = _run_python('''
        import json, os
        import lrsched, lrsched.keras as lk
        import keras
        try:
            lk.LearningRateSchedule(lrsched.constant(0.1))
            err = None
        except lrsched.ScheduleError as e:
            err = str(e)
        print("RESULT" + json.dumps({"backend": keras.backend.backend(), "err": err,
                                     "env": os.environ.get("KERAS_BACKEND")}))
    ''', {"KERAS_BACKEND": "numpy"})
    assert out["backend"] == "numpy" and "need Keras's JAX backend; Keras runs on 'numpy'" in out["err"]
    out = _run_python('''
        import json, os
        import lrsched.keras, keras
        print("RESULT" + json.dumps({"backend": keras.backend.backend(), "env": os.environ.get("KERAS_BACKEND")}))
    ''')
    assert out == {"backend": "jax", "env": None}  # picked for the import only


def test_import_lrsched_imports_no_front_end():
    out = _run_python('''
        import json, sys
        import lrsched, lrsched.optax, lrsched.sweep
        heavy = ("keras", "flax", "orbax", "torch", "matplotlib", "tqdm")
        print("RESULT" + json.dumps(sorted({m.split(".")[0] for m in sys.modules} & set(heavy))))
    ''')
    assert out == []


# ------------------------------------------------------------------ why not a callback

def test_keras_compiled_step_ignores_attributes_set_by_a_callback():
    """The design's reason: a callback setting ``optimizer.momentum`` between batches changes nothing under
    Keras's jitted train step (the number is a constant of the compiled program)."""

    class Momentum(keras.callbacks.Callback):
        def on_train_batch_begin(self, batch, logs=None):
            if batch >= 1:  # after the first batch compiled the step (with 0, SGD built no momentum buffers)
                self.model.optimizer.momentum = 0.9

    inp = keras.Input((1,))
    model = keras.Model(inp, keras.layers.Dense(1, use_bias=False, kernel_initializer="zeros")(inp))
    model.compile(keras.optimizers.SGD(0.1, momentum=0.0), loss="mae")
    model.fit(np.ones((6, 1), np.float32), np.full((6, 1), -1e3, np.float32), batch_size=1, shuffle=False,
              verbose=0, callbacks=[Momentum()])
    # with momentum 0.9 the six steps would move w by -0.1 * (1 + 1.9 + 2.71 + ...); without, by -0.6
    np.testing.assert_allclose(model.layers[-1].kernel.numpy()[0, 0], -0.6, rtol=1e-6)


def test_an_unbuilt_injected_optimizer_builds_and_updates_on_its_first_apply():
    """Keras builds an optimizer inside its first ``apply``: the scheduled values of that update must survive
    the build (its restore put the Schedule objects back: ``float() argument must be ... not 'Constant'``)."""
    grads = [keras.ops.ones((2, 2))]
    plain_var, var = keras.Variable(np.arange(4.0).reshape(2, 2)), keras.Variable(np.arange(4.0).reshape(2, 2))
    keras.optimizers.Adam(0.5, beta_1=0.5).apply_gradients(zip(grads, [plain_var]))
    opt = lk.inject(keras.optimizers.Adam, learning_rate=0.5, beta_1=lrsched.constant(0.5))  # 0.5: float32-exact
    opt.apply_gradients(zip(grads, [var]))
    np.testing.assert_array_equal(np.asarray(var.value), np.asarray(plain_var.value))
    assert opt.beta_1 is opt.schedules["beta_1"]


def test_an_injected_optimizer_is_named_as_keras_names_its_class():
    """Keras names an optimizer after its class (``adam_w``, ``adam_w_1``...): an injected one gets its base
    class's name (its variables' paths match a plain optimizer's), unless a name is given."""
    plain = keras.optimizers.AdamW()
    opt = lk.inject(keras.optimizers.AdamW, beta_1=lrsched.constant(0.9))
    assert plain.name.startswith("adam_w") and opt.name.startswith("adam_w") and opt.name != plain.name
    assert lk.inject(keras.optimizers.AdamW, beta_1=lrsched.constant(0.9), name="mine").name == "mine"

    class Fixed(keras.optimizers.SGD):  # a subclass that names itself keeps its name (and takes no `name`)
        def __init__(self, learning_rate=0.1, weight_decay=None):
            super().__init__(learning_rate=learning_rate, weight_decay=weight_decay, name="fixed")

    class Custom(keras.optimizers.Adam):  # as does one with a default of its own
        def __init__(self, name="my_custom_name", **kwargs):
            super().__init__(name=name, **kwargs)

    assert lk.inject(Fixed, weight_decay=lrsched.constant(0.01)).name == "fixed"
    assert lk.inject(Custom, beta_1=lrsched.constant(0.9)).name == "my_custom_name"


def _keras_equivalents():
    """Keras's own schedules and their lrsched equivalents (docs/keras-and-nnx.md's table)."""
    ks = keras.optimizers.schedules
    return {
        "ExponentialDecay": (ks.ExponentialDecay(0.1, 30, 0.5), lrsched.exponential(0.1, 0.5, 30)),
        "ExponentialDecay staircase": (ks.ExponentialDecay(0.1, 30, 0.5, staircase=True),
                                       lrsched.exponential(0.1, 0.5, 30, staircase=True)),
        # Keras's boundaries are inclusive (values[0] while step <= b0): lrsched's start the next value at b
        "PiecewiseConstantDecay": (ks.PiecewiseConstantDecay([40, 90], [0.1, 0.05, 0.01]),
                                   lrsched.piecewise_constant([41, 91], [0.1, 0.05, 0.01])),
        "PolynomialDecay": (ks.PolynomialDecay(0.1, 150, 0.001, power=2.0),
                            lrsched.polynomial(0.1, 0.001, 150, power=2.0)),
        "InverseTimeDecay": (ks.InverseTimeDecay(0.1, 20, 0.5), lrsched.inverse_time(0.1, 0.5, 20)),
        "CosineDecay": (ks.CosineDecay(0.1, 150, alpha=0.1), lrsched.cosine(0.1, 150, end_value=0.01)),
        "CosineDecay warmup": (ks.CosineDecay(0.0, 120, alpha=0.1, warmup_target=0.1, warmup_steps=30),
                               lrsched.warmup_cosine(0.1, 30, 150, end_value=0.01)),
        # the floor alpha * lr is not decayed by m_mul in Keras: the cosine above it is
        "CosineDecayRestarts": (ks.CosineDecayRestarts(0.1, 20, t_mul=2.0, m_mul=0.8, alpha=0.1),
                                lrsched.cycle(lrsched.cosine(0.9 * 0.1, 20), 20, period_mul=2, decay=0.8)
                                + 0.1 * 0.1),
    }


@pytest.mark.parametrize("name", list(_keras_equivalents()))
def test_keras_schedules_have_the_documented_lrsched_equivalents(name):
    theirs, ours = _keras_equivalents()[name]
    steps = np.arange(200)
    want = np.asarray(jax.jit(jax.vmap(theirs))(steps), np.float64)  # Keras's float32 (on its JAX backend)
    got = np.asarray(lrsched.evaluate(ours, 200), np.float64)
    # Keras computes in float32 without lrsched's care at the ends (up to 3e-3 relative near a cosine's end)
    np.testing.assert_allclose(got, want, rtol=2e-5, atol=3e-7)
