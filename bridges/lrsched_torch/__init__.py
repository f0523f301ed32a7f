"""lrsched_torch: drive PyTorch optimizers with lrsched schedules (see DESIGN section 6).

- :class:`ScheduleLR` is an ``LRScheduler`` setting absolute lr (and momentum or
  ``betas[0]``) per param group, with reduce-on-plateau, exact resume, and a
  distributed metric option.
- :func:`lambda_lr` returns a :class:`LambdaLR` (a ``torch.optim.lr_scheduler.LambdaLR``
  subclass) whose picklable factor objects carry the schedule's config.
- :mod:`lrsched_torch.lr_scheduler` has torch's scheduler classes by name and
  signature; :mod:`lrsched_torch.lightning` and :mod:`lrsched_torch.transformers`
  feed plateau schedules inside those trainers.
- ``lr_range_test`` (from :mod:`lrsched_torch.finder`) runs the LR range test.

Values are computed in float64 chunks (numpy for the common schedules, otherwise
JAX on the CPU device) and served from a table: no JAX call per step, JAX never
initialises an accelerator for it, and importing this package imports neither JAX
nor lrsched (they load when a schedule is first evaluated).
"""

from __future__ import annotations

from typing import Any

from lrsched_torch._lambda import LambdaLR as LambdaLR
from lrsched_torch._lambda import ScheduleFactor as ScheduleFactor
from lrsched_torch._lambda import lambda_lr as lambda_lr
from lrsched_torch._scheduler import ScheduleLR as ScheduleLR

__all__ = ["lambda_lr", "ScheduleLR", "ScheduleFactor", "LambdaLR", "lr_range_test"]


def __getattr__(name: str) -> Any:
    # lr_range_test lives in lrsched_torch.finder (imported on first use).
    if name == "lr_range_test":
        from lrsched_torch.finder import lr_range_test

        return lr_range_test
    raise AttributeError(f"module 'lrsched_torch' has no attribute {name!r}")
