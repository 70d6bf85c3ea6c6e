"""Viewer, User, Role, Account."""

from __future__ import annotations

import strawberry

from gql.context import Info
from gql.permissions import requires
from gql.types.enums import AccountKind, NotificationFrequency, Permission
from models import Account as AccountRow
from models import Permission as PermissionName
from models import Role as RoleRow
from models import User as UserRow
from services import triage
from services.accounts import terms_accepted
from services.auth import parse_permissions


@strawberry.type
class Account:
    id: strawberry.ID
    name: str
    kind: AccountKind
    messaging_terms_accepted: bool

    @classmethod
    def from_row(cls, row: AccountRow) -> Account:
        return cls(
            id=strawberry.ID(str(row.id)),
            name=row.name,
            kind=row.kind,
            messaging_terms_accepted=terms_accepted(row),
        )


@strawberry.type
class Role:
    id: strawberry.ID
    name: str
    built_in: bool
    permissions: list[Permission]

    @classmethod
    def from_row(cls, row: RoleRow) -> Role:
        return cls(
            id=strawberry.ID(str(row.id)),
            name=row.name,
            built_in=row.built_in,
            permissions=sorted(parse_permissions(row.permissions), key=lambda p: p.value),
        )


@strawberry.type(
    description="A person. A user of another account shows only `id` and `name`: its "
    "`email` and `role` are null."
)
class User:
    id: strawberry.ID
    email: str | None
    name: str
    _row: strawberry.Private[UserRow]

    @strawberry.field
    async def role(self, info: Info) -> Role | None:
        if self.email is None:  # another account's user (see from_row)
            return None
        row = await info.context.loaders.role.load(self._row.role_id)  # type: ignore[attr-defined]
        assert row is not None
        return Role.from_row(row)

    @classmethod
    def from_row(cls, row: UserRow, viewer_account_id: object) -> User:
        """The user as `viewer_account_id`'s users may see it: private fields only for
        users of that same account (the privacy rule, docs/security.md)."""
        own = row.account_id == viewer_account_id  # type: ignore[attr-defined]
        return cls(
            id=strawberry.ID(str(row.id)), email=row.email if own else None, name=row.name, _row=row
        )


@strawberry.type(description="Conversations per inbox tab of the viewer's account.")
class InboxCounts:
    inbox: int
    unread: int = strawberry.field(description="INBOX conversations with unread messages.")
    priority: int = strawberry.field(description="INBOX conversations marked priority.")
    done: int
    spam: int
    assigned_to_me: int = strawberry.field(description="INBOX conversations assigned to me.")


async def inbox_counts(info: Info) -> InboxCounts:
    counts = await triage.inbox_counts(info.context.viewer)
    return InboxCounts(
        inbox=counts.inbox,
        unread=counts.unread,
        priority=counts.priority,
        done=counts.done,
        spam=counts.spam,
        assigned_to_me=counts.assigned_to_me,
    )


@strawberry.type
class Viewer:
    permissions: list[Permission]
    inbox_counts: InboxCounts = strawberry.field(
        resolver=inbox_counts, extensions=requires(PermissionName.MESSAGING)
    )

    @strawberry.field
    async def user(self, info: Info) -> User:
        row = await info.context.loaders.user.load(info.context.viewer.user_id)
        assert row is not None
        return User.from_row(row, info.context.viewer.account_id)

    @strawberry.field
    async def account(self, info: Info) -> Account:
        return await load_account(info, info.context.viewer.account_id)

    @strawberry.field
    async def notification_frequency(self, info: Info) -> NotificationFrequency:
        row = await info.context.loaders.user.load(info.context.viewer.user_id)
        assert row is not None
        return row.notification_frequency


async def load_account(info: Info, account_id: object) -> Account:
    row = await info.context.loaders.account.load(account_id)  # type: ignore[arg-type]
    assert row is not None
    return Account.from_row(row)
