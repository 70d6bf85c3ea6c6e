"""In-process bus: the embedded default, for a single `liaison serve` process."""

from __future__ import annotations

from collections.abc import Iterable
from uuid import UUID

from services import metrics
from services.bus._base import BusListener


class MemoryBus:
    def __init__(self) -> None:
        self._listener: BusListener | None = None

    async def start(self) -> None:
        return None

    async def stop(self) -> None:
        self._listener = None

    def set_listener(self, listener: BusListener | None) -> None:
        self._listener = listener

    async def notify(self, account_ids: Iterable[UUID]) -> None:
        ids = list(dict.fromkeys(account_ids))
        if ids:
            metrics.EVENTS_PUBLISHED.inc()
        if ids and self._listener is not None:
            self._listener.on_notify(ids)
