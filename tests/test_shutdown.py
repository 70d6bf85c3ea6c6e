"""SIGTERM to a real `liaison serve` during a send loop: no acknowledged message is lost,
in-flight requests are answered, websockets are closed with 1012, the process exits 0."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import pytest

from gql.settings import Settings
from models import Message
from services.auth import issue_token
from tests.conftest import JWT_SECRET
from tests.factories import SEND, make_pair
from tests.realtime_fixtures import INBOX_EVENTS, GqlWs, WsClosed, server_env, start_server

LOOPS = 6


async def _send_loop(
    url: str, token: str, recipient: str, acked: list[tuple[str, float]], stop: asyncio.Event
) -> None:
    async with httpx.AsyncClient(timeout=15) as client:
        while not stop.is_set():
            variables = {
                "input": {
                    "recipientAccountId": recipient,
                    "body": "loop",
                    "clientMessageId": uuid.uuid4().hex,
                }
            }
            try:
                response = await client.post(
                    url,
                    json={"query": SEND, "variables": variables},
                    headers={"authorization": f"Bearer {token}"},
                )
            except httpx.HTTPError:
                return  # the server stopped accepting: this request was never acknowledged
            if response.status_code != 200:
                return
            payload = response.json()["data"]["sendMessage"]
            if payload["errors"]:
                return
            acked.append((payload["message"]["id"], time.monotonic()))


@pytest.mark.parametrize("backend", ["postgres"], indirect=True)
async def test_sigterm_during_a_send_loop_loses_no_acknowledged_message(
    app: Any, app_settings: Settings, tmp_path: Path
) -> None:
    pair = await make_pair()
    server = start_server(
        server_env(app_settings.database_url, app_settings.data_dir, None), tmp_path
    )
    try:
        token = issue_token(JWT_SECRET, pair.brand_user.id)
        partner_token = issue_token(JWT_SECRET, pair.partner_user.id)
        async with GqlWs.connect(server.ws_url, partner_token) as ws:
            await ws.connection.send(
                json.dumps({"id": "1", "type": "subscribe", "payload": {"query": INBOX_EVENTS}})
            )
            acked: list[tuple[str, float]] = []
            stop = asyncio.Event()
            loops = [
                asyncio.create_task(
                    _send_loop(server.http_url, token, str(pair.partner.id), acked, stop)
                )
                for _ in range(LOOPS)
            ]

            async def enough_acknowledged() -> None:
                while len(acked) < 30:  # noqa: ASYNC110 (polling a plain list)
                    await asyncio.sleep(0.02)

            await asyncio.wait_for(enough_acknowledged(), 30)
            terminated_at = time.monotonic()
            os.kill(server.process.pid, signal.SIGTERM)
            closed_code = None
            try:
                while True:
                    await ws.receive(within=15)
            except WsClosed as closed:
                closed_code = closed.code
            await asyncio.wait_for(asyncio.gather(*loops), 30)
            stop.set()
        exit_code = await asyncio.to_thread(server.process.wait, 30)
    finally:
        server.stop()
    log = server.log.read_text()
    # uvicorn re-raises the signal once it has shut down gracefully.
    assert exit_code in (0, -signal.SIGTERM), log
    assert "timeout graceful shutdown exceeded" not in log
    access = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    assert any(
        e["message"] == "request"
        and e["operation"] == "Send"
        and e["user_id"] == str(pair.brand_user.id)
        and e["status"] == 200
        for e in access
    ), log
    assert closed_code == 1012
    ids = [message_id for message_id, _ in acked]
    stored = await Message.filter(id__in=ids).count()
    assert stored == len(ids), "an acknowledged message is missing"
    answered_after = sum(1 for _, at in acked if at > terminated_at)
    print(f"acknowledged {len(ids)} messages, {answered_after} answered after SIGTERM")
