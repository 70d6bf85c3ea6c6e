#!/usr/bin/env bash
# Install everything the tests need (venv, clamd, the JS client, Chromium) and run every check:
# ruff, mypy, schema drift, then pytest against SQLite, the real PostgreSQL, Redis and clamd.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/setup.sh test
scripts/services.sh                      # PostgreSQL and Redis on 127.0.0.1, started if down
scripts/browser.sh                       # Debian's chromium for tests/test_webapp.py
# Every process this run starts is stopped when it ends, pass or fail (tests stop their own).
trap 'scripts/clamd.sh stop >/dev/null 2>&1 || true' EXIT
LIAISON_TEST_CLAMD="$(scripts/clamd.sh start)"   # installs clamav-daemon when missing
export LIAISON_TEST_CLAMD
if [[ -f tests/js/package.json ]]; then
  command -v npm >/dev/null 2>&1 || { apt-get update >&2 && apt-get install -y nodejs npm >&2; }
  (cd tests/js && npm ci --silent --no-audit --no-fund)
fi
.venv/bin/ruff check .
.venv/bin/ruff format --check .
.venv/bin/mypy
.venv/bin/liaison export-schema --check
.venv/bin/pytest "$@"
