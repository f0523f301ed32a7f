"""Schedule values computed a chunk of steps at a time, stored in numpy arrays, served as floats.

A scheduler step must cost no more than torch's own schedulers (a few
microseconds), while one JAX dispatch costs tens of microseconds. So the values
of every column (one distinct schedule) are computed for a chunk of consecutive
steps at once, in float64: with numpy for the common schedule types
(:mod:`lrsched_torch._numpy`, no XLA at all) and otherwise with one jitted JAX call
on the CPU device. A chunk is one 2-D float64 array (steps x columns): a refill
creates no per-row Python objects, so it never drives the garbage collector, and a
step reads its row with one ``tolist()``.

Chunks are immutable snapshots replaced with one attribute assignment, and refills
take a lock, so any number of threads may read a table while another steps it
(a monitor thread reading rates during training). The next chunk is computed ahead
on a background thread, so the step that crosses into it does not wait.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TYPE_CHECKING, Any, Mapping, Sequence

import numpy as np

from lrsched_torch import _numpy

if TYPE_CHECKING:
    import lrsched

__all__ = ["Table", "Chunk", "Column", "ScheduleColumn", "evaluate64", "describe", "rebuild64"]


# ------------------------------------------------------------------------ JAX side


def describe(schedule: lrsched.Schedule) -> dict[str, Any] | lrsched.Schedule:
    """The schedule's config, or the schedule itself when it has none (e.g. a CyclicLR
    with a Python ``scale_fn``: code, not data)."""
    import lrsched

    try:
        return lrsched.to_config(schedule)
    except lrsched.ScheduleError:
        return schedule


def _leaf64(x: Any) -> Any:
    a = np.asarray(x)
    if a.dtype.kind == "f":
        return a.astype(np.float64)
    if a.dtype.kind in "iu":
        return a.astype(np.int64)
    return x


def rebuild64(config: dict[str, Any] | lrsched.Schedule) -> lrsched.Schedule:
    """The schedule rebuilt under x64, so every leaf is float64/int64.

    From its config (exact Python numbers, so a schedule built with float32
    leaves is still evaluated in float64), or for a schedule without a config
    by converting its leaves.
    """
    import jax

    import lrsched

    with jax.enable_x64(True):
        if isinstance(config, lrsched.Schedule):
            return jax.tree.map(_leaf64, config)
        return lrsched.from_config(config)


_jitted: dict[str, Any] = {}


def jitted(name: str) -> Any:
    """The bridge's jitted JAX functions, built on first use (JAX is imported only then)."""
    fn = _jitted.get(name)
    if fn is None:
        import jax

        fns = {
            "values": lambda s, t: s(t),
            "plateau_values": lambda p, state, t: p(t, state),
            "plateau_init": lambda p: p.init(),
            "plateau_update": lambda p, state, metric, step, t: (
                lambda new: (new, p(t, new)))(p.update(state, metric, step)),
        }
        fn = _jitted[name] = jax.jit(fns[name])  # type: ignore[call-overload]
    return fn


def on_cpu(fn: Any, *args: Any) -> Any:
    """``fn(*args)`` under x64 on JAX's CPU device (never an accelerator)."""
    import jax

    from lrsched_torch._device import cpu_device

    device = cpu_device()
    with jax.enable_x64(True), jax.default_device(device):
        return fn(*jax.device_put(args, device))


def evaluate64(schedule: lrsched.Schedule | dict[str, Any], steps: np.ndarray) -> np.ndarray:
    """``schedule`` at integer `steps` in float64, computed with JAX on the CPU device."""
    config = schedule if isinstance(schedule, dict) else describe(schedule)
    s = rebuild64(config)
    return np.asarray(on_cpu(jitted("values"), s, np.asarray(steps, np.int64)), dtype=np.float64)


# --------------------------------------------------------------------------- columns


class Column:
    """One column of a table: ``compute(steps)`` gives float64 values at int64 steps."""

    def compute(self, steps: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class ScheduleColumn(Column):
    """A schedule's values: numpy when its config has a numpy evaluator, else JAX (float64, CPU)."""

    def __init__(self, config: dict[str, Any] | lrsched.Schedule) -> None:
        self.config = config
        self.numpy = isinstance(config, dict) and _numpy.supported(config)
        self._schedule: lrsched.Schedule | None = None

    def __getstate__(self) -> dict[str, Any]:  # pickle / deepcopy: the config; the float64 schedule is rebuilt
        return {"config": self.config, "numpy": self.numpy, "_schedule": None}

    def compute(self, steps: np.ndarray) -> np.ndarray:
        if self.numpy:
            out = _numpy.values(self.config, steps)
            if out is not None:
                return out
            self.numpy = False
        if self._schedule is None:
            self._schedule = rebuild64(self.config)
        return np.asarray(on_cpu(jitted("values"), self._schedule, steps), dtype=np.float64)


# ---------------------------------------------------------------------------- chunks


class Chunk:
    """Values of every column at steps ``start .. stop - 1`` (read-only once published).

    A stepping scheduler asks its table to prefetch the next chunk when it reaches
    index ``prefetch_at`` (-1: never).
    """

    __slots__ = ("start", "stop", "values", "prefetch_at")

    def __init__(self, start: int, values: np.ndarray, prefetch: bool = False) -> None:
        self.start = start
        self.stop = start + values.shape[0]
        self.values = values
        self.prefetch_at = values.shape[0] // 4 if prefetch and values.shape[0] > 1 else -1


_worker_lock = threading.Lock()
_worker: tuple[int, ThreadPoolExecutor] | None = None


def _executor() -> ThreadPoolExecutor:
    """One background thread (per process: a forked child gets its own) that computes prefetched chunks."""
    global _worker
    with _worker_lock:
        if _worker is None or _worker[0] != os.getpid():
            _worker = (os.getpid(), ThreadPoolExecutor(max_workers=1, thread_name_prefix="lrsched_torch-table"))
        return _worker[1]


class Table:
    """Values of several columns, computed `chunk` steps at a time from the first step asked for.

    ``table.at(step)`` is the chunk holding `step`; ``table.row(step)`` its values
    as a tuple of floats. A step outside the current chunk (the next chunk, or a
    jump on resume) computes a chunk starting there; the last two chunks are kept,
    so a reader at another step does not make the stepping thread recompute.

    With `prefetch`, ``prefetch(start)`` (called by the schedulers a quarter into
    each chunk) computes the next chunk on a background thread, so the step that
    crosses into it only takes the finished array: no refill stalls a step. numpy
    and XLA release the GIL while they compute, so the training thread keeps
    running meanwhile.

    Args:
      columns: what to compute (see :class:`Column`).
      chunk: steps per chunk.
      prefetch: compute the next chunk in the background (see above).
    """

    def __init__(self, columns: Sequence[Column], chunk: int = 4096, prefetch: bool = True) -> None:
        if int(chunk) < 1:
            raise ValueError(f"chunk={chunk}: the number of steps per chunk must be >= 1")
        self.columns = list(columns)
        self.chunk = int(chunk)
        self.prefetching = bool(prefetch)
        self._lock = threading.Lock()
        self.current = Chunk(0, np.zeros((0, len(self.columns))))
        self._previous = self.current
        self._generation = 0  # bumped when columns change (a plateau's state): pending prefetches are stale
        self._pending: tuple[int, int, int, Future] | None = None  # (start, generation, pid, future)

    def __getstate__(self) -> dict[str, Any]:  # copy.deepcopy and pickle: no lock, no pending future
        state = dict(self.__dict__)
        del state["_lock"]
        state["_pending"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()

    def _compute(self, start: int, reuse: Chunk | None = None, given: Mapping[int, np.ndarray] | None = None
                 ) -> Chunk:
        steps = np.arange(start, start + self.chunk, dtype=np.int64)
        values = np.empty((self.chunk, len(self.columns)), np.float64)
        for j, column in enumerate(self.columns):
            if given is not None and j in given:
                values[:, j] = given[j]
            elif reuse is not None and reuse.start == start:
                values[:, j] = reuse.values[:, j]
            else:
                values[:, j] = column.compute(steps)
        values.flags.writeable = False
        return Chunk(start, values, self.prefetching)

    def prefetch(self, start: int) -> None:
        """Start computing the chunk at `start` on the background thread (no-op if already pending)."""
        if not self.prefetching:
            return
        with self._lock:
            pending = self._pending
            if pending is not None and pending[0] == start and pending[1] == self._generation:
                return
            self._pending = (start, self._generation, os.getpid(), _executor().submit(self._compute, start))

    def _take(self, step: int) -> Chunk | None:
        """The prefetched chunk starting at `step`, if one is pending for it (waits for it to finish)."""
        pending, self._pending = self._pending, None
        if pending is None or pending[0] != step or pending[1] != self._generation or pending[2] != os.getpid():
            return None
        try:
            return pending[3].result()
        except Exception:  # noqa: BLE001 - computed again below, where the error (if any) surfaces
            return None

    def at(self, step: int) -> Chunk:
        """The chunk holding `step` (negative steps count as 0)."""
        chunk = self.current
        if chunk.start <= step < chunk.stop:
            return chunk
        step = max(int(step), 0)
        with self._lock:
            for chunk in (self.current, self._previous):
                if chunk.start <= step < chunk.stop:
                    return chunk
            taken = self._take(step)
            chunk = taken if taken is not None else self._compute(step)
            self._previous, self.current = self.current, chunk
            return chunk

    def refresh(self, start: int, given: Mapping[int, np.ndarray]) -> None:
        """Replace some columns' values (e.g. a plateau whose state changed) from `start` on.

        `given` maps a column to its new values at steps ``start .. start + chunk - 1``;
        the other columns are reused from the current chunk when it starts there.
        """
        start = max(int(start), 0)
        with self._lock:
            self._generation += 1
            self._pending = None
            chunk = self._compute(start, self.current, given)
            self._previous, self.current = chunk, chunk  # the old values are stale for every step

    def row(self, step: int) -> tuple[float, ...]:
        """Every column's value at `step`."""
        chunk = self.at(step)
        return tuple(chunk.values[max(step, 0) - chunk.start].tolist())

    def value(self, step: int, column: int = 0) -> float:
        """One column's value at `step`."""
        chunk = self.at(step)
        return chunk.values.item(max(step, 0) - chunk.start, column)
