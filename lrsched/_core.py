"""The `Schedule` base class, the registry, the validation helpers and the arithmetic nodes.

A schedule is a frozen dataclass registered as a JAX pytree: every number is a
leaf (so `jax.vmap`, `jax.grad` and `jax.jit` see it), and only fields that change
the structure of the computation (a mode string, a flag) are static. Fields that
are durations (step counts, boundaries) are declared with ``time_field``, which
lets :meth:`Schedule.stretched` slow a schedule down exactly (``lrsched.cycle``
uses it for SGDR's growing periods).

``s + x``, ``s * x``, ``s - x`` and ``-s`` build :class:`Add` and :class:`Mul` nodes,
defined here (below every schedule module) so that the base class needs no import
from above it.
"""

from __future__ import annotations

import dataclasses
import functools
import sys
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Iterator, Protocol, Sequence, TypeVar, Union

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from lrsched._numerics import (
    INT32_MAX,
    as_float,
    as_number,
    as_step,
    check_step_range,
    common,
    float_dtype,
    int_dtype,
)

if TYPE_CHECKING or sys.version_info >= (3, 11):
    from typing import dataclass_transform
else:  # Python 3.10: the decorator only informs type checkers
    def dataclass_transform(**kwargs: Any) -> Callable[[Any], Any]:
        return lambda f: f

__all__ = [
    "Schedule", "ScheduleError", "Leaf", "Leaves", "Real", "StatefulSchedule", "schedule_class", "static_field",
    "time_field", "precise_field", "low_part", "evaluate", "need_schedule", "children", "Add", "Mul", "add", "mul",
    # re-exported from lrsched._numerics for modules that import them from here
    "float_dtype", "int_dtype",
]

#: A numeric leaf: a Python number, a numpy or JAX scalar or array (traced values included).
Leaf = ArrayLike
#: A leaf holding several numbers (milestones, boundaries, values): an array or a sequence of numbers.
Leaves = Union[ArrayLike, Sequence[ArrayLike]]
#: A real number given as an argument that a constructor computes with (compat's argument translation).
Real = Union[int, float, np.integer, np.floating, jax.Array, np.ndarray]

S = TypeVar("S", bound="Schedule")


def static_field(default: Any = dataclasses.MISSING) -> Any:
    """A dataclass field that is pytree metadata (hashable, never traced): a mode string, a flag."""
    return dataclasses.field(default=default, metadata={"static": True})


def time_field(default: Any = dataclasses.MISSING) -> Any:
    """A leaf that is a duration or a position in steps (``steps``, ``boundaries``, ...).

    :meth:`Schedule.stretched` multiplies these (and only these) to slow a schedule down.
    """
    return dataclasses.field(default=default, metadata={"time": True})


def precise_field(default: Any = dataclasses.MISSING) -> Any:
    """A float leaf whose float32 rounding a formula would amplify: the base of a power
    (``rate ** t`` multiplies the relative rounding of `rate` by ``t``).

    Such a field carries a companion leaf, ``<name>_lo``: the float64 value the user
    passed minus its float32 rounding (:func:`low_part`), so a float32 evaluation,
    jitted with the schedule as an argument, still sees the number that was passed
    (:meth:`Schedule.low`). A traced value (a schedule built inside ``jit`` or
    ``vmap``) has no low part: its float32 value is the one used.
    """
    return dataclasses.field(default=default, metadata={"precise": True})


def low_part(value: Any) -> Any:
    """What float32 loses of `value`: ``value - float32(value)`` computed in float64, as
    float32 (zeros of the value's shape when it is an integer, a float32 array or traced;
    None for None)."""
    if value is None:
        return None
    a = concrete(value)
    if a is None or a.dtype.kind != "f" or a.dtype.itemsize <= 4:
        return np.zeros(np.shape(value), np.float32)
    wide = a.astype(np.float64)
    with np.errstate(over="ignore", invalid="ignore"):
        rest = wide - wide.astype(np.float32).astype(np.float64)
    return np.where(np.isfinite(rest), rest, 0.0).astype(np.float32)


# ------------------------------------------------------------------- validation


def concrete(x: Any) -> np.ndarray | None:
    """`x` as a numeric numpy array if it is a concrete number; else None.

    Tracers, abstract values and the placeholders JAX puts in pytrees during
    transformations are not concrete: validation skips them.
    """
    if x is None or isinstance(x, (jax.core.Tracer, str, bool)):
        return None
    if isinstance(x, (int, float, np.number, np.ndarray, list, tuple)) or isinstance(x, jax.Array):
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


def need_schedule(where: str, value: Any, fix: str = "Build one with a factory such as lrsched.cosine(...), "
                  "or wrap a number with lrsched.constant(value)") -> None:
    """Raise the project's error when `value` is not a Schedule (`where` names the argument)."""
    if not isinstance(value, Schedule):
        raise ScheduleError(f"{where}: expected an lrsched Schedule; got {type(value).__name__}. {fix}")


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
                and np.max(np.abs(a.astype(np.float64))) > INT32_MAX):
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


def _map_schedules(value: Any, fn: Callable[[Schedule], Any]) -> Any:
    """`fn` applied to a Schedule, or to each Schedule of a tuple or list (other values unchanged)."""
    if isinstance(value, Schedule):
        return fn(value)
    if isinstance(value, (tuple, list)) and any(isinstance(v, Schedule) for v in value):
        return type(value)(fn(v) if isinstance(v, Schedule) else v for v in value)
    return value


def _rebuild(cls: type[S], values: dict[str, Any]) -> S:
    """An instance of `cls` with these field values, without validation (as pytree unflattening)."""
    x = object.__new__(cls)
    for name, v in values.items():
        object.__setattr__(x, name, v)
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

    Class attributes a subclass may set:

    - ``stateful``: the value also depends on a state that a metric updates
      (:func:`lrsched.plateau`); such a schedule is called as ``s(step, state)``.
    - ``stretchable``: its value depends on the step only through its
      ``time_field`` durations, so :meth:`lrsched.Schedule.stretched` slows it down exactly.
    """

    __dataclass_fields__: ClassVar[dict[str, Any]]
    factory_name: ClassVar[str] = "schedule"
    _registry: ClassVar[dict[str, type[Schedule]]] = {}
    stateful: ClassVar[bool] = False
    stretchable: ClassVar[bool] = True
    _precise: ClassVar[tuple[str, ...]] = ()

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

    # ---- arithmetic builds nodes
    def __add__(self, other: Any) -> Schedule:
        return add(self, other)

    __radd__ = __add__

    def __mul__(self, other: Any) -> Schedule:
        return mul(self, other)

    __rmul__ = __mul__

    def __neg__(self) -> Schedule:
        return mul(self, -1.0)

    def __sub__(self, other: Any) -> Schedule:
        return add(self, -other)

    def __rsub__(self, other: Any) -> Schedule:
        return add(-self, other)

    # ---- time
    def can_stretch(self) -> bool:
        """Whether :meth:`lrsched.Schedule.stretched` is exact for this schedule and every schedule inside it."""
        return type(self).stretchable and all(c.can_stretch() for c in children(self))

    def stretched(self, factor: Any) -> Schedule:
        """The schedule slowed down by `factor`: ``s.stretched(f)(f * t) == s(t)``.

        Every ``time_field`` (of this schedule and of the schedules inside
        it) is multiplied by `factor`, so an integer factor keeps integer step
        arithmetic exact (``lrsched.cycle`` stretches each longer period this
        way). Not validated (a traced factor is fine); only meaningful when
        :meth:`can_stretch` is true.
        """
        values = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if f.metadata.get("time") and v is not None:
                x, k = common(as_number(v), as_number(factor))
                v = x * k
            else:
                v = _map_schedules(v, lambda c: c.stretched(factor))
            values[f.name] = v
        for name in type(self)._precise:  # the companions of precise fields (never durations)
            values[f"{name}_lo"] = getattr(self, f"{name}_lo")
        return _rebuild(type(self), values)

    def low(self, name: str) -> jax.Array:
        """The low part of the precise field `name` (see ``precise_field``), as the
        default float dtype: what float32 lost of the value passed, and 0 under x64
        (where the field itself is exact). Not differentiated."""
        if float_dtype() != np.float32:
            return jnp.zeros(jnp.shape(getattr(self, name)), float_dtype())
        return jax.lax.stop_gradient(as_float(getattr(self, f"{name}_lo")))

    # ---- inspection
    def config_args(self) -> dict[str, Any]:
        """The constructor arguments (child schedules as schedules)."""
        return {f.name: getattr(self, f.name) for f in dataclasses.fields(self)}

    @classmethod
    def from_config_args(cls, args: dict[str, Any]) -> Schedule:
        return cls(**args)

    def __repr__(self) -> str:
        parts = ", ".join(f"{k}={repr_arg(v)}" for k, v in self.config_args().items())
        return f"{self.factory_name}({parts})"


class StatefulSchedule(Protocol):
    """What a ``stateful`` schedule provides (:class:`lrsched.Plateau`)."""

    def init(self) -> Any: ...

    def update(self, state: Any, metric: Any, step: Any = None) -> Any: ...

    def __call__(self, step: Any, state: Any = None) -> jax.Array: ...


def children(schedule: Schedule) -> Iterator[Schedule]:
    """The schedules directly inside `schedule` (fields holding a schedule or a list of them)."""
    for f in dataclasses.fields(schedule):
        v = getattr(schedule, f.name)
        for x in (v if isinstance(v, (tuple, list)) else [v]):
            if isinstance(x, Schedule):
                yield x


def repr_arg(v: Any) -> str:
    if isinstance(v, (list, tuple)) and v and all(isinstance(x, Schedule) for x in v):
        return "[" + ", ".join(repr(x) for x in v) + "]"
    if isinstance(v, Schedule):
        return repr(v)
    if callable(v):
        return f"{getattr(v, '__module__', '?')}.{getattr(v, '__qualname__', type(v).__name__)}"
    return _show(v)


@dataclass_transform(eq_default=False, frozen_default=True,
                     field_specifiers=(dataclasses.field, static_field, time_field))
def schedule_class(name: str) -> Callable[[type[S]], type[S]]:
    """Make `cls` a frozen pytree dataclass and register it for configs as `name`.

    Data fields are pytree children (with attribute keys, so paths read
    ``.schedule.steps``); static fields are the treedef's metadata. Unflattening
    bypasses ``__init__``: arguments are validated once, when a user builds the
    schedule, never when JAX rebuilds it from leaves (tracers, placeholders or
    the ``in_axes`` trees of ``jax.vmap``). Type checkers know every constructor
    (``typing.dataclass_transform``).
    """

    def wrap(cls: type[S]) -> type[S]:
        cls = dataclasses.dataclass(frozen=True, eq=False, repr=False)(cls)
        fields = dataclasses.fields(cls)  # type: ignore[arg-type]
        precise = tuple(f.name for f in fields if f.metadata.get("precise"))
        # each precise field's companion is one more child, after the fields (see precise_field)
        data = tuple(f.name for f in fields if not f.metadata.get("static")) + tuple(f"{n}_lo" for n in precise)
        meta = tuple(f.name for f in fields if f.metadata.get("static"))
        keys = tuple(jax.tree_util.GetAttrKey(n) for n in data)
        if precise:
            cls._precise = precise
            init = cls.__init__

            @functools.wraps(init)
            def __init__(self, *args, **kwargs):  # noqa: N807 - the dataclass's __init__, then the low parts
                init(self, *args, **kwargs)
                for n in precise:
                    object.__setattr__(self, f"{n}_lo", low_part(getattr(self, n)))

            cls.__init__ = __init__  # type: ignore[method-assign]

        def flatten_with_keys(x):
            return [(k, getattr(x, n)) for k, n in zip(keys, data)], tuple(getattr(x, n) for n in meta)

        def flatten(x):
            return [getattr(x, n) for n in data], tuple(getattr(x, n) for n in meta)

        def unflatten(aux, children):
            return _rebuild(cls, {**dict(zip(data, children)), **dict(zip(meta, aux))})

        jax.tree_util.register_pytree_with_keys(cls, flatten_with_keys, unflatten, flatten)
        cls.factory_name = name
        if name in Schedule._registry:
            raise RuntimeError(f"two schedules registered as {name!r}")
        Schedule._registry[name] = cls
        return cls

    return wrap


# --------------------------------------------------------------- arithmetic


def _value(x: Any, t: jax.Array) -> jax.Array:
    return x(t) if isinstance(x, Schedule) else as_float(x)


@schedule_class("add")
class Add(Schedule):
    """``left + right``: the node ``s + x`` builds."""

    left: Schedule | Leaf
    right: Schedule | Leaf

    def compute(self, t):
        return _value(self.left, t) + _value(self.right, t)


@schedule_class("mul")
class Mul(Schedule):
    """``left * right``: the node ``s * x`` builds."""

    left: Schedule | Leaf
    right: Schedule | Leaf

    def compute(self, t):
        return _value(self.left, t) * _value(self.right, t)


def _operands(name: str, a: Any, b: Any) -> None:
    for x in (a, b):
        if not isinstance(x, Schedule) and concrete(x) is None and not isinstance(x, jax.core.Tracer):
            raise ScheduleError(
                f"{name}: operands must be Schedules or numbers; got {type(x).__name__}. "
                "Wrap a value with lrsched.constant(value)"
            )


def add(left: Schedule | Leaf, right: Schedule | Leaf) -> Add:
    r"""The sum of two schedules, or of a schedule and a number (``s + 0.1`` builds this).

    .. math:: v(t) = a(t) + b(t)

    ``s - x`` is ``add(s, -x)`` and ``-s`` is ``mul(s, -1)``.

    Args:
      left: a Schedule or a number (a leaf).
      right: a Schedule or a number (a leaf).

    Returns:
      An :class:`Add` node.

    Examples:
      >>> import lrsched
      >>> lrsched.evaluate(lrsched.linear(0.0, 1.0, 2) + 1.0, 3)
      array([1. , 1.5, 2. ], dtype=float32)
    """
    _operands("add", left, right)
    return Add(left, right)


def mul(left: Schedule | Leaf, right: Schedule | Leaf) -> Mul:
    r"""The product of two schedules, or of a schedule and a number (``s * 0.5``, ``s1 * s2``).

    .. math:: v(t) = a(t)\, b(t)

    Args:
      left: a Schedule or a number (a leaf).
      right: a Schedule or a number (a leaf).

    Returns:
      A :class:`Mul` node.

    Examples:
      >>> import lrsched
      >>> lrsched.evaluate(0.5 * lrsched.linear(0.0, 1.0, 2), 3)
      array([0.  , 0.25, 0.5 ], dtype=float32)
    """
    _operands("mul", left, right)
    return Mul(left, right)


# ---------------------------------------------------------------- evaluation


_evaluate_jit = jax.jit(lambda s, t: s(t))


def evaluate(schedule: Schedule, steps: ArrayLike | Sequence[int]) -> np.ndarray:
    """The schedule's values as a numpy array, computed in one jitted call.

    Args:
      schedule: any Schedule (not a stateful one: call ``p(step, state)`` for a plateau).
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
