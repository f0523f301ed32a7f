"""Configs and checkpoints work across processes.

- ``from_config`` in a fresh process (``import lrsched`` and nothing else) rebuilds every schedule of the shared
  case list, compat ones included: a prefixed type (``"fastai.combine"``) imports the ``lrsched.compat`` module
  it names; an unknown prefix says which module it looked for.
- Structure fingerprints are the same in every process (no memory addresses), also for schedules holding
  Python code (``cyclic(scale_fn=...)``, an optax schedule given to ``inject``).
- A checkpoint of a state holding Python code saves in one process and restores in another; saving and
  restoring say clearly that the code is not in the checkpoint; another function is refused, naming the code.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from cases import CASES, COMPAT_CASES

import lrsched
from lrsched._tree import fingerprint

ROOT = pathlib.Path(__file__).resolve().parents[1]
STEPS = [0, 1, 2, 5, 17, 50, 99, 100, 101, 517, 4099]

HELPER = '''
import jax.numpy as jnp

def halve(x):
    return 0.5 ** x

def third(x):
    return jnp.asarray(1.0 / 3.0) ** x
'''


def _python(code: str, tmp_path: pathlib.Path) -> dict:
    (tmp_path / "code_helper.py").write_text(HELPER)
    env = dict(os.environ, JAX_PLATFORMS="cpu",
               PYTHONPATH=os.pathsep.join([str(ROOT), str(ROOT / "tests"), str(tmp_path),
                                           os.environ.get("PYTHONPATH", "")]))
    proc = subprocess.run([sys.executable, "-W", "always::UserWarning", "-c", textwrap.dedent(code)],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=240)
    assert proc.returncode == 0, proc.stderr[-4000:]
    line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT")][-1]
    out = json.loads(line[len("RESULT"):])
    out["stderr"] = proc.stderr
    return out


def _key(i: int, case) -> str:
    return f"{i}:{case.name}"  # case names repeat (several parameter sets of one factory)


def _configs() -> dict[str, dict]:
    out = {}
    for i, case in enumerate(CASES + COMPAT_CASES):
        try:
            out[_key(i, case)] = lrsched.to_config(case.make(case.params))
        except lrsched.ScheduleError:  # a schedule holding code: tested below
            continue
    return out


def _types(config: object) -> set[str]:
    if isinstance(config, dict):
        here = {config["type"]} if isinstance(config.get("type"), str) else set()
        return here.union(*(_types(v) for v in config.values()))
    if isinstance(config, list):
        return set().union(*(_types(v) for v in config))
    return set()


def test_every_config_loads_in_a_fresh_process_and_prefixes_import_their_module(tmp_path):
    configs = _configs()
    prefixed = {t for c in configs.values() for t in _types(c) if "." in t}
    assert {t.split(".")[0] for t in prefixed} >= {"fastai", "transformers"}  # the compat modules with classes
    (tmp_path / "configs.json").write_text(json.dumps(configs))
    compat = sorted(k for k, c in configs.items() if any("." in t for t in _types(c)))
    out = _python(f'''
        import json, sys
        import lrsched
        before = sorted(m for m in sys.modules if m.startswith("lrsched.compat"))
        configs = json.load(open("configs.json"))
        rebuilt = {{name: lrsched.from_config(c) for name, c in configs.items()}}
        after = sorted(m for m in sys.modules if m.startswith("lrsched.compat"))
        print("RESULT" + json.dumps({{
            "before": before, "after": after,
            "same": sorted(k for k, s in rebuilt.items() if lrsched.to_config(s) == configs[k]),
            "fingerprints": {{k: lrsched._tree.fingerprint(s) for k, s in rebuilt.items()}},
            "values": {{k: lrsched.evaluate(rebuilt[k], {STEPS}).tolist() for k in {compat!r}}}}}))
    ''', tmp_path)
    assert out["before"] == []  # import lrsched imports no compat module
    assert {f"lrsched.compat.{t.split('.')[0]}" for t in prefixed} <= set(out["after"])
    assert len(configs) > 100 and out["same"] == sorted(configs)  # every config rebuilt exactly
    for i, case in enumerate(CASES + COMPAT_CASES):
        key = _key(i, case)
        if key in configs:
            assert out["fingerprints"][key] == fingerprint(case.make(case.params)), key
    assert len(compat) >= 5
    for key in compat:  # the schedules whose types live in compat modules: the same values as here
        i = int(key.split(":")[0])
        case = (CASES + COMPAT_CASES)[i]
        np.testing.assert_array_equal(np.asarray(out["values"][key], np.float32),
                                      lrsched.evaluate(case.make(case.params), STEPS), err_msg=key)


def test_unknown_types_say_which_module_was_looked_for():
    with pytest.raises(lrsched.ScheduleError, match=r"'nosuch.Thing' \(the prefix 'nosuch' names no module: "
                                                    r"lrsched.compat.nosuch does not exist\)"):
        lrsched.from_config({"type": "nosuch.Thing"})
    with pytest.raises(lrsched.ScheduleError, match=r"lrsched.compat.torch has no schedule type 'torch.Nothing'"):
        lrsched.from_config({"type": "torch.Nothing"})
    with pytest.raises(lrsched.ScheduleError, match="unknown schedule type 'os.path'"):  # never any other module
        lrsched.from_config({"type": "os.path"})


FINGERPRINTS = '''
import json, optax, jax.numpy as jnp
import lrsched, lrsched.optax
from lrsched._tree import fingerprint
import code_helper
with_code = {
    "cyclic scale_fn": lrsched.cyclic(0.0, 1.0, 4, scale_fn=code_helper.halve),
    "warmup(cyclic scale_fn)": lrsched.warmup(lrsched.cyclic(0.0, 1.0, 4, scale_fn=code_helper.third), 3),
    "cyclic lambda": lrsched.cyclic(0.0, 1.0, 4, scale_fn=lambda x: 0.5 ** x),
}
out = {k: fingerprint(s) for k, s in with_code.items()}
state = lrsched.optax.inject(optax.adam, learning_rate=optax.cosine_decay_schedule(0.1, 10)).init(jnp.zeros(2))
out["inject optax closure"] = int(state.structure)
print("RESULT" + json.dumps(out))
'''


def test_fingerprints_of_schedules_holding_code_are_the_same_in_every_process(tmp_path):
    """(Every case's fingerprint is compared across processes in the first test.)"""
    a, b = _python(FINGERPRINTS, tmp_path), _python(FINGERPRINTS, tmp_path)
    a.pop("stderr"), b.pop("stderr")
    assert a == b and len(a) == 4
    assert a["cyclic scale_fn"] != a["warmup(cyclic scale_fn)"] != a["cyclic lambda"]


SAVE = '''
import json, warnings
import flax.serialization, jax.numpy as jnp, optax
import lrsched, lrsched.optax
import code_helper
s = lrsched.warmup(lrsched.cyclic(0.01, 0.1, 4, scale_fn=code_helper.halve), 2)
tx = optax.chain(optax.scale_by_adam(), lrsched.optax.scale_by_schedule(s), optax.scale(-1.0))
state = tx.init(jnp.zeros(3))
for k in range(7):
    _, state = tx.update(jnp.ones(3) * (k + 1), state)
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    open("state.msgpack", "wb").write(flax.serialization.to_bytes(state))
print("RESULT" + json.dumps({"warnings": [str(w.message) for w in caught],
                             "next": [float(lrsched.optax.current(state)["schedule"])]}))
'''

RESTORE = '''
import json, warnings
import flax.serialization, jax.numpy as jnp, optax
import lrsched, lrsched.optax
from lrsched import checkpoint
import code_helper
fn = code_helper.{fn}
tx = optax.chain(optax.scale_by_adam(),
                 lrsched.optax.scale_by_schedule(lrsched.warmup(lrsched.cyclic(0.01, 0.1, 4, scale_fn=fn), 2)),
                 optax.scale(-1.0))
with warnings.catch_warnings(record=True) as caught:
    warnings.simplefilter("always")
    try:
        state = checkpoint.restore(tx.init(jnp.zeros(3)), open("state.msgpack", "rb").read())
        out = {{"count": int(state[1].count), "next": [float(lrsched.optax.current(state)["schedule"])]}}
    except ValueError as e:
        out = {{"error": str(e)}}
out["warnings"] = [str(w.message) for w in caught]
print("RESULT" + json.dumps(out))
'''


def test_a_checkpoint_holding_code_restores_in_another_process_and_says_so(tmp_path):
    saved = _python(SAVE, tmp_path)
    assert any("holds Python code (cyclic.scale_fn = code_helper.halve)" in w and "not its code" in w
               for w in saved["warnings"])
    restored = _python(RESTORE.format(fn="halve"), tmp_path)
    assert restored["count"] == 7 and restored["next"] == saved["next"]
    assert any("restored by name" in w and "code_helper.halve" in w for w in restored["warnings"])
    other = _python(RESTORE.format(fn="third"), tmp_path)
    assert "different structure" in other["error"] and "code_helper.third" in other["error"]
