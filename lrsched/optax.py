"""Optax transformations that keep schedules (and plateau state) in the optimizer state.

A Schedule is callable, so ``optax.adam(schedule)`` and
``optax.chain(..., optax.scale_by_schedule(schedule))`` work as they are. This
module goes further:

- :func:`scale_by_schedule` holds the schedule itself in the state, so one
  compiled update serves every schedule of the same structure, ``jax.vmap`` over
  states trains many configurations in one program, and changing a number never
  recompiles.
- :func:`inject` makes any hyperparameter of an optax factory a schedule (or a
  number held in the state), in float32 whatever the parameters' dtype.
- :func:`current` reads the current values for logging; :func:`restore` (from
  :mod:`lrsched.checkpoint`) checks a checkpoint's structure before restoring it.

Both transformations take a :func:`lrsched.plateau` schedule's metric through
optax's extra arguments: ``tx.update(grads, state, params, value=loss)``.

Step convention: update ``k`` (``state.count == k``) uses the value at count
``k``; a plateau's metric passed with update ``k`` takes effect from update
``k + 1`` (torch's order: ``optimizer.step()`` then ``scheduler.step(loss)``).
"""

from __future__ import annotations

import warnings
from typing import Any, Callable, NamedTuple, cast

import jax
import jax.numpy as jnp
import numpy as np
import optax

from lrsched._core import (
    Schedule,
    ScheduleError,
    StatefulSchedule,
    children,
    need_schedule,
    repr_arg,
    schedule_class,
    static_field,
)
from lrsched._numerics import INT32_MAX, as_float, float_dtype
from lrsched._plateau import PlateauState, scalar_metric
from lrsched._tree import fingerprint
from lrsched.checkpoint import pure as _pure
from lrsched.checkpoint import register as _register_flax
from lrsched.checkpoint import restore as restore

__all__ = ["scale_by_schedule", "inject", "current", "StepFunction", "values", "restore", "ScheduleState",
           "InjectState"]


class ScheduleState(NamedTuple):
    """State of :func:`scale_by_schedule`.

    Attributes:
      count: updates done (int32, saturating at ``2**31 - 1``).
      schedule: the schedule itself (its numbers are leaves of the state).
      plateau: the :class:`~lrsched.PlateauState` when the schedule is a plateau, else None.
      structure: an int32 fingerprint of the schedule's structure (checked by :func:`restore`).
    """

    count: jax.Array  # type: ignore[assignment]  # the field shadows tuple.count
    schedule: Schedule
    plateau: PlateauState | None
    structure: jax.Array


class InjectState(NamedTuple):
    """State of :func:`inject`.

    Attributes:
      count: updates done (int32, saturating at ``2**31 - 1``).
      hyperparams: the injected hyperparameters: schedules, or numbers as float arrays.
      plateau: the plateau state of every hyperparameter that is a plateau schedule.
      structure: an int32 fingerprint of the hyperparameters' structure.
      inner_state: the wrapped optimizer's state.
    """

    count: jax.Array  # type: ignore[assignment]  # the field shadows tuple.count
    hyperparams: dict[str, Any]
    plateau: dict[str, PlateauState]
    structure: jax.Array
    inner_state: Any


# ----------------------------------------------------------------- helpers


@schedule_class("step_function")
class StepFunction(Schedule):
    """A schedule given as code: any JAX function of the step count (an optax schedule such as
    ``optax.cosine_decay_schedule(...)``). :func:`inject` holds a callable hyperparameter this
    way, so that :func:`current` can report it. Its numbers live in the function, not in the
    state: a checkpoint does not hold them and a config cannot (``to_config`` refuses)."""

    fn: Callable[[jax.Array], Any] = static_field()

    def compute(self, t):
        return jnp.asarray(self.fn(t))

    def config_args(self) -> dict[str, Any]:
        raise ScheduleError(
            f"to_config(step_function): {repr_arg(self.fn)} is a Python function (an optax schedule, say), code "
            "rather than data, so a config cannot hold it. Use an lrsched schedule instead (lrsched.compat.optax "
            "has optax's schedules as data), or rebuild this one from your code after loading")

    def __repr__(self) -> str:
        return f"step_function(fn={repr_arg(self.fn)})"


def _is_step_function(fn: Any) -> bool:
    """Whether `fn` maps a step count to one number (an optax schedule), judged from its shapes only."""
    try:
        out = jax.eval_shape(fn, jax.ShapeDtypeStruct((), jnp.int32))
    except Exception:  # noqa: BLE001 - anything that cannot take a step count is not a schedule
        return False
    return isinstance(out, jax.ShapeDtypeStruct) and out.shape == () and jnp.issubdtype(out.dtype, jnp.number)


def _check_plateau_outermost(where: str, s: Schedule) -> None:
    """A stateful schedule (a plateau) gets its state only at the top level; a nested one would
    stay at its initial state forever."""
    stack = list(children(s))
    while stack:
        x = stack.pop()
        if x.stateful:
            raise ScheduleError(
                f"{where}: a {x.factory_name} schedule is nested inside {s.factory_name}(...); its state would "
                "never be updated. Put the plateau outermost, e.g. plateau(warmup(cosine(...), 100), start=100)"
            )
        stack.extend(children(x))


def _state_leaves(s: Schedule) -> Schedule:
    """The schedule with every numeric leaf a JAX array of the default dtypes (strongly typed),
    so schedules built from Python numbers or numpy share one compiled update."""

    def conv(x):
        dt = jnp.result_type(x)
        if jnp.issubdtype(dt, jnp.bool_):
            return jnp.asarray(x)
        if jnp.issubdtype(dt, jnp.integer):
            return jnp.asarray(x).astype(jax.dtypes.canonicalize_dtype(np.int64))
        return jnp.asarray(x).astype(float_dtype())

    return jax.tree.map(conv, s)


def _increment(count: jax.Array) -> jax.Array:
    return jnp.where(count < INT32_MAX, count + 1, jnp.asarray(INT32_MAX, jnp.int32)).astype(jnp.int32)


def _value_at(s: Schedule, count: jax.Array, plateau_state: PlateauState | None) -> jax.Array:
    if s.stateful:
        return cast(StatefulSchedule, s)(count, plateau_state)
    return s(count)


def values(hyperparams: dict[str, Any], count: Any, plateau: dict[str, Any]) -> dict[str, jax.Array]:
    """Every hyperparameter's value at `count`: schedules evaluated (a plateau under its
    state in `plateau`), numbers as float arrays. :func:`inject` and :func:`current` use it.

    Examples:
      >>> import lrsched, lrsched.optax
      >>> lrsched.optax.values({"learning_rate": lrsched.linear(1.0, 0.0, 4), "momentum": 0.9}, 1, {})
      {'learning_rate': Array(0.75, dtype=float32), 'momentum': Array(0.9, dtype=float32)}
    """
    return {k: _value_at(v, count, plateau.get(k)) if isinstance(v, Schedule) else as_float(v)
            for k, v in hyperparams.items()}


_VALUES_AT: dict[int, Callable] = {}


def _values_at(batch_dims: int) -> Callable:
    """:func:`values`, jitted (so that :func:`current` rounds exactly as the update does, eagerly too)
    and mapped over the batch axes of a sweep's state; one function per number of batch axes."""
    if batch_dims not in _VALUES_AT:
        at = values
        for _ in range(batch_dims):  # a batched state (a sweep built with vmap): map the batch axes
            at = jax.vmap(at)
        _VALUES_AT[batch_dims] = jax.jit(at)
    return _VALUES_AT[batch_dims]


def _metric(where: str, extra_args: dict[str, Any]) -> Any:
    value = extra_args.get("value")
    if value is None:
        raise ScheduleError(
            f"{where}: a plateau schedule needs the monitored metric at every update; "
            "pass it as an extra argument: tx.update(grads, state, params, value=loss)"
        )
    return scalar_metric(f"{where}: tx.update(..., value=...)", value)


# ----------------------------------------------------------- scale_by_schedule


def scale_by_schedule(schedule: Schedule) -> optax.GradientTransformationExtraArgs:
    r"""Multiply updates by ``schedule(count)``, with the schedule held in the state.

    .. math:: u_k \leftarrow s(k) \, u_k

    Like ``optax.scale_by_schedule`` (no sign flip), but the schedule's numbers
    are leaves of the state (:class:`ScheduleState`): the update reads the
    schedule from the state, so one compiled update serves every schedule of
    the same structure, and ``jax.vmap`` over states trains a batch of
    schedules at once:

    .. code-block:: python

       states = jax.vmap(lambda s: scale_by_schedule(s).init(params))(batched_schedule)
       updates, states = jax.vmap(tx.update)(grads, states)

    A :func:`lrsched.plateau` schedule takes its metric as
    ``tx.update(grads, state, params, value=loss)``. The count saturates at
    ``2**31 - 1`` instead of overflowing.

    Args:
      schedule: any lrsched Schedule (a plateau only at the top level).

    Returns:
      An ``optax.GradientTransformationExtraArgs``.

    Examples:
      >>> import jax.numpy as jnp, lrsched, lrsched.optax
      >>> tx = lrsched.optax.scale_by_schedule(lrsched.linear(1.0, 0.0, steps=4))
      >>> state = tx.init({"w": jnp.zeros(2)})
      >>> for _ in range(3):
      ...     updates, state = tx.update({"w": jnp.ones(2)}, state)
      >>> updates["w"], lrsched.optax.current(state)["schedule"]
      (Array([0.5, 0.5], dtype=float32), Array(0.25, dtype=float32))
    """
    need_schedule("scale_by_schedule(schedule)", schedule)
    _check_plateau_outermost("scale_by_schedule(schedule)", schedule)

    def init_fn(params):
        del params
        _register_flax()
        s = _state_leaves(schedule)
        return ScheduleState(
            count=jnp.zeros((), jnp.int32),
            schedule=s,
            plateau=cast(StatefulSchedule, s).init() if s.stateful else None,
            structure=jnp.asarray(fingerprint(schedule), jnp.int32),
        )

    def update_fn(updates, state, params=None, **extra_args):
        del params
        s = state.schedule
        value = _value_at(s, state.count, state.plateau)
        plateau = state.plateau
        if s.stateful:
            plateau = cast(StatefulSchedule, s).update(plateau, _metric("scale_by_schedule", extra_args),
                                                       step=state.count)
        updates = jax.tree.map(lambda g: None if g is None else jnp.asarray(value, dtype=g.dtype) * g, updates)
        return updates, ScheduleState(_increment(state.count), s, plateau, state.structure)

    return optax.GradientTransformationExtraArgs(init_fn, update_fn)


# --------------------------------------------------------------------- inject


def _cast_like(tree: Any, like: Any) -> Any:
    """`tree` with every array leaf cast to the dtype of the matching leaf of `like`."""
    def cast(x, y):
        if x is None or y is None or not hasattr(x, "dtype") or not hasattr(y, "dtype"):
            return x
        return x if x.dtype == y.dtype else x.astype(y.dtype)

    try:
        return jax.tree.map(cast, tree, like, is_leaf=lambda v: v is None)
    except ValueError:  # structures differ (an optimizer that changes its state's shape): leave as is
        return tree



def _is_number(v: Any) -> bool:
    if isinstance(v, bool):
        return False
    if isinstance(v, (int, float, np.number)):
        return True
    if isinstance(v, (np.ndarray, jax.Array)) or isinstance(v, jax.core.Tracer):
        return jnp.issubdtype(jnp.result_type(v), jnp.number)
    return False


def inject(factory: Callable[..., optax.GradientTransformation], *, static_args: tuple[str, ...] = (),
           **hyperparams: Any) -> optax.GradientTransformationExtraArgs:
    r"""An optax optimizer whose hyperparameters are schedules (or numbers) held in the state.

    .. math:: \text{update}_k = \text{factory}(h_1(k), h_2(k), \ldots).\text{update}

    Every hyperparameter that is a Schedule is evaluated at the count; every
    number is kept as a float array in the state (so a vmapped sweep can vary
    it, and changing it does not recompile); an optax schedule (any JAX
    function of the step count that gives one number, such as
    ``optax.cosine_decay_schedule(...)``) is evaluated at the count too and
    held as code (:class:`StepFunction`); others (bools, strings, masks and
    other callables, and names in `static_args`) are passed through
    unchanged. :func:`current` reports every schedule and number; for the
    others that are not declared in `static_args`, ``inject`` warns once,
    naming them.
    Values are float32 (float64 under x64) **whatever the parameters' dtype**:
    bf16 parameters do not turn the learning rate into bf16 (unlike
    ``optax.inject_hyperparams``). Read them with :func:`current`.

    fastai-style one-cycle with momentum cycling:

    .. code-block:: python

       tx = lrsched.optax.inject(optax.adam, learning_rate=lrsched.one_cycle(1000, 1e-2),
                                 b1=lrsched.one_cycle_momentum(1000))

    A plateau hyperparameter takes its metric as ``tx.update(g, s, p, value=loss)``;
    extra arguments are passed on to the wrapped optimizer when it accepts them.

    Args:
      factory: an optax optimizer factory (``optax.adam``, ``optax.sgd``, ...).
      static_args: names of arguments to pass through unchanged and not report
        (an integer used as a Python count, optax.adamw's ``mask``).
      **hyperparams: the factory's keyword arguments.

    Returns:
      An ``optax.GradientTransformationExtraArgs`` whose state is :class:`InjectState`.

    Examples:
      >>> import jax.numpy as jnp, optax, lrsched, lrsched.optax
      >>> tx = lrsched.optax.inject(optax.sgd, learning_rate=lrsched.linear(0.1, 0.0, steps=10),
      ...                           momentum=0.9)
      >>> state = tx.init({"w": jnp.zeros(2, jnp.bfloat16)})
      >>> updates, state = tx.update({"w": jnp.ones(2, jnp.bfloat16)}, state)
      >>> {k: (round(float(v), 4), str(v.dtype)) for k, v in lrsched.optax.current(state).items()}
      {'learning_rate': (0.09, 'float32'), 'momentum': (0.9, 'float32')}
    """
    if not callable(factory):
        raise TypeError(f"inject(factory): expected an optax optimizer factory such as optax.adam; got {factory!r}")
    unknown = [k for k in static_args if k not in hyperparams]
    if unknown:
        raise ValueError(f"inject(static_args={tuple(static_args)!r}): {unknown} are not among the hyperparameters "
                         f"{sorted(hyperparams)}")
    injected, static, unreadable = {}, {}, {}
    for k, v in hyperparams.items():
        if k in static_args:
            static[k] = v
        elif isinstance(v, Schedule):
            _check_plateau_outermost(f"inject({k}=...)", v)
            injected[k] = v
        elif _is_number(v):
            injected[k] = v
        elif callable(v) and _is_step_function(v):
            injected[k] = StepFunction(v)  # an optax schedule: evaluated at the count, reported by current()
        else:
            static[k] = v
            if v is not None and not isinstance(v, bool):
                unreadable[k] = "a callable that is not a function of the step count" if callable(v) else (
                    f"a {type(v).__name__}")
    if unreadable:
        names = ", ".join(f"{k} ({why})" for k, why in unreadable.items())
        warnings.warn(
            f"lrsched.optax.inject({getattr(factory, '__name__', 'factory')}, ...): current(state) cannot report "
            f"{names}; it is passed to the factory unchanged. current() reports schedules (lrsched or optax: a "
            f"JAX function of the step count) and numbers. Declare the others static to silence this: "
            f"static_args={tuple(unreadable)!r}", UserWarning, stacklevel=2)

    def init_fn(params):
        _register_flax()
        hps = {k: _state_leaves(v) if isinstance(v, Schedule) else as_float(v) for k, v in injected.items()}
        plateau = {k: cast(StatefulSchedule, v).init() for k, v in hps.items()
                   if isinstance(v, Schedule) and v.stateful}
        count = jnp.zeros((), jnp.int32)
        inner = factory(**static, **values(hps, count, plateau)).init(params)
        return InjectState(count, hps, plateau, jnp.asarray(fingerprint(injected), jnp.int32), inner)

    def update_fn(updates, state, params=None, **extra_args):
        hps = state.hyperparams
        now = values(hps, state.count, state.plateau)
        plateau = dict(state.plateau)
        for k in plateau:
            plateau[k] = cast(StatefulSchedule, hps[k]).update(
                plateau[k], _metric(f"inject({k}=plateau(...))", extra_args), step=state.count)
        tx = optax.with_extra_args_support(factory(**static, **now))
        new_updates, inner = tx.update(updates, state.inner_state, params, **extra_args)
        # float32 hyperparameters must not promote bf16 updates or moments: keep the dtypes that came in
        updates = _cast_like(new_updates, updates)
        inner = _cast_like(inner, state.inner_state)
        return updates, InjectState(_increment(state.count), hps, plateau, state.structure, inner)

    return optax.GradientTransformationExtraArgs(init_fn, update_fn)


# -------------------------------------------------------------------- current


def _collect(tree: Any, found: list) -> None:
    if isinstance(tree, (ScheduleState, InjectState)):
        found.append(tree)
        if isinstance(tree, InjectState):
            _collect(tree.inner_state, found)
    elif isinstance(tree, (tuple, list)):
        for x in tree:
            _collect(x, found)
    elif isinstance(tree, dict):
        for x in tree.values():
            _collect(x, found)


def current(state: Any) -> dict[str, jax.Array]:
    """The values the next update will use, by name, for logging.

    Finds every :func:`inject` and :func:`scale_by_schedule` state in `state`
    (an optax chain's tuple, nested states, a Flax NNX ``optimizer.opt_state``
    whose leaves are ``OptArray`` variables, eagerly or inside ``nnx.jit``, ...).
    Inject states give their
    hyperparameters by name; a ``scale_by_schedule`` state gives ``"schedule"``
    (repeated names get ``_1``, ``_2``, ... suffixes). After ``k`` updates the
    values are those at count ``k`` (torch's ``get_last_lr()`` convention), with
    the plateau reductions so far applied. Pure: works under jit and vmap.

    Examples:
      >>> import jax.numpy as jnp, optax, lrsched, lrsched.optax
      >>> tx = lrsched.optax.inject(optax.adam, learning_rate=lrsched.constant(1e-3))
      >>> lrsched.optax.current(tx.init(jnp.zeros(3)))["learning_rate"]
      Array(0.001, dtype=float32)
    """
    found: list = []
    _collect(_pure(state), found)
    if not found:
        raise ValueError(
            "current(state): no lrsched.optax state found in it; build the optimizer with "
            "lrsched.optax.inject(...) or lrsched.optax.scale_by_schedule(...). A schedule given to an optax "
            "factory (optax.adamw(schedule)) lives in the transformation, not in the state: read it as "
            "schedule(count), or pass inject(optax.adamw, learning_rate=schedule) to report it from the state"
        )
    out: dict[str, jax.Array] = {}

    def put(name, value):
        key, i = name, 0
        while key in out:
            i += 1
            key = f"{name}_{i}"
        out[key] = value

    for st in found:
        at = _values_at(int(jnp.ndim(st.count)))
        if isinstance(st, ScheduleState):
            put("schedule", at({"schedule": st.schedule}, st.count, {"schedule": st.plateau})["schedule"])
        else:
            now = at(st.hyperparams, st.count, st.plateau)
            for k in st.hyperparams:  # in the order given (a jitted dict comes back with sorted keys)
                put(k, now[k])
    return out
