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
(a monitor thread reading rates during training). The next chunk is computed ahead in
stages (about one array operation of a numpy schedule each, or one JAX schedule's
whole column), a few per step up to a time budget (see :data:`SPREAD`), so no single
step pays for a refill.
"""

from __future__ import annotations

import threading
import time
from typing import TYPE_CHECKING, Any, Generator, Mapping, Sequence

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
    """One column of a table: ``compute(steps)`` gives float64 values at int64 steps (a table's: consecutive,
    never negative); ``stages(steps)`` the same in stages (a generator that yields between stages and returns
    the values): a table computes its next chunk a few stages per scheduler step. By default one stage."""

    def compute(self, steps: np.ndarray) -> np.ndarray:
        raise NotImplementedError

    def stages(self, steps: np.ndarray) -> Generator[None, None, np.ndarray]:
        return self.compute(steps)
        yield  # (a generator of one stage)


class ScheduleColumn(Column):
    """A schedule's values: numpy when its config has a numpy evaluator (in stages of about one array operation),
    else JAX (float64, CPU; one stage: a dispatch costs tens of microseconds whatever its size)."""

    def __init__(self, config: dict[str, Any] | lrsched.Schedule) -> None:
        self.config = config
        self._numpy = _numpy.evaluator(config) if isinstance(config, dict) else None
        self._schedule: lrsched.Schedule | None = None

    @property
    def numpy(self) -> bool:
        """Whether the values come from the numpy evaluator (see :mod:`lrsched_torch._numpy`)."""
        return self._numpy is not None

    def __getstate__(self) -> dict[str, Any]:  # pickle / deepcopy: the config; the evaluators are rebuilt
        return {"config": self.config}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["config"])  # type: ignore[misc]

    def stages(self, steps: np.ndarray) -> Generator[None, None, np.ndarray]:
        if self._numpy is not None:
            try:
                return (yield from self._numpy.stages(steps, nonnegative=True))
            except _numpy.ERRORS:
                self._numpy = None  # (a config the checks let through that the evaluator cannot read: JAX)
        if self._schedule is None:
            self._schedule = rebuild64(self.config)
        return np.asarray(on_cpu(jitted("values"), self._schedule, steps), dtype=np.float64)

    def compute(self, steps: np.ndarray) -> np.ndarray:
        return _numpy.finish(self.stages(steps))


# ---------------------------------------------------------------------------- chunks


class Chunk:
    """Values of every column at steps ``start .. stop - 1`` (read-only once published).

    A stepping scheduler calls ``table.work(chunk)`` at every step from index
    ``prefetch_at`` on; the table sets ``prefetch_at`` to the end once the next
    chunk is ready (or when it does not prefetch).
    """

    __slots__ = ("start", "stop", "values", "prefetch_at")

    def __init__(self, start: int, values: np.ndarray, prefetch: bool = False) -> None:
        self.start = start
        self.stop = start + values.shape[0]
        self.values = values
        n, k = values.shape
        self.prefetch_at = n // 4 if prefetch and n > 1 and k > 0 else n


NUMPY_CHUNK = 4096
JAX_CHUNK = 4096
#: Work on the next chunk per scheduler step: stages (about one array operation of a numpy column each, see
#: :class:`lrsched_torch._numpy.Evaluator`; a JAX column whole) packed up to a budget of time: the time the
#: last chunk's stages took, over one step in :data:`SPREAD` of the chunk (at least :data:`BUDGET_NS`). A step
#: starts another stage only if that stage took no longer than what is left of the budget in the last chunk
#: (an evaluation is the same sequence of stages every chunk), and always runs one. So a chunk's refill takes
#: about 0.6% of the steps (a p99 step is never one of them), each within the budget or one stage: a cosine's
#: 4,096 steps (about 150 us of numpy in 20 stages) in about 20 steps of 5-10 us. Short work steps are what
#: keeps the worst step down: on a shared machine everything now and then runs several times slower for a
#: fraction of a millisecond, and a step that works then is slowed in proportion.
BUDGET_NS = 3_000
SPREAD = 160
#: Stages per numpy evaluation a chunk allows for (most take 10-50): the chunk grows with the number of
#: distinct schedules so their stages fit in the steps from a quarter into it to its end.
STAGES = 40


class _Next:
    """The chunk after the current one (its `steps`), computed a few stages per step: `done` evaluations (jobs)
    finished, the next one's stages in `job` (a generator, once started), `costs` the time each stage so far
    took (nanoseconds)."""

    __slots__ = ("start", "generation", "values", "steps", "done", "job", "costs")

    def __init__(self, start: int, generation: int, values: np.ndarray) -> None:
        self.start, self.generation, self.values, self.done = start, generation, values, 0
        self.steps: np.ndarray | None = None
        self.job: Generator[None, None, None] | None = None
        self.costs: list[int] = []

    def arange(self) -> np.ndarray:
        """The chunk's steps (made on first use)."""
        if self.steps is None:
            self.steps = np.arange(self.start, self.start + self.values.shape[0], dtype=np.int64)
        return self.steps


class Table:
    """Values of several columns, computed `chunk` steps at a time from the first step asked for.

    ``table.at(step)`` is the chunk holding `step`; ``table.row(step)`` its values
    as a tuple of floats. A step outside the current chunk (a jump on resume)
    computes a chunk starting there; the last two chunks are kept, so a reader at
    another step does not make the stepping thread recompute.

    With `prefetch`, a stepping scheduler calls ``work(chunk)`` from a quarter into
    each chunk on, and every such call computes stages of the next chunk up to a time
    budget (see :data:`SPREAD`; a stage: about one array operation of a numpy column,
    see :meth:`Column.stages`, a JAX column whole, or the product that fills a column
    proportional to another). So no single step pays for a whole refill,
    and the step that crosses into the next chunk finds it ready. A numpy schedule
    proportional to an earlier column (the same schedule for another group's lr:
    ``tc.StepLR(0.2, ...)`` next to ``tc.StepLR(0.1, ...)``) is that column times a
    factor, not an evaluation.

    Args:
      columns: what to compute (see :class:`Column`).
      chunk: steps per chunk (None: 4096, and at least 256 per JAX evaluation
        and 2 x :data:`STAGES` per numpy one the chunk needs).
      prefetch: compute the next chunk ahead, a few stages per step (see above).
    """

    def __init__(self, columns: Sequence[Column], chunk: int | None = None, prefetch: bool = True) -> None:
        self.columns = list(columns)
        self._jobs = self._plan()
        if chunk is None:
            # with several JAX calls per chunk (one step each) the chunk grows, so they stay under 0.4% of the
            # steps, and with many numpy evaluations so that their stages fit in the chunk's last three quarters
            staged = sum(1 for i, _ in self._jobs if isinstance(c := self.columns[i], ScheduleColumn) and c.numpy)
            whole = len(self._jobs) - staged
            chunk = max(JAX_CHUNK if whole else NUMPY_CHUNK, 256 * whole + 2 * STAGES * staged)
        if int(chunk) < 1:
            raise ValueError(f"chunk={chunk}: the number of steps per chunk must be >= 1")
        self.chunk = int(chunk)
        self._budget = BUDGET_NS  # nanoseconds of work per step (see SPREAD)
        self._costs: list[int] = []  # each stage's time in the last chunk computed ahead
        self.prefetching = bool(prefetch)
        self._lock = threading.Lock()
        self.current = Chunk(0, np.zeros((0, len(self.columns))))
        self._previous = self.current
        self._generation = 0  # bumped when columns change (a plateau's state): a partial next chunk is stale
        self._next: _Next | None = None

    def _empty(self) -> np.ndarray:
        # column-major: each evaluation writes (and first touches) only its own column's memory, so a chunk
        # of many schedules is filled a stage per step without one step faulting in the whole array
        return np.empty((self.chunk, len(self.columns)), np.float64, order="F")

    def _plan(self) -> list[tuple[int, list[tuple[int, float]]]]:
        """Evaluations per chunk: (column, [(column scaled from it, factor)]). A numpy schedule proportional to
        an earlier one (the same schedule for another group's lr) is a multiplication, not an evaluation."""
        jobs: list[tuple[int, list[tuple[int, float]]]] = []
        for j, column in enumerate(self.columns):
            if isinstance(column, ScheduleColumn) and column.numpy:
                for i, derived in jobs[:8]:
                    source = self.columns[i]
                    if isinstance(source, ScheduleColumn) and source.numpy:
                        r = _numpy.proportion(source.config, column.config)
                        if r is not None:
                            derived.append((j, r))
                            break
                else:
                    jobs.append((j, []))
                continue
            jobs.append((j, []))
        return jobs

    def _job(self, job: tuple[int, list[tuple[int, float]]], steps: np.ndarray, values: np.ndarray
             ) -> Generator[None, None, None]:
        """Column ``job[0]`` at `steps` into `values`, in stages: its evaluation's, then each column proportional
        to it (a product: many param groups of one schedule shape)."""
        i, derived = job
        column = values[:, i]
        column[:] = yield from self.columns[i].stages(steps)
        for j, ratio in derived:
            yield
            np.multiply(column, ratio, out=values[:, j])  # (a column of a column-major array: contiguous)

    def __getstate__(self) -> dict[str, Any]:  # copy.deepcopy and pickle: no lock, no partial chunk
        state = dict(self.__dict__)
        del state["_lock"]
        state["_next"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.__dict__.setdefault("_budget", BUDGET_NS)  # (a table pickled before the pace existed)
        self.__dict__.setdefault("_costs", [])
        self._lock = threading.Lock()

    def _compute(self, start: int, reuse: Chunk | None = None, given: Mapping[int, np.ndarray] | None = None
                 ) -> Chunk:
        steps = np.arange(start, start + self.chunk, dtype=np.int64)
        values = self._empty()
        for job in self._jobs:
            i = job[0]
            if given is not None and i in given:
                values[:, i] = given[i]
            elif reuse is not None and reuse.start == start:
                for j in [i] + [d for d, _ in job[1]]:
                    values[:, j] = reuse.values[:, j]
            else:
                _numpy.finish(self._job(job, steps, values))
        values.flags.writeable = False
        return Chunk(start, values, self.prefetching)

    def work(self, chunk: Chunk) -> None:
        """Compute stages of the chunk after `chunk` up to this step's budget, at least one (a stepping
        scheduler's call, see :data:`SPREAD`)."""
        with self._lock:
            start, generation = chunk.stop, self._generation
            nxt = self._next
            if nxt is None or nxt.start != start or nxt.generation != generation:
                self._next = _Next(start, generation, self._empty())
                return  # (this step allocates the next chunk, the next one its steps, and then the stages: after
                # a while of other work every new piece of code runs several times slower, so the first steps
                # of a refill do little each)
            if nxt.steps is None:
                nxt.arange()
                return
            clock, costs = time.perf_counter_ns, self._costs
            until = clock() + self._budget
            with _numpy.quiet():
                while nxt.done < len(self._jobs):
                    k = len(nxt.costs)
                    if nxt.job is None:
                        nxt.job = self._job(self._jobs[nxt.done], nxt.arange(), nxt.values)
                    t0 = clock()
                    try:
                        next(nxt.job)
                    except StopIteration:
                        nxt.job, nxt.done = None, nxt.done + 1
                    t1 = clock()
                    nxt.costs.append(t1 - t0)
                    if t1 + (costs[k + 1] if k + 1 < len(costs) else 0) > until:
                        break  # (the next stage would not fit in this step's budget)
            if nxt.done == len(self._jobs):
                self._costs = nxt.costs
                self._budget = max(BUDGET_NS, sum(nxt.costs) // max(self.chunk // SPREAD, 1))
                chunk.prefetch_at = chunk.stop - chunk.start  # ready: no more calls for this chunk

    def _take(self, step: int) -> Chunk | None:
        """The chunk prefetched for `step`, finished here if some columns are left."""
        nxt = self._next
        if nxt is None or nxt.start != step or nxt.generation != self._generation:
            return None  # (a reader's jump elsewhere keeps the stepping thread's next chunk)
        self._next = None
        if nxt.job is not None:
            _numpy.finish(nxt.job)
            nxt.done += 1
        for job in self._jobs[nxt.done:]:
            _numpy.finish(self._job(job, nxt.arange(), nxt.values))
        nxt.values.flags.writeable = False
        return Chunk(step, nxt.values, self.prefetching)

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
            self._next = None
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
