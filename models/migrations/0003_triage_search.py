"""Inbox triage (folder, priority, assignee; `archived` becomes the DONE folder) and the
full-text search index of messages (PostgreSQL tsvector + GIN; SQLite FTS5), back-filled."""

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

from models.enums import EventKind, InboxFolder
from models.search_index import backfill, create_index, drop_index


async def archived_to_done(apps, schema_editor):
    await schema_editor.client.execute_script(
        "UPDATE participants SET folder = 'DONE' WHERE archived"
    )


async def done_to_archived(apps, schema_editor):
    await schema_editor.client.execute_script(
        "UPDATE participants SET archived = (folder = 'DONE')"
    )


async def search_forward(apps, schema_editor):
    await create_index(schema_editor.client)
    await backfill(schema_editor.client)


async def search_backward(apps, schema_editor):
    await drop_index(schema_editor.client)


class Migration(migrations.Migration):
    dependencies = [('liaison', '0001_initial')]

    initial = False

    operations = [
        ops.AlterField(
            model_name='Event',
            name='kind',
            field=fields.CharEnumField(description='MESSAGE_CREATED: MESSAGE_CREATED\nATTACHMENT_SCANNED: ATTACHMENT_SCANNED\nCONVERSATION_READ: CONVERSATION_READ\nCONVERSATION_UPDATED: CONVERSATION_UPDATED', enum_type=EventKind, max_length=32),
        ),
        ops.AddField(
            model_name='Participant',
            name='folder',
            field=fields.CharEnumField(default=InboxFolder.INBOX, description='INBOX: INBOX\nDONE: DONE\nSPAM: SPAM', db_default='INBOX', enum_type=InboxFolder, max_length=8),
        ),
        ops.AddField(
            model_name='Participant',
            name='priority',
            field=fields.BooleanField(default=False, db_default=False),
        ),
        ops.AddField(
            model_name='Participant',
            name='assignee',
            field=fields.ForeignKeyField('liaison.User', source_field='assignee_id', null=True, db_constraint=True, to_field='id', related_name='assigned', on_delete=OnDelete.SET_NULL),
        ),
        ops.RunPython(archived_to_done, done_to_archived),
        ops.RemoveIndex(
            model_name='Participant',
            name=None,
            fields=['account_id', 'archived', 'last_activity_at', 'conversation_id'],
        ),
        ops.RemoveField(model_name='Participant', name='archived'),
        ops.AlterModelOptions(
            name='Participant',
            options={'table': 'participants', 'app': 'liaison', 'unique_together': (('conversation', 'account'),), 'indexes': [Index(fields=['account_id', 'folder', 'last_activity_at', 'conversation_id'])], 'pk_attr': 'id', 'table_description': "One side's view of a conversation: read position, triage state, inbox order."},
        ),
        ops.AddIndex(
            model_name='Participant',
            index=Index(fields=['account_id', 'folder', 'last_activity_at', 'conversation_id']),
        ),
        ops.RunPython(search_forward, search_backward),
    ]
