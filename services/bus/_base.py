"""The event bus interface: post-commit hints that an account has new events.

A notification carries account ids only. It is a hint, never the record: the events table is,
and a listener always reads what is new from there. A backend may therefore lose a
notification (a Redis restart does), provided it tells its listener to resynchronise when it
may have lost some.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Protocol
from uuid import UUID


class BusListener(Protocol):
    """Who the bus hands notifications to: the process's hub. Called on the event loop."""

    def on_notify(self, account_ids: Sequence[UUID]) -> None:
        """These accounts may have events the listener has not read yet."""

    def on_resync(self) -> None:
        """Notifications may have been lost: every account may have unread events."""


class EventBus(Protocol):
    """Publish/subscribe of account notifications, one instance per process."""

    async def start(self) -> None:
        """Connect. Never fails because the broker is down: it keeps retrying in background."""

    async def stop(self) -> None: ...

    async def notify(self, account_ids: Iterable[UUID]) -> None:
        """Tell every process these accounts have new committed events.

        Call only after the transaction that wrote the events committed. Never raises on a
        broker failure (it is logged): listeners catch up from the database.
        """

    def set_listener(self, listener: BusListener | None) -> None:
        """The one local listener of notifications from every process."""
