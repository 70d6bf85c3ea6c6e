"""`liaison serve` limits request headers in size and time (docs/security.md)."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from gql.settings import Settings
from tests.realtime_fixtures import Server, server_env, start_server

pytestmark = pytest.mark.parametrize("backend", ["sqlite"], indirect=True)


@pytest.fixture(scope="module")
def served(app_settings: Settings, data_dir: Path) -> Iterator[Server]:
    env = server_env(app_settings.database_url, data_dir, None)
    env["LIAISON_HEADER_TIMEOUT"] = "1"
    server = start_server(env, data_dir)
    try:
        yield server
    finally:
        server.stop()


def _exchange(port: int, request: bytes, *, within: float = 10.0) -> bytes:
    """Send `request`, then read until the server closes the connection."""
    with socket.create_connection(("127.0.0.1", port), timeout=within) as sock:
        sock.sendall(request)
        chunks = []
        deadline = time.monotonic() + within
        while time.monotonic() < deadline:
            chunk = sock.recv(65536)
            if not chunk:
                return b"".join(chunks)
            chunks.append(chunk)
            if (
                b"connection: close" not in b"".join(chunks).lower()
                and request.endswith(b"\r\n\r\n")
                and b"\r\n\r\n" in b"".join(chunks)
            ):
                return b"".join(chunks)  # a keep-alive answer: enough
        raise AssertionError("the server kept the connection open")


def test_huge_header_is_refused(served: Server) -> None:
    big = b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 64 * 1024 + b"\r\n\r\n"
    answer = _exchange(served.port, big)
    assert answer.startswith(b"HTTP/1.1 400")


def test_many_headers_and_a_huge_url_are_refused(served: Server) -> None:
    many = b"".join(b"X-H%d: %s\r\n" % (i, b"v" * 100) for i in range(400))
    answer = _exchange(served.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + many + b"\r\n")
    assert answer.startswith(b"HTTP/1.1 400")
    url = b"/healthz?" + b"q" * 64 * 1024
    answer = _exchange(served.port, b"GET " + url + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert answer.startswith(b"HTTP/1.1 400")


def test_ordinary_headers_still_work(served: Server) -> None:
    header = b"X-Trace: " + b"t" * 8 * 1024 + b"\r\n"
    answer = _exchange(served.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n" + header + b"\r\n")
    assert answer.startswith(b"HTTP/1.1 200")


def test_headers_that_never_finish_are_cut_off(served: Server) -> None:
    # A slow client: the request line and one header, then nothing.
    answer = _exchange(served.port, b"GET /healthz HTTP/1.1\r\nHost: x\r\n", within=15)
    assert answer == b""


def test_a_connection_that_sends_nothing_is_cut_off(served: Server) -> None:
    assert _exchange(served.port, b"", within=15) == b""
