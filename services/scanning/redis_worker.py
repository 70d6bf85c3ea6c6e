"""The consuming side of the Redis scan queue: ``liaison worker``.

Invariants:

- An entry is acknowledged only after the database holds the outcome of its attempt; a worker
  that dies before that leaves the entry pending, and once it has not been heartbeaten for
  ``visibility_timeout`` any worker takes it over with ``XAUTOCLAIM``.
- While a job runs, its entry is re-claimed by its own consumer every ``heartbeat`` seconds
  (``XCLAIM … JUSTID`` resets the idle time), so a long scan is not taken over.
- A failed attempt is acknowledged and parked in the ``delayed`` set until its backoff is
  over, then moved back onto the stream (one Lua script, so exactly one worker moves it).
- The sweeper enqueues attachments PENDING in the database without a live job.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import time
import uuid
from typing import Any

from redis.asyncio import Redis
from redis.exceptions import RedisError, ResponseError

from services import events_log
from services.blobs import BlobStore
from services.scanning.jobs import (
    Finished,
    OrphanSweeper,
    Outcome,
    Scanner,
    scan_blob,
    stale_pending,
)
from services.scanning.policy import DEFAULT_POLICY, ScanPolicy
from services.scanning.redis_queue import JOB_TTL_SECONDS, Keys, connect, enqueue, job_state

log = logging.getLogger("liaison.scanning")

_PROMOTE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, 100)
for _, id in ipairs(due) do
  redis.call('ZREM', KEYS[1], id)
  redis.call('XADD', KEYS[2], '*', 'attachment_id', id)
end
return #due
"""


class RedisScanWorker:
    def __init__(
        self,
        url: str,
        scanner: Scanner,
        blobs: BlobStore,
        notifier: events_log.Notifier,
        *,
        max_attempts: int,
        policy: ScanPolicy = DEFAULT_POLICY,
        prefix: str | None = None,
    ) -> None:
        self.keys = Keys(prefix) if prefix else Keys()
        self.redis: Redis = connect(url, timeout=None)
        self.scanner, self.blobs, self.notifier = scanner, blobs, notifier
        self.max_attempts, self.policy = max_attempts, policy
        self._orphans = OrphanSweeper(blobs, policy.orphan_sweep_interval)
        self.consumer = f"{socket.gethostname()}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self._promote = self.redis.register_script(_PROMOTE)
        self._inflight: set[asyncio.Task[None]] = set()
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        """Ask ``run`` to return after the jobs in flight (it does not wait here)."""
        self._stopping.set()

    async def close(self) -> None:
        await self.redis.aclose()

    async def run(self, *, burst: bool = False) -> None:
        """Consume until ``stop()``; with ``burst``, until nothing is queued, pending or delayed."""
        await self._ensure_group()
        next_sweep = 0.0
        while not self._stopping.is_set():
            try:
                if time.monotonic() >= next_sweep:
                    await self.sweep(self.policy.sweep_age)
                    next_sweep = time.monotonic() + self.policy.sweep_interval
                await self._promote(keys=[self.keys.delayed, self.keys.stream], args=[time.time()])
                started = await self._take(block_ms=500 if burst else 2000)
                if burst and not started and not self._inflight and await self._drained():
                    break
            except (RedisError, OSError) as error:
                log.warning("scan worker: Redis error (%s); retrying in 1s", error)
                await asyncio.sleep(1)
                with contextlib.suppress(RedisError, OSError):
                    await self._ensure_group()
        await self._drain_inflight()

    async def sweep(self, older_than: float) -> int:
        """Enqueue attachments PENDING for over ``older_than`` s with no live job here."""
        now, lost = time.time(), []
        for attachment_id in await stale_pending(older_than):
            state = await job_state(self.redis, self.keys, attachment_id)
            if state is None or not state.alive(now, self.policy):
                lost.append(attachment_id)
        if lost:
            log.info("scan sweeper: enqueueing %d PENDING attachments without a job", len(lost))
            await enqueue(self.redis, self.keys, lost)
        await self._orphans.maybe_sweep()
        return len(lost)

    async def _ensure_group(self) -> None:
        try:
            await self.redis.xgroup_create(self.keys.stream, self.keys.group, id="0", mkstream=True)
        except ResponseError as error:
            if "BUSYGROUP" not in str(error):
                raise

    async def _take(self, block_ms: int) -> int:
        free = self.policy.concurrency - len(self._inflight)
        if free <= 0:
            await asyncio.wait(
                self._inflight, timeout=block_ms / 1000, return_when=asyncio.FIRST_COMPLETED
            )
            return 0
        idle_ms = int(self.policy.visibility_timeout * 1000)
        reply: Any = await self.redis.xautoclaim(
            self.keys.stream, self.keys.group, self.consumer, idle_ms, "0-0", count=free
        )
        entries: list[tuple[str, dict[str, str]]] = [e for e in reply[1] if e and e[1]]
        for entry_id, _ in entries:
            log.info("scan worker: reclaimed %s from a silent worker", entry_id)
        if not entries:
            streams: Any = await self.redis.xreadgroup(
                self.keys.group, self.consumer, {self.keys.stream: ">"}, count=free, block=block_ms
            )
            for _, stream_entries in streams or []:
                entries.extend(stream_entries)
        for entry_id, fields in entries:
            task = asyncio.create_task(self._handle(entry_id, fields))
            self._inflight.add(task)
            task.add_done_callback(self._inflight.discard)
        return len(entries)

    async def _drained(self) -> bool:
        pending: Any = await self.redis.xpending(self.keys.stream, self.keys.group)
        return int(pending["pending"]) == 0 and await self.redis.zcard(self.keys.delayed) == 0

    async def _drain_inflight(self) -> None:
        if self._inflight:
            await asyncio.wait(set(self._inflight))

    async def _handle(self, entry_id: str, fields: dict[str, str]) -> None:
        try:
            attachment_id = uuid.UUID(fields.get("attachment_id", ""))
        except ValueError:
            log.warning("scan worker: dropping malformed entry %s %r", entry_id, fields)
            await self._ack(entry_id)
            return
        job = self.keys.job(attachment_id)
        heartbeat = asyncio.create_task(self._heartbeat(entry_id, job))
        try:
            await self.redis.hset(
                job,
                mapping={
                    "status": "running",
                    "consumer": self.consumer,
                    "updated_at": time.time(),
                },
            )
            outcome = await scan_blob(
                attachment_id,
                scanner=self.scanner,
                blobs=self.blobs,
                notifier=self.notifier,
                max_attempts=self.max_attempts,
            )
            await self._record(entry_id, attachment_id, outcome)
        except Exception as error:
            # Not acknowledged: the entry is taken over once its visibility timeout is over.
            log.exception("scan worker: job %s for %s failed", entry_id, attachment_id)
            with contextlib.suppress(RedisError, OSError):
                await self.redis.hset(job, "last_error", repr(error)[:500])
        finally:
            heartbeat.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat

    async def _record(self, entry_id: str, attachment_id: uuid.UUID, outcome: Outcome) -> None:
        job, now = self.keys.job(attachment_id), time.time()
        async with self.redis.pipeline(transaction=True) as pipe:
            if isinstance(outcome, Finished):
                status = outcome.status.value.lower() if outcome.status else "gone"
                pipe.hset(
                    job,
                    mapping={
                        "status": status,
                        "attempts": outcome.attempts,
                        "updated_at": now,
                    },
                )
                if outcome.detail:
                    pipe.hset(job, "last_error" if status == "failed" else "detail", outcome.detail)
            else:
                due = now + self.policy.backoff(outcome.attempts)
                pipe.hset(
                    job,
                    mapping={
                        "status": "retrying",
                        "attempts": outcome.attempts,
                        "last_error": outcome.error[:500],
                        "updated_at": now,
                        "due_at": due,
                    },
                )
                pipe.zadd(self.keys.delayed, {str(attachment_id): due})
            pipe.expire(job, JOB_TTL_SECONDS)
            pipe.xack(self.keys.stream, self.keys.group, entry_id)
            pipe.xdel(self.keys.stream, entry_id)
            await pipe.execute()

    async def _ack(self, entry_id: str) -> None:
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.xack(self.keys.stream, self.keys.group, entry_id)
            pipe.xdel(self.keys.stream, entry_id)
            await pipe.execute()

    async def _heartbeat(self, entry_id: str, job: str) -> None:
        while True:
            await asyncio.sleep(self.policy.heartbeat)
            with contextlib.suppress(RedisError, OSError):
                await self.redis.xclaim(
                    self.keys.stream, self.keys.group, self.consumer, 0, [entry_id], justid=True
                )
                await self.redis.hset(job, "updated_at", time.time())
