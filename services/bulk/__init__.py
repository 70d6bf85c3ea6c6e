"""Bulk messages (newsletters): creation and access (`sends`), the batched send path
(`delivery`) and the background jobs that run it (`jobs`)."""

from __future__ import annotations

from services import events_log
from services.bulk.jobs import (
    BulkPolicy,
    BulkRunner,
    BulkWorker,
    InProcessBulkQueue,
    RedisBulkQueue,
)


def make_bulk_queue(
    redis_url: str | None, notifier: events_log.Notifier, policy: BulkPolicy
) -> InProcessBulkQueue | RedisBulkQueue:
    """With Redis, `serve` only wakes workers up; without, it runs the jobs itself."""
    if redis_url:
        return RedisBulkQueue(redis_url)
    return InProcessBulkQueue(notifier, policy)


__all__ = [
    "BulkPolicy",
    "BulkRunner",
    "BulkWorker",
    "InProcessBulkQueue",
    "RedisBulkQueue",
    "make_bulk_queue",
]
