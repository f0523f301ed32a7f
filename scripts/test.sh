#!/usr/bin/env bash
# Install everything into .venv (on a fresh clone too), then run ruff, mypy and the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q -c constraints.txt -e ".[test]"
.venv/bin/ruff check .
# The type checker over lrsched/ and bridges/ (configured in pyproject.toml).
.venv/bin/mypy
.venv/bin/python -m pytest -n 2 "$@"
