"""Plotting helpers (matplotlib is an optional dependency, imported when a plot is drawn).

lrsched never chooses or changes the matplotlib backend: it uses whatever the
process has (an interactive window, a notebook's inline backend, or the Agg
backend that matplotlib itself falls back to on a machine without a display).
Figures lrsched creates use the constrained layout, so their labels fit when saved.
"""

from __future__ import annotations

from typing import Any

import jax
import numpy as np

from lrsched._core import Schedule, ScheduleError, batch_shape, evaluate

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
    for all the steps. A batched schedule (from :func:`lrsched.sweep.grid` or
    :func:`lrsched.sweep.stack`) draws one line per entry, labelled ``#i``.

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
      >>> batched, _ = lrsched.sweep.grid(lrsched.cosine, init_value=[0.1, 0.2], steps=100)
      >>> [line.get_label() for line in lrsched.plot(batched, 100).lines]
      ['#0', '#1']
      >>> import matplotlib.pyplot as plt; plt.close("all")
    """
    if ax is None:
        _, ax = _pyplot().subplots(figsize=(5, 3), layout="constrained")
    count = isinstance(steps, (int, np.integer)) and not isinstance(steps, (bool, np.bool_))
    x = np.arange(steps) if count else steps  # anything else is checked by evaluate
    entries = _entries(schedule)
    for i, one in enumerate(entries):
        name = label if len(entries) == 1 else f"{label} #{i}" if label else f"#{i}"
        values = evaluate(one, x)
        ax.plot(np.asarray(x), values, label=name, **kwargs)
    ax.set_xlabel("step")
    ax.set_ylabel(ylabel)
    if label is not None or 1 < len(entries) <= 12:
        ax.legend()
    return ax


def _entries(schedule: Any) -> list[Any]:
    """A batched schedule's entries (its batch axes flattened), or the schedule alone."""
    batch = batch_shape(schedule) if isinstance(schedule, Schedule) else ()
    if not batch:
        return [schedule]
    leaves, treedef = jax.tree.flatten(schedule)
    if any(np.shape(x)[:len(batch)] != batch for x in leaves):
        raise ScheduleError(
            f"plot: some numbers of this schedule have the batch axes {batch} and some do not, so its entries are "
            "not defined. Build batches with lrsched.sweep.stack or lrsched.sweep.grid", where="plot")
    n = int(np.prod(batch))
    flat = [np.reshape(np.asarray(x), (n,) + np.shape(x)[len(batch):]) for x in leaves]
    return [jax.tree.unflatten(treedef, [x[i] for x in flat]) for i in range(n)]
