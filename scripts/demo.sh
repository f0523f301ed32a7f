#!/usr/bin/env bash
# Install lrsched with its demo extras into .venv, then run the main job.
set -euo pipefail
cd "$(dirname "$0")/.."
[ -x .venv/bin/python ] || python3 -m venv .venv
.venv/bin/pip install -q -c constraints.txt -e ".[demo]"
.venv/bin/python -m lrsched demo "$@"
