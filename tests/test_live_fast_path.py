"""gql.live, the live fast path, below the websocket: sends from the hub's pump, in order.

The realtime tests through a real server (test_realtime_ws.py) run with the fast path on and
off and expect the same frames; these check what only the fast path does, including a
parked subscription (`ParkedInbox`: a record in the hub with no task).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from functools import partial
from types import SimpleNamespace
from typing import Any

import pytest

from gql.live.inbox import DirectSubscriber, ParkedInbox
from services.bus import MemoryBus
from services.hub import Batch, Delivery, Hub, SlowConsumer
from subscriptions.inbox import CLOSE_SERVICE_RESTART, CLOSE_SLOW_CONSUMER, PREPARED
from tests.realtime_fixtures import make_pair, write_events


@pytest.fixture
async def hub(app: Any) -> AsyncIterator[Hub]:
    hub = Hub(MemoryBus(), queue_size=50, poll_seconds=0)
    await hub.start()
    yield hub
    await hub.stop()


class Sends:
    """Stands in for `InboxFastPath.direct`: seq 3's send blocks until `gate`; seq 6 is
    left to the task."""

    def __init__(self) -> None:
        self.sent: list[int] = []
        self.gate: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    async def send(self, seq: int) -> None:
        if seq == 3:
            await self.gate  # the socket is not writable for a while
        self.sent.append(seq)

    def direct(self, delivery: Delivery) -> Any:
        seq = delivery.record.seq
        return False if seq == 6 else self.send(seq)

    def park(self, subscriber: Any) -> None:
        """Never parks: these tests follow one subscriber's task."""

    def subscriber(self, account_id: uuid.UUID, start: int, *, replay: bool, limit: int) -> Any:
        return DirectSubscriber(self, account_id, start, replay=replay, limit=limit)  # type: ignore[arg-type]


async def wait_until(condition: Any, within: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + within
    while not condition():
        assert asyncio.get_running_loop().time() < deadline, "condition not met in time"
        await asyncio.sleep(0.01)


async def test_direct_deliveries_skip_the_task_and_keep_their_order(hub: Hub) -> None:
    """An idle subscriber's deliveries are sent in the pump; a send that cannot finish at
    once, and what arrives meanwhile, are finished by its task, in order."""
    pair = await make_pair()
    sends = Sends()
    async with hub.subscribe(pair.partner_id, None, make=sends.subscriber) as subscriber:
        taken: list[int] = []

        async def consume() -> None:
            async for delivery in subscriber.events():
                taken.append(delivery.record.seq)

        consumer = asyncio.create_task(consume())
        await wait_until(lambda: subscriber.idle)
        await write_events(pair, 3, hub.bus, audience=[pair.partner_id])
        await wait_until(lambda: sends.sent == [1, 2])
        await write_events(pair, 2, hub.bus, audience=[pair.partner_id])  # while 3 blocks
        await wait_until(lambda: subscriber.backlog == 2)
        assert (sends.sent, taken) == ([1, 2], [])
        sends.gate.set_result(None)
        await wait_until(lambda: taken == [4, 5])
        assert sends.sent == [1, 2, 3]
        await wait_until(lambda: subscriber.idle)
        await write_events(pair, 1, hub.bus, audience=[pair.partner_id])  # 6: to the task
        await wait_until(lambda: taken == [4, 5, 6] and subscriber.idle)
        await write_events(pair, 1, hub.bus, audience=[pair.partner_id])
        await wait_until(lambda: sends.sent == [1, 2, 3, 7])
        assert taken == [4, 5, 6]
        consumer.cancel()


async def test_a_batch_longer_than_the_queue_is_refused_not_sent(hub: Hub) -> None:
    pair = await make_pair()
    sends = Sends()
    async with hub.subscribe(pair.partner_id, None, make=sends.subscriber) as subscriber:
        events = subscriber.events()
        waiting = asyncio.create_task(anext(events))
        await wait_until(lambda: subscriber.idle)
        # One batch of 60 (queue_size is 50): written unnotified, then one notification.
        await write_events(pair, 60, None, audience=[pair.partner_id])
        await hub.poll()
        with pytest.raises(SlowConsumer):
            await asyncio.wait_for(waiting, 10)
        assert sends.sent == []


# ParkedInbox: an idle subscription held as a record in the hub, with no task.


class FakeOperation:
    """Stands in for `LiveOperation`: the payload "p3" blocks until `gate` is set."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.gate: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def send_next(self, payload: str) -> Any:
        return self._send(payload)

    async def _send(self, payload: str) -> None:
        if payload == "p3":
            await self.gate
        self.sent.append(payload)


class FakeHub:
    def __init__(self) -> None:
        self.attached: set[Any] = set()

    def detach(self, account_id: uuid.UUID, member: Any) -> None:
        self.attached.discard(member)


class FakeContext:
    def __init__(self) -> None:
        self.rt = SimpleNamespace(hub=FakeHub())
        self.closed: list[int] = []

    async def close_websocket(self, code: int, reason: str) -> None:
        self.closed.append(code)


class Transport:
    def __init__(self) -> None:
        self.resumed: list[tuple[str, int]] = []

    def resume(self, key: str, position: int) -> None:
        self.resumed.append((key, position))


def parked(limit: int = 50) -> tuple[ParkedInbox, FakeOperation, FakeContext, Transport]:
    operation, context, transport = FakeOperation(), FakeContext(), Transport()
    fast = SimpleNamespace(operation=operation, context=context, share_key="k", user_id=USER)
    subscriber = SimpleNamespace(account_id=uuid.uuid4(), position=0, limit=limit)
    record = ParkedInbox(fast, fast, subscriber)  # type: ignore[arg-type]
    record.transport, record.transport_key = transport, "op-1"
    context.rt.hub.attached.add(record)
    return record, operation, context, transport


USER = uuid.uuid4()


async def prepared_batch(seqs: list[int], *, visible: set[int], rendered: set[int]) -> Batch:
    """A batch as the hub's prepare step leaves it: who may receive it, its events, and the
    shared payload "p<seq>" of each rendered event."""
    batch = Batch([SimpleNamespace(seq=seq) for seq in seqs])  # type: ignore[misc]
    events = {seq: (None, None) for seq in visible}
    await batch.shared(PREPARED, partial(asyncio.sleep, 0, (frozenset({USER}), events)))
    for seq in rendered:
        await batch.shared((seq, "k"), partial(asyncio.sleep, 0, f"p{seq}"))
    return batch


async def test_a_parked_subscription_sends_from_the_push_and_finishes_a_blocked_send_in_order() -> (
    None
):
    record, operation, _, transport = parked()
    batch = await prepared_batch([1, 2, 3, 4], visible={1, 3, 4}, rendered={1, 3, 4})
    record.push(batch.deliveries())
    # 1 is sent in the push itself, 2 names nothing visible, 3 blocks: a task finishes it.
    assert operation.sent == ["p1"] and record.task is not None
    later = await prepared_batch([5], visible={5}, rendered={5})
    record.push(later.deliveries())  # arrives while 3 is blocked: waits behind it
    assert operation.sent == ["p1"]
    operation.gate.set_result(None)
    await asyncio.wait_for(record.task, 10)
    assert operation.sent == ["p1", "p3", "p4", "p5"]
    assert record.task is None and record.position == 5 and transport.resumed == []


async def test_a_parked_subscription_resumes_its_operation_for_what_the_push_cannot_send() -> None:
    record, operation, context, transport = parked()
    batch = await prepared_batch([1, 2], visible={1, 2}, rendered={1})  # 2: not rendered
    record.push(batch.deliveries())
    assert operation.sent == ["p1"]
    # Out of the hub, and the operation starts again after 1: it replays 2 itself.
    assert transport.resumed == [("op-1", 1)]
    assert record not in context.rt.hub.attached
    record.push((await prepared_batch([3], visible={3}, rendered={3})).deliveries())
    assert operation.sent == ["p1"]  # detached: nothing more through the record


async def test_a_parked_subscription_refuses_a_batch_longer_than_its_queue() -> None:
    record, operation, context, _ = parked(limit=3)
    batch = await prepared_batch([1, 2, 3, 4], visible={1, 2, 3, 4}, rendered={1, 2, 3, 4})
    record.push(batch.deliveries())
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    assert operation.sent == [] and context.closed == [CLOSE_SLOW_CONSUMER]
    assert record not in context.rt.hub.attached


async def test_a_hub_stop_closes_parked_subscriptions_with_1012(app: Any) -> None:
    """A parked record leaves the feed as it fails: the hub's stop goes on to the others."""
    hub = Hub(MemoryBus(), queue_size=50, poll_seconds=0)
    await hub.start()
    pair = await make_pair()
    records = [parked() for _ in range(3)]
    async with hub.subscribe(pair.partner_id, None):
        for record, _, context, _ in records:
            context.rt.hub = hub
            record.account_id = pair.partner_id
            hub.attach(pair.partner_id, record)
        assert hub.subscriber_count == 4
        await hub.stop()
    await wait_until(lambda: all(context.closed for _, _, context, _ in records))
    assert [context.closed for _, _, context, _ in records] == [[CLOSE_SERVICE_RESTART]] * 3
