"""Account administration (USERS_MANAGE): users and roles, no escalation, LAST_ADMIN, role
names — through the public API."""

from __future__ import annotations

from typing import Any

import pytest

from models import Account, AccountKind, User
from tests.factories import Api, make_account, make_user

CREATE_ROLE = """
mutation($name: String!, $permissions: [Permission!]!) {
  createRole(input: {name: $name, permissions: $permissions}) {
    role { id name builtIn permissions } errors { code field message }
  }
}
"""
UPDATE_ROLE = """
mutation($input: UpdateRoleInput!) {
  updateRole(input: $input) { role { id name permissions } errors { code field message } }
}
"""
DELETE_ROLE = """
mutation($id: ID!) { deleteRole(input: {roleId: $id}) { deletedRoleId errors { code field } } }
"""
ASSIGN = """
mutation($u: ID!, $r: ID!) {
  assignRole(input: {userId: $u, roleId: $r}) { user { id role { name } } errors { code field } }
}
"""
ROLES = "query($after: String) { roles(first: 2, after: $after) { totalCount edges { cursor node { id name builtIn permissions } } pageInfo { hasNextPage endCursor } } }"
USERS = "query($after: String) { users(first: 2, after: $after) { totalCount edges { node { id email active role { name } } } pageInfo { hasNextPage endCursor } } }"


async def all_roles(api: Api, user: User) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    after = None
    while True:
        page = (await api.data(ROLES, {"after": after}, user=user))["roles"]
        for edge in page["edges"]:
            found[edge["node"]["name"]] = edge["node"]
        if not page["pageInfo"]["hasNextPage"]:
            return found
        after = page["pageInfo"]["endCursor"]


async def create_role(api: Api, user: User, name: str, permissions: list[str]) -> dict[str, Any]:
    payload: dict[str, Any] = (
        await api.data(CREATE_ROLE, {"name": name, "permissions": permissions}, user=user)
    )["createRole"]
    return payload


async def assign(api: Api, admin: User, user: User, role_id: str) -> dict[str, Any]:
    payload: dict[str, Any] = (
        await api.data(ASSIGN, {"u": str(user.id), "r": role_id}, user=admin)
    )["assignRole"]
    return payload


async def brand_with_admin() -> tuple[Account, User]:
    brand = await make_account(AccountKind.BRAND)
    return brand, await make_user(brand, "ACCOUNT_ADMIN")


async def user_manager(api: Api, brand: Account, admin: User) -> User:
    """A user whose custom role has only USERS_MANAGE."""
    role = await create_role(api, admin, "People", ["USERS_MANAGE"])
    manager = await make_user(brand, "ANALYST")
    assert (await assign(api, admin, manager, role["role"]["id"]))["errors"] == []
    return manager


async def test_users_and_roles_are_paged_connections(api: Api) -> None:
    brand, admin = await brand_with_admin()
    others = [await make_user(brand, "ANALYST") for _ in range(3)]
    roles = await all_roles(api, admin)
    assert set(roles) == {"ACCOUNT_ADMIN", "ANALYST", "COMMUNITY_MANAGER"}
    assert roles["ACCOUNT_ADMIN"]["builtIn"] is True
    assert "SETTINGS_MANAGE" in roles["ACCOUNT_ADMIN"]["permissions"]
    seen: list[str] = []
    after = None
    while True:
        page = (await api.data(USERS, {"after": after}, user=admin))["users"]
        assert page["totalCount"] == 4
        seen += [e["node"]["email"] for e in page["edges"]]
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert sorted(seen) == seen and set(seen) == {u.email for u in [admin, *others]}
    # Another account's users never appear; a community manager may not list them.
    other_admin = await make_user(await make_account(AccountKind.BRAND), "ACCOUNT_ADMIN")
    page = (await api.data(USERS, {"after": None}, user=other_admin))["users"]
    assert page["totalCount"] == 1
    cm = await make_user(brand)
    for query in (USERS, ROLES):
        body = await api.gql(query, {"after": None}, user=cm)
        assert body["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"


async def test_no_escalation_when_creating_or_updating_roles(api: Api) -> None:
    brand, admin = await brand_with_admin()
    manager = await user_manager(api, brand, admin)
    every = ["MESSAGING", "PARTNERS_VIEW", "ANALYTICS_VIEW", "USERS_MANAGE", "SETTINGS_MANAGE"]
    created = await create_role(api, manager, "Everything", every)
    assert created["role"] is None and created["errors"][0]["code"] == "PERMISSION_DENIED"
    # Variant: one extra permission is enough to be refused.
    created = await create_role(api, manager, "Almost", ["USERS_MANAGE", "MESSAGING"])
    assert created["errors"][0]["code"] == "PERMISSION_DENIED"
    # Variant: a role it may create, then widened by updateRole.
    mine = await create_role(api, manager, "Helpers", ["USERS_MANAGE"])
    assert mine["errors"] == []
    widened = (
        await api.data(
            UPDATE_ROLE,
            {"input": {"roleId": mine["role"]["id"], "permissions": every}},
            user=manager,
        )
    )["updateRole"]
    assert widened["role"] is None and widened["errors"][0]["code"] == "PERMISSION_DENIED"
    # Variant: changing (even narrowing) a role more powerful than itself.
    messaging = await create_role(api, admin, "Messengers", ["MESSAGING", "USERS_MANAGE"])
    narrowed = (
        await api.data(
            UPDATE_ROLE,
            {"input": {"roleId": messaging["role"]["id"], "permissions": ["USERS_MANAGE"]}},
            user=manager,
        )
    )["updateRole"]
    assert narrowed["errors"][0]["code"] == "PERMISSION_DENIED"
    roles = await all_roles(api, admin)
    assert roles["Helpers"]["permissions"] == ["USERS_MANAGE"]
    assert "Everything" not in roles and "Almost" not in roles


async def test_no_escalation_when_assigning_roles(api: Api) -> None:
    brand, admin = await brand_with_admin()
    manager = await user_manager(api, brand, admin)
    roles = await all_roles(api, admin)
    # To itself: the observed attack.
    itself = await assign(api, manager, manager, roles["ACCOUNT_ADMIN"]["id"])
    assert itself["user"] is None and itself["errors"][0]["code"] == "PERMISSION_DENIED"
    # Variant: to another user, and a built-in role with fewer but other permissions.
    other = await make_user(brand, "ANALYST")
    for name in ("ACCOUNT_ADMIN", "COMMUNITY_MANAGER"):
        result = await assign(api, manager, other, roles[name]["id"])
        assert result["errors"][0]["code"] == "PERMISSION_DENIED", name
    # Variant: demoting a more powerful user.
    demoted = await assign(api, manager, admin, roles["People"]["id"])
    assert demoted["errors"][0]["code"] == "PERMISSION_DENIED"
    viewer = await api.data("{ viewer { permissions } }", user=manager)
    assert viewer["viewer"]["permissions"] == ["USERS_MANAGE"]
    # What it holds, it may hand out, to a user no more powerful than itself.
    assert (await create_role(api, admin, "Nobody", []))["errors"] == []
    newcomer = await make_user(brand, "Nobody")
    assert (await assign(api, manager, newcomer, roles["People"]["id"]))["errors"] == []


async def test_last_admin_cannot_demote_itself(api: Api) -> None:
    brand, admin = await brand_with_admin()
    roles = await all_roles(api, admin)
    result = await assign(api, admin, admin, roles["ANALYST"]["id"])
    assert result["user"] is None and result["errors"][0]["code"] == "LAST_ADMIN"
    # A deactivated second admin does not count.
    second = await make_user(brand, "ACCOUNT_ADMIN")
    second.active = False
    await second.save(update_fields=["active"])
    result = await assign(api, admin, admin, roles["ANALYST"]["id"])
    assert result["errors"][0]["code"] == "LAST_ADMIN"
    viewer = await api.data("{ viewer { permissions } }", user=admin)
    assert "USERS_MANAGE" in viewer["viewer"]["permissions"]
    # With another active admin, it may step down.
    await make_user(brand, "ACCOUNT_ADMIN")
    assert (await assign(api, admin, admin, roles["ANALYST"]["id"]))["errors"] == []


async def test_last_admin_holds_when_a_role_loses_users_manage(api: Api) -> None:
    brand, admin = await brand_with_admin()
    people = await create_role(api, admin, "Admins Too", ["USERS_MANAGE", "MESSAGING"])
    keeper = await make_user(brand, "ANALYST")
    assert (await assign(api, admin, keeper, people["role"]["id"]))["errors"] == []
    roles = await all_roles(api, admin)
    # The built-in admin steps down: the custom role's holder is the last administrator.
    assert (await assign(api, admin, admin, roles["ANALYST"]["id"]))["errors"] == []
    result = (
        await api.data(
            UPDATE_ROLE,
            {"input": {"roleId": people["role"]["id"], "permissions": ["MESSAGING"]}},
            user=keeper,
        )
    )["updateRole"]
    assert result["errors"][0]["code"] == "LAST_ADMIN"
    viewer = await api.data("{ viewer { permissions } }", user=keeper)
    assert "USERS_MANAGE" in viewer["viewer"]["permissions"]


async def test_delete_role(api: Api) -> None:
    brand, admin = await brand_with_admin()
    used = await create_role(api, admin, "Used", ["MESSAGING"])
    unused = await create_role(api, admin, "Unused", ["MESSAGING"])
    member = await make_user(brand, "ANALYST")
    await assign(api, admin, member, used["role"]["id"])
    in_use = (await api.data(DELETE_ROLE, {"id": used["role"]["id"]}, user=admin))["deleteRole"]
    assert in_use == {
        "deletedRoleId": None,
        "errors": [{"code": "ROLE_IN_USE", "field": ["roleId"]}],
    }
    gone = (await api.data(DELETE_ROLE, {"id": unused["role"]["id"]}, user=admin))["deleteRole"]
    assert gone == {"deletedRoleId": unused["role"]["id"], "errors": []}
    roles = await all_roles(api, admin)
    assert "Unused" not in roles and "Used" in roles
    built_in = (await api.data(DELETE_ROLE, {"id": roles["ANALYST"]["id"]}, user=admin))[
        "deleteRole"
    ]
    assert built_in["errors"][0]["code"] == "PERMISSION_DENIED"
    # Another account's role and a junk id look the same: NOT_FOUND.
    other_admin = await make_user(await make_account(AccountKind.BRAND), "ACCOUNT_ADMIN")
    for role_id in (used["role"]["id"], "junk"):
        foreign = (await api.data(DELETE_ROLE, {"id": role_id}, user=other_admin))["deleteRole"]
        assert foreign["errors"][0]["code"] == "NOT_FOUND"


@pytest.mark.parametrize(
    "name",
    [
        "bad\x00name",
        "evil\u202eelif",  # right-to-left override
        "in\u2066visible",  # bidi isolate
        "zero\u200bwidth",
        "zero\ufeffwidth",
        "line\nbreak",
        "tab\there",
        "",
        "   ",
        "x" * 65,
    ],
)
async def test_role_names_refuse_control_bidi_and_zero_width(api: Api, name: str) -> None:
    _, admin = await brand_with_admin()
    result = await create_role(api, admin, name, [])
    assert result["role"] is None
    assert result["errors"][0]["code"] == "INVALID_INPUT"
    assert result["errors"][0]["field"] == ["name"]


@pytest.mark.parametrize(
    "name",
    [
        "ACCOUNT_ADMIN",
        "account_admin",
        "Account Admin",
        "ACCOUNT-ADMIN",
        " Account  Admin ",
        "ACC0UNT_ADM1N",  # digits for letters
        "АССОUNT_ADMIN",  # Cyrillic А, С, О
        "ＡＣＣＯＵＮＴ＿ＡＤＭＩＮ",  # fullwidth
        "Àccount Admin",  # an accent
        "community manager",
        "ᴀɴᴀʟʏsᴛ",  # small capitals
        "AnaIyst",  # capital I for l
    ],
)
async def test_role_names_may_not_imitate_built_in_names(api: Api, name: str) -> None:
    _, admin = await brand_with_admin()
    result = await create_role(api, admin, name, [])
    assert result["role"] is None and result["errors"][0]["code"] == "INVALID_INPUT"


async def test_role_names_are_normalised_and_unique_ignoring_case(api: Api) -> None:
    _, admin = await brand_with_admin()
    first = await create_role(api, admin, "ｓｕｐｐｏｒｔ", [])
    assert first["role"]["name"] == "support"  # NFKC
    for clash in ("Support", "SUPPORT", "ѕupport", "sup port"):
        result = await create_role(api, admin, clash, [])
        assert result["errors"][0]["code"] == "INVALID_INPUT", clash
    # Variant: a rename into a taken or built-in name.
    other = await create_role(api, admin, "Billing", [])
    for clash in ("SUPPORT", "Analyst", "bad\u200bname"):
        renamed = (
            await api.data(
                UPDATE_ROLE, {"input": {"roleId": other["role"]["id"], "name": clash}}, user=admin
            )
        )["updateRole"]
        assert renamed["errors"][0]["code"] == "INVALID_INPUT", clash
    # The same name in another account is fine; renaming to itself changes nothing.
    _, other_admin = await brand_with_admin()
    assert (await create_role(api, other_admin, "Support", []))["errors"] == []
    same = (
        await api.data(
            UPDATE_ROLE, {"input": {"roleId": other["role"]["id"], "name": "Billing"}}, user=admin
        )
    )["updateRole"]
    assert same["errors"] == [] and same["role"]["name"] == "Billing"
