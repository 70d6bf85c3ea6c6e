"""The hub and the bus, below GraphQL: fan-out, replay/live hand-over, slow consumers, Redis."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any

import pytest

from services import hub as hub_module
from services.bus import MemoryBus
from services.bus.backends.redis import RedisBus
from services.events_log import EventRecord
from services.hub import Hub, SlowConsumer, Subscriber
from tests.realtime_fixtures import (  # noqa: F401  (fixture)
    Pair,
    RedisServer,
    collect,
    make_pair,
    redis_server,
    wait_until,
    write_events,
)


@pytest.fixture
async def hub(app: Any) -> AsyncIterator[Hub]:
    """A hub of its own (memory bus) over the app's database: SQLite, then PostgreSQL."""
    hub = Hub(MemoryBus(), queue_size=50, poll_seconds=0)
    await hub.start()
    yield hub
    await hub.stop()


async def seqs(subscriber: Subscriber, account_id: uuid.UUID) -> AsyncIterator[int]:
    async for delivery in subscriber.events():
        yield delivery.record.seq


async def test_one_read_per_notification_shared_by_every_local_subscriber(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    pair, other = await make_pair(), await make_pair()
    reads: list[uuid.UUID] = []
    real_fetch = hub_module.fetch_events

    async def counting_fetch(account_id: uuid.UUID, after: int, limit: int) -> list[EventRecord]:
        reads.append(account_id)
        return await real_fetch(account_id, after, limit)

    monkeypatch.setattr(hub_module, "fetch_events", counting_fetch)
    async with (
        hub.subscribe(pair.brand_id, None) as first,
        hub.subscribe(pair.brand_id, None) as second,
        hub.subscribe(other.brand_id, None) as stranger,
    ):
        await write_events(pair, 1, hub.bus, audience=[pair.brand_id])
        a = await anext(first.events())
        b = await anext(second.events())
        assert a.record == b.record and a.batch is b.batch
        assert reads == [pair.brand_id]
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(anext(stranger.events()), 0.2)


async def test_replay_hands_over_to_live_without_gap_or_repeat(hub: Hub) -> None:
    pair = await make_pair()
    await write_events(pair, 40, hub.bus)
    async with hub.subscribe(pair.partner_id, None) as live_only:
        live_task = asyncio.create_task(collect(seqs(live_only, pair.partner_id), 60))
        async with hub.subscribe(pair.partner_id, 10) as replaying:
            # Events keep arriving while the replay reads the log.
            writer = asyncio.create_task(write_events(pair, 60, hub.bus))
            got = await collect(seqs(replaying, pair.partner_id), 90)
            await writer
        live = await live_task
    assert got == list(range(11, 101))
    assert live == list(range(41, 101))


async def test_slow_consumer_is_cut_off_and_holds_nothing(hub: Hub) -> None:
    pair = await make_pair()
    async with hub.subscribe(pair.brand_id, None) as subscriber:
        events = subscriber.events()
        await write_events(pair, 60, hub.bus)  # queue_size is 50
        await wait_until(lambda: subscriber.failed)
        with pytest.raises(SlowConsumer):
            await anext(events)
        assert subscriber.backlog == 0


async def test_poll_catches_up_events_whose_notification_was_lost(hub: Hub) -> None:
    pair = await make_pair()
    async with hub.subscribe(pair.brand_id, None) as subscriber:
        await write_events(pair, 3, bus=None)
        await hub.poll()
        assert await collect(seqs(subscriber, pair.brand_id), 3) == [1, 2, 3]


class Recorder:
    def __init__(self) -> None:
        self.notified: asyncio.Queue[Sequence[uuid.UUID]] = asyncio.Queue()
        self.resyncs = 0

    def on_notify(self, account_ids: Sequence[uuid.UUID]) -> None:
        self.notified.put_nowait(account_ids)

    def on_resync(self) -> None:
        self.resyncs += 1


async def test_redis_bus_carries_notifications_between_processes(
    redis_server: RedisServer,  # noqa: F811
) -> None:
    sender, receiver, recorder = RedisBus(redis_server.url), RedisBus(redis_server.url), Recorder()
    receiver.set_listener(recorder)
    await receiver.start()
    await sender.start()
    try:
        ids = [uuid.uuid4(), uuid.uuid4()]
        await sender.notify(ids)
        assert await asyncio.wait_for(recorder.notified.get(), 5) == ids
        assert recorder.resyncs == 1
    finally:
        await sender.stop()
        await receiver.stop()


async def test_redis_restart_triggers_a_resync_and_notifications_resume(
    redis_server: RedisServer,  # noqa: F811
) -> None:
    bus, recorder = RedisBus(redis_server.url), Recorder()
    bus.set_listener(recorder)
    await bus.start()
    try:
        redis_server.stop()
        await bus.notify([uuid.uuid4()])  # lost, and says so only in the log
        await wait_until(lambda: not bus.subscribed)
        redis_server.start()
        await wait_until(lambda: bus.subscribed)
        assert recorder.resyncs == 2
        account = uuid.uuid4()
        await bus.notify([account])
        assert await asyncio.wait_for(recorder.notified.get(), 5) == [account]
    finally:
        await bus.stop()


async def test_feeds_woken_together_read_the_database_a_few_at_a_time(
    hub: Hub, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One notification naming many accounts (a bulk send) must not take every pooled
    connection at once: reads are bounded by `CONCURRENT_READS`, and every feed still delivers."""
    import contextlib

    pairs = [await make_pair() for _ in range(3 * hub_module.CONCURRENT_READS)]
    in_flight, most = 0, 0
    real_fetch = hub_module.fetch_events

    async def slow_fetch(account_id: uuid.UUID, after: int, limit: int) -> list[EventRecord]:
        nonlocal in_flight, most
        in_flight += 1
        most = max(most, in_flight)
        try:
            await asyncio.sleep(0.02)
            return await real_fetch(account_id, after, limit)
        finally:
            in_flight -= 1

    monkeypatch.setattr(hub_module, "fetch_events", slow_fetch)
    async with contextlib.AsyncExitStack() as stack:
        subscribers = [
            await stack.enter_async_context(hub.subscribe(pair.brand_id, None)) for pair in pairs
        ]
        for pair in pairs:  # written without notifying, then announced in one notification
            await write_events(pair, 1, None, audience=[pair.brand_id])
        await hub.bus.notify([pair.brand_id for pair in pairs])
        for subscriber in subscribers:
            delivery = await asyncio.wait_for(anext(subscriber.events()), 10)
            assert delivery.record.seq >= 1
    assert 1 < most <= hub_module.CONCURRENT_READS
