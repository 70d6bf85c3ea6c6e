"""The SQL behind `services.analytics`: one statement per call, for PostgreSQL and SQLite.

Written with `$n` placeholders; SQLite gets `?n` (numbered, so a parameter may be used
twice). The two dialects differ only in bucket expressions, the seconds between two
timestamps, and the median: `percentile_cont` on PostgreSQL, the middle row(s) by
`ROW_NUMBER()` on SQLite.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

_PLACEHOLDER = re.compile(r"\$(\d+)")

_BUCKETS = {
    "postgres": {
        "DAY": "to_char(date_trunc('day', {ts} AT TIME ZONE 'UTC'), 'YYYY-MM-DD')",
        "WEEK": "to_char(date_trunc('week', {ts} AT TIME ZONE 'UTC'), 'YYYY-MM-DD')",
        "MONTH": "to_char({ts} AT TIME ZONE 'UTC', 'YYYY-MM')",
    },
    "sqlite": {
        "DAY": "date({ts})",
        "WEEK": "date({ts}, '-6 days', 'weekday 1')",
        "MONTH": "strftime('%Y-%m', {ts})",
    },
}
_SECONDS = {
    "postgres": "EXTRACT(EPOCH FROM ({later} - {earlier}))::float8",
    "sqlite": "(julianday({later}) - julianday({earlier})) * 86400.0",
}


def bucket_expr(dialect: str, group_by: str | None, ts: str) -> str:
    if group_by is None:
        return "'TOTAL'"
    if group_by == "PARTNER":
        return "CAST(conv.counterpart_id AS TEXT)"
    if group_by == "PARTNERSHIP_STATUS":
        return "conv.status"
    return _BUCKETS[dialect][group_by].format(ts=ts)


def _median(dialect: str) -> str:
    if dialect == "postgres":
        return """
conv_stats AS (
  SELECT bucket, COUNT(*) AS started, COUNT(response_seconds) AS with_reply,
         percentile_cont(0.5) WITHIN GROUP (ORDER BY response_seconds) AS median_seconds
  FROM started GROUP BY bucket
)"""
    return """
ranked AS (
  SELECT bucket, response_seconds,
         ROW_NUMBER() OVER (PARTITION BY bucket ORDER BY response_seconds) AS rn,
         COUNT(*) OVER (PARTITION BY bucket) AS n
  FROM started WHERE response_seconds IS NOT NULL
),
medians AS (
  SELECT bucket, AVG(response_seconds) AS median_seconds
  FROM ranked WHERE rn IN ((n + 1) / 2, (n + 2) / 2) GROUP BY bucket
),
conv_stats AS (
  SELECT s.bucket, COUNT(*) AS started, COUNT(s.response_seconds) AS with_reply,
         MAX(md.median_seconds) AS median_seconds
  FROM started s LEFT JOIN medians md ON md.bucket = s.bucket GROUP BY s.bucket
)"""


def build(
    dialect: str,
    group_by: str | None,
    *,
    brand_side: bool,
    account_id: uuid.UUID,
    start: datetime,
    end: datetime,
    statuses: Sequence[str] | None,
    counterpart_ids: Sequence[uuid.UUID] | None,
) -> tuple[str, list[Any]]:
    """The statement and its parameters; rows: key, sent, received, started, with_reply,
    median_seconds, attachments, infected."""
    own, other = ("brand_id", "partner_id") if brand_side else ("partner_id", "brand_id")
    params: list[Any] = [account_id, start, end]
    scope = ""
    if statuses is not None:
        scope += f" AND p.status IN ({_placeholders(params, statuses)})"
    if counterpart_ids is not None:
        scope += f" AND c.{other} IN ({_placeholders(params, counterpart_ids)})"
    by_message = bucket_expr(dialect, group_by, "m.sent_at")
    by_start = bucket_expr(dialect, group_by, "f.sent_at")
    seconds = _SECONDS[dialect].format(later="f.reply_at", earlier="f.sent_at")
    query = f"""
WITH conv AS (
  SELECT c.id AS id, c.{other} AS counterpart_id, p.status AS status
  FROM conversations c JOIN partnerships p ON p.id = c.partnership_id
  WHERE c.{own} = $1{scope}
),
msg AS (
  SELECT {by_message} AS bucket,
         SUM(CASE WHEN m.sender_account_id = $1 THEN 1 ELSE 0 END) AS sent,
         SUM(CASE WHEN m.sender_account_id = $1 THEN 0 ELSE 1 END) AS received
  FROM messages m JOIN conv ON conv.id = m.conversation_id
  WHERE m.sent_at >= $2 AND m.sent_at < $3
  GROUP BY bucket
),
att AS (
  SELECT {by_message} AS bucket, COUNT(*) AS attachments,
         SUM(CASE WHEN a.scan_status = 'INFECTED' THEN 1 ELSE 0 END) AS infected
  FROM attachments a JOIN messages m ON m.id = a.message_id
  JOIN conv ON conv.id = m.conversation_id
  WHERE m.sent_at >= $2 AND m.sent_at < $3
  GROUP BY bucket
),
firsts AS (
  SELECT conv.counterpart_id, conv.status, m.sent_at,
         (SELECT MIN(r.sent_at) FROM messages r
          WHERE r.conversation_id = m.conversation_id
            AND r.sender_account_id <> m.sender_account_id AND r.sent_at < $3) AS reply_at
  FROM conv JOIN messages m ON m.conversation_id = conv.id AND m.seq = 1
  WHERE m.sent_at >= $2 AND m.sent_at < $3
),
started AS (
  SELECT {by_start.replace("conv.", "f.")} AS bucket, {seconds} AS response_seconds
  FROM firsts f
),{_median(dialect)},
keys AS (SELECT bucket FROM msg UNION SELECT bucket FROM conv_stats)
SELECT k.bucket AS key,
       COALESCE(msg.sent, 0) AS sent, COALESCE(msg.received, 0) AS received,
       COALESCE(cs.started, 0) AS started, COALESCE(cs.with_reply, 0) AS with_reply,
       cs.median_seconds AS median_seconds,
       COALESCE(att.attachments, 0) AS attachments, COALESCE(att.infected, 0) AS infected
FROM keys k
LEFT JOIN msg ON msg.bucket = k.bucket
LEFT JOIN att ON att.bucket = k.bucket
LEFT JOIN conv_stats cs ON cs.bucket = k.bucket
ORDER BY k.bucket
"""
    return query, params


def _placeholders(params: list[Any], values: Sequence[Any]) -> str:
    if not values:
        return "NULL"  # `x IN (NULL)` matches nothing, as an empty list should
    first = len(params) + 1
    params.extend(values)
    return ", ".join(f"${n}" for n in range(first, first + len(values)))


def for_sqlite(query: str, params: Sequence[Any]) -> tuple[str, list[Any]]:
    return _PLACEHOLDER.sub(r"?\1", query), [
        str(p) if isinstance(p, uuid.UUID) else p for p in params
    ]


async def fetch(conn: BaseDBAsyncClient, query: str, params: Sequence[Any]) -> list[dict[str, Any]]:
    if conn.capabilities.dialect == "sqlite":
        query, params = for_sqlite(query, params)
    return await conn.execute_query_dict(query, list(params))
