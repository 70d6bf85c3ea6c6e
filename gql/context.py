"""The typed per-operation context."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import strawberry
from starlette.requests import Request
from starlette.responses import Response
from starlette.websockets import WebSocket

from gql.loaders import Loaders, make_loaders
from gql.runtime import Runtime
from services.auth import Viewer
from services.errors import Unauthenticated


@dataclass(eq=False, slots=True)
class Context:
    request: Request | WebSocket
    response: Response | WebSocket | None
    rt: Runtime
    viewer_or_none: Viewer | None
    extras: dict[str, Any] = field(default_factory=dict)
    # A platform token (SPEC §8): no viewer, only the provisioning mutations (gql.platform).
    platform: bool = False
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

    @property
    def viewer(self) -> Viewer:
        if self.viewer_or_none is None:
            raise Unauthenticated("Authentication required.")
        return self.viewer_or_none


Info = strawberry.Info[Context, None]
