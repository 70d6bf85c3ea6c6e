"""LocalBlobStore: staging, committing, limits and key safety, on a real directory."""

from __future__ import annotations

import asyncio
import hashlib
import os
import time
from pathlib import Path

import pytest

from services.blobs import CHUNK, LocalBlobStore, StagedBlob
from services.errors import AttachmentRejected
from tests.waiting import wait_until


class FakeUpload:
    """Serves ``data`` then, if ``endless``, an unlimited stream; counts the bytes read."""

    def __init__(self, data: bytes = b"", *, endless: bool = False) -> None:
        self.data, self.endless, self.bytes_read = data, endless, 0

    async def read(self, size: int = -1) -> bytes:
        start = self.bytes_read
        chunk = b"x" * size if self.endless else self.data[start : start + size]
        self.bytes_read += len(chunk)
        return chunk


@pytest.fixture
def store(tmp_path: Path) -> LocalBlobStore:
    return LocalBlobStore(tmp_path / "blobs")


def tmp_files(store: LocalBlobStore) -> list[Path]:
    return list(store.tmp_dir.iterdir()) if store.tmp_dir.exists() else []


async def test_stage_and_commit_store_the_bytes_under_a_generated_key(
    store: LocalBlobStore,
) -> None:
    data = os.urandom(3 * CHUNK + 17)
    staged = await store.stage(FakeUpload(data), max_bytes=len(data))
    assert staged.size == len(data)
    assert staged.sha256 == hashlib.sha256(data).hexdigest()
    assert staged.tmp_path.parent == store.tmp_dir

    key = await store.commit(staged)

    assert store.path(key).read_bytes() == data
    assert store.path(key).is_relative_to(store.root)
    assert not staged.tmp_path.exists()
    assert tmp_files(store) == []
    assert b"".join([c async for c in store.open_chunks(key, chunk_size=1000)]) == data
    assert key != await store.commit(await store.stage(FakeUpload(data), max_bytes=len(data)))


async def test_too_large_stops_reading_early_and_leaves_nothing(store: LocalBlobStore) -> None:
    upload = FakeUpload(endless=True)
    with pytest.raises(AttachmentRejected) as caught:
        await store.stage(upload, max_bytes=5 * CHUNK + 1)
    assert caught.value.code == "ATTACHMENT_TOO_LARGE"
    assert upload.bytes_read <= 6 * CHUNK
    assert tmp_files(store) == []


async def test_exactly_the_limit_is_accepted(store: LocalBlobStore) -> None:
    staged = await store.stage(FakeUpload(b"a" * 1000), max_bytes=1000)
    assert staged.size == 1000


async def test_empty_upload_stages_an_empty_blob(store: LocalBlobStore) -> None:
    staged = await store.stage(FakeUpload(b""), max_bytes=10)
    assert (staged.size, staged.tmp_path.read_bytes()) == (0, b"")
    await store.discard(staged)


async def test_discard_removes_the_temp_file_and_is_idempotent(store: LocalBlobStore) -> None:
    staged = await store.stage(FakeUpload(b"abc"), max_bytes=10)
    await store.discard(staged)
    await store.discard(staged)
    assert tmp_files(store) == []


async def test_cancelled_stage_leaves_no_temp_file(store: LocalBlobStore) -> None:
    class SlowUpload(FakeUpload):
        async def read(self, size: int = -1) -> bytes:
            await asyncio.sleep(0.01)
            return b"y" * size

    task = asyncio.create_task(store.stage(SlowUpload(), max_bytes=10**9))
    await wait_until(lambda: tmp_files(store) != [])  # cancelled mid-stage
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert tmp_files(store) == []


async def test_delete_removes_and_tolerates_missing(store: LocalBlobStore) -> None:
    key = await store.commit(await store.stage(FakeUpload(b"abc"), max_bytes=10))
    await store.delete(key)
    assert not store.path(key).exists()
    await store.delete(key)


@pytest.mark.parametrize(
    "key",
    [
        "../../etc/passwd",
        "/etc/passwd",
        "ab/cd/../../../../etc/passwd",
        "ab/cd/" + "0" * 31,
        "AB/CD/" + "A" * 32,
        "ab/cd/" + "0" * 32 + "\n",
        "ab/cd/" + "0" * 32 + "/x",
        "tmp/stage-x.part",
        "",
    ],
)
def test_path_refuses_anything_but_a_generated_key(store: LocalBlobStore, key: str) -> None:
    with pytest.raises(ValueError):
        store.path(key)


async def test_open_chunks_of_a_missing_blob_raises(store: LocalBlobStore) -> None:
    with pytest.raises(FileNotFoundError):
        async for _ in store.open_chunks("ab/cd/" + "0" * 32):
            pass


async def test_sweep_tmp_removes_only_old_temp_files(store: LocalBlobStore) -> None:
    old = await store.stage(FakeUpload(b"old"), max_bytes=10)
    fresh = await store.stage(FakeUpload(b"new"), max_bytes=10)
    an_hour_ago = time.time() - 3600
    os.utime(old.tmp_path, (an_hour_ago, an_hour_ago))

    assert await store.sweep_tmp(older_than_seconds=600) == 1

    assert not old.tmp_path.exists()
    assert fresh.tmp_path.exists()
    assert await LocalBlobStore(store.root / "never-used").sweep_tmp(0) == 0


def test_staged_blob_is_immutable(tmp_path: Path) -> None:
    staged = StagedBlob(tmp_path / "x", 1, "00")
    with pytest.raises(AttributeError):
        staged.size = 2  # type: ignore[misc]
