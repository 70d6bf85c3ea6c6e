"""`Subscription.inboxEvents`: replay from a cursor, then live, for the viewer's account.

The hub hands every local subscriber of an account the same batch of event records; the rows
they name and the account's permitted users are read once per batch (`Batch.shared`), and the
event objects themselves are built once and shared. So is the result: subscribers whose
operations execute alike (`LiveOperation.share_key`: same document, variables and
permissions) share one execution and one serialised `next` payload per event, which each
sends with its own operation id. Per subscriber there is only the check that its user still
has MESSAGING, and the send. An event whose result has errors, or an operation not running
over graphql-transport-ws, goes through Strawberry's own per-subscriber execution instead.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator, Coroutine, Hashable, Sequence
from functools import partial
from typing import Any, cast

import strawberry
from graphql import GraphQLError
from strawberry.extensions.field_extension import FieldExtension

from gql import ws
from gql.context import Context, Info
from gql.faults import WS_TRY_AGAIN_LATER
from gql.loaders import Loaders, make_loaders
from gql.permissions import requires
from gql.types.accounts import Account
from gql.types.bulk import BulkSend, BulkSendProgress
from gql.types.conversations import Attachment, Conversation, Message, Partnership
from gql.types.errors import top_level
from gql.types.events import (
    AttachmentScanned,
    ConversationRead,
    ConversationUpdated,
    InboxEvent,
    MessageCreated,
    PartnershipUpdated,
)
from models import EventKind, Permission
from services import live
from services.cursors import CursorCodec
from services.errors import DomainError, InvalidCursor
from services.events_log import EventRecord
from services.faults import unavailable_dependency
from services.hub import Batch, Delivery, HubStopped, SlowConsumer, Subscriber

CURSOR_KIND = "inbox"
PREPARED = "prepared"  # Batch.shared key of (who may receive it, its events)


def encode_cursor(codec: CursorCodec, record: EventRecord) -> str:
    return codec.encode(CURSOR_KIND, record.account_id.hex, record.seq)


def decode_cursor(codec: CursorCodec, account_id: uuid.UUID, cursor: str | None) -> int | None:
    if cursor is None:
        return None
    values = codec.decode(CURSOR_KIND, cursor)
    if len(values) != 2 or values[0] != account_id.hex or not isinstance(values[1], int):
        raise InvalidCursor("The cursor does not belong to this inbox.")
    return values[1]


def permission_denied() -> GraphQLError:
    return GraphQLError(
        "inboxEvents needs the MESSAGING permission.", extensions={"code": "PERMISSION_DENIED"}
    )


Prepared = tuple[frozenset[uuid.UUID], dict[int, tuple[InboxEvent, live.EventRows]]]


async def prepare_batch(codec: CursorCodec, account_id: uuid.UUID, batch: Batch) -> Prepared:
    """Who may receive the batch (read now), and its events as GraphQL objects by seq;
    events naming nothing visible are left out."""
    allowed = await live.messaging_user_ids(account_id)
    rows = await live.load_event_rows(account_id, batch.records)
    events: dict[int, tuple[InboxEvent, live.EventRows]] = {}
    for record in batch.records:
        event = to_event(record, rows, encode_cursor(codec, record))
        if event is not None:
            events[record.seq] = (event, rows)
    return allowed, events


def to_event(record: EventRecord, rows: live.EventRows, cursor: str) -> InboxEvent | None:
    if record.kind is EventKind.PARTNERSHIP_UPDATED:
        partnership = (
            rows.partnerships.get(record.partnership_id) if record.partnership_id else None
        )
        if partnership is None:
            return None
        return PartnershipUpdated(cursor=cursor, partnership=Partnership.from_row(partnership))
    if record.kind is EventKind.BULK_SEND_PROGRESS:
        bulk = rows.bulk_sends.get(record.bulk_send_id) if record.bulk_send_id else None
        return (
            None
            if bulk is None
            else BulkSendProgress(cursor=cursor, bulk_send=BulkSend.from_row(bulk))
        )
    if record.conversation_id is None:
        return None
    participant = rows.participants.get(record.conversation_id)
    if participant is None:
        return None
    if record.kind is EventKind.MESSAGE_CREATED:
        message = rows.messages.get(record.message_id) if record.message_id else None
        if message is None:
            return None
        return MessageCreated(
            cursor=cursor,
            message=Message.from_row(message),
            conversation=Conversation.from_row(participant),
        )
    if record.kind is EventKind.ATTACHMENT_SCANNED:
        attachment = rows.attachments.get(record.attachment_id) if record.attachment_id else None
        if attachment is None:
            return None
        return AttachmentScanned(
            cursor=cursor,
            attachment=Attachment.from_row(attachment),
            message=Message.from_row(rows.messages[attachment.message_id]),  # type: ignore[attr-defined]
        )
    if record.kind is EventKind.CONVERSATION_UPDATED:
        return ConversationUpdated(cursor=cursor, conversation=Conversation.from_row(participant))
    reader = rows.accounts.get(record.reader_account_id) if record.reader_account_id else None
    if reader is None:
        return None
    return ConversationRead(
        cursor=cursor,
        conversation=Conversation.from_row(participant),
        reader_account=Account.from_row(reader),
        last_read_seq=record.last_read_seq or 0,
    )


async def prepare_live_batch(
    codec: CursorCodec, account_id: uuid.UUID, batch: Batch, subscribers: Sequence[Subscriber]
) -> None:
    """Read what the batch's subscribers share, and render each event once per share key of
    the permitted subscribers, before the hub pushes the batch to them."""
    allowed, events = await batch.shared(PREPARED, partial(prepare_batch, codec, account_id, batch))
    senders: dict[Hashable, LiveSender] = {}
    for subscriber in subscribers:
        sender = subscriber.direct
        if isinstance(sender, LiveSender) and sender.user_id in allowed:
            senders.setdefault(sender.share_key, sender)
    for seq, (event, rows) in events.items():
        for key, sender in senders.items():
            await batch.shared(
                (seq, key), partial(render, sender.operation, sender.context, event, rows)
            )


class LiveSender:
    """Sends a subscriber's live events from the hub's pump when all it needs is ready.

    Exactly what the subscriber's own loop in `inbox_events` would send: nothing for an event
    naming nothing visible, the shared payload otherwise. Anything else (MESSAGING revoked,
    a batch not prepared, a result with errors) is left to that loop (`False`).
    """

    __slots__ = ("context", "operation", "share_key", "user_id")

    def __init__(self, operation: ws.LiveOperation, context: Context, share_key: Hashable) -> None:
        self.operation = operation
        self.context = context
        self.share_key = share_key
        self.user_id = context.viewer.user_id

    def __call__(self, delivery: Delivery) -> Coroutine[Any, Any, None] | bool:
        batch = delivery.batch
        prepared = batch.ready(PREPARED)
        if prepared is None:
            return False
        allowed, events = cast(Prepared, prepared)
        if self.user_id not in allowed:
            return False
        seq = delivery.record.seq
        if seq not in events:
            return True
        payload = batch.ready((seq, self.share_key))
        if not isinstance(payload, str):
            return False
        return self.operation.send_next(payload)


async def render(
    operation: ws.LiveOperation, context: Context, event: InboxEvent, rows: live.EventRows
) -> str | None:
    """The shared `next` payload of one event, or None to let each subscriber execute it."""
    context.loaders = primed_loaders(context, rows)
    try:
        return await operation.render(event)
    except Exception:  # each subscriber's own execution reports it
        return None
    finally:
        context.loaders = None


def primed_loaders(context: Context, rows: live.EventRows) -> Loaders:
    """Fresh loaders for one event: a long subscription must not accumulate cached rows."""
    loaders = make_loaders(context.viewer)
    loaders.account.prime_many(rows.accounts)
    loaders.user.prime_many(rows.users)
    loaders.message.prime_many(rows.messages)
    loaders.attachments.prime_many(rows.attachments_by_message)
    loaders.participant.prime_many(rows.participants)
    return loaders


async def inbox_events(info: Info, after: str | None = None) -> AsyncGenerator[InboxEvent, None]:
    context = info.context
    viewer = context.viewer
    account_id = viewer.account_id
    rt = context.rt
    try:
        start = decode_cursor(rt.cursors, account_id, after)
    except DomainError as error:
        raise top_level(error) from None
    operation = ws.live_operation(info)
    share_key = operation.share_key(viewer) if operation is not None else None
    sender = LiveSender(operation, context, share_key) if operation is not None else None
    try:
        if viewer.user_id not in await live.messaging_user_ids(account_id):
            raise permission_denied()
        prepare = partial(prepare_live_batch, rt.cursors, account_id)
        async with rt.hub.subscribe(
            account_id, start, prepare=prepare, direct=sender
        ) as subscriber:
            async for delivery in subscriber.events(account_id):
                batch = delivery.batch
                # Read from the database once per batch: a revoked MESSAGING stops delivery.
                allowed, events = await batch.shared(
                    PREPARED, partial(prepare_batch, rt.cursors, account_id, batch)
                )
                if viewer.user_id not in allowed:
                    raise permission_denied()
                built = events.get(delivery.record.seq)
                if built is None:
                    continue
                event, rows = built
                if operation is not None:
                    payload = await batch.shared(
                        (delivery.record.seq, share_key),
                        partial(render, operation, context, event, rows),
                    )
                    if payload is not None:
                        await operation.send_next(payload)
                        continue
                context.loaders = primed_loaders(context, rows)
                yield event
                context.loaders = None  # no rows kept while waiting for the next event
    except SlowConsumer:
        await ws.close(context, ws.CLOSE_SLOW_CONSUMER, ws.SLOW_CONSUMER_REASON)
    except HubStopped:
        await ws.close(context, ws.CLOSE_SERVICE_RESTART, "Server restarting")
    except Exception as error:
        dependency = unavailable_dependency(error)
        if dependency is None:
            raise
        # Not an error of this operation: the client reconnects and resumes from its cursor.
        await ws.close(context, WS_TRY_AGAIN_LATER, f"{dependency} unavailable; resume later")


MESSAGING_ONLY: list[FieldExtension] = [*requires(Permission.MESSAGING)]


@strawberry.type
class Subscription:
    inbox_events: AsyncGenerator[InboxEvent, None] = strawberry.subscription(
        resolver=inbox_events,
        extensions=MESSAGING_ONLY,
        description=(
            "Events of the viewer's inbox. With `after` (an event's `cursor`), first replays "
            "every event since then, then goes live; without it, live from now on."
        ),
    )
