"""Upgrading a populated database: the first release's demo data, migrated to today's schema.

`tests/data/release-0.1-demo.*.sql` are dumps of `liaison seed --demo` made by release 0.1
(commit c7e39eb, migration 0001 only). Every later migration must apply to such a database —
new columns need a value for existing rows — and the data must then work through the API.
"""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.conftest import PG_ADMIN_URL, _psql
from tests.realtime_fixtures import run_liaison, server_env, start_server

DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(params=["sqlite", "postgres"])
def release_database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        path = tmp_path / "release.sqlite3"
        with sqlite3.connect(path) as connection:
            connection.executescript((DATA / "release-0.1-demo.sqlite.sql").read_text())
        yield f"sqlite://{path}"
        return
    name = f"liaison_release_{uuid.uuid4().hex[:8]}"
    _psql(f'CREATE DATABASE "{name}"')
    url = f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    subprocess.run(
        [
            "psql",
            url,
            "-v",
            "ON_ERROR_STOP=1",
            "-q",
            "-f",
            str(DATA / "release-0.1-demo.postgres.sql"),
        ],
        check=True,
        capture_output=True,
    )
    try:
        yield url
    finally:
        _psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def test_release_one_data_migrates_and_works(release_database: str, tmp_path: Path) -> None:
    env = server_env(release_database, tmp_path, None)
    migrated = await asyncio.to_thread(run_liaison, "migrate", env=env)
    assert migrated.returncode == 0, migrated.stderr[-3000:]
    token = await asyncio.to_thread(run_liaison, "token", "admin@acmeoutdoor.example", env=env)
    assert token.returncode == 0, token.stderr
    server = start_server(env, tmp_path)
    try:
        async with httpx.AsyncClient(timeout=30) as client:

            async def data(
                query: str, variables: dict[str, object] | None = None
            ) -> dict[str, Any]:
                response = await client.post(
                    server.http_url,
                    json={"query": query, "variables": variables or {}},
                    headers={"authorization": f"Bearer {token.stdout.strip()}"},
                )
                body = response.json()
                assert response.status_code == 200 and "errors" not in body, body
                result: dict[str, Any] = body["data"]
                return result

            got = await data(
                "{ viewer { notificationFrequency inboxCounts { inbox } } "
                "inbox(first: 5) { totalCount edges { node { folder unreadCount lastMessage { body } } } } }"
            )
            assert got["viewer"]["notificationFrequency"] == "IMMEDIATE"
            edges = got["inbox"]["edges"]
            assert edges and all(e["node"]["folder"] in ("INBOX", "DONE") for e in edges)
            body = next(e["node"]["lastMessage"]["body"] for e in edges if e["node"]["lastMessage"])
            word = max(body.split(), key=len).strip(".,!?;:")
            found = await data(
                "query($q: String!) { searchMessages(query: $q, first: 5) { edges { node { body } snippet } } }",
                {"q": word},
            )
            assert found["searchMessages"]["edges"], f"old messages are searchable ({word!r})"
    finally:
        server.stop()
