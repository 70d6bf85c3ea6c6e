"""Reading conversations: access checks, the inbox, message pages, read positions, archive.

`access_conversation` is the one place that decides whether a viewer sees a conversation:
its account must be a participant. Anything else is NOT_FOUND, like a missing id.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Generic, TypeVar

from tortoise import connections
from tortoise.transactions import in_transaction

from models import AccountKind, EventKind, Message, Participant, PartnershipStatus, Permission
from services import events_log
from services.auth import Viewer
from services.cursors import CursorCodec
from services.errors import InvalidInput, NotFound, PermissionDenied
from services.sql import fetch, is_sqlite

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    items: list[tuple[str, T]]  # (cursor, item)
    has_next_page: bool
    has_previous_page: bool
    total_count: int


@dataclass(frozen=True, slots=True)
class InboxFilter:
    partnership_statuses: Sequence[PartnershipStatus] | None = None
    search: str | None = None
    unread_only: bool = False
    archived: bool = False


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


def _uuid(raw: str | uuid.UUID) -> uuid.UUID:
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
            conversation_id=_uuid(conversation_id), account_id=viewer.account_id
        )
        .select_related("conversation", "conversation__partnership")
        .first()
    )
    if participant is None:
        raise NotFound("No such conversation.", field=("conversationId",))
    return participant


def _search_term(search: str | None) -> str | None:
    term = (search or "").strip().casefold()
    if len(term) > 200:
        raise InvalidInput("INVALID_ARGUMENT", "search has at most 200 characters.", ("search",))
    return term or None


@dataclass(frozen=True, slots=True)
class InboxItem:
    """One inbox row: the viewer's side, the conversation, partnership, counterpart and last
    message, read in one statement."""

    conversation_id: uuid.UUID
    last_seq: int
    last_read_seq: int
    archived: bool
    last_message_at: datetime | None
    partnership_id: uuid.UUID
    status: PartnershipStatus
    brand_id: uuid.UUID
    partner_id: uuid.UUID
    counterpart: CounterpartRow
    last_message: MessageRow | None


@dataclass(frozen=True, slots=True)
class CounterpartRow:
    id: uuid.UUID
    name: str
    kind: AccountKind
    terms_version_accepted: int | None


@dataclass(frozen=True, slots=True)
class MessageRow:
    id: uuid.UUID
    conversation_id: uuid.UUID
    seq: int
    body: str
    sent_at: datetime
    client_message_id: str | None
    sender_user_id: uuid.UUID
    sender_account_id: uuid.UUID


_INBOX_COLUMNS = """
  p.conversation_id, p.last_seq, p.last_read_seq, p.archived, p.last_activity_at,
  c.last_message_id, c.last_message_at, c.partnership_id,
  ps.status, ps.brand_id, ps.partner_id,
  a.id AS counterpart_id, a.name AS counterpart_name, a.kind AS counterpart_kind,
  a.terms_version_accepted AS counterpart_terms,
  m.seq AS m_seq, m.body AS m_body, m.sent_at AS m_sent_at,
  m.client_message_id AS m_client_message_id, m.sender_user_id AS m_sender_user_id,
  m.sender_account_id AS m_sender_account_id"""

_JOIN_PARTNERSHIP = """
JOIN conversations c ON c.id = p.conversation_id
JOIN partnerships ps ON ps.id = c.partnership_id"""
_JOIN_COUNTERPART = """
JOIN accounts a ON a.id = p.counterpart_id"""
_INBOX_FROM = f"FROM participants p {_JOIN_PARTNERSHIP} {_JOIN_COUNTERPART}"


def _like(term: str) -> str:
    escaped = term.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def _inbox_where(viewer: Viewer, flt: InboxFilter, args: list[object]) -> str:
    args += [viewer.account_id, flt.archived]
    where = ["p.account_id = $1", "p.archived = $2"]
    if flt.partnership_statuses is not None:
        statuses = [s.value for s in flt.partnership_statuses] or [""]
        marks = []
        for status in statuses:
            args.append(status)
            marks.append(f"${len(args)}")
        where.append(f"ps.status IN ({', '.join(marks)})")
    term = _search_term(flt.search)
    if term:
        args.append(_like(term))
        where.append(f"a.name_folded LIKE ${len(args)} ESCAPE '\\'")
    if flt.unread_only:
        where.append("p.last_seq > p.last_read_seq")
    return " AND ".join(where)


async def inbox_count(viewer: Viewer, flt: InboxFilter) -> int:
    """How many conversations the filter matches; joins only what the filter needs, so the
    common count is an index-only scan of the viewer's participant rows."""
    require_messaging(viewer)
    args: list[object] = []
    where = _inbox_where(viewer, flt, args)
    joins = ""
    if "ps." in where:
        joins += _JOIN_PARTNERSHIP
    if "a." in where:
        joins += _JOIN_COUNTERPART
    query = f"SELECT COUNT(*) AS n FROM participants p {joins} WHERE {where}"
    rows = await fetch(connections.get("default"), query, *args)
    return int(rows[0]["n"])


async def inbox_page(
    viewer: Viewer,
    flt: InboxFilter,
    first: int,
    after: str | None,
    cursors: CursorCodec,
    *,
    with_total: bool = True,
) -> Page[InboxItem]:
    """The viewer's conversations, newest activity first, keyset-paginated, in one statement
    (plus a COUNT when `with_total`)."""
    require_messaging(viewer)
    conn = connections.get("default")
    sqlite = is_sqlite(conn)
    args: list[object] = []
    where = _inbox_where(viewer, flt, args)
    if after is not None:
        at_raw, cid = cursors.decode("inbox", after)
        args += [at_raw if sqlite else _parse_time(at_raw), _uuid(cid)]
        n = len(args)
        where += (
            f" AND (p.last_activity_at < ${n - 1}"
            f" OR (p.last_activity_at = ${n - 1} AND p.conversation_id < ${n}))"
        )
    args.append(first + 1)
    query = (
        f"SELECT {_INBOX_COLUMNS} {_INBOX_FROM} LEFT JOIN messages m ON m.id = c.last_message_id"
        f" WHERE {where} ORDER BY p.last_activity_at DESC, p.conversation_id DESC"
        f" LIMIT ${len(args)}"
    )
    rows = await fetch(conn, query, *args)
    total = await inbox_count(viewer, flt) if with_total else -1
    items = []
    for row in rows[:first]:
        at = row["last_activity_at"]
        cursor_at = at if isinstance(at, str) else at.isoformat()
        items.append(
            (cursors.encode("inbox", cursor_at, str(row["conversation_id"])), _inbox_item(row))
        )
    return Page(items, len(rows) > first, after is not None, total)


def _parse_time(value: object) -> datetime:
    if isinstance(value, datetime):
        return value
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _maybe_uuid(value: object) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def _inbox_item(row: dict[str, Any]) -> InboxItem:
    conversation_id = _maybe_uuid(row["conversation_id"])
    last_message = None
    if row["last_message_id"] is not None and row["m_seq"] is not None:
        last_message = MessageRow(
            id=_maybe_uuid(row["last_message_id"]),
            conversation_id=conversation_id,
            seq=row["m_seq"],
            body=row["m_body"],
            sent_at=_parse_time(row["m_sent_at"]),
            client_message_id=row["m_client_message_id"],
            sender_user_id=_maybe_uuid(row["m_sender_user_id"]),
            sender_account_id=_maybe_uuid(row["m_sender_account_id"]),
        )
    return InboxItem(
        conversation_id=conversation_id,
        last_seq=row["last_seq"],
        last_read_seq=row["last_read_seq"],
        archived=bool(row["archived"]),
        last_message_at=None
        if row["last_message_at"] is None
        else _parse_time(row["last_message_at"]),
        partnership_id=_maybe_uuid(row["partnership_id"]),
        status=PartnershipStatus(row["status"]),
        brand_id=_maybe_uuid(row["brand_id"]),
        partner_id=_maybe_uuid(row["partner_id"]),
        counterpart=CounterpartRow(
            id=_maybe_uuid(row["counterpart_id"]),
            name=row["counterpart_name"],
            kind=AccountKind(row["counterpart_kind"]),
            terms_version_accepted=row["counterpart_terms"],
        ),
        last_message=last_message,
    )


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
    """Move the viewer's read position forward (never back) and tell both sides."""
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
    if audience:
        await notifier.notify(audience)
    return await access_conversation(viewer, conversation_id)


async def set_archived(viewer: Viewer, conversation_id: str, archived: bool) -> Participant:
    participant = await access_conversation(viewer, conversation_id)
    await Participant.filter(id=participant.id).update(archived=archived)
    participant.archived = archived
    return participant


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
