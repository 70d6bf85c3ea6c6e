"""The notifier's SQL, written once for PostgreSQL and SQLite (`services.sql.fetch`).

Who may be notified about a conversation (SPEC §13): a user of the side with unread
messages, with `MESSAGING`, unless that side filed the conversation as `SPAM` or assigned it
to another of its users (§10).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from tortoise.backends.base.client import BaseDBAsyncClient

from models import NotificationFrequency, NotificationKind
from services.sql import fetch

HAS_MESSAGING = "(',' || r.permissions || ',') LIKE '%,MESSAGING,%'"
# §10 triage: `participants.folder` and `participants.assignee_id`.
TRIAGE_RULE = "p.folder <> 'SPAM' AND (p.assignee_id IS NULL OR p.assignee_id = u.id)"


@dataclass(frozen=True, slots=True)
class DueWindow:
    user_id: uuid.UUID
    conversation_id: uuid.UUID
    start_seq: int
    last_seq: int
    first_sent_at: datetime


def as_uuid(value: object) -> uuid.UUID:
    return value if isinstance(value, uuid.UUID) else uuid.UUID(str(value))


def as_time(value: object) -> datetime:
    parsed = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


async def due_windows(
    conn: BaseDBAsyncClient, sent_before: datetime, active_since: datetime
) -> list[DueWindow]:
    """(user, conversation) pairs whose first message not yet read nor covered by an e-mail
    was sent before `sent_before`, with no e-mail for them still pending, among the
    conversations with a message after `active_since`.

    The recent conversations come first (MATERIALIZED fixes the join order: the planner
    cannot estimate the permission test on roles and would start from every user).
    """
    rows = await fetch(
        conn,
        f"""
WITH recent AS MATERIALIZED (SELECT id FROM conversations WHERE last_message_at > $3)
SELECT w.user_id, w.conversation_id, w.start_seq, w.last_seq, m.sent_at FROM (
  SELECT c.user_id, c.conversation_id, c.last_seq,
         CASE WHEN c.covered > c.last_read_seq THEN c.covered ELSE c.last_read_seq END + 1
           AS start_seq
  FROM (
    SELECT u.id AS user_id, p.conversation_id, p.last_seq, p.last_read_seq,
           COALESCE((SELECT MAX(n.last_seq) FROM notifications n
                     WHERE n.user_id = u.id AND n.conversation_id = p.conversation_id), 0)
             AS covered
    FROM recent cv
    JOIN participants p ON p.conversation_id = cv.id
    JOIN users u ON u.account_id = p.account_id
    JOIN roles r ON r.id = u.role_id
    WHERE p.last_seq > p.last_read_seq
      AND u.notification_frequency = $1
      AND {HAS_MESSAGING}
      AND {TRIAGE_RULE}
      AND NOT EXISTS (SELECT 1 FROM notifications n WHERE n.user_id = u.id
                      AND n.conversation_id = p.conversation_id AND n.status = 'PENDING')
  ) c
) w
JOIN messages m ON m.conversation_id = w.conversation_id AND m.seq = w.start_seq
WHERE w.start_seq <= w.last_seq AND m.sent_at <= $2
""",
        NotificationFrequency.IMMEDIATE.value,
        sent_before,
        active_since,
    )
    return [
        DueWindow(
            as_uuid(r["user_id"]),
            as_uuid(r["conversation_id"]),
            int(r["start_seq"]),
            int(r["last_seq"]),
            as_time(r["sent_at"]),
        )
        for r in rows
    ]


async def claim_digests(
    conn: BaseDBAsyncClient,
    frequency: NotificationFrequency,
    kind: NotificationKind,
    window_key: str,
    now: datetime,
) -> None:
    """One PENDING digest row per user on `frequency` with MESSAGING; existing rows stay."""
    await fetch(
        conn,
        f"""
INSERT INTO notifications (user_id, kind, window_key, status, due_at, attempts, created_at)
SELECT u.id, $1, $2, 'PENDING', $3, 0, $3
FROM users u JOIN roles r ON r.id = u.role_id
WHERE u.notification_frequency = $4 AND {HAS_MESSAGING}
ON CONFLICT (user_id, window_key) DO NOTHING
""",
        kind.value,
        window_key,
        now,
        frequency.value,
    )


async def recipient(conn: BaseDBAsyncClient, user_id: uuid.UUID) -> dict[str, Any] | None:
    rows = await fetch(
        conn,
        f"""
SELECT u.email, u.name, u.account_id, u.notification_frequency,
       CASE WHEN {HAS_MESSAGING} THEN 1 ELSE 0 END AS messaging
FROM users u JOIN roles r ON r.id = u.role_id WHERE u.id = $1
""",
        user_id,
    )
    return rows[0] if rows else None


async def unread_conversations(
    conn: BaseDBAsyncClient,
    account_id: uuid.UUID,
    user_id: uuid.UUID,
    *,
    conversation_id: uuid.UUID | None = None,
) -> list[dict[str, Any]]:
    """The account's conversations with unread messages the user is to hear about, newest
    activity first, each with its counterpart's name and its latest message."""
    only_one = "AND p.conversation_id = $3" if conversation_id is not None else ""
    args: list[Any] = [account_id, user_id]
    if conversation_id is not None:
        args.append(conversation_id)
    return await fetch(
        conn,
        f"""
SELECT p.conversation_id, p.last_seq, p.last_read_seq, a.name AS counterpart, m.body,
       (SELECT COUNT(*) FROM attachments t WHERE t.message_id = m.id) AS attachments
FROM participants p
JOIN users u ON u.id = $2
JOIN accounts a ON a.id = p.counterpart_id
JOIN conversations c ON c.id = p.conversation_id
LEFT JOIN messages m ON m.id = c.last_message_id
WHERE p.account_id = $1 AND p.last_seq > p.last_read_seq {only_one}
  AND {TRIAGE_RULE}
ORDER BY p.last_activity_at DESC, p.conversation_id
""",
        *args,
    )


@dataclass(frozen=True, slots=True)
class Owed:
    """A leased notification row."""

    id: int
    user_id: uuid.UUID
    kind: NotificationKind
    conversation_id: uuid.UUID | None
    first_seq: int | None
    attempts: int


async def lease_due(
    conn: BaseDBAsyncClient, owner: str, now: datetime, until: datetime, limit: int
) -> list[Owed]:
    """Lease up to `limit` PENDING rows that are due and not leased by a live notifier.

    The outer WHERE repeats the inner one: under concurrent notifiers (PostgreSQL's READ
    COMMITTED re-checks it on rows another transaction just changed) a row is leased once.
    """
    free = "status = 'PENDING' AND due_at <= $2 AND (lease_until IS NULL OR lease_until <= $2)"
    rows = await fetch(
        conn,
        f"""
UPDATE notifications SET lease_owner = $1, lease_until = $3
WHERE id IN (SELECT id FROM notifications WHERE {free} ORDER BY due_at, id LIMIT $4)
  AND {free}
RETURNING id, user_id, kind, conversation_id, first_seq, attempts
""",
        owner,
        now,
        until,
        limit,
    )
    return [
        Owed(
            id=int(r["id"]),
            user_id=as_uuid(r["user_id"]),
            kind=NotificationKind(r["kind"]),
            conversation_id=as_uuid(r["conversation_id"]) if r["conversation_id"] else None,
            first_seq=r["first_seq"],
            attempts=int(r["attempts"]),
        )
        for r in rows
    ]
