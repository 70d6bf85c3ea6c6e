"""The `liaison` command line, run as a user runs it."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import jwt

from models import PartnershipStatus
from tests.conftest import JWT_SECRET
from tests.factories import Api

ROOT = Path(__file__).resolve().parent.parent


def liaison(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "gql.cli", *args],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_schema_graphql_matches_the_code() -> None:
    result = liaison("export-schema", "--check", env={})
    assert result.returncode == 0, result.stderr


def test_seed_demo_is_idempotent_and_prints_working_tokens(tmp_path: Path) -> None:
    env = {
        "LIAISON_DATA_DIR": str(tmp_path),
        "LIAISON_DATABASE_URL": f"sqlite://{tmp_path}/demo.db",
    }
    first = liaison("seed", "--demo", env=env)
    assert first.returncode == 0, first.stderr
    again = liaison("seed", "--demo", env=env)
    assert again.returncode == 0, again.stderr
    demo = json.loads(first.stdout)
    assert [u["email"] for u in json.loads(again.stdout)["users"]] == [
        u["email"] for u in demo["users"]
    ]
    assert demo["graphql"].endswith("/graphql")
    users = demo["users"]
    brands = {u["account"] for u in users if u["accountKind"] == "BRAND"}
    assert len(brands) == 2
    for brand in brands:
        assert sorted(u["role"] for u in users if u["account"] == brand) == [
            "ACCOUNT_ADMIN",
            "ANALYST",
            "COMMUNITY_MANAGER",
        ]
    partners = [u for u in users if u["accountKind"] == "PARTNER"]
    assert partners and all(u["role"] == "ACCOUNT_ADMIN" for u in partners)

    cm = next(u for u in users if u["role"] == "COMMUNITY_MANAGER")
    with serve(env) as base_url:
        response = httpx.post(
            f"{base_url}/graphql",
            json={
                "query": "{ viewer { account { messagingTermsAccepted } } partners(first: 100) { edges { node { status partner { name } } } } inbox { totalCount } }"
            },
            headers={"authorization": f"Bearer {cm['token']}"},
            timeout=10,
        )
    data = response.json()["data"]
    assert data["viewer"]["account"]["messagingTermsAccepted"] is True
    statuses = {e["node"]["status"] for e in data["partners"]["edges"]}
    assert statuses == {s.value for s in PartnershipStatus}
    assert data["inbox"]["totalCount"] >= 3


@contextmanager
def serve(env: dict[str, str]) -> Iterator[str]:
    """A real `liaison serve` on a free port, stopped by its pid."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    process = subprocess.Popen(
        [sys.executable, "-m", "gql.cli", "serve", "--port", str(port)],
        cwd=ROOT,
        env={**os.environ, **env},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base_url}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=15)


def test_token_for_unknown_email_fails_cleanly(tmp_path: Path) -> None:
    env = {"LIAISON_DATA_DIR": str(tmp_path), "LIAISON_DATABASE_URL": f"sqlite://{tmp_path}/t.db"}
    assert liaison("migrate", env=env).returncode == 0
    result = liaison("token", "nobody@example.test", env=env)
    assert result.returncode == 1
    assert "no user" in result.stderr
    assert "Traceback" not in result.stderr


def test_bad_setting_is_reported_without_traceback(tmp_path: Path) -> None:
    result = liaison("migrate", env={"LIAISON_ENV": "staging", "LIAISON_DATA_DIR": str(tmp_path)})
    assert result.returncode == 2
    assert "LIAISON_ENV" in result.stderr and "Traceback" not in result.stderr


def test_several_workers_need_redis(tmp_path: Path) -> None:
    env = {"LIAISON_DATA_DIR": str(tmp_path), "LIAISON_DATABASE_URL": f"sqlite://{tmp_path}/w.db"}
    result = liaison("serve", "--workers", "2", "--port", "1", env=env)
    assert result.returncode == 2
    assert "LIAISON_REDIS_URL" in result.stderr and "Traceback" not in result.stderr


async def test_platform_token_calls_the_platform_api(tmp_path: Path, api: Api) -> None:
    env = {"LIAISON_DATA_DIR": str(tmp_path), "LIAISON_JWT_SECRET": JWT_SECRET}
    result = liaison("token", "--platform", env=env)
    assert result.returncode == 0, result.stderr
    token = result.stdout.strip()
    claims = jwt.decode(token, JWT_SECRET, algorithms=["HS256"])
    assert claims["sub"] == "platform" and claims["scope"] == "platform" and claims["exp"]
    response = await api.post(
        "mutation { upsertAccounts(input: []) { results { id } } }", token=token
    )
    assert response.json() == {"data": {"upsertAccounts": {"results": []}}}
    both = liaison("token", "someone@example.test", "--platform", env=env)
    neither = liaison("token", env=env)
    assert both.returncode == neither.returncode == 2


def test_a_failed_migration_exits_with_one_line_and_status_1(tmp_path: Path) -> None:
    """A table in the way (here: `accounts` made by hand) fails migration 0001; the command
    says so in one line and exits (it used to print a traceback and hang on SQLite's thread)."""
    import sqlite3

    database = tmp_path / "taken.db"
    with sqlite3.connect(database) as connection:
        connection.execute("CREATE TABLE accounts (id INTEGER)")
    env = {"LIAISON_DATA_DIR": str(tmp_path), "LIAISON_DATABASE_URL": f"sqlite://{database}"}
    result = subprocess.run(
        [sys.executable, "-m", "gql.cli", "migrate"],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert result.returncode == 1
    assert "liaison migrate: failed:" in result.stderr and "already exists" in result.stderr
    assert "Traceback" not in result.stderr
