"""ScheduleLR(sync_metric=True) under torch.distributed: two gloo ranks over 127.0.0.1.

Each rank sees a different local metric. With sync_metric the plateau sees the
all-reduced mean, so both ranks take the same decisions (and equal torch's
ReduceLROnPlateau fed that mean); without it they diverge (the control).
"""

from __future__ import annotations

import datetime
import json
import os
import pathlib
import socket
import subprocess
import sys

import numpy as np
import torch

EPOCHS = 40

def run_rank(rank: int, port: str, epochs: int = EPOCHS) -> dict:
    """One rank: a synced and a local ScheduleLR with a plateau, fed this rank's own metric."""
    import lrsched_torch
    import torch.distributed as dist

    from lrsched.compat import torch as tc

    dist.init_process_group("gloo", init_method=f"tcp://127.0.0.1:{port}", rank=rank, world_size=2,
                            timeout=datetime.timedelta(seconds=180))
    try:
        metrics = (1.0 + 0.05 * np.random.default_rng(rank).standard_normal(epochs)).tolist()

        def make(sync):
            opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(2))], lr=0.1, momentum=0.9)
            plateau = tc.ReduceLROnPlateau(0.1, factor=0.5, patience=2, threshold=0.01)
            return opt, lrsched_torch.ScheduleLR(opt, lr=plateau, sync_metric=sync)

        (opt_s, synced), (opt_l, local) = make(True), make(False)
        lrs_s, lrs_l = [], []
        for m in metrics:
            synced.step(m)
            local.step(m)
            lrs_s.append(opt_s.param_groups[0]["lr"])
            lrs_l.append(opt_l.param_groups[0]["lr"])
        dist.barrier()
    finally:
        dist.destroy_process_group()
    return {"metrics": metrics, "synced": lrs_s, "local": lrs_l}


_RANK_1 = (
    "import json, sys; sys.path.insert(0, sys.argv[1]); from test_torch_ddp import run_rank; "
    "print(json.dumps(run_rank(1, sys.argv[2])))"
)


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_sync_metric_makes_ranks_agree_over_gloo():
    port = str(_free_port())
    env = dict(os.environ, JAX_PLATFORMS="cpu", OMP_NUM_THREADS="1")
    # rank 1 in a subprocess, rank 0 here (one process start instead of two)
    proc = subprocess.Popen([sys.executable, "-c", _RANK_1, str(pathlib.Path(__file__).parent), port], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        r0 = run_rank(0, port)
    finally:
        out, err = proc.communicate(timeout=240)
    assert proc.returncode == 0, err[-3000:]
    results = [r0, json.loads(out.strip().splitlines()[-1])]
    r0, r1 = results
    assert r0["metrics"] != r1["metrics"]
    # the control: on their own metrics the ranks decide differently
    assert r0["local"] != r1["local"]
    # synced: the same lr on both ranks at every epoch, and the plateau did act
    assert r0["synced"] == r1["synced"]
    assert len(set(r0["synced"])) >= 3
    # and it is torch's ReduceLROnPlateau fed the mean metric (sum then divide, as the all-reduce does)
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(2))], lr=0.1)
    native = torch.optim.lr_scheduler.ReduceLROnPlateau(opt, factor=0.5, patience=2, threshold=0.01)
    expected = []
    for a, b in zip(r0["metrics"], r1["metrics"]):
        native.step(float(np.float64(a) + np.float64(b)) / 2)
        expected.append(opt.param_groups[0]["lr"])
    assert r0["synced"] == expected
