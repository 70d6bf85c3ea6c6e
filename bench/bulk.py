"""Bulk sends on PostgreSQL: the bulk path against a hand-written batched INSERT of the same
write set, and against sequential `sendMessage` calls; recipients' websockets meanwhile.

    .venv/bin/python -m bench.bulk --recipients 5000 --sockets 300

Makes its own database, a private `redis-server`, one `liaison serve` and one `liaison
worker` (clamd from `scripts/clamd.sh start`), all on 127.0.0.1. Five brands with
`--recipients` ACTIVE partners each:

1. **bulk**: one `sendBulkMessage` to all partners of brand 1, run by the worker; rate =
   recipients / (time from the mutation to the bulk send's DONE). `--sockets` partners of
   brand 1 hold an `inboxEvents` websocket open through `serve`; each message's delivery
   latency is its arrival minus its `sentAt` (the server's timestamp in the send
   transaction), reported as p50/p99/max.
   The watchers are spread evenly over the partners (every `recipients / sockets`-th).
   Before the run, a warm-up bulk send from another brand to the watchers only runs until
   every socket has received its message, so every subscription is live.
2. **batched INSERT**: for brand 2's partners, the same rows as the bulk path writes for a
   first message (conversations, participants, messages, events, the accounts' event
   counters), written by hand with asyncpg `executemany`, one transaction per chunk of the
   same size as the bulk path's (`LIAISON_BULK_CHUNK_SIZE`, 250).
3. **sequential sendMessage**: `--sequential` (default 500) HTTP `sendMessage` calls, one
   after the other, each to another partner of brand 3 (a rate per call: 5,000 calls take
   minutes on a busy 2-core machine and give the same rate).
4. **bulk with a file**: one `sendBulkMessage` to brand 5's partners with a PNG attached
   (stored and scanned once, an attachment row per message), against the same without a
   file to brand 4's partners just before; neither has watchers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import websockets
from websockets.typing import Subprotocol

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from services.auth import issue_token  # noqa: E402
from tests.realtime_fixtures import RedisServer, free_port, wait_for_port  # noqa: E402

PG = os.environ.get("LIAISON_TEST_PG", "postgres://postgres@127.0.0.1:5432/test")
SECRET = "bench-secret-" + "x" * 32
LIAISON = str(ROOT / ".venv" / "bin" / "liaison")
CHUNK = 250
SUBSCRIBE = (
    "subscription { inboxEvents { __typename ... on MessageCreated { message { id sentAt } } } }"
)
SEND_BULK = (
    "mutation($input: SendBulkMessageInput!) { sendBulkMessage(input: $input) "
    "{ bulkSend { id total } errors { code } } }"
)
SEND = (
    "mutation($input: SendMessageInput!) { sendMessage(input: $input) "
    "{ message { id } errors { code } } }"
)
PNG = (ROOT / "tests" / "corpus" / "valid.png").read_bytes()
ALL_PERMISSIONS = "ANALYTICS_VIEW,BULK_MESSAGING,MESSAGING,PARTNERS_VIEW,USERS_MANAGE"


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] if ordered else float("nan")


async def make_brand(db: asyncpg.Connection, name: str, partners: int) -> dict[str, Any]:
    """A brand, its sending user, `partners` ACTIVE partnerships (partners ordered by name)."""
    brand, role, user = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    await db.execute(
        "INSERT INTO accounts (id, name, name_folded, kind, terms_version_accepted, event_seq,"
        " created_at) VALUES ($1, $2, $3, 'BRAND', 1, 0, now())",
        brand,
        name,
        name.casefold(),
    )
    await db.execute(
        "INSERT INTO roles (id, account_id, name, built_in, permissions, created_at)"
        " VALUES ($1, $2, 'ACCOUNT_ADMIN', true, $3, now())",
        role,
        brand,
        ALL_PERMISSIONS,
    )
    await db.execute(
        "INSERT INTO users (id, account_id, role_id, email, name, created_at,"
        " notification_frequency) VALUES ($1, $2, $3, $4, 'Sender', now(), 'IMMEDIATE')",
        user,
        brand,
        role,
        f"{user.hex}@bench.test",
    )
    ids = [uuid.uuid4() for _ in range(partners)]
    await db.executemany(
        "INSERT INTO accounts (id, name, name_folded, kind, terms_version_accepted, event_seq,"
        " created_at) VALUES ($1, $2, $3, 'PARTNER', 1, 0, now())",
        [
            (p, f"{name} partner {n:05}", f"{name} partner {n:05}".casefold())
            for n, p in enumerate(ids)
        ],
    )
    partnerships = [uuid.uuid4() for _ in ids]
    await db.executemany(
        "INSERT INTO partnerships (id, brand_id, partner_id, status, created_at, updated_at)"
        " VALUES ($1, $2, $3, 'ACTIVE', now(), now())",
        list(zip(partnerships, [brand] * partners, ids, strict=True)),
    )
    return {"brand": brand, "user": user, "partners": ids, "partnerships": partnerships}


async def partner_users(db: asyncpg.Connection, partners: list[uuid.UUID]) -> list[uuid.UUID]:
    """One MESSAGING user for each of these partners (for their websockets)."""
    users = []
    for partner in partners:
        role, user = uuid.uuid4(), uuid.uuid4()
        await db.execute(
            "INSERT INTO roles (id, account_id, name, built_in, permissions, created_at)"
            " VALUES ($1, $2, 'ACCOUNT_ADMIN', true, $3, now())",
            role,
            partner,
            ALL_PERMISSIONS,
        )
        await db.execute(
            "INSERT INTO users (id, account_id, role_id, email, name, created_at,"
            " notification_frequency) VALUES ($1, $2, $3, $4, 'Partner user', now(), 'OFF')",
            user,
            partner,
            role,
            f"{user.hex}@bench.test",
        )
        users.append(user)
    return users


class Socket:
    def __init__(self) -> None:
        self.lags: list[float] = []
        self.task: asyncio.Task[None] | None = None
        self.ws: Any = None


async def open_socket(url: str, user: uuid.UUID) -> Socket:
    sock = Socket()
    ws = await websockets.connect(
        url, subprotocols=[Subprotocol("graphql-transport-ws")], open_timeout=60
    )
    token = issue_token(SECRET, user)
    await ws.send(
        json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
    )
    assert json.loads(await ws.recv())["type"] == "connection_ack"
    await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIBE}}))
    sock.ws = ws

    async def read() -> None:
        try:
            async for raw in ws:
                if '"ping"' in raw[:30]:
                    await ws.send('{"type":"pong"}')
                    continue
                event = json.loads(raw)["payload"]["data"]["inboxEvents"]
                if event.get("__typename") == "MessageCreated":
                    sent = datetime.fromisoformat(event["message"]["sentAt"]).timestamp()
                    sock.lags.append(time.time() - sent)
        except websockets.ConnectionClosed:
            pass

    sock.task = asyncio.create_task(read())
    return sock


async def gql(client: httpx.AsyncClient, user: uuid.UUID, query: str, variables: Any) -> Any:
    token = issue_token(SECRET, user)
    response = await client.post(
        "/graphql",
        json={"query": query, "variables": variables},
        headers={"authorization": f"Bearer {token}"},
    )
    body = response.json()
    assert "errors" not in body, body
    return body["data"]


async def bulk_run(
    db: asyncpg.Connection,
    client: httpx.AsyncClient,
    brand: dict[str, Any],
    file: bytes | None = None,
) -> float:
    started = time.perf_counter()
    variables: dict[str, Any] = {"input": {"partnerFilter": {}, "body": "Hi {{partner.name}}"}}
    if file is None:
        data = await gql(client, brand["user"], SEND_BULK, variables)
    else:  # the GraphQL multipart request spec, as a client sends files
        variables["input"]["attachments"] = [None]
        response = await client.post(
            "/graphql",
            data={
                "operations": json.dumps({"query": SEND_BULK, "variables": variables}),
                "map": json.dumps({"0": ["variables.input.attachments.0"]}),
            },
            files={"0": ("logo.png", file, "image/png")},
            headers={
                "authorization": f"Bearer {issue_token(SECRET, brand['user'])}",
                "apollo-require-preflight": "true",
            },
        )
        body = response.json()
        assert "errors" not in body and not body["data"]["sendBulkMessage"]["errors"], body
        data = body["data"]
    bulk_id = uuid.UUID(data["sendBulkMessage"]["bulkSend"]["id"])
    while await db.fetchval("SELECT status FROM bulk_sends WHERE id = $1", bulk_id) != "DONE":  # noqa: ASYNC110
        await asyncio.sleep(0.01)
    elapsed = time.perf_counter() - started
    return elapsed


async def batched_insert(db: asyncpg.Connection, brand: dict[str, Any]) -> float:
    """The bulk path's write set for first messages, written by hand (see module doc)."""
    brand_id, user = brand["brand"], brand["user"]
    pairs = list(zip(brand["partnerships"], brand["partners"], strict=True))
    started = time.perf_counter()
    for start in range(0, len(pairs), CHUNK):
        chunk = pairs[start : start + CHUNK]
        now = datetime.now(UTC)
        conversations = [(uuid.uuid4(), uuid.uuid4(), ps, partner) for ps, partner in chunk]
        async with db.transaction():
            await db.executemany(
                "INSERT INTO conversations (id, partnership_id, brand_id, partner_id, started_by,"
                " last_seq, last_message_id, last_message_at, created_at)"
                " VALUES ($1, $2, $3, $4, 'BRAND', 1, $5, $6, $6)",
                [(c, ps, brand_id, p, m, now) for c, m, ps, p in conversations],
            )
            await db.executemany(
                "INSERT INTO participants (conversation_id, account_id, counterpart_id, last_seq,"
                " last_read_seq, last_activity_at) VALUES ($1, $2, $3, 1, $4, $5)",
                [
                    row
                    for c, _, _, p in conversations
                    for row in ((c, brand_id, p, 1, now), (c, p, brand_id, 0, now))
                ],
            )
            await db.executemany(
                "INSERT INTO messages (id, conversation_id, seq, body, sender_user_id,"
                " sender_account_id, request_digest, sent_at) VALUES ($1, $2, 1, $3, $4, $5, '', $6)",
                [(m, c, f"Hi {p}", user, brand_id, now) for c, m, _, p in conversations],
            )
            last = await db.fetchval(
                "UPDATE accounts SET event_seq = event_seq + $2 WHERE id = $1 RETURNING event_seq",
                brand_id,
                len(chunk),
            )
            seqs = dict(
                await db.fetch(
                    "UPDATE accounts SET event_seq = event_seq + 1 WHERE id = ANY($1::uuid[])"
                    " RETURNING id, event_seq",
                    [p for _, p in chunk],
                )
            )
            await db.executemany(
                "INSERT INTO events (account_id, seq, kind, conversation_id, message_id,"
                " created_at) VALUES ($1, $2, 'MESSAGE_CREATED', $3, $4, $5)",
                [
                    row
                    for n, (c, m, _, p) in enumerate(conversations)
                    for row in (
                        (brand_id, last - len(chunk) + 1 + n, c, m, now),
                        (p, seqs[p], c, m, now),
                    )
                ],
            )
    return time.perf_counter() - started


async def sequential(client: httpx.AsyncClient, brand: dict[str, Any], count: int) -> float:
    started = time.perf_counter()
    for n, partner in enumerate(brand["partners"][:count]):
        data = await gql(
            client,
            brand["user"],
            SEND,
            {"input": {"recipientAccountId": str(partner), "body": f"Hi {n}"}},
        )
        assert data["sendMessage"]["errors"] == [], data
    return time.perf_counter() - started


def spawn(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        return subprocess.Popen(
            [LIAISON, *args],
            env={**os.environ, **env},
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--recipients", type=int, default=5000)
    parser.add_argument("--sockets", type=int, default=300)
    parser.add_argument("--sequential", type=int, default=500, help="sendMessage calls")
    args = parser.parse_args()
    sequential_count = args.sequential
    name = f"liaison_bench_bulk_{os.getpid()}"
    admin = await asyncpg.connect(PG)
    await admin.execute(f'CREATE DATABASE "{name}"')
    url = f"{PG.rsplit('/', 1)[0]}/{name}"
    redis = RedisServer()
    redis.start()
    run_dir = ROOT / ".run" / "bench-bulk"
    run_dir.mkdir(parents=True, exist_ok=True)
    clamd = (
        await asyncio.to_thread(
            subprocess.run,
            [str(ROOT / "scripts" / "clamd.sh"), "start"],
            capture_output=True,
            text=True,
            check=True,
        )
    ).stdout.strip()
    port = free_port()
    env = {
        # As bench/__main__.py: a pool of 20 per process (the hub of `serve` reads each
        # watcher's new events on its own connection).
        "LIAISON_DATABASE_URL": f"{url}?maxsize=20",
        "LIAISON_REDIS_URL": redis.url,
        "LIAISON_CLAMD": clamd,
        "LIAISON_DATA_DIR": str(run_dir),
        "LIAISON_JWT_SECRET": SECRET,
        "LIAISON_ENV": "production",
        "LIAISON_RATE_LIMIT_USER_PER_MINUTE": "100000000",
        "LIAISON_RATE_LIMIT_ACCOUNT_PER_MINUTE": "100000000",
    }
    processes: list[subprocess.Popen[bytes]] = []
    try:
        await asyncio.to_thread(
            subprocess.run, [LIAISON, "migrate"], env={**os.environ, **env}, cwd=ROOT, check=True
        )
        db = await asyncpg.connect(url)
        brands = [
            await make_brand(db, "Brand 1", args.recipients),
            await make_brand(db, "Brand 2", args.recipients),
            await make_brand(db, "Brand 3", sequential_count),
            await make_brand(db, "Brand 4", args.recipients),
            await make_brand(db, "Brand 5", args.recipients),
        ]
        # Watchers spread evenly over brand 1's partners, as open inboxes would be.
        step = max(1, args.recipients // max(args.sockets, 1))
        watched = brands[0]["partners"][::step][: args.sockets]
        watchers = await partner_users(db, watched)
        warm_up = await make_brand(db, "Brand 0", 0)
        await db.executemany(
            "INSERT INTO partnerships (id, brand_id, partner_id, status, created_at, updated_at)"
            " VALUES ($1, $2, $3, 'ACTIVE', now(), now())",
            [(uuid.uuid4(), warm_up["brand"], p) for p in watched],
        )
        processes.append(spawn(["serve", "--port", str(port)], env, run_dir / "serve.log"))
        processes.append(spawn(["worker"], env, run_dir / "worker.log"))
        wait_for_port(port, 30)
        base = f"http://127.0.0.1:{port}"
        sockets = [await open_socket(f"ws://127.0.0.1:{port}/graphql", u) for u in watchers]
        async with httpx.AsyncClient(base_url=base, timeout=60) as client:
            # Warm-up, and proof that every subscription is live: a bulk send of another
            # brand to the watchers only, until each socket has its message.
            await bulk_run(db, client, warm_up)
            deadline = time.monotonic() + 60
            while any(not s.lags for s in sockets):
                if time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.05)
            live = sum(1 for s in sockets if s.lags)
            for sock in sockets:
                sock.lags.clear()
            bulk_seconds = await bulk_run(db, client, brands[0])
            print(f"bulk: {args.recipients / bulk_seconds:.0f} messages/s", file=sys.stderr)
            deadline = time.monotonic() + 30
            while sum(len(s.lags) for s in sockets) < len(sockets):
                if time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.05)
            insert_seconds = await batched_insert(db, brands[1])
            print(f"insert: {args.recipients / insert_seconds:.0f} messages/s", file=sys.stderr)
            sequential_seconds = await sequential(client, brands[2], sequential_count)
            plain_seconds = await bulk_run(db, client, brands[3])
            file_seconds = await bulk_run(db, client, brands[4], PNG)
            print(
                f"bulk with a file: {args.recipients / file_seconds:.0f} messages/s",
                file=sys.stderr,
            )
        lags = [lag for s in sockets for lag in s.lags]
        bulk_rate = args.recipients / bulk_seconds
        insert_rate = args.recipients / insert_seconds
        sequential_rate = sequential_count / sequential_seconds
        result = {
            "recipients": args.recipients,
            "bulk_messages_per_s": round(bulk_rate),
            "batched_insert_messages_per_s": round(insert_rate),
            "sequential_send_message_per_s": round(sequential_rate, 1),
            "bulk_vs_batched_insert": round(bulk_rate / insert_rate, 3),
            "bulk_vs_sequential": round(bulk_rate / sequential_rate, 1),
            "bulk_with_file_messages_per_s": round(args.recipients / file_seconds),
            "bulk_without_watchers_messages_per_s": round(args.recipients / plain_seconds),
            "bulk_with_file_vs_without": round(plain_seconds / file_seconds, 3),
            "sockets": len(sockets),
            "sockets_live_after_warm_up": live,
            "deliveries": len(lags),
            "delivery_p50_ms": round(statistics.median(lags) * 1000, 1) if lags else None,
            "delivery_p99_ms": round(pct(lags, 0.99) * 1000, 1) if lags else None,
            "delivery_max_ms": round(max(lags) * 1000, 1) if lags else None,
        }
        print(json.dumps(result, indent=2))
        for sock in sockets:
            await sock.ws.close()
        await db.close()
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
        redis.close()
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
