"""Tortoise models of Liaison; migrations live in `models.migrations`."""

from models.accounts import Account, Role, User
from models.bulk import BulkAttachment, BulkRecipient, BulkSend, MessageTemplate
from models.enums import (
    AccountKind,
    BulkOutcome,
    BulkSendStatus,
    EventKind,
    InboxFolder,
    NotificationFrequency,
    NotificationKind,
    NotificationStatus,
    PartnershipStatus,
    Permission,
    ScanStatus,
)
from models.messaging import (
    Attachment,
    Blob,
    Conversation,
    Event,
    Message,
    Participant,
    Partnership,
)
from models.notifications import Notification

__models__ = [
    Account,
    Role,
    User,
    Partnership,
    Conversation,
    Participant,
    Message,
    Blob,
    Attachment,
    Event,
    MessageTemplate,
    BulkSend,
    BulkRecipient,
    BulkAttachment,
    Notification,
]

__all__ = [
    "Account",
    "AccountKind",
    "Attachment",
    "Blob",
    "BulkAttachment",
    "BulkOutcome",
    "BulkRecipient",
    "BulkSend",
    "BulkSendStatus",
    "Conversation",
    "Event",
    "EventKind",
    "InboxFolder",
    "Message",
    "MessageTemplate",
    "Notification",
    "NotificationFrequency",
    "NotificationKind",
    "NotificationStatus",
    "Participant",
    "Partnership",
    "PartnershipStatus",
    "Permission",
    "Role",
    "ScanStatus",
    "User",
]
