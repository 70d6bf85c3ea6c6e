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


# Enum members by value: a dict look-up instead of `Enum(value)` (~0.7 µs each, three a row).
_FOLDERS = {member.value: member for member in InboxFolder}
_STATUSES = {member.value: member for member in PartnershipStatus}
_KINDS = {member.value: member for member in AccountKind}


def _inbox_item(row: dict[str, Any]) -> InboxItem:
    """One row as the read model; asyncpg hands UUIDs and datetimes, SQLite strings. Written
    without helper calls: it runs for every row of every inbox page."""
    UUID = uuid.UUID
    conversation_id = row["conversation_id"]
    if not isinstance(conversation_id, UUID):
        conversation_id = UUID(str(conversation_id))
    last_message = None
    message_id = row["last_message_id"]
    if message_id is not None and row["m_seq"] is not None:
        sender_user_id = row["m_sender_user_id"]
        sender_account_id = row["m_sender_account_id"]
        last_message = MessageRow(
            message_id if isinstance(message_id, UUID) else UUID(str(message_id)),
            conversation_id,
            row["m_seq"],
            row["m_body"],
            _parse_time(row["m_sent_at"]),
            row["m_client_message_id"],
            sender_user_id if isinstance(sender_user_id, UUID) else UUID(str(sender_user_id)),
            sender_account_id
            if isinstance(sender_account_id, UUID)
            else UUID(str(sender_account_id)),
        )
    folder = _FOLDERS.get(row["folder"])
    if folder is None:
        folder = InboxFolder(row["folder"])
    status = _STATUSES.get(row["status"])
    if status is None:
        status = PartnershipStatus(row["status"])
    kind = _KINDS.get(row["counterpart_kind"])
    if kind is None:
        kind = AccountKind(row["counterpart_kind"])
    assignee_id = row["assignee_id"]
    last_message_at = row["last_message_at"]
    partnership_id, brand_id = row["partnership_id"], row["brand_id"]
    partner_id, counterpart_id = row["partner_id"], row["counterpart_id"]
    return InboxItem(
        conversation_id,
        row["last_seq"],
        row["last_read_seq"],
        folder,
        bool(row["priority"]),
        None
        if assignee_id is None
        else assignee_id
        if isinstance(assignee_id, UUID)
        else UUID(str(assignee_id)),
        None if last_message_at is None else _parse_time(last_message_at),
        partnership_id if isinstance(partnership_id, UUID) else UUID(str(partnership_id)),
        status,
        brand_id if isinstance(brand_id, UUID) else UUID(str(brand_id)),
        partner_id if isinstance(partner_id, UUID) else UUID(str(partner_id)),
        CounterpartRow(
            counterpart_id if isinstance(counterpart_id, UUID) else UUID(str(counterpart_id)),
            row["counterpart_name"],
            kind,
            row["counterpart_terms"],
        ),
        last_message,
    )
