r"""torch.optim.lr_scheduler, step for step, as lrsched Schedules (torch is not imported).

Every constructor has torch's name and argument names; where torch takes the
optimizer, these take ``base_lr`` (the optimizer's ``lr``), or ``max_lr`` /
``base_lr, max_lr`` where torch does. The value at step ``t`` equals torch's
``get_last_lr()[0]`` after ``t`` calls of ``scheduler.step()``. Where torch raises
past the end (``OneCycleLR``) the final value is held. Every numeric argument is
a pytree leaf: ``jax.vmap`` over ``max_lr`` and ``pct_start`` at once just works.

Examples:
  >>> import lrsched
  >>> from lrsched.compat import torch as tc
  >>> lrsched.evaluate(tc.StepLR(1.0, step_size=10, gamma=0.5), [0, 9, 10, 25])
  array([1.  , 1.  , 0.5 , 0.25], dtype=float32)
  >>> lrsched.evaluate(tc.ExponentialLR(0.1, gamma=0.9), 4).round(5)
  array([0.1   , 0.09  , 0.081 , 0.0729], dtype=float32)
  >>> s = tc.CosineAnnealingLR(0.1, T_max=10, eta_min=0.001)
  >>> lrsched.evaluate(s, [0, 5, 10, 15, 20]).round(4)  # keeps oscillating, as torch does
  array([0.1   , 0.0505, 0.001 , 0.0505, 0.1   ], dtype=float32)

  A 5-epoch linear warmup to 0.01, then cosine to epoch 20 (torch:
  ``SequentialLR([LinearLR(opt, 0.2, total_iters=5), CosineAnnealingLR(opt, 15)], [5])``):

  >>> warm = tc.SequentialLR([tc.LinearLR(0.01, start_factor=0.2, total_iters=5),
  ...                         tc.CosineAnnealingLR(0.01, T_max=15)], milestones=[5])
  >>> lrsched.evaluate(warm, [0, 1, 4, 5, 12, 20]).round(5)
  array([0.002  , 0.0036 , 0.0084 , 0.01   , 0.00552, 0.     ], dtype=float32)
  >>> same = lrsched.warmup(lrsched.cosine(0.01, steps=15), steps=5, init_value=0.002)
  >>> bool(abs(lrsched.evaluate(same, 21) - lrsched.evaluate(warm, 21)).max() < 1e-9)
  True
  >>> one = tc.OneCycleLR(max_lr=0.1, steps_per_epoch=100, epochs=10)
  >>> lrsched.evaluate(one, [0, 299, 999, 5000]).round(8)  # holds past the end
  array([4.0e-03, 1.0e-01, 4.0e-07, 4.0e-07], dtype=float32)
  >>> lrsched.evaluate(tc.OneCycleMomentum(max_lr=0.1, steps_per_epoch=100, epochs=10), [0, 299, 999])
  array([0.95, 0.85, 0.95], dtype=float32)
"""

from __future__ import annotations

import weakref
from typing import Any, Callable, Sequence

import jax.numpy as jnp
import numpy as np

import lrsched
from lrsched import Schedule, ScheduleError
from lrsched.compat._common import Leaves, Real, any_traced, checked, choose, is_concretely, require, same_shape, vector

__all__ = [
    "StepLR", "MultiStepLR", "ConstantLR", "LinearLR", "ExponentialLR", "PolynomialLR",
    "CosineAnnealingLR", "CosineAnnealingWarmRestarts", "CyclicLR", "OneCycleLR", "SequentialLR",
    "ReduceLROnPlateau", "OneCycleMomentum", "CyclicMomentum",
]


# --------------------------------------------------------- recursive family

# How a child restarts inside torch's SequentialLR, where it differs from the child alone. At a
# milestone SequentialLR calls ``child._update_lr(0)``: the child's closed form at step 0, then its
# recursive steps from there. For most children that is the schedule itself; a ``total_iters=0``
# ConstantLR alone keeps ``factor`` forever (its recursive step never sees step 0 again) but restarts
# at ``base_lr`` (its closed form), and LinearLR / PolynomialLR with ``total_iters=0`` make torch
# divide by zero. Keyed by the schedule object these constructors return: a replacement schedule,
# or the message of the error torch raises.
_RESTARTS: weakref.WeakKeyDictionary[Schedule, Schedule | str] = weakref.WeakKeyDictionary()


def _zero_iters(total_iters: Any) -> bool | None:
    """Whether `total_iters` is 0: True/False when concrete, None when traced."""
    if any_traced(total_iters) or np.ndim(total_iters) != 0:
        return None
    return bool(np.asarray(total_iters) == 0)


@checked
def StepLR(base_lr: Real, step_size: Real, gamma: Real = 0.1) -> Schedule:
    r"""torch's ``StepLR(optimizer, step_size, gamma=0.1)``: multiply by `gamma` every `step_size` steps.

    .. math:: \eta_t = \eta_0 \, \gamma^{\lfloor t / s \rfloor}

    Built as :func:`lrsched.step_decay`.

    Args:
      base_lr: the optimizer's learning rate (torch's ``initial_lr``).
      step_size: the number of steps between two multiplications (> 0).
      gamma: the multiplier per `step_size` steps.

    Returns:
      An lrsched Schedule.

    Examples:
      >>> import lrsched
      >>> from lrsched.compat import torch as tc
      >>> lrsched.evaluate(tc.StepLR(1.0, step_size=2, gamma=0.5), 6)
      array([1.  , 1.  , 0.5 , 0.5 , 0.25, 0.25], dtype=float32)
    """
    return lrsched.step_decay(base_lr, step_size, gamma)


@checked
def MultiStepLR(base_lr: Real, milestones: Leaves, gamma: Real = 0.1) -> Schedule:
    r"""torch's ``MultiStepLR(optimizer, milestones, gamma=0.1)``: multiply by `gamma` at each milestone.

    .. math:: \eta_t = \eta_0 \, \gamma^{\#\{m_i \le t\}}

    A repeated milestone counts twice, as in torch; milestones are sorted for you.
    Built as :func:`lrsched.multistep`.

    Args:
      base_lr: the optimizer's learning rate (torch's ``initial_lr``).
      milestones: the steps where the rate is multiplied (any order; a repeated one counts twice).
      gamma: the multiplier at each milestone.

    Returns:
      An lrsched Schedule.

    Examples:
      >>> import lrsched
      >>> from lrsched.compat import torch as tc
      >>> lrsched.evaluate(tc.MultiStepLR(1.0, milestones=[3, 1], gamma=0.1), 4)
      array([1.  , 0.1 , 0.1 , 0.01], dtype=float32)
    """
    if isinstance(milestones, (list, tuple)) and any_traced(*milestones):
        milestones = vector(milestones)
    if any_traced(milestones):
        milestones = jnp.sort(jnp.asarray(milestones), axis=-1)
    else:
        milestones = np.sort(np.asarray(milestones), axis=-1)
        require("MultiStepLR", "milestones", milestones, lambda a: a >= 0, "non-negative step counts",
                 "torch never reaches a negative milestone; drop it")
    return lrsched.multistep(base_lr, milestones, gamma)


@checked
def ConstantLR(base_lr: Real, factor: Real = 1.0 / 3, total_iters: Real = 5) -> Schedule:
    r"""torch's ``ConstantLR(optimizer, factor=1/3, total_iters=5)``.

    .. math:: \eta_t = \eta_0 \cdot (f \text{ if } t < T \text{ else } 1)

    With ``total_iters=0`` torch's ``step()`` keeps ``factor`` forever (it never
    sees step ``T`` after the first); so does this. Built as
    ``piecewise_constant([T], [f, 1]) * base_lr``.

    Args:
      base_lr: the optimizer's learning rate (torch's ``initial_lr``).
      factor: the fraction of `base_lr` held before `total_iters`, in [0, 1].
      total_iters: the number of steps the factor is held (>= 0).

    Returns:
      An lrsched Schedule.

    Examples:
      >>> import lrsched
      >>> from lrsched.compat import torch as tc
      >>> lrsched.evaluate(tc.ConstantLR(1.0, factor=0.5, total_iters=2), 4)
      array([0.5, 0.5, 1. , 1. ], dtype=float32)
    """
    require("ConstantLR", "factor", factor, lambda a: (a >= 0) & (a <= 1), "in [0, 1]",
             "Pass the fraction of base_lr to hold, as torch requires")
    require("ConstantLR", "total_iters", total_iters, lambda a: a >= 0, "non-negative", "Pass a step count >= 0")
    same_shape("ConstantLR", factor=factor, total_iters=total_iters)
    after = choose(total_iters > 0, 1.0, factor)
    schedule = lrsched.piecewise_constant(vector([total_iters]), vector([factor, after])) * base_lr
    if _zero_iters(total_iters) is not False:  # restarted by SequentialLR: the closed form
        _RESTARTS[schedule] = lrsched.piecewise_constant(vector([total_iters]), vector([factor, 1.0])) * base_lr
    return schedule


@checked
def LinearLR(base_lr: Real, start_factor: Real = 1.0 / 3, end_factor: Real = 1.0,
             total_iters: Real = 5) -> Schedule:
    r"""torch's ``LinearLR(optimizer, start_factor=1/3, end_factor=1.0, total_iters=5)``.

    .. math:: \eta_t = \eta_0 \left(s + (e - s)\,\min(t, T) / T\right)

    With ``total_iters=0`` torch's ``step()`` keeps ``start_factor`` forever; so
    does this. Built as ``linear(s, e, T) * base_lr``.

    Args:
      base_lr: the optimizer's learning rate (torch's ``initial_lr``).
      start_factor: the fraction of `base_lr` at step 0, in (0, 1].
      end_factor: the fraction of `base_lr` from `total_iters` on, in [0, 1].
      total_iters: the length of the ramp in steps (>= 0).

    Returns:
      An lrsched Schedule.

    Examples:
      >>> import lrsched
      >>> from lrsched.compat import torch as tc
      >>> lrsched.evaluate(tc.LinearLR(1.0, start_factor=0.5, total_iters=2), 4)
      array([0.5 , 0.75, 1.  , 1.  ], dtype=float32)
    """
    require("LinearLR", "start_factor", start_factor, lambda a: (a > 0) & (a <= 1), "in (0, 1]",
             "torch cannot start a LinearLR at 0; start from a small positive factor")
    require("LinearLR", "end_factor", end_factor, lambda a: (a >= 0) & (a <= 1), "in [0, 1]",
             "Pass a factor of base_lr")
    require("LinearLR", "total_iters", total_iters, lambda a: a >= 0, "non-negative", "Pass a step count >= 0")
    end = choose(total_iters > 0, end_factor, start_factor)
    schedule = lrsched.linear(start_factor, end, total_iters) * base_lr
    if _zero_iters(total_iters):
        _RESTARTS[schedule] = "LinearLR(total_iters=0)"
    return schedule


@checked
def ExponentialLR(base_lr: Real, gamma: Real) -> Schedule:
    r"""torch's ``ExponentialLR(optimizer, gamma)``: multiply by `gamma` every step.

    .. math:: \eta_t = \eta_0 \, \gamma^t

    Built as ``lrsched.step_decay(base_lr, 1, gamma)``: an integer power of
    `gamma`, which float32 computes more precisely than ``exp(t log gamma)``.

    Args:
      base_lr: the optimizer's learning rate (torch's ``initial_lr``).
      gamma: the multiplier per step.

    Returns:
      An lrsched Schedule.

    Examples:
      >>> import lrsched
      >>> from lrsched.compat import torch as tc
      >>> lrsched.evaluate(tc.ExponentialLR(1.0, gamma=0.5), 4)
      array([1.   , 0.5  , 0.25 , 0.125], dtype=float32)
    """
    return lrsched.step_decay(base_lr, 1, gamma)


@checked
def PolynomialLR(base_lr: Real, total_iters: Real = 5, power: Real = 1.0) -> Schedule:
    r"""torch's ``PolynomialLR(optimizer, total_iters=5, power=1.0)``: decay to 0 at `total_iters`.

    .. math:: \eta_t = \eta_0 \left(1 - \min(t, T) / T\right)^{p}

    With ``total_iters=0`` torch's ``step()`` keeps ``base_lr``; so does this, and
    so does ``power=0`` (torch's factor ``x ** 0`` is 1 everywhere, ``0 ** 0`` included).
    Built as ``polynomial(1, 0, T, p) * base_lr``.

    Args:
      base_lr: the optimizer's learning rate (torch's ``initial_lr``).
      total_iters: the length of the decay in steps (>= 0).
      power: the exponent of the decay (>= 0; 0 keeps `base_lr`).

    Returns:
      An lrsched Schedule.

    Examples:
      >>> import lrsched
      >>> from lrsched.compat import torch as tc
      >>> lrsched.evaluate(tc.PolynomialLR(1.0, total_iters=4, power=2.0), 6)
      array([1.    , 0.5625, 0.25  , 0.0625, 0.    , 0.    ], dtype=float32)
    """
    require("PolynomialLR", "total_iters", total_iters, lambda a: a >= 0, "non-negative",
             "Pass a step count >= 0")
    end = choose(total_iters > 0, 0.0, 1.0)
    if is_concretely(power, 0.0):  # torch's x ** 0: a constant factor of 1 (the core's power is positive)
        end, power = 1.0, 1.0
    schedule = lrsched.polynomial(1.0, end, total_iters, power) * base_lr
    if _zero_iters(total_iters):
        _RESTARTS[schedule] = "PolynomialLR(total_iters=0)"
    return schedule


@checked
def CosineAnnealingLR(base_lr: Real, T_max: Real, eta_min: Real = 0.0) -> Schedule:
    r"""torch's ``CosineAnnealingLR(optimizer, T_max, eta_min=0.0)``, oscillating past `T_max` as torch does.

    .. math:: \eta_t = \eta_{min} + (\eta_0 - \eta_{min}) \, \tfrac12 \left(1 + \cos(\pi t / T_{max})\right)

    for every ``t``: down to `eta_min` at ``T_max``, back up to `base_lr` at
    ``2 T_max`` and so on (period ``2 T_max``). The step is mirrored into
    ``[0, T_max]`` with integer arithmetic and the cosine evaluated without
    cancellation, so values near `eta_min` keep full relative precision (torch's
    recursive update drifts by ~1e-12 over 10,000 steps). For a decay that stays
    at `eta_min`, use ``lrsched.cosine`` without ``periodic``.

    Built as ``lrsched.cosine(base_lr, T_max, eta_min, periodic=True)``.

    Args:
      base_lr: the optimizer's learning rate (torch's ``initial_lr``).
      T_max: the half-period, in steps (> 0).
      eta_min: the lowest rate.

    Returns:
      An lrsched Schedule.

    Examples:
      >>> import lrsched
      >>> from lrsched.compat import torch as tc
      >>> lrsched.evaluate(tc.CosineAnnealingLR(1.0, T_max=2), 6).round(4)
      array([1. , 0.5, 0. , 0.5, 1. , 0.5], dtype=float32)
    """
    require("CosineAnnealingLR", "T_max", T_max, lambda a: a > 0, "positive", "Pass the half-period in steps")
    return lrsched.cosine(base_lr, T_max, eta_min, periodic=True)


@checked
def CosineAnnealingWarmRestarts(base_lr: Real, T_0: Real, T_mult: Real = 1, eta_min: Real = 0.0) -> Schedule:
    r"""torch's ``CosineAnnealingWarmRestarts(optimizer, T_0, T_mult=1, eta_min=0.0)`` (SGDR, arXiv:1608.03983).

    .. math:: \eta_t = \eta_{min} + (\eta_0 - \eta_{min}) \, \tfrac12 \left(1 + \cos(\pi T_{cur} / T_i)\right)

    where cycle ``i`` lasts ``T_i = T_0 T_{mult}^i`` steps and ``T_cur`` counts the
    steps since its start; every cycle restarts at `base_lr`. Built as
    ``lrsched.cycle(lrsched.cosine(base_lr, T_0, eta_min), T_0, T_mult)``: the
    cycle stretches the cosine by scaling its length by the integer
    ``T_mult**i``, so the phase ``T_cur / T_i`` comes from exact integers and
    values near `eta_min` at the end of each cycle keep full relative precision.

    Args:
      base_lr: the optimizer's learning rate (torch's ``initial_lr``).
      T_0: the first cycle's length, in steps (> 0).
      T_mult: the factor by which each cycle is longer than the previous one (an integer >= 1 in torch).
      eta_min: the lowest rate.

    Returns:
      An lrsched Schedule.

    Examples:
      >>> import lrsched
      >>> from lrsched.compat import torch as tc
      >>> lrsched.evaluate(tc.CosineAnnealingWarmRestarts(1.0, T_0=2, T_mult=2), 7).round(4)
      array([1.    , 0.5   , 1.    , 0.8536, 0.5   , 0.1464, 1.    ], dtype=float32)
    """
    require("CosineAnnealingWarmRestarts", "T_0", T_0, lambda a: a > 0, "positive", "Pass the first period in steps")
    require("CosineAnnealingWarmRestarts", "T_mult", T_mult, lambda a: a >= 1, ">= 1 (an integer in torch)",
            "Pass 1 for equal cycles or e.g. 2")
    return lrsched.cycle(lrsched.cosine(base_lr, T_0, eta_min), T_0, T_mult)


# ------------------------------------------------------------------ cyclic


def _cyclic(where: str, low: Any, high: Any, step_size_up: Any, step_size_down: Any, mode: str, gamma: Any,
            scale_fn: Any, scale_mode: str) -> Schedule:
    require(where, "step_size_up", step_size_up, lambda a: a > 0, "positive", "Pass a step count >= 1")
    if step_size_down is not None:
        require(where, "step_size_down", step_size_down, lambda a: a > 0, "positive", "Pass a step count >= 1")
    if scale_fn is not None:
        if scale_mode not in ("cycle", "iterations"):
            raise ScheduleError(f"{where}(scale_mode={scale_mode!r}): scale_mode must be 'cycle' or "
                                "'iterations'. Pick one of ['cycle', 'iterations']")
        return lrsched.cyclic(low, high, step_size_up, step_size_down, scale_fn=scale_fn, scale_mode=scale_mode)
    if mode not in ("triangular", "triangular2", "exp_range"):
        raise ScheduleError(f"{where}(mode={mode!r}): mode must be one of 'triangular', 'triangular2', "
                            "'exp_range' when scale_fn is None. Pick one, or pass scale_fn")
    return lrsched.cyclic(low, high, step_size_up, step_size_down, mode, gamma)


@checked
def CyclicLR(base_lr: Real, max_lr: Real, step_size_up: Real = 2000, step_size_down: Real | None = None,
             mode: str = "triangular", gamma: Real = 1.0, scale_fn: Callable | None = None,
             scale_mode: str = "cycle", cycle_momentum: bool = True, base_momentum: Real = 0.8,
             max_momentum: Real = 0.9) -> Schedule:
    r"""torch's ``CyclicLR`` (Smith, arXiv:1506.01186): all three modes, or a custom `scale_fn`.

    With ``c = up + down``, cycle ``k = \lfloor t / c \rfloor`` and ``x = t - k c``,
    the height is ``h = x / up`` while rising and ``(c - x) / down`` while falling:

    .. math:: \eta_t = \eta_{base} + (\eta_{max} - \eta_{base})\, h \, s

    with ``s = 1`` (triangular), ``2^{-k}`` (triangular2), ``\gamma^t`` (exp_range),
    or ``scale_fn(k + 1)`` (``scale_mode='cycle'``) / ``scale_fn(t)``
    (``'iterations'``). A custom `scale_fn` must be a JAX-traceable function of a
    float array (``lambda x: 0.5 ** x`` works, ``math.pow`` does not); such a
    schedule works under jit and vmap but cannot go to a config (``to_config``
    raises). The momentum arguments are accepted and ignored (see
    :func:`CyclicMomentum`).

    Args:
      base_lr: the lower rate of each cycle.
      max_lr: the upper rate (CyclicLR's peak, OneCycleLR's maximum).
      step_size_up: steps from the bottom of a cycle to its top (> 0).
      step_size_down: steps from the top back to the bottom, or None for `step_size_up`.
      mode: "triangular", "triangular2" or "exp_range" (ignored with a `scale_fn`).
      gamma: exp_range's factor per step.
      scale_fn: a JAX-traceable scale function replacing the mode, or None.
      scale_mode: "cycle" or "iterations": what `scale_fn` is a function of.
      cycle_momentum: accepted for torch's signature; the momentum is :func:`CyclicMomentum` / :func:`OneCycleMomentum`.
      base_momentum: accepted and ignored (see :func:`CyclicMomentum`).
      max_momentum: accepted and ignored.

    Returns:
      An lrsched Schedule.

    Examples:
      >>> import lrsched
      >>> from lrsched.compat import torch as tc
      >>> lrsched.evaluate(tc.CyclicLR(0.0, 1.0, step_size_up=2, mode="triangular2"), 9)
      array([0.  , 0.5 , 1.  , 0.5 , 0.  , 0.25, 0.5 , 0.25, 0.  ], dtype=float32)
      >>> s = tc.CyclicLR(0.0, 1.0, step_size_up=1, scale_fn=lambda x: 1.0 / x)
      >>> lrsched.evaluate(s, 6).round(4)
      array([0.    , 1.    , 0.    , 0.5   , 0.    , 0.3333], dtype=float32)
    """
    return _cyclic("CyclicLR", base_lr, max_lr, step_size_up, step_size_down, mode, gamma, scale_fn, scale_mode)


@checked
def CyclicMomentum(base_lr: Real | None = None, max_lr: Real | None = None, step_size_up: Real = 2000,
                   step_size_down: Real | None = None, mode: str = "triangular", gamma: Real = 1.0,
                   scale_fn: Callable | None = None, scale_mode: str = "cycle", cycle_momentum: bool = True,
                   base_momentum: Real = 0.8, max_momentum: Real = 0.9) -> Schedule:
    r"""The momentum torch's ``CyclicLR`` writes into the optimizer (``momentum`` or ``betas[0]``).

    It moves inversely to the rate, from `max_momentum` down to `base_momentum`
    at the peak, with the same height ``h`` and scale ``s`` as :func:`CyclicLR`:

    .. math:: m_t = m_{max} - (m_{max} - m_{base})\, h \, s

    Takes :func:`CyclicLR`'s arguments (``base_lr``/``max_lr`` are ignored).

    Args:
      base_lr: accepted for CyclicLR's signature and ignored.
      max_lr: accepted for CyclicLR's signature and ignored.
      step_size_up: steps from the bottom of a cycle to its top (> 0).
      step_size_down: steps from the top back to the bottom, or None for `step_size_up`.
      mode: "triangular", "triangular2" or "exp_range" (ignored with a `scale_fn`).
      gamma: exp_range's factor per step.
      scale_fn: a JAX-traceable scale function replacing the mode, or None.
      scale_mode: "cycle" or "iterations": what `scale_fn` is a function of.
      cycle_momentum: accepted and ignored.
      base_momentum: the momentum at the rate's peak.
      max_momentum: the momentum at the rate's bottom.

    Returns:
      An lrsched Schedule.

    Examples:
      >>> import lrsched
      >>> from lrsched.compat import torch as tc
      >>> lrsched.evaluate(tc.CyclicMomentum(0.0, 1.0, step_size_up=2), 5).round(4)
      array([0.9 , 0.85, 0.8 , 0.85, 0.9 ], dtype=float32)
    """
    return _cyclic("CyclicMomentum", max_momentum, base_momentum, step_size_up, step_size_down, mode, gamma,
                   scale_fn, scale_mode)


# ---------------------------------------------------------------- one cycle


def _total_steps(where: str, total_steps: Any, epochs: Any, steps_per_epoch: Any) -> Any:
    if total_steps is not None:
        require(where, "total_steps", total_steps, lambda a: a > 0, "positive", "Pass the number of steps")
        return total_steps
    if epochs is None or steps_per_epoch is None:
        raise ScheduleError(f"{where}(total_steps=None): pass total_steps, or both epochs and steps_per_epoch "
                            "(total_steps = epochs * steps_per_epoch), as torch requires")
    require(where, "epochs", epochs, lambda a: a > 0, "positive", "Pass the number of epochs")
    require(where, "steps_per_epoch", steps_per_epoch, lambda a: a > 0, "positive", "Pass len(data_loader)")
    return epochs * steps_per_epoch


def _one_cycle_args(where: str, pct_start: Any, anneal_strategy: str) -> None:
    require(where, "pct_start", pct_start, lambda a: (a >= 0) & (a <= 1), "in [0, 1]", "Pass a fraction such as 0.3")
    if anneal_strategy not in ("cos", "linear"):
        raise ScheduleError(f"{where}(anneal_strategy={anneal_strategy!r}): anneal_strategy must be 'cos' or "
                            "'linear'. Pick one of ['cos', 'linear']")


@checked
def OneCycleLR(max_lr: Real, total_steps: Real | None = None, epochs: Real | None = None,
               steps_per_epoch: Real | None = None, pct_start: Real = 0.3, anneal_strategy: str = "cos",
               cycle_momentum: bool = True, base_momentum: Real = 0.85, max_momentum: Real = 0.95,
               div_factor: Real = 25.0, final_div_factor: Real = 1e4, three_phase: bool = False) -> Schedule:
    r"""torch's ``OneCycleLR`` (Smith & Topin, arXiv:1708.07120), holding its final value where torch raises.

    From ``max_lr / div_factor`` up to `max_lr` at step ``pct_start T - 1``, then
    down to ``max_lr / (div_factor final_div_factor)`` at step ``T - 1``
    (``three_phase``: back to the initial value at ``2 pct_start T - 2`` first),
    each phase from ``s`` to ``e``

    .. math:: \eta = e + (s - e)\,\tfrac12 (1 + \cos(\pi p)) \quad (\text{'cos'}),
              \qquad \eta = s + (e - s)\,p \quad (\text{'linear'})

    with ``p`` the fraction of the phase done. ``T`` is
    `total_steps` or ``epochs * steps_per_epoch``. Step ``T`` itself (``get_last_lr()``
    after the last ``step()`` of a ``T``-step run, which no update uses) continues the
    last phase with ``p > 1``, as torch does: slightly above the final rate for "cos",
    below it (negative when ``T`` is small) for "linear". Past ``T``, where torch raises
    ("Tried to step ..."), this holds the final rate ``max_lr / (div_factor
    final_div_factor)``. The momentum arguments are accepted and ignored (see
    :func:`OneCycleMomentum`). This is :func:`lrsched.one_cycle` with ``extrapolate=True``
    (float32 values within 1e-6 of torch's float64 ones).

    Args:
      max_lr: the upper rate (CyclicLR's peak, OneCycleLR's maximum).
      total_steps: the number of steps ``T``, or None to use ``epochs * steps_per_epoch``.
      epochs: the number of epochs (with `steps_per_epoch`, when `total_steps` is None).
      steps_per_epoch: the number of steps per epoch (``len(data_loader)``).
      pct_start: the fraction of ``T`` spent rising, in [0, 1].
      anneal_strategy: "cos" or "linear".
      cycle_momentum: accepted for torch's signature; the momentum is :func:`CyclicMomentum` / :func:`OneCycleMomentum`.
      base_momentum: accepted and ignored (see :func:`OneCycleMomentum`).
      max_momentum: accepted and ignored.
      div_factor: the start rate is ``max_lr / div_factor``.
      final_div_factor: the final rate is the start rate over this.
      three_phase: torch's three-phase variant.

    Returns:
      An lrsched Schedule.

    Examples:
      >>> import lrsched
      >>> from lrsched.compat import torch as tc
      >>> lrsched.evaluate(tc.OneCycleLR(1.0, total_steps=5, pct_start=0.4, anneal_strategy="linear"), 7).round(4)
      array([ 0.04  ,  1.    ,  0.6667,  0.3333,  0.    , -0.3333,  0.    ], dtype=float32)
    """
    total = _total_steps("OneCycleLR", total_steps, epochs, steps_per_epoch)
    _one_cycle_args("OneCycleLR", pct_start, anneal_strategy)
    return lrsched.one_cycle(total, max_lr, pct_start, div_factor, final_div_factor, anneal_strategy, three_phase,
                             extrapolate=True)


@checked
def OneCycleMomentum(max_lr: Real | None = None, total_steps: Real | None = None, epochs: Real | None = None,
                     steps_per_epoch: Real | None = None, pct_start: Real = 0.3, anneal_strategy: str = "cos",
                     cycle_momentum: bool = True, base_momentum: Real = 0.85, max_momentum: Real = 0.95,
                     div_factor: Real = 25.0, final_div_factor: Real = 1e4, three_phase: bool = False) -> Schedule:
    r"""The momentum torch's ``OneCycleLR`` writes into the optimizer (``momentum`` or ``betas[0]``).

    From `max_momentum` down to `base_momentum` while the rate rises, back up
    while it falls (``three_phase``: held at `max_momentum` in the last phase),
    with :func:`OneCycleLR`'s phase ends and anneal:

    .. math:: m = e + (s - e)\,\tfrac12 (1 + \cos(\pi p))

    from ``s`` to ``e`` over each phase (``p`` its fraction done). Takes :func:`OneCycleLR`'s
    arguments (``max_lr`` and the div factors are ignored). Step ``T`` continues the last
    phase and later steps hold, as in :func:`OneCycleLR`. This is
    :func:`lrsched.one_cycle_momentum` with ``extrapolate=True``.

    Args:
      max_lr: accepted for OneCycleLR's signature and ignored.
      total_steps: the number of steps ``T``, or None to use ``epochs * steps_per_epoch``.
      epochs: the number of epochs (with `steps_per_epoch`, when `total_steps` is None).
      steps_per_epoch: the number of steps per epoch (``len(data_loader)``).
      pct_start: the fraction of ``T`` spent rising, in [0, 1].
      anneal_strategy: "cos" or "linear".
      cycle_momentum: accepted and ignored.
      base_momentum: the momentum at the rate's peak.
      max_momentum: the momentum at the rate's bottom.
      div_factor: accepted and ignored.
      final_div_factor: accepted and ignored.
      three_phase: torch's three-phase variant.

    Returns:
      An lrsched Schedule.

    Examples:
      >>> import lrsched
      >>> from lrsched.compat import torch as tc
      >>> lrsched.evaluate(tc.OneCycleMomentum(total_steps=5, pct_start=0.4, anneal_strategy="linear"), 7).round(4)
      array([0.95  , 0.85  , 0.8833, 0.9167, 0.95  , 0.9833, 0.95  ], dtype=float32)
    """
    total = _total_steps("OneCycleMomentum", total_steps, epochs, steps_per_epoch)
    _one_cycle_args("OneCycleMomentum", pct_start, anneal_strategy)
    return lrsched.one_cycle_momentum(total, base_momentum, max_momentum, pct_start, anneal_strategy, three_phase,
                                      extrapolate=True)


# -------------------------------------------------------------- combinations


@checked
def SequentialLR(schedulers: Sequence[Schedule], milestones: Any) -> Schedule:
    r"""torch's ``SequentialLR(optimizer, schedulers, milestones)``: each child restarts at its milestone.

    .. math:: \eta_t = s_i(t - m_{i-1}),\quad m_{i-1} \le t < m_i

    as torch does: at milestone ``m_{i-1}`` child ``i`` starts over from its own
    step 0 (a milestone of 0 skips the first child). A child restarted at a
    milestone begins with torch's closed form, so ``ConstantLR(total_iters=0)``,
    which alone keeps its ``factor`` forever, gives ``base_lr`` from its
    milestone on (as in torch); ``LinearLR`` and ``PolynomialLR`` with
    ``total_iters=0`` after a milestone raise here, where torch raises
    ``ZeroDivisionError`` at that milestone. In torch all children share
    the optimizer's ``lr``; give each child the same ``base_lr`` (torch's
    ``CyclicLR`` and ``OneCycleLR`` write theirs into the optimizer, changing the
    others' base: pass that value). Built as :func:`lrsched.join` (milestones
    are leaves; only the active child is evaluated).

    Args:
      schedulers: the children (schedules of this module), each restarted at its milestone.
      milestones: ``len(schedulers) - 1`` steps: where each next child starts.

    Returns:
      An lrsched Schedule.

    Examples:
      >>> import lrsched
      >>> from lrsched.compat import torch as tc
      >>> s = tc.SequentialLR([tc.ConstantLR(1.0, factor=0.1, total_iters=2), tc.ExponentialLR(1.0, 0.5)], [2])
      >>> lrsched.evaluate(s, 5)
      array([0.1 , 0.1 , 1.  , 0.5 , 0.25], dtype=float32)
    """
    schedulers = tuple(schedulers)
    if not schedulers or not all(isinstance(x, Schedule) for x in schedulers):
        raise ScheduleError("SequentialLR(schedulers=...): schedulers must be a non-empty list of lrsched Schedules. "
                            "Build them with this module's constructors, e.g. LinearLR(...)")
    if isinstance(milestones, (list, tuple)):
        require("SequentialLR", "milestones", len(milestones), lambda a: a == len(schedulers) - 1,
                 f"one fewer than the schedulers ({len(schedulers) - 1})", "Give one milestone between two schedulers")
        milestones = vector(milestones) if milestones else np.zeros((0,), np.int32)
    children = list(schedulers)
    for i in range(1, len(children)):
        restart = _RESTARTS.get(children[i])
        if restart is None:
            continue
        # a child whose milestone is 0 runs from step 0 as it would alone (torch's initial step)
        if any_traced(milestones) or not np.all(np.asarray(milestones)[..., i - 1] == 0):
            if isinstance(restart, str):
                raise ScheduleError(
                    f"SequentialLR(schedulers[{i}]={restart}): torch's SequentialLR restarts this child at its "
                    "milestone with its closed form, which divides by total_iters, and raises ZeroDivisionError. "
                    "Give it total_iters >= 1, or use ConstantLR for a held factor")
            children[i] = restart
    return lrsched.join(children, milestones)


@checked
def ReduceLROnPlateau(base_lr: Real, mode: str = "min", factor: Real = 0.1, patience: Real = 10,
                      threshold: Real = 1e-4, threshold_mode: str = "rel", cooldown: Real = 0,
                      min_lr: Real = 0.0, eps: Real = 1e-8) -> lrsched.Plateau:
    r"""torch's ``ReduceLROnPlateau(optimizer, mode, factor, patience, threshold, threshold_mode, cooldown,
    min_lr, eps)`` as ``lrsched.plateau(constant(base_lr), ...)``.

    .. math:: \eta \leftarrow \max(\eta \cdot f, \eta_{min}) \text{ after more than `patience` bad epochs}

    A stateful envelope: ``p.init()``, ``p.update(state, metric)`` once per
    epoch, the value ``p(step, state)``; under x64 the rates equal torch's bit for
    bit. Unlike torch it composes with warmup
    (``lrsched.plateau(lrsched.warmup(...), ...)``).

    As in torch, a NaN metric is a bad epoch (it is never an improvement), so a
    run of NaN losses reduces the rate (the core :func:`lrsched.plateau` ignores
    NaN by default: ``nan="bad"`` here). With ``threshold_mode="rel"`` a metric
    that stays at a negative value counts as an improvement every time
    (``best * (1 - threshold)`` lies above ``best`` when ``best < 0``), so a flat
    negative loss never reduces, in torch and here; ``threshold_mode="abs"``
    compares ``metric < best - threshold`` and does reduce.

    Args:
      base_lr: the optimizer's learning rate (torch's ``initial_lr``).
      mode: "min" (a loss) or "max" (an accuracy).
      factor: the multiplier per reduction, in [0, 1).
      patience: evaluations without improvement tolerated before reducing.
      threshold: what counts as an improvement (see `threshold_mode`).
      threshold_mode: "rel" or "abs".
      cooldown: evaluations ignored after a reduction.
      min_lr: the floor on the rate (torch's ``min_lr``).
      eps: reductions smaller than this are skipped.

    Returns:
      An :class:`lrsched.Plateau` (stateful: ``p(step, state)``).

    Examples:
      >>> from lrsched.compat import torch as tc
      >>> p = tc.ReduceLROnPlateau(0.1, factor=0.5, patience=0)
      >>> state = p.init()
      >>> for loss in [1.0, 2.0, 2.0]:
      ...     state = p.update(state, loss)
      >>> round(float(p(0, state)), 6)
      0.025
    """
    return lrsched.plateau(lrsched.constant(base_lr), factor=factor, patience=patience, threshold=threshold,
                           threshold_mode=threshold_mode, mode=mode, cooldown=cooldown, min_value=min_lr, eps=eps,
                           nan="bad")
