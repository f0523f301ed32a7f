"""lrsched.compat.torch against the real torch.optim.lr_scheduler, step for step.

Each configuration drives the real torch scheduler (SGD on one parameter, or
Adam for ``betas[0]``) for N = 10,000 steps, once, and that sequence is compared
with ``lrsched.evaluate`` in float32 (max relative error <= 2e-6) and under x64
(<= 1e-12). Float arguments are drawn as any Python float (most of them not
float32-representable): the float32 evaluation must still follow the float64 number
passed (``0.999 ** 10000`` with ``0.999`` rounded to float32 alone would be off by
1e-4), OneCycleLR's ``pct_start`` included (its phase ends ``pct T - 1``). Values
below TINY (flushed subnormals) compare absolutely.

torch's own float64 arithmetic is not exact to 1e-12 everywhere: recursive
schedulers multiply the previous rate (CosineAnnealingLR with T_max=2 drifts by
3e-12 over 10,000 steps), and ``1 + cos(pi p)`` cancels near the bottom of a
cosine (OneCycleLR's last steps are off by 3e-12). So every test also builds an
independent reference in numpy long double (64-bit mantissa) from torch's
published formula, each citing torch/optim/lr_scheduler.py. At each step the
x64 value must be within 1e-12 of torch's, or, where torch's float64 value is
itself off the exact formula (by at most 1e-9), within 1e-12 of the exact one.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import torch
from hypothesis import Phase, assume, example, given, settings
from hypothesis import strategies as st

import lrsched
from lrsched.compat import torch as tc

N = 10_000
lr_sched = torch.optim.lr_scheduler
# the dummy optimizer never steps (no gradients): silence torch's call-order warning
pytestmark = pytest.mark.filterwarnings("ignore:.*lr_scheduler.*:UserWarning")


def budget(n):
    """`n` examples; every one steps torch 10,000 times, so failures are reported unshrunk."""
    return settings(max_examples=n, phases=[Phase.explicit, Phase.reuse, Phase.generate])



# ------------------------------------------------------------------ drivers


def _optimizer(lr=1.0, adam=False):
    p = torch.nn.Parameter(torch.zeros(1))
    if adam:
        return torch.optim.Adam([p], lr=lr)
    return torch.optim.SGD([p], lr=lr, momentum=0.9)


def drive(make, n=N, lr=1.0, adam=False, momentum=False):
    """torch's ``get_last_lr()[0]`` (and the group's momentum) after k = 0..n-1 calls of ``step()``."""
    opt = _optimizer(lr, adam)
    sched = make(opt)
    group = opt.param_groups[0]
    lrs, moms = np.empty(n), np.empty(n)
    for i in range(n):
        lrs[i] = sched.get_last_lr()[0]
        if momentum:
            moms[i] = group["betas"][0] if adam else group["momentum"]
        sched.step()
    return (lrs, moms) if momentum else lrs


FLOOR = 1e-20  # relative errors are taken against max(|value|, FLOOR * peak): an exact 0 (a cosine's
TINY32 = 1e-30  # bottom) is 1e-17 in torch's float64; float32 subnormals (< 1.2e-38) are flushed to 0


def rel_err(ours, ref, tiny):
    ours = np.asarray(ours, np.float64)
    return np.abs(ours - ref) / np.maximum(np.abs(ref), tiny)


def assert_matches(schedule, torch_values, exact, rtol32=2e-6, rtol64=1e-12):
    """`schedule` equals torch at steps 0..n-1 (see the module docstring for the rule)."""
    n = len(torch_values)
    exact = np.asarray(exact, np.longdouble)
    floor = FLOOR * np.abs(torch_values).max()
    # sanity: the reference models torch up to torch's float64 rounding (1e-9 relative, 1e-14 of the peak)
    off = np.abs(torch_values - exact) - 1e-9 * np.abs(exact) - 1e-14 * np.abs(exact).max()
    assert off.max() <= 0, f"the long-double reference does not model torch: off by {off.max():.3g}"
    ours32 = lrsched.evaluate(schedule, n)
    assert ours32.dtype == np.float32
    floor32 = max(floor, TINY32)
    err32 = np.minimum(rel_err(ours32, torch_values, floor32), rel_err(ours32, exact, floor32))
    with jax.enable_x64(True):
        ours64 = lrsched.evaluate(schedule, n)
    assert ours64.dtype == np.float64
    err64 = np.minimum(rel_err(ours64, torch_values, floor), rel_err(ours64, exact, floor))
    worst = int(np.argmax(err64))
    assert err32.max() <= rtol32 and err64.max() <= rtol64, (
        f"{schedule!r}: float32 {err32.max():.3g} at {int(np.argmax(err32))} (<= {rtol32}), x64 "
        f"{err64.max():.3g} (<= {rtol64}); worst x64 step {worst}: ours {ours64[worst]!r} torch "
        f"{torch_values[worst]!r} exact {float(exact[worst])!r}")


# ----------------------------------------------- long-double references
# Each is written from torch/optim/lr_scheduler.py (torch 2.13), the function named.
LD = np.longdouble
PI = np.arccos(LD(-1))
T = np.arange(N)


def cos_half(num, den):
    """(1 + cos(pi num/den)) / 2 = cos(pi num / (2 den))**2, without cancellation."""
    return np.cos(PI * LD(1) * num / (2 * LD(den))) ** 2


def ref_step(base, step_size, gamma, t=T):  # StepLR._get_closed_form_lr
    return LD(base) * LD(gamma) ** (t // step_size)


def ref_multistep(base, milestones, gamma, t=T):  # MultiStepLR._get_closed_form_lr (bisect_right)
    count = np.searchsorted(np.sort(milestones), t, side="right") if len(milestones) else 0 * t
    return LD(base) * LD(gamma) ** count


def ref_constant(base, factor, total_iters, t=T):  # ConstantLR.get_lr: total_iters=0 keeps the factor
    after = 1 if total_iters > 0 else LD(factor)
    return LD(base) * np.where(t < total_iters, LD(factor), after)


def ref_linear(base, start, end, total_iters, t=T):  # LinearLR._get_closed_form_lr; get_lr for 0 iters
    if total_iters == 0:
        return LD(base) * LD(start) + 0 * t
    return LD(base) * (LD(start) + (LD(end) - LD(start)) * np.minimum(total_iters, t) / LD(total_iters))


def ref_exponential(base, gamma, t=T):  # ExponentialLR._get_closed_form_lr
    return LD(base) * LD(gamma) ** t


def ref_polynomial(base, total_iters, power, t=T):  # PolynomialLR._get_closed_form_lr; get_lr for 0 iters
    if total_iters == 0:
        return LD(base) + 0 * t
    return LD(base) * ((total_iters - np.minimum(total_iters, t)) / LD(total_iters)) ** LD(power)


def ref_cosine(base, t_max, eta_min, t=T):  # CosineAnnealingLR._get_closed_form_lr
    return LD(eta_min) + (LD(base) - LD(eta_min)) * cos_half(t, t_max)


def ref_warm_restarts(base, t_0, t_mult, eta_min, t=T):  # CosineAnnealingWarmRestarts.step / get_lr
    t_cur, t_i = np.empty(len(t), np.int64), np.empty(len(t), np.int64)
    cur, length = 0, t_0
    for i in range(len(t)):
        t_cur[i], t_i[i] = cur, length
        cur += 1
        if cur >= length:
            cur, length = cur % length, length * t_mult
    return LD(eta_min) + (LD(base) - LD(eta_min)) * cos_half(t_cur, t_i)


def ref_cyclic(low, high, up, down, mode, gamma, scale_fn=None, scale_mode="cycle", t=T):  # CyclicLR.get_lr
    down = up if down is None else down
    k, pos = t // (up + down), t % (up + down)  # torch: cycle = k + 1, x = pos / total
    height = np.where(pos <= up, pos / LD(up), (up + down - pos) / LD(down))
    if scale_fn is not None:
        scale = np.array([scale_fn(LD(x)) for x in ((k + 1) if scale_mode == "cycle" else t)], LD)
    elif mode == "triangular2":
        scale = LD(0.5) ** k
    elif mode == "exp_range":
        scale = LD(gamma) ** t
    else:
        scale = LD(1)
    return LD(low) + (LD(high) - LD(low)) * height * scale


def ref_one_cycle(total_steps, pct_start, three_phase, anneal, values, t=T):  # OneCycleLR.get_lr
    ends = [float(pct_start * total_steps) - 1]  # torch's float64 phase ends
    if three_phase:
        ends.append(float(2 * pct_start * total_steps) - 2)
    ends.append(total_steps - 1)
    out = np.empty(len(t), LD)
    for i, step in enumerate(np.minimum(t, total_steps - 1)):
        start = 0.0
        for j, end in enumerate(ends):
            if step <= end or j == len(ends) - 1:
                left = (LD(end) - step) / (LD(end) - LD(start))  # 1 - pct, without cancellation
                a, b = LD(values[j]), LD(values[j + 1])
                if anneal == "cos":
                    out[i] = b + (a - b) * np.sin(PI * left / 2) ** 2
                else:
                    out[i] = b + (a - b) * left
                break
            start = end
    return out


# -------------------------------------------------------------- strategies


def f32(lo, hi, **kw):
    """Any float in [lo, hi] (edges included), float32-representable or not."""
    return st.floats(lo, hi, **kw).map(float)


def f32_exact(lo, hi):
    """Floats in [lo, hi] that float32 represents exactly."""
    return st.floats(lo, hi).map(lambda x: float(np.float32(x)))


base_lrs = f32(1e-4, 10.0)
gammas = st.one_of(st.just(1.0), f32(0.5, 1.0))
slow_gammas = st.one_of(st.just(1.0), f32(0.999, 1.0))


# ------------------------------------------------------- recursive family


@budget(12)
@given(base_lrs, st.one_of(st.just(1), st.integers(1, 3000)), gammas)
def test_step_lr(base, step_size, gamma):
    ref = drive(lambda o: lr_sched.StepLR(o, step_size=step_size, gamma=gamma), lr=base)
    assert_matches(tc.StepLR(base, step_size=step_size, gamma=gamma), ref, ref_step(base, step_size, gamma))


@budget(10)
@given(base_lrs, st.lists(st.integers(0, N), max_size=6), gammas)
@example(1.0, [0, 5, 5, 9999], 0.5)
def test_multistep_lr(base, milestones, gamma):
    ref = drive(lambda o: lr_sched.MultiStepLR(o, milestones=milestones, gamma=gamma), lr=base)
    assert_matches(tc.MultiStepLR(base, milestones=milestones, gamma=gamma), ref,
                   ref_multistep(base, milestones, gamma))


@budget(8)
@given(base_lrs, f32(1e-3, 1.0), st.integers(0, N + 10))
@example(1.0, 0.25, 0)
def test_constant_lr(base, factor, total_iters):
    ref = drive(lambda o: lr_sched.ConstantLR(o, factor=factor, total_iters=total_iters), lr=base)
    assert_matches(tc.ConstantLR(base, factor=factor, total_iters=total_iters), ref,
                   ref_constant(base, factor, total_iters))


@budget(10)
@given(base_lrs, f32(1e-3, 1.0), f32(0.0, 1.0), st.one_of(st.sampled_from([0, 1]), st.integers(0, 2 * N)))
def test_linear_lr(base, start, end, total_iters):
    ref = drive(lambda o: lr_sched.LinearLR(o, start_factor=start, end_factor=end, total_iters=total_iters), lr=base)
    assert_matches(tc.LinearLR(base, start_factor=start, end_factor=end, total_iters=total_iters), ref,
                   ref_linear(base, start, end, total_iters))


@budget(10)
@given(base_lrs, st.one_of(st.just(1.0), f32(0.99, 1.0), f32(0.9, 1.0)))
def test_exponential_lr(base, gamma):
    ref = drive(lambda o: lr_sched.ExponentialLR(o, gamma=gamma), lr=base)
    assert_matches(tc.ExponentialLR(base, gamma=gamma), ref, ref_exponential(base, gamma))


@budget(10)
@given(base_lrs, st.one_of(st.sampled_from([0, 1]), st.integers(0, 2 * N)), f32(0.1, 5.0))
def test_polynomial_lr(base, total_iters, power):
    ref = drive(lambda o: lr_sched.PolynomialLR(o, total_iters=total_iters, power=power), lr=base)
    assert_matches(tc.PolynomialLR(base, total_iters=total_iters, power=power), ref,
                   ref_polynomial(base, total_iters, power))


@budget(14)
@given(base_lrs, st.one_of(st.sampled_from([1, 2, 3]), st.integers(1, 2 * N)), f32(0.0, 1.0))
@example(1.0, 2, 0.0)
def test_cosine_annealing_lr(base, t_max, eta_frac):
    eta_min = float(np.float32(base * eta_frac))
    ref = drive(lambda o: lr_sched.CosineAnnealingLR(o, T_max=t_max, eta_min=eta_min), lr=base)
    assert_matches(tc.CosineAnnealingLR(base, T_max=t_max, eta_min=eta_min), ref, ref_cosine(base, t_max, eta_min))


# --------------------------------------------------------- absolute family


@budget(12)
@given(base_lrs, st.one_of(st.sampled_from([1, 2]), st.integers(1, 3000)), st.integers(1, 4), f32(0.0, 1.0))
@example(1.0, 1, 2, 0.0)
def test_cosine_annealing_warm_restarts(base, t_0, t_mult, eta_frac):
    eta_min = float(np.float32(base * eta_frac))
    ref = drive(lambda o: lr_sched.CosineAnnealingWarmRestarts(o, T_0=t_0, T_mult=t_mult, eta_min=eta_min), lr=base)
    assert_matches(tc.CosineAnnealingWarmRestarts(base, T_0=t_0, T_mult=t_mult, eta_min=eta_min), ref,
                   ref_warm_restarts(base, t_0, t_mult, eta_min))


cyclic_configs = st.fixed_dictionaries({  # torch's max_lr is the upper boundary: max_lr >= base_lr
    "base_lr": f32(1e-4, 1.0),
    "max_lr": f32(1.0, 100.0),
    "step_size_up": st.one_of(st.just(1), st.integers(1, 3000)),
    "step_size_down": st.one_of(st.none(), st.just(1), st.integers(1, 3000)),
    "mode": st.sampled_from(["triangular", "triangular2", "exp_range"]),
    "gamma": slow_gammas,
    "base_momentum": f32(0.5, 0.85),
    "max_momentum": f32(0.85, 0.99),
})


def _cyclic_refs(kw, scale_fn=None, scale_mode="cycle"):
    args = (kw["step_size_up"], kw["step_size_down"], kw.get("mode"), kw.get("gamma"), scale_fn, scale_mode)
    return (ref_cyclic(kw["base_lr"], kw["max_lr"], *args),
            ref_cyclic(kw.get("max_momentum", 0.9), kw.get("base_momentum", 0.8), *args))


@budget(20)
@given(cyclic_configs, st.booleans())
def test_cyclic_lr_and_momentum(kw, adam):
    kw = dict(kw, max_lr=float(np.float32(kw["base_lr"] * kw["max_lr"])))
    cycles = N / (kw["step_size_up"] + (kw["step_size_down"] or kw["step_size_up"]))
    assume(kw["mode"] != "triangular2" or cycles < 1000)  # torch overflows computing 2.0 ** 1024
    lrs, moms = drive(lambda o: lr_sched.CyclicLR(o, **kw), adam=adam, momentum=True)
    exact_lr, exact_mom = _cyclic_refs(kw)
    assert_matches(tc.CyclicLR(**kw), lrs, exact_lr)
    assert_matches(tc.CyclicMomentum(**kw), moms, exact_mom)


@pytest.mark.parametrize("scale_mode", ["cycle", "iterations"])
def test_cyclic_lr_custom_scale_fn(scale_mode):
    def scale_fn(x):  # traceable by JAX, callable by torch and numpy alike
        return 1.0 / (1.0 + 0.001 * x) ** 1.5

    kw = dict(base_lr=0.01, max_lr=0.1, step_size_up=7, step_size_down=13, scale_fn=scale_fn, scale_mode=scale_mode)
    lrs, moms = drive(lambda o: lr_sched.CyclicLR(o, **kw), momentum=True)
    exact_lr, exact_mom = _cyclic_refs(kw, scale_fn, scale_mode)
    assert_matches(tc.CyclicLR(**kw), lrs, exact_lr)
    assert_matches(tc.CyclicMomentum(**kw), moms, exact_mom)
    with pytest.raises(lrsched.ScheduleError, match="scale_fn"):
        lrsched.to_config(tc.CyclicLR(**kw))


one_cycle_configs = st.fixed_dictionaries({
    "max_lr": f32(1e-4, 10.0),
    "total_steps": st.integers(N, 2 * N),
    "pct_start": st.one_of(st.sampled_from([0.0, 1e-4, 0.3, 0.5, 0.9999, 1.0]), f32(0.0, 1.0)),
    "anneal_strategy": st.sampled_from(["cos", "linear"]),
    "div_factor": f32(1.0, 1000.0),
    "final_div_factor": f32(1.0, 1e5),
    "three_phase": st.booleans(),
    "base_momentum": f32(0.5, 0.9),
    "max_momentum": f32(0.9, 0.99),
})


def _one_cycle_refs(kw, t=T):
    initial = kw["max_lr"] / kw.get("div_factor", 25.0)
    low = initial / kw.get("final_div_factor", 1e4)
    hi_m, lo_m = kw.get("max_momentum", 0.95), kw.get("base_momentum", 0.85)
    if kw.get("three_phase", False):
        lr_values, mom_values = [initial, kw["max_lr"], initial, low], [hi_m, lo_m, hi_m, hi_m]
    else:
        lr_values, mom_values = [initial, kw["max_lr"], low], [hi_m, lo_m, hi_m]
    args = (kw["total_steps"], kw.get("pct_start", 0.3), kw.get("three_phase", False),
            kw.get("anneal_strategy", "cos"))
    return ref_one_cycle(*args, lr_values, t), ref_one_cycle(*args, mom_values, t)


@budget(24)
@given(one_cycle_configs, st.booleans())
def test_one_cycle_lr_and_momentum(kw, adam):
    kw = dict(kw, pct_start=float(kw["pct_start"]))  # torch insists on a Python float
    lrs, moms = drive(lambda o: lr_sched.OneCycleLR(o, **kw), adam=adam, momentum=True)
    exact_lr, exact_mom = _one_cycle_refs(kw)
    assert_matches(tc.OneCycleLR(**kw), lrs, exact_lr)
    assert_matches(tc.OneCycleMomentum(**kw), moms, exact_mom)


@pytest.mark.parametrize("anneal", ["linear", "cos"])
def test_one_cycle_unrepresentable_pct_start(anneal):
    # pct_start rounded to float32 would move the phase ends 2 pct T - 2 (3e-5 off linear, 2.4e-6 cos)
    kw = dict(total_steps=14424, max_lr=0.7119296036232644, pct_start=0.18471937537688368, div_factor=508.2032754285,
              final_div_factor=13061.514268675091, anneal_strategy=anneal, three_phase=True)
    lrs = drive(lambda o: lr_sched.OneCycleLR(o, **kw))
    assert_matches(tc.OneCycleLR(**kw), lrs, _one_cycle_refs(kw)[0])


@pytest.mark.parametrize("kw", [
    dict(max_lr=0.1, epochs=3, steps_per_epoch=7, pct_start=0.25),
    dict(max_lr=1.0, total_steps=5, pct_start=0.4, anneal_strategy="linear"),  # negative at step T
    dict(max_lr=0.3, total_steps=12, pct_start=0.3, three_phase=True, anneal_strategy="linear"),
    dict(max_lr=0.3, total_steps=6, pct_start=0.6, three_phase=True),  # a reversed last phase: pct < 0 at T
    dict(max_lr=0.3, total_steps=5, pct_start=0.6, three_phase=True),  # torch divides by zero at T
    dict(max_lr=0.3, total_steps=4, pct_start=1.0),  # likewise
])
def test_one_cycle_is_torchs_at_its_end_and_holds_past_it(kw):
    total = kw.get("total_steps") or kw["epochs"] * kw["steps_per_epoch"]
    opt = _optimizer()
    sched = lr_sched.OneCycleLR(opt, **kw)
    ref, mom_ref = [], []
    for t in range(total + 1):
        ref.append(sched.get_last_lr()[0])
        mom_ref.append(opt.param_groups[0]["momentum"])
        if t == total:
            with pytest.raises(ValueError, match="Tried to step"):
                sched.step()
            break
        try:
            sched.step()
        except ZeroDivisionError:  # torch cannot compute step T: lrsched holds the value of T - 1 there too
            assert t == total - 1
            break
    ours = lrsched.evaluate(tc.OneCycleLR(**kw), total + 50)
    mom = lrsched.evaluate(tc.OneCycleMomentum(**kw), total + 50)
    for got, want in ((ours, ref), (mom, mom_ref)):
        np.testing.assert_allclose(got[:len(want)], want, rtol=1e-6, atol=1e-7)
        assert np.all(got[len(want):] == got[total - 1])
    # the core's one_cycle without `extrapolate` holds from T - 1 on
    config = {k: v for k, v in lrsched.to_config(tc.OneCycleLR(**kw)).items() if k not in ("lrsched_config", "type")}
    core = lrsched.evaluate(lrsched.one_cycle(**{**config, "extrapolate": False}), total + 50)
    np.testing.assert_array_equal(core[:total], ours[:total])
    assert np.all(core[total:] == core[total - 1])


def test_one_cycles_saved_before_extrapolate_keep_their_values_and_fingerprints():
    from lrsched._tree import fingerprint, structure_string

    saved = {"lrsched_config": 2, "type": "one_cycle", "total_steps": 5, "peak_value": 1.0, "pct_start": 0.4,
             "div_factor": 25.0, "final_div_factor": 1e4, "anneal": "linear", "three_phase": False}
    old = lrsched.from_config(saved)
    assert old.extrapolate is False
    values = lrsched.evaluate(old, 8)
    assert np.all(values[4:] == values[4])  # held from T - 1, as when it was saved
    assert lrsched.to_config(old) == {**saved, "lrsched_config": 3, "extrapolate": False}
    # a checkpoint's structure fingerprint of such a schedule is the one lrsched wrote before the flag existed
    assert "extrapolate" not in structure_string(old)
    new = lrsched.one_cycle(5, 1.0, 0.4, anneal="linear", extrapolate=True)
    assert fingerprint(new) != fingerprint(old) and "extrapolate=True" in structure_string(new)
    assert lrsched.evaluate(new, 8)[5] < 0  # torch's step T


# ------------------------------------------------------------- SequentialLR


BASE = 0.5
G = float(np.float32(0.999))  # float32-representable, like every drawn argument
CHILDREN = {  # kind: (torch factory, lrsched schedule, long-double reference at local steps)
    "step": (lambda o: lr_sched.StepLR(o, 7, 0.5), tc.StepLR(BASE, 7, 0.5), lambda t: ref_step(BASE, 7, 0.5, t)),
    "exp": (lambda o: lr_sched.ExponentialLR(o, G), tc.ExponentialLR(BASE, G), lambda t: ref_exponential(BASE, G, t)),
    "cos": (lambda o: lr_sched.CosineAnnealingLR(o, 300), tc.CosineAnnealingLR(BASE, 300),
            lambda t: ref_cosine(BASE, 300, 0.0, t)),
    "linear": (lambda o: lr_sched.LinearLR(o, 0.125, 1.0, 50), tc.LinearLR(BASE, 0.125, 1.0, 50),
               lambda t: ref_linear(BASE, 0.125, 1.0, 50, t)),
    "const": (lambda o: lr_sched.ConstantLR(o, 0.25, 20), tc.ConstantLR(BASE, 0.25, 20),
              lambda t: ref_constant(BASE, 0.25, 20, t)),
    "poly": (lambda o: lr_sched.PolynomialLR(o, 400, 2.0), tc.PolynomialLR(BASE, 400, 2.0),
             lambda t: ref_polynomial(BASE, 400, 2.0, t)),
    "cawr": (lambda o: lr_sched.CosineAnnealingWarmRestarts(o, 30, 2), tc.CosineAnnealingWarmRestarts(BASE, 30, 2),
             lambda t: ref_warm_restarts(BASE, 30, 2, 0.0, t)),
    # CyclicLR writes its base_lr into the optimizer before the others read initial_lr: keep it BASE
    "cyclic": (lambda o: lr_sched.CyclicLR(o, BASE, 4 * BASE, 40, cycle_momentum=False),
               tc.CyclicLR(BASE, 4 * BASE, 40), lambda t: ref_cyclic(BASE, 4 * BASE, 40, None, "triangular", 1.0, t=t)),
    "multistep": (lambda o: lr_sched.MultiStepLR(o, [3, 60, 60], 0.5), tc.MultiStepLR(BASE, [3, 60, 60], 0.5),
                  lambda t: ref_multistep(BASE, [3, 60, 60], 0.5, t)),
}


SEQUENCES = [  # few structures (each one compiles), every child kind, recursive and absolute mixed
    ["linear", "cos"], ["const", "exp", "cawr"], ["step", "poly", "multistep", "cyclic"],
    ["cyclic", "linear", "step"], ["cawr", "const"],
]


@budget(16)
@given(st.sampled_from(SEQUENCES), st.data())
@example(["linear", "cos"], None)
def test_sequential_lr(kinds, data):
    milestones = [5] if data is None else sorted(data.draw(
        st.lists(st.one_of(st.just(0), st.integers(0, 3000)), min_size=len(kinds) - 1, max_size=len(kinds) - 1)))
    children = [CHILDREN[k] for k in kinds]

    def make(opt):
        return lr_sched.SequentialLR(opt, [c[0](opt) for c in children], milestones=milestones)

    ref = drive(make, lr=BASE)
    # torch's local restarts: child i runs from milestone i-1 at its own step 0
    piece = np.searchsorted(np.asarray(milestones, int), T, side="right")
    starts = np.concatenate([[0], milestones]).astype(int)
    exact = np.empty(N, LD)
    for i, c in enumerate(children):
        mask = piece == i
        exact[mask] = c[2](T[mask] - starts[i])
    assert_matches(tc.SequentialLR([c[1] for c in children], milestones), ref, exact)


# --------------------------------------------------------------- seeds, docs


def test_seed_examples():
    """The mission's seed examples against torch (short horizons; the long runs are above)."""
    t = np.arange(1000)
    cases = [
        (lambda o: lr_sched.StepLR(o, step_size=10, gamma=0.5), tc.StepLR(0.1, step_size=10, gamma=0.5),
         ref_step(0.1, 10, 0.5, t[:100])),
        (lambda o: lr_sched.ExponentialLR(o, gamma=0.9), tc.ExponentialLR(0.1, gamma=0.9),
         ref_exponential(0.1, 0.9, t[:100])),
        (lambda o: lr_sched.CosineAnnealingLR(o, T_max=10, eta_min=0.001),
         tc.CosineAnnealingLR(0.1, T_max=10, eta_min=0.001), ref_cosine(0.1, 10, 0.001, t[:100])),
        (lambda o: lr_sched.SequentialLR(o, [lr_sched.LinearLR(o, 0.2, total_iters=5),
                                             lr_sched.CosineAnnealingLR(o, 15)], [5]),
         tc.SequentialLR([tc.LinearLR(0.1, 0.2, total_iters=5), tc.CosineAnnealingLR(0.1, 15)], [5]),
         np.concatenate([ref_linear(0.1, 0.2, 1.0, 5, t[:5]), ref_cosine(0.1, 15, 0.0, t[:16])])),
        (lambda o: lr_sched.OneCycleLR(o, max_lr=0.1, steps_per_epoch=100, epochs=10),
         tc.OneCycleLR(max_lr=0.1, steps_per_epoch=100, epochs=10),
         _one_cycle_refs(dict(max_lr=0.1, total_steps=1000), t)[0]),
    ]
    for make, ours, exact in cases:  # float32: 0.9 and 0.1 are rounded, and 0.9**99 amplifies that to 3e-6
        assert_matches(ours, drive(make, n=len(exact), lr=0.1), exact, rtol32=1e-5)


# --------------------------------------------------------------- vmap, errors


# Every constructor's jit / x64 / vmap-over-every-argument / grad / config / repr checks: tests/cases.py.


def test_vmap_sequential_milestones_and_one_cycle_sweep():
    # SequentialLR's milestones and the children's numbers are leaves
    def seq(base, milestone, t_max):
        return tc.SequentialLR([tc.LinearLR(base, 0.1, total_iters=milestone), tc.CosineAnnealingLR(base, t_max)],
                               [milestone])(jnp.arange(30))

    got = jax.jit(jax.vmap(seq))(jnp.array([0.1, 0.2]), jnp.array([3, 8]), jnp.array([5, 11]))
    for row, (b, m, t) in zip(np.asarray(got), [(0.1, 3, 5), (0.2, 8, 11)]):
        want = lrsched.evaluate(tc.SequentialLR([tc.LinearLR(b, 0.1, total_iters=m), tc.CosineAnnealingLR(b, t)],
                                                [m]), 30)
        np.testing.assert_allclose(row, want, rtol=2e-6)
    # the sweep of the issue: OneCycleLR over max_lr x pct_start in one call
    max_lr, pct = jnp.meshgrid(jnp.array([0.01, 0.1, 1.0]), jnp.array([0.1, 0.3]))
    sweep = jax.jit(jax.vmap(lambda m, p: tc.OneCycleLR(m, total_steps=100, pct_start=p)(jnp.arange(100))))
    table = np.asarray(sweep(max_lr.ravel(), pct.ravel()))
    assert table.shape == (6, 100)
    np.testing.assert_allclose(table.max(axis=1), np.asarray(max_lr.ravel()), rtol=1e-3)


@pytest.mark.parametrize("call, match", [
    (lambda: tc.OneCycleLR(0.1), "total_steps"),
    (lambda: tc.OneCycleLR(0.1, total_steps=10, pct_start=1.5), "pct_start"),
    (lambda: tc.OneCycleLR(0.1, total_steps=10, anneal_strategy="cosine"), "anneal_strategy"),
    (lambda: tc.LinearLR(0.1, start_factor=0.0), "start_factor"),
    (lambda: tc.ConstantLR(0.1, factor=2.0), "factor"),
    (lambda: tc.CosineAnnealingLR(0.1, T_max=0), "T_max"),
    (lambda: tc.CosineAnnealingWarmRestarts(0.1, T_0=4, T_mult=0), "T_mult"),
    (lambda: tc.CyclicLR(0.1, 1.0, mode="triangle"), "mode"),
    (lambda: tc.CyclicLR(0.1, 1.0, step_size_up=0), "step_size_up"),
    (lambda: tc.MultiStepLR(0.1, [-1, 3]), "milestones"),
    (lambda: tc.SequentialLR([tc.StepLR(0.1, 2)], [3]), "milestones"),
    (lambda: tc.StepLR(0.1, step_size=0), "step_size"),
    # a 1-element array is a batch of one in lrsched, not the number (numpy's stack error before)
    (lambda: tc.ConstantLR(0.1, 0.5, np.array([5])),
     r"ConstantLR\(total_iters=\[5\]\): total_iters must be of the shape of the other arguments \(factor: \(\)\), "
     r"not \(1,\).*total_iters.item\(\)"),
    (lambda: tc.ConstantLR(0.1, np.array([0.5]), 5), r"ConstantLR\(factor=\[0.5\]\)"),
])
def test_errors_name_the_argument(call, match):
    with pytest.raises(lrsched.ScheduleError, match=match):
        call()


@pytest.mark.parametrize("kw", [
    dict(mode="min", factor=0.5, patience=2, threshold=1e-2, threshold_mode="rel", cooldown=1, min_lr=0.004),
    dict(mode="max", factor=0.3, patience=0, threshold=0.05, threshold_mode="abs", cooldown=0, min_lr=0.0, eps=1e-3),
])
def test_reduce_on_plateau_against_torch(kw):
    metrics = np.random.default_rng(0).normal(size=60).cumsum() * 0.1 + np.linspace(3.0, 0.0, 60) ** 2
    opt = _optimizer(lr=0.1)
    sched = lr_sched.ReduceLROnPlateau(opt, **kw)
    p = tc.ReduceLROnPlateau(0.1, **kw)
    state = p.init()
    for m in metrics:
        sched.step(float(m))
        state = p.update(state, float(m))
        np.testing.assert_allclose(float(p(0, state)), opt.param_groups[0]["lr"], rtol=1e-6)


@pytest.mark.parametrize("threshold_mode", ["rel", "abs"])
@pytest.mark.parametrize("mode, metrics", [
    ("min", [-1.0] * 8),  # flat and negative
    ("min", [-1.0 + 5e-5 * i for i in range(8)]),  # negative and slowly worse (within threshold * |best|)
    ("max", [-1.0] * 8),
    ("min", [1.0, math.nan, math.nan, math.nan, math.nan, 0.5, math.nan, 0.5]),  # NaN: a bad epoch, as torch
])
def test_plateau_quirks_of_torch_are_kept(mode, metrics, threshold_mode):
    """The README's quirks table: with torch's relative threshold a negative metric within threshold * |best|
    of best (a flat one included) counts as an improvement, so it never reduces; "abs" does reduce. A NaN
    counts as a bad epoch in compat.torch (torch), while the core plateau ignores it by default."""
    kw = dict(mode=mode, patience=1, threshold_mode=threshold_mode)
    opt = _optimizer(lr=0.1)
    sched = lr_sched.ReduceLROnPlateau(opt, **kw)
    p = tc.ReduceLROnPlateau(0.1, **kw)
    core = lrsched.plateau(lrsched.constant(0.1), **kw)
    state, core_state, theirs, ours, plain = p.init(), core.init(), [], [], []
    for m in metrics:
        sched.step(m)
        theirs.append(opt.param_groups[0]["lr"])
        state, core_state = p.update(state, m), core.update(core_state, m)
        ours.append(float(p(0, state)))
        plain.append(float(core(0, core_state)))
    np.testing.assert_allclose(ours, theirs, rtol=1e-6)
    has_nan = any(math.isnan(m) for m in metrics)
    if metrics[0] < 0 and threshold_mode == "rel":
        assert theirs == [0.1] * len(metrics)  # never reduces: torch's own behaviour, kept
    else:
        assert min(theirs) < 0.1
    if has_nan:  # the core ignores the NaNs: [1.0, 0.5, 0.5] alone never reduces with patience 1
        assert plain == [pytest.approx(0.1)] * len(metrics)
    else:
        np.testing.assert_allclose(plain, ours, rtol=1e-6)


def test_constant_lr_takes_0d_arrays_and_same_shape_batches():
    """A 0-d array is a number (as in torch); arguments batched with one shape build a batch (each entry
    torch's ConstantLR)."""
    def torch_rates(factor, total_iters):
        return drive(lambda opt: lr_sched.ConstantLR(opt, factor, total_iters), n=9, lr=0.1)

    np.testing.assert_allclose(lrsched.evaluate(tc.ConstantLR(0.1, np.array(0.5), np.array(5)), 9),
                               torch_rates(0.5, 5), rtol=1e-7)
    batch = tc.ConstantLR(0.1, np.array([0.5, 0.25]), np.array([5, 0]))
    for i, (f, t) in enumerate([(0.5, 5), (0.25, 0)]):
        one = jax.tree.map(lambda x, i=i: x[i] if np.ndim(x) else x, batch)
        np.testing.assert_allclose(one(jnp.arange(9)), torch_rates(f, t), rtol=1e-7)
