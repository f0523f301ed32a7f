"""Resuming a torch run with lrsched_torch: exact in both loading orders (torch is not, in one).

A run of N steps is compared with the same run interrupted at step K, saved with
torch.save, and resumed in a fresh model/optimizer/scheduler, loading the
optimizer state either after creating the scheduler ("scheduler first") or
before ("optimizer first", where torch's own schedulers use a wrong lr for one
step: pytorch#65342, #60265).
"""

from __future__ import annotations

import io
import warnings

import lrsched_torch
import numpy as np
import pytest
import torch

import lrsched
from lrsched._plateau import plateau
from lrsched.compat import torch as tc

N, K = 60, 23
TOTAL = 50  # OneCycle ends before N: resuming past the end must hold too


def data(step: int) -> tuple[torch.Tensor, torch.Tensor]:
    g = torch.Generator().manual_seed(step)
    x = torch.randn(8, 4, generator=g, dtype=torch.float64)
    return x, x @ torch.tensor([1.0, -2.0, 0.5, 3.0], dtype=torch.float64)


def fresh(kind: str = "sgd") -> tuple[torch.nn.Module, torch.optim.Optimizer]:
    torch.manual_seed(0)
    model = torch.nn.Sequential(torch.nn.Linear(4, 3), torch.nn.Tanh(), torch.nn.Linear(3, 1)).double()
    groups = [{"params": model[0].parameters(), "name": "body"}, {"params": model[2].parameters(), "name": "head"}]
    if kind == "sgd":
        return model, torch.optim.SGD(groups, lr=0.05, momentum=0.9)
    return model, torch.optim.AdamW(groups, lr=0.05)


def train(model, opt, sched, start: int, stop: int, metric_every: int = 0) -> list[tuple]:
    """Steps start..stop-1; returns (lr, momentum) of every group as used by each optimizer step."""
    used = []
    for step in range(start, stop):
        used.append(tuple((float(g["lr"]), float(g["betas"][0] if "betas" in g else g["momentum"]))
                          for g in opt.param_groups))
        x, y = data(step)
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(model(x).squeeze(-1), y)
        loss.backward()
        opt.step()
        if metric_every and (step + 1) % metric_every == 0:
            sched.step(loss.item())
        else:
            sched.step()
    return used


def checkpoint(model, opt, sched) -> bytes:
    buf = io.BytesIO()
    torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict()}, buf)
    return buf.getvalue()


def resume(blob: bytes, make_sched, order: str, kind: str = "sgd"):
    saved = torch.load(io.BytesIO(blob))  # weights_only=True (the default): plain data only
    model, opt = fresh(kind)
    model.load_state_dict(saved["model"])
    if order == "scheduler first":  # build the scheduler, reload the optimizer after it, then its state
        sched = make_sched(opt)
        opt.load_state_dict(saved["opt"])
        sched.load_state_dict(saved["sched"])
    elif order == "optimizer first":  # the optimizer's state before the scheduler exists
        opt.load_state_dict(saved["opt"])
        sched = make_sched(opt)
        sched.load_state_dict(saved["sched"])
    else:  # "scheduler state first": the scheduler's state, then the optimizer's
        sched = make_sched(opt)
        sched.load_state_dict(saved["sched"])
        opt.load_state_dict(saved["opt"])
    return model, opt, sched


def one_cycle(opt):
    return lrsched_torch.ScheduleLR(
        opt, lr={"body": tc.OneCycleLR(0.1, total_steps=TOTAL), "head": tc.OneCycleLR(0.3, total_steps=TOTAL)},
        momentum=tc.OneCycleMomentum(total_steps=TOTAL))


def run_both(make_sched, order, kind="sgd", metric_every=0, make_resumed=None):
    model, opt = fresh(kind)
    sched = make_sched(opt)
    straight = train(model, opt, sched, 0, N, metric_every)
    final = [p.detach().clone() for p in model.parameters()]

    model, opt = fresh(kind)
    sched = make_sched(opt)
    first = train(model, opt, sched, 0, K, metric_every)
    blob = checkpoint(model, opt, sched)
    model, opt, sched = resume(blob, make_resumed or make_sched, order, kind)
    second = train(model, opt, sched, K, N, metric_every)
    return straight, first + second, final, [p.detach() for p in model.parameters()]


ORDERS = ["scheduler first", "optimizer first", "scheduler state first"]


def _lambda_lr(opt):
    return lrsched_torch.lambda_lr(opt, [tc.OneCycleLR(0.1, total_steps=TOTAL), tc.OneCycleLR(0.3, total_steps=TOTAL)])


def _drop_in_one_cycle(opt):
    from lrsched_torch.lr_scheduler import OneCycleLR

    return OneCycleLR(opt, max_lr=[0.1, 0.3], total_steps=TOTAL)


def _drop_in_lambda(opt):
    from lrsched_torch.lr_scheduler import LambdaLR

    return LambdaLR(opt, lambda k: 0.97**k)


def _drop_in_sequential(opt):
    from lrsched_torch import lr_scheduler as dl

    return dl.SequentialLR(opt, [dl.LinearLR(opt, 0.2, total_iters=10), dl.CosineAnnealingLR(opt, 30)], [10])


def _drop_in_step(opt):  # a recursive class: it follows an lr it did not write (the loaded one must not count)
    from lrsched_torch import lr_scheduler as dl

    return dl.StepLR(opt, 7, 0.5)


SCHEDULERS = {"ScheduleLR": one_cycle, "lambda_lr": _lambda_lr, "lr_scheduler.OneCycleLR": _drop_in_one_cycle,
              "lr_scheduler.LambdaLR": _drop_in_lambda, "lr_scheduler.SequentialLR": _drop_in_sequential,
              "lr_scheduler.StepLR": _drop_in_step}


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("kind", ["sgd", "adamw"])
@pytest.mark.parametrize("name", list(SCHEDULERS))
def test_bridge_resume_is_exact_in_every_order(name, order, kind):
    straight, resumed, final, final_resumed = run_both(SCHEDULERS[name], order, kind)
    assert resumed == straight
    for a, b in zip(final, final_resumed):
        assert torch.equal(a, b)


def test_saved_schedules_win_over_the_ones_the_new_scheduler_was_built_with():
    with pytest.warns(UserWarning, match=r"lr schedule for param group 0 \(and param groups 1\) differs.*"
                                         r"saved one_cycle\(.*built constant\(value=1.0\).*keep_schedule=True"):
        straight, resumed, final, final_resumed = run_both(
            one_cycle, "optimizer first", make_resumed=lambda o: lrsched_torch.ScheduleLR(o, lr=lrsched.constant(1.0),
                                                                                           momentum=0.5))
    assert resumed == straight


def _extended(opt, steps, **kw):
    return lrsched_torch.ScheduleLR(opt, lr=lrsched.linear(0.1, 0.0, steps), **kw)


def _extended_lambda(opt, steps, **kw):
    return lrsched_torch.lambda_lr(opt, lrsched.linear(0.1, 0.0, steps), **kw)


@pytest.mark.parametrize("make", [_extended, _extended_lambda], ids=["ScheduleLR", "lambda_lr"])
def test_a_run_extended_with_a_rebuilt_schedule_warns_or_keeps_it(make):
    """A run of 10 steps resumed for 20 with the schedule rebuilt for 20 (a larger max_steps): by default the
    saved schedule continues (torch's rule: a state dict restores its scheduler's arguments), with a warning that
    names both; the saved one had reached its end, so it holds 0 (silently before). ``keep_schedule=True``
    continues the new schedule from the loaded step, as transformers' own (unsaved) lambdas do."""
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(2))], lr=0.1)
    sched = make(opt, 10)
    for _ in range(10):
        opt.step()
        sched.step()
    state = sched.state_dict()

    def resumed(**kw):
        opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(2))], lr=0.1)
        sched = make(opt, 20, **kw)
        sched.load_state_dict(state)
        lrs = []
        for _ in range(5):
            lrs.append(opt.param_groups[0]["lr"])
            opt.step()
            sched.step()
        return lrs

    with pytest.warns(UserWarning, match=r"saved linear\(init_value=0.1, end_value=0.0, steps=10\); built "
                                         r"linear\(init_value=0.1, end_value=0.0, steps=20\)"):
        assert resumed() == [0.0] * 5
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        np.testing.assert_allclose(resumed(keep_schedule=True), [0.1 * (1 - k / 20) for k in range(10, 15)],
                                   rtol=1e-12)
        # the same schedule rebuilt (a plain resume): nothing to say
        opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(2))], lr=0.1)
        make(opt, 10).load_state_dict(state)


def test_keep_schedule_needs_the_saved_plateaus_a_place():
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(2))], lr=0.1)
    sched = lrsched_torch.ScheduleLR(opt, lr=plateau(lrsched.constant(0.1), patience=0))
    sched.step(1.0)
    sched.step(2.0)  # worse: reduced (patience 0)
    assert int(sched.plateau_states[0].num_reductions) == 1
    state = sched.state_dict()
    other = lrsched_torch.ScheduleLR(opt, lr=lrsched.constant(0.2), keep_schedule=True)
    with pytest.raises(ValueError, match=r"keep_schedule=True\): the state has 1 plateau schedule\(s\), this "
                                         "scheduler 0"):
        other.load_state_dict(state)
    kept = lrsched_torch.ScheduleLR(opt, lr=plateau(lrsched.constant(0.2), patience=0), keep_schedule=True)
    kept.load_state_dict(state)  # the plateau's reductions load into the kept schedule
    assert opt.param_groups[0]["lr"] == pytest.approx(0.2 * 0.1)


def test_drop_ins_restore_torch_arguments_silently_as_torch_does():
    from lrsched_torch.lr_scheduler import StepLR

    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(2))], lr=0.1)
    sched = StepLR(opt, step_size=3, gamma=0.5)
    for _ in range(4):
        sched.step()
    state = sched.state_dict()
    again = StepLR(torch.optim.SGD([torch.nn.Parameter(torch.zeros(2))], lr=0.1), step_size=10, gamma=0.5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        again.load_state_dict(state)
    assert again.step_size == 3


@pytest.mark.parametrize("native", ["OneCycleLR", "LambdaLR"])
def test_torch_itself_is_wrong_for_one_step_when_the_optimizer_is_loaded_first(native):
    """The contrast: the same protocol with torch's own scheduler (pytorch#65342, #60265)."""
    def make(opt):
        if native == "OneCycleLR":
            return torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=[0.1, 0.3], total_steps=N + 1)
        return torch.optim.lr_scheduler.LambdaLR(opt, lambda k: 0.97**k)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        straight, resumed, _, _ = run_both(make, "scheduler first")
        assert resumed == straight  # this order is fine in torch too
        straight, resumed, _, _ = run_both(make, "optimizer first")
    wrong = [k for k in range(N) if resumed[k] != straight[k]]
    assert wrong[0] == K  # the first step after resuming uses the lr of step 0 ...
    assert resumed[K] == straight[0]
    if native == "LambdaLR":
        assert wrong == [K]  # ... and only that one for a closed-form scheduler

    # lambda_lr (a torch LambdaLR subclass) re-applies the loaded step: exact, as ScheduleLR
    straight, resumed, _, _ = run_both(lambda o: lrsched_torch.lambda_lr(o, lrsched.exponential(0.05, 0.97)),
                                       "optimizer first")
    assert resumed == straight


@pytest.mark.parametrize("order", ORDERS)
def test_plateau_state_resumes_exactly(order):
    """warmup + reduce-on-plateau (impossible with torch's schedulers), a metric every 3 steps."""
    def make(opt):
        p = plateau(lrsched.warmup(lrsched.constant(0.05), steps=6), factor=0.5, patience=1, threshold=0.05,
                    start=6)
        return lrsched_torch.ScheduleLR(opt, lr=p)

    straight, resumed, _, _ = run_both(make, order, metric_every=3)
    assert resumed == straight
    lrs = sorted({s[0][0] for s in straight})
    assert len(lrs) >= 4, f"the plateau must act in this run: {lrs}"


def test_state_dict_is_plain_data_with_configs_step_and_plateau():
    _, opt = fresh()
    p = tc.ReduceLROnPlateau(0.05, patience=0)
    sched = lrsched_torch.ScheduleLR(opt, lr=[p, lrsched.cosine(0.1, 10)], momentum={"head": lrsched.constant(0.8)})
    for metric in (3.0, 2.0, 2.5, 2.6):
        sched.step(metric)
    state = sched.state_dict()
    assert state["last_epoch"] == 4
    assert state["lr"][0] == lrsched.to_config(p) and state["lr"][1] == lrsched.to_config(lrsched.cosine(0.1, 10))
    assert state["momentum"] == [None, lrsched.to_config(lrsched.constant(0.8))]
    assert state["plateau_of"] == [0, None]
    assert state["plateau"][0]["num_reductions"] == 2 and state["plateau"][0]["rate"] == pytest.approx(5e-4)
    buf = io.BytesIO()
    torch.save(state, buf)
    again = torch.load(io.BytesIO(buf.getvalue()), weights_only=True)
    assert again == state
    _, opt2 = fresh()
    other = lrsched_torch.ScheduleLR(opt2, lr=[tc.ReduceLROnPlateau(0.05, patience=0), None])
    other.load_state_dict(again)
    assert [g["lr"] for g in opt2.param_groups] == [g["lr"] for g in opt.param_groups]
    assert np.isclose(opt2.param_groups[0]["lr"], 5e-4, rtol=1e-15)
    assert opt2.param_groups[1]["momentum"] == 0.8
    with pytest.raises(ValueError, match="not a ScheduleLR state dict"):
        other.load_state_dict(torch.optim.lr_scheduler.StepLR(opt, 3).state_dict())


@pytest.mark.parametrize("saved_momentum", [True, False])
def test_a_schedule_loaded_where_there_was_none_or_none_where_there_was_one_warns(saved_momentum):
    """A state without a momentum schedule loaded into a scheduler built with one leaves the momentum undriven
    (the saved run's), and the reverse starts driving it: both replace what the scheduler was built with, so both
    warn as a changed schedule does (and keep_schedule=True keeps the built ones)."""
    cos, mom = lrsched.cosine(0.1, 20), lrsched.linear(0.95, 0.85, 10)

    def make(with_momentum, **kw):
        opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(2))], lr=0.1, momentum=0.9)
        return opt, lrsched_torch.ScheduleLR(opt, lr=cos, momentum=mom if with_momentum else None, **kw)

    opt, sched = make(saved_momentum)
    for _ in range(5):
        opt.step()
        sched.step()
    state = sched.state_dict()
    opt2, other = make(not saved_momentum)
    with pytest.warns(UserWarning, match="momentum schedule for param group 0 differs.*keep_schedule=True"):
        other.load_state_dict(state)
    assert (other.momentum_schedules[0] is None) == (not saved_momentum)
    opt3, kept = make(not saved_momentum, keep_schedule=True)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        kept.load_state_dict(state)
    assert (kept.momentum_schedules[0] is None) == saved_momentum


# ---------------------------------------------------------------- other writers and added groups, then a resume


def _loop(opt, scheds, start: int, stop: int, events) -> list[list[float]]:
    """Steps start..stop-1 of a run with several schedulers on one optimizer (each stepping every `every`
    steps) and `events[step](opt)` run before that step's update; returns the lrs each update used."""
    used = []
    for step in range(start, stop):
        if step in events:
            events[step](opt)
        used.append([float(g["lr"]) for g in opt.param_groups])
        opt.step()
        for sched, every in scheds:
            if (step + 1) % every == 0:
                sched.step()
    return used


def _resumed_run(make_opt, make_scheds, events, order: str, stop: int = 30, at: int = 17, make_resumed=None):
    """The lrs of a run straight through, and of the same run saved after step `at` - 1 and resumed with
    fresh objects (groups the run added re-added before loading, as Lightning's BackboneFinetuning does;
    `make_resumed`: other schedulers for the resumed part, e.g. the drop-ins loading torch's states)."""
    opt = make_opt()
    straight = _loop(opt, make_scheds(opt), 0, stop, events)
    opt = make_opt()
    scheds = make_scheds(opt)
    first = _loop(opt, scheds, 0, at, events)
    blob = io.BytesIO()
    torch.save({"opt": opt.state_dict(), "scheds": [s.state_dict() for s, _ in scheds]}, blob)
    saved = torch.load(io.BytesIO(blob.getvalue()), weights_only=False)
    opt = make_opt()
    make_scheds = make_resumed or make_scheds
    if order == "optimizer first":
        for _ in range(len(saved["opt"]["param_groups"]) - len(opt.param_groups)):
            _add_group(opt)
        opt.load_state_dict(saved["opt"])
        scheds = make_scheds(opt)
    else:
        scheds = make_scheds(opt)
        for _ in range(len(saved["opt"]["param_groups"]) - len(opt.param_groups)):
            _add_group(opt)
        if order == "scheduler first":
            opt.load_state_dict(saved["opt"])
    for (s, _), state in zip(scheds, saved["scheds"]):
        s.load_state_dict(state)
    if order == "scheduler state first":
        opt.load_state_dict(saved["opt"])
    later = {k: v for k, v in events.items() if k >= at and v is not _add_group}
    return straight, first + _loop(opt, scheds, at, stop, later)


def _sgd():
    return torch.optim.SGD([torch.nn.Parameter(torch.zeros(2))], lr=0.1)


def _add_group(opt):
    opt.add_param_group({"params": [torch.nn.Parameter(torch.zeros(1))], "lr": 0.01})


def _write_lr(opt):  # a writer that is not the scheduler: an lr finder's suggestion, BackboneFinetuning, code
    opt.param_groups[0]["lr"] = 0.02


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("lib", ["torch", "lrsched"])
def test_an_lr_another_writer_set_before_the_checkpoint_carries_on_after_resume(lib, order):
    """torch's recursive schedulers multiply whatever lr they find, so an lr written between two scheduler
    steps, with a checkpoint in between, carries on after the resume (the optimizer's state holds it). The
    drop-ins did re-apply their own value at load_state_dict: the written lr was lost."""
    ns = torch.optim.lr_scheduler if lib == "torch" else pytest.importorskip("lrsched_torch.lr_scheduler")

    def make(opt):
        return [(ns.StepLR(opt, step_size=1, gamma=0.5), 5)]  # an epoch-interval scheduler, 5 steps an epoch

    straight, resumed = _resumed_run(_sgd, make, {16: _write_lr}, order)
    assert resumed == straight
    assert straight[16][0] == 0.02 and straight[20][0] == 0.01  # the written lr, then halved from it


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("lib", ["torch", "lrsched"])
def test_two_recursive_schedulers_on_one_optimizer_resume_exactly(lib, order):
    """A per-step ExponentialLR and a per-epoch MultiStepLR on one optimizer (torch's back-to-back chaining):
    each follows the other's writes; a checkpoint between them resumes as the straight run goes on."""
    ns = torch.optim.lr_scheduler if lib == "torch" else pytest.importorskip("lrsched_torch.lr_scheduler")

    def make(opt):
        return [(ns.ExponentialLR(opt, gamma=0.95), 1), (ns.MultiStepLR(opt, milestones=[2, 4], gamma=0.3), 5)]

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's call-order warnings
        straight, resumed = _resumed_run(_sgd, make, {}, order)
        reference, _ = _resumed_run(_sgd, lambda o: [(torch.optim.lr_scheduler.ExponentialLR(o, gamma=0.95), 1),
                                                     (torch.optim.lr_scheduler.MultiStepLR(o, [2, 4], 0.3), 5)],
                                    {}, order)
    np.testing.assert_allclose(resumed, straight, rtol=1e-12)
    np.testing.assert_allclose(straight, reference, rtol=1e-12)


def _scheduled_group_makers():
    from lrsched_torch import lr_scheduler as dl

    return {
        "torch ExponentialLR": lambda o: [(torch.optim.lr_scheduler.ExponentialLR(o, gamma=0.9), 1)],
        "lr_scheduler.ExponentialLR": lambda o: [(dl.ExponentialLR(o, gamma=0.9), 1)],
        "lr_scheduler.CosineAnnealingLR": lambda o: [(dl.CosineAnnealingLR(o, T_max=40), 1)],
        "ScheduleLR": lambda o: [(lrsched_torch.ScheduleLR(o, lrsched.cosine(0.1, 40)), 1)],
        "lambda_lr": lambda o: [(lrsched_torch.lambda_lr(o, lrsched.cosine(0.1, 40)), 1)],
        "LambdaLR(schedule factor)": lambda o: [(lrsched_torch.LambdaLR(o, lrsched.cosine(1.0, 40)), 1)],
    }


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("name", list(_scheduled_group_makers()))
def test_a_param_group_added_before_the_checkpoint_is_driven_after_resume(name, order):
    """A group added during the run (BackboneFinetuning unfreezing a backbone) is in the checkpoint; the
    resumed run re-adds it before loading, and the loaded scheduler drives it from its saved schedule (it was
    left at a constant lr: the fresh scheduler had not grown to it yet; lambda_lr raised an IndexError)."""
    make = _scheduled_group_makers()[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        straight, resumed = _resumed_run(_sgd, make, {5: _add_group}, order)
    assert resumed == straight
    assert len(set(lrs[1] for lrs in straight[5:])) > 10  # the added group's lr moves


@pytest.mark.parametrize("order", ORDERS)
def test_a_tensor_lr_another_writer_filled_before_the_checkpoint_carries_on_after_resume(order):
    """The same with the lr a tensor (capturable and fused optimizers), written in place: the loaded lr kept
    is compared by value at the next step (its version counter says nothing about the load)."""
    from lrsched_torch import lr_scheduler as dl

    def make_opt():
        return torch.optim.Adam([torch.nn.Parameter(torch.zeros(2))], lr=torch.tensor(0.1))

    def fill(opt):
        opt.param_groups[0]["lr"].fill_(0.02)

    straight, resumed = _resumed_run(make_opt, lambda o: [(dl.StepLR(o, step_size=1, gamma=0.5), 5)],
                                     {16: fill}, order)
    assert resumed == straight
    assert straight[16][0] == pytest.approx(0.02) and straight[20][0] == pytest.approx(0.01)


@pytest.mark.parametrize("lib", ["torch", "lrsched"])
def test_plateau_with_a_min_lr_list_resumes_a_group_added_and_an_lr_written_before_the_checkpoint(lib):
    """ReduceLROnPlateau with a list ``min_lr``: a group added mid-run (its ``min_lrs`` entry appended, torch's
    advice), then another writer's lr, then a checkpoint. The resumed drop-in had recorded the re-added group
    as still waiting for its entry, and its first step rewrote every lr (the written one lost)."""
    ns = torch.optim.lr_scheduler if lib == "torch" else pytest.importorskip("lrsched_torch.lr_scheduler")

    def epochs(opt, sched, start, stop):
        used = []
        for e in range(start, stop):
            if e == 1:
                _add_group(opt)
                sched.min_lrs.append(1e-4)
            used.append([float(g["lr"]) for g in opt.param_groups])
            opt.step()
            sched.step(1.0)  # a metric that never improves: a reduction every other step
            if e == 3:
                _write_lr(opt)
        return used

    def build():
        opt = _sgd()
        return opt, ns.ReduceLROnPlateau(opt, factor=0.5, patience=1, min_lr=[0.0])

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        opt, sched = build()
        straight = epochs(opt, sched, 0, 8)
        opt, sched = build()
        first = epochs(opt, sched, 0, 4)
        saved = {"opt": opt.state_dict(), "sched": sched.state_dict()}
        opt, sched = build()
        _add_group(opt)
        opt.load_state_dict(saved["opt"])
        sched.load_state_dict(saved["sched"])
        resumed = first + epochs(opt, sched, 4, 8)
    assert resumed == straight
    assert straight[4][0] == 0.02 and straight[5][0] == 0.01


@pytest.mark.parametrize("order", ORDERS)
@pytest.mark.parametrize("name", ["StepLR", "CosineAnnealingLR"])
def test_a_torch_state_with_a_group_added_during_the_run_loads_into_the_drop_in(name, order):
    """A run started with torch's own scheduler, a group added mid-run, resumed with the drop-in loading torch's
    state dict (whose base_lrs never grew with the group: an IndexError before)."""
    from lrsched_torch import lr_scheduler as dl

    kwargs = {"step_size": 3, "gamma": 0.5} if name == "StepLR" else {"T_max": 40}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        straight, resumed = _resumed_run(_sgd, lambda o: [(getattr(torch.optim.lr_scheduler, name)(o, **kwargs), 1)],
                                         {5: _add_group}, order,
                                         make_resumed=lambda o: [(getattr(dl, name)(o, **kwargs), 1)])
    assert resumed[:5] == straight[:5]  # one group until the second joins
    np.testing.assert_allclose(resumed[5:], straight[5:], rtol=1e-13)
