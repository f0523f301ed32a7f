"""The command line (``lrsched`` / ``python -m lrsched``): plot, show, gallery, table, demo --no-train."""

from __future__ import annotations

import doctest
import json
import os
import subprocess
import sys

import numpy as np
import pytest

import lrsched
import lrsched.__main__ as cli
from lrsched.__main__ import main

SPEC = "warmup(cosine(0.1, 900), 100)"
PNG = b"\x89PNG\r\n\x1a\n"


def test_doctests_of_the_cli_module():
    # pytest's --doctest-modules skips __main__.py; run its examples here
    result = doctest.testmod(cli, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.attempted >= 4 and result.failed == 0


def test_show_prints_the_values(capsys):
    assert main(["show", SPEC, "--steps", "1000", "--at", "0", "50", "100", "999", "1500"]) == 0
    out = capsys.readouterr().out.splitlines()
    s = lrsched.warmup(lrsched.cosine(0.1, 900), 100)
    assert out[0] == repr(s)
    rows = [line.split() for line in out[2:7]]
    want = lrsched.evaluate(s, np.array([0, 50, 100, 999, 1500]))
    assert [int(r[0]) for r in rows] == [0, 50, 100, 999, 1500]
    np.testing.assert_allclose([float(r[1]) for r in rows], want, rtol=1e-5)
    assert out[7].startswith("over steps 0..999: max 0.1 at step 100")
    assert main(["show", "linear(1.0, 0.0, 4)", "--steps", "4", "--all", "--config"]) == 0
    out = capsys.readouterr().out
    assert [line.split()[1] for line in out.splitlines()[2:6]] == ["1", "0.75", "0.5", "0.25"]
    assert json.loads(out[out.index("{"):]) == lrsched.to_config(lrsched.linear(1.0, 0.0, 4))


def test_spec_from_a_json_config_file(tmp_path, capsys):
    s = lrsched.cycle(lrsched.cosine(0.1, 100), period=100, period_mul=2)
    path = tmp_path / "sgdr.json"
    path.write_text(json.dumps(lrsched.to_config(s)))
    assert main(["show", str(path), "--steps", "700", "--at", "0", "150", "650"]) == 0
    out = capsys.readouterr().out.splitlines()
    np.testing.assert_allclose([float(line.split()[1]) for line in out[2:5]],
                               lrsched.evaluate(s, np.array([0, 150, 650])), rtol=1e-5)
    out_png = tmp_path / "plots" / "sgdr.png"
    assert main(["plot", str(path), "--steps", "700", "--out", str(out_png)]) == 0
    assert out_png.read_bytes()[:8] == PNG


def test_plot_in_a_subprocess_writes_a_png(tmp_path):
    out = tmp_path / "s.png"
    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "MPLBACKEND", "WAYLAND_DISPLAY")}
    run = subprocess.run([sys.executable, "-m", "lrsched", "plot", SPEC, "--steps", "1000", "--out", str(out),
                          "--ylabel", "lr", "--log"], capture_output=True, text=True, env=env, timeout=300)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == f"wrote {out}"
    assert out.read_bytes()[:8] == PNG and out.stat().st_size > 10_000
    # without --out and without a display: a clear error, not a silent file in the current folder
    run = subprocess.run([sys.executable, "-m", "lrsched", "plot", SPEC, "--steps", "10"], capture_output=True,
                         text=True, env=env, cwd=tmp_path, timeout=300)
    assert run.returncode == 2 and "pass --out" in run.stderr and sorted(os.listdir(tmp_path)) == ["s.png"]


@pytest.mark.parametrize("spec, message", [
    ("cosine(0.1, 0)", "steps must be positive"),
    ("__import__('os').getcwd()", "NameError"),
    ("open('x')", "NameError"),
    ("cosine(0.1,", "SyntaxError"),
    ("1 + 2", "not a schedule"),
    ("missing.json", "no such file"),
])
def test_bad_specs_say_what_is_wrong(spec, message, capsys):
    assert main(["show", spec, "--steps", "10"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("lrsched show: error: ") and message in err


def test_bad_config_file_and_steps(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert main(["show", str(bad), "--steps", "10"]) == 2
    assert "not a readable JSON config" in capsys.readouterr().err
    assert main(["show", SPEC, "--steps", "0"]) == 2
    assert "--steps must be >= 1" in capsys.readouterr().err


def test_help_says_the_expression_is_python_not_a_sandbox():
    for command in ("plot", "show"):
        text = " ".join(cli.parser()._subparsers._group_actions[0].choices[command].format_help().split())
        assert "evaluated as Python" in text and "not a sandbox" in text
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0


def test_gallery_writes_into_the_given_folder_only(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert cli.parser().parse_args(["gallery"]).out == "lrsched-gallery"
    assert main(["gallery", "--out", "pics"]) == 0
    assert os.listdir(tmp_path) == ["pics"]
    files = sorted(os.listdir(tmp_path / "pics"))
    from lrsched.demo.gallery import GALLERY

    assert files == sorted([f"{n}.png" for n in GALLERY] + ["gallery.png"])
    assert capsys.readouterr().out.strip() == f"wrote {len(files)} PNG files to pics"


def test_table_and_demo_without_training(tmp_path, capsys):
    assert main(["table"]) == 0
    table = capsys.readouterr().out
    assert table.splitlines()[0].split()[:2] == ["schedule", "t=0"] and "one_cycle" in table
    assert main(["demo", "--no-train", "--out-dir", str(tmp_path / "d")]) == 0
    out = capsys.readouterr().out
    assert "one_cycle" in out and "demo finished" in out
    assert os.listdir(tmp_path / "d") == ["gallery.png"]
