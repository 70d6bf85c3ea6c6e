"""Websocket concerns of the GraphQL endpoint (`graphql-transport-ws` only).

- Authentication from the `connection_init` payload `{"authorization": "Bearer …"}`: a bad,
  expired or missing token closes the socket with 4403 before any operation runs.
- Keep-alive: the server sends a protocol `ping` every `ws_keepalive_seconds` once the
  connection is acknowledged, so proxies see traffic on idle connections (clients answer
  `pong`, as `graphql-ws` does by itself).
- Close codes the live inbox uses, below.
- Shared `next` frames: each operation runs in its own task with a `LiveOperation` in a
  context variable, holding the graphql-core executor of the operation. A subscription
  resolver may execute an event with it once for every subscriber whose result is the same
  (`share_key`) and send the serialised payload itself (`send_next`), instead of yielding the
  event to be executed and serialised once per subscriber. See `subscriptions.inbox`.

The origin check (`LIAISON_ALLOWED_ORIGINS`), the protocol choice and the per-connection
operation cap are Strawberry options set by `gql.view`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections.abc import Awaitable, Callable, Hashable, MutableMapping
from contextvars import ContextVar
from typing import Any

from graphql import ExecutionResult, FieldNode, Node, OperationDefinitionNode, Visitor, visit
from graphql.execution.collect_fields import FragmentDetails
from starlette.websockets import WebSocket, WebSocketState
from strawberry.exceptions import ConnectionRejectionError
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    Message,
)

from gql.context import Context, Info
from gql.execution import LeafFastPath
from gql.wsserver import LIMIT_EXTENSION
from services.auth import Viewer, load_session
from services.errors import Unauthenticated
from services.sessions import Session

log = logging.getLogger("liaison.ws")

# The client fell too far behind the live stream; reconnect and resume from the last cursor.
# 1013 "Try Again Later": `graphql-ws` treats it as retryable.
CLOSE_SLOW_CONSUMER = 1013
SLOW_CONSUMER_REASON = "Slow consumer: resubscribe with inboxEvents(after: <last cursor>)"
# The server is restarting; same remedy.
CLOSE_SERVICE_RESTART = 1012

# Keep-alive: a client that has not answered (with anything) since the previous ping is gone;
# 1011 is what the `websockets` library uses for the same keep-alive timeout.
CLOSE_KEEPALIVE_TIMEOUT = 1011

# The token expired, or its user may no longer sign in (services.sessions); the client must
# reconnect with a new token. The same code refuses a bad token at `connection_init`.
CLOSE_SIGNED_OUT = 4403

CONNECTION_PARAMS = "connection_params"
EXPIRES_AT = "expires_at"  # context.extras: when the token expires (a Unix time)


class LiveOperation:
    """The graphql-transport-ws operation running in the current task."""

    __slots__ = ("_key", "_prefix", "_send_text", "executor")

    def __init__(self, operation_id: str, send_text: Callable[[str], Awaitable[None]]) -> None:
        self.executor: StrawberryGraphQLCoreExecutionContext | None = None
        self._prefix = f'{{"id":{json.dumps(operation_id)},"type":"next","payload":'
        self._send_text = send_text
        self._key: Hashable | None = None

    def share_key(self, viewer: Viewer) -> Hashable:
        """Equal for operations whose events execute to the same result for one account.

        Same document text, operation name, variables (those used below the root field: the
        root field's own arguments, such as a replay cursor, do not change an event's
        result) and permissions. Event types must not depend on anything else of the viewer.
        """
        if self._key is None:
            assert self.executor is not None
            operation = self.executor.operation
            if operation.loc is None:
                self._key = self  # nothing to compare by: shared with no one
            else:
                names = sorted(_variables_below_root(operation, self.executor.fragments))
                coerced = self.executor.variable_values.coerced
                used = json.dumps([[n, coerced.get(n)] for n in names], default=str)
                name = operation.name.value if operation.name else None
                self._key = (operation.loc.source.body, name, used, viewer.permissions)
        return self._key

    async def render(self, event: object) -> str | None:
        """The `next` payload of `event` as JSON, or None when its result has errors.

        Executes the operation's selection on `event` exactly as graphql-core's subscription
        mapping does; results with errors are left to Strawberry (masking, logging).
        """
        assert self.executor is not None
        executor = self.executor.build_per_event_executor(event)
        result = executor.execute_operation(False)
        if executor.is_awaitable(result):
            result = await result
        assert isinstance(result, ExecutionResult)
        if result.errors:
            return None
        return json.dumps({"data": result.data}, separators=(",", ":"))

    async def send_next(self, payload: str) -> None:
        """Send a `next` frame of this operation with an already serialised payload."""
        await self._send_text(f"{self._prefix}{payload}}}")


_current: ContextVar[LiveOperation | None] = ContextVar("liaison_live_operation", default=None)


def live_operation(info: Info) -> LiveOperation | None:
    """The operation `info` belongs to, when it runs over graphql-transport-ws."""
    current = _current.get()
    if current is None or current.executor is None:
        return None
    if current.executor.operation is not info.operation:
        return None
    return current


class OperationExecutor(LeafFastPath):
    """Strawberry's executor; the first one built in an operation's task is its executor."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        current = _current.get()
        if current is not None and current.executor is None:
            current.executor = self


class _VariableNames(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()

    def enter_variable(self, node: Any, *_: Any) -> None:
        self.names.add(node.name.value)


def _variables_below_root(
    operation: OperationDefinitionNode, fragments: dict[str, FragmentDetails]
) -> set[str]:
    collector = _VariableNames()
    # graphql-core 3.3 keeps each fragment as `FragmentDetails(definition, …)`.
    parts: list[Node] = [
        *(operation.directives or ()),
        *(details.definition for details in fragments.values()),
    ]
    for selection in operation.selection_set.selections:
        if isinstance(selection, FieldNode):
            parts.extend(selection.directives or ())
            if selection.selection_set is not None:
                parts.append(selection.selection_set)
        else:
            parts.append(selection)
    for part in parts:
        visit(part, collector)
    return collector.names


class TransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """Strawberry's handler, plus connection parameters on the context, keep-alive pings
    (a timer, not a task, per connection) and the `LiveOperation` of each operation task."""

    _keepalive: asyncio.TimerHandle | None = None
    _pinging: asyncio.Task[None] | None = None
    _received = True  # something arrived since the last ping
    _session: Session | None = None

    async def handle_message(self, message: Message) -> None:
        self._received = True
        await super().handle_message(message)

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        payload = message.get("payload")
        if isinstance(payload, dict) and not self.connection_init_received:
            self.context.extras[CONNECTION_PARAMS] = payload
        await super().handle_connection_init(message)
        if not self.connection_acknowledged:
            return
        limit = self.websocket_scope().get("extensions", {}).get(LIMIT_EXTENSION)
        if limit is not None:
            limit["raise"]()
        viewer = self.context.viewer
        self._session = self.context.rt.sessions.open(
            viewer.user_id, viewer.account_id, self.context.extras[EXPIRES_AT], self._sign_out
        )
        if self.view.keep_alive_interval:
            self._schedule_ping()

    async def run_operation(self, operation: Operation[Context, None]) -> None:
        # The operation's own task: the variable is seen by its executor and resolvers only.
        websocket = self.context.request
        assert isinstance(websocket, WebSocket)
        _current.set(LiveOperation(operation.id, websocket.send_text))
        await super().run_operation(operation)

    def websocket_scope(self) -> MutableMapping[str, Any]:
        websocket = self.context.request
        assert isinstance(websocket, WebSocket)
        return websocket.scope

    def _schedule_ping(self) -> None:
        interval = self.view.keep_alive_interval
        assert interval
        self._keepalive = asyncio.get_running_loop().call_later(interval, self._on_keepalive)

    def _on_keepalive(self) -> None:
        if self._pinging is not None and not self._pinging.done():
            self._schedule_ping()  # the previous ping is still being written
            return
        self._pinging = asyncio.create_task(self._ping(dead=not self._received))
        self._received = False

    async def _ping(self, *, dead: bool) -> None:
        with contextlib.suppress(Exception):
            if dead:
                log.info("websocket closed: no answer to the keep-alive ping")
                await self.websocket.close(CLOSE_KEEPALIVE_TIMEOUT, "Keep-alive timeout")
                return
            await self.send_message({"type": "ping"})
            self._schedule_ping()

    async def _sign_out(self, reason: str) -> None:
        log.info("websocket closed: %s", reason.lower())
        await self.websocket.close(CLOSE_SIGNED_OUT, reason)

    async def shutdown(self) -> None:
        if self._session is not None:
            self.context.rt.sessions.end(self._session)
        if self._keepalive is not None:
            self._keepalive.cancel()
        if self._pinging is not None:
            self._pinging.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pinging
        await super().shutdown()


async def authenticate(context: Context, jwt_secret: str) -> None:
    """Bind the viewer named by the `connection_init` payload, or refuse with 4403."""
    params: dict[str, Any] = context.extras.get(CONNECTION_PARAMS) or {}
    authorization = params.get("authorization", params.get("Authorization"))
    try:
        viewer, expires_at = await load_session(
            jwt_secret, authorization if isinstance(authorization, str) else None
        )
    except Unauthenticated as error:
        log.info("websocket refused: %s", error.message)
        raise ConnectionRejectionError({"code": error.code, "message": error.message}) from None
    context.viewer_or_none = viewer
    context.extras[EXPIRES_AT] = expires_at
    context.loaders = None  # made for this viewer when first used


async def close(context: Context, code: int, reason: str) -> None:
    """Close the operation's websocket (every operation on it ends)."""
    websocket = context.request
    if isinstance(websocket, WebSocket) and websocket.application_state is WebSocketState.CONNECTED:
        with contextlib.suppress(RuntimeError, OSError):
            await websocket.close(code=code, reason=reason)
