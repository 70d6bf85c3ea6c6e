"""The durable event log: one row per audience account, with a gap-free per-account `seq`.

Positions are handed out by bumping `accounts.event_seq` inside the writing transaction.
The row lock this takes makes positions of one account commit in order, so a reader that
has seen position N can never later find a committed event below N. Callers lock accounts
in sorted order (see `append`) so two writers cannot deadlock.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from tortoise.backends.base.client import BaseDBAsyncClient

from models import Account, Event, EventKind
from services.sql import execute_many, fetch, is_sqlite


class Notifier(Protocol):
    """Tells other processes and local subscribers that accounts have new events."""

    async def notify(self, account_ids: Iterable[uuid.UUID]) -> None: ...


@dataclass(frozen=True, slots=True)
class EventRecord:
    account_id: uuid.UUID
    seq: int
    kind: EventKind
    conversation_id: uuid.UUID | None
    message_id: uuid.UUID | None
    attachment_id: uuid.UUID | None
    reader_account_id: uuid.UUID | None
    last_read_seq: int | None
    partnership_id: uuid.UUID | None = None
    bulk_send_id: uuid.UUID | None = None


async def append(
    conn: BaseDBAsyncClient,
    kind: EventKind,
    account_ids: Iterable[uuid.UUID],
    conversation_id: uuid.UUID | None,
    *,
    message_id: uuid.UUID | None = None,
    attachment_id: uuid.UUID | None = None,
    reader_account_id: uuid.UUID | None = None,
    last_read_seq: int | None = None,
    bulk_send_id: uuid.UUID | None = None,
) -> list[uuid.UUID]:
    """Record one event for each audience account inside the caller's transaction.

    Call it last in the transaction: it holds each account's counter row until commit.
    Returns the audience, for notification after the commit.
    """
    audience = sorted(set(account_ids), key=str)
    for account_id in audience:
        rows = await fetch(
            conn,
            "UPDATE accounts SET event_seq = event_seq + 1 WHERE id = $1 RETURNING event_seq",
            account_id,
        )
        await Event.create(
            using_db=conn,
            account_id=account_id,
            seq=rows[0]["event_seq"],
            kind=kind,
            conversation_id=conversation_id,
            message_id=message_id,
            attachment_id=attachment_id,
            reader_account_id=reader_account_id,
            last_read_seq=last_read_seq,
            bulk_send_id=bulk_send_id,
        )
    return audience


_EVENT_COLUMNS = (
    ("conversation_id", "uuid"),
    ("partnership_id", "uuid"),
    ("message_id", "uuid"),
    ("attachment_id", "uuid"),
    ("reader_account_id", "uuid"),
    ("last_read_seq", "int"),
)


async def append_batch(
    conn: BaseDBAsyncClient,
    kind: EventKind,
    entries: Sequence[tuple[Iterable[uuid.UUID], dict[str, Any]]],
) -> list[uuid.UUID]:
    """`append` for many events of one kind: each entry is (its audience, its Event fields,
    among `_EVENT_COLUMNS`).

    Counters are bumped once per audience account, locked in sorted order as `append` does;
    on PostgreSQL the whole batch is three statements. Call it last in the transaction;
    returns the audience of all the events.
    """
    per_account: dict[uuid.UUID, list[dict[str, Any]]] = {}
    for audience, fields in entries:
        for account_id in set(audience):
            per_account.setdefault(account_id, []).append(fields)
    ordered = sorted(per_account, key=str)
    if not ordered:
        return ordered
    if is_sqlite(conn):
        await _append_many_each(conn, kind, ordered, per_account)
        return ordered
    counts = [len(per_account[a]) for a in ordered]
    await fetch(
        conn, "SELECT id FROM accounts WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE", ordered
    )
    bumped = await fetch(
        conn,
        "UPDATE accounts a SET event_seq = a.event_seq + v.n"
        " FROM unnest($1::uuid[], $2::bigint[]) AS v(id, n) WHERE a.id = v.id"
        " RETURNING a.id, a.event_seq",
        ordered,
        counts,
    )
    last = {row["id"]: int(row["event_seq"]) for row in bumped}
    account_ids: list[uuid.UUID] = []
    seqs: list[int] = []
    columns: dict[str, list[Any]] = {name: [] for name, _ in _EVENT_COLUMNS}
    for account_id, count in zip(ordered, counts, strict=True):
        first = last[account_id] - count + 1
        for offset, fields in enumerate(per_account[account_id]):
            account_ids.append(account_id)
            seqs.append(first + offset)
            for name, _ in _EVENT_COLUMNS:
                columns[name].append(fields.get(name))
    names = ", ".join(name for name, _ in _EVENT_COLUMNS)
    arrays = ", ".join(f"${i + 3}::{kind_}[]" for i, (_, kind_) in enumerate(_EVENT_COLUMNS))
    await fetch(
        conn,
        f"INSERT INTO events (account_id, seq, kind, created_at, {names})"
        f" SELECT a, s, ${len(_EVENT_COLUMNS) + 3}, now(), {names}"
        f" FROM unnest($1::uuid[], $2::bigint[], {arrays}) AS t(a, s, {names})",
        account_ids,
        seqs,
        *(columns[name] for name, _ in _EVENT_COLUMNS),
        kind.value,
    )
    return ordered


async def _append_many_each(
    conn: BaseDBAsyncClient,
    kind: EventKind,
    ordered: list[uuid.UUID],
    per_account: dict[uuid.UUID, list[dict[str, Any]]],
) -> None:
    events: list[Event] = []
    for account_id in ordered:
        pending = per_account[account_id]
        rows = await fetch(
            conn,
            "UPDATE accounts SET event_seq = event_seq + $2 WHERE id = $1 RETURNING event_seq",
            account_id,
            len(pending),
        )
        first = int(rows[0]["event_seq"]) - len(pending) + 1
        events.extend(
            Event(account_id=account_id, seq=first + offset, kind=kind, **fields)
            for offset, fields in enumerate(pending)
        )
    await Event.bulk_create(events, using_db=conn)


@dataclass(frozen=True, slots=True)
class NewEvent:
    kind: EventKind
    account_id: uuid.UUID
    conversation_id: uuid.UUID | None
    message_id: uuid.UUID | None = None
    attachment_id: uuid.UUID | None = None


async def append_many(conn: BaseDBAsyncClient, events: Sequence[NewEvent]) -> list[uuid.UUID]:
    """`append` for many events at once (the bulk send path, a shared blob's verdict), in
    the caller's transaction.

    Each account's counter is locked once, in sorted order like `append`, and bumped by its
    number of events; the events get consecutive positions in the order given. Returns the
    audience, for notification after the commit.
    """
    counts: dict[uuid.UUID, int] = {}
    for event in events:
        counts[event.account_id] = counts.get(event.account_id, 0) + 1
    audience = sorted(counts, key=str)
    last: dict[uuid.UUID, int] = {}
    if is_sqlite(conn):
        for account_id in audience:
            bumped = await fetch(
                conn,
                "UPDATE accounts SET event_seq = event_seq + $2 WHERE id = $1 RETURNING event_seq",
                account_id,
                counts[account_id],
            )
            last[account_id] = int(bumped[0]["event_seq"])
    elif audience:
        await fetch(
            conn,
            "SELECT id FROM accounts WHERE id = ANY($1::uuid[]) ORDER BY id FOR UPDATE",
            audience,
        )
        bumped = await fetch(
            conn,
            "UPDATE accounts a SET event_seq = a.event_seq + v.n FROM"
            " (SELECT unnest($1::uuid[]) AS id, unnest($2::bigint[]) AS n) v"
            " WHERE a.id = v.id RETURNING a.id, a.event_seq",
            audience,
            [counts[a] for a in audience],
        )
        last = {uuid.UUID(str(r["id"])): int(r["event_seq"]) for r in bumped}
    next_seq = {a: last[a] - counts[a] + 1 for a in audience}
    now = datetime.now(UTC)
    rows = []
    for event in events:
        seq = next_seq[event.account_id]
        next_seq[event.account_id] = seq + 1
        rows.append(
            (
                event.account_id,
                seq,
                event.kind.value,
                event.conversation_id,
                event.message_id,
                event.attachment_id,
                now,
            )
        )
    # Plain rows, not model instances: thousands per bulk chunk.
    await execute_many(
        conn,
        "INSERT INTO events (account_id, seq, kind, conversation_id, message_id,"
        " attachment_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        rows,
    )
    return audience


def _record(e: Event) -> EventRecord:
    return EventRecord(
        account_id=e.account_id,  # type: ignore[attr-defined]
        seq=e.seq,
        kind=e.kind,
        conversation_id=e.conversation_id,  # type: ignore[attr-defined]
        message_id=e.message_id,
        attachment_id=e.attachment_id,
        reader_account_id=e.reader_account_id,
        last_read_seq=e.last_read_seq,
        partnership_id=e.partnership_id,
        bulk_send_id=e.bulk_send_id,
    )


async def fetch_events(
    account_id: uuid.UUID, after_seq: int, limit: int = 500
) -> list[EventRecord]:
    """Committed events of an account after a position, oldest first."""
    rows = await Event.filter(account_id=account_id, seq__gt=after_seq).order_by("seq").limit(limit)
    return [_record(e) for e in rows]


async def latest_seq(account_id: uuid.UUID) -> int:
    account = await Account.filter(id=account_id).only("id", "event_seq").first()
    return 0 if account is None else int(account.event_seq)
