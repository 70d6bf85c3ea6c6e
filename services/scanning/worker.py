"""``liaison worker``: scan jobs from Redis (or, without Redis, whatever the database has
left PENDING) against clamd, until stopped or, with ``burst``, until nothing is left."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

from tortoise import Tortoise

from services.blobs import make_blob_store
from services.bulk.jobs import BulkPolicy, BulkWorker
from services.bus import make_bus
from services.notifications import NotificationLoop, make_notifier
from services.notifications.service import NotificationSettings
from services.scanner import ClamdScanner
from services.scanning.local import InProcessScanQueue
from services.scanning.policy import DEFAULT_POLICY, ScanPolicy
from services.scanning.redis_worker import RedisScanWorker

log = logging.getLogger("liaison.scanning")


class WorkerSettings(Protocol):
    """What the worker reads of ``gql.settings.Settings`` (services do not import gql)."""

    @property
    def redis_url(self) -> str | None: ...
    @property
    def clamd(self) -> str | None: ...
    @property
    def data_dir(self) -> Path: ...
    @property
    def blob_url(self) -> str | None: ...
    @property
    def scan_max_attempts(self) -> int: ...
    @property
    def scan_timeout_seconds(self) -> float: ...
    @property
    def bulk_lease_seconds(self) -> float: ...
    @property
    def bulk_chunk_size(self) -> int: ...
    def tortoise_config(self) -> dict[str, Any]: ...


class FullWorkerSettings(WorkerSettings, NotificationSettings, Protocol):
    """The worker also sends notification e-mails."""


class NotConfigured(SystemExit):
    """The worker cannot run: clamd is not configured."""


async def run_worker(
    settings: FullWorkerSettings, *, burst: bool = False, policy: ScanPolicy = DEFAULT_POLICY
) -> None:
    if not settings.clamd:
        log.error("liaison worker: LIAISON_CLAMD is not set; start clamd (scripts/clamd.sh start)")
        raise NotConfigured(2)
    await Tortoise.init(config=settings.tortoise_config())
    bus = make_bus(settings.redis_url)
    await bus.start()
    # Bulk sends (services.bulk) run here too, beside the scans, until the worker stops.
    bulk = BulkWorker(
        settings.redis_url,
        bus,
        BulkPolicy(lease_seconds=settings.bulk_lease_seconds, chunk_size=settings.bulk_chunk_size),
    )
    bulk_task = asyncio.create_task(bulk.run(), name="liaison-bulk-worker")
    blobs = make_blob_store(settings.blob_url, settings.data_dir)
    scanner = ClamdScanner(settings.clamd, timeout=settings.scan_timeout_seconds)
    notifier = make_notifier(settings)
    notifications = NotificationLoop(notifier) if notifier else None
    if notifications and not burst:
        await notifications.start()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    try:
        if settings.redis_url:
            worker = RedisScanWorker(
                settings.redis_url,
                scanner,
                blobs,
                bus,
                max_attempts=settings.scan_max_attempts,
                policy=policy,
            )
            log.info("scan worker %s: consuming from Redis (burst=%s)", worker.consumer, burst)
            stopper = asyncio.create_task(_on(stop, worker.stop))
            try:
                await worker.run(burst=burst)
            finally:
                stopper.cancel()
                await worker.close()
        else:
            queue = InProcessScanQueue(
                blobs, scanner, bus, max_attempts=settings.scan_max_attempts, policy=policy
            )
            await queue.start()
            await queue.sweep(older_than=0)
            waiter = queue.join() if burst else stop.wait()
            done_or_stop = [asyncio.ensure_future(waiter), asyncio.ensure_future(stop.wait())]
            await asyncio.wait(done_or_stop, return_when=asyncio.FIRST_COMPLETED)
            for future in done_or_stop:
                future.cancel()
            await queue.stop()
        if notifications and burst:
            await notifications.notifier.tick()
    finally:
        bulk.stop()
        with contextlib.suppress(Exception):
            await bulk_task
        if notifications:
            await notifications.stop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(sig)
        await bus.stop()
        await Tortoise.close_connections()


async def _on(event: asyncio.Event, action: Callable[[], None]) -> None:
    await event.wait()
    action()
