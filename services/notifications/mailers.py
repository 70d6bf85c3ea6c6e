"""Where e-mails go: an SMTP server (`aiosmtplib`) or, in development without one, an
outbox directory a person can read (one `.eml` file and one log line per e-mail).

Failures come back as two exceptions the notifier acts on: `TransientFailure` (retry with
backoff: connection refused, timeouts, 4xx, authentication or sender problems that an
operator can fix) and `PermanentFailure` (a 5xx for this recipient or this message: retrying
cannot help, and it does not hold up anyone else's e-mail).
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from dataclasses import dataclass
from email.message import Message
from email.policy import compat32
from email.utils import parseaddr
from pathlib import Path
from typing import Protocol
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib

log = logging.getLogger("liaison.notifications")


class TransientFailure(Exception):
    """Try again later."""


class PermanentFailure(Exception):
    """This e-mail cannot be delivered; do not retry it."""


# CRLF line ends for SMTP; headers unfolded up to RFC 5322's 998 characters, so that
# List-Unsubscribe stays on one line.
_WIRE = compat32.clone(linesep="\r\n", max_line_length=998)


def flatten(message: Message) -> bytes:
    return message.as_bytes(policy=_WIRE)


class Mailer(Protocol):
    async def send(self, message: Message) -> None: ...
    async def close(self) -> None: ...


@dataclass(frozen=True, slots=True)
class SmtpConfig:
    hostname: str
    port: int
    username: str | None = None
    password: str | None = None
    use_tls: bool = False
    start_tls: bool | None = None  # None: STARTTLS when the server offers it
    timeout: float = 30.0

    @classmethod
    def from_url(cls, url: str) -> SmtpConfig:
        """`smtp://user:pass@host:587?starttls=true`, `smtps://…:465`; `?timeout=` seconds."""
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError("LIAISON_SMTP_URL must look like smtp://user:pass@host:587")
        query = {k: v[-1].lower() for k, v in parse_qs(parts.query).items()}
        use_tls = parts.scheme == "smtps"
        start_tls: bool | None = None
        if "starttls" in query:
            start_tls = query["starttls"] in ("1", "true", "yes", "on")
        return cls(
            hostname=parts.hostname,
            port=parts.port or (465 if use_tls else 587 if start_tls else 25),
            username=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
            use_tls=use_tls,
            start_tls=None if use_tls else start_tls,
            timeout=float(query.get("timeout", "30")),
        )


class SmtpMailer:
    """Sends over up to `connections` kept-open SMTP connections."""

    def __init__(self, config: SmtpConfig, *, connections: int = 4) -> None:
        self.config = config
        self._slots = asyncio.Semaphore(connections)
        self._idle: list[aiosmtplib.SMTP] = []

    async def _connect(self) -> aiosmtplib.SMTP:
        c = self.config
        client = aiosmtplib.SMTP(
            hostname=c.hostname,
            port=c.port,
            username=c.username,
            password=c.password,
            use_tls=c.use_tls,
            start_tls=c.start_tls,
            timeout=c.timeout,
        )
        await client.connect()
        return client

    async def send(self, message: Message) -> None:
        async with self._slots:
            client = self._idle.pop() if self._idle else None
            try:
                if client is None or not client.is_connected:
                    client = await self._connect()
                await client.sendmail(
                    parseaddr(str(message["From"]))[1],
                    [parseaddr(str(message["To"]))[1]],
                    flatten(message),
                )
            except aiosmtplib.SMTPRecipientsRefused as error:
                self._keep(client)
                codes = [r.code for r in error.recipients]
                if codes and min(codes) >= 500:
                    raise PermanentFailure(f"recipient refused: {codes[0]}") from None
                raise TransientFailure(f"recipient deferred: {codes}") from None
            except (aiosmtplib.SMTPDataError, aiosmtplib.SMTPRecipientRefused) as error:
                self._keep(client)
                kind = PermanentFailure if error.code >= 500 else TransientFailure
                raise kind(f"message refused: {error.code}") from None
            except (aiosmtplib.SMTPException, OSError, TimeoutError) as error:
                await _quietly_close(client)
                raise TransientFailure(f"{type(error).__name__}: {error}") from None
            self._keep(client)

    def _keep(self, client: aiosmtplib.SMTP | None) -> None:
        if client is not None and client.is_connected:
            self._idle.append(client)

    async def close(self) -> None:
        idle, self._idle = self._idle, []
        for client in idle:
            await _quietly_close(client)


async def _quietly_close(client: aiosmtplib.SMTP | None) -> None:
    if client is None or not client.is_connected:
        return
    try:
        await client.quit()
    except (aiosmtplib.SMTPException, OSError, TimeoutError):
        client.close()


class OutboxMailer:
    """Development without SMTP: each e-mail is written to `directory` and logged."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._counter = itertools.count()

    async def send(self, message: Message) -> None:
        name = f"{time.strftime('%Y%m%d-%H%M%S')}-{next(self._counter):05d}.eml"
        path = self.directory / name
        data = message.as_bytes(policy=compat32.clone(max_line_length=998))

        def write() -> None:
            self.directory.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)

        await asyncio.to_thread(write)
        log.info("e-mail to %s: %r saved as %s", message["To"], message["Subject"], path)

    async def close(self) -> None:
        return None
