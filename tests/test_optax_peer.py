"""optax's own schedule tests, run against ``lrsched.compat.optax`` (a peer suite).

The test modules ship inside the installed optax (``optax/schedules/_schedule_test.py``
and ``_join_test.py``). Each is executed from its source with one change: the line that
imports optax's schedule module (``from optax.schedules import _schedule`` / ``_join``)
binds that name to a module of ``lrsched.compat.optax``'s functions instead, so every
``_schedule.cosine_decay_schedule(...)`` in optax's tests builds an lrsched schedule.
Everything else (assertions, tolerances, jit, the optimizers of
``ScheduleAsLearningRateTest``) is optax's own code, unchanged. pytest collects the
``unittest`` classes below.

Not run: ``_inject_test.py`` tests ``optax.inject_hyperparams``, a gradient
transformation, not a schedule (lrsched's counterpart, ``lrsched.optax.inject``, has its
own tests in ``tests/test_optax.py``). Every test of the two schedule modules runs.
"""

from __future__ import annotations

import pathlib
import types
import unittest

import optax.schedules

import lrsched
from lrsched.compat import optax as ox

SHIM = types.ModuleType("lrsched_compat_optax_as_optax_schedules")
for _name in ox.__all__:
    setattr(SHIM, _name, getattr(ox, _name))

_FOLDER = pathlib.Path(optax.schedules.__file__).parent
_MODULES = {
    "_schedule_test.py": [("from optax.schedules import _schedule\n", "_schedule = _LRSCHED_SHIM\n")],
    "_join_test.py": [("from optax.schedules import _join\n", "_join = _LRSCHED_SHIM\n"),
                      ("from optax.schedules import _schedule\n", "_schedule = _LRSCHED_SHIM\n")],
}


def _load(file: str, replacements: list[tuple[str, str]]) -> dict:
    path = _FOLDER / file
    source = path.read_text()
    for old, new in replacements:
        if old not in source:
            raise AssertionError(f"{path}: expected the line {old.strip()!r}; optax's test module changed")
        source = source.replace(old, new)
    namespace = {"__name__": f"optax_peer.{path.stem}", "__file__": str(path), "_LRSCHED_SHIM": SHIM}
    exec(compile(source, str(path), "exec"), namespace)
    return namespace


CLASSES = []
NAMESPACES = {}
for _file, _replacements in _MODULES.items():
    NAMESPACES[_file] = _ns = _load(_file, _replacements)
    for _name, _obj in _ns.items():
        if isinstance(_obj, type) and issubclass(_obj, unittest.TestCase) and _obj.__module__ == _ns["__name__"]:
            _peer = type(f"OptaxPeer_{_name}", (_obj,), {"__module__": __name__})
            globals()[_peer.__name__] = _peer
            CLASSES.append(_peer.__name__)


def test_the_peer_suite_is_collected():
    """Both of optax's schedule test modules were found and their classes are here."""
    assert len(CLASSES) >= 10, CLASSES
    assert "OptaxPeer_CosineDecayTest" in CLASSES and "OptaxPeer_JoinTest" in CLASSES
    # optax's tests call lrsched's functions, and those build lrsched schedules
    assert NAMESPACES["_schedule_test.py"]["_schedule"] is SHIM and NAMESPACES["_join_test.py"]["_join"] is SHIM
    assert isinstance(SHIM.cosine_decay_schedule(0.1, decay_steps=10**10), lrsched.Schedule)
