from __future__ import annotations

from tortoise import fields
from tortoise.indexes import Index
from tortoise.models import Model

from models.accounts import Account, User
from models.enums import AccountKind, EventKind, InboxFolder, PartnershipStatus, ScanStatus


class Partnership(Model):
    id = fields.UUIDField(primary_key=True)
    brand: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "liaison.Account", related_name="brand_partnerships", on_delete=fields.CASCADE
    )
    partner: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "liaison.Account", related_name="partner_partnerships", on_delete=fields.CASCADE
    )
    status = fields.CharEnumField(PartnershipStatus, max_length=16)
    created_at = fields.DatetimeField(auto_now_add=True)
    updated_at = fields.DatetimeField(auto_now=True)

    class Meta:
        table = "partnerships"
        unique_together = (("brand", "partner"),)
        indexes = (
            Index(fields=("brand_id", "status", "created_at")),
            Index(fields=("partner_id", "status")),
        )


class Conversation(Model):
    id = fields.UUIDField(primary_key=True)
    partnership: fields.OneToOneRelation[Partnership] = fields.OneToOneField(
        "liaison.Partnership", related_name="conversation", on_delete=fields.CASCADE
    )
    brand: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "liaison.Account", related_name="brand_conversations", on_delete=fields.CASCADE
    )
    partner: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "liaison.Account", related_name="partner_conversations", on_delete=fields.CASCADE
    )
    started_by = fields.CharEnumField(AccountKind, max_length=16)
    last_seq = fields.IntField(default=0)
    last_message_id = fields.UUIDField(null=True)
    last_message_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "conversations"
        # The notifier looks only at conversations with recent messages.
        indexes = (Index(fields=("last_message_at",)),)


class Participant(Model):
    """One side's view of a conversation: read position, triage state, inbox order."""

    id = fields.BigIntField(primary_key=True)
    conversation: fields.ForeignKeyRelation[Conversation] = fields.ForeignKeyField(
        "liaison.Conversation", related_name="participants", on_delete=fields.CASCADE
    )
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "liaison.Account", related_name="participations", on_delete=fields.CASCADE
    )
    counterpart: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "liaison.Account", related_name="counterpart_participations", on_delete=fields.CASCADE
    )
    # Copy of the conversation's last seq, so unread = last_seq - last_read_seq on one row.
    last_seq = fields.IntField(default=0)
    last_read_seq = fields.IntField(default=0)
    # Database defaults too: the migration adds these columns to existing rows.
    folder = fields.CharEnumField(
        InboxFolder, max_length=8, default=InboxFolder.INBOX, db_default=InboxFolder.INBOX.value
    )
    priority = fields.BooleanField(default=False, db_default=False)
    assignee: fields.ForeignKeyNullableRelation[User] = fields.ForeignKeyField(
        "liaison.User", related_name="assigned", null=True, on_delete=fields.SET_NULL
    )
    last_activity_at = fields.DatetimeField()

    class Meta:
        table = "participants"
        unique_together = (("conversation", "account"),)
        indexes = (Index(fields=("account_id", "folder", "last_activity_at", "conversation_id")),)


class Message(Model):
    id = fields.UUIDField(primary_key=True)
    conversation: fields.ForeignKeyRelation[Conversation] = fields.ForeignKeyField(
        "liaison.Conversation", related_name="messages", on_delete=fields.CASCADE
    )
    seq = fields.IntField()
    body = fields.TextField()
    sender_user: fields.ForeignKeyRelation[User] = fields.ForeignKeyField(
        "liaison.User", related_name="messages", on_delete=fields.RESTRICT
    )
    sender_account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "liaison.Account", related_name="sent_messages", on_delete=fields.CASCADE
    )
    client_message_id = fields.CharField(max_length=255, null=True)
    # Digest of what the client asked to send, to tell a retry from a conflicting reuse.
    request_digest = fields.CharField(max_length=64)
    sent_at = fields.DatetimeField()
    # Set on the messages of a bulk send: one message per (bulk send, conversation), which is
    # one per (bulk send, partner), enforced by the database across worker crashes.
    bulk_send_id = fields.UUIDField(null=True)

    class Meta:
        table = "messages"
        unique_together = (
            ("conversation", "seq"),
            ("sender_user", "client_message_id"),
            ("bulk_send_id", "conversation"),
        )
        indexes = (Index(fields=("sender_account_id", "sent_at")),)


class Blob(Model):
    """Stored bytes and their virus scan: one per uploaded file, shared by every attachment
    that carries it (the messages of a bulk send share the bulk send's files).

    The scan runs once per blob; its verdict is copied onto every attachment of the blob in
    the verdict's own transaction (`services.scanning.jobs`), so readers of an attachment
    need no join. A single send's blob has the id of its attachment.
    """

    id = fields.UUIDField(primary_key=True)
    storage_key = fields.CharField(max_length=200, unique=True)
    content_type = fields.CharField(max_length=100)
    size = fields.BigIntField()
    sha256 = fields.CharField(max_length=64)
    scan_status = fields.CharEnumField(ScanStatus, max_length=16, default=ScanStatus.PENDING)
    scan_attempts = fields.IntField(default=0)
    scan_detail = fields.CharField(max_length=500, null=True)
    scanned_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "blobs"
        indexes = (Index(fields=("scan_status", "created_at")),)


class Attachment(Model):
    id = fields.UUIDField(primary_key=True)
    message: fields.ForeignKeyRelation[Message] = fields.ForeignKeyField(
        "liaison.Message", related_name="attachments", on_delete=fields.CASCADE
    )
    position = fields.IntField()
    filename = fields.CharField(max_length=255)
    # Null only for rows written before migration 0008 filled it in; always set since.
    blob: fields.ForeignKeyNullableRelation[Blob] = fields.ForeignKeyField(
        "liaison.Blob", related_name="attachments", null=True, on_delete=fields.RESTRICT
    )
    # Copies of the blob's: what a download, a page of messages or an event reads.
    content_type = fields.CharField(max_length=100)
    size = fields.BigIntField()
    sha256 = fields.CharField(max_length=64)
    storage_key = fields.CharField(max_length=200, db_index=True)
    scan_status = fields.CharEnumField(ScanStatus, max_length=16, default=ScanStatus.PENDING)
    scan_attempts = fields.IntField(default=0)
    scan_detail = fields.CharField(max_length=500, null=True)
    scanned_at = fields.DatetimeField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "attachments"
        unique_together = (("message", "position"),)
        # blob_id: a verdict updates every attachment of its blob.
        indexes = (Index(fields=("scan_status", "created_at")), Index(fields=("blob_id",)))


class Event(Model):
    """The durable record of a live event, one row per audience account.

    `seq` is the account's own gap-free position: it is the subscription cursor.
    """

    id = fields.BigIntField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "liaison.Account", related_name="events", on_delete=fields.CASCADE
    )
    seq = fields.BigIntField()
    kind = fields.CharEnumField(EventKind, max_length=32)
    # Null for events about no conversation: PARTNERSHIP_UPDATED names `partnership_id`,
    # BULK_SEND_PROGRESS names `bulk_send_id`.
    conversation: fields.ForeignKeyNullableRelation[Conversation] = fields.ForeignKeyField(
        "liaison.Conversation", related_name="events", null=True, on_delete=fields.CASCADE
    )
    partnership_id = fields.UUIDField(null=True)
    bulk_send_id = fields.UUIDField(null=True)
    message_id = fields.UUIDField(null=True)
    attachment_id = fields.UUIDField(null=True)
    reader_account_id = fields.UUIDField(null=True)
    last_read_seq = fields.IntField(null=True)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "events"
        unique_together = (("account", "seq"),)
