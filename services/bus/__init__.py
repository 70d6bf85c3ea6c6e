"""The event bus: post-commit notifications that accounts have new events.

`make_bus(None)` is the in-process bus (one process); `make_bus("redis://…")` shares
notifications between any number of processes and hosts. Usage by the send path::

    async with in_transaction():
        ...write messages and events...
    await bus.notify(account_ids)   # after commit; never raises on a broker failure
"""

from __future__ import annotations

from services.bus._base import BusListener, EventBus
from services.bus.backends.memory import MemoryBus
from services.bus.channels import INBOX_EVENTS


def make_bus(redis_url: str | None) -> EventBus:
    if not redis_url:
        return MemoryBus()
    from services.bus.backends.redis import RedisBus

    return RedisBus(redis_url)


__all__ = ["INBOX_EVENTS", "BusListener", "EventBus", "MemoryBus", "make_bus"]
