"""examples/torch_digits.py: a torch MLP trained with ScheduleLR + compat.torch one-cycle reaches 90%."""

from __future__ import annotations

import importlib.util
import pathlib
import warnings

import numpy as np
import pytest
import torch

EXAMPLE = pathlib.Path(__file__).resolve().parents[1] / "examples" / "torch_digits.py"


@pytest.fixture(scope="module")
def example():
    pytest.importorskip("sklearn")
    spec = importlib.util.spec_from_file_location("torch_digits_example", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_torch_digits_example_trains_with_torchs_one_cycle(example):
    threads = torch.get_num_threads()
    try:
        result = example.main(["--epochs", "10", "--max-lr", "0.4"])
    finally:
        torch.set_num_threads(threads)
    assert result["accuracy"] >= 0.9
    # the lr and momentum the optimizer used are torch's OneCycleLR with cycle_momentum, step by step
    opt = torch.optim.SGD([torch.nn.Parameter(torch.zeros(1))], lr=0.4, momentum=0.9)
    native = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=0.4, total_steps=result["steps"])
    lrs, moms = [], []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        for _ in range(result["steps"]):
            lrs.append(opt.param_groups[0]["lr"])
            moms.append(opt.param_groups[0]["momentum"])
            native.step()
    np.testing.assert_allclose(result["lrs"], lrs, rtol=1e-11)
    np.testing.assert_allclose(result["momenta"], moms, rtol=1e-12)
    assert result["lrs"].max() == pytest.approx(0.4) and result["momenta"].min() == pytest.approx(0.85)
    assert result["scheduler_state"]["last_epoch"] == result["steps"]
