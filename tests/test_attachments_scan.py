"""Scanning with the in-process queue against the real clamd, and GET /attachments/{id}."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any
from urllib.parse import quote

import pytest
from prometheus_client import REGISTRY

from gql.settings import Settings
from models import AccountKind, Attachment, ScanStatus
from tests.attachments_fixtures import (
    CORPUS,
    attachments_of,
    padded_pdf,
    scanning_app,
    send_files,
    wait_final,
    wait_for,
)
from tests.clamd_fixtures import clamd, clamd_socket, private_clamd
from tests.factories import Api, make_account, make_pair, make_user

__all__ = ["clamd_socket", "private_clamd"]  # fixtures used by name below

CLEAN_FILES = [
    ("valid.pdf", "brief.pdf", "application/pdf"),
    ("valid.png", "logo.png", "image/png"),
    ("valid.jpg", "photo.jpg", "image/jpeg"),
    ("valid89a.gif", "anim.gif", "image/gif"),
    ("comma.csv", "sales.csv", "text/csv"),
]


@pytest.fixture
async def scanned(app: Any, app_settings: Settings, clamd_socket: str) -> AsyncIterator[Api]:
    """An app with an in-process scan worker on the shared clamd."""
    async with scanning_app(app_settings, clamd=clamd_socket) as (_, api):
        yield api


async def download(api: Api, url: str, token: str | None) -> Any:
    headers = {"authorization": f"Bearer {token}"} if token else {}
    return await api.client.get(url, headers=headers)


def scan_count(status: str) -> float:
    return REGISTRY.get_sample_value("liaison_scan_jobs_total", {"status": status}) or 0.0


async def test_eicar_is_infected_and_never_downloadable(scanned: Api) -> None:
    pair = await make_pair()
    infected_before = scan_count("INFECTED")
    sent = await send_files(scanned, pair, [("test.csv", (CORPUS / "eicar_in.csv").read_bytes())])
    assert sent["errors"] == []
    [attachment] = sent["message"]["attachments"]
    assert attachment["scanStatus"] in ("PENDING", "INFECTED")  # the scan may be that fast
    assert attachment["downloadUrl"] is None
    statuses = await wait_final([attachment["id"]])
    assert statuses[attachment["id"]] is ScanStatus.INFECTED
    assert scan_count("INFECTED") == infected_before + 1  # what /metrics reports
    row = await Attachment.get(id=attachment["id"])
    assert row.scan_detail and "EICAR" in row.scan_detail and row.scanned_at is not None
    [seen] = await attachments_of(scanned, pair.partner_user, sent["conversation"]["id"])
    assert seen["scanStatus"] == "INFECTED" and seen["downloadUrl"] is None
    for user in (pair.brand_user, pair.partner_user):
        response = await download(scanned, f"/attachments/{attachment['id']}", scanned.token(user))
        assert response.status_code == 404
        assert b"EICAR" not in response.content


@pytest.mark.parametrize(("name", "upload_as", "content_type"), CLEAN_FILES)
async def test_clean_files_are_downloaded_byte_for_byte(
    scanned: Api, name: str, upload_as: str, content_type: str
) -> None:
    pair = await make_pair()
    data = (CORPUS / name).read_bytes()
    sent = await send_files(scanned, pair, [(upload_as, data)])
    [attachment] = sent["message"]["attachments"]
    assert (await wait_final([attachment["id"]]))[attachment["id"]] is ScanStatus.CLEAN
    [seen] = await attachments_of(scanned, pair.partner_user, sent["conversation"]["id"])
    assert seen["scanStatus"] == "CLEAN"
    assert seen["downloadUrl"] == f"/attachments/{attachment['id']}"
    for user in (pair.partner_user, pair.brand_user):
        response = await download(scanned, seen["downloadUrl"], scanned.token(user))
        assert response.status_code == 200
        assert response.content == data
        assert response.headers["content-type"].split(";")[0] == content_type
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["cache-control"] == "private, no-store"
        assert response.headers["content-length"] == str(len(data))
        assert response.headers["content-disposition"] == (
            f"attachment; filename=\"{upload_as}\"; filename*=UTF-8''{upload_as}"
        )


async def test_download_filename_is_safe_and_exact(scanned: Api) -> None:
    pair = await make_pair()
    sent = await send_files(
        scanned, pair, [('rés"umé; x\u202e.pdf', (CORPUS / "valid.pdf").read_bytes())]
    )
    [attachment] = sent["message"]["attachments"]
    await wait_final([attachment["id"]])
    response = await download(
        scanned, f"/attachments/{attachment['id']}", scanned.token(pair.partner_user)
    )
    assert response.status_code == 200
    disposition = response.headers["content-disposition"]
    assert disposition.isascii()
    ascii_part, _, exact = disposition.partition("; filename*=UTF-8''")
    assert ascii_part.startswith('attachment; filename="') and ascii_part.count('"') == 2
    assert exact == quote(attachment["filename"], safe="")
    assert "\u202e" not in attachment["filename"]


async def test_download_access_rules(scanned: Api) -> None:
    pair = await make_pair()
    sent = await send_files(scanned, pair, [("logo.png", (CORPUS / "valid.png").read_bytes())])
    [attachment] = sent["message"]["attachments"]
    await wait_final([attachment["id"]])
    url = f"/attachments/{attachment['id']}"

    for token in (None, "not-a-jwt", scanned.token(pair.brand_user)[:-3] + "abc"):
        response = await download(scanned, url, token)
        assert response.status_code == 401
        assert response.json()["errors"][0]["extensions"]["code"] == "UNAUTHENTICATED"

    analyst = await make_user(pair.brand, "ANALYST")
    response = await download(scanned, url, scanned.token(analyst))
    assert response.status_code == 403
    assert response.json()["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"

    stranger = await make_user(await make_account(AccountKind.BRAND))
    other = await make_pair(brand=pair.brand)  # same brand, another partner: not in it
    not_found = [
        (stranger, url),
        (other.partner_user, url),
        (pair.partner_user, f"/attachments/{uuid.uuid4()}"),
        (pair.partner_user, "/attachments/not-a-uuid"),
    ]
    bodies = set()
    for user, target in not_found:
        response = await download(scanned, target, scanned.token(user))
        assert response.status_code == 404, target
        bodies.add(response.content)
    assert len(bodies) == 1
    traversal = "/attachments/..%2F..%2Fetc%2Fpasswd"
    assert (await download(scanned, traversal, scanned.token(pair.partner_user))).status_code == 404


async def test_pending_is_not_downloadable(api: Api) -> None:
    """The session app has no clamd: attachments stay PENDING, never downloadable."""
    pair = await make_pair()
    sent = await send_files(api, pair, [("logo.png", (CORPUS / "valid.png").read_bytes())])
    [attachment] = sent["message"]["attachments"]
    assert attachment["scanStatus"] == "PENDING" and attachment["downloadUrl"] is None
    response = await download(api, f"/attachments/{attachment['id']}", api.token(pair.partner_user))
    assert response.status_code == 404
    row = await Attachment.get(id=attachment["id"])
    assert row.scan_status is ScanStatus.PENDING and row.scan_attempts == 0


async def test_clamd_down_stays_pending_then_clean_when_back(
    app: Any, app_settings: Settings, private_clamd: tuple[Path, str]
) -> None:
    run_dir, socket_path = private_clamd
    clamd("stop", run_dir)
    # One attempt only: clamd being down is not the file's fault and costs it none.
    async with scanning_app(app_settings, clamd=socket_path, scan_max_attempts=1) as (_, api):
        pair = await make_pair()
        sent = await send_files(api, pair, [("logo.png", (CORPUS / "valid.png").read_bytes())])
        [attachment] = sent["message"]["attachments"]

        async def outage_recorded() -> bool:
            row = await Attachment.get(id=attachment["id"])
            return bool(row.scan_detail and "clamd unavailable" in row.scan_detail)

        await wait_for(outage_recorded, 30, "the outage recorded on the attachment")
        await asyncio.sleep(3)  # several retries (backoff 0.2 s) while clamd is away
        row = await Attachment.get(id=attachment["id"])
        assert row.scan_status is ScanStatus.PENDING and row.scan_attempts == 0
        [seen] = await attachments_of(api, pair.partner_user, sent["conversation"]["id"])
        assert seen["scanStatus"] == "PENDING" and seen["downloadUrl"] is None

        clamd("start", run_dir)
        assert (await wait_final([attachment["id"]]))[attachment["id"]] is ScanStatus.CLEAN


async def test_after_max_attempts_failed_and_not_downloadable(
    app: Any,
    app_settings: Settings,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A clamd that is up but refuses this file (over its StreamMaxLength): each attempt counts.
    monkeypatch.setenv("CLAMD_STREAM_MAX_LENGTH", "1K")
    run_dir = tmp_path / "clamd-1k"
    socket_path = clamd("start", run_dir)
    try:
        async with scanning_app(app_settings, clamd=socket_path, scan_max_attempts=3) as (_, api):
            pair = await make_pair()
            sent = await send_files(api, pair, [("report.pdf", padded_pdf(64 * 1024))])
            [attachment] = sent["message"]["attachments"]
            assert (await wait_final([attachment["id"]]))[attachment["id"]] is ScanStatus.FAILED
            row = await Attachment.get(id=attachment["id"])
            assert row.scan_attempts == 3
            response = await download(
                api, f"/attachments/{attachment['id']}", api.token(pair.partner_user)
            )
            assert response.status_code == 404
    finally:
        clamd("stop", run_dir)


async def _at_least(read: Any, n: int) -> bool:
    return int(await read()) >= n
