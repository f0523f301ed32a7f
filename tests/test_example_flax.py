"""The end-to-end example: a flax MLP on digits with TrainState and lrsched schedules."""

import importlib.util
import pathlib
import sys

import numpy as np
import pytest

EXAMPLE = pathlib.Path(__file__).resolve().parents[1] / "examples" / "flax_digits.py"


@pytest.fixture(scope="module")
def example():
    spec = importlib.util.spec_from_file_location("flax_digits", EXAMPLE)
    module = importlib.util.module_from_spec(spec)
    sys.modules["flax_digits"] = module  # flax modules are dataclasses: their module must be importable
    spec.loader.exec_module(module)
    return module


def test_warmup_cosine_reaches_90_percent(example):
    out = example.train("cosine", steps=300)
    assert out["accuracy"] >= 0.9
    lrs = out["lrs"]
    assert lrs[0] == 0.0 and lrs.argmax() == 30 and lrs[-1] < lrs.max() / 10


def test_warmup_plateau_reaches_90_percent_and_reduces(example):
    out = example.train("plateau", steps=300)
    assert out["accuracy"] >= 0.9
    lrs = out["lrs"]
    np.testing.assert_allclose(lrs[:31], np.linspace(0, 1e-2, 31), rtol=1e-5, atol=1e-9)  # the warmup
    after = lrs[30:]
    assert np.all(np.diff(after) <= 0) and after[-1] < after[0]  # reductions only, at least one
    state = out["state"].opt_state
    assert int(state.plateau["learning_rate"].num_reductions) >= 1
    assert int(state.plateau["learning_rate"].last_epoch) == (300 - 30) // 20
