from tortoise import migrations
from tortoise.migrations import operations as ops
from models.enums import AccountKind, EventKind, PartnershipStatus, ScanStatus
from tortoise.fields.base import OnDelete
from uuid import uuid4
from tortoise import fields
from tortoise.indexes import Index

class Migration(migrations.Migration):
    initial = True

    operations = [
        ops.CreateModel(
            name='Account',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('name', fields.CharField(max_length=200)),
                ('name_folded', fields.CharField(db_index=True, max_length=200)),
                ('kind', fields.CharEnumField(description='BRAND: BRAND\nPARTNER: PARTNER', enum_type=AccountKind, max_length=16)),
                ('terms_version_accepted', fields.IntField(null=True)),
                ('terms_accepted_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('event_seq', fields.BigIntField(default=0)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'accounts', 'app': 'liaison', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Partnership',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('brand', fields.ForeignKeyField('liaison.Account', source_field='brand_id', db_constraint=True, to_field='id', related_name='brand_partnerships', on_delete=OnDelete.CASCADE)),
                ('partner', fields.ForeignKeyField('liaison.Account', source_field='partner_id', db_constraint=True, to_field='id', related_name='partner_partnerships', on_delete=OnDelete.CASCADE)),
                ('status', fields.CharEnumField(description='PROSPECT: PROSPECT\nPENDING: PENDING\nACTIVE: ACTIVE\nEXPIRED: EXPIRED\nDECLINED: DECLINED\nDEACTIVATED: DEACTIVATED', enum_type=PartnershipStatus, max_length=16)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
                ('updated_at', fields.DatetimeField(auto_now=True, auto_now_add=False)),
            ],
            options={'table': 'partnerships', 'app': 'liaison', 'unique_together': (('brand', 'partner'),), 'indexes': [Index(fields=['brand_id', 'status', 'created_at']), Index(fields=['partner_id', 'status'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Conversation',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('partnership', fields.OneToOneField('liaison.Partnership', source_field='partnership_id', db_constraint=True, to_field='id', related_name='conversation', on_delete=OnDelete.CASCADE)),
                ('brand', fields.ForeignKeyField('liaison.Account', source_field='brand_id', db_constraint=True, to_field='id', related_name='brand_conversations', on_delete=OnDelete.CASCADE)),
                ('partner', fields.ForeignKeyField('liaison.Account', source_field='partner_id', db_constraint=True, to_field='id', related_name='partner_conversations', on_delete=OnDelete.CASCADE)),
                ('started_by', fields.CharEnumField(description='BRAND: BRAND\nPARTNER: PARTNER', enum_type=AccountKind, max_length=16)),
                ('last_seq', fields.IntField(default=0)),
                ('last_message_id', fields.UUIDField(null=True)),
                ('last_message_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'conversations', 'app': 'liaison', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Event',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('liaison.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='events', on_delete=OnDelete.CASCADE)),
                ('seq', fields.BigIntField()),
                ('kind', fields.CharEnumField(description='MESSAGE_CREATED: MESSAGE_CREATED\nATTACHMENT_SCANNED: ATTACHMENT_SCANNED\nCONVERSATION_READ: CONVERSATION_READ', enum_type=EventKind, max_length=32)),
                ('conversation', fields.ForeignKeyField('liaison.Conversation', source_field='conversation_id', db_constraint=True, to_field='id', related_name='events', on_delete=OnDelete.CASCADE)),
                ('message_id', fields.UUIDField(null=True)),
                ('attachment_id', fields.UUIDField(null=True)),
                ('reader_account_id', fields.UUIDField(null=True)),
                ('last_read_seq', fields.IntField(null=True)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'events', 'app': 'liaison', 'unique_together': (('account', 'seq'),), 'pk_attr': 'id', 'table_description': 'The durable record of a live event, one row per audience account.'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Participant',
            fields=[
                ('id', fields.BigIntField(generated=True, primary_key=True, unique=True, db_index=True)),
                ('conversation', fields.ForeignKeyField('liaison.Conversation', source_field='conversation_id', db_constraint=True, to_field='id', related_name='participants', on_delete=OnDelete.CASCADE)),
                ('account', fields.ForeignKeyField('liaison.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='participations', on_delete=OnDelete.CASCADE)),
                ('counterpart', fields.ForeignKeyField('liaison.Account', source_field='counterpart_id', db_constraint=True, to_field='id', related_name='counterpart_participations', on_delete=OnDelete.CASCADE)),
                ('last_seq', fields.IntField(default=0)),
                ('last_read_seq', fields.IntField(default=0)),
                ('archived', fields.BooleanField(default=False)),
                ('last_activity_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'participants', 'app': 'liaison', 'unique_together': (('conversation', 'account'),), 'indexes': [Index(fields=['account_id', 'archived', 'last_activity_at', 'conversation_id'])], 'pk_attr': 'id', 'table_description': "One side's view of a conversation: read position, archived flag, inbox order."},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Role',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('liaison.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='roles', on_delete=OnDelete.CASCADE)),
                ('name', fields.CharField(max_length=100)),
                ('built_in', fields.BooleanField(default=False)),
                ('permissions', fields.CharField(default='', max_length=500)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'roles', 'app': 'liaison', 'unique_together': (('account', 'name'),), 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='User',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('account', fields.ForeignKeyField('liaison.Account', source_field='account_id', db_constraint=True, to_field='id', related_name='users', on_delete=OnDelete.CASCADE)),
                ('role', fields.ForeignKeyField('liaison.Role', source_field='role_id', db_constraint=True, to_field='id', related_name='users', on_delete=OnDelete.RESTRICT)),
                ('email', fields.CharField(unique=True, max_length=254)),
                ('name', fields.CharField(max_length=200)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'users', 'app': 'liaison', 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Message',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('conversation', fields.ForeignKeyField('liaison.Conversation', source_field='conversation_id', db_constraint=True, to_field='id', related_name='messages', on_delete=OnDelete.CASCADE)),
                ('seq', fields.IntField()),
                ('body', fields.TextField(unique=False)),
                ('sender_user', fields.ForeignKeyField('liaison.User', source_field='sender_user_id', db_constraint=True, to_field='id', related_name='messages', on_delete=OnDelete.RESTRICT)),
                ('sender_account', fields.ForeignKeyField('liaison.Account', source_field='sender_account_id', db_constraint=True, to_field='id', related_name='sent_messages', on_delete=OnDelete.CASCADE)),
                ('client_message_id', fields.CharField(null=True, max_length=255)),
                ('request_digest', fields.CharField(max_length=64)),
                ('sent_at', fields.DatetimeField(auto_now=False, auto_now_add=False)),
            ],
            options={'table': 'messages', 'app': 'liaison', 'unique_together': (('conversation', 'seq'), ('sender_user', 'client_message_id')), 'indexes': [Index(fields=['sender_account_id', 'sent_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
        ops.CreateModel(
            name='Attachment',
            fields=[
                ('id', fields.UUIDField(primary_key=True, default=uuid4, unique=True, db_index=True)),
                ('message', fields.ForeignKeyField('liaison.Message', source_field='message_id', db_constraint=True, to_field='id', related_name='attachments', on_delete=OnDelete.CASCADE)),
                ('position', fields.IntField()),
                ('filename', fields.CharField(max_length=255)),
                ('content_type', fields.CharField(max_length=100)),
                ('size', fields.BigIntField()),
                ('sha256', fields.CharField(max_length=64)),
                ('storage_key', fields.CharField(unique=True, max_length=200)),
                ('scan_status', fields.CharEnumField(default=ScanStatus.PENDING, description='PENDING: PENDING\nCLEAN: CLEAN\nINFECTED: INFECTED\nFAILED: FAILED', enum_type=ScanStatus, max_length=16)),
                ('scan_attempts', fields.IntField(default=0)),
                ('scan_detail', fields.CharField(null=True, max_length=500)),
                ('scanned_at', fields.DatetimeField(null=True, auto_now=False, auto_now_add=False)),
                ('created_at', fields.DatetimeField(auto_now=False, auto_now_add=True)),
            ],
            options={'table': 'attachments', 'app': 'liaison', 'unique_together': (('message', 'position'),), 'indexes': [Index(fields=['scan_status', 'created_at'])], 'pk_attr': 'id'},
            bases=['Model'],
        ),
    ]
