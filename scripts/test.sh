#!/usr/bin/env bash
# Install everything the tests need (venv, clamd, the JS client, Chromium) and run every check:
# ruff, mypy, schema drift, then pytest against SQLite, the real PostgreSQL, Redis and clamd.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/setup.sh test
scripts/services.sh                      # PostgreSQL and Redis on 127.0.0.1, started if down
scripts/browser.sh                       # Debian's chromium for tests/test_webapp.py
# Every process this run starts is stopped when it ends, pass or fail (tests stop their own).
# A process that outlives the run while holding its output pipe would keep whoever reads that
# pipe (CI) waiting: any such process is named on stderr and stopped.
finish() {
  scripts/clamd.sh stop >/dev/null 2>&1 || true
  local out err pid fd ancestors=" " up=$$
  out="$(readlink /proc/$$/fd/1 || true)" err="$(readlink /proc/$$/fd/2 || true)"
  while [[ "$up" =~ ^[0-9]+$ && "$up" -gt 1 ]]; do  # this shell and whoever started it
    ancestors+="$up "
    up="$(awk '/^PPid:/ {print $2}' "/proc/$up/status" 2>/dev/null || echo 1)"
  done
  for fd in /proc/[0-9]*/fd/[12]; do
    pid="${fd#/proc/}" pid="${pid%%/*}"
    [[ "$ancestors" != *" $pid "* && "$pid" != "$BASHPID" ]] || continue
    case "$(readlink "$fd" 2>/dev/null)" in
      "$out" | "$err")
        [[ "$out" == pipe:* || "$err" == pipe:* ]] || continue
        grep -qs "^PPid:[[:space:]]*$$\$" "/proc/$pid/status" && continue  # this trap's own
        echo "test.sh: pid $pid still holds the output: $(tr '\0' ' ' <"/proc/$pid/cmdline")" >&2
        kill "$pid" 2>/dev/null || true
        ;;
    esac
  done
}
trap finish EXIT
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
