"""The in-process scan queue: the embedded default, when there is no Redis.

Jobs live in this process only; the database is the record, so a restart loses nothing: the
sweeper finds blobs left PENDING and enqueues them again. Without a scanner (no
``LIAISON_CLAMD``) nothing is scanned and every attachment stays PENDING.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Sequence

from services import events_log
from services.blobs import BlobStore
from services.scanning.jobs import (
    OrphanSweeper,
    Retry,
    Scanner,
    scan_blob,
    stale_pending,
)
from services.scanning.policy import DEFAULT_POLICY, ScanPolicy

log = logging.getLogger("liaison.scanning")


class InProcessScanQueue:
    def __init__(
        self,
        blobs: BlobStore,
        scanner: Scanner | None,
        notifier: events_log.Notifier,
        *,
        max_attempts: int,
        policy: ScanPolicy = DEFAULT_POLICY,
    ) -> None:
        self.blobs, self.scanner, self.notifier = blobs, scanner, notifier
        self.max_attempts, self.policy = max_attempts, policy
        self._orphans = OrphanSweeper(blobs, policy.orphan_sweep_interval)
        self._queue: asyncio.Queue[uuid.UUID] = asyncio.Queue()
        # Queued, being scanned or waiting for a retry: a job is alive while its id is here.
        self._live: set[uuid.UUID] = set()
        self._timers: dict[uuid.UUID, asyncio.TimerHandle] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._idle = asyncio.Event()
        self._idle.set()

    @property
    def live(self) -> frozenset[uuid.UUID]:
        return frozenset(self._live)

    async def enqueue(self, blob_ids: Sequence[uuid.UUID]) -> None:
        if self.scanner is None:
            return
        for blob_id in blob_ids:
            if blob_id not in self._live:
                self._live.add(blob_id)
                self._idle.clear()
                self._queue.put_nowait(blob_id)

    async def start(self) -> None:
        if self.scanner is None:
            log.warning(
                "clamd is not configured (LIAISON_CLAMD): attachments stay PENDING, "
                "never downloadable; see the README to start clamd"
            )
            return
        if self._tasks:
            return
        for n in range(self.policy.concurrency):
            self._tasks.append(asyncio.create_task(self._work(), name=f"liaison-scan-{n}"))
        self._tasks.append(asyncio.create_task(self._sweep_forever(), name="liaison-scan-sweep"))

    async def stop(self) -> None:
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()

    async def sweep(self, older_than: float) -> int:
        """Enqueue blobs PENDING for more than ``older_than`` seconds; return how many
        were not already queued here."""
        ids = [i for i in await stale_pending(older_than) if i not in self._live]
        await self.enqueue(ids)
        await self._orphans.maybe_sweep()
        return len(ids)

    async def join(self) -> None:
        """Wait until no job is queued, running or waiting for a retry."""
        await self._idle.wait()

    async def _work(self) -> None:
        assert self.scanner is not None
        while True:
            blob_id = await self._queue.get()
            try:
                outcome = await scan_blob(
                    blob_id,
                    scanner=self.scanner,
                    blobs=self.blobs,
                    notifier=self.notifier,
                    max_attempts=self.max_attempts,
                )
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("scanning blob %s failed; retrying", blob_id)
                self._retry_later(blob_id, self.policy.backoff(1))
                continue
            if isinstance(outcome, Retry):
                self._retry_later(blob_id, self.policy.backoff(outcome.attempts))
            else:
                self._done(blob_id)

    def _retry_later(self, blob_id: uuid.UUID, delay: float) -> None:
        loop = asyncio.get_running_loop()
        self._timers[blob_id] = loop.call_later(delay, self._requeue, blob_id)

    def _requeue(self, blob_id: uuid.UUID) -> None:
        self._timers.pop(blob_id, None)
        self._queue.put_nowait(blob_id)

    def _done(self, blob_id: uuid.UUID) -> None:
        self._live.discard(blob_id)
        if not self._live:
            self._idle.set()

    async def _sweep_forever(self) -> None:
        while True:
            try:
                found = await self.sweep(self.policy.sweep_age)
                if found:
                    log.info("scan sweeper: re-enqueued %d PENDING blobs", found)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("scan sweeper failed; trying again later")
            await asyncio.sleep(self.policy.sweep_interval)
