"""Roles and the @requiresPermission directive: enforced per field, read from the DB per request."""

from __future__ import annotations

import pytest

from models import AccountKind, PartnershipStatus
from tests.factories import Api, make_account, make_pair, make_user, send

PERMISSION_FIELDS = {
    "inbox": ("{ inbox { totalCount } }", "MESSAGING"),
    "conversation": (
        '{ conversation(id: "00000000-0000-0000-0000-000000000000") { id } }',
        "MESSAGING",
    ),
    "sendMessage": (
        'mutation { sendMessage(input: {recipientAccountId: "x", body: "b"}) { errors { code } } }',
        "MESSAGING",
    ),
    "markConversationRead": (
        'mutation { markConversationRead(input: {conversationId: "x"}) { errors { code } } }',
        "MESSAGING",
    ),
    "setConversationArchived": (
        'mutation { setConversationArchived(input: {conversationId: "x", archived: true}) { errors { code } } }',
        "MESSAGING",
    ),
    "createRole": (
        'mutation { createRole(input: {name: "r", permissions: []}) { errors { code } } }',
        "USERS_MANAGE",
    ),
    "assignRole": (
        'mutation { assignRole(input: {userId: "x", roleId: "y"}) { errors { code } } }',
        "USERS_MANAGE",
    ),
}


@pytest.mark.parametrize("field", sorted(PERMISSION_FIELDS))
async def test_analyst_is_denied_messaging_and_user_fields(api: Api, field: str) -> None:
    analyst = await make_user(await make_account(AccountKind.BRAND), "ANALYST")
    query, permission = PERMISSION_FIELDS[field]
    body = await api.gql(query, user=analyst)
    assert body["data"] in (None, {field: None})
    error = body["errors"][0]
    assert error["extensions"]["code"] == "PERMISSION_DENIED"
    assert error["path"] == [field]
    assert permission in error["message"]


async def test_community_manager_cannot_manage_users(api: Api) -> None:
    cm = await make_user(await make_account(AccountKind.BRAND), "COMMUNITY_MANAGER")
    body = await api.gql(PERMISSION_FIELDS["createRole"][0], user=cm)
    assert body["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"


async def test_partners_needs_partners_view(api: Api) -> None:
    brand = await make_account(AccountKind.BRAND)
    admin = await make_user(brand, "ACCOUNT_ADMIN")
    created = await api.data(
        'mutation { createRole(input: {name: "Messenger", permissions: [MESSAGING]}) { role { id name builtIn permissions } errors { code } } }',
        user=admin,
    )
    role = created["createRole"]["role"]
    assert role["builtIn"] is False and role["permissions"] == ["MESSAGING"]
    member = await make_user(brand, "ANALYST")
    assigned = await api.data(
        "mutation($u: ID!, $r: ID!) { assignRole(input: {userId: $u, roleId: $r}) { user { role { name } } errors { code } } }",
        {"u": str(member.id), "r": role["id"]},
        user=admin,
    )
    assert assigned["assignRole"] == {"user": {"role": {"name": "Messenger"}}, "errors": []}
    body = await api.gql("{ partners { totalCount } }", user=member)
    assert body["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"
    assert (await api.data("{ inbox { totalCount } }", user=member))["inbox"]["totalCount"] == 0


async def test_revoked_messaging_takes_effect_on_the_next_request(api: Api) -> None:
    pair = await make_pair(PartnershipStatus.ACTIVE)
    admin = await make_user(pair.brand, "ACCOUNT_ADMIN")
    assert (await send(api, pair.brand_user, pair.partner, "before"))["errors"] == []
    analyst_role = await api.data("{ viewer { user { id } } }", user=admin)
    assert analyst_role
    roles = await _role_ids(api, admin, pair.brand_user)
    await api.data(
        "mutation($u: ID!, $r: ID!) { assignRole(input: {userId: $u, roleId: $r}) { errors { code } } }",
        {"u": str(pair.brand_user.id), "r": roles["ANALYST"]},
        user=admin,
    )
    body = await api.gql(PERMISSION_FIELDS["inbox"][0], user=pair.brand_user)
    assert body["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"
    viewer = await api.data(
        "{ viewer { permissions user { role { name builtIn } } } }", user=pair.brand_user
    )
    assert viewer["viewer"] == {
        "permissions": ["ANALYTICS_VIEW", "PARTNERS_VIEW"],
        "user": {"role": {"name": "ANALYST", "builtIn": True}},
    }


async def _role_ids(api: Api, admin: object, user: object) -> dict[str, str]:
    from models import Role

    account_id = (await api.data("{ viewer { account { id } } }", user=admin))["viewer"]["account"][
        "id"
    ]  # type: ignore[arg-type]
    return {r.name: str(r.id) for r in await Role.filter(account_id=account_id)}


async def test_roles_cannot_cross_accounts(api: Api) -> None:
    brand = await make_account(AccountKind.BRAND)
    other = await make_account(AccountKind.BRAND)
    admin = await make_user(brand, "ACCOUNT_ADMIN")
    outsider = await make_user(other, "COMMUNITY_MANAGER")
    foreign_roles = await _role_ids(api, await make_user(other, "ACCOUNT_ADMIN"), outsider)
    own_roles = await _role_ids(api, admin, admin)
    assign = "mutation($u: ID!, $r: ID!) { assignRole(input: {userId: $u, roleId: $r}) { user { id } errors { code field } } }"
    data = await api.data(assign, {"u": str(outsider.id), "r": own_roles["ANALYST"]}, user=admin)
    assert data["assignRole"] == {
        "user": None,
        "errors": [{"code": "NOT_FOUND", "field": ["userId"]}],
    }
    member = await make_user(brand)
    data = await api.data(
        assign, {"u": str(member.id), "r": foreign_roles["ACCOUNT_ADMIN"]}, user=admin
    )
    assert data["assignRole"] == {
        "user": None,
        "errors": [{"code": "NOT_FOUND", "field": ["roleId"]}],
    }
    data = await api.data(assign, {"u": "not-an-id", "r": "nope"}, user=admin)
    assert data["assignRole"]["errors"][0]["code"] == "NOT_FOUND"
    # The outsider keeps its role.
    viewer = await api.data("{ viewer { user { role { name } } } }", user=outsider)
    assert viewer["viewer"]["user"]["role"]["name"] == "COMMUNITY_MANAGER"


async def test_custom_role_names_are_checked(api: Api) -> None:
    admin = await make_user(await make_account(AccountKind.BRAND), "ACCOUNT_ADMIN")
    create = "mutation($n: String!) { createRole(input: {name: $n, permissions: [PARTNERS_VIEW]}) { role { name } errors { code field } } }"
    for name in ("", "ANALYST", "x" * 101):
        data = await api.data(create, {"n": name}, user=admin)
        assert data["createRole"]["errors"][0]["code"] == "INVALID_INPUT"
    assert (await api.data(create, {"n": "Viewer"}, user=admin))["createRole"]["errors"] == []
    again = await api.data(create, {"n": "Viewer"}, user=admin)
    assert again["createRole"]["errors"] == [{"code": "INVALID_INPUT", "field": ["name"]}]


async def test_permission_directive_is_printed_in_the_sdl() -> None:
    from gql.schema import print_schema_sdl

    sdl = print_schema_sdl()
    assert "directive @requiresPermission(permission: Permission!) on FIELD_DEFINITION" in sdl
    assert (
        "inbox(filter: InboxFilter = null, first: Int = 20, after: String = null): ConversationConnection! @requiresPermission(permission: MESSAGING)"
        in sdl
    )
    assert "@requiresPermission(permission: PARTNERS_VIEW)" in sdl
