"""Messaging statistics: the filter, the grouping and the buckets."""

from __future__ import annotations

from datetime import datetime

import strawberry

from gql.context import Info
from gql.types.enums import PartnershipStatus
from gql.types.errors import top_level
from services import analytics
from services.analytics import GroupBy
from services.errors import DomainError

# DAY and WEEK keys are `YYYY-MM-DD` (weeks start on Monday, UTC); MONTH keys `YYYY-MM`;
# PARTNER keys are the counterpart account's id; PARTNERSHIP_STATUS keys the status.
strawberry.enum(GroupBy, name="StatsGroupBy")
StatsGroupBy = GroupBy


@strawberry.input(description="`from` ≤ sentAt < `to`; the span is at most 366 days.")
class MessagingStatsFilter:
    from_: datetime = strawberry.field(name="from")
    to: datetime
    partnership_statuses: list[PartnershipStatus] | None = None
    partner_ids: list[strawberry.ID] | None = strawberry.field(
        default=None,
        description="Counterpart accounts: partners for a brand, brands for a partner.",
    )

    def to_service(self) -> analytics.StatsFilter:
        return analytics.StatsFilter(
            start=self.from_,
            end=self.to,
            partnership_statuses=self.partnership_statuses,
            counterpart_ids=None
            if self.partner_ids is None
            else [str(i) for i in self.partner_ids],
        )


@strawberry.type
class MessagingStatsBucket:
    key: str
    label: str = strawberry.field(description="The counterpart's name for PARTNER; else the key.")
    messages_sent: int
    messages_received: int
    conversations_started: int = strawberry.field(
        description="Conversations whose first message (by either side) falls in the bucket."
    )
    conversations_with_reply: int = strawberry.field(
        description="Of those, the ones the other side had answered before `to`."
    )
    median_first_response_seconds: float | None
    attachments: int
    attachments_infected: int

    @classmethod
    def from_bucket(cls, bucket: analytics.Bucket) -> MessagingStatsBucket:
        return cls(
            key=bucket.key,
            label=bucket.label,
            messages_sent=bucket.messages_sent,
            messages_received=bucket.messages_received,
            conversations_started=bucket.conversations_started,
            conversations_with_reply=bucket.conversations_with_reply,
            median_first_response_seconds=bucket.median_first_response_seconds,
            attachments=bucket.attachments,
            attachments_infected=bucket.attachments_infected,
        )


@strawberry.type
class MessagingStats:
    group_by: GroupBy
    buckets: list[MessagingStatsBucket]
    _filter: strawberry.Private[analytics.StatsFilter]

    @strawberry.field
    async def totals(self, info: Info) -> MessagingStatsBucket:
        """The whole range as one bucket (key TOTAL)."""
        try:
            total = await analytics.messaging_totals(info.context.viewer, self._filter)
        except DomainError as error:
            raise top_level(error) from None
        return MessagingStatsBucket.from_bucket(total)
