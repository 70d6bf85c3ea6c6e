"""`liaison worker` and `liaison serve` as real processes on PostgreSQL, Redis and clamd."""

from __future__ import annotations

import asyncio
import os
import signal
from pathlib import Path
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis

from gql.settings import Settings
from models import Attachment, ScanStatus
from services.scanning.redis_queue import Keys, job_state
from tests.attachments_fixtures import (
    CORPUS,
    padded_pdf,
    scanning_app,
    send_files,
    wait_final,
    wait_for,
)
from tests.clamd_fixtures import clamd_socket
from tests.conftest import JWT_SECRET
from tests.factories import Api, make_pair
from tests.realtime_fixtures import (
    RedisServer,
    server_env,
    start_server,
    start_worker,
    stop_process,
)

# Several processes share one database: these run on the real PostgreSQL only.
pytestmark = pytest.mark.parametrize("backend", ["postgres"], indirect=True)

__all__ = ["clamd_socket"]  # fixture used by name below
KEYS = Keys()


@pytest.fixture
def env(app_settings: Settings, redis_server: RedisServer, clamd_socket: str) -> dict[str, str]:
    return {
        **server_env(app_settings.database_url, app_settings.data_dir, redis_server.url),
        "LIAISON_CLAMD": clamd_socket,
    }


async def test_worker_killed_mid_scan_jobs_are_reclaimed(
    app: Any,
    app_settings: Settings,
    env: dict[str, str],
    redis: Redis,
    redis_server: RedisServer,
    tmp_path: Path,
) -> None:
    async with scanning_app(app_settings, redis_url=redis_server.url) as (_, api):
        pair = await make_pair()
        files = [(f"big{n}.pdf", padded_pdf(12 * 1024 * 1024 + n)) for n in range(8)]
        files.append(("eicar.csv", (CORPUS / "eicar_in.csv").read_bytes()))
        sent = await send_files(api, pair, files)
    ids = [a["id"] for a in sent["message"]["attachments"]]
    assert len(ids) == 9

    first = start_worker(env, tmp_path / "worker1.log")
    try:

        async def one_running() -> bool:
            states = [await job_state(redis, KEYS, i) for i in ids]
            return any(s is not None and s.status == "running" for s in states)

        await wait_for(one_running, 60, "the first worker to start scanning")
    finally:
        stop_process(first, signal.SIGKILL)
    pending = await redis.xpending(KEYS.stream, KEYS.group)
    assert pending["pending"] >= 1, "the killed worker left no job in flight"

    second = start_worker(env, tmp_path / "worker2.log", burst=True)
    try:
        await asyncio.to_thread(second.wait, 120)
    finally:
        stop_process(second, signal.SIGKILL)
    assert second.returncode == 0, (tmp_path / "worker2.log").read_text()
    statuses = await wait_final(ids, within=1)
    assert statuses.pop(ids[-1]) is ScanStatus.INFECTED
    assert set(statuses.values()) == {ScanStatus.CLEAN}
    assert (await redis.xpending(KEYS.stream, KEYS.group))["pending"] == 0
    for attachment_id in ids:
        state = await job_state(redis, KEYS, attachment_id)
        assert state is not None and state.status in ("clean", "infected")
    log = (tmp_path / "worker2.log").read_text()
    assert "reclaimed" in log


async def test_serve_and_worker_processes_end_to_end(
    app: Any, env: dict[str, str], tmp_path: Path
) -> None:
    """A real `liaison serve` enqueues, a real `liaison worker` scans, the bytes come back."""
    server = start_server(env, tmp_path)
    worker = start_worker(env, tmp_path / "worker.log")
    try:
        pair = await make_pair()
        pdf = (CORPUS / "valid.pdf").read_bytes()
        async with httpx.AsyncClient(
            base_url=f"http://127.0.0.1:{server.port}", timeout=30
        ) as client:
            api = Api(client, JWT_SECRET)
            eicar = (CORPUS / "eicar_in.csv").read_bytes()
            sent = await send_files(api, pair, [("brief.pdf", pdf), ("test.csv", eicar)])
            assert sent["errors"] == []
            pdf_id, eicar_id = (a["id"] for a in sent["message"]["attachments"])
            statuses = await wait_final([pdf_id, eicar_id], within=60)
            assert statuses == {pdf_id: ScanStatus.CLEAN, eicar_id: ScanStatus.INFECTED}
            token = api.token(pair.partner_user)
            headers = {"authorization": f"Bearer {token}"}
            response = await client.get(f"/attachments/{pdf_id}", headers=headers)
            assert response.status_code == 200 and response.content == pdf
            assert response.headers["content-type"] == "application/pdf"
            assert response.headers["x-content-type-options"] == "nosniff"
            assert (
                await client.get(f"/attachments/{eicar_id}", headers=headers)
            ).status_code == 404
            query = {"query": "{ __typename }"}
            assert (await client.post("/graphql", json=query, headers=headers)).status_code == 200
        assert (await Attachment.get(id=pdf_id)).scan_attempts == 1
    finally:
        stop_process(worker)
        server.stop()
    assert worker.returncode == 0, (tmp_path / "worker.log").read_text()


async def test_sigterm_lets_the_worker_finish_its_jobs_in_flight(
    app: Any,
    app_settings: Settings,
    env: dict[str, str],
    redis: Redis,
    redis_server: RedisServer,
    tmp_path: Path,
) -> None:
    async with scanning_app(app_settings, redis_url=redis_server.url) as (_, api):
        pair = await make_pair()
        files = [(f"big{n}.pdf", padded_pdf(12 * 1024 * 1024 + n)) for n in range(6)]
        sent = await send_files(api, pair, files)
    ids = [a["id"] for a in sent["message"]["attachments"]]
    worker = start_worker(env, tmp_path / "worker.log")
    try:
        in_flight: list[str] = []

        async def running() -> bool:
            states = {i: await job_state(redis, KEYS, i) for i in ids}
            in_flight[:] = [i for i, s in states.items() if s is not None and s.status == "running"]
            return bool(in_flight)

        await wait_for(running, 60, "the worker to start scanning")
        os.kill(worker.pid, signal.SIGTERM)
        await asyncio.to_thread(worker.wait, 60)
    finally:
        stop_process(worker, signal.SIGKILL)
    assert worker.returncode == 0, (tmp_path / "worker.log").read_text()
    # What it had started, it finished: verdicts stored, nothing left un-acknowledged.
    finished = await wait_final(in_flight, within=1)
    assert set(finished.values()) == {ScanStatus.CLEAN}
    assert (await redis.xpending(KEYS.stream, KEYS.group))["pending"] == 0
    # The rest is still queued for the next worker, which finishes it.
    rest = start_worker(env, tmp_path / "rest.log", burst=True)
    try:
        await asyncio.to_thread(rest.wait, 120)
    finally:
        stop_process(rest, signal.SIGKILL)
    assert set((await wait_final(ids, within=5)).values()) == {ScanStatus.CLEAN}
