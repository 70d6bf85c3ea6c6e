"""The security rules over the websocket, through a real `liaison serve` (docs/security.md)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

import httpx
import pytest

from tests import realtime_fixtures
from tests.factories import make_pair, make_user
from tests.realtime_fixtures import GqlWs, Server, WsClosed, bearer, http_send
from tests.test_security_limits import fragment_bomb

cluster, server = realtime_fixtures.cluster, realtime_fixtures.server
pytestmark = realtime_fixtures.POSTGRES_ONLY

# Refused over HTTP as QUERY_TOO_COSTLY; as a subscription each event would render ~90k nodes.
_INNER = "conversation { messages(first: 100) { edges { node { id body } } } }"
COSTLY = (
    "subscription Costly { inboxEvents { ... on MessageCreated { conversation { "
    "messages(first: 100) { edges { node { "
    + " ".join(f"c{i}: {_INNER}" for i in range(3))
    + " } } } } } } }"
)
PRIVATE_SENDER = """subscription Senders { inboxEvents { ... on MessageCreated {
  message { body sender { id name email role { name permissions } } } } } }"""


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30) as client:
        yield client


async def _refused(ws: GqlWs, query: str) -> dict[str, object]:
    await ws.subscribe("1", query=query)
    message = await ws.receive()
    assert message["type"] == "error" and message["id"] == "1", message
    [error] = message["payload"]
    assert isinstance(error, dict)
    return error


async def test_costly_subscription_is_refused_over_the_websocket(server: Server) -> None:
    pair = await make_pair()
    async with GqlWs.connect(server.ws_url, bearer(pair.partner_user.id)) as ws:
        error = await _refused(ws, COSTLY)
        assert error["extensions"]["code"] == "QUERY_TOO_COSTLY"  # type: ignore[index]
        # The connection stays usable for an ordinary subscription.
        await ws.subscribe("2")
        await asyncio.sleep(0.2)
        await ws.nothing(0.2)


async def test_fragment_bomb_subscription_is_refused_over_the_websocket(server: Server) -> None:
    pair = await make_pair()
    query = (
        "subscription Bomb { inboxEvents { ... on MessageCreated { message { ...F0 } } } } "
        + fragment_bomb(19, leaf="body", on="Message")
    )
    async with GqlWs.connect(server.ws_url, bearer(pair.partner_user.id)) as ws:
        error = await _refused(ws, query)
        assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"  # type: ignore[index]


async def test_another_accounts_sender_is_private_in_events(
    server: Server, http: httpx.AsyncClient
) -> None:
    pair = await make_pair()
    colleague = await make_user(pair.partner)
    async with GqlWs.connect(server.ws_url, bearer(pair.partner_user.id)) as ws:
        await ws.subscribe(query=PRIVATE_SENDER)
        await asyncio.sleep(0.2)  # the subscription is registered
        await http_send(http, server.http_url, pair.brand_user.id, pair.partner.id, "from brand")
        [event] = await ws.events(1)
        assert event["message"]["sender"] == {
            "id": str(pair.brand_user.id),
            "name": pair.brand_user.name,
            "email": None,
            "role": None,
        }
        # A colleague's message shows the colleague's e-mail and role to its own account.
        await http_send(http, server.http_url, colleague.id, pair.brand.id, "from colleague")
        [own] = await ws.events(1)
        assert own["message"]["sender"]["email"] == colleague.email
        assert own["message"]["sender"]["role"]["name"] == "COMMUNITY_MANAGER"


async def test_inline_bodies_in_subscriptions_never_reach_the_log(server: Server) -> None:
    pair = await make_pair()
    secret = "subscription secret " + pair.partner.name
    invalid = (
        "subscription Leak { inboxEvents { ... on MessageCreated { "
        f'message {{ body(format: "{secret}") }} }} }} }}'
    )
    unparsable = f'subscription Leak {{ inboxEvents(after: "{secret}") {{ ... on '
    async with GqlWs.connect(server.ws_url, bearer(pair.partner_user.id)) as ws:
        error = await _refused(ws, invalid)
        assert "format" in str(error["message"])
        await ws.subscribe("3", query=unparsable)
        with contextlib.suppress(WsClosed):
            await ws.receive()  # graphql-transport-ws closes the socket (4400) on a syntax error
    await asyncio.sleep(0.3)  # the server writes its log lines
    log = server.log.read_text()
    assert secret not in log
    assert '"level": "error"' not in log
    assert '"document_hash"' in log
