"""lrsched.sweep.shard over 8 host devices, in a subprocess with
XLA_FLAGS=--xla_force_host_platform_device_count=8 (the flag must be set before JAX starts).

Checks that each device holds its own shard of the sweep axis, that uneven sweeps
are padded with the last configuration, and that sharded evaluation and sharded
training give the unsharded results.
"""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys
import textwrap

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]

SCRIPT = textwrap.dedent(
    r'''
    import json
    import numpy as np, jax, jax.numpy as jnp, optax
    import lrsched, lrsched.optax
    from lrsched import sweep
    from lrsched.demo import digits

    P = jax.sharding.PartitionSpec
    out = {"devices": len(jax.devices())}

    # 21 configurations (not a multiple of 8): padded to 24, 3 per device
    batched, configs = sweep.grid(lrsched.warmup_cosine, peak_value=[0.01, 0.03, 0.1],
                                  warmup_steps=[0, 10, 20, 30], total_steps=[25, 50],
                                  where=lambda c: c["warmup_steps"] < c["total_steps"])
    n = len(configs)
    out["n"] = n
    mesh = sweep.mesh()
    sb = sweep.shard(batched, mesh)
    leaves, host = jax.tree.leaves(sb), jax.tree.leaves(batched)
    out["padded"] = [int(x.shape[0]) for x in leaves]
    out["specs_ok"] = all(x.sharding.spec == P("sweep") for x in leaves)
    placement = []
    for x, h in zip(leaves, host):
        shards = x.addressable_shards
        want = np.concatenate([np.asarray(h), np.repeat(np.asarray(h)[-1:], 3)])  # last config repeated
        placement.append({
            "count": len(shards),
            "devices": sorted({s.device.id for s in shards}),
            "shapes": sorted({tuple(s.data.shape) for s in shards}),
            "content_ok": all(np.array_equal(np.asarray(s.data), want[s.index].astype(x.dtype)) for s in shards),
            "starts": sorted(s.index[0].start or 0 for s in shards),
        })
    out["placement"] = placement

    # evaluation: sharded == unsharded
    ev = jax.jit(jax.vmap(lambda s: s(jnp.arange(60))))
    got, ref = ev(sb), np.asarray(ev(batched))
    out["eval_out_shards"] = sorted({s.device.id for s in got.addressable_shards})
    out["eval_out_shard_shape"] = list(got.addressable_shards[0].data.shape)
    g = sweep.gather(got, n=n)
    out["eval_shape"] = list(g.shape)
    out["eval_max_rel"] = float(np.max(np.abs(g - ref) / np.maximum(np.abs(ref), 1e-30)))

    # training the digits MLP (lrsched.demo.digits) with the schedules held in the optimizer states
    rng = np.random.default_rng(0)  # digits-shaped random data: no scikit-learn import in the subprocess
    xs = rng.normal(size=(25, 32, 64)).astype(np.float32)
    ys = rng.integers(0, 10, size=(25, 32)).astype(np.int32)
    params0 = digits.init_mlp(jax.random.key(0), (64, 16, 10))
    chain = lambda s: optax.chain(optax.scale_by_adam(), lrsched.optax.scale_by_schedule(s), optax.scale(-1.0))
    tx = chain(sweep.index(batched, 0))

    def train(params, state):
        p, _, losses = digits.train(tx, params, state, xs, ys)
        return p, losses

    init = jax.jit(jax.vmap(lambda s: chain(s).init(params0)))
    run = jax.jit(jax.vmap(train))
    stacked = lambda k: jax.tree.map(lambda x: np.broadcast_to(x, (k,) + x.shape), params0)
    p_ref, l_ref = run(stacked(n), init(batched))
    sp = sweep.shard(stacked(n), mesh)
    states = init(sb)
    p_sh, l_sh = run(sp, states)
    out["train_out_shards"] = sorted({s.device.id for s in l_sh.addressable_shards})
    out["train_out_shard_shape"] = list(l_sh.addressable_shards[0].data.shape)
    out["state_shards"] = sorted({s.device.id for s in jax.tree.leaves(states)[0].addressable_shards})
    l_g, p_g = sweep.gather((l_sh, p_sh), n=n)
    out["train_shape"] = list(l_g.shape)
    out["train_loss_max_abs"] = float(np.max(np.abs(l_g - np.asarray(l_ref))))
    out["train_param_max_abs"] = max(float(np.max(np.abs(a - np.asarray(b))))
                                     for a, b in zip(jax.tree.leaves(p_g), jax.tree.leaves(p_ref)))
    out["losses_differ"] = len(np.unique(np.round(l_g[:, -1], 5))) > n // 2

    # a 2-D mesh: the sweep over 4 devices, each entry replicated over the "data" axis
    mesh2 = jax.sharding.Mesh(np.asarray(jax.devices()).reshape(4, 2), ("sweep", "data"))
    sb2 = sweep.shard(batched, mesh2)
    x2 = sb2.peak_value
    out["mesh2"] = {"shape": list(x2.shape), "shards": len(x2.addressable_shards),
                    "shard_shapes": sorted({tuple(s.data.shape) for s in x2.addressable_shards})}
    out["mesh2_eval_max_rel"] = float(np.max(np.abs(sweep.gather(ev(sb2), n=n) - ref) /
                                             np.maximum(np.abs(ref), 1e-30)))

    # fewer configurations than devices
    small = sweep.take(batched, [0, 5, 9, 11, 20])
    ss = sweep.shard(small, mesh)
    out["small"] = {"shape": list(ss.peak_value.shape),
                    "max_rel": float(np.max(np.abs(sweep.gather(ev(ss), n=5) - ref[[0, 5, 9, 11, 20]]) /
                                            np.maximum(np.abs(ref[[0, 5, 9, 11, 20]]), 1e-30)))}
    print("RESULT" + json.dumps(out))
    '''
)


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    script = tmp_path_factory.mktemp("sharded") / "sharded_sweep.py"
    script.write_text(SCRIPT)
    env = dict(os.environ, JAX_PLATFORMS="cpu", XLA_FLAGS="--xla_force_host_platform_device_count=8",
               PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    proc = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env, cwd=ROOT,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-4000:]
    line = [x for x in proc.stdout.splitlines() if x.startswith("RESULT")][-1]
    return json.loads(line[len("RESULT"):])


def test_each_device_holds_its_shard_of_an_uneven_sweep(result):
    assert result["devices"] == 8 and result["n"] == 21
    assert set(result["padded"]) == {24}  # 21 -> 24: the last configuration repeated 3 times
    assert result["specs_ok"]
    for leaf in result["placement"]:
        assert leaf["count"] == 8 and leaf["devices"] == list(range(8))
        assert leaf["shapes"] == [[3]] and leaf["starts"] == [0, 3, 6, 9, 12, 15, 18, 21]
        assert leaf["content_ok"]


def test_sharded_evaluation_equals_unsharded(result):
    assert result["eval_out_shards"] == list(range(8)) and result["eval_out_shard_shape"] == [3, 60]
    assert result["eval_shape"] == [21, 60]  # padding stripped
    assert result["eval_max_rel"] < 1e-6


def test_sharded_training_equals_unsharded(result):
    assert result["state_shards"] == list(range(8))
    assert result["train_out_shards"] == list(range(8)) and result["train_out_shard_shape"] == [3, 25]
    assert result["train_shape"] == [21, 25]
    assert result["train_loss_max_abs"] < 1e-5 and result["train_param_max_abs"] < 1e-5
    assert result["losses_differ"]  # the runs really followed different schedules


def test_two_axis_mesh_and_fewer_configurations_than_devices(result):
    assert result["mesh2"] == {"shape": [24], "shards": 8, "shard_shapes": [[6]]}
    assert result["mesh2_eval_max_rel"] < 1e-6
    assert result["small"]["shape"] == [8] and result["small"]["max_rel"] < 1e-6
