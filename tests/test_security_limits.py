"""Limits hold for any document and cost linear time (docs/security.md, "Limits")."""

from __future__ import annotations

from models import AccountKind
from tests.factories import Api, make_account, make_user


def fragment_bomb(levels: int, leaf: str = "permissions", on: str = "Viewer") -> str:
    """`F0` spreads `F1` twice, `F1` spreads `F2` twice…: 2**levels copies of `leaf`."""
    fragments = " ".join(
        f"fragment F{i} on {on} {{ ...F{i + 1} ...F{i + 1} }}" for i in range(levels)
    )
    return f"{fragments} fragment F{levels} on {on} {{ {leaf} }}"


async def test_fragment_bomb_is_refused(api: Api) -> None:
    user = await make_user(await make_account(AccountKind.BRAND))
    body = await api.gql("query Bomb { viewer { ...F0 } } " + fragment_bomb(19), user=user)
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"


async def test_fragment_bomb_of_objects_and_aliases_is_refused(api: Api) -> None:
    user = await make_user(await make_account(AccountKind.BRAND))
    # Distinct aliases per fragment: no key repeats, but 2**19 aliases and objects.
    fragments = " ".join(
        f"fragment F{i} on Viewer {{ a{i}: user {{ id }} ...F{i + 1} ...F{i + 1} }}"
        for i in range(19)
    )
    query = "{ viewer { ...F0 } } " + fragments + " fragment F19 on Viewer { permissions }"
    body = await api.gql(query, user=user)
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "QUERY_TOO_COMPLEX"


async def test_a_field_repeated_100_times_is_refused(api: Api) -> None:
    user = await make_user(await make_account(AccountKind.BRAND))
    body = await api.gql("{ viewer { " + "permissions " * 100 + "} }", user=user)
    assert body["data"] is None
    [error] = body["errors"]
    assert error["extensions"]["code"] == "QUERY_TOO_COMPLEX"
    assert "'permissions' is selected 100 times" in error["message"]


async def test_a_field_repeated_through_fragments_is_refused(api: Api) -> None:
    user = await make_user(await make_account(AccountKind.BRAND))
    fragments = " ".join(f"fragment R{i} on Viewer {{ {'user { id } ' * 10}}}" for i in range(10))
    spreads = " ".join(f"...R{i}" for i in range(10))
    body = await api.gql(f"{{ viewer {{ {spreads} }} }} {fragments}", user=user)
    assert body["data"] is None
    assert "'user' is selected 100 times" in body["errors"][0]["message"]


async def test_ordinary_fragments_still_work(api: Api) -> None:
    user = await make_user(await make_account(AccountKind.BRAND))
    query = """query Me { viewer { ...A ...B user { ...U } } }
      fragment A on Viewer { permissions user { id } }
      fragment B on Viewer { user { id name } account { ...Acc } }
      fragment U on User { id email }
      fragment Acc on Account { id name kind }"""
    data = await api.data(query, user=user)
    assert data["viewer"]["user"]["id"] == str(user.id)
    assert data["viewer"]["user"]["email"] == user.email


async def test_cost_counts_fragments_where_they_are_spread(api: Api) -> None:
    user = await make_user(await make_account(AccountKind.BRAND), "ACCOUNT_ADMIN")
    # Each spread of M multiplies by its enclosing `first`: 100 × 100 × 100 over three levels.
    query = """{ inbox(first: 100) { edges { node { ...M } } } }
      fragment M on Conversation { messages(first: 100) { edges { node {
        conversation { ...N } } } } }
      fragment N on Conversation { messages(first: 100) { edges { node { id } } } }"""
    body = await api.gql(query, user=user)
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "QUERY_TOO_COSTLY"


async def test_no_field_suggestions_outside_development(api: Api) -> None:
    user = await make_user(await make_account(AccountKind.BRAND), "ACCOUNT_ADMIN")
    for query in [
        "{ viewer { permisions } }",  # a field
        "{ inbox(frist: 1) { totalCount } }",  # an argument
        "{ partners(filter: {statuses: [ACTIV]}) { totalCount } }",  # an enum value
        "{ partners(filter: {statusses: [ACTIVE]}) { totalCount } }",  # an input field
        "{ viewer { ... on Viewr { permissions } } }",  # a type
    ]:
        body = await api.gql(query, user=user)
        assert body["errors"], query
        assert not any("Did you mean" in e["message"] for e in body["errors"]), body
    variable = await api.gql(
        "query($s: [PartnershipStatus!]) { partners(filter: {statuses: $s}) { totalCount } }",
        {"s": ["ACTIV"]},
        user=user,
    )
    assert variable["errors"]
    assert not any("Did you mean" in e["message"] for e in variable["errors"]), variable


async def test_two_content_type_headers_are_refused(api: Api) -> None:
    user = await make_user(await make_account(AccountKind.BRAND))
    big = b'{"query": "{ viewer { permissions } }", "pad": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    for types in (
        [("content-type", "application/json"), ("content-type", "multipart/form-data; boundary=b")],
        [("content-type", "multipart/form-data; boundary=b"), ("content-type", "application/json")],
    ):
        response = await api.client.post(
            "/graphql",
            content=big,
            headers=[
                ("authorization", f"Bearer {api.token(user)}"),
                ("apollo-require-preflight", "1"),
                *types,
            ],
        )
        assert response.status_code == 400, response.text
        assert response.json()["errors"][0]["extensions"]["code"] == "AMBIGUOUS_HEADERS"
    # One header, as usual, still works.
    small = await api.client.post(
        "/graphql",
        content=b'{"query": "{ viewer { permissions } }"}',
        headers=[
            ("authorization", f"Bearer {api.token(user)}"),
            ("content-type", "application/json"),
        ],
    )
    assert small.status_code == 200 and "errors" not in small.json()
