"""No silent wrong rate: replaced group dicts, groups added later, step(epoch), two schedulers on one
optimizer, configs that torch.load(weights_only=True) reads, and tables read from several threads."""

from __future__ import annotations

import copy
import io
import pickle
import sys
import threading
import types
import warnings

import jax
import lrsched_torch
import numpy as np
import pytest
import torch
from cases import CASES
from lrsched_torch import _table
from lrsched_torch import lr_scheduler as dl

import lrsched
from lrsched.compat import optax as co
from lrsched.compat import torch as tc
from lrsched.compat import transformers as tf

L = torch.optim.lr_scheduler


def sgd(n_groups: int = 1, lr: float = 0.1) -> torch.optim.Optimizer:
    groups = [{"params": [torch.nn.Parameter(torch.zeros(2))], "lr": lr * (i + 1)} for i in range(n_groups)]
    return torch.optim.SGD(groups, lr=lr, momentum=0.9)


def lrs(opt: torch.optim.Optimizer) -> list[float]:
    return [float(g["lr"]) for g in opt.param_groups]


# ----------------------------------------------------------- 1. param_groups read at every write


@pytest.mark.parametrize("make", [
    lambda o: lrsched_torch.ScheduleLR(o, lr=lrsched.linear(0.1, 0.0, 10)),
    lambda o: lrsched_torch.lambda_lr(o, lrsched.linear(0.1, 0.0, 10)),
    lambda o: dl.LinearLR(o, start_factor=1.0, end_factor=0.0, total_iters=10),
    lambda o: dl.LambdaLR(o, lambda k: 1.0 - k / 10),
], ids=["ScheduleLR", "lambda_lr", "lr_scheduler.LinearLR", "lr_scheduler.LambdaLR"])
def test_optimizer_reloaded_after_construction_keeps_being_driven(make):
    """The issue's repro: Optimizer.load_state_dict replaces the group dicts (so does accelerate.prepare)."""
    opt = sgd()
    sched = make(opt)
    opt.load_state_dict(opt.state_dict())
    for _ in range(5):
        opt.step()
        sched.step()
    native_opt = sgd()
    native = L.LinearLR(native_opt, start_factor=1.0, end_factor=0.0, total_iters=10)
    for _ in range(5):
        native_opt.step()
        native.step()
    assert lrs(opt) == pytest.approx(lrs(native_opt), rel=1e-14) and lrs(opt)[0] == pytest.approx(0.05)
    assert sched.get_last_lr() == pytest.approx([0.05])


# ----------------------------------------------------------- 5. groups added later


def test_group_added_later_follows_one_schedule_for_all():
    s = lrsched.step_decay(0.1, 2, 0.5)
    for make in (lambda o: lrsched_torch.ScheduleLR(o, lr=s, momentum=lrsched.constant(0.8)),
                 lambda o: lrsched_torch.lambda_lr(o, s)):
        opt = sgd()
        sched = make(opt)
        sched.step()
        opt.add_param_group({"params": [torch.nn.Parameter(torch.zeros(1))], "lr": 0.3})
        sched.step()
        sched.step()
        assert lrs(opt) == [pytest.approx(0.05), pytest.approx(0.05)]
        assert len(sched.base_lrs) == 2 and opt.param_groups[1]["initial_lr"] == 0.3
        assert len(sched.get_last_lr()) == 2


def test_group_added_later_in_a_torch_named_class_gets_its_own_initial_lr():
    opt_a, opt_b = sgd(), sgd()
    ours, native = dl.StepLR(opt_a, 2, 0.5), L.StepLR(opt_b, 2, 0.5)
    for opt in (opt_a, opt_b):
        opt.add_param_group({"params": [torch.nn.Parameter(torch.zeros(1))], "lr": 0.3})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for _ in range(4):
            ours.step()
            native.step()  # torch's recursive form multiplies the new group's current lr
    assert lrs(opt_a) == pytest.approx([0.025, 0.3 * 0.25]) and lrs(opt_a) == pytest.approx(lrs(opt_b), rel=1e-15)


@pytest.mark.parametrize("make", [
    lambda o: lrsched_torch.ScheduleLR(o, lr=[lrsched.constant(0.1)]),
    lambda o: lrsched_torch.ScheduleLR(o, lr={0: lrsched.constant(0.1)}),
    lambda o: lrsched_torch.lambda_lr(o, [lrsched.constant(0.1)]),
    lambda o: dl.LambdaLR(o, [lambda k: 1.0]),
    lambda o: dl.OneCycleLR(o, [0.1], total_steps=10),
], ids=["list", "dict", "lambda_lr-list", "LambdaLR-list", "OneCycleLR-list"])
def test_group_added_later_with_per_group_schedules_is_a_clear_error(make):
    opt = sgd()
    sched = make(opt)
    opt.add_param_group({"params": [torch.nn.Parameter(torch.zeros(1))], "lr": 0.3})
    with pytest.raises(ValueError, match="add_param_group"):
        sched.step()


# ----------------------------------------------------------- 5. step(epoch)


def test_step_with_an_epoch_is_torchs_deprecated_closed_form():
    s = tc.StepLR(0.1, 3, 0.5)
    opt = sgd()
    sched = lrsched_torch.ScheduleLR(opt, lr=s)
    with pytest.warns(UserWarning, match="deprecated"):
        sched.step(epoch=7)
    assert sched.last_epoch == 7 and lrs(opt) == [pytest.approx(0.025)]
    sched.step()
    assert sched.last_epoch == 8 and lrs(opt) == [pytest.approx(0.025)]
    # a bare number without a plateau schedule is not silently read as a metric
    with pytest.raises(ValueError, match=r"step\(epoch=\.\.\.\)"):
        sched.step(5)
    # the torch-named classes take it positionally, as torch does
    opt_a, opt_b = sgd(), sgd()
    ours, native = dl.StepLR(opt_a, 3, 0.5), L.StepLR(opt_b, 3, 0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for epoch in (4, 9, 2, 12):
            ours.step(epoch)
            native.step(epoch)
            assert lrs(opt_a) == pytest.approx(lrs(opt_b), rel=1e-15) and ours.last_epoch == native.last_epoch


def test_fractional_epochs_of_cosine_annealing_warm_restarts_equal_torch():
    opt_a, opt_b = sgd(2), sgd(2)
    ours = dl.CosineAnnealingWarmRestarts(opt_a, T_0=3, T_mult=2, eta_min=1e-3)
    native = L.CosineAnnealingWarmRestarts(opt_b, T_0=3, T_mult=2, eta_min=1e-3)
    iters = 7
    for epoch in range(12):
        for i in range(iters):
            x = epoch + i / iters
            ours.step(x)
            native.step(x)
            np.testing.assert_allclose(lrs(opt_a), lrs(opt_b), rtol=1e-12)
            assert ours.last_epoch == native.last_epoch
            assert ours.T_cur == pytest.approx(native.T_cur, abs=1e-12) and ours.T_i == native.T_i
    for _ in range(10):  # then plain steps continue from the fraction, as in torch
        ours.step()
        native.step()
        np.testing.assert_allclose(lrs(opt_a), lrs(opt_b), rtol=1e-12)
    state = ours.state_dict()
    again = dl.CosineAnnealingWarmRestarts(sgd(2), T_0=3, T_mult=2, eta_min=1e-3)
    again.load_state_dict(state)
    assert lrs(again.optimizer) == lrs(opt_a)


@pytest.mark.parametrize("T_mult", [1, 2])
@pytest.mark.parametrize("assignments", [{3: 7, 4: 8, 5: 9}, {5: 1, 9: 6}, {2: 2.5}, {6: 0}],
                         ids=["past the cycle (torch's test_CosineAnnealingWarmRestarts_T_cur_reset)", "within",
                              "fractional", "back to the start"])
def test_assigning_t_cur_of_cosine_annealing_warm_restarts_is_torchs(T_mult, assignments):
    runs = []
    for module in (L, dl):
        opt = sgd(2)
        sched = module.CosineAnnealingWarmRestarts(opt, T_0=4, T_mult=T_mult, eta_min=1e-3)
        trace = []
        for k in range(30):
            if k in assignments:
                sched.T_cur = assignments[k]
                trace.append((sched.T_cur, sched.T_i, *lrs(opt)))  # (the lr changes at the next step)
            opt.step()
            sched.step()
            trace.append((sched.T_cur, sched.T_i, *lrs(opt)))
        runs.append((trace, sched))
    (want, _), (got, ours) = runs
    np.testing.assert_allclose(np.array(got, float), np.array(want, float), rtol=1e-12)
    # the moved schedule is saved: a resumed run goes on as this one
    again = dl.CosineAnnealingWarmRestarts(sgd(2), T_0=4, T_mult=T_mult, eta_min=1e-3)
    again.load_state_dict(ours.state_dict())
    for _ in range(9):
        for s in (ours, again):
            s.optimizer.step()
            s.step()
        assert lrs(again.optimizer) == lrs(ours.optimizer) and again.T_cur == ours.T_cur
    ours.step(3)  # an epoch: torch's closed form, whatever T_cur was set to
    assert ours.T_cur == 3 and ours.T_i == 4


# ----------------------------------------------------------- 5. two schedulers on one optimizer


def test_a_second_scheduler_on_the_same_values_is_a_clear_error():
    opt = sgd()
    first = lrsched_torch.ScheduleLR(opt, lr=lrsched.cosine(0.1, 100))
    second = lrsched_torch.ScheduleLR(opt, lr=lrsched.constant(0.01))
    second.step()
    with pytest.raises(ValueError, match="another scheduler on the same optimizer.*product"):
        first.step()
    # with torch's own scheduler (torch's chaining would multiply StepLR's factor into a value we overwrite)
    opt = sgd()
    ours = lrsched_torch.ScheduleLR(opt, lr=lrsched.cosine(0.1, 100))
    native = L.StepLR(opt, 1, 0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        native.step()
    with pytest.raises(ValueError, match="something else changed it"):
        ours.step()
    # lambda_lr too; and torch's ChainedScheduler over the torch-named classes
    opt = sgd()
    a, b = lrsched_torch.lambda_lr(opt, lrsched.cosine(0.1, 100)), lrsched_torch.lambda_lr(opt, lrsched.constant(0.05))
    b.step()
    with pytest.raises(ValueError, match="another scheduler"):
        a.step()
    # torch's ChainedScheduler over a scheduler that sets the lr outright (OneCycleLR): torch's last writer wins;
    # here the second step finds ExponentialLR's change and refuses it
    opt = sgd()
    chained = L.ChainedScheduler([dl.OneCycleLR(opt, 0.1, total_steps=50), dl.ExponentialLR(opt, 0.9)])
    with pytest.raises(ValueError, match="another scheduler"):
        chained.step()
        chained.step()


@pytest.mark.parametrize("make", [
    lambda o: lrsched_torch.ScheduleLR(o, lr=lrsched.cosine(0.1, 100)),
    lambda o: lrsched_torch.lambda_lr(o, lrsched.cosine(0.1, 100)),
    lambda o: dl.OneCycleLR(o, 0.1, total_steps=100, cycle_momentum=False),
], ids=["ScheduleLR", "lambda_lr", "lr_scheduler.OneCycleLR"])
def test_a_second_writer_of_a_tensor_lr_is_a_clear_error_too(make):
    """Tensor rates (capturable and fused optimizers) are written in place, so their identity says nothing: the
    version counter tells another writer apart (a rewrite with the same value is fine, as for floats), without
    reading the value at every step."""
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(2))], lr=torch.tensor(0.1), momentum=0.9)
    ours = make(opt)
    tensor = opt.param_groups[0]["lr"]
    for _ in range(3):
        opt.step()
        ours.step()
    assert opt.param_groups[0]["lr"] is tensor  # written in place
    tensor.fill_(float(tensor))  # the same value again: no conflict
    ours.step()
    other = L.StepLR(opt, 1, 0.5)  # torch's scheduler writes the tensor too
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        other.step()
    with pytest.raises(ValueError, match="something else changed it"):
        ours.step()
    # a replaced tensor holding another value is caught as well
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(2))], lr=torch.tensor(0.1), momentum=0.9)
    ours = make(opt)
    ours.step()
    opt.param_groups[0]["lr"] = torch.tensor(0.5)
    with pytest.raises(ValueError, match="something else changed it"):
        ours.step()


def _chain(module, opt, names):
    make = {"StepLR": lambda o: module.StepLR(o, 3, 0.5), "ExponentialLR": lambda o: module.ExponentialLR(o, 0.95),
            "LinearLR": lambda o: module.LinearLR(o, 0.25, total_iters=6),
            "ConstantLR": lambda o: module.ConstantLR(o, 0.5, 4),
            "MultiStepLR": lambda o: module.MultiStepLR(o, [2, 7], 0.3),
            "CosineAnnealingLR": lambda o: module.CosineAnnealingLR(o, 40, eta_min=1e-3),  # (past T_max torch adds)
            "PolynomialLR": lambda o: module.PolynomialLR(o, 15, 2.0),
            "ReduceLROnPlateau": lambda o: module.ReduceLROnPlateau(o, patience=1, factor=0.5)}
    return [make[n](opt) for n in names]


@pytest.mark.parametrize("names, written", [
    (("StepLR", "ExponentialLR"), 0.07), (("LinearLR", "MultiStepLR"), 0.07), (("ExponentialLR", "ConstantLR"), 0.07),
    (("CosineAnnealingLR", "ExponentialLR"), 0.07), (("PolynomialLR", "StepLR", "LinearLR"), 0.07),
    (("ReduceLROnPlateau", "StepLR"), 0.07),
    (("CosineAnnealingLR",), 4e-4),  # below the cosine's eta_min: torch's form rises back to it
])
def test_recursive_drop_ins_follow_other_writers_as_torchs_do(names, written):
    """torch's recursive schedulers compute the next lr from the current one, so several on one optimizer
    chain (torch's documented back-to-back use), and a change by other code carries on (Lightning's
    BackboneFinetuning writing a group's lr, an lr finder's suggestion, a group added mid-run): the drop-ins
    follow such a change the same way (a rebuilt schedule; the value is torch's within rounding), and a
    state saved after it resumes exactly."""
    metrics = [1.0, 0.9, 0.95, 0.97, 0.99, 0.98, 0.5, 0.6, 0.7, 0.4, 0.45, 0.3, 0.35, 0.36, 0.37, 0.38] * 2
    runs = []
    for module in (L, dl):
        opt = sgd(2)
        scheds = _chain(module, opt, names)
        trace = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for k in range(30):
                if k == 10:  # code writes a group's lr (BackboneFinetuning does at every epoch start)
                    opt.param_groups[1]["lr"] = written
                if k == 14:  # a group added mid-run
                    opt.add_param_group({"params": [torch.nn.Parameter(torch.zeros(2))], "lr": 0.05,
                                         "momentum": 0.9})
                    if "ReduceLROnPlateau" in names:
                        break
                opt.step()
                for s in scheds:
                    s.step(metrics[k]) if isinstance(s, L.ReduceLROnPlateau) else s.step()
                trace.append(lrs(opt))
        runs.append((trace, opt, scheds))
    (want, _, _), (got, opt, scheds) = runs
    assert len(got) == len(want)
    for k, (a, b) in enumerate(zip(got, want)):
        np.testing.assert_allclose(a, b, rtol=1e-12, err_msg=f"step {k}")
    # a state saved after following resumes exactly: the followed schedule is in it
    if "ReduceLROnPlateau" not in names:
        states = [s.state_dict() for s in scheds]
        opt2 = sgd(3)
        opt2.load_state_dict(opt.state_dict())
        again = _chain(dl, opt2, names)
        for s, state in zip(again, states):
            s.load_state_dict(state)
        for _ in range(5):
            for o, ss in ((opt, scheds), (opt2, again)):
                o.step()
                for s in ss:
                    s.step()
            np.testing.assert_allclose(lrs(opt2), lrs(opt), rtol=1e-12)


def test_a_cosine_chained_with_a_decay_below_its_eta_min_is_torchs():
    """torch's test_compound_cosanneal_and_exp_lr: CosineAnnealingLR(eta_min=1e-10) and ExponentialLR(0.1) back
    to back take the lr below eta_min (the cosine's recursive form then works on a negative lr - eta_min)."""
    runs = []
    for module in (L, dl):
        opt = sgd(2)
        scheds = [module.CosineAnnealingLR(opt, T_max=10, eta_min=1e-10), module.ExponentialLR(opt, gamma=0.1)]
        trace = []
        for _ in range(10):
            trace.append(lrs(opt))
            opt.step()
            for s in scheds:
                s.step()
        runs.append(trace)
    np.testing.assert_allclose(runs[1], runs[0], rtol=1e-12, atol=0)
    assert min(min(t) for t in runs[1]) < 1e-10


def test_a_recursive_drop_in_at_its_floor_names_why_it_cannot_follow():
    opt = sgd(1)
    sched = dl.PolynomialLR(opt, total_iters=4, power=1.0)
    for _ in range(5):
        opt.step()
        sched.step()
    opt.param_groups[0]["lr"] = 0.01  # torch's PolynomialLR carries it on past total_iters
    with pytest.raises(ValueError, match=r"PolynomialLR: .* 0.0 at its last step, its floor.*ConstantLR"):
        sched.step()


def test_the_step_epoch_and_call_order_warnings_are_torchs_text():
    """torch's step(epoch) deprecation, and its warnings about the first step() before optimizer.step() and about
    an optimizer.step() replaced after the scheduler was built (pytorch#20124): the same texts, in the same order,
    at the caller's line (torch's test_old_pattern_warning* and test_new_pattern_no_warning*)."""
    def replaced(o):
        o.step = types.MethodType(lambda self, *a, **k: None, o)

    cases = [(lambda m, o: m.StepLR(o, 3), (4,), None), (lambda m, o: m.LambdaLR(o, lambda k: 1.0), (4,), None),
             (lambda m, o: m.StepLR(o, 3), (), None), (lambda m, o: m.OneCycleLR(o, 1.0, 10), (), None),
             (lambda m, o: m.ExponentialLR(o, 0.9), (), replaced),
             (lambda m, o: m.SequentialLR(o, [m.StepLR(o, 2), m.StepLR(o, 3)], [2]), (), None),
             (lambda m, o: m.CosineAnnealingWarmRestarts(o, 3), (), None)]  # (torch's CAWR does not check)
    for make, args, meddle in cases:
        texts = []
        for module in (L, dl):
            opt = sgd()
            sched = make(module, opt)
            if meddle is not None:
                meddle(opt)
            with warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                sched.step(*args)
                opt.step()
                sched.step()
            texts.append([str(w.message) for w in caught])
            if module is dl:  # (torch's SequentialLR points into torch, where it steps its child)
                assert {w.filename for w in caught} <= {__file__}
        assert texts[1] == texts[0]
    with warnings.catch_warnings(record=True) as caught:  # lrsched's own ScheduleLR never warns about the order
        warnings.simplefilter("always")
        lrsched_torch.ScheduleLR(sgd(), lr=lrsched.constant(0.1)).step()
    assert not caught


def test_different_values_and_a_new_scheduler_for_a_restart_are_fine():
    opt = sgd()
    lr_only = lrsched_torch.ScheduleLR(opt, lr=lrsched.cosine(0.1, 100))
    momentum_only = lrsched_torch.ScheduleLR(opt, momentum=lrsched.linear(0.95, 0.85, 100))
    for _ in range(10):
        lr_only.step()
        momentum_only.step()
    assert opt.param_groups[0]["momentum"] == pytest.approx(0.94)
    restarted = lrsched_torch.ScheduleLR(opt, lr=lrsched.cosine(0.05, 100))  # replaces lr_only, never stepped again
    for _ in range(3):
        restarted.step()
    assert lrs(opt) == [pytest.approx(float(lrsched.evaluate(lrsched.cosine(0.05, 100), [3])[0]), rel=1e-6)]


def test_chained_scheduler_is_the_product_and_refuses_setters():
    opt_a, opt_b = sgd(2), sgd(2)
    ours = dl.ChainedScheduler([dl.LinearLR(opt_a, 0.1, total_iters=10), dl.ExponentialLR(opt_a, 0.95),
                                dl.MultiStepLR(opt_a, [20, 40], 0.3)])
    native = L.ChainedScheduler([L.LinearLR(opt_b, 0.1, total_iters=10), L.ExponentialLR(opt_b, 0.95),
                                 L.MultiStepLR(opt_b, [20, 40], 0.3)])
    for _ in range(60):
        np.testing.assert_allclose(lrs(opt_a), lrs(opt_b), rtol=1e-13)
        assert ours.get_last_lr() == pytest.approx(native.get_last_lr(), rel=1e-13)
        opt_a.step()
        opt_b.step()
        ours.step()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            native.step()
    opt = sgd()
    with pytest.raises(ValueError, match="sets the lr outright"):
        dl.ChainedScheduler([dl.LinearLR(opt, 0.1, total_iters=10), dl.OneCycleLR(opt, 0.1, total_steps=100)])
    with pytest.raises(TypeError, match="Import it from there"):
        dl.ChainedScheduler([L.StepLR(opt, 3)])


# ----------------------------------------------------------- 4. torch.load(weights_only=True)


def _all_schedules() -> dict[str, lrsched.Schedule]:
    out = {f"case:{c.name}": c.make(c.params) for c in CASES}
    out |= {
        "SequentialLR": tc.SequentialLR([tc.LinearLR(0.1, 0.1, total_iters=5), tc.CosineAnnealingLR(0.1, 10)], [5]),
        "SequentialLR-same-structure": tc.SequentialLR([tc.StepLR(0.1, 3), tc.StepLR(0.05, 4)], [7]),
        "get_scheduler(linear)": tf.get_scheduler("linear", 0.1, 10, 100),
        "get_scheduler(cosine)": tf.get_scheduler("cosine", 0.1, 10, 100),
        "join-same-structure": lrsched.join([lrsched.cosine(0.1, 10), lrsched.cosine(0.05, 10)], [10]),
        "optax.join_schedules": co.join_schedules([co.linear_schedule(0.0, 0.1, 10), co.cosine_decay_schedule(0.1, 90)],
                                                  [10]),
        "CyclicLR": tc.CyclicLR(0.01, 0.1, 10), "OneCycleLR": tc.OneCycleLR(0.1, total_steps=100),
        "CosineAnnealingWarmRestarts": tc.CosineAnnealingWarmRestarts(0.1, 10, 2),
        "ReduceLROnPlateau": tc.ReduceLROnPlateau(0.1),
        "plateau(warmup)": lrsched.plateau(lrsched.warmup(lrsched.constant(0.1), 5), start=5),
        "noise": lrsched.noise(lrsched.constant(0.1), 0.1),
    }
    return out


SCHEDULES = _all_schedules()


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_every_state_dict_loads_with_weights_only(name):
    s = SCHEDULES[name]
    config = lrsched.to_config(s)
    for obj in (config, lrsched.to_config(lrsched.from_config(config))):
        buf = io.BytesIO()
        torch.save(obj, buf)
        assert torch.load(io.BytesIO(buf.getvalue()), weights_only=True) == obj
    opt = sgd()
    states = [lrsched_torch.ScheduleLR(opt, lr=s).state_dict()]
    if "plateau" not in name.lower():
        states.append(lrsched_torch.lambda_lr(sgd(), s).state_dict())
    for state in states:
        buf = io.BytesIO()
        torch.save(state, buf)
        assert torch.load(io.BytesIO(buf.getvalue()), weights_only=True) == state


def test_configs_hold_plain_python_numbers():
    def walk(x):
        if isinstance(x, dict):
            for v in x.values():
                walk(v)
        elif isinstance(x, list):
            for v in x:
                walk(v)
        else:
            assert x is None or type(x) in (bool, int, float, str), f"{type(x).__name__}: {x!r}"

    for s in SCHEDULES.values():
        walk(lrsched.to_config(s))
    walk(lrsched.to_config(lrsched.cosine(np.float32(0.1), np.int64(10), np.float64(0.0))))


@pytest.mark.parametrize("name", ["StepLR", "OneCycleLR", "SequentialLR", "ReduceLROnPlateau", "CyclicLR"])
def test_torch_named_state_dicts_load_with_weights_only(name):
    opt = sgd()
    make = {"StepLR": lambda: dl.StepLR(opt, 3), "OneCycleLR": lambda: dl.OneCycleLR(opt, 0.1, total_steps=10),
            "SequentialLR": lambda: dl.SequentialLR(opt, [dl.LinearLR(opt, 0.1, total_iters=3),
                                                          dl.StepLR(opt, 3)], [3]),
            "ReduceLROnPlateau": lambda: dl.ReduceLROnPlateau(opt), "CyclicLR": lambda: dl.CyclicLR(opt, 0.01, 0.1)}
    state = make[name]().state_dict()
    buf = io.BytesIO()
    torch.save(state, buf)
    assert torch.load(io.BytesIO(buf.getvalue()), weights_only=True) == state


# ----------------------------------------------------------- 8. tables read from several threads


def test_table_is_exact_under_concurrent_readers_and_a_stepping_thread():
    s = lrsched.warmup(lrsched.cycle(lrsched.cosine(0.2, 30, end_value=0.01), period=30, period_mul=2), 7)
    config = lrsched.to_config(s)
    n = 3000
    with jax.enable_x64(True):
        reference = np.asarray(lrsched.evaluate(lrsched.from_config(config), n), np.float64)
    column = _table.ScheduleColumn(config)
    table = _table.Table([column, _table.ScheduleColumn(lrsched.to_config(lrsched.linear(1.0, 0.0, n)))], chunk=16)
    linear = np.linspace(1.0, 0.0, n + 1)[:n]
    errors: list[str] = []
    stop = threading.Event()

    def stepper():
        for k in range(n):
            row = table.row(k)
            if abs(row[0] - reference[k]) > 1e-14 * abs(reference[k]) or abs(row[1] - linear[k]) > 1e-15:
                errors.append(f"stepper at {k}: {row}")
        stop.set()

    def reader(seed):
        rng = np.random.default_rng(seed)
        while not stop.is_set():
            k = int(rng.integers(0, n))
            v = table.value(k, 0)
            if abs(v - reference[k]) > 1e-14 * abs(reference[k]):
                errors.append(f"reader at {k}: {v} != {reference[k]}")

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    try:
        threads = [threading.Thread(target=reader, args=(i,)) for i in range(3)] + [threading.Thread(target=stepper)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=120)
    finally:
        sys.setswitchinterval(old)
    assert not errors, errors[:5]


def test_a_monitor_thread_reads_rates_while_training_steps():
    opt = sgd(4)
    s = lrsched.warmup(lrsched.cosine(0.1, 4000), 50)
    sched = lrsched_torch.ScheduleLR(opt, lr=s, momentum=lrsched.linear(0.95, 0.85, 4000), chunk=64)
    with jax.enable_x64(True):
        allowed = set(np.asarray(lrsched.evaluate(lrsched.from_config(lrsched.to_config(s)), 4001)).tolist())
    seen, errors = [], []
    stop = threading.Event()

    def monitor():
        while not stop.is_set():
            try:
                last = sched.get_last_lr()
                now = sched.get_lr()
                seen.append(len(last))
                if not set(last) <= allowed or not set(now) <= allowed:
                    errors.append((last, now))
            except Exception as e:  # noqa: BLE001 - any exception in the monitor is the failure
                errors.append(repr(e))

    old = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    thread = threading.Thread(target=monitor)
    thread.start()
    try:
        for _ in range(4000):
            sched.step()
    finally:
        stop.set()
        thread.join(timeout=60)
        sys.setswitchinterval(old)
    assert not errors, errors[:3]
    assert seen and set(seen) == {4}
    assert lrs(opt)[0] == pytest.approx(float(lrsched.evaluate(lrsched.cosine(0.1, 4000), [3950])[0]), rel=1e-6)


@pytest.mark.parametrize("make", [
    lambda o: lrsched_torch.ScheduleLR(o, lr=lrsched.plateau(lrsched.cosine(0.1, 300), patience=0),
                                       momentum=lrsched.linear(0.95, 0.85, 300), chunk=64),
    lambda o: lrsched_torch.lambda_lr(o, lrsched.cosine(0.1, 300)),
    lambda o: dl.OneCycleLR(o, 0.1, total_steps=300),
    lambda o: dl.StepLR(o, 7, 0.5),
], ids=["ScheduleLR-plateau", "lambda_lr", "OneCycleLR", "StepLR"])
def test_deepcopy_and_pickle_of_a_running_scheduler(make):
    sched = make(sgd())
    plateau = sched.__class__ is lrsched_torch.ScheduleLR

    def run(s, n, first):
        out = []
        for k in range(first, first + n):
            s.step(*([1.0 + (k % 3)] if plateau else []))
            out.append(lrs(s.optimizer))
        return out

    run(sched, 100, 0)
    clones = [copy.deepcopy(sched), pickle.loads(pickle.dumps(sched))]
    # pickled by the version before tensor values were tracked (no _tensors / bridge.tensors): loads and runs
    old = pickle.loads(pickle.dumps(sched))
    if hasattr(old, "_bridge"):
        object.__delattr__(old._bridge, "tensors")
    else:
        del old._tensors
    clones.append(pickle.loads(pickle.dumps(old)))
    want = run(sched, 150, 100)
    for clone in clones:
        assert run(clone, 150, 100) == want
    assert len({tuple(x) for x in want}) > 10


def test_a_pickle_with_the_old_position_flag_loads():
    """Pickles written before the position was kept only while fractional carry a ``_slow`` flag and a whole-step
    position: they load at their step (and a fractional one at its fraction)."""
    sched = dl.CosineAnnealingWarmRestarts(sgd(), T_0=5)
    for _ in range(7):
        sched.optimizer.step()
        sched.step()
    for slow, position, want in ((False, 0.0, 7.0), (True, 6.5, 6.5)):
        state = sched.__getstate__()
        state.update(_slow=slow, _position=position, last_epoch=int(position) if slow else 7)
        old = type(sched).__new__(type(sched))
        old.__setstate__(state)
        assert "_slow" not in old.__dict__ and old._here() == want
        old.step()
        assert old._here() == want + 1


@pytest.mark.parametrize("name, kwargs", [
    ("ExponentialLR", {"gamma": 0.5}), ("StepLR", {"step_size": 2, "gamma": 0.5}),
    ("MultiStepLR", {"milestones": [2, 5], "gamma": 0.5}), ("LinearLR", {"start_factor": 0.25, "total_iters": 6}),
    ("ConstantLR", {"factor": 0.5, "total_iters": 3}), ("PolynomialLR", {"total_iters": 8, "power": 2.0}),
    ("CosineAnnealingLR", {"T_max": 6, "eta_min": 1e-3})])
def test_fractional_epochs_follow_torchs_closed_forms(name, kwargs):
    """The deprecated ``step(epoch)`` with a fractional epoch is torch's closed form there (ExponentialLR's
    ``gamma ** 2.5``: the drop-in took ``gamma ** 2``). (Plain steps after a fractional epoch are not compared:
    torch's recursive forms test ``last_epoch % step_size`` and the like on the fraction, and never decay again.)"""
    opt_a, opt_b = sgd(2), sgd(2)
    ours, native = getattr(dl, name)(opt_a, **kwargs), getattr(L, name)(opt_b, **kwargs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for epoch in (1, 2.5, 4.25, 7, None, 5.5, 0.75):
            for sched in (ours, native):
                sched.optimizer.step()
                sched.step() if epoch is None else sched.step(epoch)
            np.testing.assert_allclose(lrs(opt_a), lrs(opt_b), rtol=1e-12, err_msg=f"{name} at {epoch}")
