"""ClamdScanner against the real clamd started by scripts/clamd.sh."""

from __future__ import annotations

import asyncio
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from services.scanner import ClamdScanner, Clean, Infected, ScannerUnavailable
from tests.clamd_fixtures import EICAR, clamd, clamd_socket, private_clamd

__all__ = ["clamd_socket", "private_clamd"]  # fixtures used by name below

CORPUS = Path(__file__).parent / "corpus"


async def test_ping(clamd_socket: str) -> None:
    assert await ClamdScanner(clamd_socket).ping()


async def test_eicar_is_infected_with_the_shipped_signature(
    clamd_socket: str, tmp_path: Path
) -> None:
    path = tmp_path / "eicar.com"
    path.write_bytes(EICAR)
    verdict = await ClamdScanner(clamd_socket).scan(path)
    assert isinstance(verdict, Infected)
    assert "EICAR" in verdict.signature


async def test_eicar_inside_an_accepted_csv_is_infected(clamd_socket: str) -> None:
    verdict = await ClamdScanner(clamd_socket).scan(CORPUS / "eicar_in.csv")
    assert isinstance(verdict, Infected)


@pytest.mark.parametrize(
    "name", ["valid.pdf", "valid.png", "valid.jpg", "valid89a.gif", "comma.csv"]
)
async def test_clean_files_are_clean(clamd_socket: str, name: str) -> None:
    assert await ClamdScanner(clamd_socket).scan(CORPUS / name) == Clean()


async def test_a_file_above_our_upload_limit_is_scanned_whole(
    clamd_socket: str, tmp_path: Path
) -> None:
    path = tmp_path / "big.bin"
    with path.open("wb") as f:
        f.write(b"\0" * (26 * 1024 * 1024))
        f.write(EICAR)
    verdict = await ClamdScanner(clamd_socket, timeout=120).scan(path)
    assert isinstance(verdict, Infected)


async def test_concurrent_scans(clamd_socket: str) -> None:
    scanner = ClamdScanner(clamd_socket)
    verdicts = await asyncio.gather(*(scanner.scan(CORPUS / "valid.pdf") for _ in range(10)))
    assert verdicts == [Clean()] * 10


async def test_stopped_clamd_is_unavailable_never_clean(
    private_clamd: tuple[Path, str],
) -> None:
    run_dir, socket_path = private_clamd
    scanner = ClamdScanner(socket_path, timeout=5)
    assert await scanner.scan(CORPUS / "valid.pdf") == Clean()
    clamd("stop", run_dir)
    assert not await scanner.ping()
    with pytest.raises(ScannerUnavailable):
        await scanner.scan(CORPUS / "valid.pdf")


async def test_nonexistent_socket_and_closed_port_are_unavailable(tmp_path: Path) -> None:
    for address in (str(tmp_path / "nothing.sock"), "127.0.0.1:1"):
        scanner = ClamdScanner(address, timeout=2)
        assert not await scanner.ping()
        with pytest.raises(ScannerUnavailable):
            await scanner.scan(CORPUS / "valid.pdf")


@pytest.fixture
def silent_server() -> Iterator[str]:
    """A TCP listener that accepts connections and never answers."""
    with socket.create_server(("127.0.0.1", 0)) as server:
        yield f"127.0.0.1:{server.getsockname()[1]}"


async def test_a_server_that_never_answers_times_out(silent_server: str) -> None:
    scanner = ClamdScanner(silent_server, timeout=0.5)
    with pytest.raises(ScannerUnavailable):
        await scanner.scan(CORPUS / "valid.pdf")


@pytest.fixture
def error_server() -> Iterator[str]:
    """A TCP server answering every connection like clamd refusing a stream."""
    server = socket.create_server(("127.0.0.1", 0))
    server.settimeout(0.1)
    stop = threading.Event()

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except TimeoutError:
                continue
            with conn:
                received = b""
                while not received.endswith(b"\0\0\0\0"):  # the zero-length last chunk
                    piece = conn.recv(65536)
                    if not piece:  # a connection check that sends nothing
                        break
                    received += piece
                if not received:
                    continue
                conn.sendall(b"INSTREAM size limit exceeded. ERROR\n")

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join(timeout=5)
    server.close()


async def test_an_error_answer_is_unavailable_never_clean(error_server: str) -> None:
    with pytest.raises(ScannerUnavailable, match="ERROR"):
        await ClamdScanner(error_server, timeout=5).scan(CORPUS / "comma.csv")


def test_address_parsing() -> None:
    with pytest.raises(ValueError):
        ClamdScanner("localhost")
    assert "3310" in repr(ClamdScanner("localhost:3310"))
