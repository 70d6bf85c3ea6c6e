"""Accounts, users and roles: built-in roles, custom roles, role assignment, terms.

SPEC §7's rules live here: no escalation (a user creates, changes, deletes and assigns only
roles whose permissions it holds itself, and changes the role only of users no more
powerful than itself) and LAST_ADMIN (every change that would leave an account without an
active user whose role has USERS_MANAGE is refused). Changes to roles and to who
administers an account lock the account row, so two concurrent demotions cannot both pass.
"""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Protocol

from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from models import Account, AccountKind, Permission, Role, User
from services.auth import Viewer, parse_permissions
from services.errors import ErrorCode, InvalidInput, NotFound, PermissionDenied
from services.role_names import clean_name, name_key

CURRENT_TERMS_VERSION = 1

BUILT_IN_ROLES: dict[str, frozenset[Permission]] = {
    "ACCOUNT_ADMIN": frozenset(Permission),
    "COMMUNITY_MANAGER": frozenset(
        {Permission.MESSAGING, Permission.PARTNERS_VIEW, Permission.BULK_MESSAGING}
    ),
    "ANALYST": frozenset({Permission.PARTNERS_VIEW, Permission.ANALYTICS_VIEW}),
}
BUILT_IN_KEYS = frozenset(name_key(n) for n in BUILT_IN_ROLES)


def format_permissions(permissions: Iterable[Permission]) -> str:
    return ",".join(sorted(p.value for p in set(permissions)))


async def create_account(
    name: str,
    kind: AccountKind,
    *,
    external_id: str | None = None,
    using_db: BaseDBAsyncClient | None = None,
) -> Account:
    """A new account with its built-in roles (in the caller's transaction, or its own)."""
    async with in_transaction() if using_db is None else _nullcontext(using_db) as conn:
        account = await Account.create(
            using_db=conn,
            name=name,
            name_folded=name.casefold(),
            kind=kind,
            external_id=external_id,
        )
        for role_name, permissions in BUILT_IN_ROLES.items():
            await Role.create(
                using_db=conn,
                account=account,
                name=role_name,
                name_key=name_key(role_name),
                built_in=True,
                permissions=format_permissions(permissions),
            )
    return account


@asynccontextmanager
async def _nullcontext(conn: BaseDBAsyncClient) -> AsyncIterator[BaseDBAsyncClient]:
    yield conn


async def built_in_role(account_id: uuid.UUID, name: str) -> Role:
    return await Role.get(account_id=account_id, name=name, built_in=True)


async def create_user(account: Account, email: str, name: str, role_name: str) -> User:
    role = await Role.get(account_id=account.id, name=role_name)
    return await User.create(account=account, role=role, email=email.lower(), name=name)


def require(viewer: Viewer, permission: Permission) -> None:
    if not viewer.can(permission):
        raise PermissionDenied(f"This needs the {permission.value} permission.")


def role_permissions(role: Role) -> frozenset[Permission]:
    return parse_permissions(role.permissions)


def check_no_escalation(viewer: Viewer, permissions: Iterable[Permission], what: str) -> None:
    """SPEC §7: a user hands out only permissions it holds itself."""
    beyond = set(permissions) - viewer.permissions
    if beyond:
        names = ", ".join(sorted(p.value for p in beyond))
        raise PermissionDenied(f"You cannot {what}: it has permissions you lack ({names}).")


async def _check_name_free(
    conn: BaseDBAsyncClient, account_id: uuid.UUID, name: str, except_role: uuid.UUID | None
) -> str:
    key = name_key(name)
    if key in BUILT_IN_KEYS:
        raise InvalidInput(
            ErrorCode.INVALID_INPUT, "That name imitates a built-in role's name.", ("name",)
        )
    clash = Role.filter(account_id=account_id, name_key=key).using_db(conn)
    if except_role is not None:
        clash = clash.exclude(id=except_role)
    if await clash.exists():
        raise InvalidInput(
            ErrorCode.INVALID_INPUT, "A role with that name (or one too like it) exists.", ("name",)
        )
    return key


async def lock_account(conn: BaseDBAsyncClient, account_id: uuid.UUID) -> None:
    """Serialise changes to who administers an account (LAST_ADMIN) and to its roles."""
    await Account.select_for_update().using_db(conn).filter(id=account_id).only("id").first()


async def count_admins(
    conn: BaseDBAsyncClient,
    account_id: uuid.UUID,
    *,
    except_user: uuid.UUID | None = None,
    except_role: uuid.UUID | None = None,
) -> int:
    """Active users of the account whose role has USERS_MANAGE, leaving out one user or one
    role (the one a change is about)."""
    query = User.filter(
        account_id=account_id,
        active=True,
        role__permissions__contains=Permission.USERS_MANAGE.value,
    ).using_db(conn)
    if except_user is not None:
        query = query.exclude(id=except_user)
    if except_role is not None:
        query = query.exclude(role_id=except_role)
    return await query.count()


def last_admin(message: str) -> InvalidInput:
    return InvalidInput(ErrorCode.LAST_ADMIN, message)


async def check_keeps_an_admin(
    conn: BaseDBAsyncClient, user: User, *, new_role: Role | None, active: bool
) -> None:
    """LAST_ADMIN: the change of `user` to `new_role`/`active` must leave the account at
    least one active user with USERS_MANAGE, if it had one. Call with the account locked."""
    current_role = await Role.get(id=user.role_id, using_db=conn)  # type: ignore[attr-defined]
    was_admin = user.active and Permission.USERS_MANAGE in role_permissions(current_role)
    role_after = new_role or current_role
    stays_admin = active and Permission.USERS_MANAGE in role_permissions(role_after)
    if was_admin and not stays_admin:
        account_id: uuid.UUID = user.account_id  # type: ignore[attr-defined]
        if await count_admins(conn, account_id, except_user=user.id) == 0:
            raise last_admin("This is the account's last user who can manage users.")


async def create_role(viewer: Viewer, name: str, permissions: Iterable[Permission]) -> Role:
    """A custom role in the viewer's own account. Needs USERS_MANAGE and every permission
    it grants (no escalation)."""
    require(viewer, Permission.USERS_MANAGE)
    wanted = frozenset(permissions)
    check_no_escalation(viewer, wanted, "create this role")
    name = clean_name(name)
    try:
        async with in_transaction() as conn:
            await lock_account(conn, viewer.account_id)
            key = await _check_name_free(conn, viewer.account_id, name, None)
            return await Role.create(
                using_db=conn,
                account_id=viewer.account_id,
                name=name,
                name_key=key,
                built_in=False,
                permissions=format_permissions(wanted),
            )
    except IntegrityError:
        raise InvalidInput(
            ErrorCode.INVALID_INPUT, "A role with that name (or one too like it) exists.", ("name",)
        ) from None


async def _own_custom_role(
    conn: BaseDBAsyncClient, viewer: Viewer, role_id: uuid.UUID, what: str
) -> Role:
    role = await Role.filter(id=role_id, account_id=viewer.account_id).using_db(conn).first()
    if role is None:
        raise NotFound("No such role.", field=("roleId",))
    if role.built_in:
        raise PermissionDenied("Built-in roles cannot be changed.", field=("roleId",))
    check_no_escalation(viewer, role_permissions(role), what)
    return role


async def update_role(
    viewer: Viewer,
    role_id: uuid.UUID,
    *,
    name: str | None = None,
    permissions: Iterable[Permission] | None = None,
) -> Role:
    """Rename a custom role or change its permissions (omitted: kept). The viewer must hold
    every permission the role has before and after; removing USERS_MANAGE from the role of
    the account's last administrators is LAST_ADMIN."""
    require(viewer, Permission.USERS_MANAGE)
    wanted = None if permissions is None else frozenset(permissions)
    if wanted is not None:
        check_no_escalation(viewer, wanted, "give a role these permissions")
    cleaned = None if name is None else clean_name(name)
    try:
        async with in_transaction() as conn:
            await lock_account(conn, viewer.account_id)
            role = await _own_custom_role(conn, viewer, role_id, "change this role")
            fields: list[str] = []
            if cleaned is not None and cleaned != role.name:
                role.name_key = await _check_name_free(conn, viewer.account_id, cleaned, role.id)
                role.name = cleaned
                fields += ["name", "name_key"]
            if wanted is not None and wanted != role_permissions(role):
                removes_admin = Permission.USERS_MANAGE not in wanted and (
                    Permission.USERS_MANAGE in role_permissions(role)
                )
                if (
                    removes_admin
                    and await User.filter(role_id=role.id, active=True).using_db(conn).exists()
                    and await count_admins(conn, viewer.account_id, except_role=role.id) == 0
                ):
                    raise last_admin("Only users of this role can manage users.")
                role.permissions = format_permissions(wanted)
                fields.append("permissions")
            if fields:
                await role.save(using_db=conn, update_fields=fields)
            return role
    except IntegrityError:
        raise InvalidInput(
            ErrorCode.INVALID_INPUT, "A role with that name (or one too like it) exists.", ("name",)
        ) from None


async def delete_role(viewer: Viewer, role_id: uuid.UUID) -> uuid.UUID:
    """Delete a custom role no user holds (else ROLE_IN_USE). Returns its id."""
    require(viewer, Permission.USERS_MANAGE)
    async with in_transaction() as conn:
        await lock_account(conn, viewer.account_id)
        role = await _own_custom_role(conn, viewer, role_id, "delete this role")
        holders = await User.filter(role_id=role.id).using_db(conn).count()
        if holders:
            raise InvalidInput(
                ErrorCode.ROLE_IN_USE,
                f"{holders} user(s) hold this role: assign them another role first.",
                ("roleId",),
            )
        await role.delete(using_db=conn)
    return role_id


async def assign_role(viewer: Viewer, user_id: uuid.UUID, role_id: uuid.UUID) -> User:
    """Give a user of the viewer's account one of that account's roles. Needs USERS_MANAGE,
    every permission of the new role and of the user's current one (no escalation, no
    demoting a more powerful user), and leaves the account an administrator (LAST_ADMIN)."""
    require(viewer, Permission.USERS_MANAGE)
    async with in_transaction() as conn:
        await lock_account(conn, viewer.account_id)
        user = await User.filter(id=user_id, account_id=viewer.account_id).using_db(conn).first()
        if user is None:
            raise NotFound("No such user.", field=("userId",))
        role = await Role.filter(id=role_id, account_id=viewer.account_id).using_db(conn).first()
        if role is None:
            raise NotFound("No such role.", field=("roleId",))
        check_no_escalation(viewer, role_permissions(role), "assign this role")
        current = await Role.get(id=user.role_id, using_db=conn)  # type: ignore[attr-defined]
        check_no_escalation(viewer, role_permissions(current), "change this user's role")
        await check_keeps_an_admin(conn, user, new_role=role, active=user.active)
        user.role = role
        await user.save(using_db=conn, update_fields=["role_id"])
    return user


async def accept_messaging_terms(viewer: Viewer) -> Account:
    """Record that the viewer's account accepts the current messaging terms.

    Open to users who message (MESSAGING) or administer the account (USERS_MANAGE).
    """
    if not (viewer.can(Permission.MESSAGING) or viewer.can(Permission.USERS_MANAGE)):
        raise PermissionDenied("Accepting the messaging terms needs MESSAGING or USERS_MANAGE.")
    await Account.filter(id=viewer.account_id).update(
        terms_version_accepted=CURRENT_TERMS_VERSION, terms_accepted_at=datetime.now(UTC)
    )
    return await Account.get(id=viewer.account_id)


class HasTermsVersion(Protocol):
    @property
    def terms_version_accepted(self) -> int | None: ...


def terms_accepted(account: HasTermsVersion) -> bool:
    return (account.terms_version_accepted or 0) >= CURRENT_TERMS_VERSION


async def roles_by_ids(ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Role]:
    return {r.id: r for r in await Role.filter(id__in=list(ids))}


async def users_by_ids(ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, User]:
    return {u.id: u for u in await User.filter(id__in=list(ids))}


async def accounts_by_ids(ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Account]:
    return {a.id: a for a in await Account.filter(id__in=list(ids))}
