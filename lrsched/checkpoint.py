"""Checkpoints of states holding schedules: flax.serialization and orbax-checkpoint.

An optimizer state built by :mod:`lrsched.optax` is a pytree of arrays (the
schedules' numbers are leaves), so ``flax.serialization.to_bytes`` and orbax save
it as they are. This module adds what a plain restore lacks:

- :func:`register` teaches ``flax.serialization`` every Schedule class (each saved
  schedule carries its structure fingerprint, checked on restore);
- :func:`restore` fills a target state (or a Flax NNX optimizer, in place) from
  msgpack bytes, a flax state dict or orbax's output (with or without a target),
  and refuses a checkpoint saved with a different schedule structure instead of
  silently mixing them; ``schedules="code"`` keeps the saved position (counts,
  plateau states, moments) with the code's schedules instead of the checkpoint's;
- :func:`check` catches a restore that went around :func:`restore`.

A schedule holding Python code (``cyclic(scale_fn=...)``) is saved as its numbers
only; saving and restoring it warn that the function comes from the target.

flax and orbax are imported only when used. ``lrsched.optax.restore`` is this
module's :func:`restore`.
"""

from __future__ import annotations

import dataclasses
import sys
import warnings
from collections.abc import Mapping
from typing import Any, cast

import jax
import numpy as np

from lrsched._core import Schedule
from lrsched._tree import code_in, fingerprint

__all__ = ["register", "restore", "check"]

_REGISTERED: set[type] = set()
_STRUCTURE_KEY = "__structure__"


def _schedule_to_state_dict(s: Schedule) -> dict[str, Any]:
    from flax import serialization

    out: dict[str, Any] = {_STRUCTURE_KEY: fingerprint(s)}
    for f in dataclasses.fields(s):
        if not f.metadata.get("static"):
            out[f.name] = serialization.to_state_dict(getattr(s, f.name))
    for name in type(s)._precise:  # what float32 lost of each precise number (see lrsched._core.precise_field)
        out[f"{name}_lo"] = serialization.to_state_dict(getattr(s, f"{name}_lo"))
    static = [f"{s.factory_name}.{f.name} = " for f in dataclasses.fields(s) if f.metadata.get("static")]
    own = [line for line in code_in(s) if line.startswith(tuple(static))]  # nested schedules warn for theirs
    if own:
        warnings.warn(f"saving an lrsched schedule at {serialization.current_path() or '/'}: {_code_note(own)}",
                      UserWarning, stacklevel=2)
    return out


def _code_hint(target: Any) -> str:
    lines = code_in(target)
    return (f". The target holds Python code ({'; '.join(lines)}): the structure includes each function's module "
            "and name, so a checkpoint saved with another function does not match") if lines else ""


def _code_note(lines: list[str]) -> str:
    return (f"it holds Python code ({'; '.join(lines)}). A checkpoint holds a schedule's numbers, not its code: "
            "a restore takes each function from the target you build, and checks only its module and name "
            "(every lambda of a module is named <lambda>)")


def _schedule_from_state_dict(target: Schedule, state: dict[str, Any]) -> Schedule:
    from flax import serialization

    where = serialization.current_path() or "/"
    data = [f.name for f in dataclasses.fields(target) if not f.metadata.get("static")]
    lows = [f"{name}_lo" for name in type(target)._precise]
    stored = state.get(_STRUCTURE_KEY)
    # (a checkpoint written before the low parts were saved has none: they are recomputed from the numbers)
    if (set(state) - set(lows) != {_STRUCTURE_KEY, *data} or stored is None
            or int(stored) != fingerprint(target)):
        raise ValueError(
            f"restoring an lrsched schedule at {where}: the checkpoint holds a schedule of a different structure "
            f"than the target {target!r}. Build the target optimizer with the same schedule structure "
            "(same factories, static options and array shapes) as the one that was saved, or restore with "
            "lrsched.checkpoint.restore(target, data, schedules='code') to keep the target's schedules at the "
            "saved position" + _code_hint(target)
        )
    fields = {k: serialization.from_state_dict(getattr(target, k), state[k], name=k) for k in data}
    restored = dataclasses.replace(target, **fields)  # type: ignore[type-var]
    for k in lows:  # the saved low parts, not ones recomputed from float32 numbers (zero)
        if k in state:
            object.__setattr__(restored, k, serialization.from_state_dict(getattr(target, k), state[k], name=k))
    return restored


def register(force: bool = False) -> None:
    """Teach ``flax.serialization`` the Schedule classes, if flax is imported (or `force`).

    :func:`restore` calls it, and so does every :mod:`lrsched.optax` state's
    ``init``; call it yourself before ``flax.serialization.to_bytes(state)`` when
    flax was imported after the state was built.
    """
    if "flax.serialization" not in sys.modules and not force:
        return
    from flax import serialization

    for cls in list(Schedule._registry.values()):
        if cls not in _REGISTERED:
            serialization.register_serialization_state(cls, _schedule_to_state_dict, _schedule_from_state_dict,
                                                       override=True)
            _REGISTERED.add(cls)


def _is_lrsched_state(x: Any) -> bool:
    """The optimizer states of :mod:`lrsched.optax`: NamedTuples with a ``count`` and a
    ``structure`` fingerprint."""
    fields = getattr(x, "_fields", None)
    return isinstance(x, tuple) and fields is not None and "structure" in fields and "count" in fields


def _lrsched_states(tree: Any) -> list[Any]:
    return [st for _, st in _state_paths(tree)]


def pure(tree: Any) -> Any:
    """`tree` with Flax NNX variables (``nnx.Optimizer.opt_state``'s ``OptArray`` leaves) replaced by their
    values; any other tree unchanged. flax is never imported for it: NNX variables exist only once
    ``flax.nnx`` has been imported. Works eagerly and under ``nnx.jit`` (the variables then hold tracers).
    :func:`check`, :func:`restore` and :func:`lrsched.optax.current` read NNX states through it."""
    if "flax.nnx" in sys.modules:
        from flax import nnx

        def variable(x: Any) -> bool:
            return isinstance(x, nnx.Variable)

        # only a tree that holds variables is rebuilt (a rebuilt tree's dicts come back in sorted key order)
        if any(variable(x) for x in jax.tree.leaves(tree, is_leaf=variable)):
            return nnx.as_pure(tree)
    return tree


def _schedules_of(st: Any) -> Any:
    return st.schedule if "schedule" in st._fields else st.hyperparams


def check(state: Any) -> Any:
    """Check that every lrsched optimizer state in `state` holds schedules of the structure it was saved with.

    A restore that goes around :func:`restore` -- ``nnx.update(optimizer, restored)`` with Flax NNX,
    orbax restored straight into a state -- puts the checkpoint's numbers into the code's schedules
    and the checkpoint's structure fingerprint next to them; this compares the two.

    Args:
      state: an optimizer state, or any tree holding one (``optimizer.opt_state`` of Flax NNX).

    Returns:
      `state`, unchanged.

    Raises:
      ValueError: when a checkpoint of another schedule structure was restored into it.

    Examples:
      >>> import jax.numpy as jnp, lrsched, lrsched.optax
      >>> from lrsched import checkpoint
      >>> state = lrsched.optax.scale_by_schedule(lrsched.cosine(1.0, 10)).init(jnp.zeros(2))
      >>> checkpoint.check(state) is state
      True
      >>> other = lrsched.optax.scale_by_schedule(lrsched.linear(1.0, 0.0, 10)).init(jnp.zeros(2))
      >>> checkpoint.check(state._replace(structure=other.structure))  # doctest: +ELLIPSIS
      Traceback (most recent call last):
      ...
      ValueError: check: lrsched optimizer state #0 holds schedules of another structure than ...
    """
    for i, (path, st) in enumerate(_state_paths(pure(state))):
        batch = np.ndim(st.count)  # a sweep's batched state: one configuration tells the structure
        schedules = jax.tree.map(lambda x: x[(0,) * batch], _schedules_of(st))
        stored = np.asarray(st.structure).reshape(-1)
        if not np.all(stored == fingerprint(schedules)):
            where = "".join(f"[{k!r}]" for k in path) or "the state"
            raise ValueError(
                f"check: lrsched optimizer state #{i} holds schedules of another structure than the checkpoint "
                f"restored into it (at {where}: structure fingerprints differ). The checkpoint was saved with "
                "other schedules (factories, static options, shapes): build the optimizer like the saved run, "
                "or restore with lrsched.checkpoint.restore(..., schedules='code')" + _code_hint(schedules))
    return state


def _check_fingerprints(target: Any, restored: Any) -> None:
    a, b = _lrsched_states(target), _lrsched_states(restored)
    if len(a) != len(b):
        raise ValueError(f"restore: the checkpoint holds {len(b)} lrsched optimizer states, the target {len(a)}")
    for i, (x, y) in enumerate(zip(a, b)):
        if type(x) is not type(y) or not np.array_equal(np.asarray(x.structure), np.asarray(y.structure)):
            raise ValueError(
                f"restore: lrsched optimizer state #{i} was saved with a different schedule structure than the "
                "target's (structure fingerprints differ). Build the target with the same schedules "
                "(factories, static options, shapes) as the saved run, or pass schedules='code' to keep the "
                "saved position with the target's schedules" + _code_hint(x)
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


def _variable_value(node: Any) -> Any:
    """A Flax NNX variable saved with ``nnx.state`` comes back from orbax as ``{"value": array}``."""
    return node["value"] if isinstance(node, dict) and set(node) == {"value"} else node


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
        leaves.append(_variable_value(node))
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


_SCHEDULE_FIELDS = ("schedule", "hyperparams")  # what "the code's schedules" are in an lrsched state
_OPTIONS = ("checkpoint", "code")


def _state_paths(tree: Any, path: tuple = ()) -> list[tuple[tuple, Any]]:
    """``(key path, state)`` of every lrsched optimizer state in a typed tree: namedtuple fields by name,
    tuple and list entries by index, dict entries by key (the keys flax's state dicts and orbax use)."""
    found: list[tuple[tuple, Any]] = []
    if _is_lrsched_state(tree):
        found.append((path, tree))
    if isinstance(tree, tuple) and hasattr(tree, "_fields"):
        for name in tree._fields:
            found += _state_paths(getattr(tree, name), path + (name,))
    elif isinstance(tree, (tuple, list)):
        for i, x in enumerate(tree):
            found += _state_paths(x, path + (i,))
    elif isinstance(tree, Mapping):
        for k, v in tree.items():
            found += _state_paths(v, path + (k,))
    return found


def _set_typed(tree: Any, path: tuple, fn: Any) -> Any:
    """`tree` with the node at `path` replaced by ``fn(node)`` (copies along the path only)."""
    if not path:
        return fn(tree)
    key, rest = path[0], path[1:]
    if isinstance(tree, tuple) and hasattr(tree, "_fields"):
        return cast(Any, tree)._replace(**{key: _set_typed(getattr(tree, key), rest, fn)})
    if isinstance(tree, (tuple, list)):
        items = list(tree)
        items[key] = _set_typed(items[key], rest, fn)
        return type(tree)(items)
    out = dict(tree)
    out[key] = _set_typed(tree[key], rest, fn)
    return out if type(tree) is dict else type(tree)(out)


def _set_raw(node: Any, path: tuple, fn: Any, where: str = "") -> Any:
    """The same in a checkpoint's nested dicts and lists (keys as given, or as strings)."""
    if not path:
        return fn(node)
    key, rest = path[0], path[1:]
    here = f"{where}/{key}"
    if isinstance(node, dict):
        k = key if key in node else str(key)
        if k not in node:
            raise ValueError(f"restore: the checkpoint has no entry at {here} where the target holds an lrsched "
                             "optimizer state. The saved run used a different optimizer; build the target like it")
        out = dict(node)
        out[k] = _set_raw(node[k], rest, fn, here)
        return out
    if isinstance(node, (list, tuple)) and isinstance(key, int) and key < len(node):
        items = list(node)
        items[key] = _set_raw(node[key], rest, fn, here)
        return items
    raise ValueError(f"restore: the checkpoint has no entry at {here} where the target holds an lrsched optimizer "
                     "state. The saved run used a different optimizer; build the target like it")


def _without_schedules(target: Any, source: Any) -> tuple[Any, Any]:
    """Target and source with every lrsched state's schedules removed and the source's structure fingerprint
    set to the target's: what remains is the position (counts, plateau states) and the wrapped optimizer."""
    typed = cast(Any, jax.tree.structure(source)) == jax.tree.structure(target)
    for path, st in _state_paths(target):
        fields = {f: None for f in _SCHEDULE_FIELDS if f in st._fields}
        target = _set_typed(target, path, lambda x, fields=fields: x._replace(**fields))
        if typed:
            source = _set_typed(source, path, lambda x, fields=fields, st=st: x._replace(structure=st.structure,
                                                                                        **fields))
        else:
            def blank(node: Any, fields: dict = fields, st: Any = st) -> Any:
                if not isinstance(node, dict):
                    raise ValueError("restore: the checkpoint holds no lrsched optimizer state where the target "
                                     "has one; build the target like the saved run")
                return {**node, **fields, "structure": np.asarray(st.structure)}

            source = _set_raw(source, path, blank)
    return target, source


def restore(target: Any, source: bytes | Any, *, schedules: str = "checkpoint") -> Any:
    """Restore an optimizer state (or any pytree holding one) from a checkpoint, checking its structure.

    Which numbers win when the code's schedules differ from the checkpoint's
    (the code says ``cosine(0.1, 300)``, the checkpoint ``cosine(0.1, 30)``):

    - ``schedules="checkpoint"`` (default): the checkpoint's. The resumed run
      continues the saved run exactly, whatever the code now says; a checkpoint
      of another schedule *structure* (another factory, static option or leaf
      shape) is refused.
    - ``schedules="code"``: the code's schedules and numeric hyperparameters
      (``inject``'s ``hyperparams``, ``scale_by_schedule``'s ``schedule``),
      whatever their structure, with the checkpoint's position: step counts,
      plateau states (best, bad epochs, the reductions so far) and the wrapped
      optimizer's state (moments). The new schedule is evaluated at the saved
      step.

    Args:
      target: a state built like the saved one (e.g. ``tx.init(params)``), or a
        tree holding it (a flax ``TrainState``, a dict), or a Flax NNX
        ``nnx.Optimizer`` built like the saved one (restored in place: its optax
        state and step count).
      source: ``flax.serialization.to_bytes(state)`` bytes, a state dict
        (``flax.serialization.to_state_dict`` or orbax restored without a
        target), or a pytree of the target's structure (orbax restored with a
        target). For an NNX optimizer, the same forms of the whole
        ``nnx.state(optimizer)``: bytes of
        ``to_bytes(nnx.to_pure_dict(nnx.state(optimizer)))`` (flax cannot
        serialize an NNX ``State`` itself), its state dict, or orbax's restore of it.
      schedules: ``"checkpoint"`` or ``"code"`` (above).

    Returns:
      `target` with the saved values (schedules, counts, plateau states, moments).

    Raises:
      ValueError: naming what differs, when the checkpoint was made with a
        different schedule structure (a different factory, static option, or
        array shape) or a different optimizer, rather than silently mixing them.

    Examples:
      >>> import flax.serialization, jax.numpy as jnp, lrsched, lrsched.optax
      >>> from lrsched import checkpoint
      >>> tx = lrsched.optax.scale_by_schedule(lrsched.cosine(1.0, 10))
      >>> state = tx.init(jnp.zeros(2))
      >>> _, state = tx.update(jnp.ones(2), state)
      >>> data = flax.serialization.to_bytes(state)
      >>> int(checkpoint.restore(tx.init(jnp.zeros(2)), data).count)
      1
      >>> other = lrsched.optax.scale_by_schedule(lrsched.linear(1.0, 0.0, 10)).init(jnp.zeros(2))
      >>> checkpoint.restore(other, data)  # doctest: +ELLIPSIS
      Traceback (most recent call last):
      ...
      ValueError: restore: ...
      >>> int(checkpoint.restore(other, data, schedules="code").count)  # the position, the code's schedule
      1
    """
    if isinstance(source, (bytes, bytearray, memoryview)):  # msgpack bytes: the state dict they hold
        register(force=True)
        from flax import serialization

        source = serialization.msgpack_restore(bytes(source))
    if _is_nnx_optimizer(target):
        return _restore_nnx(target, source, schedules)
    if schedules not in _OPTIONS:
        raise ValueError(f"restore(schedules={schedules!r}): must be 'checkpoint' (the checkpoint's schedule numbers "
                         "replace the code's) or 'code' (keep the saved position, take the code's schedules)")
    if schedules == "checkpoint":
        lines = code_in([st for _, st in _state_paths(target)])
        if lines:
            warnings.warn(f"restore: the target's schedules hold Python code, restored by name: {_code_note(lines)}",
                          UserWarning, stacklevel=2)
        return _restore(target, source)
    reduced, source = _without_schedules(target, source)
    restored = _restore(reduced, source)
    for path, st in _state_paths(target):
        fields = {f: getattr(st, f) for f in _SCHEDULE_FIELDS if f in st._fields}
        restored = _set_typed(restored, path, lambda x, fields=fields, st=st: x._replace(structure=st.structure,
                                                                                         **fields))
    return restored


def _is_nnx_optimizer(x: Any) -> bool:
    if "flax.nnx" not in sys.modules:
        return False
    from flax import nnx

    return isinstance(x, nnx.Optimizer)


def _plain(tree: Any) -> Any:
    """An NNX ``State`` (orbax restored with ``nnx.state(...)`` as the target) as nested dicts of arrays."""
    from flax import nnx

    return nnx.to_pure_dict(tree) if isinstance(tree, nnx.State) else tree


def _restore_nnx(optimizer: Any, source: Any, schedules: str) -> Any:
    """:func:`restore` into a Flax NNX optimizer, in place: its optax state and step count."""
    from flax import nnx

    source = _plain(source)
    if not isinstance(source, dict) or "opt_state" not in source:
        got = f"a dict with keys {sorted(map(str, source))}" if isinstance(source, dict) else type(source).__name__
        raise ValueError(
            f"restore(optimizer, source): with a Flax NNX optimizer, source is the checkpoint of the whole "
            "nnx.state(optimizer): msgpack bytes of "
            "flax.serialization.to_bytes(nnx.to_pure_dict(nnx.state(optimizer))), "
            f"or orbax's restore of nnx.state(optimizer) (with or without a target); got {got}, which has no "
            "'opt_state' entry. Save nnx.state(optimizer), not optimizer.opt_state or the model's state")
    restored = restore(pure(optimizer.opt_state), source["opt_state"], schedules=schedules)
    nnx.update(optimizer.opt_state, nnx.state(restored))
    if "step" in source:
        optimizer.step[...] = _variable_value(source["step"])
    return optimizer


def _restore(target: Any, source: Any) -> Any:
    register(force=True)
    from flax import serialization

    if cast(Any, jax.tree.structure(source)) == jax.tree.structure(target):
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
        restored = serialization.from_state_dict(target, source if isinstance(source, dict) else {})
    except ValueError as e:
        raise ValueError(f"restore: {e}") from None
    _check_fingerprints(target, restored)
    return restored


register()
