"""Tortoise models of Liaison; migrations live in `models.migrations`."""

from models.accounts import Account, Role, User
from models.enums import (
    AccountKind,
    EventKind,
    InboxFolder,
    NotificationFrequency,
    NotificationKind,
    NotificationStatus,
    PartnershipStatus,
    Permission,
    ScanStatus,
)
from models.messaging import Attachment, Conversation, Event, Message, Participant, Partnership
from models.notifications import Notification

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
    Notification,
]

__all__ = [
    "Account",
    "AccountKind",
    "Attachment",
    "Conversation",
    "Event",
    "EventKind",
    "InboxFolder",
    "Message",
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
