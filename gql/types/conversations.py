"""Conversation, Message, Attachment, Partnership and their connections."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Generic, TypeVar

import strawberry

from gql.context import Info
from gql.types.accounts import Account, User, load_account
from gql.types.enums import PartnershipStatus, ScanStatus
from gql.types.errors import top_level
from models import Attachment as AttachmentRow
from models import Message as MessageRow
from models import Participant
from models import Partnership as PartnershipRow
from services import conversations
from services.conversations import Page
from services.cursors import check_page_size
from services.errors import DomainError

N = TypeVar("N")


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class Edge(Generic[N]):
    cursor: str
    node: N


def page_info(page: Page[object]) -> PageInfo:
    return PageInfo(
        has_next_page=page.has_next_page,
        has_previous_page=page.has_previous_page,
        start_cursor=page.items[0][0] if page.items else None,
        end_cursor=page.items[-1][0] if page.items else None,
    )


@strawberry.type
class Attachment:
    id: strawberry.ID
    filename: str
    content_type: str
    size: int
    scan_status: ScanStatus
    download_url: str | None = strawberry.field(
        description="Where to GET the bytes (with the bearer token); null unless CLEAN."
    )

    @classmethod
    def from_row(cls, row: AttachmentRow) -> Attachment:
        return cls(
            id=strawberry.ID(str(row.id)),
            filename=row.filename,
            content_type=row.content_type,
            size=row.size,
            scan_status=row.scan_status,
            download_url=f"/attachments/{row.id}" if row.scan_status is ScanStatus.CLEAN else None,
        )


@strawberry.type
class Message:
    id: strawberry.ID
    seq: int
    body: str
    sent_at: datetime
    client_message_id: str | None
    _row: strawberry.Private[MessageRow]

    @strawberry.field
    async def sender(self, info: Info) -> User:
        row = await info.context.loaders.user.load(self._row.sender_user_id)  # type: ignore[attr-defined]
        assert row is not None
        return User.from_row(row)

    @strawberry.field
    async def sender_account(self, info: Info) -> Account:
        return await load_account(info, self._row.sender_account_id)  # type: ignore[attr-defined]

    @strawberry.field
    async def attachments(self, info: Info) -> list[Attachment]:
        rows = await info.context.loaders.attachments.load(self._row.id)
        return [Attachment.from_row(r) for r in rows or []]

    @strawberry.field
    async def conversation(self, info: Info) -> Conversation | None:
        return await load_conversation(info, self._row.conversation_id)  # type: ignore[attr-defined]

    @classmethod
    def from_row(cls, row: MessageRow) -> Message:
        return cls(
            id=strawberry.ID(str(row.id)),
            seq=row.seq,
            body=row.body,
            sent_at=row.sent_at,
            client_message_id=row.client_message_id,
            _row=row,
        )


@strawberry.type
class MessageConnection:
    edges: list[Edge[Message]]
    page_info: PageInfo
    total_count: int


@strawberry.type
class Partnership:
    id: strawberry.ID
    status: PartnershipStatus
    _row: strawberry.Private[PartnershipRow]

    @strawberry.field
    async def brand(self, info: Info) -> Account:
        return await load_account(info, self._row.brand_id)  # type: ignore[attr-defined]

    @strawberry.field
    async def partner(self, info: Info) -> Account:
        return await load_account(info, self._row.partner_id)  # type: ignore[attr-defined]

    @strawberry.field
    async def conversation(self, info: Info) -> Conversation | None:
        conversation_id = await info.context.loaders.conversation_of_partnership.load(self._row.id)
        if conversation_id is None:
            return None
        return await load_conversation(info, conversation_id)

    @classmethod
    def from_row(cls, row: PartnershipRow) -> Partnership:
        return cls(id=strawberry.ID(str(row.id)), status=row.status, _row=row)


@strawberry.type
class Conversation:
    id: strawberry.ID
    unread_count: int
    last_read_seq: int
    archived: bool
    last_message_at: datetime | None
    partnership: Partnership
    _row: strawberry.Private[Participant]

    @strawberry.field
    async def counterpart(self, info: Info) -> Account:
        return await load_account(info, self._row.counterpart_id)  # type: ignore[attr-defined]

    @strawberry.field
    async def last_message(self, info: Info) -> Message | None:
        message_id = self._row.conversation.last_message_id
        if message_id is None:
            return None
        row = await info.context.loaders.message.load(message_id)
        return None if row is None else Message.from_row(row)

    @strawberry.field
    async def messages(
        self,
        info: Info,
        first: int | None = None,
        after: str | None = None,
        last: int | None = None,
        before: str | None = None,
    ) -> MessageConnection:
        ctx = info.context
        try:
            maximum = ctx.rt.settings.max_page_size
            request = conversations.PageRequest(
                first=check_page_size(first, maximum),
                after=after,
                last=check_page_size(last, maximum, name="last"),
                before=before,
            )
            page = await conversations.messages_page(ctx.viewer, self._row, request, ctx.rt.cursors)
        except DomainError as error:
            raise top_level(error) from None
        return MessageConnection(
            edges=[Edge(cursor=c, node=Message.from_row(m)) for c, m in page.items],
            page_info=page_info(page),  # type: ignore[arg-type]
            total_count=page.total_count,
        )

    @classmethod
    def from_row(cls, row: Participant) -> Conversation:
        conversation = row.conversation
        return cls(
            id=strawberry.ID(str(conversation.id)),
            unread_count=max(row.last_seq - row.last_read_seq, 0),
            last_read_seq=row.last_read_seq,
            archived=row.archived,
            last_message_at=conversation.last_message_at,
            partnership=Partnership.from_row(conversation.partnership),
            _row=row,
        )


async def load_conversation(info: Info, conversation_id: uuid.UUID) -> Conversation | None:
    row = await info.context.loaders.participant.load(conversation_id)
    return None if row is None else Conversation.from_row(row)


@strawberry.type
class ConversationConnection:
    edges: list[Edge[Conversation]]
    page_info: PageInfo
    total_count: int


@strawberry.type
class PartnershipConnection:
    edges: list[Edge[Partnership]]
    page_info: PageInfo
    total_count: int
