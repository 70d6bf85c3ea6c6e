"""Long-lived collaborators built once at start-up from the settings."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from gql.settings import Settings
from services.attachments import ScanService
from services.blobs import BlobStore, make_blob_store
from services.bulk import BulkPolicy, InProcessBulkQueue, RedisBulkQueue, make_bulk_queue
from services.bus import EventBus, make_bus
from services.cursors import CursorCodec
from services.hub import Hub
from services.notifications import NotificationLoop, make_notifier
from services.ratelimit import SendRateLimits, make_rate_limiter
from services.scanning import make_scan_queue
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
    # Open websockets by user: a deactivated user's close at once (services.sessions).
    sessions: Sessions = field(default_factory=Sessions)
    # Without Redis the serving process also sends notification e-mails; with Redis,
    # `liaison worker` processes do.
    notifications: NotificationLoop | None = None
    # Set when the server starts shutting down (the lifespan's exit): long-lived work such
    # as subscriptions may watch it and end (close websockets with gql.ws's 1012).
    shutting_down: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def sending(self) -> SendServices:
        """What the send path needs (services.sending.send), from the collaborators above."""
        return SendServices(
            blobs=self.blobs,
            notifier=self.bus,
            scans=self.scans,
            limits=self.send_limits,
            max_attachments=self.settings.max_attachments,
            max_attachment_bytes=self.settings.max_attachment_bytes,
        )

    @classmethod
    def build(cls, settings: Settings) -> Runtime:
        blobs = make_blob_store(settings.blob_url, settings.data_dir)
        bus = make_bus(settings.redis_url)
        scans = make_scan_queue(settings, blobs, bus, policy=settings.scan_policy)
        send_limits = SendRateLimits(
            make_rate_limiter(settings.redis_url),
            per_user=settings.rate_limit_user_per_minute,
            per_account=settings.rate_limit_account_per_minute,
            upload_bytes=settings.rate_limit_upload_bytes_per_minute,
        )
        notifier = None if settings.redis_url else make_notifier(settings)
        return cls(
            settings=settings,
            cursors=CursorCodec(settings.jwt_secret),
            blobs=blobs,
            bus=bus,
            scans=scans,
            hub=Hub(bus, queue_size=settings.subscriber_queue_size),
            send_limits=send_limits,
            bulk=make_bulk_queue(
                settings.redis_url,
                bus,
                BulkPolicy(
                    lease_seconds=settings.bulk_lease_seconds, chunk_size=settings.bulk_chunk_size
                ),
            ),
            notifications=NotificationLoop(notifier) if notifier else None,
        )
