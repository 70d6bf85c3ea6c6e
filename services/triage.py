"""Inbox triage: folder, priority, assignee and "mark unread", per side of a conversation.

Triage state lives on the viewer's participant row, so every user of an account sees the
same folders, priorities and assignments, and the other side sees none of it. Each change
is one transaction that locks that row, writes it and, when something actually changed,
records a `CONVERSATION_UPDATED` event for the viewer's own account only; the audience is
notified after the commit. A request that changes nothing records nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from tortoise import connections
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.transactions import in_transaction

from models import EventKind, InboxFolder, Message, Participant, Permission, User
from services import events_log
from services.auth import Viewer, parse_permissions
from services.conversations import access_conversation, require_messaging
from services.errors import NotFound, PermissionDenied
from services.sql import fetch

Change = Callable[[Participant, BaseDBAsyncClient], Any]


async def _change(
    viewer: Viewer, conversation_id: str, notifier: events_log.Notifier, change: Change
) -> Participant:
    """Apply `change` (which returns the fields to write, or nothing) to the viewer's side
    under its row lock; record and announce a ConversationUpdated when it wrote."""
    participant = await access_conversation(viewer, conversation_id)
    audience: list[uuid.UUID] = []
    async with in_transaction() as conn:
        current = await Participant.select_for_update().using_db(conn).get(id=participant.id)
        updates: dict[str, Any] = await change(current, conn)
        updates = {k: v for k, v in updates.items() if getattr(current, k) != v}
        if updates:
            await Participant.filter(id=current.id).using_db(conn).update(**updates)
            audience = await events_log.append(
                conn,
                EventKind.CONVERSATION_UPDATED,
                (viewer.account_id,),
                current.conversation_id,  # type: ignore[attr-defined]
            )
    if audience:
        await notifier.notify(audience)
    return await access_conversation(viewer, conversation_id)


async def move(
    viewer: Viewer, conversation_id: str, folder: InboxFolder, notifier: events_log.Notifier
) -> Participant:
    async def change(_: Participant, __: BaseDBAsyncClient) -> dict[str, Any]:
        return {"folder": folder}

    return await _change(viewer, conversation_id, notifier, change)


async def set_priority(
    viewer: Viewer, conversation_id: str, priority: bool, notifier: events_log.Notifier
) -> Participant:
    async def change(_: Participant, __: BaseDBAsyncClient) -> dict[str, Any]:
        return {"priority": priority}

    return await _change(viewer, conversation_id, notifier, change)


async def mark_unread(
    viewer: Viewer, conversation_id: str, notifier: events_log.Notifier
) -> Participant:
    """Move the read position to just before the latest message from the other side (the
    latest message at all when the other side has not written), so unreadCount >= 1."""

    async def change(current: Participant, conn: BaseDBAsyncClient) -> dict[str, Any]:
        latest = (
            await Message.filter(conversation_id=current.conversation_id)  # type: ignore[attr-defined]
            .exclude(sender_account_id=viewer.account_id)
            .using_db(conn)
            .order_by("-seq")
            .limit(1)
            .values_list("seq", flat=True)
        )
        target = int(latest[0]) if latest else current.last_seq  # type: ignore[call-overload]
        return {"last_read_seq": max(target - 1, 0)}

    return await _change(viewer, conversation_id, notifier, change)


def _user_id(raw: str) -> uuid.UUID:
    try:
        return uuid.UUID(raw)
    except (ValueError, TypeError, AttributeError):
        raise NotFound("No such user.", field=("assigneeId",)) from None


async def check_assignee(viewer: Viewer, assignee_id: str) -> uuid.UUID:
    """A user of the viewer's own account (else NOT_FOUND, like a missing one) whose role
    grants MESSAGING (else PERMISSION_DENIED)."""
    user = (
        await User.filter(id=_user_id(assignee_id), account_id=viewer.account_id)
        .select_related("role")
        .first()
    )
    if user is None:
        raise NotFound("No such user.", field=("assigneeId",))
    if Permission.MESSAGING not in parse_permissions(user.role.permissions):
        raise PermissionDenied(
            "That user has no MESSAGING permission and cannot be assigned conversations.",
            field=("assigneeId",),
        )
    return user.id


async def assign(
    viewer: Viewer, conversation_id: str, assignee_id: str | None, notifier: events_log.Notifier
) -> Participant:
    """Assign the viewer's side to a user of its account with MESSAGING; None unassigns."""
    await access_conversation(viewer, conversation_id)  # NOT_FOUND first, then the assignee
    user_id = None if assignee_id is None else await check_assignee(viewer, assignee_id)

    async def change(_: Participant, __: BaseDBAsyncClient) -> dict[str, Any]:
        return {"assignee_id": user_id}

    return await _change(viewer, conversation_id, notifier, change)


@dataclass(frozen=True, slots=True)
class InboxCounts:
    inbox: int
    unread: int
    priority: int
    done: int
    spam: int
    assigned_to_me: int


COUNTS_SQL = """
SELECT
  COUNT(*) FILTER (WHERE folder = 'INBOX') AS inbox,
  COUNT(*) FILTER (WHERE folder = 'INBOX' AND last_seq > last_read_seq) AS unread,
  COUNT(*) FILTER (WHERE folder = 'INBOX' AND priority) AS priority,
  COUNT(*) FILTER (WHERE folder = 'DONE') AS done,
  COUNT(*) FILTER (WHERE folder = 'SPAM') AS spam,
  COUNT(*) FILTER (WHERE folder = 'INBOX' AND assignee_id = $2) AS assigned_to_me
FROM participants WHERE account_id = $1"""


async def inbox_counts(viewer: Viewer) -> InboxCounts:
    """The per-tab counts of the viewer's side, in one statement over its participant rows.
    `unread`, `priority` and `assignedToMe` count INBOX conversations only."""
    require_messaging(viewer)
    rows = await fetch(connections.get("default"), COUNTS_SQL, viewer.account_id, viewer.user_id)
    return InboxCounts(**{k: int(v or 0) for k, v in rows[0].items()})
