"""lrsched_torch: drive PyTorch optimizers with lrsched schedules (see DESIGN section 6).

- :func:`lambda_lr` returns a real ``torch.optim.lr_scheduler.LambdaLR`` whose
  picklable factor objects carry the schedule's config.
- :class:`ScheduleLR` is an ``LRScheduler`` setting absolute lr (and momentum or
  ``betas[0]``) per param group, with reduce-on-plateau, exact resume, and a
  distributed metric option.
- ``lr_range_test`` (from :mod:`lrsched_torch.finder`) runs the LR range test.

Values are computed in float64 chunks with JAX on the CPU device and served from
a table: no JAX call per step, and JAX never initialises an accelerator for it.
"""

from __future__ import annotations

from typing import Any

from lrsched_torch._lambda import ScheduleFactor as ScheduleFactor
from lrsched_torch._lambda import lambda_lr as lambda_lr
from lrsched_torch._scheduler import ScheduleLR as ScheduleLR

__all__ = ["lambda_lr", "ScheduleLR", "ScheduleFactor", "lr_range_test"]


def __getattr__(name: str) -> Any:
    # lr_range_test lives in lrsched_torch.finder (imported on first use).
    if name == "lr_range_test":
        from lrsched_torch.finder import lr_range_test

        return lr_range_test
    raise AttributeError(f"module 'lrsched_torch' has no attribute {name!r}")
