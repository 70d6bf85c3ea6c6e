"""The one send path. Every message — `sendMessage`, demo data, bulk sends — goes through
`send(...)`:

1. cheap checks that need no file: MESSAGING, body, clientMessageId, the recipient is a
   partnership of the sender's account (NOT_FOUND otherwise) — refused before any upload
   is read (SPEC §7);
2. rate limits (per user, per account, uploaded bytes per account);
3. attachments staged: type sniffed from the bytes, size checked, stored as blobs;
4. under the partnership's row lock: who may send in this status (SPEC §1), the messaging
   settings of both accounts (SPEC §9: CONVERSATION_NOT_ALLOWED, RECIPIENT_NOT_ACCEPTING,
   AWAITING_REPLY), then the message, its attachments and events written in one
   transaction.

`check_*` validates and raises; `_do_send` writes. Events are recorded in the transaction
and announced, with scan jobs queued, only after it commits. A refused message stores
nothing, and staged files are always discarded.
"""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from models import (
    Account,
    AccountKind,
    Attachment,
    Conversation,
    EventKind,
    InboxFolder,
    Message,
    Participant,
    Partnership,
    PartnershipStatus,
    Permission,
    search_index,
)
from services import events_log
from services.accounts import terms_accepted
from services.attachments import (
    AnyUpload,
    ScanQueue,
    StagedFile,
    create_blob,
    discard,
    stage_uploads,
)
from services.auth import Viewer
from services.blobs import BlobStore
from services.errors import (
    DomainError,
    ErrorCode,
    IdempotencyConflict,
    InvalidInput,
    NotFound,
    PermissionDenied,
)
from services.messaging_settings import check_messaging_settings

MAX_BODY_CHARS = 10_000
MAX_ATTACHMENTS = 10
MAX_ATTACHMENT_BYTES = 25 * 1024 * 1024
MAX_CLIENT_MESSAGE_ID = 255

BRAND_MAY_SEND = frozenset(
    {PartnershipStatus.PROSPECT, PartnershipStatus.PENDING, PartnershipStatus.ACTIVE}
)
PARTNER_MAY_SEND = frozenset({PartnershipStatus.PENDING, PartnershipStatus.ACTIVE})

if TYPE_CHECKING:  # the limiter's Redis client is the server's, not the rules'
    from services.ratelimit import SendRateLimits


@dataclass(frozen=True, slots=True)
class SendRequest:
    recipient_account_id: str
    body: str | None
    client_message_id: str | None
    files: Sequence[StagedFile] = ()


@dataclass(frozen=True, slots=True)
class SendResult:
    message: Message
    conversation_id: uuid.UUID
    created: bool  # False: a retry of the same clientMessageId, answered with the first


@dataclass(frozen=True, slots=True)
class SendServices:
    """What sending needs from the running process; built once (`gql.runtime.Runtime`).

    `limits` None: no rate limit (demo data, and callers that limit themselves).
    """

    blobs: BlobStore
    notifier: events_log.Notifier
    scans: ScanQueue
    limits: SendRateLimits | None = None
    max_attachments: int = MAX_ATTACHMENTS
    max_attachment_bytes: int = MAX_ATTACHMENT_BYTES


async def send(
    viewer: Viewer,
    recipient_account_id: str,
    body: str | None,
    *,
    services: SendServices,
    uploads: Sequence[AnyUpload] = (),
    client_message_id: str | None = None,
) -> SendResult:
    """Send a message from `viewer` to the counterpart account `recipient_account_id` (the
    partner for a brand user, the brand for a partner user): the one entry of the send path.

    Raises a `DomainError` (nothing stored) for every refusal: PERMISSION_DENIED,
    INVALID_BODY, INVALID_INPUT, NOT_FOUND, RATE_LIMITED, ATTACHMENT_*, TOO_MANY_ATTACHMENTS,
    TERMS_NOT_ACCEPTED, PARTNERSHIP_INACTIVE, CONVERSATION_NOT_ALLOWED,
    RECIPIENT_NOT_ACCEPTING, AWAITING_REPLY, IDEMPOTENCY_CONFLICT. Idempotent on
    `client_message_id` per sending user. After commit: both accounts are notified and one
    scan job per attachment is queued.
    """
    if not viewer.can(Permission.MESSAGING):
        raise PermissionDenied("Sending needs the MESSAGING permission.")
    check_client_message_id(client_message_id)
    check_body(body, bool(uploads))
    partnership = await find_partnership(
        viewer, parse_id(recipient_account_id, "recipientAccountId")
    )
    if uploads:  # the rest of what can be refused before any file is sniffed
        await check_send(viewer, recipient_account_id, body, client_message_id, has_files=True)
    if services.limits is not None:
        await services.limits.check_send(
            viewer, sum(getattr(u, "size", None) or 0 for u in uploads)
        )
    files = await stage_uploads(
        services.blobs,
        uploads,
        max_files=services.max_attachments,
        max_bytes=services.max_attachment_bytes,
    )
    return await send_message(
        viewer,
        SendRequest(recipient_account_id, body, client_message_id, files),
        blobs=services.blobs,
        notifier=services.notifier,
        scans=services.scans,
        partnership=partnership,
    )


def check_body(body: str | None, has_files: bool) -> str:
    text = (body or "").strip()
    if "\x00" in text:
        raise InvalidInput(
            ErrorCode.INVALID_BODY, "The body may not contain NUL characters.", ("body",)
        )
    if len(text) > MAX_BODY_CHARS:
        raise InvalidInput(
            ErrorCode.INVALID_BODY, f"The body has at most {MAX_BODY_CHARS} characters.", ("body",)
        )
    if not text and not has_files:
        raise InvalidInput(ErrorCode.INVALID_BODY, "The body is empty.", ("body",))
    return text


def check_client_message_id(value: str | None) -> str | None:
    if value is not None and not 1 <= len(value) <= MAX_CLIENT_MESSAGE_ID:
        raise InvalidInput(
            ErrorCode.INVALID_INPUT,
            f"clientMessageId has 1 to {MAX_CLIENT_MESSAGE_ID} characters.",
            ("clientMessageId",),
        )
    return value


def check_may_send(
    side: AccountKind, status: PartnershipStatus, conversation: Conversation | None
) -> None:
    """SPEC §1: brands send in PROSPECT/PENDING/ACTIVE; partners in PENDING/ACTIVE, and
    may reply to a PROSPECT conversation the brand started. Other statuses are read-only."""
    if side is AccountKind.BRAND and status in BRAND_MAY_SEND:
        return
    if side is AccountKind.PARTNER and status in PARTNER_MAY_SEND:
        return
    if (
        side is AccountKind.PARTNER
        and status is PartnershipStatus.PROSPECT
        and conversation is not None
        and conversation.started_by is AccountKind.BRAND
    ):
        return
    raise InvalidInput(
        ErrorCode.PARTNERSHIP_INACTIVE,
        f"Messages cannot be sent in a {status.value} partnership.",
        ("recipientAccountId",),
    )


def parse_id(raw: str, field: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except (ValueError, TypeError, AttributeError):
        raise NotFound("No such object.", field=(field,)) from None


def request_digest(recipient: uuid.UUID, body: str, files: Sequence[StagedFile]) -> str:
    described = [str(recipient), body, [f.blob.sha256 for f in files]]
    return hashlib.sha256(json.dumps(described).encode()).hexdigest()


async def _replay(viewer: Viewer, client_message_id: str, digest: str) -> SendResult | None:
    """The message a retry of the same clientMessageId refers to, if any."""
    existing = await Message.filter(
        sender_user_id=viewer.user_id, client_message_id=client_message_id
    ).first()
    if existing is None:
        return None
    if existing.request_digest != digest:
        raise IdempotencyConflict(
            "This clientMessageId was already used for a different message.",
            field=("clientMessageId",),
        )
    return SendResult(existing, existing.conversation_id, created=False)  # type: ignore[attr-defined]


async def find_partnership(viewer: Viewer, counterpart_id: uuid.UUID) -> Partnership:
    if viewer.account_kind is AccountKind.BRAND:
        found = await Partnership.filter(brand_id=viewer.account_id, partner_id=counterpart_id)
    else:
        found = await Partnership.filter(brand_id=counterpart_id, partner_id=viewer.account_id)
    if not found:
        raise NotFound("No partnership with that account.", field=("recipientAccountId",))
    return found[0]


async def check_send(
    viewer: Viewer,
    recipient_account_id: str,
    body: str | None,
    client_message_id: str | None,
    *,
    has_files: bool,
) -> None:
    """What can be refused before any uploaded file is sniffed (a multipart request's files
    arrive staged and hashed, gql/uploads.py; others are staged after this): the permission,
    the body and clientMessageId, the recipient (NOT_FOUND), the terms and — when no
    clientMessageId could make this a replay of an earlier send — whether the partnership's
    status lets the viewer send. `send_message` checks all of it again."""
    if not viewer.can(Permission.MESSAGING):
        raise PermissionDenied("Sending needs the MESSAGING permission.")
    check_client_message_id(client_message_id)
    check_body(body, has_files)
    partnership = await find_partnership(
        viewer, parse_id(recipient_account_id, "recipientAccountId")
    )
    account = await Account.get(id=viewer.account_id)
    if not terms_accepted(account):
        raise InvalidInput(
            ErrorCode.TERMS_NOT_ACCEPTED, "Your account has not accepted the messaging terms."
        )
    if client_message_id is None:
        conversation = await Conversation.filter(partnership_id=partnership.id).first()
        check_may_send(viewer.account_kind, partnership.status, conversation)


async def send_message(
    viewer: Viewer,
    request: SendRequest,
    *,
    blobs: BlobStore,
    notifier: events_log.Notifier,
    scans: ScanQueue,
    partnership: Partnership | None = None,
) -> SendResult:
    """Send (or idempotently re-answer) a message; owns and always disposes `request.files`.
    Prefer `send`; `partnership` is the recipient's, when the caller has looked it up.

    Side effects after commit: audience notified, one scan job per attachment (its blob,
    which has the attachment's id) queued.
    """
    try:
        if not viewer.can(Permission.MESSAGING):
            raise PermissionDenied("Sending needs the MESSAGING permission.")
        client_message_id = check_client_message_id(request.client_message_id)
        body = check_body(request.body, bool(request.files))
        recipient = parse_id(request.recipient_account_id, "recipientAccountId")
        digest = request_digest(recipient, body, request.files)
        if client_message_id is not None:
            replay = await _replay(viewer, client_message_id, digest)
            if replay is not None:
                return replay
        if partnership is None:
            partnership = await find_partnership(viewer, recipient)
        account = await Account.get(id=viewer.account_id)
        if not terms_accepted(account):
            raise InvalidInput(
                ErrorCode.TERMS_NOT_ACCEPTED, "Your account has not accepted the messaging terms."
            )
        try:
            result, keys = await _do_send(
                viewer, partnership.id, body, client_message_id, digest, request.files, blobs
            )
        except IntegrityError:
            if client_message_id is None:
                raise
            replay = await _replay(viewer, client_message_id, digest)
            if replay is None:
                raise
            return replay
    finally:
        await discard(blobs, request.files)
    if result.created:
        await notifier.notify(keys.audience)
        if keys.attachment_ids:
            await scans.enqueue(keys.attachment_ids)
    return result


@dataclass(frozen=True, slots=True)
class _AfterCommit:
    audience: list[uuid.UUID]
    attachment_ids: list[uuid.UUID]


async def _do_send(
    viewer: Viewer,
    partnership_id: uuid.UUID,
    body: str,
    client_message_id: str | None,
    digest: str,
    files: Sequence[StagedFile],
    blobs: BlobStore,
) -> tuple[SendResult, _AfterCommit]:
    stored_keys: list[str] = []
    try:
        async with in_transaction() as conn:
            partnership = (
                await Partnership.select_for_update().using_db(conn).get(id=partnership_id)
            )
            if client_message_id is not None:
                replay = await _replay(viewer, client_message_id, digest)
                if replay is not None:
                    return replay, _AfterCommit([], [])
            conversation = (
                await Conversation.filter(partnership_id=partnership.id).using_db(conn).first()
            )
            check_may_send(viewer.account_kind, partnership.status, conversation)
            await check_messaging_settings(conn, viewer.account_kind, partnership, conversation)
            now = datetime.now(UTC)
            brand_id: uuid.UUID = partnership.brand_id  # type: ignore[attr-defined]
            partner_id: uuid.UUID = partnership.partner_id  # type: ignore[attr-defined]
            if conversation is None:
                conversation = await Conversation.create(
                    using_db=conn,
                    partnership_id=partnership.id,
                    brand_id=brand_id,
                    partner_id=partner_id,
                    started_by=viewer.account_kind,
                )
                for me, other in ((brand_id, partner_id), (partner_id, brand_id)):
                    await Participant.create(
                        using_db=conn,
                        conversation_id=conversation.id,
                        account_id=me,
                        counterpart_id=other,
                        last_activity_at=now,
                    )
            seq = conversation.last_seq + 1
            message = await Message.create(
                using_db=conn,
                conversation_id=conversation.id,
                seq=seq,
                body=body,
                sender_user_id=viewer.user_id,
                sender_account_id=viewer.account_id,
                client_message_id=client_message_id,
                request_digest=digest,
                sent_at=now,
            )
            attachment_ids: list[uuid.UUID] = []
            for position, staged in enumerate(files):
                key = await blobs.commit(staged.blob)
                stored_keys.append(key)
                # The blob (bytes and scan) of a single send's file has its attachment's id.
                blob = await create_blob(conn, staged, key)
                await Attachment.create(
                    using_db=conn,
                    id=blob.id,
                    message_id=message.id,
                    position=position,
                    filename=staged.filename,
                    blob_id=blob.id,
                    content_type=staged.content_type,
                    size=staged.blob.size,
                    sha256=staged.blob.sha256,
                    storage_key=key,
                )
                attachment_ids.append(blob.id)
            await (
                Conversation.filter(id=conversation.id)
                .using_db(conn)
                .update(last_seq=seq, last_message_id=message.id, last_message_at=now)
            )
            await (
                Participant.filter(conversation_id=conversation.id)
                .using_db(conn)
                .update(last_seq=seq, last_activity_at=now)
            )
            # A new message brings a DONE conversation back to the recipient's INBOX; SPAM
            # stays SPAM; the sender's own folder is the sender's choice and stays.
            await (
                Participant.filter(conversation_id=conversation.id, folder=InboxFolder.DONE)
                .exclude(account_id=viewer.account_id)
                .using_db(conn)
                .update(folder=InboxFolder.INBOX)
            )
            # Replying implies having read: the sender's side moves to its own message.
            await (
                Participant.filter(conversation_id=conversation.id, account_id=viewer.account_id)
                .using_db(conn)
                .update(last_read_seq=seq)
            )
            await search_index.index_message(conn, message.id, body, [f.filename for f in files])
            audience = await events_log.append(
                conn,
                EventKind.MESSAGE_CREATED,
                (brand_id, partner_id),
                conversation.id,
                message_id=message.id,
            )
    except BaseException:
        for key in stored_keys:
            await blobs.delete(key)
        raise
    return SendResult(message, conversation.id, created=True), _AfterCommit(
        audience, attachment_ids
    )


__all__ = ["DomainError", "SendRequest", "SendResult", "SendServices", "send", "send_message"]
