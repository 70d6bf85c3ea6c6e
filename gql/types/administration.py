"""Account administration: users and roles connections, role inputs and payloads."""

from __future__ import annotations

import strawberry

from gql.types.accounts import Account, Role, User
from gql.types.conversations import Edge, PageInfo
from gql.types.enums import Permission
from gql.types.errors import UserError


@strawberry.type
class UserConnection:
    edges: list[Edge[User]]
    page_info: PageInfo
    total_count: int


@strawberry.type
class RoleConnection:
    edges: list[Edge[Role]]
    page_info: PageInfo
    total_count: int


@strawberry.input(description="Omitted fields keep their value.")
class UpdateRoleInput:
    role_id: strawberry.ID
    name: str | None = None
    permissions: list[Permission] | None = None


@strawberry.type
class UpdateRolePayload:
    role: Role | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class DeleteRoleInput:
    role_id: strawberry.ID


@strawberry.type
class DeleteRolePayload:
    deleted_role_id: strawberry.ID | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input(description="Omitted fields keep their value.")
class UpdateMessagingSettingsInput:
    partners_may_start_conversations: bool | None = strawberry.field(
        default=None, description="Brands only."
    )
    prospect_messages_before_reply: int | None = strawberry.field(
        default=None, description="Brands only; 0–10."
    )
    accepts_prospect_messages: bool | None = strawberry.field(
        default=None, description="Partners only."
    )


@strawberry.type
class UpdateMessagingSettingsPayload:
    account: Account | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)
