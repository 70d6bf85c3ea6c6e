"""`searchMessages`: its filter, edges with snippet and highlights, and the connection."""

from __future__ import annotations

import uuid
from datetime import datetime

import strawberry

from gql.context import Info
from gql.types.conversations import Conversation, Message, PageInfo, load_conversation
from gql.types.enums import PartnershipStatus


@strawberry.input
class MessageSearchFilter:
    partnership_statuses: list[PartnershipStatus] | None = None
    counterpart_ids: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Account ids of counterparts (at most 100)."
    )
    from_: datetime | None = strawberry.field(
        default=None, name="from", description="Sent at or after (UTC when no offset)."
    )
    to: datetime | None = strawberry.field(default=None, description="Sent before.")
    has_attachments: bool | None = None


@strawberry.type(description="A range of characters (Unicode code points) of a snippet.")
class TextRange:
    start: int
    length: int


@strawberry.type
class MessageSearchEdge:
    cursor: str
    node: Message
    snippet: str = strawberry.field(
        description="Plain text, at most 200 characters around the first match."
    )
    highlights: list[TextRange] = strawberry.field(
        description="The matching words in `snippet`; render them yourself."
    )
    _conversation_id: strawberry.Private[uuid.UUID]

    @strawberry.field
    async def conversation(self, info: Info) -> Conversation:
        found = await load_conversation(info, self._conversation_id)
        assert found is not None  # a hit is in one of the viewer's conversations
        return found


@strawberry.type
class MessageSearchConnection:
    edges: list[MessageSearchEdge]
    page_info: PageInfo
    total_count: int = strawberry.field(description="Only counted when asked for.")
