#!/usr/bin/env bash
# The test suite on the newest strawberry-graphql and graphql-core, in a venv of its own
# (.venv-latest), whatever pyproject.toml allows: how we learn whether a newer release
# works before widening a range.
#
#   scripts/test-latest.sh [pytest arguments]     e.g. scripts/test-latest.sh tests/test_realtime_ws.py
#
# Needs what scripts/test.sh needs (PostgreSQL, Redis, clamd: export LIAISON_TEST_CLAMD).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
venv=.venv-latest
[[ -x $venv/bin/python ]] || python3 -m venv $venv
$venv/bin/python -m pip install --quiet --upgrade pip >&2
$venv/bin/python -m pip install --quiet -e '.[test,bench]' >&2
# The newest releases, past our ranges if need be (pip warns of the conflict and goes on).
$venv/bin/python -m pip install --quiet --upgrade strawberry-graphql graphql-core >&2
$venv/bin/python - <<'PY' >&2
from importlib.metadata import version
print("test-latest:", *(f"{p} {version(p)}" for p in ("strawberry-graphql", "graphql-core")))
PY
$venv/bin/ruff check .
$venv/bin/mypy
exec $venv/bin/pytest -p no:cacheprovider "$@"
