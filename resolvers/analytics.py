"""`Query.messagingStats`: the viewer's own account's figures."""

from __future__ import annotations

from gql.context import Info
from gql.types.analytics import (
    MessagingStats,
    MessagingStatsBucket,
    MessagingStatsFilter,
)
from gql.types.errors import top_level
from services import analytics
from services.analytics import GroupBy
from services.errors import DomainError


async def messaging_stats(
    info: Info, filter: MessagingStatsFilter, group_by: GroupBy
) -> MessagingStats:
    flt = filter.to_service()
    try:
        buckets = await analytics.messaging_stats(info.context.viewer, flt, group_by)
    except DomainError as error:
        raise top_level(error) from None
    return MessagingStats(
        group_by=group_by,
        buckets=[MessagingStatsBucket.from_bucket(b) for b in buckets],
        _filter=flt,
    )
