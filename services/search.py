"""Full-text search over the messages of the viewer's conversations (`searchMessages`).

One statement per page over the viewer's own rows of the search index
(`models.search_index`): every query word must match, the last also as a prefix; newest
first, keyset-paged on `(sent_at, message_id)`. Tenant isolation is the index's
`account_id`: a row exists only for the two sides of a message's conversation, and the
statement reads only the viewer's account's rows. Snippets and highlights are computed here
from the page's bodies and filenames with the index's own tokeniser.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tortoise import connections

from models import PartnershipStatus
from services.auth import Viewer
from services.conversations import Page, require_messaging
from services.cursors import CursorCodec
from services.errors import InvalidInput
from services.inbox import MessageRow
from services.search_text import SearchQuery, parse_query, snippet
from services.sql import fetch, is_sqlite

MAX_COUNTERPART_IDS = 100
CURSOR_KIND = "search"


@dataclass(frozen=True, slots=True)
class SearchFilter:
    partnership_statuses: Sequence[PartnershipStatus] | None = None
    counterpart_ids: Sequence[str] | None = None
    sent_from: datetime | None = None  # inclusive
    sent_to: datetime | None = None  # exclusive
    has_attachments: bool | None = None


@dataclass(frozen=True, slots=True)
class SearchHit:
    message: MessageRow
    snippet: str
    highlights: list[tuple[int, int]]  # (start, length) in characters of `snippet`


@dataclass(frozen=True, slots=True)
class Statement:
    sql: str
    args: list[object]


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _account_ids(raw: Sequence[str]) -> list[uuid.UUID]:
    """Well-formed ids only: a malformed or foreign one simply matches nothing."""
    if len(raw) > MAX_COUNTERPART_IDS:
        raise InvalidInput(
            "INVALID_ARGUMENT",
            f"counterpartIds has at most {MAX_COUNTERPART_IDS} ids.",
            ("filter", "counterpartIds"),
        )
    ids = []
    for value in raw:
        try:
            ids.append(uuid.UUID(str(value)))
        except ValueError:
            continue
    return ids


def _marks(args: list[object], values: Sequence[object]) -> str:
    if not values:
        return "NULL"  # `x IN (NULL)` matches nothing, as an empty list should
    first = len(args) + 1
    args.extend(values)
    return ", ".join(f"${n}" for n in range(first, first + len(values)))


def build(
    viewer: Viewer,
    query: SearchQuery,
    flt: SearchFilter,
    limit: int,
    after: tuple[object, uuid.UUID] | None,
    *,
    sqlite: bool,
    count: bool = False,
) -> Statement:
    """The page statement (or, with `count`, the number of hits) for either dialect."""
    args: list[object] = [viewer.account_id]
    if sqlite:
        args.append(query.sqlite())
        source = (
            "message_search_fts JOIN message_search s ON s.id = message_search_fts.rowid"
            " JOIN messages m ON m.id = s.message_id"
        )
        where = ["message_search_fts MATCH $2", "s.account_id = $1"]
    else:
        args.append(query.postgres())
        source = "message_search s JOIN messages m ON m.id = s.message_id"
        where = ["s.account_id = $1", "s.document @@ to_tsquery('liaison_search', $2)"]
    if flt.partnership_statuses is not None:
        statuses = _marks(args, [s.value for s in flt.partnership_statuses])
        where.append(
            "s.conversation_id IN (SELECT c.id FROM conversations c"
            " JOIN partnerships ps ON ps.id = c.partnership_id"
            f" WHERE ps.status IN ({statuses}) AND (c.brand_id = $1 OR c.partner_id = $1))"
        )
    if flt.counterpart_ids is not None:
        where.append(f"s.counterpart_id IN ({_marks(args, _account_ids(flt.counterpart_ids))})")
    if flt.sent_from is not None:
        args.append(_utc(flt.sent_from))
        where.append(f"s.sent_at >= ${len(args)}")
    if flt.sent_to is not None:
        args.append(_utc(flt.sent_to))
        where.append(f"s.sent_at < ${len(args)}")
    if flt.has_attachments is not None:
        args.append(flt.has_attachments)
        where.append(f"s.has_attachments = ${len(args)}")
    if count:
        return Statement(f"SELECT COUNT(*) AS n FROM {source} WHERE {' AND '.join(where)}", args)
    if after is not None:
        args += [after[0], after[1]]
        n = len(args)
        where.append(f"(s.sent_at < ${n - 1} OR (s.sent_at = ${n - 1} AND s.message_id < ${n}))")
    args.append(limit)
    sql = (
        "SELECT s.message_id, s.conversation_id, s.sent_at, s.has_attachments,"
        " m.seq, m.body, m.client_message_id, m.sender_user_id, m.sender_account_id"
        f" FROM {source} WHERE {' AND '.join(where)}"
        f" ORDER BY s.sent_at DESC, s.message_id DESC LIMIT ${len(args)}"
    )
    return Statement(sql, args)


async def search_messages(
    viewer: Viewer,
    raw_query: str,
    flt: SearchFilter,
    first: int,
    after: str | None,
    cursors: CursorCodec,
    *,
    with_total: bool = False,
) -> Page[SearchHit]:
    """A page of the viewer's messages matching `raw_query`, newest first.

    INVALID_ARGUMENT for a query without a word (or over its limits); INVALID_CURSOR for a
    cursor this search did not hand out."""
    require_messaging(viewer)
    query = parse_query(raw_query)
    conn = connections.get("default")
    sqlite = is_sqlite(conn)
    position = None
    if after is not None:
        at_raw, mid = cursors.decode(CURSOR_KIND, after)
        try:
            message_id = uuid.UUID(str(mid))
        except ValueError:
            message_id = uuid.UUID(int=0)
        position = (at_raw if sqlite else datetime.fromisoformat(str(at_raw)), message_id)
    statement = build(viewer, query, flt, first + 1, position, sqlite=sqlite)
    rows = await fetch(conn, statement.sql, *statement.args)
    page = rows[:first]
    filenames = await _filenames(conn, [r["message_id"] for r in page if r["has_attachments"]])
    items = []
    for row in page:
        message = _message(row)
        cut = snippet(query, [message.body, *filenames.get(message.id, [])])
        at = row["sent_at"]
        cursor = cursors.encode(
            CURSOR_KIND, at if isinstance(at, str) else at.isoformat(), str(message.id)
        )
        items.append((cursor, SearchHit(message, cut.text, cut.highlights)))
    total = -1
    if with_total:
        counted = build(viewer, query, flt, 0, None, sqlite=sqlite, count=True)
        total = int((await fetch(conn, counted.sql, *counted.args))[0]["n"])
    return Page(items, len(rows) > first, after is not None, total)


async def _filenames(conn: Any, message_ids: list[object]) -> dict[uuid.UUID, list[str]]:
    if not message_ids:
        return {}
    args: list[object] = []
    marks = _marks(args, message_ids)
    rows = await fetch(
        conn,
        f"SELECT message_id, filename FROM attachments WHERE message_id IN ({marks})"
        " ORDER BY position",
        *args,
    )
    found: dict[uuid.UUID, list[str]] = {}
    for row in rows:
        found.setdefault(_uuid(row["message_id"]), []).append(row["filename"])
    return found


def _uuid(value: object) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def _time(value: object) -> datetime:
    if isinstance(value, datetime):
        return value
    parsed = datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _message(row: dict[str, Any]) -> MessageRow:
    return MessageRow(
        id=_uuid(row["message_id"]),
        conversation_id=_uuid(row["conversation_id"]),
        seq=row["seq"],
        body=row["body"],
        sent_at=_time(row["sent_at"]),
        client_message_id=row["client_message_id"],
        sender_user_id=_uuid(row["sender_user_id"]),
        sender_account_id=_uuid(row["sender_account_id"]),
    )
