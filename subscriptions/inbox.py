"""Placeholder until the live inbox (issue 5) lands: `inboxEvents` yields nothing yet."""

from __future__ import annotations

from collections.abc import AsyncGenerator

import strawberry

from gql.context import Info


@strawberry.type
class Subscription:
    @strawberry.subscription
    async def inbox_events(self, info: Info, after: str | None = None) -> AsyncGenerator[str, None]:
        if False:  # pragma: no cover
            yield ""
