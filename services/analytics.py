"""Messaging statistics for the viewer's own account, aggregated in SQL.

Definitions (all times UTC; a message is "in range" when `from <= sent_at < to`):

- `messages_sent` / `messages_received`: messages in range sent by the viewer's account /
  by the counterpart, bucketed by `sent_at`.
- `conversations_started`: conversations whose first message (seq 1, by either side) is in
  range, bucketed by that message's time.
- `conversations_with_reply`: of those, the ones where the other side had answered before
  `to`; `median_first_response_seconds` is the median delay of that first answer.
- `attachments` / `attachments_infected`: attachments of messages in range (both sides).

Scope: only conversations of the viewer's account; the counterpart is the partner for a
brand and the brand for a partner (so `PARTNER` buckets and `counterpart_ids` name brands
when a partner account asks). Nothing is loaded row by row: one statement per call, and
only the buckets (at most 367 time buckets, or one per counterpart) come back.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from enum import Enum
from typing import Any

from tortoise import Tortoise

from models import Account, AccountKind, PartnershipStatus, Permission
from services import analytics_sql
from services.auth import Viewer
from services.errors import ErrorCode, InvalidInput, PermissionDenied

MAX_SPAN = timedelta(days=366)
MAX_COUNTERPARTS = 500
# Dates the statistics cover: buckets are computed a week and a month beyond the range, so
# the range stays well inside `datetime`'s years 1–9999.
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(9000, 1, 1, tzinfo=UTC)


class GroupBy(str, Enum):  # noqa: UP042 (like models.enums)
    DAY = "DAY"
    WEEK = "WEEK"
    MONTH = "MONTH"
    PARTNER = "PARTNER"
    PARTNERSHIP_STATUS = "PARTNERSHIP_STATUS"


TIME_GROUPS = frozenset({GroupBy.DAY, GroupBy.WEEK, GroupBy.MONTH})


@dataclass(frozen=True, slots=True)
class StatsFilter:
    start: datetime
    end: datetime
    partnership_statuses: Sequence[PartnershipStatus] | None = None
    counterpart_ids: Sequence[str] | None = None


@dataclass(frozen=True, slots=True)
class Bucket:
    key: str
    label: str
    messages_sent: int = 0
    messages_received: int = 0
    conversations_started: int = 0
    conversations_with_reply: int = 0
    median_first_response_seconds: float | None = None
    attachments: int = 0
    attachments_infected: int = 0


@dataclass(frozen=True, slots=True)
class CheckedFilter:
    start: datetime
    end: datetime
    statuses: tuple[PartnershipStatus, ...] | None
    counterpart_ids: tuple[uuid.UUID, ...] | None


def _utc(value: datetime) -> datetime:
    """Naive datetimes are taken as UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def check_filter(flt: StatsFilter) -> CheckedFilter:
    start, end = _utc(flt.start), _utc(flt.end)
    if not (start >= EARLIEST and end <= LATEST):
        raise InvalidInput(
            ErrorCode.INVALID_ARGUMENT,
            f"Dates must lie between {EARLIEST:%Y-%m-%d} and {LATEST:%Y-%m-%d}.",
            ("filter", "from" if start < EARLIEST else "to"),
        )
    if start >= end:
        raise InvalidInput(
            ErrorCode.INVALID_ARGUMENT, "`from` must be before `to`.", ("filter", "from")
        )
    if end - start > MAX_SPAN:
        raise InvalidInput(
            ErrorCode.INVALID_ARGUMENT, "The range spans at most 366 days.", ("filter", "to")
        )
    ids: tuple[uuid.UUID, ...] | None = None
    if flt.counterpart_ids is not None:
        if len(flt.counterpart_ids) > MAX_COUNTERPARTS:
            raise InvalidInput(
                ErrorCode.INVALID_ARGUMENT,
                f"At most {MAX_COUNTERPARTS} partner ids.",
                ("filter", "partnerIds"),
            )
        # An id that is not a UUID names no account: it simply matches nothing.
        ids = tuple(u for u in (_maybe_uuid(raw) for raw in flt.counterpart_ids) if u)
    statuses = None if flt.partnership_statuses is None else tuple(set(flt.partnership_statuses))
    return CheckedFilter(start, end, statuses, ids)


def _maybe_uuid(raw: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(str(raw))
    except ValueError:
        return None


def require_analytics(viewer: Viewer) -> None:
    if not viewer.can(Permission.ANALYTICS_VIEW):
        raise PermissionDenied("Analytics needs the ANALYTICS_VIEW permission.")


async def messaging_stats(viewer: Viewer, flt: StatsFilter, group_by: GroupBy) -> list[Bucket]:
    """Buckets of the viewer's own account, ordered by key; time buckets are zero-filled."""
    require_analytics(viewer)
    checked = check_filter(flt)
    rows = await _run(viewer, checked, group_by)
    buckets = {row["key"]: _bucket(row, str(row["key"])) for row in rows}
    if group_by in TIME_GROUPS:
        for key in time_keys(checked.start, checked.end, group_by):
            buckets.setdefault(key, Bucket(key=key, label=key))
    elif group_by is GroupBy.PARTNER and buckets:
        names = dict(await Account.filter(id__in=list(buckets)).values_list("id", "name"))
        by_id = {str(k): str(v) for k, v in names.items()}
        buckets = {k: _relabel(b, by_id.get(k, k)) for k, b in buckets.items()}
    return [buckets[k] for k in sorted(buckets)]


async def messaging_totals(viewer: Viewer, flt: StatsFilter) -> Bucket:
    """The same figures over the whole range (the median is over all conversations)."""
    require_analytics(viewer)
    rows = await _run(viewer, check_filter(flt), None)
    return _bucket(rows[0], "TOTAL") if rows else Bucket(key="TOTAL", label="TOTAL")


async def _run(
    viewer: Viewer, checked: CheckedFilter, group_by: GroupBy | None
) -> list[dict[str, Any]]:
    conn = Tortoise.get_connection("default")
    dialect = "sqlite" if conn.capabilities.dialect == "sqlite" else "postgres"
    query, params = analytics_sql.build(
        dialect,
        group_by.value if group_by else None,
        brand_side=viewer.account_kind is AccountKind.BRAND,
        account_id=viewer.account_id,
        start=checked.start,
        end=checked.end,
        statuses=[s.value for s in checked.statuses] if checked.statuses is not None else None,
        counterpart_ids=checked.counterpart_ids,
    )
    return await analytics_sql.fetch(conn, query, params)


def _bucket(row: dict[str, Any], label: str) -> Bucket:
    median = row["median_seconds"]
    return Bucket(
        key=str(row["key"]),
        label=label,
        messages_sent=int(row["sent"]),
        messages_received=int(row["received"]),
        conversations_started=int(row["started"]),
        conversations_with_reply=int(row["with_reply"]),
        median_first_response_seconds=None if median is None else round(float(median), 3),
        attachments=int(row["attachments"]),
        attachments_infected=int(row["infected"]),
    )


def _relabel(bucket: Bucket, label: str) -> Bucket:
    fields = {name: getattr(bucket, name) for name in Bucket.__slots__}
    fields["label"] = label
    return Bucket(**fields)


def time_keys(start: datetime, end: datetime, group_by: GroupBy) -> list[str]:
    """Keys of every time bucket touching [start, end): `YYYY-MM-DD` (the day, or the
    Monday of the ISO week) or `YYYY-MM`."""
    last = (end - timedelta(microseconds=1)).date()
    day: date = start.date()
    if group_by is GroupBy.WEEK:
        day -= timedelta(days=day.weekday())
    elif group_by is GroupBy.MONTH:
        day = day.replace(day=1)
    keys: list[str] = []
    while day <= last:
        if group_by is GroupBy.MONTH:
            keys.append(day.strftime("%Y-%m"))
            day = (day.replace(day=28) + timedelta(days=4)).replace(day=1)
        else:
            keys.append(day.isoformat())
            day += timedelta(days=7 if group_by is GroupBy.WEEK else 1)
    return keys
