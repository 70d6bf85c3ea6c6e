"""The hand-written baseline: bare Starlette + asyncpg, same SQL work, same JSON out.

Each endpoint authenticates like the API (JWT, then one query for user, account and role),
runs hand-written SQL and answers the exact JSON the GraphQL query would. Run as its own
process: `python -m bench.baseline --port N --dsn postgres://… --secret S`.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Any, TypeAlias

import asyncpg
import jwt
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from models.search_index import document
from services.auth import Viewer
from services.cursors import CursorCodec
from services.search import SearchFilter, find
from services.search_text import parse_query, snippet
from services.triage import COUNTS_SQL

VIEWER_SQL = """
SELECT u.id, u.account_id, a.kind, r.permissions FROM users u
JOIN accounts a ON a.id = u.account_id JOIN roles r ON r.id = u.role_id WHERE u.id = $1
"""
INBOX_COUNT_SQL = "SELECT count(*) FROM participants WHERE account_id = $1 AND folder = 'INBOX'"
INBOX_SQL = """
SELECT p.conversation_id, p.last_seq - p.last_read_seq AS unread, ca.name, ps.status,
       m.body, m.sent_at
FROM participants p
JOIN conversations c ON c.id = p.conversation_id
JOIN partnerships ps ON ps.id = c.partnership_id
JOIN accounts ca ON ca.id = p.counterpart_id
LEFT JOIN messages m ON m.id = c.last_message_id
WHERE p.account_id = $1 AND p.folder = 'INBOX'
ORDER BY p.last_activity_at DESC, p.conversation_id DESC
LIMIT $2
"""
PARTNERS_WHERE = "ps.brand_id = $1 AND ps.status = ANY($2) AND a.name_folded LIKE $3"
PARTNERS_COUNT_SQL = (
    f"SELECT count(*) FROM partnerships ps JOIN accounts a ON a.id = ps.partner_id"
    f" WHERE {PARTNERS_WHERE}"
)
PARTNERS_SQL = f"""
SELECT ps.id, ps.status, a.name FROM partnerships ps JOIN accounts a ON a.id = ps.partner_id
WHERE {PARTNERS_WHERE} ORDER BY a.name_folded, ps.id LIMIT $4
"""


Conn: TypeAlias = (
    "asyncpg.Connection[asyncpg.Record] | asyncpg.pool.PoolConnectionProxy[asyncpg.Record]"
)


class Unauthorized(Exception):
    pass


def _app(dsn: str, secret: str, pool_size: int) -> Starlette:
    pool: asyncpg.Pool | None = None

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        nonlocal pool
        pool = await asyncpg.create_pool(dsn, min_size=1, max_size=pool_size)
        yield
        await pool.close()

    async def viewer(conn: Conn, request: Request) -> asyncpg.Record:
        token = request.headers.get("authorization", "").partition(" ")[2]
        try:
            claims = jwt.decode(
                token, secret, algorithms=["HS256"], options={"require": ["sub", "exp"]}
            )
        except jwt.PyJWTError:
            raise Unauthorized from None
        row = await conn.fetchrow(VIEWER_SQL, uuid.UUID(claims["sub"]))
        if row is None or "MESSAGING" not in row["permissions"].split(","):
            raise Unauthorized
        return row

    async def inbox(request: Request) -> JSONResponse:
        first = (await request.json()).get("variables", {}).get("first", 20)
        assert pool is not None
        async with pool.acquire() as conn:
            me = await viewer(conn, request)
            total = await conn.fetchval(INBOX_COUNT_SQL, me["account_id"])
            rows = await conn.fetch(INBOX_SQL, me["account_id"], first + 1)
        edges = [
            {
                "node": {
                    "id": str(r["conversation_id"]),
                    "counterpart": {"name": r["name"]},
                    "partnership": {"status": r["status"]},
                    "lastMessage": None
                    if r["body"] is None
                    else {"body": r["body"], "sentAt": r["sent_at"].isoformat()},
                    "unreadCount": max(r["unread"], 0),
                }
            }
            for r in rows[:first]
        ]
        return JSONResponse({"data": {"inbox": {"totalCount": total, "edges": edges}}})

    async def partners(request: Request) -> JSONResponse:
        variables = (await request.json()).get("variables", {})
        args = (variables["statuses"], f"%{variables['search'].strip().casefold()}%")
        assert pool is not None
        async with pool.acquire() as conn:
            me = await viewer(conn, request)
            total = await conn.fetchval(PARTNERS_COUNT_SQL, me["account_id"], *args)
            rows = await conn.fetch(PARTNERS_SQL, me["account_id"], *args, 21)
        edges = [
            {"node": {"id": str(r["id"]), "status": r["status"], "partner": {"name": r["name"]}}}
            for r in rows[:20]
        ]
        return JSONResponse({"data": {"partners": {"totalCount": total, "edges": edges}}})

    async def send(request: Request) -> JSONResponse:
        payload: dict[str, Any] = (await request.json())["variables"]["input"]
        body = payload["body"].strip()
        recipient = uuid.UUID(payload["recipientAccountId"])
        digest = hashlib.sha256(json.dumps([str(recipient), body, []]).encode()).hexdigest()
        assert pool is not None
        async with pool.acquire() as conn:
            me = await viewer(conn, request)
            async with conn.transaction():
                seq, message_id = await _insert(conn, me, recipient, body, payload, digest)
        message = {"id": str(message_id), "seq": seq}
        return JSONResponse({"data": {"sendMessage": {"message": message, "errors": []}}})

    cursors = CursorCodec(secret)

    async def search(request: Request) -> JSONResponse:
        """searchMessages by hand: the statements `services.search.find` runs, the same
        snippet code, the same JSON."""
        variables = (await request.json()).get("variables", {})
        first = variables.get("first", 20)
        query = parse_query(variables["q"])
        assert pool is not None
        async with pool.acquire() as conn:
            me = await viewer(conn, request)
            as_viewer = Viewer(me["id"], me["account_id"], me["kind"], me["id"], frozenset())
            rows = await find(
                conn.fetch, as_viewer, query, SearchFilter(), first + 1, None, sqlite=False
            )
        edges = []
        for r in rows[:first]:
            cut = snippet(query, [r["body"]])
            edges.append(
                {
                    "cursor": cursors.encode(
                        "search", r["sent_at"].isoformat(), str(r["message_id"])
                    ),
                    "snippet": cut.text,
                    "highlights": [{"start": a, "length": n} for a, n in cut.highlights],
                    "node": {
                        "id": str(r["message_id"]),
                        "body": r["body"],
                        "sentAt": r["sent_at"].isoformat(),
                    },
                }
            )
        info = {
            "hasNextPage": len(rows) > first,
            "endCursor": edges[-1]["cursor"] if edges else None,
        }
        return JSONResponse({"data": {"searchMessages": {"pageInfo": info, "edges": edges}}})

    async def counts(request: Request) -> JSONResponse:
        assert pool is not None
        async with pool.acquire() as conn:
            me = await viewer(conn, request)
            row = await conn.fetchrow(COUNTS_SQL, me["account_id"], me["id"])
        assert row is not None
        names = {"assigned_to_me": "assignedToMe"}
        counts = {names.get(k, k): v for k, v in row.items()}
        return JSONResponse({"data": {"viewer": {"inboxCounts": counts}}})

    return Starlette(
        routes=[
            Route("/search", search, methods=["POST"]),
            Route("/counts", counts, methods=["POST"]),
            Route("/inbox", inbox, methods=["POST"]),
            Route("/partners", partners, methods=["POST"]),
            Route("/send", send, methods=["POST"]),
        ],
        exception_handlers={Unauthorized: lambda r, e: JSONResponse({}, status_code=401)},
        lifespan=lifespan,
    )


async def _insert(
    conn: Conn,
    me: asyncpg.Record,
    recipient: uuid.UUID,
    body: str,
    payload: dict[str, Any],
    digest: str,
) -> tuple[int, uuid.UUID]:
    """The API's write set for a text message in an existing conversation, by hand."""
    brand, partner = me["account_id"], recipient
    partnership = await conn.fetchval(
        "SELECT id FROM partnerships WHERE brand_id = $1 AND partner_id = $2 FOR UPDATE",
        brand,
        partner,
    )
    now = datetime.now(UTC)
    bumped = await conn.fetchrow(
        "UPDATE conversations SET last_seq = last_seq + 1 WHERE partnership_id = $1"
        " RETURNING id, last_seq",
        partnership,
    )
    assert bumped is not None, "send scenarios target existing conversations"
    conversation_id, seq = bumped["id"], bumped["last_seq"]
    message_id = uuid.uuid4()
    await conn.execute(
        "INSERT INTO messages (id, conversation_id, seq, body, sender_user_id, sender_account_id,"
        " client_message_id, request_digest, sent_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9)",
        message_id,
        conversation_id,
        seq,
        body,
        me["id"],
        brand,
        payload["clientMessageId"],
        digest,
        now,
    )
    await conn.execute(
        "UPDATE conversations SET last_message_id = $2, last_message_at = $3 WHERE id = $1",
        conversation_id,
        message_id,
        now,
    )
    await conn.execute(
        "UPDATE participants SET last_seq = $2, last_activity_at = $3,"
        " last_read_seq = CASE WHEN account_id = $4 THEN $2 ELSE last_read_seq END,"
        " folder = CASE WHEN account_id <> $4 AND folder = 'DONE' THEN 'INBOX' ELSE folder END"
        " WHERE conversation_id = $1",
        conversation_id,
        seq,
        now,
        brand,
    )
    await conn.execute(
        "INSERT INTO message_search (account_id, message_id, conversation_id, counterpart_id,"
        " sent_at, has_attachments, document) SELECT p.account_id, $1, $2, p.counterpart_id, $3,"
        " false, to_tsvector('liaison_search', $4) FROM participants p WHERE p.conversation_id = $2",
        message_id,
        conversation_id,
        now,
        document(body),
    )
    for account_id in sorted((brand, partner), key=str):
        event_seq = await conn.fetchval(
            "UPDATE accounts SET event_seq = event_seq + 1 WHERE id = $1 RETURNING event_seq",
            account_id,
        )
        await conn.execute(
            "INSERT INTO events (account_id, seq, kind, conversation_id, message_id, created_at)"
            " VALUES ($1, $2, 'MESSAGE_CREATED', $3, $4, $5)",
            account_id,
            event_seq,
            conversation_id,
            message_id,
            now,
        )
    return seq, message_id


def main() -> None:
    import uvicorn

    parser = argparse.ArgumentParser()
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--dsn", required=True)
    parser.add_argument("--secret", required=True)
    parser.add_argument("--pool", type=int, default=10)
    args = parser.parse_args()
    uvicorn.run(
        _app(args.dsn, args.secret, args.pool),
        host="127.0.0.1",
        port=args.port,
        log_level="warning",
    )


if __name__ == "__main__":
    main()
