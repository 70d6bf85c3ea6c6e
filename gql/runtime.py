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
    from services.bulk import InProcessBulkQueue, RedisBulkQueue
    from services.bus import EventBus
    from services.cursors import CursorCodec
    from services.hub import Hub
    from services.notifications import NotificationLoop
    from services.ratelimit import SendRateLimits
    from services.sending import SendServices
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
    bulk: InProcessBulkQueue | RedisBulkQueue
    sessions: Sessions
    # Without Redis the serving process also sends notification e-mails; with Redis,
    # `liaison worker` processes do.
    notifications: NotificationLoop | None = None
    # Set when the server starts shutting down (the lifespan's exit): long-lived work such
    # as subscriptions may watch it and end (close websockets with 1012).
    shutting_down: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def sending(self) -> SendServices:
        """What the send path needs (services.sending.send), from the collaborators above."""
        from services.sending import SendServices

        return SendServices(
            blobs=self.blobs,
            notifier=self.bus,
            scans=self.scans,
            limits=self.send_limits,
            max_attachments=self.settings.max_attachments,
            max_attachment_bytes=self.settings.max_attachment_bytes,
        )
