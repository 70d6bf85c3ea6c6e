"""ConversationUpdated over a real websocket: to the acting side only, live and on replay."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from tests import realtime_fixtures
from tests.factories import make_pair, make_user
from tests.realtime_fixtures import GqlWs, Server, bearer, http_send

cluster, server = realtime_fixtures.cluster, realtime_fixtures.server
pytestmark = realtime_fixtures.POSTGRES_ONLY

EVENTS = """
subscription Inbox($after: String) {
  inboxEvents(after: $after) {
    __typename
    ... on MessageCreated { cursor message { id } }
    ... on ConversationRead { cursor lastReadSeq }
    ... on ConversationUpdated {
      cursor conversation { id folder priority unreadCount assignee { id } }
    }
  }
}
"""
MOVE = """mutation($id: ID!) { moveConversation(input: {conversationId: $id, folder: DONE}) {
  errors { code } } }"""
PRIORITY = """mutation($id: ID!) {
  setConversationPriority(input: {conversationId: $id, priority: true}) { errors { code } } }"""
ASSIGN = """mutation($id: ID!, $user: ID) {
  assignConversation(input: {conversationId: $id, assigneeId: $user}) { errors { code } } }"""
READ = """mutation($id: ID!) { markConversationRead(input: {conversationId: $id}) {
  errors { code } } }"""
UNREAD = """mutation($id: ID!) { markConversationUnread(input: {conversationId: $id}) {
  errors { code } } }"""


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30) as client:
        yield client


async def _mutate(
    http: httpx.AsyncClient, server: Server, user_id: Any, query: str, **variables: Any
) -> None:
    response = await http.post(
        server.http_url,
        json={"query": query, "variables": variables},
        headers={"authorization": f"Bearer {bearer(user_id)}"},
    )
    assert response.status_code == 200, response.text
    data = response.json()["data"]
    assert next(iter(data.values()))["errors"] == [], data


async def test_conversation_updated_reaches_the_acting_side_only(
    server: Server, http: httpx.AsyncClient
) -> None:
    pair = await make_pair()
    colleague = await make_user(pair.brand)
    sent = await http_send(http, server.http_url, pair.partner_user.id, pair.brand.id, "hi")
    cid = sent["conversation"]["id"]
    await _mutate(http, server, pair.brand_user.id, READ, id=cid)
    async with (
        GqlWs.connect(server.ws_url, bearer(colleague.id)) as brand_ws,
        GqlWs.connect(server.ws_url, bearer(pair.partner_user.id)) as partner_ws,
    ):
        await brand_ws.subscribe(query=EVENTS)
        await partner_ws.subscribe(query=EVENTS)
        await asyncio.sleep(0.3)  # both subscriptions are registered
        await _mutate(http, server, pair.brand_user.id, MOVE, id=cid)
        await _mutate(http, server, pair.brand_user.id, PRIORITY, id=cid)
        await _mutate(http, server, pair.brand_user.id, ASSIGN, id=cid, user=str(colleague.id))
        await _mutate(http, server, pair.brand_user.id, UNREAD, id=cid)
        events = await brand_ws.events(4)
        await partner_ws.nothing(within=1.0)
    assert [e["__typename"] for e in events] == ["ConversationUpdated"] * 4
    states = [
        (c["folder"], c["priority"], (c["assignee"] or {}).get("id"), c["unreadCount"])
        for c in (e["conversation"] for e in events)
    ]
    me = str(colleague.id)
    assert states == [
        ("DONE", False, None, 0),
        ("DONE", True, None, 0),
        ("DONE", True, me, 0),
        ("DONE", True, me, 1),
    ]
    # Replayed from a cursor, the same events come back in order.
    async with GqlWs.connect(server.ws_url, bearer(colleague.id)) as again:
        await again.subscribe(query=EVENTS, after=events[0]["cursor"])
        replayed = await again.events(3)
    assert [e["cursor"] for e in replayed] == [e["cursor"] for e in events[1:]]


async def test_a_change_that_changes_nothing_emits_nothing(
    server: Server, http: httpx.AsyncClient
) -> None:
    pair = await make_pair()
    sent = await http_send(http, server.http_url, pair.partner_user.id, pair.brand.id, "hi")
    cid = sent["conversation"]["id"]
    await _mutate(http, server, pair.brand_user.id, PRIORITY, id=cid)
    async with GqlWs.connect(server.ws_url, bearer(pair.brand_user.id)) as ws:
        await ws.subscribe(query=EVENTS)
        await asyncio.sleep(0.3)
        await _mutate(http, server, pair.brand_user.id, PRIORITY, id=cid)  # already true
        await ws.nothing(within=1.0)
        await _mutate(http, server, pair.brand_user.id, MOVE, id=cid)
        [event] = await ws.events(1)
    assert event["conversation"]["folder"] == "DONE"
