"""Raw SQL written once for both dialects: `$1`-style placeholders, rewritten for SQLite."""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

# SQLite numbers its parameters `?N`: one argument may be used twice, as with `$N`.
_PLACEHOLDER = re.compile(r"\$(\d+)")


def is_sqlite(conn: BaseDBAsyncClient) -> bool:
    return conn.capabilities.dialect == "sqlite"


def _param(value: Any, sqlite: bool) -> Any:
    if sqlite and isinstance(value, uuid.UUID):
        return str(value)
    return value


async def fetch(conn: BaseDBAsyncClient, query: str, *args: Any) -> list[dict[str, Any]]:
    sqlite = is_sqlite(conn)
    if sqlite:
        query = _PLACEHOLDER.sub(r"?\1", query)
    params: Sequence[Any] = [_param(a, sqlite) for a in args]
    # execute_query_dict: asyncpg's execute_query drops the rows of UPDATE … RETURNING.
    return await conn.execute_query_dict(query, list(params))


async def execute_many(conn: BaseDBAsyncClient, query: str, rows: Sequence[Sequence[Any]]) -> None:
    """One statement run for each row of parameters (asyncpg/sqlite3 `executemany`)."""
    if not rows:
        return
    sqlite = is_sqlite(conn)
    if sqlite:
        query = _PLACEHOLDER.sub(r"?\1", query)
    await conn.execute_many(query, [[_param(v, sqlite) for v in row] for row in rows])
