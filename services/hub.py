"""Per-process fan-out of account events to local subscribers (broadcaster's shape).

One *feed* per account with local subscribers: its position in the account's event log. A bus
notification (or a resync, or the safety-net poll) makes the feed read what is new from the
database once, and the same `Batch` goes to every subscriber of that account. Only the replay
of a cursor (`subscribe(after=…)`) reads per subscriber.

Per subscriber: events in `seq` order, each at most once, with no gap from its starting
position (replay reads the log until it has caught up with everything pushed meanwhile, then
switches to the pushed batches). A subscriber is a bounded queue: past `queue_size` events it
fails with `SlowConsumer` and holds nothing, so a stalled client cannot make the server grow.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol, TypeVar, cast
from uuid import UUID

from models import Account
from services.bus import EventBus
from services.events_log import EventRecord, fetch_events, latest_seq

logger = logging.getLogger(__name__)

T = TypeVar("T")

PAGE_SIZE = 500
POLL_SECONDS = 2.0
DB_RETRY_SECONDS = 0.5


class SlowConsumer(Exception):
    """The subscriber fell `queue_size` events behind; it may resume from its last cursor."""


class HubStopped(Exception):
    """The process is shutting down."""


@dataclass(frozen=True, slots=True)
class Delivery:
    record: EventRecord
    batch: Batch


class Batch:
    """Events read once and shared by every local subscriber of an account; `shared` memoises
    what is derived from them, built once per batch rather than once per subscriber."""

    __slots__ = ("_memo", "records")

    def __init__(self, records: Sequence[EventRecord]) -> None:
        self.records = records
        self._memo: dict[Hashable, asyncio.Future[Any]] = {}

    def deliveries(self) -> tuple[Delivery, ...]:
        return tuple(Delivery(record, self) for record in self.records)

    def ready(self, key: Hashable) -> object | None:
        """What `shared` built for `key`, if it is built and did not fail; else None."""
        future = self._memo.get(key)
        if future is None or not future.done() or future.cancelled() or future.exception():
            return None
        return cast(object, future.result())

    async def shared(self, key: Hashable, build: Callable[[], Awaitable[T]]) -> T:
        future = self._memo.get(key)
        if future is None:
            future = self._memo[key] = asyncio.ensure_future(build())
        if not future.done():
            # A waiter of its own (lighter than asyncio.shield, thousands wait at once): one
            # subscriber going away must not cancel the build the others wait for.
            waiter = asyncio.get_running_loop().create_future()
            future.add_done_callback(partial(_release, waiter))
            await waiter
        return cast(T, future.result())


def _release(waiter: asyncio.Future[None], _: object) -> None:
    if not waiter.done():
        waiter.set_result(None)


class Pending(Protocol):
    """A delivery taken in `push` whose handling must finish before the next one's."""

    def __await__(self) -> Any: ...
    def close(self) -> None: ...


class Subscriber:
    """One subscription's bounded queue of its account's events; iterate `events()`.

    A subclass may handle deliveries itself in `push` (called in the feed's task) while its
    consumer is `idle`, leaving a `Pending` for `events()` to finish first (gql.live does).
    """

    __slots__ = (
        "_buffer",
        "_error",
        "_high",
        "_live_high",
        "_replaying",
        "_waiter",
        "account_id",
        "limit",
        "pending",
    )

    def __init__(self, account_id: UUID, start: int, *, replay: bool, limit: int) -> None:
        self.account_id = account_id
        self._buffer: deque[Delivery] | None = None  # made on push, dropped once emptied
        self._high = start  # highest seq yielded or buffered
        self._replaying = replay
        self._live_high = 0  # highest seq pushed while replaying (and not kept)
        self.limit = limit
        self._error: Exception | None = None
        self._waiter: asyncio.Future[None] | None = None
        self.pending: Pending | None = None

    @property
    def backlog(self) -> int:
        return len(self._buffer) if self._buffer is not None else 0

    @property
    def idle(self) -> bool:
        """Live, nothing buffered or pending, and the consumer waiting for the next event."""
        waiter = self._waiter
        return (
            self._buffer is None
            and self.pending is None
            and self._error is None
            and waiter is not None
            and not waiter.done()  # also done once the consumer is cancelled
        )

    def seen(self, seq: int) -> bool:
        return seq <= self._high

    def mark(self, seq: int) -> None:
        """`seq` was handled in `push`: the queue skips it."""
        self._high = seq

    def push(self, deliveries: Sequence[Delivery]) -> None:
        """Take a batch's `deliveries()`: the same tuple goes to every subscriber."""
        if self._error is not None:
            return
        if self._replaying:
            self._live_high = max(self._live_high, deliveries[-1].record.seq)
            return
        buffer = self._buffer
        if buffer is None:
            buffer = self._buffer = deque()
        for delivery in deliveries:
            if delivery.record.seq > self._high:
                buffer.append(delivery)
                self._high = delivery.record.seq
        if len(buffer) > self.limit:
            self.fail(SlowConsumer(f"subscriber fell more than {self.limit} events behind"))
        self.wake()

    def fail(self, error: Exception) -> None:
        if self._error is None:
            self._error = error
            self._buffer = None
            if self.pending is not None:
                self.pending.close()
                self.pending = None
            self.wake()

    def wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def events(self) -> AsyncIterator[Delivery]:
        while self._replaying:
            if self._error is not None:
                raise self._error
            records = await fetch_events(self.account_id, self._high, PAGE_SIZE)
            for delivery in Batch(records).deliveries():
                self._high = delivery.record.seq
                yield delivery
            if not records and self._live_high <= self._high:
                # Caught up with the log and with everything pushed meanwhile; no await
                # between this check and the switch, so no push can fall in between.
                self._replaying = False
        while True:
            if self.pending is not None:
                pending, self.pending = self.pending, None
                await pending
            elif self._buffer:
                delivery = self._buffer.popleft()
                if not self._buffer:
                    self._buffer = None
                yield delivery
            elif self._error is not None:
                raise self._error
            else:
                self._waiter = asyncio.get_running_loop().create_future()
                await self._waiter
                self._waiter = None


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
            yield subscriber
        finally:
            feed.users -= 1
            if subscriber is not None:
                feed.subscribers.discard(subscriber)
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
