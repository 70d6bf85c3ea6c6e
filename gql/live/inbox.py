"""The live inbox's fast path: one execution per group of alike subscribers, sent from the pump.

Without it, every subscriber's task wakes for every event, and graphql-core executes and
serialises the event once per subscriber. With it:

- the hub's `prepare` step renders each event once per share key (`LiveOperation.share_key`:
  same document, variables and permissions) among the batch's permitted subscribers;
- a `DirectSubscriber` whose task sleeps with nothing queued takes its deliveries in the
  hub's pump and sends the shared `next` frame itself, without waking its task; a send that
  cannot finish at once (the socket is not writable) is finished by the task (`Pending`);
- anything else (MESSAGING revoked, a batch not prepared, a result with errors) goes through
  the plain path of subscriptions.inbox, unchanged;
- an idle subscription is *parked*: when its consumer would wait for the next event, its task,
  generator and graphql-core pipeline end, and a `ParkedInbox` record (position, share key,
  the `next` frame's prefix and send) stays in the hub in its place. The record sends what
  the pump hands it; for anything else it starts the operation again from its position
  (replay, then live: no gap, no repeat), which parks again once idle. Each event is rendered
  with one kept executor per account and share key (`_renderers`), not one per subscriber.
"""

from __future__ import annotations

import asyncio
import weakref
from collections import deque
from collections.abc import Coroutine, Generator, Hashable, Sequence
from functools import partial
from typing import Any, cast
from uuid import UUID

from gql.context import Context, Info
from gql.live.operation import LiveOperation, live_operation
from services import metrics
from services.hub import Batch, Delivery, HubStopped, Member, Prepare, Subscriber
from services.live import EventRows
from subscriptions.inbox import (
    CLOSE_SERVICE_RESTART,
    CLOSE_SLOW_CONSUMER,
    PREPARED,
    SLOW_CONSUMER_REASON,
    Prepared,
    primed_loaders,
)


class Parked(BaseException):  # not an error: the operation task ends here
    """Ends an operation's task once its subscription is parked in the hub (gql.ws)."""


# One executor per account and share key renders for every parked subscription alike: the
# first parked one's path, kept while a parked record refers to it.
_renderers: weakref.WeakValueDictionary[tuple[UUID, Hashable], InboxFastPath] = (
    weakref.WeakValueDictionary()
)


class InboxFastPath:
    """One subscription's part in the fast path (`context.live(info)`)."""

    __slots__ = ("__weakref__", "context", "operation", "share_key", "user_id")

    def __init__(self, operation: LiveOperation, context: Context) -> None:
        self.operation = operation
        self.context = context
        self.share_key = operation.share_key(context.viewer)
        self.user_id = context.viewer.user_id

    def prepare(self, base: Prepare) -> Prepare:
        return partial(prepare_and_render, base)

    def subscriber(self, account_id: UUID, start: int, *, replay: bool, limit: int) -> Subscriber:
        return DirectSubscriber(self, account_id, start, replay=replay, limit=limit)

    async def sent(self, delivery: Delivery, event: object, rows: EventRows) -> bool:
        """Send the shared payload of `delivery`; False to let the plain path yield it."""
        payload = await delivery.batch.shared(
            (delivery.record.seq, self.share_key), partial(self.render, event, rows)
        )
        if payload is None:
            return False
        await self.operation.send_next(payload)
        metrics.EVENTS_DELIVERED.inc()
        return True

    @property
    def resume_after(self) -> int | None:
        """Where a parked subscription resumes (it replays from there); None on a first run."""
        return self.operation.resume_after

    def direct(self, delivery: Delivery) -> Coroutine[Any, Any, None] | bool:
        """In the pump: the send of a delivery if all it needs is ready; True when there is
        nothing to send; False to leave it to the subscriber's task."""
        return direct(delivery, self.user_id, self.share_key, self.operation)

    def park(self, subscriber: Subscriber) -> None:
        """In the consumer, about to wait: leave a `ParkedInbox` in the hub in place of
        `subscriber` and end the operation's task (raises `Parked`)."""
        park = self.operation.park
        if park is None:
            return
        account_id = subscriber.account_id
        renderer = _renderers.setdefault((account_id, self.share_key), self)
        record = ParkedInbox(renderer, self, subscriber)
        # No await from here to the end of `hub.subscribe`: no batch reaches both.
        self.context.rt.hub.attach(account_id, record)
        park(record)
        self.operation.park = None  # parked once; a resumed run is bound anew
        if renderer is not self:
            self.operation.executor = None  # the renderer's executor renders for this one
        raise Parked

    async def render(self, event: object, rows: EventRows) -> str | None:
        """The shared `next` payload of one event, or None to let each subscriber execute it."""
        self.context.loaders = primed_loaders(self.context, rows)
        try:
            return await self.operation.render(event)
        except Exception:  # each subscriber's own execution reports it
            return None
        finally:
            self.context.loaders = None


def direct(
    delivery: Delivery, user_id: UUID, share_key: Hashable, operation: LiveOperation
) -> Coroutine[Any, Any, None] | bool:
    batch = delivery.batch
    ready = batch.ready(PREPARED)
    if ready is None:
        return False
    allowed, events = cast(Prepared, ready)
    if user_id not in allowed:
        return False
    seq = delivery.record.seq
    if seq not in events:
        return True
    payload = batch.ready((seq, share_key))
    if not isinstance(payload, str):
        return False
    return operation.send_next(payload)


def for_operation(info: Info) -> InboxFastPath | None:
    """The fast path of `info`'s operation, when it runs over graphql-transport-ws."""
    operation = live_operation(info)
    return InboxFastPath(operation, info.context) if operation is not None else None


async def prepare_and_render(base: Prepare, batch: Batch, subscribers: Sequence[Member]) -> None:
    """The hub's `prepare` step: the plain one, then each event rendered once per share key
    of the permitted fast-path subscribers."""
    await base(batch, subscribers)
    ready = batch.ready(PREPARED)
    if ready is None:
        return
    allowed, events = cast(Prepared, ready)
    paths: dict[Hashable, InboxFastPath] = {}
    for subscriber in subscribers:
        if isinstance(subscriber, DirectSubscriber) and subscriber.fast.user_id in allowed:
            paths.setdefault(subscriber.fast.share_key, subscriber.fast)
        elif isinstance(subscriber, ParkedInbox) and subscriber.user_id in allowed:
            paths.setdefault(subscriber.share_key, subscriber.renderer)
    for seq, (event, rows) in events.items():
        for key, fast in paths.items():
            await batch.shared((seq, key), partial(fast.render, event, rows))


class DirectSubscriber(Subscriber):
    """A hub subscriber that sends its own deliveries in the pump while its task sleeps."""

    __slots__ = ("fast",)

    def __init__(
        self, fast: InboxFastPath, account_id: UUID, start: int, *, replay: bool, limit: int
    ) -> None:
        super().__init__(account_id, start, replay=replay, limit=limit)
        self.fast = fast

    def push(self, deliveries: Sequence[Delivery]) -> None:
        # A longer batch than the queue may hold goes to the queue, which refuses it.
        if self.idle and len(deliveries) <= self.limit:
            taken = self._push_direct(deliveries)
            if taken == len(deliveries):
                if self.pending is not None:
                    self.wake()
                return
            deliveries = deliveries[taken:]
        super().push(deliveries)

    def on_idle(self) -> None:
        self.fast.park(self)

    def _push_direct(self, deliveries: Sequence[Delivery]) -> int:
        """Hand deliveries to `fast.direct` in order; how many it took (the rest are queued)."""
        taken, sends = len(deliveries), 0
        for index, delivery in enumerate(deliveries):
            seq = delivery.record.seq
            if self.seen(seq):
                continue
            outcome = self.fast.direct(delivery)
            if outcome is False:
                taken = index
                break
            self.mark(seq)
            if outcome is True:
                continue
            sends += 1
            try:
                blocked = outcome.send(None)
            except StopIteration:
                continue
            except Exception as error:  # raised in the subscriber's task, as its own send
                self.fail(error)
                sends -= 1
                break
            self.pending = _Resume(outcome, blocked)  # finished by the task
            taken = index + 1
            break
        if sends:
            metrics.EVENTS_DELIVERED.inc(sends)
        return taken


class _Resume:
    """Awaits the rest of a send the pump started: a coroutine suspended on `blocked`."""

    __slots__ = ("blocked", "coro")

    def __init__(self, coro: Coroutine[Any, Any, None], blocked: Any) -> None:
        self.coro = coro
        self.blocked = blocked

    def close(self) -> None:
        self.coro.close()

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


class ParkedInbox:
    """An idle inbox subscription with no task: what the pump hands it is sent from there.

    Holds the subscriber's position, the share key and user (to pick the shared payload), the
    operation's frame prefix and send, and the renderer shared by its account and share key.
    A send that cannot finish at once is finished by a short task, with what arrives meanwhile
    (at most `limit` events, as a subscriber's queue); anything the pump cannot send (see
    `direct`) starts the operation again from the position.
    """

    __slots__ = (
        "account_id",
        "backlog",
        "closed",
        "context",
        "limit",
        "operation",
        "position",
        "renderer",
        "share_key",
        "task",
        "transport",
        "transport_key",
        "user_id",
    )

    def __init__(
        self, renderer: InboxFastPath, fast: InboxFastPath, subscriber: Subscriber
    ) -> None:
        self.renderer = renderer
        self.operation = fast.operation
        self.context = fast.context
        self.share_key = fast.share_key
        self.user_id = fast.user_id
        self.account_id = subscriber.account_id
        self.position = subscriber.position
        self.limit = subscriber.limit
        self.backlog: deque[Delivery] | None = None  # while `task` finishes a send
        self.task: asyncio.Task[None] | None = None
        self.closed = False
        # Set by the transport: `transport.resume(transport_key, position)` starts the
        # operation's task again (two references rather than a bound partial per record).
        self.transport: Any = None
        self.transport_key: Any = None

    def push(self, deliveries: Sequence[Delivery]) -> None:
        if self.closed:
            return
        if self.backlog is not None:
            self.backlog.extend(deliveries)
        if len(self.backlog if self.backlog is not None else deliveries) > self.limit:
            # More than a subscriber's queue may hold, as `Subscriber.push` refuses it.
            self._close(CLOSE_SLOW_CONSUMER, SLOW_CONSUMER_REASON)
            return
        if self.backlog is not None:
            return
        sent = 0
        for index, delivery in enumerate(deliveries):
            seq = delivery.record.seq
            if seq <= self.position:
                continue
            outcome = direct(delivery, self.user_id, self.share_key, self.operation)
            if outcome is False:
                self._resume()
                break
            self.position = seq
            if outcome is True:
                continue
            sent += 1
            try:
                blocked = outcome.send(None)
            except StopIteration:
                continue
            except Exception:  # the socket is closing: its handler detaches this record
                sent -= 1
                break
            self.backlog = deque(deliveries[index + 1 :])
            self.task = asyncio.create_task(self._finish(_Resume(outcome, blocked)))
            break
        if sent:
            metrics.EVENTS_DELIVERED.inc(sent)

    async def _finish(self, pending: _Resume) -> None:
        try:
            await pending
            while self.backlog:
                delivery = self.backlog.popleft()
                seq = delivery.record.seq
                if seq <= self.position:
                    continue
                outcome = direct(delivery, self.user_id, self.share_key, self.operation)
                if outcome is False:
                    self.task = self.backlog = None
                    self._resume()
                    return
                self.position = seq
                if outcome is not True:
                    await outcome
                    metrics.EVENTS_DELIVERED.inc()
        except Exception:  # the socket is closing: its handler detaches this record
            return
        self.task = self.backlog = None

    def _resume(self) -> None:
        """Back to a task: the operation runs again and replays from the position."""
        self.detach()
        self.transport.resume(self.transport_key, self.position)

    def fail(self, error: Exception) -> None:
        """From the hub (`HubStopped`): close the socket as a subscriber's consumer would."""
        if isinstance(error, HubStopped):
            self._close(CLOSE_SERVICE_RESTART, "Server restarting")

    def _close(self, code: int, reason: str) -> None:
        self.close()
        closing = asyncio.create_task(self.context.close_websocket(code, reason))
        _closing.add(closing)
        closing.add_done_callback(_closing.discard)

    def detach(self) -> None:
        """Out of the hub; the transport calls it when the operation ends or the socket closes."""
        if not self.closed:
            self.closed = True
            self.backlog = None
            self.context.rt.hub.detach(self.account_id, self)

    def close(self) -> None:
        self.detach()
        if self.task is not None:
            self.task.cancel()
            self.task = None


_closing: set[asyncio.Task[None]] = set()  # sockets being closed by a parked record
