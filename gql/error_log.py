"""How operation errors are logged: never the document, its literals or the variables.

Strawberry logs every error at `error` with the `GraphQLError` as the message — whose text
quotes the offending line of the document, so a message body written inline in a query
reached the log, with a traceback. Here:

- A client's error (a syntax or validation error, a coded error such as PERMISSION_DENIED or
  NOT_FOUND) is logged at `info`, without a traceback and without its message: the operation
  name, a hash of the document, the error's code and path.
- Anything else is a bug: logged at `error` with the exception's traceback, and still only
  the operation name and document hash, never the document.
"""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from graphql import GraphQLError, GraphQLSyntaxError

log = logging.getLogger("liaison.graphql")


def document_hash(query: str | None) -> str | None:
    """A short, stable name for a document (the same text always hashes the same)."""
    if query is None:
        return None
    return hashlib.sha256(query.encode()).hexdigest()[:16]


def is_client_error(error: GraphQLError) -> bool:
    original = error.original_error
    if original is None or isinstance(original, GraphQLError):
        return True
    return bool(error.extensions and "code" in error.extensions)


def log_operation_errors(errors: list[GraphQLError], execution_context: Any) -> None:
    operation = getattr(execution_context, "operation_name", None)
    query_hash = document_hash(getattr(execution_context, "query", None))
    for error in errors:
        code = (error.extensions or {}).get("code")
        if code is None and is_client_error(error):
            code = (
                "GRAPHQL_PARSE_FAILED"
                if isinstance(error, GraphQLSyntaxError)
                else ("GRAPHQL_VALIDATION_FAILED" if error.path is None else "BAD_REQUEST")
            )
        fields = {
            "operation": operation or "anonymous",
            "document_hash": query_hash,
            "code": code,
            "path": error.path,
        }
        if is_client_error(error):
            log.info("operation error", extra={"fields": fields})
        else:
            fields["exception_type"] = type(error.original_error).__name__
            log.error("operation failed", exc_info=error.original_error, extra={"fields": fields})
