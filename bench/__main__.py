"""`python -m bench`: build (or reuse) the data set, run every scenario, print and save.

Each scenario runs against a real `liaison serve` over HTTP on 127.0.0.1, with the load
generator in its own process, and is reported as a ratio against a baseline measured in
the same run. See bench/README.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from bench import dataset, queries
from bench.servers import BIN, ROOT, baseline, liaison, load, post_json
from services.auth import issue_token
from services.cursors import CursorCodec

SECRET = "liaison-bench-secret-0123456789abcdef"  # >= 32 bytes for HS256
POOL = 10  # database connections per process, for the API and the baseline alike
RESULTS = Path(__file__).with_name("results.json")


def _inprocess(*args: str) -> str:
    """The stdout of `python -m bench.inprocess ARGS` (measured in its own process)."""
    return subprocess.run(
        [sys.executable, "-m", "bench.inprocess", *args],
        capture_output=True,
        text=True,
        check=True,
        cwd=ROOT,
    ).stdout


def _env(db: str) -> dict[str, str]:
    return {
        "LIAISON_DATABASE_URL": f"postgres://postgres@127.0.0.1:5432/{db}?maxsize={POOL}",
        "LIAISON_JWT_SECRET": SECRET,
        "LIAISON_ENV": "production",
        "LIAISON_REDIS_URL": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/14"),
        "LIAISON_DATA_DIR": str(ROOT / ".run" / "bench-data"),
        # The bench measures speed, not the limiter: one user sends thousands a minute.
        "LIAISON_RATE_LIMIT_USER_PER_MINUTE": "100000000",
        "LIAISON_RATE_LIMIT_ACCOUNT_PER_MINUTE": "100000000",
    }


def _gql(query: str, variables: dict[str, Any]) -> str:
    return json.dumps({"query": query, "variables": variables})


def _machine() -> dict[str, Any]:
    mem_kb = int(Path("/proc/meminfo").read_text().split()[1])
    cpu = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor(),
    )
    return {
        "nproc": os.cpu_count(),
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "cpu": cpu,
        "python": platform.python_version(),
    }


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m bench")
    parser.add_argument("--db", default="liaison_bench")
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per throughput run")
    parser.add_argument("--r6-seconds", type=float, default=30.0, help="at 0.8x saturation")
    parser.add_argument("--r6-300-seconds", type=float, default=15.0, help="at 300 req/s")
    parser.add_argument("--r6-workers", type=int, default=2)
    parser.add_argument("--profile", action="store_true", help="also profile the inbox path")
    parser.add_argument(
        "--only-r0",
        action="store_true",
        help="only the R0 inbox pair (API vs baseline), printed; no other scenario or table",
    )
    parser.add_argument(
        "--lane-ab",
        action="store_true",
        help="with --only-r0: also CPU per inbox request in process, known-document lane on/off",
    )
    args = parser.parse_args()
    started = time.monotonic()
    loadavg_start = Path("/proc/loadavg").read_text().split()[0]
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
    t = time.monotonic()
    handles, built = asyncio.run(dataset.ensure(dsn))
    print(f"data set {'built' if built else 'reused'} in {time.monotonic() - t:.1f}s", flush=True)
    token = issue_token(SECRET, handles.brand_user_id, ttl=timedelta(hours=6))
    headers = {"Authorization": f"Bearer {token}"}
    runs: dict[str, Any] = {}
    d = args.duration

    def run(name: str, server: Any, url: str, body: str, **spec: Any) -> dict[str, Any]:
        spec.setdefault("duration", d)
        result = load(server, url=url, body=body, headers=headers, **spec)
        runs.setdefault(name, []).append(result)
        print(
            f"  {name:24} {result['rps']:7.1f} req/s  p50 {result['p50_ms']:7.2f}  "
            f"p99 {result['p99_ms']:7.2f} ms  err {result['errors']}  server "
            f"{result['server_cpu_ms_per_req']:.2f} ms CPU/req ({result['server_cpu_pct']}%)  "
            f"generator {result['generator_cpu_pct']}%  load {result['loadavg_after']}",
            flush=True,
        )
        if result["errors"]:
            print(f"    first error: {result['first_error']}", flush=True)
        return result

    def pair(name: str, a: tuple[Any, str], b: tuple[Any, str], body: str, **spec: Any) -> None:
        """API and baseline alternately, two rounds of half the time each: other load on
        the machine then falls on both sides alike."""
        spec.setdefault("duration", d / 2)
        for _ in range(2):
            run(f"{name} api", a[0], a[1], body, **spec)
            run(f"{name} baseline", b[0], b[1], body, **spec)

    inbox = _gql(queries.INBOX, {"first": 20})
    partners = _gql(queries.PARTNERS, {"statuses": ["ACTIVE"], "search": handles.search})
    deep = str(handles.deep_conversation_id)
    page_1000 = CursorCodec(SECRET).encode(f"msg:{deep}", 999 * 50)

    def send_body(tag: str) -> str:
        return _gql(
            queries.SEND,
            {
                "input": {
                    "recipientAccountId": "{r}",
                    "body": "Bench message {n}: the new creatives are live.",
                    "clientMessageId": f"bench-{tag}-{int(time.time())}-{{n}}",
                }
            },
        )

    recipients = [str(r) for r in handles.send_recipients]

    print("R0 / R0c / send: one API worker vs the one-process baseline", flush=True)
    with liaison(env, workers=1) as (api, api_proc), baseline(dsn, SECRET, POOL) as (bl, bl_proc):
        same = post_json(f"{api}/graphql", json.loads(inbox), token)
        assert same == post_json(f"{bl}/inbox", json.loads(inbox), token), "inbox JSON differs"
        gql_url, api_side = f"{api}/graphql", (api_proc, f"{api}/graphql")
        pair("R0 inbox", api_side, (bl_proc, f"{bl}/inbox"), inbox, concurrency=8)
        if args.only_r0:
            a, b = runs["R0 inbox api"], runs["R0 inbox baseline"]
            api_rps = sum(r["rps"] for r in a) / len(a)
            base_rps = sum(r["rps"] for r in b) / len(b)
            cpu = sum(r["server_cpu_ms_per_req"] for r in a) / len(a)
            print(
                f"R0 inbox: API {api_rps:.1f} req/s, baseline {base_rps:.1f} req/s, ratio "
                f"{api_rps / base_rps:.3f}; API server CPU {cpu:.2f} ms/req",
                flush=True,
            )
            if args.lane_ab:
                config = json.dumps({"env": env, "user_id": str(handles.brand_user_id)})
                print(f"in process, CPU ms per inbox request: {_inprocess('--lane-ab', config)}")
            return 0
        pair("R0c partners", api_side, (bl_proc, f"{bl}/partners"), partners, concurrency=8)
        run(
            "R0c messages page 1",
            api_proc,
            gql_url,
            _gql(queries.MESSAGES, {"id": deep, "after": None}),
            concurrency=8,
            expect='"seq":1,',
        )
        run(
            "R0c messages page 1000",
            api_proc,
            gql_url,
            _gql(queries.MESSAGES, {"id": deep, "after": page_1000}),
            concurrency=8,
            expect=f'"seq":{999 * 50 + 1},',
        )
        run(
            "send api",
            api_proc,
            gql_url,
            send_body("api"),
            concurrency=8,
            rotate=recipients,
            expect='"errors":[]',
            warmup=0.5,
        )
        run(
            "send baseline",
            bl_proc,
            f"{bl}/send",
            send_body("baseline"),
            concurrency=8,
            rotate=recipients,
            warmup=0.5,
        )
    asyncio.run(dataset.ensure(dsn))  # undo the sends before the latency run

    print("R0b: in-process, ms per inbox operation", flush=True)
    config = json.dumps(
        {
            "env": env,
            "user_id": str(handles.brand_user_id),
            "search": handles.search,
            "deep_id": deep,
        }
    )
    r0b = json.loads(_inprocess(config))
    for unit, values in r0b.items():
        print(f"  {unit}: " + "  ".join(f"{k} {v}" for k, v in values.items()), flush=True)

    # R6 on any machine: the API's own saturated throughput first (closed loop, enough
    # connections to keep both workers busy), then an open-loop offer of 0.8x of it.
    print(f"R6: inbox, {args.r6_workers} API workers", flush=True)
    with liaison(env, workers=args.r6_workers) as (api, api_proc):
        url = f"{api}/graphql"
        saturated = run("R6 saturated", api_proc, url, inbox, concurrency=32, duration=6.0)
        offered = round(0.8 * saturated["rps"], 1)
        runs["R6 offered rate"] = [{"rate": offered}]
        run(
            "R6 inbox 0.8x saturated",
            api_proc,
            url,
            inbox,
            rate=offered,
            concurrency=64,
            duration=args.r6_seconds,
            warmup=2.0,
        )
        run(
            "R6 inbox 300/s",
            api_proc,
            url,
            inbox,
            rate=300.0,
            concurrency=64,
            duration=args.r6_300_seconds,
            warmup=2.0,
        )

    if args.profile:
        out = _inprocess("--profile", config)
        profile_path = ROOT / ".run" / "bench-inbox-profile.txt"
        profile_path.write_text(out)
        print(f"profile written to {profile_path}", flush=True)

    results = _summarise(runs, r0b, args)
    results["machine"] = _machine()
    results["data_set"] = {
        "partnerships": dataset.PARTNERSHIPS,
        "conversations": dataset.CONVERSATIONS,
        "messages": dataset.MESSAGES,
        "built_this_run": built,
    }
    results["when"] = datetime.now(UTC).isoformat(timespec="seconds")
    results["loadavg_at_start"] = loadavg_start
    results["total_seconds"] = round(time.monotonic() - started, 1)
    RESULTS.write_text(json.dumps(results, indent=2) + "\n")
    _print_table(results)
    print(f"\n{results['total_seconds']}s in all; written to {RESULTS.relative_to(ROOT)}")
    return 0 if all(row["ok"] is not False for row in results["table"]) else 1


def _merge(rounds: list[dict[str, Any]]) -> dict[str, Any]:
    """Rounds of one scenario as one: throughput over all rounds, the median round's
    percentiles, the mean CPU per request."""

    def median(key: str) -> float:
        return float(statistics.median(r[key] for r in rounds))

    requests = sum(r["requests"] for r in rounds)
    return {
        "rps": round(requests / sum(r["wall_s"] for r in rounds), 1),
        "p50_ms": median("p50_ms"),
        "p95_ms": median("p95_ms"),
        "p99_ms": median("p99_ms"),
        "errors": sum(r["errors"] for r in rounds),
        "requests": requests,
        "server_cpu_ms_per_req": round(
            statistics.mean(r["server_cpu_ms_per_req"] for r in rounds), 3
        ),
    }


def _summarise(
    raw: dict[str, list[dict[str, Any]]], r0b: dict[str, Any], args: Any
) -> dict[str, Any]:
    offered = raw.pop("R6 offered rate")[0]["rate"]
    runs = {name: _merge(rounds) for name, rounds in raw.items()}
    table: list[dict[str, Any]] = []

    def ratio(a: float, b: float) -> float:
        return round(a / b, 3) if b else float("nan")

    def row(name: str, value: str, base: str, r: float | None, goal: str, ok: bool | None) -> None:
        table.append(
            {"scenario": name, "value": value, "baseline": base, "ratio": r, "goal": goal, "ok": ok}
        )

    a, b = runs["R0 inbox api"], runs["R0 inbox baseline"]
    r = ratio(a["rps"], b["rps"])
    row("R0 inbox page, req/s (8 conns)", f"{a['rps']}", f"{b['rps']}", r, ">= 0.50", r >= 0.5)
    r = ratio(b["server_cpu_ms_per_req"], a["server_cpu_ms_per_req"])
    row(
        "R0 inbox server CPU ms/req",
        f"{a['server_cpu_ms_per_req']}",
        f"{b['server_cpu_ms_per_req']}",
        r,
        ">= 0.50 (<= 2x)",
        r >= 0.5,
    )
    cpu = r0b["cpu_ms"]
    row(
        "R0b Strawberry vs graphql-core, CPU ms/op",
        f"{cpu['strawberry_bare']}",
        f"{cpu['graphql_core']}",
        ratio(cpu["graphql_core"], cpu["strawberry_bare"]),
        "report",
        None,
    )
    ext = round(cpu["strawberry_ours"] / cpu["strawberry_bare"] - 1, 3)
    row(
        "R0b our extensions' cost, CPU ms/op",
        f"{cpu['strawberry_ours']}",
        f"{cpu['strawberry_bare']}",
        ext,
        "<= 0.10",
        ext <= 0.10,
    )
    a, b = runs["R0c partners api"], runs["R0c partners baseline"]
    r = ratio(a["rps"], b["rps"])
    row("R0c partners ACTIVE+search, req/s", f"{a['rps']}", f"{b['rps']}", r, ">= 0.60", r >= 0.6)
    a, b = runs["R0c messages page 1000"], runs["R0c messages page 1"]
    depth = ratio(a["p50_ms"], b["p50_ms"])
    row(
        "R0c messages p50 ms, page 1000 vs 1",
        f"{a['p50_ms']}",
        f"{b['p50_ms']}",
        depth,
        "<= 1.25 (flat)",
        depth <= 1.25,
    )
    row(
        "R6 saturated throughput, req/s", f"{runs['R6 saturated']['rps']}", "", None, "report", None
    )
    a = runs["R6 inbox 0.8x saturated"]
    row(
        f"R6 inbox at {offered}/s (0.8x) {args.r6_seconds:.0f}s p50/p95/p99 ms",
        f"{a['p50_ms']}/{a['p95_ms']}/{a['p99_ms']}",
        f"{a['rps']} req/s served",
        None,
        "p99 <= 100",
        a["p99_ms"] <= 100 and a["errors"] == 0,
    )
    a = runs["R6 inbox 300/s"]
    row(
        f"R6 inbox 300/s {args.r6_300_seconds:.0f}s p50/p95/p99 ms",
        f"{a['p50_ms']}/{a['p95_ms']}/{a['p99_ms']}",
        f"{a['rps']} req/s served",
        None,
        "report",
        None,
    )
    a, b = runs["send api"], runs["send baseline"]
    row(
        "send text, sends/s (8 conns)",
        f"{a['rps']}",
        f"{b['rps']}",
        ratio(a["rps"], b["rps"]),
        "report",
        None,
    )
    row(
        "send p50/p99 ms",
        f"{a['p50_ms']}/{a['p99_ms']}",
        f"{b['p50_ms']}/{b['p99_ms']}",
        None,
        "report",
        None,
    )
    for name, cpu_ms in r0b.get("per_query_cpu_ms", {}).items():
        row(
            f"CPU ms/op {name}: compiled vs graphql-core",
            f"{cpu_ms['compiled']}",
            f"{cpu_ms['graphql-core']}",
            ratio(cpu_ms["graphql-core"], cpu_ms["compiled"]),
            "report (speed-up)",
            None,
        )
    return {"table": table, "scenarios": runs, "rounds": raw, "r0b": r0b, "r6_offered": offered}


def _print_table(results: dict[str, Any]) -> None:
    heads = ("scenario", "value", "baseline", "ratio", "goal", "ok")
    rows = [
        [
            str(
                "" if r[h] is None else ("yes" if r[h] is True else "NO" if r[h] is False else r[h])
            )
            for h in heads
        ]
        for r in results["table"]
    ]
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(heads)]
    print()
    print("  ".join(h.ljust(w) for h, w in zip(heads, widths, strict=True)))
    print("  ".join("-" * w for w in widths))
    for r in rows:
        print("  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)))
    m = results["machine"]
    print(f"\nmachine: {m['nproc']} CPUs ({m['cpu']}), {m['memory_gib']} GiB, Python {m['python']}")


if __name__ == "__main__":
    sys.exit(main())
