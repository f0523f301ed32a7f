"""Combinators: schedules built from schedules (join, warmup, cycle, arithmetic)."""

from __future__ import annotations

from typing import Any, Sequence

import jax
import jax.numpy as jnp
import numpy as np

from lrsched._core import (
    Schedule,
    ScheduleError,
    as_float,
    as_number,
    check,
    check_choice,
    check_length,
    check_non_negative,
    check_positive,
    check_sorted,
    common,
    concrete,
    cos_anneal,
    int_dtype,
    phase,
    schedule_class,
    split,
    static_field,
)

__all__ = ["join", "warmup", "cycle", "clip", "shift", "add", "mul",
           "Join", "Warmup", "Cycle", "Clip", "Shift", "Add", "Mul"]

Number = Any


def _need_schedule(where: str, s: Any) -> None:
    if not isinstance(s, Schedule):
        raise ScheduleError(
            f"{where}: expected an lrsched Schedule; got {type(s).__name__}. "
            "Build one with a factory such as lrsched.cosine(...)"
        )


# ---------------------------------------------------------------------- join


def _stack(leaves: Sequence[Any]) -> Any:
    if any(isinstance(x, jax.core.Tracer) for x in leaves):
        return jnp.stack([jnp.asarray(x) for x in leaves])
    return np.stack([np.asarray(x) for x in leaves])


@schedule_class("join")
class Join(Schedule):
    """Pieces stacked by pytree structure: ``groups[g]`` holds every piece of one
    structure with a leading axis; ``piece_group[i]``/``piece_index[i]`` locate piece i."""

    groups: tuple
    boundaries: Any
    piece_group: tuple = static_field(())
    piece_index: tuple = static_field(())

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
        return out.reshape(t.shape)


def join(schedules: Sequence[Schedule], boundaries: Any) -> Join:
    r"""Run ``schedules[i]`` from ``boundaries[i-1]`` (0 for the first) on.

    .. math:: v(t) = s_i(t - b_{i-1}),\quad b_{i-1} \le t < b_i

    Each piece sees its local step. Boundaries are leaves (vmappable), and
    pieces of the same pytree structure are stacked so that only the active one
    is evaluated: graph size and compile time do not grow with the number of
    pieces (unlike optax's ``join_schedules``).

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
        _need_schedule(f"join(schedules[{i}])", s)
    structures: list[Any] = []
    members: list[list[Schedule]] = []
    piece_group, piece_index = [], []
    for s in schedules:
        leaves, treedef = jax.tree.flatten(s)
        shapes = tuple(np.shape(x) for x in leaves)
        key = (treedef, shapes)
        if key not in structures:
            structures.append(key)
            members.append([])
        g = structures.index(key)
        piece_group.append(g)
        piece_index.append(len(members[g]))
        members[g].append(s)
    groups = tuple(jax.tree.map(lambda *xs: _stack(xs), *m) for m in members)
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
    steps: Number
    init_value: Number = 0.0
    kind: str = static_field("linear")

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
        elif self.kind == "cosine":
            ramp = after + (init - after) * cos_anneal(done, left)
        else:
            ramp = jnp.broadcast_to(init, after.shape)
        return jnp.where(t < steps, ramp, after)


def warmup(schedule: Schedule, steps: Number, init_value: Number = 0.0, kind: str = "linear") -> Warmup:
    r"""Prefix `schedule` with a warmup of `steps` steps ending at ``schedule(0)``.

    .. math:: v(t) = \begin{cases} w(t) & t < W \\ s(t - W) & t \ge W \end{cases}

    where ``w`` goes from `init_value` to ``s(0)``: ``"linear"``, ``"cosine"``
    (half-cosine ease-in), or ``"constant"`` (hold `init_value`, like torch's
    ``ConstantLR``).

    Examples:
      >>> import lrsched
      >>> lrsched.evaluate(lrsched.warmup(lrsched.constant(1.0), steps=4), 6)
      array([0.  , 0.25, 0.5 , 0.75, 1.  , 1.  ], dtype=float32)
    """
    _need_schedule("warmup(schedule)", schedule)
    return Warmup(schedule, steps, init_value, kind)


# --------------------------------------------------------------------- cycle


def _cycle_start(k: jax.Array, period: jax.Array, mul: jax.Array) -> tuple[jax.Array, jax.Array]:
    """Step at which cycle ``k`` starts, ``period * (mul**k - 1) / (mul - 1)``
    (``k * period`` when ``mul == 1``), and whether that is out of the step
    integer's range. The inputs share one dtype; integers give exact results."""
    geometric = mul != 1
    one = jnp.ones((), k.dtype)
    k = jnp.maximum(k, jnp.zeros((), k.dtype))
    denominator = jnp.where(geometric, mul - one, one)
    if jnp.issubdtype(k.dtype, jnp.integer):
        # start = period * (q + (q - 1) / (mul - 1)) with q = mul**(k-1): no intermediate exceeds
        # the start itself; whether the start fits is checked in float with a safety margin
        top = 2.0**31 - 512 if int_dtype() == np.int32 else 2.0**63 - 2.0**42
        mf = as_float(mul)
        approx = as_float(period) * (mf ** as_float(k) - 1.0) / jnp.where(geometric, mf - 1.0, 1.0)
        out_of_range = geometric & (approx > top)
        q = jnp.power(mul, jnp.where(out_of_range, 0, jnp.maximum(k - one, 0 * one)))
        geo = period * jnp.where(k == 0, 0 * one, q + (q - one) // denominator)
    else:
        out_of_range = jnp.zeros(k.shape, bool)
        geo = period * (mul**k - one) / denominator
    return jnp.where(geometric, geo, k * period), out_of_range


def _cycle_index(t: jax.Array, period: jax.Array, mul: jax.Array, limit: Any) -> tuple[jax.Array, jax.Array]:
    """Cycle ``k`` containing step ``t`` (at most ``limit - 1``) and its start step."""
    t, period, mul = common(t, period, mul)
    tf, pf, mf = as_float(t), as_float(period), as_float(mul)
    geometric = mul != 1
    log_mul = jnp.log(jnp.where(geometric, mf, 2.0))
    k = jnp.floor(jnp.log1p(tf * (mf - 1.0) / pf) / log_mul).astype(t.dtype)
    here, beyond = _cycle_start(k, period, mul)
    k = jnp.where((here > t) | beyond, k - 1, k)  # correct the float estimate by one either way
    nxt, beyond = _cycle_start(k + 1, period, mul)
    k = jnp.where((nxt <= t) & ~beyond, k + 1, k)
    equal_periods = split(t, period)[0]
    k = jnp.maximum(jnp.where(geometric, k, equal_periods), jnp.zeros((), k.dtype))
    if limit is not None:
        k = jnp.minimum(k, jnp.asarray(limit).astype(k.dtype) - 1)
    return k, _cycle_start(k, period, mul)[0]


@schedule_class("cycle")
class Cycle(Schedule):
    schedule: Schedule
    period: Number
    period_mul: Number = 1
    decay: Number = 1.0
    limit: Number = None
    stretch: bool = static_field(True)

    def validate(self):
        check_positive(self, "period")
        check(self, "limit", lambda a: (a >= 1) & (a == np.floor(a)), "a whole number of cycles >= 1",
              "Pass e.g. limit=3, or None to cycle forever")
        check(self, "period_mul", lambda a: a >= 1, ">= 1", "Pass 1 for equal periods or e.g. 2 to double them")
        check_non_negative(self, "decay")

    def compute(self, t):
        period, mul = as_number(self.period), as_number(self.period_mul)
        k, begin = _cycle_index(t, period, mul, self.limit)
        t, begin = common(t, begin)
        local = t - begin
        if self.stretch:  # cycle k plays the schedule slowed down by mul**k
            mul_f = as_float(mul)
            local = jnp.where(mul_f == 1, as_float(local), as_float(local) / mul_f ** as_float(k))
        return as_float(self.decay) ** as_float(k) * self.schedule(local)


def cycle(schedule: Schedule, period: Number, period_mul: Number = 1, decay: Number = 1.0,
          limit: Number | None = None, stretch: bool = True) -> Cycle:
    r"""Restart `schedule` every period (SGDR warm restarts, arXiv:1608.03983).

    Cycle ``k`` starts at ``P (m^k - 1) / (m - 1)`` (``k P`` when ``m = 1``),
    lasts ``P m^k`` steps and gives

    .. math:: v(t) = d^k \, sig((t - 	ext{start}_k) / m^kig)

    with ``P = period``, ``m = period_mul``, ``d = decay``: the schedule, written
    for the first period, is stretched over each longer one (SGDR's ``T_mult``).
    ``stretch=False`` keeps its own time (a longer cycle then holds the
    schedule's end value for longer). After `limit` cycles the last cycle goes
    on (a finite schedule holds its end). Cycle starts are exact integers for
    every int32 step when `period` and `period_mul` are integers; a stretched
    cycle's local step is a float.

    Examples:
      >>> import lrsched
      >>> sgdr = lrsched.cycle(lrsched.linear(1.0, 0.0, 2), period=2, period_mul=2)
      >>> lrsched.evaluate(sgdr, 7)
      array([1.  , 0.5 , 1.  , 0.75, 0.5 , 0.25, 1.  ], dtype=float32)
    """
    _need_schedule("cycle(schedule)", schedule)
    return Cycle(schedule, period, period_mul, decay, limit, stretch)


# ------------------------------------------------------------ clip and shift


@schedule_class("clip")
class Clip(Schedule):
    schedule: Schedule
    min_value: Number = None
    max_value: Number = None

    def compute(self, t):
        v = self.schedule(t)
        if self.min_value is not None:
            v = jnp.maximum(v, as_float(self.min_value))
        if self.max_value is not None:
            v = jnp.minimum(v, as_float(self.max_value))
        return v


def clip(schedule: Schedule, min_value: Number | None = None, max_value: Number | None = None) -> Clip:
    r"""Clamp a schedule to ``[min_value, max_value]`` (either may be None).

    .. math:: v(t) = \min(\max(s(t), lo), hi)

    Examples:
      >>> import lrsched
      >>> lrsched.evaluate(lrsched.clip(lrsched.linear(0.0, 1.0, 4), 0.3, 0.6), 5)
      array([0.3, 0.3, 0.5, 0.6, 0.6], dtype=float32)
    """
    _need_schedule("clip(schedule)", schedule)
    return Clip(schedule, min_value, max_value)


@schedule_class("shift")
class Shift(Schedule):
    schedule: Schedule
    steps: Number

    def compute(self, t):
        t, steps = common(t, as_number(self.steps))
        return self.schedule(t - steps)


def shift(schedule: Schedule, steps: Number) -> Shift:
    r"""Delay a schedule by `steps` (negative: advance it).

    .. math:: v(t) = s(\max(t - k, 0))

    Examples:
      >>> import lrsched
      >>> lrsched.evaluate(lrsched.shift(lrsched.linear(0.0, 1.0, 2), 2), 5)
      array([0. , 0. , 0. , 0.5, 1. ], dtype=float32)
    """
    _need_schedule("shift(schedule)", schedule)
    return Shift(schedule, steps)


# ---------------------------------------------------------------- arithmetic


def _value(x: Any, t: jax.Array) -> jax.Array:
    return x(t) if isinstance(x, Schedule) else as_float(x)


@schedule_class("add")
class Add(Schedule):
    left: Any
    right: Any

    def compute(self, t):
        return _value(self.left, t) + _value(self.right, t)


@schedule_class("mul")
class Mul(Schedule):
    left: Any
    right: Any

    def compute(self, t):
        return _value(self.left, t) * _value(self.right, t)


def _operands(name: str, a: Any, b: Any) -> None:
    for x in (a, b):
        if not isinstance(x, Schedule) and concrete(x) is None and not isinstance(x, jax.core.Tracer):
            raise ScheduleError(
                f"{name}: operands must be Schedules or numbers; got {type(x).__name__}"
            )


def add(left: Any, right: Any) -> Add:
    r"""``left + right`` where either is a Schedule or a number (``s + 0.1`` builds this).

    Examples:
      >>> import lrsched
      >>> lrsched.evaluate(lrsched.linear(0.0, 1.0, 2) + 1.0, 3)
      array([1. , 1.5, 2. ], dtype=float32)
    """
    _operands("add", left, right)
    return Add(left, right)


def mul(left: Any, right: Any) -> Mul:
    r"""``left * right`` where either is a Schedule or a number (``s * 0.5``, ``s1 * s2``).

    Examples:
      >>> import lrsched
      >>> lrsched.evaluate(0.5 * lrsched.linear(0.0, 1.0, 2), 3)
      array([0.  , 0.25, 0.5 ], dtype=float32)
    """
    _operands("mul", left, right)
    return Mul(left, right)

