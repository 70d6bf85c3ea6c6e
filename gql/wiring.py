"""Builds the `Runtime`: the one place that picks each collaborator's implementation."""

from __future__ import annotations

from gql.runtime import Runtime
from gql.settings import Settings
from services.blobs import make_blob_store
from services.bulk import BulkPolicy, make_bulk_queue
from services.bus import make_bus
from services.cursors import CursorCodec
from services.hub import Hub
from services.notifications import NotificationLoop, make_notifier
from services.ratelimit import SendRateLimits, make_rate_limiter
from services.scanning import make_scan_queue
from services.sessions import Sessions


def build_runtime(settings: Settings) -> Runtime:
    blobs = make_blob_store(settings.blob_url, settings.data_dir)
    bus = make_bus(settings.redis_url)
    notifier = None if settings.redis_url else make_notifier(settings)
    return Runtime(
        settings=settings,
        cursors=CursorCodec(settings.jwt_secret),
        blobs=blobs,
        bus=bus,
        scans=make_scan_queue(settings, blobs, bus, policy=settings.scan_policy),
        hub=Hub(bus, queue_size=settings.subscriber_queue_size),
        send_limits=SendRateLimits(
            make_rate_limiter(settings.redis_url),
            per_user=settings.rate_limit_user_per_minute,
            per_account=settings.rate_limit_account_per_minute,
            upload_bytes=settings.rate_limit_upload_bytes_per_minute,
        ),
        bulk=make_bulk_queue(
            settings.redis_url,
            bus,
            BulkPolicy(
                lease_seconds=settings.bulk_lease_seconds, chunk_size=settings.bulk_chunk_size
            ),
        ),
        sessions=Sessions(),
        notifications=NotificationLoop(notifier) if notifier else None,
    )
