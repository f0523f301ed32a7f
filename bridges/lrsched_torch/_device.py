"""JAX on the CPU only: where the bridge computes its tables.

The bridge evaluates schedules with JAX, but a PyTorch program usually owns the
accelerator. Initialising JAX's default backends would create a GPU client, and
XLA's GPU client preallocates most of the device memory. So the bridge never asks
JAX for its default device: when no JAX backend exists yet it initialises the CPU
backend alone, and when the program already initialised JAX itself it uses that
process's CPU device (allocating nothing new on an accelerator).
"""

from __future__ import annotations

import threading
from typing import Any

__all__ = ["cpu_device"]

_lock = threading.Lock()
_device: Any = None


def _backends_initialised() -> bool:
    try:
        from jax._src import xla_bridge
    except ImportError:  # pragma: no cover - a future JAX without the private module
        return True
    return bool(xla_bridge.backends_are_initialized())


def cpu_device() -> Any:
    """JAX's CPU device, initialising no other backend if JAX has none yet.

    When this is the first use of JAX in the process, only the CPU backend is
    started (``jax_platforms`` is set to ``"cpu"`` for the initialisation and then
    restored); JAX's backends are then CPU-only for this process. A program that
    also runs JAX on an accelerator should initialise JAX first (any JAX
    operation, or ``jax.devices()``) and the bridge will use its CPU device.
    """
    global _device
    if _device is not None:
        return _device
    import jax

    with _lock:
        if _device is None:
            if _backends_initialised():
                try:
                    _device = jax.devices("cpu")[0]
                except RuntimeError as e:
                    raise RuntimeError(
                        "lrsched_torch computes schedule values on JAX's CPU device, but this process initialised "
                        f"JAX without a CPU backend ({e}). Include cpu in JAX_PLATFORMS, e.g. JAX_PLATFORMS=cuda,cpu"
                    ) from e
            else:
                previous = jax.config.jax_platforms  # type: ignore[attr-defined]
                jax.config.update("jax_platforms", "cpu")
                try:
                    _device = jax.devices("cpu")[0]
                finally:
                    jax.config.update("jax_platforms", previous)
    return _device
