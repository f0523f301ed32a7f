"""Combinators: schedules built from schedules (join, warmup, cycle, clip, shift, noise).

The arithmetic nodes (``s + x``, ``s * x``) live in :mod:`lrsched._core`, below
this module, so the base class never imports from here.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Hashable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from lrsched._core import (
    Leaf,
    Leaves,
    Schedule,
    ScheduleError,
    check,
    check_choice,
    check_length,
    check_non_negative,
    check_positive,
    check_sorted,
    children,
    fail,
    need_schedule,
    precise_field,
    schedule_class,
    static_field,
    time_field,
)
from lrsched._numerics import (
    INT32_MAX,
    anneal,
    as_float,
    as_number,
    common,
    cycle_index,
    cycle_start,
    float_dtype,
    int_dtype,
    int_power,
    phase,
)
from lrsched._tree import stack, structure_key

__all__ = ["join", "warmup", "cycle", "clip", "shift", "noise",
           "Join", "Warmup", "Cycle", "Clip", "Shift", "Noise"]


# ---------------------------------------------------------------------- join


@schedule_class("join")
class Join(Schedule):
    """Pieces stacked by pytree structure: ``groups[g]`` holds every piece of one
    structure with a leading axis; ``piece_group[i]``/``piece_index[i]`` locate piece i."""

    groups: tuple[Schedule, ...]
    boundaries: Leaves = time_field()
    piece_group: tuple[int, ...] = static_field(default=())
    piece_index: tuple[int, ...] = static_field(default=())

    def validate(self):
        check_sorted(self, "boundaries")
        check_length(self, "boundaries", len(self.piece_group) - 1, "one fewer than the schedules")
        check_non_negative(self, "boundaries")

    def pieces(self) -> list[Schedule]:
        """The joined schedules, one by one."""
        return [jax.tree.map(lambda x, i=i: x[i], self.groups[g])
                for g, i in zip(self.piece_group, self.piece_index)]

    def config_args(self):
        return {"schedules": self.pieces(), "boundaries": self.boundaries}

    @classmethod
    def from_config_args(cls, args):
        return join(**args)

    def compute(self, t):
        bounds = as_number(self.boundaries)
        piece = jnp.sum(bounds <= t[..., None], axis=-1) if bounds.shape[-1] else jnp.zeros(t.shape, jnp.int32)
        t, bounds = common(t, bounds)
        padded = jnp.concatenate([jnp.zeros((1,), bounds.dtype), bounds])
        local = (t - jnp.take(padded, piece)).reshape(-1)
        which_group = jnp.asarray(np.asarray(self.piece_group, np.int32))[piece].reshape(-1)
        index = jnp.asarray(np.asarray(self.piece_index, np.int32))[piece].reshape(-1)
        out = None
        for g, group in enumerate(self.groups):
            def one(step, i, group=group):
                return jax.tree.map(lambda x: jnp.asarray(x)[i], group)(step)

            values = jax.vmap(one)(local, jnp.where(which_group == g, index, 0))
            out = values if out is None else jnp.where(which_group == g, values, out)
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
    schedules = list(schedules)
    if not schedules:
        raise ScheduleError("join(schedules=[]): schedules must be non-empty. Pass at least one schedule")
    for i, s in enumerate(schedules):
        need_schedule(f"join(schedules[{i}])", s)
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
    bounds = jnp.asarray(boundaries) if traced else np.asarray(boundaries)
    if bounds.size == 0:  # no boundaries (one piece): keep integer steps
        bounds = np.zeros((0,), np.int64)
    if bounds.ndim == 0:
        bounds = bounds.reshape(1)
    return Join(groups, bounds, tuple(piece_group), tuple(piece_index))


# -------------------------------------------------------------------- warmup


@schedule_class("warmup")
class Warmup(Schedule):
    schedule: Schedule
    steps: Leaf = time_field()
    init_value: Leaf = 0.0
    kind: str = static_field(default="linear")

    def validate(self):
        check_non_negative(self, "steps")
        check_choice(self, "kind", ("linear", "cosine", "constant"))

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
    schedule: Schedule
    period: Leaf = time_field()
    period_mul: Leaf = 1
    decay: Leaf = precise_field(default=1.0)
    limit: Leaf | None = None
    stretch: bool = static_field(default=True)
    end_value: Leaf | None = None

    def validate(self):
        check_positive(self, "period")
        check(self, "limit", lambda a: (a >= 1) & (a == np.floor(a)), "a whole number of cycles >= 1",
              "Pass e.g. limit=3, or None to cycle forever")
        check(self, "period_mul", lambda a: a >= 1, ">= 1", "Pass 1 for equal periods or e.g. 2 to double them")
        check_non_negative(self, "decay")
        if self.end_value is not None and self.limit is None:
            fail(self, "end_value", "None when limit is None (it is the value after the last cycle)",
                 "Pass limit=..., or leave end_value out")

    def _stretched_values(self, local: jax.Array, k: jax.Array, mul: jax.Array) -> jax.Array:
        """``schedule(local / mul**k)``: exactly, by scaling the schedule's durations by the
        (integer) factor ``mul**k`` where it can; otherwise from the float step."""
        mul_f, k_f = as_float(mul), as_float(k)
        if not self.schedule.can_stretch():
            return self.schedule(jnp.where(mul_f == 1, as_float(local), as_float(local) / mul_f**k_f))
        mul, k = common(mul, k)
        if jnp.issubdtype(mul.dtype, jnp.integer):
            # The stretched durations must fit the step integers. Where the longest would not (cycles
            # longer than ~2**31 steps in int32), the largest factor that fits is used and the step is
            # scaled to it: one rounding of the step, as precise as a float32 step would be.
            top = float(INT32_MAX) if int_dtype() == np.int32 else 2.0**62
            longest = max((jnp.max(jnp.abs(as_float(v))) for v in _time_leaves(self.schedule)),
                          default=jnp.zeros((), float_dtype()))
            cap = jnp.floor(top / jnp.maximum(longest, 1.0))
            true = mul_f**k_f
            big = true > cap
            factor = jnp.where(big, cap.astype(k.dtype), jnp.power(mul, jnp.where(big, 0, k)))
            local = jnp.where(big, jnp.round(as_float(local) * (cap / true)).astype(local.dtype), local)
        else:
            factor = mul**k
        values = jax.vmap(lambda f, step: self.schedule.stretched(f)(step))(factor.reshape(-1), local.reshape(-1))
        return values.reshape(local.shape)

    def compute(self, t):
        t, period, mul = common(t, as_number(self.period), as_number(self.period_mul))
        k, begin = cycle_index(t, period, mul)
        last = k
        if self.limit is not None:
            last = jnp.minimum(k, as_number(self.limit).astype(k.dtype) - 1)
            begin = cycle_start(last, period, mul)[0]
        local = t - begin
        if self.stretch:  # cycle k plays the schedule slowed down by mul**k
            inner = self._stretched_values(local, last, mul)
        else:
            inner = self.schedule(local)
        value = int_power(self.decay, last, self.low("decay")) * inner
        if self.end_value is not None and self.limit is not None:
            value = jnp.where(k >= as_number(self.limit).astype(k.dtype), as_float(self.end_value), value)
        return value


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
    schedule: Schedule
    min_value: Leaf | None = None
    max_value: Leaf | None = None

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
    schedule: Schedule
    steps: Leaf = time_field()

    def compute(self, t):
        t, steps = common(t, as_number(self.steps))
        return self.schedule(t - steps)


def shift(schedule: Schedule, steps: Leaf) -> Shift:
    r"""Delay a schedule by `steps` (negative: advance it).

    .. math:: v(t) = s(\max(t - k, 0))

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


@schedule_class("noise")
class Noise(Schedule):
    stretchable = False  # keyed by the step itself

    schedule: Schedule
    pct: Leaf
    seed: Leaf = 0
    kind: str = static_field(default="normal")
    start: Leaf = 0
    end: Leaf | None = None

    def validate(self):
        check(self, "pct", lambda a: (a >= 0) & (a < 1), "in [0, 1)", "Pass a fraction such as 0.67")
        check_choice(self, "kind", ("normal", "uniform"))
        check_non_negative(self, "start")

    def _draw(self, t: jax.Array) -> jax.Array:
        step = jnp.floor(t).astype(int_dtype()) if jnp.issubdtype(t.dtype, jnp.floating) else t
        pct = as_float(self.pct)
        key = jax.random.key(jnp.asarray(self.seed, jnp.uint32))
        if step.dtype.itemsize > 4:  # both 32-bit halves: no repeat every 2**32 steps
            low, high = (step & 0xFFFFFFFF).astype(jnp.uint32), (step >> 32).astype(jnp.uint32)
        else:
            low, high = step.astype(jnp.uint32), jnp.zeros((), jnp.uint32)
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

    def compute(self, t):
        flat = t.reshape(-1)
        draws = jax.vmap(self._draw)(flat).reshape(t.shape)
        inside = t >= as_number(self.start)
        if self.end is not None:
            inside = inside & (t < as_number(self.end))
        return self.schedule(t) * jnp.where(inside, 1.0 + draws, 1.0)


def noise(schedule: Schedule, pct: Leaf, seed: Leaf = 0, kind: str = "normal", start: Leaf = 0,
          end: Leaf | None = None) -> Noise:
    r"""Reproducible multiplicative noise (timm's ``noise_pct``), keyed by step and seed.

    .. math:: v(t) = s(t)\,(1 + n_t)

    for ``start <= t < end``, with ``n_t`` drawn from ``fold_in(key(seed), t)``:
    a standard normal truncated to ``(-pct, pct)`` (``kind="normal"``, the
    distribution timm's resampling loop gives) or uniform in ``(-pct, pct)``.
    The same step always gets the same noise, in float32 and under x64 alike
    (the draw is made in float32, then widened), so the torch bridge's float64
    tables and a JAX float32 evaluation agree; the draws are JAX's, not torch's.

    Args:
      schedule: the schedule to perturb.
      pct: the bound of the relative noise, in [0, 1).
      seed: the random seed (a leaf: a sweep may vary it).
      kind: "normal" or "uniform".
      start: the first noisy step.
      end: the first step without noise again, or None (noise until the end).

    Returns:
      A :class:`Noise`.

    Examples:
      >>> import lrsched
      >>> s = lrsched.noise(lrsched.constant(1.0), pct=0.1, seed=3)
      >>> bool(abs(lrsched.evaluate(s, 100) - 1.0).max() < 0.1)
      True
    """
    need_schedule("noise(schedule)", schedule)
    return Noise(schedule, pct, seed, kind, start, end)
