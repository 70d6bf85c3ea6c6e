"""Running the notifier: `make_notifier(settings)` and a background loop.

- `LIAISON_SMTP_URL` set: e-mails go to that server.
- unset, development: e-mails are written to `<LIAISON_DATA_DIR>/outbox/` and logged.
- unset otherwise: no notifier, said once in the log.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import timedelta
from pathlib import Path
from typing import Protocol

from services.notifications.mail import Links
from services.notifications.mailers import Mailer, OutboxMailer, SmtpConfig, SmtpMailer
from services.notifications.notifier import Clock, Notifier, NotifierConfig, utc_now

log = logging.getLogger("liaison.notifications")


class NotificationSettings(Protocol):
    """What the notifier reads of ``gql.settings.Settings``."""

    @property
    def jwt_secret(self) -> str: ...
    @property
    def smtp_url(self) -> str | None: ...
    @property
    def mail_from(self) -> str: ...
    @property
    def notify_delay_seconds(self) -> float: ...
    @property
    def digest_hour_utc(self) -> int: ...
    @property
    def app_link_base(self) -> str: ...
    @property
    def public_url(self) -> str: ...
    @property
    def development(self) -> bool: ...
    @property
    def data_dir(self) -> Path: ...


def notifier_config(settings: NotificationSettings, **overrides: object) -> NotifierConfig:
    links = Links(
        app_base=settings.app_link_base,
        unsubscribe_base=f"{settings.public_url.rstrip('/')}/notifications/unsubscribe",
        mail_from=settings.mail_from,
    )
    config = NotifierConfig(
        jwt_secret=settings.jwt_secret,
        links=links,
        delay=timedelta(seconds=settings.notify_delay_seconds),
        digest_hour_utc=settings.digest_hour_utc,
    )
    from dataclasses import replace

    return replace(config, **overrides)  # type: ignore[arg-type]


def make_mailer(settings: NotificationSettings) -> Mailer | None:
    if settings.smtp_url:
        return SmtpMailer(SmtpConfig.from_url(settings.smtp_url))
    if settings.development:
        outbox = settings.data_dir / "outbox"
        log.info("LIAISON_SMTP_URL is not set: notification e-mails are written to %s", outbox)
        return OutboxMailer(outbox)
    log.warning("LIAISON_SMTP_URL is not set: no notification e-mails will be sent")
    return None


def make_notifier(settings: NotificationSettings, *, clock: Clock = utc_now) -> Notifier | None:
    mailer = make_mailer(settings)
    return None if mailer is None else Notifier(notifier_config(settings), mailer, clock=clock)


class NotificationLoop:
    """Ticks a notifier every `interval` seconds in a background task."""

    def __init__(self, notifier: Notifier, *, interval: float | None = None) -> None:
        self.notifier = notifier
        delay = notifier.config.delay.total_seconds()
        self.interval = interval if interval is not None else min(10.0, max(0.5, delay / 10))
        self._task: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="notifier")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self.notifier.mailer.close()

    async def _run(self) -> None:
        while True:
            try:
                report = await self.notifier.tick()
                if report.sent or report.failed:
                    log.info(
                        "notifications: %d sent, %d skipped, %d to retry, %d failed",
                        report.sent,
                        report.skipped,
                        report.retried,
                        report.failed,
                    )
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("notifier tick failed; trying again")
            await self.notifier.mailer.close()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.interval)
            self._wake.clear()
