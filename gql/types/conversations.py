"""Conversation, Message, Attachment, Partnership and their connections."""

from __future__ import annotations

import uuid
from collections.abc import Awaitable
from datetime import datetime
from typing import Any, Generic, TypeVar, cast

import strawberry

from gql.context import Info
from gql.types.accounts import Account, User, load_account
from gql.types.enums import InboxFolder, PartnershipStatus, ScanStatus
from gql.types.errors import top_level
from models import Attachment as AttachmentRow
from models import Message as MessageRow
from models import Participant
from models import Partnership as PartnershipRow
from services import conversations, inbox, partnerships
from services.accounts import terms_accepted
from services.conversations import Page
from services.cursors import check_page_size
from services.errors import DomainError

N = TypeVar("N")
T = TypeVar("T")


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


def _awaited(value: Awaitable[T]) -> T:
    """Hand an awaitable to GraphQL from a sync resolver: graphql-core awaits it. Sync
    resolvers that return prefilled objects at once are much cheaper than async ones."""
    return cast(T, value)


def _account(info: Info, prefilled: Account | None, account_id: uuid.UUID) -> Account:
    """The prefilled account, or (handed to GraphQL to await) its load."""
    if prefilled is not None:
        return prefilled
    return _awaited(load_account(info, account_id))


@strawberry.type
class Message:
    id: strawberry.ID
    seq: int
    body: str
    sent_at: datetime
    client_message_id: str | None
    _id: strawberry.Private[uuid.UUID]
    _conversation_id: strawberry.Private[uuid.UUID]
    _sender_user_id: strawberry.Private[uuid.UUID]
    _sender_account_id: strawberry.Private[uuid.UUID]
    _sender_account: strawberry.Private[Account | None] = None

    @strawberry.field
    async def sender(self, info: Info) -> User:
        row = await info.context.loaders.user.load(self._sender_user_id)
        assert row is not None
        return User.from_row(row, info.context.viewer.account_id)

    @strawberry.field
    def sender_account(self, info: Info) -> Account:
        return _account(info, self._sender_account, self._sender_account_id)

    @strawberry.field
    async def attachments(self, info: Info) -> list[Attachment]:
        rows = await info.context.loaders.attachments.load(self._id)
        return [Attachment.from_row(r) for r in rows or []]

    @strawberry.field
    async def conversation(self, info: Info) -> Conversation | None:
        return await load_conversation(info, self._conversation_id)

    @classmethod
    def from_row(
        cls, row: MessageRow | inbox.MessageRow, sender_account: Account | None = None
    ) -> Message:
        return cls(
            id=strawberry.ID(str(row.id)),
            seq=row.seq,
            body=row.body,
            sent_at=row.sent_at,
            client_message_id=row.client_message_id,
            _id=row.id,
            _conversation_id=row.conversation_id,  # type: ignore[union-attr]
            _sender_user_id=row.sender_user_id,  # type: ignore[union-attr]
            _sender_account_id=row.sender_account_id,  # type: ignore[union-attr]
            _sender_account=sender_account,
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
    _id: strawberry.Private[uuid.UUID]
    _brand_id: strawberry.Private[uuid.UUID]
    _partner_id: strawberry.Private[uuid.UUID]
    # Prefilled by the partners list's one-statement read; loaded on demand otherwise.
    _partner: strawberry.Private[Account | None] = None

    @strawberry.field
    def brand(self, info: Info) -> Account:
        return _awaited(load_account(info, self._brand_id))

    @strawberry.field
    def partner(self, info: Info) -> Account:
        return _account(info, self._partner, self._partner_id)

    @strawberry.field
    async def conversation(self, info: Info) -> Conversation | None:
        conversation_id = await info.context.loaders.conversation_of_partnership.load(self._id)
        if conversation_id is None:
            return None
        return await load_conversation(info, conversation_id)

    @classmethod
    def from_row(cls, row: PartnershipRow) -> Partnership:
        return cls.from_ids(row.id, row.status, row.brand_id, row.partner_id)  # type: ignore[attr-defined]

    @classmethod
    def from_partner_row(cls, row: partnerships.PartnerRow) -> Partnership:
        """A row of the partners list, its partner account prefilled (no further read)."""
        partnership = cls.from_ids(row.id, row.status, row.brand_id, row.partner_id)
        partnership._partner = _prefilled_account(row.partner)
        return partnership

    @classmethod
    def from_ids(
        cls,
        id: uuid.UUID,
        status: PartnershipStatus,
        brand_id: uuid.UUID,
        partner_id: uuid.UUID,
    ) -> Partnership:
        return cls(
            id=strawberry.ID(str(id)),
            status=status,
            _id=id,
            _brand_id=brand_id,
            _partner_id=partner_id,
        )


_UNSET: Any = object()


@strawberry.type
class Conversation:
    id: strawberry.ID
    unread_count: int
    last_read_seq: int
    folder: InboxFolder = strawberry.field(
        description="The viewer's side's folder, shared by every user of its account."
    )
    priority: bool
    archived: bool = strawberry.field(
        deprecation_reason="Use `folder`: archived is the DONE folder.",
        description="true when `folder` is DONE.",
    )
    last_message_at: datetime | None
    partnership: Partnership
    _id: strawberry.Private[uuid.UUID]
    _last_seq: strawberry.Private[int]
    _counterpart_id: strawberry.Private[uuid.UUID]
    _last_message_id: strawberry.Private[uuid.UUID | None]
    _assignee_id: strawberry.Private[uuid.UUID | None]
    # Prefilled by the inbox's one-statement read; loaded on demand otherwise.
    _counterpart: strawberry.Private[Account | None] = None
    _last_message: strawberry.Private[Message | None] = _UNSET

    @strawberry.field
    def counterpart(self, info: Info) -> Account:
        return _account(info, self._counterpart, self._counterpart_id)

    @strawberry.field(description="The user of the viewer's account it is assigned to.")  # type: ignore[untyped-decorator]
    def assignee(self, info: Info) -> User | None:
        if self._assignee_id is None:
            return None
        return _awaited(_load_user(info, self._assignee_id))

    @strawberry.field
    def last_message(self, info: Info) -> Message | None:
        if self._last_message is not _UNSET:
            return self._last_message
        if self._last_message_id is None:
            return None
        return _awaited(_load_message(info, self._last_message_id))

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
            page = await conversations.messages_page(
                ctx.viewer, self._id, self._last_seq, request, ctx.rt.cursors
            )
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
            folder=row.folder,
            priority=row.priority,
            archived=row.folder is InboxFolder.DONE,
            last_message_at=conversation.last_message_at,
            partnership=Partnership.from_row(conversation.partnership),
            _id=conversation.id,
            _last_seq=row.last_seq,
            _counterpart_id=row.counterpart_id,  # type: ignore[attr-defined]
            _last_message_id=conversation.last_message_id,
            _assignee_id=row.assignee_id,  # type: ignore[attr-defined]
        )

    @classmethod
    def from_inbox(cls, item: inbox.InboxItem, viewer_account: uuid.UUID) -> Conversation:
        """Everything the inbox shows, prefilled: no further reads for its usual fields."""
        counterpart = _prefilled_account(item.counterpart)
        last = item.last_message
        last_message = None
        if last is not None:
            sender = counterpart if last.sender_account_id == item.counterpart.id else None
            last_message = Message.from_row(last, sender)
        return cls(
            id=strawberry.ID(str(item.conversation_id)),
            unread_count=max(item.last_seq - item.last_read_seq, 0),
            last_read_seq=item.last_read_seq,
            folder=item.folder,
            priority=item.priority,
            archived=item.folder is InboxFolder.DONE,
            last_message_at=item.last_message_at,
            partnership=Partnership.from_ids(
                item.partnership_id, item.status, item.brand_id, item.partner_id
            ),
            _id=item.conversation_id,
            _last_seq=item.last_seq,
            _counterpart_id=item.counterpart.id,
            _last_message_id=None if last is None else last.id,
            _assignee_id=item.assignee_id,
            _counterpart=counterpart,
            _last_message=last_message,
        )


def _prefilled_account(row: inbox.CounterpartRow) -> Account:
    """Another account as a one-statement read gives it (its messaging settings are never
    shown to another account)."""
    return Account(
        id=strawberry.ID(str(row.id)),
        name=row.name,
        kind=row.kind,
        messaging_terms_accepted=terms_accepted(row),
    )


async def _load_user(info: Info, user_id: uuid.UUID) -> User | None:
    row = await info.context.loaders.user.load(user_id)
    return None if row is None else User.from_row(row, info.context.viewer.account_id)


async def _load_message(info: Info, message_id: uuid.UUID) -> Message | None:
    row = await info.context.loaders.message.load(message_id)
    return None if row is None else Message.from_row(row)


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
