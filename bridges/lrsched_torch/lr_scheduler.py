r"""``torch.optim.lr_scheduler``'s classes, by name and signature, backed by lrsched schedules.

Change one import and keep the rest of a torch script::

    # from torch.optim.lr_scheduler import OneCycleLR, SequentialLR, LinearLR, ReduceLROnPlateau
    from lrsched_torch.lr_scheduler import OneCycleLR, SequentialLR, LinearLR, ReduceLROnPlateau

Every class takes torch's arguments (optimizer first, ``last_epoch`` last) and
gives torch's numbers step for step (the closed forms of
:mod:`lrsched.compat.torch`, in float64), with torch's attributes (``last_epoch``,
``base_lrs``, ``get_last_lr()``, ``optimizer``, ``total_steps``, ``best``, ...).
What changes:

- **exact resume** in every loading order (``load_state_dict`` re-applies the
  loaded step's values; torch's own use the lr of step 0 for one step when the
  optimizer state is loaded first), and ``state_dict()`` is plain data;
- **no past-the-end error** (``OneCycleLR`` holds its final value past ``total_steps``, where torch raises);
- **warmup + plateau**: ``SequentialLR`` and ``ChainedScheduler`` accept a
  ``ReduceLROnPlateau`` (torch refuses it); ``step(metric)`` then feeds it;
- ``ChainedScheduler`` is the product of its children's factors. The recursive
  classes (StepLR, ExponentialLR, ...) follow another writer's change of the lr as
  torch's do, so torch's back-to-back chaining and code that sets a group's lr
  (Lightning's ``BackboneFinetuning``) work as in torch; a scheduler that *sets*
  the lr (OneCycleLR, CyclicLR, ...) refuses such a change with a clear error
  instead of silently letting the last writer win.

Each class is also an instance of torch's class of the same name.

``LambdaLR`` is :class:`lrsched_torch.LambdaLR` (a torch ``LambdaLR`` subclass);
``MultiplicativeLR`` and ``LRScheduler`` are torch's own.

Examples:
  >>> import torch
  >>> from lrsched_torch.lr_scheduler import OneCycleLR
  >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1, momentum=0.9)
  >>> sched = OneCycleLR(opt, max_lr=1.0, total_steps=4, pct_start=0.5, anneal_strategy="linear")
  >>> for _ in range(6):  # two steps past the end: held, not an error
  ...     opt.step(); sched.step()
  >>> sched.get_last_lr(), round(opt.param_groups[0]["momentum"], 4), sched.last_epoch
  ([4e-06], 0.95, 6)
"""

from __future__ import annotations

import collections
import functools
import math
import numbers
import types
from typing import Any, Callable, Literal, Mapping, Sequence

import numpy as np
import torch
import torch.optim.lr_scheduler as _torch
from torch.optim.lr_scheduler import LRScheduler as LRScheduler
from torch.optim.lr_scheduler import MultiplicativeLR as MultiplicativeLR

from lrsched_torch._lambda import LambdaLR as LambdaLR
from lrsched_torch._last_lr import track_optimizer_step, warn_call_order
from lrsched_torch._plateaus import PlateauColumn, is_plateau
from lrsched_torch._scheduler import ScheduleLR
from lrsched_torch._scheduler import _saved as _saved_config
from lrsched_torch._table import describe, evaluate64

__all__ = [
    "LambdaLR", "MultiplicativeLR", "StepLR", "MultiStepLR", "ConstantLR", "LinearLR", "ExponentialLR",
    "SequentialLR", "CosineAnnealingLR", "ChainedScheduler", "ReduceLROnPlateau", "CyclicLR",
    "CosineAnnealingWarmRestarts", "OneCycleLR", "PolynomialLR", "LRScheduler",
]


def _tc() -> Any:
    from lrsched.compat import torch as tc

    return tc


def _copy(x: Any) -> Any:
    return x.clone() if isinstance(x, torch.Tensor) else x


def _float(x: Any) -> float:
    return float(x.detach().item()) if isinstance(x, torch.Tensor) else float(x)


def _number(x: Any) -> Any:
    """A numeric argument as torch's arithmetic reads it: a one-element tensor (``gamma=torch.tensor(0.9)``) as its
    float, anything else as given (the checks see the number). torch's lrs then become tensors; here they stay
    floats, with the same values."""
    return _float(x) if isinstance(x, torch.Tensor) and x.numel() == 1 else x


def _initial_lrs(optimizer: torch.optim.Optimizer, last_epoch: int) -> list[float]:
    """torch's ``LRScheduler.__init__``: record ``initial_lr`` (or require it when resuming)."""
    if not isinstance(optimizer, torch.optim.Optimizer):
        raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
    if last_epoch == -1:
        for group in optimizer.param_groups:
            group.setdefault("initial_lr", _copy(group["lr"]))
    else:
        for i, group in enumerate(optimizer.param_groups):
            if "initial_lr" not in group:
                raise KeyError(
                    f"param 'initial_lr' is not specified in param_groups[{i}] when resuming scheduler with "
                    "last_epoch >= 0. Load the optimizer's state (which holds it) before creating the scheduler, "
                    "or use last_epoch=-1 for a fresh run"
                )
    return [_float(g["initial_lr"]) for g in optimizer.param_groups]


def _per_group(name: str, optimizer: torch.optim.Optimizer, value: Any) -> list[Any]:
    """torch's ``_format_param``: one value per group from a scalar or a list."""
    n = len(optimizer.param_groups)
    if isinstance(value, (list, tuple)):
        if len(value) != n:
            raise ValueError(f"{name} must have the same length as optimizer.param_groups. {name} has "
                             f"{len(value)} values, param_groups has {n}.")
        return [_copy(v) for v in value]
    return [_copy(value) for _ in range(n)]  # (a tensor: one copy per group, each written in place on its own)


def _need_momentum(optimizer: torch.optim.Optimizer) -> bool:
    if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
        raise ValueError("optimizer must support momentum or beta1 with `cycle_momentum` option enabled")
    return "betas" in optimizer.defaults


def _plain(x: Any) -> Any:
    """An argument as plain data for a state dict: tensors as floats, sequences as lists, a Counter as a dict."""
    if isinstance(x, torch.Tensor):
        return _float(x)
    if isinstance(x, collections.Counter):
        return dict(x)
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    return x


def _set_momentum(group: dict[str, Any], value: Any, use_beta1: bool) -> None:
    value = _copy(value)  # a tensor of its own: stepping writes it in place, not the group's max_momentum
    if use_beta1:
        group["betas"] = (value, *group["betas"][1:])
    else:
        group["momentum"] = value


class _TorchScheduler(ScheduleLR):
    """A drop-in: a ScheduleLR whose schedules come from torch's arguments (one per param group)."""

    _compares_loaded = False  # torch's rule: the saved arguments win, silently (and followed schedules differ)

    #: torch's chaining multiplies this scheduler's factor into the lr (recursive form), so
    #: ChainedScheduler can build the product; schedulers that set the lr outright are not.
    _multiplicative = False

    def _multiplies(self) -> bool:
        """Whether torch's chaining multiplies this scheduler's factor into the lr (see ``_multiplicative``)."""
        return self._multiplicative

    #: the constructor's arguments torch keeps as attributes. Its state_dict carries them, and so does this one:
    #: load_state_dict restores them with the schedules, so a group added later, ``T_cur``, ``scale_fn`` and
    #: the like follow the loaded run, not the arguments this object was built with.
    _arguments: tuple[str, ...] = ()

    #: per group, the base (``initial_lr``-like) its lr schedule is built from (None: not built from one); a
    #: change by another writer moves it (see ``_follow``)
    _lr_bases: list[float] | None = None

    def state_dict(self) -> dict[str, Any]:
        """:meth:`ScheduleLR.state_dict`, with torch's arguments (``step_size``, ``gamma``, ``T_0``, ...)."""
        state = ScheduleLR.state_dict(self)
        state["arguments"] = self._saved_arguments()
        return state

    def load_state_dict(self, state_dict: Any) -> None:
        """:meth:`ScheduleLR.load_state_dict`, then torch's arguments as saved (a state saved without them keeps
        this object's). A state dict of torch's own class of this name loads too (a run started with torch's
        scheduler, resumed after switching the import): see :meth:`_from_torch`."""
        if state_dict.get("format") is None and ("last_epoch" in state_dict or state_dict.get("_schedulers")):
            state_dict = self._from_torch(state_dict)
        ScheduleLR.load_state_dict(self, state_dict)
        self._restore_arguments(state_dict.get("arguments") or {})

    def _saved_arguments(self) -> dict[str, Any]:
        """torch's arguments as plain data (and the groups' bases, see ``_lr_bases``)."""
        saved = {name: _plain(getattr(self, name)) for name in self._arguments if hasattr(self, name)}
        if self._lr_bases is not None:
            saved["_lr_bases"] = list(self._lr_bases)
        return saved

    def _restore_arguments(self, saved: Mapping[str, Any]) -> None:
        """Set the arguments of :meth:`_saved_arguments` (or torch's state dict) this class keeps."""
        for name, value in saved.items():
            if name == "_lr_bases" and self._lr_bases is not None:
                self._lr_bases = [float(v) for v in value]
            elif name in self._arguments:
                current = getattr(self, name, None)
                setattr(self, name, collections.Counter(value) if isinstance(current, collections.Counter) else value)

    #: torch computes this class's next lr from the current one (its recursive, "chainable" form), affinely:
    #: ``lr' - floor = (lr - floor) * ratio`` (floor 0 but for CosineAnnealingLR's eta_min). Such a scheduler
    #: follows another writer's change (``_follow``) and starts from the group's lr as it is.
    _recursive = False
    #: whether torch's first step after building at ``last_epoch >= 0`` keeps the group's lr (its ``_is_initial``
    #: branch: LinearLR, ExponentialLR, PolynomialLR, CosineAnnealingLR) rather than applying its factor to it
    _keeps_lr = False

    def _floor(self) -> float:
        return 0.0

    def _anchored(self, base: float, value: float, target: float) -> float | None:
        """The base whose schedule has `target` where the schedule from `base` has `value` (torch's recursive
        form carried from `target`, on either side of the floor: a cosine's lr moved below its eta_min rises to
        it as torch's does), or None where no base does (`value` at the floor: every base has it there)."""
        floor = self._floor()
        scale = (_float(target) - floor) / (value - floor) if value != floor else math.nan
        return floor + (base - floor) * scale if math.isfinite(scale) else None

    def _through(self, schedule_from: Callable[[float], Any], base: float, step: int, target: float) -> float:
        """The base whose schedule (``schedule_from(base)``'s, from another base) has `target` at `step`: torch's
        recursive form carried on from `target` there; `base` itself where no base does."""
        at = float(evaluate64(describe(schedule_from(base)), np.array([max(step, 0)]))[0])
        anchored = self._anchored(base, at, target)
        return base if anchored is None else anchored

    def _from_torch(self, state: Mapping[str, Any]) -> dict[str, Any]:
        """torch's state dict of this class as this scheduler's: its step and arguments; a recursive
        scheduler's schedules through torch's current lrs (``_last_lr``: torch's values carried on, whatever
        wrote them); a plateau's counters (``best``, ``num_bad_epochs``, ``cooldown_counter``). The other
        classes' schedules are the ones this object was built with (build it with the run's arguments)."""
        n = len(self.optimizer.param_groups)
        # (torch's ChainedScheduler saves only its children's states, each with the step)
        last_epoch = int(state["last_epoch"] if "last_epoch" in state else state["_schedulers"][0]["last_epoch"])
        self._restore_arguments({k: v for k, v in state.items() if not k.startswith("_")})
        if n > self._n_groups:  # groups the run added (re-added before this load): grown as a step would
            self._grow_groups(self.optimizer.param_groups)
        # torch's base_lrs do not grow with added groups: theirs from this scheduler's (their initial_lr)
        saved_bases = list(state.get("base_lrs", self.base_lrs))
        base_lrs = saved_bases + list(self.base_lrs[len(saved_bases):])
        last_lr = [_float(v) for v in state.get("_last_lr") or []]
        configs = list(self._lr_configs)
        plateaus: list[dict[str, Any]] = []
        if self._recursive and self._lr_bases is not None and len(last_lr) == n:
            plateau = isinstance(self, _torch.ReduceLROnPlateau)
            bases = []
            for i in range(n):
                if plateau:  # torch reduces from the current lr on
                    base = last_lr[i]
                else:
                    base = self._through(functools.partial(self._group_lr, i), _float(base_lrs[i]), last_epoch,
                                         last_lr[i])
                bases.append(base)
                configs[i] = describe(self._group_lr(i, base))
            self._lr_bases = bases
            if plateau:
                for c in configs:
                    saved = PlateauColumn(c).saved()
                    saved.update({k: state[k] for k in ("best", "num_bad_epochs", "cooldown_counter", "last_epoch")
                                  if k in state})
                    plateaus.append(saved)
        ours = ScheduleLR.state_dict(self)
        del ours["group_lrs"]  # (this optimizer's now, not the saved run's: torch's state does not say them)
        ours.update({"last_epoch": last_epoch, "_step_count": int(state.get("_step_count", last_epoch + 1)),
                     "position": None,
                     "base_lrs": [_float(b) for b in base_lrs], "lr": [_saved_config(c) for c in configs],
                     "plateau_of": list(range(len(plateaus))) if plateaus else ours["plateau_of"],
                     "plateau": plateaus or ours["plateau"]})
        ours["arguments"] = self._saved_arguments()
        return ours

    def _follow(self, i: int, key: str, found: Any, written: float) -> bool:
        """torch's recursive schedulers compute the next lr from whatever the lr is, so another writer's change
        carries on: another scheduler on the same optimizer (torch's back-to-back chaining), Lightning's
        ``BackboneFinetuning``, an lr finder's suggestion, code assigning ``param_group["lr"]``. This scheduler
        does the same: the group's schedule is rebuilt from the base that gives `found` at the last step, so
        from here on its values are torch's. Other values (momentum), and the schedulers that set the lr
        outright (torch's last writer wins), keep the error."""
        if not self._follows(i, key):
            return False
        assert self._lr_bases is not None
        base = self._anchored(self._lr_bases[i], written, found)
        if base is None:
            return False
        self._lr_bases[i] = base
        self._lr_configs[i] = describe(self._group_lr(i, base))
        return True

    def _follows(self, i: int, key: str) -> bool:
        return key == "lr" and self._lr_bases is not None and self._recursive

    def _foreign(self, i: int, key: str, found: Any, written: float) -> None:
        if self._follows(i, key) and written == self._floor():
            raise ValueError(
                f"{type(self).__name__}: param group {i}'s lr is {found!r}, but this scheduler set it to {written!r} "
                "at its last step, its floor: something else changed it (another scheduler, or code writing "
                "param_group['lr']). This scheduler follows such a change by rebuilding its schedule through the "
                "new lr, and no schedule of this kind leaves its floor there (torch's recursive form carries the "
                "new lr on). Build a new scheduler for the rest of the run from the new lr (a ConstantLR with "
                "factor=1.0 keeps it), or change the lr before the schedule reaches its floor")
        super()._foreign(i, key, found, written)

    def _group_lr(self, i: int, base: float) -> Any:
        """The lr schedule of param group `i` from `base`."""
        return self._make_lr(base)

    def step(self, epoch: Any = None) -> None:  # type: ignore[override]
        """torch's ``step(epoch=None)``: advance one step (an epoch is torch's deprecated closed-form jump). The
        first one warns as torch's does when ``optimizer.step()`` has not been called yet."""
        if self._step_count == 1:
            warn_call_order(self.optimizer)
        ScheduleLR.step(self, None, epoch)

    def _drive(self, optimizer: torch.optim.Optimizer, make_lr: Callable[[float], Any] | None, last_epoch: int,
               bases: list[float], momentum: list[Any] | None = None, lrs: list[Any] | None = None) -> None:
        track_optimizer_step(optimizer)  # (torch's: for the call-order warning of the first step())
        if lrs is None:
            assert make_lr is not None
            self._lr_bases = [_float(b) for b in bases]
            if last_epoch == -1 and self._recursive:
                # torch's recursive form starts from the group's lr as it is (another scheduler built on the
                # same optimizer may have changed it already: torch's back-to-back chaining); base_lrs stay
                self._lr_bases = [_float(g["lr"]) for g in optimizer.param_groups]
            elif self._recursive:
                # built at last_epoch L, torch's first step carries on from the group's lr as it is: the classes
                # that keep it (see _keeps_lr) take it as step L + 1's, the others as step L's, and apply their
                # factor of step L + 1 to it (a boundary there a second time when the lr had passed it already)
                at = last_epoch + 1 if self._keeps_lr else last_epoch
                self._lr_bases = [self._through(make_lr, b, at, _float(g["lr"]))
                                  for b, g in zip(self._lr_bases, optimizer.param_groups)]
            lrs = [make_lr(b) for b in self._lr_bases]
        ScheduleLR.__init__(self, optimizer, lr=lrs, momentum=momentum, last_epoch=last_epoch)
        self.base_lrs = [_copy(b) for b in bases]

    def _make_lr(self, base: float) -> Any:
        """The lr schedule of a param group with initial lr `base` (None: torch's arguments give it none)."""
        return None

    def _grow(self, group: dict[str, Any], what: str) -> tuple[bool, Any]:
        """A param group added later. A recursive scheduler (torch multiplies the group's current lr by its
        next factors) gets the schedule through the group's lr at the step before this one; another gets the
        schedule for the group's initial lr; one without a rule for new groups, none."""
        if what != "lr":
            return (not any(c is not None for c in self._momentum_configs), None)
        base = _float(group.get("initial_lr", group["lr"]))
        if self._lr_bases is not None and self._recursive:  # the schedule through its lr at the step before this
            lr = _float(group["lr"])
            base = self._through(self._make_lr, lr, self.last_epoch - 1, lr)
        s = self._make_lr(base)
        if s is None:
            return False, None
        if self._lr_bases is not None:
            self._lr_bases.append(base)
        return True, describe(s)


# ------------------------------------------------------------------ the recursive family


class StepLR(_TorchScheduler, _torch.StepLR):
    """torch's ``StepLR(optimizer, step_size, gamma=0.1, last_epoch=-1)``: ``initial_lr * gamma ** (t // size)``."""

    _multiplicative = True
    _recursive = True
    _arguments = ("step_size", "gamma")

    def __init__(self, optimizer: torch.optim.Optimizer, step_size: int, gamma: float = 0.1,
                 last_epoch: int = -1) -> None:
        self.step_size, self.gamma = step_size, _number(gamma)
        self._drive(optimizer, self._make_lr, last_epoch, _initial_lrs(optimizer, last_epoch))

    def _make_lr(self, base: float) -> Any:
        return _tc().StepLR(base, self.step_size, self.gamma)


class MultiStepLR(_TorchScheduler, _torch.MultiStepLR):
    """torch's ``MultiStepLR(optimizer, milestones, gamma=0.1, last_epoch=-1)``."""

    _multiplicative = True
    _recursive = True
    _arguments = ("milestones", "gamma")

    def __init__(self, optimizer: torch.optim.Optimizer, milestones: Sequence[int], gamma: float = 0.1,
                 last_epoch: int = -1) -> None:
        milestones = list(milestones)
        self.milestones = collections.Counter(milestones)
        self.gamma = _number(gamma)
        self._drive(optimizer, self._make_lr, last_epoch, _initial_lrs(optimizer, last_epoch))

    def _make_lr(self, base: float) -> Any:
        return _tc().MultiStepLR(base, sorted(self.milestones.elements()), self.gamma)


class ConstantLR(_TorchScheduler, _torch.ConstantLR):
    """torch's ``ConstantLR(optimizer, factor=1/3, total_iters=5, last_epoch=-1)``."""

    _multiplicative = True
    _recursive = True
    _arguments = ("factor", "total_iters")

    def __init__(self, optimizer: torch.optim.Optimizer, factor: float = 1.0 / 3, total_iters: int = 5,
                 last_epoch: int = -1) -> None:
        factor = _number(factor)
        if factor > 1.0 or factor < 0:
            raise ValueError("Constant multiplicative factor expected to be between 0 and 1.")
        self.factor, self.total_iters = factor, total_iters
        self._drive(optimizer, self._make_lr, last_epoch, _initial_lrs(optimizer, last_epoch))

    def _make_lr(self, base: float) -> Any:
        return _tc().ConstantLR(base, self.factor, self.total_iters)


class LinearLR(_TorchScheduler, _torch.LinearLR):
    """torch's ``LinearLR(optimizer, start_factor=1/3, end_factor=1.0, total_iters=5, last_epoch=-1)``."""

    _multiplicative = True
    _recursive = True
    _keeps_lr = True
    _arguments = ("start_factor", "end_factor", "total_iters")

    def __init__(self, optimizer: torch.optim.Optimizer, start_factor: float = 1.0 / 3, end_factor: float = 1.0,
                 total_iters: int = 5, last_epoch: int = -1) -> None:
        start_factor, end_factor = _number(start_factor), _number(end_factor)
        if start_factor > 1.0 or start_factor <= 0:
            raise ValueError("Starting multiplicative factor expected to be greater than 0 and less or equal to 1.")
        if end_factor > 1.0 or end_factor < 0:
            raise ValueError("Ending multiplicative factor expected to be between 0 and 1.")
        self.start_factor, self.end_factor, self.total_iters = start_factor, end_factor, total_iters
        self._drive(optimizer, self._make_lr, last_epoch, _initial_lrs(optimizer, last_epoch))

    def _make_lr(self, base: float) -> Any:
        return _tc().LinearLR(base, self.start_factor, self.end_factor, self.total_iters)


class ExponentialLR(_TorchScheduler, _torch.ExponentialLR):
    """torch's ``ExponentialLR(optimizer, gamma, last_epoch=-1)``: ``lr = initial_lr * gamma ** t``."""

    _multiplicative = True
    _recursive = True
    _keeps_lr = True
    _arguments = ("gamma",)

    def __init__(self, optimizer: torch.optim.Optimizer, gamma: float, last_epoch: int = -1) -> None:
        self.gamma = _number(gamma)
        self._drive(optimizer, self._make_lr, last_epoch, _initial_lrs(optimizer, last_epoch))

    def _make_lr(self, base: float) -> Any:
        return _tc().ExponentialLR(base, self.gamma)

    def _fractional_row(self, position: float) -> list[float]:
        """torch's closed form at a fractional epoch (the deprecated ``step(epoch=2.5)``): ``base_lr * gamma **
        epoch``, where the schedule (a decay per whole step) would take ``gamma ** 2``."""
        row: list[float | None] = [None] * len(self._columns)
        for i, c in self._lr_targets:
            row[c] = _float(self.base_lrs[i]) * float(self.gamma) ** position
        if any(v is None for v in row):
            return super()._fractional_row(position)
        return row  # type: ignore[return-value]


class PolynomialLR(_TorchScheduler, _torch.PolynomialLR):
    """torch's ``PolynomialLR(optimizer, total_iters=5, power=1.0, last_epoch=-1)``."""

    _multiplicative = True
    _recursive = True
    _keeps_lr = True
    _arguments = ("total_iters", "power")

    def __init__(self, optimizer: torch.optim.Optimizer, total_iters: int = 5, power: float = 1.0,
                 last_epoch: int = -1) -> None:
        self.total_iters, self.power = total_iters, _number(power)
        self._drive(optimizer, self._make_lr, last_epoch, _initial_lrs(optimizer, last_epoch))

    def _make_lr(self, base: float) -> Any:
        return _tc().PolynomialLR(base, self.total_iters, self.power)


class CosineAnnealingLR(_TorchScheduler, _torch.CosineAnnealingLR):
    """torch's ``CosineAnnealingLR(optimizer, T_max, eta_min=0.0, last_epoch=-1)``, oscillating past ``T_max``
    as torch does (computed in closed form, without torch's recursive drift)."""

    _arguments = ("T_max", "eta_min")
    _recursive = True
    _keeps_lr = True

    def _floor(self) -> float:
        return float(self.eta_min)

    def __init__(self, optimizer: torch.optim.Optimizer, T_max: int, eta_min: float = 0.0,
                 last_epoch: int = -1) -> None:
        self.T_max, self.eta_min = T_max, _number(eta_min)
        self._drive(optimizer, self._make_lr, last_epoch, _initial_lrs(optimizer, last_epoch))

    def _multiplies(self) -> bool:
        return self.eta_min == 0  # with eta_min the recursive form is affine, not a factor

    def _make_lr(self, base: float) -> Any:
        return _tc().CosineAnnealingLR(base, self.T_max, self.eta_min)


# ------------------------------------------------------------------ the absolute family


class CosineAnnealingWarmRestarts(_TorchScheduler, _torch.CosineAnnealingWarmRestarts):
    """torch's ``CosineAnnealingWarmRestarts(optimizer, T_0, T_mult=1, eta_min=0.0, last_epoch=-1)``.

    ``step(epoch)`` takes torch's fractional epochs (``step(epoch + i / iters)``);
    ``T_cur`` and ``T_i`` are computed from the position. Assigning ``T_cur`` moves the
    schedule as torch's next ``step()`` would continue from it (``step(epoch)`` goes back to
    torch's closed form of `epoch`)."""

    _arguments = ("T_0", "T_mult", "eta_min", "_offset")
    #: steps the schedule runs ahead of the position (a ``T_cur`` assignment; saved with the arguments)
    _offset: float = 0
    #: ``(T_cur, T_i)`` after a ``T_cur`` assignment the moved schedule does not show at this step (one past
    #: the current cycle): read back until the next step
    _assigned: tuple[float, int] | None = None

    def __init__(self, optimizer: torch.optim.Optimizer, T_0: int, T_mult: int = 1, eta_min: float = 0.0,
                 last_epoch: int = -1) -> None:
        if T_0 <= 0 or not isinstance(T_0, int):
            raise ValueError(f"Expected positive integer T_0, but got {T_0}")
        if T_mult < 1 or not isinstance(T_mult, int):
            raise ValueError(f"Expected integer T_mult >= 1, but got {T_mult}")
        if not isinstance(eta_min, (float, int)):
            raise ValueError(f"Expected float or int eta_min, but got {eta_min} of type {type(eta_min)}")
        self.T_0, self.T_mult, self.eta_min = T_0, T_mult, eta_min
        self._drive(optimizer, self._make_lr, last_epoch, _initial_lrs(optimizer, last_epoch))

    def _make_lr(self, base: float) -> Any:
        s = _tc().CosineAnnealingWarmRestarts(base, self.T_0, self.T_mult, self.eta_min)
        if not self._offset:
            return s
        import lrsched

        return lrsched.shift(s, -self._offset)

    def step(self, epoch: Any = None) -> None:  # type: ignore[override]
        """Advance one step, or go to `epoch` (fractional allowed; not deprecated here, as in torch)."""
        self._assigned = None
        if epoch is None:
            ScheduleLR.step(self)
            return
        if epoch < 0:
            raise ValueError(f"Expected non-negative epoch, but got {epoch}")
        if self._offset:  # torch's closed form of `epoch`, whatever T_cur was set to
            self._set_offset(0)
        self._step_count += 1
        self._move(epoch if not isinstance(epoch, numbers.Integral) else int(epoch))
        self._last_row = None

    def _here(self) -> float:
        return self._position if self._position is not None else float(self.last_epoch)

    def _cycle(self) -> tuple[float, int]:
        position = self._here() + self._offset
        T_i, start = self.T_0, 0
        while position >= start + T_i:
            start += T_i
            T_i *= self.T_mult
        return position - start, T_i

    def _set_offset(self, offset: float) -> None:
        """Run the schedules `offset` steps ahead of the position from here on (this step's values stay)."""
        self._offset = offset
        if self._lr_bases is not None:
            self._lr_configs = [describe(self._make_lr(b)) for b in self._lr_bases]
            self._build(self.optimizer, self._saved_plateaus())

    @property  # type: ignore[override]
    def T_cur(self) -> float:
        """Steps since the last restart (fractional after a fractional ``step(epoch)``)."""
        if self._assigned is not None:
            return self._assigned[0]
        return self._cycle()[0]

    @T_cur.setter
    def T_cur(self, value: float) -> None:
        """torch's ``sched.T_cur = v``: the next ``step()`` takes ``T_cur = v + 1`` in the current cycle, or, at
        its end, ``(v + 1) % T_i`` in the next one (the lr changes at that step, not now)."""
        here = self._here()
        t_cur, T_i = self._cycle()
        start = here + self._offset - t_cur  # where the current cycle started, in the schedule's steps
        nxt = value + 1
        # torch's next step: T_cur + 1 in this cycle, or at its end (T_cur + 1) % T_i of the next one
        target = start + nxt if nxt < T_i else start + T_i + nxt % T_i
        self._set_offset(target - (here + 1))
        self._assigned = None if self._cycle() == (value, T_i) else (value, T_i)

    @property
    def T_i(self) -> int:  # type: ignore[override]
        """The length of the current cycle."""
        if self._assigned is not None:
            return self._assigned[1]
        return self._cycle()[1]


class _HostScaleFn:
    """A torch ``scale_fn`` called as torch calls it: on Python numbers (the cycle or the iteration, an int), on the
    host, so numpy, ``math`` and any Python code work as in torch (the core's ``cyclic`` traces its ``scale_fn``
    with JAX). Each distinct value of a table chunk is one call (a cycle's steps share one)."""

    def __init__(self, fn: Callable[[Any], Any]) -> None:
        self.fn = fn
        functools.update_wrapper(self, fn, updated=())  # (its name in messages and reprs)

    def _host(self, x: np.ndarray) -> np.ndarray:
        values, where = np.unique(x, return_inverse=True)
        out = np.array([float(self.fn(int(v) if float(v).is_integer() else float(v))) for v in values])
        return out[where].reshape(x.shape).astype(x.dtype)

    def __call__(self, x: Any) -> Any:
        import jax

        return jax.pure_callback(self._host, jax.ShapeDtypeStruct(x.shape, x.dtype), x, vmap_method="sequential")


class CyclicLR(_TorchScheduler, _torch.CyclicLR):
    """torch's ``CyclicLR`` (Smith), momentum cycling inversely as torch does (``momentum`` or ``betas[0]``)."""

    _arguments = ("max_lrs", "total_size", "step_ratio", "mode", "gamma", "scale_mode", "cycle_momentum", "use_beta1",
                  "base_momentums", "max_momentums")

    def __init__(self, optimizer: torch.optim.Optimizer, base_lr: float | list[float], max_lr: float | list[float],
                 step_size_up: int = 2000, step_size_down: int | None = None,
                 mode: Literal["triangular", "triangular2", "exp_range"] = "triangular", gamma: float = 1.0,
                 scale_fn: Callable[[float], float] | None = None, scale_mode: Literal["cycle", "iterations"] = "cycle",
                 cycle_momentum: bool = True, base_momentum: float = 0.8, max_momentum: float = 0.9,
                 last_epoch: int = -1) -> None:
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        base_lrs = _per_group("base_lr", optimizer, base_lr)
        if last_epoch == -1:
            for lr, group in zip(base_lrs, optimizer.param_groups):
                if isinstance(group["lr"], torch.Tensor):
                    group["lr"].fill_(_float(lr))
                else:
                    group["lr"] = lr
        self.max_lrs = _per_group("max_lr", optimizer, max_lr)
        up = float(step_size_up)
        down = float(step_size_down) if step_size_down is not None else up
        self.total_size = up + down  # type: ignore[assignment]  # (a float, as torch's is)
        self.step_ratio = up / self.total_size
        if mode not in ["triangular", "triangular2", "exp_range"] and scale_fn is None:
            raise ValueError("mode is invalid and scale_fn is None")
        self.mode, self.gamma, self.scale_mode = mode, gamma, scale_mode
        if scale_fn is None:
            self.scale_mode = "iterations" if mode == "exp_range" else "cycle"
        self._scale_fn_custom = scale_fn
        self.cycle_momentum = cycle_momentum
        tc = _tc()
        args = dict(step_size_up=step_size_up, step_size_down=step_size_down, mode=mode, gamma=gamma,
                    scale_fn=None if scale_fn is None else _HostScaleFn(scale_fn), scale_mode=scale_mode)
        momentum = None
        if cycle_momentum:
            self.use_beta1 = _need_momentum(optimizer)
            self.base_momentums = _per_group("base_momentum", optimizer, base_momentum)
            self.max_momentums = _per_group("max_momentum", optimizer, max_momentum)
            if last_epoch == -1:
                for m, b, group in zip(self.max_momentums, self.base_momentums, optimizer.param_groups):
                    _set_momentum(group, m, self.use_beta1)
                    group["max_momentum"], group["base_momentum"] = m, b
            momentum = [tc.CyclicMomentum(None, None, base_momentum=_float(b), max_momentum=_float(m), **args)
                        for b, m in zip(self.base_momentums, self.max_momentums)]
        bases = [_float(b) for b in base_lrs]
        lrs = [tc.CyclicLR(b, _float(m), **args) for b, m in zip(bases, self.max_lrs)]
        _initial_lrs(optimizer, last_epoch)
        self._drive(optimizer, None, last_epoch, bases, momentum=momentum, lrs=lrs)
        _torch.CyclicLR._init_scale_fn(self)  # (torch's _scale_fn_ref for a built-in mode)

    def state_dict(self) -> dict[str, Any]:
        """:meth:`_TorchScheduler.state_dict`, with torch's ``_scale_fn_custom``: a callable object's
        ``__dict__`` (its state, as torch saves it), None for a function or a built-in mode."""
        state = super().state_dict()
        fn = self._scale_fn_custom
        state["_scale_fn_custom"] = (dict(fn.__dict__) if fn is not None and not isinstance(fn, types.FunctionType)
                                     else None)
        return state

    def load_state_dict(self, state_dict: Any) -> None:
        """:meth:`_TorchScheduler.load_state_dict`; a callable ``scale_fn`` object takes the saved state (torch's
        ``__dict__`` update), and the values follow it."""
        state_dict = dict(state_dict)
        custom = state_dict.pop("_scale_fn_custom", None)
        super().load_state_dict(state_dict)
        if custom is not None and self._scale_fn_custom is not None:
            self._scale_fn_custom.__dict__.update(custom)
            self._refollow()  # (the table again, from the function's loaded state)
        _torch.CyclicLR._init_scale_fn(self)

    def scale_fn(self, x: Any) -> float:
        """torch's scaling policy at cycle (or iteration) `x`."""
        if self._scale_fn_custom is not None:
            return self._scale_fn_custom(x)
        if self.mode == "triangular":
            return 1.0
        if self.mode == "triangular2":
            return 1 / (2.0 ** (x - 1))
        return self.gamma ** x


class OneCycleLR(_TorchScheduler, _torch.OneCycleLR):
    """torch's ``OneCycleLR`` (momentum, or ``betas[0]`` for Adam, cycling as torch does), torch's values up to step
    ``total_steps`` (its extrapolation there included), then holding its final value where torch raises."""

    _arguments = ("total_steps", "_anneal_func_type", "three_phase", "cycle_momentum", "use_beta1")

    def __init__(self, optimizer: torch.optim.Optimizer, max_lr: float | list[float], total_steps: int | None = None,
                 epochs: int | None = None, steps_per_epoch: int | None = None, pct_start: float = 0.3,
                 anneal_strategy: Literal["cos", "linear"] = "cos", cycle_momentum: bool = True,
                 base_momentum: float | list[float] = 0.85, max_momentum: float | list[float] = 0.95,
                 div_factor: float = 25.0, final_div_factor: float = 1e4, three_phase: bool = False,
                 last_epoch: int = -1) -> None:
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        if total_steps is not None:
            if total_steps <= 0 or not isinstance(total_steps, int):
                raise ValueError(f"Expected positive integer total_steps, but got {total_steps}")
            self.total_steps = total_steps
        elif epochs is not None and steps_per_epoch is not None:
            if not isinstance(epochs, int) or epochs <= 0:
                raise ValueError(f"Expected positive integer epochs, but got {epochs}")
            if not isinstance(steps_per_epoch, int) or steps_per_epoch <= 0:
                raise ValueError(f"Expected positive integer steps_per_epoch, but got {steps_per_epoch}")
            self.total_steps = epochs * steps_per_epoch
        else:
            raise ValueError("You must define either total_steps OR (epochs AND steps_per_epoch)")
        if pct_start < 0 or pct_start > 1 or not isinstance(pct_start, float):
            raise ValueError(f"Expected float between 0 and 1 pct_start, but got {pct_start}")
        if anneal_strategy not in ["cos", "linear"]:
            raise ValueError(f"anneal_strategy must be one of 'cos' or 'linear', instead got {anneal_strategy}")
        self._anneal_func_type = anneal_strategy
        self.three_phase = three_phase
        max_lrs = _per_group("max_lr", optimizer, max_lr)
        if last_epoch == -1:
            for m, group in zip(max_lrs, optimizer.param_groups):
                group["initial_lr"] = m / div_factor
                group["max_lr"] = m
                group["min_lr"] = group["initial_lr"] / final_div_factor
        self.cycle_momentum = cycle_momentum
        tc = _tc()
        args = dict(total_steps=self.total_steps, pct_start=pct_start, anneal_strategy=anneal_strategy,
                    three_phase=three_phase)
        momentum = None
        if cycle_momentum:
            self.use_beta1 = _need_momentum(optimizer)
            max_momentums = _per_group("max_momentum", optimizer, max_momentum)
            base_momentums = _per_group("base_momentum", optimizer, base_momentum)
            if last_epoch == -1:
                for m, b, group in zip(max_momentums, base_momentums, optimizer.param_groups):
                    _set_momentum(group, m, self.use_beta1)
                    group["max_momentum"], group["base_momentum"] = m, b
            momentum = [tc.OneCycleMomentum(base_momentum=_float(b), max_momentum=_float(m), **args)
                        for b, m in zip(base_momentums, max_momentums)]
        lrs = [tc.OneCycleLR(_float(m), div_factor=div_factor, final_div_factor=final_div_factor, **args)
               for m in max_lrs]
        bases = _initial_lrs(optimizer, last_epoch)
        self._drive(optimizer, None, last_epoch, bases, momentum=momentum, lrs=lrs)


# ------------------------------------------------------------------ reduce on plateau


class ReduceLROnPlateau(_TorchScheduler, _torch.ReduceLROnPlateau):
    """torch's ``ReduceLROnPlateau(optimizer, mode, factor, patience, threshold, threshold_mode, cooldown, min_lr,
    eps)``, bit for bit, as ``lrsched.plateau(constant(lr), ...)`` per param group.

    It is an instance of torch's class, so Lightning and the Hugging Face Trainer
    feed it the monitored metric as they feed torch's. ``best``,
    ``num_bad_epochs``, ``cooldown_counter`` and ``in_cooldown`` read the plateau
    state. Inside :class:`SequentialLR` or :class:`ChainedScheduler` it combines
    with warmup (torch refuses both).
    """

    _multiplicative = True
    _recursive = True  # (it reduces whatever the lr is)
    _arguments = ("mode", "factor", "patience", "threshold", "threshold_mode", "cooldown", "eps", "mode_worse",
                  "min_lrs", "default_min_lr")

    def __init__(self, optimizer: torch.optim.Optimizer, mode: Literal["min", "max"] = "min", factor: float = 0.1,
                 patience: int = 10, threshold: float = 1e-4, threshold_mode: Literal["rel", "abs"] = "rel",
                 cooldown: int = 0, min_lr: list[float] | float = 0, eps: float = 1e-8) -> None:
        factor, threshold, eps = _number(factor), _number(threshold), _number(eps)
        if factor >= 1.0:
            raise ValueError("Factor should be < 1.0.")
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")
        if mode not in {"min", "max"}:
            raise ValueError("mode " + mode + " is unknown!")
        if threshold_mode not in {"rel", "abs"}:
            raise ValueError("threshold mode " + threshold_mode + " is unknown!")
        n = len(optimizer.param_groups)
        if isinstance(min_lr, (list, tuple)):
            if len(min_lr) != n:
                raise ValueError(f"expected {n} min_lrs, got {len(min_lr)}")
            self.default_min_lr = None
            self.min_lrs = list(min_lr)
        else:
            self.default_min_lr = min_lr
            self.min_lrs = [min_lr] * n
        self.mode, self.factor, self.patience, self.threshold = mode, factor, patience, threshold
        self.threshold_mode, self.cooldown, self.eps = threshold_mode, cooldown, eps
        self.mode_worse = math.inf if mode == "min" else -math.inf
        tc = _tc()
        kw = dict(mode=mode, factor=factor, patience=patience, threshold=threshold, threshold_mode=threshold_mode,
                  cooldown=cooldown, eps=eps)
        lrs = [tc.ReduceLROnPlateau(_float(g["lr"]), min_lr=float(m), **kw)
               for g, m in zip(optimizer.param_groups, self.min_lrs)]
        bases = [_float(g["lr"]) for g in optimizer.param_groups]
        self._drive(optimizer, None, -1, bases, lrs=lrs)
        self._lr_bases = list(bases)  # (torch reduces whatever the lr is: another writer's change is followed)

    def _make_lr(self, base: float, min_lr: Any = None) -> Any:
        min_lr = self.default_min_lr if min_lr is None else min_lr
        if min_lr is None:
            return None
        return _tc().ReduceLROnPlateau(base, mode=self.mode, factor=self.factor, patience=self.patience,
                                       threshold=self.threshold, threshold_mode=self.threshold_mode,
                                       cooldown=self.cooldown, min_lr=float(min_lr), eps=self.eps)

    #: groups added later whose ``min_lrs`` entry the caller has not appended yet (with a list ``min_lr``): they
    #: reduce to 0 until it is there, and a reduction without it is torch's RuntimeError (see :meth:`step`)
    _unset_min_lr: tuple[int, ...] = ()

    def _grow(self, group: dict[str, Any], what: str) -> tuple[bool, Any]:
        """A group added later: torch's ``min_lrs`` rule. A scalar ``min_lr`` extends ``min_lrs``; with a list,
        the caller appends the new group's entry to ``min_lrs`` (torch's advice, pytorch#104361) before the next
        reduction, which without it is torch's ``RuntimeError``."""
        if what != "lr":
            return _TorchScheduler._grow(self, group, what)
        i = next(j for j, g in enumerate(self.optimizer.param_groups) if g is group)
        if self.default_min_lr is not None:
            self.min_lrs.extend([self.default_min_lr] * (i + 1 - len(self.min_lrs)))
        elif i >= len(self.min_lrs):
            self._unset_min_lr += (i,)
        base = _float(group.get("initial_lr", group["lr"]))
        if self._lr_bases is not None:
            self._lr_bases.append(base)
        return True, describe(self._group_lr(i, base))

    def _group_lr(self, i: int, base: float) -> Any:
        return self._make_lr(base, self.min_lrs[i] if i < len(self.min_lrs) else 0.0)

    def _check_min_lrs(self, metrics: Any) -> None:
        """torch's rule for a ``min_lrs`` list shorter than the param groups: the groups whose entry has been
        appended since take it; while any is missing, the step that reduces raises torch's RuntimeError (before
        changing anything)."""
        n = len(self.optimizer.param_groups)
        ready = [i for i in self._unset_min_lr if i < len(self.min_lrs)]
        if ready and self._lr_bases is not None:
            for i in ready:
                self._lr_configs[i] = describe(self._group_lr(i, self._lr_bases[i]))
            self._unset_min_lr = tuple(i for i in self._unset_min_lr if i not in ready)
            self._refollow()
        if len(self.min_lrs) != n and self._reduces(metrics):
            raise RuntimeError(
                f"The number of param groups in the `optimizer` ({n}) differs from when `ReduceLROnPlateau` was "
                f"initialized ({len(self.min_lrs)}), usually due to a new param group being added to the optimizer. "
                "Please modify the `min_lrs` field to match the length of the `optimizer` param groups "
                "(scheduler.min_lrs.append(min_lr) after add_param_group)."
            )

    def _reduces(self, metrics: Any) -> bool:
        """Whether torch's ``step(metrics)`` reduces now (its counters, its comparison)."""
        try:
            current = float(metrics)
        except (TypeError, ValueError):
            return False  # (ScheduleLR.step refuses it with its own message)
        is_better = (getattr(_torch.ReduceLROnPlateau, "_is_better", None)  # (torch 2.13; is_better before)
                     or _torch.ReduceLROnPlateau.is_better)  # type: ignore[attr-defined]
        bad = 0 if is_better(self, current, self.best) else self.num_bad_epochs + 1
        return not self.in_cooldown and bad > self.patience

    def _groups_changed(self, groups: list[dict[str, Any]]) -> None:
        """torch decides once for every group: a group added later reduces with the others from then on (its
        plateau takes their counters, with a rate of its own)."""
        before = len(self._plateau_columns)
        _TorchScheduler._groups_changed(self, groups)
        if before:
            first = self._plateau(self._plateau_columns[0])
            for c in self._plateau_columns[before:]:
                self._plateau(c).follow(first)

    def _initial_step(self) -> None:
        self._last_row = None
        self._step_count = 0
        ScheduleLR.step(self)

    def step(self, metrics: Any = None, epoch: Any = None) -> None:  # type: ignore[override]
        """torch's ``step(metrics)``: feed the metric (``float(metrics)``, as torch converts it: a number, a
        numeric string, a bool, a one-element tensor) and advance."""
        if metrics is None:
            raise TypeError("ReduceLROnPlateau.step() missing 1 required positional argument: 'metrics' (the "
                            "monitored value, e.g. the validation loss)")
        metrics = float(metrics)  # torch's conversion, with its errors
        if len(self.optimizer.param_groups) != self._n_groups:
            # a group added since the last step takes this step's decision with the others (torch reduces every
            # group it finds): its plateau joins before the metric, this step's values written again first
            self._apply()
        if self.default_min_lr is None and (self._unset_min_lr or len(self.min_lrs) != self._n_groups):
            self._check_min_lrs(metrics)
        ScheduleLR.step(self, metrics, epoch)

    def load_state_dict(self, state_dict: Any) -> None:
        """:meth:`_TorchScheduler.load_state_dict`; the groups still waiting for their ``min_lrs`` entry are the
        loaded run's (a group re-added before the load has its entry in the loaded ``min_lrs``)."""
        _TorchScheduler.load_state_dict(self, state_dict)
        if self.default_min_lr is None:
            self._unset_min_lr = tuple(range(len(self.min_lrs), len(self.optimizer.param_groups)))

    def _state(self) -> Any:
        return self.plateau_states[0]

    @property
    def best(self) -> float:  # type: ignore[override]
        return float(self._state().best)

    @property
    def num_bad_epochs(self) -> int:  # type: ignore[override]
        return int(self._state().num_bad_epochs)

    @property
    def cooldown_counter(self) -> int:  # type: ignore[override]
        return int(self._state().cooldown_counter)

    @property
    def in_cooldown(self) -> bool:
        return self.cooldown_counter > 0


# ------------------------------------------------------------------ combinations


class _LambdaChild:
    """A :class:`LambdaLR` whose factors are lrsched schedules, as a child of :class:`SequentialLR` or
    :class:`ChainedScheduler`: group `g`'s lr schedule is what torch's LambdaLR sets, ``initial_lr *
    factor(k)`` (the lr outright: chained with others it is refused, as for torch's other absolute
    schedulers)."""

    def __init__(self, where: str, i: int, scheduler: LambdaLR) -> None:
        from lrsched_torch._lambda import ScheduleFactor

        self.optimizer = scheduler.optimizer
        self._factors: list[ScheduleFactor] = []
        for f in scheduler.lr_lambdas:
            if not isinstance(f, ScheduleFactor):
                raise TypeError(
                    f"{where}: scheduler {i} is a LambdaLR of the Python function {f!r}, which the combination "
                    "cannot tabulate (it combines schedules, not code). Give the LambdaLR an lrsched schedule as "
                    "its factor (LambdaLR(opt, lrsched.linear(0.2, 1.0, 5)): lr = initial_lr * factor(k)), or "
                    "combine torch's own LambdaLR with torch.optim.lr_scheduler.SequentialLR"
                )
            self._factors.append(f)
        self._lr_bases: list[float] | None = []  # (not None: _child_lr builds each group's schedule)
        self._lr_configs = [f.config for f in self._factors]
        self._momentum_configs: list[Any] = [None] * len(self._factors)

    def _group_lr(self, g: int, base: float) -> Any:
        f = self._factors[g]
        return _schedule(f.source()) * (base / f.base_lr)

    def _multiplies(self) -> bool:
        return False


def _children(where: str, optimizer: torch.optim.Optimizer | None, schedulers: Sequence[Any]
              ) -> tuple[torch.optim.Optimizer, list[Any]]:
    """The optimizer and the children as schedules per group (:class:`_TorchScheduler` or
    :class:`_LambdaChild`)."""
    schedulers = list(schedulers)
    if len(schedulers) < 1:
        chained = " to be chained" if where == "ChainedScheduler" else ""  # (torch's two texts)
        raise ValueError(f"{where} expects at least one scheduler{chained}, but got no scheduler.")
    optimizer = optimizer or schedulers[0].optimizer
    children: list[Any] = []
    for i, s in enumerate(schedulers):
        if isinstance(s, LambdaLR):
            children.append(_LambdaChild(where, i, s))
        elif isinstance(s, _TorchScheduler):
            children.append(s)
        else:
            raise TypeError(
                f"{where}: scheduler {i} is a {type(s).__module__}.{type(s).__name__}; this {where} combines the "
                "schedules of lrsched_torch.lr_scheduler's classes. Import it from there too (same name and "
                "arguments), or build one schedule and pass it to lrsched_torch.ScheduleLR"
            )
        if s.optimizer is not optimizer:
            raise ValueError(f"{where} expects all schedulers to belong to the same optimizer, but got scheduler "
                             f"{type(s).__name__} at index {i} has {s.optimizer}, which is different from "
                             f"{type(optimizer).__name__}.")
    assert optimizer is not None
    return optimizer, children


def _child_lr(child: Any, g: int, optimizer: torch.optim.Optimizer) -> Any:
    """A child's lr schedule of group `g` as torch's SequentialLR and ChainedScheduler use it: from the group's
    initial lr (a child built after another on the same optimizer started from the lr that one left, as a
    scheduler of its own would; inside the combination it does not)."""
    if g >= len(child._lr_configs) or child._lr_configs[g] is None:
        return None
    if child._lr_bases is None or is_plateau(child._lr_configs[g]):
        return child._lr_configs[g]
    group = optimizer.param_groups[g]
    # (the schedule itself, not its config: compat.torch.SequentialLR knows how torch restarts the children it made)
    return child._group_lr(g, _float(group.get("initial_lr", group["lr"])))


def _schedule(config: Any) -> Any:
    import lrsched

    return config if config is None or isinstance(config, lrsched.Schedule) else lrsched.from_config(config)


def _plateau_config(config: Any) -> dict[str, Any]:
    if not isinstance(config, dict):
        raise ValueError("a plateau schedule without a config cannot be combined")
    return {k: v for k, v in config.items() if k not in ("type", "schedule", "lrsched_config")}


def _rewrap(plateau_config: dict[str, Any], inner: Any, start: int) -> Any:
    """``lrsched.plateau(inner, ...)`` with a plateau's options, acting from step `start` on."""
    import lrsched

    options = _plateau_config(plateau_config)
    options["start"] = max(int(options.get("start") or 0), int(start))
    return lrsched.plateau(inner, **options)


class SequentialLR(_TorchScheduler, _torch.SequentialLR):
    """torch's ``SequentialLR(optimizer, schedulers, milestones, last_epoch=-1)``: each child restarts at its
    milestone (``lrsched.join``). The last child may be a :class:`ReduceLROnPlateau`: warmup + plateau, with
    ``step(metric)`` feeding it from its milestone on."""

    def step(self, metric: Any = None) -> None:  # type: ignore[override]
        """torch's ``step()``; with a ReduceLROnPlateau child, ``step(metric)`` also feeds it the metric. The first
        one warns as torch's children do when ``optimizer.step()`` has not been called yet."""
        if self._step_count == 1:
            warn_call_order(self.optimizer)
        ScheduleLR.step(self, metric)

    def __init__(self, optimizer: torch.optim.Optimizer, schedulers: list[Any], milestones: list[int],
                 last_epoch: int = -1) -> None:
        optimizer, children = _children("SequentialLR", optimizer, schedulers)
        schedulers = list(schedulers)
        if len(milestones) != len(children) - 1:
            raise ValueError(
                "Sequential Schedulers expects number of schedulers provided to be one more than the number of "
                f"milestone points, but got number of schedulers {len(children)} and the number of milestones "
                f"to be equal to {len(milestones)}")
        import lrsched

        self._schedulers, self._milestones = schedulers, list(milestones)
        n = len(optimizer.param_groups)
        lrs: list[Any] = []
        moms: list[Any] = []
        for g in range(n):
            pieces = [_child_lr(c, g, optimizer) for c in children]
            if any(p is None for p in pieces):
                raise ValueError(f"SequentialLR: a child scheduler does not drive the lr of param group {g}")
            plateaus = [i for i, p in enumerate(pieces) if is_plateau(p)]
            if plateaus and plateaus != [len(pieces) - 1]:
                raise ValueError("SequentialLR: only the last scheduler may be a ReduceLROnPlateau (it then reduces "
                                 "from its milestone on); put it last")
            schedules = [_schedule(p) for p in pieces]
            if plateaus:  # the plateau reduces from the group's initial lr, from its milestone on
                last: Any = pieces[-1]
                schedules[-1] = lrsched.constant(_float(optimizer.param_groups[g].get(
                    "initial_lr", optimizer.param_groups[g]["lr"])))
                joined = _tc().SequentialLR(schedules, self._milestones) if len(schedules) > 1 else schedules[0]
                lrs.append(_rewrap(last, joined, self._milestones[-1] if self._milestones else 0))
            else:
                lrs.append(_tc().SequentialLR(schedules, self._milestones) if len(schedules) > 1 else schedules[0])
            mom = [c._momentum_configs[g] if g < len(c._momentum_configs) else None for c in children]
            if all(m is None for m in mom):
                moms.append(None)
            elif any(m is None for m in mom):
                raise ValueError(
                    f"SequentialLR: some children drive the momentum of param group {g} (OneCycleLR, CyclicLR) and "
                    "others do not, so the momentum between them is undefined. Give every piece a momentum "
                    "schedule: build the join yourself and pass it to lrsched_torch.ScheduleLR(momentum=...)")
            else:
                ms = [_schedule(m) for m in mom]
                moms.append(lrsched.join(ms, self._milestones) if len(ms) > 1 else ms[0])
        for group in optimizer.param_groups:  # torch resets every group to its initial lr first
            if "initial_lr" in group:
                group["lr"] = _copy(group["initial_lr"])
        bases = [_float(g.get("initial_lr", g["lr"])) for g in optimizer.param_groups]
        self._drive(optimizer, None, last_epoch, bases,
                    momentum=None if all(m is None for m in moms) else moms, lrs=lrs)


class ChainedScheduler(_TorchScheduler, _torch.ChainedScheduler):
    """torch's ``ChainedScheduler(schedulers, optimizer=None)`` as one schedule per group: the product of the
    children's factors, ``initial_lr * prod_i(s_i(t) / initial_lr)``, which is what torch's chaining of its
    recursive schedulers computes. A child that sets the lr outright (OneCycleLR, CyclicLR,
    CosineAnnealingWarmRestarts, SequentialLR, CosineAnnealingLR with eta_min) is refused when chained with others,
    since torch's result there is no product; a :class:`ReduceLROnPlateau` child wraps the product (warmup +
    plateau), fed by ``step(metric)``."""

    def step(self, metric: Any = None) -> None:  # type: ignore[override]
        """torch's ``step()``; with a ReduceLROnPlateau child, ``step(metric)`` also feeds it the metric. The first
        one warns as torch's children do when ``optimizer.step()`` has not been called yet."""
        if self._step_count == 1:
            warn_call_order(self.optimizer)
        ScheduleLR.step(self, metric)

    def __init__(self, schedulers: Sequence[Any], optimizer: torch.optim.Optimizer | None = None) -> None:
        optimizer, children = _children("ChainedScheduler", optimizer, schedulers)
        self._schedulers = list(schedulers)
        if len(children) > 1:
            for c in children:
                if not c._multiplies():
                    raise ValueError(
                        f"ChainedScheduler: {type(c).__name__} sets the lr outright, so torch's chaining of it with "
                        "other schedulers is no product (each step the last one to write wins and the others "
                        "multiply that by their one-step ratio). Build the product you mean as one schedule and "
                        "pass it to lrsched_torch.ScheduleLR, e.g. lr=tc.OneCycleLR(...) * tc.ExponentialLR(1.0, g)")
        plateaus = [c for c in children if any(is_plateau(p) for p in c._lr_configs)]
        if len(plateaus) > 1:
            raise ValueError("ChainedScheduler: at most one ReduceLROnPlateau can be chained")
        lrs, moms = [], []
        for g, group in enumerate(optimizer.param_groups):
            base = _float(group.get("initial_lr", group["lr"]))
            product, plateau = None, None
            for c in children:
                config = _child_lr(c, g, optimizer)
                if config is None:
                    continue
                if is_plateau(config):
                    plateau = config
                    continue
                s = _schedule(config)
                product = s if product is None else product * (s * (1.0 / base))
            if plateau is not None:
                import lrsched

                inner = product if product is not None else lrsched.constant(base)
                lrs.append(_rewrap(plateau, inner, 0))
            else:
                lrs.append(product)
            ms = [c._momentum_configs[g] for c in children if g < len(c._momentum_configs)
                  and c._momentum_configs[g] is not None]
            moms.append(_schedule(ms[0]) if ms else None)
        bases = [_float(g.get("initial_lr", g["lr"])) for g in optimizer.param_groups]
        self._drive(optimizer, None, -1, bases, momentum=None if all(m is None for m in moms) else moms, lrs=lrs)
