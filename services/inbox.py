"""The inbox read model: a page of the viewer's conversations in one SQL statement.

Each row carries the viewer's side (read position, triage state, inbox order), the
conversation, its partnership, the counterpart account and the last message, so the GraphQL
layer builds the page without further reads. Keyset order: newest activity first, then
conversation id; the cursor is the last row's position, signed.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from tortoise import connections

from models import AccountKind, InboxFolder, PartnershipStatus
from services.auth import Viewer
from services.conversations import Page, require_messaging, search_term, to_uuid
from services.cursors import CursorCodec
from services.sql import fetch, is_sqlite


class AssigneeFilter(StrEnum):
    ANYONE = "ANYONE"
    ME = "ME"
    UNASSIGNED = "UNASSIGNED"


@dataclass(frozen=True, slots=True)
class InboxFilter:
    partnership_statuses: Sequence[PartnershipStatus] | None = None
    search: str | None = None
    unread_only: bool = False
    folder: InboxFolder = InboxFolder.INBOX
    priority_only: bool = False
    assignee: AssigneeFilter = AssigneeFilter.ANYONE


@dataclass(frozen=True, slots=True)
class InboxItem:
    """One inbox row: the viewer's side, the conversation, partnership, counterpart and last
    message, read in one statement."""

    conversation_id: uuid.UUID
    last_seq: int
    last_read_seq: int
    folder: InboxFolder
    priority: bool
    assignee_id: uuid.UUID | None
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
  p.conversation_id, p.last_seq, p.last_read_seq, p.folder, p.priority, p.assignee_id,
  p.last_activity_at,
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
    args += [viewer.account_id, flt.folder.value]
    where = ["p.account_id = $1", "p.folder = $2"]
    if flt.partnership_statuses is not None:
        statuses = [s.value for s in flt.partnership_statuses] or [""]
        marks = []
        for status in statuses:
            args.append(status)
            marks.append(f"${len(args)}")
        where.append(f"ps.status IN ({', '.join(marks)})")
    term = search_term(flt.search)
    if term:
        args.append(_like(term))
        where.append(f"a.name_folded LIKE ${len(args)} ESCAPE '\\'")
    if flt.unread_only:
        where.append("p.last_seq > p.last_read_seq")
    if flt.priority_only:
        where.append("p.priority")
    if flt.assignee is AssigneeFilter.ME:
        args.append(viewer.user_id)
        where.append(f"p.assignee_id = ${len(args)}")
    elif flt.assignee is AssigneeFilter.UNASSIGNED:
        where.append("p.assignee_id IS NULL")
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
    edge_cursors: bool = True,
) -> Page[InboxItem]:
    """The viewer's conversations, newest activity first, keyset-paginated, in one statement
    (plus a COUNT when `with_total`). `edge_cursors=False`: only the first and last items'
    cursors are signed (`conversations.page_cursor`)."""
    require_messaging(viewer)
    conn = connections.get("default")
    sqlite = is_sqlite(conn)
    args: list[object] = []
    where = _inbox_where(viewer, flt, args)
    if after is not None:
        at_raw, cid = cursors.decode("inbox", after)
        args += [at_raw if sqlite else _parse_time(at_raw), to_uuid(cid)]
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
    shown = rows[:first]
    last = len(shown) - 1
    for index, row in enumerate(shown):
        cursor = ""
        if edge_cursors or index == 0 or index == last:
            at = row["last_activity_at"]
            cursor_at = at if isinstance(at, str) else at.isoformat()
            cursor = cursors.encode("inbox", cursor_at, str(row["conversation_id"]))
        items.append((cursor, _inbox_item(row)))
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
        folder=InboxFolder(row["folder"]),
        priority=bool(row["priority"]),
        assignee_id=None if row["assignee_id"] is None else _maybe_uuid(row["assignee_id"]),
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
