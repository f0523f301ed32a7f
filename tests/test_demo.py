"""The demo (``python -m lrsched demo``): range test, then one vmapped sweep of three schedules over peak rates."""

from __future__ import annotations

import argparse
import contextlib
import io
import os

import numpy as np
import pytest

import lrsched
from lrsched.demo.run import FAMILIES, _summary, add_demo_arguments, mixture, run_demo, run_demo_from_args


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        result = run_demo(str(out), quick=True, verbose=True)
    return printed.getvalue(), result


def test_demo_prints_tables_and_saves_plots(demo):
    printed, result = demo
    for word in ("valley", "steepest", "robust", "best peak", "test acc", "steps to 95%", "one program",
                 "one_cycle", "cosine", "constant", "time:"):
        assert word in printed, word
    files = {os.path.basename(f) for f in result["files"]}
    assert files == {"range_test.png", "sweep.png", "training.png"}
    for f in result["files"]:
        with open(f, "rb") as fh:
            assert fh.read(8) == b"\x89PNG\r\n\x1a\n"
        assert os.path.getsize(f) > 10_000  # real figures, not empty canvases
    s = result["suggestions"]
    assert {"steepest", "valley", "robust"} <= set(s)
    lo, hi = s["robust"]["interval"]
    assert lo <= s["robust"]["lr"] == result["lr"] <= hi
    assert 1e-6 < result["lr"] < 10.0


def test_demo_grid_is_one_program_equal_to_separate_runs(demo):
    _, result = demo
    peaks = np.asarray(result["peaks"])
    lr = result["lr"]
    assert len(peaks) == 5 and peaks[0] == pytest.approx(lr / 10) and peaks[-1] == pytest.approx(10 * lr)
    assert peaks[2] == lr  # the suggestion itself is in the grid
    runs = result["runs"]
    assert [(r["schedule"], r["peak"]) for r in runs] == [(f, p) for f in FAMILIES for p in peaks]
    t = result["timing"]
    assert t["traces"] == 1 and t["configurations"] == 15  # every schedule and peak: one traced program
    assert t["separate_measured"] == 1 and t["check_max_abs_loss_diff"] < 1e-4  # the same work as a separate run
    assert t["estimate_s"] == pytest.approx(15 * t["separate_each_s"])
    assert t["sweep_s"] == pytest.approx(t["compile_s"] + t["run_s"])
    # the digits are learned: at the suggestion every schedule gets well above chance in 150 steps
    for r in runs:
        if r["peak"] == lr:
            assert r["accuracy"] >= 0.85, r
    for f in FAMILIES:
        b = result["best"][f]
        mine = [r for r in runs if r["schedule"] == f]
        assert b["accuracy"] == max(r["accuracy"] for r in mine)
        assert runs[b["index"]]["peak"] == b["peak"]


def test_summary_follows_the_numbers(demo):
    _, result = demo
    summary = result["summary"]
    top = max(FAMILIES, key=lambda f: (result["best"][f]["accuracy"], -result["best"][f]["final_loss"]))
    assert summary[0].startswith(f"Best final test accuracy: {top} {result['best'][top]['accuracy']:.3f}")

    def rows(acc):
        return [{"schedule": f, "peak": p, "accuracy": a, "final_loss": 0.1, "steps_to_target": s}
                for f in FAMILIES for p, a, s in zip((0.1, 1.0, 10.0), acc[f], (None, 50, 20))]

    peaks = np.array([0.1, 1.0, 10.0])
    for winner in FAMILIES:  # the same code names whichever schedule the numbers favour
        acc = {f: [0.90, 0.95, 0.93] for f in FAMILIES}
        acc[winner] = [0.90, 0.97, 0.965]
        r = rows(acc)
        best = {f: dict(next(x for x in r if x["schedule"] == f and x["peak"] == 1.0)) for f in FAMILIES}
        lines = _summary(best, r, peaks, 1.0, 0.95)
        assert lines[0].startswith(f"Best final test accuracy: {winner} 0.970 at peak 1.00e+00")
        assert f"{winner} 0.965" in lines[2].split(": ", 1)[1].split(",")[0]  # first at the highest peak
        assert lines[1].split(": ", 1)[1].startswith(f"{winner} 2 of 3 (1x to 10x the suggestion)")


@pytest.mark.parametrize("family", FAMILIES)
def test_mixture_is_exactly_the_named_schedule(family):
    lr, mom = mixture(family, 200, 3e-3)
    named = {"one_cycle": lrsched.one_cycle(200, 3e-3), "cosine": lrsched.cosine(3e-3, 200),
             "constant": lrsched.constant(3e-3)}[family]
    momentum = lrsched.one_cycle_momentum(200, 0.85, 0.95) if family == "one_cycle" else lrsched.constant(0.9)
    t = np.arange(-5, 260)
    np.testing.assert_array_equal(lrsched.evaluate(lr, t), lrsched.evaluate(named, t))
    np.testing.assert_array_equal(lrsched.evaluate(mom, t), lrsched.evaluate(momentum, t))
    structure = lrsched.sweep.stack([mixture(f, 200, 3e-3)[0] for f in FAMILIES])  # one structure for all
    assert lrsched.sweep.size(structure) == 3
    with pytest.raises(ValueError, match="family"):
        mixture("step", 200, 3e-3)


def test_demo_arguments():
    parser = add_demo_arguments(argparse.ArgumentParser())
    args = parser.parse_args(["--out-dir", "x", "--quick", "--optimizer", "sgd", "--steps", "40", "--rule", "valley",
                              "--peaks", "3", "--target", "0.9", "--separate", "2"])
    assert (args.out_dir, args.quick, args.optimizer, args.steps, args.rule, args.seed, args.peaks, args.target,
            args.separate) == ("x", True, "sgd", 40, "valley", 0, 3, 0.9, 2)
    help_text = parser.format_help()
    for opt in ("--out-dir", "--quick", "--steps", "--peaks", "--target", "--separate", "--optimizer", "--rule",
                "--seed"):
        assert opt in help_text
    with pytest.raises(ValueError, match="optimizer"):
        run_demo("unused", optimizer="rmsprop")
    with pytest.raises(ValueError, match="steps"):
        run_demo_from_args(parser.parse_args(["--out-dir", "unused", "--steps", "3"]))
    with pytest.raises(ValueError, match="peaks"):
        run_demo("unused", peaks=1)
    with pytest.raises(ValueError, match="target"):
        run_demo("unused", target=1.5)
