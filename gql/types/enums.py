"""GraphQL enums; values are the stored ones (models.enums)."""

from __future__ import annotations

from enum import Enum

import strawberry

from models.enums import (
    AccountKind,
    InboxFolder,
    NotificationFrequency,
    PartnershipStatus,
    Permission,
    ScanStatus,
)
from services.inbox import AssigneeFilter

# The stored enums are the GraphQL enums: registering them marks the classes themselves.
for _stored in (
    Permission,
    AccountKind,
    PartnershipStatus,
    ScanStatus,
    InboxFolder,
    AssigneeFilter,
    NotificationFrequency,
):
    strawberry.enum(_stored)

__all__ = [
    "AccountKind",
    "AssigneeFilter",
    "ErrorCode",
    "InboxFolder",
    "NotificationFrequency",
    "PartnershipStatus",
    "Permission",
    "ScanStatus",
]


@strawberry.enum
class ErrorCode(Enum):
    NOT_FOUND = "NOT_FOUND"
    PERMISSION_DENIED = "PERMISSION_DENIED"
    PARTNERSHIP_INACTIVE = "PARTNERSHIP_INACTIVE"
    TERMS_NOT_ACCEPTED = "TERMS_NOT_ACCEPTED"
    INVALID_BODY = "INVALID_BODY"
    ATTACHMENT_TYPE_NOT_ALLOWED = "ATTACHMENT_TYPE_NOT_ALLOWED"
    ATTACHMENT_TOO_LARGE = "ATTACHMENT_TOO_LARGE"
    TOO_MANY_ATTACHMENTS = "TOO_MANY_ATTACHMENTS"
    IDEMPOTENCY_CONFLICT = "IDEMPOTENCY_CONFLICT"
    RATE_LIMITED = "RATE_LIMITED"
    INVALID_INPUT = "INVALID_INPUT"
    INVALID_ARGUMENT = "INVALID_ARGUMENT"
    INVALID_CURSOR = "INVALID_CURSOR"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    INVALID_TEMPLATE = "INVALID_TEMPLATE"
    CANCELLED = "CANCELLED"
