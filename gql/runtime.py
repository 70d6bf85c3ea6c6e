"""Long-lived collaborators built once at start-up from the settings."""

from __future__ import annotations

from dataclasses import dataclass

from gql.settings import Settings
from services.attachments import ScanQueue
from services.blobs import BlobStore, LocalBlobStore
from services.bus import EventBus, make_bus
from services.cursors import CursorCodec
from services.hub import Hub
from services.scanning import make_scan_queue


@dataclass
class Runtime:
    settings: Settings
    cursors: CursorCodec
    blobs: BlobStore
    bus: EventBus
    scans: ScanQueue
    hub: Hub

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
        )
