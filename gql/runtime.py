"""Long-lived collaborators built once at start-up from the settings."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from gql.settings import Settings
from services.attachments import ScanService
from services.blobs import BlobStore, LocalBlobStore
from services.bus import EventBus, make_bus
from services.cursors import CursorCodec
from services.hub import Hub
from services.ratelimit import SendRateLimits, make_rate_limiter
from services.scanning import make_scan_queue
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
    sessions: Sessions = field(default_factory=Sessions)
    # Set when the server starts shutting down (the lifespan's exit): long-lived work such
    # as subscriptions may watch it and end (close websockets with gql.ws's 1012).
    shutting_down: asyncio.Event = field(default_factory=asyncio.Event)

    @classmethod
    def build(cls, settings: Settings) -> Runtime:
        blobs = LocalBlobStore(settings.data_dir / "blobs")
        bus = make_bus(settings.redis_url)
        return cls(
            settings=settings,
            cursors=CursorCodec(settings.jwt_secret),
            blobs=blobs,
            bus=bus,
            scans=make_scan_queue(settings, blobs, bus),
            hub=Hub(bus, queue_size=settings.subscriber_queue_size),
            send_limits=SendRateLimits(
                make_rate_limiter(settings.redis_url),
                per_user=settings.rate_limit_user_per_minute,
                per_account=settings.rate_limit_account_per_minute,
                upload_bytes=settings.rate_limit_upload_bytes_per_minute,
            ),
        )
