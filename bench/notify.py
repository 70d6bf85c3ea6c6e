"""E-mail notifications: digest run time and e-mails/s against a real SMTP server, and the
extra cost of a running notifier on `sendMessage` p50.

    .venv/bin/python -m bench.notify --sends 300 --rounds 4

Data (PostgreSQL, a database of its own, dropped at the end): 2,000 brands with one
`DAILY` user each, 5 partners per brand, one unread message from each partner: 10,000
unread conversations across 2,000 users. SMTP: `tests/smtp_server.py` (aiosmtpd, its own
process, writes each e-mail to a file).

1. Baseline: the same number of ready-made e-mails sent straight through the same SMTP
   client (`SmtpMailer`, same connections) to the same server: e-mails/s.
2. Digest run: `Notifier.tick()` at the digest hour (injected clock) until every digest is
   sent; wall time, e-mails/s, and the count the SMTP server received.
3. sendMessage p50: `sendMessage` (a brand user to its 5 partners in turn, whose users are
   IMMEDIATE) through the ASGI app in this process (httpx ASGI transport), in alternating
   rounds: no notifier; the in-process notifier loop as `liaison serve` runs it without
   Redis by default (300 s delay, a pass every 10 s); and a stress setting (1 s delay, a
   pass every 0.5 s: most sends become an e-mail while the next sends go on). Ratio = p50
   with / p50 without.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
from tortoise import Tortoise

from gql.app import create_app
from gql.cli import migrate
from gql.settings import Settings
from models import (
    Account,
    AccountKind,
    Conversation,
    Message,
    NotificationFrequency,
    Participant,
    Partnership,
    PartnershipStatus,
    Role,
    User,
)
from services.accounts import BUILT_IN_ROLES, CURRENT_TERMS_VERSION, format_permissions
from services.auth import issue_token
from services.notifications import NotificationLoop, Notifier, SmtpConfig, SmtpMailer
from services.notifications.service import notifier_config

ROOT = Path(__file__).resolve().parent.parent
PG = "postgres://postgres@127.0.0.1:5432/test"
SECRET = "bench-secret-" + "x" * 32
BRANDS, PARTNERS_PER_BRAND = 2_000, 5
SEND = (
    "mutation($i: SendMessageInput!) { sendMessage(input: $i) { message { id } errors { code } } }"
)


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def build_data() -> dict[str, Any]:
    now = datetime.now(UTC)
    accounts: list[Account] = []
    roles: list[Role] = []
    users: list[User] = []
    partnerships: list[Partnership] = []
    conversations: list[Conversation] = []
    participants: list[Participant] = []
    messages: list[Message] = []
    manager: dict[uuid.UUID, Role] = {}

    def account(name: str, kind: AccountKind) -> Account:
        a = Account(
            id=uuid.uuid4(),
            name=name,
            name_folded=name.casefold(),
            kind=kind,
            terms_version_accepted=CURRENT_TERMS_VERSION,
            event_seq=0,
            created_at=now,
        )
        accounts.append(a)
        for role_name, perms in BUILT_IN_ROLES.items():
            r = Role(
                id=uuid.uuid4(),
                account_id=a.id,
                name=role_name,
                built_in=True,
                permissions=format_permissions(perms),
                created_at=now,
            )
            roles.append(r)
            if role_name == "COMMUNITY_MANAGER":
                manager[a.id] = r
        return a

    def user(a: Account, frequency: NotificationFrequency) -> User:
        u = User(
            id=uuid.uuid4(),
            account_id=a.id,
            role_id=manager[a.id].id,
            email=f"{uuid.uuid4().hex[:12]}@bench.test",
            name=f"User of {a.name}",
            notification_frequency=frequency,
            created_at=now,
        )
        users.append(u)
        return u

    sample: dict[str, Any] = {}
    for b in range(BRANDS):
        brand = account(f"Brand {b}", AccountKind.BRAND)
        brand_user = user(brand, NotificationFrequency.DAILY)
        for p in range(PARTNERS_PER_BRAND):
            partner = account(f"Partner {b}-{p}", AccountKind.PARTNER)
            partner_user = user(partner, NotificationFrequency.IMMEDIATE)
            ship = Partnership(
                id=uuid.uuid4(),
                brand_id=brand.id,
                partner_id=partner.id,
                status=PartnershipStatus.ACTIVE,
                created_at=now,
                updated_at=now,
            )
            partnerships.append(ship)
            conv = Conversation(
                id=uuid.uuid4(),
                partnership_id=ship.id,
                brand_id=brand.id,
                partner_id=partner.id,
                started_by=AccountKind.PARTNER,
                last_seq=1,
                last_message_at=now - timedelta(days=1),
                created_at=now,
            )
            msg = Message(
                id=uuid.uuid4(),
                conversation_id=conv.id,
                seq=1,
                body=f"Hello from partner {b}-{p}: " + "lorem ipsum " * 20,
                sender_user_id=partner_user.id,
                sender_account_id=partner.id,
                request_digest="0" * 64,
                sent_at=now - timedelta(days=1),
            )
            conv.last_message_id = msg.id
            conversations.append(conv)
            messages.append(msg)
            participants.append(
                Participant(
                    conversation_id=conv.id,
                    account_id=brand.id,
                    counterpart_id=partner.id,
                    last_seq=1,
                    last_read_seq=0,
                    last_activity_at=now - timedelta(days=1),
                )
            )
            participants.append(
                Participant(
                    conversation_id=conv.id,
                    account_id=partner.id,
                    counterpart_id=brand.id,
                    last_seq=1,
                    last_read_seq=1,
                    last_activity_at=now - timedelta(days=1),
                )
            )
            if b == 0:
                sample.setdefault("brand_user", brand_user.id)
                sample.setdefault("partners", []).append(partner.id)
    for model, rows in (
        (Account, accounts),
        (Role, roles),
        (User, users),
        (Partnership, partnerships),
        (Conversation, conversations),
        (Message, messages),
        (Participant, participants),
    ):
        await model.bulk_create(rows, batch_size=2000)  # type: ignore[attr-defined]
    return sample


class SmtpProcess:
    def __init__(self) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="bench-smtp-"))
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "tests" / "smtp_server.py"), str(self.port), str(self.dir)]
        )
        time.sleep(1.0)

    def count(self) -> int:
        return len(list(self.dir.glob("*.json")))

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)


async def digest_run(settings: Settings, smtp: SmtpProcess, connections: int) -> dict[str, Any]:
    monday = datetime(2031, 6, 2, 8, 0, 5, tzinfo=UTC)
    mailer = SmtpMailer(
        SmtpConfig.from_url(f"smtp://127.0.0.1:{smtp.port}"), connections=connections
    )
    notifier = Notifier(notifier_config(settings), mailer, clock=lambda: monday)
    before = smtp.count()
    start = time.perf_counter()
    sent = 0
    while True:
        report = await notifier.tick()
        sent += report.sent
        if report.sent == 0:
            break
    elapsed = time.perf_counter() - start
    await mailer.close()
    received = smtp.count() - before
    return {
        "digests_sent": sent,
        "smtp_received": received,
        "seconds": round(elapsed, 2),
        "emails_per_second": round(sent / elapsed, 1),
    }


async def raw_smtp_run(smtp: SmtpProcess, connections: int, count: int) -> dict[str, Any]:
    """Baseline: the same number of ready-made e-mails of digest size, same server and client."""
    from email.mime.text import MIMEText

    mailer = SmtpMailer(
        SmtpConfig.from_url(f"smtp://127.0.0.1:{smtp.port}"), connections=connections
    )
    message = MIMEText("x" * 3000, "plain", "utf-8")
    message["From"], message["To"], message["Subject"] = "a@bench.test", "b@bench.test", "raw"
    start = time.perf_counter()
    await asyncio.gather(*(mailer.send(message) for _ in range(count)))
    elapsed = time.perf_counter() - start
    await mailer.close()
    return {
        "sent": count,
        "seconds": round(elapsed, 2),
        "emails_per_second": round(count / elapsed, 1),
    }


async def send_p50(
    settings: Settings, sample: dict[str, Any], sends: int, rounds: int, smtp: SmtpProcess
) -> dict[str, Any]:
    app = create_app(
        settings.with_overrides(
            smtp_url=None, rate_limit_user_per_minute=10**6, rate_limit_account_per_minute=10**6
        )
    )
    partners = iter(__import__("itertools").cycle(sample["partners"]))
    token = issue_token(SECRET, sample["brand_user"])
    headers = {"authorization": f"Bearer {token}"}
    # off: no notifier. default: the in-process loop as `liaison serve` runs it by default
    # (300 s delay, a pass every 10 s). stress: 1 s delay, a pass every 0.5 s, so that most
    # sends become an e-mail while the next sends go on.
    delays = {"default": (300.0, None), "stress": (1.0, 0.5)}
    timings: dict[str, list[float]] = {"off": [], "default": [], "stress": []}
    emails = dict.fromkeys(timings, 0)
    round_p50: dict[str, list[float]] = {name: [] for name in timings}
    cpu_ms: dict[str, float] = dict.fromkeys(timings, 0.0)
    async with app.router.lifespan_context(app):
        rt = app.state.rt
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://bench") as client:

            async def one() -> float:
                body = {
                    "query": SEND,
                    "variables": {
                        "i": {"recipientAccountId": str(next(partners)), "body": "bench message"}
                    },
                }
                t0 = time.perf_counter()
                r = await client.post("/graphql", json=body, headers=headers)
                elapsed = time.perf_counter() - t0
                assert r.status_code == 200 and not r.json()["data"]["sendMessage"]["errors"], (
                    r.text
                )
                return elapsed * 1000

            for _ in range(30):
                await one()
            for _ in range(rounds):
                for variant in timings:
                    loop = None
                    if variant in delays:
                        delay, interval = delays[variant]
                        mailer = SmtpMailer(SmtpConfig.from_url(f"smtp://127.0.0.1:{smtp.port}"))
                        config = notifier_config(
                            settings, delay=timedelta(seconds=delay), digest_grace=timedelta(-1)
                        )
                        loop = NotificationLoop(Notifier(config, mailer), interval=interval)
                        await loop.start()
                    sent_before = smtp.count()
                    cpu0 = time.process_time()
                    this_round = [await one() for _ in range(sends)]
                    cpu_ms[variant] += (time.process_time() - cpu0) * 1000
                    timings[variant].extend(this_round)
                    round_p50[variant].append(round(statistics.median(this_round), 2))
                    if loop is not None:
                        await loop.stop()
                    emails[variant] += smtp.count() - sent_before
        assert rt is not None
    p50 = {name: statistics.median(values) for name, values in timings.items()}
    return {
        "sends_per_variant": len(timings["off"]),
        "p50_ms": {name: round(value, 2) for name, value in p50.items()},
        "ratio_to_off": {name: round(p50[name] / p50["off"], 3) for name in delays},
        "p50_ms_per_round": round_p50,
        "process_cpu_ms_per_send": {
            name: round(cpu_ms[name] / len(timings[name]), 2) for name in timings
        },
        "emails_during_sends": emails,
    }


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sends", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--connections", type=int, default=4)
    args = parser.parse_args()
    db = f"liaison_bench_notify_{uuid.uuid4().hex[:8]}"
    subprocess.run(["psql", PG, "-q", "-c", f'CREATE DATABASE "{db}"'], check=True)  # noqa: ASYNC221
    smtp = SmtpProcess()
    data_dir = Path(tempfile.mkdtemp(prefix="bench-notify-"))
    settings = Settings(
        database_url=f"{PG.rsplit('/', 1)[0]}/{db}",
        data_dir=data_dir,
        jwt_secret=SECRET,
        env="test",
        public_url="http://bench",
    )
    try:
        await migrate(settings)
        await Tortoise.init(config=settings.tortoise_config())
        t0 = time.perf_counter()
        sample = await build_data()
        setup = round(time.perf_counter() - t0, 1)
        raw = await raw_smtp_run(smtp, args.connections, BRANDS)
        digest = await digest_run(settings, smtp, args.connections)
        digest["ratio_to_raw_smtp"] = round(
            digest["emails_per_second"] / raw["emails_per_second"], 3
        )
        print(
            json.dumps({"setup_seconds": setup, "raw_smtp": raw, "digest": digest}), file=sys.stderr
        )
        await Tortoise.close_connections()
        sends = await send_p50(settings, sample, args.sends, args.rounds, smtp)
        result = {"setup_seconds": setup, "raw_smtp": raw, "digest": digest, "send": sends}
        print(json.dumps(result, indent=2))
    finally:
        await Tortoise.close_connections()
        smtp.stop()
        drop = f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)'
        subprocess.run(["psql", PG, "-q", "-c", drop], check=False)  # noqa: ASYNC221


if __name__ == "__main__":
    asyncio.run(main())
