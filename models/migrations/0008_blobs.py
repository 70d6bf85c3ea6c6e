"""Blobs: stored bytes and their scan, shared by many attachments (the messages of a bulk
send carry the bulk send's files); attachments.storage_key is no longer unique. Every
existing attachment gets a blob of its own, with the attachment's id, key and scan state
(so a scan job queued before the upgrade, named by the attachment's id, names its blob)."""

from tortoise import migrations
from tortoise.migrations import operations as ops
from models.enums import ScanStatus
from tortoise.fields.base import OnDelete
from uuid import uuid4
from tortoise import fields
from tortoise.indexes import Index


async def fill_blobs(apps, schema_editor) -> None:
    client = schema_editor.client
    columns = (
        "id, storage_key, content_type, size, sha256, scan_status, scan_attempts, scan_detail,"
        " scanned_at, created_at"
    )
    await client.execute_script(
        f"INSERT INTO blobs ({columns}) SELECT {columns} FROM attachments;"
        " UPDATE attachments SET blob_id = id;"
    )


async def restore_sqlite_indexes(apps, schema_editor) -> None:
    """SQLite alters a column by rebuilding the table, and tortoise's rebuild leaves out the
    table's other indexes and unique constraints: put back what the model declares."""
    client = schema_editor.client
    if client.capabilities.dialect != "sqlite":
        return
    await client.execute_script(
        'CREATE UNIQUE INDEX IF NOT EXISTS "uid_attachments_message_3b4381"'
        ' ON "attachments" ("message_id", "position");'
        ' CREATE INDEX IF NOT EXISTS "idx_attachments_scan_st_cb3d8e"'
        ' ON "attachments" ("scan_status", "created_at");'
        ' CREATE INDEX IF NOT EXISTS "idx_attachments_storage_bdad15"'
        ' ON "attachments" ("storage_key");'
    )


async def nothing(apps, schema_editor) -> None:
    return None


async def forget_blobs(apps, schema_editor) -> None:
    await schema_editor.client.execute_script("UPDATE attachments SET blob_id = NULL;")


class Migration(migrations.Migration):
    dependencies = [("liaison", "0007_platform")]

    initial = False

    operations = [
        ops.CreateModel(
            name="Blob",
            fields=[
                (
                    "id",
                    fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True),
                ),
                ("storage_key", fields.CharField(unique=True, max_length=200)),
                ("content_type", fields.CharField(max_length=100)),
                ("size", fields.BigIntField()),
                ("sha256", fields.CharField(max_length=64)),
                (
                    "scan_status",
                    fields.CharEnumField(
                        default=ScanStatus.PENDING,
                        description="PENDING: PENDING\nCLEAN: CLEAN\nINFECTED: INFECTED\nFAILED: FAILED",
                        enum_type=ScanStatus,
                        max_length=16,
                    ),
                ),
                ("scan_attempts", fields.IntField(default=0)),
                ("scan_detail", fields.CharField(null=True, max_length=500)),
                ("scanned_at", fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ("created_at", fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={
                "table": "blobs",
                "app": "liaison",
                "indexes": [Index(fields=["scan_status", "created_at"])],
                "pk_attr": "id",
                "table_description": "Stored bytes and their virus scan: one per uploaded file, shared by every attachment",
            },
            bases=["Model"],
        ),
        ops.CreateModel(
            name="BulkAttachment",
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
                        related_name="attachments",
                        on_delete=OnDelete.CASCADE,
                    ),
                ),
                ("position", fields.IntField()),
                ("filename", fields.CharField(max_length=255)),
                (
                    "blob",
                    fields.ForeignKeyField(
                        "liaison.Blob",
                        source_field="blob_id",
                        db_constraint=True,
                        to_field="id",
                        related_name="bulk_attachments",
                        on_delete=OnDelete.RESTRICT,
                    ),
                ),
            ],
            options={
                "table": "bulk_attachments",
                "app": "liaison",
                "unique_together": (("bulk_send", "position"),),
                "pk_attr": "id",
                "table_description": "A file of a bulk send: stored and scanned once (its `Blob`), carried by every message",
            },
            bases=["Model"],
        ),
        ops.AlterField(
            model_name="Attachment",
            name="storage_key",
            field=fields.CharField(db_index=True, max_length=200),
        ),
        ops.AddField(
            model_name="Attachment",
            name="blob",
            field=fields.ForeignKeyField(
                "liaison.Blob",
                source_field="blob_id",
                null=True,
                db_constraint=True,
                to_field="id",
                related_name="attachments",
                on_delete=OnDelete.RESTRICT,
            ),
        ),
        ops.AddIndex(model_name="Attachment", index=Index(fields=["blob_id"])),
        ops.RunPython(restore_sqlite_indexes, nothing),
        ops.RunPython(fill_blobs, forget_blobs),
    ]
