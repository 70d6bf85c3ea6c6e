"""Accepting uploaded files: limits, staging to blob storage, type from content.

A message whose files fail any check stores nothing: files are staged to temporary blobs
first, and only moved to their storage keys inside the sending transaction. Files of a
GraphQL multipart request arrive already staged (`ReceivedFile`, written once as the body
streamed in: `gql/uploads.py`); any other `Upload` (an async reader) is staged here.
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from tortoise.backends.base.client import BaseDBAsyncClient

from models import Attachment, Blob
from services.blobs import BlobStore, StagedBlob, SupportsAsyncRead, too_large
from services.errors import AttachmentRejected, DomainError, ErrorCode
from services.filenames import display_filename
from services.filetypes import sniff_file


class Upload(SupportsAsyncRead, Protocol):
    filename: str | None


class ReceivedFile:
    """A multipart file part already written to a staging file as the request arrived.

    `blob` is None when the part was over the size limit (nothing of it was kept). A resolver
    takes the blob with `claim` (once: a part mapped to two variables is refused) and then
    owns it; the HTTP layer that staged it `release`s every file no resolver claimed once the
    request is answered.
    """

    __slots__ = ("_claimed", "blob", "filename", "size")

    def __init__(self, filename: str | None, size: int, blob: StagedBlob | None) -> None:
        self.filename = filename
        self.size = size
        self.blob = blob
        self._claimed = False

    def claim(self, max_bytes: int) -> StagedBlob:
        if self._claimed:
            raise AttachmentRejected(
                ErrorCode.INVALID_INPUT, "One uploaded file is used for two attachments."
            )
        self._claimed = True
        if self.blob is None or self.blob.size > max_bytes:
            self.blob, blob = None, self.blob
            if blob is not None:
                blob.tmp_path.unlink(missing_ok=True)
            raise too_large(max_bytes)
        return self.blob

    def release(self) -> None:
        """Delete the staging file unless a resolver claimed it (the send path then owns it
        and always commits or discards it). Synchronous, so it also runs in a cancelled
        request's cleanup; staging files are local for every store."""
        if not self._claimed and self.blob is not None:
            self.blob.tmp_path.unlink(missing_ok=True)


AnyUpload = Upload | ReceivedFile


class ScanQueue(Protocol):
    """Where blobs go to be virus-scanned once their message (or bulk send) is committed."""

    async def enqueue(self, blob_ids: Sequence[uuid.UUID]) -> None: ...


class ScanService(ScanQueue, Protocol):
    """A scan queue with a lifetime: started and stopped with the process."""

    async def start(self) -> None: ...

    async def stop(self) -> None: ...


@dataclass(frozen=True, slots=True)
class StagedFile:
    blob: StagedBlob
    content_type: str
    filename: str


async def stage_uploads(
    blobs: BlobStore, uploads: Sequence[AnyUpload], *, max_files: int, max_bytes: int
) -> list[StagedFile]:
    """Stage every upload or none: on the first refusal, staged blobs are discarded."""
    if len(uploads) > max_files:
        raise AttachmentRejected(
            ErrorCode.TOO_MANY_ATTACHMENTS,
            f"A message carries at most {max_files} attachments.",
            ("attachments",),
        )
    staged: list[StagedFile] = []
    try:
        for index, upload in enumerate(uploads):
            staged.append(await _stage_one(blobs, upload, index, max_bytes))
    except BaseException:
        await discard(blobs, staged)
        raise
    return staged


async def _stage_one(blobs: BlobStore, upload: AnyUpload, index: int, max_bytes: int) -> StagedFile:
    field = ("attachments", str(index))
    if not isinstance(upload, ReceivedFile) and not callable(getattr(upload, "read", None)):
        # A multipart part without a filename arrives as a plain form field, not a file.
        raise AttachmentRejected(
            ErrorCode.ATTACHMENT_TYPE_NOT_ALLOWED, "This attachment is not a file upload.", field
        )
    try:
        if isinstance(upload, ReceivedFile):
            blob = upload.claim(max_bytes)
        else:
            blob = await blobs.stage(upload, max_bytes=max_bytes)
    except DomainError as error:
        error.field = field
        raise
    try:
        # Sniffing reads and parses the whole file (PDF structure, image chunks, CSV rows):
        # CPU work that must not hold the event loop.
        content_type = await asyncio.to_thread(sniff_file, blob.tmp_path)
    except DomainError as error:
        await blobs.discard(blob)
        error.field = field
        error.message = f"{display_filename(upload.filename, '')}: {error.message}"
        raise
    except BaseException:
        await blobs.discard(blob)
        raise
    return StagedFile(blob, content_type, display_filename(upload.filename, content_type))


async def create_blob(conn: BaseDBAsyncClient, staged: StagedFile, key: str) -> Blob:
    """The record of a file committed under `key`, PENDING its scan, in the caller's
    transaction."""
    return await Blob.create(
        using_db=conn,
        id=uuid.uuid4(),
        storage_key=key,
        content_type=staged.content_type,
        size=staged.blob.size,
        sha256=staged.blob.sha256,
    )


async def discard(blobs: BlobStore, staged: Iterable[StagedFile]) -> None:
    for item in staged:
        await blobs.discard(item.blob)


async def attachments_by_message(
    message_ids: Iterable[uuid.UUID],
) -> dict[uuid.UUID, list[Attachment]]:
    result: dict[uuid.UUID, list[Attachment]] = {}
    rows = await Attachment.filter(message_id__in=list(message_ids)).order_by("position")
    for row in rows:
        result.setdefault(row.message_id, []).append(row)  # type: ignore[attr-defined]
    return result
