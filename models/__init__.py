"""Tortoise models of Liaison; migrations live in `models.migrations`."""

from models.accounts import Account, Role, User
from models.bulk import BulkRecipient, BulkSend, MessageTemplate
from models.enums import (
    AccountKind,
    BulkOutcome,
    BulkSendStatus,
    EventKind,
    PartnershipStatus,
    Permission,
    ScanStatus,
)
from models.messaging import Attachment, Conversation, Event, Message, Participant, Partnership

__models__ = [
    Account,
    Role,
    User,
    Partnership,
    Conversation,
    Participant,
    Message,
    Attachment,
    Event,
    MessageTemplate,
    BulkSend,
    BulkRecipient,
]

__all__ = [
    "Account",
    "AccountKind",
    "Attachment",
    "BulkOutcome",
    "BulkRecipient",
    "BulkSend",
    "BulkSendStatus",
    "Conversation",
    "Event",
    "EventKind",
    "Message",
    "MessageTemplate",
    "Participant",
    "Partnership",
    "PartnershipStatus",
    "Permission",
    "Role",
    "ScanStatus",
    "User",
]
