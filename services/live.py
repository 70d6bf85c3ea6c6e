"""What the live inbox reads: the rows events name, once per batch, and who may receive them.

Both are read for an audience *account*, never per subscriber: every user of the account sees
the same conversations, so one read serves all of them. Only conversations the account takes
part in are read, whatever an event row says.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from models import Account, Attachment, BulkSend, Message, Participant, Permission, User
from services.auth import parse_permissions
from services.events_log import EventRecord


@dataclass(frozen=True, slots=True)
class EventRows:
    participants: dict[uuid.UUID, Participant]  # by conversation id: the audience's side
    messages: dict[uuid.UUID, Message]
    attachments: dict[uuid.UUID, Attachment]
    attachments_by_message: dict[uuid.UUID, list[Attachment]]
    accounts: dict[uuid.UUID, Account]
    users: dict[uuid.UUID, User]
    bulk_sends: dict[uuid.UUID, BulkSend]  # the audience's own


async def load_event_rows(account_id: uuid.UUID, records: Sequence[EventRecord]) -> EventRows:
    """The rows named by `records`, limited to conversations `account_id` participates in."""
    participants = {
        p.conversation_id: p  # type: ignore[attr-defined]
        for p in await Participant.filter(
            account_id=account_id,
            conversation_id__in=list(
                {r.conversation_id for r in records if r.conversation_id is not None}
            ),
        ).select_related("conversation", "conversation__partnership")
    }
    visible = list(participants)
    attachment_ids = [r.attachment_id for r in records if r.attachment_id is not None]
    scanned = (
        await Attachment.filter(id__in=attachment_ids, message__conversation_id__in=visible)
        if attachment_ids
        else []
    )
    message_ids = {r.message_id for r in records if r.message_id is not None}
    message_ids |= {a.message_id for a in scanned}  # type: ignore[attr-defined]
    messages = (
        {
            m.id: m
            for m in await Message.filter(id__in=list(message_ids), conversation_id__in=visible)
        }
        if message_ids
        else {}
    )
    by_message: dict[uuid.UUID, list[Attachment]] = {m: [] for m in messages}
    if messages:
        for row in await Attachment.filter(message_id__in=list(messages)).order_by("position"):
            by_message[row.message_id].append(row)  # type: ignore[attr-defined]
    account_ids = {p.counterpart_id for p in participants.values()}  # type: ignore[attr-defined]
    account_ids |= {m.sender_account_id for m in messages.values()}  # type: ignore[attr-defined]
    account_ids |= {r.reader_account_id for r in records if r.reader_account_id is not None}
    account_ids.add(account_id)
    user_ids = {m.sender_user_id for m in messages.values()}  # type: ignore[attr-defined]
    user_ids |= {p.assignee_id for p in participants.values() if p.assignee_id}  # type: ignore[attr-defined]
    bulk_ids = [r.bulk_send_id for r in records if r.bulk_send_id is not None]
    bulk_sends = (
        {b.id: b for b in await BulkSend.filter(id__in=bulk_ids, account_id=account_id)}
        if bulk_ids
        else {}
    )
    return EventRows(
        participants=participants,
        messages=messages,
        attachments={a.id: a for rows in by_message.values() for a in rows},
        attachments_by_message=by_message,
        accounts={a.id: a for a in await Account.filter(id__in=list(account_ids))},
        users={u.id: u for u in await User.filter(id__in=list(user_ids))} if user_ids else {},
        bulk_sends=bulk_sends,
    )


async def messaging_user_ids(account_id: uuid.UUID) -> frozenset[uuid.UUID]:
    """Users of the account whose role grants MESSAGING now (read at each call)."""
    users = await User.filter(account_id=account_id).select_related("role")
    return frozenset(
        u.id for u in users if Permission.MESSAGING in parse_permissions(u.role.permissions)
    )
