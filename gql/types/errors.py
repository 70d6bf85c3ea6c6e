"""Typed errors: `UserError` in mutation payloads, coded `GraphQLError`s at the top level."""

from __future__ import annotations

import strawberry
from graphql import GraphQLError

from gql.types.enums import ErrorCode
from services.errors import DomainError


@strawberry.type
class UserError:
    code: ErrorCode
    message: str
    field: list[str] | None = None
    retry_after_seconds: float | None = strawberry.field(
        default=None, description="With RATE_LIMITED: seconds to wait before trying again."
    )


def user_error(error: DomainError) -> UserError:
    code = error.code  # an ErrorCode: a misspelt code does not type-check
    retry = getattr(error, "retry_after", None)
    return UserError(
        code=code,
        message=error.message,
        field=list(error.field) if error.field else None,
        retry_after_seconds=retry,
    )


def top_level(error: DomainError) -> GraphQLError:
    """A domain error raised out of a query field: a GraphQL error with `extensions.code`."""
    extensions: dict[str, object] = {"code": error.code}
    if error.field:
        extensions["field"] = list(error.field)
    return GraphQLError(error.message, extensions=extensions)
