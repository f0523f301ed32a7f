"""The suggestion rules of the LR range test, on plain numpy arrays.

Shared by the JAX range test (:mod:`lrsched.finder`) and the PyTorch one
(``lrsched_torch.lr_range_test``): :func:`steepest` (torch_lr_finder),
:func:`minimum`, :func:`steep`, :func:`valley`, :func:`slide` (fastai) and our
:func:`robust` rule. This module imports only the standard library and numpy: it
neither imports JAX nor starts a device, and it can be loaded on its own (for
example by file path) where JAX is not installed.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable

import numpy as np

__all__ = ["Suggestion", "steepest", "minimum", "steep", "valley", "slide", "robust", "suggest", "RULES"]


@dataclasses.dataclass(frozen=True)
class Suggestion:
    """A suggested learning rate.

    Attributes:
      method: the rule's name.
      lr: the suggested rate (``float(suggestion)`` gives it too).
      point: ``(lr, loss)`` where the rule marks the curve (fastai's marker: for
        ``minimum`` the minimum itself, although ``lr`` is a tenth of it).
      interval: ``(low, high)`` for rules that report a spread (:func:`robust`), else None.

    Examples:
      >>> from lrsched.finder import Suggestion
      >>> s = Suggestion("minimum", 1e-3, (1e-2, 0.5))
      >>> float(s), s.point
      (0.001, (0.01, 0.5))
    """

    method: str
    lr: float
    point: tuple[float, float]
    interval: tuple[float, float] | None = None

    def __float__(self) -> float:
        return float(self.lr)


def _arrays(lrs: Any, losses: Any, rule: str) -> tuple[np.ndarray, np.ndarray]:
    lrs = np.asarray(lrs, np.float64).reshape(-1)
    losses = np.asarray(losses, np.float64).reshape(-1)
    if lrs.shape != losses.shape:
        raise ValueError(f"{rule}: lrs and losses must have the same length; got {lrs.size} and {losses.size}")
    return lrs, losses


def _cut_nonfinite(lrs: np.ndarray, losses: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Keep the curve up to its first NaN/inf (fastai's lr_find cuts at the first NaN)."""
    bad = np.flatnonzero(~np.isfinite(losses))
    if bad.size:
        return lrs[: bad[0]], losses[: bad[0]]
    return lrs, losses


def _trim(lrs: np.ndarray, losses: np.ndarray, skip_start: int, skip_end: int, rule: str, need: int,
          ) -> tuple[np.ndarray, np.ndarray]:
    if skip_start < 0 or skip_end < 0:
        raise ValueError(f"{rule}: skip_start and skip_end must be >= 0; got {skip_start}, {skip_end}")
    n = len(lrs)
    stop = max(n - skip_end, 0)
    lrs, losses = lrs[skip_start:stop], losses[skip_start:stop]
    lrs, losses = _cut_nonfinite(lrs, losses)
    if len(lrs) < need:
        raise ValueError(
            f"{rule}: the loss curve is too short to suggest a learning rate: {n} points, {len(lrs)} left after "
            f"skipping {skip_start} at the start, {skip_end} at the end and cutting at the first NaN/inf; the "
            f"rule needs at least {need}. Run more steps (num_steps), start lower (start_lr), raise "
            "diverge_factor, or pass smaller skip_start/skip_end")
    return lrs, losses


def _fastai_skip(n: int, skip_start: int | None) -> int:
    return n // 10 if skip_start is None else int(skip_start)


def steepest(lrs: Any, losses: Any, skip_start: int = 10, skip_end: int = 5) -> Suggestion:
    r"""torch_lr_finder's suggestion (``LRFinder.plot(suggest_lr=True)``): the rate at the
    steepest descent of the (smoothed) loss.

    Drop `skip_start` points at the start and `skip_end` at the end (and the curve
    from its first NaN/inf on), then ``i = argmin(np.gradient(losses))`` (the
    gradient per step, not per log-rate) and suggest ``lrs[i]``:

    .. math::
       i = \operatorname{argmin}_j \tfrac{1}{2}(L_{j+1} - L_{j-1})

    (one-sided differences at the two ends, as ``np.gradient``).

    Args:
      lrs: the learning rates of the curve (1-D).
      losses: the (smoothed) losses at those rates, the same length.
      skip_start: points dropped at the start (torch_lr_finder's 10).
      skip_end: points dropped at the end (torch_lr_finder's 5).

    Returns:
      A :class:`Suggestion`.

    Examples:
      >>> import numpy as np
      >>> from lrsched.finder import steepest
      >>> lrs = np.geomspace(1e-4, 1, 9); losses = np.array([2, 2, 1.9, 1.5, 0.8, 0.5, 0.4, 0.6, 3])
      >>> steepest(lrs, losses, skip_start=0, skip_end=1).lr
      0.01
    """
    lrs, losses = _arrays(lrs, losses, "steepest")
    lrs, losses = _trim(lrs, losses, skip_start, skip_end, "steepest", 2)
    i = int(np.argmin(np.gradient(losses)))
    return Suggestion("steepest", float(lrs[i]), (float(lrs[i]), float(losses[i])))


def minimum(lrs: Any, losses: Any, skip_start: int | None = None, skip_end: int = 5) -> Suggestion:
    r"""fastai's ``minimum``: a tenth of the rate at the lowest loss.

    As fastai's ``lr_find``, the curve is first trimmed to ``[skip_start:-skip_end]``
    (``skip_start`` defaults to ``len(lrs) // 10``, fastai's ``num_it // 10``) and cut
    at its first NaN/inf. Then

    .. math::
       \eta = \eta_{\operatorname{argmin}_i L_i} / 10

    Args:
      lrs: the learning rates of the curve (1-D).
      losses: the (smoothed) losses at those rates, the same length.
      skip_start: points dropped at the start (default ``len(lrs) // 10``, fastai's ``num_it // 10``).
      skip_end: points dropped at the end (fastai drops 5).

    Returns:
      A :class:`Suggestion`.

    Examples:
      >>> import numpy as np
      >>> from lrsched.finder import minimum
      >>> minimum(np.geomspace(1e-4, 1, 5), np.array([2.0, 1.0, 0.5, 0.9, 4.0]), skip_end=0).lr
      0.001
    """
    lrs, losses = _arrays(lrs, losses, "minimum")
    lrs, losses = _trim(lrs, losses, _fastai_skip(len(lrs), skip_start), skip_end, "minimum", 1)
    i = int(np.argmin(losses))
    return Suggestion("minimum", float(lrs[i]) / 10.0, (float(lrs[i]), float(losses[i])))


def steep(lrs: Any, losses: Any, skip_start: int | None = None, skip_end: int = 5) -> Suggestion:
    r"""fastai's ``steep``: the rate where the loss falls fastest per unit of log-rate.

    After fastai's trimming (see :func:`minimum`):
    :math:`g_i = (L_{i+1} - L_i) / (\log \eta_{i+1} - \log \eta_i)`, suggest
    ``lrs[argmin(g)]`` (the left end of the steepest segment).

    Args:
      lrs: the learning rates of the curve (1-D).
      losses: the (smoothed) losses at those rates, the same length.
      skip_start: points dropped at the start (default ``len(lrs) // 10``, fastai's ``num_it // 10``).
      skip_end: points dropped at the end (fastai drops 5).

    Returns:
      A :class:`Suggestion`.

    Examples:
      >>> import numpy as np
      >>> from lrsched.finder import steep
      >>> steep(np.geomspace(1e-4, 1, 5), np.array([2.0, 1.8, 0.5, 0.4, 4.0]), skip_end=0).lr
      0.001
    """
    lrs, losses = _arrays(lrs, losses, "steep")
    lrs, losses = _trim(lrs, losses, _fastai_skip(len(lrs), skip_start), skip_end, "steep", 2)
    if np.any(lrs <= 0):
        raise ValueError("steep: needs positive learning rates (it divides by differences of log(lr))")
    with np.errstate(divide="ignore", invalid="ignore"):
        grads = np.diff(losses) / np.diff(np.log(lrs))
    i = int(np.argmin(grads))
    return Suggestion("steep", float(lrs[i]), (float(lrs[i]), float(losses[i])))


def _valley_index(losses: np.ndarray) -> int:
    """fastai's ``valley`` index, including its quirks: ``lds`` is the longest strictly
    decreasing *subsequence* ending at each point (O(n^2)); ``max_start`` is taken when
    ``max_end`` is first overtaken inside the inner loop (so it can lag the final
    length) and is ``max_end - lds`` (one before the valley's start, -1 at worst, and
    -1 then indexes the last element as Python does)."""
    n = len(losses)
    lds = np.ones(n, dtype=np.int64)
    max_start, max_end = 0, 0
    for i in range(1, n):
        mask = losses[:i] > losses[i]
        if not mask.any():
            continue
        cand = lds[:i][mask]
        m = lds[max_end]
        # the first j (in order) whose update makes lds[i] exceed lds[max_end]
        over = np.flatnonzero(cand >= m)
        lds[i] = 1 + cand.max()
        if over.size:
            max_end = i
            max_start = i - (int(cand[over[0]]) + 1)
    sections = (max_end - max_start) / 3
    return max_start + int(sections) + int(sections / 2)


def valley(lrs: Any, losses: Any, skip_start: int | None = None, skip_end: int = 5) -> Suggestion:
    """fastai's ``valley`` (its default): about two thirds down the longest valley.

    After fastai's trimming (see :func:`minimum`): ``lds[i]`` is the length of the
    longest strictly decreasing run of losses (a subsequence, not necessarily
    contiguous) ending at ``i``; for the longest one, ending at ``max_end`` and
    starting at ``max_start = max_end - lds``, suggest ``lrs[idx]`` with
    ``idx = max_start + int(len / 3) + int(len / 6)`` (``len = max_end - max_start``).
    fastai's index quirks are kept, so the result equals fastai's on the same curve.

    Args:
      lrs: the learning rates of the curve (1-D).
      losses: the (smoothed) losses at those rates, the same length.
      skip_start: points dropped at the start (default ``len(lrs) // 10``, fastai's ``num_it // 10``).
      skip_end: points dropped at the end (fastai drops 5).

    Returns:
      A :class:`Suggestion`.

    Examples:
      >>> import numpy as np
      >>> from lrsched.finder import valley
      >>> lrs = np.geomspace(1e-4, 1, 9); losses = np.array([3, 2.5, 2, 1.5, 1, 0.5, 0.4, 2, 5.0])
      >>> valley(lrs, losses, skip_end=0).lr
      0.001
    """
    lrs, losses = _arrays(lrs, losses, "valley")
    lrs, losses = _trim(lrs, losses, _fastai_skip(len(lrs), skip_start), skip_end, "valley", 1)
    i = _valley_index(losses)
    return Suggestion("valley", float(lrs[i]), (float(lrs[i]), float(losses[i])))


def slide(lrs: Any, losses: Any, skip_start: int | None = None, skip_end: int = 5, lr_diff: int = 15,
          thresh: float = 0.005, adjust_value: float = 1.0) -> Suggestion:
    """fastai's ``slide``: slide a window of `lr_diff` points left from the diverging end
    until the loss gradient at its two ends agrees within `thresh`.

    After fastai's trimming (see :func:`minimum`): ``g = np.gradient(losses)``;
    starting with ``r = n - 1`` and ``l = r - lr_diff``, while ``l >= 0`` and
    ``|g[r] - g[l]| > thresh`` remember ``lrs[l]`` and move both one step left.
    Suggest the last remembered rate (``lrs[n - 1 - lr_diff]`` if the first window
    already agrees) times `adjust_value`; it is marked on the curve by interpolating
    the loss in log-rate.

    Args:
      lrs: the learning rates of the curve (1-D).
      losses: the (smoothed) losses at those rates, the same length.
      skip_start: points dropped at the start (default ``len(lrs) // 10``, fastai's ``num_it // 10``).
      skip_end: points dropped at the end (fastai drops 5).
      lr_diff: the width of the window, in points (>= 1).
      thresh: the largest difference of the two gradients at which the window stops.
      adjust_value: a factor applied to the rate found.

    Returns:
      A :class:`Suggestion`.

    Examples:
      >>> import numpy as np
      >>> from lrsched.finder import slide
      >>> lrs = np.geomspace(1e-4, 1, 20); losses = np.r_[np.full(10, 2.0), np.linspace(2, 0.2, 6), [0.5, 2, 5, 9]]
      >>> round(slide(lrs, losses, skip_start=0, skip_end=0, lr_diff=5, thresh=0.01).lr, 6)
      0.001129
    """
    lrs, losses = _arrays(lrs, losses, "slide")
    if lr_diff < 1:
        raise ValueError(f"slide: lr_diff must be >= 1; got {lr_diff}")
    lrs, losses = _trim(lrs, losses, _fastai_skip(len(lrs), skip_start), skip_end, "slide", lr_diff + 1)
    g = np.gradient(losses) if len(losses) > 1 else np.zeros(1)
    n = len(losses)
    # window m (m = 0, 1, ...) compares g[n-1-m] with g[n-1-lr_diff-m]; it exists while n-1-lr_diff-m >= 0
    m = np.arange(n - lr_diff)
    fails = ~(np.abs(g[n - 1 - m] - g[n - 1 - lr_diff - m]) > thresh)
    m0 = int(np.argmax(fails)) if fails.any() else len(m)
    i = n - 1 - lr_diff - max(m0 - 1, 0)
    lr = float(lrs[i]) * float(adjust_value)
    if np.all(lrs > 0) and lr > 0:
        y = float(np.interp(np.log10(lr), np.log10(lrs), losses))
    else:
        y = float(np.interp(lr, lrs, losses))
    return Suggestion("slide", lr, (lr, y))


def robust(lrs: Any, runs: Any, base: str = "valley", **kwargs: Any) -> Suggestion:
    r"""Our rule: the median of a base rule over several runs, with the spread as an interval.

    Each run (a smoothed loss curve over the same `lrs`; shorter runs, stopped at
    their divergence, or NaN-padded rows are fine) gets the `base` rule
    (``"valley"`` by default; `kwargs` go to it). Runs too short for the rule are
    left out; at least two must remain. The suggestion is the geometric median of
    the per-run rates, ``10 ** median(log10 lr_k)``, and the interval is
    ``(min lr_k, max lr_k)``. One noisy run moves the median by at most one rank,
    so a single lucky or unlucky batch order cannot drag the suggestion away; a
    wide interval says the curve does not pin the rate down. Get the runs from
    :func:`repeated_range_test` (one vmapped program) or by repeating the torch
    test with different seeds.

    .. math::
       \eta = 10^{\operatorname{median}_k \log_{10} \eta_k}, \qquad
       \text{interval } [\min_k \eta_k, \max_k \eta_k]

    Args:
      lrs: the learning rates of the ramp (the longest run's).
      runs: one smoothed loss curve per run (a list of 1-D arrays, or a 2-D array;
        shorter or NaN-padded rows are fine).
      base: the rule applied to each run (a key of :data:`RULES`, not ``"robust"``).
      **kwargs: passed to the base rule (``skip_start``, ``skip_end``, ...).

    Returns:
      A :class:`Suggestion` with its ``interval``.

    Examples:
      >>> import numpy as np
      >>> from lrsched.finder import robust
      >>> lrs = np.geomspace(1e-4, 1, 5)
      >>> runs = [[2.0, 1.0, 0.5, 0.9, 4.0], [2.0, 0.9, 1.0, 3.0, 5.0], [2.0, 1.5, 1.0, 0.6, 0.7]]
      >>> s = robust(lrs, runs, base="minimum", skip_end=0)
      >>> s.lr, s.interval
      (0.001, (0.0001, 0.01))
    """
    if base == "robust" or base not in RULES:
        raise ValueError(f"robust: base must be one of {[k for k in RULES if k != 'robust']}; got {base!r}")
    lrs = np.asarray(lrs, np.float64).reshape(-1)
    rows = [np.asarray(r, np.float64).reshape(-1) for r in runs]
    if len(rows) < 2:
        raise ValueError(f"robust: needs at least 2 runs (loss curves) to take a median and a spread; got "
                         f"{len(rows)}. Use lrsched.finder.repeated_range_test, or repeat the test with other seeds")
    picks, skipped = [], []
    for k, row in enumerate(rows):
        if len(row) > len(lrs):
            raise ValueError(f"robust: run {k} has {len(row)} losses but there are only {len(lrs)} lrs")
        try:
            picks.append(RULES[base](lrs[: len(row)], row, **kwargs).lr)
        except ValueError as e:
            skipped.append(f"run {k}: {e}")
    if len(picks) < 2:
        raise ValueError("robust: fewer than 2 runs could be used by the base rule: " + "; ".join(skipped))
    picks_a = np.asarray(picks)
    if np.any(picks_a <= 0):
        raise ValueError(f"robust: the base rule {base!r} gave a rate <= 0 ({picks}); use an exponential ramp")
    lr = float(10 ** np.median(np.log10(picks_a)))
    n = min(len(r) for r in rows)
    med = np.nanmedian(np.stack([r[:n] for r in rows]), axis=0) if n else np.array([np.nan])
    finite = np.isfinite(med)
    y = float(np.interp(np.log10(lr), np.log10(lrs[:n][finite]), med[finite])) if finite.sum() >= 1 else float("nan")
    return Suggestion("robust", lr, (lr, y), (float(picks_a.min()), float(picks_a.max())))


#: The suggestion rules by name (what :func:`suggest` and ``RangeTestResult.suggest`` dispatch on).
RULES: dict[str, Callable[..., Suggestion]] = {
    "steepest": steepest, "minimum": minimum, "steep": steep, "valley": valley, "slide": slide, "robust": robust,
}


def suggest(lrs: Any, losses: Any, method: str = "valley", **kwargs: Any) -> Suggestion:
    """Apply the rule named `method` (a key of :data:`RULES`) to a curve.

    Args:
      lrs: the learning rates of the curve (1-D).
      losses: the (smoothed) losses at those rates, the same length.
      method: ``"steepest"``, ``"minimum"``, ``"steep"``, ``"valley"``, ``"slide"``
        or ``"robust"`` (then `losses` are several runs).
      **kwargs: passed to the rule.

    Returns:
      A :class:`Suggestion`.

    Examples:
      >>> import numpy as np
      >>> from lrsched.finder import suggest
      >>> suggest(np.geomspace(1e-4, 1, 5), [2.0, 1.0, 0.5, 0.9, 4.0], "minimum", skip_end=0).lr
      0.001
    """
    if method not in RULES:
        raise ValueError(f"suggest: method must be one of {list(RULES)}; got {method!r}")
    return RULES[method](lrs, losses, **kwargs)
