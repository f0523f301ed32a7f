"""``ScheduleLR``: a torch ``LRScheduler`` that sets absolute values from lrsched schedules."""

from __future__ import annotations

import json
from typing import Any, Mapping, Sequence

import jax
import numpy as np
import torch
from torch.optim.lr_scheduler import LRScheduler

import lrsched
from lrsched_torch._device import cpu_device
from lrsched_torch._distributed import mean_over_ranks
from lrsched_torch._table import Table, _rebuild64, describe

__all__ = ["ScheduleLR"]

_STATE_FORMAT = "lrsched_torch.ScheduleLR/1"
_NOT_SAVED = "lrsched_torch: schedule without a config, not saved"

_plateau_update = jax.jit(lambda p, state, metric, step: p.update(state, metric, step))
_plateau_init = jax.jit(lambda p: (p.init(), p.min_value))


def _is_plateau(s: Any) -> bool:
    """A reduce-on-plateau schedule (``lrsched._plateau.Plateau``): has init/update."""
    return isinstance(s, lrsched.Schedule) and callable(getattr(s, "init", None)) and callable(
        getattr(s, "update", None))


def _key(config: dict[str, Any] | lrsched.Schedule) -> str:
    if isinstance(config, lrsched.Schedule):
        return f"object:{id(config)}"
    return json.dumps(config, sort_keys=True)


def _saved(config: Any) -> Any:
    """What state_dict stores: the config, or a marker for a schedule that has none."""
    if isinstance(config, lrsched.Schedule):
        return {"type": _NOT_SAVED, "repr": repr(config)}
    return config


def _loaded(saved: Any, current: Any, what: str) -> Any:
    """A config from state_dict; a marker keeps the scheduler's own schedule (it has no config)."""
    if isinstance(saved, dict) and saved.get("type") == _NOT_SAVED:
        if not isinstance(current, lrsched.Schedule):
            raise ValueError(
                f"ScheduleLR.load_state_dict: the saved {what} schedule {saved['repr']} has no config (it holds "
                "Python code such as a scale_fn), so it was not saved. Build the scheduler with the same "
                "schedule before loading the state"
            )
        return current
    return saved


def _assign(optimizer: torch.optim.Optimizer, spec: Any, what: str) -> list[Any]:
    """One entry per param group from a schedule, a list, or a dict keyed by index or name."""
    groups = optimizer.param_groups
    n = len(groups)
    if spec is None:
        return [None] * n
    if isinstance(spec, Mapping):
        out: list[Any] = [None] * n
        names = {g.get("name"): i for i, g in enumerate(groups) if isinstance(g.get("name"), str)}
        for key, s in spec.items():
            if isinstance(key, (int, np.integer)) and not isinstance(key, bool):
                if not -n <= int(key) < n:
                    raise ValueError(
                        f"ScheduleLR({what}={{{key!r}: ...}}): the optimizer has {n} param groups, so a group index "
                        f"must be in [0, {n}). Key the dict by group index or by a group's 'name'"
                    )
                i = int(key) % n
            elif isinstance(key, str):
                if key not in names:
                    raise ValueError(
                        f"ScheduleLR({what}={{{key!r}: ...}}): no param group has name {key!r}; the named groups are "
                        f"{sorted(names)}. Add 'name': {key!r} to the group's dict or key by group index"
                    )
                i = names[key]
            else:
                raise TypeError(f"ScheduleLR({what}=...): dict keys must be group indices or names; got {key!r}")
            if out[i] is not None:
                raise ValueError(f"ScheduleLR({what}=...): param group {i} is given two schedules")
            out[i] = s
    elif isinstance(spec, (list, tuple)):
        if len(spec) != n:
            raise ValueError(
                f"ScheduleLR({what}=...): got {len(spec)} schedules for {n} param groups. Pass one schedule for "
                "all groups, a list with one per group (None leaves a group alone), or a dict"
            )
        out = list(spec)
    else:
        out = [spec] * n
    for i, s in enumerate(out):
        if isinstance(s, (int, float)) and not isinstance(s, bool):
            out[i] = lrsched.constant(float(s))
        elif s is not None and not isinstance(s, lrsched.Schedule):
            raise TypeError(
                f"ScheduleLR({what}=...): the schedule for param group {i} is a {type(s).__name__}, not an lrsched "
                "Schedule. Build one with a factory such as lrsched.cosine(...) or lrsched.compat.torch.StepLR(...)"
            )
    return out


def _momentum_key(group: dict[str, Any], i: int, optimizer: torch.optim.Optimizer) -> str:
    if "betas" in group:
        return "betas"
    if "momentum" in group:
        return "momentum"
    raise ValueError(
        f"ScheduleLR(momentum=...): param group {i} of {type(optimizer).__name__} has neither 'momentum' (SGD, "
        "RMSprop) nor 'betas' (Adam family), so there is no momentum to drive. Leave this group out of momentum"
    )


def _set(group: dict[str, Any], key: str, value: float) -> None:
    if key == "betas":
        betas = group["betas"]
        if isinstance(betas[0], torch.Tensor):
            betas[0].fill_(value)
        else:
            group["betas"] = (value, *betas[1:])
    else:
        current = group[key]
        if isinstance(current, torch.Tensor):
            current.fill_(value)
        else:
            group[key] = value


def _state_to_python(state: Any) -> dict[str, Any]:
    leaves = jax.tree_util.tree_flatten_with_path(state)[0]
    return {jax.tree_util.keystr(path).lstrip("."): np.asarray(leaf).tolist() for path, leaf in leaves}


def _state_from_python(template: Any, saved: Mapping[str, Any]) -> Any:
    paths, treedef = jax.tree_util.tree_flatten_with_path(template)
    leaves = []
    for path, leaf in paths:
        name = jax.tree_util.keystr(path).lstrip(".")
        if name not in saved:
            raise ValueError(f"ScheduleLR.load_state_dict: the saved plateau state has no field {name!r}")
        leaves.append(np.asarray(saved[name], dtype=np.asarray(leaf).dtype))
    return jax.tree_util.tree_unflatten(treedef, leaves)


class ScheduleLR(LRScheduler):
    r"""A torch LR scheduler that sets each param group's lr (and momentum) to a schedule's value.

    After ``k`` calls of ``step()`` a group's lr is ``lr_schedule(k)`` (absolute,
    not a factor) and its momentum, when a momentum schedule is given, is
    ``momentum_schedule(k)``: ``group["momentum"]`` (SGD, RMSprop) or
    ``group["betas"][0]`` (Adam family). Tensor lrs (``lr=torch.tensor(0.1)``) are
    updated in place.

    .. math:: \text{lr}_g(k) = s_g(k), \qquad
       \text{lr}_g(k) = \min\big(s_g(k), \max(s_g(k)\, r / b,\ m)\big) \ \text{(plateau)}

    where a reduce-on-plateau schedule (``lrsched.plateau`` or
    ``lrsched.compat.torch.ReduceLROnPlateau``) scales its inner schedule ``s``
    by its state's ``rate / base``, floored at its ``min_value`` ``m``, exactly as
    ``Plateau.__call__(step, state)``; ``step(metric)`` (advance, then feed) or
    ``observe(metric)`` (feed only) give it the metric.

    Values come from a table computed ``chunk`` steps at a time with JAX (float64,
    on the CPU device; JAX never touches an accelerator for it), so a step makes
    no JAX call; a metric makes one. Past a schedule's end its final value holds
    (nothing raises). ``step()`` advances even when an AMP ``GradScaler`` skipped
    ``optimizer.step()``, and never warns about the call order.

    ``state_dict()`` holds the schedules' configs, the step and the plateau
    states (plain Python data: ``torch.load(..., weights_only=True)`` reads it);
    ``load_state_dict()`` rebuilds them and re-applies the current values, so
    resuming is exact whether the optimizer state is loaded before or after
    creating the scheduler.

    Args:
      optimizer: a torch optimizer.
      lr: the lr schedule: one ``Schedule`` for all groups, a list with one per
        group, or a dict keyed by group index or by a group's ``"name"``; groups
        given None (or left out of the dict) keep their lr. A number is a
        constant. May be a plateau schedule.
      momentum: the momentum schedule, in the same forms (None: not driven).
      sync_metric: average the metric over ranks with ``torch.distributed``
        (all-reduce) before the plateau sees it, so every rank decides alike.
      chunk: steps per table chunk.
      last_epoch: as in torch (``-1`` starts a new run).

    Examples:
      >>> import torch, lrsched, lrsched_torch
      >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0, momentum=0.9)
      >>> sched = lrsched_torch.ScheduleLR(opt, lr=lrsched.linear(0.1, 0.0, steps=4),
      ...                                  momentum=lrsched.constant(0.8))
      >>> lrs = []
      >>> for _ in range(6):
      ...     lrs.append(round(opt.param_groups[0]["lr"], 6)); opt.step(); sched.step()
      >>> lrs, opt.param_groups[0]["momentum"]
      ([0.1, 0.075, 0.05, 0.025, 0.0, 0.0], 0.8)
    """

    def __init__(self, optimizer: torch.optim.Optimizer, lr: Any = None, momentum: Any = None, *,
                 sync_metric: bool = False, chunk: int = 4096, last_epoch: int = -1) -> None:
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise TypeError(f"ScheduleLR(optimizer=...): {type(optimizer).__name__} is not a torch Optimizer")
        if lr is None and momentum is None:
            raise ValueError("ScheduleLR: give an lr schedule, a momentum schedule, or both")
        lrs = _assign(optimizer, lr, "lr")
        moms = _assign(optimizer, momentum, "momentum")
        for i, m in enumerate(moms):
            if m is not None and _is_plateau(m):
                raise ValueError(
                    f"ScheduleLR(momentum=...): the momentum schedule of group {i} is a plateau schedule; "
                    "reduce-on-plateau drives the lr only. Pass it as lr"
                )
        self.sync_metric = bool(sync_metric)
        self.chunk = int(chunk)
        # Configs (plain data), plateau membership: the state that state_dict saves.
        configs: dict[int, dict[str, Any]] = {}
        plateau_ids: dict[int, int] = {}
        self._lr_configs = [None if s is None else configs.setdefault(id(s), describe(s)) for s in lrs]
        self._momentum_configs = [None if s is None else configs.setdefault(id(s), describe(s)) for s in moms]
        self._plateau_of = [None if s is None or not _is_plateau(s) else plateau_ids.setdefault(id(s),
                            len(plateau_ids)) for s in lrs]
        self._build(optimizer, None)
        super().__init__(optimizer, last_epoch)

    # ------------------------------------------------------------------ setup

    def _build(self, optimizer: torch.optim.Optimizer, plateau_states: Sequence[Mapping[str, Any]] | None) -> None:
        """Tables, plateau objects and targets from the configs."""
        groups = optimizer.param_groups
        columns: dict[str, int] = {}
        column_configs: list[dict[str, Any]] = []

        def column(config: dict[str, Any]) -> int:
            k = _key(config)
            if k not in columns:
                columns[k] = len(column_configs)
                column_configs.append(config)
            return columns[k]

        n_plateaus = 1 + max((p for p in self._plateau_of if p is not None), default=-1)
        plateau_configs: list[dict[str, Any] | None] = [None] * n_plateaus
        targets = []
        for group, config, p in zip(groups, self._lr_configs, self._plateau_of):
            if config is None:
                continue
            if p is not None:
                plateau_configs[p] = config
                config = config.schedule if isinstance(config, lrsched.Schedule) else config["schedule"]
            targets.append((group, "lr", column(config), -1 if p is None else p))
        for i, (group, config) in enumerate(zip(groups, self._momentum_configs)):
            if config is not None:
                targets.append((group, _momentum_key(group, i, optimizer), column(config), -1))
        self._targets = targets
        simple = all(p < 0 and k != "betas" for _, k, _, p in targets)
        self._fast = [(g, k, c) for g, k, c, _ in targets] if simple else None
        self._lr_targets = [(g, c, p) for g, k, c, p in targets if k == "lr"]
        self._table = Table(column_configs, chunk=self.chunk)
        self._plateaus = []
        device = cpu_device()
        with jax.enable_x64(True), jax.default_device(device):
            self._floors = []
            for p, config in enumerate(plateau_configs):
                plateau = jax.device_put(_rebuild64(config), device)
                state, floor = _plateau_init(plateau)
                if plateau_states is not None:
                    state = _state_from_python(state, plateau_states[p])
                self._plateaus.append([plateau, jax.device_put(state, device)])
                self._floors.append(float(np.asarray(floor, np.float64)))
        self._rates = [self._rate(state) for _, state in self._plateaus]

    @staticmethod
    def _rate(state: Any) -> tuple[float, float]:
        return float(np.asarray(state.rate, dtype=np.float64)), float(np.asarray(state.base, dtype=np.float64))

    def _plateau_value(self, value: float, p: int) -> float:
        """Plateau.apply in Python floats: min(s, max(s / base * rate, min_value))."""
        rate, base = self._rates[p]
        return min(value, max(value / base * rate, self._floors[p]))

    # ------------------------------------------------------------------ stepping

    def _apply(self) -> None:
        table, step = self._table, self.last_epoch
        i = step - table.start
        row = table.rows[i] if 0 <= i < len(table.rows) else table.row(step)
        for group, key, col, p in self._targets:
            value = row[col] if p < 0 else self._plateau_value(row[col], p)
            if key != "betas" and group[key].__class__ is float:
                group[key] = value
            else:
                _set(group, key, value)
        self._last_lr = [lr if lr.__class__ is float else lr.clone()
                         for lr in [g["lr"] for g in self.optimizer.param_groups]]

    def step(self, metric: Any = None) -> None:  # type: ignore[override]
        """Advance one step; with `metric`, feed the plateau schedule(s) first.

        Never warns about the order of ``optimizer.step()`` and this call (an AMP
        ``GradScaler`` skipping an optimizer step is normal), never raises past
        the end of a schedule.
        """
        self._step_count += 1
        step = self.last_epoch = self.last_epoch + 1
        if metric is not None:
            self._feed(metric)
        if self._fast is None:
            self._apply()
            return
        # the common case inlined (float values, no plateau, no betas): a list lookup and dict writes
        table = self._table
        i = step - table.start
        row = table.rows[i] if 0 <= i < len(table.rows) else table.row(step)
        for group, key, col in self._fast:
            if group[key].__class__ is not float:
                self._apply()
                return
            group[key] = row[col]
        self._last_lr = [lr if lr.__class__ is float else lr.clone()
                         for lr in [g["lr"] for g in self.optimizer.param_groups]]

    def observe(self, metric: Any) -> None:
        """Feed the plateau schedule(s) a metric without advancing the step.

        For a per-batch schedule with a per-epoch metric: call ``step()`` every
        batch and ``observe(val_loss)`` every epoch. The lr changes at once.
        """
        self._feed(metric)
        self._apply()

    def _feed(self, metric: Any) -> None:
        if not self._plateaus:
            raise ValueError(
                "ScheduleLR.step(metric): a metric was given but no lr schedule is a plateau schedule. "
                "Wrap the schedule with lrsched.plateau(...) (or use lrsched.compat.torch.ReduceLROnPlateau), "
                "or call step() without arguments"
            )
        if isinstance(metric, torch.Tensor):
            metric = metric.detach().item()
        value = float(metric)
        if self.sync_metric:
            value = mean_over_ranks(value)
        device = cpu_device()
        with jax.enable_x64(True), jax.default_device(device):
            m = jax.device_put(np.float64(value), device)
            step = jax.device_put(np.int64(max(self.last_epoch, 0)), device)
            for entry in self._plateaus:
                entry[1] = _plateau_update(entry[0], entry[1], m, step)
        self._rates = [self._rate(state) for _, state in self._plateaus]

    def get_lr(self) -> list[Any]:
        """The lrs for the current step (groups without an lr schedule: their current lr)."""
        row = self._table.row(self.last_epoch)
        lrs = [g["lr"] for g in self.optimizer.param_groups]
        for i, group in enumerate(self.optimizer.param_groups):
            for g, col, p in self._lr_targets:
                if g is group:
                    lrs[i] = row[col] if p < 0 else self._plateau_value(row[col], p)
        return lrs

    # ------------------------------------------------------------------ inspection

    @property
    def schedules(self) -> list[lrsched.Schedule | None]:
        """The lr schedule of each param group (None where not driven)."""
        return [c if c is None or isinstance(c, lrsched.Schedule) else lrsched.from_config(c)
                for c in self._lr_configs]

    @property
    def momentum_schedules(self) -> list[lrsched.Schedule | None]:
        """The momentum schedule of each param group (None where not driven)."""
        return [c if c is None or isinstance(c, lrsched.Schedule) else lrsched.from_config(c)
                for c in self._momentum_configs]

    @property
    def plateau_states(self) -> list[Any]:
        """The current state of each plateau schedule (float64 JAX pytrees)."""
        return [state for _, state in self._plateaus]

    # ------------------------------------------------------------------ checkpoints

    def state_dict(self) -> dict[str, Any]:
        """Plain Python data: the step, the schedules' configs and the plateau states."""
        return {
            "format": _STATE_FORMAT,
            "last_epoch": self.last_epoch,
            "_step_count": self._step_count,
            "base_lrs": [float(b) for b in self.base_lrs],
            "lr": [_saved(c) for c in self._lr_configs],
            "momentum": [_saved(c) for c in self._momentum_configs],
            "plateau_of": list(self._plateau_of),
            "plateau": [_state_to_python(state) for _, state in self._plateaus],
            "sync_metric": self.sync_metric,
            "chunk": self.chunk,
        }

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore the schedules, step and plateau states, and re-apply the current values."""
        if state_dict.get("format") != _STATE_FORMAT:
            raise ValueError(
                "ScheduleLR.load_state_dict: this is not a ScheduleLR state dict (no format "
                f"{_STATE_FORMAT!r}); it was probably saved by another scheduler"
            )
        n = len(self.optimizer.param_groups)
        if len(state_dict["lr"]) != n:
            raise ValueError(
                f"ScheduleLR.load_state_dict: the state has {len(state_dict['lr'])} param groups, the optimizer {n}. "
                "Build the optimizer with the same param groups as the saved run"
            )
        self._lr_configs = [_loaded(s, c, "lr") for s, c in zip(state_dict["lr"], self._lr_configs)]
        self._momentum_configs = [_loaded(s, c, "momentum")
                                  for s, c in zip(state_dict["momentum"], self._momentum_configs)]
        self._plateau_of = list(state_dict["plateau_of"])
        self.sync_metric = bool(state_dict.get("sync_metric", self.sync_metric))
        self.chunk = int(state_dict.get("chunk", self.chunk))
        self.last_epoch = int(state_dict["last_epoch"])
        self._step_count = int(state_dict["_step_count"])
        self.base_lrs = list(state_dict.get("base_lrs", self.base_lrs))
        self._build(self.optimizer, state_dict["plateau"])
        self._apply()

    def __repr__(self) -> str:
        return (f"ScheduleLR(step={self.last_epoch}, lr={self.schedules!r}, "
                f"momentum={self.momentum_schedules!r})")
