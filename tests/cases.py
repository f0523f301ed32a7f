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


def _torch_phases(t, total, ends, values, anneal):
    # torch.optim.lr_scheduler.OneCycleLR.get_lr: first phase with step <= end_step
    t = np.minimum(t, total - 1)
    out = np.empty_like(t, dtype=np.float64)
    for j, step in enumerate(t):
        start = 0.0
        for i, end in enumerate(ends):
            if step <= end or i == len(ends) - 1:
                pct = (step - start) / (end - start)
                a, b = values[i], values[i + 1]
                out[j] = (b + (a - b) / 2.0 * (math.cos(math.pi * pct) + 1) if anneal == "cos"
                          else (b - a) * pct + a)
                break
            start = end
    return out


def ref_one_cycle(t, p, anneal="cos", three_phase=False):
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
    return _torch_phases(t, total, ends, [float(v) for v in values], anneal)


def ref_one_cycle_momentum(t, p, three_phase=False):
    p = _np(p)
    total, pct = float(p["total_steps"]), float(p["pct_start"])
    hi, lo = float(p["peak_value"]), float(p["base_value"])
    if three_phase:
        return _torch_phases(t, total, [pct * total - 1, 2 * pct * total - 2, total - 1], [hi, lo, hi, hi], "cos")
    return _torch_phases(t, total, [pct * total - 1, total - 1], [hi, lo, hi], "cos")


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
    Case("shift", lambda p: L.shift(L.linear(0.0, p["peak"], 20), p["steps"]),
         dict(peak=0.5, steps=15), dict(peak=1.0, steps=0), ref_shift, grad=("peak",)),
]

CASE_IDS = [c.name for c in CASES]
