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
    SETTINGS_MANAGE = "SETTINGS_MANAGE"


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
    PARTNERSHIP_UPDATED = "PARTNERSHIP_UPDATED"
