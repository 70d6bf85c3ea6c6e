"""Open websockets of this process by user, so that a deactivated user's close at once.

SPEC §8: an inactive user's tokens stop working at once — HTTP answers 401 (services.auth
reads `users.active` on every request), and every open websocket of the user closes with
4403. `close_users` does it in the process that deactivated them; a background sweep
(every `poll_seconds`, one indexed query on `users.deactivated_at`) does it in every other
process, so with several `serve` processes a socket closes within about a second.

Sockets are held weakly: one that ends is forgotten with its connection, nothing to undo.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
import weakref
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Protocol

from models import User

log = logging.getLogger("liaison.sessions")

CLOSE_DEACTIVATED = 4403
DEACTIVATED_REASON = "User deactivated"
# How far back each sweep looks again: a socket registered just after a deactivation was
# read by the previous sweep is still found by the next one.
OVERLAP = timedelta(seconds=30)


class Closable(Protocol):
    """A websocket as the sessions see it (Starlette's `WebSocket` is one)."""

    async def close(self, code: int = ..., reason: str | None = ...) -> None: ...


class Sessions:
    def __init__(self, *, poll_seconds: float = 1.0) -> None:
        self._sockets: weakref.WeakKeyDictionary[Closable, uuid.UUID] = weakref.WeakKeyDictionary()
        self._poll_seconds = poll_seconds
        self._since = datetime.now(UTC)
        self._task: asyncio.Task[None] | None = None

    def register(self, user_id: uuid.UUID, socket: Closable) -> None:
        """Track an authenticated socket of `user_id` until it is gone."""
        self._sockets[socket] = user_id

    @property
    def open_count(self) -> int:
        return len(self._sockets)

    async def close_users(self, user_ids: Iterable[uuid.UUID]) -> int:
        """Close every socket of these users with 4403; how many were closed."""
        wanted = set(user_ids)
        doomed = [s for s, uid in list(self._sockets.items()) if uid in wanted]
        for socket in doomed:
            self._sockets.pop(socket, None)
            with contextlib.suppress(RuntimeError, OSError):
                await socket.close(CLOSE_DEACTIVATED, DEACTIVATED_REASON)
        if doomed:
            log.info("closed %d websocket(s) of deactivated users", len(doomed))
        return len(doomed)

    async def sweep(self) -> int:
        """Close the sockets of users deactivated (by any process) since the last sweep."""
        started = datetime.now(UTC)
        if not self._sockets:
            self._since = started
            return 0
        rows = await User.filter(
            active=False, deactivated_at__gte=self._since - OVERLAP
        ).values_list("id", flat=True)
        self._since = started
        connected = set(self._sockets.values())
        return await self.close_users(
            uid for uid in (uuid.UUID(str(r)) for r in rows) if uid in connected
        )

    async def start(self) -> None:
        if self._poll_seconds > 0 and self._task is None:
            self._task = asyncio.create_task(self._sweep_forever(), name="liaison-sessions")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(self._poll_seconds)
            try:
                await self.sweep()
            except Exception:
                log.exception("sessions: sweeping deactivated users failed")
