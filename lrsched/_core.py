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
import inspect
import sys
import typing
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Iterator, ParamSpec, Protocol, Sequence, TypeVar, Union

import jax
import jax.numpy as jnp
import numpy as np
from jax.typing import ArrayLike

from lrsched._numerics import (
    Case,
    ScheduleError,
    as_float,
    as_number,
    check_step_range,
    clamp_step,
    common,
    float_dtype,
    int_dtype,
    known_cases,
    step_array,
)

if TYPE_CHECKING or sys.version_info >= (3, 11):
    from typing import dataclass_transform
else:  # Python 3.10: the decorator only informs type checkers
    def dataclass_transform(**kwargs: Any) -> Callable[[Any], Any]:
        return lambda f: f

__all__ = [
    "Schedule", "ScheduleError", "Leaf", "Leaves", "Real", "StatefulSchedule", "schedule_class", "static_field",
    "time_field", "number_field", "count_field", "numbers_field", "flag_field", "choice_field", "function_field",
    "field_since", "schedule_field", "schedules_field", "operand_field", "precise_field", "low_part", "Kind",
    "stackable", "check_kind", "checked", "batch_shape", "evaluate", "need_schedule", "children", "Add", "Mul",
    "Div", "Pow", "add", "mul", "div", "pow",
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


# ------------------------------------------------------------------ field kinds


@dataclasses.dataclass(frozen=True)
class Kind:
    """What a schedule's field (or a compat constructor's argument) holds.

    One checker, :func:`check_kind`, refuses anything else at construction,
    with the project's what/why/fix :class:`ScheduleError`:

    - ``"number"``: a real number or an array of them (a leaf; leading axes are a
      batch): not a bool, a string, None, a set, a dict or a complex number;
      finite in every float dtype (bf16 and f16 included); integers within the
      step integer (int32 unless x64). Step counts such as ``steps`` are numbers:
      a float is a fractional step.
    - ``"count"``: a number with whole values (``patience``, ``seed``, ``limit``): 2 or
      2.0, never 2.5.
    - ``"numbers"``: a sequence of numbers along the last axis (milestones,
      boundaries, values): a list, tuple or array, not a set, a string or a scalar.
    - ``"flag"``: True or False (a static field: ``staircase``, ``periodic``).
    - ``"choice"``: a string among ``options`` (any string when ``options`` is empty).
    - ``"schedule"`` / ``"schedules"``: a Schedule / a sequence of them (``stacked``:
      pieces stacked along a leading axis, as :class:`lrsched.Join` holds them).
    - ``"operand"``: a Schedule or a number (the arithmetic nodes).
    - ``"function"``: a callable (a static field).
    - ``"internal"``: set by a factory, not checked.

    Traced values (inside ``jit``/``vmap``/``grad``) are never checked by value; a
    traced array whose dtype cannot hold the kind (bool, complex) is still refused.
    """

    name: str
    optional: bool = False
    options: tuple[str, ...] = ()
    stacked: bool = False

    @property
    def rank(self) -> int:
        """The number of trailing axes a value of this kind has of its own (the rest is a batch)."""
        return 1 if self.name == "numbers" else 0


NUMBER = Kind("number")
COUNT = Kind("count")
NUMBERS = Kind("numbers")
FLAG = Kind("flag")
SCHEDULE = Kind("schedule")
SCHEDULES = Kind("schedules")
OPERAND = Kind("operand")
INTERNAL = Kind("internal")


def _field(kind: Kind, default: Any, static: bool = False, time: bool = False, since: Any = None) -> Any:
    if default is None and not kind.optional:
        kind = dataclasses.replace(kind, optional=True)
    metadata = {"kind": kind, **({"static": True} if static else {}), **({"time": True} if time else {}),
                **({"since": since} if since is not None else {})}
    return dataclasses.field(default=default, metadata=metadata)


def field_since(f: dataclasses.Field) -> tuple[int, Any] | None:
    """``(format, value)`` for a field added in config format ``format``: what configs and checkpoints
    saved before it existed mean (``noise``'s ``generator``: ``(2, "threefry")``), else None. Old configs
    load with that value, and a field holding it stays out of a structure's fingerprint."""
    return f.metadata.get("since")


def static_field(default: Any = dataclasses.MISSING) -> Any:
    """A dataclass field that is pytree metadata (hashable, never traced), set by a factory (not checked)."""
    return _field(INTERNAL, default, static=True)


def time_field(default: Any = dataclasses.MISSING) -> Any:
    """A number that is a duration or a position in steps (``steps``, ``offset``, ...).

    :meth:`Schedule.stretched` multiplies these (and only these) to slow a schedule down.
    """
    return _field(NUMBER, default, time=True)


def number_field(default: Any = dataclasses.MISSING) -> Any:
    """A number (the kind of every data field declared without a specifier)."""
    return _field(NUMBER, default)


def count_field(default: Any = dataclasses.MISSING) -> Any:
    """A number with whole values: a count (``patience``) or a seed."""
    return _field(COUNT, default)


def numbers_field(default: Any = dataclasses.MISSING, time: bool = False) -> Any:
    """A sequence of numbers, one leaf (``milestones``, ``values``); `time`: durations or positions in steps."""
    return _field(NUMBERS, default, time=time)


def flag_field(default: Any = dataclasses.MISSING, since: tuple[int, bool] | None = None) -> Any:
    """A static bool; `since`: see :func:`field_since`."""
    return _field(FLAG, default, static=True, since=since)


def choice_field(*options: str, default: Any = dataclasses.MISSING, since: tuple[int, str] | None = None) -> Any:
    """A static string among `options` (any string when none are given); `since`: see :func:`field_since`."""
    return _field(Kind("choice", options=options), default, static=True, since=since)


def function_field(default: Any = dataclasses.MISSING) -> Any:
    """A static callable."""
    return _field(Kind("function"), default, static=True)


def schedule_field(default: Any = dataclasses.MISSING) -> Any:
    """A Schedule."""
    return _field(SCHEDULE, default)


def schedules_field(default: Any = dataclasses.MISSING, stacked: bool = False) -> Any:
    """A sequence of Schedules (`stacked`: each one holds several pieces along a leading axis)."""
    return _field(Kind("schedules", stacked=stacked), default)


def operand_field(default: Any = dataclasses.MISSING) -> Any:
    """A Schedule or a number."""
    return _field(OPERAND, default)


def field_kind(f: dataclasses.Field) -> Kind:
    """A field's kind: declared with a specifier above, else a number (optional when it defaults to None)."""
    kind = f.metadata.get("kind")
    if kind is None:
        kind = INTERNAL if f.metadata.get("static") else NUMBER
        if f.default is None:
            kind = dataclasses.replace(kind, optional=True)
    return kind


def precise_field(default: Any = dataclasses.MISSING, many: bool = False) -> Any:
    """A float leaf whose float32 rounding a formula would amplify: the base of a power
    (``rate ** t`` multiplies the relative rounding of `rate` by ``t``).

    Such a field carries a companion leaf, ``<name>_lo``: the float64 value the user
    passed minus its float32 rounding (:func:`low_part`), so a float32 evaluation,
    jitted with the schedule as an argument, still sees the number that was passed
    (:meth:`Schedule.low`). A traced value (a schedule built inside ``jit`` or
    ``vmap``) has no low part: its float32 value is the one used. Its kind is a number
    (`many`: a sequence of numbers, one leaf).
    """
    field = _field(NUMBERS if many else NUMBER, default)
    return dataclasses.field(default=default, metadata={**field.metadata, "precise": True})


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


def _float64(a: np.ndarray) -> np.ndarray:
    """bf16, f16 and the other floats numpy does not know as floats (ml_dtypes), as float64."""
    if a.dtype.kind not in "biuf" and jnp.issubdtype(a.dtype, jnp.floating):
        return a.astype(np.float64)
    return a


def stackable(value: Any) -> Any:
    """A list or tuple whose bf16 (and other ml_dtypes float) entries are float64 numpy numbers: numpy cannot
    stack JAX bf16 scalars into one array; anything else as it is."""
    if not isinstance(value, (list, tuple)):
        return value

    def entry(x: Any) -> Any:
        if isinstance(x, (list, tuple)):
            return stackable(x)
        if isinstance(x, (jax.Array, np.ndarray, np.generic)) and not isinstance(x, jax.core.Tracer):
            a = np.asarray(x)
            return a.astype(np.float64) if a.dtype.kind not in "biufc" else x
        return x

    return type(value)(entry(x) for x in value)


def concrete(x: Any) -> np.ndarray | None:
    """`x` as a numeric numpy array if it is a concrete number; else None.

    Tracers, abstract values and the placeholders JAX puts in pytrees during
    transformations are not concrete: validation skips them. Floats numpy does
    not know (bf16) come back as float64, so every check sees them.
    """
    if x is None or isinstance(x, (jax.core.Tracer, str, bool)):
        return None
    if isinstance(x, (int, float, np.number, np.ndarray, list, tuple)) or isinstance(x, jax.Array):
        try:
            a = _float64(np.asarray(stackable(x)))
        except Exception:  # noqa: BLE001 - anything odd is simply not concrete
            return None
        if a.dtype.kind in "biuf":
            return a
    return None


def _show(v: Any) -> str:
    if isinstance(v, jax.core.Tracer):
        return f"<traced {v.aval}>"
    a = None if isinstance(v, (list, tuple)) and not _plain_numbers(v) else concrete(v)
    if a is None:
        text = repr(v)
        return text if len(text) <= 80 else text[:77] + "..."
    if a.ndim == 0:
        return repr(a.item())
    return repr(a.tolist())


def argument_error(where: str, field: str, value: Any, must: str, fix: str = "") -> ScheduleError:
    """The project's error for a bad argument: what, the value, why, and the fix."""
    shown = _show(value)
    return ScheduleError(f"{where}({field}={shown}): {field} must be {must}; got {shown}" + (f". {fix}" if fix else ""),
                         where=where, field=field, value=value)


def require(where: str, field: str, value: Any, test: Callable[[np.ndarray], Any], must: str, fix: str = "") -> None:
    """Raise :func:`argument_error` when `value` is concrete and `test` is false for it."""
    a = concrete(value)
    if a is not None and not bool(np.all(test(a))):
        raise argument_error(where, field, value, must, fix)


def need_schedule(where: str, value: Any, fix: str = "Build one with a factory such as lrsched.cosine(...), "
                  "or wrap a number with lrsched.constant(value)") -> None:
    """Raise the project's error when `value` is not a Schedule (`where` names the argument)."""
    if not isinstance(value, Schedule):
        raise ScheduleError(f"{where}: expected an lrsched Schedule; got {type(value).__name__}. {fix}",
                            where=where, value=value)


_WHAT = {"number": "a real number or an array of them", "count": "a whole number",
         "numbers": "a sequence of numbers (a list, tuple or array)", "operand": "a Schedule or a number"}


def _type_error(where: str, field: str, value: Any, kind: Kind, why: str) -> ScheduleError:
    what = _WHAT[kind.name] + (" or None" if kind.optional else "")
    if kind.name == "numbers":
        fix = "Pass a list or an array such as [30, 60]" + (
            " (sorted: a set has no order)" if isinstance(value, (set, frozenset)) else "")
    elif kind.name == "count":
        fix = "Pass an int"
    elif kind.name == "operand":
        fix = "Pass an int or a float, or a schedule (lrsched.constant(value) wraps a number)"
    else:
        fix = "Pass an int or a float (or an array of them)"
    error = argument_error(where, field, value, what, f"{why[0].upper()}{why[1:]}. {fix}")
    error.expected = kind.name  # what the argument should have been (lrsched.sweep.grid reads it)
    return error


def _numeric(where: str, field: str, value: Any, kind: Kind) -> np.ndarray | None:
    """The concrete numbers in `value` (bf16 as float64; a list's bf16 entries need :func:`stackable` first,
    as :func:`check_kind` does), None for a traced value; the project's error for anything that is not a real
    number, a sequence or an array of them."""
    if isinstance(value, jax.core.Tracer):
        if not (jnp.issubdtype(value.dtype, jnp.integer) or jnp.issubdtype(value.dtype, jnp.floating)):
            raise _type_error(where, field, value, kind, f"a traced array of {value.dtype} is not a real number")
        return None
    if isinstance(value, (bool, np.bool_)):
        raise _type_error(where, field, value, kind, "bools are not numbers here")
    if isinstance(value, (list, tuple)):
        leaves = jax.tree.leaves(value)
        if any(isinstance(x, (bool, np.bool_)) for x in leaves):
            raise _type_error(where, field, value, kind, "bools are not numbers here")
        if any(isinstance(x, jax.core.Tracer) for x in leaves):
            return None  # a list holding traced values: checked when it is traced as one array
    if not isinstance(value, (int, float, np.number, np.ndarray, jax.Array, list, tuple)):
        raise _type_error(where, field, value, kind, f"a {type(value).__name__} is not a number")
    if isinstance(value, int) and abs(value) > 2**62:
        raise argument_error(where, field, value, "within the int64 range", "Pass a float")
    try:
        a = _float64(np.asarray(value))
    except (TypeError, ValueError):
        raise _type_error(where, field, value, kind, "its entries do not form one array (a ragged or mixed "
                          "sequence)") from None
    if a.dtype.kind == "b":
        raise _type_error(where, field, value, kind, "bools are not numbers here")
    if a.dtype.kind not in "iuf":
        what = "complex numbers are" if a.dtype.kind == "c" else f"an array of {a.dtype} is"
        raise _type_error(where, field, value, kind, f"{what} not real numbers")
    return a


_F32_MAX = float(np.finfo(np.float32).max)


def check_kind(where: str, field: str, value: Any, kind: Kind, int_range: bool = True) -> Any:
    """Check `value` against `kind` (see :class:`Kind`) and return it normalised (a numpy bool as a bool).

    `where` names the schedule or function, `field` the argument, in the error.
    `int_range`: integers beyond the step integer refuse (a field would wrap); a
    compat function's argument skips that check (:func:`checked`): it takes the
    anchor's integers of any size and passes what it cannot hold on as a float,
    and a schedule field it fills is checked again."""
    if value is None:
        if kind.optional or kind.name == "internal":
            return value
        if kind.name in ("schedule", "schedules"):
            need_schedule(f"{where}({field})", value)
        if kind.name not in ("flag", "choice", "function"):  # those say what they take, below
            raise _type_error(where, field, value, kind, "None is not a number")
    name = kind.name
    if name == "internal":
        return value
    if name == "flag":
        if isinstance(value, (bool, np.bool_)):
            return bool(value)
        raise argument_error(where, field, value, "True or False",
                             f"{field} is a flag: pass a bool (a {type(value).__name__} is not one; a string such as "
                             "'no' would count as true)")
    if name == "choice":
        if isinstance(value, str) and (not kind.options or value in kind.options):
            return value
        must = "one of " + ", ".join(repr(o) for o in kind.options) if kind.options else "a string"
        raise argument_error(where, field, value, must,
                             f"Pick one of {list(kind.options)}" if kind.options else "Pass a string")
    if name == "function":
        if callable(value):
            return value
        raise argument_error(where, field, value, "a function or None", "Pass a JAX-traceable function")
    if name == "schedule" or (name == "operand" and isinstance(value, Schedule)):
        need_schedule(f"{where}({field})", value)
        return value
    if name == "schedules":
        if not isinstance(value, (list, tuple)):
            need_schedule(f"{where}({field})", value, "Pass a list of schedules")
        for i, x in enumerate(value):
            need_schedule(f"{where}({field}[{i}])", x)
        return value
    value = stackable(value)  # (bf16 entries of a list as float64: numpy and JAX read the list as one array)
    a = _numeric(where, field, value, kind)
    if a is None:
        return value
    if a.ndim < kind.rank:
        raise _type_error(where, field, value, kind, "a single number is not a sequence")
    if kind.rank == 0 and a.size == 0:  # (a batch of no configurations: every value would be an empty array)
        raise argument_error(where, field, value, "a number (or a batch of numbers), not an empty array",
                             f"Pass one number for {field}")
    if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
        raise argument_error(where, field, value, "finite (no NaN or inf)", "Pass a finite number")
    if a.dtype.kind == "f" and a.size and float_dtype() == np.float32 and np.abs(a.astype(np.float64)).max() > _F32_MAX:
        raise argument_error(where, field, value, "within float32's range (|x| <= 3.4e38): schedules compute in "
                             "float32 while jax_enable_x64 is off, where it would be inf",
                             "Enable float64 first (jax.config.update('jax_enable_x64', True)) or pass a smaller "
                             "number")
    if name == "count" and a.dtype.kind == "f" and not np.all(a == np.floor(a)):
        raise argument_error(where, field, value, "a whole number", f"{field} counts something: pass an int, "
                             f"e.g. {field}={int(np.floor(a.reshape(-1)[0]))}")
    if int_range and a.dtype.kind in "iu" and a.size:
        top = int(np.iinfo(int_dtype()).max)
        if int(a.max()) > top or int(a.min()) < -top:
            raise argument_error(where, field, value, f"within {np.dtype(int_dtype()).name} range",
                                 ("Enable jax_enable_x64 for 64-bit integers" + ("" if name == "count" else
                                  f", or pass {field} as a float")) if top < 2**32 else "Pass a float")
    return value


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
    if not isinstance(value, str) or value not in options:
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


def _annotation_kind(annotation: Any, namespace: dict[str, Any], default: Any) -> Kind | None:
    """The kind an argument's annotation declares (None: not checked here).

    ``Real`` is a number, ``Leaves`` or ``Sequence[Real]`` numbers, ``int`` a count,
    ``bool`` a flag, ``str`` a string, ``Schedule`` and ``Sequence[Schedule]``
    schedules; ``X | None`` (or a None default) makes it optional. Anything else
    (``Any``, ``dict``, a union with other types) is left to the function."""
    try:
        hint = eval(annotation, namespace) if isinstance(annotation, str) else annotation  # noqa: S307
    except Exception:  # noqa: BLE001 - an annotation that does not resolve is not checked
        return None
    optional = default is None
    args = typing.get_args(hint)
    if typing.get_origin(hint) is Union and type(None) in args and hint != Leaves:
        rest = tuple(a for a in args if a is not type(None))
        hint, optional = (Union[rest] if len(rest) > 1 else rest[0]), True
    table: list[tuple[Any, Kind]] = [(Real, NUMBER), (Leaves, NUMBERS), (Sequence[Real], NUMBERS), (int, COUNT),
                                     (bool, FLAG), (str, Kind("choice")), (Schedule, SCHEDULE),
                                     (Sequence[Schedule], SCHEDULES)]
    for known, kind in table:
        if hint == known:
            return dataclasses.replace(kind, optional=optional)
    return None


P = ParamSpec("P")
R = TypeVar("R")


def checked(fn: Callable[P, R]) -> Callable[P, R]:
    """Check a constructor's arguments against the kinds their annotations declare, at every call.

    The compat constructors translate another library's arguments with
    arithmetic before any schedule is built; this makes a string, a bool, None,
    a NaN (...) where a number belongs fail with the project's error naming the
    function and the argument (``StepLR(step_size='3')``) instead of a late
    ``TypeError``. Kinds as in :class:`Kind`, read from the annotations
    (``Real``, ``Real | None``, ``Leaves``, ``int``, ``bool``, ``str``,
    ``Schedule``, ``Sequence[Schedule]``); other annotations are the function's
    own business. Ranges (positive, in [0, 1]...) stay with the function and the
    schedules it builds.
    """
    signature = inspect.signature(fn)
    kinds: dict[str, Kind] | None = None

    @functools.wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        nonlocal kinds
        if kinds is None:  # resolved at the first call: the module is complete by then
            found = {name: _annotation_kind(p.annotation, fn.__globals__, p.default)
                     for name, p in signature.parameters.items()
                     if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)}
            kinds = {name: kind for name, kind in found.items() if kind is not None}
        for name, value in signature.bind(*args, **kwargs).arguments.items():
            if name in kinds:
                check_kind(fn.__name__, name, value, kinds[name], int_range=False)
        return fn(*args, **kwargs)

    wrapper.__lrsched_checked__ = True  # type: ignore[attr-defined]
    return wrapper


def check_fields(schedule: Schedule) -> None:
    """Every field against its declared kind (:class:`Kind`); normalises the values in place."""
    where = type(schedule).factory_name
    for f in dataclasses.fields(schedule):
        value = check_kind(where, f.name, getattr(schedule, f.name), field_kind(f))
        object.__setattr__(schedule, f.name, value)


# ------------------------------------------------------- batches and evaluate's input


def batch_shape(schedule: Schedule) -> tuple[int, ...]:
    """The leading axes a schedule's numbers carry beyond their own (:attr:`Kind.rank`): ``()`` for
    one schedule, ``(N,)`` for N schedules stacked by :mod:`lrsched.sweep` or built under ``jax.vmap``.

    Read from the leaves' shapes (traced ones too), never their values.
    """

    def walk(s: Schedule, stacked: int) -> Iterator[tuple[int, ...]]:
        for f in dataclasses.fields(s):
            kind, value = field_kind(f), getattr(s, f.name)
            if isinstance(value, Schedule):
                yield from walk(value, stacked)
            elif kind.name == "schedules":
                for x in value:
                    yield from walk(x, stacked + int(kind.stacked))
            elif kind.name in ("number", "count", "numbers", "operand") and value is not None:
                extra = np.ndim(value) - kind.rank - stacked
                if extra > 0:
                    yield tuple(np.shape(value)[:extra])

    return next(walk(schedule, 0), ())


def _value_shape(schedule: Schedule, values: tuple[int, ...], steps: tuple[int, ...]) -> tuple[int, ...]:
    """The shape of a call's values: the steps' shape, broadcast with the leading axes of a schedule whose numbers
    are arrays (numpy's rule, as optax's schedules follow it: a batch of two peaks at one step gives two values);
    shapes that do not broadcast are a clear error here, not one from inside JAX."""
    try:
        return jnp.broadcast_shapes(values, steps)
    except ValueError:
        raise ScheduleError(
            f"{schedule.factory_name}(...)(step): its numbers are arrays that give values of shape {values}, and the "
            f"steps have shape {steps}: the two do not broadcast (numpy's rule). Call it at one step or at steps "
            f"of a shape that broadcasts with {values}, evaluate one entry at a time, or jax.vmap over a stacked "
            "batch (lrsched.sweep)"
        ) from None


def check_evaluate(schedule: Any, steps: Any) -> None:
    """:func:`evaluate`'s arguments: one schedule (not a batch of them) and an int count or an array of steps."""
    where = "evaluate"
    if isinstance(schedule, Schedule) and not schedule.stateful:
        batch = batch_shape(schedule)
        if batch:
            raise ScheduleError(
                f"{where}: this schedule holds a batch of {int(np.prod(batch))} schedules (its numbers have leading "
                f"axes {batch}, as lrsched.sweep.stack/grid or jax.vmap build them), so it has no single value per "
                "step. Evaluate the entries one by one: [lrsched.evaluate(s, n) for s in lrsched.sweep.unstack(b)], "
                "or all at once: jax.vmap(lambda s: s(jnp.arange(n)))(b)", where=where, field="schedule")
    if isinstance(steps, (bool, np.bool_)):
        raise argument_error(where, "steps", steps, "an int count or an array of steps, not a bool",
                             "Pass e.g. steps=100 for the steps 0..99, or [1] for the value at step 1")
    if isinstance(steps, (int, np.integer)):
        if steps < 0:
            raise argument_error(where, "steps", steps, ">= 0 (a count of steps must be >= 0)",
                                 "Pass the number of steps to evaluate from step 0")
        return
    if isinstance(steps, (float, np.floating)):
        raise argument_error(where, "steps", steps, "an int count or an array of steps; a float is neither",
                             f"Pass int(n) for the steps 0..n-1, or [{steps!r}] for the value at that step")
    if not isinstance(steps, (np.ndarray, jax.Array, list, tuple)):
        raise argument_error(where, "steps", steps, "an int count or an array of steps",
                             f"A {type(steps).__name__} is neither. Pass e.g. 100, or np.arange(100)")
    if np.ndim(steps) == 0:  # np.array(5), jnp.int32(5): a count (as int 5) or the step 5 (as [5])?
        raise argument_error(where, "steps", steps, "an int count or an array of steps; a 0-d array is ambiguous",
                             "Pass int(n) for the steps 0..n-1, or a 1-d array such as [n] for the value at step n")
    a = concrete(steps)
    if a is not None and a.dtype.kind == "f" and not np.all(np.isfinite(a)):
        raise argument_error(where, "steps", steps, "finite (no NaN or inf)", "Pass finite steps")
    check_step_range(steps)


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
        try:
            return np.asarray(x)
        except ValueError:  # ragged: left as given, for the field's kind check to refuse
            return x
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
        check_fields(self)
        self.validate()

    def validate(self) -> None:
        """Check concrete field values; subclasses raise via the ``check_*`` helpers."""

    def cases(self) -> tuple[Case, ...]:
        """Leaves whose special values have code of their own (the exponents 1 and 2 of a power, a decay
        of 1): ``__call__`` computes only the branch that applies and hands ``compute`` one
        ``lrsched._numerics.Known`` per case after the step (``known_cases``). None by default."""
        return ()

    def compute(self, t: jax.Array, *known: Any) -> jax.Array:
        """The schedule at steps `t` (already clamped at 0, int or float array), then one
        ``Known`` per entry of ``cases()``."""
        raise NotImplementedError

    def __call__(self, step: Any) -> jax.Array:
        """The value at `step` (an int or float, or an array of them: values of its shape). A schedule whose
        numbers are arrays (a batch of them, as ``lrsched.sweep.stack`` builds) gives values of the batch's shape
        broadcast with the steps', by numpy's rule, as optax's schedules do."""
        t = step_array(step)
        # the clamp at 0 inside the branch: one fused loop from the step to the value
        try:
            out = jnp.asarray(known_cases(lambda *known: self.compute(clamp_step(t), *known), *self.cases()))
        except (ValueError, TypeError):
            batch = batch_shape(self)
            if batch:  # numbers that are arrays, at steps of a shape they do not broadcast with: say so
                _value_shape(self, batch, t.shape)
            raise
        return jnp.broadcast_to(out, _value_shape(self, out.shape, t.shape)).astype(float_dtype())

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
        return add(self, _negated("sub", other))

    def __rsub__(self, other: Any) -> Schedule:
        _operands("sub", other, self)
        return add(-self, other)

    def __truediv__(self, other: Any) -> Schedule:
        return div(self, other)

    def __rtruediv__(self, other: Any) -> Schedule:
        return div(other, self)

    def __pow__(self, other: Any) -> Schedule:
        return pow(self, other)

    def __rpow__(self, other: Any) -> Schedule:
        return pow(other, self)

    #: numpy defers to the reflected operators (``np.float32(2) * s`` builds a node, not an object array)
    __array_ufunc__ = None

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

    def low(self, name: str) -> jax.Array | np.ndarray:
        """The low part of the precise field `name` (see ``precise_field``), as the
        default float dtype: what float32 lost of the value passed, and 0 under x64
        (where the field itself is exact). Not differentiated. A numpy constant when
        it is one (not traced): ``known_cases`` reads it while tracing."""
        if float_dtype() != np.float32:
            return np.zeros(jnp.shape(getattr(self, name)), float_dtype())
        lo = getattr(self, f"{name}_lo")
        if not isinstance(lo, jax.core.Tracer):
            return np.asarray(lo, float_dtype())
        return jax.lax.stop_gradient(as_float(lo))

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
                     field_specifiers=(dataclasses.field, static_field, time_field, number_field, count_field,
                                       numbers_field, flag_field, choice_field, function_field, schedule_field,
                                       schedules_field, operand_field))
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

    left: Schedule | Leaf = operand_field()
    right: Schedule | Leaf = operand_field()

    def compute(self, t):
        return _value(self.left, t) + _value(self.right, t)


@schedule_class("mul")
class Mul(Schedule):
    """``left * right``: the node ``s * x`` builds."""

    left: Schedule | Leaf = operand_field()
    right: Schedule | Leaf = operand_field()

    def compute(self, t):
        return _value(self.left, t) * _value(self.right, t)


@schedule_class("div")
class Div(Schedule):
    """``left / right``: the node ``s / x``, ``x / s`` and ``s / s2`` build."""

    left: Schedule | Leaf = operand_field()
    right: Schedule | Leaf = operand_field()

    def validate(self):
        if not isinstance(self.right, Schedule):
            check(self, "right", lambda a: a != 0, "non-zero (it divides)", "Divide by a non-zero number")

    def compute(self, t):
        return _value(self.left, t) / _value(self.right, t)


@schedule_class("pow")
class Pow(Schedule):
    """``left ** right``: the node ``s ** x``, ``x ** s`` and ``s ** s2`` build."""

    left: Schedule | Leaf = operand_field()
    right: Schedule | Leaf = operand_field()

    def validate(self):
        if not isinstance(self.left, Schedule) and isinstance(self.right, Schedule):
            check(self, "left", lambda a: a >= 0, "non-negative when the exponent is a schedule",
                  "A negative number to a fractional power is NaN: pass a base >= 0, "
                  "e.g. 10 ** lrsched.linear(-5, -1, n)")

    def compute(self, t):
        return jnp.power(_value(self.left, t), _value(self.right, t))


def _operands(name: str, a: Any, b: Any) -> None:
    """Both operands are Schedules or numbers (the error names the operator's function and the side)."""
    check_kind(name, "left", a, OPERAND)
    check_kind(name, "right", b, OPERAND)


def _negated(name: str, x: Any) -> Any:
    """``-x`` for an operand of ``s - x`` and ``x - s`` (checked first, so ``s - "a"`` says what is wrong)."""
    check_kind(name, "right", x, OPERAND)
    if isinstance(x, Schedule):
        return mul(x, -1.0)
    return -np.asarray(x) if isinstance(x, (list, tuple)) else -x


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


def div(left: Schedule | Leaf, right: Schedule | Leaf) -> Div:
    r"""The quotient of two schedules, or of a schedule and a number (``s / 2``, ``1 / s``, ``s1 / s2``).

    .. math:: v(t) = a(t) / b(t)

    A number divisor must be non-zero (checked when it is concrete); a schedule
    divisor that reaches 0 gives ``inf`` there, as any float division does.

    Args:
      left: a Schedule or a number (a leaf): the dividend.
      right: a Schedule or a non-zero number (a leaf): the divisor.

    Returns:
      A :class:`Div` node.

    Examples:
      >>> import lrsched
      >>> lrsched.evaluate(lrsched.linear(1.0, 2.0, 2) / 4, 3)
      array([0.25 , 0.375, 0.5  ], dtype=float32)
      >>> lrsched.evaluate(1.0 / lrsched.linear(1.0, 2.0, 2), 3).round(4)
      array([1.    , 0.6667, 0.5   ], dtype=float32)
    """
    _operands("div", left, right)
    return Div(left, right)


def pow(left: Schedule | Leaf, right: Schedule | Leaf) -> Pow:  # noqa: A001 - lrsched.pow, as jnp.pow
    r"""A power of schedules or numbers (``s ** 2``, ``10 ** s``, ``s1 ** s2``).

    .. math:: v(t) = a(t)^{b(t)}

    ``10 ** lrsched.linear(-6, 0, n)`` is a log-uniform ramp from 1e-6 to 1 (an LR
    range test's sweep). As for any float power, a negative value to a
    fractional power is NaN: a number base under a schedule exponent must be
    >= 0 (checked when concrete); keep a schedule base positive (or its
    exponent whole). The derivative with respect to the exponent is 0 where the
    base is 0.

    Args:
      left: a Schedule or a number (a leaf): the base.
      right: a Schedule or a number (a leaf): the exponent.

    Returns:
      A :class:`Pow` node.

    Examples:
      >>> import lrsched
      >>> lrsched.evaluate(lrsched.linear(1.0, 3.0, 2) ** 2, 3)
      array([1., 4., 9.], dtype=float32)
      >>> lrsched.evaluate(10.0 ** lrsched.linear(-3.0, -1.0, 2), 3)
      array([0.001, 0.01 , 0.1  ], dtype=float32)
    """
    _operands("pow", left, right)
    return Pow(left, right)


# ---------------------------------------------------------------- evaluation


_evaluate_jit = jax.jit(lambda s, t: s(t))


@functools.partial(jax.jit, static_argnums=1)
def _evaluate_range(schedule: Schedule, n: int) -> jax.Array:
    """The values at steps ``0 .. n-1``, the steps built on the device inside the program."""
    return schedule(jnp.arange(n, dtype=int_dtype()))


def _to_numpy(values: jax.Array) -> np.ndarray:
    """A numpy view of a result on the CPU (DLPack: no copy, 0.1 ms where ``np.asarray`` takes 3 ms per
    10^7 values), a copy from any other device. Read-only either way, as ``np.asarray`` gives."""
    if all(d.platform == "cpu" for d in values.devices()):
        return np.from_dlpack(values)  # type: ignore[arg-type]
    return np.asarray(values)


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
    check_evaluate(schedule, steps)
    if not isinstance(schedule, Schedule):
        raise TypeError(
            f"evaluate(schedule=...) needs an lrsched Schedule; got {type(schedule).__name__}. "
            "Build one with a factory such as lrsched.cosine(...)"
        )
    if isinstance(steps, (int, np.integer)) and not isinstance(steps, bool):
        if steps < 0:
            raise ValueError(f"evaluate(steps={steps}): a count of steps must be >= 0")
        if steps:
            check_step_range(int(steps) - 1)  # the last step must fit the step integer
        return _to_numpy(_evaluate_range(schedule, int(steps)))
    check_step_range(steps)
    return _to_numpy(_evaluate_jit(schedule, as_number(steps)))
