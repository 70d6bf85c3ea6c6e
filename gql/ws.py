"""Websocket concerns of the GraphQL endpoint (`graphql-transport-ws` only).

- Authentication from the `connection_init` payload `{"authorization": "Bearer …"}`: a bad,
  expired or missing token closes the socket with 4403 before any operation runs.
- Keep-alive: the server sends a protocol `ping` every `ws_keepalive_seconds` once the
  connection is acknowledged, so proxies see traffic on idle connections (clients answer
  `pong`, as `graphql-ws` does by itself).
- Close codes the live inbox uses, below.

The origin check (`LIAISON_ALLOWED_ORIGINS`), the protocol choice and the per-connection
operation cap are Strawberry options set by `gql.view`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from typing import Any

from starlette.websockets import WebSocket, WebSocketState
from strawberry.exceptions import ConnectionRejectionError
from strawberry.subscriptions.protocols.graphql_transport_ws.handlers import (
    BaseGraphQLTransportWSHandler,
)
from strawberry.subscriptions.protocols.graphql_transport_ws.types import ConnectionInitMessage

from gql.context import Context
from gql.loaders import make_loaders
from services.auth import load_viewer
from services.errors import Unauthenticated

log = logging.getLogger("liaison.ws")

# The client fell too far behind the live stream; reconnect and resume from the last cursor.
# 1013 "Try Again Later": `graphql-ws` treats it as retryable.
CLOSE_SLOW_CONSUMER = 1013
SLOW_CONSUMER_REASON = "Slow consumer: resubscribe with inboxEvents(after: <last cursor>)"
# The server is restarting; same remedy.
CLOSE_SERVICE_RESTART = 1012

CONNECTION_PARAMS = "connection_params"


class TransportWSHandler(BaseGraphQLTransportWSHandler[Context, None]):
    """Strawberry's handler, plus connection parameters on the context and keep-alive pings."""

    _keepalive: asyncio.Task[None] | None = None

    async def handle_connection_init(self, message: ConnectionInitMessage) -> None:
        payload = message.get("payload")
        if isinstance(payload, dict) and not self.connection_init_received:
            self.context.extras[CONNECTION_PARAMS] = payload
        await super().handle_connection_init(message)
        interval = self.view.keep_alive_interval
        if self.connection_acknowledged and interval and self._keepalive is None:
            self._keepalive = asyncio.create_task(self._ping_forever(interval))

    async def _ping_forever(self, interval: float) -> None:
        with contextlib.suppress(Exception):
            while True:
                await asyncio.sleep(interval)
                await self.send_message({"type": "ping"})

    async def shutdown(self) -> None:
        if self._keepalive is not None:
            self._keepalive.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._keepalive
        await super().shutdown()


async def authenticate(context: Context, jwt_secret: str) -> None:
    """Bind the viewer named by the `connection_init` payload, or refuse with 4403."""
    params: dict[str, Any] = context.extras.get(CONNECTION_PARAMS) or {}
    authorization = params.get("authorization", params.get("Authorization"))
    try:
        viewer = await load_viewer(
            jwt_secret, authorization if isinstance(authorization, str) else None
        )
    except Unauthenticated as error:
        log.info("websocket refused: %s", error.message)
        raise ConnectionRejectionError({"code": error.code, "message": error.message}) from None
    context.viewer_or_none = viewer
    context.loaders = make_loaders(viewer)


async def close(context: Context, code: int, reason: str) -> None:
    """Close the operation's websocket (every operation on it ends)."""
    websocket = context.request
    if isinstance(websocket, WebSocket) and websocket.application_state is WebSocketState.CONNECTED:
        with contextlib.suppress(RuntimeError, OSError):
            await websocket.close(code=code, reason=reason)
