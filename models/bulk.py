"""Message templates and bulk sends (newsletters): one request, one message per recipient."""

from __future__ import annotations

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from models.accounts import Account, User
from models.enums import BulkOutcome, BulkSendStatus
from models.messaging import Blob


class MessageTemplate(Model):
    id = fields.UUIDField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "liaison.Account", related_name="message_templates", on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=200)
    body = fields.TextField()
    created_by: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "liaison.User", related_name="message_templates", null=True, on_delete=fields.SET_NULL
    )
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField()

    class Meta:
        table = "message_templates"
        indexes = (Index(fields=("account_id", "updated_at", "id")),)


class BulkSend(Model):
    """One newsletter: its recipients, fixed at creation, and its progress.

    The job that sends it holds a lease (lease_owner, lease_until): one worker at a time.
    """

    id = fields.UUIDField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "liaison.Account", related_name="bulk_sends", on_delete=fields.CASCADE
    )
    created_by: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "liaison.User", related_name="bulk_sends", on_delete=fields.RESTRICT
    )
    client_bulk_id = fields.CharField(max_length=255, null=True)
    request_digest = fields.CharField(max_length=64)
    # The body as written, tokens unsubstituted; each recipient's message renders it.
    body = fields.TextField()
    status = fields.CharEnumField(BulkSendStatus, max_length=16, default=BulkSendStatus.QUEUED)
    total = fields.IntField(default=0)
    sent = fields.IntField(default=0)
    skipped = fields.IntField(default=0)
    failed = fields.IntField(default=0)
    lease_owner = fields.CharField(max_length=100, null=True)
    lease_until = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)
    finished_at = fields.DatetimeField(null=True)

    class Meta:
        table = "bulk_sends"
        unique_together = (("created_by", "client_bulk_id"),)
        indexes = (Index(fields=("account_id", "created_at", "id")), Index(fields=("status",)))


class BulkRecipient(Model):
    id = fields.BigIntField(primary_key=True)
    bulk_send: fields.ForeignKeyRelation[BulkSend] = fields.ForeignKeyField(
        "liaison.BulkSend", related_name="recipients", on_delete=fields.CASCADE
    )
    position = fields.IntField()
    partner: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "liaison.Account", related_name="bulk_receipts", on_delete=fields.CASCADE
    )
    partnership_id = fields.UUIDField()
    outcome = fields.CharEnumField(BulkOutcome, max_length=16, default=BulkOutcome.PENDING)
    reason = fields.CharField(max_length=64, null=True)
    message_id = fields.UUIDField(null=True)

    class Meta:
        table = "bulk_recipients"
        unique_together = (("bulk_send", "partner"), ("bulk_send", "position"))
        indexes = (Index(fields=("bulk_send_id", "outcome", "position")),)


class BulkAttachment(Model):
    """A file of a bulk send: stored and scanned once (its `Blob`), carried by every message
    of the bulk send as an attachment pointing at that blob."""

    id = fields.BigIntField(primary_key=True)
    bulk_send: fields.ForeignKeyRelation[BulkSend] = fields.ForeignKeyField(
        "liaison.BulkSend", related_name="attachments", on_delete=fields.CASCADE
    )
    position = fields.IntField()
    filename = fields.CharField(max_length=255)
    blob: fields.ForeignKeyRelation[Blob] = fields.ForeignKeyField(
        "liaison.Blob", related_name="bulk_attachments", on_delete=fields.RESTRICT
    )

    class Meta:
        table = "bulk_attachments"
        unique_together = (("bulk_send", "position"),)
