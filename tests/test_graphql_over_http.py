"""GraphQL over HTTP: `application/graphql-response+json`, and the `graphql-http` audit."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from gql.settings import Settings
from models import AccountKind
from tests.factories import Api, make_account, make_user
from tests.realtime_fixtures import Server, bearer, server_env, start_server

JS = Path(__file__).parent / "js"
GRAPHQL_RESPONSE = "application/graphql-response+json"


async def _post(api: Api, body: object, accept: str | None, user: object) -> object:
    headers = {"authorization": f"Bearer {api.token(user)}"}  # type: ignore[arg-type]
    if accept is not None:
        headers["accept"] = accept
    return await api.client.post("/graphql", json=body, headers=headers)


@pytest.mark.parametrize(
    "body",
    [
        {"query": "{ viewer { "},  # does not parse
        {"query": "{ viewer { nope } }"},  # does not validate
        {"query": "query($n: Int!) { inbox(first: $n) { totalCount } }", "variables": {"n": "x"}},
        {"query": "{ viewer { " + "permissions " * 100 + "} }"},  # over a limit
    ],
)
async def test_request_errors_are_400_without_data_for_graphql_response_json(
    api: Api, body: dict[str, object]
) -> None:
    user = await make_user(await make_account(AccountKind.BRAND))
    response = await _post(api, body, GRAPHQL_RESPONSE, user)
    assert response.status_code == 400  # type: ignore[attr-defined]
    assert response.headers["content-type"].startswith(GRAPHQL_RESPONSE)  # type: ignore[attr-defined]
    answer = response.json()  # type: ignore[attr-defined]
    assert "data" not in answer and answer["errors"]
    legacy = await _post(api, body, "application/json", user)
    assert legacy.status_code == 200  # type: ignore[attr-defined]
    assert legacy.headers["content-type"].startswith("application/json")  # type: ignore[attr-defined]
    assert legacy.json()["data"] is None  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("accept", "media_type"),
    [
        (GRAPHQL_RESPONSE, GRAPHQL_RESPONSE),
        (f"{GRAPHQL_RESPONSE}, application/json;q=0.9", GRAPHQL_RESPONSE),  # Apollo, urql
        (f"application/json, {GRAPHQL_RESPONSE};q=0.5", "application/json"),
        ("*/*", "application/json"),
        (None, "application/json"),
    ],
)
async def test_the_media_type_follows_accept(api: Api, accept: str | None, media_type: str) -> None:
    user = await make_user(await make_account(AccountKind.BRAND))
    response = await _post(api, {"query": "{ viewer { permissions } }"}, accept, user)
    assert response.status_code == 200  # type: ignore[attr-defined]
    assert response.headers["content-type"].startswith(media_type)  # type: ignore[attr-defined]
    assert response.json()["data"]["viewer"]["permissions"]  # type: ignore[attr-defined]


async def test_field_errors_stay_200_with_data(api: Api) -> None:
    analyst = await make_user(await make_account(AccountKind.BRAND), "ANALYST")
    query = (
        '{ viewer { permissions } conversation(id: "00000000-0000-0000-0000-000000000000") { id } }'
    )
    response = await _post(api, {"query": query}, GRAPHQL_RESPONSE, analyst)
    assert response.status_code == 200  # type: ignore[attr-defined]
    answer = response.json()  # type: ignore[attr-defined]
    assert answer["data"]["viewer"]["permissions"] == ["ANALYTICS_VIEW", "PARTNERS_VIEW"]
    assert answer["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"


@pytest.fixture(scope="session")
def audit_script() -> Path:
    assert shutil.which("node"), "node is needed for the graphql-http audit (scripts/test.sh)"
    if not (JS / "node_modules" / "graphql-http").exists():
        npm = shutil.which("npm")
        assert npm, "npm is needed to install tests/js"
        subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=JS, check=True)
    return JS / "audit.mjs"


def _serve(settings: Settings, data_dir: Path, env_name: str) -> Iterator[Server]:
    env = server_env(settings.database_url, data_dir, None)
    env["LIAISON_ENV"] = env_name
    server = start_server(env, data_dir)
    try:
        yield server
    finally:
        server.stop()


def _audit(script: Path, server: Server, token: str) -> dict[str, object]:
    run = subprocess.run(
        ["node", str(script), server.http_url, token],
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    result: dict[str, object] = json.loads(run.stdout)
    return result


@pytest.mark.parametrize("backend", ["sqlite"], indirect=True)
@pytest.mark.parametrize("env_name", ["development", "production"])
async def test_graphql_http_server_audit(
    app_settings: Settings, data_dir: Path, audit_script: Path, env_name: str
) -> None:
    user = await make_user(await make_account(AccountKind.BRAND))
    for server in _serve(app_settings, data_dir, env_name):
        result = _audit(audit_script, server, bearer(user.id))
    assert int(result["ok"]) > 50  # type: ignore[call-overload]
    errors = {a["id"] for a in result.get("error", [])}  # type: ignore[attr-defined]
    warnings = {a["id"] for a in result.get("warn", [])}  # type: ignore[attr-defined]
    if env_name == "development":
        assert (errors, warnings) == (set(), set()), result
    else:
        # Production refuses introspection: the two audits whose query is `__type(name:)`.
        assert (errors, warnings) == ({"28B9"}, {"2EA1"}), result
