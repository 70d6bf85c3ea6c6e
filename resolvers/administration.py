"""Account administration (USERS_MANAGE): users and roles of the viewer's account."""

from __future__ import annotations

import uuid

import strawberry

from gql.context import Info
from gql.types.accounts import Account, Role, User
from gql.types.administration import (
    DeleteRoleInput,
    DeleteRolePayload,
    RoleConnection,
    UpdateMessagingSettingsInput,
    UpdateMessagingSettingsPayload,
    UpdateRoleInput,
    UpdateRolePayload,
    UserConnection,
)
from gql.types.conversations import Edge, page_info
from gql.types.errors import top_level, user_error
from services import accounts, directory, messaging_settings
from services.cursors import page_size
from services.errors import DomainError, NotFound


def _id(raw: str, field: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise NotFound("No such object.", field=(field,)) from None


async def users(info: Info, first: int | None = 20, after: str | None = None) -> UserConnection:
    ctx = info.context
    try:
        size = page_size(first, ctx.rt.settings.max_page_size)
        page = await directory.users_page(ctx.viewer, size, after, ctx.rt.cursors)
    except DomainError as error:
        raise top_level(error) from None
    return UserConnection(
        edges=[Edge(cursor=c, node=User.from_row(u, ctx.viewer.account_id)) for c, u in page.items],
        page_info=page_info(page),  # type: ignore[arg-type]
        total_count=page.total_count,
    )


async def roles(info: Info, first: int | None = 20, after: str | None = None) -> RoleConnection:
    ctx = info.context
    try:
        size = page_size(first, ctx.rt.settings.max_page_size)
        page = await directory.roles_page(ctx.viewer, size, after, ctx.rt.cursors)
    except DomainError as error:
        raise top_level(error) from None
    return RoleConnection(
        edges=[Edge(cursor=c, node=Role.from_row(r)) for c, r in page.items],
        page_info=page_info(page),  # type: ignore[arg-type]
        total_count=page.total_count,
    )


async def update_role(info: Info, input: UpdateRoleInput) -> UpdateRolePayload:
    try:
        row = await accounts.update_role(
            info.context.viewer,
            _id(input.role_id, "roleId"),
            name=input.name,
            permissions=input.permissions,
        )
    except DomainError as error:
        return UpdateRolePayload(errors=[user_error(error)])
    return UpdateRolePayload(role=Role.from_row(row))


async def delete_role(info: Info, input: DeleteRoleInput) -> DeleteRolePayload:
    try:
        deleted = await accounts.delete_role(info.context.viewer, _id(input.role_id, "roleId"))
    except DomainError as error:
        return DeleteRolePayload(errors=[user_error(error)])
    return DeleteRolePayload(deleted_role_id=strawberry.ID(str(deleted)))


async def update_messaging_settings(
    info: Info, input: UpdateMessagingSettingsInput
) -> UpdateMessagingSettingsPayload:
    change = messaging_settings.SettingsChange(
        partners_may_start_conversations=input.partners_may_start_conversations,
        prospect_messages_before_reply=input.prospect_messages_before_reply,
        accepts_prospect_messages=input.accepts_prospect_messages,
    )
    try:
        row = await messaging_settings.update_settings(info.context.viewer, change)
    except DomainError as error:
        return UpdateMessagingSettingsPayload(errors=[user_error(error)])
    return UpdateMessagingSettingsPayload(account=Account.from_row(row))
