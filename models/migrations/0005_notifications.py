"""E-mail notifications: each user's frequency, the notifications table whose unique
(user, window) makes each e-mail exactly once, and an index on conversations.last_message_at
so the notifier reads only conversations with recent messages."""

from tortoise import fields, migrations
from tortoise.fields.base import OnDelete
from tortoise.indexes import Index
from tortoise.migrations import operations as ops

from models.enums import NotificationFrequency, NotificationKind, NotificationStatus


class Migration(migrations.Migration):
    dependencies = [('liaison', '0003_triage_search')]

    initial = False

    operations = [
        ops.AddField(
            model_name='User',
            name='notification_frequency',
            field=fields.CharEnumField(default=NotificationFrequency.IMMEDIATE, db_default='IMMEDIATE', description='IMMEDIATE: IMMEDIATE\nDAILY: DAILY\nWEEKLY: WEEKLY\nOFF: OFF', enum_type=NotificationFrequency, max_length=16),
        ),
        ops.AddIndex(
            model_name='Conversation',
            index=Index(fields=['last_message_at']),
        ),
        ops.CreateModel(
            name='Notification',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('user', fields.ForeignKeyField('liaison.User', source_field='user_id', db_constraint=True, to_field='id', related_name='notifications', on_delete=OnDelete.CASCADE)),
                ('kind', fields.CharEnumField(description='CONVERSATION: CONVERSATION\nDAILY_DIGEST: DAILY_DIGEST\nWEEKLY_DIGEST: WEEKLY_DIGEST', enum_type=NotificationKind, max_length=16)),
                ('window_key', fields.CharField(max_length=100)),
                ('conversation', fields.ForeignKeyField('liaison.Conversation', source_field='conversation_id', null=True, db_constraint=True, to_field='id', related_name='notifications', on_delete=OnDelete.CASCADE)),
                ('first_seq', fields.IntField(null=True)),
                ('last_seq', fields.IntField(null=True)),
                ('status', fields.CharEnumField(default=NotificationStatus.PENDING, description='PENDING: PENDING\nSENT: SENT\nSKIPPED: SKIPPED\nFAILED: FAILED', enum_type=NotificationStatus, max_length=16)),
                ('due_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
                ('lease_owner', fields.CharField(null=True, max_length=64)),
                ('lease_until', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('attempts', fields.IntField(default=0)),
                ('last_error', fields.CharField(null=True, max_length=500)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('sent_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'notifications', 'app': 'liaison', 'unique_together': (('user', 'window_key'),), 'indexes': [Index(fields=['status', 'due_at']), Index(fields=['user_id', 'conversation_id', 'last_seq'])], 'pk_attr': 'id', 'table_description': 'One e-mail owed to a user: the claim that makes it exactly once.'},
            bases=['Model'],
        ),
    ]
