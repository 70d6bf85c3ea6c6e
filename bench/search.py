"""`searchMessages` (a common and a rare word) and `Viewer.inboxCounts` on the bench data set
(100,000 messages, PostgreSQL), against the same SQL run by hand on asyncpg.

    .venv/bin/python -m bench.search [--db liaison_bench] [--duration 6]

The API is a real `liaison serve` (one uvicorn process, production settings, Redis bus);
the baseline is `bench/baseline.py` (bare Starlette + asyncpg, same pool size), whose
`/search` runs the very statements of `services.search.find` and the same snippet
code, and answers byte-for-byte the JSON of the GraphQL query (checked before measuring).
Per scenario: latency with one connection (p50, p99) and throughput with 8 connections,
API and baseline alternately, two rounds each. Ratios are baseline / API for p50 and
API / baseline for req/s (goal >= 0.5 each; common word p50 <= 50 ms; inboxCounts p50 <= 5 ms).
The rare word is sent through `sendMessage` to 10 conversations at the start (so the send
transaction's index write is exercised); `bench.dataset.reset` removes them on the next run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from bench import dataset
from bench.__main__ import POOL, SECRET, _env, _gql
from bench.servers import BIN, ROOT, baseline, liaison, load, post_json
from services.auth import issue_token

SEARCH = """query Search($q: String!, $first: Int) { searchMessages(query: $q, first: $first) {
  pageInfo { hasNextPage endCursor }
  edges { cursor snippet highlights { start length } node { id body sentAt } } } }"""
COUNTS = """query Counts { viewer { inboxCounts {
  inbox unread priority done spam assignedToMe } } }"""
COMMON, RARE = "the", "zanzibar"
RESULTS = Path(__file__).with_name("search-results.json")


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.search")
    parser.add_argument("--db", default="liaison_bench")
    parser.add_argument("--duration", type=float, default=6.0, help="seconds per scenario side")
    args = parser.parse_args()
    started = time.monotonic()
    env = _env(args.db)
    dsn = f"postgres://postgres@127.0.0.1:5432/{args.db}"
    asyncio.run(dataset.ensure_database("postgres://postgres@127.0.0.1:5432/postgres", args.db))
    subprocess.run(
        [str(BIN / "liaison"), "migrate"],
        env={**os.environ, **env},
        check=True,
        cwd=ROOT,
        capture_output=True,
    )
    handles, built = asyncio.run(dataset.ensure(dsn))
    print(f"data set {'built' if built else 'reused'}", flush=True)
    token = issue_token(SECRET, handles.brand_user_id, ttl=timedelta(hours=6))
    headers = {"Authorization": f"Bearer {token}"}
    runs: dict[str, list[dict[str, Any]]] = {}

    def run(name: str, server: Any, url: str, body: str, **spec: Any) -> None:
        spec.setdefault("duration", args.duration / 2)
        result = load(server, url=url, body=body, headers=headers, warmup=0.5, **spec)
        runs.setdefault(name, []).append(result)
        print(
            f"  {name:28} {result['rps']:7.1f} req/s  p50 {result['p50_ms']:7.2f}  "
            f"p99 {result['p99_ms']:7.2f} ms  err {result['errors']}  "
            f"server {result['server_cpu_ms_per_req']:.2f} ms CPU/req  "
            f"load {result['loadavg_after']}",
            flush=True,
        )

    with liaison(env, workers=1) as (api, api_proc), baseline(dsn, SECRET, POOL) as (bl, bl_proc):
        gql = f"{api}/graphql"
        for n, recipient in enumerate(handles.send_recipients[:10]):
            sent = post_json(
                gql,
                json.loads(
                    _gql(
                        """mutation($input: SendMessageInput!) { sendMessage(input: $input) {
                          errors { code } } }""",
                        {
                            "input": {
                                "recipientAccountId": str(recipient),
                                "body": f"Zanzibar launch notes, part {n}.",
                                "clientMessageId": f"bench-search-{time.time()}-{n}",
                            }
                        },
                    )
                ),
                token,
            )
            assert sent["data"]["sendMessage"]["errors"] == [], sent
        scenarios = {
            "common": (gql, f"{bl}/search", _gql(SEARCH, {"q": COMMON, "first": 20})),
            "rare": (gql, f"{bl}/search", _gql(SEARCH, {"q": RARE, "first": 20})),
            "counts": (gql, f"{bl}/counts", _gql(COUNTS, {})),
        }
        for name, (a_url, b_url, body) in scenarios.items():
            same = post_json(a_url, json.loads(body), token)
            assert same == post_json(b_url, json.loads(body), token), f"{name}: JSON differs"
            if name == "rare":
                assert len(same["data"]["searchMessages"]["edges"]) == 10, same
            for _ in range(2):
                run(f"{name} api 1 conn", api_proc, a_url, body, concurrency=1)
                run(f"{name} baseline 1 conn", bl_proc, b_url, body, concurrency=1)
            for _ in range(2):
                run(f"{name} api 8 conns", api_proc, a_url, body, concurrency=8)
                run(f"{name} baseline 8 conns", bl_proc, b_url, body, concurrency=8)
    table = _table(runs)
    out = {
        "table": table,
        "runs": runs,
        "seconds": round(time.monotonic() - started, 1),
        "loadavg": Path("/proc/loadavg").read_text().split()[:3],
    }
    RESULTS.write_text(json.dumps(out, indent=2) + "\n")
    print()
    for row in table:
        print("  ".join(str(v) for v in row.values()))
    print(f"\n{out['seconds']}s; written to {RESULTS.relative_to(ROOT)}")
    return 0


def _median(rounds: list[dict[str, Any]], key: str) -> float:
    values = sorted(r[key] for r in rounds)
    return float(values[len(values) // 2] if len(values) % 2 else sum(values) / len(values))


def _table(runs: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    rows = []
    for name in ("common", "rare", "counts"):
        a1, b1 = runs[f"{name} api 1 conn"], runs[f"{name} baseline 1 conn"]
        a8, b8 = runs[f"{name} api 8 conns"], runs[f"{name} baseline 8 conns"]
        p50_a, p50_b = _median(a1, "p50_ms"), _median(b1, "p50_ms")
        rps_a = sum(r["requests"] for r in a8) / sum(r["wall_s"] for r in a8)
        rps_b = sum(r["requests"] for r in b8) / sum(r["wall_s"] for r in b8)
        rows.append(
            {
                "scenario": name,
                "api_p50_ms": round(p50_a, 2),
                "baseline_p50_ms": round(p50_b, 2),
                "p50_ratio": round(p50_b / p50_a, 3),
                "api_rps": round(rps_a, 1),
                "baseline_rps": round(rps_b, 1),
                "rps_ratio": round(rps_a / rps_b, 3),
                "api_cpu_ms_per_req": round(
                    sum(r["server_cpu_ms_per_req"] for r in a8) / len(a8), 3
                ),
            }
        )
    return rows


if __name__ == "__main__":
    sys.exit(main())
