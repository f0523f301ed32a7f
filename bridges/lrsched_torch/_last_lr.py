"""``_last_lr`` read from the optimizer's param groups, shared by both bridge schedulers.

torch's ``LRScheduler`` keeps ``_last_lr`` as a list it rebuilds at every step; the bridge
schedulers write the rates straight into the groups, so the groups are the record and no
per-step list is built (one allocation less per ``step()``).
"""

from __future__ import annotations

from typing import Any

import torch


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
