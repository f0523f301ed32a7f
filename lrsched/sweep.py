"""Sweeps: many schedules as one batched schedule, trained in one program, on every device.

A schedule is a pytree whose numbers are leaves, so schedules of one *structure*
(the same classes, the same static fields such as ``decay="cosine"``, the same
leaf shapes) stack leaf by leaf into one schedule whose leaves carry a leading
sweep axis. ``jax.vmap`` over that axis runs every configuration in one compiled
program; changing the numbers (peak values, warmup lengths, total steps) never
recompiles, and :func:`shard` spreads the sweep axis over every device.

Building a sweep:

- :func:`stack` -- one batched schedule from a list of schedules;
- :func:`grid` -- the cartesian product of parameter values of a factory, plus the
  table of configurations (:class:`Configs`);
- :func:`group` -- split a list of schedules of several structures into stackable groups;
- :func:`size`, :func:`index`, :func:`take`, :func:`unstack`, :func:`describe` -- back to
  single schedules and their configurations.

Scaling out: :func:`mesh`, :func:`shard` (pads the sweep axis to a multiple of the
device count by repeating the last configuration), :func:`replicate`,
:func:`gather` (to numpy, padding stripped, across hosts too).

Results: :func:`best`, :func:`table`, :func:`plot` (final metric against each swept
parameter; matplotlib is imported only there).
"""

from __future__ import annotations

import dataclasses
import itertools
import math
from typing import Any, Callable, Hashable, Iterable, Mapping, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from lrsched._core import Schedule, ScheduleError, need_schedule
from lrsched._tree import stack as _stack
from lrsched._tree import structure_key

__all__ = [
    "Configs", "stack", "grid", "group", "size", "index", "take", "unstack", "describe",
    "mesh", "shard", "replicate", "gather", "best", "table", "plot",
]

AXIS = "sweep"


# ------------------------------------------------------------------ structure


def _kind(x: Any) -> str:
    if isinstance(x, Schedule):
        return f"a {x.factory_name} schedule"
    if x is None:
        return "None"
    if isinstance(x, (list, tuple, dict)):
        return f"a {type(x).__name__} of {len(x)}" + (f" (keys {list(x)})" if isinstance(x, dict) else "")
    return f"a leaf of shape {np.shape(x)}"


def _same_static(a: Any, b: Any) -> bool:
    try:
        return bool(a == b) and type(a) is type(b)
    except Exception:  # noqa: BLE001 - incomparable static values differ
        return False


def _difference(a: Any, b: Any, path: str) -> tuple[str, str] | None:
    """The first place where two pytrees differ in structure: ``(path, what)``."""
    if isinstance(a, Schedule) or isinstance(b, Schedule):
        if type(a) is not type(b):
            return path, f"{_kind(a)} vs {_kind(b)}"
        for f in dataclasses.fields(a):
            va, vb, here = getattr(a, f.name), getattr(b, f.name), f"{path}.{f.name}"
            if f.metadata.get("static"):
                if not _same_static(va, vb):
                    return here, f"static field: {va!r} vs {vb!r}"
            else:
                found = _difference(va, vb, here)
                if found:
                    return found
        return None
    if a is None or b is None:
        if a is None and b is None:
            return None
        return path, f"{_kind(a)} vs {_kind(b)} ; None is not a leaf, so it changes the structure"
    if isinstance(a, (list, tuple)) or isinstance(b, (list, tuple)):
        if type(a) is not type(b) or len(a) != len(b):
            return path, f"{_kind(a)} vs {_kind(b)}"
        for i, (x, y) in enumerate(zip(a, b)):
            found = _difference(x, y, f"{path}[{i}]")
            if found:
                return found
        return None
    if isinstance(a, dict) or isinstance(b, dict):
        if type(a) is not type(b) or list(a) != list(b):
            return path, f"{_kind(a)} vs {_kind(b)}"
        for k in a:
            found = _difference(a[k], b[k], f"{path}[{k!r}]")
            if found:
                return found
        return None
    if np.shape(a) != np.shape(b):
        return path, f"leaf shape {np.shape(a)} vs {np.shape(b)}"
    return None


def _need_schedules(where: str, schedules: Any) -> list[Schedule]:
    schedules = list(schedules)
    if not schedules:
        raise ScheduleError(f"{where}: schedules must be non-empty. Pass at least one schedule")
    for i, s in enumerate(schedules):
        need_schedule(f"{where}(schedules[{i}])", s)
    return schedules


def stack(schedules: Iterable[Schedule]) -> Schedule:
    r"""One batched schedule from schedules of the same structure.

    Leaf ``k`` of the result is ``np.stack([leaf k of s for s in schedules])``:
    the sweep axis is the leading axis of every leaf, so
    ``jax.vmap(lambda s: s(t))(batched)`` evaluates every schedule at step ``t``.
    Integer leaves (step counts) stay integers unless some schedule has a float there.

    Schedules stack when they share a structure: the same classes nested the
    same way, equal static fields (``wsd(decay=...)``, ``cyclic(mode=...)``,
    ``one_cycle(anneal=..., three_phase=...)``, ``warmup(kind=...)``), the same
    optional fields set (``None`` is not a leaf) and equal leaf shapes (the same
    number of milestones). Otherwise the error names the first field that
    differs; run one program per structure (:func:`group` splits a list), or turn
    the difference into a number (``w * s1 + (1 - w) * s2`` with a swept weight
    ``w`` in {0, 1} selects one of two shapes exactly).

    Args:
      schedules: a non-empty sequence of Schedules.

    Returns:
      A Schedule of the same class whose leaves have a leading axis of
      ``len(schedules)`` (numpy arrays, or JAX arrays when any input leaf is one).

    Examples:
      >>> import jax, lrsched
      >>> from lrsched import sweep
      >>> batched = sweep.stack([lrsched.linear(1.0, 0.0, steps=n) for n in (2, 4)])
      >>> batched.steps
      array([2, 4])
      >>> jax.vmap(lambda s: s(1))(batched)
      Array([0.5 , 0.75], dtype=float32)
    """
    schedules = _need_schedules("stack", schedules)
    first = structure_key(schedules[0])
    for i, s in enumerate(schedules[1:], 1):
        if structure_key(s) != first:
            found = _difference(schedules[0], s, "")
            where, what = found if found else ("", f"pytree {jax.tree.structure(schedules[0])} vs "
                                                   f"{jax.tree.structure(s)}")
            at = f"at {schedules[0].factory_name}{where}" if where else "at the top level"
            raise ScheduleError(
                f"stack: schedules[{i}] differs in structure from schedules[0] {at} ({what}). "
                "Only schedules of one structure (same classes, static fields, None fields and leaf shapes) "
                "stack into one batched schedule. Run one program per structure (lrsched.sweep.group splits "
                "a list), or make the difference a number, e.g. w * s1 + (1 - w) * s2 with w in {0, 1}"
            )
    return _stack(schedules)


def group(schedules: Iterable[Schedule]) -> list[tuple[list[int], Schedule]]:
    """Split schedules of several structures into stackable groups.

    Returns:
      ``[(indices, batched), ...]`` in order of first appearance, where
      ``batched = stack([schedules[i] for i in indices])``: one program per group.

    Examples:
      >>> import lrsched
      >>> from lrsched import sweep
      >>> mixed = [lrsched.wsd(1.0, 100, 10, 20, decay=d) for d in ("linear", "cosine", "linear")]
      >>> [(idx, b.decay) for idx, b in sweep.group(mixed)]
      [([0, 2], 'linear'), ([1], 'cosine')]
    """
    schedules = _need_schedules("group", schedules)
    keys: list[Hashable] = []
    members: list[list[int]] = []
    for i, s in enumerate(schedules):
        key = structure_key(s)
        if key not in keys:
            keys.append(key)
            members.append([])
        members[keys.index(key)].append(i)
    return [(idx, stack([schedules[i] for i in idx])) for idx in members]


# --------------------------------------------------------------- the table


def _plain(v: Any) -> Any:
    """Numpy scalars and arrays as plain Python values (JSON-able, printable)."""
    if isinstance(v, (np.ndarray, np.generic, jax.Array)):
        a = np.asarray(v)
        return a.item() if a.ndim == 0 else a.tolist()
    if isinstance(v, tuple):
        return [_plain(x) for x in v]
    return v


class Configs(list):
    """The configurations of a sweep: a list of dicts, one per batch entry.

    ``configs[i]`` holds the swept parameters of entry ``i`` (plain Python values).
    ``print(configs)`` shows a table (no pandas needed); ``configs.axes`` maps each
    grid axis to its values and ``configs.shape`` is the grid's shape, so a metric
    of length ``N`` reshapes to ``configs.shape`` for per-axis views.
    """

    def __init__(self, rows: Iterable[Mapping[str, Any]] = (), axes: Mapping[str, Sequence[Any]] | None = None):
        super().__init__(dict(r) for r in rows)
        self.axes = {k: list(v) for k, v in (axes or {}).items()}

    @property
    def names(self) -> list[str]:
        """The parameter names, in column order."""
        if self.axes:
            return list(self.axes)
        seen: dict[str, None] = {}
        for row in self:
            seen.update(dict.fromkeys(row))
        return list(seen)

    @property
    def shape(self) -> tuple[int, ...]:
        """The grid's shape (one entry per axis, last varying fastest), else ``(N,)``."""
        if self.axes:
            return tuple(len(v) for v in self.axes.values())
        return (len(self),)

    def column(self, name: str) -> list[Any]:
        """The values of one parameter, one per configuration."""
        return [row.get(name) for row in self]

    def __str__(self) -> str:
        return table(self)

    def __getitem__(self, i: Any) -> Any:
        out = super().__getitem__(i)
        return Configs(out) if isinstance(i, slice) else out


def _product(axes: Mapping[str, Sequence[Any]]) -> list[dict[str, Any]]:
    names = list(axes)
    return [dict(zip(names, combo)) for combo in itertools.product(*(axes[n] for n in names))]


def _is_axis(value: Any) -> bool:
    if isinstance(value, (list, tuple)):
        return True
    return isinstance(value, np.ndarray) and value.ndim >= 1 or (isinstance(value, jax.Array) and value.ndim >= 1)


def grid(factory: Callable[..., Schedule], where: Callable[[dict[str, Any]], bool] | None = None,
         **params: Any) -> tuple[Schedule, Configs]:
    r"""The cartesian product of parameter values as one batched schedule.

    Every keyword argument given as a list, tuple or 1-D array is a swept axis
    (any numeric parameter: values, rates, step counts); anything else (a number,
    a string, None, a Schedule) is passed unchanged to every call. An
    array-valued parameter (``milestones``) is an axis of arrays:
    ``milestones=[[30, 60]]`` fixes it, ``milestones=[[30, 60], [50, 80]]`` sweeps it.

    The product runs in argument order, the last axis varying fastest, so a
    metric of length ``N`` reshapes to ``configs.shape``. ``configs[i]`` holds
    every swept argument of entry ``i`` (one-value axes included), and
    ``factory(**fixed, **configs[i])`` is called for each configuration (each one validated as usual) and the results
    go through :func:`stack`, so a swept string that changes the structure
    (``decay=["linear", "cosine"]`` for ``wsd``) raises; see :func:`group`.

    Args:
      factory: any callable returning a Schedule (``lrsched.warmup_cosine`` or
        your own function of the swept names).
      where: optional filter ``where(config) -> bool`` dropping combinations,
        e.g. ``lambda c: c["warmup_steps"] < c["total_steps"]``.
      **params: axes (sequences of values) and fixed arguments.

    Returns:
      ``(batched, configs)``: the batched schedule (leading axis ``N``, the number
      of kept combinations) and a :class:`Configs` table of the swept values.

    Examples:
      >>> import lrsched
      >>> from lrsched import sweep
      >>> batched, configs = sweep.grid(lrsched.warmup_cosine, peak_value=[0.1, 0.3],
      ...                               warmup_steps=[0, 10], total_steps=100, end_value=0.0)
      >>> configs.shape, sweep.size(batched)
      ((2, 2), 4)
      >>> print(configs)
      #  peak_value  warmup_steps
      0         0.1             0
      1         0.1            10
      2         0.3             0
      3         0.3            10
    """
    if not callable(factory):
        raise ScheduleError(f"grid: factory must be callable (e.g. lrsched.cosine); got {type(factory).__name__}")
    axes = {k: [_plain(x) if not isinstance(x, Schedule) else x for x in v] for k, v in params.items() if _is_axis(v)}
    fixed = {k: v for k, v in params.items() if k not in axes}
    for name, values in axes.items():
        if not values:
            raise ScheduleError(f"grid({name}=[]): an axis needs at least one value. Pass e.g. {name}=[0.1, 0.3]")
    rows = _product(axes)
    if where is not None:
        rows = [r for r in rows if where(dict(r))]
        if not rows:
            raise ScheduleError("grid: the `where` filter dropped every combination. Relax it or widen the axes")
    schedules = []
    for row in rows:
        try:
            schedules.append(factory(**fixed, **row))
        except ScheduleError as e:
            name = e.field or ""
            if name in axes and e.expected == "numbers" and not any(_is_axis(v) for v in axes[name]):
                raise ScheduleError(
                    f"grid({name}={params[name]!r}): {e.where} needs a sequence for {name}, but grid reads every "
                    f"list as an axis of values to sweep, one entry each (here {name}={row[name]!r} first). To "
                    f"give every entry {name}={params[name]!r}, wrap it: {name}=[{params[name]!r}]; to sweep it, "
                    f"pass a list of sequences such as [[30, 60], [50, 80]]", where="grid", field=name) from None
            raise ScheduleError(f"grid: the configuration {row} is invalid: {e}. Drop it with "
                                "where=lambda c: ... or change the axis values") from None
    batched = stack(schedules)
    columns = Configs(rows, axes)
    if where is not None:  # a filtered product is no longer a grid: no axes, shape (N,)
        columns.axes = {}
    return batched, columns


def describe(batched: Schedule) -> Configs:
    """The leaves that vary across a batched schedule, as a :class:`Configs` table.

    Columns are the leaves' paths (``"schedule.steps"``, ``"peak_value"``); leaves
    equal in every entry are left out. Useful after :func:`stack`.

    Examples:
      >>> import lrsched
      >>> from lrsched import sweep
      >>> b = sweep.stack([lrsched.warmup(lrsched.cosine(0.1, steps=n), steps=10) for n in (100, 200)])
      >>> sweep.describe(b)
      [{'schedule.steps': 100}, {'schedule.steps': 200}]
    """
    n = size(batched)
    paths, _ = jax.tree_util.tree_flatten_with_path(batched)
    columns = {}
    for path, leaf in paths:
        a = np.asarray(leaf)
        if not np.all(a == a[:1]):
            columns[jax.tree_util.keystr(path).lstrip(".")] = a
    return Configs([{k: _plain(v[i]) for k, v in columns.items()} for i in range(n)])


# ------------------------------------------------------- back to single ones


def size(batched: Any) -> int:
    """The length of the sweep axis (the leading axis of every leaf).

    Examples:
      >>> import lrsched
      >>> from lrsched import sweep
      >>> sweep.size(sweep.stack([lrsched.constant(v) for v in (0.1, 0.2, 0.3)]))
      3
    """
    leaves = jax.tree.leaves(batched)
    if not leaves:
        raise ScheduleError("size: this pytree has no leaves, so it has no sweep axis. Build it with sweep.stack")
    sizes = {np.shape(x)[0] if np.ndim(x) else None for x in leaves}
    if len(sizes) != 1 or None in sizes:
        raise ScheduleError(
            f"size: the leaves do not share one leading sweep axis (leading sizes {sorted(map(str, sizes))}). "
            "Build batched schedules with sweep.stack or sweep.grid"
        )
    return int(sizes.pop() or 0)


def index(batched: Schedule, i: int) -> Schedule:
    """Entry ``i`` of a batched schedule, as a single schedule (validated).

    Examples:
      >>> import lrsched
      >>> from lrsched import sweep
      >>> batched, _ = sweep.grid(lrsched.cosine, init_value=[0.1, 0.2], steps=[10, 20])
      >>> sweep.index(batched, 3)
      cosine(init_value=0.2, steps=20, end_value=0.0, exponent=None, k_decay=None, periodic=False)
    """
    n = size(batched)
    if not -n <= int(i) < n:
        raise IndexError(f"index: entry {i} is out of range for a sweep of {n}")
    return jax.tree.map(lambda x: _host(x)[int(i)], batched)


def take(batched: Any, indices: Any) -> Any:
    """The entries at `indices`, still batched (any pytree with a sweep axis)."""
    idx = np.asarray(indices, dtype=np.int64).reshape(-1)
    return jax.tree.map(lambda x: x[idx] if isinstance(x, np.ndarray) else jnp.take(x, idx, axis=0), batched)


def unstack(batched: Schedule) -> list[Schedule]:
    """Every entry of a batched schedule as a single schedule (the inverse of :func:`stack`).

    Examples:
      >>> import lrsched
      >>> from lrsched import sweep
      >>> [s.steps for s in sweep.unstack(sweep.stack([lrsched.cosine(1.0, n) for n in (5, 9)]))]
      [np.int64(5), np.int64(9)]
    """
    n = size(batched)
    leaves, treedef = jax.tree.flatten(batched)
    host = [_host(x) for x in leaves]
    return [jax.tree.unflatten(treedef, [x[i] for x in host]) for i in range(n)]


def _host(x: Any) -> np.ndarray:
    if isinstance(x, jax.Array) and not x.is_fully_addressable:
        from jax.experimental import multihost_utils

        return np.asarray(multihost_utils.process_allgather(x, tiled=True))
    return np.asarray(x)


# ------------------------------------------------------------------ devices


def mesh(devices: Sequence[Any] | None = None, axis_name: str = AXIS) -> jax.sharding.Mesh:
    """A one-axis ``Mesh`` named ``"sweep"`` over `devices` (default: ``jax.devices()``,
    every device of every host once ``jax.distributed.initialize()`` has run)."""
    devs = list(jax.devices() if devices is None else devices)
    return jax.sharding.Mesh(np.asarray(devs, dtype=object), (axis_name,))


def _resolve_mesh(where: str, m: Any, axis_name: str) -> jax.sharding.Mesh:
    m = mesh(axis_name=axis_name) if m is None else m
    if not isinstance(m, jax.sharding.Mesh):
        raise ScheduleError(f"{where}: mesh must be a jax.sharding.Mesh; got {type(m).__name__}. "
                            "Build one with lrsched.sweep.mesh()")
    if axis_name not in m.axis_names:
        raise ScheduleError(f"{where}: the mesh has axes {m.axis_names} but no {axis_name!r} axis. Pass "
                            f"axis_name= one of {list(m.axis_names)}, or build the mesh with lrsched.sweep.mesh()")
    return m


def _padded(x: Any, n: int, total: int) -> np.ndarray:
    a = _host(x)
    a = a.astype(jax.dtypes.canonicalize_dtype(a.dtype), copy=False)
    if total > n:
        a = np.concatenate([a, np.repeat(a[-1:], total - n, axis=0)])
    return a


def shard(tree: Any, mesh: jax.sharding.Mesh | None = None, axis_name: str = AXIS) -> Any:
    """Place the sweep axis of `tree` over the devices of `mesh`.

    `tree` is a batched schedule, or any pytree whose leaves share a leading sweep
    axis (stacked parameters, optimizer states). Each leaf becomes a global
    ``jax.Array`` with ``NamedSharding(mesh, PartitionSpec(axis_name))``: device
    ``d`` holds entries ``d*N/D .. (d+1)*N/D - 1``, and a jitted ``jax.vmap`` over
    it runs each device's entries there, every device at once.

    Uneven sweeps: when ``N`` is not a multiple of the number of devices ``D``
    along `axis_name`, the sweep axis is padded to ``ceil(N / D) * D`` by repeating
    the last entry (a valid configuration, so padding never produces NaNs or
    validation errors). Strip it from results with ``gather(results, n=N)``.

    Multi-host: call ``jax.distributed.initialize()`` first and pass the same
    `tree` on every process; the default mesh then spans every device of every
    host, and each process stores only its own devices' entries.

    Args:
      tree: a batched schedule or pytree with a leading sweep axis on every leaf.
      mesh: a ``jax.sharding.Mesh`` (default: :func:`mesh` over ``jax.devices()``).
      axis_name: the mesh axis that carries the sweep (other mesh axes replicate).

    Returns:
      The same pytree with padded, sharded leaves.
    """
    m = _resolve_mesh("shard", mesh, axis_name)
    n = size(tree)
    d = int(m.shape[axis_name])
    total = -(-n // d) * d
    sharding = jax.sharding.NamedSharding(m, jax.sharding.PartitionSpec(axis_name))

    def place(x: Any) -> jax.Array:
        if isinstance(x, jax.Array) and not x.is_fully_addressable and x.shape[0] == total:
            return jax.device_put(x, sharding)
        a = _padded(x, n, total)
        return jax.make_array_from_callback(a.shape, sharding, lambda idx: a[idx])

    return jax.tree.map(place, tree)


def replicate(tree: Any, mesh: jax.sharding.Mesh | None = None, axis_name: str = AXIS) -> Any:
    """Put a full copy of `tree` (data, shared initial parameters) on every device of `mesh`."""
    m = _resolve_mesh("replicate", mesh, axis_name)
    sharding = jax.sharding.NamedSharding(m, jax.sharding.PartitionSpec())

    def place(x: Any) -> jax.Array:
        a = _host(x)
        a = a.astype(jax.dtypes.canonicalize_dtype(a.dtype), copy=False)
        return jax.make_array_from_callback(a.shape, sharding, lambda idx: a[idx])

    return jax.tree.map(place, tree)


def gather(tree: Any, n: int | None = None) -> Any:
    """Results as numpy arrays on this host, padding stripped to the first `n` entries.

    Works for sharded arrays spanning several hosts (every process gets the whole
    result through ``multihost_utils.process_allgather``; call it on every process).
    """
    return jax.tree.map(lambda x: _host(x) if n is None else _host(x)[:n], tree)


# ------------------------------------------------------------------ results


def _metric(where: str, configs: Sequence[Any], metric: Any) -> np.ndarray:
    m = np.asarray(_host(metric) if isinstance(metric, jax.Array) else metric, dtype=np.float64).reshape(-1)
    if m.shape[0] != len(configs):
        raise ScheduleError(
            f"{where}: the metric has {m.shape[0]} entries but there are {len(configs)} configurations. "
            "Strip shard padding with lrsched.sweep.gather(results, n=len(configs))"
        )
    return m


def best(configs: Sequence[Mapping[str, Any]], metric: Any, mode: str = "min") -> tuple[int, dict[str, Any]]:
    """The best configuration: ``(index, config)`` at the lowest (``mode="min"``) or
    highest (``"max"``) finite value of `metric` (NaN and inf runs count as failed).

    Examples:
      >>> from lrsched import sweep
      >>> sweep.best([{"lr": 0.1}, {"lr": 1.0}, {"lr": 10.0}], [0.5, 0.2, float("nan")])
      (1, {'lr': 1.0})
    """
    if mode not in ("min", "max"):
        raise ScheduleError(f"best(mode={mode!r}): mode must be 'min' or 'max'")
    m = _metric("best", configs, metric)
    ok = np.isfinite(m)
    if not ok.any():
        raise ScheduleError("best: every run has a NaN or infinite metric (all diverged). Lower the rates")
    score = np.where(ok, m if mode == "min" else -m, np.inf)
    i = int(np.argmin(score))
    return i, dict(configs[i])


def _fmt(v: Any) -> str:
    if isinstance(v, (bool, np.bool_)):
        return str(v)
    if isinstance(v, (float, np.floating)):
        return f"{float(v):.4g}"
    if isinstance(v, Schedule):
        return v.factory_name
    return str(_plain(v))


def table(configs: Sequence[Mapping[str, Any]], sort_by: str | None = None, descending: bool = False,
          limit: int | None = None, **columns: Any) -> str:
    """A plain-text table of the configurations and result columns (no pandas).

    Args:
      configs: a :class:`Configs` or any list of dicts.
      sort_by: a column name (parameter or result) to sort by; NaN, inf and missing values sort last.
      descending: sort from the largest.
      limit: show only the first `limit` rows (after sorting).
      **columns: result columns, each a sequence of ``len(configs)`` values.

    Examples:
      >>> from lrsched import sweep
      >>> print(sweep.table([{"lr": 0.1}, {"lr": 1.0}], loss=[0.5, 0.25], sort_by="loss"))
      #   lr  loss
      1    1  0.25
      0  0.1   0.5
    """
    rows = [dict(r) for r in configs]
    names = configs.names if isinstance(configs, Configs) else list(dict.fromkeys(k for r in rows for k in r))
    for name, values in columns.items():
        values = list(np.asarray(_host(values) if isinstance(values, jax.Array) else values).reshape(-1))
        if len(values) != len(rows):
            raise ScheduleError(f"table({name}=...): {len(values)} values for {len(rows)} configurations. "
                                "Strip shard padding with lrsched.sweep.gather(results, n=len(configs))")
        for r, v in zip(rows, values):
            r[name] = v
    names = names + [c for c in columns if c not in names]
    order = list(range(len(rows)))
    if sort_by is not None:
        if sort_by not in names:
            raise ScheduleError(f"table(sort_by={sort_by!r}): no such column; columns are {names}")

        def missing(i: int) -> bool:
            v = rows[i].get(sort_by)
            return v is None or (isinstance(v, (float, np.floating)) and not math.isfinite(float(v)))

        good = sorted((i for i in order if not missing(i)), key=lambda i: _plain(rows[i][sort_by]),
                      reverse=descending)
        order = good + [i for i in order if missing(i)]  # NaN, inf and missing values last
    if limit is not None:
        order = order[:limit]
    header = ["#"] + names
    body = [[str(i)] + [_fmt(rows[i].get(n, "")) for n in names] for i in order]
    widths = [max(len(h), *(len(b[j]) for b in body)) if body else len(h) for j, h in enumerate(header)]
    lines = ["  ".join(h.ljust(w) if j == 0 else h.rjust(w) for j, (h, w) in enumerate(zip(header, widths)))]
    lines += ["  ".join(c.ljust(w) if j == 0 else c.rjust(w) for j, (c, w) in enumerate(zip(b, widths))) for b in body]
    return "\n".join(line.rstrip() for line in lines)


def plot(configs: Sequence[Mapping[str, Any]], metric: Any, label: str = "final loss", axes: Any = None,
         logy: bool = False) -> Any:
    """Plot the metric (final loss) against each swept parameter, one panel each.

    Every run is a dot at its parameter value; the line joins the best run at
    each value (the parameter's profile). Numeric parameters spanning more than
    a factor of 20 use a log axis; strings are categories. Non-finite runs are
    marked with an ``x`` at the top of the panel.

    Args:
      configs: a :class:`Configs` or list of dicts.
      metric: one value per configuration.
      label: the y-axis label.
      axes: optional sequence of matplotlib Axes (one per swept parameter).
      logy: log-scale y axis.

    Returns:
      The array of matplotlib Axes.
    """
    from lrsched.plot import _pyplot

    m = _metric("plot", configs, metric)
    names = configs.names if isinstance(configs, Configs) else list(dict.fromkeys(k for r in configs for k in r))
    swept = [n for n in names if len({repr(_plain(r.get(n))) for r in configs}) > 1] or names
    if not swept:
        raise ScheduleError("plot: the configurations have no parameters to plot against")
    plt = _pyplot()
    if axes is None:
        _, axes = plt.subplots(1, len(swept), figsize=(3.6 * len(swept), 3.0), squeeze=False, layout="constrained")
        axes = axes[0]
    axes = np.atleast_1d(np.asarray(axes, dtype=object))
    if len(axes) < len(swept):
        raise ScheduleError(f"plot: {len(swept)} swept parameters need {len(swept)} axes; got {len(axes)}")
    ok = np.isfinite(m)
    top = np.max(m[ok]) if ok.any() else 1.0
    for ax, name in zip(axes, swept):
        raw = [_plain(r.get(name)) for r in configs]
        numeric = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in raw)
        if numeric:
            x = np.asarray(raw, dtype=np.float64)
            levels = np.unique(x)
        else:
            labels = list(dict.fromkeys(repr(v) if not isinstance(v, str) else v for v in raw))
            x = np.asarray([labels.index(repr(v) if not isinstance(v, str) else v) for v in raw], dtype=np.float64)
            levels = np.arange(len(labels), dtype=np.float64)
            ax.set_xticks(levels, labels)
            ax.set_xlim(-0.5, len(labels) - 0.5)
        ax.scatter(x[ok], m[ok], s=12, alpha=0.5, label="each run")
        if (~ok).any():
            ax.scatter(x[~ok], np.full((~ok).sum(), top), marker="x", color="red", label="diverged")
        prof = [np.min(m[ok & (x == lv)]) if (ok & (x == lv)).any() else np.nan for lv in levels]
        ax.plot(levels, prof, "-o", markersize=3, label="best run at each value")
        ax.legend(fontsize="small")
        if numeric and levels.size > 1 and levels.min() > 0 and levels.max() / levels.min() > 20:
            ax.set_xscale("log")
        if logy:
            ax.set_yscale("log")
        ax.set_xlabel(name)
        ax.set_ylabel(label)
    return axes
