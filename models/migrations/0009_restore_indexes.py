"""Indexes a table rebuild lost. SQLite alters a column by rebuilding the table, and
tortoise's rebuild leaves out the table's other indexes and unique constraints: on SQLite the
events log lost UNIQUE (account_id, seq) and participants UNIQUE (conversation_id, account_id)
(migrations 0003 and 0005). On both databases `users.deactivated_at` (0007) was declared
`db_index` but added without its index. `tests/test_migrations.py` checks every index a model
declares against the migrated database, so a later rebuild that loses one fails there."""

from tortoise import migrations
from tortoise.migrations import operations as ops


async def restore(apps, schema_editor) -> None:
    client = schema_editor.client
    if client.capabilities.dialect == "sqlite":
        await client.execute_script(
            'CREATE UNIQUE INDEX IF NOT EXISTS "uid_events_account_65852c"'
            ' ON "events" ("account_id", "seq");'
            ' CREATE UNIQUE INDEX IF NOT EXISTS "uid_participant_convers_a4d1e8"'
            ' ON "participants" ("conversation_id", "account_id");'
        )
    await client.execute_script(
        'CREATE INDEX IF NOT EXISTS "idx_users_deactiv_liaison" ON "users" ("deactivated_at");'
    )


async def drop(apps, schema_editor) -> None:
    await schema_editor.client.execute_script('DROP INDEX IF EXISTS "idx_users_deactiv_liaison";')


class Migration(migrations.Migration):
    dependencies = [("liaison", "0008_blobs")]

    initial = False

    operations = [ops.RunPython(restore, drop)]
