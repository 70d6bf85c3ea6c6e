"""The npm `graphql-ws` client, unmodified, subscribes and receives an event."""

from __future__ import annotations

import asyncio
import json
import shutil
from pathlib import Path

import httpx
import pytest

from tests import realtime_fixtures
from tests.factories import make_pair
from tests.realtime_fixtures import Server, bearer, http_send

JS = Path(__file__).parent / "js"

cluster, server = realtime_fixtures.cluster, realtime_fixtures.server
pytestmark = realtime_fixtures.POSTGRES_ONLY


@pytest.fixture(scope="session")
def node_client() -> Path:
    assert shutil.which("node"), (
        "node is needed for the graphql-ws client test (scripts/test.sh installs it)"
    )
    if not (JS / "node_modules" / "graphql-ws").exists():
        subprocess_run = shutil.which("npm")
        assert subprocess_run, "npm is needed to install tests/js"
        import subprocess

        subprocess.run([subprocess_run, "ci", "--no-audit", "--no-fund"], cwd=JS, check=True)
    return JS / "subscribe.mjs"


async def test_graphql_ws_npm_client_receives_a_message(server: Server, node_client: Path) -> None:
    pair = await make_pair()
    node = await asyncio.create_subprocess_exec(
        "node",
        str(node_client),
        server.ws_url,
        bearer(pair.partner_user.id),
        "1",
        stdout=asyncio.subprocess.PIPE,
    )
    assert node.stdout is not None
    try:
        first = json.loads(await asyncio.wait_for(node.stdout.readline(), 15))
        assert first == {"connected": True}
        await server.wait_subscriptions(1)  # the subscribe message follows the ack
        async with httpx.AsyncClient(timeout=30) as http:
            await http_send(http, server.http_url, pair.brand_user.id, pair.partner.id, "from JS")
        result = json.loads(await asyncio.wait_for(node.stdout.readline(), 15))
        assert await asyncio.wait_for(node.wait(), 15) == 0
    finally:
        if node.returncode is None:
            node.kill()
            await node.wait()
    event = result["data"]["inboxEvents"]
    assert event["__typename"] == "MessageCreated"
    assert event["message"]["body"] == "from JS"
    assert event["cursor"]
