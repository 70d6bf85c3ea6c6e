"""services.sessions: live sessions end at their token's expiry and when a rule signs out."""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

from services.sessions import SIGNED_OUT, TOKEN_EXPIRED, Sessions
from tests.factories import make_pair


class Closed:
    def __init__(self) -> None:
        self.reasons: list[str] = []
        self.event = asyncio.Event()

    async def __call__(self, reason: str) -> None:
        self.reasons.append(reason)
        self.event.set()


async def test_a_session_closes_at_its_expiry_and_not_before() -> None:
    sessions = Sessions(sweep_seconds=0)
    soon, later = Closed(), Closed()
    sessions.open(uuid.uuid4(), uuid.uuid4(), time.time() + 0.2, soon)
    sessions.open(uuid.uuid4(), uuid.uuid4(), time.time() + 3600, later)
    await asyncio.wait_for(soon.event.wait(), 10)
    assert soon.reasons == [TOKEN_EXPIRED]
    assert later.reasons == []
    assert len(sessions) == 1
    await sessions.stop()


async def test_a_session_expiring_before_the_scheduled_one_closes_on_time() -> None:
    """One timer for the process: a session that expires before every open one moves it."""
    sessions = Sessions(sweep_seconds=0)
    later, sooner = Closed(), Closed()
    sessions.open(uuid.uuid4(), uuid.uuid4(), time.time() + 3600, later)
    sessions.open(uuid.uuid4(), uuid.uuid4(), time.time() + 0.1, sooner)
    await asyncio.wait_for(sooner.event.wait(), 10)
    assert (sooner.reasons, later.reasons) == ([TOKEN_EXPIRED], [])
    await sessions.stop()


async def test_close_user_and_close_account_close_only_theirs() -> None:
    sessions = Sessions(sweep_seconds=0)
    account, other_account = uuid.uuid4(), uuid.uuid4()
    alice, bob, carol = uuid.uuid4(), uuid.uuid4(), uuid.uuid4()
    closed = {name: Closed() for name in ("alice1", "alice2", "bob", "carol")}
    expiry = time.time() + 3600
    sessions.open(alice, account, expiry, closed["alice1"])
    sessions.open(alice, account, expiry, closed["alice2"])
    sessions.open(bob, account, expiry, closed["bob"])
    sessions.open(carol, other_account, expiry, closed["carol"])
    assert await sessions.close_user(alice) == 2
    assert [c.reasons for c in closed.values()] == [[SIGNED_OUT], [SIGNED_OUT], [], []]
    assert await sessions.close_account(account) == 1
    assert closed["bob"].reasons == [SIGNED_OUT] and closed["carol"].reasons == []
    assert len(sessions) == 1
    await sessions.stop()


async def test_an_ended_session_is_not_closed(app: Any) -> None:
    sessions = Sessions(sweep_seconds=0)
    closed = Closed()
    session = sessions.open(uuid.uuid4(), uuid.uuid4(), time.time() + 0.05, closed)
    sessions.end(session)
    await asyncio.sleep(0.2)  # past the expiry: the timer was cancelled
    assert closed.reasons == []


async def test_the_sweep_closes_sessions_of_users_that_may_no_longer_sign_in(app: Any) -> None:
    pair = await make_pair()
    sessions = Sessions(sweep_seconds=0)
    kept, gone = Closed(), Closed()
    expiry = time.time() + 3600
    sessions.open(pair.partner_user.id, pair.partner.id, expiry, kept)
    sessions.open(uuid.uuid4(), pair.partner.id, expiry, gone)  # no such user (any more)
    assert await sessions.sweep() == 1
    assert gone.reasons == [SIGNED_OUT] and kept.reasons == []
    await sessions.stop()


async def test_a_session_opened_while_the_sweep_queries_is_not_closed(
    app: Any, monkeypatch: Any
) -> None:
    """The sweep judges only the sessions it asked about: a sign-in that lands during its query
    (seen in CI as a browser's fresh websocket closed with `Signed out`) stays open."""
    import services.sessions as module

    first, second = await make_pair(), await make_pair()
    sessions = Sessions(sweep_seconds=0)
    earlier, newcomer = Closed(), Closed()
    expiry = time.time() + 3600
    sessions.open(first.partner_user.id, first.partner.id, expiry, earlier)
    real = module.signed_in_user_ids

    async def query_while_someone_signs_in(user_ids: list[uuid.UUID]) -> set[uuid.UUID]:
        allowed = await real(user_ids)
        sessions.open(second.partner_user.id, second.partner.id, expiry, newcomer)
        return allowed

    monkeypatch.setattr(module, "signed_in_user_ids", query_while_someone_signs_in)
    assert await sessions.sweep() == 0
    assert earlier.reasons == [] and newcomer.reasons == []
    assert len(sessions) == 2
    await sessions.stop()
