"""Virus scanning of attachments, as jobs queued after the sending transaction commits.

``make_scan_queue(settings, blobs, bus=…)`` picks the queue of a serving process:

- ``LIAISON_REDIS_URL`` set: a ``RedisScanQueue`` that only enqueues (a Redis Stream and a
  hash of state per job); ``liaison worker`` processes (``run_worker``) consume it.
- no Redis, ``LIAISON_CLAMD`` set: an ``InProcessScanQueue`` whose workers scan in this
  process and notify ``bus`` (the process's own event bus, so its subscribers hear at once).
- neither: the same in-process queue without a scanner; attachments stay PENDING.
"""

from __future__ import annotations

from services import events_log
from services.blobs import BlobStore
from services.bus import make_bus
from services.scanner import ClamdScanner
from services.scanning.jobs import Finished, Outcome, Retry, scan_blob
from services.scanning.local import InProcessScanQueue
from services.scanning.policy import DEFAULT_POLICY, ScanPolicy
from services.scanning.redis_queue import JobState, RedisScanQueue
from services.scanning.redis_worker import RedisScanWorker
from services.scanning.worker import WorkerSettings, run_worker


def make_scan_queue(
    settings: WorkerSettings,
    blobs: BlobStore,
    bus: events_log.Notifier | None = None,
    *,
    policy: ScanPolicy = DEFAULT_POLICY,
) -> RedisScanQueue | InProcessScanQueue:
    if settings.redis_url:
        return RedisScanQueue(settings.redis_url)
    scanner = (
        ClamdScanner(settings.clamd, timeout=settings.scan_timeout_seconds)
        if settings.clamd
        else None
    )
    return InProcessScanQueue(
        blobs,
        scanner,
        bus if bus is not None else make_bus(None),
        max_attempts=settings.scan_max_attempts,
        policy=policy,
    )


__all__ = [
    "DEFAULT_POLICY",
    "Finished",
    "InProcessScanQueue",
    "JobState",
    "Outcome",
    "RedisScanQueue",
    "RedisScanWorker",
    "Retry",
    "ScanPolicy",
    "make_scan_queue",
    "run_worker",
    "scan_blob",
]
