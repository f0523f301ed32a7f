"""Which schedules a scheduler continues with when a loaded state's differ from those it was built with.

A state dict carries its run's schedules (their configs), and ``load_state_dict``
restores them, as torch's schedulers restore their arguments from theirs. When the
scheduler was built with other schedules (a run resumed with a larger ``max_steps``,
the schedule rebuilt for it), that replacement is silent in torch; the bridge warns,
naming both, and ``keep_schedule=True`` keeps the built ones instead (the step and
the plateau states still load). Schedules without a config (Python code such as a
CyclicLR ``scale_fn``) are never saved, so never compared.
"""

from __future__ import annotations

import warnings
from typing import Any, Sequence

__all__ = ["changed", "brief", "warn_replaced", "continued"]


def changed(built: Sequence[Any], loaded: Sequence[Any]) -> list[int]:
    """The param groups whose loaded schedule config differs from the built one: another config, or a schedule
    where there was none (None: the value is not driven) or none where there was one."""
    return [i for i, (b, s) in enumerate(zip(built, loaded))
            if ((b is None) != (s is None)) or (isinstance(b, dict) and isinstance(s, dict) and b != s)]


def _show(value: Any) -> str:
    if isinstance(value, dict):
        args = ", ".join(f"{k}={_show(v)}" for k, v in value.items() if k not in ("type", "lrsched_config"))
        return f"{value.get('type', '?')}({args})"
    if isinstance(value, list):
        return "[" + ", ".join(_show(v) for v in value) + "]"
    if value is None:
        return "none (the value not driven)"
    return repr(value)


def brief(config: Any, limit: int = 200) -> str:
    """A config as a short call-like text (``linear(init_value=0.1, end_value=0.0, steps=10)``)."""
    text = _show(config)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def continued(where: str, what: str, built: Sequence[Any], loaded: Sequence[Any], keep: bool,
              stacklevel: int = 2) -> list[Any]:
    """The `what` schedule configs to continue with: the `built` ones with `keep`, else the `loaded` ones, with a
    warning naming the groups whose schedule they replace (`stacklevel`: the caller's, as for ``warnings.warn``)."""
    if keep:
        return list(built)
    groups = changed(built, loaded)
    if groups:
        warn_replaced(where, what, groups, built, loaded, stacklevel + 1)
    return list(loaded)


def warn_replaced(where: str, what: str, groups: list[int], built: Sequence[Any], loaded: Sequence[Any],
                  stacklevel: int = 2) -> None:
    """Warn that the loaded `what` schedules of `groups` replace the built ones."""
    i = groups[0]
    more = f" (and param groups {', '.join(map(str, groups[1:]))})" if len(groups) > 1 else ""
    warnings.warn(
        f"{where}.load_state_dict: the state's {what} schedule for param group {i}{more} differs from the one this "
        "scheduler was built with, and replaces it (a state dict restores its run's schedules, as torch's "
        f"schedulers restore their arguments): saved {brief(loaded[i])}; built {brief(built[i])}. If the new "
        "schedule is intended (training extended, e.g. a larger max_steps), build the scheduler with "
        "keep_schedule=True: the step (and plateau states) load and the schedules stay as built",
        UserWarning,
        stacklevel=stacklevel + 1,
    )
