"""Attachments in an S3-compatible object store (moto in server mode, a real HTTP S3 peer).

Through the public API: upload → scan (clamd reads from the store) → download; a refused upload
leaves no object; a 25 MiB file round-trips; the store down is a typed 503 and leaves nothing
half-written; an orphaned object is swept; and two `serve` processes and a `worker` with
different data directories share only PostgreSQL, Redis and the store.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import subprocess
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from gql.settings import Settings
from models import AccountKind, Attachment, Blob, BulkSend, Conversation, Message, ScanStatus
from services.s3_blobs import S3BlobStore, sweep_orphans
from services.scanning.jobs import Finished, OrphanSweeper, scan_blob, sweep_orphan_blobs
from tests.attachments_fixtures import (
    CORPUS,
    attachments_of,
    padded_pdf,
    scanning_app,
    send_files,
    wait_final,
    wait_for,
)
from tests.clamd_fixtures import clamd_socket
from tests.factories import make_account, make_pair, make_user
from tests.realtime_fixtures import (
    LIAISON,
    POSTGRES_ONLY,
    ROOT,
    RedisServer,
    bearer,
    redis_server,
    server_env,
    start_server,
)
from tests.s3_fixtures import CREDENTIALS, S3Server, s3_server

__all__ = ["clamd_socket", "redis_server", "s3_server"]


async def test_upload_scan_and_download_through_the_store(
    app: Any, app_settings: Settings, s3_server: S3Server, clamd_socket: str, tmp_path: Path
) -> None:
    settings = dict(blob_url=s3_server.url, clamd=clamd_socket, data_dir=tmp_path / "node-a")
    async with scanning_app(app_settings, **settings) as (_, api):
        pair = await make_pair()
        png = (CORPUS / "valid.png").read_bytes()
        sent = await send_files(
            api, pair, [("logo.png", png), ("eicar.csv", (CORPUS / "eicar_in.csv").read_bytes())]
        )
        ids = [a["id"] for a in sent["message"]["attachments"]]
        statuses = await wait_final(ids)
        assert [statuses[i] for i in ids] == [ScanStatus.CLEAN, ScanStatus.INFECTED]
        assert len(s3_server.objects()) == 2  # both stored, one of them infected
        seen = await attachments_of(api, pair.partner_user, sent["conversation"]["id"])
        clean = next(a for a in seen if a["filename"] == "logo.png")
        response = await api.client.get(
            clean["downloadUrl"],
            headers={"authorization": f"Bearer {bearer(pair.partner_user.id)}"},
        )
        assert response.status_code == 200 and response.content == png
        infected = next(a for a in seen if a["filename"] == "eicar.csv")
        assert infected["downloadUrl"] is None
        # Nothing is staged on local disk once committed.
        staging = tmp_path / "node-a" / "staging" / "tmp"
        assert not staging.exists() or list(staging.iterdir()) == []


async def test_a_refused_upload_leaves_no_object(
    app: Any, app_settings: Settings, s3_server: S3Server, tmp_path: Path
) -> None:
    async with scanning_app(app_settings, blob_url=s3_server.url, data_dir=tmp_path) as (_, api):
        pair = await make_pair()
        variables = {
            "input": {
                "recipientAccountId": str(pair.partner.id),
                "body": "two files",
                "attachments": [None, None],
            }
        }
        files = {
            "input.attachments.0": ("ok.png", (CORPUS / "valid.png").read_bytes(), "image/png"),
            "input.attachments.1": ("page.png", (CORPUS / "html_as.png").read_bytes(), "image/png"),
        }
        response = await api.upload(
            "mutation($input: SendMessageInput!) { sendMessage(input: $input) { message { id } errors { code } } }",
            variables,
            files,
            user=pair.brand_user,
        )
        payload = response.json()["data"]["sendMessage"]
        assert payload["message"] is None
        assert [e["code"] for e in payload["errors"]] == ["ATTACHMENT_TYPE_NOT_ALLOWED"]
        assert s3_server.objects() == []
        assert not await Message.filter(body="two files").exists()


async def test_a_25_mib_file_round_trips_in_chunks(
    app: Any, app_settings: Settings, s3_server: S3Server, tmp_path: Path
) -> None:
    big = padded_pdf(25 * 1024 * 1024)
    async with scanning_app(app_settings, blob_url=s3_server.url, data_dir=tmp_path) as (
        application,
        api,
    ):
        pair = await make_pair()
        sent = await send_files(api, pair, [("big.pdf", big)])
        [attachment] = sent["message"]["attachments"]
        assert attachment["size"] == len(big)
        row = await Attachment.get(id=attachment["id"])
        store = application.state.rt.blobs
        assert isinstance(store, S3BlobStore)
        digest, chunks = hashlib.sha256(), 0
        async for chunk in store.open_chunks(row.storage_key):
            digest.update(chunk)
            chunks += 1
        assert digest.hexdigest() == row.sha256 and chunks > 1


async def test_store_down_is_a_typed_503_and_nothing_is_half_written(
    app: Any, app_settings: Settings, s3_server: S3Server, tmp_path: Path
) -> None:
    async with scanning_app(app_settings, blob_url=s3_server.url, data_dir=tmp_path) as (_, api):
        pair = await make_pair()
        before = await send_files(api, pair, [("kept.png", (CORPUS / "valid.png").read_bytes())])
        s3_server.stop()
        variables = {
            "input": {
                "recipientAccountId": str(pair.partner.id),
                "body": "while the store is down",
                "attachments": [None],
            }
        }
        response = await api.upload(
            "mutation($input: SendMessageInput!) { sendMessage(input: $input) { message { id } errors { code } } }",
            variables,
            {"input.attachments.0": ("a.png", (CORPUS / "valid.png").read_bytes(), "image/png")},
            user=pair.brand_user,
        )
        assert response.status_code == 503, response.text
        assert response.headers["retry-after"]
        [error] = response.json()["errors"]
        assert error["extensions"]["code"] == "SERVICE_UNAVAILABLE"
        assert error["extensions"]["dependency"] == "storage"
        assert not await Message.filter(body="while the store is down").exists()
        staged = tmp_path / "staging" / "tmp"
        assert not staged.exists() or list(staged.iterdir()) == []
        # A download of an existing file while the store is down: typed 503 as well.
        [kept] = before["message"]["attachments"]
        await Attachment.filter(id=kept["id"]).update(scan_status=ScanStatus.CLEAN)
        down = await api.client.get(
            f"/attachments/{kept['id']}",
            headers={"authorization": f"Bearer {bearer(pair.partner_user.id)}"},
        )
        assert down.status_code == 503 and down.json()["errors"][0]["extensions"]["code"] == (
            "SERVICE_UNAVAILABLE"
        )
        ready = await api.client.get("/readyz")
        assert ready.status_code == 503 and "storage" in ready.json()["failed"]


async def test_orphaned_objects_are_swept(
    app: Any, app_settings: Settings, s3_server: S3Server, tmp_path: Path
) -> None:
    store = S3BlobStore(s3_server.url, tmp_path)
    # An object uploaded by a process that died before its transaction committed.
    from io import BytesIO

    class Source:
        def __init__(self, data: bytes) -> None:
            self.buffer = BytesIO(data)

        async def read(self, size: int = -1) -> bytes:
            return self.buffer.read(size)

    orphan = await store.commit(await store.stage(Source(b"orphan"), max_bytes=100))
    assert orphan in s3_server.objects()

    async def referenced(keys: Any) -> list[str]:
        return [
            str(k)
            for k in await Attachment.filter(storage_key__in=list(keys)).values_list(
                "storage_key", flat=True
            )
        ]

    assert await sweep_orphans(store, referenced, age=timedelta(hours=1)) == 0  # too young
    assert await sweep_orphans(store, referenced, age=timedelta(seconds=-1)) == 1
    assert orphan not in s3_server.objects()


@POSTGRES_ONLY
async def test_scale_out_two_servers_and_a_worker_share_only_the_store(
    backend: str,
    app: Any,
    app_settings: Settings,
    redis_server: RedisServer,
    s3_server: S3Server,
    clamd_socket: str,
    tmp_path: Path,
) -> None:
    processes: list[asyncio.subprocess.Process] = []
    servers = []
    try:
        nodes = []
        for name in ("a", "b"):
            env = server_env(app_settings.database_url, tmp_path / name, redis_server.url)
            env.update(CREDENTIALS, LIAISON_BLOB_URL=s3_server.url, LIAISON_CLAMD=clamd_socket)
            nodes.append(env)
            servers.append(
                start_server(
                    env, tmp_path / name if (tmp_path / name).mkdir() is None else tmp_path
                )
            )
        worker_env = {**nodes[0], "LIAISON_DATA_DIR": str(tmp_path / "w")}
        with (tmp_path / "worker.log").open("wb") as log:
            processes.append(
                await asyncio.create_subprocess_exec(
                    LIAISON,
                    "worker",
                    env={**os.environ, **worker_env},
                    cwd=ROOT,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        pair = await make_pair()
        png = (CORPUS / "valid.png").read_bytes()
        operations = {
            "query": "mutation($input: SendMessageInput!) { sendMessage(input: $input) { message { attachments { id } } errors { code } } }",
            "variables": {
                "input": {
                    "recipientAccountId": str(pair.partner.id),
                    "body": "x",
                    "attachments": [None],
                }
            },
        }
        async with httpx.AsyncClient(timeout=30) as client:
            sent = await client.post(
                servers[0].http_url,
                data={
                    "operations": json.dumps(operations),
                    "map": json.dumps({"0": ["variables.input.attachments.0"]}),
                },
                files={"0": ("logo.png", png, "image/png")},
                headers={
                    "authorization": f"Bearer {bearer(pair.brand_user.id)}",
                    "apollo-require-preflight": "1",
                },
            )
            [attachment] = sent.json()["data"]["sendMessage"]["message"]["attachments"]
            assert (await wait_final([attachment["id"]], within=60))[attachment["id"]] is (
                ScanStatus.CLEAN
            )
            other = f"http://127.0.0.1:{servers[1].port}/attachments/{attachment['id']}"
            for _ in range(50):
                response = await client.get(
                    other, headers={"authorization": f"Bearer {bearer(pair.partner_user.id)}"}
                )
                if response.status_code == 200:
                    break
                await asyncio.sleep(0.1)
            assert response.status_code == 200 and response.content == png
        # Node a's data dir never held the blob for node b or the worker to read.
        assert not any((tmp_path / "b").rglob("*.png"))
    finally:
        for server in servers:
            server.stop()
        for process in processes:
            process.terminate()
            await process.wait()


pytestmark = [pytest.mark.filterwarnings("ignore::DeprecationWarning")]


async def test_a_bulk_send_stores_one_object_the_sweep_keeps(
    app: Any, app_settings: Settings, s3_server: S3Server, clamd_socket: str, tmp_path: Path
) -> None:
    """Every message of a bulk send carries the same object: one upload, one scan (clamd
    reads it from the store), the same bytes for each recipient; the orphan sweep, even with
    no age limit, deletes only an object that no blob names."""
    settings = dict(blob_url=s3_server.url, clamd=clamd_socket, data_dir=tmp_path / "node")
    async with scanning_app(app_settings, **settings) as (application, api):
        brand = await make_account(AccountKind.BRAND)
        sender = await make_user(brand)
        pairs = [await make_pair(brand=brand) for _ in range(3)]
        png = (CORPUS / "valid.png").read_bytes()
        response = await api.upload(
            "mutation($input: SendBulkMessageInput!) { sendBulkMessage(input: $input) {"
            " bulkSend { id } errors { code } } }",
            {"input": {"partnerFilter": {}, "body": "logo", "attachments": [None]}},
            {"input.attachments.0": ("logo.png", png, "image/png")},
            user=sender,
        )
        bulk_id = response.json()["data"]["sendBulkMessage"]["bulkSend"]["id"]

        async def delivered() -> bool:
            bulk = await BulkSend.get(id=bulk_id)
            return bulk.status.value == "DONE"

        await wait_for(delivered, 60, "the bulk send")
        ids = [
            str(a.id) for a in await Attachment.filter(message__bulk_send_id=bulk_id).order_by("id")
        ]
        assert len(ids) == 3
        assert set((await wait_final(ids)).values()) == {ScanStatus.CLEAN}
        [stored] = s3_server.objects()
        orphan = await application.state.rt.blobs.commit(
            await application.state.rt.blobs.stage(_Source(b"orphan"), max_bytes=100)
        )
        assert await sweep_orphan_blobs(application.state.rt.blobs, timedelta(seconds=-1)) == 1
        assert s3_server.objects() == [stored]
        assert orphan != stored
        for pair in pairs:
            conversation = await Conversation.get(partnership_id=pair.partnership.id)
            [seen] = await attachments_of(api, pair.partner_user, str(conversation.id))
            got = await api.client.get(
                seen["downloadUrl"],
                headers={"authorization": f"Bearer {bearer(pair.partner_user.id)}"},
            )
            assert got.status_code == 200 and got.content == png


class _Source:
    def __init__(self, data: bytes) -> None:
        from io import BytesIO

        self.buffer = BytesIO(data)

    async def read(self, size: int = -1) -> bytes:
        return self.buffer.read(size)


async def test_a_scan_reads_the_object_without_a_head_first(
    app: Any,
    app_settings: Settings,
    s3_server: S3Server,
    clamd_socket: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Opening the reader is the existence check (one round trip less per scan); an object
    that is gone makes the attachment FAILED, not an outage."""

    async def no_head(self: S3BlobStore, key: str) -> int:
        raise AssertionError("the scan sent a HEAD before opening its reader")

    monkeypatch.setattr(S3BlobStore, "size", no_head)
    settings = dict(blob_url=s3_server.url, clamd=clamd_socket, data_dir=tmp_path)
    async with scanning_app(app_settings, **settings) as (application, api):
        pair = await make_pair()
        sent = await send_files(api, pair, [("logo.png", (CORPUS / "valid.png").read_bytes())])
        [attachment_id] = [a["id"] for a in sent["message"]["attachments"]]
        assert (await wait_final([attachment_id]))[attachment_id] is ScanStatus.CLEAN
        row = await Blob.get(id=attachment_id)  # a single send's blob has the attachment's id
        queue = application.state.rt.scans
        await queue.blobs.delete(row.storage_key)
        await Blob.filter(id=row.id).update(scan_status=ScanStatus.PENDING)
        outcome = await scan_blob(
            row.id,
            scanner=queue.scanner,
            blobs=queue.blobs,
            notifier=queue.notifier,
            max_attempts=3,
        )
        assert outcome == Finished(
            ScanStatus.FAILED, row.scan_attempts + 1, "stored file is missing"
        )


async def test_the_orphan_sweep_lists_the_bucket_once_per_interval(
    app: Any, s3_server: S3Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    listed: list[timedelta] = []
    original = S3BlobStore.keys_older_than

    async def counting(self: S3BlobStore, age: timedelta) -> list[str]:
        listed.append(age)
        return await original(self, age)

    monkeypatch.setattr(S3BlobStore, "keys_older_than", counting)
    store = S3BlobStore(s3_server.url, tmp_path)
    hourly = OrphanSweeper(store, interval=3600)
    for _ in range(3):
        await hourly.maybe_sweep()
    assert len(listed) == 1  # the first sweep only, then not for an hour
    always = OrphanSweeper(store, interval=0)
    for _ in range(3):
        await always.maybe_sweep()
    assert len(listed) == 4
    env = {"LIAISON_BLOB_SWEEP_INTERVAL": "600", "LIAISON_JWT_SECRET": "x" * 40}
    assert Settings.from_env(env).scan_policy.orphan_sweep_interval == 600
    assert Settings(database_url="sqlite://:memory:").scan_policy.orphan_sweep_interval == 3600
