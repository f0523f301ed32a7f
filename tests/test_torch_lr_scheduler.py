"""lrsched_torch.lr_scheduler against torch.optim.lr_scheduler: same names, signatures, numbers, attributes.

Each case builds the torch class and ours (same name, same arguments) on identical
optimizers and steps both for a few hundred steps, comparing every group's lr and
momentum (or betas[0]) and the attributes torch users read.
"""

from __future__ import annotations

import inspect
import io
import math
import warnings

import numpy as np
import pytest
import torch
from lrsched_torch import lr_scheduler as dl

L = torch.optim.lr_scheduler
STEPS = 300
RTOL = 1e-12


def make_optimizer(kind: str, n_groups: int) -> torch.optim.Optimizer:
    torch.manual_seed(0)
    groups = []
    for i in range(n_groups):
        p = torch.nn.Parameter(torch.linspace(-1.0, 1.0, 3, dtype=torch.float64) * (i + 1))
        p.grad = torch.full_like(p, 0.01 * (i + 1))
        groups.append({"params": [p], "lr": 0.1 * (i + 1)})
    if kind == "sgd":
        return torch.optim.SGD(groups, lr=0.1, momentum=0.9)
    return torch.optim.AdamW(groups, lr=0.1, betas=(0.9, 0.999))


def values(opt: torch.optim.Optimizer) -> tuple[list[float], list[float]]:
    return ([float(g["lr"]) for g in opt.param_groups],
            [float(g["betas"][0]) if "betas" in g else float(g.get("momentum", 0.0)) for g in opt.param_groups])


def close(a, b, rtol=RTOL) -> bool:
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    return bool(np.all((a == b) | (np.abs(a - b) <= rtol * np.abs(b))))


def per_group(opt, f):
    return [f(float(g["lr"])) for g in opt.param_groups]


# name: (build(module, optimizer) -> scheduler, attributes to compare)
CASES = {
    "StepLR": (lambda m, o: m.StepLR(o, step_size=17, gamma=0.7), ("step_size", "gamma")),
    "MultiStepLR": (lambda m, o: m.MultiStepLR(o, milestones=[30, 80, 80, 200], gamma=0.5), ("milestones", "gamma")),
    "ConstantLR": (lambda m, o: m.ConstantLR(o, factor=0.25, total_iters=40), ("factor", "total_iters")),
    "ConstantLR-defaults": (lambda m, o: m.ConstantLR(o), ("factor", "total_iters")),
    "LinearLR": (lambda m, o: m.LinearLR(o, start_factor=0.1, end_factor=0.9, total_iters=120),
                 ("start_factor", "end_factor", "total_iters")),
    "LinearLR-defaults": (lambda m, o: m.LinearLR(o), ()),
    "ExponentialLR": (lambda m, o: m.ExponentialLR(o, gamma=0.99), ("gamma",)),
    "PolynomialLR": (lambda m, o: m.PolynomialLR(o, total_iters=250, power=2.0), ("total_iters", "power")),
    "CosineAnnealingLR": (lambda m, o: m.CosineAnnealingLR(o, T_max=90, eta_min=1e-3), ("T_max", "eta_min")),
    "CosineAnnealingWarmRestarts": (lambda m, o: m.CosineAnnealingWarmRestarts(o, T_0=20, T_mult=2, eta_min=1e-4),
                                    ("T_0", "T_mult", "eta_min", "T_cur", "T_i")),
    "CyclicLR": (lambda m, o: m.CyclicLR(o, base_lr=0.01, max_lr=0.1, step_size_up=23, step_size_down=11),
                 ("max_lrs", "total_size", "step_ratio", "mode", "scale_mode", "base_momentums", "max_momentums")),
    "CyclicLR-lists-triangular2": (
        lambda m, o: m.CyclicLR(o, base_lr=[0.01 * (i + 1) for i in range(len(o.param_groups))],
                                max_lr=[0.1 * (i + 1) for i in range(len(o.param_groups))], step_size_up=20,
                                mode="triangular2", base_momentum=[0.7 + 0.01 * i for i in range(len(o.param_groups))],
                                max_momentum=0.95), ("max_lrs", "base_momentums", "max_momentums")),
    "CyclicLR-exp_range-no-momentum": (
        lambda m, o: m.CyclicLR(o, 0.01, 0.1, step_size_up=30, mode="exp_range", gamma=0.995, cycle_momentum=False),
        ("gamma", "scale_mode", "cycle_momentum")),
    "OneCycleLR": (lambda m, o: m.OneCycleLR(o, max_lr=0.2, total_steps=STEPS), ("total_steps", "cycle_momentum")),
    "OneCycleLR-lists-three_phase": (
        lambda m, o: m.OneCycleLR(o, max_lr=[0.1 * (i + 1) for i in range(len(o.param_groups))], epochs=10,
                                  steps_per_epoch=30, pct_start=0.25, anneal_strategy="linear", three_phase=True,
                                  base_momentum=[0.8 + 0.01 * i for i in range(len(o.param_groups))],
                                  div_factor=10.0, final_div_factor=100.0), ("total_steps",)),
    "OneCycleLR-no-momentum": (lambda m, o: m.OneCycleLR(o, 0.2, total_steps=STEPS, cycle_momentum=False), ()),
    "LambdaLR": (lambda m, o: m.LambdaLR(o, lambda k: 0.5 * (1 + np.cos(np.pi * min(k, 250) / 250))), ()),
    "LambdaLR-list": (lambda m, o: m.LambdaLR(o, [(lambda k, i=i: 0.99 ** (k * (i + 1)))
                                                  for i in range(len(o.param_groups))]), ()),
    "SequentialLR": (lambda m, o: m.SequentialLR(o, [m.LinearLR(o, 0.1, total_iters=30),
                                                     m.CosineAnnealingLR(o, T_max=270, eta_min=1e-4)], [30]), ()),
    "SequentialLR-three": (lambda m, o: m.SequentialLR(o, [m.ConstantLR(o, 0.3, 10), m.ExponentialLR(o, 0.98),
                                                           m.StepLR(o, 40, 0.5)], milestones=[10, 120]), ()),
    "ChainedScheduler": (lambda m, o: m.ChainedScheduler([m.ConstantLR(o, 0.5, 15), m.ExponentialLR(o, 0.995),
                                                          m.MultiStepLR(o, [100, 200])]), ()),
    "ChainedScheduler-warmup-cosine": (
        lambda m, o: m.ChainedScheduler([m.LinearLR(o, 0.01, total_iters=25), m.CosineAnnealingLR(o, T_max=STEPS)],
                                        optimizer=o), ()),
}


def run(build, kind, n_groups, steps=STEPS):
    opt_a, opt_b = make_optimizer(kind, n_groups), make_optimizer(kind, n_groups)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        native = build(L, opt_a)
    ours = build(dl, opt_b)
    return opt_a, opt_b, native, ours


@pytest.mark.parametrize("kind,n_groups", [("sgd", 1), ("adamw", 3)])
@pytest.mark.parametrize("name", list(CASES))
def test_same_numbers_and_attributes_as_torch(name, kind, n_groups):
    build, attributes = CASES[name]
    opt_a, opt_b, native, ours = run(build, kind, n_groups)
    assert type(ours).__name__ == type(native).__name__ and ours.optimizer is opt_b
    assert isinstance(ours, L.LRScheduler)
    for k in range(STEPS):
        (lr_a, m_a), (lr_b, m_b) = values(opt_a), values(opt_b)
        assert close(lr_b, lr_a), f"step {k}: lr {lr_b} vs torch {lr_a}"
        assert close(m_b, m_a), f"step {k}: momentum {m_b} vs torch {m_a}"
        assert close(ours.get_last_lr(), native.get_last_lr()), f"step {k}: get_last_lr"
        if hasattr(native, "last_epoch"):
            assert ours.last_epoch == native.last_epoch
        if hasattr(native, "base_lrs"):
            assert close(ours.base_lrs, native.base_lrs)
        for a in attributes:
            got, want = getattr(ours, a), getattr(native, a)
            assert got == want or close(got, want), f"step {k}: {a} = {got!r} vs torch {want!r}"
        opt_a.step()
        opt_b.step()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            native.step()
        ours.step()


@pytest.mark.parametrize("name", ["StepLR", "LinearLR", "CosineAnnealingLR", "OneCycleLR", "CyclicLR",
                                  "PolynomialLR", "MultiStepLR", "CosineAnnealingWarmRestarts"])
@pytest.mark.parametrize("K,last", [(37, 36), (37, 37), (34, 33), (80, 79)])
def test_last_epoch_construction_resumes_as_torch(name, K, last):
    """torch: last_epoch != -1 needs 'initial_lr' in the groups, then continues from last_epoch + 1: its recursive
    classes from the group's lr as it is, whether or not that is the lr of step last_epoch + 1 (K = last + 1:
    torch's intended use; K = last: the lr one step behind from then on; K = 34 and 80: StepLR's and
    MultiStepLR's boundary applied a second time)."""
    if name == "CosineAnnealingWarmRestarts" and K > 60:
        pytest.skip("torch's bug: built past its second restart, torch takes T_cur = last_epoch - T_0 (one restart "
                    "taken off, not all): its lrs are not the schedule's; the drop-in keeps the closed form")
    build, _ = CASES[name]
    assert "last_epoch" in inspect.signature(getattr(dl, name).__init__).parameters
    # without initial_lr (a fresh optimizer) both raise KeyError
    for module in (L, dl):
        opt = make_optimizer("sgd", 2)
        cls = getattr(module, name)
        with pytest.raises(KeyError, match="initial_lr"):
            _with_last_epoch(cls, opt, name, 5)
    # a run interrupted at step K and rebuilt with last_epoch=last from the saved optimizer: the same lrs
    opt_a, opt_b, native, ours = run(build, "sgd", 2)
    for _ in range(K):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            native.step()
        ours.step()
    saved_a, saved_b = opt_a.state_dict(), opt_b.state_dict()
    new_a, new_b = make_optimizer("sgd", 2), make_optimizer("sgd", 2)
    new_a.load_state_dict(saved_a)
    new_b.load_state_dict(saved_b)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        native2 = _with_last_epoch(getattr(L, name), new_a, name, last)
    ours2 = _with_last_epoch(getattr(dl, name), new_b, name, last)
    assert ours2.last_epoch == native2.last_epoch == last + 1
    # (a cosine whose lr is not its schedule's at the step it was built goes on to T_max only: past it torch's
    # recursion adds the schedule's amplitude, not the followed one's; see the docs' "a cosine past T_max")
    for _ in range(50 if name == "CosineAnnealingLR" and last == K else 60):
        assert close(values(new_b)[0], values(new_a)[0]) and close(values(new_b)[1], values(new_a)[1])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            native2.step()
        ours2.step()


# torch's arguments given two ways: a state saved with the first, loaded into a scheduler built with the second
OTHER_ARGUMENTS = {
    "StepLR": (dict(step_size=3, gamma=0.1), dict(step_size=7, gamma=0.5)),
    "MultiStepLR": (dict(milestones=[2, 5, 5, 9], gamma=0.1), dict(milestones=[4], gamma=0.9)),
    "ConstantLR": (dict(factor=0.25, total_iters=6), dict(factor=0.5, total_iters=2)),
    "LinearLR": (dict(start_factor=0.1, end_factor=0.9, total_iters=8), dict(start_factor=0.5, total_iters=3)),
    "ExponentialLR": (dict(gamma=0.9), dict(gamma=0.5)),
    "PolynomialLR": (dict(total_iters=12, power=2.0), dict(total_iters=30, power=1.0)),
    "CosineAnnealingLR": (dict(T_max=10, eta_min=1e-3), dict(T_max=40)),
    "CosineAnnealingWarmRestarts": (dict(T_0=4, T_mult=2, eta_min=1e-4), dict(T_0=9)),
    "CyclicLR": (dict(base_lr=0.01, max_lr=0.1, step_size_up=3, mode="triangular2", base_momentum=0.7),
                 dict(base_lr=0.02, max_lr=0.2, step_size_up=5, mode="exp_range", gamma=0.9)),
    "OneCycleLR": (dict(max_lr=0.3, total_steps=20, anneal_strategy="linear", three_phase=True),
                   dict(max_lr=0.3, total_steps=50)),
    "ReduceLROnPlateau": (dict(mode="max", factor=0.5, patience=1, threshold=0.1, threshold_mode="abs", cooldown=2,
                               min_lr=1e-3), dict(mode="min", factor=0.2, patience=5)),
}


@pytest.mark.parametrize("name", list(OTHER_ARGUMENTS))
def test_a_loaded_state_brings_torchs_arguments_with_it(name):
    """torch's ``load_state_dict`` updates ``__dict__``: a scheduler built with other arguments takes the saved
    run's ``step_size``, ``T_0``, ``mode``... So do the drop-ins (their state loading with
    ``torch.load(weights_only=True)``): the attributes, ``T_cur``, ``scale_fn`` and ``_is_better`` equal
    torch's; the rates continue the saved run; a group added later gets the saved arguments' schedule."""
    saved_args, other_args = OTHER_ARGUMENTS[name]
    metrics = [1.0, 0.9, 0.95, 0.97, 0.99, 0.98, 0.5, 0.6, 0.7, 0.4, 0.45, 0.3]
    plateau = name == "ReduceLROnPlateau"
    # (the lrs of the first three are arguments; torch's CosineAnnealingWarmRestarts, and its CosineAnnealingLR
    # past the first step, fail on a group added later: a strict zip with base_lrs)
    grows = name not in ("CyclicLR", "OneCycleLR", "ReduceLROnPlateau", "CosineAnnealingWarmRestarts",
                         "CosineAnnealingLR")

    def advance(opt, sched, k):
        opt.step()
        sched.step(metrics[k]) if plateau else sched.step()

    attrs, originals = {}, {}
    for module in (L, dl):
        cls = getattr(module, name)
        opt = make_optimizer("sgd", 2)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            sched = cls(opt, **saved_args)
            for k in range(9):
                advance(opt, sched, k)
            originals[module] = (opt, sched)
            state = sched.state_dict()
            if module is dl:
                buf = io.BytesIO()
                torch.save(state, buf)
                state = torch.load(io.BytesIO(buf.getvalue()), weights_only=True)
            opt2 = make_optimizer("sgd", 2)
            opt2.load_state_dict(opt.state_dict())
            loaded = cls(opt2, **other_args)
            loaded.load_state_dict(state)
        names = ("step_size", "gamma", "milestones", "factor", "total_iters", "start_factor", "end_factor", "power",
                 "T_max", "eta_min", "T_0", "T_mult", "T_i", "T_cur", "mode", "scale_mode", "total_size",
                 "step_ratio", "total_steps", "three_phase", "patience", "threshold", "threshold_mode", "cooldown",
                 "mode_worse", "min_lrs")
        attrs[module] = {a: getattr(loaded, a) for a in names if hasattr(loaded, a)}
        if name == "CyclicLR":
            attrs[module]["scale_fn(2)"] = loaded.scale_fn(2)
        if plateau:
            attrs[module]["_is_better"] = (loaded._is_better(0.5, 1.0), loaded._is_better(1.2, 1.0))
    got, want = attrs[dl], attrs[L]
    assert want.keys() <= got.keys()
    for a in want:
        assert got[a] == want[a] or close(got[a], want[a]), (a, got[a], want[a])
    # the rates: the loaded copy continues the saved run as torch's original does, a group added now included
    # (torch's recursive form carries the new group's lr by the saved run's factors)
    reference, ref = originals[L]
    if grows:
        for o in (opt2, reference):
            o.add_param_group({"params": [torch.nn.Parameter(torch.zeros(2))], "lr": 0.3, "momentum": 0.9})
    for k in range(9, 12):
        advance(opt2, loaded, k)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            advance(reference, ref, k)
        assert close(values(opt2)[0], values(reference)[0]), (k, values(opt2)[0], values(reference)[0])


@pytest.mark.parametrize("name", ["CyclicLR", "OneCycleLR"])
@pytest.mark.parametrize("kind", ["sgd", "adamw"])
def test_tensor_momenta_stay_apart_from_max_momentum(name, kind):
    """Given tensor momenta, the group's momentum is a tensor of its own (written in place each step), and
    ``max_momentum`` / ``base_momentum`` keep the constructor's values, as torch's do."""
    build = {"CyclicLR": lambda m, o: m.CyclicLR(o, 0.01, 0.1, step_size_up=4, base_momentum=torch.tensor(0.8),
                                                  max_momentum=torch.tensor(0.9)),
             "OneCycleLR": lambda m, o: m.OneCycleLR(o, 0.1, total_steps=10, base_momentum=torch.tensor(0.85),
                                                      max_momentum=torch.tensor(0.95))}[name]
    opt_a, opt_b, native, ours = run(build, kind, 2, steps=3)
    for _ in range(3):
        opt_a.step()
        opt_b.step()
        native.step()
        ours.step()
    for ga, gb in zip(opt_a.param_groups, opt_b.param_groups):
        for key in ("max_momentum", "base_momentum"):
            assert float(gb[key]) == float(ga[key])
        momentum = gb["betas"][0] if "betas" in gb else gb["momentum"]
        assert momentum is not gb["max_momentum"] and momentum is not gb["base_momentum"]
    assert close(values(opt_b)[1], values(opt_a)[1])


@pytest.mark.parametrize("min_lr, append_at", [(0.0, None), ([1e-5, 1e-4], 8), ([1e-5, 1e-4], 10),
                                               ([1e-5, 1e-4], None)],
                         ids=["scalar", "list appended", "list appended late", "list never appended"])
def test_reduce_lr_on_plateau_takes_a_group_added_later_as_torch_does(min_lr, append_at):
    """pytorch#104361: a scalar ``min_lr`` extends ``min_lrs``; with a list the caller appends the new group's
    entry (torch's advice) before the next reduction, which without it raises torch's ``RuntimeError`` (torch's
    test_add_param_group_errors_reduce_lr_on_plateau: only when it reduces, not at the next step)."""
    metrics = [1.0] * 7 + [0.6] + [0.5] * 4 + [0.4] + [0.3] * 7
    runs = []
    for module in (L, dl):
        opt = make_optimizer("sgd", 2)
        sched = module.ReduceLROnPlateau(opt, threshold=0.1, patience=2, cooldown=1, min_lr=min_lr)
        trace, error = [], None
        for k, metric in enumerate(metrics):
            if k == 8:
                opt.add_param_group({"params": [torch.nn.Parameter(torch.zeros(2))], "lr": 0.05})
            if k == append_at:
                sched.min_lrs.append(0.02)  # (above the reduced lr: it binds)
            opt.step()
            try:
                sched.step(metric)
            except RuntimeError as e:
                error = (k, str(e)[:200])  # (torch's text, then lrsched's advice)
                break
            trace.append(values(opt)[0])
        runs.append((trace, list(sched.min_lrs), error))
    (want, want_min, want_error), (got, got_min, got_error) = runs
    assert got_min == want_min and got_error == want_error
    assert len(got) == len(want) and (want_error is not None) == (append_at is None and min_lr != 0.0)
    for k, (a, b) in enumerate(zip(got, want)):
        assert close(a, b), (k, a, b)


def _with_last_epoch(cls, opt, name, last_epoch):
    args = {"StepLR": dict(step_size=17, gamma=0.7), "LinearLR": dict(start_factor=0.1, end_factor=0.9,
                                                                       total_iters=120),
            "CosineAnnealingLR": dict(T_max=90, eta_min=1e-3), "OneCycleLR": dict(max_lr=0.2, total_steps=STEPS),
            "CyclicLR": dict(base_lr=0.01, max_lr=0.1, step_size_up=23, step_size_down=11),
            "PolynomialLR": dict(total_iters=250, power=2.0), "MultiStepLR": dict(milestones=[30, 80, 80, 200],
                                                                                 gamma=0.5),
            "CosineAnnealingWarmRestarts": dict(T_0=20, T_mult=2, eta_min=1e-4)}[name]
    return cls(opt, **args, last_epoch=last_epoch)


def test_every_drop_in_is_an_instance_of_torchs_class_and_saves_last_lr():
    """Trainers test ``isinstance`` against torch's classes (Lightning warns about a per-epoch OneCycleLR; the
    Trainer feeds a ReduceLROnPlateau), and read ``_last_lr`` from the state dict."""
    for name, (build, _) in CASES.items():
        opt = make_optimizer("sgd", 2)
        ours = build(dl, opt)
        assert isinstance(ours, getattr(L, type(ours).__name__)), name
        for _ in range(3):
            opt.step()
            ours.step()
        assert ours.state_dict()["_last_lr"] == ours.get_last_lr(), name


@pytest.mark.parametrize("name", list(CASES) + ["ReduceLROnPlateau"])
def test_a_state_saved_by_torchs_class_resumes_after_switching_the_import(name):
    """A run started with torch's scheduler, checkpointed, and resumed after switching the import: the drop-in
    built with the same arguments loads torch's state dict and continues with torch's rates (the recursive
    classes through torch's current lrs, the plateau with its counters)."""
    K = 37
    metrics = [1.0 - 0.01 * (k % 7) + 0.002 * k for k in range(K + 40)]
    if name == "ReduceLROnPlateau":
        def build(m, o):
            return m.ReduceLROnPlateau(o, factor=0.5, patience=2, cooldown=1, min_lr=1e-4)
    else:
        build = CASES[name][0]
    if name.startswith("LambdaLR"):
        pytest.skip("LambdaLR is torch's own class (lrsched_torch.LambdaLR is its subclass): its state is torch's")

    def advance(opt, sched, k):
        opt.step()
        sched.step(metrics[k]) if name == "ReduceLROnPlateau" else sched.step()

    opt = make_optimizer("sgd", 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        native = build(L, opt)
        for k in range(K):
            advance(opt, native, k)
        saved_opt, saved = opt.state_dict(), native.state_dict()
        opt2 = make_optimizer("sgd", 2)
        opt2.load_state_dict(saved_opt)
        ours = build(dl, opt2)
        ours.load_state_dict(saved)
        assert ours.last_epoch == getattr(native, "last_epoch", K) and close(values(opt2)[0], values(opt)[0])
        for k in range(K, K + 40):
            advance(opt, native, k)
            advance(opt2, ours, k)
            assert close(values(opt2)[0], values(opt)[0], rtol=1e-9), (k, values(opt2)[0], values(opt)[0])
            assert close(values(opt2)[1], values(opt)[1], rtol=1e-9), (k, values(opt2)[1], values(opt)[1])


def test_signatures_match_torch():
    for name in L.__all__:
        ours, theirs = getattr(dl, name), getattr(L, name)
        if ours is theirs:
            continue
        want = list(inspect.signature(theirs.__init__).parameters)
        got = list(inspect.signature(ours.__init__).parameters)
        assert got == want, f"{name}: {got} vs torch {want}"
        for p in inspect.signature(theirs.__init__).parameters.values():
            if p.default is not inspect.Parameter.empty:
                assert inspect.signature(ours.__init__).parameters[p.name].default == p.default, f"{name}.{p.name}"


def test_past_the_end_holds_and_torch_raises():
    opt_a, opt_b, native, ours = run(CASES["OneCycleLR"][0], "sgd", 1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for _ in range(STEPS - 1):
            native.step()
        with pytest.raises(ValueError, match="Tried to step"):
            native.step()
            native.step()
    for _ in range(STEPS + 50):
        ours.step()
    assert ours.get_last_lr() == pytest.approx([0.2 / 25 / 1e4], rel=1e-12)


def test_torchs_argument_errors_are_kept():
    opt = make_optimizer("sgd", 2)
    for module in (L, dl):
        with pytest.raises(ValueError, match="total_steps"):
            module.OneCycleLR(opt, 0.1)
        with pytest.raises(ValueError, match="pct_start"):
            module.OneCycleLR(opt, 0.1, total_steps=10, pct_start=1)
        with pytest.raises(ValueError, match="max_lr must have the same length"):
            module.OneCycleLR(opt, [0.1], total_steps=10)
        with pytest.raises(ValueError, match="T_mult"):
            module.CosineAnnealingWarmRestarts(opt, 10, T_mult=0)
        with pytest.raises(ValueError, match="Factor should be < 1.0"):
            module.ReduceLROnPlateau(opt, factor=1.0)
        with pytest.raises(ValueError, match="min_lrs"):
            module.ReduceLROnPlateau(opt, min_lr=[0.1])
        with pytest.raises(ValueError, match="momentum or beta1"):
            module.OneCycleLR(torch.optim.Adagrad([torch.nn.Parameter(torch.zeros(1))]), 0.1, total_steps=10)
        with pytest.raises(ValueError, match="number of milestone"):
            module.SequentialLR(opt, [module.StepLR(opt, 3), module.StepLR(opt, 4)], [])
        with pytest.raises(ValueError, match="^ChainedScheduler expects at least one scheduler to be chained, but"):
            module.ChainedScheduler([], optimizer=opt)
        with pytest.raises(ValueError, match="^SequentialLR expects at least one scheduler, but got no scheduler"):
            module.SequentialLR(opt, [], [])


def test_warmup_then_plateau_through_sequential_lr():
    """torch's SequentialLR refuses ReduceLROnPlateau; ours joins warmup and plateau, fed by step(metric)."""
    metrics = (2.0 - np.cumsum(np.random.default_rng(2).normal(0.0, 0.05, 60))).tolist()
    opt = make_optimizer("sgd", 2)
    with pytest.raises(ValueError, match="ReduceLROnPlateau"):
        L.SequentialLR(opt, [L.LinearLR(opt, 0.1, total_iters=10), L.ReduceLROnPlateau(opt)], [10])
    opt = make_optimizer("sgd", 2)
    sched = dl.SequentialLR(opt, [dl.LinearLR(opt, 0.1, total_iters=10),
                                  dl.ReduceLROnPlateau(opt, factor=0.5, patience=2, min_lr=0.02)], [10])
    # expected: torch's LinearLR for the warmup epochs, then torch's ReduceLROnPlateau fed from epoch 10 on
    warm_opt, plateau_opt = make_optimizer("sgd", 2), make_optimizer("sgd", 2)
    warm = L.LinearLR(warm_opt, 0.1, total_iters=10)
    native_plateau = L.ReduceLROnPlateau(plateau_opt, factor=0.5, patience=2, min_lr=0.02)
    for epoch, m in enumerate(metrics):
        want = values(warm_opt)[0] if epoch < 10 else values(plateau_opt)[0]
        assert close(values(opt)[0], want), f"epoch {epoch}: {values(opt)[0]} vs {want}"
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            warm.step()
        if epoch >= 10:
            native_plateau.step(m)
        sched.step(m)
    assert len({tuple(values(plateau_opt)[0])}) == 1 and values(plateau_opt)[0][0] < 0.1


def test_warmup_times_plateau_through_chained_scheduler():
    metrics = (2.0 - np.cumsum(np.random.default_rng(4).normal(0.0, 0.05, 60))).tolist()
    opt = make_optimizer("sgd", 1)
    # eps=0: the plateau's eps (and min_lr) are the core plateau's rules for a varying inner schedule, which
    # torch has no counterpart for (it cannot chain ReduceLROnPlateau); the decisions and factors are torch's
    sched = dl.ChainedScheduler([dl.LinearLR(opt, 0.1, total_iters=10), dl.ReduceLROnPlateau(opt, factor=0.5,
                                                                                              patience=1, eps=0.0)])
    warm_opt, plateau_opt = make_optimizer("sgd", 1), make_optimizer("sgd", 1)
    warm = L.LinearLR(warm_opt, 0.1, total_iters=10)
    native_plateau = L.ReduceLROnPlateau(plateau_opt, factor=0.5, patience=1, eps=0.0)
    for m in metrics:
        want = values(warm_opt)[0][0] * values(plateau_opt)[0][0] / 0.1
        assert close(values(opt)[0], [want], 1e-14)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            warm.step()
        native_plateau.step(m)
        sched.step(m)
    assert values(plateau_opt)[0][0] < 0.05


@pytest.mark.parametrize("kind,n_groups", [("sgd", 1), ("adamw", 3)])
def test_a_lambda_lr_of_a_schedule_is_a_child_like_the_others(kind, n_groups):
    """torch's warmup idiom ``SequentialLR([LambdaLR(warmup), CosineAnnealingLR])``: with the factor an lrsched
    schedule (``lr = initial_lr * factor(k)``) the child is what torch's LambdaLR sets, in SequentialLR and in a
    ChainedScheduler of its own; a factor of Python code cannot be tabulated: a TypeError that says what to pass."""
    import lrsched

    def warm(m):
        return (lambda k: min((k + 1) / 5, 1.0)) if m is L else lrsched.linear(0.2, 1.0, 4)

    builds = [lambda m, o: m.SequentialLR(o, [m.LambdaLR(o, warm(m)), m.CosineAnnealingLR(o, 60, 1e-4)], [5]),
              lambda m, o: m.ChainedScheduler([m.LambdaLR(o, (lambda k: 0.97 ** k) if m is L
                                                          else lrsched.exponential(1.0, 0.97))])]
    for build in builds:
        opt_a, opt_b, native, ours = run(build, kind, n_groups)
        for k in range(80):
            assert close(values(opt_b)[0], values(opt_a)[0]), f"step {k}: {values(opt_b)[0]} vs {values(opt_a)[0]}"
            assert close(ours.get_last_lr(), native.get_last_lr())
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                native.step()
            ours.step()
        assert ours._schedulers[0].__class__ is dl.LambdaLR  # (torch's attribute keeps the children given)
    opt = make_optimizer(kind, n_groups)
    for combine in (lambda c: dl.SequentialLR(opt, [c, dl.StepLR(opt, 3)], [5]), lambda c: dl.ChainedScheduler([c])):
        with pytest.raises(TypeError, match="LambdaLR of the Python function .* lrsched schedule as its factor"):
            combine(dl.LambdaLR(opt, lambda k: 1.0))


@pytest.mark.parametrize("name", ["ExponentialLR", "StepLR", "ReduceLROnPlateau", "ScheduleLR"])
def test_an_lr_loaded_into_the_optimizer_is_followed_where_torch_follows_it(name):
    """``Optimizer.load_state_dict`` replaces the group dicts. torch's recursive schedulers multiply whatever lr
    they find, so an earlier checkpoint's lr carries on; the drop-ins do the same. ScheduleLR sets absolute
    values: the loaded lr is overwritten at its next step (no error: the groups are new)."""
    import lrsched_torch

    import lrsched

    builds = {"ExponentialLR": lambda m, o: m.ExponentialLR(o, 0.5),
              "StepLR": lambda m, o: m.StepLR(o, 2, 0.5),
              "ReduceLROnPlateau": lambda m, o: m.ReduceLROnPlateau(o, factor=0.5, patience=0)}
    metrics = [1.0, 2.0, 3.0, 0.5, 4.0, 5.0, 6.0]

    def go(sched, opt, k):
        opt.step()
        sched.step(metrics[k]) if name == "ReduceLROnPlateau" else sched.step()

    if name == "ScheduleLR":
        opt = make_optimizer("sgd", 2)
        sched = lrsched_torch.ScheduleLR(opt, lr=lrsched.step_decay(0.1, 2, 0.5))
        for k in range(2):
            go(sched, opt, k)
        early = opt.state_dict()
        for k in range(2, 5):
            go(sched, opt, k)
        opt.load_state_dict(early)
        go(sched, opt, 5)
        assert values(opt)[0] == [0.1 * 0.5**3] * 2 and sched.last_epoch == 6
        return
    traces = []
    for module, load in ((L, True), (dl, True), (L, False)):
        opt = make_optimizer("sgd", 2)
        sched = builds[name](module, opt)
        trace = []
        for k in range(len(metrics)):
            if k == 4 and load:
                opt.load_state_dict(early)  # an earlier checkpoint's lrs (new group dicts)
            go(sched, opt, k)
            trace.append(values(opt)[0])
            if k == 1:
                early = opt.state_dict()
        traces.append(trace)
    want, got, unloaded = traces
    for k, (a, b) in enumerate(zip(got, want)):
        assert close(a, b), (k, a, b)
    assert want[4] != unloaded[4]  # (the load changed the lrs: the test sees the difference)


def test_reduce_lr_on_plateau_reduces_a_group_added_just_before_a_reduction():
    """torch reduces every group it finds, so a group added between two steps takes the very next reduction."""
    runs = []
    for module in (L, dl):
        opt = make_optimizer("sgd", 1)
        sched = module.ReduceLROnPlateau(opt, patience=0, factor=0.5)
        trace = []
        for k, metric in enumerate([1.0, 2.0, 3.0, 4.0, 0.1, 5.0]):
            if k == 2:
                opt.add_param_group({"params": [torch.nn.Parameter(torch.zeros(2))], "lr": 0.4})
            sched.step(metric)
            trace.append(values(opt)[0])
        runs.append(trace)
    want, got = runs
    assert want[2] == [0.025, 0.2]
    for k, (a, b) in enumerate(zip(got, want)):
        assert close(a, b), (k, a, b)


def test_a_tensor_base_lr_gives_each_group_its_own_tensor():
    """A tensor argument is copied per group (torch's ``_format_param`` clones it); one tensor shared by every
    group's lr was filled by each group in turn and then refused as another writer's change. The values are
    torch's for a float ``base_lr`` (torch's own with a tensor drift: its ``base_lrs`` are the groups' lr tensors,
    which it fills in place)."""
    runs = []
    for module, base in ((L, 0.01), (dl, torch.tensor(0.01))):
        opt = make_optimizer("sgd", 2)
        sched = module.CyclicLR(opt, base_lr=base, max_lr=0.1, step_size_up=5)
        trace = []
        for _ in range(12):
            sched.step()
            trace.append(values(opt)[0])
        assert module is L or opt.param_groups[0]["lr"] is not opt.param_groups[1]["lr"]
        runs.append(np.asarray(trace))
    np.testing.assert_allclose(runs[1], runs[0], rtol=1e-6)  # (float32 tensors)


def test_sequential_lr_restarts_its_children_as_torch_does():
    """torch restarts a child at its milestone with the child's closed form: ``ConstantLR(total_iters=0)`` (which
    alone keeps its factor) gives the base lr from there on, and ``LinearLR(total_iters=0)`` divides by zero at
    the milestone, which here is an error at construction."""
    build = lambda m, o: m.SequentialLR(o, [m.ExponentialLR(o, 0.9), m.ConstantLR(o, 0.5, total_iters=0)], [3])  # noqa: E731
    opt_a, opt_b, native, ours = run(build, "adamw", 3)
    for k in range(8):
        assert close(values(opt_b)[0], values(opt_a)[0]), (k, values(opt_b)[0], values(opt_a)[0])
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            native.step()
        ours.step()
    assert values(opt_a)[0] == [0.1, 0.2, 0.30000000000000004]
    opt = make_optimizer("sgd", 1)
    with pytest.raises(ValueError, match="total_iters=0.*ZeroDivisionError"):
        dl.SequentialLR(opt, [dl.ExponentialLR(opt, 0.9), dl.LinearLR(opt, 0.5, total_iters=0)], [3])


@pytest.mark.parametrize("scale_fn, scale_mode", [
    (lambda x: 0.5 * (1 + np.sin(x * np.pi / 2.0)), "cycle"),  # torch's docstring example (numpy)
    (lambda x: math.pow(0.5, x), "cycle"),  # a function of Python numbers only
    (lambda x: 1.0 / (1.0 + x / 50), "iterations"),
], ids=["numpy sin", "math.pow", "iterations"])
def test_cyclic_lr_takes_torchs_python_scale_fns(scale_fn, scale_mode):
    """torch calls scale_fn with a Python int per step: any Python (numpy, math) works in the drop-in too."""
    runs = []
    for module in (L, dl):
        opt = make_optimizer("sgd", 2)
        sched = module.CyclicLR(opt, base_lr=0.01, max_lr=[0.1, 0.2], step_size_up=3, step_size_down=5,
                                scale_fn=scale_fn, scale_mode=scale_mode)
        trace = []
        for _ in range(60):
            trace.append(values(opt))
            opt.step()
            sched.step()
        runs.append(trace)
    np.testing.assert_allclose(np.array(runs[1]), np.array(runs[0]), rtol=1e-12, atol=1e-15)


class _ScaleFn:
    def __init__(self, x: float = 0.5) -> None:
        self.x = x

    def __call__(self, _):
        return self.x


def test_cyclic_lr_saves_and_restores_a_callable_scale_fns_state_as_torch_does():
    """torch's CyclicLR.state_dict holds a callable scale_fn object's __dict__ (``_scale_fn_custom``; None for a
    function), and load_state_dict updates the object with it: the resumed run's lrs follow the loaded state."""
    runs = []
    for module in (L, dl):
        saved = module.CyclicLR(make_optimizer("adamw", 1), base_lr=1.0, max_lr=5.0, step_size_up=2,
                                cycle_momentum=False, scale_fn=_ScaleFn(0.25))
        state = saved.state_dict()
        saved_fn = state["_scale_fn_custom"]  # (torch's load_state_dict pops it from the caller's dict)
        target = _ScaleFn(0.5)
        opt = make_optimizer("adamw", 1)
        resumed = module.CyclicLR(opt, base_lr=1.0, max_lr=5.0, step_size_up=2, cycle_momentum=False,
                                  scale_fn=target)
        resumed.load_state_dict(state)
        trace = []
        for _ in range(6):
            opt.step()
            resumed.step()
            trace.append(values(opt)[0])
        function = module.CyclicLR(make_optimizer("sgd", 1), 0.1, 1.0, scale_fn=lambda x: 1.0)
        builtin = module.CyclicLR(make_optimizer("sgd", 1), 0.1, 1.0, mode="triangular2")
        runs.append((saved_fn, target.x, trace, function.state_dict()["_scale_fn_custom"],
                     builtin.state_dict()["_scale_fn_custom"], builtin._scale_fn_ref(3)))
    assert runs[1] == runs[0]
    assert runs[1][:2] == ({"x": 0.25}, 0.25)


def _t64(x: float) -> torch.Tensor:
    return torch.tensor(x, dtype=torch.float64)  # (torch's lrs become tensors of its dtype: float64 to compare)


@pytest.mark.parametrize("make", [
    lambda m, o: m.StepLR(o, 2, _t64(0.5)), lambda m, o: m.MultiStepLR(o, [2, 4], _t64(0.5)),
    lambda m, o: m.ExponentialLR(o, _t64(0.9)), lambda m, o: m.ConstantLR(o, _t64(0.5), 3),
    lambda m, o: m.LinearLR(o, _t64(0.25), _t64(0.75), 4),
    lambda m, o: m.CosineAnnealingLR(o, 5, _t64(0.01)), lambda m, o: m.PolynomialLR(o, 4, _t64(2.0)),
    lambda m, o: m.PolynomialLR(o, 4, 0.0), lambda m, o: m.PolynomialLR(o, 4, 0),
    lambda m, o: m.ReduceLROnPlateau(o, factor=_t64(0.5), patience=0),
    lambda m, o: m.ReduceLROnPlateau(o, threshold=-0.1, patience=0),
    lambda m, o: m.ReduceLROnPlateau(o, threshold=-0.1, threshold_mode="abs", mode="max", patience=0),
], ids=["StepLR gamma tensor", "MultiStepLR gamma tensor", "ExponentialLR gamma tensor", "ConstantLR factor tensor",
        "LinearLR factor tensors", "CosineAnnealingLR eta_min tensor", "PolynomialLR power tensor",
        "PolynomialLR power 0.0", "PolynomialLR power 0", "ReduceLROnPlateau factor tensor",
        "ReduceLROnPlateau negative threshold", "ReduceLROnPlateau negative abs threshold, max"])
def test_arguments_torch_accepts_are_accepted_with_torchs_values(make, request):
    """0-d tensor arguments (torch's arithmetic takes them; its lrs then become tensors, here floats of the same
    values), PolynomialLR(power=0) (a constant factor 1) and a negative plateau threshold (a worse metric within
    it counts as an improvement)."""
    metrics = [1.0, 1.05, 1.08, 1.2, 1.1, 0.9, 0.95, 1.3, 1.4, 1.5]
    runs = []
    for module in (L, dl):
        opt = make_optimizer("sgd", 2)
        sched = make(module, opt)
        trace = []
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            for k in range(10):
                opt.step()
                sched.step(metrics[k]) if isinstance(sched, L.ReduceLROnPlateau) else sched.step()
                trace.append([float(g["lr"]) for g in opt.param_groups])
        runs.append(trace)
    np.testing.assert_allclose(runs[1], runs[0], rtol=1e-12, atol=1e-15)
    if "power 0" not in request.node.name:  # (the rate moves: the arguments took part)
        assert len({tuple(t) for t in runs[0]}) > 1
