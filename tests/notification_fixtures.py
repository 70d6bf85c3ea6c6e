"""A real SMTP server (tests/smtp_server.py, aiosmtpd) in its own process on a free port,
stopped by its pid; and a notifier with an injectable clock pointed at it."""

from __future__ import annotations

import asyncio
import email
import email.policy
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any, cast

import pytest

from services.notifications import Notifier, NotifierConfig, SmtpConfig, SmtpMailer
from services.notifications.mail import Links
from tests.conftest import JWT_SECRET
from tests.realtime_fixtures import free_port, wait_for_port

SERVER = Path(__file__).with_name("smtp_server.py")
PUBLIC_URL = "http://testserver"
APP_URL = "https://app.example.test"


@dataclass
class Received:
    rcpt_tos: list[str]
    message: EmailMessage

    @property
    def text(self) -> str:
        part = self.message.get_body(("plain",))
        assert part is not None
        return cast(str, part.get_content())  # type: ignore[attr-defined]

    @property
    def html(self) -> str:
        part = self.message.get_body(("html",))
        assert part is not None
        return cast(str, part.get_content())  # type: ignore[attr-defined]


class SmtpServer:
    def __init__(self, credentials: str | None = None) -> None:
        self.port = free_port()
        self.credentials = credentials
        self.dir = Path(tempfile.mkdtemp(prefix="liaison-smtp-"))
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}?timeout=10"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, str(SERVER), str(self.port), str(self.dir)]
            + ([self.credentials] if self.credentials else []),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for_port(self.port)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGTERM)
            self.process.wait(10)
        self.process = None

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)

    def received(self, to: str | None = None) -> list[Received]:
        out = []
        for path in sorted(self.dir.glob("*.json")):
            record: dict[str, Any] = json.loads(path.read_text())
            if to is not None and to not in record["rcpt_tos"]:
                continue
            message = email.message_from_string(record["data"], policy=email.policy.default)
            out.append(Received(record["rcpt_tos"], cast(EmailMessage, message)))
        return out


@pytest.fixture(scope="module")
def smtp_server() -> Iterator[SmtpServer]:
    server = SmtpServer()
    server.start()
    try:
        yield server
    finally:
        server.close()


class Clock:
    """The notifier's idea of now: real time shifted by `offset`, or a fixed instant."""

    def __init__(self) -> None:
        self.offset = timedelta(0)
        self.fixed: datetime | None = None

    def __call__(self) -> datetime:
        return self.fixed if self.fixed is not None else datetime.now(UTC) + self.offset


DELAY = timedelta(seconds=60)


def make_notifier(smtp_url: str, clock: Clock, **overrides: Any) -> Notifier:
    config = NotifierConfig(
        jwt_secret=JWT_SECRET,
        links=Links(
            app_base=APP_URL,
            unsubscribe_base=f"{PUBLIC_URL}/notifications/unsubscribe",
            mail_from="Liaison <notifications@liaison.example.test>",
        ),
        delay=DELAY,
        backoff_base=timedelta(seconds=5),
        # Tests at real time would otherwise meet today's digest window; digest tests
        # pass digest_grace and a fixed clock.
        digest_grace=timedelta(-1),
    )
    return Notifier(
        replace(config, **overrides), SmtpMailer(SmtpConfig.from_url(smtp_url)), clock=clock
    )


async def eventually(predicate: Any, within: float = 60.0) -> None:
    """Wait (without blocking the loop) until `predicate()` holds."""
    deadline = time.monotonic() + within
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within}s")
        await asyncio.sleep(0.05)


def wait_until(predicate: Any, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        time.sleep(0.05)


async def drain_backlog(smtp_url: str) -> None:
    """Settle (as SKIPPED) every unread window already in the shared test database, so a
    test's e-mails are the only new ones."""
    drain = make_notifier(
        smtp_url, Clock(), max_age=timedelta(0), digest_grace=timedelta(-1), delay=timedelta(0)
    )
    drain.clock = lambda: datetime.now(UTC) + timedelta(seconds=1)
    await drain.tick()
