"""Tortoise models of Liaison; migrations live in `models.migrations`."""

from models.accounts import Account, Role, User
from models.enums import (
    AccountKind,
    EventKind,
    InboxFolder,
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
    "Participant",
    "Partnership",
    "PartnershipStatus",
    "Permission",
    "Role",
    "ScanStatus",
    "User",
]
