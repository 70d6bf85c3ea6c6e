"""Enumerations stored in the database; their values are the public GraphQL names."""

from enum import StrEnum


class AccountKind(StrEnum):
    BRAND = "BRAND"
    PARTNER = "PARTNER"


class Permission(StrEnum):
    MESSAGING = "MESSAGING"
    PARTNERS_VIEW = "PARTNERS_VIEW"
    ANALYTICS_VIEW = "ANALYTICS_VIEW"
    USERS_MANAGE = "USERS_MANAGE"
    BULK_MESSAGING = "BULK_MESSAGING"


class PartnershipStatus(StrEnum):
    PROSPECT = "PROSPECT"
    PENDING = "PENDING"
    ACTIVE = "ACTIVE"
    EXPIRED = "EXPIRED"
    DECLINED = "DECLINED"
    DEACTIVATED = "DEACTIVATED"


class ScanStatus(StrEnum):
    PENDING = "PENDING"
    CLEAN = "CLEAN"
    INFECTED = "INFECTED"
    FAILED = "FAILED"


class EventKind(StrEnum):
    MESSAGE_CREATED = "MESSAGE_CREATED"
    ATTACHMENT_SCANNED = "ATTACHMENT_SCANNED"
    CONVERSATION_READ = "CONVERSATION_READ"
    CONVERSATION_UPDATED = "CONVERSATION_UPDATED"
    BULK_SEND_PROGRESS = "BULK_SEND_PROGRESS"


class BulkSendStatus(StrEnum):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    DONE = "DONE"
    CANCELLED = "CANCELLED"


class BulkOutcome(StrEnum):
    PENDING = "PENDING"
    SENT = "SENT"
    SKIPPED = "SKIPPED"
    FAILED = "FAILED"


class InboxFolder(StrEnum):
    INBOX = "INBOX"
    DONE = "DONE"
    SPAM = "SPAM"


class NotificationFrequency(StrEnum):
    IMMEDIATE = "IMMEDIATE"
    DAILY = "DAILY"
    WEEKLY = "WEEKLY"
    OFF = "OFF"


class NotificationKind(StrEnum):
    CONVERSATION = "CONVERSATION"
    DAILY_DIGEST = "DAILY_DIGEST"
    WEEKLY_DIGEST = "WEEKLY_DIGEST"


class NotificationStatus(StrEnum):
    PENDING = "PENDING"
    SENT = "SENT"
    SKIPPED = "SKIPPED"
    FAILED = "FAILED"
