"""The PostgreSQL engine: tortoise's asyncpg client with bounded waits.

A slow or stopped database must turn into fast `SERVICE_UNAVAILABLE` answers, not a queue of
requests that grows without limit. Three bounds, all settings:

* ``statement_timeout`` (``LIAISON_DB_STATEMENT_TIMEOUT``) on every connection: PostgreSQL
  cancels a statement that runs longer (asyncpg raises ``QueryCanceledError``);
* a bounded wait for a pooled connection (``LIAISON_DB_POOL_TIMEOUT``): when every connection
  is busy for that long, `DependencyUnavailable("database")`;
* a connect timeout, so a database that does not answer fails the same way.

A connection goes back to the pool without asyncpg's reset statement (`SELECT
pg_advisory_unlock_all(); CLOSE ALL; UNLISTEN *; RESET ALL`, one extra round trip per
release, i.e. per statement outside a transaction): Liaison's SQL takes no advisory locks,
opens no cursors, LISTENs nowhere and never SETs a session variable (`statement_timeout`
is a connection setting), so there is nothing to reset. asyncpg still rolls back a
connection released inside a transaction (`Connection._reset`, which runs before the pool's
`reset` callback).

Selected by `gql.settings.tortoise_config` for ``postgres://`` URLs (``engine``).
"""

from __future__ import annotations

import inspect
from typing import Any

import asyncpg
from asyncpg.pool import Pool
from tortoise.backends.asyncpg.client import AsyncpgDBClient

from services.faults import DATABASE, DependencyUnavailable

# `asyncpg.create_pool` is `Pool(...)` with these defaults; a subclass is built the same way.
_POOL_DEFAULTS = {
    name: parameter.default
    for name, parameter in inspect.signature(asyncpg.create_pool).parameters.items()
    if parameter.kind is inspect.Parameter.KEYWORD_ONLY
}


async def _nothing_to_reset(connection: asyncpg.Connection) -> None:
    """The pool's `reset` callback: see the module's docstring."""


class BoundedPool(Pool):
    """An asyncpg pool whose `acquire` waits at most `acquire_timeout` seconds by default."""

    def __init__(self, *args: Any, acquire_timeout: float, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._default_acquire_timeout = acquire_timeout

    async def _acquire(self, timeout: float | None) -> Any:  # noqa: ASYNC109 (asyncpg's API)
        wait = self._default_acquire_timeout if timeout is None else timeout
        try:
            return await super()._acquire(wait)  # type: ignore[misc]
        except TimeoutError as exc:
            raise DependencyUnavailable(
                DATABASE, f"No database connection became free within {wait:g} s."
            ) from exc


class BoundedAsyncpgClient(AsyncpgDBClient):
    def __init__(self, *args: Any, pool_acquire_timeout: float = 5.0, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.pool_acquire_timeout = float(pool_acquire_timeout)

    async def create_pool(self, **kwargs: Any) -> asyncpg.Pool:
        options = {**_POOL_DEFAULTS, "reset": _nothing_to_reset, **kwargs}
        pool = BoundedPool(None, acquire_timeout=self.pool_acquire_timeout, **options)
        await pool
        return pool


client_class = BoundedAsyncpgClient
