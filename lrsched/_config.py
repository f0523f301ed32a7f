"""Schedules to and from JSON-able dicts: ``to_config`` / ``from_config``."""

from __future__ import annotations

import dataclasses
import importlib
from typing import Any

import jax
import numpy as np

from lrsched._core import Schedule, ScheduleError, field_since

__all__ = ["to_config", "from_config"]

#: The config format ``to_config`` writes (the ``lrsched_config`` key). Format 2 added ``noise``'s
#: ``generator`` (default ``"hash"``); a format-1 config predates it and drew with JAX's threefry, so
#: :func:`from_config` loads its noise nodes with ``generator="threefry"``: the same values as when it was saved.
#: Format 3 added ``one_cycle``'s and ``one_cycle_momentum``'s ``extrapolate`` (step ``T`` as torch computes it);
#: older configs hold the final value there, as they did, so they load with ``extrapolate=False``.
#: Each field added after format 1 says so (``lrsched._core.field_since``): one rule for every upgrade.
FORMAT = 3


def _encode(value: Any, where: str) -> Any:
    if isinstance(value, Schedule):
        return _schedule_config(value, where)
    if isinstance(value, (list, tuple)):
        return [_encode(v, f"{where}[{i}]") for i, v in enumerate(value)]
    if value is None or type(value) in (bool, str, int, float):
        return value
    if isinstance(value, jax.core.Tracer):
        raise ScheduleError(
            f"to_config: {where} is a traced value; configs hold concrete numbers. "
            "Call to_config outside jit/vmap/grad"
        )
    # numpy scalars (np.float64 is a float subclass, np.bool_ is not a bool) and arrays become plain
    # Python numbers and nested lists, so a config survives json and torch.load(weights_only=True)
    if isinstance(value, (np.ndarray, np.generic, jax.Array)):
        return np.asarray(value).tolist()
    for plain in (bool, int, float, str):  # other subclasses (IntEnum, ...): the plain value
        if isinstance(value, plain):
            return plain(value)
    raise ScheduleError(f"to_config: {where} has type {type(value).__name__}, which a config cannot hold")


def _precise(schedule: Schedule, name: str, value: Any) -> Any:
    """A precise field's number as the schedule evaluates it (see ``lrsched._core.precise_field``): a float32
    value plus its low part (what float32 lost of the number passed), so a schedule whose numbers became float32
    arrays (``jax.device_put``, a ``jit`` output, an optimizer state) keeps them in its config."""
    lo = getattr(schedule, f"{name}_lo", None)
    if lo is None or value is None or isinstance(value, (jax.core.Tracer, bool, int, float)):
        return value
    a, low = np.asarray(value), np.asarray(lo, np.float64)
    if a.dtype.kind != "f" or a.dtype.itemsize > 4 or low.shape != a.shape or not low.any():
        return value
    exact = a.astype(np.float64) + low  # (exact: two float32s of magnitudes 2**24 apart fit one float64)
    if exact.ndim:
        return exact
    # the shortest decimal with the same two parts (the 0.999 that was passed, not 0.99899999999999999911)
    for digits in range(1, 18):
        x = float(f"{float(exact):.{digits}g}")
        if np.float32(x) == a and np.float32(x - np.float64(np.float32(x))) == np.float32(low):
            return x
    return float(exact)


def _schedule_config(schedule: Schedule, where: str) -> dict[str, Any]:
    args = dict(schedule.config_args())
    for name in type(schedule)._precise:
        if name in args:
            args[name] = _precise(schedule, name, args[name])
    return {"type": schedule.factory_name,
            **{k: _encode(v, f"{where}.{k}") for k, v in args.items()}}


def to_config(schedule: Schedule) -> dict[str, Any]:
    """A JSON-able dict describing `schedule` exactly (nested schedules included).

    ``from_config(to_config(s))`` evaluates identically to ``s`` at every step.

    Examples:
      >>> import json, lrsched
      >>> s = lrsched.warmup(lrsched.cosine(0.1, steps=100), steps=10)
      >>> config = lrsched.to_config(s)
      >>> config["type"], config["schedule"]["type"]
      ('warmup', 'cosine')
      >>> again = lrsched.from_config(json.loads(json.dumps(config)))
      >>> again == s, lrsched.to_config(again) == config  # a new object, the same schedule
      (False, True)
      >>> bool((lrsched.evaluate(again, 120) == lrsched.evaluate(s, 120)).all())
      True
    """
    if not isinstance(schedule, Schedule):
        raise ScheduleError(f"to_config needs an lrsched Schedule; got {type(schedule).__name__}")
    return {"lrsched_config": FORMAT, **_schedule_config(schedule, schedule.factory_name)}


def _decode(value: Any, version: int) -> Any:
    if isinstance(value, dict) and "type" in value:
        return _build(value, version)
    if isinstance(value, list):
        return [_decode(v, version) for v in value]
    return value


def _import_for(kind: str) -> str:
    """Import the ``lrsched.compat`` module a prefixed type names (``"transformers.wsd"`` ->
    ``lrsched.compat.transformers``), so that a config loads in a fresh process; never any other
    module. Returns what the error should add when the type is still unknown."""
    prefix = kind.split(".", 1)[0]
    if not prefix.isidentifier():
        return ""
    module = f"lrsched.compat.{prefix}"
    try:
        importlib.import_module(module)
    except ModuleNotFoundError as e:
        if e.name != module:  # the module exists but fails to import: that error is the one to see
            raise
        return f" (the prefix {prefix!r} names no module: {module} does not exist)"
    return "" if kind in Schedule._registry else f" ({module} has no schedule type {kind!r})"


def _build(config: dict[str, Any], version: int) -> Schedule:
    kind = config["type"]
    if not isinstance(kind, str):
        raise ScheduleError(f"from_config: a schedule's 'type' is its name, a string; got {kind!r}. Pass a config "
                            "that lrsched.to_config wrote (e.g. {'type': 'cosine', ...})")
    cls = Schedule._registry.get(kind)
    note = ""
    if cls is None and isinstance(kind, str) and "." in kind:  # a compat node: its module registers it
        note = _import_for(kind)
        cls = Schedule._registry.get(kind)
    if cls is None:
        known = ", ".join(sorted(Schedule._registry))
        raise ScheduleError(f"from_config: unknown schedule type {kind!r}{note}. Known types: {known}")
    args = {k: _decode(v, version) for k, v in config.items() if k != "type"}
    for f in dataclasses.fields(cls):  # a field added after the config's format: what that format meant
        since = field_since(f)
        if since is not None and version < since[0] and f.name not in args:
            args[f.name] = since[1]
    try:
        return cls.from_config_args(args)
    except TypeError as e:
        raise ScheduleError(f"from_config: bad arguments for {kind!r}: {e}") from None


def from_config(config: dict[str, Any]) -> Schedule:
    """Rebuild a schedule from :func:`to_config`'s dict (validated like any other).

    Works in any process: a type with a prefix (``"fastai.combine"``,
    ``"transformers.wsd"``) imports the ``lrsched.compat`` module it names
    (``lrsched.compat.fastai``) when that is not imported yet.

    Configs saved by an older lrsched load to the same values: the
    ``lrsched_config`` format number says which upgrades apply (format 1, before
    ``noise`` had a ``generator``, loads its noise with ``generator="threefry"``,
    the generator it was saved with). A config without that key is read as the
    current format; a newer format than this lrsched knows is refused.
    """
    if not isinstance(config, dict) or "type" not in config:
        raise ScheduleError(
            "from_config needs a dict made by lrsched.to_config (with a 'type' key); "
            f"got {type(config).__name__}"
        )
    version = config.get("lrsched_config", FORMAT)
    if not (type(version) is int and 1 <= version <= FORMAT):  # bool, float, str: not a format lrsched writes
        newer = isinstance(version, (int, float)) and not isinstance(version, bool) and version > FORMAT
        raise ScheduleError(
            f"from_config: config format {version!r} is not one this lrsched reads (1 to {FORMAT}); "
            + ("it was written by a newer lrsched: upgrade lrsched" if newer else
               "lrsched_config must be the format number that lrsched.to_config wrote")
        )
    return _build({k: v for k, v in config.items() if k != "lrsched_config"}, version)
