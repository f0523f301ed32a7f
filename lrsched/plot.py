"""Plotting helpers (matplotlib is an optional dependency, imported lazily)."""

from __future__ import annotations

from typing import Any

import numpy as np

from lrsched._core import Schedule, evaluate

__all__ = ["plot"]


def _pyplot():
    try:
        import matplotlib

        if matplotlib.get_backend().lower() not in ("agg",) and not _has_display():
            matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as e:
        raise ImportError(
            "lrsched.plot needs matplotlib: pip install 'lrsched[plot]' (or pip install matplotlib)"
        ) from e
    return plt


def _has_display() -> bool:
    import os

    return bool(os.environ.get("DISPLAY") or os.environ.get("MPLBACKEND"))


def plot(schedule: Schedule, steps: Any, ax: Any = None, label: str | None = None, **kwargs: Any) -> Any:
    """Plot a schedule's values over `steps` (an int n for 0..n-1, or an array).

    Returns the matplotlib Axes. Extra keyword arguments go to ``ax.plot``.
    """
    plt = _pyplot()
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 3))
    x = np.arange(steps) if np.ndim(steps) == 0 else np.asarray(steps)
    ax.plot(x, evaluate(schedule, x), label=label, **kwargs)
    ax.set_xlabel("step")
    ax.set_ylabel("value")
    if label is not None:
        ax.legend()
    return ax
