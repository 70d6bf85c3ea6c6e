"""Inputs and mutation payloads."""

from __future__ import annotations

import strawberry
from strawberry.file_uploads import Upload

from gql.types.accounts import Account, Role, User
from gql.types.conversations import Conversation, Message
from gql.types.enums import (
    AssigneeFilter,
    InboxFolder,
    NotificationFrequency,
    PartnershipStatus,
    Permission,
)
from gql.types.errors import UserError


@strawberry.input
class PartnerFilter:
    statuses: list[PartnershipStatus] | None = None
    search: str | None = None


@strawberry.input
class InboxFilter:
    partnership_statuses: list[PartnershipStatus] | None = None
    search: str | None = None
    unread_only: bool | None = None
    folder: InboxFolder | None = strawberry.field(
        default=None, description="INBOX when null (and `archived` is not true)."
    )
    priority_only: bool | None = None
    assignee: AssigneeFilter | None = strawberry.field(
        default=None, description="ANYONE when null."
    )
    archived: bool | None = strawberry.field(
        default=None,
        description="true: the DONE folder; ignored when `folder` is given.",
        deprecation_reason="Use `folder: DONE`.",
    )


@strawberry.input
class SendMessageInput:
    recipient_account_id: strawberry.ID = strawberry.field(
        description="The partner (for a brand user) or the brand (for a partner user)."
    )
    body: str | None = None
    attachments: list[Upload] | None = strawberry.field(
        default=None, description="GraphQL multipart request spec."
    )
    client_message_id: str | None = strawberry.field(
        default=None, description="Idempotency key, at most 255 characters."
    )


@strawberry.type
class SendMessagePayload:
    message: Message | None = None
    conversation: Conversation | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class MarkConversationReadInput:
    conversation_id: strawberry.ID
    last_read_seq: int | None = strawberry.field(
        default=None, description="Read up to this seq; the latest message when omitted."
    )


@strawberry.type
class MarkConversationReadPayload:
    conversation: Conversation | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class MoveConversationInput:
    conversation_id: strawberry.ID
    folder: InboxFolder


@strawberry.type
class MoveConversationPayload:
    conversation: Conversation | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class SetConversationPriorityInput:
    conversation_id: strawberry.ID
    priority: bool


@strawberry.type
class SetConversationPriorityPayload:
    conversation: Conversation | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class MarkConversationUnreadInput:
    conversation_id: strawberry.ID


@strawberry.type
class MarkConversationUnreadPayload:
    conversation: Conversation | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class AssignConversationInput:
    conversation_id: strawberry.ID
    assignee_id: strawberry.ID | None = strawberry.field(
        default=None, description="A user of the viewer's account with MESSAGING; null unassigns."
    )


@strawberry.type
class AssignConversationPayload:
    conversation: Conversation | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class SetConversationArchivedInput:
    conversation_id: strawberry.ID
    archived: bool


@strawberry.type
class SetConversationArchivedPayload:
    conversation: Conversation | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class AcceptMessagingTermsPayload:
    account: Account | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class CreateRoleInput:
    name: str
    permissions: list[Permission]


@strawberry.type
class CreateRolePayload:
    role: Role | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class AssignRoleInput:
    user_id: strawberry.ID
    role_id: strawberry.ID


@strawberry.type
class AssignRolePayload:
    user: User | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class UpdateNotificationSettingsInput:
    frequency: NotificationFrequency = strawberry.field(
        description="IMMEDIATE: one e-mail per conversation left unread for a while; DAILY, "
        "WEEKLY (Mondays): a digest; OFF: none."
    )


@strawberry.type
class UpdateNotificationSettingsPayload:
    notification_frequency: NotificationFrequency | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)
