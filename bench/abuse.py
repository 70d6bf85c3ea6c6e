"""Abuse bench: how fast hostile requests are refused, and what they do to /healthz.

    .venv/bin/python -m bench.abuse [--rounds 20]

Starts a real `liaison serve` (one uvicorn process, `LIAISON_ENV=production`, SQLite demo
data in a temporary directory, no Redis, no clamd). A thread samples `GET /healthz` every
20 ms on its own connection for the whole run. Then, one after the other, `--rounds` times
each (sequentially, from this process):

- **fragment bomb**: `query { viewer { ...F0 } }` where each of 19 fragments spreads the
  next twice (2**19 copies of a leaf, ~200 tokens);
- **100× field**: `{ viewer { permissions permissions … } }`, the field 100 times;
- **costly subscription**: over the websocket (graphql-transport-ws, authenticated), a
  subscription refused as QUERY_TOO_COSTLY (cost ~60,000 > 50,000);
- **2 MiB pre-auth frame**: a new websocket sends one 2 MiB `connection_init` frame before
  any authentication; timed until the server closes the socket, whose close code is reported.

For each: median and maximum time from sending to the refusal (the answer, the error frame,
the close), the error code, and /healthz latency (p50, p99, max) while it ran, next to
/healthz latency measured first with nothing else running (the baseline of the same run).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import websockets
from websockets.typing import Subprotocol

from bench.upload import BIN, demo_sender, free_port, process

LEVELS = 19
BOMB = (
    "query Bomb { viewer { ...F0 } } "
    + " ".join(f"fragment F{i} on Viewer {{ ...F{i + 1} ...F{i + 1} }}" for i in range(LEVELS))
    + f" fragment F{LEVELS} on Viewer {{ permissions }}"
)
REPEATED = "query Repeated { viewer { " + "permissions " * 100 + "} }"
_INNER = "conversation { messages(first: 100) { edges { node { id body } } } }"
COSTLY = (
    "subscription Costly { inboxEvents { ... on MessageCreated { conversation { "
    "messages(first: 100) { edges { node { "
    + " ".join(f"c{i}: {_INNER}" for i in range(3))
    + " } } } } } } }"
)
FRAME_BYTES = 2 * 1024 * 1024
# A subscription neither refused nor answered within this time was accepted.
ACCEPTED_AFTER = 2.0


class HealthSampler(threading.Thread):
    """GET /healthz every `interval` seconds; (start time, latency) of each."""

    def __init__(self, url: str, interval: float = 0.02) -> None:
        super().__init__(daemon=True)
        self.url, self.interval = url, interval
        self.samples: list[tuple[float, float]] = []
        self.stopping = threading.Event()

    def run(self) -> None:
        with httpx.Client(timeout=30) as client:
            while not self.stopping.is_set():
                started = time.perf_counter()
                client.get(self.url)
                self.samples.append((started, time.perf_counter() - started))
                self.stopping.wait(self.interval)

    def between(self, start: float, end: float) -> dict[str, float]:
        latencies = sorted(lat for t, lat in self.samples if start <= t <= end)
        if not latencies:
            return {"samples": 0}
        return {
            "samples": len(latencies),
            "p50_ms": round(1000 * statistics.median(latencies), 2),
            "p99_ms": round(
                1000 * latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))], 2
            ),
            "max_ms": round(1000 * latencies[-1], 2),
        }


async def http_attack(
    client: httpx.AsyncClient, url: str, token: str, query: str
) -> tuple[float, str]:
    # A new operation name each time: the document is new to the server's caches.
    query = query.replace("query ", f"query N{time.perf_counter_ns()}", 1)
    started = time.perf_counter()
    response = await client.post(
        url, json={"query": query}, headers={"authorization": f"Bearer {token}"}
    )
    elapsed = time.perf_counter() - started
    errors = response.json().get("errors") or [{}]
    return elapsed, str(errors[0].get("extensions", {}).get("code", f"HTTP {response.status_code}"))


async def subscription_attack(ws_url: str, token: str) -> tuple[float, str]:
    async with websockets.connect(
        ws_url, subprotocols=[Subprotocol("graphql-transport-ws")], max_size=None
    ) as ws:
        await ws.send(
            json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
        )
        assert json.loads(await ws.recv())["type"] == "connection_ack"
        started = time.perf_counter()
        query = COSTLY.replace("Costly", f"Costly{time.perf_counter_ns()}")  # new to the caches
        await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": query}}))
        try:
            message = json.loads(await asyncio.wait_for(ws.recv(), ACCEPTED_AFTER))
        except TimeoutError:
            return time.perf_counter() - started, "ACCEPTED (running, no answer)"
        elapsed = time.perf_counter() - started
    if message["type"] == "error":
        return elapsed, str(message["payload"][0].get("extensions", {}).get("code"))
    return elapsed, f"ACCEPTED ({message['type']})"


async def frame_attack(ws_url: str) -> tuple[float, str]:
    junk = "a" * (FRAME_BYTES - 100)
    frame = json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {junk}"}})
    async with websockets.connect(
        ws_url, subprotocols=[Subprotocol("graphql-transport-ws")], max_size=None
    ) as ws:
        started = time.perf_counter()
        try:
            await ws.send(frame)
            await asyncio.wait_for(ws.recv(), 60)
            return time.perf_counter() - started, "answered (not closed)"
        except websockets.ConnectionClosed as closed:
            elapsed = time.perf_counter() - started
            code = closed.rcvd.code if closed.rcvd else None
            return elapsed, f"closed {code}"


async def run_attacks(port: int, token: str, rounds: int, sampler: HealthSampler) -> dict[str, Any]:
    url, ws_url = f"http://127.0.0.1:{port}/graphql", f"ws://127.0.0.1:{port}/graphql"
    client = httpx.AsyncClient(timeout=60)  # one keep-alive connection for the HTTP attacks
    attacks = {
        "fragment_bomb": lambda: http_attack(client, url, token, BOMB),
        "field_100x": lambda: http_attack(client, url, token, REPEATED),
        "costly_subscription": lambda: subscription_attack(ws_url, token),
        "preauth_frame_2mib": lambda: frame_attack(ws_url),
    }
    report: dict[str, Any] = {}
    for name, attack in attacks.items():
        await attack()  # warm-up
        times, outcomes = [], set()
        start = time.perf_counter()
        for _ in range(rounds):
            elapsed, outcome = await attack()
            times.append(elapsed)
            outcomes.add(outcome)
        end = time.perf_counter()
        report[name] = {
            "refused_in_median_ms": round(1000 * statistics.median(times), 2),
            "refused_in_max_ms": round(1000 * max(times), 2),
            "outcome": sorted(outcomes),
            "healthz_during": sampler.between(start, end),
        }
    await client.aclose()
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--idle-seconds", type=float, default=3.0)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="liaison-bench-abuse-") as tmp_dir:
        tmp = Path(tmp_dir)
        env = {
            "LIAISON_DATA_DIR": str(tmp / "data"),
            "LIAISON_JWT_SECRET": "bench-" + "x" * 40,
            "LIAISON_ENV": "production",
            "LIAISON_RATE_LIMIT_USER_PER_MINUTE": "100000",
        }
        token = demo_sender(env)
        port = free_port()
        serve = [str(BIN / "liaison"), "serve", "--port", str(port)]
        with process(serve, env, port, tmp / "serve.log"):
            sampler = HealthSampler(f"http://127.0.0.1:{port}/healthz")
            sampler.start()
            idle_start = time.perf_counter()
            time.sleep(args.idle_seconds)
            idle = sampler.between(idle_start, time.perf_counter())
            report = asyncio.run(run_attacks(port, token, args.rounds, sampler))
            sampler.stopping.set()
            sampler.join()
    print(json.dumps({"rounds": args.rounds, "healthz_idle": idle, **report}, indent=2))


if __name__ == "__main__":
    main()
