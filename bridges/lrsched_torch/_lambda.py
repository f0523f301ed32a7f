"""``lambda_lr``: a real ``torch.optim.lr_scheduler.LambdaLR`` driven by a schedule."""

from __future__ import annotations

from typing import Any, Sequence

import torch

import lrsched
from lrsched_torch._table import Table, describe

_NOT_SAVED = "lrsched_torch: schedule without a config, not saved"

__all__ = ["ScheduleFactor", "lambda_lr"]


class ScheduleFactor:
    """A picklable LambdaLR factor: ``factor(k) = schedule(k) / base_lr``.

    Its ``__dict__`` holds only the schedule's config and ``base_lr`` (plain
    Python data), which is what ``LambdaLR.state_dict()`` saves for callable
    objects; the value table lives in a slot outside ``__dict__`` and is rebuilt
    whenever the config changes (e.g. after ``LambdaLR.load_state_dict``).

    Examples:
      >>> import pickle, lrsched
      >>> f = ScheduleFactor(lrsched.step_decay(0.1, step_size=2, gamma=0.5), base_lr=0.1)
      >>> [round(f(k), 6) for k in range(5)]
      [1.0, 1.0, 0.5, 0.5, 0.25]
      >>> round(pickle.loads(pickle.dumps(f))(4), 6)
      0.25
      >>> sorted(f.__dict__)
      ['base_lr', 'config']
    """

    __slots__ = ("__dict__", "_table", "_table_config", "_schedule")

    def __init__(self, schedule: lrsched.Schedule | dict[str, Any], base_lr: float) -> None:
        config = schedule if isinstance(schedule, dict) else describe(schedule)
        self._schedule = None
        if isinstance(config, lrsched.Schedule):  # no config (Python code inside): kept here, not saved
            self._schedule = config
            config = {"type": _NOT_SAVED, "repr": repr(config)}
        base_lr = float(base_lr)
        if base_lr == 0.0:
            raise ValueError(
                "lambda_lr: a param group's initial lr is 0, so the factor schedule / initial lr is undefined. "
                "Give the optimizer a non-zero lr, or use lrsched_torch.ScheduleLR, which sets absolute values"
            )
        self.config = config
        self.base_lr = base_lr
        self._table_config = None
        self._table = None

    def _source(self) -> dict[str, Any] | lrsched.Schedule:
        if self.config.get("type") != _NOT_SAVED:
            return self.config
        if self._schedule is None:
            raise ValueError(
                f"ScheduleFactor: the schedule {self.config['repr']} has no config (it holds Python code such as "
                "a scale_fn), so it was not saved. Build the LambdaLR with the same schedule before loading"
            )
        return self._schedule

    def __call__(self, step: int) -> float:
        table = self._table
        if self._table_config is not self.config:
            table = self._table = Table([self._source()])
            self._table_config = self.config
        i = step - table.start
        rows = table.rows
        return (rows[i] if 0 <= i < len(rows) else table.row(step))[0] / self.base_lr

    def __getstate__(self) -> dict[str, Any]:
        if self.config.get("type") == _NOT_SAVED:
            raise TypeError(
                f"ScheduleFactor: cannot pickle {self.config['repr']}: it has no config (Python code such as a "
                "scale_fn). Use a schedule built from data (e.g. CyclicLR's mode= instead of scale_fn)"
            )
        return dict(self.__dict__)

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._schedule = None
        self._table_config = None
        self._table = None

    def __repr__(self) -> str:
        s = self._source()
        s = s if isinstance(s, lrsched.Schedule) else lrsched.from_config(s)
        return f"ScheduleFactor({s!r}, base_lr={self.base_lr!r})"


def _per_group(optimizer: torch.optim.Optimizer, schedule: Any, where: str) -> list[lrsched.Schedule]:
    groups = optimizer.param_groups
    if isinstance(schedule, (list, tuple)):
        if len(schedule) != len(groups):
            raise ValueError(
                f"{where}: got {len(schedule)} schedules for {len(groups)} param groups. "
                "Pass one schedule for all groups or exactly one per group"
            )
        out = list(schedule)
    else:
        out = [schedule] * len(groups)
    for i, s in enumerate(out):
        if not isinstance(s, lrsched.Schedule):
            raise TypeError(
                f"{where}: the schedule for param group {i} is a {type(s).__name__}, not an lrsched Schedule. "
                "Build one with a factory such as lrsched.cosine(...)"
            )
    return out


def lambda_lr(optimizer: torch.optim.Optimizer,
              schedule: lrsched.Schedule | Sequence[lrsched.Schedule],
              last_epoch: int = -1) -> torch.optim.lr_scheduler.LambdaLR:
    r"""A ``torch.optim.lr_scheduler.LambdaLR`` whose lr is `schedule`'s value.

    Each param group gets a :class:`ScheduleFactor` with that group's initial lr,
    so after ``k`` calls of ``step()`` the group's lr is

    .. math:: \text{lr}_k = \text{initial\_lr} \cdot \frac{s(k)}{\text{initial\_lr}} \approx s(k)

    (equal to ``s(k)`` within one rounding). The factors pickle and are saved by
    ``state_dict()`` (as the schedule's config), unlike lambdas. Values come from
    a table computed in float64 chunks, so a step makes no JAX call. For
    absolute values, momentum, plateau or per-group dicts use :class:`ScheduleLR`.

    Args:
      optimizer: a torch optimizer (its groups' lr must be non-zero).
      schedule: one Schedule for every group, or a list with one per group.
      last_epoch: as in torch (``-1`` starts a new run).

    Returns:
      A ``LambdaLR``.

    Examples:
      >>> import torch, lrsched, lrsched_torch
      >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
      >>> sched = lrsched_torch.lambda_lr(opt, lrsched.linear(1.0, 0.0, steps=4))
      >>> lrs = []
      >>> for _ in range(5):
      ...     lrs.append(round(opt.param_groups[0]["lr"], 6)); opt.step(); sched.step()
      >>> lrs
      [1.0, 0.75, 0.5, 0.25, 0.0]
    """
    schedules = _per_group(optimizer, schedule, "lambda_lr(schedule)")
    configs: dict[int, dict[str, Any]] = {}
    factors = []
    for group, s in zip(optimizer.param_groups, schedules):
        config = configs.setdefault(id(s), describe(s))
        base = group["initial_lr"] if (last_epoch != -1 or "initial_lr" in group) else group["lr"]
        factors.append(ScheduleFactor(config, float(base)))
    return torch.optim.lr_scheduler.LambdaLR(optimizer, factors, last_epoch=last_epoch)
