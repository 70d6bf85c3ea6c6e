"""The chaos suite: dependencies stopped and restarted by pid under a bounded load.

Two `liaison serve` processes and a `liaison worker` share a private PostgreSQL, a private Redis
and a private clamd. While senders (brand and partners, some with a PNG) and live subscribers
run, PostgreSQL is stopped with an immediate shutdown and restarted, then Redis is killed and
restarted, then clamd. Afterwards:

* every response was JSON — a result, or a typed `SERVICE_UNAVAILABLE` 503 — never a 500;
* every acknowledged message is stored exactly once and seqs are gap-free;
* every subscriber (reconnecting and resuming from its last cursor, as the graphql-ws client
  does) saw every message of its account, in order, without duplicates;
* every attachment ends `CLEAN`, and no process was restarted.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import time
import uuid
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from tests.clamd_fixtures import clamd
from tests.fault_fixtures import PostgresServer
from tests.realtime_fixtures import (
    INBOX_EVENTS,
    GqlWs,
    RedisServer,
    WsClosed,
    run_liaison,
    server_env,
    start_server,
    start_worker,
)

PNG = (Path(__file__).resolve().parent / "corpus" / "valid.png").read_bytes()
SEND = """
mutation Send($input: SendMessageInput!) {
  sendMessage(input: $input) {
    message { id seq conversation { id } attachments { id } }
    errors { code message }
  }
}
"""
PARTNERS = "{ partners(first: 50) { edges { node { status partner { id name } } } } }"
SCANS = "query($id: ID!) { conversation(id: $id) { messages(last: 100) { edges { node { attachments { id scanStatus } } } } } }"
LOAD_SECONDS = 26.0


@dataclass
class Ledger:
    """What the clients saw: acknowledged messages and every response that was not right."""

    acked: dict[str, dict[str, Any]] = field(default_factory=dict)  # clientMessageId -> message
    bad: list[str] = field(default_factory=list)
    unavailable: int = 0
    ok: int = 0


@dataclass
class Sender:
    token: str
    account_id: str
    recipients: list[str]


async def send_until_acked(
    client: httpx.AsyncClient,
    urls: list[str],
    sender: Sender,
    recipient: str,
    n: int,
    ledger: Ledger,
) -> None:
    """Send one message, retrying with the same clientMessageId until it is acknowledged."""
    client_id = f"chaos-{sender.account_id[:8]}-{n}-{uuid.uuid4().hex[:6]}"
    with_file = n % 4 == 0
    variables: dict[str, Any] = {
        "input": {"recipientAccountId": recipient, "body": f"m{n}", "clientMessageId": client_id}
    }
    headers = {"authorization": f"Bearer {sender.token}"}
    for attempt in range(400):
        url = urls[(n + attempt) % len(urls)]
        try:
            if with_file:
                variables["input"]["attachments"] = [None]
                response = await client.post(
                    url,
                    data={
                        "operations": json.dumps({"query": SEND, "variables": variables}),
                        "map": json.dumps({"0": ["variables.input.attachments.0"]}),
                    },
                    files={"0": ("pixel.png", PNG, "image/png")},
                    headers={**headers, "apollo-require-preflight": "true"},
                )
            else:
                response = await client.post(
                    url, json={"query": SEND, "variables": variables}, headers=headers
                )
        except httpx.TransportError:
            await asyncio.sleep(0.2)
            continue
        if not response.headers.get("content-type", "").startswith("application/json"):
            ledger.bad.append(f"{response.status_code} {response.text[:200]}")
            return
        body = response.json()
        if response.status_code == 503:
            ledger.unavailable += 1
            codes = {e["extensions"]["code"] for e in body["errors"]}
            if codes != {"SERVICE_UNAVAILABLE"}:
                ledger.bad.append(f"503 {body}")
            await asyncio.sleep(min(float(response.headers.get("retry-after", "1")), 0.5))
            continue
        if response.status_code != 200 or body.get("errors"):
            ledger.bad.append(f"{response.status_code} {body}")
            return
        payload = body["data"]["sendMessage"]
        if payload["errors"]:
            ledger.bad.append(f"refused {payload['errors']}")
            return
        ledger.ok += 1
        ledger.acked[client_id] = {**payload["message"], "from": sender.account_id, "to": recipient}
        return
    ledger.bad.append(f"never acknowledged: {client_id}")


async def run_sender(
    client: httpx.AsyncClient, urls: list[str], sender: Sender, stop_at: float, ledger: Ledger
) -> None:
    n = 0
    while time.monotonic() < stop_at:
        recipient = sender.recipients[n % len(sender.recipients)]
        await send_until_acked(client, urls, sender, recipient, n, ledger)
        n += 1
        await asyncio.sleep(0.15)


@dataclass
class Subscriber:
    token: str
    account_id: str
    url: str
    cursor: str | None = None
    messages: list[dict[str, Any]] = field(default_factory=list)
    reconnects: int = 0
    ends: list[str] = field(default_factory=list)

    async def run(self, done: asyncio.Event) -> None:
        while not done.is_set():
            try:
                async with GqlWs.connect(self.url, self.token) as ws:
                    await ws.subscribe(after=self.cursor, query=INBOX_EVENTS)
                    while True:
                        message = await ws.receive(within=3600)
                        if message["type"] != "next" or "errors" in message["payload"]:
                            self.ends.append(json.dumps(message)[:300])
                            break
                        event = message["payload"]["data"]["inboxEvents"]
                        self.cursor = event["cursor"]
                        if event["__typename"] == "MessageCreated":
                            self.messages.append(
                                {**event["message"], "conversation": event["conversation"]}
                            )
            except (WsClosed, OSError, AssertionError, TimeoutError) as error:
                self.ends.append(repr(error)[:300])
            except Exception as error:  # websockets' handshake errors
                self.ends.append(repr(error)[:300])
            self.reconnects += 1
            await asyncio.sleep(0.3)


def kill_pid(pid: int | None, sig: int = signal.SIGKILL) -> None:
    if pid is not None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)


async def test_chaos_postgres_redis_and_clamd_restarted_under_load(tmp_path: Path) -> None:
    pg, redis = PostgresServer(), RedisServer()
    clamd_dir = tmp_path / "clamd"
    processes: list[subprocess.Popen[bytes]] = []
    servers = []
    try:
        pg.start()
        redis.start()
        clamd_socket = clamd("start", clamd_dir)
        env = server_env(pg.url, tmp_path / "data", redis.url)
        env["LIAISON_CLAMD"] = clamd_socket
        env["LIAISON_DB_POOL_TIMEOUT"] = "2"
        seeded = run_liaison("seed", "--demo", env=env)
        assert seeded.returncode == 0, seeded.stderr
        users = json.loads(seeded.stdout)["users"]
        servers = [start_server(env, tmp_path) for _ in range(2)]
        worker = start_worker(env, tmp_path / "worker.log")
        processes.append(worker)
        urls = [s.http_url for s in servers]

        async with httpx.AsyncClient(timeout=30) as client:
            brand = next(
                u for u in users if u["accountKind"] == "BRAND" and u["role"] == "ACCOUNT_ADMIN"
            )
            auth = {"authorization": f"Bearer {brand['token']}"}
            listed = await client.post(urls[0], json={"query": PARTNERS}, headers=auth)
            active = [
                e["node"]["partner"]
                for e in listed.json()["data"]["partners"]["edges"]
                if e["node"]["status"] == "ACTIVE"
            ][:2]
            viewer = await client.post(
                urls[0], json={"query": "{ viewer { account { id } } }"}, headers=auth
            )
            brand_id = viewer.json()["data"]["viewer"]["account"]["id"]
            by_name = {u["account"]: u for u in users if u["accountKind"] == "PARTNER"}
            partner_users = [(p["id"], by_name[p["name"]]["token"]) for p in active]

            senders = [Sender(brand["token"], brand_id, [pid for pid, _ in partner_users])]
            senders += [Sender(token, pid, [brand_id]) for pid, token in partner_users]
            subscribers = [Subscriber(brand["token"], brand_id, servers[0].ws_url)]
            subscribers += [Subscriber(t, pid, servers[1].ws_url) for pid, t in partner_users]
            # Subscribers start from "now": the seed's history is not what this test checks.
            done = asyncio.Event()
            sub_tasks = [asyncio.create_task(s.run(done)) for s in subscribers]
            await asyncio.sleep(1.0)

            ledger = Ledger()
            stop_at = time.monotonic() + LOAD_SECONDS
            load = [
                asyncio.create_task(run_sender(client, urls, s, stop_at, ledger)) for s in senders
            ]

            async def chaos() -> None:
                await asyncio.sleep(3)
                pg.crash()  # immediate shutdown, by pid
                await asyncio.sleep(3)
                await asyncio.to_thread(pg.start)
                await asyncio.sleep(4)
                redis.stop()  # SIGKILL, by pid
                await asyncio.sleep(3)
                await asyncio.to_thread(redis.start)
                await asyncio.sleep(3)
                kill_pid(int((clamd_dir / "clamd.pid").read_text()), signal.SIGKILL)
                await asyncio.sleep(3)
                await asyncio.to_thread(clamd, "start", clamd_dir)

            await asyncio.gather(chaos(), *load)

            # Every subscriber catches up with every acknowledged message of its account.
            expected: dict[str, set[str]] = defaultdict(set)
            for message in ledger.acked.values():
                expected[message["from"]].add(message["id"])
                expected[message["to"]].add(message["id"])
            deadline = time.monotonic() + 45
            while time.monotonic() < deadline:
                if all(
                    expected[s.account_id] <= {m["id"] for m in s.messages} for s in subscribers
                ):
                    break
                await asyncio.sleep(0.2)
            done.set()
            for task in sub_tasks:
                task.cancel()
            await asyncio.gather(*sub_tasks, return_exceptions=True)

            # Every attachment is scanned once clamd is back (the database is the record).
            wanted = {a["id"] for m in ledger.acked.values() for a in m["attachments"]}
            ids = ",".join(f"'{a}'" for a in wanted)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                pending = pg.psql(
                    f"SELECT count(*) FROM attachments WHERE id IN ({ids}) AND scan_status <> 'CLEAN'"
                )
                if pending.strip() == "0":
                    break
                await asyncio.sleep(0.5)
            ready = [
                (await client.get(f"{s.http_url.removesuffix('/graphql')}/readyz")).status_code
                for s in servers
            ]

        summary = (
            f"acked={len(ledger.acked)} ok={ledger.ok} 503s={ledger.unavailable} "
            f"reconnects={[s.reconnects for s in subscribers]}"
        )
        print(summary, [s.ends[:3] for s in subscribers])
        assert ledger.bad == [], ledger.bad[:5]
        assert ledger.unavailable > 0, "the outage was never seen: the test did not test it"
        assert len(ledger.acked) >= 30, summary

        # Stored exactly once, seqs gap-free.
        ids = ",".join(f"'{cid}'" for cid in ledger.acked)
        stored = pg.psql(
            f"SELECT client_message_id, count(*) FROM messages WHERE client_message_id IN ({ids}) "
            "GROUP BY client_message_id"
        )
        counts = dict(line.split("|") for line in stored.split())
        assert set(counts) == set(ledger.acked) and set(counts.values()) == {"1"}
        gaps = pg.psql(
            "SELECT conversation_id FROM messages GROUP BY conversation_id "
            "HAVING count(*) <> max(seq) - min(seq) + 1 OR min(seq) <> 1"
        )
        assert gaps.strip() == ""

        # Every subscriber saw its messages once each, in order per conversation.
        for s in subscribers:
            got = [m["id"] for m in s.messages]
            assert len(got) == len(set(got)), f"duplicates for {s.account_id}"
            missing = expected[s.account_id] - set(got)
            assert not missing, f"{len(missing)} missing for {s.account_id}; ends: {s.ends[-3:]}"
            last: dict[str, int] = {}
            for m in s.messages:
                conversation = m["conversation"]["id"]
                assert m["seq"] > last.get(conversation, 0), "out of order"
                last[conversation] = m["seq"]

        assert wanted and pending.strip() == "0", f"{pending.strip()} of {len(wanted)} not CLEAN"

        # Nothing was restarted: the same processes serve, and are ready.
        for server in servers:
            assert server.process.poll() is None
        assert ready == [200, 200]
        assert worker.poll() is None
    finally:
        for server in servers:
            server.stop()
        for process in processes:
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(15)
                except subprocess.TimeoutExpired:
                    process.kill()
        clamd("stop", clamd_dir)
        redis.close()
        pg.close()
    for server in servers:
        assert "Traceback" not in server.log.read_text(), server.log
