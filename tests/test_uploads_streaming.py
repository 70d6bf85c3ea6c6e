"""GraphQL multipart bodies parsed as they stream in (gql/uploads.py), through the public API.

Each case checks the answer (a typed payload error or a 400/413 with a code, never a 500) and
that nothing is left: no message, no attachment row, no blob and no staging file.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from gql.settings import Settings
from tests.attachments_fixtures import CORPUS, padded_pdf, scanning_app, stored_files, stored_rows
from tests.factories import SEND, Api, Pair, make_pair

LIMIT = 64 * 1024
BOUNDARY = "liaison-test-boundary"
PNG = (CORPUS / "valid.png").read_bytes()


@pytest.fixture
async def small(
    app: Any, app_settings: Settings, tmp_path: Path
) -> AsyncIterator[tuple[Starlette, Api, Path]]:
    """An app with 64 KiB attachments and its own data directory."""
    async with scanning_app(app_settings, data_dir=tmp_path, max_attachment_bytes=LIMIT) as (
        application,
        api,
    ):
        yield application, api, tmp_path


def field(name: str, value: str) -> bytes:
    return (
        f'--{BOUNDARY}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n{value}\r\n'
    ).encode()


def file_part(name: str, data: bytes, filename: str = "f.png") -> bytes:
    head = (
        f"--{BOUNDARY}\r\nContent-Disposition: form-data; "
        f'name="{name}"; filename="{filename}"\r\nContent-Type: image/png\r\n\r\n'
    )
    return head.encode() + data + b"\r\n"


END = f"--{BOUNDARY}--\r\n".encode()


def operations(pair: Pair, files: int = 1, body: str = "streamed") -> str:
    variables = {
        "input": {
            "recipientAccountId": str(pair.partner.id),
            "body": body,
            "attachments": [None] * files,
        }
    }
    return json.dumps({"query": SEND, "variables": variables})


def one_map(*paths: str) -> str:
    return json.dumps({"0": list(paths or ["variables.input.attachments.0"])})


async def post(api: Api, pair: Pair, body: bytes | AsyncIterator[bytes]) -> httpx.Response:
    headers = {
        "authorization": f"Bearer {api.token(pair.brand_user)}",
        "apollo-require-preflight": "true",
        "content-type": f"multipart/form-data; boundary={BOUNDARY}",
    }
    return await api.client.post("/graphql", content=body, headers=headers)


async def assert_nothing_stored(pair: Pair, data_dir: Path) -> None:
    assert await stored_rows(pair) == (0, 0)
    assert stored_files(data_dir) == set(), "a blob or staging file was left behind"


def assert_bad_request(response: httpx.Response, words: str) -> None:
    assert response.status_code == 400, response.text
    [error] = response.json()["errors"]
    assert error["extensions"]["code"] == "BAD_REQUEST"
    assert words in error["message"], error["message"]


async def test_a_streamed_file_is_stored_once_with_its_hash(
    small: tuple[Starlette, Api, Path],
) -> None:
    _, api, data_dir = small
    pair = await make_pair()
    data = padded_pdf(LIMIT)  # exactly the limit
    body = field("operations", operations(pair)) + field("map", one_map())
    response = await post(api, pair, body + file_part("0", data, "a.pdf") + END)
    payload = response.json()["data"]["sendMessage"]
    assert payload["errors"] == [], payload
    [attachment] = payload["message"]["attachments"]
    assert attachment["size"] == len(data) and attachment["contentType"] == "application/pdf"
    files = stored_files(data_dir)
    assert len(files) == 1 and not any(f.startswith("tmp/") for f in files)
    [stored] = files
    assert (data_dir / "blobs" / stored).read_bytes() == data


async def test_a_file_over_the_limit_is_a_typed_error_and_leaves_nothing(
    small: tuple[Starlette, Api, Path],
) -> None:
    _, api, data_dir = small
    pair = await make_pair()

    async def chunks() -> AsyncIterator[bytes]:  # no Content-Length: limits apply as it arrives
        yield field("operations", operations(pair)) + field("map", one_map())
        yield file_part("0", padded_pdf(LIMIT + 1), "big.pdf") + END

    response = await post(api, pair, chunks())
    payload = response.json()["data"]["sendMessage"]
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [
        ("ATTACHMENT_TOO_LARGE", ["attachments", "0"])
    ]
    await assert_nothing_stored(pair, data_dir)


async def test_a_body_over_the_request_limit_is_413_and_leaves_nothing(
    small: tuple[Starlette, Api, Path],
) -> None:
    application, api, data_dir = small
    pair = await make_pair()
    limit = application.state.rt.settings.max_request_bytes

    async def chunks() -> AsyncIterator[bytes]:
        yield field("operations", operations(pair)) + field("map", one_map())
        yield file_part("0", b"", "big.png")[:-2]
        for _ in range(limit // (256 * 1024) + 2):
            yield b"x" * (256 * 1024)

    response = await post(api, pair, chunks())
    assert response.status_code == 413
    assert response.json()["errors"][0]["extensions"]["code"] == "PAYLOAD_TOO_LARGE"
    await assert_nothing_stored(pair, data_dir)


async def test_a_truncated_body_is_refused_and_leaves_nothing(
    small: tuple[Starlette, Api, Path],
) -> None:
    _, api, data_dir = small
    pair = await make_pair()
    whole = field("operations", operations(pair)) + field("map", one_map()) + file_part("0", PNG)
    # Cut inside the file, and after a complete file but before the closing boundary.
    for cut in (whole[: len(whole) - 100], whole):
        response = await post(api, pair, cut)
        assert_bad_request(response, "closing boundary")
    await assert_nothing_stored(pair, data_dir)


async def test_a_file_before_operations_or_map_is_refused(
    small: tuple[Starlette, Api, Path],
) -> None:
    _, api, data_dir = small
    pair = await make_pair()
    ops, mapping = field("operations", operations(pair)), field("map", one_map())
    for body in (
        file_part("0", PNG) + ops + mapping + END,
        ops + file_part("0", PNG) + mapping + END,
    ):
        assert_bad_request(await post(api, pair, body), "Misordered")
    assert_bad_request(await post(api, pair, mapping + ops + file_part("0", PNG) + END), "before")
    await assert_nothing_stored(pair, data_dir)


@pytest.mark.parametrize(
    ("mapping", "words"),
    [
        ("not json", "not JSON"),
        (json.dumps({"0": "variables.input.attachments.0"}), "lists of paths"),
        (json.dumps({"0": ["variables.input.attachments.x"]}), "does not name"),
        (json.dumps({"0": ["variables.nothing.here"]}), "missing"),
        (json.dumps({"1": ["variables.input.attachments.0"]}), "missing"),
        (json.dumps({str(i): [] for i in range(101)}), "at most 100 files"),
    ],
)
async def test_a_bad_map_is_a_400_not_a_500(
    small: tuple[Starlette, Api, Path], mapping: str, words: str
) -> None:
    _, api, data_dir = small
    pair = await make_pair()
    body = field("operations", operations(pair)) + field("map", mapping)
    response = await post(api, pair, body + file_part("0", PNG) + END)
    assert_bad_request(response, words)
    await assert_nothing_stored(pair, data_dir)


async def test_a_part_named_twice_is_refused(small: tuple[Starlette, Api, Path]) -> None:
    _, api, data_dir = small
    pair = await make_pair()
    body = field("operations", operations(pair)) + field("map", one_map())
    response = await post(api, pair, body + file_part("0", PNG) + file_part("0", PNG) + END)
    assert_bad_request(response, "appears twice")
    await assert_nothing_stored(pair, data_dir)


async def test_a_file_map_does_not_name_is_dropped(small: tuple[Starlette, Api, Path]) -> None:
    _, api, data_dir = small
    pair = await make_pair()
    body = field("operations", operations(pair)) + field("map", one_map())
    response = await post(api, pair, body + file_part("0", PNG) + file_part("9", PNG * 3) + END)
    payload = response.json()["data"]["sendMessage"]
    assert payload["errors"] == [] and len(payload["message"]["attachments"]) == 1
    files = stored_files(data_dir)
    assert len(files) == 1 and not any(f.startswith("tmp/") for f in files)


async def test_one_file_for_two_attachments_is_refused(small: tuple[Starlette, Api, Path]) -> None:
    _, api, data_dir = small
    pair = await make_pair()
    two = one_map("variables.input.attachments.0", "variables.input.attachments.1")
    body = field("operations", operations(pair, files=2)) + field("map", two)
    response = await post(api, pair, body + file_part("0", PNG) + END)
    payload = response.json()["data"]["sendMessage"]
    assert [(e["code"], e["field"]) for e in payload["errors"]] == [
        ("INVALID_INPUT", ["attachments", "1"])
    ]
    await assert_nothing_stored(pair, data_dir)


async def test_a_refused_send_deletes_the_streamed_files(
    small: tuple[Starlette, Api, Path],
) -> None:
    """Files arrive before the resolver runs: a send refused before it takes them (an unknown
    recipient) must still leave no staging file."""
    _, api, data_dir = small
    pair = await make_pair()
    ops = json.loads(operations(pair))
    ops["variables"]["input"]["recipientAccountId"] = "not-an-id"
    body = field("operations", json.dumps(ops)) + field("map", one_map())
    response = await post(api, pair, body + file_part("0", PNG) + END)
    payload = response.json()["data"]["sendMessage"]
    assert [e["code"] for e in payload["errors"]] == ["NOT_FOUND"]
    await assert_nothing_stored(pair, data_dir)


async def test_a_client_that_disconnects_mid_file_leaves_nothing(
    small: tuple[Starlette, Api, Path],
) -> None:
    application, api, data_dir = small
    pair = await make_pair()
    head = field("operations", operations(pair)) + field("map", one_map())
    chunks = [head + file_part("0", PNG)[:200]]
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        if chunks:
            return {"type": "http.request", "body": chunks.pop(), "more_body": True}
        return {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "query_string": b"",
        "root_path": "",
        "headers": [
            (b"host", b"testserver"),
            (b"authorization", f"Bearer {api.token(pair.brand_user)}".encode()),
            (b"apollo-require-preflight", b"true"),
            (b"content-type", f"multipart/form-data; boundary={BOUNDARY}".encode()),
        ],
        "client": ("127.0.0.1", 1234),
        "server": ("testserver", 80),
    }
    await application(scope, receive, send)
    [start] = [m for m in sent if m["type"] == "http.response.start"]
    assert start["status"] == 400
    await assert_nothing_stored(pair, data_dir)


async def test_fields_are_bounded_one_by_one_and_in_all(api: Api) -> None:
    """With the default limits (the request may be 251 MiB): non-file parts are held in
    memory, so each is bounded and so is their sum."""
    pair = await make_pair()
    ops, mapping = field("operations", operations(pair)), field("map", one_map())
    big = field("extra", "x" * (1024 * 1024 + 1))
    assert_bad_request(await post(api, pair, ops + big + END), "larger than")
    many = b"".join(field(f"f{i}", "x" * (1024 * 1024 - 64)) for i in range(3))
    assert_bad_request(await post(api, pair, ops + mapping + many + END), "in all")
    assert await stored_rows(pair) == (0, 0)
