"""GraphQL execution alone: the inbox page from memory, graphql-core vs compiled plans.

No database, no HTTP: `services.inbox.inbox_page` is replaced by a page of 20 prefilled
conversations held in memory (counterpart, partnership and last message, as the real read
model returns them), so what is measured is GraphQL: Strawberry's pipeline with our
extensions and the execution of the ~200 fields. Each variant runs the same operations in
rounds, alternately; figures are CPU ms per operation (medians of the rounds).

    .venv/bin/python -m bench.execution            # prints JSON
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

from starlette.requests import Request

from bench.queries import INBOX
from gql.context import Context
from gql.schema import build_schema
from gql.settings import Settings
from gql.wiring import build_runtime
from models import AccountKind, Permission
from models.enums import InboxFolder, PartnershipStatus
from services import inbox
from services.auth import Viewer
from services.conversations import Page

# The same fields again, in the shapes front ends write: fragments, aliases, __typename.
INBOX_FRAGMENTS = """query InboxF($first: Int) { inbox(first: $first) { totalCount
  pageInfo { hasNextPage endCursor } edges { cursor node { ...Row } } } }
fragment Row on Conversation { __typename id unreadCount folder priority lastMessageAt
  who: counterpart { id name kind messagingTermsAccepted }
  partnership { id status } lastMessage { id seq body sentAt clientMessageId } }"""


def _page(size: int = 20) -> Page[inbox.InboxItem]:
    now = datetime(2026, 1, 1, tzinfo=UTC)
    items = []
    for n in range(size):
        counterpart = inbox.CounterpartRow(
            uuid.uuid4(), f"Partner studio {n}", AccountKind.PARTNER, 1
        )
        conversation_id = uuid.uuid4()
        last = inbox.MessageRow(
            uuid.uuid4(),
            conversation_id,
            40 + n,
            "Bench message: the new creatives are live.",
            now - timedelta(minutes=n),
            None,
            uuid.uuid4(),
            counterpart.id,
        )
        items.append(
            (
                f"cursor-{n}",
                inbox.InboxItem(
                    conversation_id=conversation_id,
                    last_seq=40 + n,
                    last_read_seq=38,
                    folder=InboxFolder.INBOX,
                    priority=False,
                    assignee_id=None,
                    last_message_at=last.sent_at,
                    partnership_id=uuid.uuid4(),
                    status=PartnershipStatus.ACTIVE,
                    brand_id=uuid.uuid4(),
                    partner_id=counterpart.id,
                    counterpart=counterpart,
                    last_message=last,
                ),
            )
        )
    return Page(items=items, has_next_page=True, has_previous_page=False, total_count=2000)


async def measure(rounds: int, per_round: int) -> dict[str, Any]:
    page = _page()

    async def from_memory(*args: Any, **kwargs: Any) -> Page[inbox.InboxItem]:
        return page

    inbox.inbox_page = from_memory  # type: ignore[assignment]
    settings = Settings(database_url="sqlite://:memory:", jwt_secret="x" * 40, env="production")
    schema = build_schema(settings)
    viewer = Viewer(
        uuid.uuid4(), uuid.uuid4(), AccountKind.BRAND, uuid.uuid4(), frozenset(Permission)
    )
    request = Request({"type": "http", "method": "POST", "headers": [], "path": "/graphql"})
    runtimes = {
        mode: build_runtime(settings.with_overrides(executor=mode))
        for mode in ("graphql-core", "compiled")
    }
    table: dict[str, Any] = {}
    for name, query in (("inbox", INBOX), ("inbox with fragments", INBOX_FRAGMENTS)):
        answers = set()
        cpu: dict[str, list[float]] = {mode: [] for mode in runtimes}
        for rt in runtimes.values():
            for _ in range(20):
                result = await schema.execute(
                    query, {"first": 20}, context_value=Context(request, None, rt, viewer)
                )
            assert not result.errors, result.errors
            answers.add(json.dumps(result.data))
        assert len(answers) == 1, "executors disagree"
        for _ in range(rounds):
            for mode, rt in runtimes.items():
                cpu0 = time.process_time()
                for _ in range(per_round):
                    await schema.execute(
                        query, {"first": 20}, context_value=Context(request, None, rt, viewer)
                    )
                cpu[mode].append((time.process_time() - cpu0) / per_round * 1000)
        medians = {mode: round(statistics.median(t), 3) for mode, t in cpu.items()}
        medians["speed-up"] = round(medians["graphql-core"] / medians["compiled"], 2)
        table[name] = medians
    return table


def main() -> None:
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    print(json.dumps(asyncio.run(measure(rounds, 200)), indent=2))


if __name__ == "__main__":
    main()
