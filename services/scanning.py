"""Placeholder scan queue until the scanning worker (issue 4) lands: jobs are only held."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any


class HeldScanQueue:
    def __init__(self) -> None:
        self.held: list[uuid.UUID] = []

    async def enqueue(self, attachment_ids: Sequence[uuid.UUID]) -> None:
        self.held.extend(attachment_ids)

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        return None


def make_scan_queue(settings: Any, blobs: Any) -> HeldScanQueue:
    return HeldScanQueue()
