from tortoise import migrations
from tortoise.migrations import operations as ops
from models.enums import EventKind
from tortoise.fields.base import OnDelete
from tortoise import fields
from tortoise.migrations.constraints import UniqueConstraint

from services.role_names import name_key
from services.sql import fetch


async def fill_role_name_keys(apps, schema_editor):
    """Existing roles get their name key; built-in ACCOUNT_ADMIN roles gain SETTINGS_MANAGE."""
    conn = schema_editor.client
    for row in await fetch(conn, "SELECT id, name, built_in, permissions FROM roles"):
        permissions = row["permissions"]
        if row["built_in"] and row["name"] == "ACCOUNT_ADMIN":
            held = {p for p in permissions.split(",") if p} | {"SETTINGS_MANAGE"}
            permissions = ",".join(sorted(held))
        await fetch(
            conn,
            "UPDATE roles SET name_key = $1, permissions = $2 WHERE id = $3",
            name_key(row["name"]),
            permissions,
            row["id"],
        )


class Migration(migrations.Migration):
    dependencies = [('liaison', '0006_bulk')]

    initial = False

    operations = [
        ops.AddField(
            model_name='Account',
            name='accepts_prospect_messages',
            field=fields.BooleanField(default=True, db_default=True),
        ),
        ops.AddField(
            model_name='Account',
            name='external_id',
            field=fields.CharField(null=True, unique=True, max_length=128),
        ),
        ops.AddField(
            model_name='Account',
            name='partners_may_start_conversations',
            field=fields.BooleanField(default=True, db_default=True),
        ),
        ops.AddField(
            model_name='Account',
            name='prospect_messages_before_reply',
            field=fields.IntField(default=2, db_default=2),
        ),
        ops.AlterField(
            model_name='Event',
            name='kind',
            field=fields.CharEnumField(description='MESSAGE_CREATED: MESSAGE_CREATED\nATTACHMENT_SCANNED: ATTACHMENT_SCANNED\nCONVERSATION_READ: CONVERSATION_READ\nPARTNERSHIP_UPDATED: PARTNERSHIP_UPDATED\nCONVERSATION_UPDATED: CONVERSATION_UPDATED\nBULK_SEND_PROGRESS: BULK_SEND_PROGRESS', enum_type=EventKind, max_length=32),
        ),
        ops.AddField(
            model_name='Event',
            name='partnership_id',
            field=fields.UUIDField(null=True),
        ),
        ops.AddField(
            model_name='Role',
            name='name_key',
            field=fields.CharField(max_length=400, db_default=''),
        ),
        ops.RunPython(fill_role_name_keys),
        ops.AddConstraint(
            model_name='Role',
            constraint=UniqueConstraint(fields=('account', 'name_key'), name=None),
        ),
        ops.AddField(
            model_name='User',
            name='active',
            field=fields.BooleanField(default=True, db_default=True),
        ),
        ops.AddField(
            model_name='User',
            name='deactivated_at',
            field=fields.DatetimeField(null=True, db_index=True, auto_now=False, auto_now_add=False),
        ),
        ops.AddField(
            model_name='User',
            name='external_id',
            field=fields.CharField(null=True, unique=True, max_length=128),
        ),
    ]
