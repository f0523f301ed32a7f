"""Schedule values in numpy float64, from a schedule's config, for the common schedule types.

A torch program that builds its first ``ScheduleLR`` should not pay for JAX's CPU
backend and an XLA compile (a few hundred milliseconds) before its first step,
nor for one XLA dispatch per table refill. For the schedule types below the
bridge therefore evaluates the config directly with numpy, following the core's
formulas operation by operation in float64 (integer offsets and phases first, the
same ``sin``-squared cosine, the same phase ends of ``one_cycle``). Any other type
(or a schedule without a config) goes to JAX: :func:`values` returns None.

``tests/test_torch_numpy.py`` checks every type here against the JAX evaluation
(x64) on random parameters and steps, so a change of a core formula shows up
there.
"""

from __future__ import annotations

from typing import Any, Callable

import numpy as np

__all__ = ["values", "supported", "proportion"]

F64 = np.float64
I64 = np.int64
HALF_PI = 0.5 * np.pi


class Unsupported(Exception):
    """This config (or a part of it) has no numpy evaluator: use JAX."""


# ----------------------------------------------------------------- numbers and steps


def _num(x: Any) -> np.ndarray:
    """A config number as a 0-d array: Python ints stay integers (exact offsets), the rest float64."""
    if isinstance(x, bool) or x is None or isinstance(x, (list, dict, str)):
        raise Unsupported(f"not a scalar number: {x!r}")
    if isinstance(x, int):
        return np.asarray(x, I64)
    if isinstance(x, float):
        return np.asarray(x, F64)
    raise Unsupported(f"unexpected leaf {type(x).__name__}")


def _f(x: Any) -> np.ndarray:
    return _num(x).astype(F64) if not isinstance(x, np.ndarray) else x.astype(F64)


def _vector(x: Any, dtype: Any = None) -> np.ndarray:
    if not isinstance(x, list) or any(isinstance(v, (list, dict, bool)) for v in x):
        raise Unsupported("not a flat list of numbers")
    if dtype is None:
        dtype = I64 if all(isinstance(v, int) for v in x) else F64
    return np.asarray(x, dtype)


def _common(*xs: np.ndarray) -> tuple[np.ndarray, ...]:
    """The core's ``common``: integers when every input is an integer, else float64."""
    if all(np.issubdtype(x.dtype, np.integer) for x in xs):
        return tuple(x.astype(I64, copy=False) for x in xs)
    return tuple(x.astype(F64, copy=False) for x in xs)


def _phase(offset: np.ndarray, length: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The core's ``phase``: (done, left) in [0, 1], from exact integers scaled by one reciprocal."""
    offset, length = _common(offset, length)
    zero = np.zeros((), length.dtype)
    length = np.maximum(length, zero)
    done = np.clip(offset, zero, length)
    left = length - done
    empty = length <= 0
    scale = 1.0 / np.where(empty, np.ones((), length.dtype), length).astype(F64)
    finished = np.where(empty, 1.0, 0.0)
    return done.astype(F64) * scale + finished, left.astype(F64) * scale


def _split(offset: np.ndarray, period: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    offset, period = _common(offset, period)
    period = np.where(period > 0, period, np.ones((), period.dtype))
    k = np.floor_divide(offset, period)
    return k, offset - k * period


def _cos_anneal(left: np.ndarray) -> np.ndarray:
    return np.sin(HALF_PI * left) ** 2


def _power(x: np.ndarray, e: Any) -> np.ndarray:
    e = _f(e)
    return x if e == 1.0 else x ** e


def _lerp(start: Any, end: Any, done: np.ndarray, left: np.ndarray) -> np.ndarray:
    return _f(start) * left + _f(end) * done


def _anneal(kind: str, start: Any, end: Any, done: np.ndarray, left: np.ndarray) -> np.ndarray:
    if kind == "linear":
        return _lerp(start, end, done, left)
    return _f(start) * _cos_anneal(left) + _f(end) * _cos_anneal(done)


def _count_reached(marks: np.ndarray, t: np.ndarray) -> np.ndarray:
    t, marks = _common(t, marks)
    return np.searchsorted(np.sort(marks), t, side="right")


# ------------------------------------------------------------------------ evaluators

_EVALUATORS: dict[str, Callable[[dict[str, Any], np.ndarray], np.ndarray]] = {}


def _evaluator(name: str) -> Callable:
    def register(fn: Callable) -> Callable:
        _EVALUATORS[name] = fn
        return fn

    return register


def _eval(config: Any, t: np.ndarray) -> np.ndarray:
    """``Schedule.__call__``: negative steps count as 0, the result broadcast to the steps, float64."""
    if not isinstance(config, dict):
        return np.broadcast_to(_f(config), t.shape)  # a number operand of add/mul
    fn = _EVALUATORS.get(config.get("type", ""))
    if fn is None:
        raise Unsupported(config.get("type"))
    t = np.maximum(t, np.zeros((), t.dtype))
    return np.broadcast_to(np.asarray(fn(config, t), F64), t.shape)


@_evaluator("constant")
def _constant(c, t):
    return _f(c["value"])


@_evaluator("linear")
def _linear(c, t):
    done, left = _phase(t, _num(c["steps"]))
    return _lerp(c["init_value"], c["end_value"], done, left)


@_evaluator("polynomial")
def _polynomial(c, t):
    _, left = _phase(t, _num(c["steps"]))
    end = _f(c["end_value"])
    return end + (_f(c["init_value"]) - end) * _power(left, c["power"])


@_evaluator("cosine")
def _cosine(c, t):
    _, left = _phase(t, _num(c["steps"]))
    end = _f(c["end_value"])
    shape = _cos_anneal(left)
    if c.get("exponent") is not None:
        shape = _power(shape, c["exponent"])
    return end + (_f(c["init_value"]) - end) * shape


@_evaluator("exponential")
def _exponential(c, t):
    rate = _f(c["rate"])
    if c.get("staircase"):
        exponent = _split(t, _num(c["steps"]))[0].astype(F64)
    else:
        exponent = t.astype(F64) * (1.0 / _f(c["steps"]))
    value = _f(c["init_value"]) * np.exp(exponent * np.log(rate))
    if c.get("end_value") is not None:
        end = _f(c["end_value"])
        value = np.maximum(value, end) if rate < 1 else np.minimum(value, end)
    return value


@_evaluator("step_decay")
def _step_decay(c, t):
    k, _ = _split(t, _num(c["step_size"]))
    return _f(c["init_value"]) * _f(c["gamma"]) ** k.astype(F64)


@_evaluator("multistep")
def _multistep(c, t):
    n = _count_reached(_vector(c["milestones"]), t)
    return _f(c["init_value"]) * _f(c["gamma"]) ** n.astype(F64)


@_evaluator("inverse_sqrt")
def _inverse_sqrt(c, t):
    t, offset = _common(t, _num(c["offset"]))
    since = np.maximum(t - offset, np.zeros((), t.dtype)).astype(F64)
    return _f(c["init_value"]) * (1.0 / np.sqrt(1.0 + since / _f(c["timescale"])))


@_evaluator("inverse_time")
def _inverse_time(c, t):
    k, r = _split(t, _num(c["steps"]))
    x = k.astype(F64) + r.astype(F64) / _f(c["steps"])
    return _f(c["init_value"]) / (1.0 + _f(c["rate"]) * x)


@_evaluator("piecewise_constant")
def _piecewise_constant(c, t):
    i = _count_reached(_vector(c["boundaries"]), t)
    return _vector(c["values"], F64)[i]


@_evaluator("piecewise_linear")
def _piecewise_linear(c, t):
    b, v = _vector(c["boundaries"]), _vector(c["values"], F64)
    n = b.shape[-1]
    if n == 1:
        return np.broadcast_to(v[0], t.shape)
    i = np.clip(_count_reached(b, t) - 1, 0, n - 2)
    t, b = _common(t, b)
    lo, hi = b[i], b[i + 1]
    done, left = _phase(t - lo, hi - lo)
    return _anneal(c.get("kind", "linear"), v[i], v[i + 1], done, left)


@_evaluator("cyclic")
def _cyclic(c, t):
    up = _num(c["up_steps"])
    down = up if c.get("down_steps") is None else _num(c["down_steps"])
    t, up, down = _common(t, up, down)
    k, pos = _split(t, up + down)
    rising, _ = _phase(pos, up)
    falling, _ = _phase(up + down - pos, down)
    height = np.where(pos <= up, rising, falling)
    if c["mode"] == "triangular2":
        height = height * 0.5 ** k.astype(F64)
    elif c["mode"] == "exp_range":
        height = height * _f(c["gamma"]) ** t.astype(F64)
    base = _f(c["base_value"])
    return base + (_f(c["peak_value"]) - base) * height


def _one_cycle_ends(total: np.ndarray, pct: np.ndarray, three_phase: bool) -> list[tuple[np.ndarray, np.ndarray]]:
    x = pct * total.astype(F64)
    whole = np.floor(x)
    rest = x - whole
    whole = whole.astype(I64)
    ends = [(whole - 1, rest)]
    if three_phase:
        ends.append((2 * whole - 2, 2.0 * rest))
    if np.issubdtype(total.dtype, np.integer):
        last = (total - 1, np.zeros((), F64))
    else:
        w = np.floor(total)
        last = (w.astype(I64) - 1, total - w)
    return ends + [last]


def _segments(t: np.ndarray, total: np.ndarray, ends: list, values: list, kind: str) -> np.ndarray:
    """The core's ``_segments``; each step is evaluated in its own segment only (the same arithmetic per
    element, a fraction of the work: a table chunk usually lies within one segment)."""
    t = np.minimum(*_common(t, total - 1))
    starts = [(np.zeros((), I64), np.zeros((), F64))] + ends[:-1]
    # the core takes segment i where ``since_i > 0`` (a later segment overrides an earlier one)
    which = np.zeros(t.shape, np.intp)
    for i in range(1, len(ends)):
        s_n, s_f = starts[i]
        which[np.subtract(*_common(t, s_n)).astype(F64) - s_f > 0] = i
    out = np.empty(t.shape, F64)
    for i, ((s_n, s_f), (e_n, e_f)) in enumerate(zip(starts, ends)):
        here = which == i
        if not here.any():
            continue
        ti = t[here]
        length = np.subtract(*_common(e_n, s_n)).astype(F64) + (e_f - s_f)
        since = np.subtract(*_common(ti, s_n)).astype(F64) - s_f
        until = np.subtract(*_common(e_n, ti)).astype(F64) + e_f
        valid = length > 0
        safe = np.where(valid, length, 1.0)
        done = np.where(valid, np.clip(since, 0.0, safe) / safe, 1.0)
        left = np.where(valid, np.clip(until, 0.0, safe) / safe, 0.0)
        out[here] = _anneal(kind, values[i], values[i + 1], done, left)
    return out


@_evaluator("one_cycle")
def _one_cycle(c, t):
    initial = _f(c["peak_value"]) / _f(c["div_factor"])
    low = initial / _f(c["final_div_factor"])
    three = bool(c.get("three_phase"))
    values = [initial, _f(c["peak_value"])] + ([initial] if three else []) + [low]
    total = _num(c["total_steps"])
    return _segments(t, total, _one_cycle_ends(total, _f(c["pct_start"]), three), values, c["anneal"])


@_evaluator("one_cycle_momentum")
def _one_cycle_momentum(c, t):
    hi, lo = _f(c["peak_value"]), _f(c["base_value"])
    three = bool(c.get("three_phase"))
    values = [hi, lo, hi] + ([hi] if three else [])
    total = _num(c["total_steps"])
    return _segments(t, total, _one_cycle_ends(total, _f(c["pct_start"]), three), values, c["anneal"])


@_evaluator("warmup_cosine")
def _warmup_cosine(c, t):
    t, w = _common(t, _num(c["warmup_steps"]))
    out = np.empty(t.shape, F64)
    rising = t < w
    if rising.any():
        out[rising] = _lerp(c["init_value"], c["peak_value"], *_phase(t[rising], w))
    falling = ~rising
    if falling.any():
        _, left = _phase(t[falling] - w, np.subtract(*_common(_num(c["total_steps"]), w)))
        end = _f(c["end_value"])
        shape = _cos_anneal(left)
        if c.get("exponent") is not None:
            shape = _power(shape, c["exponent"])
        out[falling] = end + (_f(c["peak_value"]) - end) * shape
    return out


@_evaluator("wsd")
def _wsd(c, t):
    t, w, n, d = _common(t, *(_num(c[k]) for k in ("warmup_steps", "total_steps", "decay_steps")))
    up = _lerp(c["init_value"], c["peak_value"], *_phase(t, w))
    done, left = _phase(t - (n - d), d)
    peak, end = _f(c["peak_value"]), _f(c["end_value"])
    if c["decay"] == "linear":
        down = _lerp(peak, end, done, left)
    elif c["decay"] == "cosine":
        down = end + (peak - end) * _cos_anneal(left)
    else:
        started = done > 0
        root = np.sqrt(np.where(started, done, 1.0))
        down = end + (peak - end) * np.where(started, 1.0 - root, 1.0)
    return np.where(t < w, up, np.where(t < n - d, peak, down))


@_evaluator("tanh")
def _tanh(c, t):
    done, left = _phase(t, _num(c["steps"]))
    x = _lerp(c["lower"], c["upper"], done, left)
    end = _f(c["end_value"])
    return end + (_f(c["init_value"]) - end) * 0.5 * (1.0 - np.tanh(x))


@_evaluator("torch.CosineAnnealingLR")
def _cosine_annealing(c, t):
    t, period = _common(t, _num(c["T_max"]))
    _, r = _split(t, 2 * period)
    _, left = _phase(np.where(r <= period, r, 2 * period - r), period)
    eta = _f(c["eta_min"])
    return eta + (_f(c["base_lr"]) - eta) * _cos_anneal(left)


@_evaluator("warmup")
def _warmup(c, t):
    t, steps = _common(t, _num(c["steps"]))
    out = np.array(np.broadcast_to(_eval(c["schedule"], t - steps), t.shape), F64)
    ramping = t < steps  # the ramp only where it is used (the same arithmetic per element)
    if ramping.any():
        tr, after = t[ramping], out[ramping]
        done, left = _phase(tr, steps)
        init = _f(c["init_value"])
        kind = c.get("kind", "linear")
        if kind == "linear":
            ramp = init * left + after * done
        elif kind == "cosine":
            ramp = after + (init - after) * _cos_anneal(left)
        else:
            ramp = np.broadcast_to(init, after.shape)
        out[ramping] = ramp
    return out


@_evaluator("join")
def _join(c, t):
    pieces = c["schedules"]
    bounds = _vector(c["boundaries"]) if c["boundaries"] else np.zeros((0,), I64)
    if len(pieces) != bounds.shape[0] + 1:
        raise Unsupported("join: pieces and boundaries disagree")
    which = np.searchsorted(bounds, t, side="right") if bounds.size else np.zeros(t.shape, np.intp)
    t, b = _common(t, bounds)
    starts = np.concatenate([np.zeros((1,), b.dtype), b])
    local = t - starts[which]
    out = np.empty(t.shape, F64)
    for i, piece in enumerate(pieces):
        here = which == i
        if here.any():
            out[here] = _eval(piece, local[here])
    return out


@_evaluator("shift")
def _shift(c, t):
    t, steps = _common(t, _num(c["steps"]))
    return _eval(c["schedule"], t - steps)


@_evaluator("clip")
def _clip(c, t):
    v = _eval(c["schedule"], t)
    if c.get("min_value") is not None:
        v = np.maximum(v, _f(c["min_value"]))
    if c.get("max_value") is not None:
        v = np.minimum(v, _f(c["max_value"]))
    return v


@_evaluator("add")
def _add(c, t):
    return _eval(c["left"], t) + _eval(c["right"], t)


@_evaluator("mul")
def _mul(c, t):
    return _eval(c["left"], t) * _eval(c["right"], t)


# ------------------------------------------------------------------------ proportional schedules

# The fields each type is homogeneous of degree one in: scaling all of them by r scales every value by r
# (one_cycle(peak) = peak * one_cycle(1), warmup(r s, init r v) = r warmup(s, init v), ...). Nested schedules
# listed here scale with them. Schedules of one structure that differ only there (a torch scheduler's
# per-group copies, lambda_lr's per-group schedules) are one evaluation and a multiplication.
_SCALE_FIELDS: dict[str, tuple[str, ...]] = {
    "constant": ("value",), "linear": ("init_value", "end_value"), "polynomial": ("init_value", "end_value"),
    "cosine": ("init_value", "end_value"), "exponential": ("init_value", "end_value"),
    "step_decay": ("init_value",), "multistep": ("init_value",), "inverse_sqrt": ("init_value",),
    "inverse_time": ("init_value",), "piecewise_constant": ("values",), "piecewise_linear": ("values",),
    "cyclic": ("base_value", "peak_value"), "one_cycle": ("peak_value",),
    "one_cycle_momentum": ("base_value", "peak_value"),
    "warmup_cosine": ("peak_value", "init_value", "end_value"), "wsd": ("peak_value", "init_value", "end_value"),
    "tanh": ("init_value", "end_value"), "torch.CosineAnnealingLR": ("base_lr", "eta_min"),
    "warmup": ("schedule", "init_value"), "join": ("schedules",), "shift": ("schedule",),
    "clip": ("schedule", "min_value", "max_value"), "add": ("left", "right"),
}


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
    kind = a["type"]
    try:
        if kind == "mul":  # (r1 left) * (r2 right) = r1 r2 (left * right)
            factors = []
            for side in ("left", "right"):
                ratio: list[float | None] = [None]
                _ratio_of(a[side], b[side], ratio)
                factors.append(1.0 if ratio[0] is None else ratio[0])
            return factors[0] * factors[1]
        scaled = _SCALE_FIELDS.get(kind)
        if scaled is None:
            return None
        ratio = [None]
        for key in a:
            if key == "type" or key == "lrsched_config":
                continue
            if key in scaled:
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


# ------------------------------------------------------------------------------ API


def supported(config: Any) -> bool:
    """Whether :func:`values` evaluates `config` (every nested schedule type has a numpy evaluator)."""
    if isinstance(config, dict):
        if "type" in config and config["type"] not in _EVALUATORS:
            return False
        return all(supported(v) for k, v in config.items() if k != "type")
    if isinstance(config, list):
        return all(supported(v) for v in config)
    return True


def values(config: Any, steps: np.ndarray) -> np.ndarray | None:
    """The schedule described by `config` at integer `steps`, in float64; None when unsupported."""
    if not isinstance(config, dict) or not supported(config):
        return None
    try:
        with np.errstate(all="ignore"):
            return np.array(_eval(config, np.asarray(steps, I64)), dtype=F64)
    except (Unsupported, KeyError, TypeError, ValueError):
        return None
