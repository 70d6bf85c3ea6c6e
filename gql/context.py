"""The typed per-operation context."""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol
from uuid import UUID

import strawberry
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket, WebSocketState

from gql.loaders import Loaders, make_loaders
from gql.runtime import Runtime
from services.auth import Viewer
from services.errors import Unauthenticated

if TYPE_CHECKING:
    from services.hub import Delivery, Prepare, Subscriber


class FastPath(Protocol):
    """A subscription's part in the live fast path (gql.live); see subscriptions.inbox."""

    @property
    def resume_after(self) -> int | None: ...

    def prepare(self, base: Prepare) -> Prepare: ...

    def subscriber(
        self, account_id: UUID, start: int, *, replay: bool, limit: int
    ) -> Subscriber: ...

    async def sent(self, delivery: Delivery, event: Any, rows: Any) -> bool: ...


@dataclass(eq=False, slots=True)
class Context:
    request: Request | WebSocket
    response: Response | WebSocket | None
    rt: Runtime
    viewer_or_none: Viewer | None
    extras: dict[str, Any] = field(default_factory=dict)
    # A platform token (SPEC §8): no viewer, only the provisioning mutations (gql.platform).
    platform: bool = False
    # Set by the websocket transport when the live fast path is on (gql.live).
    fast_path: Callable[[Info], FastPath | None] | None = None
    # Made on first use: an idle websocket's context never needs any.
    _loaders: Loaders | None = field(default=None, init=False, repr=False)

    @property
    def loaders(self) -> Loaders:
        if self._loaders is None:
            self._loaders = make_loaders(self.viewer_or_none)
        return self._loaders

    @loaders.setter
    def loaders(self, loaders: Loaders | None) -> None:
        """Replace the loaders; None drops them (new ones are made when next needed)."""
        self._loaders = loaders

    def live(self, info: Info) -> FastPath | None:
        """The live fast path of `info`'s subscription, when it serves it."""
        return self.fast_path(info) if self.fast_path is not None else None

    async def close_websocket(self, code: int, reason: str) -> None:
        """Close the operation's websocket (every operation on it ends); no-op over HTTP."""
        websocket = self.request
        if (
            isinstance(websocket, WebSocket)
            and websocket.application_state is WebSocketState.CONNECTED
        ):
            with contextlib.suppress(RuntimeError, OSError):
                await websocket.close(code=code, reason=reason)

    @property
    def viewer(self) -> Viewer:
        if self.viewer_or_none is None:
            raise Unauthenticated("Authentication required.")
        return self.viewer_or_none


Info = strawberry.Info[Context, None]
