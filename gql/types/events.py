"""Live inbox events (`Subscription.inboxEvents`): a union, each member with its `cursor`."""

from __future__ import annotations

from typing import Annotated

import strawberry

from gql.types.accounts import Account
from gql.types.bulk import BulkSendProgress
from gql.types.conversations import Attachment, Conversation, Message


@strawberry.type(description="A message was sent in one of the viewer's conversations.")
class MessageCreated:
    cursor: str
    message: Message
    conversation: Conversation


@strawberry.type(description="An attachment's virus scan finished (CLEAN, INFECTED or FAILED).")
class AttachmentScanned:
    cursor: str
    attachment: Attachment
    message: Message


@strawberry.type(description="A side of a conversation read it up to `lastReadSeq`.")
class ConversationRead:
    cursor: str
    conversation: Conversation
    reader_account: Account
    last_read_seq: int


@strawberry.type(
    description=(
        "The viewer's side of a conversation changed: folder, priority, assignee or read "
        "position. Sent to the viewer's account only."
    )
)
class ConversationUpdated:
    cursor: str
    conversation: Conversation


InboxEvent = Annotated[
    MessageCreated | AttachmentScanned | ConversationRead | ConversationUpdated | BulkSendProgress,
    strawberry.union(
        "InboxEvent",
        description="Pass an event's `cursor` as `inboxEvents(after:)` to resume after it.",
    ),
]
