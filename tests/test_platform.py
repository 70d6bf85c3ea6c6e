"""The platform API (provisioning): platform tokens, batch upserts, deactivation.

Given data pushed through the public API with a platform token, when the platform (or a
user) calls, then each item succeeds or fails on its own, and nothing half-written stays.
"""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import jwt
import pytest

from services.auth import issue_platform_token
from tests.conftest import JWT_SECRET
from tests.factories import Api, make_account, make_user

UPSERT_ACCOUNTS = """
mutation($input: [UpsertAccountInput!]!) {
  upsertAccounts(input: $input) { results { externalId id created error { code field message } } }
}
"""
UPSERT_USERS = """
mutation($input: [UpsertUserInput!]!) {
  upsertUsers(input: $input) { results { externalId id created error { code field message } } }
}
"""
UPSERT_PARTNERSHIPS = """
mutation($input: [UpsertPartnershipInput!]!) {
  upsertPartnerships(input: $input) { results { externalId id created error { code field message } } }
}
"""
VIEWER = "{ viewer { user { id email name role { name } } account { id name kind } } }"
PARTNERS = "{ partners(first: 100) { totalCount edges { node { id status partner { name } } } } }"


def platform_token() -> str:
    return issue_platform_token(JWT_SECRET)


async def as_platform(api: Api, query: str, variables: dict[str, Any]) -> httpx.Response:
    return await api.post(query, variables, token=platform_token())


async def results(api: Api, query: str, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    response = await as_platform(api, query, {"input": items})
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    (payload,) = body["data"].values()
    found: list[dict[str, Any]] = payload["results"]
    return found


def codes(found: list[dict[str, Any]]) -> list[str | None]:
    return [r["error"]["code"] if r["error"] else None for r in found]


async def user_get(api: Api, token: str, query: str = VIEWER) -> httpx.Response:
    return await api.post(query, token=token)


async def provision(api: Api, unique: str) -> dict[str, str]:
    """A brand with an admin and a messaging user, and a partner with its admin."""
    accounts = await results(
        api,
        UPSERT_ACCOUNTS,
        [
            {"externalId": f"b-{unique}", "kind": "BRAND", "name": f"Brand {unique}"},
            {"externalId": f"p-{unique}", "kind": "PARTNER", "name": f"Partner {unique}"},
        ],
    )
    assert codes(accounts) == [None, None] and all(r["created"] for r in accounts)
    users = await results(
        api,
        UPSERT_USERS,
        [
            user_item(f"ba-{unique}", f"b-{unique}", "ACCOUNT_ADMIN"),
            user_item(f"bc-{unique}", f"b-{unique}", "COMMUNITY_MANAGER"),
            user_item(f"pa-{unique}", f"p-{unique}", "ACCOUNT_ADMIN"),
        ],
    )
    assert codes(users) == [None, None, None]
    ids = {r["externalId"]: r["id"] for r in accounts + users}
    return ids


def user_item(external_id: str, account: str, role: str, **extra: Any) -> dict[str, Any]:
    return {
        "externalId": external_id,
        "accountExternalId": account,
        "email": f"{external_id}@example.test",
        "name": f"Person {external_id}",
        "roleName": role,
        **extra,
    }


def token_of(user_id: str) -> str:
    from services.auth import issue_token

    return issue_token(JWT_SECRET, uuid.UUID(user_id))


async def test_platform_provisions_accounts_users_and_partnerships(api: Api, unique: str) -> None:
    ids = await provision(api, unique)
    # A user token's sub is the id the upsert returned.
    admin_token = token_of(ids[f"ba-{unique}"])
    viewer = (await user_get(api, admin_token)).json()["data"]["viewer"]
    assert viewer["user"] == {
        "id": ids[f"ba-{unique}"],
        "email": f"ba-{unique}@example.test",
        "name": f"Person ba-{unique}",
        "role": {"name": "ACCOUNT_ADMIN"},
    }
    assert viewer["account"] == {
        "id": ids[f"b-{unique}"],
        "name": f"Brand {unique}",
        "kind": "BRAND",
    }

    created = await results(
        api,
        UPSERT_PARTNERSHIPS,
        [
            {
                "brandExternalId": f"b-{unique}",
                "partnerExternalId": f"p-{unique}",
                "status": "PROSPECT",
            }
        ],
    )
    assert created[0]["externalId"] == f"b-{unique}:p-{unique}" and created[0]["created"] is True
    partners = (await user_get(api, admin_token, PARTNERS)).json()["data"]["partners"]
    assert partners["totalCount"] == 1
    assert partners["edges"][0]["node"]["id"] == created[0]["id"]
    assert partners["edges"][0]["node"]["status"] == "PROSPECT"


async def test_the_same_batch_twice_changes_nothing(api: Api, unique: str) -> None:
    ids = await provision(api, unique)
    items = [
        {"brandExternalId": f"b-{unique}", "partnerExternalId": f"p-{unique}", "status": "ACTIVE"}
    ]
    first = await results(api, UPSERT_PARTNERSHIPS, items)
    second = await results(api, UPSERT_PARTNERSHIPS, items)
    assert first[0]["created"] is True and second[0]["created"] is False
    assert first[0]["id"] == second[0]["id"]
    again = await results(
        api, UPSERT_USERS, [user_item(f"ba-{unique}", f"b-{unique}", "ACCOUNT_ADMIN")]
    )
    assert again == [
        {"externalId": f"ba-{unique}", "id": ids[f"ba-{unique}"], "created": False, "error": None}
    ]
    accounts = await results(
        api,
        UPSERT_ACCOUNTS,
        [{"externalId": f"b-{unique}", "kind": "BRAND", "name": f"Brand {unique}"}],
    )
    assert accounts[0]["created"] is False and accounts[0]["id"] == ids[f"b-{unique}"]


async def test_updates_rename_and_change_roles(api: Api, unique: str) -> None:
    ids = await provision(api, unique)
    await results(
        api, UPSERT_ACCOUNTS, [{"externalId": f"b-{unique}", "kind": "BRAND", "name": "Renamed"}]
    )
    changed = await results(
        api,
        UPSERT_USERS,
        [
            user_item(
                f"bc-{unique}",
                f"b-{unique}",
                "ANALYST",
                name="New Name",
                email=f"new-{unique}@example.test",
            )
        ],
    )
    assert codes(changed) == [None]
    viewer = (await user_get(api, token_of(ids[f"bc-{unique}"]))).json()["data"]["viewer"]
    assert viewer["user"]["role"] == {"name": "ANALYST"}
    assert viewer["user"]["name"] == "New Name"
    assert viewer["user"]["email"] == f"new-{unique}@example.test"
    assert viewer["account"]["name"] == "Renamed"


async def test_bad_items_fail_alone_and_change_nothing(api: Api, unique: str) -> None:
    await provision(api, unique)
    found = await results(
        api,
        UPSERT_USERS,
        [
            user_item(f"ok-{unique}", f"b-{unique}", "ANALYST"),
            user_item(f"x1-{unique}", f"nope-{unique}", "ANALYST"),  # unknown account
            user_item(f"x2-{unique}", f"b-{unique}", "NO_SUCH_ROLE"),  # unknown role
            user_item(f"x3-{unique}", f"b-{unique}", "ANALYST", email="not an address"),
            user_item(f"dup-{unique}", f"b-{unique}", "ANALYST"),
            user_item(f"dup-{unique}", f"b-{unique}", "ANALYST", email=f"d2-{unique}@example.test"),
            user_item(f"x4-{unique}", f"b-{unique}", "ANALYST", email=f"ba-{unique}@example.test"),
            user_item("", f"b-{unique}", "ANALYST"),
            user_item("y" * 129, f"b-{unique}", "ANALYST"),
        ],
    )
    assert codes(found) == [
        None,
        "NOT_FOUND",
        "NOT_FOUND",
        "INVALID_INPUT",
        "DUPLICATE_EXTERNAL_ID",
        "DUPLICATE_EXTERNAL_ID",
        "EMAIL_TAKEN",
        "INVALID_INPUT",
        "INVALID_INPUT",
    ]
    assert [r["error"]["field"] for r in found[1:4]] == [
        ["accountExternalId"],
        ["roleName"],
        ["email"],
    ]
    assert all(r["id"] is None and r["created"] is False for r in found[1:])
    # Nothing of the failed items was written: a retry of a corrected item creates it.
    retry = await results(api, UPSERT_USERS, [user_item(f"x3-{unique}", f"b-{unique}", "ANALYST")])
    assert retry[0]["created"] is True
    admin = token_of(
        (
            await results(
                api, UPSERT_USERS, [user_item(f"ba-{unique}", f"b-{unique}", "ACCOUNT_ADMIN")]
            )
        )[0]["id"]
    )
    body = (
        await user_get(api, admin, "{ users(first: 100) { totalCount edges { node { email } } } }")
    ).json()
    emails = {e["node"]["email"] for e in body["data"]["users"]["edges"]}
    assert f"dup-{unique}@example.test" not in emails and f"x2-{unique}@example.test" not in emails
    assert f"ok-{unique}@example.test" in emails


async def test_bad_partnership_items(api: Api, unique: str) -> None:
    await provision(api, unique)
    other = await results(
        api, UPSERT_ACCOUNTS, [{"externalId": f"p2-{unique}", "kind": "PARTNER", "name": "P2"}]
    )
    assert other[0]["created"] is True
    found = await results(
        api,
        UPSERT_PARTNERSHIPS,
        [
            {
                "brandExternalId": f"b-{unique}",
                "partnerExternalId": f"p2-{unique}",
                "status": "ACTIVE",
            },
            {
                "brandExternalId": f"p-{unique}",
                "partnerExternalId": f"p2-{unique}",
                "status": "ACTIVE",
            },  # a partner in the brand slot
            {
                "brandExternalId": f"b-{unique}",
                "partnerExternalId": f"b-{unique}",
                "status": "ACTIVE",
            },  # a brand in the partner slot
            {
                "brandExternalId": f"b-{unique}",
                "partnerExternalId": f"ghost-{unique}",
                "status": "ACTIVE",
            },
            {
                "brandExternalId": f"b-{unique}",
                "partnerExternalId": f"p-{unique}",
                "status": "ACTIVE",
            },
            {
                "brandExternalId": f"b-{unique}",
                "partnerExternalId": f"p-{unique}",
                "status": "PENDING",
            },
        ],
    )
    assert codes(found) == [
        None,
        "INVALID_INPUT",
        "INVALID_INPUT",
        "NOT_FOUND",
        "DUPLICATE_EXTERNAL_ID",
        "DUPLICATE_EXTERNAL_ID",
    ]
    assert found[1]["error"]["field"] == ["brandExternalId"]
    assert found[2]["error"]["field"] == ["partnerExternalId"]
    # The duplicated pair was not written at all.
    again = await results(
        api,
        UPSERT_PARTNERSHIPS,
        [
            {
                "brandExternalId": f"b-{unique}",
                "partnerExternalId": f"p-{unique}",
                "status": "ACTIVE",
            }
        ],
    )
    assert again[0]["created"] is True


async def test_account_kind_cannot_change(api: Api, unique: str) -> None:
    await provision(api, unique)
    found = await results(
        api,
        UPSERT_ACCOUNTS,
        [
            {"externalId": f"b-{unique}", "kind": "PARTNER", "name": "X"},
            {"externalId": "", "kind": "BRAND", "name": "X"},
            {"externalId": f"n-{unique}", "kind": "BRAND", "name": "  "},
        ],
    )
    assert codes(found) == ["INVALID_INPUT", "INVALID_INPUT", "INVALID_INPUT"]
    assert found[0]["error"]["field"] == ["kind"]


@pytest.mark.parametrize("mutation", [UPSERT_ACCOUNTS, UPSERT_USERS, UPSERT_PARTNERSHIPS])
async def test_501_items_are_refused_whole(api: Api, unique: str, mutation: str) -> None:
    if mutation is UPSERT_ACCOUNTS:
        items: list[dict[str, Any]] = [
            {"externalId": f"m{n}-{unique}", "kind": "BRAND", "name": "M"} for n in range(501)
        ]
    elif mutation is UPSERT_USERS:
        items = [user_item(f"m{n}-{unique}", f"b-{unique}", "ANALYST") for n in range(501)]
    else:
        items = [
            {
                "brandExternalId": f"b-{unique}",
                "partnerExternalId": f"m{n}-{unique}",
                "status": "ACTIVE",
            }
            for n in range(501)
        ]
    response = await as_platform(api, mutation, {"input": items})
    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "INVALID_ARGUMENT"
    # Nothing was written: the first item of the batch, sent alone, is new.
    if mutation is UPSERT_ACCOUNTS:
        alone = await results(api, mutation, items[:1])
        assert alone[0]["created"] is True


async def test_500_items_are_accepted(api: Api, unique: str) -> None:
    items = [
        {"externalId": f"k{n}-{unique}", "kind": "PARTNER", "name": f"K{n}"} for n in range(500)
    ]
    found = await results(api, UPSERT_ACCOUNTS, items)
    assert len(found) == 500 and all(r["created"] for r in found)
    assert [r["externalId"] for r in found] == [i["externalId"] for i in items]


async def test_a_user_token_cannot_call_platform_mutations(api: Api, unique: str) -> None:
    admin = await make_user(await make_account_kind("BRAND"), "ACCOUNT_ADMIN")
    for mutation in (UPSERT_ACCOUNTS, UPSERT_USERS, UPSERT_PARTNERSHIPS):
        body = await api.gql(mutation, {"input": []}, user=admin)
        assert body["data"] is None
        assert body["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"


async def make_account_kind(kind: str) -> Any:
    from models import AccountKind

    return await make_account(AccountKind(kind))


@pytest.mark.parametrize(
    "query",
    [
        "{ viewer { permissions } }",
        "{ __typename viewer { permissions } }",
        "mutation { acceptMessagingTerms { errors { code } } }",
        # Variants: the same field behind an inline fragment, a named fragment, an alias,
        # and mixed with a platform mutation in one operation.
        "{ ... on Query { viewer { permissions } } }",
        "query { ...F } fragment F on Query { viewer { permissions } }",
        "{ me: viewer { permissions } }",
        "mutation { upsertAccounts(input: []) { results { id } } acceptMessagingTerms { errors { code } } }",
        "{ inbox { totalCount } }",
    ],
)
async def test_a_platform_token_calls_nothing_else(api: Api, query: str) -> None:
    response = await api.post(query, token=platform_token())
    assert response.status_code == 200
    body = response.json()
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"


async def test_a_platform_token_gets_no_download_or_export(api: Api) -> None:
    for path in (f"/attachments/{uuid.uuid4()}", "/analytics/messaging.csv"):
        response = await api.client.get(
            path, headers={"authorization": f"Bearer {platform_token()}"}
        )
        assert response.status_code == 401


async def test_forged_platform_tokens_are_refused(api: Api) -> None:
    import datetime as dt

    exp = dt.datetime.now(dt.UTC) + dt.timedelta(hours=1)
    for claims, secret in (
        ({"sub": "platform", "scope": "platform", "exp": exp}, "wrong-secret-" + "y" * 32),
        ({"sub": "platform", "exp": exp}, JWT_SECRET),  # no scope
        ({"sub": str(uuid.uuid4()), "scope": "platform", "exp": exp}, JWT_SECRET),
        ({"sub": "platform", "scope": "platform"}, JWT_SECRET),  # no exp
    ):
        token = jwt.encode(claims, secret, algorithm="HS256")
        response = await api.post(UPSERT_ACCOUNTS, {"input": []}, token=token)
        assert response.status_code == 401, claims


async def test_deactivated_user_gets_401_at_once_and_back_when_reactivated(
    api: Api, unique: str
) -> None:
    ids = await provision(api, unique)
    token = token_of(ids[f"bc-{unique}"])
    assert (await user_get(api, token)).status_code == 200
    off = await results(
        api,
        UPSERT_USERS,
        [user_item(f"bc-{unique}", f"b-{unique}", "COMMUNITY_MANAGER", active=False)],
    )
    assert codes(off) == [None]
    response = await user_get(api, token)
    assert response.status_code == 401
    assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"
    # Variant: another route with the same token.
    download = await api.client.get(
        f"/attachments/{uuid.uuid4()}", headers={"authorization": f"Bearer {token}"}
    )
    assert download.status_code == 401
    on = await results(
        api,
        UPSERT_USERS,
        [user_item(f"bc-{unique}", f"b-{unique}", "COMMUNITY_MANAGER", active=True)],
    )
    assert codes(on) == [None]
    assert (await user_get(api, token)).status_code == 200


async def test_the_platform_cannot_remove_the_last_admin(api: Api, unique: str) -> None:
    ids = await provision(api, unique)
    demote = await results(api, UPSERT_USERS, [user_item(f"ba-{unique}", f"b-{unique}", "ANALYST")])
    assert codes(demote) == ["LAST_ADMIN"]
    deactivate = await results(
        api, UPSERT_USERS, [user_item(f"pa-{unique}", f"p-{unique}", "ACCOUNT_ADMIN", active=False)]
    )
    assert codes(deactivate) == ["LAST_ADMIN"]
    viewer = (await user_get(api, token_of(ids[f"ba-{unique}"]))).json()["data"]["viewer"]
    assert viewer["user"]["role"] == {"name": "ACCOUNT_ADMIN"}
    # With a second admin, the first may go.
    second = await results(
        api,
        UPSERT_USERS,
        [
            user_item(f"ba2-{unique}", f"b-{unique}", "ACCOUNT_ADMIN"),
            user_item(f"ba-{unique}", f"b-{unique}", "ANALYST"),
        ],
    )
    assert codes(second) == [None, None]


async def test_users_cannot_move_between_accounts(api: Api, unique: str) -> None:
    await provision(api, unique)
    moved = await results(
        api, UPSERT_USERS, [user_item(f"bc-{unique}", f"p-{unique}", "ACCOUNT_ADMIN")]
    )
    assert codes(moved) == ["INVALID_INPUT"]
    assert moved[0]["error"]["field"] == ["accountExternalId"]


async def test_existing_users_are_untouched_by_platform_ids(api: Api, unique: str) -> None:
    """Users created before the platform (no externalId) keep their e-mail to themselves."""
    brand = await make_account_kind("BRAND")
    user = await make_user(brand)
    await provision(api, unique)
    clash = await results(
        api, UPSERT_USERS, [user_item(f"z-{unique}", f"b-{unique}", "ANALYST", email=user.email)]
    )
    assert codes(clash) == ["EMAIL_TAKEN"]
