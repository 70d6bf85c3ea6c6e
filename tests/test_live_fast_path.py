"""gql.live, the live fast path, below the websocket: sends from the hub's pump, in order.

The realtime tests through a real server (test_realtime_ws.py) run with the fast path on and
off and expect the same frames; these check what only the fast path does.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import pytest

from gql.live.inbox import DirectSubscriber
from services.bus import MemoryBus
from services.hub import Delivery, Hub, SlowConsumer
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
