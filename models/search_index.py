"""The full-text index of messages: its tables, how a message is written into it, and the
tokeniser that decides what a word is (shared with queries and highlighting).

One row per message *and audience account* (`message_search`), so that a viewer's search
is a scan of its own rows in `(account_id, sent_at, message_id)` order — newest first,
keyset-paged — or, for a rare word, a lookup in the word index; other tenants' rows are never
read. PostgreSQL keeps the words in a `tsvector` column with a GIN index, built with the
text search configuration `liaison_search` (the `simple` dictionary after `unaccent` when
that extension can be created); SQLite keeps them in the FTS5 table `message_search_fts`
(`unicode61 remove_diacritics 2`) whose rowid is the row's id.

A word is a run of letters and digits (`[^\\W_]+` on NFKC text); anything else separates
words, so `report-2025.pdf` is `report 2025 pdf`, `bob@example.com` is `bob example com`,
and no character of a query can act as an operator. The index stores words folded by
`fold` (case-folded, accents removed); the database folds again with its own tables.
"""

from __future__ import annotations

import re
import unicodedata
import uuid
from collections.abc import Iterator, Sequence

from tortoise.backends.base.client import BaseDBAsyncClient

WORD = re.compile(r"[^\W_]+")
# Letters NFKD leaves whole but `unaccent` folds; kept in step so highlights match hits.
_EXTRA = str.maketrans({"ø": "o", "đ": "d", "ł": "l", "ħ": "h", "ı": "i", "æ": "ae", "œ": "oe"})
_BACKFILL_BATCH = 2_000


def fold(word: str) -> str:
    if word.isascii():  # the common case, and the same answer: nothing to decompose
        return word.lower()
    decomposed = unicodedata.normalize("NFKD", word.casefold())
    bare = "".join(c for c in decomposed if not unicodedata.combining(c))
    return unicodedata.normalize("NFKC", bare).translate(_EXTRA)


def words(text: str) -> Iterator[re.Match[str]]:
    return WORD.finditer(unicodedata.normalize("NFKC", text))


def document(body: str, filenames: Sequence[str] = ()) -> str:
    """What the index holds for a message: the folded words of its body and filenames."""
    return " ".join(fold(m.group()) for part in (body, *filenames) for m in words(part))


def _sqlite(conn: BaseDBAsyncClient) -> bool:
    return conn.capabilities.dialect == "sqlite"


_PG_DDL = [
    # unaccent is a trusted extension (PostgreSQL >= 13): a database owner may create it.
    # Without it the configuration is `simple` alone and the folding done before the
    # database (`fold`) is all there is.
    """DO $$ BEGIN
         CREATE EXTENSION IF NOT EXISTS unaccent;
       EXCEPTION WHEN OTHERS THEN
         RAISE NOTICE 'unaccent unavailable: %', SQLERRM;
       END $$""",
    "CREATE TEXT SEARCH CONFIGURATION liaison_search (COPY = simple)",
    """DO $$ BEGIN
         IF EXISTS (SELECT 1 FROM pg_ts_dict WHERE dictname = 'unaccent') THEN
           ALTER TEXT SEARCH CONFIGURATION liaison_search
             ALTER MAPPING FOR asciiword, word, numword WITH unaccent, simple;
         END IF;
       END $$""",
    """CREATE TABLE message_search (
         account_id uuid NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
         message_id uuid NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
         conversation_id uuid NOT NULL,
         counterpart_id uuid NOT NULL,
         sent_at timestamptz NOT NULL,
         has_attachments boolean NOT NULL,
         document tsvector NOT NULL,
         PRIMARY KEY (account_id, message_id))""",
    "CREATE INDEX message_search_order ON message_search"
    " (account_id, sent_at DESC, message_id DESC)",
    "CREATE INDEX message_search_message ON message_search (message_id)",
    "CREATE INDEX message_search_document ON message_search USING gin (document)",
]
_SQLITE_DDL = [
    """CREATE TABLE message_search (
         id INTEGER PRIMARY KEY,
         account_id CHAR(36) NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
         message_id CHAR(36) NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
         conversation_id CHAR(36) NOT NULL,
         counterpart_id CHAR(36) NOT NULL,
         sent_at TIMESTAMP NOT NULL,
         has_attachments INT NOT NULL,
         UNIQUE (message_id, account_id))""",
    "CREATE INDEX message_search_order ON message_search (account_id, sent_at, message_id)",
    "CREATE VIRTUAL TABLE message_search_fts USING fts5"
    "(document, tokenize = 'unicode61 remove_diacritics 2')",
    """CREATE TRIGGER message_search_forget AFTER DELETE ON message_search BEGIN
         DELETE FROM message_search_fts WHERE rowid = old.id;
       END""",
]


async def create_index(conn: BaseDBAsyncClient) -> None:
    for statement in _SQLITE_DDL if _sqlite(conn) else _PG_DDL:
        await conn.execute_script(statement)


async def drop_index(conn: BaseDBAsyncClient) -> None:
    if _sqlite(conn):
        statements = ["DROP TABLE message_search_fts", "DROP TABLE message_search"]
    else:
        statements = [
            "DROP TABLE message_search",
            "DROP TEXT SEARCH CONFIGURATION liaison_search",
        ]
    for statement in statements:
        await conn.execute_script(statement)


def _params(conn: BaseDBAsyncClient, query: str) -> str:
    return re.sub(r"\$(\d+)", r"?\1", query) if _sqlite(conn) else query


async def index_message(
    conn: BaseDBAsyncClient, message_id: uuid.UUID, body: str, filenames: Sequence[str]
) -> None:
    """Write a message's rows, one per side of its conversation, inside the caller's
    transaction (the send transaction: a message is searchable once it is committed)."""
    await index_messages(conn, [(message_id, document(body, filenames), bool(filenames))])


async def index_messages(
    conn: BaseDBAsyncClient, items: Sequence[tuple[uuid.UUID, str, bool]]
) -> None:
    """(message id, document, has attachments) of messages to index, in one round trip
    per statement."""
    if not items:
        return
    select = (
        "SELECT p.account_id, m.id, m.conversation_id, p.counterpart_id, m.sent_at, {flag}"
        " FROM messages m JOIN participants p ON p.conversation_id = m.conversation_id"
        " WHERE m.id = {id}"
    )
    columns = "account_id, message_id, conversation_id, counterpart_id, sent_at, has_attachments"
    if _sqlite(conn):
        for message_id, text, has_files in items:
            key = str(message_id)
            await conn.execute_query(
                f"INSERT INTO message_search ({columns}) " + select.format(flag="?2", id="?1"),
                [key, int(has_files)],
            )
            await conn.execute_query(
                "INSERT INTO message_search_fts (rowid, document)"
                " SELECT id, ?2 FROM message_search WHERE message_id = ?1",
                [key, text],
            )
        return
    await conn.execute_query(
        f"INSERT INTO message_search ({columns}, document) "
        "SELECT p.account_id, m.id, m.conversation_id, p.counterpart_id, m.sent_at, i.flag,"
        " to_tsvector('liaison_search', i.doc)"
        " FROM unnest($1::uuid[], $2::text[], $3::boolean[]) AS i (id, doc, flag)"
        " JOIN messages m ON m.id = i.id"
        " JOIN participants p ON p.conversation_id = m.conversation_id",
        [
            [m for m, _, _ in items],
            [d for _, d, _ in items],
            [f for _, _, f in items],
        ],
    )


async def backfill(conn: BaseDBAsyncClient) -> None:
    """Index every message already stored (the migration that creates the index)."""
    sqlite = _sqlite(conn)
    after: object = "" if sqlite else uuid.UUID(int=0)
    while True:
        rows = await conn.execute_query_dict(
            _params(conn, "SELECT id, body FROM messages WHERE id > $1 ORDER BY id LIMIT $2"),
            [after, _BACKFILL_BATCH],
        )
        if not rows:
            return
        names: dict[str, list[str]] = {str(r["id"]): [] for r in rows}
        marks = ", ".join(f"${n}" for n in range(1, len(rows) + 1))
        for row in await conn.execute_query_dict(
            _params(
                conn,
                f"SELECT message_id, filename FROM attachments WHERE message_id IN ({marks})"
                " ORDER BY position",
            ),
            [r["id"] for r in rows],
        ):
            names[str(row["message_id"])].append(row["filename"])
        items = []
        for r in rows:
            files = names[str(r["id"])]
            items.append((uuid.UUID(str(r["id"])), document(r["body"], files), bool(files)))
        await index_messages(conn, items)
        after = rows[-1]["id"]
