"""Mutation resolvers: expected failures become `errors` in the payload."""

from __future__ import annotations

import uuid
from typing import cast

from gql.context import Info
from gql.types.accounts import Account, Role, User
from gql.types.conversations import Conversation, Message, load_conversation
from gql.types.errors import user_error
from gql.types.inputs import (
    AcceptMessagingTermsPayload,
    AssignConversationInput,
    AssignConversationPayload,
    AssignRoleInput,
    AssignRolePayload,
    CreateRoleInput,
    CreateRolePayload,
    MarkConversationReadInput,
    MarkConversationReadPayload,
    MarkConversationUnreadInput,
    MarkConversationUnreadPayload,
    MoveConversationInput,
    MoveConversationPayload,
    SendMessageInput,
    SendMessagePayload,
    SetConversationArchivedInput,
    SetConversationArchivedPayload,
    SetConversationPriorityInput,
    SetConversationPriorityPayload,
    UpdateNotificationSettingsInput,
    UpdateNotificationSettingsPayload,
)
from models import InboxFolder
from services import accounts, conversations, sending, triage
from services.attachments import AnyUpload
from services.errors import DomainError, NotFound
from services.notifications import preferences


async def send_message(info: Info, input: SendMessageInput) -> SendMessagePayload:
    ctx = info.context
    try:
        result = await sending.send(
            ctx.viewer,
            str(input.recipient_account_id),
            input.body,
            services=ctx.rt.sending,
            uploads=cast("list[AnyUpload]", input.attachments or []),
            client_message_id=input.client_message_id,
        )
    except DomainError as error:
        return SendMessagePayload(errors=[user_error(error)])
    return SendMessagePayload(
        message=Message.from_row(result.message),
        conversation=await load_conversation(info, result.conversation_id),
    )


async def mark_conversation_read(
    info: Info, input: MarkConversationReadInput
) -> MarkConversationReadPayload:
    ctx = info.context
    try:
        row = await conversations.mark_read(
            ctx.viewer, str(input.conversation_id), input.last_read_seq, ctx.rt.bus
        )
    except DomainError as error:
        return MarkConversationReadPayload(errors=[user_error(error)])
    return MarkConversationReadPayload(conversation=Conversation.from_row(row))


async def set_conversation_archived(
    info: Info, input: SetConversationArchivedInput
) -> SetConversationArchivedPayload:
    ctx = info.context
    folder = InboxFolder.DONE if input.archived else InboxFolder.INBOX
    try:
        row = await triage.move(ctx.viewer, str(input.conversation_id), folder, ctx.rt.bus)
    except DomainError as error:
        return SetConversationArchivedPayload(errors=[user_error(error)])
    return SetConversationArchivedPayload(conversation=Conversation.from_row(row))


async def move_conversation(info: Info, input: MoveConversationInput) -> MoveConversationPayload:
    ctx = info.context
    try:
        row = await triage.move(ctx.viewer, str(input.conversation_id), input.folder, ctx.rt.bus)
    except DomainError as error:
        return MoveConversationPayload(errors=[user_error(error)])
    return MoveConversationPayload(conversation=Conversation.from_row(row))


async def set_conversation_priority(
    info: Info, input: SetConversationPriorityInput
) -> SetConversationPriorityPayload:
    ctx = info.context
    try:
        row = await triage.set_priority(
            ctx.viewer, str(input.conversation_id), input.priority, ctx.rt.bus
        )
    except DomainError as error:
        return SetConversationPriorityPayload(errors=[user_error(error)])
    return SetConversationPriorityPayload(conversation=Conversation.from_row(row))


async def mark_conversation_unread(
    info: Info, input: MarkConversationUnreadInput
) -> MarkConversationUnreadPayload:
    ctx = info.context
    try:
        row = await triage.mark_unread(ctx.viewer, str(input.conversation_id), ctx.rt.bus)
    except DomainError as error:
        return MarkConversationUnreadPayload(errors=[user_error(error)])
    return MarkConversationUnreadPayload(conversation=Conversation.from_row(row))


async def assign_conversation(
    info: Info, input: AssignConversationInput
) -> AssignConversationPayload:
    ctx = info.context
    assignee = None if input.assignee_id is None else str(input.assignee_id)
    try:
        row = await triage.assign(ctx.viewer, str(input.conversation_id), assignee, ctx.rt.bus)
    except DomainError as error:
        return AssignConversationPayload(errors=[user_error(error)])
    return AssignConversationPayload(conversation=Conversation.from_row(row))


async def accept_messaging_terms(info: Info) -> AcceptMessagingTermsPayload:
    try:
        row = await accounts.accept_messaging_terms(info.context.viewer)
    except DomainError as error:
        return AcceptMessagingTermsPayload(errors=[user_error(error)])
    return AcceptMessagingTermsPayload(account=Account.from_row(row))


async def create_role(info: Info, input: CreateRoleInput) -> CreateRolePayload:
    try:
        row = await accounts.create_role(info.context.viewer, input.name, input.permissions)
    except DomainError as error:
        return CreateRolePayload(errors=[user_error(error)])
    return CreateRolePayload(role=Role.from_row(row))


def _id(raw: str, field: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except ValueError:
        raise NotFound("No such object.", field=(field,)) from None


async def assign_role(info: Info, input: AssignRoleInput) -> AssignRolePayload:
    try:
        row = await accounts.assign_role(
            info.context.viewer, _id(input.user_id, "userId"), _id(input.role_id, "roleId")
        )
    except DomainError as error:
        return AssignRolePayload(errors=[user_error(error)])
    return AssignRolePayload(user=User.from_row(row, info.context.viewer.account_id))


async def update_notification_settings(
    info: Info, input: UpdateNotificationSettingsInput
) -> UpdateNotificationSettingsPayload:
    frequency = await preferences.set_frequency(info.context.viewer, input.frequency)
    return UpdateNotificationSettingsPayload(notification_frequency=frequency)
