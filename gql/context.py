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


@dataclass
class Context:
    request: Request | WebSocket
    response: Response | WebSocket | None
    rt: Runtime
    viewer_or_none: Viewer | None
    loaders: Loaders = field(init=False)
    extras: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.loaders = make_loaders(self.viewer_or_none)

    @property
    def viewer(self) -> Viewer:
        if self.viewer_or_none is None:
            raise Unauthenticated("Authentication required.")
        return self.viewer_or_none


Info = strawberry.Info[Context, None]
