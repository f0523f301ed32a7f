"""The API reference site (Sphinx, docs/conf.py) builds in strict mode, and strict mode catches a
broken docstring reference; the docstrings of the finder, demo, plot, CLI and torch range test
have Args and examples and no control characters."""

from __future__ import annotations

import importlib
import inspect
import pathlib
import shutil
import subprocess
import sys
import textwrap

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[1]
STRICT = ["-W", "--keep-going", "-n", "-q", "-b", "html"]


def sphinx_build(src: pathlib.Path, out: pathlib.Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "sphinx", *STRICT, "-d", str(out / "doctrees"), str(src),
                           str(out / "html")], capture_output=True, text=True, timeout=600)


def test_docs_site_builds_strictly(tmp_path):
    run = sphinx_build(ROOT / "docs", tmp_path)
    assert run.returncode == 0, run.stdout + run.stderr
    html = tmp_path / "html"
    for page in ("index", "lr-finder", "sweeps", "api/schedules", "api/finder", "api/optax", "api/torch",
                 "api/demo", "api/cli"):
        assert (html / f"{page}.html").is_file(), page
    finder = (html / "api" / "finder.html").read_text()
    assert 'id="lrsched.finder.lr_range_test"' in finder and 'id="lrsched.finder.diverges"' in finder
    assert "\\[" in (html / "api" / "schedules.html").read_text()  # the formulas reach the page as math


def test_strict_build_fails_on_a_broken_docstring_reference(tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    shutil.copy(ROOT / "docs" / "conf.py", src / "conf.py")
    (tmp_path / "broken_mod.py").write_text(textwrap.dedent('''
        """A module."""


        def f(x):
            """Calls :func:`no_such_function`.

            Args:
              x: a number.
            """
            return x
        '''))
    (src / "index.rst").write_text("Broken\n======\n\n.. automodule:: broken_mod\n   :members:\n")
    conf = (src / "conf.py").read_text()
    (src / "conf.py").write_text(conf + f"\nsys.path.insert(0, {str(tmp_path)!r})\n")
    run = sphinx_build(src, tmp_path / "out")
    assert run.returncode != 0
    assert "no_such_function" in run.stdout + run.stderr


OWNED = ["lrsched.finder", "lrsched.finder._ramp", "lrsched.finder._rules", "lrsched.finder._jax",
         "lrsched.finder._results", "lrsched.demo.digits", "lrsched.demo.gallery", "lrsched.demo.run",
         "lrsched.plot", "lrsched.__main__", "lrsched_torch.finder"]
NO_EXAMPLE = {  # a doctest would train for seconds or needs argv: covered by tests/test_demo.py, tests/test_cli.py
    "lrsched.demo.run.run_demo", "lrsched.demo.run.run_demo_from_args", "lrsched.__main__.main",
}


def _public_functions():
    for name in OWNED:
        mod = importlib.import_module(name)
        for attr, obj in vars(mod).items():
            if attr.startswith("_") or getattr(obj, "__module__", None) != name:
                continue
            if inspect.isfunction(obj) or inspect.isclass(obj):
                yield f"{name}.{attr}", obj


@pytest.mark.parametrize("qualname, obj", list(_public_functions()), ids=lambda v: v if isinstance(v, str) else "")
def test_public_docstrings_have_args_and_examples(qualname, obj):
    doc = inspect.getdoc(obj)
    assert doc, f"{qualname} has no docstring"
    bad = [c for c in doc if ord(c) < 32 and c not in "\n\t"]
    assert not bad, f"{qualname}: control characters {bad!r} in its docstring (use a raw docstring)"
    if inspect.isfunction(obj):
        params = [p for p in inspect.signature(obj).parameters if p not in ("self",)]
        if params:
            assert "Args:" in doc, f"{qualname} documents no Args"
    if qualname not in NO_EXAMPLE:
        assert ">>>" in doc, f"{qualname} has no runnable example"
