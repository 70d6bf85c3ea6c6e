"""uvicorn's httptools protocol with limits on request headers (`liaison serve` uses it).

uvicorn's httptools protocol accepts request lines and headers of any size, for as long as
the client takes to send them: a client could hold memory with a huge header, or hold a
connection open for ever by sending a header a byte at a time (slowloris). Here:

- the request line and headers together are at most `max_header_bytes` (default 16 KiB,
  `LIAISON_MAX_HEADER_BYTES`): over it the request is answered 400 and the connection closed;
- they must arrive within `header_timeout` seconds of the connection opening or of the
  request's first byte (default 10, `LIAISON_HEADER_TIMEOUT`): after it the connection is
  closed.

Bodies are limited elsewhere (gql.limits); idle keep-alive connections by uvicorn's
`timeout_keep_alive`. The same header limit is given to h11 as
`h11_max_incomplete_event_size`, for `--http h11`.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol


@dataclass(frozen=True)
class HeaderLimits:
    max_header_bytes: int = 16 * 1024
    header_timeout: float = 10.0


class HeaderTooLarge(Exception):
    pass


_limits = HeaderLimits()


def configure(limits: HeaderLimits) -> None:
    """Set the limits of this process (`gql.asgi` calls it with the settings' values)."""
    global _limits
    _limits = limits


class LimitedHttpToolsProtocol(HttpToolsProtocol):
    _header_bytes = 0
    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        if self._header_timer is None:
            self._header_timer = self.loop.call_later(_limits.header_timeout, self._too_slow)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _too_slow(self) -> None:
        self._header_timer = None
        self.logger.info("closing a connection whose request headers took too long")
        self.transport.close()

    def _count(self, size: int) -> None:
        self._header_bytes += size
        if self._header_bytes > _limits.max_header_bytes:
            # Raised inside a parser callback, httptools reports a parser error, which
            # uvicorn answers with a 400 and a closed connection.
            raise HeaderTooLarge

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._header_bytes = 0
        self._arm()

    def on_url(self, url: bytes) -> None:
        self._count(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._count(len(name) + len(value) + 4)
        super().on_header(name, value)

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()


def uvicorn_options() -> dict[str, Any]:
    """The options `liaison serve` passes to uvicorn for these limits."""
    return {
        "http": "gql.http_protocol:LimitedHttpToolsProtocol",
        "h11_max_incomplete_event_size": _limits.max_header_bytes,
    }
