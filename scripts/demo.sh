#!/usr/bin/env bash
# Install, load the demo data and serve Liaison on its embedded defaults
# (SQLite under .data/, in-process broker and scan queue). Ctrl-C stops it.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
scripts/setup.sh
export LIAISON_ENV="${LIAISON_ENV:-development}"
port="${LIAISON_PORT:-8000}"
export LIAISON_PUBLIC_URL="${LIAISON_PUBLIC_URL:-http://127.0.0.1:$port}"
mkdir -p .data
.venv/bin/liaison seed --demo > .data/demo-users.json
cm_token=$(.venv/bin/python -c 'import json; u=json.load(open(".data/demo-users.json"))["users"]; print(next(x["token"] for x in u if x["role"]=="COMMUNITY_MANAGER"))')
cat <<TXT

  Liaison is starting on its embedded defaults (SQLite in .data/, in-process broker).

  GraphiQL:   http://127.0.0.1:$port/graphql   (open it in a browser)
  Tokens:     .data/demo-users.json (one per demo user), or: .venv/bin/liaison token EMAIL
  In GraphiQL's "Headers" tab paste, for the Acme Outdoor community manager:
      {"Authorization": "Bearer $cm_token"}
  then try:   { inbox { edges { node { counterpart { name } lastMessage { body } unreadCount } } } }

  Attachments stay PENDING until clamd runs: scripts/clamd.sh start, then restart this
  with LIAISON_CLAMD=<the socket it prints>.

  Web app:    http://127.0.0.1:$port/app/   (open it; sign in with one click as any demo user)

  E-mails:    without LIAISON_SMTP_URL, notification e-mails are written to .data/outbox/
              (and logged) once a message stayed unread LIAISON_NOTIFY_DELAY_SECONDS (300)

TXT
exec .venv/bin/liaison serve --port "$port"
