"""What the compat modules share: argument translation helpers, and the one door to the core's toolkit.

A compat constructor translates another library's arguments into core schedules
(``lrsched.cosine``, ``lrsched.cycle``, ``lrsched.join``...). Arguments may be
traced (a constructor called inside ``jax.vmap``), so the translation uses
:func:`choose` and :func:`vector` instead of Python ``if`` and lists.

Compat modules import only :mod:`lrsched` and this module. The names below that
come from the core are the validation helpers (errors that name the library's
argument) and, for the few formulas that exist only to reproduce a library's own
float arithmetic (transformers' hard restarts and warmup-stable-decay, fastai's
schedules of ``pos``), the pieces to declare such a node. They are not copies of
core math: anything a core schedule computes, compat builds from core schedules.
"""

from __future__ import annotations

from typing import Any, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from lrsched._core import (
    NUMBER,
    Leaf,
    Leaves,
    Real,
    argument_error,
    check,
    check_choice,
    check_kind,
    check_length,
    check_non_negative,
    check_positive,
    checked,
    choice_field,
    concrete,
    count_field,
    flag_field,
    numbers_field,
    precise_field,
    require,
    schedule_class,
    schedule_field,
    schedules_field,
    static_field,
    time_field,
)
from lrsched._numerics import (
    INT32_MAX,
    as_float,
    as_number,
    common,
    cos_anneal,
    divide,
    exact_parts,
    float_dtype,
    int_dtype,
    scaled_remainder,
    two_product,
    two_sum,
)

__all__ = [
    "any_traced", "choose", "vector", "same_shape", "is_concretely", "wide_count",
    # validation
    "Leaf", "Leaves", "Real", "NUMBER", "argument_error", "check_kind", "checked", "concrete", "require",
    # declaring a library-specific node
    "schedule_class", "static_field", "time_field", "choice_field", "numbers_field", "precise_field", "count_field",
    "flag_field",
    "schedule_field", "schedules_field", "check", "check_choice", "check_length", "check_non_negative",
    "check_positive", "as_float", "as_number", "common", "divide", "float_dtype",
    "cos_anneal", "scaled_remainder", "two_sum", "two_product", "exact_parts",
]


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
    """A 1-d (or batched) leaf from a list of numbers that may be traced.

    The entries are broadcast to one shape first, so a constructor's own constants
    join a batch of arguments (``[factor, 1.0]`` with a batched `factor`); arguments
    of different shapes from the caller are refused first by :func:`same_shape`."""
    if any_traced(*xs):
        return jnp.stack(jnp.broadcast_arrays(*[jnp.asarray(x) for x in xs]), axis=-1)
    return np.stack(np.broadcast_arrays(*[np.asarray(x) for x in xs]), axis=-1)


def same_shape(where: str, **fields: Any) -> None:
    """Refuse concrete arguments of different shapes that one :func:`vector` would stack.

    lrsched reads leading axes as a batch of schedules, so a 1-element array is a
    batch of one, not the number it holds; the anchors take numbers. Arguments
    that enter one vector must therefore share one shape (all plain numbers, or
    one batch shape); anything else is this error rather than numpy's."""
    shapes = {f: np.shape(a) for f, v in fields.items() if v is not None and (a := concrete(v)) is not None}
    if len(set(shapes.values())) <= 1:
        return
    plain = [f for f, shape in shapes.items() if shape == ()]
    odd = next(f for f, shape in shapes.items() if shape != ())
    others = ", ".join(f"{f}: {shapes[f]}" for f in shapes if f != odd)
    raise argument_error(
        where, odd, fields[odd], f"of the shape of the other arguments ({others}), not {shapes[odd]}",
        "lrsched reads leading axes as a batch of schedules (a 1-element array is a batch of one, not a number): "
        + (f"pass a plain number ({odd}.item()) for one schedule, " if plain else "")
        + f"give every argument of {where} the same batch shape, or build a batch with jax.vmap over {where}")


def is_concretely(x: Any, value: float) -> bool:
    """True when `x` is concrete and equal to `value` everywhere (a traced value never is)."""
    a = concrete(x)
    return a is not None and bool(np.all(a == value))


def wide_count(x: Any) -> Any:
    """A concrete integer step count beyond the step integers' range (int32 without x64) as a float.

    The libraries compat re-creates take Python ints of any size (optax computes
    ``count / decay_steps`` in float, so ``decay_steps=10**10`` works without x64);
    lrsched keeps integer leaves exact and refuses ints it cannot hold, so compat
    passes such a count on as a float, as the library does. Anything else is
    returned unchanged.
    """
    if int_dtype() != np.int32 or any_traced(x) or isinstance(x, bool):
        return x
    a = concrete(x)
    if a is None or a.dtype.kind not in "iu" or not a.size or np.abs(a.astype(np.float64)).max() <= INT32_MAX:
        return x
    return float(a) if a.ndim == 0 else a.astype(np.float64)
