"""The notifier: decides from the database which e-mails are owed, claims each one with a
unique row, and delivers it (SPEC §13).

Each `tick(now)`:
1. *Conversation windows* (`IMMEDIATE` users): a conversation whose first unread message —
   not yet covered by an earlier e-mail — is older than the delay gets a `notifications` row
   keyed `conversation:<id>:<first seq>`; messages that arrive until it is sent join it.
2. *Digests* (`DAILY`, `WEEKLY` on Mondays): once the digest hour of the window has passed,
   one row per user keyed `daily:<date>` / `weekly:<monday>`.
3. *Delivery*: every PENDING row that is due is leased (a conditional UPDATE, so one
   notifier holds it), re-checked against the database (read meanwhile, SPAM, assigned to
   someone else, frequency or permission changed: SKIPPED), mailed, and marked SENT. A
   transient SMTP failure puts it back with exponential backoff; a permanent one (5xx)
   marks it FAILED and the others go on.

The unique (user, window) row makes each e-mail exactly once across notifiers and restarts,
except in one gap no SMTP client can close: a crash after the server accepted the e-mail and
before the row says SENT re-sends it once the lease expires, with the same Message-ID.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import socket
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import Message

from tortoise import connections
from tortoise.exceptions import IntegrityError

from models import Notification, NotificationFrequency, NotificationKind, NotificationStatus
from services.notifications import queries
from services.notifications.mail import (
    ConversationSummary,
    Links,
    Recipient,
    conversation_email,
    digest_email,
    message_id_for,
)
from services.notifications.mailers import Mailer, PermanentFailure, TransientFailure
from services.notifications.queries import Owed
from services.notifications.tokens import unsubscribe_token

log = logging.getLogger("liaison.notifications")
Clock = Callable[[], datetime]


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class NotifierConfig:
    jwt_secret: str
    links: Links
    delay: timedelta = timedelta(seconds=300)
    digest_hour_utc: int = 8
    # A digest not sent within this long after its hour waits for the next window.
    digest_grace: timedelta = timedelta(hours=6)
    # Conversation windows whose first message is older than this are skipped, not mailed;
    # a full pass reads conversations active within `lookback`.
    max_age: timedelta = timedelta(days=3)
    lookback: timedelta = timedelta(days=3)
    backoff_base: timedelta = timedelta(seconds=30)
    backoff_max: timedelta = timedelta(hours=1)
    max_attempts: int = 25
    lease: timedelta = timedelta(minutes=5)
    batch: int = 200
    # Each pass reads only conversations with a message since the previous pass (less this
    # margin, for commits that land late); every `full_scan_every` it reads back `lookback`.
    scan_margin: timedelta = timedelta(minutes=1)
    full_scan_every: timedelta = timedelta(minutes=10)
    # E-mails built and sent at once: bounded so a large batch never drains the DB pool.
    concurrency: int = 8


@dataclass
class TickReport:
    claimed: int = 0
    sent: int = 0
    skipped: int = 0
    retried: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def digest_windows(now: datetime, hour: int) -> list[tuple[NotificationFrequency, str, datetime]]:
    """The digest windows open at `now`: (frequency, window key, start)."""
    today = now.replace(hour=hour, minute=0, second=0, microsecond=0)
    daily = today if now >= today else today - timedelta(days=1)
    monday = today - timedelta(days=today.weekday())
    weekly = monday if now >= monday else monday - timedelta(days=7)
    return [
        (NotificationFrequency.DAILY, f"daily:{daily.date().isoformat()}", daily),
        (NotificationFrequency.WEEKLY, f"weekly:{weekly.date().isoformat()}", weekly),
    ]


class Notifier:
    def __init__(self, config: NotifierConfig, mailer: Mailer, *, clock: Clock = utc_now) -> None:
        self.config = config
        self.mailer = mailer
        self.clock = clock
        self.owner = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._planned_digests: set[str] = set()
        self._scanned_to: datetime | None = None  # `sent_before` of the last pass
        self._full_scan_at: datetime | None = None

    async def tick(self) -> TickReport:
        now = self.clock()
        report = TickReport()
        await self._plan_conversations(now, report)
        await self._plan_digests(now)
        await self._deliver_due(now, report)
        return report

    async def _plan_conversations(self, now: datetime, report: TickReport) -> None:
        """Claim the due conversation windows.

        A window not yet due at the previous pass has its first message after that pass's
        `sent_before`, so only conversations active since then need reading.
        """
        conn = connections.get("default")
        sent_before = now - self.config.delay
        full = (
            self._scanned_to is None
            or self._full_scan_at is None
            or now - self._full_scan_at >= self.config.full_scan_every
            or now < self._full_scan_at  # the clock went back
        )
        if full or self._scanned_to is None:
            since = sent_before - self.config.lookback
        else:
            since = min(self._scanned_to, sent_before) - self.config.scan_margin
        windows = await queries.due_windows(conn, sent_before, since)
        for w in windows:
            stale = now - w.first_sent_at > self.config.max_age
            try:
                await Notification.create(
                    user_id=w.user_id,
                    kind=NotificationKind.CONVERSATION,
                    window_key=f"conversation:{w.conversation_id}:{w.start_seq}",
                    conversation_id=w.conversation_id,
                    first_seq=w.start_seq,
                    last_seq=w.last_seq,
                    status=NotificationStatus.SKIPPED if stale else NotificationStatus.PENDING,
                    last_error="older than the notification horizon" if stale else None,
                    due_at=now,
                )
            except IntegrityError:
                continue  # another notifier claimed this window first
            report.claimed += 1
        if full:
            self._full_scan_at = now
        self._scanned_to = sent_before

    async def _plan_digests(self, now: datetime) -> None:
        conn = connections.get("default")
        kinds = {
            NotificationFrequency.DAILY: NotificationKind.DAILY_DIGEST,
            NotificationFrequency.WEEKLY: NotificationKind.WEEKLY_DIGEST,
        }
        for frequency, key, start in digest_windows(now, self.config.digest_hour_utc):
            # Once per window and process: later rows of the same window are harmless but
            # each claim reads every user.
            if now - start <= self.config.digest_grace and key not in self._planned_digests:
                await queries.claim_digests(conn, frequency, kinds[frequency], key, now)
                self._planned_digests.add(key)

    async def _deliver_due(self, now: datetime, report: TickReport) -> None:
        conn = connections.get("default")
        while True:
            leased = await queries.lease_due(
                conn, self.owner, now, now + self.config.lease, self.config.batch
            )
            slots = asyncio.Semaphore(self.config.concurrency)
            await asyncio.gather(*(self._deliver_one(slots, row, now, report) for row in leased))
            if len(leased) < self.config.batch:
                return

    async def _deliver_one(
        self, slots: asyncio.Semaphore, row: Owed, now: datetime, report: TickReport
    ) -> None:
        async with slots:
            await self._deliver(row, now, report)

    async def _deliver(self, row: Owed, now: datetime, report: TickReport) -> None:
        try:
            built = await self._build(row, now)
        except Exception:
            log.exception("notification %s: could not be built", row.id)
            await self._retry(row, now, "could not be built", report)
            return
        if built is None:
            await self._finish(row, NotificationStatus.SKIPPED, None)
            report.skipped += 1
            return
        message, last_seq = built
        try:
            await self.mailer.send(message)
        except PermanentFailure as error:
            log.warning("notification %s to user %s refused: %s", row.id, row.user_id, error)
            await self._finish(row, NotificationStatus.FAILED, str(error))
            report.failed += 1
            return
        except TransientFailure as error:
            await self._retry(row, now, str(error), report)
            return
        await self._finish(row, NotificationStatus.SENT, None, last_seq=last_seq, sent_at=now)
        report.sent += 1

    async def _finish(
        self,
        row: Owed,
        status: NotificationStatus,
        error: str | None,
        *,
        last_seq: int | None = None,
        sent_at: datetime | None = None,
    ) -> None:
        changes: dict[str, object] = {
            "status": status,
            "lease_owner": None,
            "lease_until": None,
            "last_error": error[:500] if error else None,
            "sent_at": sent_at,
        }
        if last_seq is not None:
            changes["last_seq"] = last_seq
        await Notification.filter(id=row.id, lease_owner=self.owner).update(**changes)

    async def _retry(self, row: Owed, now: datetime, error: str, report: TickReport) -> None:
        attempts = row.attempts + 1
        if attempts >= self.config.max_attempts:
            log.error("notification %s: giving up after %d attempts: %s", row.id, attempts, error)
            await self._finish(row, NotificationStatus.FAILED, error)
            report.failed += 1
            return
        wait = min(self.config.backoff_base * 2 ** (attempts - 1), self.config.backoff_max)
        wait *= 1 + random.random() / 4  # spread retries of many rows
        log.warning(
            "notification %s: attempt %d failed (%s); retry in %s", row.id, attempts, error, wait
        )
        await Notification.filter(id=row.id, lease_owner=self.owner).update(
            attempts=attempts,
            due_at=now + wait,
            lease_owner=None,
            lease_until=None,
            last_error=error[:500],
        )
        report.retried += 1
        report.errors.append(error)

    async def _build(self, row: Owed, now: datetime) -> tuple[Message, int | None] | None:
        """The e-mail a row stands for, or None when it is no longer owed."""
        conn = connections.get("default")
        user_id = row.user_id
        user = await queries.recipient(conn, user_id)
        if user is None or not user["messaging"]:
            return None
        frequency = NotificationFrequency(user["notification_frequency"])
        recipient = Recipient(user_id, str(user["email"]), str(user["name"]))
        token = unsubscribe_token(self.config.jwt_secret, user_id)
        message_id = message_id_for(row.id, self.config.links.mail_from)
        account_id = queries.as_uuid(user["account_id"])
        if row.kind is NotificationKind.CONVERSATION:
            if frequency is not NotificationFrequency.IMMEDIATE:
                return None
            assert row.conversation_id is not None
            conversation_id = row.conversation_id
            found = await queries.unread_conversations(
                conn, account_id, user_id, conversation_id=conversation_id
            )
            if not found or int(found[0]["last_read_seq"]) >= (row.first_seq or 0):
                return None  # read, filed as spam or assigned to someone else meanwhile
            summary = _summary(found[0])
            email = conversation_email(
                recipient, summary, self.config.links, token=token, message_id=message_id, now=now
            )
            return email, int(found[0]["last_seq"])
        wanted = (
            NotificationFrequency.DAILY
            if row.kind is NotificationKind.DAILY_DIGEST
            else NotificationFrequency.WEEKLY
        )
        if frequency is not wanted:
            return None
        rows = await queries.unread_conversations(conn, account_id, user_id)
        if not rows:
            return None
        email = digest_email(
            recipient,
            [_summary(r) for r in rows],
            self.config.links,
            period="daily" if wanted is NotificationFrequency.DAILY else "weekly",
            token=token,
            message_id=message_id,
            now=now,
        )
        return email, None


def _summary(row: dict[str, object]) -> ConversationSummary:
    return ConversationSummary(
        conversation_id=queries.as_uuid(row["conversation_id"]),
        counterpart=str(row["counterpart"]),
        unread=int(row["last_seq"]) - int(row["last_read_seq"]),  # type: ignore[call-overload]
        latest_body=str(row["body"] or ""),
        latest_attachments=int(row["attachments"] or 0),  # type: ignore[call-overload]
    )
