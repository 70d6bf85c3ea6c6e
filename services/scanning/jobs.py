"""One scan attempt of one blob, and the database side of its outcome.

A blob is stored bytes shared by one or more attachments (one for a single send; every
message of a bulk send for the bulk send's files); it is scanned once, and its verdict is
copied onto all of its attachments and announced in each of their conversations.

Invariants:

- Only a blob still ``PENDING`` is ever updated (``UPDATE … WHERE scan_status = 'PENDING'``),
  so two workers racing on the same job, or a job delivered twice, change it once.
- A verdict, its copies on the attachments and their ``ATTACHMENT_SCANNED`` events are
  written in one transaction; the audience
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

from models import Attachment, Blob, EventKind, ScanStatus
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


async def scan_blob(
    blob_id: uuid.UUID,
    *,
    scanner: Scanner,
    blobs: BlobStore,
    notifier: events_log.Notifier,
    max_attempts: int,
) -> Outcome:
    """Scan one blob if it is still PENDING and record the outcome (see module doc). A job
    is named by the blob's id, which for a single send's file is its attachment's id."""
    row = await Blob.filter(id=blob_id).first()
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
            log.warning("blob %s: clamd unavailable, will retry: %s", row.id, error)
            await _note(row.id, scan_detail=f"clamd unavailable: {error}"[:MAX_DETAIL])
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
    row: Blob, status: ScanStatus, detail: str | None, notifier: events_log.Notifier
) -> Outcome:
    """The verdict, for the blob and every attachment carrying it, with one
    ``ATTACHMENT_SCANNED`` event per attachment for both sides of its conversation.

    The blob's row is updated first: a bulk send's chunk locks it before writing
    attachments of it (`services.bulk.delivery`), so a chunk either committed before this
    (its attachments are updated and announced here) or runs after it and copies the
    verdict into its new attachments."""
    values = {
        "scan_status": status,
        "scan_detail": detail[:MAX_DETAIL] if detail else None,
        "scanned_at": datetime.now(UTC),
        "scan_attempts": row.scan_attempts + 1,
    }
    async with in_transaction() as conn:
        updated = (
            await Blob.filter(id=row.id, scan_status=ScanStatus.PENDING)
            .using_db(conn)
            .update(**values)
        )
        if not updated:
            return await _current(row.id)
        await Attachment.filter(blob_id=row.id).using_db(conn).update(**values)
        carried = (
            await Attachment.filter(blob_id=row.id)
            .using_db(conn)
            .order_by("created_at", "id")
            .values_list(
                "id",
                "message_id",
                "message__conversation_id",
                "message__conversation__brand_id",
                "message__conversation__partner_id",
            )
        )
        audience = await events_log.append_many(
            conn,
            [
                events_log.NewEvent(
                    EventKind.ATTACHMENT_SCANNED,
                    uuid.UUID(str(account)),
                    uuid.UUID(str(conversation)),
                    uuid.UUID(str(message)),
                    attachment_id=uuid.UUID(str(attachment)),
                )
                for attachment, message, conversation, brand, partner in carried
                for account in (brand, partner)
            ],
        )
    await notifier.notify(audience)
    metrics.SCAN_JOBS.labels(status.value).inc()
    log.info("blob %s scanned: %s %s", row.id, status.value, detail or "")
    return Finished(status, row.scan_attempts + 1, detail)


async def _record_failure(
    row: Blob, error: str, notifier: events_log.Notifier, max_attempts: int
) -> Outcome:
    if row.scan_attempts + 1 >= max_attempts:
        log.warning("blob %s: no verdict after %d attempts: %s", row.id, max_attempts, error)
        return await _finish(row, ScanStatus.FAILED, error, notifier)
    updated = await _note(
        row.id, scan_attempts=F("scan_attempts") + 1, scan_detail=error[:MAX_DETAIL]
    )
    if not updated:
        return await _current(row.id)
    log.warning("blob %s: scan attempt %d failed: %s", row.id, row.scan_attempts + 1, error)
    return Retry(row.scan_attempts + 1, error)


async def _note(blob_id: uuid.UUID, **values: object) -> int:
    """A PENDING blob's attempt count or last error, copied onto its attachments."""
    async with in_transaction() as conn:
        updated = (
            await Blob.filter(id=blob_id, scan_status=ScanStatus.PENDING)
            .using_db(conn)
            .update(**values)
        )
        if updated:
            await Attachment.filter(blob_id=blob_id).using_db(conn).update(**values)
    return int(updated)


async def _current(blob_id: uuid.UUID) -> Finished:
    row = await Blob.filter(id=blob_id).first()
    if row is None:
        return Finished(None)
    return Finished(row.scan_status, row.scan_attempts, row.scan_detail)


async def stale_pending(older_than: float, limit: int = 1000) -> list[uuid.UUID]:
    """Blobs PENDING for more than ``older_than`` seconds, oldest first."""
    cutoff = datetime.now(UTC) - timedelta(seconds=older_than)
    rows = (
        await Blob.filter(scan_status=ScanStatus.PENDING, created_at__lte=cutoff)
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


async def sweep_orphan_blobs(blobs: BlobStore, age: timedelta | None = None) -> int:
    """Objects of an object store that no blob names, left by a process that died between
    the upload and the database commit, are deleted once they are `age` (an hour) old. A
    blob's object stays as long as its row, which nothing deletes while an attachment or a
    bulk send points at it (foreign keys, ON DELETE RESTRICT)."""
    from services.s3_blobs import ORPHAN_AGE, S3BlobStore, sweep_orphans

    if not isinstance(blobs, S3BlobStore):
        return 0  # the file store commits by rename inside the transaction's lifetime

    async def referenced(keys: Iterable[str]) -> list[str]:
        # A blob's row is what keeps its object; attachments are asked too, for rows that
        # might name a key without a blob (none are written so since migration 0008).
        wanted = list(keys)
        found = set(await Blob.filter(storage_key__in=wanted).values_list("storage_key", flat=True))
        found.update(
            await Attachment.filter(storage_key__in=wanted).values_list("storage_key", flat=True)
        )
        return [str(key) for key in found]

    removed = await sweep_orphans(blobs, referenced, ORPHAN_AGE if age is None else age)
    if removed:
        log.info("blob sweeper: deleted %d orphaned objects", removed)
    return removed
