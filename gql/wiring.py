"""Builds the `Runtime`: the one place that picks each collaborator's implementation."""

from __future__ import annotations

from gql.runtime import Runtime
from gql.settings import Settings
from services.blobs import LocalBlobStore
from services.bus import make_bus
from services.cursors import CursorCodec
from services.hub import Hub
from services.ratelimit import SendRateLimits, make_rate_limiter
from services.scanning import make_scan_queue
from services.sessions import Sessions


def build_runtime(settings: Settings) -> Runtime:
    blobs = LocalBlobStore(settings.data_dir / "blobs")
    bus = make_bus(settings.redis_url)
    return Runtime(
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
        sessions=Sessions(),
    )
