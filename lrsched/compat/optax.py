r"""optax's schedules (optax 0.2.8), by their optax names and signatures, as lrsched Schedules.

Each function takes optax's arguments and returns a Schedule equal to the optax
schedule at every step ``>= 0`` (optax is not imported). Unlike optax's
closures, every numeric argument is a pytree leaf: ``jax.vmap`` works over
`transition_steps`, `decay_rate`, `pct_start`, `warmup_steps`, ... (optax
branches on those in Python), a change of numbers never recompiles, and the
result prints, serialises (``lrsched.to_config``) and differentiates.

The step policy is lrsched's: negative steps evaluate as step 0 (optax's
``cosine_decay_schedule`` mirrors them, ``piecewise_interpolate_schedule`` gives
0). ``docs/migrating-torch-optax.md`` lists every quirk kept or dropped.

Examples:
  >>> import lrsched
  >>> from lrsched.compat import optax as ox
  >>> s = ox.warmup_cosine_decay_schedule(0.0, peak_value=1.0, warmup_steps=2, decay_steps=6)
  >>> lrsched.evaluate(s, 7).round(4)
  array([0.    , 0.5   , 1.    , 0.8536, 0.5   , 0.1464, 0.    ], dtype=float32)
  >>> lrsched.evaluate(ox.exponential_decay(1.0, transition_steps=2, decay_rate=0.5, staircase=True), 5)
  array([1.  , 1.  , 0.5 , 0.5 , 0.25], dtype=float32)
"""

from __future__ import annotations

from typing import Any, Iterable, Sequence

import jax
import jax.numpy as jnp
import numpy as np

import lrsched
from lrsched import Schedule, ScheduleError
from lrsched.compat._common import (
    NUMBER,
    Leaves,
    Real,
    any_traced,
    as_number,
    check_kind,
    checked,
    choose,
    is_concretely,
    require,
    same_shape,
    vector,
    wide_count,
)

__all__ = [
    "constant_schedule", "linear_schedule", "polynomial_schedule", "cosine_decay_schedule", "exponential_decay",
    "piecewise_constant_schedule", "piecewise_interpolate_schedule", "linear_onecycle_schedule",
    "cosine_onecycle_schedule", "warmup_constant_schedule", "warmup_cosine_decay_schedule",
    "warmup_exponential_decay_schedule", "sgdr_schedule", "join_schedules",
]


# ------------------------------------------------------------------ helpers


def _begin(schedule: Schedule, transition_begin: Any) -> Schedule:
    """Hold the start value for `transition_begin` steps (optax clamps a negative begin to 0)."""
    begin = choose(transition_begin < 0, 0, wide_count(transition_begin))
    return schedule if is_concretely(begin, 0) else lrsched.shift(schedule, begin)


def _sorted_items(where: str, boundaries_and_scales: dict | None,
                  init_value: Any = None) -> tuple[list[Any], list[Any]]:
    if not boundaries_and_scales:
        return [], []
    if not isinstance(boundaries_and_scales, dict):
        raise ScheduleError(f"{where}(boundaries_and_scales=...): expected a dict {{step: scale}}; got "
                            f"{type(boundaries_and_scales).__name__}. Pass e.g. {{100: 0.1, 200: 0.1}}")
    for k, v in boundaries_and_scales.items():  # steps and scales are numbers: checked before any sorting
        check_kind(where, f"boundaries_and_scales[{k!r}]", k, NUMBER)
        check_kind(where, f"boundaries_and_scales[{k!r}]", v, NUMBER)
    # the scales (with init_value) and the steps each become one vector
    same_shape(where, init_value=init_value, **{f"boundaries_and_scales[{k!r}]": v
                                                for k, v in boundaries_and_scales.items()})
    same_shape(where, **{f"boundaries_and_scales key {k!r}": k for k in boundaries_and_scales})
    items = sorted(boundaries_and_scales.items())
    items = [(wide_count(k), v) for k, v in items]
    scales = [v for _, v in items]
    for s in scales:
        require(where, "boundaries_and_scales", s, lambda a: a >= 0, "a dict of non-negative scales",
                 "optax raises for negative scale factors too")
    return [k for k, _ in items], scales


def _cumprod(init: Any, scales: list[Any]) -> Any:
    """``[init, init*s1, init*s1*s2, ...]`` multiplied in optax's order."""
    xs = vector([init] + scales)
    return jnp.cumprod(xs, axis=-1) if isinstance(xs, jax.Array) else np.cumprod(xs, axis=-1)


# ----------------------------------------------------------------- basics


@checked
def constant_schedule(value: Real) -> Schedule:
    r"""optax's ``constant_schedule(value)``.

    .. math:: v(t) = \text{value}

    Args:
      value: the value at every step.

    Returns:
      An lrsched Schedule.

    Examples:
      >>> import lrsched
      >>> from lrsched.compat import optax as ox
      >>> lrsched.evaluate(ox.constant_schedule(5.0), 2)
      array([5., 5.], dtype=float32)
    """
    return lrsched.constant(value)


@checked
def polynomial_schedule(init_value: Real, end_value: Real, power: Real, transition_steps: Real,
                        transition_begin: Real = 0) -> Schedule:
    r"""optax's ``polynomial_schedule(init_value, end_value, power, transition_steps, transition_begin=0)``.

    .. math:: v(t) = (I - E)\left(1 - \frac{\min(\max(t - B, 0), T)}{T}\right)^{P} + E

    As in optax, ``transition_steps <= 0`` gives the constant `init_value` and a
    negative `transition_begin` counts as 0. `power` must be positive. Built as
    ``shift(polynomial(...), B)``.

    Args:
      init_value: the value at step 0 (before the transition).
      end_value: the value at the end of the transition (exponential_decay: its floor or ceiling, or None).
      power: the exponent of the polynomial (> 0).
      transition_steps: the length of the transition in steps (<= 0: a constant, as in optax).
      transition_begin: steps to hold `init_value` before the transition (a negative value counts as 0).

    Returns:
      An lrsched Schedule.

    Examples:
      >>> import lrsched
      >>> from lrsched.compat import optax as ox
      >>> s = ox.polynomial_schedule(1.0, 0.01, power=2, transition_steps=100, transition_begin=5)
      >>> lrsched.evaluate(s, [0, 5, 6, 104, 105, 110]).round(4)
      array([1.    , 1.    , 0.9803, 0.0101, 0.01  , 0.01  ], dtype=float32)
    """
    transition_steps = wide_count(transition_steps)
    moves = transition_steps > 0
    end = choose(moves, end_value, init_value)
    steps = choose(moves, transition_steps, 0)
    return _begin(lrsched.polynomial(init_value, end, steps, power), transition_begin)


@checked
def linear_schedule(init_value: Real, end_value: Real, transition_steps: Real,
                    transition_begin: Real = 0) -> Schedule:
    r"""optax's ``linear_schedule(init_value, end_value, transition_steps, transition_begin=0)``.

    .. math:: v(t) = I + (E - I)\,\frac{\min(\max(t - B, 0), T)}{T}

    ``transition_steps <= 0`` gives the constant `init_value`, as in optax.
    Built as ``shift(linear(...), B)``.

    Args:
      init_value: the value at step 0 (before the transition).
      end_value: the value at the end of the transition (exponential_decay: its floor or ceiling, or None).
      transition_steps: the length of the transition in steps (<= 0: a constant, as in optax).
      transition_begin: steps to hold `init_value` before the transition (a negative value counts as 0).

    Returns:
      An lrsched Schedule.

    Examples:
      >>> import lrsched
      >>> from lrsched.compat import optax as ox
      >>> lrsched.evaluate(ox.linear_schedule(1.0, 0.0, transition_steps=4), 6)
      array([1.  , 0.75, 0.5 , 0.25, 0.  , 0.  ], dtype=float32)
    """
    transition_steps = wide_count(transition_steps)
    moves = transition_steps > 0
    end = choose(moves, end_value, init_value)
    steps = choose(moves, transition_steps, 0)
    return _begin(lrsched.linear(init_value, end, steps), transition_begin)


@checked
def cosine_decay_schedule(init_value: Real, decay_steps: Real, alpha: Real = 0.0,
                          exponent: Real = 1.0) -> Schedule:
    r"""optax's ``cosine_decay_schedule(init_value, decay_steps, alpha=0.0, exponent=1.0)``.

    .. math:: v(t) = I\left((1 - \alpha)\left[\tfrac12\left(1 + \cos\tfrac{\pi \min(t, T)}{T}\right)\right]^{p}
              + \alpha\right)

    Holds ``alpha * init_value`` past `decay_steps`. Negative steps count as 0
    (optax mirrors them). Built as ``cosine(1, T, alpha, exponent) * init_value``.

    Args:
      init_value: the value at step 0 (before the transition).
      decay_steps: the length of the decay (warmup_cosine_decay_schedule: including the warmup).
      alpha: the final value as a fraction of `init_value`.
      exponent: the power of the cosine shape.

    Returns:
      An lrsched Schedule.

    Examples:
      >>> import lrsched
      >>> from lrsched.compat import optax as ox
      >>> lrsched.evaluate(ox.cosine_decay_schedule(1.0, decay_steps=4, alpha=0.1), 6).round(4)
      array([1.    , 0.8682, 0.55  , 0.2318, 0.1   , 0.1   ], dtype=float32)
    """
    require("cosine_decay_schedule", "decay_steps", decay_steps, lambda a: a > 0, "positive",
             "Pass the number of steps of the decay (optax raises too)")
    return lrsched.cosine(1.0, wide_count(decay_steps), alpha, exponent) * init_value


@checked
def exponential_decay(init_value: Real, transition_steps: Real, decay_rate: Real, transition_begin: Real = 0,
                      staircase: bool = False, end_value: Real | None = None) -> Schedule:
    r"""optax's ``exponential_decay(init_value, transition_steps, decay_rate, transition_begin=0, staircase=False,
    end_value=None)``.

    .. math:: v(t) = I \cdot r^{\max(t - B, 0) / T} \quad (\lfloor\cdot\rfloor \text{ if staircase})

    clipped at `end_value` (from below when ``decay_rate < 1``, else from above;
    the clip applies before `transition_begin` too, as in optax). As in optax,
    ``transition_steps <= 0`` or ``decay_rate == 0`` give the constant
    `init_value`, and ``decay_rate > 1`` without `end_value` grows without bound.
    Built as ``shift(lrsched.exponential(I, r, T, staircase, E), B)``: the core's
    precise power keeps ~1e-7 in float32 where optax's ``exp`` loses 2e-6 at
    ``e**-40``.

    Args:
      init_value: the value at step 0 (before the transition).
      transition_steps: the length of the transition in steps (<= 0: a constant, as in optax).
      decay_rate: the factor per `transition_steps` (0: a constant, as in optax).
      transition_begin: steps to hold `init_value` before the transition (a negative value counts as 0).
      staircase: decay at whole multiples of `transition_steps` only.
      end_value: the value at the end of the transition (exponential_decay: its floor or ceiling, or None).

    Returns:
      An lrsched Schedule.

    Examples:
      >>> import lrsched
      >>> from lrsched.compat import optax as ox
      >>> s = ox.exponential_decay(1.0, transition_steps=1, decay_rate=0.5, transition_begin=2, end_value=0.2)
      >>> lrsched.evaluate(s, 6)
      array([1.  , 1.  , 1.  , 0.5 , 0.25, 0.2 ], dtype=float32)
    """
    require("exponential_decay", "decay_rate", decay_rate, lambda a: a >= 0, "non-negative",
             "A negative rate has no real fractional powers")
    transition_steps = wide_count(transition_steps)
    trivial = (transition_steps <= 0) | (decay_rate == 0)
    rate = choose(trivial, 1.0, decay_rate)
    steps = choose(trivial, 1, transition_steps)
    end = None if end_value is None else choose(trivial, init_value, end_value)
    return _begin(lrsched.exponential(init_value, rate, steps, staircase, end), transition_begin)


# --------------------------------------------------------------- piecewise


@checked
def piecewise_constant_schedule(init_value: Real, boundaries_and_scales: dict | None = None) -> Schedule:
    r"""optax's ``piecewise_constant_schedule(init_value, boundaries_and_scales=None)``.

    .. math:: v(t) = I \prod_{b_i \le t} s_i

    The scales (dict values) and `init_value` are leaves; the boundaries are the
    dict's keys (to sweep them, use :func:`lrsched.piecewise_constant`). Built as
    ``piecewise_constant(boundaries, cumulative values)``.

    Args:
      init_value: the value at step 0 (before the transition).
      boundaries_and_scales: a dict ``{step: scale}``, or None.

    Returns:
      An lrsched Schedule.

    Examples:
      >>> import lrsched
      >>> from lrsched.compat import optax as ox
      >>> s = ox.piecewise_constant_schedule(1.0, {2: 0.1, 4: 0.5})
      >>> lrsched.evaluate(s, 6).round(4)
      array([1.  , 1.  , 0.1 , 0.1 , 0.05, 0.05], dtype=float32)
    """
    keys, scales = _sorted_items("piecewise_constant_schedule", boundaries_and_scales, init_value)
    if not keys:
        return lrsched.constant(init_value)
    return lrsched.piecewise_constant(vector(keys), _cumprod(init_value, scales))


def _interpolate(where: str, kind: str, init_value: Any, keys: list[Any], scales: list[Any]) -> Schedule:
    for k in keys:
        require(where, "boundaries_and_scales", k, lambda a: a >= 0, "a dict with non-negative steps as keys",
                 "optax's interpolation is undefined before step 0; drop negative keys")
    kind = "cos" if kind == "cosine" else kind
    return lrsched.piecewise_linear(vector([0] + keys), _cumprod(init_value, scales), kind)


@checked
def piecewise_interpolate_schedule(interpolate_type: str, init_value: Real,
                                   boundaries_and_scales: dict | None = None) -> Schedule:
    r"""optax's ``piecewise_interpolate_schedule(interpolate_type, init_value, boundaries_and_scales=None)``.

    With ``b_0 = 0``, sorted keys ``b_1 < ... < b_n`` and cumulative values
    ``v_i = I \prod_{j \le i} s_j``, on ``[b_i, b_{i+1}]`` with ``p = (t - b_i)/(b_{i+1} - b_i)``:

    .. math:: v(t) = v_i (1 - p) + v_{i+1} p \quad\text{or}\quad
              v_{i+1} + (v_i - v_{i+1})\tfrac12(1 + \cos \pi p)

    and ``v_n`` from ``b_n`` on. The cosine is evaluated as two non-negative
    terms (no cancellation). Negative keys are rejected (optax returns odd values).

    Args:
      interpolate_type: "linear" or "cosine".
      init_value: the value at step 0 (before the transition).
      boundaries_and_scales: a dict ``{step: scale}``, or None.

    Returns:
      An lrsched Schedule.

    Examples:
      >>> import lrsched
      >>> from lrsched.compat import optax as ox
      >>> s = ox.piecewise_interpolate_schedule("linear", 1.0, {4: 0.1, 8: 0.01})
      >>> lrsched.evaluate(s, [0, 2, 4, 6, 8, 10]).round(6)
      array([1.    , 0.55  , 0.1   , 0.0505, 0.001 , 0.001 ], dtype=float32)
    """
    if interpolate_type not in ("linear", "cosine"):
        raise ScheduleError(f"piecewise_interpolate_schedule(interpolate_type={interpolate_type!r}): "
                            "interpolate_type must be 'linear' or 'cosine'. Pick one of ['linear', 'cosine']")
    keys, scales = _sorted_items("piecewise_interpolate_schedule", boundaries_and_scales, init_value)
    return _interpolate("piecewise_interpolate_schedule", interpolate_type, init_value, keys, scales)


def _onecycle_args(where: str, **fields: Any) -> None:
    """The one-cycle factories' numbers: one shape (they become one table of steps and values), and divisors
    that are not zero (optax divides by them: a ZeroDivisionError)."""
    same_shape(where, **fields)
    require(where, "div_factor", fields["div_factor"], lambda a: a != 0, "non-zero (the start value is "
            "peak_value / div_factor)", "optax divides by it too; pass e.g. div_factor=25.0")
    require(where, "final_div_factor", fields["final_div_factor"], lambda a: a != 0, "non-zero (the last value is "
            "the start value / final_div_factor)", "optax divides by it too; pass e.g. final_div_factor=1e4")


def _divisors(where: str, div_factor: Any, final_div_factor: Any) -> None:
    """A one-cycle's divisors, checked before anything is divided by them (the phase table would refuse a negative
    scale under another name, and a zero would divide by zero)."""
    for name, value, example in (("div_factor", div_factor, 25.0), ("final_div_factor", final_div_factor, 1e4)):
        require(where, name, value, lambda a: a > 0, "positive (the values are divided by it)",
                f"Pass e.g. {name}={example}")


def _onecycle(where: str, kind: str, transition_steps: Any, init_value: Any, pcts: dict[str, Any],
              marks: list[tuple[Any, Any, bool]]) -> Schedule:
    """optax builds a dict of ``{key: scale}`` with the keys ``int(pct * T)`` (and ``T`` itself as the
    linear one's last key, not truncated): `marks` are ``(key, scale, truncated)``. Concrete keys keep the
    dict's collisions, traced ones are floored. A negative fraction (in `pcts`, by argument name) is refused:
    its key would be before step 0."""
    require(where, "transition_steps", transition_steps, lambda a: a > 0, "positive",
             "Pass the length of the cycle (optax raises too)")
    for name, pct in pcts.items():
        require(where, name, pct, lambda a: a >= 0, "non-negative (a phase cannot end before step 0)",
                f"Pass a fraction of transition_steps, e.g. {name}=0.3")
    keys = [k for k, _, _ in marks]
    if not any_traced(*keys) and all(np.ndim(k) == 0 for k in keys):
        # a later equal key replaces an earlier one, as in optax's dict
        # (a concrete array key as its Python number: arrays are not hashable)
        table = {(int(k) if truncated else np.asarray(k).item()): s for k, s, truncated in marks}
        keys, scales = _sorted_items(where, table)
    else:
        keys = [jnp.floor(jnp.asarray(k)) if truncated else jnp.asarray(k) for k, _, truncated in marks]
        if all(truncated or jnp.issubdtype(as_number(k).dtype, jnp.integer) for k, _, truncated in marks):
            keys = [k.astype(as_number(transition_steps).dtype) for k in keys]
        scales = [s for _, s, _ in marks]
    return _interpolate(where, kind, init_value, keys, scales)


@checked
def linear_onecycle_schedule(transition_steps: Real, peak_value: Real, pct_start: Real = 0.3,
                             pct_final: Real = 0.85, div_factor: Real = 25.0,
                             final_div_factor: Real = 1e4) -> Schedule:
    r"""optax's ``linear_onecycle_schedule(transition_steps, peak_value, pct_start=0.3, pct_final=0.85,
    div_factor=25.0, final_div_factor=1e4)``.

    Linear from ``peak / div`` to `peak_value` at ``int(pct_start T)``, back to
    ``peak / div`` at ``int(pct_final T)``, then to ``peak / (div final_div)`` at
    ``T`` (the same end as torch's OneCycleLR): :func:`piecewise_interpolate_schedule`
    through those points,

    .. math:: v(t) = v_i (1 - p) + v_{i+1} p,\quad p = \frac{t - b_i}{b_{i+1} - b_i}

    Under vmap the phase steps are ``floor(pct T)`` and must be
    distinct (optax's dict silently merges equal ones).

    Args:
      transition_steps: the length of the transition in steps (<= 0: a constant, as in optax).
      peak_value: the top value.
      pct_start: the fraction of `transition_steps` spent rising.
      pct_final: the fraction of `transition_steps` at which the descent ends.
      div_factor: the start value is ``peak_value / div_factor``.
      final_div_factor: the last value is the start value over this.

    Returns:
      An lrsched Schedule.

    Examples:
      >>> import lrsched
      >>> from lrsched.compat import optax as ox
      >>> s = ox.linear_onecycle_schedule(10, peak_value=1.0, div_factor=10.0, final_div_factor=10.0)
      >>> lrsched.evaluate(s, [0, 3, 8, 10]).round(4)
      array([0.1 , 1.  , 0.1 , 0.01], dtype=float32)
    """
    _onecycle_args("linear_onecycle_schedule", transition_steps=transition_steps, peak_value=peak_value,
                   pct_start=pct_start, pct_final=pct_final, div_factor=div_factor, final_div_factor=final_div_factor)
    _divisors("linear_onecycle_schedule", div_factor, final_div_factor)
    marks = [(pct_start * transition_steps, div_factor, True), (pct_final * transition_steps, 1.0 / div_factor, True),
             (transition_steps, 1.0 / final_div_factor, False)]  # optax's last key is T itself, not int(T)
    return _onecycle("linear_onecycle_schedule", "linear", transition_steps, peak_value / div_factor,
                     {"pct_start": pct_start, "pct_final": pct_final}, marks)


@checked
def cosine_onecycle_schedule(transition_steps: Real, peak_value: Real, pct_start: Real = 0.3,
                             div_factor: Real = 25.0, final_div_factor: Real = 1e4) -> Schedule:
    r"""optax's ``cosine_onecycle_schedule(transition_steps, peak_value, pct_start=0.3, div_factor=25.0,
    final_div_factor=1e4)``.

    Half-cosine from ``peak / div`` up to `peak_value` at ``int(pct_start T)``,
    then down to ``peak / (div final_div)`` at ``T``, held afterwards:

    .. math:: v(t) = v_{i+1} + (v_i - v_{i+1})\,\tfrac12 (1 + \cos \pi p),\quad p = \frac{t - b_i}{b_{i+1} - b_i}


    Args:
      transition_steps: the length of the transition in steps (<= 0: a constant, as in optax).
      peak_value: the top value.
      pct_start: the fraction of `transition_steps` spent rising.
      div_factor: the start value is ``peak_value / div_factor``.
      final_div_factor: the last value is the start value over this.

    Returns:
      An lrsched Schedule.

    Examples:
      >>> import lrsched
      >>> from lrsched.compat import optax as ox
      >>> s = ox.cosine_onecycle_schedule(10, peak_value=1.0, pct_start=0.2, div_factor=10.0)
      >>> lrsched.evaluate(s, [0, 1, 2, 6, 10]).round(4)
      array([0.1 , 0.55, 1.  , 0.5 , 0.  ], dtype=float32)
    """
    _onecycle_args("cosine_onecycle_schedule", transition_steps=transition_steps, peak_value=peak_value,
                   pct_start=pct_start, div_factor=div_factor, final_div_factor=final_div_factor)
    _divisors("cosine_onecycle_schedule", div_factor, final_div_factor)
    marks = [(pct_start * transition_steps, div_factor, True),
             (transition_steps, 1.0 / (div_factor * final_div_factor), True)]
    return _onecycle("cosine_onecycle_schedule", "cosine", transition_steps, peak_value / div_factor,
                     {"pct_start": pct_start}, marks)


# ------------------------------------------------------------------ joins


@checked
def join_schedules(schedules: Sequence[Schedule], boundaries: Leaves) -> Schedule:
    r"""optax's ``join_schedules(schedules, boundaries)``: schedule ``i`` from ``boundaries[i-1]`` on, at its
    local step.

    .. math:: v(t) = s_i(t - b_{i-1}),\quad b_{i-1} \le t < b_i

    The pieces must be lrsched Schedules (build them with this module). optax
    tests the boundaries one after the other (``where(t < b_i, ...)``), so with
    unsorted boundaries a later one wins; that is :func:`lrsched.join` with the
    suffix minima ``min(b_i, b_{i+1}, ...)`` as boundaries (a piece it never
    reaches gets an empty interval), so only the active piece is evaluated.
    Boundaries are leaves and must be non-negative.

    Args:
      schedules: the pieces (lrsched Schedules, e.g. built with this module).
      boundaries: ``len(schedules) - 1`` non-negative steps.

    Returns:
      An lrsched Schedule.

    Examples:
      >>> import lrsched
      >>> from lrsched.compat import optax as ox
      >>> s = ox.join_schedules([ox.constant_schedule(1.0), ox.linear_schedule(1.0, 0.0, 2)], [2])
      >>> lrsched.evaluate(s, 5)
      array([1. , 1. , 1. , 0.5, 0. ], dtype=float32)
    """
    schedules = tuple(schedules)
    if not schedules or not all(isinstance(s, Schedule) for s in schedules):
        raise ScheduleError("join_schedules(schedules=...): schedules must be a non-empty list of lrsched "
                            "Schedules (optax's closures cannot be inspected). Build them with lrsched.compat.optax")
    if isinstance(boundaries, (list, tuple)):
        boundaries = vector(boundaries) if boundaries else np.zeros((0,), np.int32)
    boundaries = wide_count(boundaries)
    require("join_schedules", "boundaries", boundaries, lambda a: a.shape[-1:] == (len(schedules) - 1,),
            f"one fewer than the schedules ({len(schedules) - 1})", "Give one boundary between two schedules")
    require("join_schedules", "boundaries", boundaries, lambda a: a >= 0, "non-negative steps",
            "optax's pieces start at a step >= 0")
    marks: Any
    if any_traced(boundaries):  # optax's where-chain: a later boundary wins, i.e. the suffix minima
        b = jnp.asarray(boundaries)
        marks = jnp.flip(jax.lax.cummin(jnp.flip(b, -1), axis=b.ndim - 1), -1)
    else:
        marks = np.flip(np.minimum.accumulate(np.flip(np.asarray(boundaries), -1), axis=-1), -1)
    return lrsched.join(list(schedules), marks)


@checked
def warmup_constant_schedule(init_value: Real, peak_value: Real, warmup_steps: Real) -> Schedule:
    r"""optax's ``warmup_constant_schedule(init_value, peak_value, warmup_steps)``: linear warmup, then hold.

    .. math:: v(t) = I + (P - I)\min(t, W)/W

    Args:
      init_value: the value at step 0 (before the transition).
      peak_value: the top value.
      warmup_steps: the length of the linear warmup (>= 0).

    Returns:
      An lrsched Schedule.

    Examples:
      >>> import lrsched
      >>> from lrsched.compat import optax as ox
      >>> lrsched.evaluate(ox.warmup_constant_schedule(0.0, 1.0, warmup_steps=2), 4)
      array([0. , 0.5, 1. , 1. ], dtype=float32)
    """
    return linear_schedule(init_value, peak_value, warmup_steps)


@checked
def warmup_cosine_decay_schedule(init_value: Real, peak_value: Real, warmup_steps: Real, decay_steps: Real,
                                 end_value: Real = 0.0, exponent: Real = 1.0) -> Schedule:
    r"""optax's ``warmup_cosine_decay_schedule(init_value, peak_value, warmup_steps, decay_steps, end_value=0.0,
    exponent=1.0)``.

    Linear from `init_value` to `peak_value` over `warmup_steps`, then

    .. math:: v(t) = E + (P - E)\left[\tfrac12\left(1 + \cos\tfrac{\pi (t - W)}{D - W}\right)\right]^{p}

    to `end_value` at `decay_steps` (which includes the warmup). As in optax a
    `peak_value` of 0 makes the decay 0 whatever `end_value`, and `decay_steps`
    must exceed `warmup_steps`. Built as :func:`lrsched.warmup_cosine`.

    Args:
      init_value: the value at step 0 (before the transition).
      peak_value: the top value.
      warmup_steps: the length of the linear warmup (>= 0).
      decay_steps: the length of the decay (warmup_cosine_decay_schedule: including the warmup).
      end_value: the value at the end of the transition (exponential_decay: its floor or ceiling, or None).
      exponent: the power of the cosine shape.

    Returns:
      An lrsched Schedule.

    Examples:
      >>> import lrsched
      >>> from lrsched.compat import optax as ox
      >>> s = ox.warmup_cosine_decay_schedule(0.0, 1.0, warmup_steps=2, decay_steps=4, end_value=0.1)
      >>> lrsched.evaluate(s, 5).round(4)
      array([0.  , 0.5 , 1.  , 0.55, 0.1 ], dtype=float32)
    """
    require("warmup_cosine_decay_schedule", "warmup_steps", warmup_steps, lambda a: a >= 0, "non-negative",
             "Pass 0 for no warmup")
    require("warmup_cosine_decay_schedule", "decay_steps", decay_steps - warmup_steps, lambda a: a > 0,
             "larger than warmup_steps (it includes the warmup)", "Pass the length of the whole schedule")
    end = choose(peak_value == 0, 0.0, end_value)
    return lrsched.warmup_cosine(peak_value, wide_count(warmup_steps), wide_count(decay_steps), init_value, end,
                                 exponent)


@checked
def warmup_exponential_decay_schedule(init_value: Real, peak_value: Real, warmup_steps: Real,
                                      transition_steps: Real, decay_rate: Real, transition_begin: Real = 0,
                                      staircase: bool = False, end_value: Real | None = None) -> Schedule:
    r"""optax's ``warmup_exponential_decay_schedule(init_value, peak_value, warmup_steps, transition_steps,
    decay_rate, transition_begin=0, staircase=False, end_value=None)``.

    :func:`linear_schedule` from `init_value` to `peak_value` over
    `warmup_steps`, then :func:`exponential_decay` from `peak_value` at the
    local step ``t - W``:

    .. math:: v(t) = P \, r^{\max(t - W - B, 0)/T} \quad (t \ge W)

    Args:
      init_value: the value at step 0 (before the transition).
      peak_value: the top value.
      warmup_steps: the length of the linear warmup (>= 0).
      transition_steps: the length of the transition in steps (<= 0: a constant, as in optax).
      decay_rate: the factor per `transition_steps` (0: a constant, as in optax).
      transition_begin: steps to hold `init_value` before the transition (a negative value counts as 0).
      staircase: decay at whole multiples of `transition_steps` only.
      end_value: the value at the end of the transition (exponential_decay: its floor or ceiling, or None).

    Returns:
      An lrsched Schedule.

    Examples:
      >>> import lrsched
      >>> from lrsched.compat import optax as ox
      >>> s = ox.warmup_exponential_decay_schedule(0.0, 1.0, warmup_steps=2, transition_steps=1, decay_rate=0.5)
      >>> lrsched.evaluate(s, 5)
      array([0.  , 0.5 , 1.  , 0.5 , 0.25], dtype=float32)
    """
    require("warmup_exponential_decay_schedule", "warmup_steps", warmup_steps, lambda a: a >= 0, "non-negative",
             "Pass 0 for no warmup")
    return join_schedules([linear_schedule(init_value, peak_value, warmup_steps),
                           exponential_decay(peak_value, transition_steps, decay_rate, transition_begin, staircase,
                                             end_value)], [warmup_steps])


@checked
def sgdr_schedule(cosine_kwargs: Iterable[dict[str, Any]]) -> Schedule:
    r"""optax's ``sgdr_schedule(cosine_kwargs)``: :func:`warmup_cosine_decay_schedule` pieces one after another.

    Piece ``i`` (built from ``cosine_kwargs[i]``) starts where the previous
    ``decay_steps`` end (SGDR, arXiv:1608.03983):

    .. math:: v(t) = w_i(t - D_{i-1}),\quad D_{i-1} \le t < D_i,\ D_i = \textstyle\sum_{j \le i} d_j

    with ``w_i`` the warmup-cosine of ``cosine_kwargs[i]`` and ``d_j`` its `decay_steps`.


    Args:
      cosine_kwargs: one dict of :func:`warmup_cosine_decay_schedule` arguments per piece.

    Returns:
      An lrsched Schedule.

    Examples:
      >>> import lrsched
      >>> from lrsched.compat import optax as ox
      >>> kw = dict(init_value=0.0, peak_value=1.0, warmup_steps=1, decay_steps=3)
      >>> lrsched.evaluate(ox.sgdr_schedule([kw, kw]), 7)
      array([0. , 1. , 0.5, 0. , 1. , 0.5, 0. ], dtype=float32)
    """
    if isinstance(cosine_kwargs, (str, bytes, dict)) or not isinstance(cosine_kwargs, Iterable):
        raise ScheduleError(f"sgdr_schedule(cosine_kwargs={cosine_kwargs!r}): expected a list of dicts of "
                            "warmup_cosine_decay_schedule arguments, one per piece")
    schedules, boundaries, step = [], [], 0
    for i, kwargs in enumerate(cosine_kwargs):
        if not isinstance(kwargs, dict):
            raise ScheduleError(f"sgdr_schedule(cosine_kwargs[{i}]={kwargs!r}): expected a dict of "
                                "warmup_cosine_decay_schedule arguments")
        try:
            schedules.append(warmup_cosine_decay_schedule(**kwargs))
        except TypeError as e:  # a missing or unknown argument
            raise ScheduleError(f"sgdr_schedule(cosine_kwargs[{i}]): {e}. Each dict holds the arguments of "
                                "warmup_cosine_decay_schedule (init_value, peak_value, warmup_steps, decay_steps, "
                                "end_value, exponent)") from None
        step = step + kwargs["decay_steps"]
        boundaries.append(step)
    if not schedules:
        raise ScheduleError("sgdr_schedule(cosine_kwargs=[]): pass at least one dict of "
                            "warmup_cosine_decay_schedule arguments")
    return join_schedules(schedules, boundaries[:-1])
