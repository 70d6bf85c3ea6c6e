#!/usr/bin/env bash
# Create .venv and install Liaison into it: `scripts/setup.sh` (service) or
# `scripts/setup.sh test` (service + test tools). Safe to run again.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."

extras="${1:-}"
if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
  echo "setup.sh: installing python3-venv (Debian)" >&2
  apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y python3-venv >&2
fi
[[ -x .venv/bin/python ]] || python3 -m venv .venv
.venv/bin/python -m pip install --quiet --upgrade pip >&2
if [[ "$extras" == "test" ]]; then
  .venv/bin/python -m pip install --quiet -e '.[test,bench]' >&2
else
  .venv/bin/python -m pip install --quiet -e . >&2
fi
