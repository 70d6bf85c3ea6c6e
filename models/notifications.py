from __future__ import annotations

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from models.accounts import User
from models.enums import NotificationKind, NotificationStatus
from models.messaging import Conversation


class Notification(Model):
    """One e-mail owed to a user: the claim that makes it exactly once.

    `window_key` names what the e-mail is about — `conversation:<id>:<first seq>` for the unread
    messages of one conversation, `daily:<date>` / `weekly:<monday>` for a digest — and is
    unique per user, so however many notifiers race, one row (and one e-mail) wins.
    """

    id = fields.BigIntField(primary_key=True)
    user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "liaison.User", related_name="notifications", on_delete=fields.CASCADE
    )
    kind = fields.CharEnumField(NotificationKind, max_length=16)
    window_key = fields.CharField(max_length=100)
    conversation: fields.ForeignKeyNullableRelation[Conversation] = fields.ForeignKeyField(
        "liaison.Conversation",
        related_name="notifications",
        on_delete=fields.CASCADE,
        null=True,
    )
    # Conversation windows: the messages the e-mail covers (seqs of that conversation).
    first_seq = fields.IntField(null=True)
    last_seq = fields.IntField(null=True)
    status = fields.CharEnumField(
        NotificationStatus, max_length=16, default=NotificationStatus.PENDING
    )
    # When to (re)try sending; a sender holds the row until `lease_until`.
    due_at = fields.DatetimeField()
    lease_owner = fields.CharField(max_length=64, null=True)
    lease_until = fields.DatetimeField(null=True)
    attempts = fields.IntField(default=0)
    last_error = fields.CharField(max_length=500, null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    sent_at = fields.DatetimeField(null=True)

    class Meta:
        table = "notifications"
        unique_together = (("user", "window_key"),)
        indexes = (
            Index(fields=("status", "due_at")),
            Index(fields=("user_id", "conversation_id", "last_seq")),
        )
