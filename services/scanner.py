"""Virus scanning with pyclamd against a real clamd, using the INSTREAM command.

Invariants:

- ``scan`` returns ``Clean()`` only when pyclamd's ``scan_stream`` completed and returned
  ``None``; ``Infected(signature)`` only for a ``FOUND`` reply. Anything else (connection
  refused, timeout, an ``ERROR`` reply such as a size limit, any exception) raises
  ``ScannerUnavailable``; a caller must then retry, never assume clean.
- The file is streamed to clamd (INSTREAM), so clamd needs no access to our data directory,
  and it is read in ``chunk_size`` pieces: never whole in memory.
- pyclamd is synchronous: every call runs in a thread (``asyncio.to_thread``), bounded by
  ``timeout`` (pyclamd's socket timeout, and an overall deadline around the thread).

pyclamd 0.4.0 writes chunks with ``socket.send``, which may write only part of a buffer and
would then desynchronise INSTREAM's length-prefixed framing, and it leaves its socket open
when a connect fails. `_SendAll` and `_closing_connect` below close those two gaps around the
library rather than replacing it.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, TypeVar

import pyclamd

CHUNK = 64 * 1024
_A = TypeVar("_A")


@dataclass(frozen=True)
class Clean:
    pass


@dataclass(frozen=True)
class Infected:
    signature: str


ScanVerdict = Clean | Infected


class ScannerUnavailable(Exception):
    """clamd could not give a verdict; the file is neither clean nor infected yet.
    `unreachable`: the connection to clamd itself failed (clamd is down, not the file)."""

    def __init__(self, message: str, *, unreachable: bool = False) -> None:
        super().__init__(message)
        self.unreachable = unreachable


class _SendAll:
    """A socket whose ``send`` is ``sendall``: pyclamd ignores short writes."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock

    def send(self, data: bytes) -> int:
        self._sock.sendall(data)
        return len(data)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sock, name)


def _closing_connect(init_socket: Callable[[Any], None]) -> Callable[[Any], None]:
    def connect(client: Any) -> None:
        try:
            init_socket(client)
        except BaseException as error:
            sock = getattr(client, "clamd_socket", None)
            if sock is not None:
                sock.close()
            error.clamd_unreachable = True  # type: ignore[attr-defined]
            raise
        client.clamd_socket = _SendAll(client.clamd_socket)

    return connect


class _UnixClient(pyclamd.ClamdUnixSocket):  # type: ignore[misc]
    _init_socket = _closing_connect(pyclamd.ClamdUnixSocket._init_socket)


class _NetworkClient(pyclamd.ClamdNetworkSocket):  # type: ignore[misc]
    _init_socket = _closing_connect(pyclamd.ClamdNetworkSocket._init_socket)


class ClamdScanner:
    """Talks to one clamd, given as ``LIAISON_CLAMD``: a unix socket path (contains ``/``)
    or ``host:port``."""

    def __init__(self, address: str, *, timeout: float = 60.0, chunk_size: int = CHUNK) -> None:
        self.timeout = timeout
        self.chunk_size = chunk_size
        self._address: str | tuple[str, int]
        if "/" in address:
            self._address = address
        else:
            host, _, port = address.rpartition(":")
            if not host or not port.isdigit():
                raise ValueError(f"clamd address must be a socket path or host:port: {address!r}")
            self._address = (host, int(port))

    def __repr__(self) -> str:
        return f"ClamdScanner({self._address!r})"

    async def scan(self, source: Path | Callable[[], BinaryIO]) -> ScanVerdict:
        """Scan the file at ``source`` (a path, or a function opening a blocking reader, e.g.
        of an object in the store); raises ``ScannerUnavailable`` if there is no verdict."""
        result = await self._call(self._scan_stream, source)
        if result is None:
            return Clean()
        status, detail = result.get("stream", ("", ""))
        if status == "FOUND" and detail:
            return Infected(str(detail))
        raise ScannerUnavailable(f"clamd answered {result!r}")

    async def ping(self) -> bool:
        """True if clamd answers ``PING`` within the timeout."""
        try:
            return bool(await self._call(lambda _: self._client().ping(), None))
        except ScannerUnavailable:
            return False

    async def _call(self, func: Callable[[_A], Any], arg: _A) -> Any:
        try:
            async with asyncio.timeout(self.timeout + 1):
                return await asyncio.to_thread(func, arg)
        except Exception as e:
            raise ScannerUnavailable(
                f"clamd at {self._address!r}: {e!r}",
                unreachable=getattr(e, "clamd_unreachable", False),
            ) from e

    def _client(self) -> Any:
        if isinstance(self._address, str):
            return _UnixClient(self._address, timeout=self.timeout)
        host, port = self._address
        return _NetworkClient(host, port, timeout=self.timeout)

    def _scan_stream(
        self, source: Path | Callable[[], BinaryIO]
    ) -> dict[str, tuple[str, str]] | None:
        client = self._client()
        try:
            with source.open("rb") if isinstance(source, Path) else source() as file:
                result: dict[str, tuple[str, str]] | None = client.scan_stream(
                    file, chunk_size=self.chunk_size
                )
                return result
        finally:
            sock = getattr(client, "clamd_socket", None)
            if sock is not None:
                sock.close()
