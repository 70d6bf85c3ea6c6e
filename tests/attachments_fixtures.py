"""Apps with their own scanning settings (clamd socket, Redis), and upload helpers.

An app here is built like conftest's: ``create_app`` + its lifespan + ``httpx.ASGITransport``,
on the same database and data directory as the session ``app`` (which must be running: the
lifespan runs in a Tortoise context of its own, see `scanning_app`).
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import tortoise.context as tortoise_context
from starlette.applications import Starlette

from gql.app import create_app
from gql.settings import Settings
from models import Attachment, Message, ScanStatus, User
from services.scanning import ScanPolicy
from tests.conftest import JWT_SECRET
from tests.factories import SEND, Api, Pair

CORPUS = Path(__file__).resolve().parent / "corpus"
MANIFEST: dict[str, Any] = json.loads((CORPUS / "manifest.json").read_text())
# Retries a test can wait for; the defaults (1 s doubling to 60 s) are for production.
FAST = ScanPolicy(retry_base=0.2, retry_cap=1.0, sweep_interval=3600, sweep_age=3600)

ATTACHMENT = "query($id: ID!) { conversation(id: $id) { messages(last: 1) { edges { node { attachments { id filename contentType size scanStatus downloadUrl } } } } } }"


@asynccontextmanager
async def scanning_app(
    settings: Settings, policy: ScanPolicy = FAST, **overrides: Any
) -> AsyncIterator[tuple[Starlette, Api]]:
    """An app whose settings differ from the session app's by ``overrides``.

    It runs in a Tortoise context of its own: initialising the ORM again in the session app's
    context closed that context's connections under the session app's background tasks (the
    bulk sweeper), whose query in flight then reconnected through a client nobody owned any
    more. Its aiosqlite thread is not a daemon, so the test process never exited (CI waited
    80 minutes after the summary), and the orphan's collection failed unrelated tests."""
    application = create_app(settings.with_overrides(**overrides))
    queue = application.state.rt.scans
    if hasattr(queue, "policy"):
        queue.policy = policy
    session_context = tortoise_context.get_current_context()
    tortoise_context._global_context = None  # the app's init makes its own context global
    previous = tortoise_context._current_context.set(tortoise_context.TortoiseContext())
    try:
        async with application.router.lifespan_context(application):
            transport = httpx.ASGITransport(app=application)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://testserver"
            ) as client:
                yield application, Api(client, JWT_SECRET)
    finally:
        tortoise_context._current_context.reset(previous)
        tortoise_context._global_context = session_context


async def send_files(
    api: Api,
    pair: Pair,
    files: list[tuple[str, bytes]],
    *,
    user: User | None = None,
    body: str = "files",
) -> dict[str, Any]:
    """sendMessage with ``files`` as (upload name, bytes); the payload, asserting a 200."""
    user = user or pair.brand_user
    recipient = pair.partner if user.id == pair.brand_user.id else pair.brand
    variables = {
        "input": {
            "recipientAccountId": str(recipient.id),
            "body": body,
            "attachments": [None] * len(files),
        }
    }
    spec = {
        f"input.attachments.{i}": (name, data, "application/octet-stream")
        for i, (name, data) in enumerate(files)
    }
    response = await api.upload(SEND, variables, spec, user=user)
    assert response.status_code == 200, response.text
    body_json: dict[str, Any] = response.json()
    assert "errors" not in body_json, body_json
    payload: dict[str, Any] = body_json["data"]["sendMessage"]
    return payload


async def attachments_of(api: Api, user: User, conversation_id: str) -> list[dict[str, Any]]:
    data = await api.data(ATTACHMENT, {"id": conversation_id}, user=user)
    edges = data["conversation"]["messages"]["edges"]
    result: list[dict[str, Any]] = edges[0]["node"]["attachments"]
    return result


async def wait_for(
    check: Callable[[], Awaitable[bool]], within: float = 30.0, what: str = "condition"
) -> None:
    deadline = time.monotonic() + within
    while not await check():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {within}s waiting for {what}")
        await asyncio.sleep(0.05)


async def wait_final(ids: list[str], within: float = 30.0) -> dict[str, ScanStatus]:
    """Wait until every attachment left PENDING; their statuses."""
    uuids = [uuid.UUID(i) for i in ids]

    async def done() -> bool:
        return not await Attachment.filter(id__in=uuids, scan_status=ScanStatus.PENDING).exists()

    await wait_for(done, within, "scans to finish")
    rows = await Attachment.filter(id__in=uuids)
    return {str(r.id): r.scan_status for r in rows}


def stored_files(data_dir: Path) -> set[str]:
    """Every file under the blob store, temp files included."""
    root = data_dir / "blobs"
    return (
        {str(p.relative_to(root)) for p in root.rglob("*") if p.is_file()}
        if root.exists()
        else set()
    )


async def stored_rows(pair: Pair) -> tuple[int, int]:
    """(messages, attachments) of the pair's accounts."""
    senders = [pair.brand.id, pair.partner.id]
    messages = await Message.filter(sender_account_id__in=senders).count()
    attachments = await Attachment.filter(message__sender_account_id__in=senders).count()
    return messages, attachments


def padded_pdf(size: int) -> bytes:
    """The corpus's valid PDF grown to exactly ``size`` bytes with comment lines before %%EOF."""
    head = (CORPUS / "valid.pdf").read_bytes().rpartition(b"%%EOF")[0]
    room = size - len(head) - len(b"%%EOF\n")
    line = b"%" + b"x" * 1022 + b"\n"
    padding = line * (room // len(line))
    rest = room - len(padding)
    if rest == 1:
        padding += b"\n"
    elif rest > 1:
        padding += b"%" + b"y" * (rest - 2) + b"\n"
    data = head + padding + b"%%EOF\n"
    assert len(data) == size
    return data
