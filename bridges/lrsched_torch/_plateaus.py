"""Reduce-on-plateau in the bridge: metrics, plateau columns and their saved state.

The plateau's reducer and its value are the core's own (``Plateau.update`` and
``Plateau.__call__(step, state)``), run jitted in float64 on JAX's CPU device: a
metric costs one JAX call that updates the state and recomputes the plateau's
values for the rest of the current table chunk. So the bridge serves exactly
what ``lrsched.optax`` applies for the same metric stream, whatever the core's
formula for the value.
"""

from __future__ import annotations

import math
import numbers
from typing import Any, Mapping

import numpy as np

from lrsched_torch._table import Column, jitted, on_cpu, rebuild64

__all__ = ["metric_value", "PlateauColumn", "is_plateau", "nested_plateau"]


#: The config types of stateful schedules (``init``/``update``/``(step, state)``), driven by a metric.
STATEFUL = ("plateau", "transformers.greedy")


def is_plateau(config: Any) -> bool:
    """A reduce-on-plateau schedule (its config's type, or an object with ``init``/``update``)."""
    if isinstance(config, dict):
        return config.get("type") in STATEFUL
    return callable(getattr(config, "init", None)) and callable(getattr(config, "update", None))


def nested_plateau(config: Any, top: bool = True) -> bool:
    """Whether a plateau sits below the top of `config` (its state could never be updated there)."""
    if isinstance(config, dict):
        if not top and config.get("type") in STATEFUL:
            return True
        return any(nested_plateau(v, False) for k, v in config.items() if k != "type")
    if isinstance(config, list):
        return any(nested_plateau(v, False) for v in config)
    return False


def metric_value(metric: Any, where: str) -> float:
    """A metric as a Python float: a number, or a 0-d / one-element tensor or array (as ``float(metric)``)."""
    if isinstance(metric, (bool, np.bool_)):
        raise TypeError(f"{where}: the metric is a bool ({metric!r}); pass the monitored number (a loss, an "
                        "accuracy)")
    if isinstance(metric, numbers.Real):
        return float(metric)
    if isinstance(metric, (str, bytes)):
        raise TypeError(f"{where}: the metric {metric!r} is a string, not a number; pass the monitored value "
                        "(a Python number or a 0-d tensor such as the validation loss)")
    size = getattr(metric, "numel", None)
    n = size() if callable(size) else getattr(metric, "size", None)
    if n is not None and not isinstance(n, int):
        n = None
    if n is not None:
        if n != 1:
            shape = tuple(getattr(metric, "shape", ()))
            raise ValueError(
                f"{where}: the metric has {n} elements (shape {shape}); a plateau needs one number, as torch's "
                "float(metric) does. Reduce it first (e.g. loss.mean()) or pass the monitored scalar"
            )
        item = getattr(metric, "item", None)
        if callable(item):
            value = item()
            if isinstance(value, numbers.Real) and not isinstance(value, bool):
                return float(value)
    try:
        return float(metric)
    except (TypeError, ValueError) as e:
        raise TypeError(
            f"{where}: the metric {metric!r} ({type(metric).__name__}) is not a number; pass a Python number or "
            "a 0-d tensor/array such as the validation loss"
        ) from e


def _state_to_python(state: Any) -> dict[str, Any]:
    import jax

    leaves = jax.tree_util.tree_flatten_with_path(state)[0]
    return {jax.tree_util.keystr(path).lstrip("."): np.asarray(leaf).tolist() for path, leaf in leaves}


def _state_from_python(template: Any, saved: Mapping[str, Any]) -> Any:
    import jax

    paths, treedef = jax.tree_util.tree_flatten_with_path(template)
    leaves = []
    for path, leaf in paths:
        name = jax.tree_util.keystr(path).lstrip(".")
        if name not in saved:
            raise ValueError(f"load_state_dict: the saved plateau state has no field {name!r}; it was saved by "
                             "another version of the plateau")
        leaves.append(np.asarray(saved[name], dtype=np.asarray(leaf).dtype))
    return jax.tree_util.tree_unflatten(treedef, leaves)


class PlateauColumn(Column):
    """A plateau schedule's values ``p(step, state)`` under its current state (float64, CPU)."""

    def __init__(self, config: Any, saved_state: Mapping[str, Any] | None = None) -> None:
        self.config = config
        self.plateau = rebuild64(config)
        state = on_cpu(jitted("plateau_init"), self.plateau)
        if saved_state is not None:
            state = _state_from_python(state, saved_state)
        self.state = state

    def __getstate__(self) -> dict[str, Any]:  # pickle / deepcopy: plain data, rebuilt in float64
        return {"config": self.config, "saved": self.saved()}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["config"], state["saved"])  # type: ignore[misc]

    def compute(self, steps: np.ndarray) -> np.ndarray:
        return np.asarray(on_cpu(jitted("plateau_values"), self.plateau, self.state, steps), dtype=np.float64)

    def feed(self, metric: float, step: int, steps: np.ndarray) -> np.ndarray:
        """Update the state with `metric` (belonging to training step `step`); the new values at `steps`."""
        self.state, values = on_cpu(jitted("plateau_update"), self.plateau, self.state, np.float64(metric),
                                    np.int64(step), steps)
        return np.asarray(values, dtype=np.float64)

    def saved(self) -> dict[str, Any]:
        return _state_to_python(self.state)

    #: the state's fields that say where the decisions stand (the rest, rate and base, are this plateau's own)
    DECISIONS = ("best", "num_bad_epochs", "cooldown_counter", "last_epoch", "count", "window_sum", "window_count")

    def follow(self, other: PlateauColumn) -> None:
        """Take `other`'s decision counters (best metric, bad evaluations, cooldown, evaluations seen), keeping
        this plateau's rate: its next reduction then comes with `other`'s. The values do not change."""
        mine, theirs = self.saved(), other.saved()
        merged = {k: theirs[k] if k in self.DECISIONS else v for k, v in mine.items()}
        self.state = _state_from_python(self.state, merged)

    @property
    def evaluations(self) -> int:
        """How many metrics the schedule has seen (a plateau's ``count``, greedy's ``last_epoch``)."""
        fields = self.saved()
        return int(next((fields[k] for k in ("count", "last_epoch") if k in fields), 0))


def is_integral(x: Any) -> bool:
    if isinstance(x, numbers.Integral):
        return True
    return isinstance(x, numbers.Real) and math.isfinite(float(x)) and float(x) == math.floor(float(x))
