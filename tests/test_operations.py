"""Operations over HTTP: health, readiness (with a private Redis), metrics, request ids and
access logs, the query cost limit, rate limits, and the CSV export."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import logging
import uuid
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from prometheus_client import REGISTRY

from gql.app import create_app
from gql.observability import JsonFormatter
from gql.settings import Settings
from models import AccountKind, PartnershipStatus
from services.auth import Viewer
from services.csv_export import FORMULA_TRIGGERS, escape_cell
from services.errors import RateLimited
from services.ratelimit import MemoryRateLimiter, RedisRateLimiter, SendRateLimits
from tests.factories import Api, make_account, make_pair, make_partnership, make_user
from tests.realtime_fixtures import RedisServer
from tests.test_analytics import FROM, TO, _send_at, build_world

SEND_WITH_RETRY = """
mutation Send($input: SendMessageInput!) {
  sendMessage(input: $input) { message { id } errors { code message retryAfterSeconds } }
}
"""
NESTED_THREE = """
{ inbox(first: 100) { edges { node { messages(first: 100) { edges { node {
    conversation { messages(first: 100) { edges { node { id body } } } } } } } } } } }
"""
NESTED_TWO = """
{ inbox(first: 100) { edges { node { messages(first: 100) { edges { node { id body } } } } } } }
"""


async def client_for(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield client


@pytest.fixture
async def other_app(app_settings: Settings, request: pytest.FixtureRequest) -> Any:
    """A second app over the same (already initialised) database, without its lifespan."""

    def build(**overrides: Any) -> Any:
        return create_app(app_settings.with_overrides(**overrides))

    return build


async def test_healthz_and_readyz(api: Api) -> None:
    assert (await api.client.get("/healthz")).json() == {"status": "ok"}
    ready = await api.client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json() == {
        "status": "ready",
        "checks": {"database": "ok", "storage": "ok"},
        "failed": [],
    }


async def test_readyz_turns_503_while_redis_is_down(other_app: Any) -> None:
    server = RedisServer()
    server.start()
    try:
        app = other_app(redis_url=server.url)
        async for client in client_for(app):
            assert (await client.get("/readyz")).status_code == 200
            server.stop()
            down = await client.get("/readyz")
            assert down.status_code == 503
            assert down.json()["failed"] == ["redis"]
            assert down.json()["checks"] == {"database": "ok", "storage": "ok", "redis": "failed"}
            server.start()
            assert (await client.get("/readyz")).status_code == 200
        await app.state.rt.send_limits.close()
    finally:
        server.close()


async def test_metrics_need_the_metrics_token(api: Api, other_app: Any) -> None:
    assert (await api.client.get("/metrics")).status_code == 404  # no token configured
    app = other_app(metrics_token="m-secret")
    pair = await make_pair()
    async for client in client_for(app):
        token = Api(client, api.secret).token(pair.brand_user)
        await client.post(
            "/graphql",
            json={"query": "query WhoAmI { viewer { permissions } }"},
            headers={"authorization": f"Bearer {token}"},
        )
        assert (await client.get("/metrics")).status_code == 401
        wrong = await client.get("/metrics", headers={"authorization": "Bearer nope"})
        assert wrong.status_code == 401
        ok = await client.get("/metrics", headers={"authorization": "Bearer m-secret"})
        assert ok.status_code == 200
        text = ok.text
        assert (
            'liaison_graphql_operations_total{operation="viewer",outcome="ok",type="query"}' in text
        )
        assert "liaison_graphql_operation_duration_seconds_bucket" in text
        assert 'liaison_http_requests_total{route="/graphql",status="200"}' in text
        for name in (
            "websocket_connections",
            "active_subscriptions",
            "events_published_total",
            "events_delivered_total",
            "scan_jobs_total",
            "scan_duration_seconds",
        ):
            assert f"liaison_{name}" in text


async def test_request_id_and_one_json_access_line(
    api: Api, caplog: pytest.LogCaptureFixture
) -> None:
    pair = await make_pair()
    token = api.token(pair.brand_user)
    with caplog.at_level(logging.INFO, logger="liaison.access"):
        response = await api.client.post(
            "/graphql",
            json={
                "query": SEND_WITH_RETRY,
                "operationName": "Send",
                "variables": {
                    "input": {"recipientAccountId": str(pair.partner.id), "body": "secret body"}
                },
            },
            headers={"authorization": f"Bearer {token}", "x-request-id": "req-123"},
        )
    assert response.headers["x-request-id"] == "req-123"
    generated = await api.client.get("/healthz", headers={"x-request-id": "bad id!\n"})
    assert len(generated.headers["x-request-id"]) == 32
    records = [r for r in caplog.records if getattr(r, "fields", {}).get("request_id") == "req-123"]
    assert len(records) == 1
    fields = records[0].fields  # type: ignore[attr-defined]
    assert fields["operation"] == "Send"
    assert fields["user_id"] == str(pair.brand_user.id)
    assert fields["status"] == 200 and fields["route"] == "/graphql"
    assert fields["duration_ms"] >= 0
    line = JsonFormatter().format(records[0])
    assert json.loads(line)["operation"] == "Send"
    assert "secret body" not in line and token not in line


async def test_cost_limit_refuses_first_100_three_levels_deep(api: Api) -> None:
    pair = await make_pair()
    body = await api.gql(NESTED_THREE, user=pair.brand_user)
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == "QUERY_TOO_COSTLY"
    assert error["extensions"]["cost"] > error["extensions"]["maxCost"] == 50_000
    allowed = await api.gql(NESTED_TWO, user=pair.brand_user)
    assert "errors" not in allowed
    via_variable = await api.gql(
        "query Q($n: Int) { inbox(first: $n) { edges { node { messages(first: $n) { edges { node {"
        " conversation { messages(first: $n) { edges { node { id } } } } } } } } } } }",
        {"n": 100},
        user=pair.brand_user,
    )
    assert via_variable["errors"][0]["extensions"]["code"] == "QUERY_TOO_COSTLY"


def _refusals(limit: str) -> float:
    """liaison_rate_limited_total{limit=…} of this process."""
    return REGISTRY.get_sample_value("liaison_rate_limited_total", {"limit": limit}) or 0.0


async def _send(api: Api, user: Any, to: Any) -> dict[str, Any]:
    variables = {"input": {"recipientAccountId": str(to.id), "body": "hi"}}
    result: dict[str, Any] = (await api.data(SEND_WITH_RETRY, variables, user=user))["sendMessage"]
    return result


@pytest.mark.parametrize("backend_kind", ["memory", "redis"])
async def test_rate_limit_hit_and_recovered(
    api: Api, app: Any, monkeypatch: pytest.MonkeyPatch, backend_kind: str
) -> None:
    limiter = (
        RedisRateLimiter("redis://127.0.0.1:6379/0")
        if backend_kind == "redis"
        else MemoryRateLimiter()
    )
    # A window long enough that a slow machine cannot refill a bucket between the sends
    # below (the account's refills one message every 3 s).
    limits = SendRateLimits(limiter, per_user=2, per_account=3, upload_bytes=10**6, window=9.0)
    monkeypatch.setattr(app.state.rt, "send_limits", limits)
    try:
        pair = await make_pair()
        colleague = await make_user(pair.brand)
        refused = {limit: _refusals(limit) for limit in ("user", "account", "upload_bytes")}
        assert (await _send(api, pair.brand_user, pair.partner))["errors"] == []
        assert (await _send(api, pair.brand_user, pair.partner))["errors"] == []
        [limited] = (await _send(api, pair.brand_user, pair.partner))["errors"]
        assert limited["code"] == "RATE_LIMITED"
        assert 0 < limited["retryAfterSeconds"] <= 4.5
        assert _refusals("user") == refused["user"] + 1
        assert _refusals("account") == refused["account"]
        # The account's budget (3) still has room for one message by a colleague, then not.
        assert (await _send(api, colleague, pair.partner))["errors"] == []
        assert (await _send(api, colleague, pair.partner))["errors"][0]["code"] == "RATE_LIMITED"
        assert _refusals("account") == refused["account"] + 1
        assert _refusals("user") == refused["user"] + 1
        assert _refusals("upload_bytes") == refused["upload_bytes"]
        await asyncio.sleep(limited["retryAfterSeconds"] + 0.05)
        assert (await _send(api, pair.brand_user, pair.partner))["errors"] == []
    finally:
        await limits.close()


async def test_upload_bytes_are_limited_per_account() -> None:
    pair_viewer = Viewer(
        user_id=uuid.uuid4(),
        account_id=uuid.uuid4(),
        account_kind=AccountKind.BRAND,
        role_id=uuid.uuid4(),
        permissions=frozenset(),
    )
    limits = SendRateLimits(
        MemoryRateLimiter(), per_user=100, per_account=100, upload_bytes=1000, window=60.0
    )
    await limits.check_send(pair_viewer, 600)
    with pytest.raises(RateLimited) as refused:
        await limits.check_send(pair_viewer, 600)
    assert 11.9 < refused.value.retry_after <= 12.1  # 200 bytes over, at 60 s per 1000
    await limits.check_send(pair_viewer, 0)  # messages without files still go


def test_escape_cell_neutralises_formulas() -> None:
    for trigger in FORMULA_TRIGGERS:
        assert escape_cell(f"{trigger}1+1") == f"'{trigger}1+1"
    assert escape_cell("Acme =1") == "Acme =1"
    assert escape_cell(12) == "12"
    assert escape_cell(None) == ""


def _csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


async def test_csv_export_matches_the_query_and_escapes_formulas(api: Api) -> None:
    world = await build_world(api)
    token = api.token(world.brand_analyst)
    params = {"from": FROM, "to": TO, "groupBy": "MONTH"}
    response = await api.client.get(
        "/analytics/messaging.csv", params=params, headers={"authorization": f"Bearer {token}"}
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith("attachment;")
    assert response.text.splitlines()[0] == (
        "key,label,messages_sent,messages_received,conversations_started,"
        "conversations_with_reply,median_first_response_seconds,attachments,attachments_infected"
    )
    assert _csv(response.text) == [
        {
            "key": "2025-03",
            "label": "2025-03",
            "messages_sent": "5",
            "messages_received": "5",
            "conversations_started": "4",
            "conversations_with_reply": "3",
            "median_first_response_seconds": "600.0",
            "attachments": "3",
            "attachments_infected": "1",
        }
    ]
    hostile = await make_account(AccountKind.PARTNER, '=HYPERLINK("http://x","y")')
    await make_partnership(world.brand, hostile, PartnershipStatus.ACTIVE)
    await _send_at(api, world.brand_manager, hostile, "2025-03-08 10:00:00")
    by_partner = await api.client.get(
        "/analytics/messaging.csv",
        params={**params, "groupBy": "PARTNER", "partnerIds": str(hostile.id)},
        headers={"authorization": f"Bearer {token}"},
    )
    [row] = _csv(by_partner.text)
    assert row["label"] == "'" + hostile.name
    assert row["key"] == str(hostile.id) and row["messages_sent"] == "1"


async def test_csv_permission_and_tenant_isolation(api: Api) -> None:
    world = await build_world(api)
    url = "/analytics/messaging.csv"
    params = {"from": FROM, "to": TO, "groupBy": "PARTNER"}
    assert (await api.client.get(url, params=params)).status_code == 401
    manager = {"authorization": f"Bearer {api.token(world.brand_manager)}"}
    denied = await api.client.get(url, params=params, headers=manager)
    assert denied.status_code == 403
    assert denied.json()["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"
    other_analyst = await make_user(world.other_brand, "ANALYST")
    mine = await api.client.get(
        url, params=params, headers={"authorization": f"Bearer {api.token(other_analyst)}"}
    )
    assert [r["key"] for r in _csv(mine.text)] == [str(world.partners[0].id)]
    assert _csv(mine.text)[0]["messages_sent"] == "1"
    analyst = {"authorization": f"Bearer {api.token(world.brand_analyst)}"}
    foreign = await api.client.get(
        url, params={**params, "partnerIds": str(world.other_brand.id)}, headers=analyst
    )
    assert _csv(foreign.text) == []
    bad = await api.client.get(url, params={**params, "groupBy": "YEAR"}, headers=analyst)
    assert bad.status_code == 400
