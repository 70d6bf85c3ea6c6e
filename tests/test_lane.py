"""The known-document lane (gql.lane): a query already run, answered without Strawberry's
view and pipeline, must answer exactly as the normal path does.

`compare` apps run the lane without side effects and then the normal path, and record any
difference in status, headers or body (tests/conftest.py fails the test on one); `on` apps
answer from the lane alone, as in production.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import httpx
import pytest

from gql.app import create_app
from gql.execution import MISMATCHES
from gql.settings import Settings
from services import inbox as inbox_service
from services import metrics
from tests.conftest import JWT_SECRET
from tests.factories import Api, make_pair, send

INBOX = """query Inbox($first: Int, $after: String) { inbox(first: $first, after: $after) {
  totalCount pageInfo { hasNextPage endCursor }
  edges { cursor node { id unreadCount counterpart { name } partnership { status }
    lastMessage { body sentAt } } } } }"""
PARTNERS = (
    "query Partners { partners { totalCount edges { node { id status partner { name } } } } }"
)
CONVERSATION = """query Conv($id: ID!) { conversation(id: $id) { id
  messages(first: 5) { edges { node { seq body } } } } }"""
VIEWER = "{ viewer { permissions } }"


class App:
    def __init__(self, app: Any, api: Api) -> None:
        self.app = app
        self.api = api

    @property
    def answered(self) -> int:
        return int(self.app.state.graphql.lane.answered)


async def _app(app_settings: Settings, lane: str) -> AsyncIterator[App]:
    app = create_app(app_settings.with_overrides(known_document_lane=lane))
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield App(app, Api(client, JWT_SECRET))


@pytest.fixture
async def compared(app: Any, app_settings: Settings) -> AsyncIterator[App]:
    async for made in _app(app_settings, "compare"):
        yield made


@pytest.fixture
async def lane(app: Any, app_settings: Settings) -> AsyncIterator[App]:
    async for made in _app(app_settings, "on"):
        yield made


async def twice(app: App, query: str, variables: dict[str, Any], **kw: Any) -> httpx.Response:
    """The first request makes the document known; the second may take the lane."""
    first = await app.api.post(query, variables, **kw)
    second = await app.api.post(query, variables, **kw)
    assert (first.status_code, first.content) == (second.status_code, second.content)
    return second


async def test_repeated_queries_answer_as_the_normal_path(compared: App) -> None:
    pair = await make_pair()
    await send(compared.api, pair.brand_user, pair.partner, "hello")
    await send(compared.api, pair.partner_user, pair.brand, "hello back")
    before = compared.answered
    inbox = await twice(compared, INBOX, {"first": 1}, user=pair.brand_user)
    assert inbox.json()["data"]["inbox"]["totalCount"] == 1
    cursor = inbox.json()["data"]["inbox"]["pageInfo"]["endCursor"]
    await twice(compared, INBOX, {"first": 1, "after": cursor}, user=pair.brand_user)
    await twice(compared, PARTNERS, {}, user=pair.brand_user)
    conversation = inbox.json()["data"]["inbox"]["edges"][0]["node"]["id"]
    await twice(compared, CONVERSATION, {"id": conversation}, user=pair.partner_user)
    await twice(compared, VIEWER, {}, user=pair.partner_user)
    # Errors: a permission denied (a partner has no partners list), NOT_FOUND, a bad cursor,
    # and the same through application/graphql-response+json.
    denied = await twice(compared, PARTNERS, {}, user=pair.partner_user)
    assert denied.json()["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"
    missing = await twice(compared, CONVERSATION, {"id": "nope"}, user=pair.brand_user)
    assert missing.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    bad = await twice(compared, INBOX, {"first": 1, "after": "x"}, user=pair.brand_user)
    assert bad.json()["errors"][0]["extensions"]["code"] == "INVALID_CURSOR"
    accept = {"accept": "application/graphql-response+json"}
    typed = await twice(compared, PARTNERS, {}, user=pair.partner_user, headers=accept)
    assert typed.headers["content-type"].startswith("application/graphql-response+json")
    # Every request after the first of each of the four documents (18 sent), compared.
    assert compared.answered - before == 14
    assert MISMATCHES == []


async def test_unknown_hash_and_bad_variables_answer_as_before(lane: App) -> None:
    pair = await make_pair()
    token = lane.api.token(pair.brand_user)
    auth = {"authorization": f"Bearer {token}"}
    digest = hashlib.sha256(b"{ viewer { permissions } } # never sent").hexdigest()
    missing = await lane.api.client.post(
        "/graphql",
        json={"extensions": {"persistedQuery": {"version": 1, "sha256Hash": digest}}},
        headers=auth,
    )
    assert missing.status_code == 200
    assert missing.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"

    await lane.api.post(INBOX, {"first": 1}, user=pair.brand_user)  # now known
    before = lane.answered
    wrong = await lane.api.post(INBOX, {"first": "twenty"}, user=pair.brand_user)
    assert wrong.status_code == 200
    body = wrong.json()
    assert body["data"] is None and "first" in body["errors"][0]["message"]
    typed = await lane.api.post(
        INBOX,
        {"first": "twenty"},
        user=pair.brand_user,
        headers={"accept": "application/graphql-response+json"},
    )
    assert typed.status_code == 400 and "data" not in typed.json()
    assert lane.answered == before  # variables that do not coerce: the normal path answers
    # A body the lane does not take (a batch, JSON with a trailing comma): as before.
    garbage = await lane.api.client.post(
        "/graphql",
        content=b'{"query": "{ viewer { permissions } }",}',
        headers={**auth, "content-type": "application/json"},
    )
    assert garbage.status_code == 400
    assert lane.answered == before


async def test_unauthenticated_request_never_reaches_the_lane(lane: App) -> None:
    pair = await make_pair()
    await lane.api.post(VIEWER, user=pair.brand_user)
    before = lane.answered
    anonymous = await lane.api.post(VIEWER)
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"] == "Bearer"
    assert lane.answered == before


async def test_a_dead_database_during_the_lane_is_a_typed_503(
    lane: App, compared: App, monkeypatch: pytest.MonkeyPatch
) -> None:
    pair = await make_pair()
    for app in (lane, compared):
        await app.api.post(INBOX, {"first": 1}, user=pair.brand_user)  # now known

    async def dead(*args: Any, **kwargs: Any) -> Any:
        raise asyncpg.ConnectionDoesNotExistError("connection was closed in the middle")

    monkeypatch.setattr(inbox_service, "inbox_page", dead)
    before = lane.answered
    response = await lane.api.post(INBOX, {"first": 1}, user=pair.brand_user)
    assert lane.answered == before + 1
    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "2"
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE"
    assert error["extensions"]["dependency"] == "database"
    await compared.api.post(INBOX, {"first": 1}, user=pair.brand_user)
    assert MISMATCHES == []


async def test_the_lane_masks_unexpected_errors_and_logs_and_counts(
    lane: App, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    pair = await make_pair()
    await lane.api.post(INBOX, {"first": 1}, user=pair.brand_user)

    async def broken(*args: Any, **kwargs: Any) -> Any:
        raise RuntimeError("secret detail")

    monkeypatch.setattr(inbox_service, "inbox_page", broken)
    failed = metrics.GRAPHQL_OPERATIONS.labels("inbox", "query", "error")
    count = failed._value.get()
    before = lane.answered
    with caplog.at_level(logging.INFO):
        response = await lane.api.post(INBOX, {"first": 1}, user=pair.brand_user)
    assert lane.answered == before + 1
    assert response.status_code == 200
    (error,) = response.json()["errors"]
    assert error["message"] == "Internal server error." and "secret" not in response.text
    assert error["path"] == ["inbox"]
    assert failed._value.get() == count + 1
    logged = [r for r in caplog.records if r.name == "liaison.graphql"]
    assert logged and logged[-1].levelname == "ERROR"
    assert logged[-1].fields["operation"] == "Inbox"  # type: ignore[attr-defined]
    access = [r for r in caplog.records if r.name == "liaison.access"]
    assert access[-1].fields["operation"] == "Inbox"  # type: ignore[attr-defined]
    assert access[-1].fields["user_id"] == str(pair.brand_user.id)  # type: ignore[attr-defined]
