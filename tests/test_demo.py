"""The demo (``python -m lrsched demo``): range test, suggestions, one-cycle vs constant, PNGs."""

from __future__ import annotations

import argparse
import contextlib
import io
import os

import numpy as np
import pytest

from lrsched.demo.run import add_demo_arguments, run_demo, run_demo_from_args


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        result = run_demo(str(out), quick=True, verbose=True)
    return printed.getvalue(), result


def test_demo_prints_table_and_saves_plots(demo):
    printed, result = demo
    for word in ("valley", "steepest", "robust", "schedule", "steps", "test acc", "time (s)", "one_cycle", "constant"):
        assert word in printed
    files = {os.path.basename(f) for f in result["files"]}
    assert files == {"range_test.png", "schedules.png", "training.png"}
    for f in result["files"]:
        with open(f, "rb") as fh:
            assert fh.read(8) == b"\x89PNG\r\n\x1a\n"
        assert os.path.getsize(f) > 10_000  # real figures, not empty canvases
    runs = {r["schedule"]: r for r in result["runs"]}
    assert set(runs) == {"one_cycle", "constant"}
    assert runs["one_cycle"]["steps"] == runs["constant"]["steps"] == 150
    assert runs["one_cycle"]["peak_lr"] == runs["constant"]["peak_lr"] == result["lr"]
    # the suggested rate is a good one: both schedules learn the digits well within 150 steps
    for r in runs.values():
        assert r["accuracy"] >= 0.9, r
        assert r["time_s"] >= 0 and r["compile_s"] >= 0
    s = result["suggestions"]
    assert {"steepest", "valley", "robust"} <= set(s)
    lo, hi = s["robust"]["interval"]
    assert lo <= s["robust"]["lr"] == result["lr"] <= hi
    assert 1e-6 < result["lr"] < 10.0
    lrs, med = np.asarray(result["range_test"]["lrs"]), np.asarray(result["range_test"]["median"])
    assert len(lrs) >= len(med) > 10 and np.all(np.diff(lrs) > 0)


def test_demo_arguments():
    parser = add_demo_arguments(argparse.ArgumentParser())
    args = parser.parse_args(["--out-dir", "x", "--quick", "--optimizer", "sgd", "--steps", "40", "--rule", "valley"])
    assert (args.out_dir, args.quick, args.optimizer, args.steps, args.rule, args.seed) == ("x", True, "sgd", 40,
                                                                                            "valley", 0)
    help_text = parser.format_help()
    for opt in ("--out-dir", "--quick", "--steps", "--optimizer", "--rule", "--seed"):
        assert opt in help_text
    with pytest.raises(ValueError, match="optimizer"):
        run_demo("unused", optimizer="rmsprop")
    with pytest.raises(ValueError, match="steps"):
        run_demo_from_args(parser.parse_args(["--out-dir", "unused", "--steps", "3"]))
