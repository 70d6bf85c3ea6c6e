"""Platform upserts on PostgreSQL: `upsertPartnerships` vs a hand-written INSERT … ON CONFLICT.

Creates its own database on the PostgreSQL at 127.0.0.1:5432 (dropped at the end), pushes
one brand and 5,000 partner accounts through `upsertAccounts`, then per round:

- *create*: 5,000 new partnerships in batches of 500 through `upsertPartnerships` — the
  whole HTTP path in process (ASGI app, platform token, GraphQL validation, the service,
  per-item results) — against the same 5,000 rows written by one hand-written
  `INSERT … SELECT unnest(…) ON CONFLICT (brand_id, partner_id) DO UPDATE` per batch of 500
  on a bare asyncpg connection (ids already resolved, no results, no checks);
- *change*: the same 5,000 with another status (each change also records a
  PartnershipUpdated event for both accounts) against the same hand-written statement.

Ratio = hand-written time / Liaison time (1.0: as fast; the goal for create is ≥ 0.3).

Run: `.venv/bin/python -m bench.platform_upserts --rounds 3`
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import subprocess
import tempfile
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import asyncpg
import httpx
from tortoise import Tortoise

from gql.app import create_app
from gql.cli import migrate
from gql.settings import Settings
from services.auth import issue_platform_token

PG = "postgres://postgres@127.0.0.1:5432"
PARTNERS = 5_000
BATCH = 500
SECRET = "bench-secret-" + "x" * 32

UPSERT_ACCOUNTS = """mutation($input: [UpsertAccountInput!]!) {
  upsertAccounts(input: $input) { results { id error { code } } } }"""
UPSERT_PARTNERSHIPS = """mutation($input: [UpsertPartnershipInput!]!) {
  upsertPartnerships(input: $input) { results { externalId id created error { code } } } }"""
HAND_WRITTEN = """
INSERT INTO partnerships (id, brand_id, partner_id, status, created_at, updated_at)
SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[], $5::timestamptz[],
                     $5::timestamptz[])
ON CONFLICT (brand_id, partner_id) DO UPDATE SET status = EXCLUDED.status,
                                                 updated_at = EXCLUDED.updated_at
"""


async def post(client: httpx.AsyncClient, query: str, items: list[dict[str, Any]]) -> list[Any]:
    response = await client.post("/graphql", json={"query": query, "variables": {"input": items}})
    response.raise_for_status()
    (payload,) = response.json()["data"].values()
    results: list[Any] = payload["results"]
    assert all(r["error"] is None for r in results), results[:3]
    return results


async def liaison_round(client: httpx.AsyncClient, status: str) -> float:
    started = time.perf_counter()
    for start in range(0, PARTNERS, BATCH):
        items = [
            {"brandExternalId": "brand", "partnerExternalId": f"p{n}", "status": status}
            for n in range(start, start + BATCH)
        ]
        results = await post(client, UPSERT_PARTNERSHIPS, items)
        assert len(results) == BATCH
    return time.perf_counter() - started


async def hand_written_round(
    conn: asyncpg.Connection, brand: uuid.UUID, partners: list[uuid.UUID], status: str
) -> float:
    started = time.perf_counter()
    for start in range(0, PARTNERS, BATCH):
        chunk = partners[start : start + BATCH]
        now = [datetime.now(UTC)] * len(chunk)
        await conn.execute(
            HAND_WRITTEN,
            [uuid.uuid4() for _ in chunk],
            [brand] * len(chunk),
            chunk,
            [status] * len(chunk),
            now,
        )
    return time.perf_counter() - started


async def run(rounds: int) -> None:
    db = f"liaison_bench_platform_{uuid.uuid4().hex[:8]}"
    subprocess.run(["psql", f"{PG}/test", "-q", "-c", f'CREATE DATABASE "{db}"'], check=True)  # noqa: ASYNC221
    url = f"{PG}/{db}"
    try:
        with tempfile.TemporaryDirectory() as data_dir:
            settings = Settings(
                database_url=url, data_dir=Path(data_dir), jwt_secret=SECRET, env="production"
            )
            await migrate(settings)
            await measure(settings, url, rounds)
    finally:
        subprocess.run(  # noqa: ASYNC221
            ["psql", f"{PG}/test", "-q", "-c", f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'],
            check=True,
        )


async def measure(settings: Settings, url: str, rounds: int) -> None:
    app = create_app(settings)
    token = issue_platform_token(SECRET)
    transport = httpx.ASGITransport(app=app)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(
            transport=transport,
            base_url="http://bench",
            headers={"authorization": f"Bearer {token}"},
            timeout=120,
        ) as client,
    ):
        [brand] = await post(
            client, UPSERT_ACCOUNTS, [{"externalId": "brand", "kind": "BRAND", "name": "Brand"}]
        )
        partners: list[uuid.UUID] = []
        for start in range(0, PARTNERS, BATCH):
            items = [
                {"externalId": f"p{n}", "kind": "PARTNER", "name": f"Partner {n}"}
                for n in range(start, start + BATCH)
            ]
            partners += [uuid.UUID(r["id"]) for r in await post(client, UPSERT_ACCOUNTS, items)]
        brand_id = uuid.UUID(brand["id"])
        conn = await asyncpg.connect(url)
        figures: dict[str, list[tuple[float, float]]] = {"create": [], "change": []}
        try:
            await liaison_round(client, "PROSPECT")  # warm-up
            for _ in range(rounds):
                await conn.execute("TRUNCATE partnerships, events CASCADE")
                ours_create = await liaison_round(client, "PROSPECT")
                ours_change = await liaison_round(client, "ACTIVE")
                await conn.execute("TRUNCATE partnerships, events CASCADE")
                raw_create = await hand_written_round(conn, brand_id, partners, "PROSPECT")
                raw_change = await hand_written_round(conn, brand_id, partners, "ACTIVE")
                figures["create"].append((ours_create, raw_create))
                figures["change"].append((ours_change, raw_change))
        finally:
            await conn.close()
    await Tortoise.close_connections()
    print(f"{PARTNERS} partnerships in batches of {BATCH}, {rounds} rounds (medians):")
    for name, pairs in figures.items():
        ours = statistics.median(p[0] for p in pairs)
        raw = statistics.median(p[1] for p in pairs)
        print(
            f"  {name:6}  Liaison {ours * 1000:7.0f} ms ({PARTNERS / ours:7.0f}/s)"
            f"  hand-written {raw * 1000:6.0f} ms ({PARTNERS / raw:7.0f}/s)"
            f"  ratio {raw / ours:.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    asyncio.run(run(args.rounds))


if __name__ == "__main__":
    main()
