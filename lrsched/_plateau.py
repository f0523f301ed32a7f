"""Reduce-on-plateau as data: a pure ``(state, metric) -> state`` reducer.

`plateau(schedule, ...)` wraps any schedule in a multiplicative envelope that is
lowered when a monitored metric stops improving, with the exact semantics of
``torch.optim.lr_scheduler.ReduceLROnPlateau`` (mode, threshold_mode, patience
counted torch's way, cooldown, min_lr, eps). The reducer is pure, so it runs under
``jax.jit``, ``jax.vmap`` (over states and over every number of the plateau) and
inside an Optax state (see :mod:`lrsched.optax`).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import jax
import jax.numpy as jnp

from lrsched._core import (
    Schedule,
    ScheduleError,
    as_float,
    as_number,
    as_step,
    check,
    check_choice,
    check_non_negative,
    check_positive,
    float_dtype,
    int_dtype,
    schedule_class,
    static_field,
)

__all__ = ["plateau", "Plateau", "PlateauState"]

Number = Any


class PlateauState(NamedTuple):
    """The reducer's state (a pytree of scalars, or of arrays under ``vmap``).

    Attributes:
      rate: the reduced rate in units of the reference value (torch's
        ``param_group['lr']`` when the inner schedule is a constant).
      scale: ``rate / reference``, the multiplier applied to the inner schedule.
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
    scale: jax.Array
    best: jax.Array
    num_bad_epochs: jax.Array
    cooldown_counter: jax.Array
    last_epoch: jax.Array
    num_reductions: jax.Array
    count: jax.Array
    window_sum: jax.Array
    window_count: jax.Array


@schedule_class("plateau")
class Plateau(Schedule):
    """``schedule(step) * state.scale`` with a torch-exact reduce-on-plateau reducer."""

    schedule: Schedule
    factor: Number = 0.1
    patience: Number = 10
    threshold: Number = 1e-4
    threshold_mode: str = static_field("rel")
    mode: str = static_field("min")
    cooldown: Number = 0
    min_value: Number = 0.0
    eps: Number = 1e-8
    every: Number = 1
    aggregate: str = static_field("last")
    start: Number = 0
    nan: str = static_field("ignore")
    reference: Number = None

    def validate(self):
        check(self, "factor", lambda a: (a >= 0) & (a < 1), "in [0, 1)",
              "The rate is multiplied by factor at each reduction; torch requires factor < 1")
        check_non_negative(self, "patience", "cooldown", "threshold", "min_value", "eps", "start")
        check_positive(self, "every", "reference")
        check_choice(self, "mode", ("min", "max"))
        check_choice(self, "threshold_mode", ("rel", "abs"))
        check_choice(self, "aggregate", ("last", "mean"))
        check_choice(self, "nan", ("ignore", "bad"))

    # ------------------------------------------------------------ reference

    def reference_value(self) -> jax.Array:
        """The value `min_value` and `eps` are measured against (see :func:`plateau`).

        `reference` when given; else the inner schedule at step
        ``max(start, warmup steps)`` (the warmup of a top-level :func:`warmup`),
        i.e. its value where the plateau starts acting. A value that is not
        positive counts as 1 (the rate is then the multiplier itself).
        """
        if self.reference is not None:
            ref = as_float(self.reference)
        else:
            from lrsched._combinators import Warmup

            at = as_number(self.start)
            if isinstance(self.schedule, Warmup):
                at = jnp.maximum(at, as_number(self.schedule.steps).astype(at.dtype))
            ref = self.schedule(at)
        return jnp.where(ref > 0, ref, jnp.ones((), ref.dtype)).astype(float_dtype())

    # ---------------------------------------------------------------- state

    def init(self) -> PlateauState:
        """The initial state: no reduction yet, ``best`` the worst value for the mode."""
        ref = self.reference_value()
        worst = jnp.inf if self.mode == "min" else -jnp.inf
        zero = jnp.zeros((), int_dtype())
        return PlateauState(
            rate=ref,
            scale=jnp.ones_like(ref),
            best=jnp.asarray(worst, float_dtype()),
            num_bad_epochs=zero,
            cooldown_counter=zero,
            last_epoch=zero,
            num_reductions=zero,
            count=zero,
            window_sum=jnp.zeros((), float_dtype()),
            window_count=zero,
        )

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

    def _evaluate(self, state: PlateauState, current: jax.Array) -> PlateauState:
        """torch's ``ReduceLROnPlateau.step(current)``, branch-free."""
        ints = state.num_bad_epochs.dtype
        better = self._is_better(current, state.best)
        best = jnp.where(better, current, state.best)
        bad = jnp.where(better, jnp.zeros((), ints), state.num_bad_epochs + 1)
        in_cooldown = state.cooldown_counter > 0
        cooldown_counter = jnp.where(in_cooldown, state.cooldown_counter - 1, state.cooldown_counter)
        bad = jnp.where(in_cooldown, jnp.zeros((), ints), bad)
        reduce = bad > as_number(self.patience).astype(ints)
        # torch ReduceLROnPlateau._reduce_lr: new = max(old * factor, min_lr), applied if old - new > eps
        old = state.rate
        new = jnp.maximum(old * as_float(self.factor), as_float(self.min_value))
        applied = reduce & (old - new > as_float(self.eps))
        rate = jnp.where(applied, new, old)
        return state._replace(
            rate=rate,
            scale=jnp.where(applied, rate / self.reference_value(), state.scale),
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
        metric = jnp.asarray(metric).astype(state.best.dtype)
        step = state.count if step is None else as_number(step)
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
        evaluated = self._evaluate(state, current)
        new = jax.tree.map(lambda e, s: jnp.where(due_eval, e, s), evaluated, state)
        return new._replace(
            count=jnp.minimum(state.count, jnp.asarray(jnp.iinfo(ints).max - 1, ints)) + 1,
            window_sum=jnp.where(due, jnp.zeros((), window_sum.dtype), window_sum),
            window_count=jnp.where(due, jnp.zeros((), ints), window_count),
        )

    # ---------------------------------------------------------------- value

    def compute(self, t):
        return self.schedule(t)

    def __call__(self, step: Any, state: PlateauState | None = None) -> jax.Array:
        """The rate at `step` under `state` (None: the initial state, the inner schedule)."""
        t = as_step(step)
        inner = self.schedule(t)
        if state is None:
            return inner
        out = (inner / self.reference_value()) * jnp.asarray(state.rate, float_dtype())
        return jnp.broadcast_to(out, t.shape).astype(float_dtype())

    def scale(self, state: PlateauState) -> jax.Array:
        """The multiplier ``rate / reference`` that `state` applies to the inner schedule."""
        return jnp.asarray(state.scale, float_dtype())


def plateau(schedule: Schedule, factor: Number = 0.1, patience: Number = 10, threshold: Number = 1e-4,
            threshold_mode: str = "rel", mode: str = "min", cooldown: Number = 0, min_value: Number = 0.0,
            eps: Number = 1e-8, *, every: Number = 1, aggregate: str = "last", start: Number = 0,
            nan: str = "ignore", reference: Number | None = None) -> Plateau:
    r"""Reduce `schedule` by `factor` when a metric stops improving (torch's ReduceLROnPlateau).

    The value is an envelope over the inner schedule:

    .. math:: v(t) = s(t) \cdot \frac{r}{r_0}, \qquad
       r \leftarrow \max(r \cdot \text{factor}, \text{min\_value})
       \ \text{ if } r - \max(r \cdot \text{factor}, \text{min\_value}) > \text{eps}

    where ``r`` (``state.rate``) starts at the reference ``r_0`` and is lowered
    when more than `patience` consecutive evaluations brought no improvement
    (min mode: ``metric < best * (1 - threshold)`` ("rel") or
    ``metric < best - threshold`` ("abs"); max mode mirrored); after a
    reduction `cooldown` evaluations are ignored. Those are exactly torch's
    rules, so with a constant inner schedule (``r_0`` its value) the rates equal
    ``ReduceLROnPlateau``'s bit for bit under x64.

    **min_value and eps with a varying schedule.** They are measured in units of
    the reference ``r_0`` (the inner schedule where the plateau starts acting:
    at step ``max(start, warmup steps)``, or `reference` if given). So the
    multiplier never drops below ``min_value / r_0``: after a warmup to 1e-3
    with ``min_value=1e-5`` the rate never goes below 1e-5, the warmup itself
    is never raised, and a decaying inner schedule keeps its shape under the
    floor (the plateau only ever scales it, by a factor in
    ``[min_value / r_0, 1]``).

    **Metrics.** ``update(state, metric)`` is pure. With ``every=N`` the reducer
    evaluates every N accepted metrics, on the last one (``aggregate="last"``) or
    on their mean (``"mean"``); metrics at steps before `start` are ignored
    (so warmup and plateau combine: ``plateau(warmup(s, 500), start=500)``).
    **NaN policy**: with ``nan="ignore"`` (default) a NaN metric (or a NaN mean)
    changes nothing, so it never silently lowers (or raises) the rate; with
    ``nan="bad"`` it counts as a non-improvement, like torch. ``inf`` and ``-inf``
    are ordinary values, as in torch (a diverged loss of ``inf`` is a bad
    evaluation).

    Unlike ``optax.contrib.reduce_on_plateau``, the reduction happens when the
    bad count *exceeds* `patience` (torch), ``patience=0`` reduces on every
    non-improving evaluation, negative metrics work, and there is a max mode
    and eps.

    Args:
      schedule: the inner schedule (e.g. ``constant(1e-3)`` or a warmup).
      factor: multiplier per reduction, in [0, 1).
      patience: evaluations without improvement tolerated before reducing.
      threshold: what counts as an improvement (see `threshold_mode`).
      threshold_mode: "rel" or "abs".
      mode: "min" (a loss) or "max" (an accuracy).
      cooldown: evaluations to skip after a reduction.
      min_value: torch's ``min_lr``, in rate units at the reference.
      eps: reductions smaller than this (in rate units) are skipped.
      every: evaluate every `every` accepted metrics.
      aggregate: "last" or "mean" of the metrics of those `every`.
      start: metrics at steps before `start` are ignored.
      nan: "ignore" or "bad".
      reference: the reference rate ``r_0`` (default: inferred as above).

    Returns:
      A :class:`Plateau`: ``p.init()``, ``p.update(state, metric)``, ``p(step, state)``.

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
    """
    if not isinstance(schedule, Schedule):
        raise ScheduleError(
            f"plateau(schedule): expected an lrsched Schedule; got {type(schedule).__name__}. "
            "Wrap a number with lrsched.constant(value)"
        )
    return Plateau(schedule, factor, patience, threshold, threshold_mode, mode, cooldown, min_value, eps,
                   every, aggregate, start, nan, reference)
