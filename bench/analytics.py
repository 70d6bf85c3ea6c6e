"""`messagingStats(groupBy: DAY)` over 100,000 messages in a year, on PostgreSQL, against
the very same SQL run directly with asyncpg.

    .venv/bin/python -m bench.analytics [--messages 100000] [--rounds 15] [--keep]

Builds `liaison_bench_analytics` (dropped and re-created unless `--keep` finds it filled):
one brand, 200 partners, one conversation each, `--messages` messages spread over 2025
(3 % with an attachment, 5 % of those INFECTED). Then, after 3 warm-up calls each:

- API: `POST /graphql` with `messagingStats(filter: 2025, groupBy: DAY) { buckets {…} }` to a
  real `liaison serve` (uvicorn, one process) over 127.0.0.1: auth, GraphQL, zero-filling, JSON.
- direct: `asyncpg.fetch` of the statement `services.analytics_sql.build` produces for the
  same filter, on one open connection.

Reports medians and the ratio direct / API (1.0 = no overhead; the goal is >= 0.7).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import socket
import statistics
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from tortoise import Tortoise

from gql.cli import migrate
from gql.settings import Settings
from models import AccountKind, Conversation, Partnership, PartnershipStatus
from services import accounts, analytics_sql
from services.auth import issue_token

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
ADMIN = "postgres://postgres@127.0.0.1:5432/test"
DB = "liaison_bench_analytics"
DSN = f"postgres://postgres@127.0.0.1:5432/{DB}"
SECRET = "liaison-bench-analytics-secret-0123456789"
YEAR = datetime(2025, 1, 1, tzinfo=UTC)
QUERY = """
query Stats($filter: MessagingStatsFilter!) {
  messagingStats(filter: $filter, groupBy: DAY) {
    buckets { key messagesSent messagesReceived conversationsStarted conversationsWithReply
              medianFirstResponseSeconds attachments attachmentsInfected }
  }
}
"""


async def build(messages: int, keep: bool) -> tuple[uuid.UUID, uuid.UUID]:
    """The data set; returns (brand id, analyst user id)."""
    admin = await asyncpg.connect(ADMIN)
    exists = await admin.fetchval("SELECT 1 FROM pg_database WHERE datname = $1", DB)
    if exists and keep:
        await admin.close()
        conn = await asyncpg.connect(DSN)
        row = await conn.fetchrow(
            "SELECT u.id, u.account_id FROM users u JOIN roles r ON r.id = u.role_id "
            "WHERE r.name = 'ANALYST' LIMIT 1"
        )
        count = await conn.fetchval("SELECT count(*) FROM messages")
        await conn.close()
        if row is not None and count == messages:
            return row["account_id"], row["id"]
        admin = await asyncpg.connect(ADMIN)
    await admin.execute(f'DROP DATABASE IF EXISTS "{DB}" WITH (FORCE)')
    await admin.execute(f'CREATE DATABASE "{DB}"')
    await admin.close()
    settings = Settings(database_url=DSN, jwt_secret=SECRET)
    await migrate(settings)
    await Tortoise.init(config=settings.tortoise_config())
    try:
        brand = await accounts.create_account("Bench Brand", AccountKind.BRAND)
        brand_user = await accounts.create_user(brand, "cm@bench.test", "CM", "COMMUNITY_MANAGER")
        analyst = await accounts.create_user(brand, "analyst@bench.test", "Analyst", "ANALYST")
        conversations = []
        statuses = list(PartnershipStatus)
        for n in range(200):
            partner = await accounts.create_account(f"Partner {n:03}", AccountKind.PARTNER)
            user = await accounts.create_user(partner, f"p{n}@bench.test", f"P{n}", "ACCOUNT_ADMIN")
            partnership = await Partnership.create(
                brand=brand, partner=partner, status=statuses[n % len(statuses)]
            )
            conversation = await Conversation.create(
                partnership=partnership,
                brand=brand,
                partner=partner,
                started_by=AccountKind.BRAND,
            )
            conversations.append((conversation.id, partner.id, user.id))
    finally:
        await Tortoise.close_connections()
    rng = random.Random(7)
    rows: list[tuple[Any, ...]] = []
    attachments: list[tuple[Any, ...]] = []
    per_conversation = messages // len(conversations)
    for index, (conversation_id, partner_id, partner_user) in enumerate(conversations):
        count = per_conversation + (1 if index < messages % len(conversations) else 0)
        start = YEAR + timedelta(seconds=rng.uniform(0, 300 * 86400))
        span = (YEAR.replace(year=2026) - start).total_seconds()
        times = sorted(start + timedelta(seconds=rng.uniform(0, span)) for _ in range(count - 1))
        for seq, sent_at in enumerate([start, *times], start=1):
            from_brand = seq == 1 or rng.random() < 0.55
            message_id = uuid.uuid4()
            rows.append(
                (
                    message_id,
                    conversation_id,
                    seq,
                    "bench message",
                    brand_user.id if from_brand else partner_user,
                    brand.id if from_brand else partner_id,
                    None,
                    "0" * 64,
                    sent_at,
                )
            )
            if rng.random() < 0.03:
                infected = rng.random() < 0.05
                attachments.append(
                    (
                        uuid.uuid4(),
                        message_id,
                        0,
                        "f.pdf",
                        "application/pdf",
                        1000,
                        "0" * 64,
                        f"bench/{uuid.uuid4()}",
                        "INFECTED" if infected else "CLEAN",
                        1,
                        None,
                        sent_at,
                        sent_at,
                    )
                )
    conn = await asyncpg.connect(DSN)
    try:
        await conn.copy_records_to_table(
            "messages",
            records=rows,
            columns=[
                "id",
                "conversation_id",
                "seq",
                "body",
                "sender_user_id",
                "sender_account_id",
                "client_message_id",
                "request_digest",
                "sent_at",
            ],
        )
        await conn.copy_records_to_table(
            "attachments",
            records=attachments,
            columns=[
                "id",
                "message_id",
                "position",
                "filename",
                "content_type",
                "size",
                "sha256",
                "storage_key",
                "scan_status",
                "scan_attempts",
                "scan_detail",
                "scanned_at",
                "created_at",
            ],
        )
        await conn.execute("ANALYZE")
    finally:
        await conn.close()
    return brand.id, analyst.id


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def start_server(port: int) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "LIAISON_DATABASE_URL": DSN,
        "LIAISON_JWT_SECRET": SECRET,
        "LIAISON_ENV": "production",
        "LIAISON_DATA_DIR": str(ROOT / ".run" / "bench-analytics"),
    }
    process = subprocess.Popen(
        [str(BIN / "liaison"), "serve", "--port", str(port)],
        env=env,
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.1)
    process.terminate()
    raise RuntimeError("liaison serve did not start")


async def timed(work: Any, rounds: int, warmup: int = 3) -> list[float]:
    for _ in range(warmup):
        await work()
    times = []
    for _ in range(rounds):
        started = time.perf_counter()
        await work()
        times.append(time.perf_counter() - started)
    return times


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--keep", action="store_true", help="reuse a filled database")
    args = parser.parse_args()
    brand_id, analyst_id = await build(args.messages, args.keep)
    start, end = YEAR, YEAR.replace(year=2026)
    variables = {"filter": {"from": start.isoformat(), "to": end.isoformat()}}
    sql, params = analytics_sql.build(
        "postgres",
        "DAY",
        brand_side=True,
        account_id=brand_id,
        start=start,
        end=end,
        statuses=None,
        counterpart_ids=None,
    )
    port = free_port()
    server = start_server(port)
    conn = await asyncpg.connect(DSN)
    try:
        headers = {"authorization": f"Bearer {issue_token(SECRET, analyst_id)}"}
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}", timeout=60) as client:

            async def api() -> None:
                response = await client.post(
                    "/graphql", json={"query": QUERY, "variables": variables}, headers=headers
                )
                body = response.json()
                assert "errors" not in body, body
                assert len(body["data"]["messagingStats"]["buckets"]) == 365

            async def direct() -> None:
                rows = await conn.fetch(sql, *params)
                assert 300 < len(rows) <= 365  # days with messages (the API zero-fills)

            api_times = await timed(api, args.rounds)
            direct_times = await timed(direct, args.rounds)
    finally:
        await conn.close()
        server.terminate()
        server.wait(15)
    api_median = statistics.median(api_times)
    direct_median = statistics.median(direct_times)
    print(f"messages: {args.messages}, rounds: {args.rounds}")
    print(
        f"API (HTTP, GraphQL) median: {api_median * 1000:.1f} ms (min {min(api_times) * 1000:.1f})"
    )
    print(
        f"direct asyncpg median:      {direct_median * 1000:.1f} ms "
        f"(min {min(direct_times) * 1000:.1f})"
    )
    print(f"ratio direct / API: {direct_median / api_median:.2f}")


if __name__ == "__main__":
    asyncio.run(main())
