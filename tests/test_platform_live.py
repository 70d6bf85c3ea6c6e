"""The platform API and open websockets, through real `liaison serve` processes: deactivation
closes sockets with 4403, a status change emits PartnershipUpdated to both sides."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from models import AccountKind, PartnershipStatus
from services.auth import issue_platform_token
from tests import realtime_fixtures
from tests.conftest import JWT_SECRET
from tests.factories import make_account, make_pair, make_user
from tests.realtime_fixtures import GqlWs, Server, ServerCluster, WsClosed, bearer

cluster, server = realtime_fixtures.cluster, realtime_fixtures.server
pytestmark = realtime_fixtures.POSTGRES_ONLY

EVENTS = """
subscription Inbox($after: String) {
  inboxEvents(after: $after) {
    __typename
    ... on PartnershipUpdated { cursor partnership { id status brand { id } partner { id } } }
    ... on MessageCreated { cursor message { id } }
  }
}
"""
UPSERT_USERS = """
mutation($input: [UpsertUserInput!]!) {
  upsertUsers(input: $input) { results { id created error { code } } }
}
"""
UPSERT_PARTNERSHIPS = """
mutation($input: [UpsertPartnershipInput!]!) {
  upsertPartnerships(input: $input) { results { id created error { code } } }
}
"""
UPSERT_ACCOUNTS = """
mutation($input: [UpsertAccountInput!]!) {
  upsertAccounts(input: $input) { results { id created error { code } } }
}
"""


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=30) as client:
        yield client


async def platform(
    http: httpx.AsyncClient, server: Server, query: str, items: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    response = await http.post(
        server.http_url,
        json={"query": query, "variables": {"input": items}},
        headers={"authorization": f"Bearer {issue_platform_token(JWT_SECRET)}"},
    )
    assert response.status_code == 200, response.text
    (payload,) = response.json()["data"].values()
    found: list[dict[str, Any]] = payload["results"]
    assert all(r["error"] is None for r in found), found
    return found


async def closed_with(ws: GqlWs, within: float = 15.0) -> int | None:
    with pytest.raises(WsClosed) as closed:
        while True:
            await ws.receive(within)
    return closed.value.code


async def test_deactivation_closes_open_websockets_in_every_process(
    cluster: ServerCluster, server: Server, http: httpx.AsyncClient
) -> None:
    other_server = cluster.start()  # another process: reached by its sweep
    unique = uuid.uuid4().hex[:8]
    await platform(
        http, server, UPSERT_ACCOUNTS, [{"externalId": f"b-{unique}", "kind": "BRAND", "name": "B"}]
    )
    item = {
        "externalId": f"u-{unique}",
        "accountExternalId": f"b-{unique}",
        "email": f"u-{unique}@example.test",
        "name": "U",
        "roleName": "COMMUNITY_MANAGER",
    }
    admin_item = {
        **item,
        "externalId": f"a-{unique}",
        "email": f"a-{unique}@example.test",
        "roleName": "ACCOUNT_ADMIN",
    }
    [user, admin] = await platform(http, server, UPSERT_USERS, [item, admin_item])
    token = bearer(uuid.UUID(user["id"]))
    bystander = bearer(uuid.UUID(admin["id"]))
    async with (
        GqlWs.connect(server.ws_url, token) as subscribed,
        GqlWs.connect(server.ws_url, token) as idle,  # no subscription at all
        GqlWs.connect(other_server.ws_url, token) as elsewhere,
        GqlWs.connect(server.ws_url, bystander) as other_user,
    ):
        await subscribed.subscribe(query=EVENTS)
        await elsewhere.subscribe(query=EVENTS)
        await asyncio.sleep(0.3)
        await platform(http, server, UPSERT_USERS, [{**item, "active": False}])
        codes = await asyncio.gather(
            closed_with(subscribed), closed_with(idle), closed_with(elsewhere)
        )
        assert codes == [4403, 4403, 4403]
        await other_user.nothing()  # another user of the account keeps its socket
    # A new connection with the same token is refused too.
    with pytest.raises((WsClosed, AssertionError)):
        async with GqlWs.connect(server.ws_url, token):
            pass


async def test_a_platform_token_cannot_open_a_websocket(server: Server) -> None:
    with pytest.raises((WsClosed, AssertionError)) as refused:
        async with GqlWs.connect(server.ws_url, issue_platform_token(JWT_SECRET)) as ws:
            await ws.receive(5)
    if isinstance(refused.value, WsClosed):
        assert refused.value.code == 4403


async def test_status_change_emits_partnership_updated_to_both_sides(
    server: Server, http: httpx.AsyncClient
) -> None:
    pair = await make_pair(PartnershipStatus.PROSPECT)
    outsider = await make_pair(PartnershipStatus.PROSPECT, brand=pair.brand)
    stranger = await make_user(await make_account(AccountKind.BRAND))
    pair.brand.external_id = f"b-{pair.brand.id}"
    pair.partner.external_id = f"p-{pair.partner.id}"
    await pair.brand.save(update_fields=["external_id"])
    await pair.partner.save(update_fields=["external_id"])
    item = {
        "brandExternalId": pair.brand.external_id,
        "partnerExternalId": pair.partner.external_id,
        "status": "ACTIVE",
    }
    async with (
        GqlWs.connect(server.ws_url, bearer(pair.brand_user.id)) as brand,
        GqlWs.connect(server.ws_url, bearer(pair.partner_user.id)) as partner,
        GqlWs.connect(server.ws_url, bearer(outsider.partner_user.id)) as other_partner,
        GqlWs.connect(server.ws_url, bearer(stranger.id)) as other_brand,
    ):
        for ws in (brand, partner, other_partner, other_brand):
            await ws.subscribe(query=EVENTS)
        await asyncio.sleep(0.3)
        [result] = await platform(http, server, UPSERT_PARTNERSHIPS, [item])
        assert result["id"] == str(pair.partnership.id) and result["created"] is False
        for ws, side in ((brand, "brand"), (partner, "partner")):
            [event] = await ws.events(1)
            assert event["__typename"] == "PartnershipUpdated", side
            assert event["partnership"] == {
                "id": str(pair.partnership.id),
                "status": "ACTIVE",
                "brand": {"id": str(pair.brand.id)},
                "partner": {"id": str(pair.partner.id)},
            }
            assert event["cursor"]
        await other_partner.nothing()
        await other_brand.nothing()
        # The same batch again changes nothing and announces nothing.
        await platform(http, server, UPSERT_PARTNERSHIPS, [item])
        await brand.nothing()
        await partner.nothing()
