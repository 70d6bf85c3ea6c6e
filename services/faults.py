"""Which failures mean "a dependency is down, slow or full" rather than "a bug".

The transport layers (GraphQL, downloads, websockets) ask `unavailable_dependency(exc)` and turn
such failures into a typed, retryable answer (`SERVICE_UNAVAILABLE`, HTTP 503 + `Retry-After`)
instead of a masked 500. Everything else stays an internal error.
"""

from __future__ import annotations

import errno
import sqlite3
from collections.abc import Iterator

import asyncpg
from redis import exceptions as redis_errors
from tortoise.exceptions import DBConnectionError

#: Seconds a client should wait before retrying an operation refused for an outage.
RETRY_AFTER_SECONDS = 2

DATABASE = "database"
REDIS = "redis"
STORAGE = "storage"
SCANNER = "scanner"


class DependencyUnavailable(Exception):
    """Raised by our own code when a dependency cannot serve in time (pool wait, store full)."""

    def __init__(self, dependency: str, message: str | None = None) -> None:
        super().__init__(message or f"The {dependency} is unavailable.")
        self.dependency = dependency


_PG_OUTAGE: tuple[type[BaseException], ...] = (
    asyncpg.PostgresConnectionError,
    asyncpg.InterfaceError,  # connection closed mid-query, pool closing
    asyncpg.CannotConnectNowError,
    asyncpg.QueryCanceledError,  # statement_timeout
    asyncpg.OperatorInterventionError,  # admin shutdown, crash shutdown
    asyncpg.InsufficientResourcesError,  # too many connections, disk full
)

_STORAGE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS}


def _chain(exc: BaseException) -> Iterator[BaseException]:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        yield current
        current = current.__cause__ or current.__context__


def unavailable_dependency(exc: BaseException) -> str | None:
    """The dependency an exception (or anything in its cause chain) says is unavailable."""
    for error in _chain(exc):
        if isinstance(error, DependencyUnavailable):
            return error.dependency
        if isinstance(error, (DBConnectionError, *_PG_OUTAGE)):
            return DATABASE
        if isinstance(error, sqlite3.OperationalError):
            text = str(error).lower()
            if "locked" in text or "disk" in text or "unable to open" in text:
                return DATABASE
        if isinstance(error, redis_errors.ConnectionError | redis_errors.TimeoutError):
            return REDIS
        if isinstance(error, OSError) and error.errno in _STORAGE_ERRNOS:
            return STORAGE
        if isinstance(error, ConnectionRefusedError | ConnectionResetError):
            # redis-py and our clamd client wrap their socket errors; a bare one comes from
            # asyncpg opening a pool connection.
            return DATABASE
    return None
