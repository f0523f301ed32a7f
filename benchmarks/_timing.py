"""Timing helpers shared by the core benchmarks (bench_elementwise, bench_lookup, bench_scaling, bench_core).

Every comparison times its sides in alternation (side A, side B, side A, ...), so
load from other processes falls on all of them alike, and reports medians.
"""

from __future__ import annotations

import os
import platform
import statistics
import time
from typing import Any, Callable, Sequence

import jax


def load_average() -> str:
    """The 1, 5 and 15 minute load averages, as ``cat /proc/loadavg`` prints them."""
    try:
        return " ".join(open("/proc/loadavg").read().split()[:3])
    except OSError:
        return "n/a"


def header() -> str:
    import optax

    return (f"device: {jax.devices()[0].device_kind} ({jax.default_backend()}), jax {jax.__version__}, "
            f"optax {optax.__version__}, {platform.processor() or platform.machine()}, "
            f"{os.cpu_count()} cores, load average {load_average()}")


def run_once(fn: Callable[[], Any]) -> float:
    start = time.perf_counter()
    jax.block_until_ready(fn())
    return time.perf_counter() - start


def medians(fns: Sequence[Callable[[], Any]], repeat: int, budget_s: float | None = None) -> list[float]:
    """Median wall time of each function (seconds), the functions timed in alternation.

    Each function is called once first (compile and warm caches). With `budget_s`,
    the rounds stop early once the budget is spent (at least 3 rounds).
    """
    for fn in fns:
        jax.block_until_ready(fn())
    times: list[list[float]] = [[] for _ in fns]
    start = time.perf_counter()
    for r in range(repeat):
        order = range(len(fns)) if r % 2 == 0 else reversed(range(len(fns)))
        for i in order:
            times[i].append(run_once(fns[i]))
        if budget_s is not None and r >= 2 and time.perf_counter() - start > budget_s:
            break
    return [statistics.median(t) for t in times]


def compile_seconds(fn: Callable[..., Any], *args: Any) -> float:
    """Trace + lower + compile time of ``jax.jit(fn)`` for these arguments."""
    start = time.perf_counter()
    jax.jit(fn).lower(*args).compile()
    return time.perf_counter() - start


def temp_bytes(fn: Callable[..., Any], *args: Any) -> int:
    """Temporary memory of the compiled program (XLA's memory analysis), in bytes."""
    analysis = jax.jit(fn).lower(*args).compile().memory_analysis()
    return int(analysis.temp_size_in_bytes) if analysis is not None else -1
