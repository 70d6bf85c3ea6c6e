"""Fixtures and helpers for the realtime tests: private Redis servers, free ports, events."""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from tortoise.transactions import in_transaction

from models import Account, AccountKind, Conversation, EventKind, Partnership, PartnershipStatus
from services import events_log
from services.bus import EventBus


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
