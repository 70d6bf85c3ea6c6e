"""Websocket concerns of the GraphQL endpoint (`graphql-transport-ws` only).

- Authentication from the `connection_init` payload `{"authorization": "Bearer …"}`: a bad,
  expired or missing token closes the socket with 4403 before any operation runs.
- Keep-alive: the server sends a protocol `ping` every `ws_keepalive_seconds` once the
  connection is acknowledged, so proxies see traffic on idle connections (clients answer
  `pong`, as `graphql-ws` does by itself). One timer per process ticks for every connection
  (`KeepAlive`), not one per connection.
- Live sessions (services.sessions): closed with 4403 at the token's expiry or when a rule
  signs the user out.
- Messages before `connection_init` is accepted are at most 64 KiB (gql.wsserver).
- With the live fast path on, each operation's task is bound to its `gql.live` operation, and
  an idle inbox subscription's task ends: a `gql.live.ParkedInbox` stands for it in the hub
  (`_park`) until an event needs the pipeline again (`resume`) or the operation ends.

The origin check (`LIAISON_ALLOWED_ORIGINS`), the protocol choice and the per-connection
operation cap are Strawberry options set by `gql.view`.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sys
import weakref
from collections.abc import MutableMapping
from functools import partial
from typing import Any, cast

from graphql import GraphQLError
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState
from strawberry.exceptions import ConnectionRejectionError
from strawberry.http.exceptions import WebSocketDisconnected
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
    Operation,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import (
    ConnectionInitMessage,
    ErrorMessage,
    Message,
    SubscribeMessage,
)

from gql import live
from gql.context import Context
from gql.faults import WS_TRY_AGAIN_LATER
from gql.persisted import PersistedQueryError
from gql.wsserver import LIMIT_EXTENSION
from services import metrics
from services.auth import load_session
from services.errors import Unauthenticated
from services.faults import unavailable_dependency
from services.sessions import Session

log = logging.getLogger("liaison.ws")

# Keep-alive: a client that has not answered (with anything) since the previous ping is gone;
# 1011 is what the `websockets` library uses for the same keep-alive timeout.
CLOSE_KEEPALIVE_TIMEOUT = 1011

# The token expired, or its user may no longer sign in (services.sessions); the client must
# reconnect with a new token. The same code refuses a bad token at `connection_init`.
CLOSE_SIGNED_OUT = 4403

# Parked operations (their task ended) → their record in the hub; one dict for the process
# rather than one per connection. An entry leaves when the operation resumes or ends.
PARKED: dict[Operation[Context, None], live.ParkedInbox] = {}

CONNECTION_PARAMS = "connection_params"
EXPIRES_AT = "expires_at"  # context.extras: when the token expires (a Unix time)


class TransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """Strawberry's handler, plus connection parameters on the context, keep-alive pings
    (a timer, not a task, per connection) and the `LiveOperation` of each operation task."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Our state in one slotted object, set once: new attributes set later on the handler
        # turned its shared-key __dict__ into a table of its own (~0.8 KB per connection).
        self._state = _ConnectionState()

    async def handle(self) -> None:
        """Strawberry's receive loop, minus one thing: it does not hold the last message (its
        text and parsed JSON, ~0.7 KB) for the connection's life while waiting for the next."""
        self.on_request_accepted()
        websocket = self.context.request
        assert isinstance(websocket, WebSocket)
        try:
            while websocket.application_state is not WebSocketState.DISCONNECTED:
                try:
                    message = self.view.decode_json(await websocket.receive_text())
                except KeyError:  # a binary message
                    await self.handle_invalid_message("WebSocket message type must be text")
                    return
                except json.JSONDecodeError:
                    await self.handle_invalid_message("WebSocket message must be valid JSON")
                    return
                await self.handle_message(cast(Message, message))
                del message
        except (WebSocketDisconnect, WebSocketDisconnected):
            pass
        finally:
            await self.shutdown()

    def on_request_accepted(self) -> None:
        metrics.WEBSOCKET_CONNECTIONS.inc()  # until `shutdown`
        super().on_request_accepted()

    async def handle_message(self, message: Message) -> None:
        self._state.received = True
        await super().handle_message(message)

    async def handle_subscribe(self, message: SubscribeMessage) -> None:
        # The persisted-query rules of HTTP (gql.persisted) hold here too: a hash alone
        # names a known document; in production with a manifest, nothing else runs.
        persisted = getattr(self.view, "persisted", None)
        payload = message.get("payload")
        if persisted is not None and isinstance(payload, dict) and self.connection_acknowledged:
            try:
                query = persisted.resolve(payload.get("query"), payload.get("extensions"))
            except PersistedQueryError as error:
                failure = GraphQLError(error.message, extensions={"code": error.code})
                await self.send_message(
                    ErrorMessage(id=message["id"], type="error", payload=[failure.formatted])
                )
                return
            if query is not None:
                payload["query"] = query
        if isinstance(payload, dict) and isinstance(payload.get("query"), str):
            # Kept by the operation for its life (and to resume it): one copy per document.
            payload["query"] = sys.intern(payload["query"])
        await super().handle_subscribe(message)

    async def send_message(self, message: Message) -> None:
        # An operation that closed the socket (slow consumer, restart, outage) still gets its
        # `complete` from Strawberry: there is nobody left to send it to.
        websocket = self.context.request
        if isinstance(websocket, WebSocket) and (
            websocket.application_state is not WebSocketState.CONNECTED
        ):
            return
        await super().send_message(message)

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        payload = message.get("payload")
        if isinstance(payload, dict) and not self.connection_init_received:
            self.context.extras[CONNECTION_PARAMS] = payload
        try:
            await super().handle_connection_init(message)
        except Exception as error:
            self.context.extras.pop(CONNECTION_PARAMS, None)
            dependency = unavailable_dependency(error)
            if dependency is None:
                raise
            # Authentication needs the database: tell the client to reconnect later (1013 is
            # "try again later"; graphql-ws clients retry it and resume from their cursor).
            log.warning("websocket refused: %s unavailable (%s)", dependency, error)
            await self.websocket.close(WS_TRY_AGAIN_LATER, f"{dependency} unavailable; retry")
            return
        self.context.extras.pop(CONNECTION_PARAMS, None)  # the token: read, not kept
        if self.connection_init_timeout_task is not None:
            # Cancelled by Strawberry; not kept for the connection's life (~1.8 KB with it).
            self.connection_init_timeout_task = None
        if not self.connection_acknowledged:
            return
        limit = self.websocket_scope().get("extensions", {}).pop(LIMIT_EXTENSION, None)
        if limit is not None:
            limit["raise"]()
        viewer = self.context.viewer
        self._state.session = self.context.rt.sessions.open(
            viewer.user_id, viewer.account_id, self.context.extras.pop(EXPIRES_AT), self._sign_out
        )
        if not self.context.extras:
            self.context.extras = {}  # an emptied dict keeps its table
        if self.view.keep_alive_interval:
            self._state.keepalive = KeepAlive.of(self.view.keep_alive_interval)
            self._state.keepalive.add(self)

    async def run_operation(self, operation: Operation[Context, None]) -> None:
        await self._run(operation, None)

    async def _run(self, operation: Operation[Context, None], resume_after: int | None) -> None:
        if self.context.fast_path is not None:  # runs in the operation's own task
            websocket = self.context.request
            assert isinstance(websocket, WebSocket)
            live.bind(
                operation.id,
                websocket.send_text,
                resume_after=resume_after,
                park=partial(self._park, operation),
            )
        try:
            await super().run_operation(operation)
        except live.Parked:
            operation.task = None  # the subscription goes on as a record in the hub

    def _park(self, operation: Operation[Context, None], record: live.ParkedInbox) -> None:
        """An idle subscription's task ends; `record` stands for it in the hub until an event
        needs the whole pipeline again (`resume`), the client completes it or the socket
        closes."""
        PARKED[operation] = record
        record.transport, record.transport_key = self, operation

    def resume(self, operation: Operation[Context, None], after: int) -> None:
        """Start a parked operation's task again; it replays from `after`, then goes live."""
        PARKED.pop(operation, None)
        if self.operations.get(operation.id) is not operation:
            return
        operation.task = asyncio.create_task(self._run(operation, after))
        operation.task.add_done_callback(self._task_done)

    async def cleanup_operation(self, operation_id: str) -> None:
        operation = self.operations.get(operation_id)
        record = PARKED.pop(operation, None) if operation is not None else None
        if record is not None:
            record.close()
            self.operations.pop(operation_id, None)
            return
        await super().cleanup_operation(operation_id)

    def websocket_scope(self) -> MutableMapping[str, Any]:
        websocket = self.context.request
        assert isinstance(websocket, WebSocket)
        return websocket.scope

    def on_keepalive(self) -> None:
        if self._state.pinging is not None and not self._state.pinging.done():
            return  # the previous ping is still being written
        self._state.pinging = asyncio.create_task(self._ping(dead=not self._state.received))
        self._state.received = False

    async def _ping(self, *, dead: bool) -> None:
        with contextlib.suppress(Exception):
            if dead:
                log.info("websocket closed: no answer to the keep-alive ping")
                await self.websocket.close(CLOSE_KEEPALIVE_TIMEOUT, "Keep-alive timeout")
                return
            await self.send_message({"type": "ping"})

    async def _sign_out(self, reason: str) -> None:
        log.info("websocket closed: %s", reason.lower())
        await self.websocket.close(CLOSE_SIGNED_OUT, reason)

    async def shutdown(self) -> None:
        metrics.WEBSOCKET_CONNECTIONS.dec()
        if self._state.session is not None:
            self.context.rt.sessions.end(self._state.session)
        if self._state.keepalive is not None:
            self._state.keepalive.discard(self)
        if self._state.pinging is not None:
            self._state.pinging.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._state.pinging
        await super().shutdown()


class _ConnectionState:
    __slots__ = ("keepalive", "pinging", "received", "session")

    def __init__(self) -> None:
        self.keepalive: KeepAlive | None = None
        self.pinging: asyncio.Task[None] | None = None
        self.received = True  # something arrived since the last ping
        self.session: Session | None = None


class KeepAlive:
    """One timer per event loop and interval: every `interval` seconds, each registered
    connection's `on_keepalive` (a ping, or a close when the previous one got no answer)."""

    _tickers: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[float, KeepAlive]] = (
        weakref.WeakKeyDictionary()
    )

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.handlers: set[TransportWSHandler] = set()
        self.timer: asyncio.TimerHandle | None = None

    @classmethod
    def of(cls, interval: float) -> KeepAlive:
        loop = asyncio.get_running_loop()
        tickers = cls._tickers.setdefault(loop, {})
        ticker = tickers.get(interval)
        if ticker is None:
            ticker = tickers[interval] = cls(interval)
        return ticker

    def add(self, handler: TransportWSHandler) -> None:
        self.handlers.add(handler)
        if self.timer is None:
            self.timer = asyncio.get_running_loop().call_later(self.interval, self._tick)

    def discard(self, handler: TransportWSHandler) -> None:
        self.handlers.discard(handler)
        if not self.handlers and self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def _tick(self) -> None:
        self.timer = asyncio.get_running_loop().call_later(self.interval, self._tick)
        for handler in list(self.handlers):
            handler.on_keepalive()


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
