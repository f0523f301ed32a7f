"""Plotting helpers (matplotlib is an optional dependency, imported when a plot is drawn).

lrsched never chooses or changes the matplotlib backend: it uses whatever the
process has (an interactive window, a notebook's inline backend, or the Agg
backend that matplotlib itself falls back to on a machine without a display).
Figures lrsched creates use the constrained layout, so their labels fit when saved.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lrsched._core import Schedule, evaluate

__all__ = ["plot"]


def _pyplot() -> Any:
    """``matplotlib.pyplot``, with an error that says how to install it."""
    try:
        import matplotlib.pyplot as plt
    except ImportError as e:
        raise ImportError(
            "lrsched.plot needs matplotlib: pip install 'lrsched[plot]' (or pip install matplotlib)"
        ) from e
    return plt


def plot(schedule: Schedule, steps: Any, ax: Any = None, label: str | None = None,
         ylabel: str = "learning rate", **kwargs: Any) -> Any:
    """Plot a schedule's values against the step.

    The values are :func:`lrsched.evaluate` ``(schedule, steps)``: one jitted call
    for all the steps.

    Args:
      schedule: any schedule.
      steps: an int ``n`` for the steps ``0 .. n-1``, or an array of steps.
      ax: a matplotlib Axes to draw into (default: a new figure with a constrained
        layout, so the labels fit when it is saved).
      label: the line's legend label (a legend is drawn when given).
      ylabel: the y-axis label: what the schedule drives (``"momentum"``,
        ``"weight decay"``, ...).
      **kwargs: passed to ``ax.plot`` (``color``, ``lw``, ...).

    Returns:
      The matplotlib Axes.

    Examples:
      >>> import lrsched
      >>> ax = lrsched.plot(lrsched.warmup(lrsched.cosine(0.1, 900), 100), 1000, label="warmup + cosine")
      >>> ax.get_xlabel(), ax.get_ylabel(), len(ax.lines[0].get_xdata())
      ('step', 'learning rate', 1000)
      >>> import matplotlib.pyplot as plt; plt.close("all")
    """
    if ax is None:
        _, ax = _pyplot().subplots(figsize=(5, 3), layout="constrained")
    x = np.arange(steps) if np.ndim(steps) == 0 else np.asarray(steps)
    ax.plot(x, evaluate(schedule, x), label=label, **kwargs)
    ax.set_xlabel("step")
    ax.set_ylabel(ylabel)
    if label is not None:
        ax.legend()
    return ax
