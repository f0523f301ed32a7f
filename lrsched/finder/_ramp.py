"""The range test's learning-rate ramp, and the loss smoothing and divergence test.

:func:`ramp_schedule` is the ramp as an lrsched schedule (what the JAX test
trains with), :func:`ramp_values` the same rates in float64 numpy (what the torch
test sets), and :class:`LossTracker` the smoothing and stop rule of both, one
Python float at a time (the JAX scan traces the same formulas in
:mod:`lrsched.finder._jax`).
"""

from __future__ import annotations

import math

import numpy as np

from lrsched._core import Schedule
from lrsched._primitives import exponential, linear

__all__ = ["ramp_schedule", "ramp_values", "LossTracker", "diverges"]

_MODES = ("exp", "linear")
_CONVENTIONS = ("torch", "fastai")
_SMOOTHINGS = ("torch", "fastai", "none")
_DEFAULT_SMOOTH_F = {"torch": 0.05, "fastai": 0.02, "none": 0.0}


# ===================================================================== the ramp


def _check_ramp(start_lr: float, end_lr: float, num_steps: int, mode: str, convention: str) -> None:
    if mode not in _MODES:
        raise ValueError(f"lr range test: mode must be one of {list(_MODES)}; got {mode!r}")
    if convention not in _CONVENTIONS:
        raise ValueError(f"lr range test: convention must be one of {list(_CONVENTIONS)}; got {convention!r}")
    if not isinstance(num_steps, (int, np.integer)) or isinstance(num_steps, bool) or num_steps < 2:
        raise ValueError(f"lr range test: num_steps must be an integer >= 2; got {num_steps!r}. "
                         "A range test needs at least two learning rates (100 is usual)")
    if not (math.isfinite(start_lr) and math.isfinite(end_lr)):
        raise ValueError(f"lr range test: start_lr and end_lr must be finite; got {start_lr!r}, {end_lr!r}")
    if mode == "exp" and (start_lr <= 0 or end_lr <= 0):
        raise ValueError(f"lr range test: an exponential ramp needs start_lr > 0 and end_lr > 0; got "
                         f"start_lr={start_lr!r}, end_lr={end_lr!r}. Pass positive rates or mode='linear'")
    if mode == "linear" and (start_lr < 0 or end_lr < 0):
        raise ValueError(f"lr range test: learning rates must be >= 0; got start_lr={start_lr!r}, end_lr={end_lr!r}")


def ramp_schedule(start_lr: float = 1e-7, end_lr: float = 10.0, num_steps: int = 100, mode: str = "exp",
                  convention: str = "torch") -> Schedule:
    r"""The range test's learning-rate ramp as an lrsched schedule.

    .. math::
       \text{exp: } s\,(e/s)^{i/d} \qquad \text{linear: } s + (e - s)\, i / d

    with ``d = num_steps - 1`` (``convention="torch"``, torch_lr_finder: the last
    step runs at `end_lr`) or ``d = num_steps`` (``convention="fastai"``, fastai's
    ``lr_find``: `end_lr` is never reached).

    Args:
      start_lr: the rate of step 0 (``s``; > 0 for ``mode="exp"``).
      end_lr: the rate the ramp heads for (``e``).
      num_steps: the number of steps of the test (>= 2).
      mode: ``"exp"`` (torch_lr_finder's and fastai's default) or ``"linear"``.
      convention: ``"torch"`` or ``"fastai"`` (the divisor ``d`` above).

    Returns:
      An ``exponential`` or ``linear`` schedule; its numbers are leaves, so another
      `start_lr`/`end_lr` reuses a compiled range test.

    Examples:
      >>> import lrsched
      >>> from lrsched.finder import ramp_schedule
      >>> lrsched.evaluate(ramp_schedule(1e-3, 1.0, num_steps=4), 4).round(4)
      array([0.001, 0.01 , 0.1  , 1.   ], dtype=float32)
      >>> lrsched.evaluate(ramp_schedule(0.0, 1.0, 4, mode="linear", convention="fastai"), 4)
      array([0.  , 0.25, 0.5 , 0.75], dtype=float32)
    """
    _check_ramp(start_lr, end_lr, num_steps, mode, convention)
    d = int(num_steps) - 1 if convention == "torch" else int(num_steps)
    if mode == "exp":
        return exponential(float(start_lr), float(end_lr) / float(start_lr), steps=d)
    return linear(float(start_lr), float(end_lr), steps=d)


def ramp_values(start_lr: float = 1e-7, end_lr: float = 10.0, num_steps: int = 100, mode: str = "exp",
                convention: str = "torch") -> np.ndarray:
    r"""The ramp of :func:`ramp_schedule` in float64 numpy, computed as torch_lr_finder
    computes it.

    .. math::
       \text{exp: } s\,(e/s)^{r} \qquad \text{linear: } s + r\,(e - s) \qquad r = i / d

    The PyTorch bridge uses this so that its rates equal torch_lr_finder's bit for
    bit, without starting a JAX device.

    Args:
      start_lr, end_lr, num_steps, mode, convention: as for :func:`ramp_schedule`.

    Returns:
      The `num_steps` rates, float64.

    Examples:
      >>> from lrsched.finder import ramp_values
      >>> ramp_values(1e-3, 1.0, 4)
      array([0.001, 0.01 , 0.1  , 1.   ])
    """
    _check_ramp(start_lr, end_lr, num_steps, mode, convention)
    d = int(num_steps) - 1 if convention == "torch" else int(num_steps)
    r = [i / d for i in range(int(num_steps))]
    s, e = float(start_lr), float(end_lr)
    if mode == "exp":
        return np.array([s * (e / s) ** x for x in r], dtype=np.float64)
    return np.array([s + x * (e - s) for x in r], dtype=np.float64)


# ================================================================= smoothing


def _resolve_smoothing(smoothing: str, smooth_f: float | None) -> float:
    if smoothing not in _SMOOTHINGS:
        raise ValueError(f"lr range test: smoothing must be one of {list(_SMOOTHINGS)}; got {smoothing!r}")
    f = _DEFAULT_SMOOTH_F[smoothing] if smooth_f is None else float(smooth_f)
    if smoothing != "none" and not 0.0 <= f < 1.0:
        raise ValueError(f"lr range test: smooth_f must be in [0, 1) (the weight of the newest loss); got {f!r}")
    return f


def _resolve_diverge(diverge_factor: float | None) -> float:
    if diverge_factor is None:
        return math.inf
    if not diverge_factor > 0:
        raise ValueError(f"lr range test: diverge_factor must be > 0 or None (never stop); got {diverge_factor!r}")
    return float(diverge_factor)


def diverges(smoothed: float, best: float, factor: float) -> bool:
    r"""The stop rule of the range test: has the smoothed loss diverged from the best one?

    .. math::
       s - b > (f - 1)\,|b| \quad\text{or } s \text{ not finite}

    The loss rose above the best by more than ``factor - 1`` times the best's size.
    For a positive best this is exactly the anchors' ``s > factor * best``
    (torch_lr_finder's ``diverge_th``, fastai's ``stop_div``), and it is computed
    that way there, so the stopping step is the anchors' to the bit. For a zero or
    negative best (likelihood objectives, shifted losses) the anchors' rule stops
    at once (``s > factor * b`` holds for any ``s`` near a negative ``b``); this
    one still asks for a rise of ``(factor - 1) |b|``.

    Args:
      smoothed: the smoothed loss ``s`` of the step.
      best: the lowest smoothed loss so far ``b``.
      factor: ``f`` (``math.inf``: only a non-finite loss diverges).

    Returns:
      True when the step diverged.

    Examples:
      >>> from lrsched.finder import diverges
      >>> diverges(5.1, 1.0, 5.0), diverges(4.9, 1.0, 5.0)
      (True, False)
      >>> diverges(-1.5, -2.0, 5.0), diverges(6.5, -2.0, 5.0)   # -2 + 4 * 2 = 6
      (False, True)
    """
    if not math.isfinite(smoothed):
        return True
    if not math.isfinite(factor):
        return False
    if best > 0:
        return smoothed > factor * best
    return smoothed - best > (factor - 1.0) * abs(best)


class LossTracker:
    """Online loss smoothing and divergence test, one Python float at a time.

    ``smoothing="torch"`` (torch_lr_finder's ``smooth_f`` form): the first loss
    raw, then ``s_i = f * raw_i + (1 - f) * s_{i-1}`` (no debiasing; ``f = 0``
    means no smoothing). ``smoothing="fastai"`` (fastai's ``AvgSmoothLoss``):
    ``v_i = raw_i + beta * (v_{i-1} - raw_i)`` with ``v_{-1} = 0``, ``beta = 1 - f``,
    reported debiased ``s_i = v_i / (1 - beta**(i+1))``. ``"none"``: ``s_i = raw_i``.

    ``best`` is the lowest smoothed loss so far (the first loss to start with);
    a step diverges when ``s_i - best > (diverge_factor - 1) * |best|``, which is
    the anchors' ``s_i > diverge_factor * best`` for a positive best and still works
    for negative losses (:func:`diverges`), or when ``s_i`` is not finite
    (torch_lr_finder keeps going on NaN; here a NaN ends the test). The diverging
    step is still recorded, as both anchors record it.

    Args:
      smoothing: ``"torch"``, ``"fastai"`` or ``"none"``.
      smooth_f: the weight ``f`` of the newest loss, in [0, 1) (default 0.05 for
        ``"torch"``, 0.02 for ``"fastai"``).
      diverge_factor: the ``factor`` of the divergence test; None never stops on it.

    Examples:
      >>> from lrsched.finder import LossTracker
      >>> t = LossTracker("torch", smooth_f=0.5, diverge_factor=2.0)
      >>> [t.update(x) for x in (1.0, 3.0, 7.0)]
      [(1.0, False), (2.0, False), (4.5, True)]
    """

    def __init__(self, smoothing: str = "torch", smooth_f: float | None = None,
                 diverge_factor: float | None = 5.0) -> None:
        self.smoothing = smoothing
        self.f = _resolve_smoothing(smoothing, smooth_f)
        self.factor = _resolve_diverge(diverge_factor)
        self.n = 0
        self.prev = 0.0
        self.best = math.inf

    def update(self, raw: float) -> tuple[float, bool]:
        """Take the raw loss of the next step.

        Args:
          raw: the loss of the step (a Python float, or anything ``float()`` takes).

        Returns:
          ``(smoothed, diverged)``: the smoothed loss and whether this step diverged.
        """
        raw = float(raw)
        if self.smoothing == "fastai":
            beta = 1.0 - self.f
            self.prev = raw + beta * (self.prev - raw)
            s = self.prev / (1.0 - beta ** (self.n + 1))
        elif self.smoothing == "torch" and self.n > 0 and self.f > 0:
            s = self.f * raw + (1.0 - self.f) * self.prev
            self.prev = s
        else:
            s = raw
            self.prev = s
        if self.n == 0:
            self.best = s
        elif s < self.best:
            self.best = s
        self.n += 1
        return s, diverges(s, self.best, self.factor)
