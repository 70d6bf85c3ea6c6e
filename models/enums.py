"""Enumerations stored in the database; their values are the public GraphQL names."""

from enum import Enum


class AccountKind(str, Enum):
    BRAND = "BRAND"
    PARTNER = "PARTNER"


class Permission(str, Enum):
    MESSAGING = "MESSAGING"
    PARTNERS_VIEW = "PARTNERS_VIEW"
    ANALYTICS_VIEW = "ANALYTICS_VIEW"
    USERS_MANAGE = "USERS_MANAGE"


class PartnershipStatus(str, Enum):
    PROSPECT = "PROSPECT"
    PENDING = "PENDING"
    ACTIVE = "ACTIVE"
    EXPIRED = "EXPIRED"
    DECLINED = "DECLINED"
    DEACTIVATED = "DEACTIVATED"


class ScanStatus(str, Enum):
    PENDING = "PENDING"
    CLEAN = "CLEAN"
    INFECTED = "INFECTED"
    FAILED = "FAILED"


class EventKind(str, Enum):
    MESSAGE_CREATED = "MESSAGE_CREATED"
    ATTACHMENT_SCANNED = "ATTACHMENT_SCANNED"
    CONVERSATION_READ = "CONVERSATION_READ"
