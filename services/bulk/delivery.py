"""Sending a bulk send's recipients, a chunk at a time: the send path, batched.

Each chunk is one transaction that:

1. locks the bulk send's row (so a chunk, a cancellation and another worker are serialised)
   and goes on only while it is ``RUNNING`` under this worker's lease;
2. takes the next ``PENDING`` recipients in order and applies to each one every rule of a
   single send (`services.sending`'s checks: the sender's permissions, the account's terms,
   the body, the partnership status) with the body rendered for that partner; a refusal
   makes the recipient ``SKIPPED`` with the error code as its reason;
3. writes what a single send writes for each of the others — the conversation and its two
   participants on first contact, the message with the next ``seq``, its attachments (the
   bulk send's files: rows pointing at the blobs stored and scanned once for all), the
   conversation's and both sides' positions (and folder), the search index rows (body and
   filenames), and a ``MESSAGE_CREATED`` event for each side — in a few batched
   statements, and marks them ``SENT``.

Partnerships are locked like a single send locks its own (sorted, before the accounts'
event counters), so single sends in the same conversations interleave safely. The database
holds one message per (bulk send, conversation) at most (a unique key), and a recipient is
only ever sent from ``PENDING`` under the bulk send's row lock: a worker killed mid-chunk
rolls the whole chunk back, and the next one starts from what committed.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from models import (
    Account,
    AccountKind,
    Blob,
    BulkAttachment,
    BulkOutcome,
    BulkRecipient,
    BulkSend,
    BulkSendStatus,
    Conversation,
    EventKind,
    Participant,
    Partnership,
    Permission,
    search_index,
)
from services import events_log
from services.accounts import terms_accepted
from services.auth import load_viewer_by_user
from services.errors import DomainError, PermissionDenied, Unauthenticated
from services.messaging_settings import check_messaging_settings
from services.sending import check_body, check_may_send
from services.sql import execute_many
from services.templates import TokenValues, check_template, render


@dataclass(slots=True)
class ChunkResult:
    """What one chunk did; `finished` once the bulk send is DONE or CANCELLED (or gone)."""

    finished: bool
    sent: int = 0
    skipped: int = 0
    audience: list[uuid.UUID] = field(default_factory=list)


async def sender_refusal(bulk: BulkSend) -> str | None:
    """A code refusing every recipient at once, or None: the sender (read now) may still
    send, and its account has accepted the messaging terms."""
    try:
        viewer = await load_viewer_by_user(bulk.created_by_id)  # type: ignore[attr-defined]
    except Unauthenticated:
        return "PERMISSION_DENIED"
    if not (viewer.can(Permission.MESSAGING) and viewer.can(Permission.BULK_MESSAGING)):
        return PermissionDenied.code
    account = await Account.get(id=viewer.account_id)
    if not terms_accepted(account):
        return "TERMS_NOT_ACCEPTED"
    return None


def recipient_refusal(
    viewer_kind: AccountKind, partnership: Partnership | None, conversation: Conversation | None
) -> str | None:
    """The single send's per-recipient rules; the error code of the first one refusing."""
    if partnership is None:
        return "NOT_FOUND"
    try:
        check_may_send(viewer_kind, partnership.status, conversation)
    except DomainError as error:
        return error.code
    return None


def digest(bulk_id: uuid.UUID, partner_id: uuid.UUID, body: str) -> str:
    return hashlib.sha256(f"{bulk_id}|{partner_id}|{body}".encode()).hexdigest()


async def deliver_chunk(bulk_id: uuid.UUID, owner: str, size: int) -> ChunkResult:
    """Send up to `size` PENDING recipients of a bulk send (see module doc). Events are
    written in the transaction; the caller notifies `audience` after it returns."""
    async with in_transaction() as conn:
        bulk = await BulkSend.select_for_update().using_db(conn).filter(id=bulk_id).first()
        if bulk is None or bulk.status in (BulkSendStatus.DONE, BulkSendStatus.CANCELLED):
            return ChunkResult(finished=True)
        if bulk.lease_owner != owner:
            return ChunkResult(finished=True)
        recipients = (
            await BulkRecipient.filter(bulk_send_id=bulk_id, outcome=BulkOutcome.PENDING)
            .using_db(conn)
            .order_by("position")
            .limit(size)
        )
        if not recipients:
            return await _finish(conn, bulk)
        refusal = await sender_refusal(bulk)
        return await _send(conn, bulk, recipients, refusal)


async def _finish(conn: BaseDBAsyncClient, bulk: BulkSend) -> ChunkResult:
    now = datetime.now(UTC)
    await (
        BulkSend.filter(id=bulk.id)
        .using_db(conn)
        .update(status=BulkSendStatus.DONE, finished_at=now, lease_owner=None, lease_until=None)
    )
    audience = await events_log.append(
        conn,
        EventKind.BULK_SEND_PROGRESS,
        (bulk.account_id,),  # type: ignore[attr-defined]
        None,
        bulk_send_id=bulk.id,
    )
    return ChunkResult(finished=True, audience=audience)


@dataclass(slots=True, eq=False)
class _Plan:
    recipient: BulkRecipient
    partnership: Partnership
    conversation: Conversation | None
    body: str
    message_id: uuid.UUID = field(default_factory=uuid.uuid4)
    seq: int = 1


async def _send(
    conn: BaseDBAsyncClient, bulk: BulkSend, recipients: list[BulkRecipient], refusal: str | None
) -> ChunkResult:
    brand_id: uuid.UUID = bulk.account_id  # type: ignore[attr-defined]
    partnership_ids = sorted((r.partnership_id for r in recipients), key=str)
    partnerships = {
        p.id: p
        for p in await Partnership.select_for_update()
        .using_db(conn)
        .filter(id__in=partnership_ids, brand_id=brand_id)
        .order_by("id")
    }
    conversations = {
        c.partnership_id: c  # type: ignore[attr-defined]
        for c in await Conversation.filter(partnership_id__in=partnership_ids).using_db(conn)
    }
    names = await _names(conn, bulk, [r.partner_id for r in recipients])  # type: ignore[attr-defined]
    files = await BulkAttachment.filter(bulk_send_id=bulk.id).using_db(conn).order_by("position")
    outcomes: list[tuple[int, str, str | None, uuid.UUID | None]] = []
    plans: list[_Plan] = []
    for recipient in recipients:
        partnership = partnerships.get(recipient.partnership_id)
        conversation = conversations.get(recipient.partnership_id)
        code = refusal or recipient_refusal(AccountKind.BRAND, partnership, conversation)
        if code is None and partnership is not None:
            # The brand's messaging rules for prospects (SPEC §9), as for a single send.
            try:
                await check_messaging_settings(conn, AccountKind.BRAND, partnership, conversation)
            except DomainError as error:
                code = error.code
        body = ""
        if code is None:
            try:
                body = check_body(
                    render(check_template(bulk.body), names.values_for(recipient)), bool(files)
                )
            except DomainError as error:
                code = error.code
        if code is not None or partnership is None:
            outcomes.append((recipient.id, BulkOutcome.SKIPPED.value, code, None))
            continue
        plans.append(_Plan(recipient, partnership, conversation, body))
    now = datetime.now(UTC)
    await _write(conn, bulk, plans, now, files)
    outcomes.extend((p.recipient.id, BulkOutcome.SENT.value, None, p.message_id) for p in plans)
    await execute_many(
        conn,
        "UPDATE bulk_recipients SET outcome = $2, reason = $3, message_id = $4 WHERE id = $1",
        outcomes,
    )
    skipped = len(outcomes) - len(plans)
    await execute_many(
        conn,
        "UPDATE bulk_sends SET sent = sent + $2, skipped = skipped + $3 WHERE id = $1",
        [(bulk.id, len(plans), skipped)],
    )
    audience = await events_log.append_many(
        conn,
        [
            events_log.NewEvent(EventKind.MESSAGE_CREATED, account, p.conversation.id, p.message_id)  # type: ignore[union-attr]
            for p in plans
            for account in (brand_id, p.partnership.partner_id)  # type: ignore[attr-defined]
        ],
    )
    return ChunkResult(False, len(plans), skipped, audience)


@dataclass(frozen=True, slots=True)
class _Names:
    brand: str
    sender: str
    partners: dict[uuid.UUID, str]

    def values_for(self, recipient: BulkRecipient) -> TokenValues:
        partner = self.partners.get(recipient.partner_id, "")  # type: ignore[attr-defined]
        return TokenValues(partner, self.brand, self.sender)


async def _names(conn: BaseDBAsyncClient, bulk: BulkSend, partner_ids: list[uuid.UUID]) -> _Names:
    from models import User

    brand = await Account.get(id=bulk.account_id).using_db(conn)  # type: ignore[attr-defined]
    sender = await User.get(id=bulk.created_by_id).using_db(conn)  # type: ignore[attr-defined]
    partners = dict(
        await Account.filter(id__in=partner_ids).using_db(conn).values_list("id", "name")
    )
    return _Names(brand.name, sender.name, {uuid.UUID(str(k)): v for k, v in partners.items()})


async def _write(
    conn: BaseDBAsyncClient,
    bulk: BulkSend,
    plans: list[_Plan],
    now: datetime,
    files: list[BulkAttachment],
) -> None:
    if not plans:
        return
    brand_id: uuid.UUID = bulk.account_id  # type: ignore[attr-defined]
    fresh = [p for p in plans if p.conversation is None]
    existing = [p for p in plans if p.conversation is not None]
    for plan in fresh:
        plan.conversation = Conversation(
            id=uuid.uuid4(),
            partnership_id=plan.partnership.id,
            brand_id=brand_id,
            partner_id=plan.partnership.partner_id,  # type: ignore[attr-defined]
            started_by=AccountKind.BRAND,
            last_seq=1,
            last_message_id=plan.message_id,
            last_message_at=now,
        )
    if fresh:
        await Conversation.bulk_create([p.conversation for p in fresh], using_db=conn)  # type: ignore[misc]
        participants = []
        for plan in fresh:
            partner_id = plan.partnership.partner_id  # type: ignore[attr-defined]
            for me, other, read in ((brand_id, partner_id, 1), (partner_id, brand_id, 0)):
                participants.append(
                    Participant(
                        conversation_id=plan.conversation.id,  # type: ignore[union-attr]
                        account_id=me,
                        counterpart_id=other,
                        last_seq=1,
                        last_read_seq=read,
                        last_activity_at=now,
                    )
                )
        await Participant.bulk_create(participants, using_db=conn)
    for plan in existing:
        plan.seq = plan.conversation.last_seq + 1  # type: ignore[union-attr]
    # Plain rows, not model instances: a chunk writes hundreds.
    await execute_many(
        conn,
        "INSERT INTO messages (id, conversation_id, seq, body, sender_user_id,"
        " sender_account_id, request_digest, sent_at, bulk_send_id)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        [
            (
                p.message_id,
                p.conversation.id,  # type: ignore[union-attr]
                p.seq,
                p.body,
                bulk.created_by_id,  # type: ignore[attr-defined]
                brand_id,
                digest(bulk.id, p.partnership.partner_id, p.body),  # type: ignore[attr-defined]
                now,
                bulk.id,
            )
            for p in plans
        ],
    )
    await _attach(conn, plans, files, now)
    filenames = [f.filename for f in files]
    await search_index.index_messages(
        conn,
        [(p.message_id, search_index.document(p.body, filenames), bool(files)) for p in plans],
    )
    if not existing:
        return
    await execute_many(
        conn,
        "UPDATE conversations SET last_seq = $2, last_message_id = $3, last_message_at = $4"
        " WHERE id = $1",
        [(p.conversation.id, p.seq, p.message_id, now) for p in existing],  # type: ignore[union-attr]
    )
    # What a single send does to both sides: the new position and activity; the sender's
    # side has read up to its own message; the recipient's DONE goes back to INBOX (SPAM
    # stays SPAM).
    await execute_many(
        conn,
        "UPDATE participants SET last_seq = $2, last_activity_at = $3,"
        " last_read_seq = CASE WHEN account_id = $4 THEN $2 ELSE last_read_seq END,"
        " folder = CASE WHEN account_id <> $4 AND folder = 'DONE' THEN 'INBOX' ELSE folder END"
        " WHERE conversation_id = $1",
        [(p.conversation.id, p.seq, now, brand_id) for p in existing],  # type: ignore[union-attr]
    )


async def _attach(
    conn: BaseDBAsyncClient, plans: list[_Plan], files: list[BulkAttachment], now: datetime
) -> None:
    """Each message's attachments: the bulk send's files, pointing at their blobs.

    The blobs' rows are locked first (before the events' account counters, as a verdict
    locks them): a verdict committed before this chunk is copied into its attachments; one
    arriving later waits for this chunk, then updates and announces its attachments too
    (`services.scanning.jobs`). Either way no attachment stays PENDING after its blob's scan.
    """
    if not files:
        return
    blobs = {
        b.id: b
        for b in await Blob.select_for_update()
        .using_db(conn)
        .filter(id__in=sorted({f.blob_id for f in files}, key=str))  # type: ignore[attr-defined]
        .order_by("id")
    }
    rows = []
    for plan in plans:
        for file in files:
            blob = blobs[file.blob_id]  # type: ignore[attr-defined]
            rows.append(
                (
                    uuid.uuid4(),
                    plan.message_id,
                    file.position,
                    file.filename,
                    blob.id,
                    blob.content_type,
                    blob.size,
                    blob.sha256,
                    blob.storage_key,
                    blob.scan_status.value,
                    blob.scan_attempts,
                    blob.scan_detail,
                    blob.scanned_at,
                    now,
                )
            )
    await execute_many(
        conn,
        "INSERT INTO attachments (id, message_id, position, filename, blob_id, content_type,"
        " size, sha256, storage_key, scan_status, scan_attempts, scan_detail, scanned_at,"
        " created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)",
        rows,
    )
