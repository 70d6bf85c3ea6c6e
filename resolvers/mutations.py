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
    AssignRoleInput,
    AssignRolePayload,
    CreateRoleInput,
    CreateRolePayload,
    MarkConversationReadInput,
    MarkConversationReadPayload,
    SendMessageInput,
    SendMessagePayload,
    SetConversationArchivedInput,
    SetConversationArchivedPayload,
)
from services import accounts, conversations, sending
from services.attachments import Upload
from services.errors import DomainError, NotFound


async def send_message(info: Info, input: SendMessageInput) -> SendMessagePayload:
    ctx = info.context
    try:
        result = await sending.send(
            ctx.viewer,
            str(input.recipient_account_id),
            input.body,
            services=ctx.rt.sending,
            uploads=cast("list[Upload]", input.attachments or []),
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
    try:
        row = await conversations.set_archived(
            info.context.viewer, str(input.conversation_id), input.archived
        )
    except DomainError as error:
        return SetConversationArchivedPayload(errors=[user_error(error)])
    return SetConversationArchivedPayload(conversation=Conversation.from_row(row))


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
    return AssignRolePayload(user=User.from_row(row))
