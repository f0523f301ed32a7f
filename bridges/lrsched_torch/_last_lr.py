"""``_last_lr`` read from the optimizer's param groups, and torch's ``step(epoch)`` warning: what both
bridge schedulers share of torch's ``LRScheduler`` behaviour.

torch's ``LRScheduler`` keeps ``_last_lr`` as a list it rebuilds at every step; the bridge
schedulers write the rates straight into the groups, so the groups are the record and no
per-step list is built (one allocation less per ``step()``).
"""

from __future__ import annotations

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
