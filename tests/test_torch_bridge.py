"""lrsched_torch against torch's own schedulers, run side by side on real optimizers.

Every comparison drives two identical optimizers, one with the native torch
scheduler and one with the bridge, and checks every group's lr (and momentum or
betas[0]) at every step.
"""

from __future__ import annotations

import json
import os
import pickle
import subprocess
import sys
import textwrap
import types
import warnings

import jax
import lrsched_torch
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from lrsched_torch import _numpy, _table

import lrsched
from lrsched._plateau import plateau
from lrsched.compat import torch as tc

RTOL = 1e-12
N = 10_000


# ----------------------------------------------------------------------------- helpers


def make_optimizer(kind: str, n_groups: int, lr_tensor: bool = False) -> torch.optim.Optimizer:
    """Identical optimizers: one 3-element parameter per group, lrs 0.1, 0.2, ..., fixed gradients."""
    torch.manual_seed(0)
    groups = []
    for i in range(n_groups):
        p = torch.nn.Parameter(torch.linspace(-1.0, 1.0, 3, dtype=torch.float64) * (i + 1))
        p.grad = torch.full_like(p, 0.01 * (i + 1))
        lr = 0.1 * (i + 1)
        groups.append({"params": [p], "lr": torch.tensor(lr, dtype=torch.float64) if lr_tensor else lr,
                       "name": f"g{i}"})
    if kind == "sgd":
        return torch.optim.SGD(groups, lr=0.1, momentum=0.9)
    if kind == "adamw":
        return torch.optim.AdamW(groups, lr=0.1, betas=(0.9, 0.999), weight_decay=0.01)
    raise ValueError(kind)


def momentum_of(group: dict) -> float:
    return float(group["betas"][0]) if "betas" in group else float(group["momentum"])


def drive(optimizer: torch.optim.Optimizer, scheduler, steps: int, sparse: bool = False
          ) -> tuple[np.ndarray, np.ndarray]:
    """(lrs, momenta) in the optimizer's groups at each step, shape (steps, groups).

    The optimizer steps at every step, or (``sparse``, to keep 10,000-step runs
    fast: one torch optimizer step costs more than everything else here) at the
    first 50 steps and every 50th after; the scheduler steps every step.
    """
    lrs = np.empty((steps, len(optimizer.param_groups)))
    moms = np.empty_like(lrs)
    groups = optimizer.param_groups
    for k in range(steps):
        for j, g in enumerate(groups):
            lrs[k, j] = float(g["lr"])
            moms[k, j] = momentum_of(g)
        if not sparse or k < 50 or k % 50 == 0:
            optimizer.step()
        scheduler.step()
    return lrs, moms


def assert_rel(actual: np.ndarray, expected: np.ndarray, what: str, rtol: float = RTOL) -> None:
    err = np.abs(actual - expected) / np.maximum(np.abs(expected), np.finfo(np.float64).tiny)
    err = np.where(actual == expected, 0.0, err)
    k = np.unravel_index(np.argmax(err), err.shape)
    assert err.max() <= rtol, f"{what}: relative error {err.max():.3g} at (step, group) {k}: " \
                              f"{actual[k]!r} vs torch {expected[k]!r}"


def base_lrs(optimizer: torch.optim.Optimizer) -> list[float]:
    return [float(g["lr"]) for g in optimizer.param_groups]


def parity(native, lr, momentum=None, kind="sgd", n_groups=1, steps=N, rtol=RTOL):
    """Run native(optimizer) against ScheduleLR(lr(base), momentum(base)) and compare everything."""
    opt_a = make_optimizer(kind, n_groups)
    sched_a = native(opt_a)
    opt_b = make_optimizer(kind, n_groups)
    bases = base_lrs(opt_b)
    sched_b = lrsched_torch.ScheduleLR(
        opt_b, lr=[lr(b) for b in bases], momentum=None if momentum is None else [momentum(b) for b in bases])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # torch's own warnings are not what is tested
        lrs_a, moms_a = drive(opt_a, sched_a, steps, sparse=True)
    lrs_b, moms_b = drive(opt_b, sched_b, steps, sparse=True)
    assert_rel(lrs_b, lrs_a, "lr", rtol)
    assert_rel(moms_b, moms_a, "momentum", rtol)
    for pa, pb in zip(opt_a.param_groups, opt_b.param_groups):
        torch.testing.assert_close(pb["params"][0], pa["params"][0], rtol=1e-9, atol=1e-12)
    return lrs_b


# --------------------------------------------- every compat.torch schedule against torch

L = torch.optim.lr_scheduler


def _cyclic(o, **kw):
    return L.CyclicLR(o, base_lr=[b / 10 for b in base_lrs(o)], max_lr=base_lrs(o), **kw)


CYCLIC_2 = dict(step_size_up=700, step_size_down=300, mode="triangular2")
CYCLIC_EXP = dict(step_size_up=400, mode="exp_range", gamma=0.9997, base_momentum=0.7, max_momentum=0.95)
ONE_CYCLE_3 = dict(total_steps=N, pct_start=0.25, anneal_strategy="linear", three_phase=True, div_factor=10.0)

# name: (native torch scheduler on an optimizer, lr schedule from a group's base lr, momentum schedule or None)
CASES = {
    "StepLR": (lambda o: L.StepLR(o, step_size=700, gamma=0.7), lambda b: tc.StepLR(b, 700, 0.7), None),
    "MultiStepLR": (lambda o: L.MultiStepLR(o, [1000, 2500, 2500, 6000], 0.5),
                    lambda b: tc.MultiStepLR(b, [1000, 2500, 2500, 6000], 0.5), None),
    "ConstantLR": (lambda o: L.ConstantLR(o, factor=0.25, total_iters=1200),
                   lambda b: tc.ConstantLR(b, factor=0.25, total_iters=1200), None),
    "LinearLR": (lambda o: L.LinearLR(o, start_factor=0.1, end_factor=0.9, total_iters=3000),
                 lambda b: tc.LinearLR(b, start_factor=0.1, end_factor=0.9, total_iters=3000), None),
    "ExponentialLR": (lambda o: L.ExponentialLR(o, gamma=0.9995), lambda b: tc.ExponentialLR(b, 0.9995), None),
    "PolynomialLR": (lambda o: L.PolynomialLR(o, total_iters=8000, power=2.0),
                     lambda b: tc.PolynomialLR(b, total_iters=8000, power=2.0), None),
    "CosineAnnealingLR": (lambda o: L.CosineAnnealingLR(o, T_max=3000, eta_min=1e-3),
                          lambda b: tc.CosineAnnealingLR(b, T_max=3000, eta_min=1e-3), None),
    "CosineAnnealingWarmRestarts": (lambda o: L.CosineAnnealingWarmRestarts(o, T_0=500, T_mult=2, eta_min=1e-4),
                                    lambda b: tc.CosineAnnealingWarmRestarts(b, 500, 2, 1e-4), None),
    "CyclicLR-triangular2": (lambda o: _cyclic(o, **CYCLIC_2), lambda b: tc.CyclicLR(b / 10, b, **CYCLIC_2),
                             lambda b: tc.CyclicMomentum(b / 10, b, **CYCLIC_2)),
    "CyclicLR-exp_range": (lambda o: _cyclic(o, **CYCLIC_EXP), lambda b: tc.CyclicLR(b / 10, b, **CYCLIC_EXP),
                           lambda b: tc.CyclicMomentum(b / 10, b, **CYCLIC_EXP)),
    "OneCycleLR": (lambda o: L.OneCycleLR(o, max_lr=base_lrs(o), total_steps=N),
                   lambda b: tc.OneCycleLR(b, total_steps=N), lambda b: tc.OneCycleMomentum(b, total_steps=N)),
    "OneCycleLR-three_phase": (lambda o: L.OneCycleLR(o, max_lr=base_lrs(o), **ONE_CYCLE_3),
                               lambda b: tc.OneCycleLR(b, **ONE_CYCLE_3),
                               lambda b: tc.OneCycleMomentum(b, **ONE_CYCLE_3)),
    "SequentialLR": (lambda o: L.SequentialLR(o, [L.LinearLR(o, 0.1, total_iters=500),
                                                  L.CosineAnnealingLR(o, T_max=9500, eta_min=1e-5)], [500]),
                     lambda b: tc.SequentialLR([tc.LinearLR(b, 0.1, total_iters=500),
                                                tc.CosineAnnealingLR(b, T_max=9500, eta_min=1e-5)], [500]), None),
}


# torch's own float64 arithmetic is off by more than 1e-12 here (the bridge is the exact one: see
# test_where_torch_rounds_the_bridge_is_exact): CosineAnnealingLR's recursive form drifts (2.6e-12 after
# 10,000 steps) and OneCycleLR's `cos(pi p) + 1` cancels at the end of the anneal (5.9e-12 at 4e-7).
TORCH_ROUNDING = {"CosineAnnealingLR": 1e-11, "OneCycleLR": 1e-11}


@pytest.mark.parametrize("kind,n_groups", [("sgd", 1), ("adamw", 3)])
@pytest.mark.parametrize("name", list(CASES))
def test_compat_torch_schedule_through_the_bridge_equals_torch(name, kind, n_groups):
    native, lr, momentum = CASES[name]
    parity(native, lr, momentum, kind=kind, n_groups=n_groups, rtol=TORCH_ROUNDING.get(name, RTOL))


def test_where_torch_rounds_the_bridge_is_exact():
    """Against the formulas evaluated with 40 digits (mpmath): the bridge within 1e-13, torch not."""
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 40
    k = np.flatnonzero((np.arange(N) % 20 == 0) | (np.arange(N) >= N - 300))  # torch errs most at the end
    # torch lr_scheduler.py CosineAnnealingLR._get_closed_form_lr: eta_min + (b - eta_min)(1 + cos(pi t / T_max))/2
    cosine = [float(mp.mpf("1e-3") + (mp.mpf("0.1") - mp.mpf("1e-3")) * (1 + mp.cos(mp.pi * t / 3000)) / 2)
              for t in k]

    # torch lr_scheduler.py OneCycleLR.get_lr with _annealing_cos: phases end at pct*T - 1 and T - 1
    def one_cycle(t):
        top, low = mp.mpf("0.1"), mp.mpf("0.1") / 25 / mp.mpf("1e4")
        end1 = mp.mpf("0.3") * N - 1
        start, end, pct = (top / 25, top, t / end1) if t <= end1 else (top, low, (t - end1) / (N - 1 - end1))
        return float(end + (start - end) / 2 * (mp.cos(mp.pi * pct) + 1))

    for name, exact in (("CosineAnnealingLR", cosine), ("OneCycleLR", [one_cycle(t) for t in k])):
        native, lr, _ = CASES[name]
        opt_a, opt_b = make_optimizer("sgd", 1), make_optimizer("sgd", 1)
        sched_a = native(opt_a)
        sched_b = lrsched_torch.ScheduleLR(opt_b, lr=lr(0.1))
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            torch_lrs, _ = drive(opt_a, sched_a, N, sparse=True)
        bridge_lrs, _ = drive(opt_b, sched_b, N, sparse=True)
        exact = np.asarray(exact)[:, None]
        assert_rel(bridge_lrs[k], exact, f"{name} bridge vs exact", rtol=1e-13)
        with pytest.raises(AssertionError):
            assert_rel(torch_lrs[k], exact, f"{name} torch vs exact", rtol=1e-12)


def test_cyclic_with_a_python_scale_fn_runs_but_is_not_saved():
    scale_fn = lambda x: 1.0 / (2.0 ** (x - 1))  # triangular2, as code
    opt_a, opt_b = make_optimizer("sgd", 1), make_optimizer("sgd", 1)
    native = L.CyclicLR(opt_a, 0.01, 0.1, step_size_up=50, scale_fn=scale_fn)
    sched = lrsched_torch.ScheduleLR(opt_b, lr=tc.CyclicLR(0.01, 0.1, step_size_up=50, scale_fn=scale_fn),
                                     momentum=tc.CyclicMomentum(0.01, 0.1, step_size_up=50, scale_fn=scale_fn))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        a = drive(opt_a, native, 600)
    b = drive(opt_b, sched, 600)
    assert_rel(b[0], a[0], "lr")
    assert_rel(b[1], a[1], "momentum")
    state = sched.state_dict()
    assert state["lr"][0]["type"].endswith("not saved")
    opt_c = make_optimizer("sgd", 1)
    with pytest.raises(ValueError, match="has no config"):
        lrsched_torch.ScheduleLR(opt_c, lr=lrsched.constant(0.1)).load_state_dict(state)
    same = lrsched_torch.ScheduleLR(opt_c, lr=tc.CyclicLR(0.01, 0.1, step_size_up=50, scale_fn=scale_fn),
                                    momentum=tc.CyclicMomentum(0.01, 0.1, step_size_up=50, scale_fn=scale_fn))
    same.load_state_dict(state)
    assert opt_c.param_groups[0]["lr"] == opt_b.param_groups[0]["lr"]
    factor = lrsched_torch.lambda_lr(opt_c, tc.CyclicLR(0.01, 0.1, step_size_up=50, scale_fn=scale_fn)).lr_lambdas[0]
    with pytest.raises(TypeError, match="cannot pickle"):
        pickle.dumps(factor)


# ---------------------------------------------------------------------- lambda_lr


def test_lambda_lr_is_a_real_lambdalr_matching_the_schedule():
    opt = make_optimizer("sgd", 2)
    s = lrsched.warmup(lrsched.cosine(0.5, steps=300, end_value=0.01), steps=50)
    sched = lrsched_torch.lambda_lr(opt, s)
    assert isinstance(sched, torch.optim.lr_scheduler.LambdaLR)
    lrs, _ = drive(opt, sched, 400)
    with jax.enable_x64(True):
        expected = np.asarray(lrsched.evaluate(lrsched.from_config(lrsched.to_config(s)), 400), np.float64)
    # base * (s / base) is s within a few roundings, in every group (whatever its initial lr); the table and
    # evaluate() are differently shaped XLA programs, which may round the last bits apart
    assert_rel(lrs, np.stack([expected, expected], 1), "lambda_lr", rtol=1e-14)


def test_lambda_lr_factor_pickles_and_lives_in_the_state_dict(tmp_path):
    opt = make_optimizer("sgd", 2)
    s = lrsched.one_cycle(100, 0.3)
    sched = lrsched_torch.lambda_lr(opt, [s, lrsched.step_decay(0.2, 10, 0.5)])
    for _ in range(37):
        opt.step()
        sched.step()
    state = sched.state_dict()
    assert state["lr_lambdas"][0]["config"] == lrsched.to_config(s)
    assert state["lr_lambdas"][0]["base_lr"] == pytest.approx(0.1)
    path = tmp_path / "sched.pt"
    torch.save(state, path)
    loaded = torch.load(path)  # weights_only=True by default: plain data only
    # a fresh LambdaLR built with other schedules takes the saved ones over
    opt2 = make_optimizer("sgd", 2)
    sched2 = lrsched_torch.lambda_lr(opt2, lrsched.constant(1.0))
    sched2.load_state_dict(loaded)
    for _ in range(20):
        opt.step()
        sched.step()
        opt2.step()
        sched2.step()
        assert base_lrs(opt2) == base_lrs(opt)
    factor = sched.lr_lambdas[0]
    clone = pickle.loads(pickle.dumps(factor))
    assert [clone(k) for k in range(0, 200, 7)] == [factor(k) for k in range(0, 200, 7)]
    with pytest.raises(ValueError, match="initial lr is 0"):
        lrsched_torch.lambda_lr(torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.0), s)


# ---------------------------------------------------------------------- ScheduleLR


def test_per_group_list_dict_by_index_and_by_name():
    a, b = lrsched.constant(0.01), lrsched.linear(0.5, 0.0, 10)
    opt = make_optimizer("sgd", 3)
    lrsched_torch.ScheduleLR(opt, lr=[a, None, b])
    assert base_lrs(opt) == [0.01, pytest.approx(0.2), 0.5]
    opt = make_optimizer("sgd", 3)
    sched = lrsched_torch.ScheduleLR(opt, lr={2: a, "g0": b})
    sched.step()
    assert base_lrs(opt) == [pytest.approx(0.45), pytest.approx(0.2), 0.01]
    with pytest.raises(ValueError, match="no param group has name 'head'"):
        lrsched_torch.ScheduleLR(make_optimizer("sgd", 2), lr={"head": a})
    with pytest.raises(ValueError, match="2 schedules for 3 param groups"):
        lrsched_torch.ScheduleLR(make_optimizer("sgd", 3), lr=[a, b])
    with pytest.raises(ValueError, match="two schedules"):
        lrsched_torch.ScheduleLR(make_optimizer("sgd", 2), lr={0: a, "g0": b})
    with pytest.raises(TypeError, match="not an lrsched Schedule"):
        lrsched_torch.ScheduleLR(make_optimizer("sgd", 1), lr=lambda k: 0.1)
    with pytest.raises(ValueError, match="neither 'momentum'"):
        lrsched_torch.ScheduleLR(torch.optim.Adagrad([torch.nn.Parameter(torch.zeros(1))]), momentum=a)


def test_tensor_lr_is_filled_in_place():
    opt = make_optimizer("adamw", 2, lr_tensor=True)
    tensors = [g["lr"] for g in opt.param_groups]
    sched = lrsched_torch.ScheduleLR(opt, lr=lrsched.step_decay(0.3, 2, 0.5), momentum=lrsched.constant(0.8))
    for _ in range(5):
        opt.step()
        sched.step()
    assert all(g["lr"] is t for g, t in zip(opt.param_groups, tensors))
    assert [float(t) for t in tensors] == [0.075, 0.075]
    assert [g["betas"][0] for g in opt.param_groups] == [0.8, 0.8]
    last = sched.get_last_lr()
    assert all(isinstance(x, torch.Tensor) and x is not t for x, t in zip(last, tensors))


def test_past_the_end_holds_where_torch_raises():
    opt = make_optimizer("sgd", 1)
    native = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.1, total_steps=10)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        with pytest.raises(ValueError, match="Tried to step"):
            for _ in range(12):
                native.step()
    opt = make_optimizer("sgd", 1)
    sched = lrsched_torch.ScheduleLR(opt, lr=lrsched.one_cycle(10, 0.1), momentum=lrsched.one_cycle_momentum(10),
                                     chunk=16)
    seen = []
    for _ in range(100):  # several chunks past the end
        opt.step()
        sched.step()
        seen.append((opt.param_groups[0]["lr"], opt.param_groups[0]["momentum"]))
    seen = seen[9:]
    assert len(set(seen)) == 1 and seen[0][1] == 0.95
    assert seen[0][0] == pytest.approx(0.1 / 25 / 1e4, rel=1e-12)


def test_grad_scaler_skipped_step_no_warning_and_schedule_advances():
    def run(make_scheduler):
        p = torch.nn.Parameter(torch.ones(2))
        opt = torch.optim.SGD([p], lr=0.1)
        sched = make_scheduler(opt)
        scaler = torch.amp.GradScaler("cpu")
        lrs = []
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            for k in range(4):
                opt.zero_grad()
                loss = (p * (float("inf") if k == 0 else 1.0)).sum()  # step 0 overflows: the scaler skips it
                scaler.scale(loss).backward()
                scaler.step(opt)
                scaler.update()
                sched.step()
                lrs.append(opt.param_groups[0]["lr"])
        return lrs, [str(w.message) for w in caught if "lr_scheduler.step()" in str(w.message)]

    native_lrs, native_warnings = run(lambda o: torch.optim.lr_scheduler.StepLR(o, 1, 0.5))
    assert native_warnings, "torch warns here (pytorch#44511): the contrast this test relies on"
    lrs, caught = run(lambda o: lrsched_torch.ScheduleLR(o, lr=lrsched.step_decay(0.1, 1, 0.5)))
    assert caught == []
    assert lrs == pytest.approx(native_lrs, rel=1e-15) and lrs == pytest.approx([0.05, 0.025, 0.0125, 0.00625])


def test_no_jax_call_per_step(monkeypatch):
    """Ten groups, two distinct schedules: one evaluation per schedule per chunk, none per step; the cosine
    (a numpy type) costs no JAX call at all, the noisy one (JAX only) one call per chunk. Five chunks are
    served; the sixth is computed ahead, a stage per step (with no time budget): the JAX column in one, the
    numpy one in several. (The numpy one also runs once at the table's few warm-up steps when it is built.)"""
    calls = []
    real_jitted, real_stages = _table.jitted, _numpy.Evaluator.stages

    def counting_jitted(name):
        fn = real_jitted(name)
        return (lambda s, t: (calls.append(("jax", int(t.shape[0]))), fn(s, t))[1]) if name == "values" else fn

    def counting_stages(self, steps, **options):
        calls.append(("numpy", int(steps.shape[0])))
        return (yield from real_stages(self, steps, **options))

    monkeypatch.setattr(_table, "jitted", counting_jitted)
    monkeypatch.setattr(_numpy.Evaluator, "stages", counting_stages)
    monkeypatch.setattr(_table, "SPREAD", 1)  # one stage per step (a share: the chunk's stages' time / n)
    monkeypatch.setattr(_table, "BUDGET_NS", 0)
    opt = make_optimizer("sgd", 10)
    noisy = lrsched.noise(lrsched.constant(0.9), pct=0.01)
    sched = lrsched_torch.ScheduleLR(opt, lr=lrsched.cosine(0.1, 5000), momentum=noisy, chunk=1000)
    worked = []
    real_work = sched._table.work
    sched._table.work = lambda chunk: (worked.append(chunk.start), real_work(chunk))
    for _ in range(4999):
        sched.step()
    assert sched._table._next is None or sched._table._next.start == 5000  # the next chunk, computed ahead
    warm = ("numpy", len(_table.WARM_STEPS))
    assert sorted(calls) == [("jax", 1000)] * 6 + [warm] + [("numpy", 1000)] * 6
    per_chunk = [worked.count(start) for start in range(0, 5000, 1000)]
    # a step that allocates, one for the JAX column and the columns proportional to the cosine, several for it
    assert all(4 < n < 750 for n in per_chunk), per_chunk


def _refill_counts(monkeypatch, slow_call: tuple[int, int] | None = None, untimed: bool = False,
                   slow_start: bool = False, slow_ns: int = 500_000):
    """Ten distinct schedules (cosines of different lengths: no column is derived from another) stepped over
    six chunks on a clock that moves 5 us per reading (so the counts do not depend on this machine), or `slow_ns`
    (500 us) during the `slow_call` = (chunk, n)-th work call: per chunk, the steps that worked, and the stages of each
    chunk computed ahead, the chunks whose successor was ready in time, and per chunk the most stages one step ran
    (after the two that allocate). `untimed`: the table's plan forgotten
    (as in a table pickled by a version without one); `slow_start`: the last stage of the first chunk's computation
    100x slower (a JAX compile, code run for the first time)."""
    slow, now, building, reads = [False], [0], [False], [0]

    def clock():
        reads[0] += building[0]  # (a first computation timing its 180 stages would read 1-360)
        now[0] += slow_ns if slow[0] or (slow_start and building[0] and reads[0] in (359, 360)) else 5_000
        return now[0]

    monkeypatch.setattr(_table, "time", types.SimpleNamespace(perf_counter_ns=clock))
    opt = make_optimizer("sgd", 10)
    building[0] = True
    sched = lrsched_torch.ScheduleLR(opt, lr=[lrsched.cosine(0.1, 5000 + i, end_value=1e-4) for i in range(10)])
    building[0] = False
    table = sched._table
    n = table.chunk
    assert len(table._jobs) == 10 and n == _table.NUMPY_CHUNK
    if untimed:
        table._costs = []
    working, ready, stages, most = [], [], [], [0] * 5
    real_work = table.work

    def work(chunk):
        nxt = table._next
        before = None if nxt is None or nxt.start != chunk.stop else nxt.done
        ran = None if before is None else len(nxt.costs)
        slow[0] = slow_call == (chunk.start // n, working.count(chunk.start))
        real_work(chunk)
        slow[0] = False
        working.append(chunk.start)
        if ran is not None and chunk.start // n < 5:
            most[chunk.start // n] = max(most[chunk.start // n], len(table._next.costs) - ran)
        if before is not None and table._next.done == len(table._jobs):
            ready.append(chunk.start)
            stages.append(len(table._next.costs))

    table.work = work
    for _ in range(6 * n):
        sched.step()
    in_time = sorted(set(ready)) == list(range(0, 6 * n, n))
    return [working.count(start) for start in range(0, 5 * n, n)], stages, in_time, most


def test_refill_is_spread_over_a_few_steps_and_ready_in_time(monkeypatch):
    """The next chunk is computed over a few dozen steps, each running its share of the stages (planned from
    the last chunk's stage times: one step in SPREAD; at first within BUDGET_NS: one stage per step), not all
    in one step, not one stage per step for hundreds of steps, and it is ready before the step that crosses into
    it, at every chunk."""
    per_chunk, stages, in_time, most = _refill_counts(monkeypatch)
    n = _table.NUMPY_CHUNK
    # as planned from the last chunk's stage times (the first chunk ahead: its stages counted in the one computed
    # when the table was first read, as many in each step): one step in SPREAD of the chunk runs stages (180 of
    # 5 us: 8 a step), and two allocate
    spread = n // _table.SPREAD
    assert stages[0] == 180 and all(spread <= k - 2 <= spread + 1 for k in per_chunk), (per_chunk, spread, stages)
    assert in_time  # every chunk's successor finished ahead
    # a stage 100x slower the first time (a JAX compile) changes nothing: the first plan counts stages, not times
    assert _refill_counts(monkeypatch, slow_start=True) == (per_chunk, stages, True, most)
    # without stage times (a table pickled by an older version), within 3 us of the clock: one stage per step
    per_chunk, stages, in_time, _ = _refill_counts(monkeypatch, untimed=True)
    assert stages[0] == per_chunk[0] - 2 == 180 and all(spread <= k - 2 <= spread + 1 for k in per_chunk[1:])
    assert in_time


def test_a_slow_stage_adds_no_working_steps(monkeypatch):
    """A stage slowed 100x or 20,000x (the machine's slow spells, a 100 ms pause) does not cut its step short: the
    plan, not the clock, says how many stages a step runs; and the plan of the chunk after takes each stage's
    lesser time of the last two chunks, so it is unchanged (per_chunk[c]: the steps of chunk c that computed
    chunk c + 1). Planned from the slow chunk's times alone, the 100 ms stages would make the next chunk's whole
    refill one step."""
    steady = _refill_counts(monkeypatch)
    assert max(steady[3]) <= 9, steady  # (180 stages of 5 us in 23 steps)
    for slow_ns in (500_000, 100_000_000):
        assert _refill_counts(monkeypatch, slow_call=(2, 5), slow_ns=slow_ns) == steady, slow_ns
    # the first chunk's times have no earlier ones: the slow stages there plan the next chunk's refill (the
    # chunk's work called with those stages planned 100 ms each: they run one a step, and the rest bunch up)
    per_chunk, stages, in_time, most = _refill_counts(monkeypatch, slow_call=(0, 5), slow_ns=100_000_000)
    assert most[1] > 100 and most[2:] == steady[3][2:] and in_time, (most, steady)


def test_metric_without_plateau_is_an_error():
    sched = lrsched_torch.ScheduleLR(make_optimizer("sgd", 1), lr=lrsched.constant(0.1))
    with pytest.raises(ValueError, match="no lr schedule is a plateau"):
        sched.step(0.5)


_TABLE_SCHEDULE = lrsched.warmup(lrsched.cycle(lrsched.cosine(0.2, 30, end_value=0.01), period=30, period_mul=2), 7)


@pytest.fixture(scope="module")
def table_reference():
    with jax.enable_x64(True):
        s = lrsched.from_config(lrsched.to_config(_TABLE_SCHEDULE))
        return lrsched.evaluate(s, 401).tolist()


@settings(max_examples=20)
@given(jumps=st.lists(st.integers(-3, 400), min_size=1, max_size=12))
def test_table_serves_exact_float64_values_at_any_step(table_reference, jumps):
    """Any order of steps (resume jumps, going back, across chunks): the float64 values of those steps
    (within 1e-14: a 7-step chunk and a 401-step evaluation are differently shaped XLA programs)."""
    column = _table.ScheduleColumn(lrsched.to_config(_TABLE_SCHEDULE))
    table = _table.Table([column, column], chunk=7)
    got = np.array([table.row(k) for k in jumps])
    want = np.array([(table_reference[max(k, 0)],) * 2 for k in jumps])
    np.testing.assert_allclose(got, want, rtol=1e-14, atol=0)


# ------------------------------------------------- the bridge never touches an accelerator

_NO_ACCELERATOR = textwrap.dedent("""
    import json, sys
    from jax._src import xla_bridge as xb
    started = []
    def fake_accelerator():  # stands for a CUDA plugin: what the bridge must never start
        started.append(1)
        return xb.make_cpu_client()
    xb.register_backend_factory("fake_gpu", fake_accelerator, priority=500)
    if sys.argv[1] == "naive":
        import jax
        jax.devices("cpu")  # what a bridge asking JAX for the CPU device naively would do
    else:
        import torch, lrsched, lrsched_torch
        opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(2))], lr=0.1, momentum=0.9)
        sched = lrsched_torch.ScheduleLR(opt, lr=lrsched.cosine(0.1, 10), momentum=lrsched.constant(0.8))
        for _ in range(10):
            opt.step(); sched.step()
        opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(2))], lr=0.1)
        lam = lrsched_torch.lambda_lr(opt, lrsched.cosine(0.1, 10)); lam.step()
        assert "fake_gpu" not in xb._backends and not xb.backends_are_initialized()  # numpy tables: no JAX yet
        # JAX-evaluated schedules and a plateau's metric start JAX: on the CPU only
        new = lambda: torch.optim.SGD([torch.nn.Parameter(torch.zeros(2))], lr=0.1)
        noisy = lrsched_torch.ScheduleLR(new(), lr=lrsched.noise(lrsched.cosine(0.1, 10), pct=0.1))
        plateau = lrsched_torch.ScheduleLR(new(), lr=lrsched.plateau(lrsched.constant(0.1), patience=0))
        plateau.step(1.0); plateau.step(2.0); noisy.step()
    print(json.dumps({"started": len(started), "backends": sorted(xb._backends)}))
""")


@pytest.mark.parametrize("mode", ["bridge", "naive"])
def test_bridge_initialises_no_other_jax_backend(mode):
    env = {k: v for k, v in os.environ.items() if k != "JAX_PLATFORMS"}
    out = subprocess.run([sys.executable, "-c", _NO_ACCELERATOR, mode], env=env, capture_output=True, text=True,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    if mode == "bridge":
        assert result == {"started": 0, "backends": ["cpu"]}
    else:  # the control: the fake accelerator is a real registered backend that a naive call starts
        assert result["started"] == 1 and "fake_gpu" in result["backends"]


# ---------------------------------------------------------------------- plateau


@pytest.mark.parametrize("kw", [
    dict(mode="min", factor=0.5, patience=3, cooldown=2, min_lr=1e-3),
    dict(mode="max", threshold_mode="abs", threshold=0.01, patience=0, factor=0.3),
    dict(mode="min", factor=0.9, patience=1, eps=1e-3),
])
def test_plateau_through_the_bridge_equals_reduce_lr_on_plateau(kw):
    walk = np.cumsum(np.random.default_rng(1).normal(0.0, 0.05, 300))
    metrics = (walk if kw["mode"] == "max" else 2.0 - walk).tolist()
    opt_a, opt_b = make_optimizer("sgd", 2), make_optimizer("sgd", 2)
    native = L.ReduceLROnPlateau(opt_a, **kw)
    bridge = lrsched_torch.ScheduleLR(opt_b, lr=[tc.ReduceLROnPlateau(b, **kw) for b in base_lrs(opt_b)])
    seen_a, seen_b = [], []
    for m in metrics:
        native.step(m)
        bridge.step(torch.tensor(m, dtype=torch.float64))  # a tensor metric works too
        seen_a.append(base_lrs(opt_a))
        seen_b.append(base_lrs(opt_b))
    assert seen_b == seen_a  # bit for bit
    assert len({tuple(x) for x in seen_a}) >= 3, "the plateau must act"


def test_observe_feeds_a_per_epoch_metric_into_a_per_batch_schedule():
    """warmup + plateau (torch cannot): the bridge serves exactly Plateau.__call__(step, state)."""
    p = plateau(lrsched.warmup(lrsched.cosine(0.1, 400, end_value=0.01), steps=40), factor=0.5,
                        patience=0, start=40)
    opt = make_optimizer("adamw", 1)
    sched = lrsched_torch.ScheduleLR(opt, lr=p)
    epoch_losses = [3.0, 2.0, 2.5, 1.5, 1.6, 1.7, 1.0, 1.2]
    value = jax.jit(lambda p, t, state: p(t, state))  # compiled, as the bridge's table (eager ops round apart)
    update = jax.jit(lambda p, state, metric, t: p.update(state, metric, t))
    with jax.enable_x64(True):
        p64 = lrsched.from_config(lrsched.to_config(p))
        state = jax.jit(lambda p: p.init())(p64)
    lrs, expected = [], []
    for loss in epoch_losses:
        for _ in range(25):
            lrs.append(opt.param_groups[0]["lr"])
            with jax.enable_x64(True):
                expected.append(float(value(p64, sched.last_epoch, state)))
            opt.step()
            sched.step()
        step = sched.last_epoch
        sched.observe(loss)
        assert sched.last_epoch == step  # observe does not advance the schedule
        with jax.enable_x64(True):
            state = update(p64, state, loss, step)
    np.testing.assert_allclose(lrs, expected, rtol=1e-14, atol=0)  # differently shaped programs: last bits
    # worse losses at steps 75, 125, 150 and 200 reduce (patience 0); the one at step 25 (< start) is ignored
    assert int(sched.plateau_states[0].num_reductions) == int(state.num_reductions) == 4


def test_lr_range_test_is_reexported_lazily():
    import lrsched_torch.finder

    assert lrsched_torch.lr_range_test is lrsched_torch.finder.lr_range_test
    with pytest.raises(AttributeError):
        lrsched_torch.no_such_name  # noqa: B018


@settings(max_examples=8)
@given(total=st.integers(20, 300), pct=st.floats(0.1, 0.9), div=st.floats(2.0, 100.0),
       final_div=st.floats(2.0, 1e4), anneal=st.sampled_from(["cos", "linear"]), groups=st.integers(1, 3))
def test_one_cycle_any_arguments_equals_torch_at_its_end_and_then_holds(total, pct, div, final_div, anneal, groups):
    kw = dict(total_steps=total, pct_start=pct, anneal_strategy=anneal, div_factor=div, final_div_factor=final_div)
    opt_a, opt_b = make_optimizer("adamw", groups), make_optimizer("adamw", groups)
    native = L.OneCycleLR(opt_a, max_lr=base_lrs(opt_a), **kw)
    bridge = lrsched_torch.ScheduleLR(opt_b, lr=[tc.OneCycleLR(b, **kw) for b in base_lrs(opt_b)],
                                      momentum=tc.OneCycleMomentum(**kw), chunk=64)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        lrs_a, moms_a = drive(opt_a, native, total, sparse=True)
    # torch's values at step T (its extrapolation), where the next step() raises
    lrs_a = np.vstack([lrs_a, [g["lr"] for g in opt_a.param_groups]])
    moms_a = np.vstack([moms_a, [momentum_of(g) for g in opt_a.param_groups]])
    with pytest.raises(ValueError, match="Tried to step"):
        native.step()
    lrs_b, moms_b = drive(opt_b, bridge, total + 100, sparse=True)  # 100 steps past torch's end: held
    assert_rel(lrs_b[:total + 1], lrs_a, "lr", rtol=1e-10)  # torch's cos(pi p) + 1 cancels near the end
    assert_rel(moms_b[:total + 1], moms_a, "momentum")
    assert (lrs_b[total + 1:] == lrs_b[total - 1]).all() and (moms_b[total + 1:] == moms_b[total - 1]).all()


def test_each_numpy_evaluation_runs_once_at_far_steps_when_the_table_is_built(monkeypatch):
    """A table's first computation also runs each numpy evaluation at WARM_STEPS (a step decay past its table of
    powers: that code's first run in the process happens at construction, not in a step); the values are
    discarded, and an evaluation that raises there changes nothing (its chunks raise or fall back in their own
    time: the columns stay numpy, even on an error that makes a chunk's evaluation fall back to JAX)."""
    seen, fail = [], [None]
    real_stages = _numpy.Evaluator.stages

    def stages(self, steps, **options):
        seen.append(tuple(steps.tolist()))
        if fail[0] is not None and len(steps) == len(_table.WARM_STEPS):
            raise fail[0]("far steps")  # (any error: the warm-up's values are discarded)
        return (yield from real_stages(self, steps, **options))

    monkeypatch.setattr(_numpy.Evaluator, "stages", stages)
    want = None
    for fail[0] in (None, _numpy.Unsupported, OverflowError):
        seen.clear()
        sched = lrsched_torch.ScheduleLR(make_optimizer("sgd", 2), lr=[lrsched.step_decay(0.1, 1000, 0.9),
                                                                       lrsched.cosine(0.3, 5000)])
        assert tuple(_table.WARM_STEPS) in seen and len(seen) == 4, seen  # (two chunk evaluations, two warm-ups)
        assert all(column.numpy for column in sched._table.columns), fail[0]
        lrs = [g["lr"] for g in sched.optimizer.param_groups]
        for _ in range(20_000):
            sched.step()
        lrs.append(sched.get_last_lr())
        assert want is None or lrs == want
        want = lrs
    assert want[-1] == pytest.approx([0.1 * 0.9**20, 0.0], rel=1e-12)  # (the cosine ended at step 5000)
