#!/usr/bin/env bash
# Debian's Chromium for the web app's browser tests (Playwright drives /usr/bin/chromium;
# Playwright's own browser downloads are never used). Safe to run again.
set -euo pipefail
if [[ ! -x /usr/bin/chromium ]]; then
  echo "browser.sh: installing chromium (Debian)" >&2
  apt-get update >&2 && DEBIAN_FRONTEND=noninteractive apt-get install -y chromium >&2
fi
/usr/bin/chromium --version >&2
