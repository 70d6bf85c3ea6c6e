"""Domain exceptions raised by the services layer.

Each carries a SPEC ``ErrorCode`` name in ``code``, a human ``message`` safe to show a client,
and optionally the input ``field`` path it concerns. The GraphQL layer maps them one to one
onto ``UserError``; nothing here knows about GraphQL.
"""

from __future__ import annotations


class DomainError(Exception):
    """An expected failure a client can act on; never carries internal detail."""

    code: str = "INVALID_INPUT"

    def __init__(
        self, message: str, *, code: str | None = None, field: tuple[str, ...] | None = None
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

    code = "NOT_FOUND"


class PermissionDenied(DomainError):
    code = "PERMISSION_DENIED"


class InvalidInput(DomainError):
    """A rejected input whose code the raiser chooses (e.g. ``INVALID_BODY``)."""

    def __init__(self, code: str, message: str, field: tuple[str, ...] | None = None) -> None:
        super().__init__(message, code=code, field=field)


class AttachmentRejected(InvalidInput):
    """An upload refused with ``ATTACHMENT_TYPE_NOT_ALLOWED``, ``ATTACHMENT_TOO_LARGE``
    or ``TOO_MANY_ATTACHMENTS``."""


class Unauthenticated(DomainError):
    """No usable credentials: absent, malformed, forged or expired token, or unknown user."""

    code = "UNAUTHENTICATED"


class InvalidCursor(DomainError):
    code = "INVALID_CURSOR"


class IdempotencyConflict(DomainError):
    code = "IDEMPOTENCY_CONFLICT"


class RateLimited(DomainError):
    """Too many requests; `retry_after` is the number of seconds to wait."""

    code = "RATE_LIMITED"

    def __init__(self, message: str, *, retry_after: float) -> None:
        super().__init__(message)
        self.retry_after = retry_after
