"""Pytree structure: one structure key, one stack, one fingerprint.

Three places need to know whether schedules (or states holding them) have the
same *structure* -- the same classes nested the same way, the same static fields
and the same leaf shapes -- and to combine them:

- :func:`lrsched.join` groups its pieces by :func:`structure_key` and stacks each
  group (:func:`stack`), so only the active piece is evaluated;
- :mod:`lrsched.sweep` stacks schedules into one batched schedule;
- :mod:`lrsched.optax` and :mod:`lrsched.checkpoint` store a :func:`fingerprint` of
  the structure in the optimizer state and check it on restore.
"""

from __future__ import annotations

import dataclasses
import zlib
from typing import Any, Hashable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from lrsched._core import Schedule, field_since

__all__ = ["structure_key", "stack", "stack_leaves", "structure_string", "fingerprint", "code_in"]


def structure_key(tree: Any) -> Hashable:
    """What must be equal for pytrees to stack: the treedef (classes, static fields,
    None fields) and the shape of every leaf."""
    leaves, treedef = jax.tree.flatten(tree)
    return treedef, tuple(np.shape(x) for x in leaves)


def stack_leaves(xs: Sequence[Any]) -> Any:
    """One leaf with a new leading axis: numpy for host values (plain numbers, numpy
    arrays), JAX for device arrays and tracers (they stay on the device, and traced
    schedules can be stacked inside jit or vmap)."""
    if any(isinstance(x, jax.Array) for x in xs):
        return jnp.stack([jnp.asarray(x) for x in xs])
    return np.stack([np.asarray(x) for x in xs])


def stack(trees: Sequence[Any]) -> Any:
    """Pytrees of one :func:`structure_key` as one pytree whose leaves have a leading axis."""
    return jax.tree.map(lambda *xs: stack_leaves(xs), *trees)


def _stable(value: Any) -> str:
    """A static value as text that is the same in every process (no memory addresses):
    functions and classes by module and qualified name."""
    if isinstance(value, (tuple, list)):
        return "(" + ", ".join(_stable(v) for v in value) + ")"
    if value is None or isinstance(value, (bool, int, float, str)):
        return repr(value)
    if callable(value):
        return f"{getattr(value, '__module__', '?')}.{getattr(value, '__qualname__', type(value).__qualname__)}"
    return f"{type(value).__module__}.{type(value).__qualname__}"


def _describe(tree: Any) -> str:
    if isinstance(tree, Schedule):
        parts = []
        for f in dataclasses.fields(tree):
            v = getattr(tree, f.name)
            since = field_since(f)
            if since is not None and f.metadata.get("static") and v == since[1]:
                continue  # what structures meant before the field existed: old fingerprints still match
            parts.append(f"{f.name}={_stable(v) if f.metadata.get('static') else _describe(v)}")
        return f"{tree.factory_name}({', '.join(parts)})"
    leaves, treedef = jax.tree.flatten(tree, is_leaf=lambda x: x is not tree and isinstance(x, Schedule))
    if jax.tree_util.treedef_is_leaf(treedef) and leaves:  # a leaf: its shape
        return f"leaf{tuple(np.shape(tree))}"
    if not leaves:
        return repr(treedef)
    # a container: its own structure with the leaves (and schedules) described in order
    return f"{treedef}[{'; '.join(_describe(x) for x in leaves)}]"


def structure_string(tree: Any) -> str:
    """The structure of `tree` as text: schedule classes with their static fields,
    containers, and leaf shapes (not values, not dtypes). Equal for pytrees that
    :func:`stack` combines; the same in every process."""
    return _describe(tree)


def fingerprint(tree: Any) -> int:
    """A 31-bit checksum of :func:`structure_string` (stored in optimizer states,
    compared on restore)."""
    return zlib.crc32(structure_string(tree).encode()) & 0x7FFFFFFF


def code_in(tree: Any) -> list[str]:
    """Where `tree`'s schedules hold Python code (a function as a static field, such as
    ``cyclic(scale_fn=...)``), as ``"cyclic.scale_fn = module.name"`` lines. A checkpoint holds a
    schedule's numbers, not its code, and the fingerprint covers a function's module and qualified
    name only (a lambda is ``module.<lambda>``)."""
    found: list[str] = []

    def walk(x: Any, where: str) -> None:
        if isinstance(x, Schedule):
            for f in dataclasses.fields(x):
                v = getattr(x, f.name)
                here = f"{where}.{f.name}" if where else f"{x.factory_name}.{f.name}"
                if f.metadata.get("static"):
                    if callable(v) and not isinstance(v, type):
                        found.append(f"{here} = {_stable(v)}")
                else:
                    walk(v, here)
            return
        for path, leaf in jax.tree_util.tree_flatten_with_path(
                x, is_leaf=lambda y: y is not x and isinstance(y, Schedule))[0]:
            if isinstance(leaf, Schedule):
                walk(leaf, where + jax.tree_util.keystr(path))

    walk(tree, "")
    return found

