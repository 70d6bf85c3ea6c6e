"""Broker channel names, all in one place."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from uuid import UUID

# One channel for the whole deployment: each process learns of every account's news and
# ignores accounts it has no subscriber for. One SUBSCRIBE per process, no per-account
# subscribe/unsubscribe churn, and no window where a new subscriber is not yet subscribed.
INBOX_EVENTS = "liaison:inbox-events"


def encode_accounts(account_ids: Iterable[UUID]) -> str:
    return ",".join(account_id.hex for account_id in account_ids)


def decode_accounts(payload: bytes | str) -> Sequence[UUID]:
    text = payload.decode() if isinstance(payload, bytes) else payload
    return [UUID(part) for part in text.split(",") if part]
