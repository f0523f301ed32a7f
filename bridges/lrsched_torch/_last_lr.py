"""``_last_lr`` read from the optimizer's param groups, torch's ``step(epoch)`` warning, and its warning
about the order of ``optimizer.step()`` and ``scheduler.step()``: what the bridge schedulers share of torch's
``LRScheduler`` behaviour.

torch's ``LRScheduler`` keeps ``_last_lr`` as a list it rebuilds at every step; the bridge
schedulers write the rates straight into the groups, so the groups are the record and no
per-step list is built (one allocation less per ``step()``).
"""

from __future__ import annotations

import functools
import os
import sys
import warnings
import weakref
from typing import Any

import torch

#: torch's warning for the deprecated ``step(epoch)``, word for word (tests and log filters match its text)
EPOCH_DEPRECATED: str = getattr(
    torch.optim.lr_scheduler, "EPOCH_DEPRECATION_WARNING",
    "The epoch parameter in `scheduler.step()` was not necessary and is being deprecated where possible. "
    "Please use `scheduler.step()` to step the scheduler. During the deprecation, if epoch is different from "
    "None, the closed form is used instead of the new chainable form, where available.")


class LastLRFromGroups:
    """Mixin: ``_last_lr`` (what ``get_last_lr()`` returns) is the groups' current ``lr``."""

    optimizer: torch.optim.Optimizer

    @property
    def _last_lr(self) -> list[Any]:
        """torch's ``_last_lr``, read from the groups (tensor rates are cloned, as torch does)."""
        return [g["lr"].clone() if isinstance(g["lr"], torch.Tensor) else g["lr"]
                for g in self.optimizer.param_groups]

    @_last_lr.setter
    def _last_lr(self, value: Any) -> None:
        pass  # computed from the param groups (torch's base class assigns it)


#: torch's warnings about the call order (``LRScheduler.step``, pytorch#20124), word for word
OVERRIDDEN: str = (
    "Seems like `optimizer.step()` has been overridden after learning rate scheduler initialization. Please, make "
    "sure to call `optimizer.step()` before `lr_scheduler.step()`. See more details at "
    "https://pytorch.org/docs/stable/optim.html#how-to-adjust-learning-rate")
BEFORE_OPTIMIZER: str = (
    "Detected call of `lr_scheduler.step()` before `optimizer.step()`. In PyTorch 1.1.0 and later, you should call "
    "them in the opposite order: `optimizer.step()` before `lr_scheduler.step()`.  Failure to do this will result in "
    "PyTorch skipping the first value of the learning rate schedule. See more details at "
    "https://pytorch.org/docs/stable/optim.html#how-to-adjust-learning-rate")


def track_optimizer_step(optimizer: torch.optim.Optimizer) -> None:
    """torch's ``patch_track_step_called``: wrap ``optimizer.step`` once so that it records being called
    (``optimizer._opt_called``), with torch's marker, so torch's schedulers and these share one wrapper."""
    if hasattr(optimizer.step, "_wrapped_by_lr_sched"):
        return
    ref = weakref.ref(optimizer)
    func = optimizer.step.__func__  # type: ignore[attr-defined]

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        opt = ref()
        opt._opt_called = True  # type: ignore[union-attr]
        return func.__get__(opt, opt.__class__)(*args, **kwargs)

    wrapper._wrapped_by_lr_sched = True  # type: ignore[attr-defined]
    optimizer.step = wrapper  # type: ignore[method-assign]


_HERE = os.path.dirname(os.path.abspath(__file__))


def warn_at_caller(message: str, category: type[Warning] = UserWarning) -> None:
    """Warn at the first frame outside this package (the user's ``scheduler.step()`` line, as torch's warnings
    point there), however many of the bridge's own calls lie between."""
    level, frame = 2, sys._getframe(1)  # (stacklevel 2: the frame that called this function)
    while frame is not None and os.path.dirname(os.path.abspath(frame.f_code.co_filename)) == _HERE:
        level, frame = level + 1, frame.f_back  # type: ignore[assignment]
    warnings.warn(message, category, stacklevel=level)


def warn_call_order(optimizer: torch.optim.Optimizer) -> None:
    """torch's check at a scheduler's first ``step()`` after construction: the optimizer's step replaced since
    (the record is lost), or not called yet (the schedule's first value would be skipped)."""
    if not hasattr(optimizer.step, "_wrapped_by_lr_sched"):
        warn_at_caller(OVERRIDDEN)
    elif not getattr(optimizer, "_opt_called", False):
        warn_at_caller(BEFORE_OPTIMIZER)
