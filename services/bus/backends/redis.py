"""Redis bus: every process publishes to, and reads from, one pub/sub channel.

One pub/sub connection per process (not per websocket). Redis pub/sub forgets what it could
not deliver, so every (re)subscription, which Redis confirms with a `subscribe` message, tells
the listener to resynchronise from the database.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from uuid import UUID

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import ExponentialBackoff, NoBackoff
from redis.exceptions import RedisError

from services import metrics
from services.bus._base import BusListener
from services.bus.channels import INBOX_EVENTS, decode_accounts, encode_accounts

logger = logging.getLogger(__name__)

# A dead pub/sub connection is noticed within this many seconds even without traffic.
HEALTH_CHECK_SECONDS = 5
RECONNECT_MIN_SECONDS = 0.05
RECONNECT_MAX_SECONDS = 2.0
# How long start() waits for the first subscription before serving without it.
START_WAIT_SECONDS = 5.0


class RedisBus:
    def __init__(self, url: str, *, channel: str = INBOX_EVENTS) -> None:
        self._channel = channel
        # Publishing must not hold a request for long when Redis is away: a lost hint is
        # recovered by the listeners' resync, a stuck request is not.
        self._publisher = Redis.from_url(
            url,
            socket_connect_timeout=1.0,
            socket_timeout=1.0,
            retry=Retry(ExponentialBackoff(cap=0.2, base=0.02), 2),
        )
        # The reader reconnects in its own loop so that it sees, and reports, every reconnect.
        self._reader = Redis.from_url(
            url,
            socket_connect_timeout=1.0,
            health_check_interval=HEALTH_CHECK_SECONDS,
            socket_keepalive=True,
            retry=Retry(NoBackoff(), 0),
        )
        self._listener: BusListener | None = None
        self._task: asyncio.Task[None] | None = None
        self._subscribed = asyncio.Event()
        self.reconnects = 0

    def set_listener(self, listener: BusListener | None) -> None:
        self._listener = listener

    @property
    def subscribed(self) -> bool:
        return self._subscribed.is_set()

    async def start(self) -> None:
        if self._task is None:
            self._task = asyncio.create_task(self._read_forever(), name="liaison-bus-reader")
        try:
            await asyncio.wait_for(self._subscribed.wait(), START_WAIT_SECONDS)
        except TimeoutError:
            logger.warning("event bus: Redis unreachable at start-up; retrying in background")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        await self._reader.aclose()
        await self._publisher.aclose()

    async def notify(self, account_ids: Iterable[UUID]) -> None:
        payload = encode_accounts(dict.fromkeys(account_ids))
        if not payload:
            return
        try:
            await self._publisher.publish(self._channel, payload)
            metrics.EVENTS_PUBLISHED.inc()
        except (RedisError, OSError) as error:
            logger.warning("event bus: publish failed (%s); subscribers will resync", error)

    async def _read_forever(self) -> None:
        delay = RECONNECT_MIN_SECONDS
        while True:
            pubsub = self._reader.pubsub()
            try:
                await pubsub.subscribe(self._channel)
                while True:
                    message = await pubsub.get_message(timeout=1.0)
                    if message is not None:
                        self._dispatch(message)
                        delay = RECONNECT_MIN_SECONDS
            except (RedisError, OSError) as error:
                if self._subscribed.is_set():
                    logger.warning("event bus: lost Redis (%s); reconnecting", error)
                self._subscribed.clear()
            finally:
                with contextlib.suppress(RedisError, OSError):
                    await pubsub.aclose()  # type: ignore[no-untyped-call]
            await asyncio.sleep(delay)
            delay = min(delay * 2, RECONNECT_MAX_SECONDS)

    def _dispatch(self, message: dict[str, object]) -> None:
        kind = message.get("type")
        if kind == "subscribe":
            # First subscription or a reconnect: anything published meanwhile is gone.
            if self._subscribed.is_set() or self.reconnects:
                logger.info("event bus: resubscribed to Redis; resynchronising")
            self.reconnects += 1
            self._subscribed.set()
            if self._listener is not None:
                self._listener.on_resync()
        elif kind == "message" and self._listener is not None:
            data = message.get("data")
            if isinstance(data, bytes | str):
                try:
                    account_ids = decode_accounts(data)
                except ValueError:
                    logger.warning("event bus: ignoring malformed notification %r", data)
                    return
                self._listener.on_notify(account_ids)
