"""Dependency outages as typed, retryable answers instead of masked 500s.

Two places turn a failure classified by `services.faults.unavailable_dependency` into
`SERVICE_UNAVAILABLE`:

* `DependencyFaults`, a schema extension, for errors raised while an operation executes: the
  error becomes `{"message": …, "extensions": {"code": "SERVICE_UNAVAILABLE", "dependency": …,
  "retryAfterSeconds": 2}}` and the HTTP response 503 with `Retry-After` (the known-document
  lane, gql.lane, does the same through `rewrite_outages`).
* `JsonServerErrors`, an ASGI middleware, for everything outside GraphQL execution
  (authentication, downloads, the CSV export, the view itself): a JSON 503 for an outage and a
  JSON 500 for anything else, never Starlette's plain-text page. A websocket that fails is
  closed with 1013 ("try again later"), before or after it is accepted.
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import Awaitable, Iterator
from typing import Any

from graphql import GraphQLError
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.extensions import SchemaExtension

from services.faults import RETRY_AFTER_SECONDS, unavailable_dependency

log = logging.getLogger("liaison.faults")

SERVICE_UNAVAILABLE = "SERVICE_UNAVAILABLE"
#: Websocket close code for "the server cannot serve now; reconnect and resume" (RFC 6455).
WS_TRY_AGAIN_LATER = 1013


def unavailable_message(dependency: str) -> str:
    return f"The service is temporarily unavailable ({dependency}); retry shortly."


def unavailable_error(error: GraphQLError, dependency: str) -> GraphQLError:
    return GraphQLError(
        unavailable_message(dependency),
        nodes=error.nodes,
        source=error.source,
        positions=error.positions,
        path=error.path,
        extensions={
            "code": SERVICE_UNAVAILABLE,
            "dependency": dependency,
            "retryAfterSeconds": RETRY_AFTER_SECONDS,
        },
    )


def outage_of(error: GraphQLError) -> str | None:
    original = error.original_error
    return None if original is None else unavailable_dependency(original)


class DependencyFaults(SchemaExtension):
    """Rewrites outage errors of an operation; list it after `MaskErrors` (exits run first)."""

    def on_operation(self) -> Iterator[None]:
        yield
        result: Any = self.execution_context.result
        errors: list[GraphQLError] | None = getattr(result, "errors", None)
        rewritten = rewrite_outages(
            errors, getattr(self.execution_context.context, "response", None)
        )
        if rewritten is not None:
            result.errors = rewritten


def rewrite_outages(
    errors: list[GraphQLError] | None, response: Any, *, log_outages: bool = True
) -> list[GraphQLError] | None:
    """`errors` with every outage typed SERVICE_UNAVAILABLE (and `response`, when it has a
    status, made a 503 with Retry-After); None when no error is an outage. Shared by
    `DependencyFaults` and the known-document lane (gql.lane)."""
    if not errors:
        return None
    outage = False
    rewritten: list[GraphQLError] = []
    for error in errors:
        dependency = outage_of(error)
        if dependency is None:
            rewritten.append(error)
            continue
        outage = True
        if log_outages:
            log.warning("operation failed: %s unavailable (%s)", dependency, error.original_error)
        rewritten.append(unavailable_error(error, dependency))
    if not outage:
        return None
    if response is not None and hasattr(response, "status_code"):
        response.status_code = 503
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return rewritten


def _json_error(status: int, code: str, message: str, **extensions: Any) -> JSONResponse:
    body = {"errors": [{"message": message, "extensions": {"code": code, **extensions}}]}
    headers = {"Retry-After": str(RETRY_AFTER_SECONDS)} if status == 503 else None
    return JSONResponse(body, status_code=status, headers=headers)


class JsonServerErrors:
    """The outermost of our middlewares: no failure leaves as plain text or a traceback."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        if scope["type"] == "websocket":
            return self._websocket(scope, receive, send)
        if scope["type"] != "http":
            return self.app(scope, receive, send)
        return self._http(scope, receive, send)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        """No wrapper around `send` (it is on every frame's path): on a failure, a close with
        1013 ("try again later"), whether the socket was accepted or not."""
        try:
            await self.app(scope, receive, send)
        except Exception as exc:
            _log_failure(exc, scope)
            with contextlib.suppress(Exception):  # already closed: nothing to tell
                await send({"type": "websocket.close", "code": WS_TRY_AGAIN_LATER})

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, receive, tracking_send)
        except Exception as exc:
            dependency = _log_failure(exc, scope)
            if started:
                return  # the response is under way; the server closes the connection
            if dependency is None:
                response = _json_error(500, "INTERNAL_SERVER_ERROR", "Internal server error.")
            else:
                response = _json_error(
                    503,
                    SERVICE_UNAVAILABLE,
                    unavailable_message(dependency),
                    dependency=dependency,
                    retryAfterSeconds=RETRY_AFTER_SECONDS,
                )
            await response(scope, receive, send)


def _log_failure(exc: Exception, scope: Scope) -> str | None:
    """Log a request's failure: an outage as one line, anything else with its traceback.
    Returns the dependency that is away, if that is what failed."""
    dependency = unavailable_dependency(exc)
    if dependency is None:
        log.exception("unhandled error on %s", scope.get("path"))
    else:
        log.warning("%s unavailable on %s: %s", dependency, scope.get("path"), exc)
    return dependency
