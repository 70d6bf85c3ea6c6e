"""The Redis scan queue: job state in Redis, the worker, retries, the sweeper, reclaiming."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from redis.asyncio import Redis
from starlette.applications import Starlette

from gql.settings import Settings
from models import Attachment, ScanStatus
from services.scanner import ClamdScanner
from services.scanning import RedisScanWorker
from services.scanning.redis_queue import Keys, job_state
from tests.attachments_fixtures import (
    CORPUS,
    FAST,
    attachments_of,
    scanning_app,
    send_files,
    wait_final,
    wait_for,
)
from tests.clamd_fixtures import clamd, clamd_socket, private_clamd
from tests.factories import Api, make_pair
from tests.realtime_fixtures import RedisServer

__all__ = ["clamd_socket", "private_clamd"]  # fixtures used by name below
KEYS = Keys()


@pytest.fixture
async def enqueuing(
    app: Any, app_settings: Settings, redis_server: RedisServer
) -> AsyncIterator[tuple[Starlette, Api]]:
    """A serving app on Redis: it only enqueues; workers scan."""
    async with scanning_app(app_settings, redis_url=redis_server.url) as pair:
        yield pair


def make_worker(
    application: Starlette, url: str, socket_path: str, **kwargs: Any
) -> RedisScanWorker:
    rt = application.state.rt
    return RedisScanWorker(
        url,
        ClamdScanner(socket_path, timeout=10),
        rt.blobs,
        rt.bus,
        max_attempts=kwargs.pop("max_attempts", 8),
        policy=kwargs.pop("policy", FAST),
    )


async def test_job_state_is_in_redis_and_a_burst_worker_scans(
    enqueuing: tuple[Starlette, Api], redis: Redis, redis_server: RedisServer, clamd_socket: str
) -> None:
    application, api = enqueuing
    pair = await make_pair()
    sent = await send_files(
        api,
        pair,
        [
            ("logo.png", (CORPUS / "valid.png").read_bytes()),
            ("x.csv", (CORPUS / "eicar_in.csv").read_bytes()),
        ],
    )
    clean_id, infected_id = (a["id"] for a in sent["message"]["attachments"])
    for attachment_id in (clean_id, infected_id):
        state = await job_state(redis, KEYS, attachment_id)
        assert state is not None and state.status == "queued"
    assert await redis.xlen(KEYS.stream) >= 2
    assert (await Attachment.get(id=clean_id)).scan_status is ScanStatus.PENDING

    worker = make_worker(application, redis_server.url, clamd_socket)
    try:
        await asyncio.wait_for(worker.run(burst=True), 60)
    finally:
        await worker.close()
    statuses = await wait_final([clean_id, infected_id], within=1)
    assert statuses == {clean_id: ScanStatus.CLEAN, infected_id: ScanStatus.INFECTED}
    clean, infected = [await job_state(redis, KEYS, i) for i in (clean_id, infected_id)]
    assert clean is not None and clean.status == "clean" and clean.attempts == 1
    assert infected is not None and infected.status == "infected"
    assert (await redis.xpending(KEYS.stream, KEYS.group))["pending"] == 0
    assert await redis.xlen(KEYS.stream) == 0  # acknowledged entries are deleted
    seen = await attachments_of(api, pair.partner_user, sent["conversation"]["id"])
    assert [a["scanStatus"] for a in seen] == ["CLEAN", "INFECTED"]


async def test_clamd_down_retries_with_state_in_redis_then_clean(
    enqueuing: tuple[Starlette, Api],
    redis: Redis,
    redis_server: RedisServer,
    private_clamd: tuple[Path, str],
) -> None:
    application, api = enqueuing
    run_dir, socket_path = private_clamd
    clamd("stop", run_dir)
    pair = await make_pair()
    sent = await send_files(api, pair, [("logo.png", (CORPUS / "valid.png").read_bytes())])
    [attachment] = sent["message"]["attachments"]
    # Two attempts only: clamd being down must not spend them (the file is not at fault).
    worker = make_worker(application, redis_server.url, socket_path, max_attempts=2)
    running = asyncio.create_task(worker.run())
    try:
        retries: set[float] = set()

        async def retrying() -> bool:
            state = await job_state(redis, KEYS, attachment["id"])
            if state is not None and state.status == "retrying" and state.due_at:
                retries.add(state.due_at)
            return len(retries) >= 3

        await wait_for(retrying, 30, "three retries scheduled in Redis")
        state = await job_state(redis, KEYS, attachment["id"])
        assert state is not None and state.last_error
        row = await Attachment.get(id=attachment["id"])
        assert row.scan_status is ScanStatus.PENDING and row.scan_attempts == 0
        [seen] = await attachments_of(api, pair.partner_user, sent["conversation"]["id"])
        assert seen["scanStatus"] == "PENDING" and seen["downloadUrl"] is None

        clamd("start", run_dir)
        statuses = await wait_final([attachment["id"]], within=30)
        assert statuses[attachment["id"]] is ScanStatus.CLEAN
        await wait_for(
            lambda: _status_is(redis, attachment["id"], "clean"), 5, "Redis job state clean"
        )
    finally:
        worker.stop()
        await asyncio.wait_for(running, 30)
        await worker.close()


async def test_sweeper_enqueues_pending_attachments_without_a_job(
    api: Api, app: Starlette, redis: Redis, redis_server: RedisServer, clamd_socket: str
) -> None:
    """An attachment sent while no queue took it (here: the session app has no Redis)."""
    pair = await make_pair()
    sent = await send_files(api, pair, [("logo.png", (CORPUS / "valid.png").read_bytes())])
    [attachment] = sent["message"]["attachments"]
    assert await job_state(redis, KEYS, attachment["id"]) is None
    worker = make_worker(app, redis_server.url, clamd_socket)
    try:
        assert await worker.sweep(older_than=0) >= 1
        state = await job_state(redis, KEYS, attachment["id"])
        assert state is not None and state.status == "queued"
        assert await worker.sweep(older_than=0) == 0  # a live job is not enqueued twice
        await asyncio.wait_for(worker.run(burst=True), 60)
    finally:
        await worker.close()
    assert (await wait_final([attachment["id"]], within=1))[attachment["id"]] is ScanStatus.CLEAN


async def _status_is(redis: Redis, attachment_id: str, status: str) -> bool:
    state = await job_state(redis, KEYS, attachment_id)
    return state is not None and state.status == status


async def test_send_with_redis_down_stores_the_message_and_scans_once_redis_is_back(
    enqueuing: tuple[Starlette, Api],
    redis: Redis,
    redis_server: RedisServer,
    clamd_socket: str,
) -> None:
    """Redis down: no 500, nothing lost; what could not be queued is queued once Redis is
    back (by the serving process, which holds it, or else by the workers' sweeper)."""
    application, api = enqueuing
    pair = await make_pair()
    redis_server.stop()
    try:
        sent = await send_files(api, pair, [("logo.png", (CORPUS / "valid.png").read_bytes())])
        assert sent["errors"] == []
        [attachment] = sent["message"]["attachments"]
        assert attachment["scanStatus"] == "PENDING" and attachment["downloadUrl"] is None
        seen = await attachments_of(api, pair.partner_user, sent["conversation"]["id"])
        assert [a["id"] for a in seen] == [attachment["id"]]
    finally:
        redis_server.start()
    worker = make_worker(application, redis_server.url, clamd_socket)
    try:

        async def queued() -> bool:
            return await job_state(redis, KEYS, attachment["id"]) is not None

        # Whichever comes first: the held job (flushed every second) or the sweep.
        await worker.sweep(older_than=0)
        await wait_for(queued, 10, "the job in Redis")
        await asyncio.wait_for(worker.run(burst=True), 60)
    finally:
        await worker.close()
    assert (await wait_final([attachment["id"]], within=1))[attachment["id"]] is ScanStatus.CLEAN
