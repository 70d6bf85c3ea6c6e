from __future__ import annotations

from tortoise import fields
from tortoise.models import Model

from models.enums import AccountKind, NotificationFrequency


class Account(Model):
    id = fields.UUIDField(primary_key=True)
    name = fields.CharField(max_length=200)
    # Lower-cased copy of `name`: case-insensitive search that behaves the same on
    # SQLite (whose LIKE only folds ASCII) and PostgreSQL.
    name_folded = fields.CharField(max_length=200, db_index=True)
    kind = fields.CharEnumField(AccountKind, max_length=16)
    terms_version_accepted = fields.IntField(null=True)
    terms_accepted_at = fields.DatetimeField(null=True)
    # Last per-account event position handed out; bumped under a row lock so event
    # positions commit in order (see services.events_log).
    event_seq = fields.BigIntField(default=0)
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "accounts"


class Role(Model):
    id = fields.UUIDField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "liaison.Account", related_name="roles", on_delete=fields.CASCADE
    )
    name = fields.CharField(max_length=100)
    built_in = fields.BooleanField(default=False)
    # Comma-separated Permission values, sorted.
    permissions = fields.CharField(max_length=500, default="")
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "roles"
        unique_together = (("account", "name"),)


class User(Model):
    id = fields.UUIDField(primary_key=True)
    account: fields.ForeignKeyRelation[Account] = fields.ForeignKeyField(
        "liaison.Account", related_name="users", on_delete=fields.CASCADE
    )
    role: fields.ForeignKeyRelation[Role] = fields.ForeignKeyField(
        "liaison.Role", related_name="users", on_delete=fields.RESTRICT
    )
    email = fields.CharField(max_length=254, unique=True)
    name = fields.CharField(max_length=200)
    notification_frequency = fields.CharEnumField(
        NotificationFrequency,
        max_length=16,
        default=NotificationFrequency.IMMEDIATE,
        db_default="IMMEDIATE",  # existing users when the column is added (migration 0005)
    )
    created_at = fields.DatetimeField(auto_now_add=True)

    class Meta:
        table = "users"
