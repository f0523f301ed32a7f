"""The shared case list: (schedule factory, parameters, alternative parameters,
independent float64 numpy reference).

Every case is checked under jit, under vmap over each of its numeric parameters
(``params[k]`` stacked with ``alt[k]``) and, for the fields in ``grad``, under
jax.grad. References are written from the formulas, not from lrsched's code.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any, Callable

import numpy as np

import lrsched

STEPS = np.concatenate([np.arange(0, 260), [300, 517, 1000, 4099, 12345]])


@dataclasses.dataclass
class Case:
    name: str
    make: Callable[[dict[str, Any]], lrsched.Schedule]
    params: dict[str, Any]
    alt: dict[str, Any]
    ref: Callable[[np.ndarray, dict[str, Any]], np.ndarray]
    grad: tuple[str, ...] = ()
    non_negative: bool = True


def _np(p: dict[str, Any]) -> dict[str, Any]:
    return {k: np.asarray(v, np.float64) for k, v in p.items()}


def _clip01(x):
    return np.clip(x, 0.0, 1.0)


def _cos01(p):  # (1 + cos(pi p)) / 2
    return 0.5 * (1.0 + np.cos(np.pi * p))


# ------------------------------------------------------------------ references


def ref_linear(t, p):
    p = _np(p)
    return p["init_value"] + (p["end_value"] - p["init_value"]) * _clip01(t / p["steps"])


def ref_polynomial(t, p):
    p = _np(p)
    return p["end_value"] + (p["init_value"] - p["end_value"]) * (1 - _clip01(t / p["steps"])) ** p["power"]


def ref_cosine(t, p):
    p = _np(p)
    return p["end_value"] + (p["init_value"] - p["end_value"]) * _cos01(_clip01(t / p["steps"])) ** p["exponent"]


def ref_exponential(t, p, staircase=False):
    p = _np(p)
    e = np.floor(t / p["steps"]) if staircase else t / p["steps"]
    v = p["init_value"] * p["rate"] ** e
    return np.maximum(v, p["end_value"]) if "end_value" in p else v


def ref_step_decay(t, p):
    p = _np(p)
    return p["init_value"] * p["gamma"] ** np.floor(t / p["step_size"])


def ref_multistep(t, p):
    p = _np(p)
    n = (p["milestones"][None, :] <= t[:, None]).sum(1)
    return p["init_value"] * p["gamma"] ** n


def ref_inverse_sqrt(t, p):
    p = _np(p)
    return p["init_value"] * np.sqrt(p["timescale"] / (p["timescale"] + np.maximum(t - p["offset"], 0)))


def ref_inverse_time(t, p):
    p = _np(p)
    return p["init_value"] / (1 + p["rate"] * t / p["steps"])


def ref_piecewise_constant(t, p):
    p = _np(p)
    return p["values"][(p["boundaries"][None, :] <= t[:, None]).sum(1)]


def ref_piecewise_linear(t, p):
    p = _np(p)
    return np.interp(t, p["boundaries"], p["values"])


def ref_cyclic(t, p, mode="triangular"):
    # torch.optim.lr_scheduler.CyclicLR.get_lr, with the closed forms of its scale functions
    p = _np(p)
    up = p["up_steps"]
    down = p.get("down_steps", up)
    total = up + down
    cycle = np.floor(1 + t / total)
    x = 1.0 + t / total - cycle
    ratio = up / total
    h = np.where(x <= ratio, x / ratio, (x - 1) / (ratio - 1))
    scale = {"triangular": 1.0, "triangular2": 0.5 ** (cycle - 1), "exp_range": p.get("gamma", 1.0) ** t}[mode]
    return p["base_value"] + (p["peak_value"] - p["base_value"]) * h * scale


def _torch_phase_value(step, ends, values, anneal):
    # torch.optim.lr_scheduler.OneCycleLR.get_lr at one step: the first phase with step <= end_step, or the
    # last; None where torch divides by zero (a phase of no length)
    start = 0.0
    for i, end in enumerate(ends):
        if step <= end or i == len(ends) - 1:
            if end == start:
                return None
            pct = (step - start) / (end - start)
            a, b = values[i], values[i + 1]
            return b + (a - b) / 2.0 * (math.cos(math.pi * pct) + 1) if anneal == "cos" else (b - a) * pct + a
        start = end


def _torch_phases(t, total, ends, values, anneal, extrapolate=False):
    # the value at total - 1 holds after it; `extrapolate`: but step `total` is torch's (its get_last_lr() after
    # the last step()) where torch computes one
    held = _torch_phase_value(total - 1, ends, values, anneal)
    at_end = _torch_phase_value(total, ends, values, anneal) if extrapolate else None
    out = [(at_end if step == total and at_end is not None else held) if step > total - 1
           else _torch_phase_value(step, ends, values, anneal) for step in np.asarray(t, np.float64)]
    return np.array(out, np.float64)


def ref_one_cycle(t, p, anneal="cos", three_phase=False, extrapolate=False):
    p = _np(p)
    total, pct = float(p["total_steps"]), float(p["pct_start"])
    initial = p["peak_value"] / p["div_factor"]
    low = initial / p["final_div_factor"]
    if three_phase:
        ends = [pct * total - 1, 2 * pct * total - 2, total - 1]
        values = [initial, p["peak_value"], initial, low]
    else:
        ends = [pct * total - 1, total - 1]
        values = [initial, p["peak_value"], low]
    return _torch_phases(t, total, ends, [float(v) for v in values], anneal, extrapolate)


def ref_one_cycle_momentum(t, p, three_phase=False, extrapolate=False):
    p = _np(p)
    total, pct = float(p["total_steps"]), float(p["pct_start"])
    hi, lo = float(p["peak_value"]), float(p["base_value"])
    if three_phase:
        return _torch_phases(t, total, [pct * total - 1, 2 * pct * total - 2, total - 1], [hi, lo, hi, hi], "cos",
                             extrapolate)
    return _torch_phases(t, total, [pct * total - 1, total - 1], [hi, lo, hi], "cos", extrapolate)


def ref_warmup_cosine(t, p):
    p = _np(p)
    w, n = p["warmup_steps"], p["total_steps"]
    up = p["init_value"] + (p["peak_value"] - p["init_value"]) * _clip01(t / np.maximum(w, 1e-300))
    down = p["end_value"] + (p["peak_value"] - p["end_value"]) * _cos01(_clip01((t - w) / (n - w)))
    return np.where(t < w, up, down)


def ref_wsd(t, p, decay="linear"):
    p = _np(p)
    w, n, d = p["warmup_steps"], p["total_steps"], p["decay_steps"]
    up = p["init_value"] + (p["peak_value"] - p["init_value"]) * t / w
    x = _clip01((t - (n - d)) / d)
    shape = {"linear": 1 - x, "cosine": _cos01(x), "sqrt": 1 - np.sqrt(x)}[decay]
    down = p["end_value"] + (p["peak_value"] - p["end_value"]) * shape
    return np.where(t < w, up, np.where(t < n - d, p["peak_value"], down))


def ref_tanh(t, p):
    # timm/scheduler/tanh_lr.py, TanhLRScheduler._get_lr: lb=-7, ub=3
    p = _np(p)
    r = _clip01(t / p["steps"])
    return p["end_value"] + 0.5 * (p["init_value"] - p["end_value"]) * (1 - np.tanh(-7.0 * (1 - r) + 3.0 * r))


def ref_join(t, p):
    p = _np(p)
    b1, b2 = p["b1"], p["b2"]
    first = p["peak"] * _clip01(t / b1)
    second = p["peak"] * _cos01(_clip01((t - b1) / 50.0))
    third = p["peak"] * 0.1 * np.ones_like(t, dtype=np.float64)
    return np.where(t < b1, first, np.where(t < b2, second, third))


def ref_join_stacked(t, p):
    p = _np(p)
    bounds = np.array([0.0, p["b1"], p["b2"]])
    i = (bounds[None, 1:] <= t[:, None]).sum(1)
    local = t - bounds[i]
    inits = np.array([p["v0"], p["v1"], p["v2"]])
    return inits[i] * _cos01(_clip01(local / 40.0))


def ref_warmup(t, p):
    p = _np(p)
    w = p["steps"]
    target = p["peak"]
    after = p["peak"] * _cos01(_clip01((t - w) / p["decay_steps"]))
    return np.where(t < w, p["init_value"] + (target - p["init_value"]) * t / w, after)


def ref_cycle(t, p):
    p = _np(p)
    out = np.empty(len(t))
    for j, step in enumerate(t):
        k, start, length = 0, 0.0, float(p["period"])
        while step >= start + length:
            start += length
            length *= float(p["period_mul"])
            k += 1
        stretch = float(p["period_mul"]) ** k  # the cosine is stretched over each longer period
        out[j] = p["decay"] ** k * p["peak"] * _cos01(min((step - start) / stretch / p["steps"], 1.0))
    return out


def ref_cycle_limit(t, p):
    p = _np(p)
    out = np.empty(len(t))
    for j, step in enumerate(t):
        k, start, length = 0, 0.0, float(p["period"])
        while step >= start + length and k + 1 < p["limit"]:
            start += length
            length *= 2.0
            k += 1
        out[j] = 0.5**k * p["peak"] * (1.0 - min((step - start) / 2.0**k / p["period"], 1.0))
    return out


def ref_arith(t, p):
    p = _np(p)
    a = p["a"] * _cos01(_clip01(t / 100.0))
    b = p["b"] + (1.0 - p["b"]) * _clip01(t / 50.0)
    return np.clip(a * b * p["scale"] + p["offset"], p["lo"], p["hi"])


def ref_div(t, p):  # cosine(a, 100) / d + n / linear(b, 1, 50) + cosine(a, 100) / linear(b, 1, 50)
    p = _np(p)
    a = p["a"] * _cos01(_clip01(t / 100.0))
    b = p["b"] + (1.0 - p["b"]) * _clip01(t / 50.0)
    return a / p["d"] + p["n"] / b + a / b


def ref_pow(t, p):  # linear(b, 1, 50) ** e * base ** linear(lo, -1, 80) + cosine(1, 60, 0.5) ** linear(1, e2, 40)
    p = _np(p)
    b = p["b"] + (1.0 - p["b"]) * _clip01(t / 50.0)
    ramp = p["lo"] + (-1.0 - p["lo"]) * _clip01(t / 80.0)
    c = 0.5 + 0.5 * _cos01(_clip01(t / 60.0))
    e = 1.0 + (p["e2"] - 1.0) * _clip01(t / 40.0)
    return b ** p["e"] * p["base"] ** ramp + c**e


def ref_shift(t, p):
    p = _np(p)
    return p["peak"] * _clip01(np.maximum(t - p["steps"], 0) / 20.0)


# ----------------------------------------------------------------------- cases

L = lrsched

CASES: list[Case] = [
    Case("constant", lambda p: L.constant(**p), dict(value=0.3), dict(value=0.7),
         lambda t, p: np.full(len(t), p["value"], np.float64), grad=("value",)),
    Case("linear", lambda p: L.linear(**p), dict(init_value=0.5, end_value=0.01, steps=120),
         dict(init_value=0.2, end_value=0.3, steps=37), ref_linear, grad=("init_value", "end_value")),
    Case("polynomial", lambda p: L.polynomial(**p), dict(init_value=0.5, end_value=0.01, steps=150, power=2.0),
         dict(init_value=1.0, end_value=0.0, steps=9, power=0.5), ref_polynomial,
         grad=("init_value", "end_value", "power")),
    Case("cosine", lambda p: L.cosine(**p), dict(init_value=0.5, steps=200, end_value=0.05, exponent=1.0),
         dict(init_value=0.1, steps=13, end_value=0.0, exponent=2.0), ref_cosine,
         grad=("init_value", "end_value", "exponent")),
    Case("exponential", lambda p: L.exponential(**p), dict(init_value=0.5, rate=0.9, steps=7),
         dict(init_value=1.0, rate=0.5, steps=100), ref_exponential, grad=("init_value", "rate")),
    Case("exponential_staircase_clamped", lambda p: L.exponential(**p, staircase=True),
         dict(init_value=0.5, rate=0.8, steps=10, end_value=0.05),
         dict(init_value=1.0, rate=0.5, steps=3, end_value=0.2),
         lambda t, p: ref_exponential(t, p, staircase=True), grad=("init_value",)),
    Case("step_decay", lambda p: L.step_decay(**p), dict(init_value=0.5, step_size=30, gamma=0.5),
         dict(init_value=0.1, step_size=1, gamma=1.0), ref_step_decay, grad=("init_value", "gamma")),
    Case("multistep", lambda p: L.multistep(**p), dict(init_value=0.5, milestones=[10, 50, 50, 200], gamma=0.3),
         dict(init_value=0.1, milestones=[1, 2, 100, 4000], gamma=0.9), ref_multistep, grad=("init_value", "gamma")),
    Case("inverse_sqrt", lambda p: L.inverse_sqrt(**p), dict(init_value=0.5, timescale=20, offset=10),
         dict(init_value=1.0, timescale=1000, offset=0), ref_inverse_sqrt, grad=("init_value", "timescale")),
    Case("inverse_time", lambda p: L.inverse_time(**p), dict(init_value=0.5, rate=0.5, steps=10),
         dict(init_value=1.0, rate=2.0, steps=3), ref_inverse_time, grad=("init_value", "rate")),
    Case("piecewise_constant", lambda p: L.piecewise_constant(**p),
         dict(boundaries=[10, 100, 200], values=[0.5, 0.3, 0.1, 0.01]),
         dict(boundaries=[0, 1, 250], values=[1.0, 0.9, 0.8, 0.7]), ref_piecewise_constant, grad=("values",)),
    Case("piecewise_linear", lambda p: L.piecewise_linear(**p),
         dict(boundaries=[10, 100, 150, 200], values=[0.0, 0.5, 0.5, 0.05]),
         dict(boundaries=[0, 3, 4, 1000], values=[0.1, 1.0, 0.0, 0.2]), ref_piecewise_linear, grad=("values",)),
    Case("cyclic", lambda p: L.cyclic(**p), dict(base_value=0.01, peak_value=0.5, up_steps=20, down_steps=13),
         dict(base_value=0.1, peak_value=0.2, up_steps=1, down_steps=50), ref_cyclic,
         grad=("base_value", "peak_value")),
    Case("cyclic_triangular2", lambda p: L.cyclic(**p, mode="triangular2"),
         dict(base_value=0.01, peak_value=0.5, up_steps=15), dict(base_value=0.0, peak_value=1.0, up_steps=4),
         lambda t, p: ref_cyclic(t, p, "triangular2"), grad=("peak_value",)),
    Case("cyclic_exp_range", lambda p: L.cyclic(**p, mode="exp_range"),
         dict(base_value=0.01, peak_value=0.5, up_steps=15, down_steps=25, gamma=0.995),
         dict(base_value=0.0, peak_value=1.0, up_steps=3, down_steps=2, gamma=0.9),
         lambda t, p: ref_cyclic(t, p, "exp_range"), grad=("peak_value", "gamma")),
    Case("one_cycle", lambda p: L.one_cycle(**p),
         dict(total_steps=200, peak_value=0.5, pct_start=0.3, div_factor=25.0, final_div_factor=1e4),
         dict(total_steps=37, peak_value=0.1, pct_start=0.9, div_factor=10.0, final_div_factor=100.0),
         ref_one_cycle, grad=("peak_value", "div_factor")),
    Case("one_cycle_linear_three_phase", lambda p: L.one_cycle(**p, anneal="linear", three_phase=True),
         dict(total_steps=250, peak_value=0.5, pct_start=0.25, div_factor=25.0, final_div_factor=1e4),
         dict(total_steps=100, peak_value=1.0, pct_start=0.1, div_factor=5.0, final_div_factor=10.0),
         lambda t, p: ref_one_cycle(t, p, "linear", True), grad=("peak_value",)),
    Case("one_cycle_momentum", lambda p: L.one_cycle_momentum(**p),
         dict(total_steps=200, base_value=0.85, peak_value=0.95, pct_start=0.3),
         dict(total_steps=31, base_value=0.5, peak_value=0.99, pct_start=0.5), ref_one_cycle_momentum,
         grad=("base_value", "peak_value")),
    Case("one_cycle_momentum_three_phase", lambda p: L.one_cycle_momentum(**p, three_phase=True),
         dict(total_steps=200, base_value=0.85, peak_value=0.95, pct_start=0.3),
         dict(total_steps=31, base_value=0.5, peak_value=0.99, pct_start=0.2),
         lambda t, p: ref_one_cycle_momentum(t, p, True), grad=("base_value",)),
    Case("warmup_cosine", lambda p: L.warmup_cosine(**p),
         dict(peak_value=0.5, warmup_steps=20, total_steps=220, init_value=0.01, end_value=0.001),
         dict(peak_value=1.0, warmup_steps=0, total_steps=50, init_value=0.0, end_value=0.1),
         ref_warmup_cosine, grad=("peak_value", "init_value", "end_value")),
    Case("wsd_linear", lambda p: L.wsd(**p),
         dict(peak_value=0.5, total_steps=200, warmup_steps=20, decay_steps=40, init_value=0.0, end_value=0.01),
         dict(peak_value=1.0, total_steps=90, warmup_steps=5, decay_steps=85, init_value=0.1, end_value=0.0),
         ref_wsd, grad=("peak_value", "end_value")),
    Case("wsd_cosine", lambda p: L.wsd(**p, decay="cosine"),
         dict(peak_value=0.5, total_steps=200, warmup_steps=20, decay_steps=40, init_value=0.0, end_value=0.01),
         dict(peak_value=1.0, total_steps=90, warmup_steps=5, decay_steps=85, init_value=0.1, end_value=0.0),
         lambda t, p: ref_wsd(t, p, "cosine"), grad=("peak_value",)),
    Case("wsd_sqrt", lambda p: L.wsd(**p, decay="sqrt"),
         dict(peak_value=0.5, total_steps=200, warmup_steps=20, decay_steps=40, init_value=0.0, end_value=0.01),
         dict(peak_value=1.0, total_steps=90, warmup_steps=5, decay_steps=85, init_value=0.1, end_value=0.0),
         lambda t, p: ref_wsd(t, p, "sqrt"), grad=("peak_value",)),
    Case("tanh", lambda p: L.tanh(**p), dict(init_value=0.5, steps=200, end_value=0.01),
         dict(init_value=1.0, steps=7, end_value=0.0), ref_tanh, grad=("init_value", "end_value")),
    Case("join_mixed", lambda p: L.join([L.linear(0.0, p["peak"], p["b1"]), L.cosine(p["peak"], 50),
                                          L.constant(p["peak"] * 0.1)], [p["b1"], p["b2"]]),
         dict(peak=0.5, b1=30, b2=80), dict(peak=0.2, b1=1, b2=200), ref_join, grad=("peak",)),
    Case("join_stacked", lambda p: L.join([L.cosine(p["v0"], 40), L.cosine(p["v1"], 40), L.cosine(p["v2"], 40)],
                                          [p["b1"], p["b2"]]),
         dict(v0=0.5, v1=0.3, v2=0.1, b1=50, b2=120), dict(v0=1.0, v1=2.0, v2=3.0, b1=2, b2=3),
         ref_join_stacked, grad=("v0", "v1", "v2")),
    Case("warmup", lambda p: L.warmup(L.cosine(p["peak"], p["decay_steps"]), p["steps"], p["init_value"]),
         dict(peak=0.5, decay_steps=150, steps=25, init_value=0.01),
         dict(peak=0.1, decay_steps=10, steps=1, init_value=0.0), ref_warmup, grad=("peak", "init_value")),
    Case("cycle_sgdr", lambda p: L.cycle(L.cosine(p["peak"], p["steps"]), p["period"], p["period_mul"], p["decay"]),
         dict(peak=0.5, steps=10, period=10, period_mul=2, decay=0.7),
         dict(peak=0.1, steps=3, period=3, period_mul=1, decay=1.0), ref_cycle, grad=("peak", "decay")),
    Case("cycle_limit", lambda p: L.cycle(L.linear(p["peak"], 0.0, p["period"]), p["period"], 2, 0.5, p["limit"]),
         dict(peak=0.5, period=8, limit=3), dict(peak=1.0, period=3, limit=5), ref_cycle_limit, grad=("peak",)),
    Case("arithmetic_clip", lambda p: L.clip((L.cosine(p["a"], 100) * L.linear(p["b"], 1.0, 50)) * p["scale"]
                                             + p["offset"], p["lo"], p["hi"]),
         dict(a=0.5, b=0.1, scale=2.0, offset=0.01, lo=0.02, hi=0.6),
         dict(a=1.0, b=0.0, scale=0.5, offset=0.0, lo=0.0, hi=0.3), ref_arith, grad=("a", "scale", "offset")),
    Case("arithmetic_div", lambda p: (L.cosine(p["a"], 100) / p["d"] + p["n"] / L.linear(p["b"], 1.0, 50)
                                      + L.cosine(p["a"], 100) / L.linear(p["b"], 1.0, 50)),
         dict(a=0.5, d=4.0, n=0.01, b=0.2), dict(a=1.0, d=0.3, n=0.5, b=0.9), ref_div, grad=("a", "d", "n", "b")),
    Case("arithmetic_pow", lambda p: (L.linear(p["b"], 1.0, 50) ** p["e"] * p["base"] ** L.linear(p["lo"], -1.0, 80)
                                      + L.cosine(1.0, 60, end_value=0.5) ** L.linear(1.0, p["e2"], 40)),
         dict(b=0.2, e=2.0, base=10.0, lo=-3.0, e2=3.0), dict(b=0.7, e=0.5, base=2.0, lo=-1.0, e2=0.5), ref_pow,
         grad=("b", "e", "base", "e2")),
    Case("shift", lambda p: L.shift(L.linear(0.0, p["peak"], 20), p["steps"]),
         dict(peak=0.5, steps=15), dict(peak=1.0, steps=0), ref_shift, grad=("peak",)),
]

CASE_IDS = [c.name for c in CASES]


# ------------------------------------------------------------------- compat
# Every constructor of lrsched.compat, with a float64 reference written from the anchor's
# published formula (the file and function named), not from lrsched's code. `make` builds
# the schedule from the parameters, so the vmap check builds it inside jax.vmap, as a
# sweep over a compat constructor's arguments does.

from lrsched.compat import fastai as fa  # noqa: E402
from lrsched.compat import optax as ox  # noqa: E402
from lrsched.compat import timm  # noqa: E402
from lrsched.compat import torch as tc  # noqa: E402
from lrsched.compat import transformers as hf  # noqa: E402


def _loop(f):
    """A reference written for one integer step, applied to every step."""
    return lambda t, p: np.array([f(int(s), _np(p)) for s in t], np.float64)


def _clipped(t, steps):
    return np.clip(t, 0, steps) / steps


# torch/optim/lr_scheduler.py (torch 2.13), each scheduler's closed form (or get_lr)
def ref_tc_warm_restarts(step, p):  # CosineAnnealingWarmRestarts.step / get_lr
    cur, length = step, float(p["T_0"])
    while cur >= length:
        cur, length = cur - length, length * float(p["T_mult"])
    return p["eta_min"] + (p["base_lr"] - p["eta_min"]) * _cos01(cur / length)


def ref_tc_sequential(t, p):  # SequentialLR([LinearLR(b, 0.2, w), CosineAnnealingLR(b, T)], [w])
    p = _np(p)
    first = p["base"] * (0.2 + 0.8 * _clipped(t, p["w"]))
    second = p["base"] * _cos01(np.maximum(t - p["w"], 0) / p["T"])
    return np.where(t < p["w"], first, second)


# optax/schedules/_schedule.py (optax 0.2.8), the function named
def ref_ox_exponential(t, p):  # exponential_decay
    p = _np(p)
    v = p["init_value"] * p["decay_rate"] ** (np.maximum(t - p["transition_begin"], 0) / p["transition_steps"])
    return np.maximum(v, p["end_value"])


def ref_interp(t, marks, values, kind):  # piecewise_interpolate_schedule: linear or cosine between the marks
    out = np.full(len(t), float(values[-1]))
    for i in range(len(marks) - 1):
        inside = (t >= marks[i]) & (t < marks[i + 1])
        x = (t[inside] - marks[i]) / (marks[i + 1] - marks[i])
        w = 1 - x if kind == "linear" else _cos01(x)
        out[inside] = values[i] * w + values[i + 1] * (1 - w)
    return out


def ref_ox_onecycle(t, p, kind):  # linear_onecycle_schedule / cosine_onecycle_schedule: int(pct * T) marks
    p = _np(p)
    T, peak, div = p["transition_steps"], p["peak_value"], p["div_factor"]
    if kind == "linear":
        marks = [0, int(p["pct_start"] * T), int(p["pct_final"] * T), T]
        values = [peak / div, peak, peak / div, peak / (div * p["final_div_factor"])]
    else:
        marks = [0, int(p["pct_start"] * T), T]
        values = [peak / div, peak, peak / (div * p["final_div_factor"])]
    return ref_interp(t, marks, values, kind)


def ref_ox_warmup_cosine(t, p):  # warmup_cosine_decay_schedule
    p = _np(p)
    w, d = p["warmup_steps"], p["decay_steps"]
    up = p["init_value"] + (p["peak_value"] - p["init_value"]) * _clipped(t, w)
    down = p["end_value"] + (p["peak_value"] - p["end_value"]) * _cos01(_clipped(t - w, d - w))
    return np.where(t < w, up, down)


def ref_ox_sgdr(t, p):  # sgdr_schedule of two warmup_cosine_decay_schedule pieces
    first = ref_ox_warmup_cosine(t, {**p, "decay_steps": p["d1"]})
    second = ref_ox_warmup_cosine(np.maximum(t - p["d1"], 0), {**p, "decay_steps": p["d2"]})
    return np.where(t < p["d1"], first, second)


def ref_ox_join(t, p):  # join_schedules([constant, linear_schedule, cosine_decay_schedule], [b1, b2])
    p = _np(p)
    lin = p["v"] * (1 - _clipped(np.maximum(t - p["b1"], 0), 60.0))
    cos = p["v"] * _cos01(_clipped(np.maximum(t - p["b2"], 0), 90.0))
    return np.where(t < p["b1"], p["v"], np.where(t < p["b2"], lin, cos))


# fastai/callback/schedule.py: combined_cos, fit_flat_cos, fit_sgdr; pos = min(t, N - 1) / N per step
def _fa_cos(s, e, pos):
    return s + (1 + np.cos(np.pi * (1 - pos))) * (e - s) / 2


def _fa_pos(t, p):
    return np.minimum(t, p["total_steps"] - 1) / p["total_steps"]


def ref_fa_combined(pos, pct, start, middle, end):
    first = _fa_cos(start, middle, pos / pct) if pct > 0 else 0 * pos
    second = _fa_cos(middle, end, (pos - pct) / (1 - pct))
    return np.where(pos < pct, first, second)


def ref_fa_one_cycle(t, p):
    p = _np(p)
    lr = p["lr_max"]
    return ref_fa_combined(_fa_pos(t, p), p["pct_start"], lr / p["div"], lr, lr / p["div_final"])


def ref_fa_momentum(t, p):
    p = _np(p)
    return ref_fa_combined(_fa_pos(t, p), p["pct_start"], 0.95, 0.85, 0.95)


def ref_fa_flat_cos(t, p):
    p = _np(p)
    return ref_fa_combined(_fa_pos(t, p), p["pct_start"], p["lr"], p["lr"], p["lr"] / p["div_final"])


def ref_fa_sgdr(step, p):  # fit_sgdr(n_cycles=3, cycle_len, lr_max, cycle_mult) with steps_per_epoch
    n, length, mult = 3, p["cycle_len"], p["cycle_mult"]
    epochs = length * n if mult == 1 else length * (mult**n - 1) // (mult - 1)
    total = epochs * p["steps_per_epoch"]
    pos = min(step, total - 1) / total
    c = np.cumsum([0.0] + [length * mult**i / epochs for i in range(n)])  # combine_scheds' boundaries
    i = min(int(np.nonzero(pos >= c)[0].max()), n - 1)
    return float(_fa_cos(p["lr_max"], 0.0, (pos - c[i]) / (c[i + 1] - c[i])))


# transformers/optimization.py: the lr_lambda of each get_*_schedule, times the optimizer's lr
def _hf_warm(t, w):
    return t / max(1.0, w)


def ref_hf(name):
    def f(step, p):
        b, w, n = p["base_lr"], float(p.get("num_warmup_steps", 0.0)), float(p.get("num_training_steps", 0.0))
        if name == "constant":
            return b
        if step < w and name == "warmup_stable_decay":
            r = p["min_lr_ratio"]
            return b * max(0.0, _hf_warm(step, w) * (1 - r) + r)
        if step < w and name != "cosine_warmup_with_min_lr":
            return b * _hf_warm(step, w)
        progress = (step - w) / max(1.0, n - w)
        if name == "constant_with_warmup":
            return b
        if name == "linear":
            return b * max(0.0, (n - step) / max(1.0, n - w))
        if name in ("cosine", "cosine_with_min_lr"):
            r = p.get("min_lr_rate", 0.0)
            return b * max(0.0, r + (1 - r) * 0.5 * (1 + np.cos(np.pi * p["num_cycles"] * 2 * progress)))
        if name == "cosine_with_restarts":
            return 0.0 if progress >= 1 else b * 0.5 * (1 + np.cos(np.pi * ((p["num_cycles"] * progress) % 1.0)))
        if name == "polynomial":
            if step > n:
                return p["lr_end"]
            return (b - p["lr_end"]) * (1 - (step - w) / (n - w)) ** p["power"] + p["lr_end"]
        if name == "inverse_sqrt":
            return b / np.sqrt((step + p["timescale"] - w) / p["timescale"])
        if name == "cosine_warmup_with_min_lr":
            if step < w:
                return b * ((step + 1.0) / max(1.0, w))
            progress = (step - w + 1.0) / max(1.0, n - w)
            r = p["min_lr_rate"]
            return b * max(0.0, r + (1 - r) * 0.5 * (1 + np.cos(np.pi * p["num_cycles"] * 2 * progress)))
        if name == "warmup_stable_decay":
            d, r = p["num_decay_steps"], p["min_lr_ratio"]
            s = n - w - d
            if step < w + s:
                return b
            if step < w + s + d:
                x = (step - w - s) / max(1.0, d)
                return b * max(0.0, r + (1 - r) * 0.5 * (1 + np.cos(np.pi * 0.5 * 2 * x)))
            return b * r
        raise AssertionError(name)

    return _loop(f)


# timm/scheduler/{cosine,tanh,poly,step,multistep}_lr.py: _get_lr, with the scheduler's warmup
def _timm_cycle(t, t_initial, mul):
    if mul == 1:
        return t // t_initial, t_initial, t - t_initial * (t // t_initial)
    i, start, length = 0, 0.0, float(t_initial)
    while t >= start + length:
        start, length, i = start + length, length * mul, i + 1
    return i, length, t - start


def ref_timm(kind, prefix):
    def f(step, p):
        w = p.get("warmup_t", 0)
        if step < w:
            return p["warmup_lr_init"] + step * (p["base_lr"] - p["warmup_lr_init"]) / w
        t = step - w if prefix else step
        if kind == "step":
            return p["base_lr"] * p["decay_rate"] ** (t // p["decay_t"])
        if kind == "multistep":
            return p["base_lr"] * p["decay_rate"] ** int(np.sum(p["decay_t"] <= t + 1))
        i, t_i, t_curr = _timm_cycle(t, p["t_initial"], p["cycle_mul"])
        if i >= p["cycle_limit"]:
            return p["lr_min"]
        peak = p["base_lr"] * p["cycle_decay"] ** i
        if kind == "cosine":
            shape = 0.5 * (1 + np.cos(np.pi * (t_curr / t_i) ** p["k_decay"]))
        elif kind == "tanh":
            r = t_curr / t_i
            shape = 0.5 * (1 - np.tanh(-7.0 * (1 - r) + 3.0 * r))
        else:
            shape = (1 - (t_curr / t_i) ** p["k_decay"]) ** p["power"]
        return p["lr_min"] + (peak - p["lr_min"]) * shape

    return _loop(f)


COMPAT_CASES: list[Case] = [
    # ---- lrsched.compat.torch (ReduceLROnPlateau is stateful: see tests/test_plateau.py)
    Case("torch.StepLR", lambda p: tc.StepLR(**p), dict(base_lr=0.5, step_size=30, gamma=0.5),
         dict(base_lr=0.1, step_size=7, gamma=0.9),
         lambda t, p: ref_step_decay(t, dict(init_value=p["base_lr"], step_size=p["step_size"], gamma=p["gamma"])),
         grad=("base_lr", "gamma")),
    Case("torch.MultiStepLR", lambda p: tc.MultiStepLR(**p), dict(base_lr=0.5, milestones=[10, 50, 50, 200], gamma=0.3),
         dict(base_lr=0.1, milestones=[1, 2, 100, 4000], gamma=0.9),
         lambda t, p: ref_multistep(t, dict(init_value=p["base_lr"], milestones=p["milestones"], gamma=p["gamma"])),
         grad=("base_lr", "gamma")),
    Case("torch.ConstantLR", lambda p: tc.ConstantLR(**p), dict(base_lr=0.5, factor=0.25, total_iters=40),
         dict(base_lr=0.1, factor=0.9, total_iters=0),  # total_iters=0: torch's step() keeps the factor
         lambda t, p: _np(p)["base_lr"] * np.where((t < p["total_iters"]) | (p["total_iters"] == 0),
                                                   _np(p)["factor"], 1.0),
         grad=("base_lr", "factor")),
    Case("torch.LinearLR", lambda p: tc.LinearLR(**p), dict(base_lr=0.5, start_factor=0.25, end_factor=1.0,
                                                             total_iters=100),
         dict(base_lr=0.1, start_factor=0.9, end_factor=0.5, total_iters=0),  # 0: keeps start_factor
         lambda t, p: _np(p)["base_lr"] * (p["start_factor"] + (p["end_factor"] - p["start_factor"])
                                           * (_clipped(t, p["total_iters"]) if p["total_iters"] else 0.0 * t)),
         grad=("base_lr", "start_factor", "end_factor")),
    Case("torch.ExponentialLR", lambda p: tc.ExponentialLR(**p), dict(base_lr=0.5, gamma=0.99),
         dict(base_lr=0.1, gamma=0.9), lambda t, p: _np(p)["base_lr"] * _np(p)["gamma"] ** t,
         grad=("base_lr", "gamma")),
    Case("torch.PolynomialLR", lambda p: tc.PolynomialLR(**p), dict(base_lr=0.5, total_iters=150, power=2.0),
         dict(base_lr=0.1, total_iters=0, power=0.5),  # total_iters=0: torch keeps base_lr
         lambda t, p: _np(p)["base_lr"] * ((1 - _clipped(t, p["total_iters"])) ** _np(p)["power"]
                                           if p["total_iters"] else 1.0 + 0 * t),
         grad=("base_lr", "power")),
    Case("torch.CosineAnnealingLR", lambda p: tc.CosineAnnealingLR(**p), dict(base_lr=0.5, T_max=50, eta_min=0.01),
         dict(base_lr=0.1, T_max=13, eta_min=0.0),
         lambda t, p: p["eta_min"] + (p["base_lr"] - p["eta_min"]) * _cos01(t / np.float64(p["T_max"])),
         grad=("base_lr", "eta_min")),
    Case("torch.CosineAnnealingWarmRestarts", lambda p: tc.CosineAnnealingWarmRestarts(**p),
         dict(base_lr=0.5, T_0=10, T_mult=2, eta_min=0.01), dict(base_lr=0.1, T_0=3, T_mult=3, eta_min=0.0),
         _loop(ref_tc_warm_restarts), grad=("base_lr", "eta_min")),
    Case("torch.CyclicLR", lambda p: tc.CyclicLR(**p, mode="exp_range"),
         dict(base_lr=0.01, max_lr=0.5, step_size_up=15, step_size_down=25, gamma=0.995),
         dict(base_lr=0.0, max_lr=1.0, step_size_up=3, step_size_down=2, gamma=0.9),
         lambda t, p: ref_cyclic(t, dict(base_value=p["base_lr"], peak_value=p["max_lr"], up_steps=p["step_size_up"],
                                         down_steps=p["step_size_down"], gamma=p["gamma"]), "exp_range"),
         grad=("max_lr", "gamma")),
    Case("torch.CyclicMomentum", lambda p: tc.CyclicMomentum(**p, mode="triangular2"),
         dict(step_size_up=15, base_momentum=0.8, max_momentum=0.9),
         dict(step_size_up=4, base_momentum=0.5, max_momentum=0.99),
         lambda t, p: ref_cyclic(t, dict(base_value=p["max_momentum"], peak_value=p["base_momentum"],
                                         up_steps=p["step_size_up"]), "triangular2"),
         grad=("base_momentum", "max_momentum")),
    Case("torch.OneCycleLR", lambda p: tc.OneCycleLR(**p),
         dict(max_lr=0.5, total_steps=200, pct_start=0.3, div_factor=25.0, final_div_factor=1e4),
         dict(max_lr=0.1, total_steps=37, pct_start=0.9, div_factor=10.0, final_div_factor=100.0),
         lambda t, p: ref_one_cycle(t, dict(total_steps=p["total_steps"], peak_value=p["max_lr"],
                                            pct_start=p["pct_start"], div_factor=p["div_factor"],
                                            final_div_factor=p["final_div_factor"]), extrapolate=True),
         grad=("max_lr", "div_factor")),
    Case("torch.OneCycleMomentum", lambda p: tc.OneCycleMomentum(**p),
         dict(total_steps=200, pct_start=0.3, base_momentum=0.85, max_momentum=0.95),
         dict(total_steps=31, pct_start=0.5, base_momentum=0.5, max_momentum=0.99),
         lambda t, p: ref_one_cycle_momentum(t, dict(total_steps=p["total_steps"], pct_start=p["pct_start"],
                                                     base_value=p["base_momentum"], peak_value=p["max_momentum"]),
                                                extrapolate=True),
         grad=("base_momentum", "max_momentum")),
    Case("torch.SequentialLR", lambda p: tc.SequentialLR([tc.LinearLR(p["base"], 0.2, total_iters=p["w"]),
                                                          tc.CosineAnnealingLR(p["base"], p["T"])], [p["w"]]),
         dict(base=0.5, w=20, T=300), dict(base=0.1, w=3, T=40), ref_tc_sequential, grad=("base",)),
    # ---- lrsched.compat.optax
    Case("optax.constant_schedule", lambda p: ox.constant_schedule(**p), dict(value=0.3), dict(value=0.7),
         lambda t, p: np.full(len(t), p["value"], np.float64), grad=("value",)),
    Case("optax.linear_schedule", lambda p: ox.linear_schedule(**p),
         dict(init_value=0.5, end_value=0.01, transition_steps=120, transition_begin=10),
         dict(init_value=0.2, end_value=0.3, transition_steps=37, transition_begin=0),
         lambda t, p: ref_linear(np.maximum(t - p["transition_begin"], 0), dict(
             init_value=p["init_value"], end_value=p["end_value"], steps=p["transition_steps"])),
         grad=("init_value", "end_value")),
    Case("optax.polynomial_schedule", lambda p: ox.polynomial_schedule(**p),
         dict(init_value=0.5, end_value=0.01, power=2.0, transition_steps=150, transition_begin=5),
         dict(init_value=1.0, end_value=0.0, power=0.5, transition_steps=9, transition_begin=0),
         lambda t, p: ref_polynomial(np.maximum(t - p["transition_begin"], 0),
                                     dict(init_value=p["init_value"], end_value=p["end_value"],
                                          steps=p["transition_steps"], power=p["power"])),
         grad=("init_value", "end_value", "power")),
    Case("optax.cosine_decay_schedule", lambda p: ox.cosine_decay_schedule(**p),
         dict(init_value=0.5, decay_steps=200, alpha=0.1, exponent=1.0),
         dict(init_value=0.1, decay_steps=13, alpha=0.0, exponent=2.0),
         lambda t, p: _np(p)["init_value"] * ((1 - p["alpha"]) * _cos01(_clipped(t, p["decay_steps"]))
                                              ** p["exponent"] + p["alpha"]),
         grad=("init_value", "alpha", "exponent")),
    Case("optax.exponential_decay", lambda p: ox.exponential_decay(**p),
         dict(init_value=0.5, transition_steps=7, decay_rate=0.9, transition_begin=20, end_value=0.01),
         dict(init_value=1.0, transition_steps=100, decay_rate=0.5, transition_begin=0, end_value=0.3),
         ref_ox_exponential, grad=("init_value", "decay_rate")),
    Case("optax.piecewise_constant_schedule",
         lambda p: ox.piecewise_constant_schedule(p["init"], {10: p["s1"], 100: p["s2"]}),
         dict(init=0.5, s1=0.5, s2=0.1), dict(init=1.0, s1=2.0, s2=0.9),
         lambda t, p: p["init"] * np.where(t >= 10, p["s1"], 1.0) * np.where(t >= 100, p["s2"], 1.0),
         grad=("init", "s1", "s2")),
    Case("optax.piecewise_interpolate_schedule",
         lambda p: ox.piecewise_interpolate_schedule("cosine", p["init"], {40: p["s1"], 200: p["s2"]}),
         dict(init=0.5, s1=0.5, s2=0.1), dict(init=1.0, s1=2.0, s2=0.9),
         lambda t, p: ref_interp(t, [0, 40, 200], [p["init"], p["init"] * p["s1"], p["init"] * p["s1"] * p["s2"]],
                                 "cosine"),
         grad=("init", "s1", "s2")),
    Case("optax.linear_onecycle_schedule", lambda p: ox.linear_onecycle_schedule(**p),
         dict(transition_steps=200, peak_value=0.5, pct_start=0.3, pct_final=0.85, div_factor=25.0,
              final_div_factor=1e4),
         dict(transition_steps=50, peak_value=0.1, pct_start=0.1, pct_final=0.5, div_factor=10.0,
              final_div_factor=10.0),
         lambda t, p: ref_ox_onecycle(t, p, "linear"), grad=("peak_value", "div_factor")),
    Case("optax.cosine_onecycle_schedule", lambda p: ox.cosine_onecycle_schedule(**p),
         dict(transition_steps=200, peak_value=0.5, pct_start=0.3, div_factor=25.0, final_div_factor=1e4),
         dict(transition_steps=50, peak_value=0.1, pct_start=0.6, div_factor=10.0, final_div_factor=10.0),
         lambda t, p: ref_ox_onecycle(t, p, "cosine"), grad=("peak_value", "div_factor")),
    Case("optax.warmup_constant_schedule", lambda p: ox.warmup_constant_schedule(**p),
         dict(init_value=0.01, peak_value=0.5, warmup_steps=30), dict(init_value=0.0, peak_value=1.0, warmup_steps=1),
         lambda t, p: p["init_value"] + (p["peak_value"] - p["init_value"]) * _clipped(t, p["warmup_steps"]),
         grad=("init_value", "peak_value")),
    Case("optax.warmup_cosine_decay_schedule", lambda p: ox.warmup_cosine_decay_schedule(**p),
         dict(init_value=0.01, peak_value=0.5, warmup_steps=20, decay_steps=220, end_value=0.001),
         dict(init_value=0.0, peak_value=1.0, warmup_steps=3, decay_steps=50, end_value=0.1),
         ref_ox_warmup_cosine, grad=("init_value", "peak_value", "end_value")),
    Case("optax.warmup_exponential_decay_schedule", lambda p: ox.warmup_exponential_decay_schedule(**p),
         dict(init_value=0.01, peak_value=0.5, warmup_steps=20, transition_steps=9, decay_rate=0.9),
         dict(init_value=0.0, peak_value=1.0, warmup_steps=3, transition_steps=1, decay_rate=0.99),
         lambda t, p: np.where(t < p["warmup_steps"],
                               p["init_value"] + (p["peak_value"] - p["init_value"]) * _clipped(t, p["warmup_steps"]),
                               p["peak_value"] * p["decay_rate"] ** (np.maximum(t - p["warmup_steps"], 0)
                                                                     / p["transition_steps"])),
         grad=("peak_value", "decay_rate")),
    Case("optax.sgdr_schedule",
         lambda p: ox.sgdr_schedule([dict(init_value=p["init_value"], peak_value=p["peak_value"],
                                          warmup_steps=p["warmup_steps"], decay_steps=d, end_value=p["end_value"])
                                     for d in (p["d1"], p["d2"])]),
         dict(init_value=0.0, peak_value=0.5, warmup_steps=10, end_value=0.01, d1=100, d2=300),
         dict(init_value=0.1, peak_value=1.0, warmup_steps=2, end_value=0.0, d1=30, d2=20),
         ref_ox_sgdr, grad=("peak_value", "end_value")),
    Case("optax.join_schedules",
         lambda p: ox.join_schedules([ox.constant_schedule(p["v"]), ox.linear_schedule(p["v"], 0.0, 60),
                                      ox.cosine_decay_schedule(p["v"], 90)], [p["b1"], p["b2"]]),
         dict(v=0.5, b1=30, b2=120), dict(v=0.2, b1=1, b2=200), ref_ox_join, grad=("v",)),
    # ---- lrsched.compat.fastai (the schedules fit_one_cycle, fit_flat_cos and fit_sgdr install, per step)
    Case("fastai.one_cycle", lambda p: fa.one_cycle(**p),
         dict(total_steps=200, lr_max=0.5, div=25.0, div_final=1e5, pct_start=0.25),
         dict(total_steps=31, lr_max=0.1, div=10.0, div_final=100.0, pct_start=0.6),
         ref_fa_one_cycle, grad=("lr_max", "div")),
    Case("fastai.one_cycle_momentum", lambda p: fa.one_cycle_momentum(**p),
         dict(total_steps=200, pct_start=0.25), dict(total_steps=31, pct_start=0.6), ref_fa_momentum),
    Case("fastai.flat_cos", lambda p: fa.flat_cos(**p), dict(total_steps=200, lr=0.5, div_final=1e5, pct_start=0.75),
         dict(total_steps=31, lr=0.1, div_final=10.0, pct_start=0.5), ref_fa_flat_cos, grad=("lr",)),
    # equal cycles: with cycle_mult=2 a restart's pos ties with fastai's cumulative sums, which float32
    # rounds to either side (as fastai does); tests/test_compat_fastai.py covers growing cycles under x64
    Case("fastai.sgdr", lambda p: fa.sgdr(3, **p), dict(cycle_len=2, lr_max=0.5, cycle_mult=1, steps_per_epoch=9),
         dict(cycle_len=5, lr_max=0.1, cycle_mult=1, steps_per_epoch=3), _loop(ref_fa_sgdr), grad=("lr_max",)),
    Case("fastai.combine_scheds",
         lambda p: fa.per_step(fa.combine_scheds([p["pct"], 1 - p["pct"]], [fa.SchedExp(p["lr"], 1.0),
                                                                           fa.SchedPoly(1.0, 0.0, p["power"])]),
                               p["total_steps"]),
         dict(pct=0.25, lr=0.01, power=2.0, total_steps=200), dict(pct=0.6, lr=0.5, power=0.5, total_steps=31),
         lambda t, p: (lambda pos, p: np.where(pos < p["pct"], p["lr"] * (1.0 / p["lr"]) ** (pos / p["pct"]),
                                               1.0 - np.maximum((pos - p["pct"]) / (1 - p["pct"]), 0) ** p["power"]))(
             _fa_pos(t, _np(p)), _np(p)),
         grad=("lr", "power")),
    # ---- lrsched.compat.transformers (get_scheduler by name)
    Case("transformers.linear", lambda p: hf.get_scheduler("linear", **p),
         dict(base_lr=0.5, num_warmup_steps=20, num_training_steps=200),
         dict(base_lr=0.1, num_warmup_steps=0, num_training_steps=37), ref_hf("linear"), grad=("base_lr",)),
    Case("transformers.cosine", lambda p: hf.get_scheduler("cosine", **p),
         dict(base_lr=0.5, num_warmup_steps=20, num_training_steps=200, num_cycles=0.5),
         dict(base_lr=0.1, num_warmup_steps=3, num_training_steps=50, num_cycles=1.5), ref_hf("cosine"),
         grad=("base_lr",)),
    Case("transformers.cosine_with_restarts", lambda p: hf.get_scheduler("cosine_with_restarts", **p),
         dict(base_lr=0.5, num_warmup_steps=20, num_training_steps=200, num_cycles=3),
         dict(base_lr=0.1, num_warmup_steps=3, num_training_steps=50, num_cycles=1), ref_hf("cosine_with_restarts"),
         grad=("base_lr",)),
    Case("transformers.polynomial", lambda p: hf.get_scheduler("polynomial", **p),
         dict(base_lr=0.5, num_warmup_steps=20, num_training_steps=200, lr_end=0.01, power=2.0),
         dict(base_lr=0.1, num_warmup_steps=3, num_training_steps=50, lr_end=0.0, power=0.5),
         ref_hf("polynomial"), grad=("base_lr", "lr_end")),
    Case("transformers.constant", lambda p: hf.get_scheduler("constant", **p), dict(base_lr=0.5), dict(base_lr=0.1),
         ref_hf("constant"), grad=("base_lr",)),
    Case("transformers.constant_with_warmup", lambda p: hf.get_scheduler("constant_with_warmup", **p),
         dict(base_lr=0.5, num_warmup_steps=20), dict(base_lr=0.1, num_warmup_steps=0),
         ref_hf("constant_with_warmup"), grad=("base_lr",)),
    Case("transformers.inverse_sqrt", lambda p: hf.get_scheduler("inverse_sqrt", **p),
         dict(base_lr=0.5, num_warmup_steps=20, timescale=20), dict(base_lr=0.1, num_warmup_steps=3, timescale=100),
         ref_hf("inverse_sqrt"), grad=("base_lr",)),
    Case("transformers.cosine_with_min_lr", lambda p: hf.get_scheduler("cosine_with_min_lr", **p),
         dict(base_lr=0.5, num_warmup_steps=20, num_training_steps=200, num_cycles=0.5, min_lr_rate=0.1),
         dict(base_lr=0.1, num_warmup_steps=3, num_training_steps=50, num_cycles=1.0, min_lr_rate=0.0),
         ref_hf("cosine_with_min_lr"), grad=("base_lr", "min_lr_rate")),
    Case("transformers.cosine_warmup_with_min_lr", lambda p: hf.get_scheduler("cosine_warmup_with_min_lr", **p),
         dict(base_lr=0.5, num_warmup_steps=20, num_training_steps=200, num_cycles=0.5, min_lr_rate=0.1),
         dict(base_lr=0.1, num_warmup_steps=3, num_training_steps=50, num_cycles=1.0, min_lr_rate=0.0),
         ref_hf("cosine_warmup_with_min_lr"), grad=("base_lr", "min_lr_rate")),
    Case("transformers.warmup_stable_decay", lambda p: hf.get_scheduler("warmup_stable_decay", **p),
         dict(base_lr=0.5, num_warmup_steps=20, num_training_steps=200, num_decay_steps=60, min_lr_ratio=0.1),
         dict(base_lr=0.1, num_warmup_steps=3, num_training_steps=50, num_decay_steps=10, min_lr_ratio=0.0),
         ref_hf("warmup_stable_decay"), grad=("base_lr", "min_lr_ratio")),
    # ---- lrsched.compat.timm (noise: tests/test_compat_timm.py)
    Case("timm.cosine", lambda p: timm.cosine(**p),
         dict(base_lr=0.5, t_initial=30, lr_min=0.01, cycle_mul=2.0, cycle_decay=0.7, cycle_limit=3, warmup_t=10,
              warmup_lr_init=0.001, k_decay=1.5),
         dict(base_lr=0.1, t_initial=7, lr_min=0.0, cycle_mul=1.0, cycle_decay=0.9, cycle_limit=5, warmup_t=2,
              warmup_lr_init=0.0, k_decay=1.0),
         ref_timm("cosine", False), grad=("base_lr", "lr_min")),
    Case("timm.tanh", lambda p: timm.tanh(**p, cycle_decay=1.0),
         dict(base_lr=0.5, t_initial=40, lr_min=0.01, cycle_mul=1.0, cycle_limit=3),
         dict(base_lr=0.1, t_initial=9, lr_min=0.0, cycle_mul=1.0, cycle_limit=20),
         lambda t, p: ref_timm("tanh", False)(t, {**p, "cycle_decay": 1.0}), grad=("base_lr", "lr_min")),
    Case("timm.poly", lambda p: timm.poly(**p, warmup_prefix=True),
         dict(base_lr=0.5, t_initial=40, power=2.0, lr_min=0.01, cycle_mul=1.5, cycle_decay=0.8, cycle_limit=4,
              warmup_t=10, warmup_lr_init=0.001, k_decay=1.0),
         dict(base_lr=0.1, t_initial=9, power=0.5, lr_min=0.0, cycle_mul=1.0, cycle_decay=1.0, cycle_limit=2,
              warmup_t=3, warmup_lr_init=0.0, k_decay=2.0),
         ref_timm("poly", True), grad=("base_lr", "lr_min")),
    Case("timm.step", lambda p: timm.step(**p), dict(base_lr=0.5, decay_t=30, decay_rate=0.5, warmup_t=10,
                                                     warmup_lr_init=0.001),
         dict(base_lr=0.1, decay_t=7, decay_rate=0.9, warmup_t=1, warmup_lr_init=0.0),
         ref_timm("step", True), grad=("base_lr", "decay_rate")),
    Case("timm.multistep", lambda p: timm.multistep(**p), dict(base_lr=0.5, decay_t=[30, 80], decay_rate=0.5,
                                                               warmup_t=10, warmup_lr_init=0.001),
         dict(base_lr=0.1, decay_t=[2, 7], decay_rate=0.9, warmup_t=1, warmup_lr_init=0.0),
         ref_timm("multistep", True), grad=("base_lr", "decay_rate")),
]

CASES += COMPAT_CASES
CASE_IDS = [c.name for c in CASES]
