"""Migration 0008 (blobs) upgrades a database holding attachments, on SQLite and PostgreSQL
(in a subprocess: the test process's Tortoise serves the app)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from tests.test_migration_platform import empty_database

__all__ = ["empty_database"]

ROOT = Path(__file__).resolve().parent.parent

UPGRADE = """
import asyncio, json, sys, uuid
from datetime import UTC, datetime
from tortoise import Tortoise, connections
from tortoise.migrations.api import migrate
from gql.settings import tortoise_config
from services.sql import fetch

async def main(url):
    config = tortoise_config(url)
    await migrate(config=config, target="liaison.0007_platform")
    conn = connections.get("default")
    now = datetime.now(UTC)
    if url.startswith("sqlite"):
        now = now.isoformat(sep=" ")
    brand, partner, role, user, partnership, conversation, message = (
        uuid.uuid4() for _ in range(7))
    for account, name, kind in ((brand, "Brand", "BRAND"), (partner, "Partner", "PARTNER")):
        await fetch(conn, "INSERT INTO accounts (id, name, name_folded, kind, event_seq,"
                    " created_at) VALUES ($1, $2, $2, $3, 0, $4)", account, name, kind, now)
    await fetch(conn, "INSERT INTO roles (id, account_id, name, built_in, permissions,"
                " created_at) VALUES ($1, $2, 'ACCOUNT_ADMIN', true, 'MESSAGING', $3)",
                role, brand, now)
    await fetch(conn, "INSERT INTO users (id, account_id, role_id, email, name, created_at,"
                " notification_frequency) VALUES ($1, $2, $3, 'a@example.test', 'A', $4,"
                " 'IMMEDIATE')", user, brand, role, now)
    await fetch(conn, "INSERT INTO partnerships (id, brand_id, partner_id, status, created_at,"
                " updated_at) VALUES ($1, $2, $3, 'ACTIVE', $4, $4)",
                partnership, brand, partner, now)
    await fetch(conn, "INSERT INTO conversations (id, partnership_id, brand_id, partner_id,"
                " started_by, last_seq, created_at) VALUES ($1, $2, $3, $4, 'BRAND', 1, $5)",
                conversation, partnership, brand, partner, now)
    await fetch(conn, "INSERT INTO messages (id, conversation_id, seq, body, sender_user_id,"
                " sender_account_id, request_digest, sent_at) VALUES ($1, $2, 1, 'files',"
                " $3, $4, 'd', $5)", message, conversation, user, brand, now)
    files = []
    for position, status in enumerate(("CLEAN", "PENDING")):
        attachment = uuid.uuid4()
        files.append(str(attachment))
        await fetch(conn, "INSERT INTO attachments (id, message_id, position, filename,"
                    " content_type, size, sha256, storage_key, scan_status, scan_attempts,"
                    " created_at) VALUES ($1, $2, $3, $4, 'image/png', 70, $5, $6, $7, $8, $9)",
                    attachment, message, position, f"f{position}.png", "ab" * 32,
                    f"00/00/{attachment.hex}", status, 1 - position, now)
    await Tortoise.close_connections()
    await migrate(config=config)
    conn = connections.get("default")
    blobs = await fetch(conn, "SELECT id, storage_key, content_type, size, sha256, scan_status,"
                        " scan_attempts FROM blobs ORDER BY storage_key")
    attachments = await fetch(conn, "SELECT id, blob_id FROM attachments ORDER BY position")
    # Two attachments may now share a key; one message still has one file per position.
    shared = uuid.uuid4()
    await fetch(conn, "INSERT INTO attachments (id, message_id, position, filename,"
                " content_type, size, sha256, storage_key, scan_status, scan_attempts,"
                " created_at, blob_id) VALUES ($1, $2, 2, 'again.png', 'image/png', 70, $3, $4,"
                " 'CLEAN', 1, $5, $6)", shared, message, "ab" * 32, blobs[0]["storage_key"],
                now, blobs[0]["id"])
    try:
        await fetch(conn, "INSERT INTO attachments (id, message_id, position, filename,"
                    " content_type, size, sha256, storage_key, scan_status, scan_attempts,"
                    " created_at) VALUES ($1, $2, 2, 'dup.png', 'image/png', 70, $3, 'x',"
                    " 'CLEAN', 1, $4)", uuid.uuid4(), message, "ab" * 32, now)
        duplicate_position = "accepted"
    except Exception:
        duplicate_position = "refused"
    await Tortoise.close_connections()
    print(json.dumps({"files": files, "blobs": blobs, "attachments": attachments,
                      "duplicate_position": duplicate_position}, default=str))

async def run(url):
    try:
        await main(url)
    except BaseException:
        import traceback
        traceback.print_exc()
        await Tortoise.close_connections()
        sys.exit(1)

asyncio.run(run(sys.argv[1]))
"""


def test_0008_gives_every_attachment_its_own_blob(empty_database: str) -> None:
    result = subprocess.run(
        [sys.executable, "-c", UPGRADE, empty_database],
        cwd=ROOT,
        env=dict(os.environ),
        capture_output=True,
        text=True,
        timeout=90,
    )
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout.strip().splitlines()[-1])
    clean, pending = found["files"]
    # Each blob has its attachment's id (a scan job queued before the upgrade names it),
    # key, type, size, hash and scan state.
    assert [b["id"] for b in found["blobs"]] == sorted([clean, pending])
    by_id = {b["id"]: b for b in found["blobs"]}
    assert by_id[clean]["storage_key"] == f"00/00/{clean.replace('-', '')}"
    assert (by_id[clean]["scan_status"], by_id[clean]["scan_attempts"]) == ("CLEAN", 1)
    assert (by_id[pending]["scan_status"], by_id[pending]["scan_attempts"]) == ("PENDING", 0)
    assert by_id[pending]["content_type"] == "image/png" and by_id[pending]["size"] == 70
    assert [(a["id"], a["blob_id"]) for a in found["attachments"]] == [
        (clean, clean),
        (pending, pending),
    ]
    assert found["duplicate_position"] == "refused"
