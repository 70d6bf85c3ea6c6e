"""Notifications sent by real processes: two `liaison worker`s racing on PostgreSQL (one of
them killed and replaced), and `liaison serve` in development writing its outbox."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from gql.settings import Settings
from tests.clamd_fixtures import clamd_socket
from tests.factories import Api, make_pair, send
from tests.notification_fixtures import (
    SmtpServer,
    drain_backlog,
    eventually,
    smtp_server,
    wait_until,
)
from tests.realtime_fixtures import (
    LIAISON,
    ROOT,
    server_env,
    start_server,
    start_worker,
    stop_process,
)

__all__ = ["clamd_socket", "smtp_server"]  # fixtures used by name below


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_two_workers_and_a_restart_send_each_email_once(
    app: Any,
    api: Api,
    app_settings: Settings,
    clamd_socket: str,
    smtp_server: SmtpServer,
    tmp_path: Path,
) -> None:
    await drain_backlog(smtp_server.url)
    env = {
        **server_env(app_settings.database_url, app_settings.data_dir, None),
        "LIAISON_CLAMD": clamd_socket,
        "LIAISON_SMTP_URL": smtp_server.url,
        "LIAISON_NOTIFY_DELAY_SECONDS": "1",
    }
    workers = [start_worker(env, tmp_path / f"worker{n}.log") for n in range(2)]
    try:
        pairs = [await make_pair() for _ in range(4)]
        for pair in pairs:
            await send(api, pair.brand_user, pair.partner, "to be mailed once")
        for pair in pairs:
            await eventually(lambda p=pair: len(smtp_server.received(p.partner_user.email)) >= 1)

        stop_process(workers[0], signal.SIGKILL)
        workers[0] = start_worker(env, tmp_path / "worker2.log")
        await send(api, pairs[0].brand_user, pairs[0].partner, "a second window")
        await eventually(lambda: len(smtp_server.received(pairs[0].partner_user.email)) >= 2)
        await asyncio.sleep(3)  # several more passes of both notifiers: nothing may be sent again
        counts = [len(smtp_server.received(p.partner_user.email)) for p in pairs]
        assert counts == [2, 1, 1, 1]
    finally:
        for worker in workers:
            stop_process(worker)


def test_development_without_smtp_writes_each_email_to_the_outbox(tmp_path: Path) -> None:
    env = {
        "LIAISON_DATA_DIR": str(tmp_path / "data"),
        "LIAISON_ENV": "development",
        "LIAISON_NOTIFY_DELAY_SECONDS": "1",
    }
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("LIAISON_")} | env
    seeded = subprocess.run(
        [LIAISON, "seed", "--demo"],
        env=full_env,
        cwd=ROOT,
        capture_output=True,
        timeout=120,
        check=True,
    )
    users = json.loads(seeded.stdout)["users"]
    server = start_server(env, tmp_path)
    outbox = tmp_path / "data" / "outbox"
    try:
        wait_until(lambda: outbox.is_dir() and len(list(outbox.glob("*.eml"))) >= 1, 60)
        time.sleep(1)
    finally:
        server.stop()
    mails = sorted(outbox.glob("*.eml"))
    log = server.log.read_text()
    assert "notification e-mails are written to" in log
    assert log.count("e-mail to ") == len(mails)  # one log line per e-mail, none dropped
    demo_emails = {u["email"] for u in users}
    first = mails[0].read_text()
    assert "List-Unsubscribe-Post: List-Unsubscribe=One-Click" in first
    assert any(email in first for email in demo_emails)
