"""Full-text search over the messages of the viewer's conversations (`searchMessages`).

Reads only the viewer's own rows of the search index (`models.search_index`): every query
word must match, the last also as a prefix; newest first, keyset-paged on
`(sent_at, message_id)`. Tenant isolation is the index's `account_id`: a row exists only for
the two sides of a message's conversation, and every statement reads only the viewer's
account's rows. SQLite answers a page in one statement; PostgreSQL in up to three (`find`).
Snippets and highlights are computed here from the page's bodies and filenames with the
index's own tokeniser.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tortoise import connections

from models import PartnershipStatus
from services.auth import Viewer
from services.conversations import Page, page_cursor, require_messaging
from services.cursors import CursorCodec
from services.errors import ErrorCode, InvalidInput
from services.inbox import MessageRow
from services.search_text import SearchQuery, parse_query, snippet
from services.sql import fetch, is_sqlite

MAX_COUNTERPART_IDS = 100
CURSOR_KIND = "search"
_PLACEHOLDER = re.compile(r"\$(\d+)")


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
            ErrorCode.INVALID_ARGUMENT,
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


_COLUMNS = (
    "s.message_id, s.conversation_id, s.sent_at, s.has_attachments,"
    " m.seq, m.body, m.client_message_id, m.sender_user_id, m.sender_account_id"
)
_NEWEST_FIRST = "ORDER BY s.sent_at DESC, s.message_id DESC"
# How many of the viewer's newest rows the first PostgreSQL statement checks one by one.
WINDOW = 2000

Fetch = Callable[..., Awaitable[Sequence[Mapping[str, Any]]]]
Position = tuple[object, uuid.UUID]  # (sent_at as stored, message id)


def _filters(flt: SearchFilter, args: list[object]) -> list[str]:
    where = []
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
    return where


def _older(alias: str, args: list[object], position: Position) -> str:
    args += [position[0], position[1]]
    n = len(args)
    return (
        f"({alias}.sent_at < ${n - 1}"
        f" OR ({alias}.sent_at = ${n - 1} AND {alias}.message_id < ${n}))"
    )


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _sql_value(value: object) -> str:
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, uuid.UUID):
        return f"'{value}'::uuid"
    if isinstance(value, datetime):
        return f"'{_utc(value).isoformat()}'::timestamptz"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str):
        return _literal(value)
    raise TypeError(f"no SQL literal for {type(value).__name__}")


def _inlined(sql: str, args: list[object]) -> Statement:
    """The PostgreSQL statement with every value written into it.

    PostgreSQL plans a prepared statement generically after a few runs, for any account,
    words and position: one brand may hold half the rows and a common word be in most of
    them, so a generic plan is off by orders of magnitude either way (a rare word's search
    went from 3 to 30 ms, a common one's to 250 ms). With the values inlined the planner
    always sees them. Every value is typed (UUIDs, datetimes, booleans, enum names, and
    query terms made of letters and digits only) and quoted by `_sql_value`."""

    def replace(match: re.Match[str]) -> str:
        return _sql_value(args[int(match.group(1)) - 1])

    return Statement(_PLACEHOLDER.sub(replace, sql), [])


def sqlite_page(
    viewer: Viewer, query: SearchQuery, flt: SearchFilter, limit: int, after: Position | None
) -> Statement:
    """SQLite: FTS5 finds the hits, the viewer's rows order them."""
    args: list[object] = [viewer.account_id, query.sqlite()]
    where = ["message_search_fts MATCH $2", "s.account_id = $1", *_filters(flt, args)]
    if after is not None:
        where.append(_older("s", args, after))
    args.append(limit)
    return Statement(
        f"SELECT {_COLUMNS} FROM message_search_fts"
        " JOIN message_search s ON s.id = message_search_fts.rowid"
        f" JOIN messages m ON m.id = s.message_id WHERE {' AND '.join(where)}"
        f" {_NEWEST_FIRST} LIMIT ${len(args)}",
        args,
    )


def postgres_window(
    viewer: Viewer, query: SearchQuery, flt: SearchFilter, limit: int, after: Position | None
) -> Statement:
    """PostgreSQL, first statement: the hits among the viewer's WINDOW newest rows, walked
    in order on `(account_id, sent_at, message_id)` — a common word fills a page at once."""
    args: list[object] = [viewer.account_id, query.postgres()]
    older = f" AND {_older('w', args, after)}" if after is not None else ""
    where = ["s.document @@ to_tsquery('liaison_search', $2)", *_filters(flt, args)]
    return _inlined(
        f"SELECT {_COLUMNS} FROM (SELECT * FROM message_search w WHERE w.account_id = $1{older}"
        f" ORDER BY w.sent_at DESC, w.message_id DESC LIMIT {WINDOW}) s"
        f" JOIN messages m ON m.id = s.message_id WHERE {' AND '.join(where)}"
        f" {_NEWEST_FIRST} LIMIT {int(limit)}",
        args,
    )


def postgres_window_end(viewer: Viewer, after: Position | None) -> Statement:
    """The oldest row of that window, where the second statement continues; none when the
    window held every row."""
    args: list[object] = [viewer.account_id]
    older = f" AND {_older('s', args, after)}" if after is not None else ""
    return _inlined(
        f"SELECT s.sent_at, s.message_id FROM message_search s WHERE s.account_id = $1{older}"
        f" {_NEWEST_FIRST} OFFSET {WINDOW - 1} LIMIT 1",
        args,
    )


def postgres_indexed(
    viewer: Viewer, query: SearchQuery, flt: SearchFilter, limit: int, older_than: Position
) -> Statement:
    """PostgreSQL, second statement (fewer hits than a page in the window): every hit older
    than the window through the GIN index, then the newest of them — a rare word costs a
    few index pages instead of a walk over the whole history."""
    args: list[object] = [viewer.account_id, query.postgres()]
    where = [
        "s.account_id = $1",
        "s.document @@ to_tsquery('liaison_search', $2)",
        *_filters(flt, args),
        _older("s", args, older_than),
    ]
    return _inlined(
        "WITH hits AS MATERIALIZED (SELECT s.message_id, s.conversation_id, s.sent_at,"
        f" s.has_attachments FROM message_search s WHERE {' AND '.join(where)})"
        f" SELECT {_COLUMNS} FROM hits s JOIN messages m ON m.id = s.message_id"
        f" {_NEWEST_FIRST} LIMIT {int(limit)}",
        args,
    )


def count_statement(
    viewer: Viewer, query: SearchQuery, flt: SearchFilter, sqlite: bool
) -> Statement:
    args: list[object] = [viewer.account_id]
    if sqlite:
        args.append(query.sqlite())
        source = "message_search_fts JOIN message_search s ON s.id = message_search_fts.rowid"
        where = ["message_search_fts MATCH $2", "s.account_id = $1"]
    else:
        args.append(query.postgres())
        source = "message_search s"
        where = ["s.account_id = $1", "s.document @@ to_tsquery('liaison_search', $2)"]
    where += _filters(flt, args)
    sql = f"SELECT COUNT(*) AS n FROM {source} WHERE {' AND '.join(where)}"
    return Statement(sql, args) if sqlite else _inlined(sql, args)


async def find(
    fetch_rows: Fetch,
    viewer: Viewer,
    query: SearchQuery,
    flt: SearchFilter,
    limit: int,
    after: Position | None,
    *,
    sqlite: bool,
) -> list[Mapping[str, Any]]:
    """Up to `limit` hits, newest first, older than `after`; `fetch_rows(sql, *args)` runs
    a statement (the API's database client, or asyncpg in the bench's baseline)."""
    if sqlite:
        statement = sqlite_page(viewer, query, flt, limit, after)
        return list(await fetch_rows(statement.sql, *statement.args))
    first = postgres_window(viewer, query, flt, limit, after)
    rows = list(await fetch_rows(first.sql, *first.args))
    if len(rows) >= limit:
        return rows
    end = postgres_window_end(viewer, after)
    edge = await fetch_rows(end.sql, *end.args)
    if not edge:
        return rows
    rest = postgres_indexed(
        viewer, query, flt, limit - len(rows), (edge[0]["sent_at"], edge[0]["message_id"])
    )
    return rows + list(await fetch_rows(rest.sql, *rest.args))


async def search_messages(
    viewer: Viewer,
    raw_query: str,
    flt: SearchFilter,
    first: int,
    after: str | None,
    cursors: CursorCodec,
    *,
    with_total: bool = False,
    edge_cursors: bool = True,
) -> Page[SearchHit]:
    """A page of the viewer's messages matching `raw_query`, newest first. `edge_cursors=False`:
    only the first and last hits' cursors are signed (`conversations.page_cursor`).

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

    async def run(sql: str, *args: object) -> list[dict[str, Any]]:
        return await fetch(conn, sql, *args)

    rows = await find(run, viewer, query, flt, first + 1, position, sqlite=sqlite)
    page = rows[:first]
    filenames = await _filenames(conn, [r["message_id"] for r in page if r["has_attachments"]])
    items = []
    last = len(page) - 1
    for index, row in enumerate(page):
        message = _message(row)
        cut = snippet(query, [message.body, *filenames.get(message.id, [])])
        at = row["sent_at"]
        cursor = page_cursor(
            cursors,
            edge_cursors,
            index,
            last + 1,
            CURSOR_KIND,
            at if isinstance(at, str) else at.isoformat(),
            str(message.id),
        )
        items.append((cursor, SearchHit(message, cut.text, cut.highlights)))
    total = -1
    if with_total:
        counted = count_statement(viewer, query, flt, sqlite)
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


def _message(row: Mapping[str, Any]) -> MessageRow:
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
