"""Combinators: schedules built from schedules (join, warmup, cycle, clip, shift, noise).

The arithmetic nodes (``s + x``, ``s * x``) live in :mod:`lrsched._core`, below
this module, so the base class never imports from here.
"""

from __future__ import annotations

import dataclasses
import functools
from typing import Any, Hashable, Iterable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from lrsched._core import (
    Leaf,
    Leaves,
    Schedule,
    ScheduleError,
    batch_shape,
    check,
    check_length,
    check_non_negative,
    check_positive,
    check_sorted,
    children,
    choice_field,
    concrete,
    count_field,
    fail,
    flag_field,
    need_schedule,
    numbers_field,
    precise_field,
    schedule_class,
    schedule_field,
    schedules_field,
    stackable,
    static_field,
    time_field,
)
from lrsched._numerics import (
    INT32_MAX,
    Case,
    Known,
    anneal,
    as_float,
    as_number,
    common,
    computed_once,
    count_reached,
    cycle_index,
    cycle_start,
    cycle_starts,
    float_dtype,
    int_dtype,
    int_power,
    largest_count,
    latest_start,
    phase,
    pick,
    power_of_two,
    shifted,
    split,
    unit_power,
)
from lrsched._tree import stack, structure_key

__all__ = ["join", "warmup", "cycle", "clip", "shift", "noise",
           "Join", "Warmup", "Cycle", "Clip", "Shift", "Noise"]


# ---------------------------------------------------------------------- join


@schedule_class("join")
class Join(Schedule):
    """Pieces stacked by pytree structure: ``groups[g]`` holds every piece of one
    structure with a leading axis; ``piece_group[i]``/``piece_index[i]`` locate piece i."""

    groups: tuple[Schedule, ...] = schedules_field(stacked=True)
    boundaries: Leaves = numbers_field(time=True)
    piece_group: tuple[int, ...] = static_field(default=())
    piece_index: tuple[int, ...] = static_field(default=())

    def validate(self):
        check_sorted(self, "boundaries")
        check_length(self, "boundaries", len(self.piece_group) - 1, "one fewer than the schedules")
        check_non_negative(self, "boundaries")

    def pieces(self) -> list[Schedule]:
        """The joined schedules, one by one (each holding the batch when the join holds one)."""
        batch = (slice(None),) * (np.ndim(self.boundaries) - 1)  # type: ignore[arg-type]  # sweep axes first
        return [jax.tree.map(lambda x, i=i: x[batch + (i,)], self.groups[g])
                for g, i in zip(self.piece_group, self.piece_index)]

    def config_args(self):
        return {"schedules": self.pieces(), "boundaries": self.boundaries}

    @classmethod
    def from_config_args(cls, args):
        bounds = np.asarray(args["boundaries"])
        if bounds.ndim <= 1:
            return join(**args)
        # a batch of joins (the config of a sweep): each entry rebuilt, then stacked as lrsched.sweep does
        batch = bounds.shape[:-1]
        entries = [join([jax.tree.map(lambda x, i=i: np.asarray(x)[i], s) for s in args["schedules"]], bounds[i])
                   for i in np.ndindex(batch)]
        return jax.tree.map(lambda x: x.reshape(batch + x.shape[1:]), stack(entries))

    def compute(self, t):
        lead = np.shape(self.boundaries)[:-1]
        if lead:  # a batch of joins (lrsched.sweep.stack) called without vmap: entry by entry, as vmap does
            shape = jnp.broadcast_shapes(lead, jnp.shape(t))  # (numpy's rule: the batch is the values' last axes)
            k, n = len(lead), len(shape)
            steps = jnp.moveaxis(jnp.broadcast_to(t, shape), tuple(range(n - k, n)), tuple(range(k)))
            entry = Join.compute
            for _ in range(k):
                entry = jax.vmap(entry)
            return jnp.moveaxis(entry(self, steps), tuple(range(k)), tuple(range(n - k, n)))
        piece = count_reached(self.boundaries, t)  # the active piece: memory O(steps) whatever the pieces
        t, bounds = common(t, as_number(self.boundaries))
        if bounds.shape[-1]:
            start = jnp.where(piece > 0, pick(bounds, piece - 1), jnp.zeros((), t.dtype))
            t = t - start
        local = t.reshape(-1)
        piece = piece.reshape(-1)
        if len(self.groups) == 1:  # one structure: piece i is entry i of the stack
            which_group, index = jnp.zeros_like(piece), piece
        else:
            which_group = pick(np.asarray(self.piece_group, np.int32), piece)
            index = pick(np.asarray(self.piece_index, np.int32), piece)
        out = None
        for g, group in enumerate(self.groups):
            def one(step, i, group=group):  # the active piece's numbers, read per step
                return jax.tree.map(lambda x: pick(jnp.moveaxis(jnp.asarray(x), 0, -1), i), group)(step)

            mine = which_group == g
            values = jax.vmap(one)(local, index if len(self.groups) == 1 else jnp.where(mine, index, 0))
            out = values if out is None else jnp.where(mine, values, out)
        assert out is not None
        return out.reshape(t.shape)


def join(schedules: Sequence[Schedule], boundaries: Leaves) -> Join:
    r"""Run ``schedules[i]`` from ``boundaries[i-1]`` (0 for the first) on, at its local step.

    .. math:: v(t) = s_i(t - b_{i-1}),\quad b_{i-1} \le t < b_i

    Boundaries are leaves (vmappable). Pieces of the same pytree structure are
    stacked (``lrsched._tree``) and only the active one is evaluated, so graph
    size and compile time do not grow with the number of pieces (unlike optax's
    ``join_schedules``).

    Args:
      schedules: a non-empty sequence of Schedules.
      boundaries: ``len(schedules) - 1`` non-negative steps in non-decreasing order.

    Returns:
      A :class:`Join`.

    Examples:
      >>> import lrsched
      >>> s = lrsched.join([lrsched.linear(0.0, 1.0, 2), lrsched.linear(1.0, 0.0, 2)], [2])
      >>> lrsched.evaluate(s, 5)
      array([0. , 0.5, 1. , 0.5, 0. ], dtype=float32)
    """
    if isinstance(schedules, (Schedule, str)) or not isinstance(schedules, Iterable):
        raise ScheduleError(f"join(schedules): expected a list of lrsched Schedules; got {type(schedules).__name__}. "
                            "Pass e.g. [lrsched.linear(0.0, 0.1, 100), lrsched.cosine(0.1, 900)]",
                            where="join", field="schedules", value=schedules)
    schedules = list(schedules)
    if not schedules:
        raise ScheduleError("join(schedules=[]): schedules must be non-empty. Pass at least one schedule")
    for i, s in enumerate(schedules):
        need_schedule(f"join(schedules[{i}])", s)
        if batch_shape(s):  # (its pieces are stacked along their own axis: a batch inside one is no piece)
            raise ScheduleError(
                f"join(schedules[{i}]={s!r}): the piece is a batch of {batch_shape(s)} schedules (its numbers are "
                "arrays), and a join's pieces are single schedules. Build one join per configuration and stack "
                "them (lrsched.sweep.stack), or build the join inside jax.vmap",
                where="join", field="schedules", value=s)
    keys: list[Hashable] = []
    members: list[list[Schedule]] = []
    piece_group, piece_index = [], []
    for s in schedules:
        key = structure_key(s)
        if key not in keys:
            keys.append(key)
            members.append([])
        g = keys.index(key)
        piece_group.append(g)
        piece_index.append(len(members[g]))
        members[g].append(s)
    groups = tuple(stack(m) for m in members)
    traced = any(isinstance(b, jax.core.Tracer) for b in jax.tree.leaves(boundaries))
    bounds = jnp.asarray(boundaries) if traced else np.asarray(stackable(boundaries))
    if bounds.size == 0:  # no boundaries (one piece): keep integer steps
        bounds = np.zeros((0,), np.int64)
    if bounds.ndim == 0:
        bounds = bounds.reshape(1)
    return Join(groups, bounds, tuple(piece_group), tuple(piece_index))


# -------------------------------------------------------------------- warmup


@schedule_class("warmup")
class Warmup(Schedule):
    schedule: Schedule = schedule_field()
    steps: Leaf = time_field()
    init_value: Leaf = 0.0
    kind: str = choice_field("linear", "cosine", "constant", default="linear")

    def validate(self):
        check_non_negative(self, "steps")

    def compute(self, t):
        t, steps = common(t, as_number(self.steps))
        after = self.schedule(t - steps)  # equals schedule(0) during the warmup
        done, left = phase(t, steps)
        init = as_float(self.init_value)
        if self.kind == "linear":
            ramp = init * left + after * done
        elif self.kind == "cosine":  # both weights direct: a warmup from a tiny rate keeps it exactly
            ramp = anneal("cos", init, after, done, left)
        else:
            ramp = jnp.broadcast_to(init, after.shape)
        return jnp.where(t < steps, ramp, after)


def warmup(schedule: Schedule, steps: Leaf, init_value: Leaf = 0.0, kind: str = "linear") -> Warmup:
    r"""Prefix `schedule` with a warmup of `steps` steps ending at ``schedule(0)``.

    .. math:: v(t) = \begin{cases} w(t) & t < W \\ s(t - W) & t \ge W \end{cases}

    where ``w`` goes from `init_value` to ``s(0)``: ``"linear"``
    (``v_0 + (s(0) - v_0) t / W``), ``"cosine"`` (half-cosine ease-in), or
    ``"constant"`` (hold `init_value`, like torch's ``ConstantLR``).

    Args:
      schedule: the schedule after the warmup (it starts at its own step 0).
      steps: the warmup length ``W`` (>= 0).
      init_value: the value at step 0.
      kind: "linear", "cosine" or "constant".

    Returns:
      A :class:`Warmup`.

    Examples:
      >>> import lrsched
      >>> lrsched.evaluate(lrsched.warmup(lrsched.constant(1.0), steps=4), 6)
      array([0.  , 0.25, 0.5 , 0.75, 1.  , 1.  ], dtype=float32)
    """
    need_schedule("warmup(schedule)", schedule)
    return Warmup(schedule, steps, init_value, kind)


# --------------------------------------------------------------------- cycle


def _longest_stretch() -> float:
    """The longest duration a cycle stretches a schedule's durations to (they stay step integers); a longer
    one is capped and the step scaled (see ``Cycle._growing_cycles``)."""
    return float(INT32_MAX) if int_dtype() == np.int32 else 2.0**62


def _time_leaves(schedule: Schedule) -> list[Any]:
    """Every duration leaf of `schedule` and of the schedules inside it."""
    out = []
    for f in dataclasses.fields(schedule):
        v = getattr(schedule, f.name)
        if f.metadata.get("time") and v is not None:
            out.append(v)
    for c in children(schedule):
        out.extend(_time_leaves(c))
    return out


@schedule_class("cycle")
class Cycle(Schedule):
    schedule: Schedule = schedule_field()
    period: Leaf = time_field()
    period_mul: Leaf = 1
    decay: Leaf = precise_field(default=1.0)
    limit: Leaf | None = count_field(default=None)
    stretch: bool = flag_field(default=True)
    end_value: Leaf | None = None

    def validate(self):
        check_positive(self, "period")
        check(self, "limit", lambda a: a >= 1, "a whole number of cycles >= 1",
              "Pass e.g. limit=3, or None to cycle forever")
        check(self, "period_mul", lambda a: a >= 1, ">= 1", "Pass 1 for equal periods or e.g. 2 to double them")
        check_non_negative(self, "decay")
        if self.end_value is not None and self.limit is None:
            fail(self, "end_value", "None when limit is None (it is the value after the last cycle)",
                 "Pass limit=..., or leave end_value out")

    def cases(self):
        # equal (period_mul 1) and doubling (2) cycles have code of their own; a decay of 1 costs nothing
        return Case(self.period_mul, (1.0, 2.0)), Case(self.decay, (1.0,), self.low("decay"))

    def compute(self, t, mul_case, decay_case):
        t, period, mul = common(t, as_number(self.period), as_number(self.period_mul))
        limit = None if self.limit is None else as_number(self.limit)
        if not jnp.issubdtype(t.dtype, jnp.integer):
            return self._float_cycles(t, period, mul, limit, decay_case)
        cycles = functools.partial(self._integer_cycles, kind=mul_case.value, decay=decay_case)
        if period.ndim or mul.ndim or (limit is not None and limit.ndim):
            # numbers batched without vmap: element by element (a vmap), each as below
            if limit is None:
                return jnp.vectorize(lambda t, p, m: cycles(t, p, m, None))(t, period, mul)
            return jnp.vectorize(cycles)(t, period, mul, limit)
        return cycles(t, period, mul, limit)

    def _integer_cycles(self, t: jax.Array, period: jax.Array, mul: jax.Array, limit: jax.Array | None,
                        kind: float | None, decay: Known) -> jax.Array:
        """Integer steps, scalar numbers: equal (``kind`` 1), doubling (2) or growing cycles."""
        if kind == 1.0:
            return self._equal_cycles(t, period, limit, decay)
        return self._growing_cycles(t, period, mul, limit, decay, doubling=kind == 2.0)

    def _finish(self, inner: jax.Array, k: jax.Array, last: jax.Array, limit: jax.Array | None,
                decay: Known, most: int | None = None) -> jax.Array:
        """The decay ``d**last`` (nothing computed where d is known to be 1) and the value after the last cycle;
        `most`: the largest cycle index, when known (see :func:`lrsched._numerics.int_power`)."""
        if decay.value == 1.0:
            value = inner * unit_power(decay.leaf, last)
        else:
            value = inner * int_power(self.decay, last, self.low("decay"), most=self._most(most))
        if self.end_value is not None and limit is not None:
            value = jnp.where(k >= limit.astype(k.dtype), as_float(self.end_value), value)
        return value

    def _most(self, most: int | None) -> int | None:
        """The largest cycle index: `most` (None: unknown), or below a concrete `limit`."""
        limit = concrete(self.limit)
        if limit is None or limit.ndim:
            return most
        last = max(int(limit) - 1, 0)
        return last if most is None else min(most, last)

    def _equal_cycles(self, t: jax.Array, period: jax.Array, limit: jax.Array | None, decay: Known) -> jax.Array:
        """Integer steps, every cycle `period` long: an integer division, and the schedule's own time."""
        k, local = split(t, period, non_negative=True)
        last = k
        if limit is not None:
            last = jnp.minimum(k, limit.astype(k.dtype) - 1)
            local = t - last * period
        most = largest_count(k.dtype, concrete(self.period))
        return self._finish(self.schedule(local), k, last, limit, decay, most)

    def _growing_cycles(self, t: jax.Array, period: jax.Array, mul: jax.Array, limit: jax.Array | None,
                        decay: Known, doubling: bool = False) -> jax.Array:
        """Integer steps, cycle ``i`` lasting ``period * mul**i`` (``mul >= 2``): the cycle from the
        table of starts (at most 32 in int32), the schedule stretched by ``mul**i`` exactly.

        ``doubling`` (``mul == 2``, SGDR's usual ``T_mult``) finds the same cycle without
        the table: cycle ``k`` starts at ``period (2**k - 1)``, so ``k`` is the bit length
        of ``t // period + 1`` less one (a count of leading zeros) and the start, the
        factor ``2**k`` and its float are shifts: no search, no gather in the loop over
        the steps (which would make the whole loop scalar on XLA CPU)."""
        starts, size = cycle_starts(period, mul)
        entries = starts.shape[-1]
        most = entries - 1  # the table holds every cycle that starts within the step integer
        if doubling:
            whole, _ = split(t, period, non_negative=True)
            unsigned = jnp.dtype(f"uint{8 * t.dtype.itemsize}")
            bits = 8 * t.dtype.itemsize
            length = bits - jax.lax.clz(whole.astype(unsigned) + unsigned.type(1)).astype(t.dtype)
            k = jnp.minimum(length - 1, (size - 1).astype(t.dtype))
            last = k if limit is None else jnp.minimum(k, limit.astype(k.dtype) - 1)
            power = jnp.left_shift(jnp.ones((), t.dtype), last)  # 2**last: the last cycle's start fits
            local = t - period * (power - 1)
            grown = as_float(power)  # exact: a power of two
        else:
            k = jnp.minimum(count_reached(starts, t) - 1, size - 1).astype(t.dtype)
            last = k if limit is None else jnp.minimum(k, limit.astype(k.dtype) - 1)
            local = t - pick(starts, last)
        if not self.stretch:
            return self._finish(self.schedule(local), k, last, limit, decay, most)
        grow = as_float(mul) ** jnp.arange(entries, dtype=float_dtype())  # mul**i as floats
        if not doubling:
            grown = pick(computed_once(grow), last)
        if not self.schedule.can_stretch():  # the float step (t - start) / mul**i
            # doubling: times 2**-i, the same float as the division (a power of two scales exactly)
            step = as_float(local) * power_of_two(-last) if doubling else as_float(local) / grown
            return self._finish(self.schedule(step), k, last, limit, decay, most)
        # Cycle i plays the schedule with its durations multiplied by mul**i. They must fit the step
        # integers: where the longest would not (cycles longer than ~2**31 steps in int32), the largest
        # factor that fits is used and the step scaled to it (one rounding of the step, as precise as a
        # float32 step would be).
        index = jnp.arange(entries, dtype=mul.dtype)
        if self._stretch_fits():  # known while tracing: every factor fits, nothing to scale
            factor = power if doubling else pick(computed_once(jnp.power(mul, jnp.minimum(index, size - 1))), last)
        else:
            # jnp.maximum, not Python's max: the durations are traced when the schedule is an argument
            durations = (jnp.max(jnp.abs(as_float(v))) for v in _time_leaves(self.schedule))
            longest = functools.reduce(jnp.maximum, durations, jnp.zeros((), float_dtype()))
            # the quotient made low by a few roundings' worth, so the floor never exceeds the exact one (in
            # float32 the integer's top rounds up to 2**31: a cap 1 too large wrapped the stretched step)
            margin = 1.0 - 4.0 * float(np.finfo(float_dtype()).eps)
            cap = jnp.floor(_longest_stretch() / jnp.maximum(longest, 1.0) * margin)
            big = grow > cap
            if doubling:  # the entries of the tables below, computed for this step's cycle
                over = grown > cap
                factor = jnp.where(over, cap.astype(mul.dtype), power)
                scale = jnp.where(over, cap / grown, 1.0)
            else:
                factors = computed_once(jnp.where(big, cap.astype(mul.dtype),
                                                  jnp.power(mul, jnp.where(big, 0, index))))
                scales = computed_once(jnp.where(big, cap / grow, 1.0))
                factor, scale = pick(factors, last), pick(scales, last)
            local = jnp.where(scale < 1, jnp.round(as_float(local) * scale).astype(local.dtype), local)
        values = jax.vmap(lambda f, step: self.schedule.stretched(f)(step))(factor.reshape(-1), local.reshape(-1))
        return self._finish(values.reshape(local.shape), k, last, limit, decay, most)

    def _stretch_fits(self) -> bool:
        """Whether every cycle that starts within the step integer, stretched by its ``period_mul**i``, keeps
        the inner schedule's durations below the limit :meth:`_growing_cycles` scales at (with a margin for
        its float32 comparison). Decided from concrete numbers only (a schedule closed over, or called
        eagerly): False when any is traced or batched, and the general path decides per step."""
        period, mul = concrete(self.period), concrete(self.period_mul)
        found = [concrete(v) for v in _time_leaves(self.schedule)]
        leaves = [v for v in found if v is not None]
        if period is None or mul is None or period.ndim or mul.ndim or len(leaves) < len(found):
            return False
        if not (period >= 1 and mul >= 2 and period == np.floor(period) and mul == np.floor(mul)):
            return False
        longest = max([float(np.max(np.abs(v))) for v in leaves if v.size] + [1.0])
        # an upper bound of cycle_starts' count: cycles whose exact start is within its float test's margin
        reach = latest_start() * (1 + 1e-5)
        top = _longest_stretch() * (1 - 1e-5)
        p, m = int(period), int(mul)
        start, factor = 0, 1
        while start + p * factor <= reach:
            start, factor = start + p * factor, factor * m
        return factor * longest <= top - longest

    def _float_cycles(self, t: jax.Array, period: jax.Array, mul: jax.Array, limit: jax.Array | None,
                      decay: Known) -> jax.Array:
        """Float steps or numbers: the cycle from a float estimate corrected with exact starts."""
        k, begin = cycle_index(t, period, mul)
        last = k
        if limit is not None:
            last = jnp.minimum(k, limit.astype(k.dtype) - 1)
            begin = cycle_start(last, period, mul)[0]
        local = t - begin
        if not self.stretch:
            inner = self.schedule(local)
        else:  # cycle k plays the schedule slowed down by mul**k
            factor = jnp.where(mul == 1, jnp.ones_like(last), mul**last)
            if self.schedule.can_stretch():
                inner = jax.vmap(lambda f, step: self.schedule.stretched(f)(step))(factor.reshape(-1),
                                                                                     local.reshape(-1))
                inner = inner.reshape(local.shape)
            else:
                inner = self.schedule(local / factor)
        return self._finish(inner, k, last, limit, decay)


def cycle(schedule: Schedule, period: Leaf, period_mul: Leaf = 1, decay: Leaf = 1.0,
          limit: Leaf | None = None, stretch: bool = True, end_value: Leaf | None = None) -> Cycle:
    r"""Restart `schedule` every period (SGDR warm restarts, arXiv:1608.03983).

    Cycle ``k`` starts at ``P (m^k - 1) / (m - 1)`` (``k P`` when ``m = 1``),
    lasts ``P m^k`` steps and gives

    .. math:: v(t) = d^k \, s\big((t - \text{start}_k) / m^k\big)

    with ``P = period``, ``m = period_mul``, ``d = decay``: the schedule, written
    for the first period, is stretched over each longer one (SGDR's ``T_mult``).
    ``stretch=False`` keeps its own time (a longer cycle then holds the
    schedule's end value for longer). After `limit` cycles the last cycle goes
    on (a finite schedule holds its end), or, with `end_value`, the value is
    `end_value` from the end of cycle ``limit - 1`` on (timm's ``cycle_limit``).

    Precision: cycle starts are exact integers for every int32 step when
    `period` and `period_mul` are integers. A stretched cycle slows the
    schedule down exactly by multiplying its durations (its ``time_field``
    leaves) by the integer ``m^k`` (:meth:`lrsched.Schedule.stretched`), so a
    cosine's tail keeps full precision in every cycle; a schedule whose time
    cannot be scaled (``noise``, ``one_cycle``, ``cyclic(mode="exp_range")``) is
    given the float step ``(t - start_k) / m^k`` instead.

    Args:
      schedule: the schedule of one cycle, written for the first period.
      period: the first period ``P`` (> 0).
      period_mul: ``m`` (>= 1): each period is ``m`` times the previous one.
      decay: ``d`` (>= 0): cycle ``k`` is scaled by ``d^k``.
      limit: the number of cycles (a whole number >= 1), or None to cycle forever.
      stretch: stretch the schedule over longer periods (else keep its own time).
      end_value: the value after `limit` cycles, or None (the last cycle goes on).

    Returns:
      A :class:`Cycle`.

    Examples:
      >>> import lrsched
      >>> sgdr = lrsched.cycle(lrsched.linear(1.0, 0.0, 2), period=2, period_mul=2)
      >>> lrsched.evaluate(sgdr, 7)
      array([1.  , 0.5 , 1.  , 0.75, 0.5 , 0.25, 1.  ], dtype=float32)
      >>> lrsched.evaluate(lrsched.cycle(lrsched.linear(1.0, 0.5, 2), 2, limit=2, end_value=0.1), 6)
      array([1.  , 0.75, 1.  , 0.75, 0.1 , 0.1 ], dtype=float32)
    """
    need_schedule("cycle(schedule)", schedule)
    return Cycle(schedule, period, period_mul, decay, limit, stretch, end_value)


# ------------------------------------------------------------ clip and shift


@schedule_class("clip")
class Clip(Schedule):
    schedule: Schedule = schedule_field()
    min_value: Leaf | None = None
    max_value: Leaf | None = None

    def validate(self):
        lo, hi = concrete(self.min_value), concrete(self.max_value)
        if lo is not None and hi is not None and not np.all(lo <= hi):
            fail(self, "max_value", f"at least min_value ({lo.tolist()})",
                 "Swap them: min_value is the floor, max_value the ceiling")

    def compute(self, t):
        v = self.schedule(t)
        if self.min_value is not None:
            v = jnp.maximum(v, as_float(self.min_value))
        if self.max_value is not None:
            v = jnp.minimum(v, as_float(self.max_value))
        return v


def clip(schedule: Schedule, min_value: Leaf | None = None, max_value: Leaf | None = None) -> Clip:
    r"""Clamp a schedule to ``[min_value, max_value]`` (either may be None).

    .. math:: v(t) = \min(\max(s(t), lo), hi)

    Args:
      schedule: the schedule to clamp.
      min_value: the floor ``lo``, or None.
      max_value: the ceiling ``hi``, or None.

    Returns:
      A :class:`Clip`.

    Examples:
      >>> import lrsched
      >>> lrsched.evaluate(lrsched.clip(lrsched.linear(0.0, 1.0, 4), 0.3, 0.6), 5)
      array([0.3, 0.3, 0.5, 0.6, 0.6], dtype=float32)
    """
    need_schedule("clip(schedule)", schedule)
    return Clip(schedule, min_value, max_value)


@schedule_class("shift")
class Shift(Schedule):
    schedule: Schedule = schedule_field()
    steps: Leaf = time_field()

    def compute(self, t):
        return self.schedule(shifted(t, self.steps))


def shift(schedule: Schedule, steps: Leaf) -> Shift:
    r"""Delay a schedule by `steps` (negative: advance it).

    .. math:: v(t) = s(\max(t - k, 0))

    On integer steps ``t - k`` is held at the step integer's top where an advance
    (``k < 0``) would pass it (it would wrap to a negative step).

    Args:
      schedule: the schedule to move in time.
      steps: ``k``: the delay (negative: the schedule starts ``-k`` steps in).

    Returns:
      A :class:`Shift`.

    Examples:
      >>> import lrsched
      >>> lrsched.evaluate(lrsched.shift(lrsched.linear(0.0, 1.0, 2), 2), 5)
      array([0. , 0. , 0. , 0.5, 1. ], dtype=float32)
    """
    need_schedule("shift(schedule)", schedule)
    return Shift(schedule, steps)


# ---------------------------------------------------------------------- noise
#
# The "hash" generator: a counter-based draw, one integer hash of (seed, step) per step.
# The hash is MurmurHash3_x86_32 (Austin Appleby, SMHasher, public domain:
# https://github.com/aappleby/smhasher/blob/master/src/MurmurHash3.cpp) of the step's 8 bytes in
# little-endian order (its low 32-bit word, then its high word: zero below 2**32), seeded with `seed`.
# It is 32-bit multiplies, xors, shifts and rotates only, so XLA vectorises it (AVX2 on CPU), and it
# passes SMHasher's avalanche and bias tests. Its top 24 bits become a uniform in (-1, 1).

_M3_C1, _M3_C2 = 0xCC9E2D51, 0x1B873593


def _rotl32(x: jax.Array, r: int) -> jax.Array:
    return (x << r) | (x >> (32 - r))


def _murmur3_block(h: jax.Array, k: jax.Array) -> jax.Array:
    """MurmurHash3_x86_32's body: mix one 32-bit block `k` into the state `h`."""
    k = _rotl32(k * jnp.uint32(_M3_C1), 15) * jnp.uint32(_M3_C2)
    h = _rotl32(h ^ k, 13)
    return h * jnp.uint32(5) + jnp.uint32(0xE6546B64)


def _murmur3_8(seed: jax.Array, low: jax.Array, high: jax.Array) -> jax.Array:
    """MurmurHash3_x86_32 of the 8 bytes ``low | high << 32`` (little-endian), seeded: uint32 in, uint32 out."""
    h = _murmur3_block(_murmur3_block(seed, low), high) ^ jnp.uint32(8)  # the length in bytes
    h = (h ^ (h >> 16)) * jnp.uint32(0x85EBCA6B)  # fmix32
    h = (h ^ (h >> 13)) * jnp.uint32(0xC2B2AE35)
    return h ^ (h >> 16)


def _centred_unit(h: jax.Array) -> jax.Array:
    """The top 24 bits ``k`` of `h` as ``(2k + 1 - 2**24) / 2**24``: float32 in (-1, 1), 2**24 values
    symmetric about 0, never 0 or +-1, each exact (an odd integer below 2**24, scaled by a power of two).
    Converted from int32 (a uint32 -> float conversion does not vectorise)."""
    k = (h >> 8).astype(jnp.int32)
    return (2 * k + (1 - 2**24)).astype(jnp.float32) * jnp.float32(2.0**-24)


#: ``sqrt(2) erfinv(y) = y P(y**2)`` for ``|y| <= erf(1 / sqrt(2))`` (the truncated normal's range for any
#: pct < 1), P of degree 8: the Chebyshev interpolant of ``sqrt(2) erfinv(sqrt(z)) / sqrt(z)`` at 9 nodes on
#: ``z in [0, erf(1/sqrt(2))**2]``, rounded to float32 (lowest degree first). Relative error 3.8e-9 in float64,
#: at most ~2 float32 ulps evaluated in float32 (tests/test_noise.py checks it against scipy's erfinv).
#: XLA's erf_inv is general (a log and two polynomials) and costs about a cosine per step on CPU, which alone
#: would put noise(cosine) at 2x a bare cosine.
_ERFINV_POLY = tuple(np.float32(c) for c in (
    "1.2533141", "0.3281158", "0.18045309", "0.12108452", "0.10583143", "-0.008104238", "0.3286671",
    "-0.43001658", "0.4366388"))

#: ``erf(p / sqrt(2)) = p Q(p**2)`` for ``p`` in [0, 1], Q of degree 6: the Chebyshev interpolant of
#: ``erf(sqrt(w / 2)) / sqrt(w)`` at 7 nodes on ``w in [0, 1]``, rounded to float32. Relative error 1.2e-11
#: in float64, ~2 float32 ulps in float32.
_ERF_POLY = tuple(np.float32(c) for c in (
    "0.7978846", "-0.13298076", "0.0199471", "-0.0023745776", "0.0002306415", "-1.8548804e-05", "1.0745289e-06"))


def _unfused(x: jax.Array) -> jax.Array:
    """`x` (NaN becomes 0) in a form that the compiler cannot fuse with a following add into one
    multiply-add: XLA's CPU code rounds ``a * b + c`` once (an FMA) where constant folding rounds twice."""
    return jnp.where(jnp.isnan(x), jnp.zeros((), x.dtype), x)


def _erf_of_pct(pct: jax.Array) -> jax.Array:
    """``erf(pct / sqrt(2))`` in float32 for pct in [0, 1], the same bits whether pct is known when compiling
    or only at run time. ``lax.erf`` is not: with a constant argument the compiler folds it with the host's
    erf, one ulp away from its own run-time approximation, and a constant pct is common (``jax.jit(s)``)."""
    w = pct * pct
    q = jnp.full_like(pct, _ERF_POLY[-1])
    for c in _ERF_POLY[-2::-1]:
        q = _unfused(q * w) + c
    return pct * q


@functools.partial(jax.jit, static_argnames="uniform")
def _hash_draws(seed: jax.Array, low: jax.Array, high: jax.Array, pct: jax.Array, uniform: bool) -> jax.Array:
    """The "hash" generator's draws in float32 (`pct` float32): uniform ``pct u`` or the standard normal
    truncated to (-pct, pct) by its inverse CDF, ``sqrt(2) erfinv(u erf(pct / sqrt(2)))``, held strictly
    inside (-pct, pct) against rounding.

    Every evaluation draws the same bits: jitted as one unit, so that eager calls round as jitted ones do
    (XLA fuses a multiply and an add into one multiply-add when it compiles them together), and the one
    number that may be a compile-time constant, ``erf(pct)``, computed so that folding it gives the run-time
    bits (:func:`_erf_of_pct`); everything else depends on the step, so it runs compiled."""
    u = _centred_unit(_murmur3_8(seed, low, high))
    # the float32 just below pct, so |n| < pct after rounding; 0 below float32's smallest normal number
    # (1.2e-38, where that product rounds back to pct, and 1 + n would round to 1 anyway)
    inside = jnp.where(pct >= np.finfo(np.float32).tiny, pct * np.float32(1 - 2.0**-24), np.float32(0))
    if uniform:
        n = u * pct
    else:
        y = u * _erf_of_pct(pct)
        z = y * y
        p = jnp.full_like(z, _ERFINV_POLY[-1])
        for c in _ERFINV_POLY[-2::-1]:
            p = p * z + c
        n = y * p
    # a no-op for the uniform (|u pct| rounds below pct), but it also keeps the draw's last multiply from being
    # fused with the caller's ``1 + n`` into a multiply-add, which x64 (where n is widened first) cannot do.
    # Not a clip: where it does not bind (always at pct = 0, where n = 0) the gradient is the draw's own
    return jnp.where(jnp.abs(n) > inside, jnp.copysign(inside, n), n)


@schedule_class("noise")
class Noise(Schedule):
    stretchable = False  # keyed by the step itself

    schedule: Schedule = schedule_field()
    pct: Leaf
    seed: Leaf = count_field(default=0)
    kind: str = choice_field("normal", "uniform", default="normal")
    generator: str = choice_field("hash", "threefry", default="hash", since=(2, "threefry"))
    start: Leaf = 0
    end: Leaf | None = None

    def validate(self):
        check(self, "pct", lambda a: (a >= 0) & (a < 1), "in [0, 1)", "Pass a fraction such as 0.67")
        check(self, "seed", lambda a: (a >= 0) & (a <= 2**32 - 1), "in [0, 2**32 - 1] (a uint32 key)",
              "Pass a non-negative seed below 2**32")
        check_non_negative(self, "start")
        start, end = concrete(self.start), concrete(self.end)
        if start is not None and end is not None and not np.all(end >= start):
            fail(self, "end", f"at least start ({start.tolist()})", "Pass end >= start, or None for no end")

    @staticmethod
    def _halves(t: jax.Array) -> tuple[jax.Array, jax.Array]:
        """The step's low and high 32-bit words as uint32 (high: 0 for 32-bit steps)."""
        step = jnp.floor(t).astype(int_dtype()) if jnp.issubdtype(t.dtype, jnp.floating) else t
        if step.dtype.itemsize > 4:  # both 32-bit halves: no repeat every 2**32 steps
            return (step & 0xFFFFFFFF).astype(jnp.uint32), (step >> 32).astype(jnp.uint32)
        return step.astype(jnp.uint32), jnp.zeros((), jnp.uint32)

    def _draw_threefry(self, t: jax.Array) -> jax.Array:
        """One step's draw with JAX's threefry (the generator of configs saved before format 2)."""
        pct = as_float(self.pct)
        key = jax.random.key(jnp.asarray(self.seed, jnp.uint32))
        low, high = self._halves(t)
        key = jax.random.fold_in(jax.random.fold_in(key, low), high)
        # drawn in float32 whatever the mode, then widened: x64 (and the torch bridge's float64 tables)
        # gets the same draws as the default float32, rounded the same way
        bound = pct.astype(jnp.float32)
        if self.kind == "uniform":
            draw = jax.random.uniform(key, (), jnp.float32, -bound, bound)
        else:
            safe = jnp.where(bound > 0, bound, 1.0)
            draw = jnp.where(bound > 0, jax.random.truncated_normal(key, -safe, safe, (), jnp.float32), 0.0)
        return draw.astype(pct.dtype)

    def _draw_hash(self, t: jax.Array) -> jax.Array:
        """Every step's draw at once, elementwise: MurmurHash3 of (seed, step), then the inverse CDF."""
        pct = as_float(self.pct)
        low, high = self._halves(t)
        # float32 whatever the mode, then widened (as threefry's draws)
        draw = _hash_draws(jnp.asarray(self.seed, jnp.uint32), low, high, pct.astype(jnp.float32),
                           uniform=self.kind == "uniform")
        return draw.astype(pct.dtype)

    def compute(self, t):
        if self.generator == "threefry":
            draws = jax.vmap(self._draw_threefry)(t.reshape(-1)).reshape(t.shape)
        else:
            draws = self._draw_hash(t)
        inside = t >= as_number(self.start)
        if self.end is not None:
            inside = inside & (t < as_number(self.end))
        return self.schedule(t) * jnp.where(inside, 1.0 + draws, 1.0)


def noise(schedule: Schedule, pct: Leaf, seed: Leaf = 0, kind: str = "normal", generator: str = "hash",
          start: Leaf = 0, end: Leaf | None = None) -> Noise:
    r"""Reproducible multiplicative noise (timm's ``noise_pct``), keyed by step and seed.

    .. math::

       v(t) = s(t)\,(1 + n_t), \qquad
       n_t = \sqrt{2}\,\operatorname{erf}^{-1}\!\big(u_t \operatorname{erf}(p / \sqrt{2})\big)
       \ \text{(normal)}, \qquad n_t = p\,u_t \ \text{(uniform)}

    for ``start <= t < end`` (elsewhere ``v(t) = s(t)``), with ``p = pct``: ``n_t`` is a
    standard normal truncated to ``(-pct, pct)`` (``kind="normal"``, the
    distribution timm's resampling loop gives) or uniform in ``(-pct, pct)``,
    always strictly inside, and ``pct=0`` gives exactly ``s(t)``.

    ``generator="hash"`` (the default) draws ``u_t`` in ``(-1, 1)`` from the top 24
    bits of MurmurHash3_x86_32 of the step's 8 little-endian bytes seeded with
    `seed` (steps ``2**32`` apart differ), and ``n_t`` by the inverse CDF above:
    elementwise arithmetic that costs about half a cosine per step on CPU.
    ``generator="threefry"`` draws with JAX's ``jax.random`` from
    ``fold_in(fold_in(key(seed), low32(t)), high32(t))`` (``truncated_normal`` or
    ``uniform``): several times slower, and the generator of every config saved
    before lrsched's config format 2, which loads with it, so saved runs resume
    with their draws. Both are reproducible: the same step always gets the same
    noise, in float32 and under x64 alike (the draw is made in float32, then
    widened), so the torch bridge's float64 tables and a JAX float32 evaluation
    agree. The draws are not timm's torch draws.

    Args:
      schedule: the schedule to perturb.
      pct: the bound of the relative noise, in [0, 1) (checked when concrete; the hash
        generator's inverse CDF is accurate on that range only).
      seed: the random seed, in [0, 2**32) (a leaf: a sweep may vary it).
      kind: "normal" or "uniform".
      generator: "hash" (the default: a counter-based hash, fast) or "threefry"
        (JAX's ``jax.random``: the draws of configs saved before format 2).
      start: the first noisy step.
      end: the first step without noise again, or None (noise until the end).

    Returns:
      A :class:`Noise`.

    Examples:
      >>> import lrsched
      >>> s = lrsched.noise(lrsched.constant(1.0), pct=0.1, seed=3)
      >>> bool(abs(lrsched.evaluate(s, 100) - 1.0).max() < 0.1)
      True
      >>> old = lrsched.noise(lrsched.constant(1.0), pct=0.1, seed=3, generator="threefry")
      >>> bool((lrsched.evaluate(old, 100) != lrsched.evaluate(s, 100)).all())  # other draws, same law
      True
    """
    need_schedule("noise(schedule)", schedule)
    return Noise(schedule, pct, seed, kind, generator, start, end)
