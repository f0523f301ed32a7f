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


def _pyplot():
    from lrsched.plot import _pyplot as get

    return get()


_MARKERS = {"steepest": "o", "minimum": "v", "steep": "^", "valley": "s", "slide": "D", "robust": "*"}


@dataclasses.dataclass(eq=False)
class RangeTestResult:
    """What a range test recorded (JAX or torch), up to and including the diverging step.

    Attributes:
      lrs: the learning rate of each recorded step (float64).
      losses: the raw training (or validation) loss of each step.
      smoothed: the smoothed loss (what the rules and the divergence test use).
      num_steps: the number of steps asked for.
      stopped_at: index of the step whose smoothed loss diverged (the last one
        recorded), or None when the test ran all `num_steps`.
      config: the options of the test.
    """

    lrs: np.ndarray
    losses: np.ndarray
    smoothed: np.ndarray
    num_steps: int
    stopped_at: int | None = None
    config: dict = dataclasses.field(default_factory=dict)

    @property
    def diverged(self) -> bool:
        return self.stopped_at is not None

    def suggest(self, method: str = "valley", **kwargs: Any) -> Suggestion:
        """A rule of :data:`RULES` on the smoothed curve. fastai's rules skip
        ``num_steps // 10`` points at the start unless `skip_start` is given."""
        if method == "robust":
            raise ValueError("suggest('robust') needs several runs: use lrsched.finder.repeated_range_test(...) "
                             "or RangeTestRuns([result1, result2, ...]).suggest()")
        if method in ("minimum", "steep", "valley", "slide"):
            kwargs.setdefault("skip_start", self.num_steps // 10)
        return suggest(self.lrs, self.smoothed, method, **kwargs)

    def suggestions(self, methods: Iterable[str] = ("steepest", "minimum", "steep", "valley", "slide"),
                    ) -> dict[str, Suggestion]:
        """Every rule in `methods` that can suggest on this curve (too-short curves are left out)."""
        out = {}
        for m in methods:
            try:
                out[m] = self.suggest(m)
            except ValueError:
                pass
        return out

    def plot(self, ax: Any = None, methods: Iterable[str] = ("steepest", "valley"), raw: bool = True) -> Any:
        """The smoothed loss against the rate on a log axis, the raw loss faint,
        and the suggestions of `methods` marked. Returns the matplotlib Axes."""
        plt = _pyplot()
        if ax is None:
            _, ax = plt.subplots(figsize=(6, 4))
        if raw:
            ax.plot(self.lrs, self.losses, color="0.75", lw=0.8, label="loss")
        ax.plot(self.lrs, self.smoothed, color="C0", label="smoothed loss")
        for m, s in self.suggestions(methods).items():
            ax.plot(*s.point, _MARKERS.get(m, "o"), ms=8, label=f"{m}: {s.lr:.2e}")
        if np.all(self.lrs > 0):
            ax.set_xscale("log")
        ax.set_xlabel("learning rate")
        ax.set_ylabel("loss")
        _limit_y(ax, self.smoothed)
        ax.legend(fontsize="small")
        return ax


def _limit_y(ax: Any, curve: np.ndarray) -> None:
    finite = curve[np.isfinite(curve)]
    if finite.size:
        lo, hi = float(finite.min()), float(min(finite.max(), 4 * finite[0] if finite[0] > 0 else finite.max()))
        if hi > lo:
            pad = 0.05 * (hi - lo)
            ax.set_ylim(lo - pad, hi + pad)


@dataclasses.dataclass(eq=False)
class RangeTestRuns:
    """Several range tests over the same rates (from :func:`repeated_range_test`, or
    torch results collected by hand), for the :func:`robust` rule."""

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
        """``"robust"`` (default): :func:`robust` over the runs with `base`; any other
        rule is applied to the median curve."""
        num_steps = self.runs[0].num_steps
        rule = base if method == "robust" else method
        if rule in ("minimum", "steep", "valley", "slide"):
            kwargs.setdefault("skip_start", num_steps // 10)
        if method == "robust":
            return robust(self.lrs, [r.smoothed for r in self.runs], base=base, **kwargs)
        return suggest(self.lrs[: len(self.median())], self.median(), method, **kwargs)

    def median(self) -> np.ndarray:
        """The median smoothed curve over the steps every run recorded."""
        n = min(len(r.smoothed) for r in self.runs)
        return np.median(np.stack([r.smoothed[:n] for r in self.runs]), axis=0)

    def plot(self, ax: Any = None, base: str = "valley") -> Any:
        """Every run's smoothed curve, the median curve, and the robust suggestion with its interval."""
        plt = _pyplot()
        if ax is None:
            _, ax = plt.subplots(figsize=(6, 4))
        for k, r in enumerate(self.runs):
            ax.plot(r.lrs, r.smoothed, color="0.7", lw=0.8, label="runs" if k == 0 else None)
        med = self.median()
        ax.plot(self.lrs[: len(med)], med, color="C0", label="median")
        try:
            s = self.suggest(base=base)
        except ValueError:
            s = None
        if s is not None and s.interval is not None:
            ax.axvspan(*s.interval, color="C1", alpha=0.2, label="spread")
            ax.plot(*s.point, "*", color="C1", ms=12, label=f"robust ({base}): {s.lr:.2e}")
        ax.set_xscale("log")
        ax.set_xlabel("learning rate")
        ax.set_ylabel("loss")
        _limit_y(ax, med)
        ax.legend(fontsize="small")
        return ax


@dataclasses.dataclass(eq=False)
class SweepResult:
    """K runs at K fixed rates (from :func:`lr_sweep`).

    Attributes:
      lrs: the rates, shape (K,).
      losses: training loss per run and step, shape (K, num_steps).
      final: the mean loss of each run's last steps (NaN if it blew up), shape (K,).
    """

    lrs: np.ndarray
    losses: np.ndarray
    final: np.ndarray

    def best(self) -> Suggestion:
        """The rate with the lowest final loss."""
        if not np.any(np.isfinite(self.final)):
            raise ValueError("SweepResult.best: every run blew up (final loss NaN); try lower rates")
        i = int(np.nanargmin(self.final))
        return Suggestion("sweep", float(self.lrs[i]), (float(self.lrs[i]), float(self.final[i])))

    def plot(self, ax: Any = None) -> Any:
        """Final loss against rate (log x), the best rate marked."""
        plt = _pyplot()
        if ax is None:
            _, ax = plt.subplots(figsize=(6, 4))
        ax.plot(self.lrs, self.final, "o-", label="final loss")
        try:
            b = self.best()
            ax.plot(*b.point, "*", ms=12, label=f"best: {b.lr:.2e}")
        except ValueError:
            pass
        if np.all(self.lrs > 0):
            ax.set_xscale("log")
        ax.set_xlabel("learning rate")
        ax.set_ylabel("final loss")
        ax.legend(fontsize="small")
        return ax
