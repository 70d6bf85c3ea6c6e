"""One scan attempt of one attachment, and the database side of its outcome.

Invariants:

- Only a row still ``PENDING`` is ever updated (``UPDATE … WHERE scan_status = 'PENDING'``),
  so two workers racing on the same job, or a job delivered twice, change it once.
- A verdict and its ``ATTACHMENT_SCANNED`` event are written in one transaction; the audience
  is notified only after it commits.
- ``ScannerUnavailable`` (clamd down, a timeout, an unexpected reply) never makes a file
  ``CLEAN``: it bumps ``scan_attempts`` and keeps the row ``PENDING`` (``Retry``), until the
  ``max_attempts``-th failure, which makes it ``FAILED`` (with its event).
- ``scan_attempts`` counts every attempt, the successful one included; ``scan_detail`` holds
  the signature of an ``INFECTED`` file, else the error of the last failed attempt.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO, Protocol

from tortoise.expressions import F
from tortoise.transactions import in_transaction

from models import Attachment, EventKind, ScanStatus
from services import events_log, metrics
from services.blobs import BlobStore
from services.scanner import Clean, ScannerUnavailable, ScanVerdict

log = logging.getLogger("liaison.scanning")
MAX_DETAIL = 500


class Scanner(Protocol):
    async def scan(self, source: Path | Callable[[], BinaryIO]) -> ScanVerdict: ...

    async def ping(self) -> bool: ...


@dataclass(frozen=True, slots=True)
class Finished:
    """The row is no longer PENDING (``status`` is None if the attachment is gone)."""

    status: ScanStatus | None
    attempts: int = 0
    detail: str | None = None


@dataclass(frozen=True, slots=True)
class Retry:
    """The attempt failed; the row stays PENDING with ``attempts`` attempts so far."""

    attempts: int
    error: str


Outcome = Finished | Retry


async def scan_attachment(
    attachment_id: uuid.UUID,
    *,
    scanner: Scanner,
    blobs: BlobStore,
    notifier: events_log.Notifier,
    max_attempts: int,
) -> Outcome:
    """Scan one attachment if it is still PENDING and record the outcome (see module doc)."""
    row = await Attachment.filter(id=attachment_id).select_related("message__conversation").first()
    if row is None:
        return Finished(None)
    if row.scan_status is not ScanStatus.PENDING:
        return Finished(row.scan_status, row.scan_attempts, row.scan_detail)
    try:
        # Opening is the existence check: one round trip to an object store, not a HEAD
        # before the reader's own.
        reader = await asyncio.to_thread(blobs.reader, row.storage_key)
    except FileNotFoundError:
        # The database is the record, but bytes that are gone cannot come back.
        return await _finish(row, ScanStatus.FAILED, "stored file is missing", notifier)
    handed_over = False

    def source() -> BinaryIO:
        nonlocal handed_over
        handed_over = True  # the scanner closes what it was given
        return reader

    started = time.monotonic()
    try:
        verdict = await scanner.scan(source)
    except ScannerUnavailable as error:
        metrics.SCAN_JOBS.labels("RETRY").inc()
        # Decided by this attempt's own failure first: a ping alone races with a clamd that
        # comes back between the failed connect and the ping.
        if error.unreachable or not await scanner.ping():
            # clamd itself is down: the file is not at fault, so this costs it no attempt
            # (a long outage must not turn every upload FAILED). Retry soon, as a first failure.
            log.warning("attachment %s: clamd unavailable, will retry: %s", row.id, error)
            await Attachment.filter(id=row.id, scan_status=ScanStatus.PENDING).update(
                scan_detail=f"clamd unavailable: {error}"[:MAX_DETAIL]
            )
            return Retry(1, str(error))
        return await _record_failure(row, str(error), notifier, max_attempts)
    finally:
        if not handed_over:  # clamd was never reached
            reader.close()
    metrics.SCAN_DURATION.observe(time.monotonic() - started)
    if isinstance(verdict, Clean):
        return await _finish(row, ScanStatus.CLEAN, None, notifier)
    return await _finish(row, ScanStatus.INFECTED, verdict.signature, notifier)


async def _finish(
    row: Attachment, status: ScanStatus, detail: str | None, notifier: events_log.Notifier
) -> Outcome:
    message = row.message
    conversation = message.conversation
    async with in_transaction() as conn:
        updated = (
            await Attachment.filter(id=row.id, scan_status=ScanStatus.PENDING)
            .using_db(conn)
            .update(
                scan_status=status,
                scan_detail=detail[:MAX_DETAIL] if detail else None,
                scanned_at=datetime.now(UTC),
                scan_attempts=F("scan_attempts") + 1,
            )
        )
        if not updated:
            return await _current(row.id)
        audience = await events_log.append(
            conn,
            EventKind.ATTACHMENT_SCANNED,
            (conversation.brand_id, conversation.partner_id),  # type: ignore[attr-defined]
            conversation.id,
            attachment_id=row.id,
            message_id=message.id,
        )
    await notifier.notify(audience)
    metrics.SCAN_JOBS.labels(status.value).inc()
    log.info("attachment %s scanned: %s %s", row.id, status.value, detail or "")
    return Finished(status, row.scan_attempts + 1, detail)


async def _record_failure(
    row: Attachment, error: str, notifier: events_log.Notifier, max_attempts: int
) -> Outcome:
    if row.scan_attempts + 1 >= max_attempts:
        log.warning("attachment %s: no verdict after %d attempts: %s", row.id, max_attempts, error)
        return await _finish(row, ScanStatus.FAILED, error, notifier)
    updated = await Attachment.filter(id=row.id, scan_status=ScanStatus.PENDING).update(
        scan_attempts=F("scan_attempts") + 1, scan_detail=error[:MAX_DETAIL]
    )
    if not updated:
        return await _current(row.id)
    log.warning("attachment %s: scan attempt %d failed: %s", row.id, row.scan_attempts + 1, error)
    return Retry(row.scan_attempts + 1, error)


async def _current(attachment_id: uuid.UUID) -> Finished:
    row = await Attachment.filter(id=attachment_id).first()
    if row is None:
        return Finished(None)
    return Finished(row.scan_status, row.scan_attempts, row.scan_detail)


async def stale_pending(older_than: float, limit: int = 1000) -> list[uuid.UUID]:
    """Attachments PENDING for more than ``older_than`` seconds, oldest first."""
    cutoff = datetime.now(UTC) - timedelta(seconds=older_than)
    rows = (
        await Attachment.filter(scan_status=ScanStatus.PENDING, created_at__lte=cutoff)
        .order_by("created_at")
        .limit(limit)
        .values_list("id", flat=True)
    )
    return [uuid.UUID(str(r)) for r in rows]


class OrphanSweeper:
    """`sweep_orphan_blobs` at most once per `interval` seconds (the first call sweeps)."""

    def __init__(self, blobs: BlobStore, interval: float) -> None:
        self.blobs, self.interval = blobs, interval
        self._next = 0.0

    async def maybe_sweep(self) -> int:
        now = time.monotonic()
        if now < self._next:
            return 0
        self._next = now + self.interval
        return await sweep_orphan_blobs(self.blobs)


async def sweep_orphan_blobs(blobs: BlobStore) -> int:
    """Objects of an object store that no attachment references, left by a process that died
    between the upload and the database commit, are deleted once they are an hour old."""
    from services.s3_blobs import S3BlobStore, sweep_orphans

    if not isinstance(blobs, S3BlobStore):
        return 0  # the file store commits by rename inside the transaction's lifetime

    async def referenced(keys: Iterable[str]) -> list[str]:
        rows = await Attachment.filter(storage_key__in=list(keys)).values_list(
            "storage_key", flat=True
        )
        return [str(key) for key in rows]

    removed = await sweep_orphans(blobs, referenced)
    if removed:
        log.info("blob sweeper: deleted %d orphaned objects", removed)
    return removed
