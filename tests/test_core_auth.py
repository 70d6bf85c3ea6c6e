"""Authentication and transport-level bad input: typed errors, never a 500."""

from __future__ import annotations

import time
import uuid

import httpx
import jwt
import pytest

from gql.app import create_app
from gql.settings import Settings
from models import AccountKind
from tests.conftest import JWT_SECRET
from tests.factories import Api, make_account, make_user

VIEWER = "{ viewer { user { id } } }"


def _token(**claims: object) -> str:
    return jwt.encode(claims, JWT_SECRET, algorithm="HS256")


async def _assert_unauthenticated(api: Api, headers: dict[str, str]) -> None:
    response = await api.client.post("/graphql", json={"query": VIEWER}, headers=headers)
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    error = response.json()["errors"][0]
    assert error["extensions"]["code"] == "UNAUTHENTICATED"


async def test_absent_token_is_401(api: Api) -> None:
    await _assert_unauthenticated(api, {})


@pytest.mark.parametrize(
    "header", ["Token abc", "Bearer", "Bearer ", "bearer not.a.jwt", "Basic dXNlcjpwYXNz"]
)
async def test_malformed_authorization_is_401(api: Api, header: str) -> None:
    await _assert_unauthenticated(api, {"authorization": header})


async def test_forged_token_is_401(api: Api) -> None:
    user = await make_user(await make_account(AccountKind.BRAND))
    forged = jwt.encode(
        {"sub": str(user.id), "exp": time.time() + 60}, "another-secret-" * 3, algorithm="HS256"
    )
    await _assert_unauthenticated(api, {"authorization": f"Bearer {forged}"})


async def test_expired_token_is_401(api: Api) -> None:
    user = await make_user(await make_account(AccountKind.BRAND))
    expired = _token(sub=str(user.id), exp=int(time.time()) - 10)
    response = await api.client.post(
        "/graphql", json={"query": VIEWER}, headers={"authorization": f"Bearer {expired}"}
    )
    assert response.status_code == 401
    assert "expired" in response.json()["errors"][0]["message"]


async def test_token_without_exp_or_sub_is_401(api: Api) -> None:
    user = await make_user(await make_account(AccountKind.BRAND))
    await _assert_unauthenticated(api, {"authorization": f"Bearer {_token(sub=str(user.id))}"})
    await _assert_unauthenticated(
        api, {"authorization": f"Bearer {_token(exp=int(time.time()) + 60)}"}
    )


async def test_token_of_unknown_user_is_401(api: Api) -> None:
    token = _token(sub=str(uuid.uuid4()), exp=int(time.time()) + 60)
    await _assert_unauthenticated(api, {"authorization": f"Bearer {token}"})
    token = _token(sub="not-a-uuid", exp=int(time.time()) + 60)
    await _assert_unauthenticated(api, {"authorization": f"Bearer {token}"})


async def test_alg_none_is_refused(api: Api) -> None:
    user = await make_user(await make_account(AccountKind.BRAND))
    unsigned = jwt.encode(
        {"sub": str(user.id), "exp": int(time.time()) + 60}, None, algorithm="none"
    )  # type: ignore[arg-type]
    await _assert_unauthenticated(api, {"authorization": f"Bearer {unsigned}"})


async def test_valid_token_reads_viewer(api: Api) -> None:
    user = await make_user(await make_account(AccountKind.BRAND))
    data = await api.data(VIEWER, user=user)
    assert data["viewer"]["user"]["id"] == str(user.id)


async def test_malformed_json_is_typed_400(api: Api) -> None:
    user = await make_user(await make_account(AccountKind.BRAND))
    response = await api.client.post(
        "/graphql",
        content=b'{"query": "{ viewer { user { id } } }"',
        headers={"content-type": "application/json", "authorization": f"Bearer {api.token(user)}"},
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_wrong_content_type_is_typed_400(api: Api) -> None:
    user = await make_user(await make_account(AccountKind.BRAND))
    response = await api.client.post(
        "/graphql",
        content=b"query=%7B%20viewer%20%7B%20user%20%7B%20id%20%7D%20%7D%20%7D",
        headers={
            "content-type": "application/x-www-form-urlencoded",
            "authorization": f"Bearer {api.token(user)}",
        },
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


async def test_batched_queries_are_refused(api: Api) -> None:
    user = await make_user(await make_account(AccountKind.BRAND))
    response = await api.client.post(
        "/graphql",
        json=[{"query": VIEWER}, {"query": VIEWER}],
        headers={"authorization": f"Bearer {api.token(user)}"},
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "PATCH"])
async def test_only_post_carries_operations(api: Api, method: str) -> None:
    response = await api.client.request(method, "/graphql", params={"query": VIEWER})
    assert response.status_code == 405
    assert response.headers["allow"] == "POST"
    assert response.json()["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"


async def test_graphiql_is_off_outside_development(api: Api) -> None:
    response = await api.client.get("/graphql", headers={"accept": "text/html"})
    assert response.status_code == 404


async def test_introspection_is_off_outside_development(api: Api) -> None:
    user = await make_user(await make_account(AccountKind.BRAND))
    body = await api.gql("{ __schema { types { name } } }", user=user)
    assert body.get("data") is None
    assert "introspection" in body["errors"][0]["message"].lower()


async def test_too_deep_query_is_refused(api: Api) -> None:
    user = await make_user(await make_account(AccountKind.BRAND))
    deep = (
        "{ inbox { edges { node { "
        + "lastMessage { conversation { " * 6
        + "id"
        + " } }" * 6
        + " } } } }"
    )
    body = await api.gql(deep, user=user)
    assert body["data"] is None
    assert "exceeds maximum operation depth" in body["errors"][0]["message"]


async def test_too_many_aliases_is_refused(api: Api) -> None:
    user = await make_user(await make_account(AccountKind.BRAND))
    aliases = " ".join(f"a{i}: viewer {{ permissions }}" for i in range(40))
    body = await api.gql("{ " + aliases + " }", user=user)
    assert body["data"] is None
    assert "aliases" in body["errors"][0]["message"].lower()


async def test_too_many_tokens_is_refused(api: Api) -> None:
    user = await make_user(await make_account(AccountKind.BRAND))
    body = await api.gql("{ viewer { " + "permissions " * 3000 + "} }", user=user)
    assert body["data"] is None
    assert "token" in body["errors"][0]["message"].lower()


async def test_syntax_error_is_reported_not_500(api: Api) -> None:
    user = await make_user(await make_account(AccountKind.BRAND))
    body = await api.gql("{ viewer { ", user=user)
    assert "Syntax Error" in body["errors"][0]["message"]


async def test_huge_json_body_is_413(api: Api) -> None:
    user = await make_user(await make_account(AccountKind.BRAND))
    response = await api.client.post(
        "/graphql",
        json={"query": VIEWER, "variables": {"pad": "x" * (2 * 1024 * 1024)}},
        headers={"authorization": f"Bearer {api.token(user)}"},
    )
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"


INTROSPECTION = "query IntrospectionQuery { __schema { queryType { name } types { ...T } } } fragment T on __Type { name }"


@pytest.mark.parametrize(
    ("env", "query", "status"),
    [
        ("development", INTROSPECTION, 200),  # GraphiQL loads the schema before a token
        ("development", "{ __typename viewer { user { id } } }", 401),
        ("development", "{ ... on Query { __schema { types { name } } } }", 401),
        ("test", INTROSPECTION, 401),
    ],
)
async def test_only_development_answers_anonymous_introspection(
    app: object, app_settings: Settings, env: str, query: str, status: int
) -> None:
    # A second app over the session's database, without its own lifespan.
    other = create_app(app_settings.with_overrides(env=env))
    transport = httpx.ASGITransport(app=other)
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        response = await client.post("/graphql", json={"query": query})
    assert response.status_code == status, response.text
    if status == 200:
        assert response.json()["data"]["__schema"]["queryType"] == {"name": "Query"}
    else:
        assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"


async def test_unknown_paths_and_methods_answer_json(api: Api) -> None:
    missing = await api.client.get("/nowhere")
    assert missing.status_code == 404
    assert missing.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    wrong = await api.client.post("/healthz")
    assert wrong.status_code == 405
    assert wrong.json()["errors"][0]["extensions"]["code"] == "METHOD_NOT_ALLOWED"
