"""Scan jobs in Redis: a Stream with a consumer group, and a hash of state per job.

A job scans one blob (``services.scanning.jobs``). Its id is the blob's, which for a single
send's file is its attachment's id: the stream field keeps its name ``attachment_id``, so
entries queued before blobs existed (migration 0008) still name the right job.

Keys (``prefix`` defaults to ``liaison:scan``):

- ``{prefix}:stream`` — one entry ``{attachment_id}`` per job to run, read by the consumer
  group ``{prefix}:workers`` (``XREADGROUP``); an entry is acknowledged (``XACK``) and deleted
  only after the database holds the outcome of the attempt.
- ``{prefix}:delayed`` — sorted set of attachment ids waiting for a retry, scored by due time.
- ``{prefix}:job:{attachment_id}`` — hash: ``status`` (``queued``, ``running``,
  ``retrying``, ``clean``, ``infected``, ``failed``, ``gone``), ``attempts``, ``last_error``,
  ``updated_at``, ``due_at``, ``consumer``. It mirrors the database, which stays the record.

Enqueueing never fails a request: if Redis is away the error is logged and the sweeper of a
worker enqueues the attachment later.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from services.scanning.policy import DEFAULT_POLICY, ScanPolicy

log = logging.getLogger("liaison.scanning")

DEFAULT_PREFIX = "liaison:scan"
JOB_TTL_SECONDS = 7 * 24 * 3600
LIVE_STATUSES = frozenset({"queued", "running", "retrying"})


@dataclass(frozen=True, slots=True)
class JobState:
    status: str
    attempts: int
    last_error: str | None
    updated_at: float
    due_at: float | None
    consumer: str | None

    def alive(self, now: float, policy: ScanPolicy) -> bool:
        """Whether this state proves that a job will still run (see ``ScanPolicy``)."""
        if self.status not in LIVE_STATUSES:
            return False
        since = self.due_at if self.status == "retrying" and self.due_at else self.updated_at
        return now - since < policy.stale_after


class Keys:
    def __init__(self, prefix: str = DEFAULT_PREFIX) -> None:
        self.stream = f"{prefix}:stream"
        self.group = f"{prefix}:workers"
        self.delayed = f"{prefix}:delayed"
        self._job = f"{prefix}:job:"

    def job(self, attachment_id: uuid.UUID | str) -> str:
        return f"{self._job}{attachment_id}"


def connect(url: str, *, timeout: float | None) -> Redis:
    return Redis.from_url(
        url,
        decode_responses=True,
        socket_connect_timeout=2.0,
        socket_timeout=timeout,
        retry=Retry(NoBackoff(), 1),
    )


class RedisScanQueue:
    """The producing side, used by ``liaison serve``; it never scans."""

    #: Jobs kept in memory while Redis is away; beyond this the workers' sweeper finds them.
    MAX_UNSENT = 10_000

    def __init__(
        self, url: str, *, prefix: str = DEFAULT_PREFIX, retry_interval: float = 1.0
    ) -> None:
        self.keys = Keys(prefix)
        # Sending a message must not hang on an unreachable Redis.
        self.redis = connect(url, timeout=2.0)
        self.retry_interval = retry_interval
        self._unsent: dict[uuid.UUID, None] = {}  # ordered set, oldest first
        self._flusher: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self._flusher = asyncio.create_task(self._flush_forever(), name="liaison-scan-enqueue")

    async def stop(self) -> None:
        if self._flusher is not None:
            self._flusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._flusher
        await self.redis.aclose()

    async def enqueue(self, attachment_ids: Sequence[uuid.UUID]) -> None:
        if not attachment_ids:
            return
        try:
            await enqueue(self.redis, self.keys, attachment_ids)
        except (RedisError, OSError) as error:
            room = self.MAX_UNSENT - len(self._unsent)
            self._unsent.update(dict.fromkeys(attachment_ids[: max(room, 0)]))
            log.warning("scan queue: enqueue failed (%s); retrying when Redis is back", error)

    async def _flush_forever(self) -> None:
        """Enqueue what an outage left behind as soon as Redis answers again."""
        while True:
            await asyncio.sleep(self.retry_interval)
            if not self._unsent:
                continue
            batch = list(self._unsent)[:500]
            try:
                await enqueue(self.redis, self.keys, batch)
            except (RedisError, OSError):
                continue
            for attachment_id in batch:
                self._unsent.pop(attachment_id, None)
            log.info("scan queue: enqueued %d jobs held during a Redis outage", len(batch))

    async def job_state(self, attachment_id: uuid.UUID) -> JobState | None:
        return await job_state(self.redis, self.keys, attachment_id)


async def enqueue(redis: Redis, keys: Keys, attachment_ids: Sequence[uuid.UUID]) -> None:
    now = time.time()
    async with redis.pipeline(transaction=True) as pipe:
        for attachment_id in attachment_ids:
            job = keys.job(attachment_id)
            pipe.hset(job, mapping={"status": "queued", "updated_at": now})
            pipe.hdel(job, "due_at", "consumer")
            pipe.expire(job, JOB_TTL_SECONDS)
            pipe.zrem(keys.delayed, str(attachment_id))
            pipe.xadd(keys.stream, {"attachment_id": str(attachment_id)})
        await pipe.execute()


async def job_state(redis: Redis, keys: Keys, attachment_id: uuid.UUID | str) -> JobState | None:
    raw: dict[Any, Any] = await redis.hgetall(keys.job(attachment_id))
    if not raw or "status" not in raw:
        return None
    due = raw.get("due_at")
    return JobState(
        status=raw["status"],
        attempts=int(raw.get("attempts") or 0),
        last_error=raw.get("last_error") or None,
        updated_at=float(raw.get("updated_at") or 0),
        due_at=float(due) if due else None,
        consumer=raw.get("consumer") or None,
    )


__all__ = ["DEFAULT_POLICY", "JobState", "Keys", "RedisScanQueue", "enqueue", "job_state"]
