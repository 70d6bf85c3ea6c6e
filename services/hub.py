"""Per-process fan-out of account events to local subscribers (broadcaster's shape).

One *feed* per account with local subscribers: its position in the account's event log. A bus
notification (or a resync, or the safety-net poll) makes the feed read what is new from the
database once, and the same `Batch` goes to every subscriber of that account. Only the replay
of a cursor (`subscribe(after=…)`) reads per subscriber.

Each subscriber is a bounded queue (services.subscriber): in order, no gap, no repeat, and
cut off with `SlowConsumer` past `queue_size` events.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from uuid import UUID

from models import Account
from services import metrics
from services.bus import EventBus
from services.events_log import fetch_events, latest_seq
from services.subscriber import (
    PAGE_SIZE,
    Batch,
    Delivery,
    Pending,
    SlowConsumer,
    Subscriber,
)

logger = logging.getLogger(__name__)

POLL_SECONDS = 2.0
DB_RETRY_SECONDS = 0.5
# Feeds woken at once (a bulk send names thousands of accounts) read the database a few at a
# time, leaving pooled connections to requests; unbounded, they exhausted the pool.
CONCURRENT_READS = 4


class HubStopped(Exception):
    """The process is shutting down."""


Prepare = Callable[[Batch, Sequence[Subscriber]], Awaitable[object]]
MakeSubscriber = Callable[..., Subscriber]  # called as Subscriber(account_id, start, …)


class _Feed:
    __slots__ = (
        "account_id",
        "cursor",
        "dirty",
        "opener",
        "prepare",
        "pump",
        "ready",
        "subscribers",
        "users",
    )

    def __init__(self, account_id: UUID) -> None:
        self.account_id = account_id
        self.cursor = 0
        self.dirty = False
        self.subscribers: set[Subscriber] = set()
        self.users = 0  # subscribe() calls in progress, registered or still waiting for ready
        self.ready: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.opener: asyncio.Task[None] | None = None
        self.pump: asyncio.Task[None] | None = None
        self.prepare: Prepare | None = None


class Hub:
    """Implements `BusListener`; one per process, started and stopped by the app lifespan."""

    def __init__(
        self, bus: EventBus, *, queue_size: int, poll_seconds: float = POLL_SECONDS
    ) -> None:
        self.bus = bus
        self._queue_size = queue_size
        self._poll_seconds = poll_seconds
        self._feeds: dict[UUID, _Feed] = {}
        self._poller: asyncio.Task[None] | None = None
        self._stopped = False
        self._reads = asyncio.Semaphore(CONCURRENT_READS)
        bus.set_listener(self)

    @property
    def subscriber_count(self) -> int:
        return sum(len(feed.subscribers) for feed in self._feeds.values())

    async def start(self) -> None:
        await self.bus.start()
        if self._poll_seconds > 0:
            self._poller = asyncio.create_task(self._poll_forever(), name="liaison-hub-poll")

    async def stop(self) -> None:
        self._stopped = True
        tasks = [t for f in self._feeds.values() for t in (f.opener, f.pump) if t is not None]
        if self._poller is not None:
            tasks.append(self._poller)
        for feed in self._feeds.values():
            for subscriber in feed.subscribers:
                subscriber.fail(HubStopped("server shutting down"))
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._feeds.clear()
        await self.bus.stop()

    @contextlib.asynccontextmanager
    async def subscribe(
        self,
        account_id: UUID,
        after: int | None,
        *,
        prepare: Prepare | None = None,
        make: MakeSubscriber = Subscriber,
    ) -> AsyncIterator[Subscriber]:
        """Events of `account_id` after position `after`, or from now on when it is None.

        `prepare` (the first one given for the account is kept) is awaited with each live
        batch and the feed's subscribers before the batch is pushed, to fill `Batch.shared`
        while they sleep. `make` builds the subscriber (a `Subscriber` subclass).
        """
        if self._stopped:
            raise HubStopped("server shutting down")
        feed = self._feeds.get(account_id) or self._open(account_id)
        subscriber: Subscriber | None = None
        feed.users += 1
        feed.prepare = feed.prepare or prepare
        try:
            await asyncio.shield(feed.ready)
            # Registered at the feed's current position with no await in between: every
            # later event reaches the subscriber by push, every earlier one by replay.
            start = feed.cursor if after is None else max(after, 0)
            subscriber = make(account_id, start, replay=after is not None, limit=self._queue_size)
            feed.subscribers.add(subscriber)
            metrics.ACTIVE_SUBSCRIPTIONS.inc()
            yield subscriber
        finally:
            feed.users -= 1
            if subscriber is not None:
                feed.subscribers.discard(subscriber)
                metrics.ACTIVE_SUBSCRIPTIONS.dec()
            if feed.users == 0 and self._feeds.get(account_id) is feed:
                self._close(feed)

    # BusListener

    def on_notify(self, account_ids: Sequence[UUID]) -> None:
        for account_id in account_ids:
            feed = self._feeds.get(account_id)
            if feed is not None:
                self._wake(feed)

    def on_resync(self) -> None:
        for feed in list(self._feeds.values()):
            self._wake(feed)

    # Feeds

    def _open(self, account_id: UUID) -> _Feed:
        feed = self._feeds[account_id] = _Feed(account_id)
        feed.opener = asyncio.create_task(self._read_start(feed))
        return feed

    def _close(self, feed: _Feed) -> None:
        del self._feeds[feed.account_id]
        for task in (feed.opener, feed.pump):
            if task is not None and not task.done():
                task.cancel()
        if not feed.ready.done():
            feed.ready.cancel()

    async def _read_start(self, feed: _Feed) -> None:
        try:
            feed.cursor = await latest_seq(feed.account_id)
        except Exception as error:
            if self._feeds.get(feed.account_id) is feed:
                del self._feeds[feed.account_id]
            feed.ready.set_exception(error)
            feed.ready.exception()  # retrieved: every waiter gets it through `subscribe`
            return
        feed.ready.set_result(None)
        if feed.dirty:
            self._wake(feed)

    def _wake(self, feed: _Feed) -> None:
        feed.dirty = True
        if feed.ready.done() and (feed.pump is None or feed.pump.done()):
            feed.pump = asyncio.create_task(self._pump(feed))

    async def _pump(self, feed: _Feed) -> None:
        while feed.dirty and self._feeds.get(feed.account_id) is feed:
            feed.dirty = False
            try:
                async with self._reads:
                    records = await fetch_events(feed.account_id, feed.cursor, PAGE_SIZE)
            except Exception:
                logger.exception("hub: reading events of %s failed; retrying", feed.account_id)
                await asyncio.sleep(DB_RETRY_SECONDS)
                feed.dirty = True
                continue
            if not records:
                continue
            feed.cursor = records[-1].seq
            batch = Batch(records)
            if feed.prepare is not None:
                try:
                    async with self._reads:
                        await feed.prepare(batch, tuple(feed.subscribers))
                except Exception:  # each subscriber meets the error through Batch.shared
                    logger.exception("hub: preparing events of %s failed", feed.account_id)
            deliveries = batch.deliveries()
            for subscriber in list(feed.subscribers):
                subscriber.push(deliveries)
            feed.dirty = feed.dirty or len(records) == PAGE_SIZE

    async def _poll_forever(self) -> None:
        """Safety net for notifications lost without a reconnect (e.g. a failed publish)."""
        while True:
            await asyncio.sleep(self._poll_seconds)
            try:
                await self.poll()
            except Exception:
                logger.exception("hub: safety-net poll failed")

    async def poll(self) -> None:
        feeds = [f for f in self._feeds.values() if f.ready.done() and not f.ready.cancelled()]
        for start in range(0, len(feeds), 1000):
            chunk = {f.account_id: f for f in feeds[start : start + 1000]}
            rows = await Account.filter(id__in=list(chunk)).values_list("id", "event_seq")
            for account_id, seq in rows:
                feed = chunk.get(account_id)
                if feed is not None and int(seq) > feed.cursor:
                    self._wake(feed)


__all__ = [
    "Batch",
    "Delivery",
    "Hub",
    "HubStopped",
    "MakeSubscriber",
    "Pending",
    "Prepare",
    "SlowConsumer",
    "Subscriber",
]
