"""Bulk sends run by real `liaison worker` processes on PostgreSQL and a private Redis
(with a file, scanned by the workers, in the SIGKILL and Redis-restart runs).

The module has its own PostgreSQL database (made and migrated here), so no in-process job
runner of another test's app can take part; data is written and checked with plain SQL.
Each test sends for its own brand, and waits for its bulk send to end.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest

from services.auth import issue_token
from tests.clamd_fixtures import clamd_socket
from tests.conftest import JWT_SECRET, PG_ADMIN_URL, _psql
from tests.realtime_fixtures import (
    LIAISON,
    ROOT,
    GqlWs,
    RedisServer,
    Server,
    bearer,
    server_env,
    start_server,
    start_worker,
    stop_process,
)

__all__ = ["clamd_socket"]
RECIPIENTS = 2_000
PNG = (Path(__file__).resolve().parent / "corpus" / "valid.png").read_bytes()
EICAR_CSV = (Path(__file__).resolve().parent / "corpus" / "eicar_in.csv").read_bytes()
LIVE = """
subscription { inboxEvents { __typename
  ... on MessageCreated { message { attachments { id scanStatus downloadUrl } } }
  ... on AttachmentScanned { attachment { id scanStatus downloadUrl } } } }
"""
SEND_BULK = """
mutation($input: SendBulkMessageInput!) {
  sendBulkMessage(input: $input) { bulkSend { id total } errors { code } }
}"""
PROGRESS = """
subscription { inboxEvents { __typename ... on BulkSendProgress { bulkSend { id status sent } } } }
"""
CANCEL = """
mutation($id: ID!) { cancelBulkSend(input: {id: $id}) { bulkSend { status } errors { code } } }"""


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("bulk")


@pytest.fixture(scope="module")
def database(data_dir: Path) -> Iterator[str]:
    name = f"liaison_bulk_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    _psql(f'CREATE DATABASE "{name}"')
    url = f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    try:
        subprocess.run(
            [LIAISON, "migrate"],
            env={**os.environ, "LIAISON_DATABASE_URL": url, "LIAISON_DATA_DIR": str(data_dir)},
            cwd=ROOT,
            check=True,
            capture_output=True,
        )
        yield url
    finally:
        _psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
async def db(database: str) -> AsyncIterator[asyncpg.Connection]:
    conn = await asyncpg.connect(database)
    try:
        yield conn
    finally:
        await conn.close()


@pytest.fixture(scope="module")
def env(
    database: str, data_dir: Path, redis_server: RedisServer, clamd_socket: str
) -> dict[str, str]:
    return {
        **server_env(database, data_dir, redis_server.url),
        "LIAISON_CLAMD": clamd_socket,
        # Small chunks and a short lease: a run lasts long enough to be interrupted, and a
        # killed worker's bulk send is taken over within seconds.
        "LIAISON_BULK_CHUNK_SIZE": "25",
        "LIAISON_BULK_LEASE_SECONDS": "2",
    }


@pytest.fixture(scope="module")
def server(env: dict[str, str], data_dir: Path) -> Iterator[Server]:
    process = start_server(env, data_dir)
    try:
        yield process
    finally:
        process.stop()


async def make_brand(db: asyncpg.Connection, partners: int) -> uuid.UUID:
    """A brand with an ACCOUNT_ADMIN user and `partners` ACTIVE partnerships; the user id."""
    brand, role, user = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await db.execute(
        "INSERT INTO accounts (id, name, name_folded, kind, terms_version_accepted, event_seq,"
        " created_at) VALUES ($1, 'Brand', 'brand', 'BRAND', 1, 0, now())",
        brand,
    )
    await db.execute(
        "INSERT INTO roles (id, account_id, name, built_in, permissions, created_at) VALUES"
        " ($1, $2, 'ACCOUNT_ADMIN', true,"
        " 'ANALYTICS_VIEW,BULK_MESSAGING,MESSAGING,PARTNERS_VIEW,USERS_MANAGE', now())",
        role,
        brand,
    )
    await db.execute(
        "INSERT INTO users (id, account_id, role_id, email, name, created_at,"
        " notification_frequency) VALUES ($1, $2, $3, $4, 'Sender', now(), 'IMMEDIATE')",
        user,
        brand,
        role,
        f"{user.hex}@example.test",
    )
    ids = [uuid.uuid4() for _ in range(partners)]
    await db.executemany(
        "INSERT INTO accounts (id, name, name_folded, kind, terms_version_accepted, event_seq,"
        " created_at) VALUES ($1, $2, $3, 'PARTNER', 1, 0, now())",
        [(p, f"Partner {n:05}", f"partner {n:05}") for n, p in enumerate(ids)],
    )
    await db.executemany(
        "INSERT INTO partnerships (id, brand_id, partner_id, status, created_at, updated_at)"
        " VALUES ($1, $2, $3, 'ACTIVE', now(), now())",
        [(uuid.uuid4(), brand, p) for p in ids],
    )
    return user


async def post(server: Server, user: uuid.UUID, query: str, variables: dict[str, Any]) -> Any:
    headers = {"authorization": f"Bearer {issue_token(JWT_SECRET, user)}"}
    async with httpx.AsyncClient(timeout=30) as client:
        response = await client.post(
            server.http_url, json={"query": query, "variables": variables}, headers=headers
        )
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


async def create_bulk(
    server: Server,
    user: uuid.UUID,
    file: bytes | None = None,
    *,
    name: str = "logo.png",
    total: int = RECIPIENTS,
) -> uuid.UUID:
    variables: dict[str, Any] = {"input": {"partnerFilter": {}, "body": "Hi {{partner.name}}"}}
    if file is None:
        data = await post(server, user, SEND_BULK, variables)
    else:  # a multipart request, like a client's (GraphQL multipart request spec)
        variables["input"]["attachments"] = [None]
        async with httpx.AsyncClient(timeout=30) as client:
            response = await client.post(
                server.http_url,
                data={
                    "operations": json.dumps({"query": SEND_BULK, "variables": variables}),
                    "map": json.dumps({"0": ["variables.input.attachments.0"]}),
                },
                files={"0": (name, file, "application/octet-stream")},
                headers={
                    "authorization": f"Bearer {issue_token(JWT_SECRET, user)}",
                    "apollo-require-preflight": "true",
                },
            )
        assert response.status_code == 200, response.text
        data = response.json()["data"]
    assert data["sendBulkMessage"]["errors"] == []
    assert data["sendBulkMessage"]["bulkSend"]["total"] == total
    return uuid.UUID(data["sendBulkMessage"]["bulkSend"]["id"])


async def wait_for(check: Callable[[], Awaitable[bool]], within: float, what: str) -> None:
    deadline = time.monotonic() + within
    while not await check():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        await asyncio.sleep(0.02)


async def sent(db: asyncpg.Connection, bulk: uuid.UUID) -> int:
    return int(await db.fetchval("SELECT sent FROM bulk_sends WHERE id = $1", bulk))


async def status(db: asyncpg.Connection, bulk: uuid.UUID) -> str:
    return str(await db.fetchval("SELECT status FROM bulk_sends WHERE id = $1", bulk))


async def assert_exactly_once(db: asyncpg.Connection, bulk: uuid.UUID) -> dict[str, int]:
    """Every SENT recipient has one message, in its own conversation, and nothing else does;
    the counters add up to the outcomes."""
    row = await db.fetchrow("SELECT * FROM bulk_sends WHERE id = $1", bulk)
    outcomes = dict(
        await db.fetch(
            "SELECT outcome, count(*) FROM bulk_recipients WHERE bulk_send_id = $1"
            " GROUP BY outcome",
            bulk,
        )
    )
    assert row["sent"] == outcomes.get("SENT", 0)
    assert row["skipped"] == outcomes.get("SKIPPED", 0)
    assert row["failed"] == outcomes.get("FAILED", 0)
    assert row["sent"] + row["skipped"] + row["failed"] == row["total"] == RECIPIENTS
    per_partner = await db.fetch(
        "SELECT c.partner_id, count(m.id) AS n FROM messages m"
        " JOIN conversations c ON c.id = m.conversation_id WHERE c.brand_id = $1"
        " GROUP BY c.partner_id",
        row["account_id"],
    )
    assert all(r["n"] == 1 for r in per_partner), "a partner got two messages"
    assert len(per_partner) == row["sent"]
    linked = await db.fetchval(
        "SELECT count(*) FROM bulk_recipients r JOIN messages m ON m.id = r.message_id"
        " WHERE r.bulk_send_id = $1 AND r.outcome = 'SENT'",
        bulk,
    )
    assert linked == row["sent"]
    # The partners' inbox state matches: one unread message each.
    unread = await db.fetchval(
        "SELECT count(*) FROM participants p JOIN conversations c ON c.id = p.conversation_id"
        " WHERE c.brand_id = $1 AND p.account_id = c.partner_id AND p.last_seq = 1"
        " AND p.last_read_seq = 0",
        row["account_id"],
    )
    assert unread == row["sent"]
    # Each message carries the bulk send's files: one attachment per file and message, all
    # pointing at the one blob of each file.
    files = await db.fetch("SELECT blob_id FROM bulk_attachments WHERE bulk_send_id = $1", bulk)
    carried = await db.fetchrow(
        "SELECT count(*) AS n, count(DISTINCT a.message_id) AS messages,"
        " count(DISTINCT a.blob_id) AS blobs FROM attachments a"
        " JOIN messages m ON m.id = a.message_id WHERE m.bulk_send_id = $1",
        bulk,
    )
    assert carried["n"] == row["sent"] * len(files)
    assert carried["messages"] == (row["sent"] if files else 0)
    assert carried["blobs"] == len(files)
    return dict(outcomes)


async def scanned_everywhere(db: asyncpg.Connection, bulk: uuid.UUID) -> bool:
    """The bulk send's file is scanned and every message's attachment has the verdict."""
    statuses = await db.fetch(
        "SELECT DISTINCT a.scan_status FROM attachments a"
        " JOIN messages m ON m.id = a.message_id WHERE m.bulk_send_id = $1"
        " UNION ALL SELECT b.scan_status FROM bulk_attachments f"
        " JOIN blobs b ON b.id = f.blob_id WHERE f.bulk_send_id = $1",
        bulk,
    )
    return {r["scan_status"] for r in statuses} == {"CLEAN"}


async def test_worker_killed_mid_send_another_finishes_exactly_once(
    db: asyncpg.Connection, env: dict[str, str], server: Server, tmp_path: Path
) -> None:
    user = await make_brand(db, RECIPIENTS)
    bulk = await create_bulk(server, user, PNG)
    first = start_worker(env, tmp_path / "worker1.log")
    try:
        await wait_for(lambda: _more_than(db, bulk, 100), 60, "the first worker to send")
    finally:
        stop_process(first, signal.SIGKILL)
    at_kill = await sent(db, bulk)
    assert at_kill < RECIPIENTS, "the first worker finished before it was killed"
    second = start_worker(env, tmp_path / "worker2.log")
    try:
        await wait_for(lambda: _ended(db, bulk), 60, "the second worker to finish")
        await wait_for(lambda: scanned_everywhere(db, bulk), 60, "the file's verdict")
    finally:
        stop_process(second)
    assert await status(db, bulk) == "DONE"
    assert await assert_exactly_once(db, bulk) == {"SENT": RECIPIENTS}


async def test_redis_restarted_mid_run_the_send_finishes_without_duplicates(
    db: asyncpg.Connection,
    env: dict[str, str],
    server: Server,
    redis_server: RedisServer,
    tmp_path: Path,
) -> None:
    user = await make_brand(db, RECIPIENTS)
    worker = start_worker(env, tmp_path / "worker.log")
    try:
        bulk = await create_bulk(server, user, PNG)
        await wait_for(lambda: _more_than(db, bulk, 100), 60, "the worker to send")
        redis_server.stop()
        at_stop = await sent(db, bulk)
        await asyncio.sleep(1)
        redis_server.start()
        await wait_for(lambda: _ended(db, bulk), 60, "the bulk send to finish")
        await wait_for(lambda: scanned_everywhere(db, bulk), 60, "the file's verdict")
    finally:
        stop_process(worker)
    assert at_stop < RECIPIENTS, "the send ended before Redis was stopped"
    assert await status(db, bulk) == "DONE"
    assert await assert_exactly_once(db, bulk) == {"SENT": RECIPIENTS}


async def test_cancel_mid_run_keeps_what_was_sent_and_skips_the_rest(
    db: asyncpg.Connection, env: dict[str, str], server: Server, tmp_path: Path
) -> None:
    user = await make_brand(db, RECIPIENTS)
    worker = start_worker(env, tmp_path / "worker.log")
    progress: list[dict[str, Any]] = []
    try:
        async with GqlWs.connect(server.ws_url, bearer(user)) as ws:
            await ws.subscribe(query=PROGRESS)
            reader = asyncio.create_task(_collect_progress(ws, progress))
            bulk = await create_bulk(server, user)
            await wait_for(lambda: _more_than(db, bulk, 100), 60, "the worker to send")
            await wait_for(lambda: _running_seen(progress), 60, "a progress event")
            data = await post(server, user, CANCEL, {"id": str(bulk)})
            assert data["cancelBulkSend"] == {"bulkSend": {"status": "CANCELLED"}, "errors": []}
            at_cancel = await sent(db, bulk)
            await asyncio.sleep(1.5)  # what the worker does after this must not send anything
            await asyncio.wait_for(reader, 30)
    finally:
        stop_process(worker)
    # Live progress reached the brand's websocket while it ran, and once when it ended.
    assert any(p["status"] == "RUNNING" for p in progress), progress
    assert progress[-1] == {"id": str(bulk), "status": "CANCELLED", "sent": at_cancel}
    assert await sent(db, bulk) == at_cancel < RECIPIENTS
    outcomes = await assert_exactly_once(db, bulk)
    assert outcomes == {"SENT": at_cancel, "SKIPPED": RECIPIENTS - at_cancel}
    reasons = await db.fetch(
        "SELECT DISTINCT reason FROM bulk_recipients WHERE bulk_send_id = $1 AND"
        " outcome = 'SKIPPED'",
        bulk,
    )
    assert [r["reason"] for r in reasons] == ["CANCELLED"]
    assert await status(db, bulk) == "CANCELLED"


async def partner_users(db: asyncpg.Connection, brand_user: uuid.UUID) -> list[uuid.UUID]:
    """A messaging user for each partner of the brand of `brand_user`."""
    partners = await db.fetch(
        "SELECT p.partner_id FROM partnerships p JOIN users u ON u.account_id = p.brand_id"
        " WHERE u.id = $1",
        brand_user,
    )
    users = []
    for row in partners:
        role, user = uuid.uuid4(), uuid.uuid4()
        await db.execute(
            "INSERT INTO roles (id, account_id, name, built_in, permissions, created_at)"
            " VALUES ($1, $2, 'PARTNER_ADMIN', true, 'MESSAGING', now())",
            role,
            row["partner_id"],
        )
        await db.execute(
            "INSERT INTO users (id, account_id, role_id, email, name, created_at,"
            " notification_frequency) VALUES ($1, $2, $3, $4, 'Partner', now(), 'OFF')",
            user,
            row["partner_id"],
            role,
            f"{user.hex}@example.test",
        )
        users.append(user)
    return users


async def test_an_infected_file_reaches_every_recipient_live(
    db: asyncpg.Connection, env: dict[str, str], server: Server, tmp_path: Path
) -> None:
    """The workers scan the bulk send's file once; each recipient's open inbox learns the
    verdict live — in its MessageCreated if the scan came first, else by AttachmentScanned."""
    user = await make_brand(db, 3)
    recipients = await partner_users(db, user)
    worker = start_worker(env, tmp_path / "worker.log")
    try:
        async with contextlib.AsyncExitStack() as stack:
            sockets = [
                await stack.enter_async_context(GqlWs.connect(server.ws_url, bearer(u)))
                for u in recipients
            ]
            for ws in sockets:
                await ws.subscribe(query=LIVE)
            await asyncio.sleep(1)  # subscriptions without a cursor start from now
            bulk = await create_bulk(server, user, EICAR_CSV, name="test.csv", total=3)
            for ws in sockets:
                seen: dict[str, str] = {}
                created = 0
                while seen.get("status") != "INFECTED":
                    (event,) = await ws.events(1, within=60)
                    if event["__typename"] == "MessageCreated":
                        created += 1
                        [attachment] = event["message"]["attachments"]
                    else:
                        attachment = event["attachment"]
                        assert attachment["downloadUrl"] is None
                        assert attachment["id"] == seen["id"], "another message's attachment"
                    seen = {"id": attachment["id"], "status": attachment["scanStatus"]}
                assert created == 1
            await wait_for(lambda: _ended(db, bulk), 60, "the bulk send to finish")
    finally:
        stop_process(worker)
    blobs = await db.fetch(
        "SELECT b.scan_status, b.scan_attempts FROM bulk_attachments f"
        " JOIN blobs b ON b.id = f.blob_id WHERE f.bulk_send_id = $1",
        bulk,
    )
    assert [(r["scan_status"], r["scan_attempts"]) for r in blobs] == [("INFECTED", 1)]


async def _collect_progress(ws: GqlWs, into: list[dict[str, Any]]) -> None:
    """BulkSendProgress events (the brand's MessageCreated are skipped) until one says the
    bulk send ended."""
    while True:
        (event,) = await ws.events(1, within=60)
        if event["__typename"] == "BulkSendProgress":
            into.append(event["bulkSend"])
            if event["bulkSend"]["status"] in ("DONE", "CANCELLED"):
                return


async def _running_seen(progress: list[dict[str, Any]]) -> bool:
    return any(p["status"] == "RUNNING" for p in progress)


async def _more_than(db: asyncpg.Connection, bulk: uuid.UUID, count: int) -> bool:
    return await sent(db, bulk) > count


async def _ended(db: asyncpg.Connection, bulk: uuid.UUID) -> bool:
    return await status(db, bulk) in ("DONE", "CANCELLED")
