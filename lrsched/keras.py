"""Keras 3 (JAX backend): lrsched schedules as Keras learning-rate schedules and optimizer hyperparameters.

Keras optimizers take a schedule only for ``learning_rate``, and call a plain
callable with no arguments, so an lrsched Schedule cannot be passed as it is.
This module gives:

- :class:`LearningRateSchedule` -- any Schedule as a
  ``keras.optimizers.schedules.LearningRateSchedule`` whose config is
  :func:`lrsched.to_config`, so ``model.save`` / ``keras.models.load_model``
  round-trip it (``import lrsched.keras`` before loading registers it with Keras);
- :func:`inject` -- a Keras optimizer whose other numeric hyperparameters
  (``beta_1``, ``weight_decay``, ``rho``, ...) are schedules too, evaluated inside
  the compiled train step at the optimizer's iteration count;
- :func:`current` -- the values the next update will use, for logging.

Step convention: Keras calls a learning-rate schedule with the optimizer's
iteration count before the update, so update ``k`` (``k = 0, 1, ...``) uses the
value at count ``k``, as in optax and torch. :func:`inject` evaluates every
other schedule at the same count.

Importing this module imports Keras. lrsched schedules are JAX code, so Keras
must run on its JAX backend: when Keras is not imported yet and ``KERAS_BACKEND``
is not set, this module imports Keras with ``KERAS_BACKEND=jax`` (and leaves the
environment as it was); with another backend, :class:`LearningRateSchedule` and
:func:`inject` raise an error that says so.
"""

from __future__ import annotations

import inspect
import os
import sys
from typing import Any

import jax
import numpy as np

from lrsched._config import from_config, to_config
from lrsched._core import Schedule, ScheduleError


def _import_keras() -> Any:
    if "keras" not in sys.modules and "KERAS_BACKEND" not in os.environ:
        os.environ["KERAS_BACKEND"] = "jax"  # Keras reads it once, when it is first imported
        try:
            return _import_keras_module()
        finally:
            del os.environ["KERAS_BACKEND"]
    return _import_keras_module()


def _import_keras_module() -> Any:
    try:
        import keras
    except ImportError as e:
        raise ImportError("lrsched.keras needs Keras 3 with its JAX backend: pip install keras") from e
    if int(keras.__version__.split(".")[0]) < 3:
        raise ImportError(f"lrsched.keras needs Keras 3; found keras {keras.__version__}. pip install -U keras")
    return keras


keras = _import_keras()

__all__ = ["LearningRateSchedule", "inject", "current", "ScheduledOptimizer"]

_PACKAGE = "lrsched"

# Hyperparameters Keras reads outside the update (loss scaling), or branches on in Python inside it
# (`if self.clipnorm and self.clipnorm > 0`, `if self.momentum != 0`), or that fix the optimizer's
# structure (numbers of steps, flags). A value computed inside the compiled step cannot drive them.
_NOT_SCHEDULABLE: dict[str, str] = {
    "clipnorm": "Keras decides in Python whether to clip (`if self.clipnorm and self.clipnorm > 0`)",
    "clipvalue": "Keras decides in Python whether to clip (`if self.clipvalue and self.clipvalue > 0`)",
    "global_clipnorm": "Keras decides in Python whether to clip (`if self.global_clipnorm and ... > 0`)",
    "loss_scale_factor": "Keras applies it to the loss in the train step, outside the optimizer's update",
    "gradient_accumulation_steps": "it is a number of steps that fixes the update's structure",
    "ema_overwrite_frequency": "it is a number of steps that fixes the update's structure",
}
# Per optimizer class (by Keras's public name): hyperparameters its own update branches on in Python.
_NOT_SCHEDULABLE_BY_CLASS: dict[str, dict[str, str]] = {
    "SGD": {"momentum": "keras.optimizers.SGD decides in Python whether momentum is on "
                        "(`if self.momentum != 0`)"},
    "RMSprop": {"momentum": "keras.optimizers.RMSprop decides in Python whether momentum is on "
                            "(`if self.momentum > 0`)"},
    "ScheduleFreeAdamW": {"warmup_steps": "keras.optimizers.ScheduleFreeAdamW decides in Python "
                                          "whether to warm up (`if self.warmup_steps > 0`)"},
    "Muon": {"rms_rate": "keras.optimizers.Muon decides in Python whether to rescale (`if self.rms_rate is None`)",
             "ns_steps": "keras.optimizers.Muon loops over it in Python (a number of Newton-Schulz iterations)"},
}


def _check_backend(where: str) -> None:
    backend = keras.backend.backend()
    if backend != "jax":
        raise ScheduleError(
            f"{where}: lrsched schedules are JAX code and need Keras's JAX backend; Keras runs on {backend!r}. "
            "Set the environment variable KERAS_BACKEND=jax before Keras is first imported"
        )


def _check_schedule(where: str, s: Any) -> Schedule:
    if not isinstance(s, Schedule):
        raise ScheduleError(f"{where}: expected an lrsched Schedule; got {type(s).__name__}. Build one with a "
                            "factory such as lrsched.cosine(...)")
    if s.stateful:
        raise ScheduleError(
            f"{where}: a plateau schedule needs the monitored metric at every update, and a Keras optimizer "
            "sees only the step count. Use keras.callbacks.ReduceLROnPlateau with a float learning rate, or "
            "train with lrsched.optax.inject(..., learning_rate=plateau) (Flax, Optax)"
        )
    try:
        shape = np.shape(jax.eval_shape(s, 0))
    except (TypeError, ValueError) as e:  # a batched schedule (a sweep) cannot broadcast to a scalar step
        raise ScheduleError(f"{where}: {s!r} does not give one value per step ({e}). Keras needs one scalar "
                            "per step: pass a single schedule, not a batched one (lrsched.sweep.index(b, i))"
                            ) from None
    if shape != ():
        raise ScheduleError(f"{where}: {s!r} gives values of shape {shape} at a step; Keras needs one scalar. "
                            "Pass a single schedule, not a batched one (lrsched.sweep.index(batched, i))")
    return s


# ------------------------------------------------------------------ learning rate


_KerasSchedule: Any = keras.optimizers.schedules.LearningRateSchedule


@keras.saving.register_keras_serializable(package=_PACKAGE)
class LearningRateSchedule(_KerasSchedule):
    r"""An lrsched Schedule as a Keras ``LearningRateSchedule``.

    .. math:: \eta_k = s(k), \quad k = \text{optimizer.iterations before update } k

    Keras calls it with the optimizer's iteration count; the value is computed by
    the schedule's JAX code inside the compiled train step (float32, or float64
    under x64; Keras casts it to each variable's dtype). Its config is
    ``{"schedule": lrsched.to_config(schedule)}``, so ``model.save`` and
    ``keras.models.load_model`` keep it (``import lrsched.keras`` before loading,
    which registers the class with Keras as ``"lrsched>LearningRateSchedule"``).

    Args:
      schedule: any lrsched Schedule except a plateau (a Keras schedule sees only
        the step), or a config made by :func:`lrsched.to_config`.

    Examples:
      >>> import keras, lrsched, lrsched.keras
      >>> lr = lrsched.keras.LearningRateSchedule(lrsched.warmup(lrsched.cosine(0.1, 90), 10))
      >>> optimizer = keras.optimizers.Adam(learning_rate=lr)
      >>> float(lr(10)), lr.get_config()["schedule"]["type"]
      (0.10000000149011612, 'warmup')
    """

    def __init__(self, schedule: Schedule | dict[str, Any]):
        _check_backend("lrsched.keras.LearningRateSchedule")
        if isinstance(schedule, dict):
            schedule = from_config(schedule)
        self.schedule = _check_schedule("lrsched.keras.LearningRateSchedule(schedule)", schedule)

    def __call__(self, step: Any) -> Any:
        return self.schedule(keras.ops.convert_to_tensor(step))

    def get_config(self) -> dict[str, Any]:
        return {"schedule": to_config(self.schedule)}

    @classmethod
    def from_config(cls, config: dict[str, Any]) -> LearningRateSchedule:
        return cls(config["schedule"])

    def __repr__(self) -> str:
        return f"lrsched.keras.LearningRateSchedule({self.schedule!r})"


# --------------------------------------------------------------- other hyperparameters


def _keras_name(cls: type) -> str | None:
    """The name of `cls` in ``keras.optimizers`` (a built-in optimizer), else None."""
    for klass in cls.__mro__:
        if getattr(keras.optimizers, klass.__name__, None) is klass:
            return klass.__name__
    return None


def _refusal(base: type, name: str) -> str | None:
    if name in _NOT_SCHEDULABLE:
        return _NOT_SCHEDULABLE[name]
    for klass in base.__mro__:
        reason = _NOT_SCHEDULABLE_BY_CLASS.get(klass.__name__, {}).get(name)
        if reason and getattr(keras.optimizers, klass.__name__, None) is klass:
            return reason
    return None


def _is_lrsched_config(v: Any) -> bool:
    return isinstance(v, dict) and "lrsched_config" in v and "type" in v


@keras.saving.register_keras_serializable(package=_PACKAGE)
class ScheduledOptimizer:
    """The mixin :func:`inject` puts in front of a Keras optimizer class.

    ``isinstance(optimizer, lrsched.keras.ScheduledOptimizer)`` tells an injected
    optimizer; ``optimizer.schedules`` maps each scheduled hyperparameter (other
    than the learning rate) to its Schedule. Keras saves it under the registered
    name ``"lrsched>ScheduledOptimizer"`` with the base optimizer's name and
    every schedule's :func:`lrsched.to_config`.
    """

    _lrsched_base: type
    schedules: dict[str, Schedule]

    def __init__(self, *args: Any, **kwargs: Any):
        base = self._lrsched_base
        schedules: dict[str, Schedule] = {}
        for name, value in list(kwargs.items()):
            if _is_lrsched_config(value):
                value = kwargs[name] = from_config(value)
            if not isinstance(value, Schedule):
                continue
            where = f"lrsched.keras.inject({base.__name__}, {name}=...)"
            _check_schedule(where, value)
            if name == "learning_rate":
                kwargs[name] = LearningRateSchedule(value)
                continue
            reason = _refusal(base, name)
            if reason:
                raise ScheduleError(
                    f"{where}: {name} cannot follow a schedule: {reason}, so it cannot change inside a compiled "
                    f"step. Pass a number for {name}; schedule another hyperparameter (the learning rate, "
                    "beta_1, weight_decay, ...), or use lrsched.optax.inject with optax"
                )
            schedules[name] = value
            kwargs[name] = float(_evaluate(value, 0))  # a number for the constructor's checks
        if kwargs.get("name") is None and _named_after_its_class(base, len(args)):
            kwargs["name"] = _auto_name(base)  # Keras names it after its class: the base's name, not Scheduled...
        super().__init__(*args, **kwargs)  # type: ignore[call-arg]
        for name, s in schedules.items():
            held = getattr(self, name, None)
            if not isinstance(held, (int, float)) or isinstance(held, bool) or held != kwargs[name]:
                raise ScheduleError(
                    f"lrsched.keras.inject({base.__name__}, {name}=...): {base.__name__} does not keep {name} as "
                    f"the attribute optimizer.{name} (it holds {held!r}), so a schedule cannot drive it. Pass a "
                    "number for it"
                )
            setattr(self, name, s)
        self.schedules = schedules

    def _lrsched_values(self) -> dict[str, Any]:
        step = keras.ops.convert_to_tensor(self._iterations)  # type: ignore[attr-defined]
        return {name: s(step) for name, s in self.schedules.items()}

    def apply(self, grads: Any, trainable_variables: Any = None) -> Any:
        """Keras's ``apply`` with every scheduled hyperparameter set to its value at the iteration count."""
        if not self.schedules:
            return super().apply(grads, trainable_variables)  # type: ignore[misc]
        values = self._lrsched_values()
        try:
            for name, v in values.items():
                setattr(self, name, v)
            return super().apply(grads, trainable_variables)  # type: ignore[misc]
        except (jax.errors.TracerBoolConversionError, jax.errors.TracerIntegerConversionError,
                jax.errors.ConcretizationTypeError) as e:
            raise ScheduleError(
                f"lrsched.keras.inject({self._lrsched_base.__name__}, ...): the optimizer's update decides in Python "
                f"on one of the scheduled hyperparameters {sorted(self.schedules)}, so it cannot change inside a "
                "compiled step. Pass a number for that one"
            ) from e
        finally:
            for name, s in self.schedules.items():
                setattr(self, name, s)

    def build(self, var_list: Any) -> Any:
        """Keras's ``build``, with every scheduled hyperparameter at its value at the iteration count."""
        if not getattr(self, "schedules", None) or self.built:  # type: ignore[attr-defined]
            return super().build(var_list)  # type: ignore[misc]
        # what the attributes hold now: the schedules, or inside apply() (Keras builds an unbuilt optimizer
        # there) the values of this update, which the rest of it must see
        held = {name: getattr(self, name) for name in self.schedules}
        try:
            for name, s in self.schedules.items():
                setattr(self, name, float(_evaluate(s, keras.ops.convert_to_numpy(self._iterations))))  # type: ignore[attr-defined]
            return super().build(var_list)  # type: ignore[misc]
        finally:
            for name, value in held.items():
                setattr(self, name, value)

    def get_config(self) -> dict[str, Any]:
        config = super().get_config()  # type: ignore[misc]
        for name, s in self.schedules.items():
            config[name] = to_config(s)
        base = self._lrsched_base
        config["optimizer_class"] = {"keras": _keras_name(base) if _keras_name(base) == base.__name__ else None,
                                     "registered_name": keras.saving.get_registered_name(base),
                                     "module": base.__module__, "class_name": base.__qualname__}
        return config

    @classmethod
    def from_config(cls, config: dict[str, Any], custom_objects: dict[str, Any] | None = None) -> Any:
        config = dict(config)
        base = _resolve_class(config.pop("optimizer_class", None), custom_objects)
        lr = config.get("learning_rate")
        if isinstance(lr, dict) and "class_name" in lr:
            config["learning_rate"] = keras.saving.deserialize_keras_object(lr, custom_objects=custom_objects)
        for name, value in config.items():
            if _is_lrsched_config(value):
                config[name] = from_config(value)
        return _scheduled_class(base)(**config)

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v!r}" for k, v in self.schedules.items())
        return f"<lrsched.keras.inject({self._lrsched_base.__name__}, {shown}) {getattr(self, 'name', '')}>"

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        """pickle (Keras pickles through its saving format): Keras's reduce names this class's classmethod,
        and a class made by :func:`inject` is no module attribute pickle could find; :func:`_unpickle` is
        (and importing it registers the class with Keras again)."""
        reduced: Any = super().__reduce__()  # Keras's: (its loader, (the object saved to memory,))
        return _unpickle, tuple(reduced[1])


def _named_after_its_class(base: type, positional: int) -> bool:
    """Whether Keras names an optimizer of class `base`, built with `positional` arguments and no `name`, after
    its class: its constructor takes a `name` defaulting to None, not among the arguments passed positionally
    (a subclass that fixes its own name, or has another default, keeps it)."""
    params = inspect.signature(base).parameters
    name = params.get("name")
    if name is None or name.default is not None:
        return False
    ordered = [p.name for p in params.values() if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return "name" not in ordered[:positional]


def _auto_name(base: type) -> str | None:
    """The name Keras gives an optimizer of class `base` built without one (``adam_w``, then ``adam_w_1``...),
    or None (Keras then names it after the injected class) where Keras's helper is not found."""
    try:
        from keras.src.utils.naming import auto_name
    except ImportError:
        return None
    return str(auto_name(base.__name__))


def _resolve_class(key: Any, custom_objects: dict[str, Any] | None) -> type:
    if not isinstance(key, dict):
        raise ScheduleError(f"lrsched.keras: a ScheduledOptimizer config needs 'optimizer_class'; got {key!r}")
    if key.get("keras"):
        cls = getattr(keras.optimizers, key["keras"], None)
        if isinstance(cls, type):
            return cls
    for name in (key.get("registered_name"), key.get("class_name")):
        if name:
            cls = keras.saving.get_registered_object(name, custom_objects=custom_objects)
            if isinstance(cls, type):
                return cls
    raise ScheduleError(
        f"lrsched.keras: cannot find the optimizer class {key.get('module')}.{key.get('class_name')} of a saved "
        "ScheduledOptimizer. Register it with @keras.saving.register_keras_serializable(), or pass "
        f"custom_objects={{{key.get('class_name')!r}: TheClass}} to keras.models.load_model"
    )


def _unpickle(saved: Any) -> Any:
    """A pickled :func:`inject` optimizer: Keras's own unpickling of what its ``__reduce__`` saved."""
    return keras.optimizers.Optimizer._unpickle_model(saved)


_CLASSES: dict[type, type] = {}


def _scheduled_class(base: type) -> type:
    """``base`` with :class:`ScheduledOptimizer` in front (one class per base, registered with Keras)."""
    if issubclass(base, ScheduledOptimizer):
        return base
    if base not in _CLASSES:
        cls = type(f"Scheduled{base.__name__}", (ScheduledOptimizer, base), {"_lrsched_base": base,
                                                                             "__module__": __name__})
        # saved under one registered name; its from_config (ScheduledOptimizer's) rebuilds any base
        custom = keras.saving.get_custom_objects()
        name = f"{_PACKAGE}>{ScheduledOptimizer.__name__}"
        keras.saving.register_keras_serializable(package=_PACKAGE, name=ScheduledOptimizer.__name__)(cls)
        custom[name] = ScheduledOptimizer
        _CLASSES[base] = cls
    return _CLASSES[base]


def inject(optimizer_class: type, **hyperparameters: Any) -> Any:
    r"""A Keras optimizer whose hyperparameters may be lrsched schedules.

    .. math:: h_k = s_h(k) \quad \text{for every scheduled hyperparameter } h \text{ at update } k

    ``learning_rate`` becomes a :class:`LearningRateSchedule` (Keras's own
    route); every other hyperparameter given as a Schedule (``beta_1``,
    ``beta_2``, ``weight_decay``, ``epsilon``, ``rho``, ``ema_momentum``, ...) is
    evaluated inside the compiled train step at the optimizer's iteration count,
    the count Keras gives the learning-rate schedule, and set on the optimizer for
    that update. Numbers and other arguments go to the constructor unchanged.

    Why not a callback that sets ``optimizer.beta_1`` between batches: Keras's JAX
    trainer compiles the train step once, with such attributes baked in as
    constants, so a value set later is never seen (tested).

    Refused with an error at construction: a plateau schedule (a Keras optimizer
    sees no metric), a batched schedule, and hyperparameters Keras decides on in
    Python or outside the update (``clipnorm``, ``clipvalue``, ``global_clipnorm``,
    ``loss_scale_factor``, step counts, SGD's and RMSprop's ``momentum``).

    Args:
      optimizer_class: a Keras optimizer class (``keras.optimizers.AdamW``, ...).
      **hyperparameters: its constructor's arguments; any numeric one may be a Schedule.

    Returns:
      An instance of a subclass of `optimizer_class` and of :class:`ScheduledOptimizer`;
      ``model.save`` / ``keras.models.load_model`` keep its schedules.

    Examples:
      >>> import keras, lrsched, lrsched.keras
      >>> opt = lrsched.keras.inject(keras.optimizers.AdamW,
      ...                            learning_rate=lrsched.one_cycle(1000, peak_value=1e-2),
      ...                            beta_1=lrsched.one_cycle_momentum(1000), weight_decay=0.01)
      >>> isinstance(opt, keras.optimizers.AdamW), sorted(opt.schedules)
      (True, ['beta_1'])
      >>> {k: round(float(v), 4) for k, v in lrsched.keras.current(opt).items()}
      {'learning_rate': 0.0004, 'beta_1': 0.95}
    """
    _check_backend("lrsched.keras.inject")
    if not (isinstance(optimizer_class, type) and issubclass(optimizer_class, keras.optimizers.Optimizer)):
        raise ScheduleError(f"lrsched.keras.inject(optimizer_class): expected a Keras optimizer class such as "
                            f"keras.optimizers.Adam; got {optimizer_class!r}")
    return _scheduled_class(optimizer_class)(**hyperparameters)


def current(optimizer: Any) -> dict[str, Any]:
    """The learning rate and every scheduled hyperparameter the next update will use, by name.

    After ``k`` updates (``optimizer.iterations == k``) the values are those at
    count ``k``. Works for any Keras optimizer (the learning rate alone for one
    that is not :func:`inject`'s), and through the ``LossScaleOptimizer`` that
    ``compile`` wraps it in under a mixed-precision policy.

    Examples:
      >>> import keras, lrsched, lrsched.keras
      >>> opt = keras.optimizers.SGD(lrsched.keras.LearningRateSchedule(lrsched.linear(0.1, 0.0, 10)))
      >>> lrsched.keras.current(opt)
      {'learning_rate': Array(0.1, dtype=float32)}
    """
    if not isinstance(optimizer, keras.optimizers.Optimizer):
        raise ScheduleError(f"lrsched.keras.current(optimizer): expected a Keras optimizer; got "
                            f"{type(optimizer).__name__}")
    if isinstance(optimizer, keras.optimizers.MultiOptimizer):
        raise ScheduleError("lrsched.keras.current(optimizer): a MultiOptimizer holds several optimizers, each with "
                            "its own values. Call current() on each of optimizer.optimizers")
    while isinstance(optimizer, keras.optimizers.LossScaleOptimizer):  # (mixed precision's compile wraps it)
        optimizer = optimizer.inner_optimizer  # whose count and hyperparameters the updates use
    step = np.asarray(keras.ops.convert_to_tensor(optimizer._iterations))
    lr = optimizer._learning_rate
    if isinstance(lr, LearningRateSchedule):  # jitted, as in the train step (eager rounding can differ by an ulp)
        out = {"learning_rate": _evaluate(lr.schedule, step)}
    else:
        out = {"learning_rate": keras.ops.convert_to_tensor(optimizer.learning_rate)}
    if isinstance(optimizer, ScheduledOptimizer):
        out.update({name: _evaluate(s, step) for name, s in optimizer.schedules.items()})
    return out


_evaluate = jax.jit(lambda s, step: s(step))
