"""Schedule values computed in chunks with JAX (float64, CPU) and served from Python lists.

A scheduler step must cost no more than torch's own schedulers (a few
microseconds), while one JAX dispatch costs tens of microseconds. So values are
computed for a chunk of consecutive steps at once (one jitted, vmapped call per
schedule per chunk, in float64 on the CPU device) and kept as Python floats:
serving a step is a list lookup.
"""

from __future__ import annotations

from typing import Any, Sequence

import jax
import numpy as np

import lrsched
from lrsched_torch._device import cpu_device

__all__ = ["Table", "evaluate64", "describe"]

# One compiled program per schedule structure (and chunk length), shared by all tables.
_values = jax.jit(jax.vmap(lambda schedule, step: schedule(step), in_axes=(None, 0)))


def describe(schedule: lrsched.Schedule) -> dict[str, Any] | lrsched.Schedule:
    """The schedule's config, or the schedule itself when it has none (e.g. a CyclicLR
    with a Python ``scale_fn``: code, not data)."""
    try:
        return lrsched.to_config(schedule)
    except lrsched.ScheduleError:
        return schedule


def _leaf64(x: Any) -> Any:
    a = np.asarray(x)
    if a.dtype.kind == "f":
        return a.astype(np.float64)
    if a.dtype.kind in "iu":
        return a.astype(np.int64)
    return x


def _rebuild64(config: dict[str, Any] | lrsched.Schedule) -> lrsched.Schedule:
    """The schedule rebuilt under x64, so every leaf is float64/int64.

    From its config (exact Python numbers, so a schedule built with float32
    leaves is still evaluated in float64), or for a schedule without a config
    by converting its leaves.
    """
    with jax.enable_x64(True):
        if isinstance(config, lrsched.Schedule):
            return jax.tree.map(_leaf64, config)
        return lrsched.from_config(config)


def evaluate64(schedule: lrsched.Schedule | dict[str, Any], steps: np.ndarray) -> np.ndarray:
    """``schedule`` at integer ``steps`` in float64, computed on JAX's CPU device."""
    config = schedule if isinstance(schedule, dict) else describe(schedule)
    device = cpu_device()
    with jax.enable_x64(True), jax.default_device(device):
        s = _rebuild64(config)
        out = _values(jax.device_put(s, device), jax.device_put(np.asarray(steps, np.int64), device))
        return np.asarray(out, dtype=np.float64)


class Table:
    """Values of several schedules, one row of Python floats per step.

    ``table.row(step)`` is a tuple with one float per schedule. Rows are computed
    ``chunk`` steps at a time starting at the first step asked for that is not
    in the current chunk (so a jump, e.g. on resume, costs one chunk).

    Args:
      configs: the schedules' configs (``lrsched.to_config``), or schedules
        without one; entries given as the same object are computed once.
      chunk: steps per chunk.
    """

    def __init__(self, configs: Sequence[dict[str, Any] | lrsched.Schedule], chunk: int = 4096) -> None:
        if int(chunk) < 1:
            raise ValueError(f"chunk={chunk}: the number of steps per chunk must be >= 1")
        self.configs = list(configs)
        self.chunk = int(chunk)
        self._unique: list[dict[str, Any] | lrsched.Schedule] = []
        self._column: list[int] = []
        index: dict[int, int] = {}
        for c in self.configs:
            if id(c) not in index:
                index[id(c)] = len(self._unique)
                self._unique.append(c)
            self._column.append(index[id(c)])
        self._schedules: list[lrsched.Schedule] | None = None
        self.start = 0
        self.rows: list[tuple[float, ...]] = []

    def _compute(self, start: int) -> None:
        device = cpu_device()
        steps = np.arange(start, start + self.chunk, dtype=np.int64)
        with jax.enable_x64(True), jax.default_device(device):
            if self._schedules is None:
                self._schedules = [jax.device_put(_rebuild64(c), device) for c in self._unique]
            t = jax.device_put(steps, device)
            columns = [np.asarray(_values(s, t), dtype=np.float64) for s in self._schedules]
        if columns:
            stacked = np.stack([columns[j] for j in self._column], axis=1)
            self.rows = [tuple(r) for r in stacked.tolist()]
        else:
            self.rows = [()] * self.chunk
        self.start = start

    def row(self, step: int) -> tuple[float, ...]:
        """The values at ``step`` (negative steps count as step 0)."""
        i = step - self.start
        if 0 <= i < len(self.rows):
            return self.rows[i]
        step = max(int(step), 0)
        self._compute(step)
        return self.rows[0]
