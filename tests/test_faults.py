"""Faults through the public API: a stopped, slow or exhausted database and a full disk.

Each test runs real `liaison serve` processes against a private PostgreSQL (initdb on a free
port) that it stops by pid, or against a size-limited tmpfs; the machine's services are left
alone. What a client sees must always be JSON with a code: `SERVICE_UNAVAILABLE` (HTTP 503,
`Retry-After`) while a dependency is away, and normal answers once it is back, without a restart.
"""

from __future__ import annotations

import asyncio
import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.factories import SEND
from tests.fault_fixtures import PostgresServer, TinyDisk, private_postgres, tiny_disk
from tests.realtime_fixtures import (
    GqlWs,
    Server,
    WsClosed,
    run_liaison,
    server_env,
    start_server,
)

__all__ = ["private_postgres", "tiny_disk"]

VIEWER = "{ viewer { user { id } account { id } } }"
PARTNERS = "{ partners(first: 50) { edges { node { status partner { id } } } } }"


class Deployment:
    """A seeded database and the `liaison serve` processes started on it."""

    def __init__(self, env: dict[str, str], log_dir: Path) -> None:
        self.env, self.log_dir = env, log_dir
        seeded = run_liaison("seed", "--demo", env=env)
        assert seeded.returncode == 0, seeded.stderr
        users = json.loads(seeded.stdout)["users"]
        admin = next(
            u for u in users if u["accountKind"] == "BRAND" and u["role"] == "ACCOUNT_ADMIN"
        )
        self.token = admin["token"]
        self.servers: list[Server] = []

    def start(self, **extra: str) -> Server:
        server = start_server({**self.env, **extra}, self.log_dir)
        self.servers.append(server)
        return server

    def stop(self) -> None:
        for server in self.servers:
            server.stop()

    @property
    def auth(self) -> dict[str, str]:
        return {"authorization": f"Bearer {self.token}"}


@pytest.fixture
def deployment(private_postgres: PostgresServer, tmp_path: Path) -> Iterator[Deployment]:
    env = server_env(private_postgres.url, tmp_path, None)
    deployment = Deployment(env, tmp_path)
    try:
        yield deployment
    finally:
        deployment.stop()


def assert_unavailable(response: httpx.Response, dependency: str) -> None:
    assert response.status_code == 503, response.text
    assert response.headers["content-type"].startswith("application/json")
    assert int(response.headers["retry-after"]) > 0
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE", error
    assert error["extensions"]["dependency"] == dependency, error
    assert "Traceback" not in response.text


async def active_partner(client: httpx.AsyncClient, server: Server, d: Deployment) -> str:
    response = await client.post(server.http_url, json={"query": PARTNERS}, headers=d.auth)
    edges = response.json()["data"]["partners"]["edges"]
    return str(next(e["node"]["partner"]["id"] for e in edges if e["node"]["status"] == "ACTIVE"))


def send_body(recipient: str, body: str, client_id: str) -> dict[str, Any]:
    variables = {
        "input": {"recipientAccountId": recipient, "body": body, "clientMessageId": client_id}
    }
    return {"query": SEND, "variables": variables}


async def websocket_outcome(server: Server, token: str) -> str:
    try:
        async with GqlWs.connect(server.ws_url, token) as ws:
            await ws.subscribe()
            message = await ws.receive()
    except WsClosed as closed:
        return f"closed {closed.code}"
    if message["type"] == "error":
        codes = {e.get("extensions", {}).get("code") for e in message["payload"]}
        return f"error {','.join(sorted(map(str, codes)))}"
    return json.dumps(message)


async def ws_outcome_of(ws: GqlWs) -> str:
    try:
        message = await ws.receive(within=5)
    except WsClosed as closed:
        return f"closed {closed.code}"
    except TimeoutError:
        return "open"
    return json.dumps(message)


async def wait_until_ok(client: httpx.AsyncClient, server: Server, d: Deployment) -> None:
    for _ in range(300):
        response = await client.post(server.http_url, json={"query": VIEWER}, headers=d.auth)
        if response.status_code == 200:
            return
        assert response.status_code == 503, response.text
        await asyncio.sleep(0.1)
    raise AssertionError("the server did not recover after the database came back")


async def test_database_down_is_a_typed_503_and_recovers_without_restart(
    deployment: Deployment, private_postgres: PostgresServer
) -> None:
    server = deployment.start()
    base = f"http://127.0.0.1:{server.port}"
    async with httpx.AsyncClient(timeout=30) as client:
        recipient = await active_partner(client, server, deployment)
        before = await client.post(
            server.http_url,
            json=send_body(recipient, "before", "c-before"),
            headers=deployment.auth,
        )
        assert before.json()["data"]["sendMessage"]["errors"] == []

        # A live inbox that is open when the database goes away.
        async with GqlWs.connect(server.ws_url, deployment.token) as open_ws:
            await open_ws.subscribe()
            await asyncio.sleep(0.3)
            private_postgres.crash()
            # A subscription started now cannot replay: close 1013, then resume elsewhere.
            await open_ws.subscribe(op_id="2", after=None)
            outcome = await ws_outcome_of(open_ws)
        assert outcome == "closed 1013", outcome

        # Every kind of request: a query, a mutation, a download, the CSV export, readiness.
        viewer = await client.post(server.http_url, json={"query": VIEWER}, headers=deployment.auth)
        assert_unavailable(viewer, "database")
        retry_id = "c-" + uuid.uuid4().hex
        sent = await client.post(
            server.http_url, json=send_body(recipient, "during", retry_id), headers=deployment.auth
        )
        assert_unavailable(sent, "database")
        download = await client.get(f"{base}/attachments/{uuid.uuid4()}", headers=deployment.auth)
        assert_unavailable(download, "database")
        csv = await client.get(f"{base}/analytics/messaging.csv", headers=deployment.auth)
        assert_unavailable(csv, "database")
        ready = await client.get(f"{base}/readyz")
        assert ready.status_code == 503 and "database" in ready.text
        # A live inbox opened now is told to come back: close 1013, never a bare error.
        outcome = await websocket_outcome(server, deployment.token)
        assert outcome in ("closed 1013", "error SERVICE_UNAVAILABLE"), outcome
        assert (await client.get(f"{base}/healthz")).status_code == 200

        private_postgres.start()
        await wait_until_ok(client, server, deployment)

        # The client retries what was refused, with the same clientMessageId: stored once.
        for _ in range(2):
            again = await client.post(
                server.http_url,
                json=send_body(recipient, "during", retry_id),
                headers=deployment.auth,
            )
            assert again.json()["data"]["sendMessage"]["errors"] == [], again.text
        stored = private_postgres.psql(
            f"SELECT count(*) FROM messages WHERE client_message_id = '{retry_id}'"
        )
        assert stored.strip() == "1"
        assert (await client.get(f"{base}/readyz")).status_code == 200
    server.stop()
    assert "Traceback" not in server.log.read_text()


async def test_a_locked_table_and_an_exhausted_pool_give_fast_503s(
    deployment: Deployment, private_postgres: PostgresServer
) -> None:
    server = deployment.start(LIAISON_DB_STATEMENT_TIMEOUT="1", LIAISON_DB_POOL_TIMEOUT="1")
    locker = await asyncio.create_subprocess_exec(
        "psql",
        private_postgres.url,
        "-c",
        "BEGIN; LOCK TABLE users IN ACCESS EXCLUSIVE MODE; SELECT pg_sleep(25); COMMIT;",
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        async with httpx.AsyncClient(timeout=60) as client:
            for _ in range(100):  # wait until the lock is held
                held = private_postgres.psql(
                    "SELECT count(*) FROM pg_locks l JOIN pg_class c ON c.oid = l.relation "
                    "WHERE c.relname = 'users' AND l.mode = 'AccessExclusiveLock' AND l.granted"
                )
                if held.strip() == "1":
                    break
                await asyncio.sleep(0.1)
            # More requests than the pool has connections (5): some time out in the database,
            # the others waiting for a connection; every one is a typed 503, none a 500.
            responses = await asyncio.gather(
                *(
                    client.post(server.http_url, json={"query": VIEWER}, headers=deployment.auth)
                    for _ in range(20)
                )
            )
            for response in responses:
                assert_unavailable(response, "database")
    finally:
        locker.kill()
        await locker.wait()
    async with httpx.AsyncClient(timeout=30) as client:
        await wait_until_ok(client, server, deployment)
    server.stop()
    assert "Traceback" not in server.log.read_text()


async def test_a_full_disk_refuses_the_upload_and_leaves_nothing(
    private_postgres: PostgresServer, tiny_disk: TinyDisk, tmp_path: Path
) -> None:
    env = server_env(private_postgres.url, tiny_disk.path, None)
    deployment = Deployment(env, tmp_path)
    deployment.env["LIAISON_DATA_DIR"] = str(tiny_disk.path)
    server = deployment.start()
    try:
        async with httpx.AsyncClient(timeout=60) as client:
            recipient = await active_partner(client, server, deployment)
            before = set(tiny_disk.files())
            big = b"name,amount\n" + b"alice,1\n" * (6 * 1024 * 1024 // 8)  # 6 MiB > 4 MiB disk
            operations = send_body(recipient, "report", "c-" + uuid.uuid4().hex)
            operations["variables"]["input"]["attachments"] = [None]
            response = await client.post(
                server.http_url,
                data={
                    "operations": json.dumps(operations),
                    "map": json.dumps({"0": ["variables.input.attachments.0"]}),
                },
                files={"0": ("report.csv", big, "text/csv")},
                headers={**deployment.auth, "apollo-require-preflight": "true"},
            )
            assert_unavailable(response, "storage")
            assert set(tiny_disk.files()) == before, "a half-written file was left behind"
            count = private_postgres.psql("SELECT count(*) FROM messages WHERE body = 'report'")
            assert count.strip() == "0"
            # The disk is usable again for a file that fits.
            small = dict(operations)
            small["variables"] = {"input": {**operations["variables"]["input"]}}
            small["variables"]["input"]["clientMessageId"] = "c-" + uuid.uuid4().hex
            ok = await client.post(
                server.http_url,
                data={
                    "operations": json.dumps(small),
                    "map": json.dumps({"0": ["variables.input.attachments.0"]}),
                },
                files={"0": ("small.csv", b"name,amount\nbob,2\n", "text/csv")},
                headers={**deployment.auth, "apollo-require-preflight": "true"},
            )
            assert ok.json()["data"]["sendMessage"]["errors"] == [], ok.text
    finally:
        deployment.stop()
    assert "Traceback" not in server.log.read_text()
