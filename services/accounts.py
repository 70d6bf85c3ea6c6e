"""Accounts, users and roles: built-in roles, custom roles, role assignment, terms."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Protocol

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from models import Account, AccountKind, Permission, Role, User
from services.auth import Viewer
from services.errors import InvalidInput, NotFound, PermissionDenied

CURRENT_TERMS_VERSION = 1

BUILT_IN_ROLES: dict[str, frozenset[Permission]] = {
    "ACCOUNT_ADMIN": frozenset(Permission),
    "COMMUNITY_MANAGER": frozenset(
        {Permission.MESSAGING, Permission.PARTNERS_VIEW, Permission.BULK_MESSAGING}
    ),
    "ANALYST": frozenset({Permission.PARTNERS_VIEW, Permission.ANALYTICS_VIEW}),
}


def format_permissions(permissions: Iterable[Permission]) -> str:
    return ",".join(sorted(p.value for p in set(permissions)))


async def create_account(name: str, kind: AccountKind) -> Account:
    """A new account with its built-in roles."""
    async with in_transaction():
        account = await Account.create(name=name, name_folded=name.casefold(), kind=kind)
        for role_name, permissions in BUILT_IN_ROLES.items():
            await Role.create(
                account=account,
                name=role_name,
                built_in=True,
                permissions=format_permissions(permissions),
            )
    return account


async def built_in_role(account_id: uuid.UUID, name: str) -> Role:
    return await Role.get(account_id=account_id, name=name, built_in=True)


async def create_user(account: Account, email: str, name: str, role_name: str) -> User:
    role = await Role.get(account_id=account.id, name=role_name)
    return await User.create(account=account, role=role, email=email.lower(), name=name)


def _require(viewer: Viewer, permission: Permission) -> None:
    if not viewer.can(permission):
        raise PermissionDenied(f"This needs the {permission.value} permission.")


async def create_role(viewer: Viewer, name: str, permissions: Iterable[Permission]) -> Role:
    """A custom role in the viewer's own account. Needs USERS_MANAGE."""
    _require(viewer, Permission.USERS_MANAGE)
    name = name.strip()
    if not 1 <= len(name) <= 100:
        raise InvalidInput("INVALID_INPUT", "A role name has 1 to 100 characters.", ("name",))
    if name in BUILT_IN_ROLES:
        raise InvalidInput("INVALID_INPUT", "That name belongs to a built-in role.", ("name",))
    try:
        return await Role.create(
            account_id=viewer.account_id,
            name=name,
            built_in=False,
            permissions=format_permissions(permissions),
        )
    except IntegrityError:
        raise InvalidInput(
            "INVALID_INPUT", "A role with that name already exists.", ("name",)
        ) from None


async def assign_role(viewer: Viewer, user_id: uuid.UUID, role_id: uuid.UUID) -> User:
    """Give a user of the viewer's account one of that account's roles. Needs USERS_MANAGE."""
    _require(viewer, Permission.USERS_MANAGE)
    user = await User.filter(id=user_id, account_id=viewer.account_id).first()
    if user is None:
        raise NotFound("No such user.", field=("userId",))
    role = await Role.filter(id=role_id, account_id=viewer.account_id).first()
    if role is None:
        raise NotFound("No such role.", field=("roleId",))
    user.role = role
    await user.save(update_fields=["role_id"])
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
