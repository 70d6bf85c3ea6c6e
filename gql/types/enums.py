"""GraphQL enums; values are the stored ones (models.enums)."""

from __future__ import annotations

import strawberry

from models.enums import (
    AccountKind,
    InboxFolder,
    NotificationFrequency,
    PartnershipStatus,
    Permission,
    ScanStatus,
)
from services.errors import ErrorCode
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


# The codes live with the services that raise them (services.errors); registered here.
strawberry.enum(ErrorCode)
