"""uvicorn's websocket protocol with a small frame limit until the client is authenticated.

uvicorn reads a whole message before the application sees it, up to `ws_max_size` (16 MiB by
default): an anonymous client could make the server buffer and parse megabytes per socket.
Here every socket starts at `PRE_AUTH_MAX_BYTES`; the `websockets` parser reads a frame's
length from its header and closes with 1009 (message too big) without reading the payload.
Once `connection_init` is accepted, the application raises the limit to the configured one
through the scope extension `LIMIT_EXTENSION` (`gql.ws.TransportWSHandler`).

Used by `liaison serve` (`ws="gql.wsserver:LiaisonWebSocketProtocol"`).
"""

from __future__ import annotations

from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol

PRE_AUTH_MAX_BYTES = 64 * 1024
# scope["extensions"][LIMIT_EXTENSION]["raise"]: call it once the client is authenticated.
LIMIT_EXTENSION = "liaison.websocket.max_size"


class LiaisonWebSocketProtocol(WebSocketsSansIOProtocol):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Read by the parser before each frame: the change applies to the next frame.
        self.conn.max_message_size = min(PRE_AUTH_MAX_BYTES, self.config.ws_max_size)

    def handle_connect(self, event: Any) -> None:
        super().handle_connect(event)
        scope = getattr(self, "scope", None)
        if scope is not None:  # the handshake was accepted; the app has not run yet
            scope["extensions"][LIMIT_EXTENSION] = {"raise": self._raise_limit}

    def _raise_limit(self) -> None:
        self.conn.max_message_size = self.config.ws_max_size
