"""Uploads: a wrong recipient is refused before any file is processed; sniffing runs off the
event loop (docs/security.md)."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path
from typing import Any

import pytest

from models import AccountKind, PartnershipStatus
from services import attachments
from tests.attachments_fixtures import CORPUS, padded_pdf
from tests.factories import SEND, Api, make_account, make_pair, make_user

# Not an allowed type: were it sniffed, the answer would be ATTACHMENT_TYPE_NOT_ALLOWED.
NOT_ALLOWED = (CORPUS / "pe_as.jpg").read_bytes()


async def _send(api: Api, user: Any, recipient: str, data: bytes, **extra: Any) -> dict[str, Any]:
    variables = {
        "input": {"recipientAccountId": recipient, "body": "x", "attachments": [None], **extra}
    }
    spec = {"input.attachments.0": ("file.jpg", data, "image/jpeg")}
    response = await api.upload(SEND, variables, spec, user=user)
    assert response.status_code == 200, response.text
    payload: dict[str, Any] = response.json()["data"]["sendMessage"]
    return payload


@pytest.fixture
def sniffed(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """Names of the threads the sniffer ran on, one per sniffed file."""
    threads: list[str] = []
    original = attachments.sniff_file

    def recording(path: Path) -> str:
        threads.append(threading.current_thread().name)
        return original(path)

    monkeypatch.setattr(attachments, "sniff_file", recording)
    return threads


@pytest.mark.parametrize("recipient", [str(uuid.uuid4()), "not-an-id", "another brand"])
async def test_unknown_recipient_is_refused_before_files_are_processed(
    api: Api, data_dir: Path, sniffed: list[str], recipient: str
) -> None:
    pair = await make_pair(PartnershipStatus.ACTIVE)
    if recipient == "another brand":  # an account that exists, with no partnership
        recipient = str((await make_account(AccountKind.BRAND)).id)
    payload = await _send(api, pair.brand_user, recipient, NOT_ALLOWED)
    assert [e["code"] for e in payload["errors"]] == ["NOT_FOUND"]
    assert sniffed == []


async def test_inactive_partnership_and_missing_terms_are_refused_before_files(
    api: Api, sniffed: list[str]
) -> None:
    expired = await make_pair(PartnershipStatus.EXPIRED)
    payload = await _send(api, expired.brand_user, str(expired.partner.id), NOT_ALLOWED)
    assert [e["code"] for e in payload["errors"]] == ["PARTNERSHIP_INACTIVE"]
    brand = await make_account(AccountKind.BRAND, terms=False)
    no_terms = await make_pair(PartnershipStatus.ACTIVE, brand=brand)
    user = await make_user(brand)
    payload = await _send(api, user, str(no_terms.partner.id), NOT_ALLOWED)
    assert [e["code"] for e in payload["errors"]] == ["TERMS_NOT_ACCEPTED"]
    assert sniffed == []


async def test_files_are_sniffed_off_the_event_loop(api: Api, sniffed: list[str]) -> None:
    pair = await make_pair(PartnershipStatus.ACTIVE)
    payload = await _send(api, pair.brand_user, str(pair.partner.id), padded_pdf(64 * 1024))
    assert payload["errors"] == []
    refused = await _send(api, pair.brand_user, str(pair.partner.id), NOT_ALLOWED)
    assert [e["code"] for e in refused["errors"]] == ["ATTACHMENT_TYPE_NOT_ALLOWED"]
    assert len(sniffed) == 2
    assert threading.main_thread().name not in sniffed  # the loop runs on the main thread
