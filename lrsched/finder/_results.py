"""What a range test returns: the result objects and their plots.

:class:`RangeTestResult` (one test, JAX or torch), :class:`RangeTestRuns`
(several tests over one ramp, for the robust rule) and :class:`SweepResult`
(K runs at K fixed rates). Numpy only; matplotlib is imported when a plot is drawn.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Iterable

import numpy as np

from lrsched.finder._rules import Suggestion, robust, suggest

__all__ = ["RangeTestResult", "RangeTestRuns", "SweepResult"]


_MARKERS = {"steepest": "o", "minimum": "v", "steep": "^", "valley": "s", "slide": "D", "robust": "*"}
_FASTAI_RULES = ("minimum", "steep", "valley", "slide")


def _axes(ax: Any) -> Any:
    """`ax`, or the axes of a new figure whose layout keeps the labels inside it."""
    if ax is not None:
        return ax
    from lrsched.plot import _pyplot

    _, ax = _pyplot().subplots(figsize=(6, 4), layout="constrained")
    return ax


def _shown(n: int, skip_start: int, skip_end: int) -> slice:
    """torch_lr_finder's trim ``[skip_start:-skip_end]``; the whole curve when fewer than
    two points would be left (a plot of a short test beats an empty one)."""
    if skip_start < 0 or skip_end < 0:
        raise ValueError(f"plot: skip_start and skip_end must be >= 0; got {skip_start}, {skip_end}")
    if n - skip_start - skip_end < 2:
        return slice(0, n)
    return slice(skip_start, n - skip_end)


def _fit_y(ax: Any, *curves: np.ndarray) -> None:
    """Y limits around the finite values of `curves` (what is shown, not the blow-up)."""
    values = np.concatenate([np.asarray(c, np.float64).reshape(-1) for c in curves])
    finite = values[np.isfinite(values)]
    if finite.size:
        lo, hi = float(finite.min()), float(finite.max())
        pad = 0.05 * (hi - lo) if hi > lo else 0.05 * max(abs(hi), 1e-12)
        ax.set_ylim(lo - pad, hi + pad)


@dataclasses.dataclass(eq=False)
class RangeTestResult:
    """What a range test recorded (JAX or torch), up to and including the diverging step.

    Attributes:
      lrs: the learning rate of each recorded step (float64).
      losses: the raw training (or validation) loss of each step.
      smoothed: the smoothed loss (what the rules and the divergence test use).
      num_steps: the number of steps asked for.
      stopped_at: index of the step whose smoothed loss diverged (the last one
        recorded), or None when the test did not diverge (it ran all `num_steps`,
        or the data ran out first: then ``len(lrs) < num_steps``).
      config: the options of the test.

    Examples:
      >>> import numpy as np
      >>> from lrsched.finder import RangeTestResult
      >>> lrs = np.geomspace(1e-4, 1, 5); losses = np.array([2.0, 1.0, 0.5, 0.9, 4.0])
      >>> r = RangeTestResult(lrs, losses, losses, num_steps=5, stopped_at=4)
      >>> r.stop_reason
      'diverged at step 4 (lr 1, smoothed loss 4 against the best 0.5)'
      >>> r.suggest("minimum", skip_end=0).lr
      0.001
    """

    lrs: np.ndarray
    losses: np.ndarray
    smoothed: np.ndarray
    num_steps: int
    stopped_at: int | None = None
    config: dict = dataclasses.field(default_factory=dict)

    @property
    def diverged(self) -> bool:
        """Whether the test stopped at a diverging step."""
        return self.stopped_at is not None

    @property
    def stop_reason(self) -> str:
        """The reason the test ended, as a sentence.

        One of ``"diverged at step k (...)"``, ``"ran all N steps"`` and
        ``"data ran out after n of N steps"``.
        """
        n = len(self.lrs)
        k = self.stopped_at
        if k is not None:
            s = float(self.smoothed[k])
            if not np.isfinite(s):
                why = f"the loss is {s}"
            else:
                before = self.smoothed[: max(k, 1)]
                best = float(np.nanmin(before)) if np.isfinite(before).any() else s
                why = f"smoothed loss {s:.4g} against the best {best:.4g}"
            return f"diverged at step {k} (lr {float(self.lrs[k]):.3g}, {why})"
        if n < self.num_steps:
            return f"data ran out after {n} of {self.num_steps} steps"
        return f"ran all {self.num_steps} steps"

    def suggest(self, method: str = "valley", **kwargs: Any) -> Suggestion:
        """A rule of :data:`RULES` on the smoothed curve.

        Args:
          method: the rule's name (``"robust"`` needs several runs: use :class:`RangeTestRuns`).
          **kwargs: passed to the rule. fastai's rules skip ``num_steps // 10``
            points at the start unless `skip_start` is given.

        Returns:
          A :class:`Suggestion`.
        """
        if method == "robust":
            raise ValueError("suggest('robust') needs several runs: use lrsched.finder.repeated_range_test(...) "
                             "or RangeTestRuns([result1, result2, ...]).suggest()")
        if method in _FASTAI_RULES:
            kwargs.setdefault("skip_start", self.num_steps // 10)
        return suggest(self.lrs, self.smoothed, method, **kwargs)

    def suggestions(self, methods: Iterable[str] = ("steepest", "minimum", "steep", "valley", "slide"),
                    ) -> dict[str, Suggestion]:
        """Every rule in `methods` that can suggest on this curve (too-short curves are left out).

        Args:
          methods: rule names.

        Returns:
          A dict from rule name to :class:`Suggestion`.
        """
        out = {}
        for m in methods:
            try:
                out[m] = self.suggest(m)
            except ValueError:
                pass
        return out

    def plot(self, ax: Any = None, methods: Iterable[str] = ("steepest", "valley"), raw: bool = True,
             skip_start: int = 10, skip_end: int = 5, log_lr: bool = True, ylabel: str = "loss") -> Any:
        """The smoothed loss against the rate, trimmed as torch_lr_finder's ``plot`` trims
        it, with the suggestions of `methods` marked.

        Shows ``[skip_start:-skip_end]`` of the curve (torch_lr_finder's defaults,
        10 and 5: the first points are noise, the last ones the blow-up; the whole
        curve when fewer than two points would be left), the raw loss faint behind
        the smoothed one, and the y axis fitted to the smoothed curve shown. The
        suggestions are computed on the whole curve, each rule with its own
        trimming, as :meth:`suggest` does.

        Args:
          ax: a matplotlib Axes to draw into (default: a new figure).
          methods: the rules whose suggestions are marked (rules that cannot
            suggest on this curve are left out).
          raw: also draw the raw loss.
          skip_start, skip_end: points left out at the start and the end.
          log_lr: a log x axis (ignored when a rate is <= 0).
          ylabel: the y-axis label (``"validation loss"``, ...).

        Returns:
          The matplotlib Axes.
        """
        ax = _axes(ax)
        shown = _shown(len(self.lrs), skip_start, skip_end)
        lrs, smoothed = self.lrs[shown], self.smoothed[shown]
        if raw:
            ax.plot(lrs, self.losses[shown], color="0.75", lw=0.8, label="loss")
        ax.plot(lrs, smoothed, color="C0", label="smoothed loss")
        for m, s in self.suggestions(methods).items():
            ax.plot(*s.point, _MARKERS.get(m, "o"), ms=8, label=f"{m}: {s.lr:.2e}")
        if log_lr and np.all(self.lrs > 0):
            ax.set_xscale("log")
        ax.set_xlabel("learning rate")
        ax.set_ylabel(ylabel)
        _fit_y(ax, smoothed)
        ax.legend(fontsize="small")
        return ax


@dataclasses.dataclass(eq=False)
class RangeTestRuns:
    """Several range tests over the same rates (from :func:`repeated_range_test`, or
    torch results collected by hand), for the :func:`robust` rule.

    Attributes:
      runs: the :class:`RangeTestResult` of each run.
      lrs: the rates of the longest run.

    Examples:
      >>> import numpy as np
      >>> from lrsched.finder import RangeTestResult, RangeTestRuns
      >>> lrs = np.geomspace(1e-4, 1, 5)
      >>> curves = [[2.0, 1.0, 0.5, 0.9, 4.0], [2.0, 0.9, 1.0, 3.0, 5.0], [2.0, 1.5, 1.0, 0.6, 0.7]]
      >>> runs = RangeTestRuns([RangeTestResult(lrs, np.array(c), np.array(c), 5) for c in curves])
      >>> runs.suggest(base="minimum", skip_end=0).lr
      0.001
    """

    runs: list

    def __post_init__(self) -> None:
        if len(self.runs) < 1:
            raise ValueError("RangeTestRuns: pass at least one RangeTestResult")
        n = max(len(r.lrs) for r in self.runs)
        longest = next(r for r in self.runs if len(r.lrs) == n)
        for k, r in enumerate(self.runs):
            if not np.allclose(r.lrs, longest.lrs[: len(r.lrs)], rtol=1e-6):
                raise ValueError(f"RangeTestRuns: run {k} used other learning rates; every run must use the same ramp")
        self.lrs = longest.lrs

    def suggest(self, method: str = "robust", base: str = "valley", **kwargs: Any) -> Suggestion:
        """:func:`robust` over the runs, or another rule on the median curve.

        Args:
          method: ``"robust"`` (default): :func:`robust` over the runs with `base`;
            any other rule is applied to :meth:`median`.
          base: the per-run rule of ``"robust"``.
          **kwargs: passed to the rule (fastai's rules skip ``num_steps // 10``
            points at the start unless `skip_start` is given).

        Returns:
          A :class:`Suggestion` (with an interval for ``"robust"``).
        """
        num_steps = self.runs[0].num_steps
        rule = base if method == "robust" else method
        if rule in _FASTAI_RULES:
            kwargs.setdefault("skip_start", num_steps // 10)
        if method == "robust":
            return robust(self.lrs, [r.smoothed for r in self.runs], base=base, **kwargs)
        return suggest(self.lrs[: len(self.median())], self.median(), method, **kwargs)

    def median(self) -> np.ndarray:
        """The median smoothed curve over the steps every run recorded."""
        n = min(len(r.smoothed) for r in self.runs)
        return np.median(np.stack([r.smoothed[:n] for r in self.runs]), axis=0)

    def plot(self, ax: Any = None, base: str = "valley", skip_start: int = 10, skip_end: int = 5,
             ylabel: str = "loss") -> Any:
        """Every run's smoothed curve, the median curve, and the robust suggestion with its interval.

        Args:
          ax: a matplotlib Axes (default: a new figure).
          base: the per-run rule of the robust suggestion.
          skip_start, skip_end: points of each curve left out, as in :meth:`RangeTestResult.plot`.
          ylabel: the y-axis label.

        Returns:
          The matplotlib Axes.
        """
        ax = _axes(ax)
        for k, r in enumerate(self.runs):
            shown = _shown(len(r.lrs), skip_start, skip_end)
            ax.plot(r.lrs[shown], r.smoothed[shown], color="0.7", lw=0.8, label="runs" if k == 0 else None)
        med = self.median()
        shown = _shown(len(med), skip_start, skip_end)
        ax.plot(self.lrs[: len(med)][shown], med[shown], color="C0", label="median")
        try:
            s: Suggestion | None = self.suggest(base=base)
        except ValueError:
            s = None
        if s is not None and s.interval is not None:
            ax.axvspan(*s.interval, color="C1", alpha=0.2, label="spread")
            ax.plot(*s.point, "*", color="C1", ms=12, label=f"robust ({base}): {s.lr:.2e}")
        if np.all(self.lrs > 0):
            ax.set_xscale("log")
        ax.set_xlabel("learning rate")
        ax.set_ylabel(ylabel)
        _fit_y(ax, med[shown])
        ax.legend(fontsize="small")
        return ax


@dataclasses.dataclass(eq=False)
class SweepResult:
    """K runs at K fixed rates (from :func:`lr_sweep`).

    Attributes:
      lrs: the rates, shape (K,).
      losses: training loss per run and step, shape (K, num_steps).
      final: the mean loss of each run's last steps (NaN if it blew up), shape (K,).

    Examples:
      >>> import numpy as np
      >>> from lrsched.finder import SweepResult
      >>> SweepResult(np.array([0.01, 0.1, 1.0]), np.zeros((3, 4)), np.array([0.5, 0.2, np.nan])).best().lr
      0.1
    """

    lrs: np.ndarray
    losses: np.ndarray
    final: np.ndarray

    def best(self) -> Suggestion:
        """The rate with the lowest final loss (runs that blew up are left out)."""
        if not np.any(np.isfinite(self.final)):
            raise ValueError("SweepResult.best: every run blew up (final loss NaN); try lower rates")
        i = int(np.nanargmin(self.final))
        return Suggestion("sweep", float(self.lrs[i]), (float(self.lrs[i]), float(self.final[i])))

    def plot(self, ax: Any = None, ylabel: str = "final training loss") -> Any:
        """Final loss against rate (log x), the best rate marked.

        Args:
          ax: a matplotlib Axes (default: a new figure).
          ylabel: the y-axis label.

        Returns:
          The matplotlib Axes.
        """
        ax = _axes(ax)
        ax.plot(self.lrs, self.final, "o-", label="final loss")
        try:
            b = self.best()
            ax.plot(*b.point, "*", ms=12, label=f"best: {b.lr:.2e}")
        except ValueError:
            pass
        if np.all(self.lrs > 0):
            ax.set_xscale("log")
        ax.set_xlabel("learning rate")
        ax.set_ylabel(ylabel)
        ax.legend(fontsize="small")
        return ax
