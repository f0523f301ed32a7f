"""Checkpoints of states holding schedules: flax.serialization and orbax-checkpoint.

An optimizer state built by :mod:`lrsched.optax` is a pytree of arrays (the
schedules' numbers are leaves), so ``flax.serialization.to_bytes`` and orbax save
it as they are. This module adds what a plain restore lacks:

- :func:`register` teaches ``flax.serialization`` every Schedule class (each saved
  schedule carries its structure fingerprint, checked on restore);
- :func:`restore` fills a target state from msgpack bytes, a flax state dict or
  orbax's output (with or without a target), and refuses a checkpoint saved with
  a different schedule structure instead of silently mixing them.

flax and orbax are imported only when used. ``lrsched.optax.restore`` is this
module's :func:`restore`.
"""

from __future__ import annotations

import dataclasses
import sys
from typing import Any, cast

import jax
import numpy as np

from lrsched._core import Schedule
from lrsched._tree import fingerprint

__all__ = ["register", "restore"]

_REGISTERED: set[type] = set()
_STRUCTURE_KEY = "__structure__"


def _schedule_to_state_dict(s: Schedule) -> dict[str, Any]:
    from flax import serialization

    out: dict[str, Any] = {_STRUCTURE_KEY: fingerprint(s)}
    for f in dataclasses.fields(s):
        if not f.metadata.get("static"):
            out[f.name] = serialization.to_state_dict(getattr(s, f.name))
    return out


def _schedule_from_state_dict(target: Schedule, state: dict[str, Any]) -> Schedule:
    from flax import serialization

    where = serialization.current_path() or "/"
    data = [f.name for f in dataclasses.fields(target) if not f.metadata.get("static")]
    stored = state.get(_STRUCTURE_KEY)
    if set(state) != {_STRUCTURE_KEY, *data} or stored is None or int(stored) != fingerprint(target):
        raise ValueError(
            f"restoring an lrsched schedule at {where}: the checkpoint holds a schedule of a different structure "
            f"than the target {target!r}. Build the target optimizer with the same schedule structure "
            "(same factories, static options and array shapes) as the one that was saved"
        )
    fields = {k: serialization.from_state_dict(getattr(target, k), state[k], name=k) for k in data}
    return dataclasses.replace(target, **fields)  # type: ignore[type-var]


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
    found: list[Any] = []

    def walk(x: Any) -> None:
        if _is_lrsched_state(x):
            found.append(x)
            for v in x:
                walk(v)
        elif isinstance(x, (tuple, list)):
            for v in x:
                walk(v)
        elif isinstance(x, dict):
            for v in x.values():
                walk(v)

    walk(tree)
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
    """
    register(force=True)
    from flax import serialization

    if isinstance(source, (bytes, bytearray, memoryview)):
        source = serialization.msgpack_restore(bytes(source))
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
