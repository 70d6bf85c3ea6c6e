"""The live inbox's fast path: one execution per group of alike subscribers, sent from the pump.

Without it, every subscriber's task wakes for every event, and graphql-core executes and
serialises the event once per subscriber. With it:

- the hub's `prepare` step renders each event once per share key (`LiveOperation.share_key`:
  same document, variables and permissions) among the batch's permitted subscribers;
- a `DirectSubscriber` whose task sleeps with nothing queued takes its deliveries in the
  hub's pump and sends the shared `next` frame itself, without waking its task; a send that
  cannot finish at once (the socket is not writable) is finished by the task (`Pending`);
- anything else (MESSAGING revoked, a batch not prepared, a result with errors) goes through
  the plain path of subscriptions.inbox, unchanged.
"""

from __future__ import annotations

from collections.abc import Coroutine, Generator, Hashable, Sequence
from functools import partial
from typing import Any, cast
from uuid import UUID

from gql.context import Context, Info
from gql.live.operation import LiveOperation, live_operation
from services import metrics
from services.hub import Batch, Delivery, Prepare, Subscriber
from services.live import EventRows
from subscriptions.inbox import PREPARED, Prepared, primed_loaders


class InboxFastPath:
    """One subscription's part in the fast path (`context.live(info)`)."""

    __slots__ = ("context", "operation", "share_key", "user_id")

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

    def direct(self, delivery: Delivery) -> Coroutine[Any, Any, None] | bool:
        """In the pump: the send of a delivery if all it needs is ready; True when there is
        nothing to send; False to leave it to the subscriber's task."""
        batch = delivery.batch
        ready = batch.ready(PREPARED)
        if ready is None:
            return False
        allowed, events = cast(Prepared, ready)
        if self.user_id not in allowed:
            return False
        seq = delivery.record.seq
        if seq not in events:
            return True
        payload = batch.ready((seq, self.share_key))
        if not isinstance(payload, str):
            return False
        return self.operation.send_next(payload)

    async def render(self, event: object, rows: EventRows) -> str | None:
        """The shared `next` payload of one event, or None to let each subscriber execute it."""
        self.context.loaders = primed_loaders(self.context, rows)
        try:
            return await self.operation.render(event)
        except Exception:  # each subscriber's own execution reports it
            return None
        finally:
            self.context.loaders = None


def for_operation(info: Info) -> InboxFastPath | None:
    """The fast path of `info`'s operation, when it runs over graphql-transport-ws."""
    operation = live_operation(info)
    return InboxFastPath(operation, info.context) if operation is not None else None


async def prepare_and_render(
    base: Prepare, batch: Batch, subscribers: Sequence[Subscriber]
) -> None:
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
