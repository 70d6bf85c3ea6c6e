"""Per-process fan-out of account events to local subscribers.

For each account with local subscribers the hub keeps one *feed*: its position in the
account's event log. A bus notification (or a resync, or the safety-net poll) makes the feed
read what is new from the database once, and the same `Batch` goes to every subscriber of
that account. Subscribers never query the database for live events; only the replay of a
cursor (`subscribe(after=…)`) reads per subscriber.

Invariants, per subscriber: events come in `seq` order, each at most once, and with no gap
from its starting position: replay reads the log until it has caught up with everything the
feed has pushed meanwhile, then switches to the pushed batches, skipping seqs already seen.
A subscriber's buffer holds at most `queue_size` events; past that it fails with
`SlowConsumer` and holds nothing, so a stalled client cannot make the server grow.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import deque
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Coroutine,
    Generator,
    Hashable,
    Sequence,
)
from dataclasses import dataclass
from functools import partial
from typing import Any, TypeVar, cast
from uuid import UUID

from models import Account
from services.bus import EventBus
from services.events_log import EventRecord, fetch_events, latest_seq

logger = logging.getLogger(__name__)

T = TypeVar("T")

PAGE_SIZE = 500
POLL_SECONDS = 2.0
DB_RETRY_SECONDS = 0.5


Prepare = Callable[["Batch", Sequence["Subscriber"]], Awaitable[object]]
# A subscriber's own handling of a live delivery, called by the hub in the batch's pump so
# that an idle subscriber's task need not wake: False when its task must take the delivery,
# True when there is nothing to send, or the coroutine that sends it.
Direct = Callable[["Delivery"], "Coroutine[Any, Any, None] | bool"]


class SlowConsumer(Exception):
    """The subscriber fell `queue_size` events behind; it may resume from its last cursor."""


class HubStopped(Exception):
    """The process is shutting down."""


@dataclass(frozen=True, slots=True)
class Delivery:
    record: EventRecord
    batch: Batch


class Batch:
    """Events read once and shared by every local subscriber of an account.

    `shared` memoises what is derived from them (payloads, the audience's permissions) so
    that it is built once per batch, not once per subscriber.
    """

    __slots__ = ("_memo", "records")

    def __init__(self, records: Sequence[EventRecord]) -> None:
        self.records = records
        self._memo: dict[Hashable, asyncio.Future[Any]] = {}

    def deliveries(self) -> tuple[Delivery, ...]:
        """The events as handed to subscribers; made once per batch by its reader."""
        return tuple(Delivery(record, self) for record in self.records)

    def ready(self, key: Hashable) -> object | None:
        """What `shared` built for `key`, if it is built and did not fail; else None."""
        future = self._memo.get(key)
        if future is None or not future.done() or future.cancelled():
            return None
        if future.exception() is not None:
            return None
        return cast(object, future.result())

    async def shared(self, key: Hashable, build: Callable[[], Awaitable[T]]) -> T:
        future = self._memo.get(key)
        if future is None:
            future = asyncio.ensure_future(build())
            self._memo[key] = future
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


class _Resume:
    """Awaits the rest of a send the hub started: a coroutine suspended on `blocked`."""

    __slots__ = ("blocked", "coro")

    def __init__(self, coro: Coroutine[Any, Any, None], blocked: Any) -> None:
        self.coro = coro
        self.blocked = blocked

    def __await__(self) -> Generator[Any, None, None]:
        coro, blocked = self.coro, self.blocked
        while True:
            try:
                yield blocked
            except BaseException as error:  # cancellation goes to the send
                try:
                    blocked = coro.throw(error)
                except StopIteration:
                    return
                continue
            try:
                blocked = coro.send(None)
            except StopIteration:
                return


class Subscriber:
    """One subscription's view of its account's events; iterate `events()`.

    With `direct`, a live delivery that reaches the subscriber while its task sleeps with
    nothing buffered is handed to `direct` in the hub's pump instead of waking the task; a
    send that cannot finish at once (the socket is not writable) is finished by the task.
    """

    __slots__ = (
        "_buffer",
        "_error",
        "_high",
        "_limit",
        "_live_high",
        "_pending",
        "_replaying",
        "_waiter",
        "direct",
    )

    def __init__(
        self, start: int, *, replay: bool, limit: int, direct: Direct | None = None
    ) -> None:
        # Made when events are pushed and dropped once taken: an idle subscriber holds none.
        self._buffer: deque[Delivery] | None = None
        self._high = start  # highest seq yielded or buffered
        self._replaying = replay
        self._live_high = 0  # highest seq pushed while replaying (and not kept)
        self._limit = limit
        self._error: Exception | None = None
        self._waiter: asyncio.Future[None] | None = None
        self._pending: _Resume | None = None  # a direct send left for the task to finish
        self.direct = direct

    @property
    def backlog(self) -> int:
        """Events pushed and not yet taken."""
        return len(self._buffer) if self._buffer is not None else 0

    def push(self, deliveries: Sequence[Delivery]) -> None:
        """Take a batch's `deliveries()`: the same tuple goes to every subscriber."""
        if self._error is not None:
            return
        if self._replaying:
            self._live_high = max(self._live_high, deliveries[-1].record.seq)
            return
        if (
            self.direct is not None
            and self._buffer is None
            and self._pending is None
            and self._waiter is not None
            and not self._waiter.done()  # also done once the task is cancelled
            and len(deliveries) <= self._limit  # a longer batch may be more than it may hold
        ):
            taken = self._push_direct(deliveries)
            if self._error is not None:
                return
            if taken == len(deliveries):
                if self._pending is not None:
                    self._wake()
                return
            deliveries = deliveries[taken:]
        buffer = self._buffer
        if buffer is None:
            buffer = self._buffer = deque()
        for delivery in deliveries:
            if delivery.record.seq > self._high:
                buffer.append(delivery)
                self._high = delivery.record.seq
        if len(buffer) > self._limit:
            self.fail(SlowConsumer(f"subscriber fell more than {self._limit} events behind"))
        self._wake()

    def _push_direct(self, deliveries: Sequence[Delivery]) -> int:
        """Hand deliveries to `direct` in order; how many it took (the rest are buffered)."""
        assert self.direct is not None
        for index, delivery in enumerate(deliveries):
            if delivery.record.seq <= self._high:
                continue
            outcome = self.direct(delivery)
            if outcome is False:
                return index
            self._high = delivery.record.seq
            if outcome is True:
                continue
            try:
                blocked = outcome.send(None)
            except StopIteration:
                continue
            except Exception as error:  # raised in the subscriber's task, as its own send
                self.fail(error)
                return len(deliveries)
            self._pending = _Resume(outcome, blocked)
            return index + 1
        return len(deliveries)

    def fail(self, error: Exception) -> None:
        if self._error is None:
            self._error = error
            self._buffer = None
            if self._pending is not None:
                self._pending.coro.close()
                self._pending = None
            self._wake()

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def events(self, account_id: UUID) -> AsyncIterator[Delivery]:
        while self._replaying:
            if self._error is not None:
                raise self._error
            records = await fetch_events(account_id, self._high, PAGE_SIZE)
            if records:
                for delivery in Batch(records).deliveries():
                    self._high = delivery.record.seq
                    yield delivery
            elif self._live_high <= self._high:
                # Caught up with the log and with everything pushed meanwhile; no await
                # between this check and the switch, so no push can fall in between.
                self._replaying = False
        while True:
            pending = self._pending
            if pending is not None:
                self._pending = None
                await pending
                continue
            buffer = self._buffer
            if buffer:
                delivery = buffer.popleft()
                if not buffer:
                    self._buffer = None
                yield delivery
                continue
            if self._error is not None:
                raise self._error
            self._waiter = asyncio.get_running_loop().create_future()
            await self._waiter
            self._waiter = None


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
        direct: Direct | None = None,
    ) -> AsyncIterator[Subscriber]:
        """Events of `account_id` after position `after`, or from now on when it is None.

        `prepare` (the first one given for the account is kept) is awaited with each live
        batch and the feed's subscribers before the batch is pushed, to fill `Batch.shared`
        while the subscribers sleep: what they share is ready before any of them needs it.
        `direct`: see `Subscriber`.
        """
        if self._stopped:
            raise HubStopped("server shutting down")
        feed = self._feeds.get(account_id)
        if feed is None:
            feed = self._open(account_id)
        subscriber: Subscriber | None = None
        feed.users += 1
        if feed.prepare is None:
            feed.prepare = prepare
        try:
            await asyncio.shield(feed.ready)
            # Registered at the feed's current position with no await in between: every
            # later event reaches the subscriber by push, every earlier one by replay.
            if after is None:
                subscriber = Subscriber(
                    feed.cursor, replay=False, limit=self._queue_size, direct=direct
                )
            else:
                subscriber = Subscriber(
                    max(after, 0), replay=True, limit=self._queue_size, direct=direct
                )
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
        feed = _Feed(account_id)
        self._feeds[account_id] = feed
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
            if len(records) == PAGE_SIZE:
                feed.dirty = True

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
