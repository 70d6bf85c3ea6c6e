"""Virus scanning against clamd with the INSTREAM command.

Invariants:

- ``scan`` returns ``Clean()`` only when clamd completed a scan of every byte and answered
  ``stream: OK``; ``Infected(signature)`` only for ``stream: <signature> FOUND``. Anything
  else (connection refused, timeout, ``... ERROR`` such as a size limit, an unparseable
  reply) raises ``ScannerUnavailable``; a caller must then retry, never assume clean.
- The file is streamed to clamd (``INSTREAM``), so clamd needs no access to our data
  directory, and it is sent in ``chunk_size`` pieces: never whole in memory.
- Socket work runs in a thread (``asyncio.to_thread``) and is bounded by ``timeout``
  seconds overall: the thread itself gives up at the deadline, not just the awaiting task.

Why not pyclamd's ``scan_stream``: pyclamd 0.4.0 does stream a file object in chunks, but it
writes them with ``socket.send`` rather than ``sendall`` (a short write on a socket with a
timeout silently drops bytes and desynchronises the length-prefixed framing, which could end
in clamd scanning a different byte stream than the file), reports clamd's ``ERROR`` replies
as entries in its result dict, and leaks its socket whenever a connect or send fails. The
protocol is small, so we speak it directly: ``zINSTREAM\\0``, then chunks each prefixed
with a 4-byte big-endian length, then a zero length; the reply ends with ``\\0``.
"""

from __future__ import annotations

import asyncio
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

CHUNK = 64 * 1024
_MAX_REPLY = 4096
_A = TypeVar("_A")


@dataclass(frozen=True)
class Clean:
    pass


@dataclass(frozen=True)
class Infected:
    signature: str


ScanVerdict = Clean | Infected


class ScannerUnavailable(Exception):
    """clamd could not give a verdict; the file is neither clean nor infected yet."""


class ClamdScanner:
    """Talks to one clamd, given as ``LIAISON_CLAMD``: a unix socket path (contains ``/``)
    or ``host:port``."""

    def __init__(self, address: str, *, timeout: float = 60.0, chunk_size: int = CHUNK) -> None:
        self.timeout = timeout
        self.chunk_size = chunk_size
        self._family: socket.AddressFamily
        self._address: str | tuple[str, int]
        if "/" in address:
            self._family, self._address = socket.AF_UNIX, address
        else:
            host, _, port = address.rpartition(":")
            if not host or not port.isdigit():
                raise ValueError(f"clamd address must be a socket path or host:port: {address!r}")
            self._family, self._address = socket.AF_INET, (host, int(port))

    def __repr__(self) -> str:
        return f"ClamdScanner({self._address!r})"

    async def scan(self, path: Path) -> ScanVerdict:
        """Scan the file at ``path``; raises ``ScannerUnavailable`` if there is no verdict."""
        reply = await self._call(self._instream, path)
        if reply == "stream: OK":
            return Clean()
        if reply.startswith("stream: ") and reply.endswith(" FOUND"):
            signature = reply.removeprefix("stream: ").removesuffix(" FOUND").strip()
            if signature:
                return Infected(signature)
        raise ScannerUnavailable(f"clamd answered {reply!r}")

    async def ping(self) -> bool:
        """True if clamd answers ``PING`` with ``PONG`` within the timeout."""
        try:
            return await self._call(self._command, b"zPING\0") == "PONG"
        except ScannerUnavailable:
            return False

    async def _call(self, func: Callable[[_A], str], arg: _A) -> str:
        try:
            async with asyncio.timeout(self.timeout + 1):
                return await asyncio.to_thread(func, arg)
        except Exception as e:
            raise ScannerUnavailable(f"clamd at {self._address!r}: {e!r}") from e

    def _connect(self, deadline: float) -> socket.socket:
        sock = socket.socket(self._family, socket.SOCK_STREAM)
        try:
            sock.settimeout(_remaining(deadline))
            sock.connect(self._address)
        except BaseException:
            sock.close()
            raise
        return sock

    def _command(self, command: bytes) -> str:
        deadline = time.monotonic() + self.timeout
        with self._connect(deadline) as sock:
            sock.sendall(command)
            return _read_reply(sock, deadline)

    def _instream(self, path: Path) -> str:
        deadline = time.monotonic() + self.timeout
        with path.open("rb") as file, self._connect(deadline) as sock:
            sock.sendall(b"zINSTREAM\0")
            while chunk := file.read(self.chunk_size):
                sock.settimeout(_remaining(deadline))
                sock.sendall(struct.pack("!L", len(chunk)) + chunk)
            sock.sendall(struct.pack("!L", 0))
            return _read_reply(sock, deadline)


def _remaining(deadline: float) -> float:
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("clamd did not answer in time")
    return left


def _read_reply(sock: socket.socket, deadline: float) -> str:
    """Read one NUL-terminated reply; a reply cut short by EOF is still returned."""
    data = b""
    while b"\0" not in data and len(data) < _MAX_REPLY:
        sock.settimeout(_remaining(deadline))
        piece = sock.recv(_MAX_REPLY)
        if not piece:
            break
        data += piece
    return data.split(b"\0", 1)[0].decode("utf-8", "replace").strip()
