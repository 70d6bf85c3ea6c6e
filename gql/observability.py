"""Request ids, one JSON log line per request, and HTTP/GraphQL metrics (websocket
connections are counted by the transport, gql.ws).

- `RequestObservability` (ASGI middleware, outermost): takes the caller's `X-Request-ID`
  when it is a short token (else makes one), echoes it on the response, and logs one line
  on `liaison.access`: request id, method, route, status, duration, GraphQL operation name,
  user and account ids. Never bodies, query strings or headers (tokens live there).
- `OperationObserver` (schema extension): per-operation metrics by root field (never by the
  client's operation name: see `metrics.operation_label`), and the operation name handed
  to the access log through the request state.
- `JsonFormatter` / `configure_logging`: every log record as one JSON object per line.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from collections.abc import Awaitable, Iterator
from datetime import UTC, datetime
from typing import Any

from graphql import DocumentNode, FieldNode, GraphQLSchema, OperationDefinitionNode
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from strawberry.extensions import SchemaExtension

from services import metrics
from services.faults import unavailable_dependency

access_log = logging.getLogger("liaison.access")
REQUEST_ID_HEADER = "X-Request-ID"
_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,64}$")
STATE_OPERATION = "operation_name"
STATE_REQUEST_ID = "request_id"
FRAGMENT_AT_ROOT = "(fragment)"


class RequestObservability:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        if scope["type"] != "http":  # returned, not awaited: no frame held for a websocket
            return self.app(scope, receive, send)  # (gql.ws counts websocket connections)
        return self._http(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        request_id = _request_id(scope)
        state = scope.setdefault("state", {})
        state[STATE_REQUEST_ID] = request_id
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                MutableHeaders(scope=message).append(REQUEST_ID_HEADER, request_id)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            duration = time.perf_counter() - started
            route = _route(scope)
            metrics.HTTP_REQUESTS.labels(route, str(status)).inc()
            metrics.HTTP_DURATION.labels(route).observe(duration)
            viewer = state.get("viewer")
            access_log.info(
                "request",
                extra={
                    "fields": {
                        "request_id": request_id,
                        "method": scope.get("method"),
                        "route": route,
                        "status": status,
                        "duration_ms": round(duration * 1000, 2),
                        "operation": state.get(STATE_OPERATION),
                        "user_id": str(viewer.user_id) if viewer else None,
                        "account_id": str(viewer.account_id) if viewer else None,
                    }
                },
            )


def _request_id(scope: Scope) -> str:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            candidate = bytes(value).decode("latin-1")
            if _VALID_REQUEST_ID.match(candidate):
                return candidate
    return uuid.uuid4().hex


def _route(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    return str(path) if path else "unmatched"


class OperationObserver(SchemaExtension):
    def on_operation(self) -> Iterator[None]:
        started = time.perf_counter()
        yield
        ctx = self.execution_context
        errors = ctx.result.errors if ctx.result is not None else ctx.pre_execution_errors
        record_operation(
            ctx.operation_name,
            _operation_type(ctx),
            _root_fields(ctx),
            bool(errors),
            started,
            getattr(ctx.context, "request", None),
        )


def record_operation(
    name: str | None,
    operation: str,
    root_fields: list[str] | None,
    failed: bool,
    started: float,
    request: Any,
) -> None:
    """An operation's metrics, and its name for the access log (shared by `OperationObserver`
    and the known-document lane, gql.lane)."""
    label = metrics.operation_label(root_fields)
    metrics.GRAPHQL_OPERATIONS.labels(label, operation, "error" if failed else "ok").inc()
    metrics.GRAPHQL_DURATION.labels(label).observe(time.perf_counter() - started)
    if request is not None:
        request.state.operation_name = name or "anonymous"


def _root_fields(ctx: Any) -> list[str] | None:
    return root_fields(ctx.graphql_document, ctx.operation_name, ctx.schema._schema)


def root_fields(
    document: DocumentNode | None, operation_name: str | None, schema: GraphQLSchema
) -> list[str] | None:
    """The root fields the operation selects, when every one is a field of the schema's
    root type (a bounded set whatever the document says); else None."""
    if document is None:
        return None
    for definition in document.definitions:
        if not isinstance(definition, OperationDefinitionNode):
            continue
        name = definition.name.value if definition.name else None
        if operation_name is not None and name != operation_name:
            continue
        root = schema.get_root_type(definition.operation)
        fields = [
            s.name.value if isinstance(s, FieldNode) else FRAGMENT_AT_ROOT
            for s in definition.selection_set.selections
        ]
        known = (*root.fields, FRAGMENT_AT_ROOT) if root is not None else ()
        if not fields or any(f not in known for f in fields):
            return None
        return fields
    return None


def _operation_type(ctx: Any) -> str:
    try:
        return str(ctx.operation_type.value)
    except (RuntimeError, AttributeError):
        return "unknown"


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info:
            error = record.exc_info[1]
            dependency = unavailable_dependency(error) if error is not None else None
            if dependency is None:
                entry["exception"] = self.formatException(record.exc_info)
            else:
                # An outage is an operating condition, not a bug: one line, no traceback
                # (asyncpg logs one per failed reconnect while the database is away).
                entry["unavailable"] = dependency
                entry["error"] = f"{type(error).__name__}: {error}"
        return json.dumps(entry, default=str)


def configure_logging(level: int = logging.INFO) -> None:
    """JSON lines on stderr for the root logger; idempotent."""
    root = logging.getLogger()
    if any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    root.handlers = [handler]
    root.setLevel(level)
