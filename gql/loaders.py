"""Per-request dataloaders: each batches one kind of lookup into one query."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TypeVar

from strawberry.dataloader import DataLoader

from models import (
    Account,
    Attachment,
    BulkAttachment,
    Message,
    Participant,
    Partnership,
    Role,
    User,
)
from services import accounts, attachments, conversations, partnerships
from services.auth import Viewer
from services.bulk import sends

K = TypeVar("K")
V = TypeVar("V")


def _by_key(
    fetch: Callable[[Sequence[K]], Awaitable[Mapping[K, V]]], default: V | None = None
) -> DataLoader[K, V | None]:
    async def load(keys: list[K]) -> list[V | None]:
        found = await fetch(keys)
        return [found.get(k, default) for k in keys]

    return DataLoader(load_fn=load)


@dataclass
class Loaders:
    account: DataLoader[uuid.UUID, Account | None]
    user: DataLoader[uuid.UUID, User | None]
    role: DataLoader[uuid.UUID, Role | None]
    message: DataLoader[uuid.UUID, Message | None]
    partnership: DataLoader[uuid.UUID, Partnership | None]
    conversation_of_partnership: DataLoader[uuid.UUID, uuid.UUID | None]
    participant: DataLoader[uuid.UUID, Participant | None]
    attachments: DataLoader[uuid.UUID, list[Attachment] | None]
    bulk_files: DataLoader[uuid.UUID, list[BulkAttachment] | None]


def make_loaders(viewer: Viewer | None) -> Loaders:
    async def participants(ids: Sequence[uuid.UUID]) -> Mapping[uuid.UUID, Participant]:
        if viewer is None:
            return {}
        return await conversations.participants_for(viewer, ids)

    return Loaders(
        account=_by_key(accounts.accounts_by_ids),
        user=_by_key(accounts.users_by_ids),
        role=_by_key(accounts.roles_by_ids),
        message=_by_key(conversations.messages_by_ids),
        partnership=_by_key(partnerships.partnerships_by_ids),
        conversation_of_partnership=_by_key(partnerships.conversation_ids_by_partnership),
        participant=_by_key(participants),
        attachments=_by_key(attachments.attachments_by_message, []),
        bulk_files=_by_key(sends.bulk_files, []),
    )
