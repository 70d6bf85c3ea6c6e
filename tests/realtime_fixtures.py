"""Fixtures and helpers for the realtime tests: private Redis servers, free ports, events."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from prometheus_client.parser import text_string_to_metric_families
from tortoise.transactions import in_transaction
from websockets.asyncio.client import ClientConnection
from websockets.typing import Origin, Subprotocol

from gql.settings import Settings
from models import Account, AccountKind, Conversation, EventKind, Partnership, PartnershipStatus
from services import events_log
from services.auth import issue_token
from services.bus import EventBus
from tests.conftest import JWT_SECRET
from tests.factories import SEND
from tests.waiting import wait_until


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.02)
    raise TimeoutError(f"nothing listening on 127.0.0.1:{port}")


class RedisServer:
    """A private `redis-server` on a free port, stopped (and restartable) by its own pid."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="liaison-redis-"))
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.dir),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        self.process = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def redis_server() -> Iterator[RedisServer]:
    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.close()


@dataclass(frozen=True)
class Pair:
    """A brand and a partner with a conversation, enough to write events for both."""

    brand_id: uuid.UUID
    partner_id: uuid.UUID
    conversation_id: uuid.UUID


async def make_pair(label: str = "") -> Pair:
    suffix = label or uuid.uuid4().hex[:8]
    brand = await Account.create(
        id=uuid.uuid4(),
        name=f"Brand {suffix}",
        name_folded=f"brand {suffix}",
        kind=AccountKind.BRAND,
    )
    partner = await Account.create(
        id=uuid.uuid4(),
        name=f"Partner {suffix}",
        name_folded=f"partner {suffix}",
        kind=AccountKind.PARTNER,
    )
    partnership = await Partnership.create(
        id=uuid.uuid4(), brand=brand, partner=partner, status=PartnershipStatus.ACTIVE
    )
    conversation = await Conversation.create(
        id=uuid.uuid4(),
        partnership=partnership,
        brand=brand,
        partner=partner,
        started_by=AccountKind.BRAND,
    )
    return Pair(brand.id, partner.id, conversation.id)


async def write_events(
    pair: Pair, count: int, bus: EventBus | None, audience: Iterable[uuid.UUID] | None = None
) -> None:
    """Append `count` read events for the pair (one transaction each), notifying after commit."""
    accounts = list(audience) if audience is not None else [pair.brand_id, pair.partner_id]
    for n in range(count):
        async with in_transaction() as conn:
            notified = await events_log.append(
                conn,
                EventKind.CONVERSATION_READ,
                accounts,
                pair.conversation_id,
                reader_account_id=pair.partner_id,
                last_read_seq=n,
            )
        if bus is not None:
            await bus.notify(notified)


async def collect(iterator: AsyncIterator[int], count: int, within: float = 10.0) -> list[int]:
    seen: list[int] = []

    async def take() -> None:
        async for seq in iterator:
            seen.append(seq)
            if len(seen) >= count:
                return

    await asyncio.wait_for(take(), within)
    return seen


# A real `liaison serve` in a subprocess, and a graphql-transport-ws client.

ROOT = Path(__file__).resolve().parent.parent
LIAISON = str(Path(sys.executable).with_name("liaison"))


@dataclass
class Server:
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def http_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/graphql"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/graphql"

    def metric(self, name: str, **labels: str) -> float:
        """A sample of the server's /metrics (0 when absent)."""
        response = httpx.get(
            f"http://127.0.0.1:{self.port}/metrics",
            headers={"authorization": f"Bearer {METRICS_TOKEN}"},
            timeout=10,
        )
        response.raise_for_status()
        for family in text_string_to_metric_families(response.text):
            for sample in family.samples:
                if sample.name == name and sample.labels == labels:
                    return float(sample.value)
        return 0.0

    async def wait_subscriptions(self, count: int) -> None:
        """Until exactly `count` subscriptions run on this server (those of earlier tests
        have ended, the test's own are registered with the hub)."""
        await wait_until(lambda: self.metric("liaison_active_subscriptions") == count)

    def stop(self) -> None:
        if self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(15)
            except subprocess.TimeoutExpired:
                os.kill(self.process.pid, signal.SIGKILL)
                self.process.wait(5)


def start_server(env: dict[str, str], log_dir: Path) -> Server:
    port = free_port()
    log = log_dir / f"serve-{port}.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            [LIAISON, "serve", "--port", str(port)],
            env={**os.environ, **env},
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    server = Server(port, process, log)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"liaison serve exited:\n{log.read_text()}")
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return server
        time.sleep(0.05)
    server.stop()
    raise TimeoutError(f"liaison serve did not start:\n{log.read_text()}")


METRICS_TOKEN = "test-metrics-token"


def run_liaison(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Run the `liaison` command to completion with `env` added; its output captured."""
    return subprocess.run(
        [LIAISON, *args],
        env={**os.environ, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
    )


def start_worker(env: dict[str, str], log: Path, *, burst: bool = False) -> subprocess.Popen[bytes]:
    """A real `liaison worker` with `env` added, writing to `log`; stop it with `stop_process`."""
    with log.open("ab") as out:
        return subprocess.Popen(
            [LIAISON, "worker", *(["--burst"] if burst else [])],
            env={**os.environ, **env},
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def stop_process(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    """Signal a process by pid and wait for it; SIGKILL if it has not ended after 30 s."""
    if process.poll() is None:
        os.kill(process.pid, sig)
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait(5)


def server_env(
    database_url: str, data_dir: Path, redis_url: str | None, *, live_fast_path: bool = True
) -> dict[str, str]:
    env = {
        "LIAISON_LIVE_FAST_PATH": "true" if live_fast_path else "false",
        "LIAISON_DATABASE_URL": database_url,
        "LIAISON_DATA_DIR": str(data_dir),
        "LIAISON_JWT_SECRET": JWT_SECRET,
        "LIAISON_ENV": "test",
        "LIAISON_ALLOWED_ORIGINS": "https://app.example",
        "LIAISON_RATE_LIMIT_USER_PER_MINUTE": "1000000",
        "LIAISON_RATE_LIMIT_ACCOUNT_PER_MINUTE": "1000000",
        "LIAISON_METRICS_TOKEN": METRICS_TOKEN,
    }
    if redis_url:
        env["LIAISON_REDIS_URL"] = redis_url
    return env


class ServerCluster:
    """`liaison serve` processes on the test PostgreSQL and a private Redis."""

    def __init__(
        self, database_url: str, data_dir: Path, redis: RedisServer, *, live_fast_path: bool
    ) -> None:
        self.database_url, self.data_dir, self.redis = database_url, data_dir, redis
        self.live_fast_path = live_fast_path
        self.servers: list[Server] = []

    def env(self, redis: bool = True) -> dict[str, str]:
        redis_url = self.redis.url if redis else None
        return server_env(
            self.database_url, self.data_dir, redis_url, live_fast_path=self.live_fast_path
        )

    def start(self, redis: bool = True) -> Server:
        server = start_server(self.env(redis), self.data_dir)
        self.servers.append(server)
        return server

    def stop(self) -> None:
        for server in self.servers:
            server.stop()


# For modules whose tests start `liaison serve` processes (they share one database).
POSTGRES_ONLY = pytest.mark.parametrize("backend", ["postgres"], indirect=True)


@pytest.fixture(scope="module")
async def cluster(
    backend: str,
    app: Any,
    app_settings: Settings,
    redis_server: RedisServer,
    live_fast_path: bool,
) -> AsyncIterator[ServerCluster]:
    """Needs PostgreSQL: several processes write the same database. Modules using it run
    on PostgreSQL only: `pytestmark = POSTGRES_ONLY`."""
    assert backend == "postgres", "server processes share the database: use POSTGRES_ONLY"
    cluster = ServerCluster(
        app_settings.database_url,
        app_settings.data_dir,
        redis_server,
        live_fast_path=live_fast_path,
    )
    try:
        yield cluster
    finally:
        cluster.stop()


@pytest.fixture(scope="module")
async def server(cluster: ServerCluster) -> Server:
    return cluster.start()


INBOX_EVENTS = """
subscription Inbox($after: String) {
  inboxEvents(after: $after) {
    __typename
    ... on MessageCreated {
      cursor
      message { id seq body senderAccount { id name } sender { id } attachments { id } }
      conversation { id counterpart { id } unreadCount }
    }
    ... on AttachmentScanned { cursor attachment { id scanStatus } message { id } }
    ... on ConversationRead { cursor conversation { id } readerAccount { id } lastReadSeq }
  }
}
"""


class WsClosed(Exception):
    def __init__(self, code: int | None, reason: str) -> None:
        super().__init__(f"closed {code}: {reason}")
        self.code, self.reason = code, reason


class GqlWs:
    """A graphql-transport-ws client on the `websockets` package."""

    def __init__(self, connection: ClientConnection) -> None:
        self.connection = connection

    @classmethod
    @contextlib.asynccontextmanager
    async def connect(
        cls,
        url: str,
        token: str | None,
        *,
        origin: str | None = None,
        payload: dict[str, Any] | None = None,
    ) -> AsyncIterator[GqlWs]:
        async with websockets.connect(
            url,
            subprotocols=[Subprotocol("graphql-transport-ws")],
            origin=Origin(origin) if origin else None,
            open_timeout=10,
            max_size=None,
        ) as connection:
            client = cls(connection)
            init = (
                payload
                if payload is not None
                else ({"authorization": f"Bearer {token}"} if token else {})
            )
            await connection.send(json.dumps({"type": "connection_init", "payload": init}))
            message = await client.receive()
            assert message["type"] == "connection_ack", message
            yield client

    async def receive(self, within: float = 10.0) -> dict[str, Any]:
        while True:
            try:
                raw = await asyncio.wait_for(self.connection.recv(), within)
            except websockets.ConnectionClosed as closed:
                rcvd = closed.rcvd
                raise WsClosed(rcvd.code if rcvd else None, rcvd.reason if rcvd else "") from None
            message: dict[str, Any] = json.loads(raw)
            if message["type"] == "ping":
                await self.connection.send(json.dumps({"type": "pong"}))
                continue
            return message

    async def subscribe(
        self, op_id: str = "1", after: str | None = None, query: str = INBOX_EVENTS
    ) -> None:
        payload = {"query": query, "variables": {"after": after}}
        await self.connection.send(
            json.dumps({"id": op_id, "type": "subscribe", "payload": payload})
        )

    async def events(self, count: int, within: float = 20.0) -> list[dict[str, Any]]:
        """The next `count` `inboxEvents` of any subscription; fails on anything else."""
        got: list[dict[str, Any]] = []
        deadline = time.monotonic() + within
        while len(got) < count:
            message = await self.receive(max(deadline - time.monotonic(), 0.01))
            assert message["type"] == "next" and "errors" not in message["payload"], message
            got.append(message["payload"]["data"]["inboxEvents"])
        return got

    async def nothing(self, within: float = 0.5) -> None:
        with contextlib.suppress(TimeoutError):
            message = await self.receive(within)
            raise AssertionError(f"expected nothing, got {message}")


def bearer(user_id: uuid.UUID) -> str:
    return issue_token(JWT_SECRET, user_id)


async def http_send(
    client: httpx.AsyncClient, url: str, user_id: uuid.UUID, recipient_id: uuid.UUID, body: str
) -> dict[str, Any]:
    response = await client.post(
        url,
        json={
            "query": SEND,
            "variables": {"input": {"recipientAccountId": str(recipient_id), "body": body}},
        },
        headers={"authorization": f"Bearer {bearer(user_id)}"},
    )
    assert response.status_code == 200, response.text
    payload: dict[str, Any] = response.json()["data"]["sendMessage"]
    assert payload["errors"] == [], payload
    return payload
