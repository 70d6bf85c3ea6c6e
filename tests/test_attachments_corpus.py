"""The upload corpus (tests/corpus/manifest.json) through sendMessage over HTTP.

Every accepted file is stored once and gets a scan job; every refusal stores nothing: no
message, no attachment row, no blob file (temp files included) and no job.
"""

from __future__ import annotations

import json
import unicodedata
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from redis.asyncio import Redis
from starlette.applications import Starlette

from gql.settings import Settings
from services.scanning.redis_queue import Keys, job_state
from tests.attachments_fixtures import (
    CORPUS,
    MANIFEST,
    padded_pdf,
    scanning_app,
    stored_files,
    stored_rows,
)
from tests.factories import SEND, Api, Pair, make_pair
from tests.realtime_fixtures import RedisServer

KEYS = Keys()
FILES: list[dict[str, Any]] = MANIFEST["files"]
MAX = Settings(database_url="sqlite://:memory:").max_attachment_bytes


@pytest.fixture(scope="module")
async def uploads(
    app: Any, app_settings: Settings, redis_server: RedisServer
) -> AsyncIterator[tuple[Starlette, Api]]:
    """A serving app whose scan queue is Redis (no worker): jobs are visible, not run."""
    async with scanning_app(app_settings, redis_url=redis_server.url) as pair:
        yield pair


def client_escapes(name: str) -> bool:
    """Whether an HTTP client must escape the name in a multipart header (HTML's rule:
    quotes and control characters are percent-encoded), so the server never sees it raw."""
    return any(ch == '"' or unicodedata.category(ch) == "Cc" for ch in name)


def assert_safe_name(shown: str, expected: str) -> None:
    assert not any(unicodedata.category(ch) in ("Cc", "Cf") for ch in shown), shown
    assert "/" not in shown and "\\" not in shown and not shown.startswith(".")
    assert shown.rsplit(".", 1)[-1] == expected.rsplit(".", 1)[-1]


class Snapshot:
    """What a refused message must leave unchanged."""

    def __init__(self, settings: Settings, pair: Pair, redis: Redis) -> None:
        self.settings, self.pair, self.redis = settings, pair, redis

    async def take(self) -> tuple[Any, ...]:
        jobs = len([k async for k in self.redis.scan_iter(match=KEYS.job("*"))])
        xlen = await self.redis.xlen(KEYS.stream)
        rows = await stored_rows(self.pair)
        return rows, jobs, xlen, stored_files(self.settings.data_dir)


async def upload(
    api: Api, pair: Pair, files: list[tuple[str, bytes]], *, preflight: bool = True
) -> httpx.Response:
    """sendMessage with ``files`` as a browser sends them: an empty name is ``filename=""``
    (httpx would leave the parameter out, which makes the part a plain field)."""
    variables = {
        "input": {
            "recipientAccountId": str(pair.partner.id),
            "body": "",
            "attachments": [None] * len(files),
        }
    }
    operations = json.dumps({"query": SEND, "variables": variables})
    mapping = {str(i): [f"variables.input.attachments.{i}"] for i in range(len(files))}
    headers = {"authorization": f"Bearer {api.token(pair.brand_user)}"}
    if preflight:
        headers["apollo-require-preflight"] = "true"
    request = api.client.build_request(
        "POST",
        "/graphql",
        data={"operations": operations, "map": json.dumps(mapping)},
        files={str(i): (n, d, "application/pdf") for i, (n, d) in enumerate(files)},
        headers=headers,
    )
    body = request.read()
    for i, (name, _) in enumerate(files):
        if name == "":
            part = f'name="{i}"\r\nContent-Type'.encode()
            body = body.replace(part, f'name="{i}"; filename=""\r\nContent-Type'.encode(), 1)
    headers = {k: v for k, v in request.headers.items() if k != "content-length"}
    return await api.client.post("/graphql", content=body, headers=headers)


async def test_a_part_without_filename_is_not_a_file(
    uploads: tuple[Starlette, Api], app_settings: Settings, redis: Redis
) -> None:
    _, api = uploads
    pair = await make_pair()
    snapshot = Snapshot(app_settings, pair, redis)
    before = await snapshot.take()
    variables = {"input": {"recipientAccountId": str(pair.partner.id), "attachments": [None]}}
    spec = {"input.attachments.0": ("", (CORPUS / "valid.png").read_bytes(), "image/png")}
    response = await api.upload(SEND, variables, spec, user=pair.brand_user)
    await assert_refused(response, "ATTACHMENT_TYPE_NOT_ALLOWED", before, snapshot)


def payload(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code == 200, response.text
    body = response.json()
    assert "errors" not in body, body
    result: dict[str, Any] = body["data"]["sendMessage"]
    return result


async def assert_refused(
    response: httpx.Response, code: str, before: tuple[Any, ...], snapshot: Snapshot
) -> None:
    result = payload(response)
    assert [e["code"] for e in result["errors"]] == [code]
    assert result["message"] is None
    assert await snapshot.take() == before


@pytest.mark.parametrize("entry", FILES, ids=[f["file"] for f in FILES])
async def test_corpus_file(
    uploads: tuple[Starlette, Api], app_settings: Settings, redis: Redis, entry: dict[str, Any]
) -> None:
    _, api = uploads
    pair = await make_pair()
    snapshot = Snapshot(app_settings, pair, redis)
    before = await snapshot.take()
    data = (CORPUS / entry["file"]).read_bytes()
    response = await upload(api, pair, [(entry["upload_as"], data)])
    if "reject" in entry:
        await assert_refused(response, entry["reject"], before, snapshot)
        return
    result = payload(response)
    assert result["errors"] == []
    [attachment] = result["message"]["attachments"]
    assert attachment["contentType"] == entry["accept"]
    if client_escapes(entry["upload_as"]):
        assert_safe_name(attachment["filename"], entry["display_name"])
    else:
        assert attachment["filename"] == entry["display_name"]
    assert attachment["size"] == len(data)
    assert attachment["scanStatus"] == "PENDING" and attachment["downloadUrl"] is None
    state = await job_state(redis, KEYS, attachment["id"])
    assert state is not None and state.status == "queued"
    (rows, jobs, xlen, files) = await snapshot.take()
    assert rows == (before[0][0] + 1, before[0][1] + 1)
    assert (jobs, xlen) == (before[1] + 1, before[2] + 1)
    assert len(files - before[3]) == 1 and not any(f.startswith("tmp/") for f in files)


def test_corpus_is_large_enough() -> None:
    assert len(FILES) >= 40
    assert {"accept", "reject"} <= {k for f in FILES for k in f}


async def test_one_byte_over_the_limit_is_too_large(
    uploads: tuple[Starlette, Api], app_settings: Settings, redis: Redis
) -> None:
    _, api = uploads
    pair = await make_pair()
    snapshot = Snapshot(app_settings, pair, redis)
    before = await snapshot.take()
    row = (CORPUS / "comma.csv").read_bytes()
    data = (row * (MAX // len(row) + 2))[: MAX + 1]
    response = await upload(api, pair, [("big.csv", data)])
    await assert_refused(response, "ATTACHMENT_TOO_LARGE", before, snapshot)


async def test_a_file_at_the_limit_is_accepted(
    uploads: tuple[Starlette, Api], app_settings: Settings
) -> None:
    _, api = uploads
    pair = await make_pair()
    result = payload(await upload(api, pair, [("big.pdf", padded_pdf(MAX))]))
    assert result["errors"] == []
    assert result["message"]["attachments"][0]["size"] == MAX


async def test_eleven_files_are_too_many(
    uploads: tuple[Starlette, Api], app_settings: Settings, redis: Redis
) -> None:
    _, api = uploads
    pair = await make_pair()
    snapshot = Snapshot(app_settings, pair, redis)
    before = await snapshot.take()
    data = (CORPUS / "comma.csv").read_bytes()
    response = await upload(api, pair, [("sales.csv", data)] * 11)
    await assert_refused(response, "TOO_MANY_ATTACHMENTS", before, snapshot)


async def test_one_bad_file_among_good_ones_stores_nothing(
    uploads: tuple[Starlette, Api], app_settings: Settings, redis: Redis
) -> None:
    _, api = uploads
    pair = await make_pair()
    snapshot = Snapshot(app_settings, pair, redis)
    before = await snapshot.take()
    names = ["comma.csv", "valid.png", "elf_as.pdf"]
    response = await upload(api, pair, [(n, (CORPUS / n).read_bytes()) for n in names])
    await assert_refused(response, "ATTACHMENT_TYPE_NOT_ALLOWED", before, snapshot)


async def test_multipart_without_preflight_header_is_refused(
    uploads: tuple[Starlette, Api], app_settings: Settings, redis: Redis
) -> None:
    _, api = uploads
    pair = await make_pair()
    snapshot = Snapshot(app_settings, pair, redis)
    before = await snapshot.take()
    response = await upload(
        api, pair, [("a.png", (CORPUS / "valid.png").read_bytes())], preflight=False
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["extensions"]["code"] == "CSRF_PREFLIGHT_REQUIRED"
    assert await snapshot.take() == before


@pytest.mark.parametrize("chunked", [False, True], ids=["content-length", "chunked"])
async def test_a_body_over_the_request_limit_is_cut_off(
    app: Any, app_settings: Settings, redis: Redis, redis_server: RedisServer, chunked: bool
) -> None:
    limit = 64 * 1024
    async with scanning_app(
        app_settings, redis_url=redis_server.url, max_attachment_bytes=limit
    ) as (application, api):
        pair = await make_pair()
        snapshot = Snapshot(app_settings, pair, redis)
        before = await snapshot.take()
        size = application.state.rt.settings.max_request_bytes + 1024
        operations = {
            "query": SEND,
            "variables": {
                "input": {"recipientAccountId": str(pair.partner.id), "attachments": [None]}
            },
        }
        request = api.client.build_request(
            "POST",
            "/graphql",
            data={
                "operations": json.dumps(operations),
                "map": json.dumps({"0": ["variables.input.attachments.0"]}),
            },
            files={"0": ("big.pdf", padded_pdf(size), "application/pdf")},
            headers={
                "authorization": f"Bearer {api.token(pair.brand_user)}",
                "apollo-require-preflight": "1",
            },
        )
        body = request.read()
        headers = dict(request.headers)
        if chunked:
            headers.pop("content-length")

            async def pieces() -> AsyncIterator[bytes]:
                for start in range(0, len(body), 64 * 1024):
                    yield body[start : start + 64 * 1024]

            response = await api.client.post("/graphql", content=pieces(), headers=headers)
        else:
            response = await api.client.post("/graphql", content=body, headers=headers)
        assert response.status_code == 413
        assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
        assert await snapshot.take() == before
