"""Persisted queries (SPEC §15): Apollo APQ and the LIAISON_PERSISTED_QUERIES allowlist."""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gql.app import create_app
from gql.settings import Settings, SettingsError
from tests import realtime_fixtures
from tests.conftest import JWT_SECRET
from tests.factories import Api, make_pair
from tests.realtime_fixtures import (
    INBOX_EVENTS,
    GqlWs,
    bearer,
    http_send,
    server_env,
    start_server,
)

VIEWER = "query Viewer { viewer { permissions account { name } } }"
OTHER = "{ viewer { permissions } }"


def sha(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()


def apq(digest: str, version: int = 1) -> dict[str, Any]:
    return {"persistedQuery": {"version": version, "sha256Hash": digest}}


def manifest(tmp_path: Path, *bodies: str) -> Path:
    path = tmp_path / "manifest.json"
    operations = [
        {"id": sha(body), "name": f"op{i}", "type": "query", "body": body}
        for i, body in enumerate(bodies)
    ]
    path.write_text(
        json.dumps(
            {"format": "apollo-persisted-query-manifest", "version": 1, "operations": operations}
        )
    )
    return path


async def post(api: Api, user: Any, **body: Any) -> httpx.Response:
    return await api.client.post(
        "/graphql", json=body, headers={"authorization": f"Bearer {api.token(user)}"}
    )


@pytest.fixture
async def production_api(app: Any, app_settings: Settings, tmp_path: Path) -> AsyncIterator[Api]:
    """An app in production with a manifest of VIEWER only, on the same database."""
    settings = app_settings.with_overrides(
        env="production", persisted_queries=manifest(tmp_path, VIEWER)
    )
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield Api(client, JWT_SECRET)


async def test_apq_unknown_hash_then_register_then_hash_alone(api: Api, unique: str) -> None:
    pair = await make_pair()
    query = f"query Apq{unique} {{ viewer {{ permissions }} }}"
    missing = await post(api, pair.brand_user, extensions=apq(sha(query)))
    assert missing.status_code == 200
    assert missing.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"
    assert missing.json()["errors"][0]["message"] == "PersistedQueryNotFound"
    assert "no-cache" in missing.headers["cache-control"]

    registered = await post(api, pair.brand_user, query=query, extensions=apq(sha(query)))
    assert registered.status_code == 200
    assert "permissions" in registered.json()["data"]["viewer"]

    by_hash = await post(api, pair.brand_user, extensions=apq(sha(query)))
    assert by_hash.json() == registered.json()


async def test_apq_hash_that_is_not_the_text_is_refused(api: Api) -> None:
    pair = await make_pair()
    hijack = await post(api, pair.brand_user, query=OTHER, extensions=apq(sha(VIEWER)))
    assert hijack.status_code == 400
    assert hijack.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    # and the hash was not bound to the other text
    again = await post(api, pair.brand_user, extensions=apq(sha(VIEWER)))
    assert again.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


@pytest.mark.parametrize(
    "extensions",
    [apq("0" * 64, version=2), {"persistedQuery": {"version": 1, "sha256Hash": "xyz"}}],
)
async def test_bad_persisted_query_extensions_are_typed_errors(
    api: Api, extensions: dict[str, Any]
) -> None:
    pair = await make_pair()
    response = await post(api, pair.brand_user, extensions=extensions)
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] in (
        "PERSISTED_QUERY_NOT_SUPPORTED",
        "BAD_REQUEST",
    )


async def test_production_manifest_runs_listed_documents_only(production_api: Api) -> None:
    pair = await make_pair()
    by_hash = await post(production_api, pair.brand_user, extensions=apq(sha(VIEWER)))
    assert by_hash.status_code == 200, by_hash.text
    assert by_hash.json()["data"]["viewer"]["account"]["name"] == pair.brand.name
    in_full = await post(production_api, pair.brand_user, query=VIEWER)
    assert in_full.json() == by_hash.json()

    for body in (
        {"query": OTHER},
        {"query": OTHER, "extensions": apq(sha(OTHER))},  # no APQ registration either
        {"query": VIEWER + " "},  # one byte off is another document
    ):
        refused = await post(production_api, pair.brand_user, **body)
        assert refused.status_code == 400, body
        assert refused.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_IN_LIST"
    unknown = await post(production_api, pair.brand_user, extensions=apq(sha(OTHER)))
    assert unknown.json()["errors"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_FOUND"


async def test_outside_production_the_manifest_names_documents_but_others_run(
    app: Any, app_settings: Settings, tmp_path: Path
) -> None:
    settings = app_settings.with_overrides(persisted_queries=manifest(tmp_path, VIEWER))
    transport = httpx.ASGITransport(app=create_app(settings))
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        test_api = Api(client, JWT_SECRET)
        pair = await make_pair()
        by_hash = await post(test_api, pair.brand_user, extensions=apq(sha(VIEWER)))
        other = await post(test_api, pair.brand_user, query=OTHER)
    assert "viewer" in by_hash.json()["data"]
    assert "viewer" in other.json()["data"]


@pytest.mark.parametrize(
    ("content", "complaint"),
    [
        ("not json", "cannot read"),
        ('{"format": "something-else", "version": 1, "operations": []}', "not an apollo"),
        (
            '{"format": "apollo-persisted-query-manifest", "version": 1, "operations": '
            '[{"id": "abc", "name": "x", "type": "query", "body": "{ viewer { permissions } }"}]}',
            "not the SHA-256",
        ),
    ],
)
def test_a_broken_manifest_stops_the_start(
    app_settings: Settings, tmp_path: Path, content: str, complaint: str
) -> None:
    path = tmp_path / "manifest.json"
    path.write_text(content)
    with pytest.raises(SettingsError, match=complaint):
        create_app(app_settings.with_overrides(persisted_queries=path))


def test_a_manifest_document_that_does_not_validate_stops_the_start(
    app_settings: Settings, tmp_path: Path
) -> None:
    with pytest.raises(SettingsError, match="not valid"):
        create_app(
            app_settings.with_overrides(
                persisted_queries=manifest(tmp_path, "{ viewer { noSuchField } }")
            )
        )


def test_manifest_documents_are_compiled_at_start_up(
    app_settings: Settings, tmp_path: Path
) -> None:
    from gql.execution import plan_cache

    application = create_app(
        app_settings.with_overrides(persisted_queries=manifest(tmp_path, VIEWER, INBOX_EVENTS))
    )
    view = next(r for r in application.routes if getattr(r, "path", "") == "/graphql")
    schema = view.endpoint.schema._schema  # type: ignore[attr-defined]
    assert len(plan_cache(schema)) == 2


@realtime_fixtures.POSTGRES_ONLY
async def test_production_websocket_runs_listed_subscriptions_only(
    backend: str, app: Any, app_settings: Settings, tmp_path: Path
) -> None:
    from tests.factories import SEND

    env = server_env(app_settings.database_url, app_settings.data_dir, None)
    env["LIAISON_ENV"] = "production"
    env["LIAISON_PERSISTED_QUERIES"] = str(manifest(tmp_path, INBOX_EVENTS, SEND))
    server = start_server(env, tmp_path)
    try:
        pair = await make_pair()
        async with GqlWs.connect(server.ws_url, bearer(pair.partner_user.id)) as ws:
            await ws.connection.send(
                json.dumps({"id": "x", "type": "subscribe", "payload": {"query": OTHER}})
            )
            refused = await ws.receive()
            assert refused["type"] == "error" and refused["id"] == "x"
            assert refused["payload"][0]["extensions"]["code"] == "PERSISTED_QUERY_NOT_IN_LIST"

            payload = {"variables": {"after": None}, "extensions": apq(sha(INBOX_EVENTS))}
            await ws.connection.send(
                json.dumps({"id": "1", "type": "subscribe", "payload": payload})
            )
            await asyncio.sleep(0.3)  # the subscription is registered
            async with httpx.AsyncClient(timeout=30) as http:
                sent = await http_send(
                    http, server.http_url, pair.brand_user.id, pair.partner.id, "By hash"
                )
            [event] = await ws.events(1)
        assert event["message"]["id"] == sent["message"]["id"]
    finally:
        server.stop()
