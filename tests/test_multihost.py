"""The documented multi-host sweep path, run for real: two processes on localhost.

Each process runs ``jax.distributed.initialize`` against a coordinator on a free local port, uses gloo
CPU collectives and has two host devices (``--xla_force_host_platform_device_count=2``), so the default
mesh spans four devices on two "hosts". A sweep of 7 configurations (padded to 8) is sharded over all
four with ``lrsched.sweep.shard``, evaluated and trained by one jitted ``vmap``, and gathered on every
process with ``lrsched.sweep.gather``; both processes must get the one-process result. The test starts
its processes itself, bounds every wait, and kills them on failure.
"""

from __future__ import annotations

import json
import os
import pathlib
import socket
import subprocess
import sys
import time

import numpy as np

ROOT = pathlib.Path(__file__).resolve().parents[1]
TIMEOUT = 150  # seconds for both processes together; they normally finish in a few

COMMON = r'''
import numpy as np, jax, jax.numpy as jnp, optax
import lrsched, lrsched.optax
from lrsched import sweep
from lrsched.demo import digits

def build():
    batched, configs = sweep.grid(lrsched.warmup_cosine, peak_value=[0.02, 0.05, 0.1, 0.2],
                                  warmup_steps=[0, 5], total_steps=[20],
                                  where=lambda c: not (c["peak_value"] == 0.2 and c["warmup_steps"] == 5))
    rng = np.random.default_rng(0)
    xs = rng.normal(size=(12, 16, 64)).astype(np.float32)
    ys = rng.integers(0, 10, size=(12, 16)).astype(np.int32)
    params0 = digits.init_mlp(jax.random.key(0), (64, 8, 10))
    return batched, configs, xs, ys, params0

def chain(s):
    return optax.chain(optax.scale_by_adam(), lrsched.optax.scale_by_schedule(s), optax.scale(-1.0))

def programs(batched, xs, ys, params0):
    tx = chain(sweep.index(batched, 0))
    evaluate = jax.jit(jax.vmap(lambda s: s(jnp.arange(30))))
    init = jax.jit(jax.vmap(lambda s: chain(s).init(params0)))

    def train(params, state):
        _, _, losses = digits.train(tx, params, state, xs, ys)
        return losses

    return evaluate, init, jax.jit(jax.vmap(train))

def stacked(params0, k):
    return jax.tree.map(lambda x: np.broadcast_to(x, (k,) + x.shape), params0)
'''

WORKER = COMMON + r'''
import json, sys
process_id, port = int(sys.argv[1]), int(sys.argv[2])
jax.config.update("jax_cpu_collectives_implementation", "gloo")
jax.distributed.initialize(coordinator_address=f"127.0.0.1:{port}", num_processes=2, process_id=process_id,
                           initialization_timeout=60)
out = {"process_index": jax.process_index(), "process_count": jax.process_count(),
       "devices": len(jax.devices()), "local_devices": len(jax.local_devices())}

batched, configs, xs, ys, params0 = build()
n = len(configs)
evaluate, init, train = programs(batched, xs, ys, params0)
sb = sweep.shard(batched)                     # the default mesh: every device of both processes
leaf = sb.peak_value
out["global_shape"] = list(leaf.shape)
out["fully_addressable"] = leaf.is_fully_addressable
out["local_shards"] = sorted([s.index[0].start or 0, s.index[0].stop, s.device.process_index]
                             for s in leaf.addressable_shards)
values = sweep.gather(evaluate(sb), n=n)       # collective: every process gets every row
states = init(sb)
losses = train(sweep.shard(stacked(params0, n)), states)
out["n"] = n
out["values"] = values.tolist()
out["losses"] = sweep.gather(losses, n=n).tolist()
out["one_row"] = np.asarray(sweep.gather(sweep.index(sb, 6).peak_value)).tolist()  # index across hosts
print("RESULT" + json.dumps(out), flush=True)
jax.distributed.shutdown()
'''


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _run_two_processes(tmp_path: pathlib.Path) -> list[dict]:
    script = tmp_path / "worker.py"
    script.write_text(WORKER)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("JAX_", "XLA_"))}
    env.update(JAX_PLATFORMS="cpu", XLA_FLAGS="--xla_force_host_platform_device_count=2",
               PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    port = _free_port()
    logs = [(tmp_path / f"out{i}.txt", tmp_path / f"err{i}.txt") for i in range(2)]
    procs = []
    try:
        for i, (out, err) in enumerate(logs):
            with open(out, "w") as fo, open(err, "w") as fe:  # files, not pipes: a full pipe cannot block them
                procs.append(subprocess.Popen([sys.executable, str(script), str(i), str(port)], cwd=ROOT, env=env,
                                              stdout=fo, stderr=fe))
        deadline = time.monotonic() + TIMEOUT
        while any(p.poll() is None for p in procs):
            # one process failing leaves the other waiting for it at a collective: stop at once
            failed = any(p.poll() not in (None, 0) for p in procs)
            assert not failed and time.monotonic() < deadline, (
                f"{'a process failed' if failed else f'no result within {TIMEOUT} s'}: "
                + "; ".join(f"process {i} rc={p.poll()}: {err.read_text()[-3000:]}"
                            for i, (p, (_, err)) in enumerate(zip(procs, logs))))
            time.sleep(0.1)
    finally:
        for p in procs:  # a failure or a timeout leaves no process behind
            if p.poll() is None:
                p.kill()
                p.wait()
    results = []
    for i, (p, (out, err)) in enumerate(zip(procs, logs)):
        assert p.returncode == 0, f"process {i} exited with {p.returncode}:\n{err.read_text()[-4000:]}"
        line = [x for x in out.read_text().splitlines() if x.startswith("RESULT")][-1]
        results.append(json.loads(line[len("RESULT"):]))
    return results


def _one_process() -> dict:
    ns: dict = {}
    exec(COMMON, ns)
    batched, configs, xs, ys, params0 = ns["build"]()
    evaluate, init, train = ns["programs"](batched, xs, ys, params0)
    losses = train(ns["stacked"](params0, len(configs)), init(batched))
    return {"n": len(configs), "values": np.asarray(evaluate(batched)), "losses": np.asarray(losses),
            "peak": np.asarray(batched.peak_value)}


def test_sweep_sharded_over_two_processes_equals_one_process(tmp_path):
    started = time.monotonic()
    results = _run_two_processes(tmp_path)
    took = time.monotonic() - started
    ref = _one_process()
    assert ref["n"] == 7
    for i, r in enumerate(results):
        assert (r["process_index"], r["process_count"], r["devices"], r["local_devices"]) == (i, 2, 4, 2)
        assert r["global_shape"] == [8] and not r["fully_addressable"]  # padded 7 -> 8, spans both hosts
        # this process stores only its own two devices' entries, two configurations each
        assert r["local_shards"] == [[4 * i, 4 * i + 2, i], [4 * i + 2, 4 * i + 4, i]]
        assert r["n"] == 7
        values, losses = np.asarray(r["values"], np.float32), np.asarray(r["losses"], np.float32)
        assert values.shape == (7, 30) and losses.shape == (7, 12)  # every row on every process, padding gone
        np.testing.assert_allclose(values, ref["values"], rtol=1e-6, atol=0)
        np.testing.assert_allclose(losses, ref["losses"], rtol=1e-5, atol=1e-6)
        assert np.float32(r["one_row"]) == np.float32(ref["peak"][6])
    np.testing.assert_array_equal(results[0]["losses"], results[1]["losses"])  # the same all-gathered result
    assert len(np.unique(np.round(ref["losses"][:, -1], 4))) == 7  # the configurations really differ
    assert took < TIMEOUT

