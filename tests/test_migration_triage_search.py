"""Migration 0003 on data written before it: archived conversations land in DONE and every
stored message (body and attachment filenames) becomes searchable. Run in a subprocess on
its own database, so the session's ORM state is untouched."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.conftest import PG_ADMIN_URL, _psql

SCRIPT = textwrap.dedent(
    """
    import asyncio, json, sys, uuid
    from datetime import UTC, datetime
    from tortoise import Tortoise, connections
    from tortoise.migrations.api import migrate
    from gql.settings import tortoise_config
    from services.sql import fetch, is_sqlite

    config = tortoise_config(sys.argv[1])
    NOW = datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC)

    async def sql(query, *args):
        return await fetch(connections.get("default"), query, *args)

    async def main():
        try:
            await run()
        finally:  # an open aiosqlite thread would keep the process alive
            await Tortoise.close_connections()

    async def run():
        await migrate(config=config, target="liaison.0001_initial")
        await Tortoise.close_connections()
        await Tortoise.init(config=config)
        brand, partner, role_b, role_p = (uuid.uuid4() for _ in range(4))
        user_b, user_p, ship, conv, m1, m2 = (uuid.uuid4() for _ in range(6))
        for account, kind in ((brand, "BRAND"), (partner, "PARTNER")):
            await sql("INSERT INTO accounts (id, name, name_folded, kind, event_seq, created_at)"
                      " VALUES ($1, $2, $2, $3, 0, $4)", account, kind.lower(), kind, NOW)
        for role, account in ((role_b, brand), (role_p, partner)):
            await sql("INSERT INTO roles (id, account_id, name, built_in, permissions, created_at)"
                      " VALUES ($1, $2, 'ACCOUNT_ADMIN', $3, 'MESSAGING', $4)",
                      role, account, True, NOW)
        for user, account, role in ((user_b, brand, role_b), (user_p, partner, role_p)):
            await sql("INSERT INTO users (id, account_id, role_id, email, name, created_at)"
                      " VALUES ($1, $2, $3, $4, 'u', $5)", user, account, role, f"{user}@x.test", NOW)
        await sql("INSERT INTO partnerships (id, brand_id, partner_id, status, created_at,"
                  " updated_at) VALUES ($1, $2, $3, 'ACTIVE', $4, $4)", ship, brand, partner, NOW)
        await sql("INSERT INTO conversations (id, partnership_id, brand_id, partner_id, started_by,"
                  " last_seq, last_message_id, last_message_at, created_at)"
                  " VALUES ($1, $2, $3, $4, 'BRAND', 2, $5, $6, $6)", conv, ship, brand, partner,
                  m2, NOW)
        for account, other, archived in ((brand, partner, True), (partner, brand, False)):
            await sql("INSERT INTO participants (conversation_id, account_id, counterpart_id,"
                      " last_seq, last_read_seq, archived, last_activity_at)"
                      " VALUES ($1, $2, $3, 2, 2, $4, $5)", conv, account, other, archived, NOW)
        for mid, seq, body, user, account in ((m1, 1, "Réunion DEMAIN", user_b, brand),
                                              (m2, 2, "voir pièce jointe", user_p, partner)):
            await sql("INSERT INTO messages (id, conversation_id, seq, body, sender_user_id,"
                      " sender_account_id, request_digest, sent_at)"
                      " VALUES ($1, $2, $3, $4, $5, $6, 'd', $7)",
                      mid, conv, seq, body, user, account, NOW)
        await sql("INSERT INTO attachments (id, message_id, position, filename, content_type, size,"
                  " sha256, storage_key, scan_status, scan_attempts, created_at)"
                  " VALUES ($1, $2, 0, 'Contrat-Été_2025.pdf', 'application/pdf', 1, 'h', 'k',"
                  " 'CLEAN', 0, $3)", uuid.uuid4(), m2, NOW)
        await Tortoise.close_connections()
        await migrate(config=config, target="liaison.0003_triage_search")
        await Tortoise.close_connections()
        await Tortoise.init(config=config)
        sqlite = is_sqlite(connections.get("default"))
        out = {"folders": {}, "hits": {}}
        for row in await sql("SELECT account_id, folder FROM participants"):
            out["folders"][str(row["account_id"]) == str(brand) and "brand" or "partner"] = row["folder"]
        for word in ("reunion", "demain", "contrat", "ete", "2025", "piece", "absent"):
            if sqlite:
                rows = await sql("SELECT s.account_id FROM message_search_fts JOIN message_search s"
                                 " ON s.id = message_search_fts.rowid WHERE message_search_fts"
                                 " MATCH $1", f'"{word}"')
            else:
                rows = await sql("SELECT account_id FROM message_search WHERE document @@"
                                 " to_tsquery('liaison_search', $1)", word)
            out["hits"][word] = len(rows)
        print(json.dumps(out))

    asyncio.run(main())
    """
)


def test_migration_moves_archived_to_done_and_backfills_the_index(
    backend: str, tmp_path: Path
) -> None:
    if backend == "sqlite":
        url = f"sqlite://{tmp_path / 'before.db'}"
    else:
        name = f"liaison_test_migration_{os.getpid()}"
        _psql(f'DROP DATABASE IF EXISTS "{name}"')
        _psql(f'CREATE DATABASE "{name}"')
        url = f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    try:
        done = subprocess.run(
            [sys.executable, "-c", SCRIPT, url],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=Path(__file__).resolve().parent.parent,
        )
    finally:
        if backend != "sqlite":
            _psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["folders"] == {"brand": "DONE", "partner": "INBOX"}
    # Two rows per message (one per side); accents and case folded; filenames split.
    assert result["hits"] == {
        "reunion": 2,
        "demain": 2,
        "contrat": 2,
        "ete": 2,
        "2025": 2,
        "piece": 2,
        "absent": 0,
    }
