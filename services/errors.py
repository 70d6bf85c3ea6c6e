"""Domain exceptions raised by the services layer.

Each carries a SPEC ``ErrorCode`` name in ``code``, a human ``message`` safe to show a client,
and optionally the input ``field`` path it concerns. The GraphQL layer maps them one to one
onto ``UserError``; nothing here knows about GraphQL.
"""

from __future__ import annotations

from enum import StrEnum


class ErrorCode(StrEnum):
    """Every code a client can see in a payload's `errors` (GraphQL enum `ErrorCode`): a
    misspelt code fails mypy instead of becoming INVALID_INPUT."""

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
    # Platform API, messaging settings and account administration (SPEC §7–§9).
    CONVERSATION_NOT_ALLOWED = "CONVERSATION_NOT_ALLOWED"
    RECIPIENT_NOT_ACCEPTING = "RECIPIENT_NOT_ACCEPTING"
    AWAITING_REPLY = "AWAITING_REPLY"
    LAST_ADMIN = "LAST_ADMIN"
    ROLE_IN_USE = "ROLE_IN_USE"
    DUPLICATE_EXTERNAL_ID = "DUPLICATE_EXTERNAL_ID"
    EMAIL_TAKEN = "EMAIL_TAKEN"
    INVALID_TEMPLATE = "INVALID_TEMPLATE"
    CANCELLED = "CANCELLED"


class DomainError(Exception):
    """An expected failure a client can act on; never carries internal detail."""

    code: ErrorCode = ErrorCode.INVALID_INPUT

    def __init__(
        self, message: str, *, code: ErrorCode | None = None, field: tuple[str, ...] | None = None
    ) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        self.message = message
        self.field = field

    def __repr__(self) -> str:
        return f"{type(self).__name__}(code={self.code!r}, message={self.message!r})"


class NotFound(DomainError):
    """Missing, or not visible to the caller: the two must look the same."""

    code = ErrorCode.NOT_FOUND


class PermissionDenied(DomainError):
    code = ErrorCode.PERMISSION_DENIED


class InvalidInput(DomainError):
    """A rejected input whose code the raiser chooses (e.g. ``INVALID_BODY``)."""

    def __init__(self, code: ErrorCode, message: str, field: tuple[str, ...] | None = None) -> None:
        super().__init__(message, code=code, field=field)


class AttachmentRejected(InvalidInput):
    """An upload refused with ``ATTACHMENT_TYPE_NOT_ALLOWED``, ``ATTACHMENT_TOO_LARGE``
    or ``TOO_MANY_ATTACHMENTS``."""


class Unauthenticated(DomainError):
    """No usable credentials: absent, malformed, forged or expired token, or unknown user."""

    code = ErrorCode.UNAUTHENTICATED


class InvalidCursor(DomainError):
    code = ErrorCode.INVALID_CURSOR


class IdempotencyConflict(DomainError):
    code = ErrorCode.IDEMPOTENCY_CONFLICT


class RateLimited(DomainError):
    """Too many requests; `retry_after` is the number of seconds to wait."""

    code = ErrorCode.RATE_LIMITED

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after
