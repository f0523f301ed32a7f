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
- :func:`current` reads the current values for logging; :func:`restore` checks
  a checkpoint's structure before restoring it.

Both transformations take a :func:`lrsched.plateau` schedule's metric through
optax's extra arguments: ``tx.update(grads, state, params, value=loss)``.

Step convention: update ``k`` (``state.count == k``) uses the value at count
``k``; a plateau's metric passed with update ``k`` takes effect from update
``k + 1`` (torch's order: ``optimizer.step()`` then ``scheduler.step(loss)``).
"""

from __future__ import annotations

import dataclasses
import sys
import zlib
from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax

from lrsched._core import Schedule, ScheduleError, as_float, float_dtype
from lrsched._plateau import Plateau, PlateauState

__all__ = ["scale_by_schedule", "inject", "current", "restore", "ScheduleState", "InjectState"]

_INT32_MAX = 2**31 - 1


class ScheduleState(NamedTuple):
    """State of :func:`scale_by_schedule`.

    Attributes:
      count: updates done (int32, saturating at ``2**31 - 1``).
      schedule: the schedule itself (its numbers are leaves of the state).
      plateau: the :class:`~lrsched.PlateauState` when the schedule is a plateau, else None.
      structure: an int32 fingerprint of the schedule's structure (checked by :func:`restore`).
    """

    count: jax.Array
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

    count: jax.Array
    hyperparams: dict[str, Any]
    plateau: dict[str, PlateauState]
    structure: jax.Array
    inner_state: Any


# ----------------------------------------------------------------- helpers


def _need_schedule(where: str, s: Any) -> None:
    if not isinstance(s, Schedule):
        raise ScheduleError(
            f"{where}: expected an lrsched Schedule; got {type(s).__name__}. "
            "Build one with a factory such as lrsched.cosine(...), or lrsched.constant(value)"
        )


def _children(s: Schedule) -> list[Schedule]:
    out = []
    for f in dataclasses.fields(s):
        v = getattr(s, f.name)
        vs = v if isinstance(v, (list, tuple)) else [v]
        out.extend(x for x in vs if isinstance(x, Schedule))
    return out


def _check_plateau_outermost(where: str, s: Schedule) -> None:
    """A plateau keeps state; only a top-level one gets it (a nested one would stay at its initial state)."""
    stack = _children(s)
    while stack:
        x = stack.pop()
        if isinstance(x, Plateau):
            raise ScheduleError(
                f"{where}: a plateau schedule is nested inside {s.factory_name}(...); its state would never "
                "be updated. Put the plateau outermost, e.g. plateau(warmup(cosine(...), 100), start=100)"
            )
        stack.extend(_children(x))


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


def _structure_string(tree: Any) -> str:
    leaves, treedef = jax.tree.flatten(tree)
    return repr(treedef) + repr([tuple(jnp.shape(x)) for x in leaves])


def _fingerprint(tree: Any) -> int:
    return zlib.crc32(_structure_string(tree).encode()) & 0x7FFFFFFF


def _increment(count: jax.Array) -> jax.Array:
    return jnp.where(count < _INT32_MAX, count + 1, jnp.asarray(_INT32_MAX, jnp.int32)).astype(jnp.int32)


def _value_at(s: Schedule, count: jax.Array, plateau_state: PlateauState | None) -> jax.Array:
    if isinstance(s, Plateau):
        return s(count, plateau_state)
    return s(count)


def _metric(where: str, extra_args: dict[str, Any]) -> Any:
    value = extra_args.get("value")
    if value is None:
        raise ValueError(
            f"{where}: a plateau schedule needs the monitored metric at every update; "
            "pass it as an extra argument: tx.update(grads, state, params, value=loss)"
        )
    return value


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
    _need_schedule("scale_by_schedule(schedule)", schedule)
    _check_plateau_outermost("scale_by_schedule(schedule)", schedule)

    def init_fn(params):
        del params
        _register_flax()
        s = _state_leaves(schedule)
        return ScheduleState(
            count=jnp.zeros((), jnp.int32),
            schedule=s,
            plateau=s.init() if isinstance(s, Plateau) else None,
            structure=jnp.asarray(_fingerprint(schedule), jnp.int32),
        )

    def update_fn(updates, state, params=None, **extra_args):
        del params
        s = state.schedule
        value = _value_at(s, state.count, state.plateau)
        plateau = state.plateau
        if isinstance(s, Plateau):
            plateau = s.update(plateau, _metric("scale_by_schedule", extra_args), step=state.count)
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
    it, and changing it does not recompile); others (bools, strings,
    callables, and names in `static_args`) are passed through unchanged.
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
      static_args: names of numeric arguments to pass through unchanged
        (e.g. an integer used as a Python count).
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
    injected, static = {}, {}
    for k, v in hyperparams.items():
        if k in static_args:
            static[k] = v
        elif isinstance(v, Schedule):
            _check_plateau_outermost(f"inject({k}=...)", v)
            injected[k] = v
        elif _is_number(v):
            injected[k] = v
        else:
            static[k] = v

    def values_at(hps, count, plateau_states):
        return {k: (_value_at(v, count, plateau_states.get(k)) if isinstance(v, Schedule) else as_float(v))
                for k, v in hps.items()}

    def init_fn(params):
        _register_flax()
        hps = {k: _state_leaves(v) if isinstance(v, Schedule) else as_float(v) for k, v in injected.items()}
        plateau = {k: v.init() for k, v in hps.items() if isinstance(v, Plateau)}
        count = jnp.zeros((), jnp.int32)
        inner = factory(**static, **values_at(hps, count, plateau)).init(params)
        return InjectState(count, hps, plateau, jnp.asarray(_fingerprint(injected), jnp.int32), inner)

    def update_fn(updates, state, params=None, **extra_args):
        hps = state.hyperparams
        values = values_at(hps, state.count, state.plateau)
        plateau = dict(state.plateau)
        for k in plateau:
            plateau[k] = hps[k].update(plateau[k], _metric(f"inject({k}=plateau(...))", extra_args),
                                       step=state.count)
        tx = optax.with_extra_args_support(factory(**static, **values))
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
    (an optax chain's tuple, nested states, ...). Inject states give their
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
    _collect(state, found)
    if not found:
        raise ValueError(
            "current(state): no lrsched.optax state found in it; build the optimizer with "
            "lrsched.optax.inject(...) or lrsched.optax.scale_by_schedule(...)"
        )
    out: dict[str, jax.Array] = {}

    def put(name, value):
        key, i = name, 0
        while key in out:
            i += 1
            key = f"{name}_{i}"
        out[key] = value

    for st in found:
        values = _values
        for _ in range(jnp.ndim(st.count)):  # a batched state (a sweep built with vmap): map the batch axes
            values = jax.vmap(values)
        if isinstance(st, ScheduleState):
            put("schedule", values({"schedule": st.schedule}, st.count, {"schedule": st.plateau})["schedule"])
        else:
            for k, v in values(st.hyperparams, st.count, st.plateau).items():
                put(k, v)
    return out


def _values(hyperparams: dict[str, Any], count: jax.Array, plateau: dict[str, Any]) -> dict[str, jax.Array]:
    return {k: _value_at(v, count, plateau.get(k)) if isinstance(v, Schedule) else as_float(v)
            for k, v in hyperparams.items()}


# ------------------------------------------------------ checkpoint and restore


_FLAX_REGISTERED: set = set()
_STRUCTURE_KEY = "__structure__"


def _schedule_to_state_dict(s: Schedule) -> dict[str, Any]:
    from flax import serialization

    out = {_STRUCTURE_KEY: _fingerprint(s)}
    for f in dataclasses.fields(s):
        if not f.metadata.get("static"):
            out[f.name] = serialization.to_state_dict(getattr(s, f.name))
    return out


def _schedule_from_state_dict(target: Schedule, state: dict[str, Any]) -> Schedule:
    from flax import serialization

    where = serialization.current_path() or "/"
    data = [f.name for f in dataclasses.fields(target) if not f.metadata.get("static")]
    stored = state.get(_STRUCTURE_KEY)
    if set(state) != {_STRUCTURE_KEY, *data} or stored is None or int(stored) != _fingerprint(target):
        raise ValueError(
            f"restoring an lrsched schedule at {where}: the checkpoint holds a schedule of a different structure "
            f"than the target {target!r}. Build the target optimizer with the same schedule structure "
            "(same factories, static options and array shapes) as the one that was saved"
        )
    fields = {k: serialization.from_state_dict(getattr(target, k), state[k], name=k) for k in data}
    return dataclasses.replace(target, **fields)


def _register_flax(force: bool = False) -> None:
    """Teach flax.serialization the Schedule classes (when flax is imported, or `force`)."""
    if "flax.serialization" not in sys.modules and not force:
        return
    from flax import serialization

    for cls in list(Schedule._registry.values()):
        if cls not in _FLAX_REGISTERED:
            serialization.register_serialization_state(cls, _schedule_to_state_dict, _schedule_from_state_dict,
                                                       override=True)
            _FLAX_REGISTERED.add(cls)


def _lrsched_states(tree: Any) -> list:
    found: list = []
    _collect(tree, found)
    return found


def _check_fingerprints(target: Any, restored: Any) -> None:
    a, b = _lrsched_states(target), _lrsched_states(restored)
    if len(a) != len(b):
        raise ValueError(f"restore: the checkpoint holds {len(b)} lrsched optimizer states, the target {len(a)}")
    for i, (x, y) in enumerate(zip(a, b)):
        if type(x) is not type(y) or not np.array_equal(np.asarray(x.structure), np.asarray(y.structure)):
            raise ValueError(
                f"restore: lrsched optimizer state #{i} was saved with a different schedule structure than the "
                "target's (structure fingerprints differ). Build the target with the same schedules "
                "(factories, static options, shapes) as the saved run"
            )


def _describe_mismatch(target: Any, source: Any, path: str = "") -> str | None:
    if isinstance(target, dict) and isinstance(source, dict):
        if set(target) != set(source):
            missing, extra = sorted(set(target) - set(source)), sorted(set(source) - set(target))
            return f"at {path or '/'}: keys missing from the checkpoint {missing}, unexpected keys {extra}"
        for k in target:
            m = _describe_mismatch(target[k], source[k], f"{path}/{k}")
            if m:
                return m
        return None
    if isinstance(target, dict) or isinstance(source, dict):
        return f"at {path or '/'}: the checkpoint holds {type(source).__name__}, the target {type(target).__name__}"
    if target is None or source is None:
        return None if target is source else f"at {path or '/'}: one side is empty"
    if np.shape(target) != np.shape(source):
        return f"at {path or '/'}: shape {np.shape(source)} in the checkpoint, {np.shape(target)} in the target"
    return None


def _has_structure_keys(tree: Any) -> bool:
    if isinstance(tree, dict):
        return _STRUCTURE_KEY in tree or any(_has_structure_keys(v) for v in tree.values())
    if isinstance(tree, (list, tuple)):
        return any(_has_structure_keys(v) for v in tree)
    return False


def _restore_by_paths(target: Any, source: Any) -> Any:
    """Fill `target`'s leaves from a tree of plain dicts and lists (orbax's raw restore), by key path."""
    paths, treedef = jax.tree_util.tree_flatten_with_path(target)
    leaves = []
    for path, _ in paths:
        node, where = source, ""
        for key in path:
            name = getattr(key, "name", getattr(key, "key", getattr(key, "idx", None)))
            where += f"/{name}"
            if isinstance(node, dict) and name in node:
                node = node[name]
            elif isinstance(node, dict) and str(name) in node:
                node = node[str(name)]
            elif isinstance(node, (list, tuple)) and isinstance(name, int) and name < len(node):
                node = node[name]
            else:
                raise ValueError(
                    f"restore: the checkpoint has no entry at {where} that the target state needs. The saved run "
                    "used a different optimizer or schedule structure; build the target exactly like the saved one"
                )
        leaves.append(node)
    if len(jax.tree.leaves(source)) != len(leaves):
        raise ValueError(
            f"restore: the checkpoint holds {len(jax.tree.leaves(source))} arrays, the target state {len(leaves)}. "
            "The saved run used a different optimizer or schedule structure; build the target exactly like it"
        )
    for (path, x), y in zip(paths, leaves):
        if np.shape(x) != np.shape(y):
            raise ValueError(f"restore: {jax.tree_util.keystr(path)} has shape {np.shape(y)} in the checkpoint "
                             f"and {np.shape(x)} in the target; build the target like the saved state")
    return jax.tree.unflatten(treedef, leaves)


def restore(target: Any, source: bytes | Any) -> Any:
    """Restore an optimizer state (or any pytree holding one) from a checkpoint, checking its structure.

    Args:
      target: a state built like the saved one (e.g. ``tx.init(params)``), or a
        tree holding it (a flax ``TrainState``, a dict).
      source: ``flax.serialization.to_bytes(state)`` bytes, a state dict
        (``flax.serialization.to_state_dict`` or orbax restored without a
        target), or a pytree of the target's structure (orbax restored with a
        target).

    Returns:
      `target` with the saved values (schedules, counts, plateau states, moments).

    Raises:
      ValueError: naming what differs, when the checkpoint was made with a
        different schedule structure (a different factory, static option, or
        array shape) or a different optimizer, rather than silently mixing them.

    Examples:
      >>> import flax.serialization, jax.numpy as jnp, optax, lrsched, lrsched.optax
      >>> tx = lrsched.optax.scale_by_schedule(lrsched.cosine(1.0, 10))
      >>> state = tx.init(jnp.zeros(2))
      >>> _, state = tx.update(jnp.ones(2), state)
      >>> data = flax.serialization.to_bytes(state)
      >>> int(lrsched.optax.restore(tx.init(jnp.zeros(2)), data).count)
      1
      >>> other = lrsched.optax.scale_by_schedule(lrsched.linear(1.0, 0.0, 10)).init(jnp.zeros(2))
      >>> lrsched.optax.restore(other, data)  # doctest: +ELLIPSIS
      Traceback (most recent call last):
      ...
      ValueError: restore: ...
    """
    _register_flax(force=True)
    from flax import serialization

    if isinstance(source, (bytes, bytearray, memoryview)):
        source = serialization.msgpack_restore(bytes(source))
    if jax.tree.structure(source) == jax.tree.structure(target):
        _check_fingerprints(target, source)
        for x, y in zip(jax.tree.leaves(target), jax.tree.leaves(source)):
            if np.shape(x) != np.shape(y):
                raise ValueError(f"restore: a leaf has shape {np.shape(y)} in the checkpoint and {np.shape(x)} "
                                 "in the target; build the target like the saved state")
        return source
    if not isinstance(source, (dict, list)):
        raise ValueError(
            f"restore: the checkpoint's tree structure differs from the target's: {jax.tree.structure(source)} "
            f"vs {jax.tree.structure(target)}. Build the target optimizer exactly like the saved one"
        )
    expected = serialization.to_state_dict(target)
    mismatch = _describe_mismatch(expected, source)
    if mismatch and not _has_structure_keys(source):
        restored = _restore_by_paths(target, source)  # orbax restored without a target: nested dicts and lists
        _check_fingerprints(target, restored)
        return restored
    if mismatch:
        raise ValueError(
            f"restore: the checkpoint does not match the target state {mismatch}. The saved run used a different "
            "optimizer or schedule structure; build the target exactly like the saved one"
        )
    try:
        restored = serialization.from_state_dict(target, source)
    except ValueError as e:
        raise ValueError(f"restore: {e}") from None
    _check_fingerprints(target, restored)
    return restored


_register_flax()
