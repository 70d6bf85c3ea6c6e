"""What the hub hands its subscribers: batches of events, and a bounded queue per subscriber.

Per subscriber: events in `seq` order, each at most once, with no gap from its starting
position (replay reads the log until it has caught up with everything pushed meanwhile, then
switches to the pushed batches). Past `limit` queued events it fails with `SlowConsumer` and
holds nothing, so a stalled client cannot make the server grow.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any, Protocol, TypeVar, cast
from uuid import UUID

from services.events_log import EventRecord, fetch_events

T = TypeVar("T")

PAGE_SIZE = 500


class SlowConsumer(Exception):
    """The subscriber fell `queue_size` events behind; it may resume from its last cursor."""


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
    def position(self) -> int:
        """The highest seq yielded, buffered or handled in `push`."""
        return self._high

    @property
    def backlog(self) -> int:
        return len(self._buffer) if self._buffer is not None else 0

    @property
    def failed(self) -> bool:
        """Cut off (`SlowConsumer`, `HubStopped`, …): its consumer gets the error next."""
        return self._error is not None

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

    def on_idle(self) -> None:
        """Called in `events()` when the consumer is about to wait for the next push, live and
        with nothing queued; a subclass may raise here to end the consumer (gql.live parks
        the subscription as a record in the hub)."""

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
                self.on_idle()
                self._waiter = asyncio.get_running_loop().create_future()
                await self._waiter
                self._waiter = None
