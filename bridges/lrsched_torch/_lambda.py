"""``lambda_lr`` and ``LambdaLR``: torch's ``LambdaLR`` driven by schedules, resumed exactly."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any, Callable, Mapping, Sequence

import numpy as np
import torch

from lrsched_torch._last_lr import EPOCH_DEPRECATED, LastLRFromGroups, warn_at_caller, warn_call_order
from lrsched_torch._loading import continued
from lrsched_torch._plateaus import is_plateau
from lrsched_torch._table import ScheduleColumn, Table, describe, evaluate64
from lrsched_torch._writes import TensorWrites, other_write

if TYPE_CHECKING:
    import lrsched

_NOT_SAVED = "lrsched_torch: schedule without a config, not saved"

__all__ = ["ScheduleFactor", "LambdaLR", "lambda_lr"]


def _no_plateau(config: Any, where: str) -> None:
    if is_plateau(config):
        raise ValueError(
            f"{where}: the schedule follows a metric (a plateau schedule, or transformers' greedy), and a LambdaLR "
            "has no way to receive one (its step() takes no metric): it would never change. Use "
            "lrsched_torch.ScheduleLR(optimizer, lr=schedule) and call step(metric) or observe(metric) (for "
            "reduce-on-plateau also lrsched_torch.lr_scheduler.ReduceLROnPlateau)"
        )


class ScheduleFactor:
    """A picklable LambdaLR factor: ``factor(k) = schedule(k) / base_lr``.

    Its ``__dict__`` holds only the schedule's config and ``base_lr`` (plain
    Python data), which is what ``LambdaLR.state_dict()`` saves for callable
    objects; the value table lives in a slot outside ``__dict__`` and is rebuilt
    whenever the config changes (e.g. after ``LambdaLR.load_state_dict``). With
    ``base_lr=1.0`` the schedule is the factor itself.

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
        _no_plateau(config, "ScheduleFactor")
        self._schedule = None
        if not isinstance(config, dict):  # no config (Python code inside): kept here, not saved
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
        self._table_config: Any = None
        self._table: Table | None = None

    def source(self) -> dict[str, Any] | lrsched.Schedule:
        """The config to evaluate (or the schedule itself when it has none)."""
        if self.config.get("type") != _NOT_SAVED:
            return self.config
        if self._schedule is None:
            raise ValueError(
                f"ScheduleFactor: the schedule {self.config['repr']} has no config (it holds Python code such as "
                "a scale_fn), so it was not saved. Build the LambdaLR with the same schedule before loading"
            )
        return self._schedule

    def __call__(self, step: Any) -> float:
        table = self._table
        if table is None or self._table_config is not self.config:
            table = self._table = Table([ScheduleColumn(self.source())])
            self._table_config = self.config
        if isinstance(step, float) and not step.is_integer():  # a fractional epoch: one JAX evaluation
            return float(evaluate64(self.source(), np.asarray([step]))[0]) / self.base_lr
        return table.value(int(step)) / self.base_lr

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
        import lrsched

        s = self.source()
        s = s if isinstance(s, lrsched.Schedule) else lrsched.from_config(s)
        return f"ScheduleFactor({s!r}, base_lr={self.base_lr!r})"


class _Bridge:
    """LambdaLR internals the bridge keeps out of ``state_dict()``."""

    __slots__ = ("table", "columns", "seen", "last", "n_groups", "single", "fast", "tensors", "keep")

    def __init__(self) -> None:
        self.table: Table | None = None
        self.columns: list[int | None] = []
        self.seen: Any = None
        self.last: list[float] | None = None
        self.n_groups = 0
        self.single = False
        self.fast: list[tuple[Any, int, float]] | None = None  # (base_lr, column, factor base) per group
        self.tensors = TensorWrites()  # the tensor lrs written in place
        self.keep = False  # lambda_lr(keep_schedule=...): load_state_dict keeps the built schedules

    def __setstate__(self, state: Any) -> None:
        slots = state[1] if isinstance(state, tuple) else state
        for name, value in (slots or {}).items():
            setattr(self, name, value)
        if not hasattr(self, "tensors"):  # (pickled before tensor values were tracked)
            self.tensors = TensorWrites()
        if not hasattr(self, "keep"):  # (pickled before the option existed)
            self.keep = False


def _as_factor(fn: Any, i: int) -> Callable[[int], float]:
    import lrsched

    if isinstance(fn, lrsched.Schedule):
        return ScheduleFactor(fn, base_lr=1.0)  # a schedule given as lr_lambda is the factor itself
    if not callable(fn):
        raise TypeError(f"LambdaLR(lr_lambda=...): entry {i} is a {type(fn).__name__}, not a function of the step")
    config = getattr(fn, "config", None)
    if isinstance(fn, ScheduleFactor) and isinstance(config, dict):
        _no_plateau(config, "LambdaLR")
    return fn


class LambdaLR(LastLRFromGroups, torch.optim.lr_scheduler.LambdaLR):
    r"""torch's ``LambdaLR(optimizer, lr_lambda, last_epoch=-1)``, resumed exactly and guarded.

    It is a ``torch.optim.lr_scheduler.LambdaLR`` (``isinstance`` holds, the state
    dict has torch's keys) with these differences:

    - ``load_state_dict`` re-applies the lrs of the loaded step, so resuming is
      exact in every order (torch's own uses the lr of step 0 for one step when
      the optimizer state is loaded before the scheduler is created).
    - An lrsched ``Schedule`` given as `lr_lambda` is a factor schedule
      (``lr = initial_lr * schedule(k)``), served from a float64 table (no JAX
      call per step); a plateau schedule is refused (a LambdaLR cannot receive
      its metric).
    - It reads ``optimizer.param_groups`` at every write. A group added later
      follows a single `lr_lambda`; with one lambda per group it is a clear
      error. A value changed by something else since the last step (a second
      scheduler on the same optimizer) is a clear error, not a silent overwrite.

    Examples:
      >>> import torch, lrsched_torch
      >>> opt = torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=1.0)
      >>> sched = lrsched_torch.LambdaLR(opt, lambda k: 0.5 ** k)
      >>> for _ in range(3):
      ...     opt.step(); sched.step()
      >>> sched.get_last_lr()
      [0.125]
    """

    #: the bridge's tables and write record live outside ``__dict__``, which holds torch's LambdaLR state (equal
    #: after ``load_state_dict``, as torch's is)
    __slots__ = ("_lrsched",)

    def __init__(self, optimizer: torch.optim.Optimizer, lr_lambda: Any, last_epoch: int = -1) -> None:
        self._lrsched = _Bridge()  # kept out of state_dict()
        many = isinstance(lr_lambda, (list, tuple))
        fns = list(lr_lambda) if many else [lr_lambda] * len(optimizer.param_groups)
        if many and len(fns) != len(optimizer.param_groups):
            raise ValueError(f"Expected {len(optimizer.param_groups)} lr_lambdas, but got {len(fns)}")
        shared: dict[int, Any] = {}
        fns = [shared.setdefault(id(f), _as_factor(f, i)) for i, f in enumerate(fns)]
        self._bridge.single = not many
        super().__init__(optimizer, fns if many else fns[0], last_epoch)

    # --------------------------------------------------------------- internals

    @property
    def _bridge(self) -> _Bridge:
        return self._lrsched

    def _rebuild(self) -> None:
        """One table column per distinct schedule among the factors (groups sharing one share it)."""
        b = self._bridge
        columns: list[ScheduleColumn] = []
        index: dict[str, int] = {}
        b.columns = []
        for fn in self.lr_lambdas:
            if isinstance(fn, ScheduleFactor):
                source = fn.source()
                key = json.dumps(source, sort_keys=True) if isinstance(source, dict) else f"object:{id(source)}"
                if key not in index:
                    index[key] = len(columns)
                    columns.append(ScheduleColumn(source))
                b.columns.append(index[key])
            else:
                b.columns.append(None)
        b.table = Table(columns) if columns else None
        b.fast = None
        if all(c is not None for c in b.columns) and all(not isinstance(x, torch.Tensor) for x in self.base_lrs):
            b.fast = [(base, c, fn.base_lr) for base, c, fn in  # type: ignore[attr-defined,misc]
                      zip(self.base_lrs, b.columns, self.lr_lambdas)]
        b.n_groups = len(self.optimizer.param_groups)
        b.seen = None
        b.last = None

    def _values(self, step: Any) -> list[Any]:
        """``base_lr * lr_lambda(step)`` for every group, as torch's LambdaLR computes it."""
        b = self._bridge
        if b.table is None or (isinstance(step, float) and not step.is_integer()):
            return [base * fn(step) for fn, base in zip(self.lr_lambdas, self.base_lrs)]
        chunk = b.table.current
        i = step - chunk.start
        if not 0 <= i < chunk.stop - chunk.start:
            chunk = b.table.at(step)
            i = max(step, 0) - chunk.start
        row = chunk.values[i].tolist()
        return [base * (row[c] / fn.base_lr) if c is not None else base * fn(step)  # type: ignore[attr-defined]
                for fn, base, c in zip(self.lr_lambdas, self.base_lrs, b.columns)]

    def _groups_changed(self, groups: list[dict[str, Any]]) -> None:
        b = self._bridge
        n, before = len(groups), b.n_groups
        if n < before or not b.single:
            raise ValueError(
                f"LambdaLR: the optimizer has {n} param groups, but this scheduler was built for {before} with one "
                "lr_lambda per group, so a group added later has none. Build the scheduler after the last "
                "add_param_group, or pass a single lr_lambda (it then drives every group)"
            )
        first = self.lr_lambdas[0]
        for group in groups[before:]:
            initial = group["lr"]
            group.setdefault("initial_lr", initial.clone() if isinstance(initial, torch.Tensor) else initial)
            self.base_lrs.append(group["initial_lr"])
            if isinstance(first, ScheduleFactor) and first.base_lr != 1.0:  # lambda_lr: an absolute schedule
                fn: Any = ScheduleFactor(first.source(), float(group["initial_lr"]))
            else:
                fn = first
            self.lr_lambdas.append(fn)
        self._rebuild()

    def _write(self, check: bool) -> None:
        b = self._bridge
        if b.n_groups == 0:
            self._rebuild()
        groups = self.optimizer.param_groups
        if len(groups) != b.n_groups:
            self._groups_changed(groups)
            check = False
        values = self._values(self.last_epoch)
        last = b.last if check and groups is b.seen else None
        for i, (group, value) in enumerate(zip(groups, values)):
            self._set(i, group, value, None if last is None else last[i], b.tensors)
        b.seen = groups
        b.last = values

    @staticmethod
    def _set(i: int, group: dict[str, Any], value: Any, written: Any, tensors: TensorWrites) -> None:
        """Write group i's lr; `written` (None: unchecked) is what this scheduler wrote at its last step."""
        old = group["lr"]
        found = None if written is None else other_write(tensors, i, old, written)
        if found is not None:
            raise ValueError(
                f"LambdaLR: param group {i}'s lr is {found!r}, but this scheduler set it to {written!r} at its "
                "last step: something else changed it (another scheduler on the same optimizer, as torch's "
                "scheduler chaining does, or code writing param_group['lr']), which this scheduler would "
                "silently overwrite. Drive the lr with one scheduler: combine schedules into one (a product "
                "s1 * s2, lrsched.join, lrsched.warmup) or use lrsched_torch.lr_scheduler.ChainedScheduler"
            )
        if isinstance(old, torch.Tensor):
            tensors.fill(i, old, value)
        else:
            group["lr"] = value

    # ------------------------------------------------------------------ torch API

    def step(self, epoch: Any = None) -> None:  # type: ignore[override]
        """Advance one step (or, deprecated as in torch, jump to `epoch`). The first one warns as torch's does
        when ``optimizer.step()`` has not been called yet."""
        if self._step_count == 1:
            warn_call_order(self.optimizer)
        self._step_count += 1
        if epoch is None:
            step = self.last_epoch = self.last_epoch + 1
            b = self._lrsched
            fast, last, table = b.fast, b.last, b.table
            groups = self.optimizer.param_groups
            if fast is None or last is None or table is None or groups is not b.seen or len(groups) != b.n_groups:
                self._write(check=True)
                return
            chunk = table.current
            i = step - chunk.start
            if 0 <= i < chunk.stop - chunk.start:
                if i >= chunk.prefetch_at:
                    table.work(chunk)  # a stage of the next chunk
            else:
                chunk = table.at(step)
                i = step - chunk.start
            row = chunk.values[i].tolist()
            values = []
            for group, (base, c, f), old in zip(groups, fast, last):
                value = base * (row[c] / f)  # torch's LambdaLR: base_lr * lr_lambda(step), lr_lambda = value / f
                if group["lr"] is not old:  # a tensor lr, or a value something else wrote
                    self._set(next(j for j, g in enumerate(groups) if g is group), group, value, old, b.tensors)
                else:
                    group["lr"] = value
                values.append(value)
            b.last = values
            return
        warn_at_caller(EPOCH_DEPRECATED)
        self.last_epoch = epoch
        self._write(check=False)

    def _initial_step(self) -> None:
        self._bridge.last = None
        super()._initial_step()

    def _update_lr(self, epoch: int | None = None) -> None:
        """torch's LRScheduler hook (``SequentialLR`` calls ``_update_lr(0)`` at a milestone)."""
        if epoch is None:
            self.last_epoch += 1
        else:
            self.last_epoch = epoch
        self._write(check=epoch is None)

    def get_lr(self) -> list[Any]:
        """The lrs at the current step: ``base_lr * lr_lambda(last_epoch)`` per group."""
        return self._values(self.last_epoch)

    def state_dict(self) -> dict[str, Any]:
        """torch's LambdaLR state dict (the factor objects' ``__dict__``: plain data for ScheduleFactor)."""
        state = super().state_dict()
        state.pop("_lrsched", None)
        state["_last_lr"] = self._last_lr  # torch's key (a property here, so not in __dict__)
        return state

    def load_state_dict(self, state_dict: Mapping[str, Any]) -> None:
        """torch's ``load_state_dict``, then the lrs of the loaded step are re-applied (exact resume). Param
        groups added since the last step (re-added by a resumed run before loading) get the single `lr_lambda`
        first, as a step would give them."""
        state = dict(state_dict)
        state.pop("_lrsched", None)
        groups = self.optimizer.param_groups
        if self._bridge.n_groups and len(groups) > self._bridge.n_groups:
            self._groups_changed(groups)  # groups added since the last step (a resumed run re-adds them): grown first
        factors = [fn if isinstance(fn, ScheduleFactor) else None for fn in self.lr_lambdas]
        built = [None if fn is None else fn.config for fn in factors]
        super().load_state_dict(state)
        loaded = [None if fn is None else fn.config for fn in factors]
        kept = continued("LambdaLR", "lr", built, loaded, self._bridge.keep, stacklevel=2)
        for factor, config in zip(factors, kept):
            if factor is not None:
                factor.config = config
        for fn in self.lr_lambdas:
            if isinstance(fn, ScheduleFactor) and isinstance(fn.config, dict):
                _no_plateau(fn.config, "LambdaLR.load_state_dict")
        self._rebuild()
        self._write(check=False)


def _per_group(optimizer: torch.optim.Optimizer, schedule: Any, where: str) -> list[Any]:
    import lrsched

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
              last_epoch: int = -1, *, keep_schedule: bool = False) -> LambdaLR:
    r"""A ``torch.optim.lr_scheduler.LambdaLR`` whose lr is `schedule`'s value.

    Each param group gets a :class:`ScheduleFactor` with that group's initial lr,
    so after ``k`` calls of ``step()`` the group's lr is

    .. math:: \text{lr}_k = \text{initial\_lr} \cdot \frac{s(k)}{\text{initial\_lr}} \approx s(k)

    (equal to ``s(k)`` within one rounding). The result is a :class:`LambdaLR`,
    a subclass of torch's: the factors pickle and are saved by ``state_dict()``
    (as the schedule's config), unlike lambdas, and ``load_state_dict`` re-applies
    the loaded step's lrs (exact resume in every loading order). Values come from
    one float64 table per distinct schedule, so a step makes no JAX call. A
    plateau schedule is refused: use :class:`ScheduleLR` for it (and for absolute
    values, momentum or per-group dicts).

    Args:
      optimizer: a torch optimizer (its groups' lr must be non-zero).
      schedule: one Schedule for every group, or a list with one per group.
      last_epoch: as in torch (``-1`` starts a new run).
      keep_schedule: what ``load_state_dict`` does with a state whose schedules
        differ from these: False (torch's rule for callable objects) continues the
        saved ones, with a warning naming both; True keeps these (the step loads).

    Returns:
      A :class:`LambdaLR`.

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
    configs: dict[int, Any] = {}
    factors = []
    for i, (group, s) in enumerate(zip(optimizer.param_groups, schedules)):
        config = configs.setdefault(id(s), describe(s))
        _no_plateau(config, "lambda_lr(schedule)")
        if last_epoch != -1 and "initial_lr" not in group:
            raise KeyError(f"param 'initial_lr' is not specified in param_groups[{i}] when resuming an optimizer")
        base = group["initial_lr"] if "initial_lr" in group else group["lr"]
        factors.append(ScheduleFactor(config, float(base)))
    scheduler = LambdaLR(optimizer, factors, last_epoch=last_epoch)
    scheduler._bridge.single = not isinstance(schedule, (list, tuple))
    scheduler._bridge.keep = bool(keep_schedule)
    return scheduler
