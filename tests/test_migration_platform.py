"""Migrations upgrade a database holding data, on SQLite and PostgreSQL (run in a
subprocess: the test process's Tortoise serves the app)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conftest import PG_ADMIN_URL, _psql

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
    await migrate(config=config, target="liaison.0006_bulk")
    conn = connections.get("default")
    now = datetime.now(UTC)
    if url.startswith("sqlite"):
        now = now.isoformat(sep=" ")
    account, admin_role, custom_role, user = (uuid.uuid4() for _ in range(4))
    await fetch(conn, "INSERT INTO accounts (id, name, name_folded, kind, event_seq, created_at)"
                " VALUES ($1, 'Old Brand', 'old brand', 'BRAND', 0, $2)", account, now)
    for rid, name, built_in, perms in (
        (admin_role, "ACCOUNT_ADMIN", True, "ANALYTICS_VIEW,MESSAGING,PARTNERS_VIEW,USERS_MANAGE"),
        (custom_role, "Sales Team", False, "MESSAGING"),
    ):
        await fetch(conn, "INSERT INTO roles (id, account_id, name, built_in, permissions, created_at)"
                    " VALUES ($1, $2, $3, $4, $5, $6)", rid, account, name, built_in, perms, now)
    await fetch(conn, "INSERT INTO users (id, account_id, role_id, email, name, created_at,"
                " notification_frequency)"
                " VALUES ($1, $2, $3, 'old@example.test', 'Old', $4, 'IMMEDIATE')",
                user, account, admin_role, now)
    await Tortoise.close_connections()
    await migrate(config=config)
    conn = connections.get("default")
    roles = await fetch(conn, "SELECT name, name_key, permissions FROM roles ORDER BY name")
    users = await fetch(conn, "SELECT active, external_id FROM users")
    accounts = await fetch(conn, "SELECT partners_may_start_conversations AS p,"
                           " prospect_messages_before_reply AS n, accepts_prospect_messages AS a"
                           " FROM accounts")
    await Tortoise.close_connections()
    print(json.dumps({"roles": roles, "users": users, "accounts": accounts}, default=str))

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


@pytest.fixture(params=["sqlite", "postgres"])
def empty_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        yield f"sqlite://{tmp_path / 'upgrade.db'}"
        return
    name = f"liaison_upgrade_{uuid.uuid4().hex[:8]}"
    _psql(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    finally:
        _psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_0007_upgrades_roles_users_and_accounts(empty_database: str) -> None:
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
    assert [(r["name"], r["name_key"]) for r in found["roles"]] == [
        ("ACCOUNT_ADMIN", "accountadmln"),
        ("Sales Team", "salesteam"),
    ]
    # The built-in administrator gains SETTINGS_MANAGE; custom roles keep theirs.
    assert found["roles"][0]["permissions"] == (
        "ANALYTICS_VIEW,MESSAGING,PARTNERS_VIEW,SETTINGS_MANAGE,USERS_MANAGE"
    )
    assert found["roles"][1]["permissions"] == "MESSAGING"
    assert [bool(u["active"]) for u in found["users"]] == [True]
    assert found["users"][0]["external_id"] is None
    [account] = found["accounts"]
    assert (bool(account["p"]), account["n"], bool(account["a"])) == (True, 2, True)
