"""``ScheduleLR``: a torch ``LRScheduler`` that sets absolute values from lrsched schedules."""

from __future__ import annotations

import json
import math
import warnings
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np
import torch
from torch.optim.lr_scheduler import LRScheduler

from lrsched_torch._distributed import mean_over_ranks
from lrsched_torch._last_lr import EPOCH_DEPRECATED, LastLRFromGroups, warn_at_caller
from lrsched_torch._loading import continued
from lrsched_torch._plateaus import PlateauColumn, is_integral, is_plateau, metric_value, nested_plateau
from lrsched_torch._table import Column, ScheduleColumn, Table, describe, jitted, on_cpu, rebuild64
from lrsched_torch._writes import TensorWrites, other_write

if TYPE_CHECKING:
    import lrsched

__all__ = ["ScheduleLR"]

_STATE_FORMAT = "lrsched_torch.ScheduleLR/1"
_NOT_SAVED = "lrsched_torch: schedule without a config, not saved"


def _schedule_type() -> type:
    import lrsched

    return lrsched.Schedule


def _key(config: dict[str, Any] | lrsched.Schedule) -> str:
    if isinstance(config, dict):
        return json.dumps(config, sort_keys=True)
    return f"object:{id(config)}"


def _saved(config: Any) -> Any:
    """What state_dict stores: the config, or a marker for a schedule that has none."""
    if config is None or isinstance(config, dict):
        return config
    return {"type": _NOT_SAVED, "repr": repr(config)}


def _loaded(saved: Any, current: Any, what: str) -> Any:
    """A config from state_dict; a marker keeps the scheduler's own schedule (it has no config)."""
    if isinstance(saved, dict) and saved.get("type") == _NOT_SAVED:
        if isinstance(current, dict) or current is None:
            raise ValueError(
                f"ScheduleLR.load_state_dict: the saved {what} schedule {saved['repr']} has no config (it holds "
                "Python code such as a scale_fn), so it was not saved. Build the scheduler with the same "
                "schedule before loading the state"
            )
        return current
    return saved


def _is_single(spec: Any) -> bool:
    """One schedule (or number) for every param group, as opposed to a list or dict per group."""
    return spec is not None and not isinstance(spec, (Mapping, list, tuple))


def _as_schedule(s: Any, i: int, what: str) -> Any:
    if s is None:
        return None
    Schedule = _schedule_type()
    if isinstance(s, (int, float, np.floating, np.integer)) and not isinstance(s, (bool, np.bool_)):
        import lrsched

        return lrsched.constant(float(s))
    if not isinstance(s, Schedule):
        raise TypeError(
            f"ScheduleLR({what}=...): the schedule for param group {i} is a {type(s).__name__}, not an lrsched "
            "Schedule. Build one with a factory such as lrsched.cosine(...) or lrsched.compat.torch.StepLR(...)"
        )
    return s


def _assign(groups: Sequence[Mapping[str, Any]], spec: Any, what: str) -> list[Any]:
    """One entry per param group from a schedule, a list, or a dict keyed by index or name."""
    n = len(groups)
    if spec is None:
        return [None] * n
    if isinstance(spec, Mapping):
        out: list[Any] = [None] * n
        names: dict[str, int] = {g["name"]: i for i, g in enumerate(groups) if isinstance(g.get("name"), str)}
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
    return [_as_schedule(s, i, what) for i, s in enumerate(out)]


def _momentum_key(group: Mapping[str, Any], i: int, optimizer: torch.optim.Optimizer) -> str:
    if "betas" in group:
        return "betas"
    if "momentum" in group:
        return "momentum"
    raise ValueError(
        f"ScheduleLR(momentum=...): param group {i} of {type(optimizer).__name__} has neither 'momentum' (SGD, "
        "RMSprop) nor 'betas' (Adam family), so there is no momentum to drive. Leave this group out of momentum"
    )


def _current(group: Mapping[str, Any], key: str) -> Any:
    return group["betas"][0] if key == "betas" else group[key]


def _set(group: dict[str, Any], key: str, value: float, tensors: TensorWrites, i: int) -> None:
    """Write group `i`'s value `key` (a tensor in place, remembered in `tensors`)."""
    if key == "betas":
        betas = group["betas"]
        if isinstance(betas[0], torch.Tensor):
            tensors.fill((i, key), betas[0], value)
        else:
            group["betas"] = (value, *betas[1:])
    else:
        current = group[key]
        if isinstance(current, torch.Tensor):
            tensors.fill((i, key), current, value)
        else:
            group[key] = value


def _float_of(x: Any) -> float:
    return float(x.detach().item()) if isinstance(x, torch.Tensor) else float(x)


class ScheduleLR(LastLRFromGroups, LRScheduler):
    r"""A torch LR scheduler that sets each param group's lr (and momentum) to a schedule's value.

    After ``k`` calls of ``step()`` a group's lr is ``lr_schedule(k)`` (absolute,
    not a factor) and its momentum, when a momentum schedule is given, is
    ``momentum_schedule(k)``: ``group["momentum"]`` (SGD, RMSprop) or
    ``group["betas"][0]`` (Adam family). Tensor lrs (``lr=torch.tensor(0.1)``) are
    updated in place.

    .. math:: \text{lr}_g(k) = s_g(k), \qquad \text{lr}_g(k) = p_g(k, \text{state}) \ \text{(plateau)}

    where a reduce-on-plateau schedule (``lrsched.plateau`` or
    ``lrsched.compat.torch.ReduceLROnPlateau``) serves exactly
    ``Plateau.__call__(step, state)`` for its current state; ``step(metric)``
    (feed, then advance) or ``observe(metric)`` (feed only) give it the metric.

    The scheduler reads ``optimizer.param_groups`` at every write, as torch's own
    schedulers do, so ``Optimizer.load_state_dict`` and ``accelerate.prepare``
    (which replace the group dicts) never detach it. Values come from a table
    computed ``chunk`` steps at a time in float64 (numpy for the common schedule
    types, else one jitted JAX call on the CPU device), so a step makes no JAX
    call; a metric makes one. Past a schedule's end its final value holds
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
        constant. May be a plateau schedule (at the top level), or another schedule
        that follows a metric (compat.transformers' greedy).
      momentum: the momentum schedule, in the same forms (None: not driven).
      sync_metric: average the metric over ranks with ``torch.distributed``
        (all-reduce) before the plateau sees it, so every rank decides alike.
      chunk: steps per table chunk (default: 1024 when every schedule has a numpy
        evaluator, else 4096; at least 256 per distinct schedule).
      keep_schedule: what :meth:`load_state_dict` does with a state whose schedules
        differ from these: False (torch's rule) continues the saved run's schedules,
        with a warning naming both; True keeps these (the step and plateau states
        load): a run resumed with more steps and the schedule rebuilt for them.
      last_epoch: as in torch (``-1`` starts a new run; otherwise the groups
        need ``'initial_lr'`` and the scheduler starts at step ``last_epoch + 1``).

    Raises:
      ValueError: at a step, when a group's value was changed by something else
        since this scheduler set it (a second scheduler on the same optimizer):
        the bridge sets absolute values and would silently overwrite it.

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

    #: what is rebuilt from the configs (the value table, its columns, the tensor-write record) lives outside
    #: ``__dict__``, which holds the scheduler's state as torch's does: equal after ``load_state_dict``
    __slots__ = ("_table", "_columns", "_tensors")

    def __init__(self, optimizer: torch.optim.Optimizer, lr: Any = None, momentum: Any = None, *,
                 sync_metric: bool = False, chunk: int | None = None, keep_schedule: bool = False,
                 last_epoch: int = -1) -> None:
        if not isinstance(optimizer, torch.optim.Optimizer):
            raise TypeError(f"{type(self).__name__}(optimizer=...): {type(optimizer).__name__} is not a torch "
                            "Optimizer")
        if lr is None and momentum is None:
            raise ValueError(f"{type(self).__name__}: give an lr schedule, a momentum schedule, or both")
        if chunk is not None and int(chunk) < 1:
            raise ValueError(f"ScheduleLR(chunk={chunk}): the number of steps per table chunk must be >= 1")
        groups = optimizer.param_groups
        lrs = _assign(groups, lr, "lr")
        moms = _assign(groups, momentum, "momentum")
        self.sync_metric = bool(sync_metric)
        self.chunk = None if chunk is None else int(chunk)
        self.keep_schedule = bool(keep_schedule)
        # what state_dict saves: per group the config (or the schedule when it has none)
        described: dict[int, Any] = {}
        self._lr_configs = [None if s is None else described.setdefault(id(s), describe(s)) for s in lrs]
        self._momentum_configs = [None if s is None else described.setdefault(id(s), describe(s)) for s in moms]
        # how a param group added later gets its schedules: one schedule for all groups follows it; a
        # schedule per group cannot (None: a clear error at the next step)
        self._single = (_is_single(lr), _is_single(momentum))
        for i, c in enumerate(self._momentum_configs):
            if c is not None and is_plateau(c):
                raise ValueError(
                    f"ScheduleLR(momentum=...): the momentum schedule of group {i} is a plateau schedule; "
                    "reduce-on-plateau drives the lr only. Pass it as lr"
                )
        for what, configs in (("lr", self._lr_configs), ("momentum", self._momentum_configs)):
            for i, c in enumerate(configs):
                if nested_plateau(c):
                    raise ValueError(
                        f"ScheduleLR({what}=...): the schedule of group {i} has a plateau schedule nested inside "
                        "another schedule; its state could never be updated. Put the plateau outermost, e.g. "
                        "lrsched.plateau(lrsched.warmup(lrsched.cosine(...), 100), start=100)"
                    )
        self._build(optimizer)
        self._unfed: int | None = 0 if self._plateau_columns else None  # see metric_warning_steps
        # the position while it is fractional (the deprecated step(epoch=2.5)); None: last_epoch is the position
        self._position: float | None = None
        LRScheduler.__init__(self, optimizer, last_epoch)

    # ------------------------------------------------------------------ setup

    def _build(self, optimizer: torch.optim.Optimizer, plateau_states: Sequence[Mapping[str, Any]] | None = None
               ) -> None:
        """Columns, plateaus, the table and the write targets, from the configs."""
        groups = optimizer.param_groups
        columns: list[Column] = []
        index: dict[str, int] = {}
        plateaus: list[int] = []  # column of each plateau, in order of first use
        plateau_of: list[int | None] = []
        saved = list(plateau_states) if plateau_states is not None else None

        def column(config: Any) -> int:
            k = _key(config)
            if k not in index:
                index[k] = len(columns)
                if is_plateau(config):
                    state = saved[len(plateaus)] if saved is not None and len(plateaus) < len(saved) else None
                    plateaus.append(len(columns))
                    columns.append(PlateauColumn(config, state))
                else:
                    columns.append(ScheduleColumn(config))
            return index[k]

        targets: list[tuple[int, str, int]] = []
        for i, config in enumerate(self._lr_configs):
            if config is None:
                plateau_of.append(None)
                continue
            c = column(config)
            plateau_of.append(plateaus.index(c) if c in plateaus else None)
            targets.append((i, "lr", c))
        for i, config in enumerate(self._momentum_configs):
            if config is not None:
                targets.append((i, _momentum_key(groups[i], i, optimizer), column(config)))
        self._columns = columns
        self._plateau_columns = plateaus
        self._plateau_of = plateau_of
        self._targets = targets
        self._plain = [t for t in targets if t[1] != "betas"]
        self._betas = [(i, c) for i, k, c in targets if k == "betas"]
        self._lr_targets = [(i, c) for i, k, c in targets if k == "lr"]
        self._table = Table(columns, chunk=self.chunk)
        self._n_groups = len(groups)
        self._seen_groups: Any = None  # the param_groups list of the last write (None: do not check it)
        self._last_row: list[float] | None = None
        self._tensors = TensorWrites()

    def __getstate__(self) -> dict[str, Any]:  # pickle / deepcopy: one dict, the slots' entries in it
        state = dict(self.__dict__)
        state.update({name: getattr(self, name) for name in ScheduleLR.__slots__ if hasattr(self, name)})
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        state = dict(state)
        for name in ScheduleLR.__slots__:
            if name in state:
                setattr(self, name, state.pop(name))
        self.__dict__.update(state)
        if not hasattr(self, "_tensors"):  # (pickled before tensor values were tracked)
            self._tensors = TensorWrites()
        self.__dict__.setdefault("keep_schedule", False)  # (pickled before the option existed)
        fractional = self.__dict__.pop("_slow", True)  # (pickled with a flag beside the position, which it kept
        if not fractional or "_position" not in self.__dict__:  # at whole steps too)
            self._position = None

    def _grow(self, group: dict[str, Any], what: str) -> tuple[bool, Any]:
        """The schedule config of a param group added later: (has one, config). One schedule for every group
        gives it that schedule; a schedule per group gives it none (``(False, None)``: an error)."""
        configs = self._lr_configs if what == "lr" else self._momentum_configs
        first = next((c for c in configs if c is not None), None)
        if first is None:
            return True, None
        return (True, first) if self._single[0 if what == "lr" else 1] else (False, None)

    def _groups_changed(self, groups: list[dict[str, Any]]) -> None:
        """The optimizer's number of param groups changed since the last write."""
        self._grow_groups(groups)
        self._build(self.optimizer, self._saved_plateaus())

    def _grow_groups(self, groups: list[dict[str, Any]], saved: Mapping[str, Any] | None = None) -> None:
        """The schedules of the param groups added since the last write (an error for fewer groups, or for a
        group that gets none, unless `saved`, a state dict being loaded, has its schedules)."""
        n, before = len(groups), self._n_groups
        if n < before:
            raise ValueError(
                f"{type(self).__name__}: the optimizer has {n} param groups, but this scheduler was built for "
                f"{before}. Build the scheduler for the optimizer's current param groups"
            )
        new = [(self._grow(group, "lr"), self._grow(group, "momentum")) for group in groups[before:]]
        if saved is not None:  # the state's schedules where none is built (a loaded one replaces the others)
            new = [tuple(grown if grown[0] else (True, saved[what][before + j])  # type: ignore[misc]
                         for what, grown in zip(("lr", "momentum"), pair)) for j, pair in enumerate(new)]
        stuck = sorted({what for pair in new for what, (ok, _) in zip(("lr", "momentum"), pair) if not ok})
        if stuck:
            raise ValueError(
                f"{type(self).__name__}: param group {before} was added to the optimizer after this scheduler was "
                f"built with one {' and '.join(stuck)} schedule per group, so it has no schedule. Build the "
                "scheduler after the last add_param_group, or give one schedule for every group"
            )
        for group, ((_, lr), (_, momentum)) in zip(groups[before:], new):
            initial = group["lr"]
            group.setdefault("initial_lr", initial.clone() if isinstance(initial, torch.Tensor) else initial)
            self.base_lrs.append(group["initial_lr"])
            self._lr_configs.append(lr)
            self._momentum_configs.append(momentum)
        self._n_groups = n

    # ------------------------------------------------------------------ stepping

    def _write(self, row: list[float], check: bool = True, keep: frozenset[int] = frozenset()) -> None:
        """Set every target from `row` (one value per column), reading the groups now. The lr of the groups in
        `keep` is left as it is, and the next step takes it as another writer's change of the row's value (see
        :meth:`load_state_dict`)."""
        groups = self.optimizer.param_groups
        last = self._last_row if check and self._seen_groups is not None else None
        # groups replaced since the last write (Optimizer.load_state_dict, accelerate.prepare, a range test's
        # restore): their values are someone's to set, so a change is followed where this scheduler follows
        # changes (torch's recursive schedulers multiply whatever lr they find) and otherwise overwritten
        replaced = groups is not self._seen_groups
        followed = False
        if last is not None:  # another writer's change first: followed (the schedule rebuilt below) or refused
            for i, key, col in self._targets:
                if i < len(groups):
                    followed |= self._check(groups[i], key, i, last[col], refuse=not replaced)
        if len(groups) != self._n_groups:
            self._groups_changed(groups)  # (rebuilds, a followed schedule included)
            row, followed = self._current_row(), False
        for i, key, col in self._targets:
            if key == "lr" and i in keep:
                self._tensors.unverified((i, key), _current(groups[i], key))
            else:
                _set(groups[i], key, row[col], self._tensors, i)
        self._seen_groups = groups
        self._last_row = row
        if followed:
            self._refollow()

    def _write_fast(self, row: list[float]) -> None:
        """`_write` with the checks, for the common case: the groups this scheduler wrote at its last step."""
        groups = self.optimizer.param_groups
        last = self._last_row
        if groups is not self._seen_groups or last is None or len(groups) != self._n_groups:
            self._write(row)
            return
        followed = False
        for i, key, col in self._plain:
            group = groups[i]
            if group[key] is not last[col]:  # not the float this scheduler wrote: a tensor, or a foreign write
                followed |= self._check(group, key, i, last[col])
                _set(group, key, row[col], self._tensors, i)
            else:
                group[key] = row[col]
        for i, col in self._betas:
            group = groups[i]
            followed |= self._check(group, "betas", i, last[col])
            _set(group, "betas", row[col], self._tensors, i)
        self._last_row = row
        if followed:
            self._refollow()

    def _check(self, group: Mapping[str, Any], key: str, i: int, written: float, refuse: bool = True) -> bool:
        """Whether the value is still the one this scheduler wrote at its last step; if another writer changed
        it, the scheduler follows the change (True: see :meth:`_follow`) or raises (with `refuse`; else the value
        is overwritten)."""
        found = other_write(self._tensors, (i, key), _current(group, key), written)
        if found is None:
            return False
        if self._follow(i, key, found, written):
            return True
        if refuse:
            self._foreign(i, key, found, written)
        return False

    def _follows(self, i: int, key: str) -> bool:
        """Whether this scheduler takes another writer's change of group `i`'s value `key` into its schedule
        (see :meth:`_follow`). ScheduleLR sets absolute values: never."""
        return False

    def _follow(self, i: int, key: str, found: Any, written: float) -> bool:
        """Take another writer's change of group `i`'s value `key` (`found` where this scheduler wrote
        `written`) into the schedule, or not (False: an error). ScheduleLR sets absolute values: not."""
        return False

    def _refollow(self) -> None:
        """After :meth:`_follow` changed schedules: rebuild the table and write this step's values again."""
        self._build(self.optimizer, self._saved_plateaus())
        self._write(self._current_row(), check=False)

    def _foreign(self, i: int, key: str, found: Any, written: float) -> None:
        what = "betas[0]" if key == "betas" else repr(key)
        raise ValueError(
            f"{type(self).__name__}: param group {i}'s {what} is {found!r}, but this scheduler set it to {written!r} "
            "at its last step: something else changed it (another scheduler on the same optimizer, as torch's "
            "scheduler chaining does, code writing param_group[...], or an lr finder's suggestion: Lightning's "
            "LearningRateFinder callback writes it into the optimizer). This scheduler sets absolute values and "
            "would silently overwrite that change. Drive each value with one scheduler and combine schedules into "
            "one: a product (lr=s1 * s2), lrsched.join / lrsched.warmup, lrsched.plateau(lrsched.warmup(...)), or "
            "lrsched_torch.lr_scheduler.ChainedScheduler / SequentialLR. For an lr finder, find the lr before "
            "building the scheduler (Lightning: Tuner(trainer).lr_find(model) before fit, so configure_optimizers "
            "builds it from the suggestion). To restart from other values, build a new scheduler or call "
            "load_state_dict"
        )

    def _row(self, step: int) -> list[float]:
        chunk = self._table.at(step)
        return chunk.values[max(step, 0) - chunk.start].tolist()

    def _current_row(self) -> list[float]:
        return self._fractional_row(self._position) if self._position is not None else self._row(self.last_epoch)

    def _apply(self, check: bool = True) -> None:
        self._write(self._current_row(), check)

    def step(self, metric: Any = None, epoch: Any = None) -> None:  # type: ignore[override]
        """Advance one step; with `metric`, feed the plateau schedule(s) first.

        Args:
          metric: the monitored value for the plateau schedule(s) (a number, or a
            0-d / one-element tensor or array), belonging to the training step just
            done. Without a plateau schedule a metric is an error.
          epoch: torch's deprecated ``step(epoch)``: jump to step `epoch` (the closed
            form, with torch's deprecation warning). A fractional epoch
            (``CosineAnnealingWarmRestarts``' ``step(epoch + i / iters)``) evaluates
            the schedules at that fractional step.

        Never warns about the order of ``optimizer.step()`` and this call (an AMP
        ``GradScaler`` skipping an optimizer step is normal), never raises past
        the end of a schedule.
        """
        if metric is not None or epoch is not None or self._position is not None:
            self._step_slow(metric, epoch)
            return
        self._step_count += 1
        step = self.last_epoch = self.last_epoch + 1
        chunk = self._table.current
        i = step - chunk.start
        if 0 <= i < chunk.stop - chunk.start:
            if i >= chunk.prefetch_at:
                self._table.work(chunk)  # a stage of the next chunk
        else:
            chunk = self._table.at(step)
            i = step - chunk.start
            if self._unfed is not None and step >= self._unfed:
                self._warn_unfed()
        self._write_fast(chunk.values[i].tolist())

    #: a plateau that has seen no metric this many steps after its ``start`` warns once (checked at table
    #: refills, so it costs nothing per step)
    metric_warning_steps = 50_000

    def _warn_unfed(self) -> None:
        starts = [c.config.get("start", 0) if isinstance(c.config, dict) else 0
                  for c in (self._plateau(j) for j in self._plateau_columns)]
        since = self.last_epoch - max(int(x or 0) for x in starts)
        if since < self.metric_warning_steps:
            return
        self._unfed = None
        warnings.warn(
            f"{type(self).__name__}: its plateau schedule has received no metric in {since} steps since its start, so "
            "it never reduces. Call step(metric) or observe(metric); in Lightning add "
            "lrsched_torch.lightning.FeedPlateau() to the Trainer's callbacks (or 'reduce_on_plateau': True with "
            "'interval': 'epoch'), in the Hugging Face Trainer lrsched_torch.transformers.FeedPlateau()",
            RuntimeWarning, stacklevel=3)

    def _step_slow(self, metric: Any, epoch: Any) -> None:
        if metric is not None:
            self._feed(metric, "step(metric)", self.last_epoch)
        self._step_count += 1
        if epoch is None:
            if self._position is not None:
                self._move(self._position + 1.0)
            else:
                self.last_epoch += 1
                self._apply()
            return
        warn_at_caller(EPOCH_DEPRECATED)
        if isinstance(epoch, bool) or not isinstance(epoch, (int, float, np.integer, np.floating)):
            raise TypeError(f"{type(self).__name__}.step(epoch={epoch!r}): epoch must be a number of steps")
        self._move(float(epoch) if not is_integral(epoch) else int(epoch))
        self._last_row = None

    def _move(self, position: float | int, keep: frozenset[int] = frozenset()) -> None:
        """Jump to `position` (torch's closed form); a fractional position evaluates there. `keep`: see
        :meth:`_write`."""
        if is_integral(position):
            self._position = None
            self.last_epoch = int(position)
            self._write(self._row(self.last_epoch), check=False, keep=keep)
            return
        if not math.isfinite(position):
            raise ValueError(f"{type(self).__name__}.step(epoch={position!r}): epoch must be finite")
        self._position = float(position)
        self.last_epoch = math.floor(position)
        self._write(self._fractional_row(self._position), check=False, keep=keep)

    def _fractional_row(self, position: float) -> list[float]:
        """Every column at a fractional step (a JAX call: torch's fractional-epoch form is rare)."""
        steps = np.asarray([position], np.float64)
        row = []
        for c in self._columns:
            if isinstance(c, PlateauColumn):
                row.append(float(np.asarray(on_cpu(jitted("plateau_values"), c.plateau, c.state, steps))[0]))
            else:
                assert isinstance(c, ScheduleColumn)
                row.append(float(np.asarray(on_cpu(jitted("values"), rebuild64(c.config), steps))[0]))
        return row

    def observe(self, metric: Any) -> None:
        """Feed the plateau schedule(s) a metric without advancing the step.

        For a per-batch schedule with a per-epoch (validation) metric: call
        ``step()`` after every optimizer step and ``observe(val_loss)`` after each
        evaluation. The metric belongs to the last optimizer step done (step
        ``last_epoch - 1``, which is what a plateau's ``start`` compares), and the
        new lr applies from the next optimizer step on.
        """
        self._feed(metric, "observe(metric)", max(self.last_epoch - 1, 0))
        self._apply()

    def _feed(self, metric: Any, where: str, step: int) -> None:
        name = f"{type(self).__name__}.{where}"
        if not self._plateau_columns:
            raise ValueError(
                f"{name}: a metric ({metric!r}) was given but no lr schedule is a plateau schedule. "
                "Wrap the schedule with lrsched.plateau(...) (or use lrsched.compat.torch.ReduceLROnPlateau) and "
                "call step() without a metric otherwise. For torch's deprecated step(epoch), call step(epoch=...)"
            )
        value = metric_value(metric, name)
        self._unfed = None
        if self.sync_metric:
            value = mean_over_ranks(value)
        # the new plateau values for the current chunk (or from the current step), in the same JAX call
        chunk, now = self._table.current, max(self.last_epoch, 0)
        start = chunk.start if chunk.start <= now < chunk.stop else now
        steps = np.arange(start, start + self._table.chunk, dtype=np.int64)
        fresh = {c: self._plateau(c).feed(value, step, steps) for c in self._plateau_columns}
        self._table.refresh(start, fresh)

    def get_lr(self) -> list[Any]:
        """The lrs at the current step (groups without an lr schedule: their current lr)."""
        groups = self.optimizer.param_groups
        row = self._current_row()
        lrs = [g["lr"] for g in groups]
        for i, c in self._lr_targets:
            if i < len(lrs):
                lrs[i] = row[c]
        return lrs

    _get_closed_form_lr = get_lr

    # ------------------------------------------------- torch's protocol (SequentialLR calls these)

    def _initial_step(self) -> None:
        self._last_row = None  # a fresh start (torch's SequentialLR resets the lrs before calling this)
        super()._initial_step()

    def _update_lr(self, epoch: int | None = None) -> None:
        """torch's LRScheduler hook (``SequentialLR`` calls ``_update_lr(0)`` at a milestone)."""
        self._position = None
        self.last_epoch = self.last_epoch + 1 if epoch is None else int(epoch)
        self._write(self._row(self.last_epoch), check=epoch is None)

    # ------------------------------------------------------------------ inspection

    def _schedules(self, configs: list[Any]) -> list[lrsched.Schedule | None]:
        import lrsched

        return [c if c is None or isinstance(c, lrsched.Schedule) else lrsched.from_config(c) for c in configs]

    @property
    def schedules(self) -> list[lrsched.Schedule | None]:
        """The lr schedule of each param group (None where not driven)."""
        return self._schedules(self._lr_configs)

    @property
    def momentum_schedules(self) -> list[lrsched.Schedule | None]:
        """The momentum schedule of each param group (None where not driven)."""
        return self._schedules(self._momentum_configs)

    @property
    def plateau_states(self) -> list[Any]:
        """The current state of each plateau schedule (float64 JAX pytrees)."""
        return [self._plateau(c).state for c in self._plateau_columns]

    def _plateau(self, c: int) -> PlateauColumn:
        column = self._columns[c]
        assert isinstance(column, PlateauColumn)
        return column

    def _saved_plateaus(self) -> list[dict[str, Any]]:
        return [self._plateau(c).saved() for c in self._plateau_columns]

    # ------------------------------------------------------------------ checkpoints

    def state_dict(self) -> dict[str, Any]:
        """Plain Python data: the step, the schedules' configs and the plateau states."""
        return {
            "format": _STATE_FORMAT,
            "last_epoch": self.last_epoch,
            "position": self._position,
            "_step_count": self._step_count,
            "base_lrs": [_float_of(b) for b in self.base_lrs],
            "_last_lr": [_float_of(v) for v in self._last_lr],  # (torch's key; trainers read it; not loaded)
            # the optimizer's lrs now: where another writer changed one, a resumed run follows it (load_state_dict)
            "group_lrs": [_float_of(g["lr"]) for g in self.optimizer.param_groups],
            "lr": [_saved(c) for c in self._lr_configs],
            "momentum": [_saved(c) for c in self._momentum_configs],
            "plateau_of": list(self._plateau_of),
            "plateau": self._saved_plateaus(),
            "sync_metric": self.sync_metric,
            "chunk": self.chunk,
        }

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """Restore the schedules, step and plateau states, and re-apply the current values.

        Param groups added to the optimizer since this scheduler was built (a resumed run re-adds the groups its
        checkpoint had) take their saved schedules. An lr this scheduler follows (torch's recursive drop-ins')
        that is the one the optimizer had when the state was saved (its state loaded first) stays: a change
        another writer made before the checkpoint is followed at the next step, as it would have been without
        the interruption. Every other value is set to the loaded step's, so a fresh optimizer starts where the
        run was (torch's "wrong lr for one step after resume" does not happen)."""
        if state_dict.get("format") != _STATE_FORMAT:
            raise ValueError(
                f"{type(self).__name__}.load_state_dict: this is not a ScheduleLR state dict (no format "
                f"{_STATE_FORMAT!r}); it was probably saved by another scheduler"
            )
        groups = self.optimizer.param_groups
        n = len(groups)
        if len(state_dict["lr"]) != n:
            raise ValueError(
                f"{type(self).__name__}.load_state_dict: the state has {len(state_dict['lr'])} param groups, the "
                f"optimizer {n}. Build the optimizer with the same param groups as the saved run"
            )
        if n > self._n_groups:  # groups added since the last write: their built schedules first (as a step would)
            self._grow_groups(groups, saved=state_dict)
        lr_configs = [_loaded(s, c, "lr") for s, c in zip(state_dict["lr"], self._lr_configs)]
        momentum_configs = [_loaded(s, c, "momentum") for s, c in zip(state_dict["momentum"], self._momentum_configs)]
        plateau_of = list(state_dict["plateau_of"])
        saved_states = list(state_dict["plateau"])
        # the saved plateau states in the order this scheduler meets its plateaus
        order: list[int] = []
        for p in plateau_of:
            if p is not None and p not in order:
                order.append(p)
        if self._compares_loaded:
            lr_configs = continued(type(self).__name__, "lr", self._lr_configs, lr_configs, self.keep_schedule,
                                   stacklevel=2)
            momentum_configs = continued(type(self).__name__, "momentum", self._momentum_configs, momentum_configs,
                                         self.keep_schedule, stacklevel=2)
            if self.keep_schedule:
                self._plateaus_kept(len(order))
        self._lr_configs, self._momentum_configs = lr_configs, momentum_configs
        self.sync_metric = bool(state_dict.get("sync_metric", self.sync_metric))
        chunk = state_dict.get("chunk", self.chunk)
        self.chunk = None if chunk is None else int(chunk)
        self._step_count = int(state_dict["_step_count"])
        self.base_lrs = list(state_dict.get("base_lrs", self.base_lrs))
        self._build(self.optimizer, [saved_states[p] for p in order])
        seen = any(self._plateau(c).evaluations > 0 for c in self._plateau_columns)
        self._unfed = 0 if self._plateau_columns and not seen else None
        position = state_dict.get("position")
        self.last_epoch = int(state_dict["last_epoch"])
        saved_lrs = state_dict.get("group_lrs") or []
        keep = frozenset(i for i, lr in enumerate(saved_lrs)
                         if i < n and self._follows(i, "lr") and _float_of(groups[i]["lr"]) == lr)
        if position is not None:
            self._move(float(position), keep=keep)
        else:
            self._position = None
            self._write(self._row(self.last_epoch), check=False, keep=keep)

    #: whether :meth:`load_state_dict` compares the loaded schedules with the built ones (torch's drop-ins do not:
    #: their schedules follow other writers, so a resumed run's differ from a fresh build's by design)
    _compares_loaded = True

    def _plateaus_kept(self, saved: int) -> None:
        """With ``keep_schedule``, the built schedules must hold as many plateaus as the state's `saved` states."""
        mine = len({_key(c) for c in self._lr_configs if c is not None and is_plateau(c)})
        if mine != saved:
            raise ValueError(
                f"{type(self).__name__}.load_state_dict(keep_schedule=True): the state has {saved} plateau "
                f"schedule(s), this scheduler {mine}, so the saved plateau states have nowhere to go. Keep the "
                "plateaus as they were (change the schedules inside them), or build with keep_schedule=False"
            )

    def __repr__(self) -> str:
        return (f"{type(self).__name__}(step={self.last_epoch}, lr={self.schedules!r}, "
                f"momentum={self.momentum_schedules!r})")

