"""Live sessions (open websockets) of this process, so that rules can end them.

A session is opened once its token is accepted and ends when its socket closes. It is closed
(the transport uses websocket close code 4403) when:

- its token's `exp` passes: at that instant, so no event reaches it afterwards (one timer
  per process, for the earliest expiry of a heap; not one per session);
- `close_user` / `close_account` is called in this process (a deactivated user, a deleted
  account): at once;
- a sweep (every `SWEEP_SECONDS`, one query per 1,000 users) finds that its user may no
  longer sign in (`signed_in_user_ids`: deleted or deactivated): this is how a change made by
  another process reaches this one, within about a second.

Knows nothing of websockets: the transport hands each session its own `close` callable.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import time
from collections.abc import Awaitable, Callable, Iterable
from typing import Any
from uuid import UUID

from models import User

logger = logging.getLogger(__name__)

SWEEP_SECONDS = 1.0
TOKEN_EXPIRED = "Token expired"
SIGNED_OUT = "Signed out"
DEACTIVATED = "User deactivated"

CloseSession = Callable[[str], Awaitable[None]]  # called with the reason


class Session:
    __slots__ = ("account_id", "close", "user_id")

    def __init__(self, user_id: UUID, account_id: UUID, close: CloseSession | None) -> None:
        self.user_id = user_id
        self.account_id = account_id
        self.close = close  # None once ended: an ended session holds nothing of its socket


async def signed_in_user_ids(user_ids: list[UUID]) -> set[UUID]:
    """Which of `user_ids` may still hold a session. The one place to add a rule that signs
    users out (e.g. a deactivated user): open sessions of other users are closed."""
    rows = await User.filter(id__in=user_ids, active=True).values_list("id", flat=True)
    return {row if isinstance(row, UUID) else UUID(str(row)) for row in rows}


class Sessions:
    """One per process (`Runtime.sessions`); `start`/`stop` run the cross-process sweep."""

    def __init__(self, *, sweep_seconds: float = SWEEP_SECONDS) -> None:
        self._open: set[Session] = set()
        self._sweep_seconds = sweep_seconds
        self._sweeper: asyncio.Task[None] | None = None
        self._closing: set[asyncio.Task[int]] = set()
        # (loop time of expiry, tie-breaker, session); ended sessions leave at their expiry
        # or when the heap is rebuilt (`_compact`).
        self._expiries: list[tuple[float, int, Session]] = []
        self._order = itertools.count()
        self._timer: asyncio.TimerHandle | None = None

    def __len__(self) -> int:
        return len(self._open)

    def open(
        self, user_id: UUID, account_id: UUID, expires_at: float, close: CloseSession
    ) -> Session:
        """Register a session whose token expires at `expires_at` (a Unix time)."""
        session = Session(user_id, account_id, close)
        self._open.add(session)
        loop = asyncio.get_running_loop()
        at = loop.time() + max(expires_at - time.time(), 0.0)
        if len(self._expiries) > 2 * len(self._open) + 1000:
            self._compact()
        heapq.heappush(self._expiries, (at, next(self._order), session))
        if self._expiries[0][2] is session:
            self._schedule()
        return session

    def end(self, session: Session) -> None:
        """The session's socket closed: forget it. Idempotent."""
        self._open.discard(session)
        session.close = None

    def _compact(self) -> None:
        self._expiries = [entry for entry in self._expiries if entry[2] in self._open]
        heapq.heapify(self._expiries)

    def _schedule(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._expiries:
            loop = asyncio.get_running_loop()
            self._timer = loop.call_at(self._expiries[0][0], self._on_timer)

    def _on_timer(self) -> None:
        self._timer = None
        now = asyncio.get_running_loop().time()
        while self._expiries and self._expiries[0][0] <= now:
            _, _, session = heapq.heappop(self._expiries)
            if session in self._open:
                self._expire(session)
        self._schedule()

    async def close_user(self, user_id: UUID, reason: str = SIGNED_OUT) -> int:
        """Close this process's sessions of `user_id`; how many there were."""
        return await self._close([s for s in self._open if s.user_id == user_id], reason)

    async def close_users(self, user_ids: Iterable[UUID], reason: str = DEACTIVATED) -> int:
        """Close this process's sessions of these users (deactivated by the platform, SPEC §8)."""
        wanted = set(user_ids)
        return await self._close([s for s in self._open if s.user_id in wanted], reason)

    async def close_account(self, account_id: UUID, reason: str = SIGNED_OUT) -> int:
        """Close this process's sessions of every user of `account_id`; how many there were."""
        return await self._close([s for s in self._open if s.account_id == account_id], reason)

    async def sweep(self) -> int:
        """Close the sessions of users `signed_in_user_ids` no longer lists. Only sessions open
        before the query are judged: one opened meanwhile was not asked about (its user is not
        in `allowed`) and has just been admitted by its own sign-in check."""
        judged = list(self._open)
        user_ids = list({s.user_id for s in judged})
        allowed: set[UUID] = set()
        for start in range(0, len(user_ids), 1000):
            allowed |= await signed_in_user_ids(user_ids[start : start + 1000])
        gone = [s for s in judged if s in self._open and s.user_id not in allowed]
        return await self._close(gone, SIGNED_OUT)

    async def start(self) -> None:
        if self._sweep_seconds > 0:
            self._sweeper = asyncio.create_task(self._sweep_forever(), name="liaison-sessions")

    async def stop(self) -> None:
        tasks: list[asyncio.Task[Any]] = [*self._closing]
        if self._sweeper is not None:
            tasks.append(self._sweeper)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for session in list(self._open):
            self.end(session)
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._expiries.clear()

    async def _close(self, sessions: Iterable[Session], reason: str) -> int:
        closing = [(session, session.close) for session in sessions]
        for session, _ in closing:
            self.end(session)
        for _, close in closing:
            if close is not None:
                with contextlib.suppress(Exception):
                    await close(reason)
        return len(closing)

    def _expire(self, session: Session) -> None:
        task = asyncio.get_running_loop().create_task(self._close([session], TOKEN_EXPIRED))
        self._closing.add(task)
        task.add_done_callback(self._closing.discard)

    async def _sweep_forever(self) -> None:
        while True:
            await asyncio.sleep(self._sweep_seconds)
            if not self._open:
                continue
            try:
                await self.sweep()
            except Exception:
                logger.exception("sessions: sweep failed")
