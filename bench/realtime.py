"""Live inbox benchmark against a real `liaison serve` (PostgreSQL + Redis).

    .venv/bin/python -m bench.realtime [--subscribers 5000] [--samples 200]

Measures, printing one JSON object at the end:
- send → receive latency (HTTP `sendMessage` → `inboxEvents` frame) with 1 and 1,000
  subscribers (p50/p99 to one subscriber, and to the last of the 1,000);
- deliveries/s with N subscribers (default 5,000), and the same broadcast through a raw
  Starlette websocket endpoint (same uvicorn, same client), as a ratio;
- server RSS per idle subscriber, and RSS growth per delivered event per subscriber; the raw
  server's RSS per idle websocket in the same run, for comparison.

The subscribers are websocket connections to the recipient account (one subscription each);
the client runs in this process and only counts frames, the same for both servers.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import statistics
import subprocess
import sys
import time
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import websockets
from websockets.typing import Subprotocol

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.realtime_fixtures import RedisServer, free_port, wait_for_port  # noqa: E402

PG = os.environ.get("LIAISON_TEST_PG", "postgres://postgres@127.0.0.1:5432/test")
SECRET = "bench-secret-" + "x" * 32
QUERY = (
    "subscription { inboxEvents { __typename ... on MessageCreated { cursor "
    "message { id seq body sentAt senderAccount { id name } } conversation { id unreadCount } } } }"
)
SEND = (
    "mutation($input: SendMessageInput!) { sendMessage(input: $input) "
    "{ message { id } errors { code } } }"
)


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


# The raw baseline: a Starlette app that broadcasts each POSTed body to every websocket.


def baseline_app() -> Any:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route, WebSocketRoute
    from starlette.websockets import WebSocket, WebSocketDisconnect

    sockets: set[WebSocket] = set()

    async def endpoint(ws: WebSocket) -> None:
        await ws.accept()
        sockets.add(ws)
        try:
            while True:
                await ws.receive_text()
        except WebSocketDisconnect:
            sockets.discard(ws)

    async def broadcast(request: Request) -> Response:
        body = (await request.body()).decode()
        for ws in list(sockets):
            await ws.send_text(body)
        return Response("ok")

    async def health(request: Request) -> Response:
        return Response("ok")

    return Starlette(
        routes=[
            WebSocketRoute("/ws", endpoint),
            Route("/broadcast", broadcast, methods=["POST"]),
            Route("/healthz", health),
        ]
    )


# Setup: a database, Redis, the server, a brand and a partner.


async def prepare_database(url: str) -> dict[str, str]:
    from tortoise import Tortoise

    from gql.cli import migrate
    from gql.settings import Settings
    from models import AccountKind, Partnership, PartnershipStatus
    from services import accounts
    from services.auth import issue_token

    settings = Settings(database_url=url, jwt_secret=SECRET, env="test")
    await migrate(settings)
    await Tortoise.init(config=settings.tortoise_config())
    brand = await accounts.create_account("Bench Brand", AccountKind.BRAND)
    partner = await accounts.create_account("Bench Partner", AccountKind.PARTNER)
    for account in (brand, partner):
        account.terms_version_accepted = accounts.CURRENT_TERMS_VERSION
        await account.save(update_fields=["terms_version_accepted"])
    await Partnership.create(brand=brand, partner=partner, status=PartnershipStatus.ACTIVE)
    sender = await accounts.create_user(brand, "sender@bench.test", "Sender", "COMMUNITY_MANAGER")
    reader = await accounts.create_user(partner, "reader@bench.test", "Reader", "COMMUNITY_MANAGER")
    await Tortoise.close_connections()
    return {
        "sender": issue_token(SECRET, sender.id),
        "reader": issue_token(SECRET, reader.id),
        "partner": str(partner.id),
    }


def start(args: list[str], env: dict[str, str], port: int) -> subprocess.Popen[bytes]:
    process = subprocess.Popen(args, env={**os.environ, **env}, cwd=ROOT)
    wait_for_port(port, 30)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200:
                return process
        except httpx.HTTPError:
            time.sleep(0.05)
    raise TimeoutError("server did not start")


# Clients.


class Subscriber:
    def __init__(self) -> None:
        self.count = 0
        self.arrivals: dict[str, float] = {}  # body → first arrival (for latency)
        self.server_lag: dict[str, float] = {}  # body → arrival − the message's sentAt (ms)
        self.track = False
        self.ws: Any = None
        self.task: asyncio.Task[None] | None = None


async def open_graphql(url: str, token: str, sub: Subscriber) -> None:
    ws = await websockets.connect(
        url, subprotocols=[Subprotocol("graphql-transport-ws")], max_size=None, open_timeout=60
    )
    await ws.send(
        json.dumps({"type": "connection_init", "payload": {"authorization": f"Bearer {token}"}})
    )
    assert json.loads(await ws.recv())["type"] == "connection_ack"
    await ws.send(json.dumps({"id": "1", "type": "subscribe", "payload": {"query": QUERY}}))
    sub.ws = ws
    sub.task = asyncio.create_task(read_frames(ws, sub, graphql=True))


async def open_raw(url: str, sub: Subscriber) -> None:
    ws = await websockets.connect(url, max_size=None, open_timeout=60)
    sub.ws = ws
    sub.task = asyncio.create_task(read_frames(ws, sub, graphql=False))


async def read_frames(ws: Any, sub: Subscriber, graphql: bool) -> None:
    try:
        async for raw in ws:
            if graphql and '"ping"' in raw[:30]:
                await ws.send('{"type":"pong"}')
                continue
            sub.count += 1
            if sub.track:
                now, wall = time.perf_counter(), time.time()
                message = json.loads(raw)["payload"]["data"]["inboxEvents"]["message"]
                body = message["body"]
                if body not in sub.arrivals:
                    sub.arrivals[body] = now
                    sent_at = datetime.fromisoformat(message["sentAt"]).timestamp()
                    sub.server_lag[body] = (wall - sent_at) * 1000
    except websockets.ConnectionClosed:
        pass


async def open_many(n: int, opener: Any) -> list[Subscriber]:
    subs = [Subscriber() for _ in range(n)]
    for start_at in range(0, n, 100):  # bursts the database pool absorbs
        await asyncio.gather(*(opener(s) for s in subs[start_at : start_at + 100]))
    return subs


async def close_all(subs: list[Subscriber]) -> None:
    await asyncio.gather(*(s.ws.close() for s in subs), return_exceptions=True)
    for s in subs:
        if s.task:
            s.task.cancel()


async def send(http: httpx.AsyncClient, url: str, tokens: dict[str, str], body: str) -> None:
    response = await http.post(
        url,
        json={
            "query": SEND,
            "variables": {"input": {"recipientAccountId": tokens["partner"], "body": body}},
        },
        headers={"authorization": f"Bearer {tokens['sender']}"},
    )
    assert response.json()["data"]["sendMessage"]["errors"] == [], response.text


async def latency(
    http: httpx.AsyncClient, url: str, tokens: dict[str, str], subs: list[Subscriber], samples: int
) -> dict[str, float]:
    for s in subs:
        s.track, s.arrivals, s.server_lag = True, {}, {}
    first, last, posts, lag = [], [], [], []
    for _ in range(samples):
        body = f"lat-{uuid.uuid4().hex}"
        t0 = time.perf_counter()
        await send(http, url, tokens, body)
        posts.append((time.perf_counter() - t0) * 1000)
        deadline = time.monotonic() + 10
        while any(body not in s.arrivals for s in subs) and time.monotonic() < deadline:  # noqa: ASYNC110
            await asyncio.sleep(0.0005)
        arrivals = [s.arrivals[body] for s in subs if body in s.arrivals]
        first.append((subs[0].arrivals[body] - t0) * 1000)
        lag.append(subs[0].server_lag[body])
        last.append((max(arrivals) - t0) * 1000)
        await asyncio.sleep(0.005)
    for s in subs:
        s.track = False
    return {
        "p50_ms": round(statistics.median(first), 2),
        "p99_ms": round(pct(first, 0.99), 2),
        "p50_last_of_all_ms": round(statistics.median(last), 2),
        "p99_last_of_all_ms": round(pct(last, 0.99), 2),
        "p50_send_response_ms": round(statistics.median(posts), 2),
        # From the message's server timestamp (taken in the send transaction, before the
        # commit) to the frame's arrival: commit, notification, fan-out and the websocket.
        "p50_sent_at_to_receive_ms": round(statistics.median(lag), 2),
        "p99_sent_at_to_receive_ms": round(pct(lag, 0.99), 2),
    }


async def throughput(subs: list[Subscriber], messages: int, emit: Any) -> float:
    before = sum(s.count for s in subs)
    expected = before + messages * len(subs)
    t0 = time.perf_counter()
    for n in range(messages):
        await emit(n)
    while sum(s.count for s in subs) < expected:
        if time.perf_counter() - t0 > 300:
            raise TimeoutError(f"only {sum(s.count for s in subs) - before} deliveries")
        await asyncio.sleep(0.01)
    return messages * len(subs) / (time.perf_counter() - t0)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--subscribers", type=int, default=5000)
    parser.add_argument("--samples", type=int, default=200)
    parser.add_argument("--messages", type=int, default=20, help="broadcasts in the throughput run")
    args = parser.parse_args()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))

    db = f"liaison_bench_{os.getpid()}"
    subprocess.run(["psql", PG, "-q", "-c", f'CREATE DATABASE "{db}"'], check=True)  # noqa: ASYNC221
    db_url = PG.rsplit("/", 1)[0] + "/" + db
    redis = RedisServer()
    redis.start()
    processes: list[subprocess.Popen[bytes]] = []
    results: dict[str, Any] = {"subscribers": args.subscribers}
    try:
        tokens = await prepare_database(db_url)
        port = free_port()
        env = {
            "LIAISON_DATABASE_URL": db_url,
            "LIAISON_REDIS_URL": redis.url,
            "LIAISON_JWT_SECRET": SECRET,
            "LIAISON_ENV": "production",
            "LIAISON_DATA_DIR": "/tmp/liaison-bench-data",
            "LIAISON_RATE_LIMIT_USER_PER_MINUTE": "10000000",
            "LIAISON_RATE_LIMIT_ACCOUNT_PER_MINUTE": "10000000",
        }
        server = start([sys.executable, "-m", "gql.cli", "serve", "--port", str(port)], env, port)
        processes.append(server)
        http_url, ws_url = f"http://127.0.0.1:{port}/graphql", f"ws://127.0.0.1:{port}/graphql"
        async with httpx.AsyncClient(timeout=60) as http:
            for n in range(20):  # warm up
                await send(http, http_url, tokens, f"warm-{n}")

            def graphql_opener(s: Subscriber) -> Any:
                return open_graphql(ws_url, tokens["reader"], s)

            one = await open_many(1, graphql_opener)
            await asyncio.sleep(0.5)
            results["latency_1_subscriber"] = await latency(
                http, http_url, tokens, one, args.samples
            )
            await close_all(one)

            await asyncio.sleep(1)
            rss_before = rss_kb(server.pid)
            subs = await open_many(1000, graphql_opener)
            await asyncio.sleep(2)
            results["rss_per_idle_subscriber_kb"] = round(
                (rss_kb(server.pid) - rss_before) / 1000, 1
            )
            results["latency_1000_subscribers"] = await latency(
                http, http_url, tokens, subs, max(args.samples // 4, 20)
            )
            more = await open_many(args.subscribers - 1000, graphql_opener)
            subs += more
            await asyncio.sleep(2)
            rss_idle = rss_kb(server.pid)
            results["rss_per_idle_subscriber_kb_at_n"] = round(
                (rss_idle - rss_before) / len(subs), 1
            )

            async def emit_graphql(n: int) -> None:
                await send(http, http_url, tokens, f"tp-{n}")

            results["liaison_deliveries_per_s"] = round(
                await throughput(subs, args.messages, emit_graphql)
            )
            await asyncio.sleep(1)
            rss_after = rss_kb(server.pid)
            results["rss_growth_per_event_per_subscriber_bytes"] = round(
                (rss_after - rss_idle) * 1024 / (args.messages * len(subs)), 1
            )
            await close_all(subs)

            raw_port = free_port()
            raw = start(
                [
                    sys.executable,
                    "-m",
                    "uvicorn",
                    "bench.realtime:baseline_app",
                    "--factory",
                    "--port",
                    str(raw_port),
                    "--ws",
                    "websockets-sansio",
                    # As `liaison serve` (LIAISON_WS_COMPRESSION unset): no permessage-deflate.
                    "--ws-per-message-deflate",
                    "false",
                    "--log-level",
                    "warning",
                ],
                {},
                raw_port,
            )
            processes.append(raw)
            await asyncio.sleep(1)
            raw_rss_before = rss_kb(raw.pid)
            raw_subs = await open_many(
                args.subscribers, lambda s: open_raw(f"ws://127.0.0.1:{raw_port}/ws", s)
            )
            await asyncio.sleep(2)
            # The floor: what a bare uvicorn + Starlette websocket costs, same uvicorn options.
            results["raw_rss_per_idle_subscriber_kb_at_n"] = round(
                (rss_kb(raw.pid) - raw_rss_before) / len(raw_subs), 1
            )
            sample = json.dumps(
                {
                    "id": "1",
                    "type": "next",
                    "payload": {
                        "data": {
                            "inboxEvents": {
                                "__typename": "MessageCreated",
                                "cursor": "x" * 60,
                                "message": {
                                    "id": str(uuid.uuid4()),
                                    "seq": 1,
                                    "body": "tp",
                                    "sentAt": "2026-01-01T00:00:00Z",
                                    "senderAccount": {
                                        "id": str(uuid.uuid4()),
                                        "name": "Bench Brand",
                                    },
                                },
                                "conversation": {"id": str(uuid.uuid4()), "unreadCount": 1},
                            }
                        }
                    },
                }
            )

            async def emit_raw(n: int) -> None:
                await http.post(f"http://127.0.0.1:{raw_port}/broadcast", content=sample)

            results["raw_deliveries_per_s"] = round(
                await throughput(raw_subs, args.messages, emit_raw)
            )
            await close_all(raw_subs)
        results["ratio_to_raw"] = round(
            results["liaison_deliveries_per_s"] / results["raw_deliveries_per_s"], 3
        )
    finally:
        for process in processes:
            process.terminate()
            process.wait(20)
        redis.close()
        drop = f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'
        subprocess.run(["psql", PG, "-q", "-c", drop], check=False)  # noqa: ASYNC221
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    asyncio.run(main())
