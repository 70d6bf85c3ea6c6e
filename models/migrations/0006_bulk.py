"""Templates and bulk sends (newsletters); events about no conversation
(BULK_SEND_PROGRESS); one message per (bulk send, conversation); the built-in roles
ACCOUNT_ADMIN and COMMUNITY_MANAGER gain BULK_MESSAGING."""

from uuid import uuid4

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.indexes import Index
from tortoise.migrations import operations as ops
from tortoise.migrations.constraints import UniqueConstraint

from models.enums import BulkOutcome, BulkSendStatus, EventKind

BULK_ROLES = ("ACCOUNT_ADMIN", "COMMUNITY_MANAGER")


async def _set_bulk_permission(schema_editor, grant: bool) -> None:
    client = schema_editor.client
    sqlite = client.capabilities.dialect == "sqlite"
    rows = await client.execute_query_dict(
        "SELECT id, permissions FROM roles WHERE built_in AND name IN ('ACCOUNT_ADMIN', "
        "'COMMUNITY_MANAGER')"
    )
    update = (
        "UPDATE roles SET permissions = ? WHERE id = ?"
        if sqlite
        else "UPDATE roles SET permissions = $1 WHERE id = $2"
    )
    for row in rows:
        permissions = {p for p in row["permissions"].split(",") if p}
        if grant:
            permissions.add("BULK_MESSAGING")
        else:
            permissions.discard("BULK_MESSAGING")
        await client.execute_query(update, [",".join(sorted(permissions)), row["id"]])


async def grant_bulk_messaging(apps, schema_editor) -> None:
    await _set_bulk_permission(schema_editor, grant=True)


async def revoke_bulk_messaging(apps, schema_editor) -> None:
    await _set_bulk_permission(schema_editor, grant=False)


class Migration(migrations.Migration):
    dependencies = [("liaison", "0005_notifications")]

    initial = False

    operations = [
        ops.CreateModel(
            name="BulkSend",
            fields=[
                (
                    "id",
                    fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True),
                ),
                (
                    "account",
                    fields.ForeignKeyField(
                        "liaison.Account",
                        source_field="account_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="bulk_sends",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                (
                    "created_by",
                    fields.ForeignKeyField(
                        "liaison.User",
                        source_field="created_by_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="bulk_sends",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
                ("client_bulk_id", fields.CharField(null=True, max_length=255)),
                ("request_digest", fields.CharField(max_length=64)),
                ("body", fields.TextField(unique=False)),
                (
                    "status",
                    fields.CharEnumField(
                        default=BulkSendStatus.QUEUED,
                        description="QUEUED: QUEUED\nRUNNING: RUNNING\nDONE: DONE\nCANCELLED: CANCELLED",
                        enum_type=BulkSendStatus,
                        max_length=16,
                    ),
                ),
                ("total", fields.IntField(default=0)),
                ("sent", fields.IntField(default=0)),
                ("skipped", fields.IntField(default=0)),
                ("failed", fields.IntField(default=0)),
                ("lease_owner", fields.CharField(null=True, max_length=100)),
                (
                    "lease_until",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                (
                    "finished_at",
                    fields.DatetimeField(null=True, auto_now=False, auto_now_add=False),
                ),
            ],
            options={
                "table": "bulk_sends",
                "app": "liaison",
                "unique_together": (("created_by", "client_bulk_id"),),
                "indexes": [
                    Index(fields=["account_id", "created_at", "id"]),
                    Index(fields=["status"]),
                ],
                "pk_attr": "id",
                "table_description": "One newsletter: its recipients, fixed at creation, and its progress.",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="BulkRecipient",
            fields=[
                (
                    "id",
                    fields.BigIntField(
                        generated=True, primary_key=True, unique=True, db_index=True
                    ),
                ),
                (
                    "bulk_send",
                    fields.ForeignKeyField(
                        "liaison.BulkSend",
                        source_field="bulk_send_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="recipients",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("position", fields.IntField()),
                (
                    "partner",
                    fields.ForeignKeyField(
                        "liaison.Account",
                        source_field="partner_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="bulk_receipts",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("partnership_id", fields.UUIDField()),
                (
                    "outcome",
                    fields.CharEnumField(
                        default=BulkOutcome.PENDING,
                        description="PENDING: PENDING\nSENT: SENT\nSKIPPED: SKIPPED\nFAILED: FAILED",
                        enum_type=BulkOutcome,
                        max_length=16,
                    ),
                ),
                ("reason", fields.CharField(null=True, max_length=64)),
                ("message_id", fields.UUIDField(null=True)),
            ],
            options={
                "table": "bulk_recipients",
                "app": "liaison",
                "unique_together": (("bulk_send", "partner"), ("bulk_send", "position")),
                "indexes": [Index(fields=["bulk_send_id", "outcome", "position"])],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="MessageTemplate",
            fields=[
                (
                    "id",
                    fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True),
                ),
                (
                    "account",
                    fields.ForeignKeyField(
                        "liaison.Account",
                        source_field="account_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="message_templates",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("name", fields.CharField(max_length=200)),
                ("body", fields.TextField(unique=False)),
                (
                    "created_by",
                    fields.ForeignKeyField(
                        "liaison.User",
                        source_field="created_by_id",
                        null=True,
                        db_constraint=True,
                        to_field="id",
                        related_name="message_templates",
                        on_delete=OnDelete.SET_NULL,
                    ),
                ),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ("updated_at", fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={
                "table": "message_templates",
                "app": "liaison",
                "indexes": [Index(fields=["account_id", "updated_at", "id"])],
                "pk_attr": "id",
            },
            bases=["Model"],
        ),
        ops.AlterField(
            model_name="Event",
            name="conversation",
            field=fields.ForeignKeyField(
                "liaison.Conversation",
                source_field="conversation_id",
                null=True,
                db_constraint=True,
                to_field="id",
                related_name="events",
                on_delete=OnDelete.CASCADE,
            ),
        ),
        ops.AlterField(
            model_name="Event",
            name="kind",
            field=fields.CharEnumField(
                description="MESSAGE_CREATED: MESSAGE_CREATED\nATTACHMENT_SCANNED: ATTACHMENT_SCANNED\nCONVERSATION_READ: CONVERSATION_READ\nCONVERSATION_UPDATED: CONVERSATION_UPDATED\nBULK_SEND_PROGRESS: BULK_SEND_PROGRESS",
                enum_type=EventKind,
                max_length=32,
            ),
        ),
        ops.AddField(
            model_name="Event",
            name="bulk_send_id",
            field=fields.UUIDField(null=True),
        ),
        ops.AddField(
            model_name="Message",
            name="bulk_send_id",
            field=fields.UUIDField(null=True),
        ),
        ops.AddConstraint(
            model_name="Message",
            constraint=UniqueConstraint(fields=("bulk_send_id", "conversation"), name=None),
        ),
        ops.RunPython(grant_bulk_messaging, revoke_bulk_messaging),
    ]
