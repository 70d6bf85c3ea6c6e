"""Attachments on bulk sends, through the public API on SQLite and PostgreSQL: the files are
stored and scanned once, every message carries them, the verdict applies to all."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY
from tortoise.exceptions import IntegrityError

from gql.settings import Settings
from models import (
    AccountKind,
    Attachment,
    Blob,
    BulkAttachment,
    BulkSend,
    Event,
    EventKind,
    Message,
    ScanStatus,
)
from services.ratelimit import MemoryRateLimiter, SendRateLimits
from tests.attachments_fixtures import CORPUS, scanning_app, stored_files, wait_for
from tests.clamd_fixtures import clamd_socket
from tests.factories import Api, Pair, make_account, make_pair, make_user
from tests.test_bulk import wait_done

__all__ = ["clamd_socket"]

SEND_BULK = """
mutation($input: SendBulkMessageInput!) {
  sendBulkMessage(input: $input) {
    bulkSend { id total attachments { filename contentType size scanStatus } }
    errors { code field }
  }
}"""
BULK = """
query($id: ID!) {
  bulkSend(id: $id) {
    status sent attachments { filename contentType size scanStatus }
    recipients(first: 50) { edges { node { outcome partner { id } message { id } } } }
  }
}"""
INBOX = """
{ inbox(first: 10) { edges { node { id unreadCount lastMessage { body attachments {
    id filename contentType size scanStatus downloadUrl } } } } } }"""
SEARCH = "query($q: String!) { searchMessages(query: $q) { edges { node { id body } } } }"


@pytest.fixture
async def scanned(app: Any, app_settings: Settings, clamd_socket: str) -> AsyncIterator[Api]:
    """An app scanning in process on the shared clamd (and running its bulk sends)."""
    async with scanning_app(app_settings, clamd=clamd_socket) as (_, api):
        yield api


async def brand_with_partners(count: int) -> tuple[Any, Any, list[Pair]]:
    brand = await make_account(AccountKind.BRAND, "Acme")
    sender = await make_user(brand, "COMMUNITY_MANAGER")
    pairs = [await make_pair(brand=brand, partner_name=f"Partner {n}") for n in range(count)]
    return brand, sender, pairs


async def send_bulk(
    api: Api,
    sender: Any,
    files: list[tuple[str, bytes]],
    *,
    body: str = "Hi {{partner.name}}, the new logo",
    preflight: bool = True,
    client_bulk_id: str | None = None,
) -> Any:
    variables: dict[str, Any] = {
        "input": {"partnerFilter": {}, "body": body, "attachments": [None] * len(files)}
    }
    if client_bulk_id is not None:
        variables["input"]["clientBulkId"] = client_bulk_id
    spec = {
        f"input.attachments.{i}": (name, data, "application/octet-stream")
        for i, (name, data) in enumerate(files)
    }
    return await api.upload(SEND_BULK, variables, spec, user=sender, preflight=preflight)


def scans(status: str) -> float:
    return REGISTRY.get_sample_value("liaison_scan_jobs_total", {"status": status}) or 0.0


async def scanned_blob(bulk_id: str) -> Blob:
    """The bulk send's one file's blob once its scan has a verdict."""
    [file] = await BulkAttachment.filter(bulk_send_id=bulk_id)

    async def done() -> bool:
        blob = await Blob.get(id=file.blob_id)  # type: ignore[attr-defined]
        return blob.scan_status is not ScanStatus.PENDING

    await wait_for(done, 60, "the bulk send's file to be scanned")
    return await Blob.get(id=file.blob_id)  # type: ignore[attr-defined]


async def received(api: Api, pair: Pair) -> dict[str, Any]:
    """The partner's one conversation in its inbox."""
    [edge] = (await api.data(INBOX, user=pair.partner_user))["inbox"]["edges"]
    node: dict[str, Any] = edge["node"]
    return node


async def download(api: Api, url: str, user: Any) -> Any:
    return await api.client.get(url, headers={"authorization": f"Bearer {api.token(user)}"})


async def test_a_png_is_stored_and_scanned_once_for_every_recipient(
    scanned: Api, app_settings: Settings
) -> None:
    _, sender, pairs = await brand_with_partners(3)
    png = (CORPUS / "valid.png").read_bytes()
    files_before = stored_files(app_settings.data_dir)
    clean_before = scans("CLEAN")
    response = await send_bulk(scanned, sender, [("logo.png", png)])
    assert response.status_code == 200, response.text
    payload = response.json()["data"]["sendBulkMessage"]
    assert payload["errors"] == []
    bulk = payload["bulkSend"]
    assert bulk["total"] == 3
    assert bulk["attachments"][0]["filename"] == "logo.png"
    assert bulk["attachments"][0]["contentType"] == "image/png"
    assert bulk["attachments"][0]["size"] == len(png)
    done = await wait_done(scanned, sender, bulk["id"])
    assert done["sent"] == 3
    blob = await scanned_blob(bulk["id"])
    assert blob.scan_status is ScanStatus.CLEAN and blob.scan_attempts == 1
    # Stored once (one new file in the store), scanned once (one CLEAN scan).
    assert len(stored_files(app_settings.data_dir) - files_before) == 1
    assert scans("CLEAN") == clean_before + 1
    assert (await scanned.data(BULK, {"id": bulk["id"]}, user=sender))["bulkSend"]["attachments"][
        0
    ]["scanStatus"] == "CLEAN"
    attachment_ids = []
    for pair in pairs:
        node = await received(scanned, pair)
        assert node["unreadCount"] == 1
        assert node["lastMessage"]["body"] == f"Hi {pair.partner.name}, the new logo"
        [attachment] = node["lastMessage"]["attachments"]
        assert attachment["filename"] == "logo.png" and attachment["scanStatus"] == "CLEAN"
        attachment_ids.append(attachment["id"])
        # A download by any recipient (and by the brand) is the same bytes.
        for user in (pair.partner_user, sender):
            got = await download(scanned, attachment["downloadUrl"], user)
            assert got.status_code == 200 and got.content == png
        # Searchable by the attachment's filename, like a single send's.
        found = await scanned.data(SEARCH, {"q": "logo.png"}, user=pair.partner_user)
        assert len(found["searchMessages"]["edges"]) == 1
        # Another tenant gets the same 404 as for a missing attachment.
        other = await make_user(await make_account(AccountKind.BRAND))
        assert (await download(scanned, attachment["downloadUrl"], other)).status_code == 404
    assert len(set(attachment_ids)) == 3  # one attachment per message, all on one blob
    rows = await Attachment.filter(id__in=attachment_ids)
    assert {r.blob_id for r in rows} == {blob.id}  # type: ignore[attr-defined]
    assert {r.storage_key for r in rows} == {blob.storage_key}
    # Sweeping temp files of the file store leaves the shared blob alone.
    await scanned_rt_blobs(scanned).sweep_tmp(older_than_seconds=0)
    node = await received(scanned, pairs[0])
    got = await download(scanned, node["lastMessage"]["attachments"][0]["downloadUrl"], sender)
    assert got.status_code == 200 and got.content == png


def scanned_rt_blobs(api: Api) -> Any:
    transport: Any = api.client._transport  # httpx.ASGITransport
    return transport.app.state.rt.blobs


async def test_eicar_is_infected_for_every_recipient(scanned: Api) -> None:
    _, sender, pairs = await brand_with_partners(2)
    infected_before = scans("INFECTED")
    response = await send_bulk(
        scanned, sender, [("test.csv", (CORPUS / "eicar_in.csv").read_bytes())]
    )
    payload = response.json()["data"]["sendBulkMessage"]
    assert payload["errors"] == []
    bulk_id = payload["bulkSend"]["id"]
    await wait_done(scanned, sender, bulk_id)
    blob = await scanned_blob(bulk_id)
    assert blob.scan_status is ScanStatus.INFECTED and "EICAR" in (blob.scan_detail or "")
    assert scans("INFECTED") == infected_before + 1
    bulk = (await scanned.data(BULK, {"id": bulk_id}, user=sender))["bulkSend"]
    assert bulk["attachments"][0]["scanStatus"] == "INFECTED"
    for pair in pairs:
        [attachment] = (await received(scanned, pair))["lastMessage"]["attachments"]
        assert attachment["scanStatus"] == "INFECTED" and attachment["downloadUrl"] is None
        for user in (pair.partner_user, sender):
            got = await download(scanned, f"/attachments/{attachment['id']}", user)
            assert got.status_code == 404 and b"EICAR" not in got.content


async def test_a_verdict_after_the_messages_reaches_every_conversation(
    api: Api, app_settings: Settings, clamd_socket: str
) -> None:
    """The session app has no clamd: the messages go out with the file PENDING; a scanning
    app's sweep then scans it once, and each recipient's attachment becomes CLEAN with an
    AttachmentScanned event in its conversation."""
    _, sender, pairs = await brand_with_partners(3)
    png = (CORPUS / "valid.png").read_bytes()
    payload = (await send_bulk(api, sender, [("logo.png", png)])).json()["data"]
    bulk_id = payload["sendBulkMessage"]["bulkSend"]["id"]
    await wait_done(api, sender, bulk_id)
    for pair in pairs:
        [attachment] = (await received(api, pair))["lastMessage"]["attachments"]
        assert attachment["scanStatus"] == "PENDING" and attachment["downloadUrl"] is None
    async with scanning_app(app_settings, clamd=clamd_socket) as (application, scanning):
        await application.state.rt.scans.sweep(older_than=0)
        blob = await scanned_blob(bulk_id)
        assert blob.scan_status is ScanStatus.CLEAN and blob.scan_attempts == 1
        for pair in pairs:
            conversation = (await received(scanning, pair))["id"]
            [attachment] = (await received(scanning, pair))["lastMessage"]["attachments"]
            assert attachment["scanStatus"] == "CLEAN"
            got = await download(scanning, attachment["downloadUrl"], pair.partner_user)
            assert got.status_code == 200 and got.content == png
            for account in (pair.partner.id, sender.account_id):  # type: ignore[attr-defined]
                events = await Event.filter(
                    account_id=account,
                    kind=EventKind.ATTACHMENT_SCANNED,
                    attachment_id=attachment["id"],
                )
                assert [str(e.conversation_id) for e in events] == [conversation]  # type: ignore[attr-defined]


async def test_refused_files_create_no_bulk_send_and_store_nothing(
    api: Api, app_settings: Settings
) -> None:
    brand, sender, _ = await brand_with_partners(2)
    files_before = stored_files(app_settings.data_dir)
    blobs_before = await Blob.all().count()
    png = (CORPUS / "valid.png").read_bytes()
    cases = [
        ([("ok.png", png), ("page.png", (CORPUS / "html_as.png").read_bytes())], None),
        ([("run.pdf", (CORPUS / "pdf_javascript.pdf").read_bytes())], None),
        ([(f"{n}.png", png) for n in range(11)], "TOO_MANY_ATTACHMENTS"),
    ]
    for files, code in cases:
        response = await send_bulk(api, sender, files)
        payload = response.json()["data"]["sendBulkMessage"]
        assert payload["bulkSend"] is None
        assert [e["code"] for e in payload["errors"]] == [code or "ATTACHMENT_TYPE_NOT_ALLOWED"]
    # Without the CSRF preflight header the request is refused before anything is read.
    refused = await send_bulk(api, sender, [("ok.png", png)], preflight=False)
    assert refused.status_code == 400
    assert not await BulkSend.filter(account_id=brand.id).exists()
    assert not await Message.filter(sender_account_id=brand.id).exists()
    assert await Blob.all().count() == blobs_before
    assert stored_files(app_settings.data_dir) == files_before


async def test_client_bulk_id_replays_with_the_same_files_only(api: Api) -> None:
    _, sender, _ = await brand_with_partners(1)
    png = (CORPUS / "valid.png").read_bytes()
    first = (await send_bulk(api, sender, [("a.png", png)], client_bulk_id="nl")).json()
    bulk_id = first["data"]["sendBulkMessage"]["bulkSend"]["id"]
    again = (await send_bulk(api, sender, [("a.png", png)], client_bulk_id="nl")).json()
    assert again["data"]["sendBulkMessage"]["bulkSend"]["id"] == bulk_id
    other = (CORPUS / "valid89a.gif").read_bytes()
    conflict = (await send_bulk(api, sender, [("a.gif", other)], client_bulk_id="nl")).json()
    assert conflict["data"]["sendBulkMessage"]["errors"][0]["code"] == "IDEMPOTENCY_CONFLICT"
    assert await BulkAttachment.filter(bulk_send_id=bulk_id).count() == 1
    assert await Blob.filter(bulk_attachments__bulk_send_id=bulk_id).count() == 1


async def test_a_blob_outlives_any_one_message(api: Api, app_settings: Settings) -> None:
    """Removing one message (and its attachment) leaves the blob the others carry; the
    database refuses to delete a blob that attachments still point at."""
    _, sender, pairs = await brand_with_partners(2)
    png = (CORPUS / "valid.png").read_bytes()
    payload = (await send_bulk(api, sender, [("logo.png", png)])).json()["data"]
    bulk_id = payload["sendBulkMessage"]["bulkSend"]["id"]
    await wait_done(api, sender, bulk_id)
    [file] = await BulkAttachment.filter(bulk_send_id=bulk_id)
    blob = await Blob.get(id=file.blob_id)  # type: ignore[attr-defined]
    first, second = [(await received(api, p))["lastMessage"]["attachments"][0] for p in pairs]
    row = await Attachment.get(id=first["id"])
    await Message.filter(id=row.message_id).delete()  # type: ignore[attr-defined]
    assert not await Attachment.filter(id=first["id"]).exists()
    assert await Attachment.filter(id=second["id"], blob_id=blob.id).exists()
    with pytest.raises(IntegrityError):
        await Blob.filter(id=blob.id).delete()
    path = Path(app_settings.data_dir) / "blobs" / blob.storage_key
    assert path.read_bytes() == png


async def test_files_are_charged_to_the_upload_rate_limit(
    api: Api, app: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A bulk send with files is charged like a sendMessage with them: the bytes count
    against the account's upload budget, and a refusal creates nothing."""
    limits = SendRateLimits(
        MemoryRateLimiter(), per_user=100, per_account=100, upload_bytes=100, window=60.0
    )
    monkeypatch.setattr(app.state.rt, "send_limits", limits)
    brand, sender, _ = await brand_with_partners(1)
    png = (CORPUS / "valid.png").read_bytes()  # 70 bytes: one fits in 100, two do not
    first = (await send_bulk(api, sender, [("a.png", png)])).json()["data"]["sendBulkMessage"]
    assert first["errors"] == []
    second = (await send_bulk(api, sender, [("b.png", png)])).json()["data"]["sendBulkMessage"]
    assert second["bulkSend"] is None
    assert [e["code"] for e in second["errors"]] == ["RATE_LIMITED"]
    assert await BulkSend.filter(account_id=brand.id).count() == 1
    # Without files a bulk send stores nothing and is not charged.
    plain = await api.data(SEND_BULK, {"input": {"partnerFilter": {}, "body": "x"}}, user=sender)
    assert plain["sendBulkMessage"]["errors"] == []
    await limits.close()
