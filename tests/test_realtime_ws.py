"""The live inbox through a real `liaison serve` (uvicorn subprocess) and a real websocket client."""

from __future__ import annotations

import asyncio
import contextlib
import json
import uuid
from collections.abc import AsyncIterator
from datetime import timedelta

import httpx
import pytest
import websockets
from tortoise.transactions import in_transaction

from models import AccountKind, EventKind, User
from services import accounts, events_log
from services.auth import issue_token
from tests import realtime_fixtures
from tests.conftest import JWT_SECRET
from tests.factories import make_account, make_pair, make_user
from tests.realtime_fixtures import (
    INBOX_EVENTS,
    GqlWs,
    Server,
    ServerCluster,
    WsClosed,
    bearer,
    http_send,
    start_server,
    wait_until,
)

cluster, server = realtime_fixtures.cluster, realtime_fixtures.server
pytestmark = realtime_fixtures.POSTGRES_ONLY


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30) as client:
        yield client


async def test_partner_receives_message_sent_by_brand_over_http(
    server: Server,
    http: httpx.AsyncClient,
) -> None:
    pair = await make_pair()
    async with GqlWs.connect(server.ws_url, bearer(pair.partner_user.id)) as ws:
        await ws.subscribe()
        await server.wait_subscriptions(1)
        sent = await http_send(http, server.http_url, pair.brand_user.id, pair.partner.id, "Hi!")
        [event] = await ws.events(1)
    assert event["__typename"] == "MessageCreated"
    assert event["message"]["id"] == sent["message"]["id"]
    assert event["message"]["body"] == "Hi!"
    assert event["message"]["senderAccount"]["id"] == str(pair.brand.id)
    assert event["conversation"]["counterpart"]["id"] == str(pair.brand.id)
    assert event["conversation"]["unreadCount"] == 1
    assert event["cursor"]


WITH_FRAGMENTS = """
subscription Live($after: String) { inboxEvents(after: $after) { __typename
  ... on MessageCreated { cursor message { ...Msg } } } }
fragment Msg on Message { id body attachments { ...Att } }
fragment Att on Attachment { id scanStatus }
"""


async def test_a_subscription_with_named_fragments_receives_events(
    server: Server,
    http: httpx.AsyncClient,
) -> None:
    """Single-page apps write their documents with fragments (the web app does)."""
    pair = await make_pair()
    async with GqlWs.connect(server.ws_url, bearer(pair.partner_user.id)) as ws:
        await ws.subscribe(query=WITH_FRAGMENTS)
        await asyncio.sleep(0.2)
        sent = await http_send(http, server.http_url, pair.brand_user.id, pair.partner.id, "Frag")
        [event] = await ws.events(1)
    assert event["message"] == {"id": sent["message"]["id"], "body": "Frag", "attachments": []}


async def test_another_account_receives_nothing(
    server: Server,
    http: httpx.AsyncClient,
) -> None:
    pair = await make_pair()
    stranger = await make_pair(brand=pair.brand)  # same brand, other partner
    outsider = await make_user(await make_account(AccountKind.BRAND))
    async with (
        GqlWs.connect(server.ws_url, bearer(pair.partner_user.id)) as recipient,
        GqlWs.connect(server.ws_url, bearer(stranger.partner_user.id)) as other_partner,
        GqlWs.connect(server.ws_url, bearer(outsider.id)) as other_brand,
    ):
        for ws in (recipient, other_partner, other_brand):
            await ws.subscribe()
        await server.wait_subscriptions(3)
        await http_send(http, server.http_url, pair.brand_user.id, pair.partner.id, "private")
        [event] = await recipient.events(1)
        assert event["message"]["body"] == "private"
        await other_partner.nothing()
        await other_brand.nothing()


@pytest.mark.parametrize(
    "payload",
    [
        {},
        {"authorization": "Bearer not-a-jwt"},
        {"authorization": "Basic dXNlcjpwYXNz"},
        "expired",
        "forged",
    ],
    ids=["missing", "garbage", "not-bearer", "expired", "forged"],
)
async def test_bad_token_closes_4403_before_any_subscription(
    server: Server,
    payload: object,
) -> None:
    user = (await make_pair()).partner_user
    if payload == "expired":
        token = issue_token(JWT_SECRET, user.id, ttl=timedelta(seconds=-5))
        payload = {"authorization": f"Bearer {token}"}
    elif payload == "forged":
        payload = {"authorization": f"Bearer {issue_token('another-secret-' * 3, user.id)}"}
    assert isinstance(payload, dict)
    with pytest.raises(WsClosed) as closed:
        async with GqlWs.connect(server.ws_url, None, payload=payload) as ws:
            await ws.subscribe()
            await ws.receive()
    assert closed.value.code == 4403


async def test_subscribe_before_connection_init_is_refused(server: Server) -> None:
    async with websockets.connect(server.ws_url, subprotocols=["graphql-transport-ws"]) as conn:  # type: ignore[list-item]
        await conn.send(
            '{"id": "1", "type": "subscribe", "payload": {"query": "subscription { inboxEvents { __typename } }"}}'
        )
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await conn.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


async def test_websocket_from_a_foreign_origin_is_refused(server: Server) -> None:
    user = (await make_pair()).partner_user
    with pytest.raises(websockets.InvalidStatus) as refused:
        async with GqlWs.connect(server.ws_url, bearer(user.id), origin="https://evil.example"):
            pass
    assert refused.value.response.status_code == 403
    # LIAISON_ALLOWED_ORIGINS lists this one.
    async with GqlWs.connect(server.ws_url, bearer(user.id), origin="https://app.example"):
        pass


async def test_only_graphql_transport_ws_is_served(server: Server) -> None:
    async with websockets.connect(server.ws_url, subprotocols=["graphql-ws"]) as conn:  # type: ignore[list-item]
        with pytest.raises(websockets.ConnectionClosed) as closed:
            await conn.recv()
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4406


async def test_user_without_messaging_gets_permission_denied(server: Server) -> None:
    pair = await make_pair()
    analyst = await make_user(pair.brand, role="ANALYST")
    async with GqlWs.connect(server.ws_url, bearer(analyst.id)) as ws:
        await ws.subscribe()
        message = await ws.receive()
    assert message["type"] in ("next", "error")
    errors = message["payload"]["errors"] if message["type"] == "next" else message["payload"]
    assert errors[0]["extensions"]["code"] == "PERMISSION_DENIED"


async def test_revoked_messaging_stops_delivery(
    server: Server,
    http: httpx.AsyncClient,
) -> None:
    pair = await make_pair()
    async with GqlWs.connect(server.ws_url, bearer(pair.partner_user.id)) as ws:
        await ws.subscribe()
        await server.wait_subscriptions(1)
        await http_send(http, server.http_url, pair.brand_user.id, pair.partner.id, "before")
        assert (await ws.events(1))[0]["message"]["body"] == "before"
        analyst = await accounts.built_in_role(pair.partner.id, "ANALYST")
        await User.filter(id=pair.partner_user.id).update(role_id=analyst.id)
        await http_send(http, server.http_url, pair.brand_user.id, pair.partner.id, "after")
        message = await ws.receive()
        assert message["type"] == "next"
        assert message["payload"]["data"] is None
        assert message["payload"]["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"
        assert (await ws.receive())["type"] == "complete"


async def test_subscriptions_per_connection_are_capped(server: Server) -> None:
    pair = await make_pair()
    async with GqlWs.connect(server.ws_url, bearer(pair.partner_user.id)) as ws:
        for n in range(10):  # LIAISON default cap
            await ws.subscribe(op_id=str(n))
        await ws.subscribe(op_id="one-too-many")
        message = await ws.receive()
    assert message == {
        "id": "one-too-many",
        "type": "error",
        "payload": [{"message": "Subscription limit reached"}],
    }


async def test_reconnect_with_cursor_replays_exactly_what_was_missed(
    server: Server,
    http: httpx.AsyncClient,
) -> None:
    pair = await make_pair()
    async with GqlWs.connect(server.ws_url, bearer(pair.partner_user.id)) as ws:
        await ws.subscribe()
        await server.wait_subscriptions(1)
        await http_send(http, server.http_url, pair.brand_user.id, pair.partner.id, "seen")
        [seen] = await ws.events(1)
    for n in range(100):
        await http_send(http, server.http_url, pair.brand_user.id, pair.partner.id, f"missed {n}")
    async with GqlWs.connect(server.ws_url, bearer(pair.partner_user.id)) as ws:
        await ws.subscribe(after=seen["cursor"])
        replayed = await ws.events(100)
        await ws.nothing(0.5)
        # Then live, right after the replay.
        await http_send(http, server.http_url, pair.brand_user.id, pair.partner.id, "live")
        [live] = await ws.events(1)
    bodies = [e["message"]["body"] for e in replayed]
    assert bodies == [f"missed {n}" for n in range(100)]
    assert len({e["message"]["id"] for e in replayed}) == 100
    assert len({e["cursor"] for e in replayed}) == 100
    assert live["message"]["body"] == "live"


async def test_subscriber_more_than_its_queue_behind_is_closed_1013_and_resumes(
    cluster: ServerCluster,
    http: httpx.AsyncClient,
) -> None:
    env = cluster.env()
    small = start_server({**env, "LIAISON_SUBSCRIBER_QUEUE_SIZE": "5"}, cluster.data_dir)
    try:
        pair = await make_pair()
        async with GqlWs.connect(small.ws_url, bearer(pair.partner_user.id)) as ws:
            await ws.subscribe()
            await small.wait_subscriptions(1)
            await http_send(http, small.http_url, pair.brand_user.id, pair.partner.id, "first")
            [first] = await ws.events(1)
            # 20 events in one commit reach the subscriber as one batch: 15 more than it may hold.
            async with in_transaction() as conn:
                for n in range(20):
                    await events_log.append(
                        conn,
                        EventKind.CONVERSATION_READ,
                        [pair.partner.id],
                        uuid.UUID(first["conversation"]["id"]),
                        reader_account_id=pair.brand.id,
                        last_read_seq=n,
                    )
            with pytest.raises(WsClosed) as closed:  # found by the hub's poll, unnotified
                await ws.receive(within=10)
        assert closed.value.code == 1013
        assert "inboxEvents(after:" in closed.value.reason
        async with GqlWs.connect(small.ws_url, bearer(pair.partner_user.id)) as ws:
            await ws.subscribe(after=first["cursor"])
            resumed = await ws.events(20)
            await ws.nothing(0.3)
        assert [e["__typename"] for e in resumed] == ["ConversationRead"] * 20
        assert [e["lastReadSeq"] for e in resumed] == list(range(20))
    finally:
        small.stop()


async def test_cursor_of_another_account_is_refused(
    server: Server,
    http: httpx.AsyncClient,
) -> None:
    pair = await make_pair()
    async with GqlWs.connect(server.ws_url, bearer(pair.brand_user.id)) as ws:
        await ws.subscribe()
        await server.wait_subscriptions(1)
        await http_send(http, server.http_url, pair.brand_user.id, pair.partner.id, "x")
        [brand_event] = await ws.events(1)
    async with GqlWs.connect(server.ws_url, bearer(pair.partner_user.id)) as ws:
        await ws.subscribe(after=brand_event["cursor"])
        message = await ws.receive()
    assert message["payload"]["errors"][0]["extensions"]["code"] == "INVALID_CURSOR"


async def test_subscriber_and_sender_on_two_processes(
    cluster: ServerCluster,
    server: Server,
    http: httpx.AsyncClient,
) -> None:
    other = cluster.start()
    pair = await make_pair()
    async with GqlWs.connect(server.ws_url, bearer(pair.partner_user.id)) as ws:
        await ws.subscribe()
        await server.wait_subscriptions(1)
        await http_send(http, other.http_url, pair.brand_user.id, pair.partner.id, "via Redis")
        [event] = await ws.events(1, within=5)
    assert event["message"]["body"] == "via Redis"
    other.stop()


async def test_redis_restart_while_300_messages_are_sent_loses_nothing(
    cluster: ServerCluster,
    server: Server,
    http: httpx.AsyncClient,
) -> None:
    sender_process = cluster.start()
    brand_pair = await make_pair()
    second = await make_pair(brand=brand_pair.brand)
    brand_user = brand_pair.brand_user
    async with GqlWs.connect(server.ws_url, bearer(brand_user.id)) as ws:
        await ws.subscribe()
        await server.wait_subscriptions(1)

        async def send_all() -> None:
            for n in range(150):
                for pair in (brand_pair, second):
                    await http_send(
                        http,
                        sender_process.http_url,
                        pair.partner_user.id,
                        pair.brand.id,
                        f"{pair.partner.id}:{n}",
                    )
                if n == 40:
                    cluster.redis.stop()
                if n == 80:
                    cluster.redis.start()

        sending = asyncio.create_task(send_all())
        # The deadline only bounds a failure: 300 sends plus a restart took over 60 s on a
        # loaded 2-core machine while nothing was lost.
        events = await ws.events(300, within=180)
        await sending
        await ws.nothing(0.5)
    logs = server.log.read_text() + sender_process.log.read_text()
    assert "lost Redis" in logs and "publish failed" in logs  # the restart did happen
    bodies = [e["message"]["body"] for e in events]
    assert len(set(bodies)) == 300
    for pair in (brand_pair, second):
        numbers = [int(b.split(":")[1]) for b in bodies if b.startswith(str(pair.partner.id))]
        assert numbers == list(range(150))
    sender_process.stop()


# Front ends write subscriptions with fragments (Apollo's cache, codegen): named ones, on the
# union and on its members, nested, and inline ones.
NAMED_FRAGMENTS = """
subscription Inbox($after: String) { inboxEvents(after: $after) { ...Event } }
fragment Event on InboxEvent { __typename ...Created ... on ConversationRead { cursor } }
fragment Created on MessageCreated { cursor message { ...Body } conversation { id } }
fragment Body on Message { id body }
"""
INLINE_FRAGMENTS = """
subscription { inboxEvents { __typename ... on MessageCreated { cursor ... { message { id body } } } } }
"""
FRAGMENT_WITH_VARIABLE = """
subscription Inbox($after: String, $withBody: Boolean!) { inboxEvents(after: $after) { ...Created } }
fragment Created on MessageCreated { cursor message { id body @include(if: $withBody) } }
"""


@pytest.mark.parametrize("query", [NAMED_FRAGMENTS, INLINE_FRAGMENTS], ids=["named", "inline"])
async def test_subscriptions_with_fragments_receive_events(
    server: Server, http: httpx.AsyncClient, query: str
) -> None:
    pair = await make_pair()
    async with GqlWs.connect(server.ws_url, bearer(pair.partner_user.id)) as ws:
        await ws.subscribe(query=query)
        await server.wait_subscriptions(1)
        sent = await http_send(http, server.http_url, pair.brand_user.id, pair.partner.id, "frag")
        [event] = await ws.events(1)
    assert event["__typename"] == "MessageCreated"
    assert event["message"] == {"id": sent["message"]["id"], "body": "frag"}
    assert event["cursor"]


async def test_a_variable_used_in_a_fragment_keeps_subscribers_apart(
    server: Server, http: httpx.AsyncClient
) -> None:
    pair = await make_pair()
    async with (
        GqlWs.connect(server.ws_url, bearer(pair.partner_user.id)) as with_body,
        GqlWs.connect(server.ws_url, bearer(pair.partner_user.id)) as without_body,
    ):
        for ws, flag in ((with_body, True), (without_body, False)):
            await ws.connection.send(
                json.dumps(
                    {
                        "id": "1",
                        "type": "subscribe",
                        "payload": {
                            "query": FRAGMENT_WITH_VARIABLE,
                            "variables": {"withBody": flag},
                        },
                    }
                )
            )
        await server.wait_subscriptions(2)
        sent = await http_send(http, server.http_url, pair.brand_user.id, pair.partner.id, "v")
        [full] = await with_body.events(1)
        [bare] = await without_body.events(1)
    assert full["message"] == {"id": sent["message"]["id"], "body": "v"}
    assert bare["message"] == {"id": sent["message"]["id"]}


async def closed_code(connection: websockets.ClientConnection) -> int | None:
    with pytest.raises(websockets.ConnectionClosed) as closed:
        await asyncio.wait_for(connection.recv(), 10)
    return closed.value.rcvd.code if closed.value.rcvd else None


@pytest.mark.parametrize("size", [2 * 1024 * 1024, 64 * 1024 + 1], ids=["2MiB", "64KiB+1"])
async def test_a_large_frame_before_authentication_is_refused_1009(
    server: Server, http: httpx.AsyncClient, size: int
) -> None:
    async with websockets.connect(
        server.ws_url,
        subprotocols=["graphql-transport-ws"],
        max_size=None,  # type: ignore[list-item]
    ) as conn:
        junk = "x" * (size - 40)
        # As a connection_init (valid JSON, so only its size is wrong), then as anything.
        with contextlib.suppress(websockets.ConnectionClosed):
            await conn.send(f'{{"type":"connection_init","payload":{{"a":"{junk}"}}}}')
        assert await closed_code(conn) == 1009
    assert (await http.get(server.http_url.replace("/graphql", "/healthz"))).status_code == 200


async def test_an_authenticated_socket_takes_messages_over_64_kib(server: Server) -> None:
    pair = await make_pair()
    async with GqlWs.connect(server.ws_url, bearer(pair.partner_user.id)) as ws:
        big = INBOX_EVENTS + "\n" + "#" * (200 * 1024)  # a comment: the query is unchanged
        await ws.subscribe(query=big)
        await server.wait_subscriptions(1)  # still open, the subscription running
        await ws.connection.send(json.dumps({"type": "ping"}))
        assert (await ws.receive())["type"] == "pong"


async def test_a_socket_is_closed_4403_when_its_token_expires(
    server: Server, http: httpx.AsyncClient
) -> None:
    pair = await make_pair()
    token = issue_token(JWT_SECRET, pair.partner_user.id, ttl=timedelta(seconds=3))
    async with GqlWs.connect(server.ws_url, token) as ws:
        await ws.subscribe()
        await ws.subscribe(op_id="2", query=NAMED_FRAGMENTS)
        await server.wait_subscriptions(2)
        await http_send(http, server.http_url, pair.brand_user.id, pair.partner.id, "in time")
        assert len(await ws.events(2)) == 2
        with pytest.raises(WsClosed) as closed:
            while True:  # nothing but the close may come; a late event fails `events`
                await ws.events(1, within=15)
    assert closed.value.code == 4403
    assert closed.value.reason == "Token expired"


async def test_metrics_count_subscriptions_and_deliveries(
    server: Server, http: httpx.AsyncClient
) -> None:
    pair = await make_pair()
    await server.wait_subscriptions(0)  # the previous tests' are gone
    delivered = server.metric("liaison_events_delivered_total")
    async with GqlWs.connect(server.ws_url, bearer(pair.partner_user.id)) as ws:
        await ws.subscribe()
        await ws.subscribe(op_id="2", query=NAMED_FRAGMENTS)
        await server.wait_subscriptions(2)
        await http_send(http, server.http_url, pair.brand_user.id, pair.partner.id, "counted")
        await ws.events(2)
        await wait_until(lambda: server.metric("liaison_events_delivered_total") == delivered + 2)
    await server.wait_subscriptions(0)
