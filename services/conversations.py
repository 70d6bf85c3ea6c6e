"""Reading conversations: access checks, message pages, read positions.

`access_conversation` is the one place that decides whether a viewer sees a conversation:
its account must be a participant. Anything else is NOT_FOUND, like a missing id.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from tortoise.transactions import in_transaction

from models import EventKind, Message, Participant, Permission
from services import events_log
from services.auth import Viewer
from services.cursors import CursorCodec
from services.errors import ErrorCode, InvalidInput, NotFound, PermissionDenied

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[tuple[str, T]]  # (cursor, item)
    has_next_page: bool
    has_previous_page: bool
    total_count: int


def page_cursor(
    cursors: CursorCodec, edge_cursors: bool, index: int, count: int, kind: str, *values: Any
) -> str:
    """The cursor of item `index` of a page of `count`: signed when the client reads every
    edge's cursor (`edge_cursors`) or it is the first or last (pageInfo's start and end
    cursors); else "" — a value no selection reads (an inbox page signs 2 instead of 20)."""
    if edge_cursors or index == 0 or index == count - 1:
        return cursors.encode(kind, *values)
    return ""


@dataclass(frozen=True, slots=True)
class PageRequest:
    first: int | None = None
    after: str | None = None
    last: int | None = None
    before: str | None = None
    default: int = 20
    extra: dict[str, object] = field(default_factory=dict)


def require_messaging(viewer: Viewer) -> None:
    if not viewer.can(Permission.MESSAGING):
        raise PermissionDenied("Reading messages needs the MESSAGING permission.")


def to_uuid(raw: str | uuid.UUID) -> uuid.UUID:
    if isinstance(raw, uuid.UUID):
        return raw
    try:
        return uuid.UUID(raw)
    except (ValueError, TypeError, AttributeError):
        raise NotFound("No such conversation.", field=("conversationId",)) from None


async def access_conversation(viewer: Viewer, conversation_id: str | uuid.UUID) -> Participant:
    """The viewer's side of a conversation (with conversation and partnership loaded)."""
    require_messaging(viewer)
    participant = (
        await Participant.filter(
            conversation_id=to_uuid(conversation_id), account_id=viewer.account_id
        )
        .select_related("conversation", "conversation__partnership")
        .first()
    )
    if participant is None:
        raise NotFound("No such conversation.", field=("conversationId",))
    return participant


def search_term(search: str | None) -> str | None:
    term = (search or "").strip().casefold()
    if len(term) > 200:
        raise InvalidInput(
            ErrorCode.INVALID_ARGUMENT, "search has at most 200 characters.", ("search",)
        )
    return term or None


async def messages_page(
    viewer: Viewer,
    conversation_id: uuid.UUID,
    last_seq: int,
    request: PageRequest,
    cursors: CursorCodec,
) -> Page[Message]:
    """Messages of a conversation the viewer may read (see `access_conversation`), in seq
    order; `first/after` forward, `last/before` back. `last_seq` is the total count."""
    require_messaging(viewer)
    kind = f"msg:{conversation_id}"
    query = Message.filter(conversation_id=conversation_id)
    total = last_seq
    if request.last is not None or request.before is not None:
        limit = request.last if request.last is not None else request.default
        if request.before is not None:
            query = query.filter(seq__lt=int(cursors.decode(kind, request.before)[0]))
        rows = list(reversed(await query.order_by("-seq").limit(limit + 1)))
        more = len(rows) > limit
        rows = rows[1:] if more else rows
        return Page(
            [(cursors.encode(kind, m.seq), m) for m in rows],
            request.before is not None,
            more,
            total,
        )
    limit = request.first if request.first is not None else request.default
    if request.after is not None:
        query = query.filter(seq__gt=int(cursors.decode(kind, request.after)[0]))
    rows = await query.order_by("seq").limit(limit + 1)
    return Page(
        [(cursors.encode(kind, m.seq), m) for m in rows[:limit]],
        len(rows) > limit,
        request.after is not None,
        total,
    )


async def mark_read(
    viewer: Viewer,
    conversation_id: str,
    up_to_seq: int | None,
    notifier: events_log.Notifier,
) -> Participant:
    """Move the viewer's read position forward (never back) and tell both sides
    (ConversationRead), and the viewer's own side (ConversationUpdated)."""
    participant = await access_conversation(viewer, conversation_id)
    audience: list[uuid.UUID] = []
    async with in_transaction() as conn:
        current = await Participant.select_for_update().using_db(conn).get(id=participant.id)
        target = current.last_seq if up_to_seq is None else min(max(up_to_seq, 0), current.last_seq)
        if target > current.last_read_seq:
            await Participant.filter(id=current.id).using_db(conn).update(last_read_seq=target)
            audience = await events_log.append(
                conn,
                EventKind.CONVERSATION_READ,
                (viewer.account_id, current.counterpart_id),  # type: ignore[attr-defined]
                current.conversation_id,  # type: ignore[attr-defined]
                reader_account_id=viewer.account_id,
                last_read_seq=target,
            )
            # The reader's own side also hears of its changed read position (triage).
            await events_log.append(
                conn,
                EventKind.CONVERSATION_UPDATED,
                (viewer.account_id,),
                current.conversation_id,  # type: ignore[attr-defined]
            )
    if audience:
        await notifier.notify(audience)
    return await access_conversation(viewer, conversation_id)


async def participants_for(
    viewer: Viewer, conversation_ids: Sequence[uuid.UUID]
) -> dict[uuid.UUID, Participant]:
    """The viewer's side of each listed conversation it participates in (dataloader use)."""
    rows = await Participant.filter(
        account_id=viewer.account_id, conversation_id__in=list(conversation_ids)
    ).select_related("conversation", "conversation__partnership")
    return {p.conversation_id: p for p in rows}  # type: ignore[attr-defined]


async def messages_by_ids(ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, Message]:
    return {m.id: m for m in await Message.filter(id__in=list(ids))}
