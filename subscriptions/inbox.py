"""`Subscription.inboxEvents`: replay from a cursor, then live, for the viewer's account.

A plain generator: subscribe to the hub (services.hub), and for each delivery check that the
viewer still has MESSAGING, turn the event record into its GraphQL object and yield it. What
a batch's subscribers share (the rows its events name, who may receive them, the objects) is
read once per batch (`Batch.shared`), by the hub's `prepare` step before any of them wakes.

With `LIAISON_LIVE_FAST_PATH` on, gql.live takes part through `context.live`: it renders each
event once per group of alike subscribers and sends the frames itself; see gql/live.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncGenerator, Sequence
from functools import partial
from typing import assert_never

import strawberry
from graphql import GraphQLError
from strawberry.extensions.field_extension import FieldExtension

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
from services import live, metrics
from services.cursors import CursorCodec
from services.errors import DomainError, InvalidCursor
from services.events_log import EventRecord
from services.faults import unavailable_dependency
from services.hub import Batch, HubStopped, SlowConsumer, Subscriber

CURSOR_KIND = "inbox"
PREPARED = "prepared"  # Batch.shared key of `Prepared`

# Close codes of the live inbox. The client fell too far behind: reconnect and resume from
# the last cursor (1013 "Try Again Later": `graphql-ws` retries it). The server is restarting
# (1012): same remedy.
CLOSE_SLOW_CONSUMER = 1013
SLOW_CONSUMER_REASON = "Slow consumer: resubscribe with inboxEvents(after: <last cursor>)"
CLOSE_SERVICE_RESTART = 1012

# Who may receive the batch, and its events by seq (with the rows they were built from).
Prepared = tuple[frozenset[uuid.UUID], dict[int, tuple[InboxEvent, live.EventRows]]]


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


async def prepared(codec: CursorCodec, account_id: uuid.UUID, batch: Batch) -> Prepared:
    return await batch.shared(PREPARED, partial(prepare_batch, codec, account_id, batch))


async def prepare_live_batch(
    codec: CursorCodec, account_id: uuid.UUID, batch: Batch, _: Sequence[Subscriber]
) -> None:
    """The hub's `prepare` step: read what the batch's subscribers share before they wake."""
    await prepared(codec, account_id, batch)


def to_event(record: EventRecord, rows: live.EventRows, cursor: str) -> InboxEvent | None:
    """The GraphQL event of `record`, or None when it names nothing the audience sees.

    Every `EventKind` has its case: a new kind fails mypy here until it is handled.
    """
    if record.kind is EventKind.PARTNERSHIP_UPDATED:  # names no conversation
        partnership = (
            rows.partnerships.get(record.partnership_id) if record.partnership_id else None
        )
        if partnership is None:
            return None
        return PartnershipUpdated(cursor=cursor, partnership=Partnership.from_row(partnership))
    if record.kind is EventKind.BULK_SEND_PROGRESS:  # names no conversation
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
    match record.kind:
        case EventKind.MESSAGE_CREATED:
            message = rows.messages.get(record.message_id) if record.message_id else None
            if message is None:
                return None
            return MessageCreated(
                cursor=cursor,
                message=Message.from_row(message),
                conversation=Conversation.from_row(participant),
            )
        case EventKind.ATTACHMENT_SCANNED:
            attachment = (
                rows.attachments.get(record.attachment_id) if record.attachment_id else None
            )
            if attachment is None:
                return None
            return AttachmentScanned(
                cursor=cursor,
                attachment=Attachment.from_row(attachment),
                message=Message.from_row(rows.messages[attachment.message_id]),  # type: ignore[attr-defined]
            )
        case EventKind.CONVERSATION_UPDATED:
            return ConversationUpdated(
                cursor=cursor, conversation=Conversation.from_row(participant)
            )
        case EventKind.BULK_SEND_PROGRESS | EventKind.PARTNERSHIP_UPDATED:
            return None  # handled above
        case EventKind.CONVERSATION_READ:
            reader = (
                rows.accounts.get(record.reader_account_id) if record.reader_account_id else None
            )
            if reader is None:
                return None
            return ConversationRead(
                cursor=cursor,
                conversation=Conversation.from_row(participant),
                reader_account=Account.from_row(reader),
                last_read_seq=record.last_read_seq or 0,
            )
        case _:
            assert_never(record.kind)


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
    fast = context.live(info)  # None unless the fast path serves this operation
    if fast is not None and fast.resume_after is not None:
        start = fast.resume_after  # a parked subscription resumes where it stopped
    prepare = partial(prepare_live_batch, rt.cursors, account_id)
    try:
        if viewer.user_id not in await live.messaging_user_ids(account_id):
            raise permission_denied()
        async with rt.hub.subscribe(
            account_id,
            start,
            prepare=fast.prepare(prepare) if fast else prepare,
            make=fast.subscriber if fast else Subscriber,
        ) as subscriber:
            async for delivery in subscriber.events():
                # Read from the database once per batch: a revoked MESSAGING stops delivery.
                allowed, events = await prepared(rt.cursors, account_id, delivery.batch)
                if viewer.user_id not in allowed:
                    raise permission_denied()
                built = events.get(delivery.record.seq)
                if built is None:
                    continue
                event, rows = built
                if fast is not None and await fast.sent(delivery, event, rows):
                    continue
                context.loaders = primed_loaders(context, rows)
                metrics.EVENTS_DELIVERED.inc()
                yield event
                context.loaders = None  # no rows kept while waiting for the next event
    except SlowConsumer:
        await context.close_websocket(CLOSE_SLOW_CONSUMER, SLOW_CONSUMER_REASON)
    except HubStopped:
        await context.close_websocket(CLOSE_SERVICE_RESTART, "Server restarting")
    except Exception as error:
        dependency = unavailable_dependency(error)
        if dependency is None:
            raise
        # Not an error of this operation: the client reconnects and resumes from its cursor.
        await context.close_websocket(WS_TRY_AGAIN_LATER, f"{dependency} unavailable; resume later")


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
