"""Random arguments, valid and invalid, for every public constructor (issue 14).

For each constructor of ``lrsched`` (factories, combinators, arithmetic, plateau) and of
``lrsched.compat.*``, hypothesis draws arguments and either

- keeps them valid: the schedule builds and its float32 values at a few steps are finite and
  equal a float64 reference written from the formula (tests/cases.py's where they exist, the
  anchor's own float64 functions for transformers), or
- replaces one argument with a bad value of the wrong kind or out of range: construction
  raises the project's ``ScheduleError``.

Nothing else may happen: no other exception, no NaN. Each structure is evaluated by one jitted
call (the numbers are leaves, so examples of one structure share the compiled program).
``noise`` has no float64 reference here (tests/test_noise.py has its draws'): its values are checked
against the bound ``|v / s - 1| < pct``. ``test_every_public_constructor_has_a_spec`` keeps the list complete.
"""

from __future__ import annotations

import dataclasses
import inspect
import math
import os
from typing import Any, Callable

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from cases import ref_cyclic, ref_one_cycle, ref_timm
from hypothesis import given, settings
from hypothesis import strategies as st
from test_compat_timm import ref_factory

import lrsched
from lrsched import ScheduleError
from lrsched.compat import fastai as fa
from lrsched.compat import optax as ox
from lrsched.compat import timm
from lrsched.compat import torch as tc
from lrsched.compat import transformers as hf

T = np.array([0, 1, 2, 3, 5, 8, 13, 21, 34, 55, 89, 144, 233, 377, 610, 987])
TF = T.astype(np.float64)
_EVAL = jax.jit(lambda s, t: s(t))


def cos01(x):
    return 0.5 * (1.0 + np.cos(np.pi * x))


def interpolated(t, marks, values, kind, hold_first=False):
    """Interpolation between `values` at `marks` ("linear", else a cosine), the last value after the last
    mark; `hold_first`: the first value up to the first mark (a step covered by no interval otherwise gets
    the last value, as optax's piecewise_interpolate_schedule at a boundary of 0)."""
    out = np.full(t.shape, values[-1], np.float64)
    if hold_first:
        out[t <= marks[0]] = values[0]
    for i in range(len(marks) - 1):
        inside = (t >= marks[i]) & (t < marks[i + 1])
        x = (t[inside] - marks[i]) / (marks[i + 1] - marks[i])
        w = 1 - x if kind == "linear" else cos01(x)
        out[inside] = values[i] * w + values[i + 1] * (1 - w)
    return out


def clip01(x):
    return np.clip(x, 0.0, 1.0)


def ramp(t, n):
    """min(t, n) / n, and 1 for a zero length (finished)."""
    return clip01(t / n) if n > 0 else np.ones_like(t)


# ------------------------------------------------------------------ strategies

def f32(lo, hi):
    """Floats exact in float32 (the parameters' own rounding is issue 14's float32 half, not this test's)."""
    lo32, hi32 = np.float32(lo), np.float32(hi)
    lo32 = lo32 if lo32 >= lo else np.nextafter(lo32, np.float32(np.inf))
    hi32 = hi32 if hi32 <= hi else np.nextafter(hi32, np.float32(-np.inf))
    return st.floats(float(lo32), float(hi32), width=32)


def val(lo=0.05, hi=2.0):
    return f32(lo, hi)


frac = f32(0.1, 0.9)
steps = st.integers(1, 300)
steps0 = st.integers(0, 300)
maybe = st.booleans()


@st.composite
def sorted_ints(draw, n_min=1, n_max=3, lo=0, hi=400, strict=False):
    n = draw(st.integers(n_min, n_max))
    xs = sorted(draw(st.lists(st.integers(lo, hi), min_size=n, max_size=n, unique=strict)))
    return xs


@st.composite
def inner(draw):
    """A positive schedule and its float64 reference."""
    kind = draw(st.sampled_from(["constant", "linear", "cosine"]))
    a = draw(val())
    if kind == "constant":
        return lrsched.constant(a), lambda t: np.full(np.shape(t), a, np.float64)
    b, n = draw(val()), draw(steps)
    if kind == "linear":
        return lrsched.linear(a, b, n), lambda t: a + (b - a) * clip01(t / n)
    return lrsched.cosine(a, n, b), lambda t: b + (a - b) * cos01(clip01(t / n))


# ------------------------------------------------------------------ bad values

TYPE_BAD = ["3", {1}, 1 + 2j, True, np.bool_(False), float("nan"), jnp.bfloat16(float("nan")), np.float16(np.inf),
            [1, None]]


def num(*extra: Any, optional: bool = False) -> list:
    """Bad values for a number (None too when it is required) plus `extra` (out of its range)."""
    return TYPE_BAD + ([] if optional else [None]) + list(extra)


def count(*extra: Any, optional: bool = False) -> list:
    return num(2.5, *extra, optional=optional)


SEQ = [{3, 1}, "ab", 5, None, [1, "x"], [1.0, float("nan")]]
FLAG = ["no", 1, None, 0.0]
SCHED = [0.1, "x", None, [lrsched.constant(1.0)]]


def choice() -> list:
    return [1, "nope", None, ["linear"]]


# ------------------------------------------------------------------------ specs


@dataclasses.dataclass
class Spec:
    name: str
    build: Callable[[dict], Any]
    valid: Any  # a strategy of (kwargs, reference): reference(t) -> float64 values, or None (see check)
    bad: dict[str, list]
    check: Callable[[Any, dict, Any], None] | None = None


def values_equal(built, ref, scale=None):
    got = np.asarray(_EVAL(built, T), np.float64)
    want = np.asarray(ref(TF), np.float64)
    assert np.all(np.isfinite(got)), got
    scale = max(np.max(np.abs(want)), 1e-12) if scale is None else scale
    np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4 * scale)


SPECS: list[Spec] = []


def spec(name, build, bad, check=None):
    """Register a constructor; the decorated composite strategy draws (kwargs, reference)."""
    def wrap(draw_fn):
        SPECS.append(Spec(name, build, st.composite(draw_fn)(), bad, check))
        return draw_fn
    return wrap


def call(fn):
    return lambda kw: fn(**kw)


# ---------------------------------------------------------------- primitives

L = lrsched


@spec("constant", call(L.constant), {"value": num()})
def _(draw):
    v = draw(val(-2.0))
    return dict(value=v), lambda t: np.full(t.shape, v)


@spec("linear", call(L.linear), {"init_value": num(), "end_value": num(), "steps": num(-1)})
def _(draw):
    a, b, n = draw(val()), draw(val()), draw(steps0 | f32(0.5, 300))
    return dict(init_value=a, end_value=b, steps=n), lambda t: a + (b - a) * ramp(t, n)


@spec("polynomial", call(L.polynomial), {"init_value": num(), "steps": num(-1), "power": num(0, -1.0),
                                         "k_decay": num(0, optional=True)})
def _(draw):
    a, b, n, pw = draw(val()), draw(val()), draw(steps0), draw(val(0.3, 3.0))
    k = draw(st.none() | val(0.5, 3.0))
    return dict(init_value=a, end_value=b, steps=n, power=pw, k_decay=k), \
        lambda t: b + (a - b) * (1 - ramp(t, n) ** (k or 1.0)) ** pw


@spec("cosine", call(L.cosine), {"init_value": num(), "steps": num(0, -5), "end_value": num(),
                                 "exponent": num(0, optional=True), "k_decay": num(-1.0, optional=True),
                                 "periodic": FLAG})
def _(draw):
    a, b, n = draw(val()), draw(val()), draw(steps | f32(0.5, 300))
    e, k, periodic = draw(st.none() | val(0.5, 3.0)), draw(st.none() | val(0.5, 3.0)), draw(maybe)

    def ref(t):
        if periodic:
            r = np.mod(t, 2 * n)
            t = np.where(r <= n, r, 2 * n - r)
        return b + (a - b) * cos01(clip01(t / n) ** (k or 1.0)) ** (e or 1.0)
    return dict(init_value=a, steps=n, end_value=b, exponent=e, k_decay=k, periodic=periodic), ref


@spec("exponential", call(L.exponential), {"init_value": num(), "rate": num(0, -0.5), "steps": num(0),
                                           "staircase": FLAG, "end_value": num(optional=True)})
def _(draw):
    a, r, n, stair, end = draw(val()), draw(val(0.5, 1.5)), draw(st.integers(1, 50)), draw(maybe), draw(
        st.none() | val(0.01, 1.0))

    def ref(t):
        v = a * r ** (np.floor(t / n) if stair else t / n)
        if end is None:
            return v
        return np.maximum(v, end) if r < 1 else np.minimum(v, end)
    return dict(init_value=a, rate=r, steps=n, staircase=stair, end_value=end), ref


@spec("step_decay", call(L.step_decay), {"init_value": num(), "step_size": num(0), "gamma": num(-0.1)})
def _(draw):
    a, s, g = draw(val()), draw(st.integers(1, 100)), draw(val(0.1, 1.2))
    return dict(init_value=a, step_size=s, gamma=g), lambda t: a * g ** np.floor(t / s)


@spec("multistep", call(L.multistep), {"init_value": num(), "milestones": SEQ + [[30, 10], [-1, 5]],
                                       "gamma": num(-0.1)})
def _(draw):
    a, m, g = draw(val()), draw(sorted_ints()), draw(val(0.1, 1.2))
    return dict(init_value=a, milestones=m, gamma=g), lambda t: a * g ** (np.asarray(m)[None] <= t[:, None]).sum(1)


@spec("inverse_sqrt", call(L.inverse_sqrt), {"init_value": num(), "timescale": num(0), "offset": num(-1)})
def _(draw):
    a, ts, o = draw(val()), draw(st.integers(1, 100)), draw(steps0)
    return dict(init_value=a, timescale=ts, offset=o), lambda t: a * np.sqrt(ts / (ts + np.maximum(t - o, 0)))


@spec("inverse_time", call(L.inverse_time), {"init_value": num(), "rate": num(-0.5), "steps": num(0)})
def _(draw):
    a, r, n = draw(val()), draw(val(0.0, 3.0)), draw(steps)
    return dict(init_value=a, rate=r, steps=n), lambda t: a / (1 + r * t / n)


@spec("piecewise_constant", call(L.piecewise_constant), {"boundaries": SEQ + [[5, 2]],
                                                         "values": SEQ})
def _(draw):
    b = draw(sorted_ints(0, 3))
    v = draw(st.lists(val(), min_size=len(b) + 1, max_size=len(b) + 1))
    return dict(boundaries=b, values=v), lambda t: np.asarray(v)[(np.asarray(b, np.float64)[None] <= t[:, None]).sum(1)]


@spec("piecewise_linear", call(L.piecewise_linear), {"boundaries": SEQ + [[5, 2], []], "values": SEQ,
                                                     "kind": choice()})
def _(draw):
    b = draw(sorted_ints(1, 4, strict=True))
    v = draw(st.lists(val(), min_size=len(b), max_size=len(b)))
    kind = draw(st.sampled_from(["linear", "cos"]))

    return dict(boundaries=b, values=v, kind=kind), lambda t: interpolated(t, b, v, kind, hold_first=True)


@spec("cyclic", call(L.cyclic), {"base_value": num(), "up_steps": num(0), "down_steps": num(0, optional=True),
                                 "mode": [1, None, "triangle"], "gamma": num(0), "scale_fn": [3, "f"],
                                 "scale_mode": choice()})
def _(draw):
    lo, hi, up = draw(val()), draw(val()), draw(st.integers(1, 60))
    down, mode, gamma = draw(st.none() | st.integers(1, 60)), draw(
        st.sampled_from(["triangular", "triangular2", "exp_range"])), draw(val(0.99, 1.0))
    kw = dict(base_value=lo, peak_value=hi, up_steps=up, down_steps=down, mode=mode, gamma=gamma)
    p = dict(base_value=lo, peak_value=hi, up_steps=up, gamma=gamma, **({} if down is None else {"down_steps": down}))
    return kw, lambda t: ref_cyclic(t, p, mode)


def _phases(t, total, ends, values, kind):
    t = np.minimum(t, total - 1)
    out = np.empty_like(t)
    for j, step in enumerate(t):
        start = 0.0
        for i, end in enumerate(ends):
            if step <= end or i == len(ends) - 1:
                pct = (step - start) / (end - start)
                a, b = values[i], values[i + 1]
                out[j] = b + (a - b) * cos01(pct) if kind == "cos" else a + (b - a) * pct
                break
            start = end
    return out


@spec("one_cycle", call(L.one_cycle), {"total_steps": num(0), "pct_start": num(1.5, -0.1), "div_factor": num(0),
                                       "final_div_factor": num(0), "anneal": choice(), "three_phase": FLAG})
def _(draw):
    n, peak, pct = draw(st.integers(20, 500)), draw(val()), draw(f32(0.1, 0.45))
    div, final, kind, three = draw(val(1.5, 50.0)), draw(val(1.5, 1e4)), draw(st.sampled_from(["cos", "linear"])), \
        draw(maybe)
    p = dict(total_steps=n, peak_value=peak, pct_start=pct, div_factor=div, final_div_factor=final)
    return dict(p, anneal=kind, three_phase=three), lambda t: ref_one_cycle(t, p, kind, three)


@spec("one_cycle_momentum", call(L.one_cycle_momentum), {"total_steps": num(0), "pct_start": num(2.0),
                                                         "anneal": choice(), "three_phase": FLAG})
def _(draw):
    n, lo, hi, pct = draw(st.integers(20, 500)), draw(val(0.5, 0.9)), draw(val(0.9, 0.99)), draw(
        f32(0.1, 0.45))
    kind, three = draw(st.sampled_from(["cos", "linear"])), draw(maybe)
    ends = [float(np.float32(pct)) * n - 1] + ([2 * float(np.float32(pct)) * n - 2] if three else []) + [n - 1.0]
    values = [hi, lo, hi] + ([hi] if three else [])
    return dict(total_steps=n, base_value=lo, peak_value=hi, pct_start=pct, anneal=kind, three_phase=three), \
        lambda t: _phases(t, n, ends, values, kind)


@spec("warmup_cosine", call(L.warmup_cosine), {"peak_value": num(), "warmup_steps": num(-1),
                                               "total_steps": num(0), "exponent": num(0, optional=True)})
def _(draw):
    peak, w, extra, a, b = draw(val()), draw(steps0), draw(st.integers(1, 300)), draw(val()), draw(val())
    e = draw(st.none() | val(0.5, 3.0))
    n = w + extra

    def ref(t):
        up = a + (peak - a) * ramp(t, w)
        down = b + (peak - b) * cos01(clip01((t - w) / (n - w))) ** (e or 1.0)
        return np.where(t < w, up, down)
    return dict(peak_value=peak, warmup_steps=w, total_steps=n, init_value=a, end_value=b, exponent=e), ref


@spec("wsd", call(L.wsd), {"peak_value": num(), "total_steps": num(0), "warmup_steps": num(-1),
                           "decay_steps": num(-1), "decay": choice()})
def _(draw):
    peak, w, d, hold, a, b = draw(val()), draw(steps0), draw(steps0), draw(steps0), draw(val()), draw(val())
    n, kind = max(w + d + hold, 1), draw(st.sampled_from(["linear", "cosine", "sqrt"]))

    def ref(t):
        x = ramp(t - (n - d), d) if d > 0 else (t >= n - d).astype(np.float64)
        shape = {"linear": 1 - x, "cosine": cos01(x), "sqrt": 1 - np.sqrt(x)}[kind]
        return np.where(t < w, a + (peak - a) * ramp(t, w), np.where(t < n - d, peak, b + (peak - b) * shape))
    return dict(peak_value=peak, total_steps=n, warmup_steps=w, decay_steps=d, init_value=a, end_value=b,
                decay=kind), ref


@spec("tanh", call(L.tanh), {"init_value": num(), "steps": num(0), "lower": num(), "upper": num()})
def _(draw):
    a, n, b, lo, hi = draw(val()), draw(steps), draw(val()), draw(val(-8.0, -1.0)), draw(val(1.0, 5.0))

    def ref(t):
        r = clip01(t / n)
        return b + 0.5 * (a - b) * (1 - np.tanh(lo * (1 - r) + hi * r))
    return dict(init_value=a, steps=n, end_value=b, lower=lo, upper=hi), ref


# --------------------------------------------------------------- combinators


def _join_ref(refs, bounds):
    def ref(t):
        b = np.asarray(bounds, np.float64)
        i = (b[None] <= t[:, None]).sum(1)
        starts = np.concatenate([[0.0], b])
        return np.array([refs[k](np.array([x - starts[k]]))[0] for x, k in zip(t, i)])
    return ref


@st.composite
def pieces(draw):
    drawn = draw(st.lists(inner(), min_size=1, max_size=3))
    bounds = draw(sorted_ints(len(drawn) - 1, len(drawn) - 1))
    return [s for s, _ in drawn], bounds, _join_ref([r for _, r in drawn], bounds)


@spec("join", call(L.join), {"schedules": SCHED + [[]],
                             "boundaries": [x for x in SEQ if x != 5] + [[-2], [0.5, float("inf")]]})
def _(draw):
    schedules, bounds, ref = draw(pieces())
    return dict(schedules=schedules, boundaries=bounds), ref


@spec("warmup", call(L.warmup), {"schedule": SCHED, "steps": num(-1), "init_value": num(), "kind": choice()})
def _(draw):
    (s, r), w, a = draw(inner()), draw(steps0), draw(val())
    kind = draw(st.sampled_from(["linear", "cosine", "constant"]))

    def ref(t):
        s0, done = r(np.zeros(1))[0], ramp(t, w)
        during = {"linear": a + (s0 - a) * done, "cosine": s0 + (a - s0) * cos01(done), "constant": a + 0 * t}[kind]
        return np.where(t < w, during, r(np.maximum(t - w, 0)))
    return dict(schedule=s, steps=w, init_value=a, kind=kind), ref


@spec("cycle", call(L.cycle), {"schedule": SCHED, "period": num(0), "period_mul": num(0.5), "decay": num(-1),
                               "limit": count(0, optional=True), "stretch": FLAG, "end_value": num(optional=True)})
def _(draw):
    (s, r), period, mul, decay = draw(inner()), draw(st.integers(1, 80)), draw(st.integers(1, 3)), draw(val(0.3, 1.0))
    limit, stretch = draw(st.none() | st.integers(1, 5)), draw(maybe)
    end = draw(st.none() | val()) if limit is not None else None

    def one(x):
        k, start, length = 0, 0, period
        while x >= start + length and (limit is None or k + 1 < limit):
            start, length, k = start + length, length * mul, k + 1
        if end is not None and limit is not None and x >= start + length:
            return end
        local = (x - start) / (mul**k if stretch else 1)
        return decay**k * r(np.array([local]))[0]
    return dict(schedule=s, period=period, period_mul=mul, decay=decay, limit=limit, stretch=stretch,
                end_value=end), lambda t: np.array([one(x) for x in t])


@spec("clip", call(L.clip), {"schedule": SCHED, "min_value": num(5.0, optional=True), "max_value": num(optional=True)})
def _(draw):
    (s, r), lo, hi = draw(inner()), draw(st.none() | val(0.0, 1.0)), draw(st.none() | val(1.0, 2.0))
    return dict(schedule=s, min_value=lo, max_value=hi), \
        lambda t: np.clip(r(t), -np.inf if lo is None else lo, np.inf if hi is None else hi)


@spec("shift", call(L.shift), {"schedule": SCHED, "steps": num()})
def _(draw):
    (s, r), k = draw(inner()), draw(st.integers(-100, 300))
    return dict(schedule=s, steps=k), lambda t: r(np.maximum(t - k, 0.0))


def _check_noise(built, kw, ref):
    got = np.asarray(_EVAL(built, T), np.float64)
    assert np.all(np.isfinite(got))
    base = ref(TF)
    inside = (TF >= kw["start"]) & ((kw["end"] is None) | (TF < (kw["end"] or 0)))
    ratio = got / base - 1
    assert np.all(np.abs(ratio[inside]) <= kw["pct"] * (1 + 1e-5) + 1e-6), ratio
    np.testing.assert_allclose(got[~inside], base[~inside], rtol=1e-5)
    np.testing.assert_array_equal(np.asarray(_EVAL(built, T)), np.asarray(_EVAL(built, T)))  # reproducible


@spec("noise", call(L.noise), {"schedule": SCHED, "pct": num(1.0, -0.1), "seed": count(-1, 2**32), "kind": choice(),
                               "generator": choice(), "start": num(-1)}, check=_check_noise)
def _(draw):
    (s, r), pct, seed, kind = draw(inner()), draw(val(0.0, 0.9)), draw(st.integers(0, 1000)), draw(
        st.sampled_from(["normal", "uniform"]))
    generator = draw(st.sampled_from(["hash", "threefry"]))
    start = draw(steps0)
    end = draw(st.none() | st.integers(start, start + 500))
    return dict(schedule=s, pct=pct, seed=seed, kind=kind, generator=generator, start=start, end=end), r


def _torch_plateau(metrics, base, factor, patience, threshold, threshold_mode, mode, cooldown, min_value, eps):
    """torch.optim.lr_scheduler.ReduceLROnPlateau.step, in float64 (torch 2.13's source), for a constant rate."""
    best, bad, cool, lr, out = (math.inf if mode == "min" else -math.inf), 0, 0, base, []
    for m in metrics:
        rel = threshold_mode == "rel"
        better = (m < best * (1 - threshold) if rel else m < best - threshold) if mode == "min" else \
            (m > best * (threshold + 1) if rel else m > best + threshold)
        if better:
            best, bad = m, 0
        else:
            bad += 1
        if cool > 0:
            cool, bad = cool - 1, 0
        if bad > patience:
            new = max(lr * factor, min_value)
            if lr - new > eps:
                lr = new
            cool, bad = cooldown, 0
        out.append(lr)
    return np.array(out)


_PLATEAU_RUN = jax.jit(lambda p, ms: jax.lax.scan(lambda s, m: (lambda s2: (s2, p(0, s2)))(p.update(s, m)),
                                                   p.init(), ms)[1])


def _check_plateau(built, kw, ref):
    base, metrics = ref
    got = np.asarray(_PLATEAU_RUN(built, jnp.asarray(metrics)), np.float64)
    want = _torch_plateau(metrics, base, *(kw[k] for k in ("factor", "patience", "threshold", "threshold_mode",
                                                           "mode", "cooldown", "min_value", "eps")))
    assert np.all(np.isfinite(got))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-9)


@spec("plateau", call(L.plateau), {"schedule": SCHED, "factor": num(1.0, -0.1, 2.0), "patience": count(-1),
                                   "threshold": num(-0.1), "threshold_mode": choice(), "mode": choice(),
                                   "cooldown": count(-1), "min_value": num(-1.0), "eps": num(-1.0),
                                   "every": count(0), "aggregate": choice(), "nan": choice()},
      check=_check_plateau)
def _(draw):
    base = draw(val(0.01, 1.0))
    kw = dict(schedule=lrsched.constant(base), factor=draw(val(0.1, 0.9)), patience=draw(st.integers(0, 3)),
              threshold=draw(st.sampled_from([0.0, 1e-4, 0.01])), threshold_mode=draw(st.sampled_from(["rel", "abs"])),
              mode=draw(st.sampled_from(["min", "max"])), cooldown=draw(st.integers(0, 2)),
              min_value=draw(st.sampled_from([0.0, 1e-4])), eps=1e-8)
    metrics = draw(st.lists(st.sampled_from([1.0, 0.9, 0.8, 1.1, 0.5]), min_size=12, max_size=12))
    return kw, (base, metrics)


def _operand(draw, positive=True):
    if draw(maybe):
        return draw(inner())
    x = draw(val(0.2, 2.0) if positive else val(-2.0, 2.0))
    return x, lambda t: np.full(t.shape, x)


for _name, _fn, _op in [("add", L.add, np.add), ("mul", L.mul, np.multiply), ("div", L.div, np.divide),
                        ("pow", L.pow, np.power)]:
    def _draw(draw, op=_op):
        (a, ra), (b, rb) = _operand(draw), _operand(draw)
        if not isinstance(a, lrsched.Schedule) and not isinstance(b, lrsched.Schedule):
            a, ra = draw(inner())
        return dict(left=a, right=b), lambda t: op(ra(t), rb(t))
    _bad = {"left": TYPE_BAD + [None], "right": TYPE_BAD + [None]}
    if _name == "div":
        _bad["right"] = _bad["right"] + [0, [1.0, 0.0]]
    SPECS.append(Spec(_name, call(_fn), st.composite(_draw)(), _bad))


# ---------------------------------------------------------------- compat.torch


@spec("torch.StepLR", call(tc.StepLR), {"base_lr": num(), "step_size": num(0), "gamma": num(-0.5)})
def _(draw):
    b, s, g = draw(val()), draw(st.integers(1, 100)), draw(val(0.1, 1.0))
    return dict(base_lr=b, step_size=s, gamma=g), lambda t: b * g ** np.floor(t / s)


@spec("torch.MultiStepLR", call(tc.MultiStepLR), {"base_lr": num(), "milestones": SEQ + [[3, -1]], "gamma": num()})
def _(draw):
    b, m, g = draw(val()), draw(st.lists(st.integers(0, 400), min_size=1, max_size=3)), draw(val(0.1, 1.0))
    return dict(base_lr=b, milestones=m, gamma=g), lambda t: b * g ** (np.asarray(m)[None] <= t[:, None]).sum(1)


@spec("torch.ConstantLR", call(tc.ConstantLR), {"base_lr": num(), "factor": num(1.5, -0.1), "total_iters": num(-1)})
def _(draw):
    b, f, n = draw(val()), draw(val(0.0, 1.0)), draw(steps0)
    return dict(base_lr=b, factor=f, total_iters=n), lambda t: b * np.where((t < n) | (n == 0), f, 1.0)


@spec("torch.LinearLR", call(tc.LinearLR), {"base_lr": num(), "start_factor": num(0, 1.5), "end_factor": num(1.5),
                                            "total_iters": num(-1)})
def _(draw):
    b, s, e, n = draw(val()), draw(val(0.05, 1.0)), draw(val(0.0, 1.0)), draw(steps0)
    return dict(base_lr=b, start_factor=s, end_factor=e, total_iters=n), \
        lambda t: b * (s + (e - s) * (clip01(t / n) if n else 0 * t))


@spec("torch.ExponentialLR", call(tc.ExponentialLR), {"base_lr": num(), "gamma": num(-0.5)})
def _(draw):
    b, g = draw(val()), draw(val(0.9, 1.0))
    return dict(base_lr=b, gamma=g), lambda t: b * np.float64(g) ** t


@spec("torch.PolynomialLR", call(tc.PolynomialLR), {"base_lr": num(), "total_iters": num(-1), "power": num(0)})
def _(draw):
    b, n, pw = draw(val()), draw(steps0), draw(val(0.3, 3.0))
    return dict(base_lr=b, total_iters=n, power=pw), lambda t: b * ((1 - clip01(t / n)) ** pw if n else 1.0 + 0 * t)


@spec("torch.CosineAnnealingLR", call(tc.CosineAnnealingLR), {"base_lr": num(), "T_max": num(0), "eta_min": num()})
def _(draw):
    b, n, e = draw(val()), draw(steps), draw(val(0.0, 0.05))
    return dict(base_lr=b, T_max=n, eta_min=e), lambda t: e + (b - e) * cos01(t / n)


@spec("torch.CosineAnnealingWarmRestarts", call(tc.CosineAnnealingWarmRestarts),
      {"base_lr": num(), "T_0": num(0), "T_mult": num(0.5), "eta_min": num()})
def _(draw):
    b, t0, m, e = draw(val()), draw(st.integers(1, 60)), draw(st.integers(1, 3)), draw(val(0.0, 0.05))

    def one(x):
        cur, length = x, t0
        while cur >= length:
            cur, length = cur - length, length * m
        return e + (b - e) * cos01(cur / length)
    return dict(base_lr=b, T_0=t0, T_mult=m, eta_min=e), lambda t: np.array([one(x) for x in t])


def _cyclic_torch(draw, momentum):
    up, down = draw(st.integers(1, 60)), draw(st.none() | st.integers(1, 60))
    mode, gamma = draw(st.sampled_from(["triangular", "triangular2", "exp_range"])), draw(val(0.99, 1.0))
    lo, hi = draw(val(0.01, 0.5)), draw(val(0.5, 1.0))
    kw = dict(step_size_up=up, step_size_down=down, mode=mode, gamma=gamma)
    if momentum:
        kw.update(base_momentum=lo, max_momentum=hi)
        p = dict(base_value=hi, peak_value=lo)
    else:
        kw.update(base_lr=lo, max_lr=hi)
        p = dict(base_value=lo, peak_value=hi)
    p.update(up_steps=up, gamma=gamma, **({} if down is None else {"down_steps": down}))
    return kw, lambda t: ref_cyclic(t, p, mode)


_CYCLIC_BAD = {"step_size_up": num(0), "step_size_down": num(0, optional=True), "mode": [1, None, "tri"],
               "gamma": num(0), "scale_fn": [3], "scale_mode": choice(), "cycle_momentum": FLAG}
spec("torch.CyclicLR", call(tc.CyclicLR), {"base_lr": num(), "max_lr": num(), **_CYCLIC_BAD})(
    lambda draw: _cyclic_torch(draw, False))
spec("torch.CyclicMomentum", call(tc.CyclicMomentum), {"base_momentum": num(), "max_momentum": num(), **_CYCLIC_BAD})(
    lambda draw: _cyclic_torch(draw, True))


@spec("torch.OneCycleLR", call(tc.OneCycleLR), {"max_lr": num(), "total_steps": num(0, optional=True),
                                                "pct_start": num(1.5), "anneal_strategy": choice(),
                                                "div_factor": num(0), "final_div_factor": num(0),
                                                "three_phase": FLAG, "cycle_momentum": FLAG})
def _(draw):
    n, peak, pct = draw(st.integers(20, 500)), draw(val()), draw(f32(0.1, 0.45))
    div, final, kind, three = draw(val(1.5, 50.0)), draw(val(1.5, 1e4)), draw(st.sampled_from(["cos", "linear"])), \
        draw(maybe)
    p = dict(total_steps=n, peak_value=peak, pct_start=pct, div_factor=div, final_div_factor=final)
    kw = dict(max_lr=peak, total_steps=n, pct_start=pct, div_factor=div, final_div_factor=final,
              anneal_strategy=kind, three_phase=three)
    if draw(maybe):  # epochs * steps_per_epoch instead of total_steps
        kw.update(total_steps=None, epochs=1, steps_per_epoch=n)
    return kw, lambda t: ref_one_cycle(t, p, kind, three)


@spec("torch.OneCycleMomentum", call(tc.OneCycleMomentum), {"total_steps": num(0, optional=True),
                                                            "pct_start": num(1.5), "base_momentum": num(),
                                                            "max_momentum": num(), "three_phase": FLAG})
def _(draw):
    n, lo, hi, pct = draw(st.integers(20, 500)), draw(val(0.5, 0.9)), draw(val(0.9, 0.99)), draw(
        f32(0.1, 0.45))
    kind, three = draw(st.sampled_from(["cos", "linear"])), draw(maybe)
    ends = [float(np.float32(pct)) * n - 1] + ([2 * float(np.float32(pct)) * n - 2] if three else []) + [n - 1.0]
    return dict(total_steps=n, pct_start=pct, base_momentum=lo, max_momentum=hi, anneal_strategy=kind,
                three_phase=three), lambda t: _phases(t, n, ends, [hi, lo, hi] + ([hi] if three else []), kind)


@spec("torch.SequentialLR", call(tc.SequentialLR), {"schedulers": [[0.1], "x", None, []],
                                                    "milestones": [{3}, "ab", [1, None]]})
def _(draw):
    schedules, bounds, ref = draw(pieces())
    return dict(schedulers=schedules, milestones=bounds), ref


def _torch_plateau_args(draw):
    """torch's ReduceLROnPlateau arguments (transformers' plateau takes the same) and 12 metrics."""
    base = draw(val(0.01, 1.0))
    kw = dict(base_lr=base, factor=draw(val(0.1, 0.9)), patience=draw(st.integers(0, 3)),
              threshold=draw(st.sampled_from([0.0, 1e-4, 0.01])), threshold_mode=draw(st.sampled_from(["rel", "abs"])),
              mode=draw(st.sampled_from(["min", "max"])), cooldown=draw(st.integers(0, 2)),
              min_lr=draw(st.sampled_from([0.0, 1e-4])), eps=1e-8)
    metrics = draw(st.lists(st.sampled_from([1.0, 0.9, 0.8, 1.1, 0.5]), min_size=12, max_size=12))
    return kw, (base, metrics)


@spec("torch.ReduceLROnPlateau", call(tc.ReduceLROnPlateau),
      {"base_lr": num(), "mode": choice(), "factor": num(1.0, -0.5), "patience": count(-1), "threshold": num(),
       "threshold_mode": choice(), "cooldown": count(-1), "min_lr": num(-1.0), "eps": num()},
      check=lambda built, kw, ref: _check_plateau(built, dict(kw, min_value=kw["min_lr"]), ref))
def _(draw):
    return _torch_plateau_args(draw)


# ---------------------------------------------------------------- compat.optax


@spec("optax.constant_schedule", call(ox.constant_schedule), {"value": num()})
def _(draw):
    v = draw(val(-2.0))
    return dict(value=v), lambda t: np.full(t.shape, v)


@spec("optax.linear_schedule", call(ox.linear_schedule), {"init_value": num(), "end_value": num(),
                                                          "transition_steps": num(), "transition_begin": num()})
def _(draw):
    a, b, n, s = draw(val()), draw(val()), draw(steps), draw(steps0)
    return dict(init_value=a, end_value=b, transition_steps=n, transition_begin=s), \
        lambda t: a + (b - a) * clip01(np.maximum(t - s, 0) / n)


@spec("optax.polynomial_schedule", call(ox.polynomial_schedule), {"init_value": num(), "power": num(),
                                                                  "transition_steps": num(), "transition_begin": num()})
def _(draw):
    a, b, pw, n, s = draw(val()), draw(val()), draw(val(0.3, 3.0)), draw(steps), draw(steps0)
    return dict(init_value=a, end_value=b, power=pw, transition_steps=n, transition_begin=s), \
        lambda t: b + (a - b) * (1 - clip01(np.maximum(t - s, 0) / n)) ** pw


@spec("optax.cosine_decay_schedule", call(ox.cosine_decay_schedule), {"init_value": num(), "decay_steps": num(0),
                                                                      "alpha": num(), "exponent": num()})
def _(draw):
    a, n, al, e = draw(val()), draw(steps), draw(val(0.0, 1.0)), draw(val(0.5, 3.0))
    return dict(init_value=a, decay_steps=n, alpha=al, exponent=e), \
        lambda t: a * ((1 - al) * cos01(clip01(t / n)) ** e + al)


@spec("optax.exponential_decay", call(ox.exponential_decay), {"init_value": num(), "transition_steps": num(),
                                                              "decay_rate": num(), "transition_begin": num(),
                                                              "staircase": FLAG, "end_value": num(optional=True)})
def _(draw):
    a, n, r, s, stair = draw(val()), draw(st.integers(1, 50)), draw(val(0.5, 0.99)), draw(steps0), draw(maybe)
    end = draw(st.none() | val(0.001, 0.5))

    def ref(t):
        x = np.maximum(t - s, 0) / n
        v = a * r ** (np.floor(x) if stair else x)
        return v if end is None else np.maximum(v, end)
    return dict(init_value=a, transition_steps=n, decay_rate=r, transition_begin=s, staircase=stair,
                end_value=end), ref


@st.composite
def _scales(draw):
    marks = draw(sorted_ints(1, 3, 1, 400, strict=True))
    return {m: draw(val(0.1, 2.0)) for m in marks}


@spec("optax.piecewise_constant_schedule", call(ox.piecewise_constant_schedule),
      {"init_value": num(), "boundaries_and_scales": [{3: "x"}, [1, 2], {3: -0.5}]})
def _(draw):
    a, d = draw(val()), draw(_scales())

    def ref(t):
        out = np.full(t.shape, a)
        for m, sc in d.items():
            out = out * np.where(t >= m, sc, 1.0)
        return out
    return dict(init_value=a, boundaries_and_scales=d), ref


@spec("optax.piecewise_interpolate_schedule", call(ox.piecewise_interpolate_schedule),
      {"interpolate_type": [1, "quadratic", None], "init_value": num(), "boundaries_and_scales": [{-2: 0.5}, [3]]})
def _(draw):
    kind, a, d = draw(st.sampled_from(["linear", "cosine"])), draw(val()), draw(_scales())
    marks = [0] + list(d)
    values = [a]
    for sc in d.values():
        values.append(values[-1] * sc)

    return (dict(interpolate_type=kind, init_value=a, boundaries_and_scales=d),
            lambda t: interpolated(t, marks, values, kind))


@spec("optax.linear_onecycle_schedule", call(ox.linear_onecycle_schedule),
      {"transition_steps": num(0), "peak_value": num(), "pct_start": num(), "pct_final": num(),
       "div_factor": num(), "final_div_factor": num()})
def _(draw):
    n, peak, div, final = draw(st.integers(50, 400)), draw(val()), draw(val(2.0, 50.0)), draw(val(2.0, 1e4))
    a, b = draw(st.integers(5, 40)), draw(st.integers(50, 95))  # pct_start, pct_final in percent: no int() ties
    ps, pf = a / 100 + 0.003, b / 100 + 0.003
    marks = [0, int(ps * n), int(pf * n), n]
    values = [peak / div, peak, peak / div, peak / (div * final)]
    return dict(transition_steps=n, peak_value=peak, pct_start=ps, pct_final=pf, div_factor=div,
                final_div_factor=final), lambda t: interpolated(t, marks, values, "linear")


@spec("optax.cosine_onecycle_schedule", call(ox.cosine_onecycle_schedule),
      {"transition_steps": num(0), "peak_value": num(), "pct_start": num(), "div_factor": num(),
       "final_div_factor": num()})
def _(draw):
    n, peak, div, final = draw(st.integers(50, 400)), draw(val()), draw(val(2.0, 50.0)), draw(val(2.0, 1e4))
    ps = draw(st.integers(5, 90)) / 100 + 0.003
    marks, values = [0, int(ps * n), n], [peak / div, peak, peak / (div * final)]
    return dict(transition_steps=n, peak_value=peak, pct_start=ps, div_factor=div, final_div_factor=final), \
        lambda t: interpolated(t, marks, values, "cosine")


@spec("optax.join_schedules", call(ox.join_schedules), {"schedules": SCHED + [[]], "boundaries": SEQ + [[-3]]})
def _(draw):
    schedules, bounds, ref = draw(pieces())
    return dict(schedules=schedules, boundaries=bounds), ref


@spec("optax.warmup_constant_schedule", call(ox.warmup_constant_schedule),
      {"init_value": num(), "peak_value": num(), "warmup_steps": num()})
def _(draw):
    a, p, w = draw(val()), draw(val()), draw(steps0)
    # optax: a linear_schedule over 0 steps is its init_value (polynomial_schedule's transition_steps <= 0)
    return dict(init_value=a, peak_value=p, warmup_steps=w), lambda t: a + (p - a) * (clip01(t / w) if w else 0 * t)


def _ox_warmup_cosine(a, p, w, d, e, ex=1.0):
    def ref(t):
        up = a + (p - a) * ramp(t, w)
        down = e + (p - e) * cos01(clip01((t - w) / (d - w))) ** ex
        return np.where(t < w, up, down)
    return ref


@spec("optax.warmup_cosine_decay_schedule", call(ox.warmup_cosine_decay_schedule),
      {"init_value": num(), "peak_value": num(), "warmup_steps": num(-1), "decay_steps": num(),
       "end_value": num(), "exponent": num()})
def _(draw):
    a, p, w, extra, e, ex = draw(val()), draw(val()), draw(steps0), draw(steps), draw(val()), draw(val(0.5, 3.0))
    return dict(init_value=a, peak_value=p, warmup_steps=w, decay_steps=w + extra, end_value=e, exponent=ex), \
        _ox_warmup_cosine(a, p, w, w + extra, e, ex)


@spec("optax.warmup_exponential_decay_schedule", call(ox.warmup_exponential_decay_schedule),
      {"init_value": num(), "peak_value": num(), "warmup_steps": num(-1), "transition_steps": num(),
       "decay_rate": num(), "staircase": FLAG, "end_value": num(optional=True)})
def _(draw):
    a, p, w, n, r, stair = draw(val()), draw(val()), draw(steps0), draw(st.integers(1, 50)), draw(val(0.5, 0.99)), \
        draw(maybe)

    def ref(t):
        x = np.maximum(t - w, 0) / n
        return np.where(t < w, a + (p - a) * ramp(t, w), p * r ** (np.floor(x) if stair else x))
    return dict(init_value=a, peak_value=p, warmup_steps=w, transition_steps=n, decay_rate=r, staircase=stair), ref


@spec("optax.sgdr_schedule", call(ox.sgdr_schedule), {"cosine_kwargs": [[], "x", [{"init_value": "x"}], None]})
def _(draw):
    a, p, w, e = draw(val()), draw(val()), draw(st.integers(0, 20)), draw(val())
    ds = draw(st.lists(st.integers(25, 200), min_size=1, max_size=3))
    kwargs = [dict(init_value=a, peak_value=p, warmup_steps=w, decay_steps=d, end_value=e) for d in ds]
    bounds = list(np.cumsum(ds)[:-1])
    return dict(cosine_kwargs=kwargs), _join_ref([_ox_warmup_cosine(a, p, w, d, e) for d in ds], bounds)


# --------------------------------------------------------------- compat.fastai


def _per_step(f, n):
    return lambda t: f(np.minimum(t, n - 1) / n)


#: Bad per-parameter-group values (fastai's discriminative rates): a bad entry, or no group at all.
GROUP_BAD = [[0.1, "x"], [0.1, float("nan")], (True, 0.1), [0.1, None], [], np.array([0.1, np.inf]), [0.1, 1 + 2j],
             [[0.1], "x"]]


def _check_groups(built, kw, ref):
    """One schedule equal to its reference, or (per-group values) a list of schedules, one per parameter group,
    each equal to its group's float64 reference."""
    if isinstance(ref, list):
        assert isinstance(built, list) and len(built) == len(ref), (built, len(ref))
        for schedule, group_ref in zip(built, ref):
            assert isinstance(schedule, lrsched.Schedule), schedule
            values_equal(schedule, group_ref)
    else:
        assert isinstance(built, lrsched.Schedule), built
        values_equal(built, ref)


def _grouped_args(draw, strategies):
    """Arguments of fastai's schedules of pos: single numbers, or one per parameter group in every form fastai
    takes (a list, a tuple, a 1-d array; a single number or a one-entry list broadcast to every group), at least
    one argument per group. Returns (kwargs, n_groups or None, per_group): per_group[name][g] the float of
    group g."""
    n = draw(st.sampled_from([None, 1, 2, 3]))
    per_group = {k: [draw(s) for _ in range(n or 1)] for k, s in strategies.items()}
    if n is None:
        return {k: v[0] for k, v in per_group.items()}, None, per_group
    forms = {k: draw(st.sampled_from(["list", "tuple", "array", "one", "number"])) for k in strategies}
    if all(f in ("one", "number") for f in forms.values()):
        forms[draw(st.sampled_from(sorted(forms)))] = "list"
    kwargs = {}
    for k, form in forms.items():
        v = per_group[k]
        if form in ("one", "number"):
            v = per_group[k] = [v[0]] * n
        kwargs[k] = {"list": list(v), "tuple": tuple(v), "array": np.array(v), "one": [v[0]], "number": v[0]}[form]
    return kwargs, n, per_group


def _groups_ref(n, per_group, make):
    """make(**one group's floats): the reference, or a list of them (one per group) for per-group arguments."""
    if n is None:
        return make(**{k: v[0] for k, v in per_group.items()})
    return [make(**{k: v[g] for k, v in per_group.items()}) for g in range(n)]


_POS = {"SchedLin": lambda s, e: lambda p: s + p * (e - s),
        "SchedCos": lambda s, e: lambda p: s + (1 + np.cos(np.pi * (1 - p))) * (e - s) / 2,
        "SchedNo": lambda s, e: lambda p: s + 0 * p,
        "SchedExp": lambda s, e: lambda p: s * (e / s) ** p}


def _pos_schedule(name):
    """fastai's schedules of pos (one per group for per-group values), evaluated per step through per_step:
    ((kwargs, total_steps), reference)."""
    def draw_fn(draw):
        kwargs, groups, per_group = _grouped_args(draw, {"start": val(), "end": val()})
        n = draw(steps)
        return (kwargs, n), _groups_ref(groups, per_group, lambda start, end: _per_step(_POS[name](start, end), n))
    bad = {"start": num() + GROUP_BAD, "end": num(-1.0, [1.0, -1.0]) if name == "SchedExp" else num() + GROUP_BAD}
    spec(f"fastai.{name}", lambda kw: fa.per_step(getattr(fa, name)(**kw[0]), kw[1]), bad, _check_groups)(draw_fn)


for _name in _POS:
    _pos_schedule(_name)


@spec("fastai.SchedPoly", lambda kw: fa.per_step(fa.SchedPoly(**kw[0]), kw[1]),
      {"start": num() + GROUP_BAD, "end": num() + GROUP_BAD, "power": num(0, [1.0, 0.0]) + GROUP_BAD}, _check_groups)
def _(draw):
    kwargs, groups, per_group = _grouped_args(draw, {"start": val(), "end": val(), "power": val(0.3, 3.0)})
    n = draw(steps)
    return (kwargs, n), _groups_ref(groups, per_group,
                                    lambda start, end, power: _per_step(lambda p: start + (end - start) * p**power, n))


def _combined(pos, pct, a, b, c):
    first = a + (1 + np.cos(np.pi * (1 - np.clip(pos / pct, 0, 1)))) * (b - a) / 2
    second = b + (1 + np.cos(np.pi * (1 - (pos - pct) / (1 - pct)))) * (c - b) / 2
    return np.where(pos < pct, first, second)


@spec("fastai.combined_cos", lambda kw: fa.per_step(fa.combined_cos(**kw[0]), kw[1]),
      {"pct": num(), "start": num() + GROUP_BAD, "middle": num() + GROUP_BAD, "end": num() + GROUP_BAD},
      _check_groups)
def _(draw):
    kwargs, groups, per_group = _grouped_args(draw, {"start": val(), "middle": val(), "end": val()})
    pct, n = draw(frac), draw(steps)
    return (dict(pct=pct, **kwargs), n), _groups_ref(
        groups, per_group, lambda start, middle, end: _per_step(lambda p: _combined(p, pct, start, middle, end), n))


_A = fa.SchedLin(0.0, 1.0)


@spec("fastai.combine_scheds", lambda kw: fa.per_step(fa.combine_scheds(**kw[0]), kw[1]),
      {"pcts": SEQ + [[0.2, 0.2]],
       "scheds": SCHED + [(_A, 0.1), [[_A, "x"], _A], [[], _A], [[_A, _A], [_A, _A, _A]], [(_A, _A), _A]]},
      _check_groups)
def _(draw):
    # pieces of pos given per parameter group (SchedLin/SchedCos of per-group values are lists) or not
    kwargs, groups, per_group = _grouped_args(draw, {"a": val(), "b": val(), "c": val()})
    pct, n = draw(frac), draw(steps)
    scheds = [fa.SchedLin(kwargs["a"], kwargs["b"]), fa.SchedCos(kwargs["b"], kwargs["c"])]

    def make(a, b, c):
        def f(pos):
            return np.where(pos < pct, a + np.clip(pos / pct, 0, 1) * (b - a),
                            b + (1 + np.cos(np.pi * (1 - (pos - pct) / (1 - pct)))) * (c - b) / 2)
        return _per_step(f, n)
    return (dict(pcts=[pct, 1 - pct], scheds=scheds), n), _groups_ref(groups, per_group, make)


@spec("fastai.per_step", call(fa.per_step),
      {"schedule": [0.1, "x", None, [], [_A, "x"], (_A, _A), [[_A]]], "total_steps": num(0)}, _check_groups)
def _(draw):
    kwargs, groups, per_group = _grouped_args(draw, {"a": val(), "b": val()})
    n = draw(steps)
    return dict(schedule=fa.SchedLin(kwargs["a"], kwargs["b"]), total_steps=n), _groups_ref(
        groups, per_group, lambda a, b: _per_step(lambda p: a + p * (b - a), n))


#: Bad learning rates for fastai's fit_* schedules: bad numbers, bad per-group values, bad slices.
RATE_BAD = num() + GROUP_BAD + [slice(None), slice(1e-5, float("nan")), slice("a", 1e-3), slice(True, 1e-3),
                                slice(-1e-5, 1e-3), slice(1e-3, None), slice(1e-5, -1e-3)]
N_GROUPS_BAD = [0, -1, 2.5, "3", True]


def _rates(draw, name):
    """A learning rate as fastai's fit_* take it: a number; one per parameter group (a list, a tuple, an array);
    a number for every one of n_groups; fastai's slice(lo, hi) (even_mults) or slice(hi) over n_groups.
    Returns (kwargs, rates): the float64 rate of each group, or a single float for a single schedule."""
    form = draw(st.sampled_from(["number", "list", "tuple", "array", "number_n", "slice", "slice_hi"]))
    if form == "number":
        lr = draw(val())
        return {name: lr}, lr
    n = draw(st.integers(1, 4))
    if form in ("list", "tuple", "array"):
        rates = [draw(val()) for _ in range(n)]
        return {name: {"list": list, "tuple": tuple, "array": np.array}[form](rates)}, rates
    if form == "number_n":
        lr = draw(val())
        return {name: lr, "n_groups": n}, [lr] * n
    hi = draw(val(1e-3, 1.0))
    if form == "slice_hi":  # fastai: [hi / 10] * (n - 1) + [hi]
        return {name: slice(hi), "n_groups": n}, [hi / 10] * (n - 1) + [hi]
    lo = draw(val(1e-5, 1e-3))
    if n == 1:  # fastcore's even_mults(lo, hi, 1) is [hi]
        return {name: slice(lo, hi), "n_groups": n}, [hi]
    step = (hi / lo) ** (1 / (n - 1))  # fastcore's even_mults, in float64
    return {name: slice(lo, hi), "n_groups": n}, [lo * step**i for i in range(n)]


def _for_rates(rates, make):
    return [make(r) for r in rates] if isinstance(rates, list) else make(rates)


@spec("fastai.one_cycle", call(fa.one_cycle), {"total_steps": num(0), "lr_max": RATE_BAD, "div": num(),
                                               "div_final": num(), "pct_start": num(1.5), "n_groups": N_GROUPS_BAD},
      _check_groups)
def _(draw):
    (kwargs, rates), n = _rates(draw, "lr_max"), draw(steps)
    div, final, pct = draw(val(2.0, 50.0)), draw(val(2.0, 1e5)), draw(frac)
    return dict(total_steps=n, div=div, div_final=final, pct_start=pct, **kwargs), \
        _for_rates(rates, lambda lr: _per_step(lambda p: _combined(p, pct, lr / div, lr, lr / final), n))


@spec("fastai.one_cycle_momentum", call(fa.one_cycle_momentum), {"total_steps": num(0), "pct_start": num(-0.5),
                                                                 "moms": SEQ + [(0.9, 0.8)]})
def _(draw):
    n, pct, moms = draw(steps), draw(frac), draw(st.tuples(val(0.8, 1.0), val(0.5, 0.9), val(0.8, 1.0)))
    return dict(total_steps=n, pct_start=pct, moms=moms), _per_step(lambda p: _combined(p, pct, *moms), n)


def _check_fit(built, kw, ref):
    assert set(built) == {"lr", "mom"}
    _check_groups(built["lr"], kw, ref[0])
    values_equal(built["mom"], ref[1])


@spec("fastai.fit_one_cycle", call(fa.fit_one_cycle), {"total_steps": num(0), "lr_max": RATE_BAD,
                                                       "pct_start": num(2.0), "moms": SEQ, "n_groups": N_GROUPS_BAD},
      check=_check_fit)
def _(draw):
    (kwargs, rates), n, pct = _rates(draw, "lr_max"), draw(steps), draw(frac)
    return dict(total_steps=n, pct_start=pct, **kwargs), (
        _for_rates(rates, lambda lr: _per_step(lambda p: _combined(p, pct, lr / 25.0, lr, lr / 1e5), n)),
        _per_step(lambda p: _combined(p, pct, 0.95, 0.85, 0.95), n))


@spec("fastai.flat_cos", call(fa.flat_cos), {"total_steps": num(0), "lr": RATE_BAD, "div_final": num(),
                                             "pct_start": num(1.5), "n_groups": N_GROUPS_BAD}, _check_groups)
def _(draw):
    (kwargs, rates), n = _rates(draw, "lr"), draw(steps)
    final, pct = draw(val(2.0, 1e5)), draw(frac)
    return dict(total_steps=n, div_final=final, pct_start=pct, **kwargs), \
        _for_rates(rates, lambda lr: _per_step(lambda p: _combined(p, pct, lr, lr, lr / final), n))


@spec("fastai.sgdr", call(fa.sgdr), {"n_cycles": [0, 2.5, "3", None, True], "cycle_len": num(0), "lr_max": RATE_BAD,
                                     "cycle_mult": num(0.5), "steps_per_epoch": num(0), "n_groups": N_GROUPS_BAD},
      _check_groups)
def _(draw):
    nc, length, spe = draw(st.integers(1, 3)), draw(st.integers(1, 6)), draw(st.integers(1, 20))
    kwargs, rates = _rates(draw, "lr_max")
    epochs = length * nc
    total = epochs * spe
    cum = np.arange(nc + 1) * (length / epochs)  # equal cycles (cycle_mult=1): no float ties at restarts

    def make(lr):
        def f(pos):
            i = np.minimum((pos[:, None] >= cum[None, :-1]).sum(1) - 1, nc - 1)
            local = (pos - cum[i]) / (cum[i + 1] - cum[i])
            return lr + (1 + np.cos(np.pi * (1 - local))) * (0.0 - lr) / 2
        return _per_step(f, total)
    return dict(n_cycles=nc, cycle_len=length, cycle_mult=1, steps_per_epoch=spe, **kwargs), _for_rates(rates, make)


# --------------------------------------------------------- compat.transformers


def _hf_lambda(function, base, **kw):
    """transformers' own lr_lambda for a schedule (float64 Python: the anchor's formula), times base_lr."""
    import transformers.optimization as o

    fn = getattr(o, function)
    return lambda t: np.array([base * fn(int(x), **kw) for x in t])


_HF_BAD = {"base_lr": num(), "num_warmup_steps": num(-1)}


@spec("transformers.get_constant_schedule", call(hf.get_constant_schedule), {"base_lr": num()})
def _(draw):
    b = draw(val())
    return dict(base_lr=b), lambda t: np.full(t.shape, b)


@spec("transformers.get_constant_schedule_with_warmup", call(hf.get_constant_schedule_with_warmup), _HF_BAD)
def _(draw):
    b, w = draw(val()), draw(steps0)
    return dict(base_lr=b, num_warmup_steps=w), _hf_lambda("_get_constant_schedule_with_warmup_lr_lambda", b,
                                                           num_warmup_steps=w)


def _hf_args(draw):
    b, w, extra = draw(val()), draw(steps0), draw(steps)
    return b, w, w + extra


@spec("transformers.get_linear_schedule_with_warmup", call(hf.get_linear_schedule_with_warmup),
      {**_HF_BAD, "num_training_steps": num(-1)})
def _(draw):
    b, w, n = _hf_args(draw)
    return dict(base_lr=b, num_warmup_steps=w, num_training_steps=n), _hf_lambda(
        "_get_linear_schedule_with_warmup_lr_lambda", b, num_warmup_steps=w, num_training_steps=n)


@spec("transformers.get_cosine_schedule_with_warmup", call(hf.get_cosine_schedule_with_warmup),
      {**_HF_BAD, "num_training_steps": num(), "num_cycles": num()})
def _(draw):
    b, w, n = _hf_args(draw)
    c = draw(val(0.1, 3.0))
    return dict(base_lr=b, num_warmup_steps=w, num_training_steps=n, num_cycles=c), _hf_lambda(
        "_get_cosine_schedule_with_warmup_lr_lambda", b, num_warmup_steps=w, num_training_steps=n, num_cycles=c)


@spec("transformers.get_cosine_with_hard_restarts_schedule_with_warmup",
      call(hf.get_cosine_with_hard_restarts_schedule_with_warmup),
      {**_HF_BAD, "num_training_steps": num(), "num_cycles": num()})
def _(draw):
    b, w, n = _hf_args(draw)
    c = draw(st.integers(1, 4))
    return dict(base_lr=b, num_warmup_steps=w, num_training_steps=n, num_cycles=c), _hf_lambda(
        "_get_cosine_with_hard_restarts_schedule_with_warmup_lr_lambda", b, num_warmup_steps=w,
        num_training_steps=n, num_cycles=c)


@spec("transformers.get_polynomial_decay_schedule_with_warmup",
      call(hf.get_polynomial_decay_schedule_with_warmup),
      {**_HF_BAD, "num_training_steps": num(), "lr_end": num(), "power": num(0)})
def _(draw):
    b, w, n = _hf_args(draw)
    end, pw = draw(val(0.0, 0.04)), draw(val(0.3, 3.0))
    return dict(base_lr=b, num_warmup_steps=w, num_training_steps=n, lr_end=end, power=pw), _hf_lambda(
        "_get_polynomial_decay_schedule_with_warmup_lr_lambda", b, num_warmup_steps=w, num_training_steps=n,
        lr_end=end, power=pw, lr_init=b)


@spec("transformers.get_inverse_sqrt_schedule", call(hf.get_inverse_sqrt_schedule),
      {**_HF_BAD, "timescale": num(0, optional=True)})
def _(draw):
    b, w, ts = draw(val()), draw(steps0), draw(st.integers(1, 200))
    return dict(base_lr=b, num_warmup_steps=w, timescale=ts), _hf_lambda(
        "_get_inverse_sqrt_schedule_lr_lambda", b, num_warmup_steps=w, timescale=ts)


@spec("transformers.get_cosine_with_min_lr_schedule_with_warmup",
      call(hf.get_cosine_with_min_lr_schedule_with_warmup),
      {**_HF_BAD, "num_training_steps": num(), "num_cycles": num(), "min_lr_rate": num(optional=True)})
def _(draw):
    b, w, n = _hf_args(draw)
    c, r = draw(val(0.1, 1.0)), draw(val(0.0, 0.5))
    return dict(base_lr=b, num_warmup_steps=w, num_training_steps=n, num_cycles=c, min_lr_rate=r), _hf_lambda(
        "_get_cosine_schedule_with_warmup_lr_lambda", b, num_warmup_steps=w, num_training_steps=n, num_cycles=c,
        min_lr_rate=r)


@spec("transformers.get_cosine_with_min_lr_schedule_with_warmup_lr_rate",
      call(hf.get_cosine_with_min_lr_schedule_with_warmup_lr_rate),
      {**_HF_BAD, "num_training_steps": num(), "num_cycles": num(), "min_lr_rate": num(optional=True),
       "warmup_lr_rate": num(optional=True)})
def _(draw):
    b, w, n = _hf_args(draw)
    c, r, wr = draw(val(0.1, 1.0)), draw(val(0.0, 0.5)), draw(st.none() | val(0.0, 0.5))
    return dict(base_lr=b, num_warmup_steps=w, num_training_steps=n, num_cycles=c, min_lr_rate=r,
                warmup_lr_rate=wr), _hf_lambda("_get_cosine_with_min_lr_schedule_with_warmup_lr_rate_lambda", b,
                                               num_warmup_steps=w, num_training_steps=n, num_cycles=c, min_lr_rate=r,
                                               warmup_lr_rate=wr)


_SHAPES = ["linear", "cosine", "1-sqrt"]


@spec("transformers.get_wsd_schedule", call(hf.get_wsd_schedule),
      {**_HF_BAD, "num_decay_steps": num(-1), "warmup_type": choice(), "decay_type": choice(),
       "min_lr_ratio": num(), "num_cycles": num()})
def _(draw):
    b, w, d, s = draw(val()), draw(steps0), draw(steps0), draw(steps0)
    wt, dt, r, c = draw(st.sampled_from(_SHAPES)), draw(st.sampled_from(_SHAPES)), draw(val(0.0, 0.5)), draw(
        val(0.25, 1.0))
    return dict(base_lr=b, num_warmup_steps=w, num_decay_steps=d, num_stable_steps=s, warmup_type=wt, decay_type=dt,
                min_lr_ratio=r, num_cycles=c), _hf_lambda(
        "_get_wsd_scheduler_lambda", b, num_warmup_steps=w, num_stable_steps=s, num_decay_steps=d, warmup_type=wt,
        decay_type=dt, min_lr_ratio=r, num_cycles=c)


@spec("transformers.get_scheduler", call(hf.get_scheduler),
      {"name": ["nope", None, 3], "base_lr": num(), "num_warmup_steps": num(-1, optional=True),
       "num_training_steps": num(optional=True)})
def _(draw):
    b, w, n = _hf_args(draw)
    name = draw(st.sampled_from(["linear", "cosine", "constant_with_warmup", "polynomial"]))
    fn = {"linear": "_get_linear_schedule_with_warmup_lr_lambda",
          "cosine": "_get_cosine_schedule_with_warmup_lr_lambda",
          "constant_with_warmup": "_get_constant_schedule_with_warmup_lr_lambda",
          "polynomial": "_get_polynomial_decay_schedule_with_warmup_lr_lambda"}[name]
    extra = {"cosine": dict(num_training_steps=n, num_cycles=0.5), "linear": dict(num_training_steps=n),
             "constant_with_warmup": {}, "polynomial": dict(num_training_steps=n, lr_end=1e-7, power=1.0, lr_init=b)}
    kw = dict(name=name, base_lr=b, num_warmup_steps=w) | ({} if name == "constant_with_warmup"
                                                           else dict(num_training_steps=n))
    return kw, _hf_lambda(fn, b, num_warmup_steps=w, **extra[name])


def _metrics_run(built, metrics):
    return np.asarray(_PLATEAU_RUN(built, jnp.asarray(metrics)), np.float64)


def _check_hf_plateau(built, kw, ref):
    base, metrics = ref
    want = _torch_plateau(metrics, base, *(kw[k] for k in ("factor", "patience", "threshold", "threshold_mode",
                                                           "mode", "cooldown", "min_lr", "eps")))
    np.testing.assert_allclose(_metrics_run(built, metrics), want, rtol=1e-5, atol=1e-9)


@spec("transformers.get_reduce_on_plateau_schedule", call(hf.get_reduce_on_plateau_schedule),
      {"base_lr": num(), "factor": num(1.0, -0.1), "patience": count(-1), "threshold": num(-0.1),
       "threshold_mode": choice(), "mode": choice(), "cooldown": count(-1), "min_lr": num(-1.0), "eps": num(-1.0),
       "verbose": [True]}, check=_check_hf_plateau)
def _(draw):
    return _torch_plateau_args(draw)


def _check_greedy(built, kw, ref):
    """Against the installed transformers' GreedyLR (torch float64), metric by metric."""
    torch = pytest.importorskip("torch")
    transformers = pytest.importorskip("transformers")
    base, metrics = ref
    param = torch.nn.Parameter(torch.zeros(1, dtype=torch.float64))
    opt = torch.optim.SGD([param], lr=base)
    sched = transformers.get_scheduler("greedy", opt, scheduler_specific_kwargs={
        k: v for k, v in kw.items() if k != "base_lr"})
    want = []
    for m in metrics:
        sched.step(m)
        want.append(opt.param_groups[0]["lr"])
    np.testing.assert_allclose(_metrics_run(built, metrics), want, rtol=1e-5, atol=1e-12)


@spec("transformers.get_greedy_schedule", call(hf.get_greedy_schedule),
      {"base_lr": num(), "factor": num(1.5, 0.0), "patience": count(-1), "threshold": num(), "mode": choice(),
       "threshold_mode": choice(), "cooldown": count(-1), "warmup": count(-1), "min_lr": num([0.1, 0.2]),
       "max_lr": num(), "eps": num(), "smooth": FLAG, "window_size": [0, 2.5, "3", None, True],
       "reset_start": count(-1), "nope": [1]}, check=_check_greedy)
def _(draw):
    base = draw(val(0.01, 0.1))
    kw = dict(base_lr=base, mode=draw(st.sampled_from(["min", "max"])), factor=draw(val(0.3, 0.9)),
              patience=draw(st.integers(0, 3)), threshold=draw(st.sampled_from([0.0, 1e-6, 0.01])),
              threshold_mode=draw(st.sampled_from(["rel", "abs"])), cooldown=draw(st.integers(0, 2)),
              warmup=draw(st.integers(0, 2)), min_lr=draw(st.sampled_from([1e-6, 1e-4])),
              max_lr=draw(st.sampled_from([0.5, 1.0])), smooth=draw(maybe), window_size=draw(st.integers(1, 5)),
              reset_start=draw(st.integers(0, 5)))
    metrics = draw(st.lists(st.sampled_from([1.0, 0.9, 0.8, 1.1, 0.5, 2.0]), min_size=12, max_size=12))
    return kw, (base, metrics)


# ----------------------------------------------------------------- compat.timm


_TIMM_BAD = {"base_lr": num(), "warmup_t": num(-1), "warmup_lr_init": num(), "warmup_prefix": FLAG,
             "noise_pct": num(), "noise_seed": count()}


def _timm_cycles(draw):
    return dict(base_lr=draw(val()), t_initial=draw(st.integers(5, 100)), lr_min=draw(val(0.0, 0.04)),
                cycle_mul=draw(st.sampled_from([1.0, 2.0, 1.5])), cycle_decay=draw(val(0.5, 1.0)),
                cycle_limit=draw(st.integers(1, 4)), warmup_t=draw(st.integers(0, 30)),
                warmup_lr_init=draw(val(0.0, 0.01)), warmup_prefix=draw(maybe))


_CYCLE_BAD = {**_TIMM_BAD, "t_initial": num(0), "lr_min": num(-1.0), "cycle_mul": num(0.5), "cycle_decay": num(-1.0),
              "cycle_limit": num(-1)}


@spec("timm.cosine", call(timm.cosine), {**_CYCLE_BAD, "k_decay": num()})
def _(draw):
    kw = dict(_timm_cycles(draw), k_decay=draw(val(0.5, 2.0)))
    return kw, lambda t: ref_timm("cosine", kw["warmup_prefix"])(t, kw)


@spec("timm.tanh", call(timm.tanh), {**_CYCLE_BAD, "lb": num(), "ub": num()})
def _(draw):
    kw = _timm_cycles(draw)  # lb, ub: timm's defaults (tests/cases.py's reference)
    if kw["warmup_t"] and not kw["warmup_prefix"]:
        kw["warmup_prefix"] = True  # tanh ramps to the unshifted main schedule otherwise (test_compat_timm.py)
    return kw, lambda t: ref_timm("tanh", kw["warmup_prefix"])(t, kw)


@spec("timm.poly", call(timm.poly), {**_CYCLE_BAD, "power": num(), "k_decay": num()})
def _(draw):
    kw = dict(_timm_cycles(draw), power=draw(val(0.3, 3.0)), k_decay=draw(val(0.5, 2.0)))
    return kw, lambda t: ref_timm("poly", kw["warmup_prefix"])(t, kw)


@spec("timm.step", call(timm.step), {**_TIMM_BAD, "decay_t": num(0), "decay_rate": num()})
def _(draw):
    kw = dict(base_lr=draw(val()), decay_t=draw(st.integers(1, 100)), decay_rate=draw(val(0.1, 1.0)),
              warmup_t=draw(st.integers(0, 30)), warmup_lr_init=draw(val(0.0, 0.01)), warmup_prefix=draw(maybe))
    return kw, lambda t: ref_timm("step", kw["warmup_prefix"])(t, kw)


@spec("timm.multistep", call(timm.multistep), {**_TIMM_BAD, "decay_t": SEQ, "decay_rate": num()})
def _(draw):
    kw = dict(base_lr=draw(val()), decay_t=draw(sorted_ints(1, 3, 1, 400)), decay_rate=draw(val(0.1, 1.0)),
              warmup_t=draw(st.integers(0, 30)), warmup_lr_init=draw(val(0.0, 0.01)), warmup_prefix=draw(maybe))
    return kw, lambda t: ref_timm("multistep", kw["warmup_prefix"])(t, {**kw, "decay_t": np.asarray(kw["decay_t"])})


def _check_factory(built, kw, ref):
    """timm's create_scheduler_v2 against tests/test_compat_timm.py's float64 re-statement of timm 1.0's factory:
    the schedule and the epoch count it returns."""
    schedule, epochs = built
    want, want_epochs = ref_factory(**{"base": kw["base_lr"], **{k: v for k, v in kw.items() if k != "base_lr"}})
    assert epochs == want_epochs, (epochs, want_epochs)
    values_equal(schedule, lambda t: np.array([want(int(x)) for x in t]))


@spec("timm.create_scheduler_v2", call(timm.create_scheduler_v2),
      {"base_lr": num(), "sched": choice(), "num_epochs": count(), "decay_epochs": num(),
       "decay_milestones": SEQ, "cooldown_epochs": count(), "decay_rate": num(), "min_lr": num(),
       "warmup_lr": num(), "warmup_epochs": num(), "warmup_prefix": FLAG, "cycle_mul": num(), "cycle_decay": num(),
       "cycle_limit": num(), "k_decay": num(), "step_on_epochs": FLAG, "updates_per_epoch": count()},
      check=_check_factory)
def _(draw):
    kw = dict(base_lr=draw(val(0.01, 1.0)),
              sched=draw(st.sampled_from(["cosine", "tanh", "poly", "step", "multistep"])),
              num_epochs=draw(st.integers(5, 60)), warmup_epochs=draw(st.integers(0, 5)),
              warmup_lr=draw(val(0.0, 0.01)), warmup_prefix=draw(maybe), cooldown_epochs=draw(st.integers(0, 5)),
              min_lr=draw(val(0.0, 0.005)), cycle_mul=draw(st.sampled_from([1.0, 1.5, 2.0])),
              cycle_decay=draw(val(0.5, 1.0)), cycle_limit=draw(st.integers(1, 3)), k_decay=draw(val(0.5, 2.0)),
              decay_epochs=draw(st.integers(1, 30)), decay_milestones=draw(sorted_ints(1, 3, 1, 60)))
    kw["decay_rate"] = draw(val(0.5, 3.0)) if kw["sched"] == "poly" else draw(val(0.1, 0.99))
    if not draw(maybe):
        kw.update(step_on_epochs=False, updates_per_epoch=draw(st.integers(1, 10)))
    return kw, None


# ----------------------------------------------------------------------- tests


def _is_pair_kwargs(kw):
    return isinstance(kw, tuple)


def _replace(kw, field, value):
    if _is_pair_kwargs(kw):  # (constructor kwargs, per_step's total_steps)
        return ({**kw[0], field: value}, kw[1])
    return {**kw, field: value}


@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
@settings(max_examples=int(os.environ.get("LRSCHED_FUZZ_EXAMPLES", "10")), deadline=None)
@given(data=st.data())
def test_random_arguments(spec, data):
    kw, ref = data.draw(spec.valid, label="valid arguments")
    if data.draw(st.booleans(), label="make one argument invalid"):
        field = data.draw(st.sampled_from(sorted(spec.bad)), label="field")
        value = data.draw(st.sampled_from(spec.bad[field]), label="bad value")
        with pytest.raises(ScheduleError):
            spec.build(_replace(kw, field, value))
        return
    built = spec.build(kw)
    if spec.check is not None:
        spec.check(built, kw, ref)
    else:
        values_equal(built, ref)


def _public_constructors() -> set[str]:
    names = set()
    for name in dir(lrsched):
        obj = getattr(lrsched, name)
        if inspect.isfunction(obj) and name.islower() and not name.startswith("_") and name not in (
                "evaluate", "to_config", "from_config", "plot"):
            names.add(name)
    for prefix, module in (("torch", tc), ("optax", ox), ("fastai", fa), ("transformers", hf), ("timm", timm)):
        for name in module.__all__:
            if inspect.isfunction(getattr(module, name)):
                names.add(f"{prefix}.{name}")
    return names


def test_every_public_constructor_has_a_spec():
    """A constructor added to lrsched or lrsched.compat must be added to SPECS (with its reference)."""
    covered = {s.name for s in SPECS}
    assert _public_constructors() - covered == set()
    assert len(covered) == len(SPECS)


def test_every_spec_names_bad_values_for_each_argument():
    """The invalid draws cover every argument a constructor checks (its annotated or declared kinds)."""
    for s in SPECS:
        assert s.bad, s.name


def _nodes(schedule):
    """Every schedule node in a built schedule (the classes the factory used), depth first."""
    yield schedule
    for f in dataclasses.fields(schedule):
        value = getattr(schedule, f.name)
        for x in (value if isinstance(value, (list, tuple)) else [value]):
            if isinstance(x, lrsched.Schedule):
                yield from _nodes(x)


def _roots(built):
    """The schedules a constructor returned: fit_one_cycle's {"lr", "mom"}, fastai's one per parameter group,
    timm's factory's (schedule, epochs)."""
    if isinstance(built, dict):
        return tuple(r for v in built.values() for r in _roots(v))
    if isinstance(built, (list, tuple)):  # timm.create_scheduler_v2: (schedule, epochs)
        return tuple(r for v in built for r in _roots(v))
    return (built,) if isinstance(built, lrsched.Schedule) else ()


@pytest.mark.parametrize("spec", SPECS, ids=[s.name for s in SPECS])
@settings(max_examples=1, deadline=None)
@given(data=st.data())
def test_the_classes_check_like_their_factories(spec, data):
    """The public classes (lrsched.Cosine, compat.fastai.PerStep, compat.transformers.CosineRestarts...)
    are constructors too: rebuilding any node of a valid schedule with a string in a number field refuses."""
    from lrsched._core import field_kind
    kw, _ = data.draw(spec.valid, label="valid arguments")
    built = spec.build(kw)
    seen = 0
    for node in (n for root in _roots(built) for n in _nodes(root)):
        for f in dataclasses.fields(node):
            if f.init and field_kind(f).name in ("number", "count", "numbers"):
                with pytest.raises(ScheduleError, match=f.name):
                    dataclasses.replace(node, **{f.name: "x"})
                seen += 1
    assert seen or spec.name in ("add", "mul", "div", "pow"), spec.name  # operands are checked as "operand"
