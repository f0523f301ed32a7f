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
whole column), a few per step as planned from the last chunk's times (see :data:`SPREAD`), so no single
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

    def warm(self, steps: np.ndarray) -> None:
        """Run the column's code once at `steps`, the values discarded, the column unchanged (see
        :data:`WARM_STEPS`). By default nothing."""


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

    def warm(self, steps: np.ndarray) -> None:
        """The numpy evaluator once at `steps` (a JAX one would compile for their shape). Unlike :meth:`stages`,
        an error keeps the evaluator: a warm-up must never change what the column does; a chunk that reaches
        such steps evaluates them, and falls back or raises, in its own time."""
        if self._numpy is not None:
            try:
                _numpy.finish(self._numpy.stages(steps, nonnegative=True))
            except Exception:
                pass


def _numpy_column(column: Column) -> ScheduleColumn | None:
    """`column` when a numpy evaluator computes it (in stages, its config readable for proportions and
    families), else None."""
    return column if isinstance(column, ScheduleColumn) and column.numpy else None


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
#: :class:`lrsched_torch._numpy.Evaluator`; a JAX column whole), planned from the time each stage took in the last
#: two chunks (an evaluation is the same sequence of stages every chunk; the lesser of a stage's two times, since
#: the machine's slow spells only ever lengthen one: a stage caught by a 100 ms pause would otherwise plan the
#: whole next refill into one step): the k-th step that works runs stages until their planned time reaches k
#: shares, a share being the planned total over one step in :data:`SPREAD` of the chunk (at least
#: :data:`BUDGET_NS`), and always one. So a chunk's refill takes one step in SPREAD plus a few
#: (0.6%: a p99 step is never one of them), each about one share or one stage: a cosine's 4,096 steps (about 150
#: us of numpy in 20 stages) in about 20 steps of 5-10 us. The first chunk computed ahead runs as many stages in each
#: of those steps, counted in the chunk computed when the table was first read (its times are a first run's: a
#: JAX compile, code run for the first time); a table without a plan, as one pickled by an older version, runs
#: stages while the clock stays within BUDGET_NS. Short work steps are what keeps the worst step down: on a shared
#: machine everything now and then runs several times slower for a fraction of a millisecond, and a step that
#: works then is slowed in proportion. A plan, not the clock, decides how many stages a step runs: a stage
#: slowed that way does not cut its step short and so add steps that work.
BUDGET_NS = 3_000
#: Why 176: the steps that work must stay well under 1% (with room for the machine's own slow steps) for the p99
#: step to be a plain one, and be as many as that allows, since the worst of them scales with their length.
SPREAD = 176
#: Stages per numpy evaluation a chunk allows for (most take 10-50): the chunk grows with the number of
#: distinct schedules so their stages fit in the steps from a quarter into it to its end.
STAGES = 40
#: Steps at which each numpy evaluation of a table runs once when the table is first read (values discarded):
#: the branches later chunks take (a step decay past its table of powers, the last phase of a one-cycle) run
#: their code for the first time there, not in a step. After minutes of other work, numpy code that a process
#: has not yet run takes about ten times as long the first time: a StepLR's first refill past 16 decays took
#: 0.4-2.9 ms in one step (``benchmarks/RESULTS.md``).
WARM_STEPS = (2**16, 2**20, 2**24, 2**31 - 1)


def _count(stages: Generator[None, None, None]) -> int:
    """Run `stages` to the end (floating-point warnings off); how many calls that took (as :meth:`Table.work`
    counts stages: each yield, and the last call)."""
    with _numpy.quiet():
        return 1 + sum(1 for _ in stages)


#: One evaluation per chunk: (column, [(column scaled from it, factor)], [columns of its family]): with the last
#: list non-empty (the column first), the columns listed are one family's, computed from weights they share (see
#: :func:`lrsched_torch._numpy.family`).
Job = tuple[int, list[tuple[int, float]], list[int]]


class _Next:
    """The chunk after the current one (its `steps`), computed a few stages per step: `done` evaluations (jobs)
    finished, the next one's stages in `job` (a generator, once started), `costs` the time each stage so far
    took (nanoseconds), `calls` the steps that ran stages, `planned` those stages' time in the last chunk."""

    __slots__ = ("start", "generation", "values", "steps", "done", "job", "costs", "calls", "planned")

    def __init__(self, start: int, generation: int, values: np.ndarray) -> None:
        self.start, self.generation, self.values, self.done = start, generation, values, 0
        self.steps: np.ndarray | None = None
        self.job: Generator[None, None, None] | None = None
        self.costs: list[int] = []
        self.calls = self.planned = 0

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
    each chunk on, and every such call computes stages of the next chunk, as many as
    planned from the last chunk's times (see :data:`SPREAD`; a stage: about one array operation of a numpy column,
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
            staged = sum(1 for i, *_ in self._jobs if _numpy_column(self.columns[i]) is not None)
            whole = len(self._jobs) - staged
            chunk = max(JAX_CHUNK if whole else NUMPY_CHUNK, 256 * whole + 2 * STAGES * staged)
        if int(chunk) < 1:
            raise ValueError(f"chunk={chunk}: the number of steps per chunk must be >= 1")
        self.chunk = int(chunk)
        self._share = BUDGET_NS  # nanoseconds of planned work per step (see SPREAD)
        self._costs: list[int] = []  # each stage's planned time (see SPREAD)
        self._measured: list[int] = []  # each stage's time in the last chunk computed ahead
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

    def _plan(self) -> list[Job]:
        """Evaluations per chunk (see :data:`Job`). A numpy schedule proportional to an earlier one (the same
        schedule for another group's lr) is a multiplication, not an evaluation; schedules of one family (see
        :func:`lrsched_torch._numpy.family`: torch's per-group ``CosineAnnealingLR`` with an ``eta_min``, a
        one-cycle's lr and momentum) share their weights."""
        jobs: list[Job] = []
        families: dict[Any, int] = {}  # a family's key: its job
        for j, column in enumerate(self.columns):
            mine = _numpy_column(column)
            if mine is not None:
                for i, scaled, _ in jobs[:8]:
                    source = _numpy_column(self.columns[i])
                    if source is not None:
                        r = _numpy.proportion(source.config, mine.config)
                        if r is not None:
                            scaled.append((j, r))
                            break
                else:
                    key = _numpy.family(mine.config)
                    if key in families:
                        i, _, shared = jobs[families[key]]
                        shared.extend([i, j] if not shared else [j])
                        continue
                    if key is not None:
                        families[key] = len(jobs)
                    jobs.append((j, [], []))
                continue
            jobs.append((j, [], []))
        return jobs

    def _job(self, job: Job, steps: np.ndarray, values: np.ndarray) -> Generator[None, None, None]:
        """The columns of `job` at `steps` into `values`, in stages: its evaluation's (or its family's weights,
        then each member's values from them), then a product per column proportional to it."""
        i, scaled, shared = job
        column = values[:, i]
        if shared:
            members: Any = self.columns  # (ScheduleColumns: a family's members have configs)
            try:
                weights = yield from _numpy.family_weights(members[i].config, steps)
            except _numpy.ERRORS:
                weights = None  # (a config the checks let through that the evaluator cannot read: each alone)
            for j in shared:
                yield
                out = values[:, j]
                if weights is None:
                    out[:] = yield from self.columns[j].stages(steps)
                else:
                    yield from _numpy.family_fill(members[j].config, weights, out)
        else:
            column[:] = yield from self.columns[i].stages(steps)
        for j, ratio in scaled:
            yield
            np.multiply(column, ratio, out=values[:, j])  # (a column of a column-major array: contiguous)

    def __getstate__(self) -> dict[str, Any]:  # copy.deepcopy and pickle: no lock, no partial chunk
        state = dict(self.__dict__)
        del state["_lock"]
        state["_next"] = None
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self.__dict__.pop("_budget", None)  # (a table pickled before the plan: a budget of time per step)
        self.__dict__.setdefault("_share", BUDGET_NS)  # (... or before the pace existed)
        self.__dict__.setdefault("_costs", [])
        self.__dict__.setdefault("_measured", [])
        self._lock = threading.Lock()

    def _compute(self, start: int, reuse: Chunk | None = None, given: Mapping[int, np.ndarray] | None = None
                 ) -> Chunk:
        steps = np.arange(start, start + self.chunk, dtype=np.int64)
        values = self._empty()
        stages: int | None = 0 if not self._costs else None  # (the first: the first chunk ahead's plan)
        for job in self._jobs:
            i = job[0]
            if given is not None and i in given:
                values[:, i] = given[i]
                stages = None
            elif reuse is not None and reuse.start == start:
                for j in [i] + [d for d, _ in job[1]] + job[2]:
                    values[:, j] = reuse.values[:, j]
                stages = None
            else:
                n = _count(self._job(job, steps, values))
                stages = None if stages is None else stages + n
        if stages is not None:
            self._pace_evenly(stages)
            self._warm()
        values.flags.writeable = False
        return Chunk(start, values, self.prefetching)

    def _warm(self) -> None:
        """Run each evaluation once at :data:`WARM_STEPS` (see there; a family's or a proportional column's own
        operations are its first member's last ones, run with the chunk)."""
        steps = np.asarray(WARM_STEPS, np.int64)
        for i, *_ in self._jobs:
            self.columns[i].warm(steps)

    def work(self, chunk: Chunk) -> None:
        """Compute stages of the chunk after `chunk`, this step's share of them, at least one (a stepping
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
            clock, costs, jobs = time.perf_counter_ns, self._costs, len(self._jobs)
            with _numpy.quiet():
                if costs:  # planned: stages until their time in the last chunk reaches this step's quota
                    share = self._share
                    nxt.calls += 1
                    quota = nxt.calls * share
                    while nxt.done < jobs:
                        k = len(nxt.costs)
                        self._stage(nxt, clock)
                        nxt.planned += costs[k] if k < len(costs) else share  # (a stage the last chunk lacked)
                        if nxt.planned + (costs[k + 1] if k + 1 < len(costs) else share) > quota:
                            break
                else:  # no stage times (a table pickled by an older version): the clock, within BUDGET_NS
                    until = clock() + BUDGET_NS
                    while nxt.done < jobs and self._stage(nxt, clock) < until:
                        pass
            if nxt.done == jobs:
                self._pace(nxt.costs)
                chunk.prefetch_at = chunk.stop - chunk.start  # ready: no more calls for this chunk

    def _pace(self, costs: list[int]) -> None:
        """Plan the next chunk's work from the time each stage of this one and the last took, the lesser of the
        two (see :data:`SPREAD`; this one's alone where the stages differ in number: a data-dependent branch)."""
        last, self._measured = self._measured, costs
        if len(last) == len(costs):
            costs = [min(a, b) for a, b in zip(costs, last)]
        self._costs = costs
        self._share = max(BUDGET_NS, sum(costs) // max(self.chunk // SPREAD, 1))

    def _pace_evenly(self, stages: int) -> None:
        """Plan the first chunk ahead from the number of stages of the chunk computed when the table was first
        read, not from their times (a first run's: a JAX compile, code run for the first time): as many stages in
        each of one step in SPREAD."""
        self._costs = [1] * stages
        self._share = -(-stages // max(self.chunk // SPREAD, 1))

    def _stage(self, nxt: _Next, clock: Any) -> int:
        """Run the next chunk's next stage, record its time; the clock after it."""
        if nxt.job is None:
            nxt.job = self._job(self._jobs[nxt.done], nxt.arange(), nxt.values)
        t0 = clock()
        try:
            next(nxt.job)
        except StopIteration:
            nxt.job, nxt.done = None, nxt.done + 1
        t1: int = clock()
        nxt.costs.append(t1 - t0)
        return t1

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
