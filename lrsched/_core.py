"""The `Schedule` base class, the step policy and the validation helpers.

A schedule is a frozen dataclass registered as a JAX pytree: every number is a
leaf (so `jax.vmap`, `jax.grad` and `jax.jit` see it), and only fields that change
the structure of the computation (a mode string, a flag) are static.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Callable, ClassVar

import jax
import jax.numpy as jnp
import numpy as np

__all__ = ["Schedule", "schedule_class", "static_field", "evaluate"]

_INT32_MAX = 2**31 - 1


def static_field(default: Any = dataclasses.MISSING) -> Any:
    """A dataclass field that is pytree metadata (hashable, never traced)."""
    return dataclasses.field(default=default, metadata={"static": True})


# --------------------------------------------------------------------------- dtypes


def float_dtype() -> np.dtype:
    """float32, or float64 when ``jax_enable_x64`` is on."""
    return jnp.dtype(jax.dtypes.canonicalize_dtype(np.float64))


def int_dtype() -> np.dtype:
    """int32, or int64 when ``jax_enable_x64`` is on."""
    return jnp.dtype(jax.dtypes.canonicalize_dtype(np.int64))


def as_float(x: Any) -> jax.Array:
    """A leaf as an array of the default float dtype (never bf16)."""
    return jnp.asarray(x, dtype=float_dtype())


def as_number(x: Any) -> jax.Array:
    """A step-like leaf: integers stay integers (exact offsets), the rest is float."""
    x = jnp.asarray(x)
    if jnp.issubdtype(x.dtype, jnp.integer) or x.dtype == jnp.bool_:
        return x.astype(int_dtype())
    return x.astype(float_dtype())


def check_step_range(step: Any) -> None:
    """Concrete integer steps beyond int32 raise (without x64 they would wrap silently)."""
    if int_dtype() == np.int32 and not isinstance(step, (jax.core.Tracer, bool)):
        a = np.asarray(step) if isinstance(step, (int, np.integer, np.ndarray, list, tuple)) else None
        if a is not None and a.dtype.kind in "iu" and a.size and np.abs(a.astype(np.float64)).max() > _INT32_MAX:
            raise ValueError(
                f"step {a.reshape(-1)[np.abs(a.astype(np.float64)).argmax()]} does not fit in int32; enable "
                "64-bit steps with jax.config.update('jax_enable_x64', True)"
            )


def as_step(step: Any) -> jax.Array:
    """The step policy: integer steps stay integers, negatives count as step 0."""
    check_step_range(step)
    t = as_number(step)
    return jnp.maximum(t, jnp.zeros((), t.dtype))


def common(*xs: jax.Array) -> tuple[jax.Array, ...]:
    """Promote step-like arrays to one dtype: integer if all are, else float."""
    if all(jnp.issubdtype(x.dtype, jnp.integer) for x in xs):
        return tuple(x.astype(int_dtype()) for x in xs)
    return tuple(x.astype(float_dtype()) for x in xs)


def divide(a: Any, b: Any) -> jax.Array:
    """``a / b`` correctly rounded, in the default float dtype.

    XLA on CPU turns a division by a broadcast scalar into a multiplication by
    its reciprocal (one ulp off at about half of all steps); the barrier keeps
    the true division, so phases and boundary tests match float64 references.
    """
    a, b = jnp.broadcast_arrays(as_float(a), as_float(b))
    return a / jax.lax.optimization_barrier(b)


def phase(offset: Any, length: Any) -> tuple[jax.Array, jax.Array]:
    """Progress through a stretch of `length` steps, as ``(done, left)`` in [0, 1].

    ``done = clip(offset, 0, length) / length`` and ``left = 1 - done``, each
    computed from an exact integer numerator when the inputs are integers (then
    scaled by one reciprocal: within an ulp), so a formula can use whichever side
    avoids cancellation (``left`` stays exact near the end of a decay even past
    2**24 steps). A zero (or negative) length counts as already finished.
    """
    offset, length = common(as_number(offset), as_number(length))
    zero = jnp.zeros((), length.dtype)
    length = jnp.maximum(length, zero)
    done = jnp.clip(offset, zero, length)
    left = length - done
    empty = length <= 0  # then done == left == 0 and `finished` supplies the 1
    scale = 1.0 / as_float(jnp.where(empty, jnp.ones((), length.dtype), length))
    finished = jnp.where(empty, 1.0, 0.0).astype(float_dtype())
    return as_float(done) * scale + finished, as_float(left) * scale


@jax.custom_jvp
def _unit_fast_power(x: jax.Array, e: jax.Array) -> jax.Array:
    return jnp.where(e == 1.0, x, x**e)  # e: a scalar, or broadcast to x's shape


@_unit_fast_power.defjvp
def _unit_fast_power_jvp(primals, tangents):
    x, e = primals
    positive = x > 0  # at x == 0 (a held end value) the value is constant: no inf * 0 = NaN
    safe = jnp.where(positive, x, jnp.ones_like(x))
    _, tangent = jax.jvp(lambda x, e: x**e, (safe, e), tangents)  # the derivative of the plain power
    return _unit_fast_power(x, e), jnp.where(positive, tangent, jnp.zeros_like(tangent))


def power(x: jax.Array, exponent: Any) -> jax.Array:
    """``x ** exponent`` for a leaf exponent, skipping the general power when a
    scalar exponent is 1 (the common default) without making it static; the
    derivative (also with respect to the exponent) is that of ``x ** e``."""
    e = as_float(exponent)
    if e.ndim:
        x, e = jnp.broadcast_arrays(x, e)
    return _unit_fast_power(x, e)


def split(offset: Any, period: Any) -> tuple[jax.Array, jax.Array]:
    """``(k, r)`` with ``offset = k * period + r`` and ``0 <= r < period``.

    Integer division when both are integers, so the position within a period is
    exact for every int32 step.
    """
    offset, period = common(as_number(offset), as_number(period))
    one = jnp.ones((), period.dtype)
    period = jnp.where(period > 0, period, one)
    k = jnp.floor_divide(offset, period)
    return k, offset - k * period


def cos_anneal(done: jax.Array, left: jax.Array) -> jax.Array:
    """``(1 + cos(pi * done)) / 2``, computed as ``sin(pi * left / 2) ** 2``.

    The two are equal because ``done + left = 1``; the sine form is accurate to
    the last bit near both ends (``left`` is exact near the end of a decay) and
    needs one transcendental.
    """
    del done
    return jnp.sin(0.5 * jnp.pi * left) ** 2


# ------------------------------------------------------------------- validation


def concrete(x: Any) -> np.ndarray | None:
    """`x` as a numeric numpy array if it is a concrete number; else None.

    Tracers, abstract values and the placeholders JAX puts in pytrees during
    transformations are not concrete: validation skips them.
    """
    if x is None or isinstance(x, (jax.core.Tracer, str, bool)):
        return None
    if isinstance(x, (int, float, np.number, np.ndarray, list, tuple)) or isinstance(
        x, jax.Array
    ):
        try:
            a = np.asarray(x)
        except Exception:  # noqa: BLE001 - anything odd is simply not concrete
            return None
        if a.dtype.kind in "biuf":
            return a
    return None


def _show(v: Any) -> str:
    a = concrete(v)
    if a is None:
        return repr(v)
    if a.ndim == 0:
        return repr(a.item())
    return repr(a.tolist())


class ScheduleError(ValueError):
    """A schedule was built with a bad argument (the message says how to fix it)."""


def argument_error(where: str, field: str, value: Any, must: str, fix: str = "") -> ScheduleError:
    """The project's error for a bad argument: what, the value, why, and the fix."""
    shown = _show(value)
    return ScheduleError(f"{where}({field}={shown}): {field} must be {must}; got {shown}" + (f". {fix}" if fix else ""))


def require(where: str, field: str, value: Any, test: Callable[[np.ndarray], Any], must: str, fix: str = "") -> None:
    """Raise :func:`argument_error` when `value` is concrete and `test` is false for it."""
    a = concrete(value)
    if a is not None and not bool(np.all(test(a))):
        raise argument_error(where, field, value, must, fix)


def fail(schedule: Any, field: str, must: str, fix: str = "") -> None:
    """Raise the project's error for a schedule's field."""
    raise argument_error(type(schedule).factory_name, field, getattr(schedule, field), must, fix)


def check(schedule: Any, field: str, test: Callable[[np.ndarray], Any], must: str, fix: str = "") -> None:
    """Fail when `field` is concrete and `test` is false for it (None is skipped)."""
    require(type(schedule).factory_name, field, getattr(schedule, field), test, must, fix)


def check_positive(schedule: Any, *fields: str) -> None:
    for f in fields:
        check(schedule, f, lambda a: a > 0, "positive", f"Pass a number > 0 for {f}")


def check_non_negative(schedule: Any, *fields: str) -> None:
    for f in fields:
        check(schedule, f, lambda a: a >= 0, "non-negative", f"Pass a number >= 0 for {f}")


def check_choice(schedule: Any, field: str, options: tuple[str, ...]) -> None:
    value = getattr(schedule, field)
    if value not in options:
        fail(schedule, field, "one of " + ", ".join(repr(o) for o in options),
             f"Pick one of {list(options)}")


def check_sorted(schedule: Any, field: str) -> None:
    """Non-decreasing along the last axis (leading axes are batch axes)."""
    check(schedule, field, lambda a: a.ndim >= 1 and np.all(np.diff(a, axis=-1) >= 0),
          "a sequence in non-decreasing order", f"Sort {field}")


def check_length(schedule: Any, field: str, n: int, what: str) -> None:
    """Length `n` along the last axis (leading axes are batch axes)."""
    a = concrete(getattr(schedule, field))
    if a is not None and (a.ndim < 1 or a.shape[-1] != n):
        fail(schedule, field, f"of length {n} ({what})",
             f"Give {field} exactly {n} entries")


def _check_numbers(schedule: Schedule) -> None:
    """Every concrete numeric leaf is finite and fits the step integer type."""
    for f in dataclasses.fields(schedule):
        if f.metadata.get("static"):
            continue
        a = concrete(getattr(schedule, f.name))
        if a is None:
            continue
        if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
            fail(schedule, f.name, "finite (no NaN or inf)", "Pass a finite number")
        if (a.dtype.kind in "iu" and a.size and int_dtype() == np.int32
                and np.max(np.abs(a.astype(np.float64))) > _INT32_MAX):
            fail(schedule, f.name, "within int32 range",
                 "Enable jax_enable_x64 for 64-bit steps, or pass a float")


# --------------------------------------------------------------------- the base


def _plain_numbers(x: Any) -> bool:
    """A (nested) list or tuple holding only plain numbers."""
    if isinstance(x, (list, tuple)):
        return all(_plain_numbers(v) for v in x)
    return isinstance(x, (int, float, np.number)) and not isinstance(x, bool)


def _normalise(x: Any) -> Any:
    """(Nested) lists and tuples of plain numbers become numpy arrays (one leaf
    each), so a config's ``[[1, 2], [3, 4]]`` rebuilds the 2-D leaf it came from."""
    if isinstance(x, (list, tuple)) and _plain_numbers(x):
        return np.asarray(x)
    return x


class Schedule:
    """A learning-rate (or any hyperparameter) schedule: a pure function of the step.

    ``schedule(step)`` takes an int or float scalar or array of step counts and
    returns float32 values (float64 under ``jax_enable_x64``) of the same shape.
    The value at count ``k`` is the rate of update ``k`` (optax's ``count``; torch's
    ``get_last_lr()`` after ``k`` calls of ``step()``). Negative steps evaluate as 0.

    Schedules are frozen pytree dataclasses: every number is a leaf, so they work
    under ``jax.jit``, ``jax.vmap`` (over any parameter) and ``jax.grad``.
    Constructor arguments are validated when concrete (never when traced).
    """

    factory_name: ClassVar[str] = "schedule"
    _registry: ClassVar[dict[str, type]] = {}

    def __post_init__(self) -> None:
        for f in dataclasses.fields(self):
            if not f.metadata.get("static"):
                object.__setattr__(self, f.name, _normalise(getattr(self, f.name)))
        _check_numbers(self)
        self.validate()

    def validate(self) -> None:
        """Check concrete field values; subclasses raise via the ``check_*`` helpers."""

    def compute(self, t: jax.Array) -> jax.Array:
        """The schedule at steps `t` (already clamped at 0, int or float array)."""
        raise NotImplementedError

    def __call__(self, step: Any) -> jax.Array:
        t = as_step(step)
        out = jnp.asarray(self.compute(t))
        return jnp.broadcast_to(out, t.shape).astype(float_dtype())

    # ---- arithmetic builds nodes (see _combinators)
    def __add__(self, other: Any) -> Schedule:
        from lrsched._combinators import add

        return add(self, other)

    __radd__ = __add__

    def __mul__(self, other: Any) -> Schedule:
        from lrsched._combinators import mul

        return mul(self, other)

    __rmul__ = __mul__

    def __neg__(self) -> Schedule:
        return self * -1.0

    def __sub__(self, other: Any) -> Schedule:
        return self + (-other)

    def __rsub__(self, other: Any) -> Schedule:
        return (-self) + other

    # ---- inspection
    def config_args(self) -> dict[str, Any]:
        """The constructor arguments (child schedules as schedules)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    @classmethod
    def from_config_args(cls, args: dict[str, Any]) -> Schedule:
        return cls(**args)

    def __repr__(self) -> str:
        parts = ", ".join(f"{k}={_repr_arg(v)}" for k, v in self.config_args().items())
        return f"{self.factory_name}({parts})"


def _repr_arg(v: Any) -> str:
    if isinstance(v, (list, tuple)) and v and all(isinstance(x, Schedule) for x in v):
        return "[" + ", ".join(repr(x) for x in v) + "]"
    if isinstance(v, Schedule):
        return repr(v)
    return _show(v)


def schedule_class(name: str) -> Callable[[type], type]:
    """Make `cls` a frozen pytree dataclass and register it for configs as `name`.

    Data fields are pytree children (with attribute keys, so paths read
    ``.schedule.steps``); static fields are the treedef's metadata. Unflattening
    bypasses ``__init__``: arguments are validated once, when a user builds the
    schedule, never when JAX rebuilds it from leaves (tracers, placeholders or
    the ``in_axes`` trees of ``jax.vmap``).
    """

    def wrap(cls: type) -> type:
        cls = dataclasses.dataclass(frozen=True, eq=False, repr=False)(cls)
        fields = dataclasses.fields(cls)
        data = tuple(f.name for f in fields if not f.metadata.get("static"))
        meta = tuple(f.name for f in fields if f.metadata.get("static"))
        keys = tuple(jax.tree_util.GetAttrKey(n) for n in data)

        def flatten_with_keys(x):
            return [(k, getattr(x, n)) for k, n in zip(keys, data)], tuple(getattr(x, n) for n in meta)

        def flatten(x):
            return [getattr(x, n) for n in data], tuple(getattr(x, n) for n in meta)

        def unflatten(aux, children):
            x = object.__new__(cls)
            for n, v in zip(data, children):
                object.__setattr__(x, n, v)
            for n, v in zip(meta, aux):
                object.__setattr__(x, n, v)
            return x

        jax.tree_util.register_pytree_with_keys(cls, flatten_with_keys, unflatten, flatten)
        cls.factory_name = name
        if name in Schedule._registry:
            raise RuntimeError(f"two schedules registered as {name!r}")
        Schedule._registry[name] = cls
        return cls

    return wrap


_evaluate_jit = jax.jit(lambda s, t: s(t))


def evaluate(schedule: Schedule, steps: Any) -> np.ndarray:
    """The schedule's values as a numpy array, computed in one jitted call.

    Args:
      schedule: any Schedule.
      steps: an int ``n`` (values at steps ``0 .. n-1``) or an array of steps.

    Returns:
      A numpy array of float32 (float64 under x64) values.

    Examples:
      >>> import lrsched
      >>> lrsched.evaluate(lrsched.linear(1.0, 0.0, steps=4), 5)
      array([1.  , 0.75, 0.5 , 0.25, 0.  ], dtype=float32)
    """
    if not isinstance(schedule, Schedule):
        raise TypeError(
            f"evaluate(schedule=...) needs an lrsched Schedule; got {type(schedule).__name__}. "
            "Build one with a factory such as lrsched.cosine(...)"
        )
    if isinstance(steps, (int, np.integer)) and not isinstance(steps, bool):
        if steps < 0:
            raise ValueError(f"evaluate(steps={steps}): a count of steps must be >= 0")
        steps = np.arange(int(steps), dtype=int_dtype())
    check_step_range(steps)
    return np.asarray(_evaluate_jit(schedule, as_number(steps)))


def is_finite_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and math.isfinite(x)
