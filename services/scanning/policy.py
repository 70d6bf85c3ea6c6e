"""Timing of scan jobs: retry backoff, visibility timeout, heartbeats and the sweeper."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ScanPolicy:
    """How long things may take before we retry, reclaim or re-enqueue.

    - A failed attempt (clamd down or timing out) is retried after
      ``min(retry_cap, retry_base * 2 ** (attempts - 1))`` seconds, ±20 % jitter.
    - A Redis job delivered to a worker and not heartbeaten for ``visibility_timeout``
      seconds belongs to a dead worker and is reclaimed (XAUTOCLAIM) by another one.
    - Every ``sweep_interval`` seconds, attachments PENDING for more than ``sweep_age``
      seconds without a live job are enqueued again: the database is the record.
    - Every ``orphan_sweep_interval`` seconds (at the first sweep, then on the sweep after
      each interval), an object store is listed for objects no attachment references
      (``jobs.sweep_orphan_blobs``): listing a whole bucket is too costly for every sweep.
    """

    retry_base: float = 1.0
    retry_cap: float = 60.0
    visibility_timeout: float = 15.0
    heartbeat: float = 5.0
    sweep_interval: float = 60.0
    sweep_age: float = 120.0
    orphan_sweep_interval: float = 3600.0
    concurrency: int = 4

    def backoff(self, attempts: int) -> float:
        delay: float = min(self.retry_cap, self.retry_base * 2.0 ** max(attempts - 1, 0))
        return delay * random.uniform(0.8, 1.2)

    @property
    def stale_after(self) -> float:
        """A job state not touched for this long no longer proves a job is alive."""
        return max(self.sweep_age, 4 * self.visibility_timeout)


DEFAULT_POLICY = ScanPolicy()
