"""Reduce-on-plateau as data: a pure ``(state, metric) -> state`` reducer.

`plateau(schedule, ...)` lowers any schedule when a monitored metric stops
improving, with the exact semantics of ``torch.optim.lr_scheduler.ReduceLROnPlateau``
(mode, threshold_mode, patience counted torch's way, cooldown, min_lr, eps). The
reducer is pure, so it runs under ``jax.jit``, ``jax.vmap`` (over states and over
every number of the plateau) and inside an Optax state (see :mod:`lrsched.optax`).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np

from lrsched._core import (
    Leaf,
    Schedule,
    ScheduleError,
    check,
    check_non_negative,
    check_positive,
    choice_field,
    concrete,
    count_field,
    fail,
    need_schedule,
    schedule_class,
    schedule_field,
)
from lrsched._numerics import as_float, as_number, as_step, check_step_range, float_dtype, int_dtype

__all__ = ["plateau", "Plateau", "PlateauState"]


_METRIC_IS = ("a real number (a Python int or float) or a 0-d or one-element array of a float or integer "
              "dtype, traced values included")


def _show(metric: Any, m: jax.Array) -> str:
    """The metric as an error message shows it: the value for a Python scalar, dtype and shape for an array
    (a tracer's repr says nothing useful)."""
    return repr(metric) if isinstance(metric, (bool, int, float, complex)) else (
        f"an array of dtype {m.dtype} and shape {tuple(m.shape)}")


def scalar_metric(where: str, metric: Any) -> jax.Array:
    """The monitored metric as a 0-d array: one real number, or an array of one element of a float or
    integer dtype (torch's ``float(metric)`` takes those too). Anything else is refused here, at the call,
    with a :class:`ScheduleError` that says what the metric must be, rather than failing later inside JAX
    or being silently taken as a number: None, strings, bools (a Python bool, or a bool array, traced ones
    included: judged by dtype), complex numbers, and arrays of more than one element."""
    if metric is None:
        raise ScheduleError(f"{where}: the monitored metric is None; it must be {_METRIC_IS}. Pass the loss "
                            "(or accuracy) of this step, e.g. value=loss")
    if isinstance(metric, (str, bytes)):
        raise ScheduleError(f"{where}: the monitored metric is the {type(metric).__name__} {metric!r}; it must be "
                            f"{_METRIC_IS}. Convert it first, e.g. float({metric!r})")
    try:
        m = jnp.asarray(metric)
    except TypeError as e:  # what JAX cannot hold (an object, an array of strings): say what a metric is
        raise ScheduleError(f"{where}: the monitored metric {metric!r} ({type(metric).__name__}) is not a number: "
                            f"it must be {_METRIC_IS}. Pass the loss as a number or a JAX/numpy scalar") from e
    if m.dtype == jnp.bool_:
        raise ScheduleError(
            f"{where}: the monitored metric is a bool ({_show(metric, m)}); it must be {_METRIC_IS}, never a bool "
            "(True would silently count as 1.0). Pass the loss or accuracy itself; a flag such as 'improved' is "
            "not a metric: the plateau decides improvement itself")
    if not (jnp.issubdtype(m.dtype, jnp.floating) or jnp.issubdtype(m.dtype, jnp.integer)):
        raise ScheduleError(
            f"{where}: the monitored metric has dtype {m.dtype} ({_show(metric, m)}); it must be {_METRIC_IS}. "
            "A plateau compares metrics by size: pass a real value (the loss, or jnp.abs of a complex one)")
    if m.size != 1:
        raise ScheduleError(
            f"{where}: the monitored metric must be one number; got an array of shape {tuple(m.shape)}. "
            "Reduce it first (e.g. value=jnp.mean(losses)); for a sweep of plateau schedules, jax.vmap the "
            "update so that each configuration gets its own scalar"
        )
    return m.reshape(())


class PlateauState(NamedTuple):
    """The reducer's state (a pytree of scalars, or of arrays under ``vmap``).

    Attributes:
      rate: the rate the last reduction set (1 before the first): with a
        constant inner schedule, torch's ``param_group['lr']``.
      base: the inner schedule's value at the step of that reduction (1 before
        the first); the schedule is scaled by ``rate / base`` (see :func:`plateau`).
      best: the best metric so far (``inf`` in mode "min", ``-inf`` in "max").
      num_bad_epochs: torch's counter of evaluations without improvement.
      cooldown_counter: evaluations left in the cooldown.
      last_epoch: evaluations done (torch's ``last_epoch``).
      num_reductions: how many times the rate was lowered.
      count: calls of ``update`` so far (metrics seen, ignored ones included).
      window_sum: sum of the metrics accepted since the last evaluation.
      window_count: how many metrics that sum holds.
    """

    rate: jax.Array
    base: jax.Array
    best: jax.Array
    num_bad_epochs: jax.Array
    cooldown_counter: jax.Array
    last_epoch: jax.Array
    num_reductions: jax.Array
    count: jax.Array  # type: ignore[assignment]  # the field shadows tuple.count
    window_sum: jax.Array
    window_count: jax.Array


@schedule_class("plateau")
class Plateau(Schedule):
    """A schedule lowered by a reduce-on-plateau reducer: ``p(step, state)`` (see :func:`plateau`).

    Stateful: ``p.init()`` gives the state, ``p.update(state, metric, step)`` the
    next one, ``p(step, state)`` the value. ``p.schedule`` is the inner schedule
    (``p.schedule(step)``: the values before any reduction).
    """

    stateful = True
    stretchable = False

    schedule: Schedule = schedule_field()
    factor: Leaf = 0.1
    patience: Leaf = count_field(default=10)
    threshold: Leaf = 1e-4
    threshold_mode: str = choice_field("rel", "abs", default="rel")
    mode: str = choice_field("min", "max", default="min")
    cooldown: Leaf = count_field(default=0)
    min_value: Leaf = 0.0
    eps: Leaf = 1e-8
    every: Leaf = count_field(default=1)
    aggregate: str = choice_field("last", "mean", default="last")
    start: Leaf = 0
    nan: str = choice_field("ignore", "bad", default="ignore")

    def validate(self):
        check(self, "factor", lambda a: (a >= 0) & (a < 1), "in [0, 1)",
              "The rate is multiplied by factor at each reduction; torch requires factor < 1")
        check_non_negative(self, "patience", "cooldown", "min_value", "eps", "start")  # (threshold: any, as torch)
        check_positive(self, "every")
        for name in ("factor", "patience", "threshold", "cooldown", "min_value", "eps", "start", "every"):
            value = concrete(getattr(self, name))
            if value is not None and value.ndim:  # (its state is one state: a batch is a stack of plateaus)
                fail(self, name, "one number (a plateau's state takes one decision per update)",
                     "For a sweep, build one plateau per configuration and stack them (lrsched.sweep.stack), "
                     "then jax.vmap init, update and the value")

    # ---------------------------------------------------------------- state

    def init(self) -> PlateauState:
        """The initial state: no reduction yet, ``best`` the worst value for the mode."""
        one = jnp.ones((), float_dtype())
        worst = jnp.inf if self.mode == "min" else -jnp.inf
        zero = jnp.zeros((), int_dtype())
        return PlateauState(
            rate=one,
            base=one,
            best=jnp.asarray(worst, float_dtype()),
            num_bad_epochs=zero,
            cooldown_counter=zero,
            last_epoch=zero,
            num_reductions=zero,
            count=zero,
            window_sum=jnp.zeros((), float_dtype()),
            window_count=zero,
        )

    def apply(self, value: Any, state: PlateauState) -> jax.Array:
        """The reduced rate for the inner schedule's `value` under `state`:
        ``min(value, max(value / state.base * state.rate, min_value))``."""
        value = as_float(value)
        scaled = (value / jnp.asarray(state.base, value.dtype)) * jnp.asarray(state.rate, value.dtype)
        return jnp.minimum(value, jnp.maximum(scaled, as_float(self.min_value)))

    def scale(self, state: PlateauState) -> jax.Array:
        """The multiplier ``rate / base`` that `state` applies to the inner schedule (before the floor)."""
        return jnp.asarray(state.rate, float_dtype()) / jnp.asarray(state.base, float_dtype())

    def _is_better(self, a: jax.Array, best: jax.Array) -> jax.Array:
        # torch ReduceLROnPlateau._is_better, same operation order (bit-exact under x64)
        thr = as_float(self.threshold)
        if self.mode == "min" and self.threshold_mode == "rel":
            return a < best * (1.0 - thr)
        if self.mode == "min":
            return a < best - thr
        if self.threshold_mode == "rel":
            return a > best * (thr + 1.0)
        return a > best + thr

    def _evaluate(self, state: PlateauState, current: jax.Array, inner: jax.Array) -> PlateauState:
        """torch's ``ReduceLROnPlateau.step(current)``, branch-free, on the rate at the metric's
        step (`inner` is the inner schedule there)."""
        ints = state.num_bad_epochs.dtype
        better = self._is_better(current, state.best)
        best = jnp.where(better, current, state.best)
        bad = jnp.where(better, jnp.zeros((), ints), state.num_bad_epochs + 1)
        in_cooldown = state.cooldown_counter > 0
        cooldown_counter = jnp.where(in_cooldown, state.cooldown_counter - 1, state.cooldown_counter)
        bad = jnp.where(in_cooldown, jnp.zeros((), ints), bad)
        reduce = bad > as_number(self.patience).astype(ints)
        # torch ReduceLROnPlateau._reduce_lr: new = max(old * factor, min_lr), applied if old - new > eps;
        # `old` is the rate at this step, and a reduction never raises a rate above the schedule
        old = self.apply(inner, state)
        new = jnp.minimum(inner, jnp.maximum(old * as_float(self.factor), as_float(self.min_value)))
        applied = reduce & (old - new > as_float(self.eps))
        return state._replace(
            rate=jnp.where(applied, new, state.rate),
            base=jnp.where(applied, inner, state.base),
            best=best,
            num_bad_epochs=jnp.where(reduce, jnp.zeros((), ints), bad),
            cooldown_counter=jnp.where(reduce, as_number(self.cooldown).astype(ints), cooldown_counter),
            last_epoch=state.last_epoch + 1,
            num_reductions=state.num_reductions + applied.astype(ints),
        )

    def update(self, state: PlateauState, metric: Any, step: Any = None) -> PlateauState:
        """Feed one metric value; returns the new state (pure: jit- and vmap-safe).

        Args:
          state: the current state (from :meth:`init` or a previous update).
          metric: a scalar (loss, accuracy, ...). NaN follows the ``nan`` option.
          step: the training step the metric belongs to, compared with ``start``;
            default: the number of earlier ``update`` calls (``state.count``).

        Returns:
          The next state. A metric before ``start`` (or a NaN with
          ``nan="ignore"``) changes nothing but ``count``. Every ``every`` accepted
          metrics, their last value (``aggregate="last"``) or mean (``"mean"``) is
          evaluated exactly like torch's ``ReduceLROnPlateau.step(metric)``.
        """
        ints = state.count.dtype
        metric = scalar_metric("plateau(...).update(state, metric)", metric).astype(state.best.dtype)
        step = state.count if step is None else self._step(step)
        accept = step >= as_number(self.start).astype(step.dtype)
        if self.nan == "ignore":
            accept = accept & ~jnp.isnan(metric)
        window_sum = jnp.where(accept, state.window_sum + metric, state.window_sum)
        window_count = state.window_count + accept.astype(ints)
        due = accept & (window_count >= as_number(self.every).astype(ints))
        current = metric if self.aggregate == "last" else window_sum / window_count.astype(window_sum.dtype)
        if self.nan == "ignore":
            skip = jnp.isnan(current)  # e.g. the mean of inf and -inf: ignored as well
            due_eval = due & ~skip
        else:
            due_eval = due
        evaluated = self._evaluate(state, current, as_float(self.schedule(step)))
        new = jax.tree.map(lambda e, s: jnp.where(due_eval, e, s), evaluated, state)
        return new._replace(
            count=jnp.minimum(state.count, jnp.asarray(jnp.iinfo(ints).max - 1, ints)) + 1,
            window_sum=jnp.where(due, jnp.zeros((), window_sum.dtype), window_sum),
            window_count=jnp.where(due, jnp.zeros((), ints), window_count),
        )

    @staticmethod
    def _step(step: Any) -> jax.Array:
        """An update's `step`, checked as a schedule's steps are (no bool, string, or integer past the step
        integer), and one finite step: an array would batch the state (one update takes one metric at one step;
        under ``vmap`` each member's step is one), a NaN would never reach ``start``."""
        check_step_range(step)
        if jnp.ndim(step) != 0:
            raise ScheduleError(
                f"plateau(...).update(state, metric, step): step must be one step count; got shape {jnp.shape(step)}. "
                "One update takes one metric at one step: call update once per evaluation (under jax.vmap, each "
                "member's own step)")
        c = concrete(step)
        if c is not None and not np.isfinite(c):
            raise ScheduleError(f"plateau(...).update(state, metric, step): step must be finite; got {step!r}. "
                                "Pass the training step the metric belongs to")
        return as_number(step)

    # ---------------------------------------------------------------- value

    def compute(self, t):
        raise _stateless_call()

    def __call__(self, step: Any, state: PlateauState | None = None) -> jax.Array:
        """The rate at `step` under `state` (:meth:`init` for the initial state)."""
        if state is None:
            raise _stateless_call()
        t = as_step(step)
        out = self.apply(self.schedule(t), state)
        return jnp.broadcast_to(out, t.shape).astype(float_dtype())


def _stateless_call() -> ScheduleError:
    return ScheduleError(
        "plateau(...)(step): a plateau schedule needs its state and the monitored metric, so it cannot be "
        "used as a plain function of the step (optax.sgd(plateau(...)) would never reduce). In Optax use "
        "lrsched.optax.scale_by_schedule(p) or lrsched.optax.inject(optax.sgd, learning_rate=p) and pass "
        "tx.update(..., value=loss); in torch, lrsched_torch.ScheduleLR(opt, lr=p) and sched.step(loss); "
        "by hand, p(step, state) with state = p.init() and state = p.update(state, loss, step). "
        "p.schedule(step) gives the values before any reduction"
    )


def plateau(schedule: Schedule, factor: Leaf = 0.1, patience: Leaf = 10, threshold: Leaf = 1e-4,
            threshold_mode: str = "rel", mode: str = "min", cooldown: Leaf = 0, min_value: Leaf = 0.0,
            eps: Leaf = 1e-8, *, every: Leaf = 1, aggregate: str = "last", start: Leaf = 0,
            nan: str = "ignore") -> Plateau:
    r"""Lower `schedule` by `factor` when a metric stops improving (torch's ReduceLROnPlateau).

    **The rule.** The plateau keeps a multiplier ``c`` (1 at first) and gives

    .. math:: v(t) = \min\big(s(t),\ \max(c\, s(t),\ \text{min\_value})\big)

    a floor on the rate itself (torch's ``min_lr``) that never raises a rate
    above the schedule. A reduction is decided on the rate at the step ``t`` of
    the metric, exactly as torch decides on ``param_group['lr']``:

    .. math:: r = v(t),\quad r' = \min\big(s(t),\ \max(r \cdot \text{factor},\ \text{min\_value})\big),
              \quad \text{applied if } r - r' > \text{eps}

    and then ``c = r' / s(t)`` (held as ``state.rate = r'`` and ``state.base =
    s(t)``, so a constant schedule gets torch's rates bit for bit under x64,
    including a base rate already below ``min_value``, which torch leaves alone).
    So two schedules with the same values behave the same, whatever they are
    built of: the rule only sees ``s`` at the steps. A warmup is never raised;
    a decaying schedule keeps its shape, scaled by ``c`` and floored at
    `min_value` (where the schedule itself goes below `min_value`, it is
    followed).

    The reduction happens when more than `patience` consecutive evaluations
    brought no improvement (min mode: ``metric < best * (1 - threshold)``
    ("rel") or ``metric < best - threshold`` ("abs"); max mode mirrored); after
    a reduction `cooldown` evaluations are ignored. Those are torch's rules.

    **Metrics.** ``update(state, metric, step)`` is pure. With ``every=N`` the reducer
    evaluates every N accepted metrics, on the last one (``aggregate="last"``) or
    on their mean (``"mean"``); metrics at steps before `start` are ignored
    (so warmup and plateau combine: ``plateau(warmup(s, 500), start=500)``).
    **NaN policy**: with ``nan="ignore"`` (default) a NaN metric (or a NaN mean)
    changes nothing, so it never silently lowers (or raises) the rate; with
    ``nan="bad"`` it counts as a non-improvement, like torch. ``inf`` and ``-inf``
    are ordinary values, as in torch (a diverged loss of ``inf`` is a bad
    evaluation).

    **Use.** A plateau is stateful: call it as ``p(step, state)``. Calling it
    with a step alone raises (so ``optax.sgd(plateau(...))``, which could never
    feed it a metric, fails at once); use :func:`lrsched.optax.scale_by_schedule`
    or :func:`lrsched.optax.inject` (the metric as ``tx.update(..., value=loss)``)
    or ``lrsched_torch.ScheduleLR``. ``p.schedule(step)`` is the inner schedule.

    Unlike ``optax.contrib.reduce_on_plateau``, the reduction happens when the
    bad count *exceeds* `patience` (torch), ``patience=0`` reduces on every
    non-improving evaluation, and there is a max mode and eps. Negative metrics
    follow torch: with ``threshold_mode="rel"`` a flat negative metric counts as
    an improvement (``best * (1 - threshold)`` lies above a negative ``best``), so
    the rate is never reduced, as in torch and optax; use ``threshold_mode="abs"``
    for metrics that can be negative.

    Args:
      schedule: the inner schedule (e.g. ``constant(1e-3)`` or a warmup).
      factor: multiplier per reduction, in [0, 1).
      patience: evaluations without improvement tolerated before reducing.
      threshold: what counts as an improvement (see `threshold_mode`); negative, as torch
        allows, counts a metric up to that much worse as an improvement (no reduction).
      threshold_mode: "rel" or "abs".
      mode: "min" (a loss) or "max" (an accuracy).
      cooldown: evaluations to skip after a reduction.
      min_value: torch's ``min_lr``: the plateau never lowers the rate below it.
      eps: reductions of the rate smaller than this are skipped (torch's ``eps``).
      every: evaluate every `every` accepted metrics.
      aggregate: "last" or "mean" of the metrics of those `every`.
      start: metrics at steps before `start` are ignored.
      nan: "ignore" or "bad".

    Returns:
      A :class:`Plateau`: ``p.init()``, ``p.update(state, metric, step)``, ``p(step, state)``.

    Examples:
      >>> import lrsched
      >>> p = lrsched.plateau(lrsched.constant(1.0), factor=0.5, patience=1)
      >>> state = p.init()
      >>> for loss in [3.0, 2.0, 2.0, 2.0, 2.0]:
      ...     state = p.update(state, loss)
      ...     print(float(p(0, state)))
      1.0
      1.0
      1.0
      0.5
      0.5

      The floor is on the rate, whatever the schedule is built of:

      >>> a = lrsched.plateau(lrsched.warmup(lrsched.cosine(1e-3, 900), 100), patience=0, min_value=1e-5)
      >>> b = lrsched.plateau(lrsched.warmup_cosine(1e-3, 100, 1000), patience=0, min_value=1e-5)
      >>> def last(p):
      ...     state = p.init()
      ...     for step, loss in enumerate([1.0] + [2.0] * 5):
      ...         state = p.update(state, loss, step=100 + step)
      ...     return float(p(105, state))
      >>> round(last(a), 9) == round(last(b), 9) == 1e-5
      True
    """
    need_schedule("plateau(schedule)", schedule, "Wrap a number with lrsched.constant(value)")
    return Plateau(schedule, factor, patience, threshold, threshold_mode, mode, cooldown, min_value, eps,
                   every, aggregate, start, nan)
