"""Soak: a long run at half the measured capacity, with live subscribers and uploads.

    .venv/bin/python -m bench.soak [--minutes 30] [--subscribers 200]

Starts its own PostgreSQL database (on the machine's server), a private Redis, a private clamd,
one `liaison serve` and one `liaison worker`. First measures capacity (sends/s with 16
concurrent senders for 15 s), then offers half of it, open loop, for `--minutes`, every fifth
send carrying a PNG, while `--subscribers` websockets follow their inboxes. Every 15 s it
samples the server's and the worker's RSS and open file descriptors and the window's send
latency; it prints one JSON line per sample and a summary: growth after warm-up (the first
fifth of the run) of RSS and fds (goal ≤ 5 %), and p99 per window (goal: stable).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import statistics
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import websockets
from websockets.typing import Subprotocol

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.realtime_fixtures import RedisServer, free_port, wait_for_port  # noqa: E402

PG = os.environ.get("LIAISON_TEST_PG", "postgres://postgres@127.0.0.1:5432/test")
BIN = Path(sys.executable).parent
SECRET = "soak-secret-" + "x" * 32
PNG = (ROOT / "tests" / "corpus" / "valid.png").read_bytes()
SEND = (
    "mutation($input: SendMessageInput!) { sendMessage(input: $input) "
    "{ message { id } errors { code } } }"
)
SUBSCRIBE = (
    "subscription { inboxEvents { __typename ... on MessageCreated { cursor message { id } } } }"
)


def proc_stats(pid: int) -> tuple[int, int]:
    """RSS in KiB and open file descriptors of a process."""
    rss = 0
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            rss = int(line.split()[1])
    return rss, len(os.listdir(f"/proc/{pid}/fd"))


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def psql(sql: str) -> None:
    subprocess.run(["psql", PG, "-v", "ON_ERROR_STOP=1", "-qc", sql], check=True)


class Load:
    def __init__(self, url: str, brand: dict[str, Any], partners: list[str]) -> None:
        self.url, self.brand, self.partners = url, brand, partners
        self.latencies: list[float] = []
        self.errors = 0
        self.sent = 0

    async def send(self, client: httpx.AsyncClient, n: int) -> None:
        variables: dict[str, Any] = {
            "input": {
                "recipientAccountId": self.partners[n % len(self.partners)],
                "body": f"soak {n}",
                "clientMessageId": uuid.uuid4().hex,
            }
        }
        headers = {"authorization": f"Bearer {self.brand['token']}"}
        started = time.perf_counter()
        try:
            if n % 5 == 0:
                variables["input"]["attachments"] = [None]
                ops = json.dumps({"query": SEND, "variables": variables})
                response = await client.post(
                    self.url,
                    data={"operations": ops, "map": '{"0": ["variables.input.attachments.0"]}'},
                    files={"0": ("p.png", PNG, "image/png")},
                    headers={**headers, "apollo-require-preflight": "1"},
                )
            else:
                response = await client.post(
                    self.url, json={"query": SEND, "variables": variables}, headers=headers
                )
            ok = (
                response.status_code == 200 and not response.json()["data"]["sendMessage"]["errors"]
            )
        except (httpx.HTTPError, ValueError, KeyError, TypeError):
            ok = False
        self.latencies.append((time.perf_counter() - started) * 1000)
        self.sent += 1
        self.errors += 0 if ok else 1


async def subscriber(ws_url: str, token: str, counter: list[int], stop: asyncio.Event) -> None:
    while not stop.is_set():
        with contextlib.suppress(Exception):
            async with websockets.connect(
                ws_url, subprotocols=[Subprotocol("graphql-transport-ws")], max_size=None
            ) as ws:
                init = {"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}}
                await ws.send(json.dumps(init))
                await ws.recv()
                await ws.send(
                    json.dumps({"id": "1", "type": "subscribe", "payload": {"query": SUBSCRIBE}})
                )
                while not stop.is_set():
                    message = json.loads(await ws.recv())
                    if message["type"] == "ping":
                        await ws.send('{"type":"pong"}')
                    elif message["type"] == "next":
                        counter[0] += 1
        await asyncio.sleep(1)


async def measure_capacity(load: Load, seconds: float) -> float:
    async with httpx.AsyncClient(timeout=30) as client:
        stop_at = time.monotonic() + seconds
        n = 0

        async def worker() -> None:
            nonlocal n
            while time.monotonic() < stop_at:
                n += 1
                await load.send(client, n)

        started = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(16)))
        return load.sent / (time.monotonic() - started)


async def soak(
    args: argparse.Namespace,
    url: str,
    serve_pid: int,
    worker_pid: int,
    brand: dict[str, Any],
    partners: list[tuple[str, str]],
) -> dict[str, Any]:
    capacity_load = Load(url, brand, [p for p, _ in partners])
    capacity = await measure_capacity(capacity_load, 15)
    rate = capacity * args.fraction
    print(
        json.dumps({"capacity_sends_per_s": round(capacity, 1), "offered": round(rate, 1)}),
        flush=True,
    )
    load = Load(url, brand, [p for p, _ in partners])
    stop = asyncio.Event()
    delivered = [0]
    ws_url = url.replace("http://", "ws://")
    tokens = [brand["token"]] + [t for _, t in partners]
    subs = [
        asyncio.create_task(subscriber(ws_url, tokens[i % len(tokens)], delivered, stop))
        for i in range(args.subscribers)
    ]
    samples: list[dict[str, Any]] = []
    duration = args.minutes * 60
    started = time.monotonic()
    async with httpx.AsyncClient(timeout=30, limits=httpx.Limits(max_connections=64)) as client:
        pending: set[asyncio.Task[None]] = set()
        n = 0
        next_sample = started + args.sample_seconds
        window_start = 0
        while (now := time.monotonic()) < started + duration:
            due = int((now - started) * rate)
            while n < due:
                n += 1
                task = asyncio.create_task(load.send(client, n))
                pending.add(task)
                task.add_done_callback(pending.discard)
            if now >= next_sample:
                window = load.latencies[window_start:]
                window_start = len(load.latencies)
                serve_rss, serve_fds = proc_stats(serve_pid)
                worker_rss, worker_fds = proc_stats(worker_pid)
                sample = {
                    "t": round(now - started),
                    "serve_rss_kb": serve_rss,
                    "serve_fds": serve_fds,
                    "worker_rss_kb": worker_rss,
                    "worker_fds": worker_fds,
                    "sends": len(window),
                    "p50_ms": round(pct(window, 0.5), 1),
                    "p99_ms": round(pct(window, 0.99), 1),
                    "errors": load.errors,
                    "delivered": delivered[0],
                    "in_flight": len(pending),
                }
                samples.append(sample)
                print(json.dumps(sample), flush=True)
                next_sample += args.sample_seconds
            await asyncio.sleep(0.005)
        await asyncio.gather(*pending, return_exceptions=True)
    stop.set()
    for task in subs:
        task.cancel()
    await asyncio.gather(*subs, return_exceptions=True)

    warm = [s for s in samples if s["t"] >= duration / 5] or samples
    first, last = warm[0], warm[-1]

    def growth(key: str) -> float:
        tail = [s[key] for s in warm[-3:]]
        return round(100 * (statistics.mean(tail) - first[key]) / first[key], 1)

    return {
        "minutes": args.minutes,
        "capacity_sends_per_s": round(capacity, 1),
        "offered_sends_per_s": round(rate, 1),
        "sends": load.sent,
        "errors": load.errors,
        "delivered_events": delivered[0],
        "serve_rss_kb_after_warmup_first_last": [first["serve_rss_kb"], last["serve_rss_kb"]],
        "serve_rss_growth_pct": growth("serve_rss_kb"),
        "serve_fds_growth_pct": growth("serve_fds"),
        "worker_rss_growth_pct": growth("worker_rss_kb"),
        "worker_fds_growth_pct": growth("worker_fds"),
        "p99_ms_per_window_min_median_max": [
            min(s["p99_ms"] for s in warm),
            statistics.median(s["p99_ms"] for s in warm),
            max(s["p99_ms"] for s in warm),
        ],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--subscribers", type=int, default=200)
    parser.add_argument("--fraction", type=float, default=0.5, help="of measured capacity")
    parser.add_argument("--sample-seconds", type=float, default=15)
    args = parser.parse_args()
    # Stopped early (SIGTERM): still stop what was started and drop the database.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))

    db = f"liaison_soak_{os.getpid()}"
    psql(f'CREATE DATABASE "{db}"')
    work = Path(
        subprocess.check_output(["mktemp", "-d", "/tmp/liaison-soak-XXXX"], text=True).strip()
    )
    redis = RedisServer()
    redis.start()
    clamd_dir = work / "clamd"
    processes: list[subprocess.Popen[bytes]] = []
    try:
        clamd = subprocess.check_output(
            [str(ROOT / "scripts" / "clamd.sh"), "start", str(clamd_dir)], text=True
        ).strip()
        env = {
            **os.environ,
            "LIAISON_DATABASE_URL": PG.rsplit("/", 1)[0] + f"/{db}",
            "LIAISON_DATA_DIR": str(work / "data"),
            "LIAISON_JWT_SECRET": SECRET,
            "LIAISON_ENV": "production",
            "LIAISON_REDIS_URL": redis.url,
            "LIAISON_CLAMD": clamd,
            "LIAISON_RATE_LIMIT_USER_PER_MINUTE": "100000000",
            "LIAISON_RATE_LIMIT_ACCOUNT_PER_MINUTE": "100000000",
            "LIAISON_RATE_LIMIT_UPLOAD_BYTES_PER_MINUTE": str(10**12),
        }
        seeded = subprocess.run(
            [str(BIN / "liaison"), "seed", "--demo"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        users = json.loads(seeded.stdout)["users"]
        port = free_port()
        log = (work / "serve.log").open("wb")
        processes.append(
            subprocess.Popen(
                [str(BIN / "liaison"), "serve", "--port", str(port)],
                env=env,
                stdout=log,
                stderr=log,
            )
        )
        processes.append(
            subprocess.Popen([str(BIN / "liaison"), "worker"], env=env, stdout=log, stderr=log)
        )
        wait_for_port(port)
        url = f"http://127.0.0.1:{port}/graphql"
        brand = next(
            u for u in users if u["accountKind"] == "BRAND" and u["role"] == "ACCOUNT_ADMIN"
        )
        listed = httpx.post(
            url,
            json={
                "query": "{ partners(first: 50) { edges { node { status partner { id name } } } } }"
            },
            headers={"authorization": f"Bearer {brand['token']}"},
        ).json()
        by_name = {u["account"]: u["token"] for u in users if u["accountKind"] == "PARTNER"}
        partners = [
            (e["node"]["partner"]["id"], by_name[e["node"]["partner"]["name"]])
            for e in listed["data"]["partners"]["edges"]
            if e["node"]["status"] == "ACTIVE"
        ]
        summary = asyncio.run(soak(args, url, processes[0].pid, processes[1].pid, brand, partners))
        print(json.dumps(summary, indent=2))
    finally:
        for process in processes:
            process.terminate()
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(15)
        subprocess.run([str(ROOT / "scripts" / "clamd.sh"), "stop", str(clamd_dir)], check=False)
        redis.close()
        psql(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
    return 0


if __name__ == "__main__":
    sys.exit(main())
