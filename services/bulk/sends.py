"""Bulk sends as their author's brand sees them: create (recipients fixed now), read, list,
cancel. Sending itself is `services.bulk.delivery`, run by `services.bulk.jobs`."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol

from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from models import (
    Account,
    AccountKind,
    BulkAttachment,
    BulkOutcome,
    BulkRecipient,
    BulkSend,
    BulkSendStatus,
    EventKind,
    Permission,
)
from services import events_log
from services.accounts import terms_accepted
from services.attachments import AnyUpload, StagedFile, create_blob, discard, stage_uploads
from services.auth import Viewer
from services.blobs import BlobStore
from services.conversations import Page
from services.cursors import CursorCodec
from services.errors import ErrorCode, IdempotencyConflict, InvalidInput, NotFound, PermissionDenied
from services.partnerships import PartnerFilter, matching
from services.sending import MAX_BODY_CHARS, SendServices
from services.templates import access_template, check_template

MAX_CLIENT_BULK_ID = 255
CANCELLED = "CANCELLED"  # the reason of recipients skipped by a cancellation


class BulkQueue(Protocol):
    """Where a committed bulk send goes to be sent in the background."""

    async def enqueue(self, bulk_id: uuid.UUID) -> None: ...


@dataclass(frozen=True, slots=True)
class BulkRequest:
    partner_filter: PartnerFilter
    body: str | None
    template_id: str | None
    client_bulk_id: str | None
    # Files every message carries: stored and scanned once, shared by all of them.
    uploads: Sequence[AnyUpload] = ()


def require_bulk(viewer: Viewer) -> None:
    if not (viewer.can(Permission.BULK_MESSAGING) and viewer.can(Permission.MESSAGING)):
        raise PermissionDenied("Bulk messages need the BULK_MESSAGING and MESSAGING permissions.")
    if viewer.account_kind is not AccountKind.BRAND:
        raise PermissionDenied("Only brand accounts send bulk messages.")


async def _body(viewer: Viewer, request: BulkRequest) -> str:
    """The body as written (tokens unsubstituted); it may be empty when files go with it,
    as a single send's may."""
    if request.template_id is not None and request.body is not None:
        raise InvalidInput(
            ErrorCode.INVALID_INPUT, "Give either a body or a templateId.", ("body",)
        )
    if request.template_id is not None:
        body = (await access_template(viewer, request.template_id)).body
    else:
        body = request.body or ""
    if not body.strip() and not request.uploads:
        raise InvalidInput(ErrorCode.INVALID_BODY, "The body is empty.", ("body",))
    if len(body.strip()) > MAX_BODY_CHARS or "\x00" in body:
        raise InvalidInput(
            ErrorCode.INVALID_BODY, f"The body has at most {MAX_BODY_CHARS} characters.", ("body",)
        )
    return check_template(body.strip())


def _digest(flt: PartnerFilter, body: str, files: Sequence[StagedFile]) -> str:
    statuses = sorted(s.value for s in flt.statuses) if flt.statuses is not None else None
    described: list[object] = [statuses, flt.search or "", body]
    if files:  # without files, the digest of bulk sends created before attachments
        described.append([[f.blob.sha256, f.filename] for f in files])
    return hashlib.sha256(json.dumps(described).encode()).hexdigest()


async def _replay(viewer: Viewer, client_bulk_id: str, digest: str) -> BulkSend | None:
    existing = await BulkSend.filter(
        created_by_id=viewer.user_id, client_bulk_id=client_bulk_id
    ).first()
    if existing is not None and existing.request_digest != digest:
        raise IdempotencyConflict(
            "This clientBulkId was already used for a different bulk send.",
            field=("clientBulkId",),
        )
    return existing


async def create_bulk_send(
    viewer: Viewer, request: BulkRequest, queue: BulkQueue, services: SendServices
) -> BulkSend:
    """Validate, store the files once, fix the recipients (every partnership of the brand
    matching the filter, by partner name) and queue the job. Idempotent on `clientBulkId`
    per user. Files go through the single send's staging (limits, type from content) and
    are refused, storing nothing, before any bulk send exists; once it is committed, one
    scan job per file is queued."""
    require_bulk(viewer)
    client_bulk_id = request.client_bulk_id
    if client_bulk_id is not None and not 1 <= len(client_bulk_id) <= MAX_CLIENT_BULK_ID:
        raise InvalidInput(
            ErrorCode.INVALID_INPUT,
            f"clientBulkId has 1 to {MAX_CLIENT_BULK_ID} characters.",
            ("clientBulkId",),
        )
    body = await _body(viewer, request)
    if request.uploads:  # what can be refused before any file is sniffed
        _check_terms(await Account.get(id=viewer.account_id))
        if services.limits is not None:
            # Files reach storage: the request is charged like a sendMessage with them (one
            # send, and their bytes against the account's upload budget).
            await services.limits.check_send(
                viewer, sum(getattr(u, "size", None) or 0 for u in request.uploads)
            )
    files = await stage_uploads(
        services.blobs,
        request.uploads,
        max_files=services.max_attachments,
        max_bytes=services.max_attachment_bytes,
    )
    try:
        digest = _digest(request.partner_filter, body, files)
        if client_bulk_id is not None:
            replay = await _replay(viewer, client_bulk_id, digest)
            if replay is not None:
                return replay
        _check_terms(await Account.get(id=viewer.account_id))
        try:
            bulk, blob_ids = await _create(
                viewer,
                request.partner_filter,
                body,
                client_bulk_id,
                digest,
                files,
                services.blobs,
            )
        except IntegrityError:
            if client_bulk_id is None:
                raise
            replay = await _replay(viewer, client_bulk_id, digest)
            if replay is None:
                raise
            return replay
    finally:
        await discard(services.blobs, files)
    if blob_ids:
        await services.scans.enqueue(blob_ids)
    await queue.enqueue(bulk.id)
    return bulk


def _check_terms(account: Account) -> None:
    if not terms_accepted(account):
        raise InvalidInput(
            ErrorCode.TERMS_NOT_ACCEPTED, "Your account has not accepted the messaging terms."
        )


async def _create(
    viewer: Viewer,
    flt: PartnerFilter,
    body: str,
    client_bulk_id: str | None,
    digest: str,
    files: Sequence[StagedFile],
    blobs: BlobStore,
) -> tuple[BulkSend, list[uuid.UUID]]:
    query = matching(viewer.account_id, flt)
    stored_keys: list[str] = []
    blob_ids: list[uuid.UUID] = []
    try:
        async with in_transaction() as conn:
            rows = (
                await query.using_db(conn)
                .order_by("partner__name_folded", "id")
                .values_list("id", "partner_id")
            )
            bulk = await BulkSend.create(
                using_db=conn,
                account_id=viewer.account_id,
                created_by_id=viewer.user_id,
                client_bulk_id=client_bulk_id,
                request_digest=digest,
                body=body,
                total=len(rows),
            )
            await BulkRecipient.bulk_create(
                [
                    BulkRecipient(
                        bulk_send_id=bulk.id, position=n, partnership_id=pid, partner_id=partner
                    )
                    for n, (pid, partner) in enumerate(rows)
                ],
                batch_size=1000,
                using_db=conn,
            )
            # Stored once, for every message: the messages' attachments point at these blobs.
            for position, staged in enumerate(files):
                key = await blobs.commit(staged.blob)
                stored_keys.append(key)
                blob = await create_blob(conn, staged, key)
                await BulkAttachment.create(
                    using_db=conn,
                    bulk_send_id=bulk.id,
                    position=position,
                    filename=staged.filename,
                    blob_id=blob.id,
                )
                blob_ids.append(blob.id)
    except BaseException:
        for key in stored_keys:
            await blobs.delete(key)
        raise
    return bulk, blob_ids


async def access_bulk_send(viewer: Viewer, bulk_id: str) -> BulkSend:
    """A bulk send of the viewer's account; NotFound for anything else."""
    require_bulk(viewer)
    try:
        parsed = uuid.UUID(str(bulk_id))
    except ValueError:
        raise NotFound("No such bulk send.", field=("id",)) from None
    row = await BulkSend.filter(id=parsed, account_id=viewer.account_id).first()
    if row is None:
        raise NotFound("No such bulk send.", field=("id",))
    return row


async def bulk_sends_page(
    viewer: Viewer, first: int, after: str | None, cursors: CursorCodec
) -> Page[BulkSend]:
    """The account's bulk sends, newest first."""
    require_bulk(viewer)
    query = BulkSend.filter(account_id=viewer.account_id)
    total = await query.count()
    if after is not None:
        stamp, bid = cursors.decode("bulk-sends", after)
        at = datetime.fromisoformat(str(stamp))
        query = query.filter(Q(created_at__lt=at) | Q(created_at=at, id__lt=uuid.UUID(str(bid))))
    rows = await query.order_by("-created_at", "-id").limit(first + 1)
    items = [
        (cursors.encode("bulk-sends", b.created_at.isoformat(), str(b.id)), b) for b in rows[:first]
    ]
    return Page(items, len(rows) > first, after is not None, total)


async def recipients_page(
    bulk: BulkSend,
    outcome: BulkOutcome | None,
    first: int,
    after: str | None,
    cursors: CursorCodec,
) -> Page[BulkRecipient]:
    """A bulk send's recipients in their order (partner name at creation)."""
    query = BulkRecipient.filter(bulk_send_id=bulk.id)
    if outcome is not None:
        query = query.filter(outcome=outcome)
    total = await query.count()
    if after is not None:
        (position,) = cursors.decode(f"bulk-recipients:{bulk.id}", after)
        query = query.filter(position__gt=int(position))
    rows = await query.order_by("position").limit(first + 1)
    items = [(cursors.encode(f"bulk-recipients:{bulk.id}", r.position), r) for r in rows[:first]]
    return Page(items, len(rows) > first, after is not None, total)


async def cancel_bulk_send(viewer: Viewer, bulk_id: str, notifier: events_log.Notifier) -> BulkSend:
    """Stop a QUEUED or RUNNING bulk send: what is sent stays, every recipient still PENDING
    becomes SKIPPED (reason CANCELLED). Cancelling an ended one changes nothing."""
    row = await access_bulk_send(viewer, bulk_id)
    async with in_transaction() as conn:
        bulk = await BulkSend.select_for_update().using_db(conn).get(id=row.id)
        if bulk.status in (BulkSendStatus.DONE, BulkSendStatus.CANCELLED):
            return bulk
        skipped = (
            await BulkRecipient.filter(bulk_send_id=bulk.id, outcome=BulkOutcome.PENDING)
            .using_db(conn)
            .update(outcome=BulkOutcome.SKIPPED, reason=CANCELLED)
        )
        bulk.status = BulkSendStatus.CANCELLED
        bulk.finished_at = datetime.now(UTC)
        bulk.skipped += skipped
        bulk.lease_owner, bulk.lease_until = None, None
        await bulk.save(
            using_db=conn,
            update_fields=["status", "finished_at", "skipped", "lease_owner", "lease_until"],
        )
        audience = await events_log.append(
            conn,
            EventKind.BULK_SEND_PROGRESS,
            (bulk.account_id,),  # type: ignore[attr-defined]
            None,
            bulk_send_id=bulk.id,
        )
    await notifier.notify(audience)
    return bulk


async def bulk_files(bulk_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[BulkAttachment]]:
    """The files of bulk sends, in order, with their blobs (scan state)."""
    result: dict[uuid.UUID, list[BulkAttachment]] = {b: [] for b in bulk_ids}
    rows = (
        await BulkAttachment.filter(bulk_send_id__in=list(bulk_ids))
        .select_related("blob")
        .order_by("bulk_send_id", "position")
    )
    for row in rows:
        result[row.bulk_send_id].append(row)  # type: ignore[attr-defined]
    return result


async def bulk_sends_by_ids(ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, BulkSend]:
    return {b.id: b for b in await BulkSend.filter(id__in=list(ids))}
