"""Every index and unique constraint a model declares exists in the migrated database.

SQLite alters a column by rebuilding the table, and tortoise's rebuild leaves out the table's
other indexes: the events log lost UNIQUE (account_id, seq) that way (restored by migration
0009). This compares the models with the database that `liaison migrate` built, on SQLite and
PostgreSQL, so a migration that loses an index fails here.
"""

from __future__ import annotations

from typing import Any

from tortoise import Tortoise, connections
from tortoise.indexes import Index

# The search index is an FTS5 virtual table on SQLite (see models/search_index.py).
DIALECT_SPECIFIC = {"message_search"}


def declared(model: Any) -> set[tuple[tuple[str, ...], bool]]:
    """(columns, unique) for every index the model declares, primary key aside."""
    meta = model._meta
    column = meta.fields_db_projection

    def columns(names: Any) -> tuple[str, ...]:
        # A foreign key is named by its relation (`account`); its column is `account_id`.
        return tuple(
            getattr(meta.fields_map.get(name), "source_field", None) or column.get(name, name)
            for name in names
        )

    wanted: set[tuple[tuple[str, ...], bool]] = set()
    for together in meta.unique_together or ():
        wanted.add((columns(together), True))
    for index in meta.indexes or ():
        fields = index.fields if isinstance(index, Index) else index
        wanted.add((columns(fields), False))
    for name, field in meta.fields_map.items():
        if field.pk or name not in column:
            continue
        if field.unique:
            wanted.add(((column[name],), True))
        elif field.index:
            wanted.add(((column[name],), False))
    return wanted


async def existing(table: str) -> set[tuple[tuple[str, ...], bool]]:
    connection = connections.get("default")
    if connection.capabilities.dialect == "sqlite":
        _, rows = await connection.execute_query(f'PRAGMA index_list("{table}")')
        found = set()
        for row in rows:
            _, info = await connection.execute_query(f'PRAGMA index_info("{row["name"]}")')
            found.add((tuple(r["name"] for r in info), bool(row["unique"])))
        return found
    _, rows = await connection.execute_query(
        "SELECT i.indisunique AS unique, array_agg(a.attname ORDER BY k.n) AS columns"
        " FROM pg_index i JOIN pg_class t ON t.oid = i.indrelid"
        " CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, n)"
        " JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum"
        " WHERE t.relname = $1 GROUP BY i.indexrelid, i.indisunique",
        [table],
    )
    return {(tuple(row["columns"]), bool(row["unique"])) for row in rows}


async def test_every_declared_index_exists(app: Any) -> None:
    missing = []
    for models in Tortoise.apps.values():
        for model in models.values():
            table = model._meta.db_table
            if table in DIALECT_SPECIFIC:
                continue
            have = await existing(table)
            for columns, unique in sorted(declared(model)):
                # A unique index also serves as a plain one on the same columns.
                if (columns, True) in have or (not unique and (columns, False) in have):
                    continue
                missing.append(f"{table} {'UNIQUE ' if unique else ''}{columns}")
    assert missing == []
