"""Attachment bytes, stored behind a small ``BlobStore`` interface.

An upload is first *staged* (streamed into a temp file while its size and SHA-256 are
computed), then validated by the caller, then *committed* (atomically moved under a generated
key) or *discarded*. The GraphQL endpoint stages a multipart file part as it arrives
(``open_staging``, ``gql/uploads.py``): the request body is written once, straight into the
staging file. Invariants:

- Bytes are written in pieces of at most ``FLUSH`` bytes and file I/O and hashing run off the
  event loop; no blob is ever held whole in memory.
- ``stage`` stops reading as soon as more than ``max_bytes`` have arrived, deletes what it
  wrote and raises ``AttachmentRejected(ErrorCode.ATTACHMENT_TOO_LARGE)``; a ``StagingFile``
  fed by the multipart parser deletes what it wrote at that point and drops the rest (the
  body is read on, so the request can be answered); a failed or cancelled stage leaves no
  temp file behind.
- Storage keys are ``xx/yy/<32 hex>`` from ``uuid4``, never derived from user input; any other
  key is refused by ``path()``, so no key can name a file outside the store's root.
- A committed blob is complete: it is fsync'ed before an atomic ``os.replace`` into place and
  the directory entry is fsync'ed after, so a reader sees all of it or nothing.
- Temp files live in ``root/tmp/``, on the same filesystem as the blobs (rename is atomic);
  ``sweep_tmp`` removes ones abandoned by a crashed process.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import re
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Protocol

from services.errors import AttachmentRejected, ErrorCode

CHUNK = 64 * 1024
#: A staging file collects this much before one write (and hash) in a worker thread.
FLUSH = 256 * 1024
_KEY = re.compile(r"[0-9a-f]{2}/[0-9a-f]{2}/[0-9a-f]{32}")


class SupportsAsyncRead(Protocol):
    """Anything with an async ``read(size)``, such as Starlette's ``UploadFile``."""

    async def read(self, size: int = -1) -> bytes: ...


@dataclass(frozen=True)
class StagedBlob:
    """An upload written to a temp file, not yet committed."""

    tmp_path: Path
    size: int
    sha256: str


class StagingFile:
    """One upload being written to a staging temp file, hashed on the way (one copy).

    ``write`` refuses nothing: past ``max_bytes`` it deletes what it wrote, drops the rest
    and sets ``too_large``, so a caller reading a request body can read on and answer with a
    typed error. ``finish`` returns the `StagedBlob` (None if too large); ``abort`` deletes the
    temp file. Both close the file; ``abort`` is safe after anything, also after ``finish``
    (the blob is then the caller's to commit or discard, and ``abort`` deletes it)."""

    def __init__(self, path: Path, file: BinaryIO, max_bytes: int, *, fsync: bool) -> None:
        self.path = path
        self.max_bytes = max_bytes
        self.size = 0
        self.too_large = False
        self._file: BinaryIO | None = file
        self._digest = hashlib.sha256()
        self._pending: list[bytes] = []
        self._pending_bytes = 0
        self._fsync = fsync

    async def write(self, data: bytes) -> None:
        if self.too_large or not data:
            return
        self.size += len(data)
        if self.size > self.max_bytes:
            self.too_large = True
            self._pending.clear()
            self.abort()
            return
        self._pending.append(data)
        self._pending_bytes += len(data)
        if self._pending_bytes >= FLUSH:
            await self._flush()

    async def finish(self) -> StagedBlob | None:
        if self.too_large:
            return None
        await self._flush()
        file, self._file = self._file, None
        assert file is not None, "finish() after abort()"
        try:
            await asyncio.to_thread(_close, file, self._fsync)
        except BaseException:
            self.path.unlink(missing_ok=True)
            raise
        return StagedBlob(tmp_path=self.path, size=self.size, sha256=self._digest.hexdigest())

    def abort(self) -> None:
        """Close and delete (synchronous: it must also run in a cancelled task's cleanup)."""
        file, self._file = self._file, None
        if file is not None:
            file.close()
        self.path.unlink(missing_ok=True)

    async def _flush(self) -> None:
        if not self._pending:
            return
        data = self._pending[0] if len(self._pending) == 1 else b"".join(self._pending)
        self._pending.clear()
        self._pending_bytes = 0
        assert self._file is not None
        await asyncio.to_thread(_write, self._file, self._digest, data)


class BlobStore(Protocol):
    """Where committed attachment bytes live: `LocalBlobStore` (files) or `S3BlobStore`."""

    async def stage(self, source: SupportsAsyncRead, *, max_bytes: int) -> StagedBlob: ...
    async def open_staging(self, max_bytes: int) -> StagingFile:
        """A staging file to write an upload into as it arrives (then `commit` or `discard`
        its `StagedBlob`)."""
        ...

    async def commit(self, staged: StagedBlob) -> str: ...
    async def discard(self, staged: StagedBlob) -> None: ...
    async def delete(self, key: str) -> None: ...
    async def size(self, key: str) -> int:
        """The committed blob's size; `FileNotFoundError` if it is gone."""
        ...

    def open_chunks(self, key: str, chunk_size: int = CHUNK) -> AsyncIterator[bytes]: ...
    def reader(self, key: str) -> BinaryIO:
        """A blocking reader of the blob, for a worker thread (clamd's INSTREAM)."""
        ...

    async def sweep_tmp(self, older_than_seconds: float) -> int: ...
    async def check(self) -> None:
        """Raise if the store cannot be used (readiness)."""
        ...


class LocalBlobStore:
    """Blobs as files under ``root`` (``LIAISON_DATA_DIR/blobs`` or similar).

    ``fsync=False`` is for a staging area whose files are copied elsewhere and deleted (the
    object store's): nothing is committed from it, so nothing there needs to survive a crash.
    """

    def __init__(self, root: Path, *, fsync: bool = True) -> None:
        self.root = root
        self.tmp_dir = root / "tmp"
        self.fsync = fsync

    async def open_staging(self, max_bytes: int) -> StagingFile:
        tmp_path, file = await asyncio.to_thread(self._create_tmp)
        return StagingFile(tmp_path, file, max_bytes, fsync=self.fsync)

    async def stage(self, source: SupportsAsyncRead, *, max_bytes: int) -> StagedBlob:
        staging = await self.open_staging(max_bytes)
        try:
            while chunk := await source.read(CHUNK):
                await staging.write(chunk)
                if staging.too_large:
                    raise too_large(max_bytes)
            blob = await staging.finish()
        except BaseException:
            staging.abort()
            raise
        assert blob is not None
        return blob

    async def commit(self, staged: StagedBlob) -> str:
        hex_id = uuid.uuid4().hex
        key = f"{hex_id[:2]}/{hex_id[2:4]}/{hex_id}"
        await asyncio.to_thread(_move_into_place, staged.tmp_path, self.path(key))
        return key

    async def discard(self, staged: StagedBlob) -> None:
        await asyncio.to_thread(staged.tmp_path.unlink, missing_ok=True)

    async def delete(self, key: str) -> None:
        await asyncio.to_thread(self.path(key).unlink, missing_ok=True)

    def path(self, key: str) -> Path:
        """The file holding ``key``; raises ``ValueError`` for anything not a generated key."""
        if not _KEY.fullmatch(key):
            raise ValueError(f"invalid storage key {key!r}")
        return self.root / key

    async def size(self, key: str) -> int:
        return (await asyncio.to_thread(self.path(key).stat)).st_size

    def reader(self, key: str) -> BinaryIO:
        return self.path(key).open("rb")

    async def check(self) -> None:
        def writable() -> None:
            self.tmp_dir.mkdir(parents=True, exist_ok=True)
            if not os.access(self.tmp_dir, os.W_OK):
                raise PermissionError(f"{self.tmp_dir} is not writable")

        await asyncio.to_thread(writable)

    async def open_chunks(self, key: str, chunk_size: int = CHUNK) -> AsyncIterator[bytes]:
        """Stream a committed blob; ``FileNotFoundError`` on first iteration if it is gone."""
        file = await asyncio.to_thread(self.path(key).open, "rb")
        try:
            while chunk := await asyncio.to_thread(file.read, chunk_size):
                yield chunk
        finally:
            file.close()

    async def sweep_tmp(self, older_than_seconds: float) -> int:
        """Delete temp files not modified for ``older_than_seconds``; return how many."""
        return await asyncio.to_thread(self._sweep, time.time() - older_than_seconds)

    def _create_tmp(self) -> tuple[Path, BinaryIO]:
        self.tmp_dir.mkdir(parents=True, exist_ok=True)
        fd, name = tempfile.mkstemp(dir=self.tmp_dir, prefix="stage-", suffix=".part")
        return Path(name), os.fdopen(fd, "wb")

    def _sweep(self, cutoff: float) -> int:
        removed = 0
        if not self.tmp_dir.is_dir():
            return 0
        for entry in self.tmp_dir.iterdir():
            try:
                if entry.is_file() and entry.stat().st_mtime < cutoff:
                    entry.unlink()
                    removed += 1
            except FileNotFoundError:  # finished or swept concurrently
                continue
        return removed


def too_large(max_bytes: int) -> AttachmentRejected:
    return AttachmentRejected(
        ErrorCode.ATTACHMENT_TOO_LARGE, f"File is larger than {max_bytes} bytes."
    )


def _write(file: BinaryIO, digest: hashlib._Hash, chunk: bytes) -> None:
    digest.update(chunk)  # releases the GIL for large buffers, as does the write
    file.write(chunk)


def _close(file: BinaryIO, fsync: bool) -> None:
    try:
        file.flush()
        if fsync:
            os.fsync(file.fileno())
    finally:
        file.close()


def _move_into_place(source: Path, dest: Path) -> None:
    dest.parent.mkdir(parents=True, exist_ok=True)
    os.replace(source, dest)
    for directory in (dest.parent, dest.parent.parent):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def make_blob_store(blob_url: str | None, data_dir: Path) -> BlobStore:
    """The store `LIAISON_BLOB_URL` names (default: files under `data_dir/blobs`)."""
    if blob_url is None:
        return LocalBlobStore(data_dir / "blobs")
    if blob_url.startswith("file://"):
        return LocalBlobStore(Path(blob_url.removeprefix("file://")))
    from services.s3_blobs import S3BlobStore

    # Uploads are staged (and type-checked) on local disk before they reach the bucket.
    return S3BlobStore(blob_url, data_dir / "staging")
