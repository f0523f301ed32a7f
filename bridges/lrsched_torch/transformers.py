"""Hugging Face ``Trainer``: feed a per-step plateau schedule the evaluation metric (``FeedPlateau``).

The ``Trainer`` steps its scheduler after every optimizer step, except an
instance of torch's ``ReduceLROnPlateau``, which it steps only after evaluation,
with ``metrics["eval_" + metric_for_best_model]``. A ``ScheduleLR`` whose lr is
``plateau(warmup(...))`` is stepped every optimizer step (its time axis), and
:class:`FeedPlateau` gives it the metric after each evaluation during training::

    sched = lrsched_torch.ScheduleLR(opt, lr=lrsched.plateau(lrsched.warmup(lrsched.constant(1e-3), 100),
                                                             patience=2, start=100))
    trainer = Trainer(model, args, optimizers=(opt, sched), callbacks=[lrsched_torch.transformers.FeedPlateau()])

``lrsched_torch.lr_scheduler.ReduceLROnPlateau`` is a torch ``ReduceLROnPlateau``:
the Trainer feeds it by itself (and this callback leaves it alone).
"""

from __future__ import annotations

from typing import Any

import torch
from transformers import TrainerCallback

from lrsched_torch._scheduler import ScheduleLR

__all__ = ["FeedPlateau"]


def _scheduler(s: Any) -> Any:
    return getattr(s, "scheduler", s) if not isinstance(s, ScheduleLR) else s  # accelerate's wrapper


class FeedPlateau(TrainerCallback):
    """After each evaluation during ``train``, ``observe`` the metric in a plateau ``ScheduleLR``.

    Args:
      metric: the key in the evaluation metrics (``"eval_loss"``; a name without
        the ``eval_`` prefix gets it). Default: ``args.metric_for_best_model``, else
        ``"eval_loss"``, as the Trainer does for ``ReduceLROnPlateau``.

    Each optimizer step's evaluation feeds the plateau once (evaluating twice at
    the same step, or after ``train`` returned, feeds nothing).
    """

    def __init__(self, metric: str | None = None) -> None:
        self.metric = metric
        self._training = False
        self._fed_at: int | None = None

    def _key(self, args: Any) -> str:
        key = self.metric or getattr(args, "metric_for_best_model", None) or "loss"
        return key if key.startswith("eval_") else f"eval_{key}"

    def on_train_begin(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._training = True
        self._fed_at = None

    def on_train_end(self, args: Any, state: Any, control: Any, **kwargs: Any) -> None:
        self._training = False

    def on_evaluate(self, args: Any, state: Any, control: Any, metrics: Any = None, **kwargs: Any) -> None:
        s = _scheduler(kwargs.get("lr_scheduler"))
        if not self._training or not isinstance(s, ScheduleLR) or not s._plateau_columns:
            return
        if isinstance(s, torch.optim.lr_scheduler.ReduceLROnPlateau):
            return  # the Trainer steps it with the metric itself
        if self._fed_at == state.global_step:
            return
        key = self._key(args)
        if not metrics or key not in metrics:
            raise KeyError(
                f"FeedPlateau: the evaluation metrics have no {key!r}; they are {sorted(metrics or {})}. Pass "
                "FeedPlateau(metric=...) or set TrainingArguments(metric_for_best_model=...), and return it from "
                "compute_metrics"
            )
        s.observe(metrics[key])
        self._fed_at = state.global_step
