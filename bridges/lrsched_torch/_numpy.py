"""Schedule values in numpy float64, from a schedule's config, for the common schedule types.

A torch program that builds its first ``ScheduleLR`` should not pay for JAX's CPU
backend and an XLA compile (a few hundred milliseconds) before its first step,
nor for one XLA dispatch per table refill. For the schedule types below the
bridge therefore evaluates the config directly with numpy, following the core's
formulas (``lrsched._numerics``, ``_primitives``, ``_combinators``) operation by
operation in float64: integer offsets and phases first, the same ``sin``-squared
cosine (rising or falling from the nearer end), the same k-decay warp, the same
double-float exponential (``rate_power``), the same phase ends of ``one_cycle``.
Any other type (or a schedule without a config) goes to JAX: :func:`values`
returns None.

No silent divergence when the core grows an option: every evaluator declares a
:class:`Spec`, the exact set of config keys it understands, the core's default
for each option it does not implement, and the values of each static option
(a mode string, a flag) it implements. A config with another key, an
unimplemented option away from its default or an unknown mode is
:class:`Unsupported`, and the bridge evaluates it with JAX.
``tests/test_torch_numpy.py`` checks that each declared key set equals the core
class's config keys (a new core field fails there until this module follows it),
and every evaluator against the JAX evaluation (x64) on the shared cases and on
random parameters.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import types
from typing import Any, Callable, Generator, Hashable, Mapping

import numpy as np

__all__ = ["values", "evaluator", "Evaluator", "finish", "quiet", "ERRORS", "supported", "proportion", "Unsupported",
           "Spec", "SPECS", "FORMAT", "Stages"]

F64 = np.float64
I64 = np.int64
HALF_PI = 0.5 * np.pi
#: The config format these evaluators read: ``lrsched._config.FORMAT`` (not imported here: that would import
#: JAX; a test checks that the two agree).
FORMAT = 3
#: The formats read as they are: format 1 differs from 2 only in ``noise`` nodes (no ``generator``), which
#: have no numpy evaluator (JAX evaluates them, after ``from_config``'s upgrade); format 2 from 3 only in
#: one-cycles without ``extrapolate``, whose key sets differ from the declared ones (JAX evaluates them too).
_FORMATS = (1, 2, 3)
_META = frozenset({"type", "lrsched_config"})


#: An evaluation in stages (a generator): it yields between stages of about one array operation each and returns
#: its result, so a torch scheduler computes its next values a stage per step (see :class:`Evaluator`).
Stages = Generator[None, None, Any]


class Unsupported(Exception):
    """This config (or a part of it) has no numpy evaluator: use JAX."""


#: Elements per stage of a transcendental function (``sin``, ``exp``, ``log``...: 5-15 ns an element here), so
#: that no stage takes much more than one plain pass over a table chunk (see :class:`Evaluator`).
SLICE = 512


def _each(fn: Callable[..., np.ndarray], *args: Any) -> Stages:
    """``fn(*args)`` for an elementwise `fn` of arrays of one shape (and scalars), in stages of :data:`SLICE`
    elements (the same values: each element is computed alone), after a stage that prepares them."""
    arrays = [isinstance(a, np.ndarray) and a.ndim > 0 for a in args]
    shape = next((a.shape for a, array in zip(args, arrays) if array), ())
    if math.prod(shape) <= SLICE or any(array and a.shape != shape for a, array in zip(args, arrays)):
        return fn(*args)
    flat = [a.ravel() if array else a for a, array in zip(args, arrays)]
    out = np.empty(math.prod(shape), F64)
    for start in range(0, out.size, SLICE):
        yield
        stop = start + SLICE
        out[start:stop] = fn(*[a[start:stop] if array else a for a, array in zip(flat, arrays)])
    return out.reshape(shape)


# ----------------------------------------------------------------- numbers and steps


def _num(x: Any) -> Any:
    """A config number as a numpy scalar (numpy's arithmetic at a fraction of a 0-d array's cost): Python ints
    stay integers (exact offsets), the rest float64."""
    if isinstance(x, bool) or x is None or isinstance(x, (list, dict, str)):
        raise Unsupported(f"not a scalar number: {x!r}")
    if isinstance(x, int):
        return I64(x)
    if isinstance(x, float):
        return F64(x)
    raise Unsupported(f"unexpected leaf {type(x).__name__}")


def _f(x: Any) -> Any:
    return x.astype(F64) if isinstance(x, (np.ndarray, np.generic)) else F64(_num(x))


def _vector(x: Any, dtype: Any = None) -> np.ndarray:
    if not isinstance(x, list) or any(isinstance(v, (list, dict, bool)) or v is None for v in x):
        raise Unsupported("not a flat list of numbers")
    if dtype is None:
        dtype = I64 if all(isinstance(v, int) for v in x) else F64
    return np.asarray(x, dtype)


def _integer(x: np.ndarray) -> bool:
    return x.dtype.kind in "iu"


def _common(*xs: np.ndarray) -> tuple[np.ndarray, ...]:
    """The core's ``common``: integers when every input is an integer, else float64."""
    # (a list, not a generator, into the tuple: ``tuple(<generator>)`` leaves CPython's young-generation count one
    # higher per call, which would drive the garbage collector from a torch scheduler's steps)
    dtype = I64 if all(x.dtype.kind in "iu" for x in xs) else F64
    return tuple([x.astype(dtype, copy=False) for x in xs])


def _phase(offset: np.ndarray, length: Any) -> Stages:
    """The core's ``phase``: (done, left) in [0, 1], from exact integers scaled by one reciprocal. In stages."""
    offset, length = _common(offset, length)
    if length.ndim == 0:  # one length (the usual case): its part in scalar arithmetic, the same operations
        n = length[()]
        n = n if not n < 0 else n.dtype.type(0)  # np.maximum(n, 0), NaN kept
        empty = n <= 0
        yield
        done = np.maximum(offset, n.dtype.type(0))  # np.clip(offset, 0, n)
        yield
        done = np.minimum(done, n)
        yield
        left = n - done
        yield
        inverse = F64(1.0) / (F64(1.0) if empty else F64(n))
        plus = F64(1.0) if empty else None if _integer(done) else F64(0.0)  # (+0.0: -0.0 becomes 0.0)
        done = np.multiply(done, inverse, dtype=F64)  # (an integer converted exactly, then one rounding)
        yield
        if plus is not None:
            done += plus
            yield
        return done, np.multiply(left, inverse, dtype=F64)
    zero = np.zeros((), length.dtype)
    length = np.maximum(length, zero)
    done = np.clip(offset, zero, length)
    left = length - done
    yield
    empty = length <= 0
    scale = 1.0 / np.where(empty, np.ones((), length.dtype), length).astype(F64)
    finished = np.where(empty, 1.0, 0.0)
    yield
    return done.astype(F64) * scale + finished, left.astype(F64) * scale


def _split(offset: np.ndarray, period: Any) -> Stages:
    """The core's ``split``: floor division on integers; on floats ``k = floor(offset / period)`` and the
    remainder ``offset - k period`` rounded once, as XLA computes it (a fused multiply-add; exact products
    here): a separately rounded ``k period`` would be off by ``offset * 2**-53``, 1e-4 at step 2**40. In
    stages."""
    offset, period = _common(offset, period)
    if period.ndim == 0:
        period = period[()]
        period = period if period > 0 else period.dtype.type(1)  # np.where(period > 0, period, 1), NaN too
    else:
        period = np.where(period > 0, period, np.ones((), period.dtype))
    yield
    if _integer(offset):  # (numpy divides by one integer 2-3x faster than it takes a remainder or a divmod)
        k = np.floor_divide(offset, period)
        yield
        return k, offset - k * period
    k = np.floor(offset / period)
    yield
    p, e = yield from _two_product(k, period)
    yield
    return k, (offset - p) - e  # offset - p is exact (Sterbenz): one rounding in all


def _cos_anneal(left: np.ndarray) -> Stages:
    """The core's ``cos_anneal(done, left)``: ``(1 + cos(pi done)) / 2`` as ``sin(pi left / 2)**2``. In stages
    of :data:`SLICE` elements."""
    return (yield from _each(_sin_squared, left))


def _sin_squared(left: np.ndarray) -> np.ndarray:
    w = np.sin(HALF_PI * left)
    w *= w  # (``w ** 2``: the same product)
    return w


def _lerp(start: Any, end: Any, done: np.ndarray, left: np.ndarray) -> Stages:
    """``start * left + end * done``. In stages."""
    a = _f(start) * left
    yield
    b = _f(end) * done
    yield
    return a + b


def _cos_weights(done: np.ndarray, left: np.ndarray) -> Stages:
    """The core's ``cos_weights``: the smaller weight from the smaller phase (one sine), the other one minus it.
    In stages."""
    near_end = left <= done
    yield
    everywhere, nowhere = bool(near_end.all()), not near_end.any()
    side = True if everywhere else False if nowhere else None  # (a table chunk is usually on one side)
    small = yield from _cos_anneal(np.where(near_end, left, done) if side is None else left if side else done)
    yield
    big = 1.0 - small
    if side is not None:
        return (small, big) if side else (big, small)
    yield
    w = np.where(near_end, small, big)
    yield
    return w, np.where(near_end, big, small)


def _anneal(kind: str, start: Any, end: Any, done: np.ndarray, left: np.ndarray) -> Stages:
    """The core's ``anneal``: the cosine's weight of the nearer end from its own phase (one sine), the other
    weight one minus it. In stages."""
    w, rest = yield from _anneal_weights(kind, done, left)
    return (yield from _lerp(start, end, rest, w))  # start * w + end * rest


def _anneal_weights(kind: str, done: np.ndarray, left: np.ndarray) -> Stages:
    """The weights ``(w, rest)`` of :func:`_anneal`'s ends (``start * w + end * rest``). In stages."""
    if kind == "linear":
        return left, done
    w, rest = yield from _cos_weights(done, left)
    yield
    return w, rest


def _power_pair(weight: np.ndarray, rest: np.ndarray, exponent: Any) -> Stages:
    """The core's ``power_pair``: ``(w**e, 1 - w**e)``, the complement as ``-expm1(e log w)`` with ``log w =
    log1p(-rest)`` where ``w > 1/2``; the core's ``power`` for ``w**e``: ``w`` at exponent 1, ``w * w`` at 2,
    with the complements ``rest`` and ``rest (1 + w)``. In stages."""
    e = _f(exponent)
    weight, rest = np.broadcast_arrays(weight, rest)
    if e == 1.0:  # the core's fast exponents: the complement from `rest`
        return weight, rest
    if e == 2.0:
        squared = weight * weight
        yield
        return squared, rest * (1.0 + weight)
    powered = yield from _each(np.power, weight, e)
    yield
    near_one = weight > 0.5
    positive = weight > 0
    yield
    log_near = yield from _each(np.log1p, -np.where(near_one, rest, 0.0))
    yield
    log_far = yield from _each(np.log, np.where(positive & ~near_one, weight, 1.0))
    yield
    log_w = np.where(near_one, log_near, log_far)
    yield
    complement = yield from _each(np.expm1, e * log_w)
    yield
    return powered, np.where(positive, -complement, 1.0)


def _warped(done: np.ndarray, left: np.ndarray, k: Any) -> Stages:
    """The core's ``k_decay_phase`` (the phase's ``power_pair``: ``done**k`` and ``1 - done**k``); None: the
    phase unchanged. In stages."""
    if k is None:
        return done, left
    return (yield from _power_pair(done, left, k))


def _count_reached(marks: np.ndarray, t: np.ndarray) -> np.ndarray:
    t, marks = _common(t, marks)
    return np.searchsorted(np.sort(marks), t, side="right")


# ------------------------------------------------------------- the precise exponential

_VELTKAMP = 134217729.0  # 2**27 + 1: splits a float64 significand in two exact halves


def _two_product(a: np.ndarray, b: np.ndarray) -> Stages:
    """The core's ``two_product`` (Dekker): ``p = fl(a b)`` and ``p + e = a b`` exactly. In stages."""
    p = a * b
    a_hi, a_lo = yield from _halves(a)
    b_hi, b_lo = yield from _halves(b)
    e = a_hi * b_hi - p
    yield
    e += a_hi * b_lo
    yield
    e += a_lo * b_hi
    yield
    return p, e + a_lo * b_lo


def _halves(x: np.ndarray) -> Stages:
    """Veltkamp's split of float64s into two halves of 26 bits (their products are exact)."""
    y = _VELTKAMP * x
    yield
    high = y - (y - x)
    yield
    return high, x - high


def _two_sum(a: np.ndarray, b: np.ndarray) -> Stages:
    """Knuth's ``s = fl(a + b)`` and ``s + e = a + b`` exactly. In stages."""
    s = a + b
    bb = s - a
    yield
    low = a - (s - bb)
    yield
    return s, low + (b - bb)


def _exact_parts(x: np.ndarray) -> Stages:
    """The core's ``_exact_parts``: an int64 as two float64s that hold it exactly (a float is its own). In
    stages."""
    if not _integer(x):
        return x.astype(F64), np.zeros((), F64)
    low = max(8 * x.dtype.itemsize - 1 - (np.finfo(F64).nmant + 1), 0) + 1
    top = x & ~((1 << low) - 1)
    yield
    high = top.astype(F64)
    yield
    top -= x  # (``top`` is this function's own array: ``x - top`` negated, exactly)
    yield
    return high, np.negative(top, dtype=F64)


def _split_log(rate: np.ndarray) -> Stages:
    """The core's ``_split_log``: ``log(rate)`` as ``hi + lo``. In stages."""
    hi = np.log(rate)
    size = np.abs(hi)
    usable = (size > 0) & np.isfinite(size)
    safe = np.where(usable, size, 1.0)
    yield
    scale = np.ldexp(np.ones_like(safe), np.floor(np.log2(64.0 / safe)).astype(np.int32))
    exact = np.power(rate, scale)
    yield
    rounded = np.exp(scale * hi)
    lo = np.where(usable, (exact - rounded) / rounded / scale, 0.0)
    return hi, lo


def _exponent_rate(rate: Any, steps: Any) -> Stages:
    """``log(rate) / steps`` as a double float ``c + c_lo``: the part of :func:`_rate_power` that does not
    depend on the step. In stages."""
    hi, lo = yield from _split_log(rate)
    yield
    steps_hi, steps_lo = yield from _exact_parts(steps)
    per = steps_hi + steps_lo
    c = hi / per
    yield
    product, error = yield from _two_product(c, steps_hi)
    yield
    # ``x - c * steps_lo`` rounded once, as XLA's fused multiply-add computes it (steps below 2**11 are all
    # `steps_lo`, so this is the residual ``log(rate) - c * steps`` that makes the exponent precise)
    low, low_error = yield from _two_product(c, steps_lo)
    return c, ((((hi - product) - error) - low) - low_error + lo) / per


# a schedule's rate and steps are the same at every refill: their constants computed once (by type too: an
# integer steps is split differently from the equal float)
_EXPONENT_RATES: dict[tuple[Any, ...], tuple[Any, Any]] = {}


def _rate_power(rate: Any, t: np.ndarray, steps: Any = 1) -> Stages:
    """The core's ``rate_power``: ``rate ** (t / steps)`` with a double-float exponent. In stages."""
    rate, steps = _f(rate), _num(steps)
    if np.ndim(rate) == 0 and np.ndim(steps) == 0:
        r, s = rate[()], steps[()]
        key = (type(r), r, type(s), s)
        constants = _EXPONENT_RATES.get(key)
        if constants is None:
            constants = yield from _exponent_rate(r, s)
            if len(_EXPONENT_RATES) >= 256:
                _EXPONENT_RATES.clear()
            _EXPONENT_RATES[key] = constants
            yield
        c, c_lo = constants
    else:
        c, c_lo = yield from _exponent_rate(rate, steps)
        yield
    t_hi, t_lo = yield from _exact_parts(t)
    yield
    p1, e1 = yield from _two_product(t_hi, c)
    yield
    p2, e2 = yield from _two_product(t_lo, c)
    yield
    total, carry = yield from _two_sum(p1, p2)
    yield
    carry += e1
    carry += e2
    yield
    t_hi += t_lo  # (t_hi is this evaluation's own array)
    yield
    t_hi *= c_lo
    carry += t_hi
    yield
    total, correction = yield from _two_sum(total, carry)
    yield
    value = yield from _each(np.exp, total)
    yield
    return np.where(np.isinf(value), value, value + value * correction)  # the core's _times_one_plus


# ------------------------------------------------------------------------ specs


@dataclasses.dataclass(frozen=True)
class Spec:
    """What the numpy evaluator of one schedule type understands.

    Attributes:
      evaluate: ``(config, steps) -> values`` (steps: non-negative int64).
      keys: every config key it reads (besides ``type``).
      assumed: options it does not implement, each with the core's default: a config holding any other value
        there is :class:`Unsupported`.
      choices: static options (mode strings, flags) and the values it implements.
      scale: the fields the schedule is homogeneous of degree one in: scaling all of them by ``r`` scales every
        value by ``r`` (nested schedules listed here scale with them); see :func:`proportion`.
    """

    evaluate: Callable[[dict[str, Any], np.ndarray], Any]
    keys: frozenset[str]
    assumed: Mapping[str, Any]
    choices: Mapping[str, tuple[Any, ...]]
    scale: tuple[str, ...]

    @property
    def declared(self) -> frozenset[str]:
        """Every key a config of this type must have: the implemented ones and the assumed ones."""
        return self.keys | frozenset(self.assumed)

    def check(self, config: dict[str, Any]) -> None:
        """Raise :class:`Unsupported` unless `config` is exactly what the evaluator implements."""
        kind = config.get("type")
        version = config.get("lrsched_config", FORMAT)
        if type(version) is not int or version not in _FORMATS:
            raise Unsupported(f"config format {config['lrsched_config']!r}")
        present = config.keys() - _META
        if present != self.declared:
            raise Unsupported(f"{kind}: keys {sorted(present ^ self.declared)} are not the declared ones")
        for key, default in self.assumed.items():
            value = config[key]
            if not (value is default or (type(value) is type(default) and value == default)):
                raise Unsupported(f"{kind}: {key}={value!r} is not implemented in numpy (only {default!r})")
        for key, options in self.choices.items():
            if not any(config[key] is o or (type(config[key]) is type(o) and config[key] == o) for o in options):
                raise Unsupported(f"{kind}: {key}={config[key]!r} is not one of {options}")


#: The schedule types with a numpy evaluator, by config ``type``.
SPECS: dict[str, Spec] = {}

_FLAG = (False, True)


def _evaluator(name: str, keys: tuple[str, ...], scale: tuple[str, ...] = (), assumed: Mapping[str, Any] | None = None,
               choices: Mapping[str, tuple[Any, ...]] | None = None) -> Callable:
    def register(fn: Callable) -> Callable:
        spec = Spec(fn, frozenset(keys), dict(assumed or {}), dict(choices or {}), tuple(scale))
        if not (set(scale) | set(spec.choices)) <= spec.keys or spec.keys & set(spec.assumed):
            raise RuntimeError(f"numpy evaluator {name!r}: inconsistent spec")
        SPECS[name] = spec
        return fn

    return register


def _spec(config: dict[str, Any]) -> Spec:
    spec = SPECS.get(config.get("type"))  # type: ignore[arg-type]
    if spec is None:
        raise Unsupported(f"no numpy evaluator for {config.get('type')!r}")
    spec.check(config)
    return spec


def _eval(config: Any, t: np.ndarray, clamp: bool = True) -> Stages:
    """``Schedule.__call__`` of a config :func:`evaluator` has checked, in stages: negative steps count as 0
    (`clamp`: False when the caller knows there are none), the result broadcast to the steps, float64. An
    evaluator returns its values, or is itself in stages (a generator: ``yield`` ends a stage); none changes
    `t` in place."""
    if not isinstance(config, dict):
        return np.broadcast_to(_f(config), t.shape)  # a number operand of add/mul
    if clamp:
        t = np.maximum(t, np.zeros((), t.dtype))
        yield
    out = SPECS[config["type"]].evaluate(config, t)
    if isinstance(out, types.GeneratorType):
        out = yield from out
    out = np.asarray(out, F64)
    return out if out.shape == t.shape else np.broadcast_to(out, t.shape)


# ------------------------------------------------------------------------ evaluators


@_evaluator("constant", ("value",), scale=("value",))
def _constant(c, t):
    return _f(c["value"])


@_evaluator("linear", ("init_value", "end_value", "steps"), scale=("init_value", "end_value"))
def _linear(c, t):
    done, left = yield from _phase(t, _num(c["steps"]))
    return (yield from _lerp(c["init_value"], c["end_value"], done, left))


@_evaluator("polynomial", ("init_value", "end_value", "steps", "power", "k_decay"), scale=("init_value", "end_value"))
def _polynomial(c, t):
    done, left = yield from _phase(t, _num(c["steps"]))
    done, left = yield from _warped(done, left, c["k_decay"])
    yield
    w, rest = yield from _power_pair(left, done, c["power"])
    yield
    return (yield from _lerp(c["init_value"], c["end_value"], rest, w))  # init * w + end * rest


@_evaluator("cosine", ("init_value", "steps", "end_value", "exponent", "k_decay", "periodic"),
            scale=("init_value", "end_value"), choices={"periodic": _FLAG})
def _cosine(c, t):
    if c["exponent"] is None:  # the weight of the nearer end computed directly, as the core does: start + span w
        weight = np.asarray((yield from _cosine_weights(c, t)))  # (an array, also for a single step: filled in place)
        yield
        yield from _cosine_fill(c, weight, weight)  # (a family of cosines shares the weight: the same operations)
        return weight
    done, left = yield from _cosine_phase(c, t)
    yield
    w, rest = yield from _cos_weights(done, left)  # both weights direct (the core's power_pair)
    yield
    w, rest = yield from _power_pair(w, rest, c["exponent"])
    yield
    return (yield from _lerp(c["init_value"], c["end_value"], rest, w))  # init * w + end * rest


def _cosine_phase(c, t):
    """A cosine's (done, left), the step mirrored into [0, steps] when periodic, warped by k_decay. In stages."""
    steps = _num(c["steps"])
    if c["periodic"]:  # the step mirrored into [0, steps]: period 2 steps, integer arithmetic
        t, period = _common(t, steps)
        _, r = yield from _split(t, 2 * period)
        yield
        mirrored = 2 * period - r
        yield
        t = np.minimum(r, mirrored)  # r where r <= period (then r <= 2 period - r, rounded or not), else the mirror
        yield
    done, left = yield from _phase(t, steps)
    return (yield from _warped(done, left, c["k_decay"]))


def _cosine_family(c: dict[str, Any]) -> tuple[Any, ...] | None:
    if c["exponent"] is not None:
        return None
    steps, k = c["steps"], c["k_decay"]  # (with their types: integer steps are integer arithmetic)
    return ("cosine", type(steps), steps, type(k), k, c["periodic"], bool(_f(c["init_value"]) < _f(c["end_value"])))


def _cosine_weights(c: dict[str, Any], t: np.ndarray) -> Stages:
    done, left = yield from _cosine_phase(c, t)
    yield
    return (yield from _cos_anneal(done if _f(c["init_value"]) < _f(c["end_value"]) else left))


def _cosine_fill(c: dict[str, Any], weight: np.ndarray, out: np.ndarray) -> Stages:
    start, span = cosine_ends(c)
    np.multiply(weight, span, out=out)
    yield
    np.add(out, start, out=out)


def cosine_ends(c: dict[str, Any]) -> tuple[Any, Any]:
    """``(start, span)`` of a cosine without exponent: its value is ``start + w * span``."""
    init, end = _f(c["init_value"]), _f(c["end_value"])
    start, stop = (init, end) if init < end else (end, init)
    return start, stop - start


@_evaluator("exponential", ("init_value", "rate", "steps", "staircase", "end_value"),
            scale=("init_value", "end_value"), choices={"staircase": _FLAG})
def _exponential(c, t):
    if c["staircase"]:
        k, _ = yield from _split(t, _num(c["steps"]))
        yield
        power = yield from _rate_power(c["rate"], k)
    else:
        power = yield from _rate_power(c["rate"], t, c["steps"])
    yield
    value = _f(c["init_value"]) * power
    if c["end_value"] is not None:
        yield
        end = _f(c["end_value"])
        value = np.maximum(value, end) if _f(c["rate"]) < 1 else np.minimum(value, end)
    return value


_POWER_TABLE = 16  # the core's POWER_TABLE


def _int_power(base: Any, k: np.ndarray, most: int | None = None) -> Stages:
    """The core's ``int_power`` (its ``base_lo`` is 0 in float64): counts below the table size from a table of
    powers, larger ones from :func:`_rate_power` (computed only when some count needs it); ``0**0 = 1``. In
    stages."""
    base = _f(base)
    size = _POWER_TABLE if most is None else min(_POWER_TABLE, most + 1)
    table = base ** np.arange(size, dtype=F64)
    k = k.astype(I64) if k.dtype.kind == "f" else k
    yield
    index = np.maximum(k, 0)  # np.clip(k, 0, size - 1)
    yield
    np.minimum(index, size - 1, out=index)
    yield
    small = table[index]
    if most is not None and most < size:
        return small
    yield
    if not (k >= size).any():
        return small
    yield
    positive = base > 0
    rate = np.where(positive, base, 1.0)
    low, high = int(k.min()), int(k.max())
    yield
    if np.ndim(base) == 0 and k.ndim == 1 and 4 * (high - low + 1) <= k.size:
        # consecutive steps share their counts (a chunk of a step decay spans a few): each count's power once,
        # the same float as computing it per element (the evaluation is elementwise)
        powers = yield from _rate_power(rate, np.arange(low, high + 1, dtype=k.dtype))
        yield
        large = powers[k - low]
    else:
        large = yield from _rate_power(rate, k)
    yield
    large = np.where(positive, large, 0.0)
    yield
    return np.where(k < size, small, large)


@_evaluator("step_decay", ("init_value", "step_size", "gamma"), scale=("init_value",))
def _step_decay(c, t):
    k, _ = yield from _split(t, _num(c["step_size"]))
    yield
    power = yield from _int_power(c["gamma"], k)
    yield
    return _f(c["init_value"]) * power


@_evaluator("multistep", ("init_value", "milestones", "gamma"), scale=("init_value",))
def _multistep(c, t):
    marks = _vector(c["milestones"])
    n = _count_reached(marks, t)
    yield
    power = yield from _int_power(c["gamma"], n, most=marks.shape[-1])
    yield
    return _f(c["init_value"]) * power


@_evaluator("inverse_sqrt", ("init_value", "timescale", "offset"), scale=("init_value",))
def _inverse_sqrt(c, t):
    t, offset = _common(t, _num(c["offset"]))
    since = np.maximum(t - offset, np.zeros((), t.dtype))
    yield
    x = np.divide(since, _f(c["timescale"]), dtype=F64)  # (an integer converted exactly, then one rounding)
    yield
    x += 1.0
    root = yield from _each(np.sqrt, x)
    yield
    return _f(c["init_value"]) * (1.0 / root)


@_evaluator("inverse_time", ("init_value", "rate", "steps"), scale=("init_value",))
def _inverse_time(c, t):
    k, r = yield from _split(t, _num(c["steps"]))
    yield
    x = np.divide(r, _f(c["steps"]), dtype=F64)
    yield
    x = np.add(k, x, dtype=F64)
    yield
    x *= _f(c["rate"])
    x += 1.0
    yield
    return _f(c["init_value"]) / x


@_evaluator("piecewise_constant", ("boundaries", "values"), scale=("values",))
def _piecewise_constant(c, t):
    i = _count_reached(_vector(c["boundaries"]), t)
    yield
    return _vector(c["values"], F64)[i]


@_evaluator("piecewise_linear", ("boundaries", "values", "kind"), scale=("values",),
            choices={"kind": ("linear", "cos")})
def _piecewise_linear(c, t):
    b, v = _vector(c["boundaries"]), _vector(c["values"], F64)
    n = b.shape[-1]
    if n == 1:
        return np.broadcast_to(v[0], t.shape)
    i = np.clip(_count_reached(b, t) - 1, 0, n - 2)
    yield
    t, b = _common(t, b)
    lo, hi = b[i], b[i + 1]
    yield
    offset = t - lo
    length = hi - lo
    yield
    done, left = yield from _phase(offset, length)
    yield
    start, stop = v[i], v[i + 1]
    yield
    return (yield from _anneal(c["kind"], start, stop, done, left))


# scale_mode only matters with a scale_fn (a Python function: such a schedule has no config)
@_evaluator("cyclic", ("base_value", "peak_value", "up_steps", "down_steps", "mode", "gamma", "scale_mode"),
            scale=("base_value", "peak_value"), assumed={"scale_fn": None},
            choices={"mode": ("triangular", "triangular2", "exp_range"), "scale_mode": ("cycle", "iterations")})
def _cyclic(c, t):
    up = _num(c["up_steps"])
    down = up if c["down_steps"] is None else _num(c["down_steps"])
    t, up, down = _common(t, up, down)
    k, pos = yield from _split(t, up + down)
    yield
    rising, below = yield from _phase(pos, up)
    yield
    falling, above = yield from _phase(up + down - pos, down)
    yield
    up_side = pos <= up
    height = np.where(up_side, rising, falling)
    yield
    depth = np.where(up_side, below, above)  # the core's weights: the peak's height * s, the base's the rest
    yield
    if c["mode"] == "triangular2":
        scale = yield from _int_power(0.5, k)
        yield
        unscaled = 1.0 - scale
    elif c["mode"] == "exp_range":
        scale = yield from _rate_power(c["gamma"], t)
        yield
        # the core adds low / gamma: 0 in float64
        unscaled = -(yield from _each(np.expm1, t.astype(F64) * np.log(_f(c["gamma"]))))
    else:
        scale, unscaled = np.ones((), F64), np.zeros((), F64)
    yield
    top = height * scale
    height *= unscaled
    yield
    depth += height
    yield
    return (yield from _lerp(c["peak_value"], c["base_value"], depth, top))  # base (depth + h u) + peak top


@functools.lru_cache(maxsize=256, typed=True)  # (the same for every chunk of a schedule)
def _one_cycle_ends(total: Any, pct: Any, three_phase: bool) -> tuple[tuple[Any, Any], ...]:
    x = pct * total.astype(F64)
    whole = np.floor(x)
    rest = x - whole
    whole = whole.astype(I64)
    ends = [(whole - 1, rest)]
    if three_phase:
        ends.append((2 * whole - 2, 2.0 * rest))
    if _integer(total):
        last = (total - 1, np.zeros((), F64))
    else:
        w = np.floor(total)
        last = (w.astype(I64) - 1, total - w)
    return tuple(ends + [last])


def _from(t: Any, n: Any, f: Any) -> Any:
    """``(t - n) - f`` in float64 for an integer mark ``n`` and its fraction ``f`` (the core's offset from a phase
    end): it grows with `t`."""
    return np.subtract(np.subtract(*_common(t, n)), f, dtype=F64)


def _to(t: Any, n: Any, f: Any) -> Any:
    """``(n - t) + f`` in float64: the steps left to a phase end."""
    return np.add(np.subtract(*_common(n, t)), f, dtype=F64)


def _unit(x: np.ndarray, length: Any) -> Stages:
    """``np.clip(x, 0, length) / length`` (x: this evaluation's own float64 array). In stages."""
    np.maximum(x, 0.0, out=x)
    yield
    np.minimum(x, length, out=x)
    yield
    x /= length
    return x


def _segment_weights(t: np.ndarray, total: np.ndarray, ends: tuple, kind: str, extrapolate: bool = False) -> Stages:
    """The core's ``_segments`` up to its ends' weights: ``(shape, [(segment, its steps: None for all, (w,
    rest))])``, each step in its own segment only (a fraction of the work: a table chunk usually lies within
    one segment). In stages."""
    yield
    if extrapolate:  # steps in (T - 1, T] continue their segment past its end; later ones hold
        t, total = _common(t, total)
        t = np.where(t > total, total - 1, t)
    else:
        t = np.minimum(*_common(t, total - 1))
    starts = [(np.zeros((), I64), np.zeros((), F64))] + list(ends[:-1])
    yield
    # the core takes segment i where ``since_i > 0`` (a later segment overrides an earlier one); `since` grows
    # with the step, so the smallest and largest steps tell whether the steps are all in or out of it
    lowest, highest = t.min(), t.max()
    yield
    which, only = None, 0  # which: each step's segment; None: every step is in segment `only`
    for i in range(1, len(ends)):
        if _from(highest, *starts[i]) <= 0:
            continue
        if _from(lowest, *starts[i]) > 0:
            which, only = None, i
            continue
        yield
        if which is None:
            which = np.full(t.shape, only, np.intp)
        since = _from(t, *starts[i])
        yield
        which[since > 0] = i
    first, last = (only, only) if which is None else (int(which.min()), int(which.max()))
    parts = []  # (segment, its steps: None for all, its ends' weights)
    for i in range(first, last + 1):
        yield
        (s_n, s_f), (e_n, e_f) = starts[i], ends[i]
        here = None if which is None else which == i  # None: every step is in this segment
        if here is not None and not here.any():
            continue
        ti = t if here is None else t[here]
        length = np.subtract(*_common(e_n, s_n)).astype(F64) + (e_f - s_f)  # a scalar: the ends are config's
        yield
        since = _from(ti, s_n, s_f)
        yield
        until = _to(ti, e_n, e_f)
        yield
        free = (ti > total - 1) if extrapolate and ti.size and ti.max() > total - 1 else None
        if free is not None:  # the core's unclipped phase there (a segment of no length: its start)
            free_since, free_until = (since[free] / length, until[free] / length) if length != 0 else (0.0, 1.0)
        if length > 0:
            done = yield from _unit(since, length)
            yield
            left = yield from _unit(until, length)
        else:
            done, left = np.ones(ti.shape, F64), np.zeros(ti.shape, F64)
        if free is not None:
            done[free], left[free] = free_since, free_until
        yield
        parts.append((i, here, (yield from _anneal_weights(kind, done, left))))
    return t.shape, parts


def _segments_fill(weights: tuple, values: list, out: np.ndarray | None = None) -> Stages:
    """The values of segments from :func:`_segment_weights` and each segment's end `values` (into `out`, or a new
    array). In stages."""
    shape, parts = weights
    for i, here, (w, rest) in parts:
        yield
        value = yield from _lerp(values[i], values[i + 1], rest, w)  # the core's anneal: start * w + end * rest
        if here is None and out is None:
            return np.asarray(value, F64)
        yield
        if out is None:
            out = np.empty(shape, F64)
        out[... if here is None else here] = value
    return np.empty(shape, F64) if out is None else out


def _segments(t: np.ndarray, total: np.ndarray, ends: tuple, values: list, kind: str) -> Stages:
    """The core's ``_segments``; each step is evaluated in its own segment only (the same arithmetic per
    element, a fraction of the work: a table chunk usually lies within one segment). In stages."""
    weights = yield from _segment_weights(t, total, ends, kind)
    return (yield from _segments_fill(weights, values))


@_evaluator("one_cycle", ("total_steps", "peak_value", "pct_start", "div_factor", "final_div_factor", "anneal",
                          "three_phase", "extrapolate"), scale=("peak_value",),
            choices={"anneal": ("cos", "linear"), "three_phase": _FLAG, "extrapolate": _FLAG})
def _one_cycle(c, t):
    weights = yield from _one_cycle_weights(c, t)
    return (yield from _segments_fill(weights, _one_cycle_values(c)))


def _one_cycle_values(c: dict[str, Any]) -> list[Any]:
    """one_cycle's values at its phase ends."""
    initial = _f(c["peak_value"]) / _f(c["div_factor"])
    low = initial / _f(c["final_div_factor"])
    return [initial, _f(c["peak_value"])] + ([initial] if c["three_phase"] else []) + [low]


@_evaluator("one_cycle_momentum", ("total_steps", "base_value", "peak_value", "pct_start", "anneal", "three_phase",
                                   "extrapolate"),
            scale=("base_value", "peak_value"),
            choices={"anneal": ("cos", "linear"), "three_phase": _FLAG, "extrapolate": _FLAG})
def _one_cycle_momentum(c, t):
    weights = yield from _one_cycle_weights(c, t)
    return (yield from _segments_fill(weights, _momentum_values(c)))


def _momentum_values(c: dict[str, Any]) -> list[Any]:
    """one_cycle_momentum's values at its phase ends."""
    hi, lo = _f(c["peak_value"]), _f(c["base_value"])
    return [hi, lo, hi] + ([hi] if c["three_phase"] else [])


def _one_cycle_family(c: dict[str, Any]) -> tuple[Any, ...]:
    total = c["total_steps"]  # (with its type: integer steps are integer arithmetic)
    return ("one_cycle", type(total), total, _f(c["pct_start"]), c["three_phase"], c["anneal"], c["extrapolate"])


def _one_cycle_weights(c: dict[str, Any], t: np.ndarray) -> Stages:
    """The weights of a one-cycle's (lr or momentum) phase ends at steps `t` (see :func:`_segment_weights`)."""
    total = _num(c["total_steps"])
    ends = _one_cycle_ends(total, _f(c["pct_start"]), c["three_phase"])
    return (yield from _segment_weights(t, total, ends, c["anneal"], c["extrapolate"]))


def _one_cycle_fill(c: dict[str, Any], weights: tuple, out: np.ndarray) -> Stages:
    values = _one_cycle_values(c) if c["type"] == "one_cycle" else _momentum_values(c)
    yield from _segments_fill(weights, values, out)


@_evaluator("warmup_cosine", ("peak_value", "warmup_steps", "total_steps", "init_value", "end_value", "exponent"),
            scale=("peak_value", "init_value", "end_value"))
def _warmup_cosine(c, t):
    t, w = _common(t, _num(c["warmup_steps"]))
    out = np.empty(t.shape, F64)
    rising = t < w
    yield
    if rising.any():
        done, left = yield from _phase(t[rising], w)
        yield
        out[rising] = yield from _lerp(c["init_value"], c["peak_value"], done, left)
        yield
    falling = ~rising
    if falling.any():
        offset = t[falling] - w
        yield
        done, left = yield from _phase(offset, np.subtract(*_common(_num(c["total_steps"]), w)))
        yield
        shape, rest = yield from _cos_weights(done, left)
        if c["exponent"] is not None:
            yield
            shape, rest = yield from _power_pair(shape, rest, c["exponent"])
        yield
        out[falling] = yield from _lerp(c["peak_value"], c["end_value"], rest, shape)  # peak shape + end rest
    return out


@_evaluator("wsd", ("peak_value", "total_steps", "warmup_steps", "decay_steps", "init_value", "end_value", "decay"),
            scale=("peak_value", "init_value", "end_value"), choices={"decay": ("linear", "cosine", "sqrt")})
def _wsd(c, t):
    t, w, n, d = _common(t, *(_num(c[k]) for k in ("warmup_steps", "total_steps", "decay_steps")))
    done, left = yield from _phase(t, w)
    yield
    up = yield from _lerp(c["init_value"], c["peak_value"], done, left)
    yield
    offset = t - (n - d)
    yield
    done, left = yield from _phase(offset, d)
    yield
    peak, end = _f(c["peak_value"]), _f(c["end_value"])
    if c["decay"] == "linear":
        down = yield from _lerp(peak, end, done, left)
    elif c["decay"] == "cosine":
        down = yield from _anneal("cos", peak, end, done, left)
    else:  # 1 - sqrt(p) as (1 - p) / (1 + sqrt(p))
        started = done > 0
        root = yield from _each(np.sqrt, np.where(started, done, 1.0))
        yield
        root = np.where(started, root, 0.0)
        yield
        below = np.where(started, left / (1.0 + root), 1.0)
        yield
        down = yield from _lerp(peak, end, root, below)  # peak below + end root
    yield
    down = np.where(t < n - d, peak, down)
    yield
    return np.where(t < w, up, down)


@_evaluator("tanh", ("init_value", "steps", "end_value", "lower", "upper"), scale=("init_value", "end_value"))
def _tanh(c, t):
    done, left = yield from _phase(t, _num(c["steps"]))
    yield
    x = yield from _lerp(c["lower"], c["upper"], done, left)
    yield
    # the core's weights sigmoid(-2x) = (1 - tanh x) / 2 and sigmoid(2x), as XLA's logistic: 1 / (1 + exp(-y))
    falling = yield from _each(_sigmoid, -2.0 * x)
    yield
    rising = yield from _each(_sigmoid, 2.0 * x)
    yield
    return (yield from _lerp(c["init_value"], c["end_value"], rising, falling))  # init falling + end rising


def _sigmoid(y: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-y))


@_evaluator("warmup", ("schedule", "steps", "init_value", "kind"), scale=("schedule", "init_value"),
            choices={"kind": ("linear", "cosine", "constant")})
def _warmup(c, t):
    t, steps = _common(t, _num(c["steps"]))
    inner = yield from _eval(c["schedule"], t - steps)
    yield
    out = np.array(np.broadcast_to(inner, t.shape), F64)
    ramping = t < steps  # the ramp only where it is used (the same arithmetic per element)
    if ramping.any():
        yield
        tr, after = t[ramping], out[ramping]
        yield
        done, left = yield from _phase(tr, steps)
        yield
        init = _f(c["init_value"])
        if c["kind"] == "linear":
            ramp = yield from _lerp(init, after, done, left)
        elif c["kind"] == "cosine":
            ramp = yield from _anneal("cos", init, after, done, left)
        else:
            ramp = np.broadcast_to(init, after.shape)
        out[ramping] = ramp
    return out


@_evaluator("join", ("schedules", "boundaries"), scale=("schedules",))
def _join(c, t):
    pieces = c["schedules"]
    bounds = _vector(c["boundaries"]) if c["boundaries"] else np.zeros((0,), I64)
    if not isinstance(pieces, list) or len(pieces) != bounds.shape[0] + 1:
        raise Unsupported("join: pieces and boundaries disagree")
    which = np.searchsorted(bounds, t, side="right") if bounds.size else np.zeros(t.shape, np.intp)
    yield
    t, b = _common(t, bounds)
    starts = np.concatenate([np.zeros((1,), b.dtype), b])
    local = t - starts[which]
    out = np.empty(t.shape, F64)
    for i, piece in enumerate(pieces):
        yield
        here = which == i
        if here.any():
            yield
            out[here] = yield from _eval(piece, local[here])
    return out


@_evaluator("shift", ("schedule", "steps"), scale=("schedule",))
def _shift(c, t):
    t, steps = _common(t, _num(c["steps"]))
    return (yield from _eval(c["schedule"], t - steps))


@_evaluator("clip", ("schedule", "min_value", "max_value"), scale=("schedule", "min_value", "max_value"))
def _clip(c, t):
    v = yield from _eval(c["schedule"], t)
    if c["min_value"] is not None:
        yield
        v = np.maximum(v, _f(c["min_value"]))
    if c["max_value"] is not None:
        yield
        v = np.minimum(v, _f(c["max_value"]))
    return v


@_evaluator("add", ("left", "right"), scale=("left", "right"))
def _add(c, t):
    left = yield from _eval(c["left"], t)
    right = yield from _eval(c["right"], t)
    yield
    return left + right


# a product is homogeneous of degree one in each side separately: (r1 a) (r2 b) = r1 r2 (a b); see _proportion
@_evaluator("mul", ("left", "right"), scale=("left", "right"))
def _mul(c, t):
    left = yield from _eval(c["left"], t)
    right = yield from _eval(c["right"], t)
    yield
    return left * right


# a quotient scales with its numerator only; a different denominator is a different shape
@_evaluator("div", ("left", "right"), scale=("left",))
def _div(c, t):
    left = yield from _eval(c["left"], t)
    right = yield from _eval(c["right"], t)
    yield
    return left / right


@_evaluator("pow", ("left", "right"))
def _pow(c, t):
    left = yield from _eval(c["left"], t)
    right = yield from _eval(c["right"], t)
    yield
    return (yield from _each(np.power, left, right))


# ------------------------------------------------------------------------ compat.transformers


def _scaled_remainder(n: np.ndarray, c: np.ndarray, period: np.ndarray) -> Stages:
    """The core's ``scaled_remainder`` (its ``c_lo`` is 0 in float64): ``c n = k period + r``, ``0 <= r <
    period``, with ``r`` as ``(r_hi, r_lo)``, the product and the remainder each carried in two floats. In
    stages."""
    n_hi, n_lo = yield from _exact_parts(n)
    yield
    p1, e1 = yield from _two_product(c, n_hi)
    yield
    p2, e2 = yield from _two_product(c, n_lo)
    yield
    s, e3 = yield from _two_sum(p1, p2)
    yield
    e1 += e2
    e1 += e3
    yield
    s, tail = yield from _two_sum(s, e1)
    yield
    size = period.astype(F64)
    k = np.floor(s / size)
    yield
    q, qe = yield from _two_product(k, size)
    yield
    r_hi, r1e = yield from _two_sum(s, -q)
    yield
    r1e -= qe
    r1e += tail
    yield
    r_hi, r_lo = yield from _two_sum(r_hi, r1e)
    for _ in range(2):  # the float quotient may be one off either way
        yield
        total = r_hi + r_lo
        yield
        fix = np.where(total < 0, size, np.where(total >= size, -size, 0.0))
        yield
        r_hi += fix
        r_hi, r_lo = yield from _two_sum(r_hi, r_lo)
    return r_hi, r_lo


def _at_least_one(x: np.ndarray) -> np.ndarray:
    """transformers' ``max(1, x)`` (integers stay integers)."""
    return np.maximum(x, np.ones((), x.dtype))


# ``get_cosine_schedule_with_warmup``'s decay (and ``..._with_min_lr``'s): ``(1 + cos(2 pi c t / D)) / 2`` from
# ``c t mod D`` in two floats, as ``sin(pi/2 * trough / (D / 2))**2`` (the core's ``_wave``; its ``done``, the
# distance to the crest, is not used by ``cos_anneal``)
@_evaluator("transformers.cosine", ("base_lr", "steps", "num_cycles", "min_lr_rate"), scale=("base_lr",))
def _transformers_cosine(c, t):
    t, d = _common(t, _at_least_one(_num(c["steps"])))
    r_hi, r_lo = yield from _scaled_remainder(t, np.abs(_f(c["num_cycles"])), d)
    yield
    half = 0.5 * d.astype(F64)
    r_hi -= half
    r_hi += r_lo
    yield
    trough = np.abs(r_hi)
    trough /= half
    yield
    wave = yield from _cos_anneal(trough)
    yield
    rate = _f(c["min_lr_rate"])
    wave *= 1.0 - rate
    wave += rate
    yield
    return _f(c["base_lr"]) * np.maximum(wave, 0.0)


# ``get_cosine_with_hard_restarts_schedule_with_warmup``'s decay: under x64 (the float64 tables) the core takes
# transformers' float order, ``x = (c * (t / max(1, D))) mod 1``, ``cos(pi x / 2)**2``, 0 from ``t / D >= 1``
@_evaluator("transformers.cosine_with_restarts", ("base_lr", "steps", "num_cycles"), scale=("base_lr",))
def _transformers_restarts(c, t):
    t, steps = _common(t, _num(c["steps"]))
    progress = np.divide(t, _at_least_one(steps), dtype=F64)
    yield
    x = np.mod(_f(c["num_cycles"]) * progress, 1.0)
    yield
    factor = yield from _each(_cos_squared, x)
    yield
    return _f(c["base_lr"]) * np.where(progress >= 1.0, 0.0, factor)


def _cos_squared(x: np.ndarray) -> np.ndarray:
    w = np.cos(HALF_PI * x)
    w *= w
    return w


# ------------------------------------------------------------------------ proportional schedules

# Schedules of one structure that differ only in their `scale` fields, all by one factor (a torch scheduler's
# per-group copies, lambda_lr's per-group schedules), are one evaluation and a multiplication. Only configs
# that pass their spec's check are compared, so a field the spec does not know never counts as a shape field.


class _NotProportional(Exception):
    pass


def _ratio_of(a: Any, b: Any, ratio: list[float | None]) -> None:
    """Scaled leaves: record b / a in `ratio[0]` (all must agree); a nested schedule recurses."""
    if isinstance(a, dict) or isinstance(b, dict):
        r = _proportion(a, b)
        if r is None:
            raise _NotProportional
        _agree(ratio, r)
    elif isinstance(a, list) or isinstance(b, list):
        if not (isinstance(a, list) and isinstance(b, list)) or len(a) != len(b):
            raise _NotProportional
        for x, y in zip(a, b):
            _ratio_of(x, y, ratio)
    elif a is None or b is None:
        if a is not b:
            raise _NotProportional
    elif isinstance(a, (int, float)) and isinstance(b, (int, float)) and not isinstance(a, bool):
        if a == 0 or b == 0:
            if a != b:
                raise _NotProportional
        else:
            _agree(ratio, float(b) / float(a))
    else:
        raise _NotProportional


def _agree(ratio: list[float | None], r: float) -> None:
    if ratio[0] is None:
        ratio[0] = r
    elif ratio[0] != r:
        raise _NotProportional


def _proportion(a: Any, b: Any) -> float | None:
    if not (isinstance(a, dict) and isinstance(b, dict)) or a.get("type") != b.get("type") or a.keys() != b.keys():
        return None
    try:
        spec = _spec(a)
        _spec(b)
    except Unsupported:
        return None
    try:
        if a["type"] == "mul":  # (r1 left) * (r2 right) = r1 r2 (left * right)
            factors = []
            for side in ("left", "right"):
                ratio: list[float | None] = [None]
                _ratio_of(a[side], b[side], ratio)
                factors.append(1.0 if ratio[0] is None else ratio[0])
            return factors[0] * factors[1]
        ratio = [None]
        for key in spec.declared:
            if key in spec.scale:
                _ratio_of(a[key], b[key], ratio)
            elif a[key] != b[key]:
                return None
        return 1.0 if ratio[0] is None else ratio[0]
    except _NotProportional:
        return None


def proportion(a: Any, b: Any) -> float | None:
    """``r > 0`` with ``b(t) == r * a(t)`` at every step (within rounding), from the configs; else None."""
    r = _proportion(a, b)
    return r if r is not None and r > 0 and np.isfinite(r) else None


# ------------------------------------------------------------------------- families

#: The schedule types whose values are a few operations on weights that others share: (key, weights, fill).
_FAMILIES: dict[str, tuple[Callable, Callable, Callable]] = {
    "cosine": (_cosine_family, _cosine_weights, _cosine_fill),
    "one_cycle": (_one_cycle_family, _one_cycle_weights, _one_cycle_fill),
    "one_cycle_momentum": (_one_cycle_family, _one_cycle_weights, _one_cycle_fill),
}


def family(config: Any) -> Hashable | None:
    """The key of the schedules that share `config`'s weights, or None: cosines without exponent that differ
    only in their two ends (the same length, k-decay, periodicity and direction: torch's ``CosineAnnealingLR``
    with one ``eta_min`` over groups with their own lrs), and one-cycles, lr and momentum, with the same total,
    pct_start, phases and anneal. A member's values are :func:`family_fill` of :func:`family_weights` of any
    member: its evaluator's own operations, so the same values bit for bit."""
    if not isinstance(config, dict) or config.get("type") not in _FAMILIES:
        return None
    try:
        _spec(config)
    except Unsupported:
        return None
    return _FAMILIES[config["type"]][0](config)  # type: ignore[no-any-return]


def family_weights(config: dict[str, Any], steps: np.ndarray) -> Stages:
    """The weights a :func:`family` shares at integer `steps` (>= 0). In stages."""
    return (yield from _FAMILIES[config["type"]][1](config, np.asarray(steps, I64)))


def family_fill(config: dict[str, Any], weights: Any, out: np.ndarray) -> Stages:
    """`config`'s values from its family's `weights` (see :func:`family_weights`), into `out`. In stages."""
    yield from _FAMILIES[config["type"]][2](config, weights, out)


# ------------------------------------------------------------------------------ API


def _check_tree(config: Any) -> None:
    """Raise :class:`Unsupported` unless every schedule in `config` passes its spec's check."""
    if isinstance(config, dict):
        _spec(config)
        for key, value in config.items():
            if key not in _META:
                _check_tree(value)
    elif isinstance(config, list):
        for value in config:
            _check_tree(value)


def supported(config: Any) -> bool:
    """Whether :func:`values` evaluates `config`: every schedule in it has a numpy evaluator whose spec it
    matches (the declared keys, the assumed defaults, the implemented choices)."""
    if not isinstance(config, dict):
        return False
    try:
        _check_tree(config)
    except Unsupported:
        return False
    return True


class Evaluator:
    """A checked config's numpy evaluation: ``evaluate(steps)`` its values (integer steps in, float64 values
    out, a new array); ``evaluate.stages(steps)`` the same as a generator that yields between stages and returns
    the values (float64, possibly a read-only view: copy it), so a torch scheduler spreads its next chunk over
    several steps.

    A stage is about one pass over the steps: one array operation (a few on scalars or small arrays), or
    :data:`SLICE` elements of a transcendental function; at a table chunk of 4,096 steps, a few microseconds.
    What makes a scheduler's worst step is a stage that meets one of the machine's slow spells (everything
    running several times slower for a fraction of a millisecond), so stages stay that short; and the first
    time after a while of other work every piece of code runs about 3x slower, so an evaluation's setup (its
    config read into numbers) is a stage of its own before its first array operation. Whoever runs the
    stages turns floating-point warnings off around them (:func:`quiet`; :func:`finish` does), never in the
    caller's code between stages."""

    __slots__ = ("config",)

    def __init__(self, config: dict[str, Any]) -> None:
        self.config = config

    def stages(self, steps: np.ndarray, nonnegative: bool = False) -> Generator[None, None, np.ndarray]:
        """The evaluation in stages (`nonnegative`: the steps are known to be >= 0, as a table's are)."""
        evaluation = _eval(self.config, np.asarray(steps, I64), clamp=not nonnegative)
        yield  # (a stage of setting up only: after a while of other work, every new piece of code runs slowly)
        return np.asarray((yield from evaluation), dtype=F64)

    def __call__(self, steps: np.ndarray) -> np.ndarray:
        return np.array(finish(self.stages(steps)), dtype=F64)


def quiet() -> np.errstate:
    """The floating-point state stages run in: no warnings (the evaluators compute both sides of a
    ``np.where``, an overflow or a division by zero included)."""
    return np.errstate(all="ignore")


def finish(stages: Generator[None, None, Any]) -> Any:
    """Run an evaluation in stages to its end (floating-point warnings off); its result."""
    with quiet():
        while True:
            try:
                next(stages)
            except StopIteration as done:
                return done.value


#: What an evaluator may raise on a config its checks let through (the caller evaluates it with JAX instead).
ERRORS = (Unsupported, KeyError, TypeError, ValueError, IndexError)


def evaluator(config: Any) -> Evaluator | None:
    """The numpy evaluator of the schedule described by `config` (checked once here), or None when
    unsupported."""
    return Evaluator(config) if supported(config) else None


def values(config: Any, steps: np.ndarray) -> np.ndarray | None:
    """The schedule described by `config` at integer `steps`, in float64; None when unsupported."""
    evaluate = evaluator(config)
    if evaluate is None:
        return None
    try:
        return evaluate(steps)
    except ERRORS:
        return None
