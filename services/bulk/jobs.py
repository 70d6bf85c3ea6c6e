"""Running bulk sends in the background: leases in the database, wake-ups through Redis.

The database is the record and the coordinator. A job is a ``QUEUED`` or ``RUNNING`` bulk
send; whoever runs it holds its lease (``lease_owner``, ``lease_until``), renewed while it
runs. A runner that dies stops renewing, and once the lease has expired any runner's sweep
takes the job over and goes on from the recipients still ``PENDING``. Redis only wakes
workers up early (a list they block on); if it is down or restarted, the sweep, which polls
the database every ``poll_interval`` seconds, finds the work anyway.

- Without ``LIAISON_REDIS_URL`` the serving process runs its jobs itself (`InProcessBulkQueue`).
- With it, `serve` only pushes wake-ups (`RedisBulkQueue`) and ``liaison worker`` processes
  run the jobs (`BulkWorker`).

While it runs, a job writes a ``BULK_SEND_PROGRESS`` event for its brand every
``progress_interval`` seconds, and the chunk that ends it (or the cancellation) one more.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from redis.asyncio import Redis
from redis.exceptions import RedisError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from models import BulkOutcome, BulkRecipient, BulkSend, BulkSendStatus, EventKind
from services import events_log
from services.bulk.delivery import deliver_chunk

log = logging.getLogger("liaison.bulk")

WAKE_KEY = "liaison:bulk:wake"
LIVE = (BulkSendStatus.QUEUED, BulkSendStatus.RUNNING)


@dataclass(frozen=True, slots=True)
class BulkPolicy:
    chunk_size: int = 250
    lease_seconds: float = 10.0
    progress_interval: float = 0.5
    poll_interval: float = 1.0
    concurrency: int = 2
    # A chunk failing this many times in a row is retried one recipient at a time; one
    # recipient failing as often becomes FAILED.
    max_failures: int = 4


def make_owner() -> str:
    return f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


async def claim(bulk_id: uuid.UUID, owner: str, lease: float) -> bool:
    """Take (or keep) the lease of a live bulk send whose lease is free or expired."""
    now = datetime.now(UTC)
    updated = (
        await BulkSend.filter(id=bulk_id, status__in=LIVE)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now) | Q(lease_owner=owner))
        .update(
            lease_owner=owner,
            lease_until=now + timedelta(seconds=lease),
            status=BulkSendStatus.RUNNING,
        )
    )
    return bool(updated)


async def runnable(limit: int = 20) -> list[uuid.UUID]:
    """Live bulk sends nobody holds a lease on, oldest first."""
    now = datetime.now(UTC)
    rows = (
        await BulkSend.filter(status__in=LIVE)
        .filter(Q(lease_until__isnull=True) | Q(lease_until__lt=now))
        .order_by("created_at")
        .limit(limit)
        .values_list("id", flat=True)
    )
    return [uuid.UUID(str(r)) for r in rows]


async def progress(bulk_id: uuid.UUID, owner: str, lease: float) -> list[uuid.UUID] | None:
    """Renew the lease and record a progress event; None once the lease is lost or the bulk
    send is no longer RUNNING."""
    async with in_transaction() as conn:
        now = datetime.now(UTC)
        renewed = (
            await BulkSend.filter(id=bulk_id, lease_owner=owner, status=BulkSendStatus.RUNNING)
            .using_db(conn)
            .update(lease_until=now + timedelta(seconds=lease))
        )
        if not renewed:
            return None
        account_id = (
            await BulkSend.filter(id=bulk_id).using_db(conn).values_list("account_id", flat=True)
        )[0]
        return await events_log.append(
            conn,
            EventKind.BULK_SEND_PROGRESS,
            (uuid.UUID(str(account_id)),),
            None,
            bulk_send_id=bulk_id,
        )


async def fail_next(bulk_id: uuid.UUID, owner: str) -> None:
    """Give up on the next PENDING recipient (it failed on its own too often)."""
    async with in_transaction() as conn:
        bulk = await BulkSend.select_for_update().using_db(conn).filter(id=bulk_id).first()
        if bulk is None or bulk.lease_owner != owner:
            return
        recipient = (
            await BulkRecipient.filter(bulk_send_id=bulk_id, outcome=BulkOutcome.PENDING)
            .using_db(conn)
            .order_by("position")
            .first()
        )
        if recipient is None:
            return
        await (
            BulkRecipient.filter(id=recipient.id).using_db(conn).update(outcome=BulkOutcome.FAILED)
        )
        bulk.failed += 1
        await bulk.save(using_db=conn, update_fields=["failed"])
    log.error("bulk send %s: recipient %s failed", bulk_id, recipient.partner_id)  # type: ignore[attr-defined]


class BulkRunner:
    """Runs bulk sends in this process, at most `policy.concurrency` at a time."""

    def __init__(self, notifier: events_log.Notifier, policy: BulkPolicy) -> None:
        self.notifier, self.policy = notifier, policy
        self.owner = make_owner()
        self._tasks: dict[uuid.UUID, asyncio.Task[None]] = {}
        self._slots = asyncio.Semaphore(policy.concurrency)

    @property
    def running(self) -> int:
        return len(self._tasks)

    def schedule(self, bulk_id: uuid.UUID) -> None:
        if bulk_id in self._tasks:
            return
        task = asyncio.create_task(self._run_guarded(bulk_id), name=f"liaison-bulk-{bulk_id}")
        self._tasks[bulk_id] = task
        task.add_done_callback(lambda _: self._tasks.pop(bulk_id, None))

    async def sweep(self) -> None:
        for bulk_id in await runnable():
            self.schedule(bulk_id)

    async def stop(self) -> None:
        tasks = list(self._tasks.values())
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run_guarded(self, bulk_id: uuid.UUID) -> None:
        async with self._slots:
            try:
                await self.run(bulk_id)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("bulk send %s: the job stopped; the sweep will resume it", bulk_id)

    async def run(self, bulk_id: uuid.UUID) -> None:
        """Send a bulk send to the end, if its lease can be had (see module doc)."""
        policy = self.policy
        if not await claim(bulk_id, self.owner, policy.lease_seconds):
            return
        log.info("bulk send %s: running as %s", bulk_id, self.owner)
        lost = asyncio.Event()
        ticker = asyncio.create_task(self._tick(bulk_id, lost))
        try:
            size, failures = policy.chunk_size, 0
            while not lost.is_set():
                try:
                    result = await deliver_chunk(bulk_id, self.owner, size)
                except asyncio.CancelledError:
                    raise
                except Exception:
                    failures += 1
                    log.exception("bulk send %s: a chunk failed (%d in a row)", bulk_id, failures)
                    if size == 1 and failures >= policy.max_failures:
                        await fail_next(bulk_id, self.owner)
                        failures = 0
                    elif failures >= policy.max_failures:
                        size, failures = 1, 0
                    await asyncio.sleep(min(8.0, 0.25 * 2**failures))
                    continue
                failures = 0
                await self.notifier.notify(result.audience)
                if result.finished:
                    log.info("bulk send %s: finished", bulk_id)
                    return
                size = policy.chunk_size
                await asyncio.sleep(0)  # let the progress ticker and requests in
        finally:
            ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await ticker

    async def _tick(self, bulk_id: uuid.UUID, lost: asyncio.Event) -> None:
        while True:
            await asyncio.sleep(self.policy.progress_interval)
            try:
                audience = await progress(bulk_id, self.owner, self.policy.lease_seconds)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("bulk send %s: recording progress failed", bulk_id)
                continue
            if audience is None:
                lost.set()
                return
            await self.notifier.notify(audience)


class InProcessBulkQueue:
    """No Redis: this process runs the jobs it queues, and resumes any it finds live."""

    def __init__(self, notifier: events_log.Notifier, policy: BulkPolicy) -> None:
        self.runner = BulkRunner(notifier, policy)
        self._sweeper: asyncio.Task[None] | None = None

    async def enqueue(self, bulk_id: uuid.UUID) -> None:
        self.runner.schedule(bulk_id)

    async def start(self) -> None:
        if self._sweeper is None:
            self._sweeper = asyncio.create_task(_sweep_forever(self.runner), name="liaison-bulk")

    async def stop(self) -> None:
        if self._sweeper is not None:
            self._sweeper.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._sweeper
            self._sweeper = None
        await self.runner.stop()


async def _sweep_forever(runner: BulkRunner) -> None:
    while True:
        try:
            await runner.sweep()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("bulk sweep failed; trying again")
        await asyncio.sleep(max(runner.policy.poll_interval, runner.policy.lease_seconds / 2))


def connect(url: str) -> Redis:
    return Redis.from_url(
        url, decode_responses=True, socket_connect_timeout=2.0, socket_timeout=5.0
    )


class RedisBulkQueue:
    """`serve` with Redis: wake a worker up; the worker's sweep is the fallback."""

    def __init__(self, url: str) -> None:
        self.redis = connect(url)

    async def enqueue(self, bulk_id: uuid.UUID) -> None:
        try:
            await self.redis.lpush(WAKE_KEY, str(bulk_id))
        except (RedisError, OSError) as error:
            log.warning("bulk queue: wake-up failed (%s); a worker's sweep will find it", error)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        await self.redis.aclose()


class BulkWorker:
    """`liaison worker`'s bulk side: wake-ups from Redis, the database sweep as fallback."""

    def __init__(self, url: str | None, notifier: events_log.Notifier, policy: BulkPolicy) -> None:
        self.runner = BulkRunner(notifier, policy)
        self.redis = connect(url) if url else None
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        next_sweep = 0.0
        policy = self.runner.policy
        try:
            while not self._stopping.is_set():
                if loop.time() >= next_sweep:
                    with contextlib.suppress(Exception):
                        await self.runner.sweep()
                    next_sweep = loop.time() + policy.poll_interval
                await self._wait_for_wake_up(policy.poll_interval)
        finally:
            await self.runner.stop()
            if self.redis is not None:
                await self.redis.aclose()

    async def _wait_for_wake_up(self, wait: float) -> None:
        if self.redis is None or self.runner.running >= self.runner.policy.concurrency:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), wait)
            return
        try:
            popped = await self.redis.blpop([WAKE_KEY], timeout=max(1, int(wait)))
        except (RedisError, OSError) as error:
            log.warning("bulk worker: Redis error (%s); polling the database", error)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stopping.wait(), wait)
            return
        if popped:
            with contextlib.suppress(ValueError):
                self.runner.schedule(uuid.UUID(str(popped[1])))
