"""Long-lived collaborators built once at start-up from the settings (gql.wiring builds them).

Below the schema: types, resolvers and subscriptions reach these through the context, and
importing this module loads none of them (their types are for the checker only).
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from gql.settings import Settings

if TYPE_CHECKING:
    from services.attachments import ScanService
    from services.blobs import BlobStore
    from services.bus import EventBus
    from services.cursors import CursorCodec
    from services.hub import Hub
    from services.ratelimit import SendRateLimits
    from services.sessions import Sessions


@dataclass
class Runtime:
    settings: Settings
    cursors: CursorCodec
    blobs: BlobStore
    bus: EventBus
    scans: ScanService
    hub: Hub
    send_limits: SendRateLimits
    sessions: Sessions
    # Set when the server starts shutting down (the lifespan's exit): long-lived work such
    # as subscriptions may watch it and end (close websockets with 1012).
    shutting_down: asyncio.Event = field(default_factory=asyncio.Event)
