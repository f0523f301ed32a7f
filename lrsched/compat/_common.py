"""Helpers shared by the compat modules: leaves built from arguments that may be traced."""

from __future__ import annotations

from typing import Any, Sequence

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["any_traced", "choose", "vector"]


def any_traced(*xs: Any) -> bool:
    return any(isinstance(x, jax.core.Tracer) for x in jax.tree.leaves(xs))


def choose(cond: Any, a: Any, b: Any) -> Any:
    """``a if cond else b`` that keeps Python numbers, works on batched leaves and under tracing."""
    if any_traced(cond, a, b):
        return jnp.where(cond, a, b)
    c = np.asarray(cond)
    if c.ndim == 0 and np.ndim(a) == 0 and np.ndim(b) == 0:
        return a if bool(c) else b
    return np.where(c, a, b)


def vector(xs: Sequence[Any]) -> Any:
    """A 1-d (or batched) leaf from a list of numbers that may be traced."""
    if any_traced(*xs):
        return jnp.stack([jnp.asarray(x) for x in xs], axis=-1)
    return np.stack([np.asarray(x) for x in xs], axis=-1)
