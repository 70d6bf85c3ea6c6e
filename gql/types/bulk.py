"""Message templates and bulk sends (newsletters): types, inputs and payloads."""

from __future__ import annotations

import uuid
from datetime import datetime

import strawberry
from strawberry.file_uploads import Upload

from gql.context import Info
from gql.types.accounts import Account, User, load_account
from gql.types.conversations import Edge, Message, PageInfo, page_info
from gql.types.enums import ErrorCode, ScanStatus
from gql.types.errors import UserError, top_level
from gql.types.inputs import PartnerFilter
from models import BulkAttachment as BulkAttachmentRow
from models import BulkOutcome, BulkSendStatus
from models import BulkRecipient as BulkRecipientRow
from models import BulkSend as BulkSendRow
from models import MessageTemplate as MessageTemplateRow
from services.bulk import sends
from services.cursors import page_size
from services.errors import DomainError

strawberry.enum(BulkSendStatus)
strawberry.enum(BulkOutcome)


async def _user(info: Info, user_id: uuid.UUID | None) -> User | None:
    if user_id is None:
        return None
    row = await info.context.loaders.user.load(user_id)
    return User.from_row(row, info.context.viewer.account_id) if row is not None else None


@strawberry.type
class MessageTemplate:
    id: strawberry.ID
    name: str
    body: str
    updated_at: datetime
    _created_by_id: strawberry.Private[uuid.UUID | None]

    @strawberry.field
    async def created_by(self, info: Info) -> User | None:
        return await _user(info, self._created_by_id)

    @classmethod
    def from_row(cls, row: MessageTemplateRow) -> MessageTemplate:
        return cls(
            id=strawberry.ID(str(row.id)),
            name=row.name,
            body=row.body,
            updated_at=row.updated_at,
            _created_by_id=row.created_by_id,  # type: ignore[attr-defined]
        )


@strawberry.type
class MessageTemplateConnection:
    edges: list[Edge[MessageTemplate]]
    page_info: PageInfo
    total_count: int


@strawberry.type(description="One partner of a bulk send and what became of its message.")
class BulkRecipient:
    outcome: BulkOutcome
    reason: ErrorCode | None = strawberry.field(
        description="Why a SKIPPED recipient got no message: the single send's error code, "
        "or CANCELLED."
    )
    _partner_id: strawberry.Private[uuid.UUID]
    _message_id: strawberry.Private[uuid.UUID | None]

    @strawberry.field
    async def partner(self, info: Info) -> Account:
        return await load_account(info, self._partner_id)

    @strawberry.field
    async def message(self, info: Info) -> Message | None:
        if self._message_id is None:
            return None
        row = await info.context.loaders.message.load(self._message_id)
        return Message.from_row(row) if row is not None else None

    @classmethod
    def from_row(cls, row: BulkRecipientRow) -> BulkRecipient:
        try:
            reason = ErrorCode(row.reason) if row.reason else None
        except ValueError:
            reason = ErrorCode.INVALID_INPUT
        return cls(
            outcome=row.outcome,
            reason=reason,
            _partner_id=row.partner_id,  # type: ignore[attr-defined]
            _message_id=row.message_id,
        )


@strawberry.type
class BulkRecipientConnection:
    edges: list[Edge[BulkRecipient]]
    page_info: PageInfo
    total_count: int


@strawberry.type(
    description="A file of a bulk send, stored and scanned once: every message of the bulk "
    "send carries it as an attachment (downloaded through those)."
)
class BulkSendAttachment:
    filename: str
    content_type: str
    size: int
    scan_status: ScanStatus = strawberry.field(
        description="The one scan's verdict, which every message's attachment shares."
    )

    @classmethod
    def from_row(cls, row: BulkAttachmentRow) -> BulkSendAttachment:
        blob = row.blob
        return cls(
            filename=row.filename,
            content_type=blob.content_type,
            size=blob.size,
            scan_status=blob.scan_status,
        )


@strawberry.type(description="A message sent to many partners, each in its own conversation.")
class BulkSend:
    id: strawberry.ID
    status: BulkSendStatus
    total: int
    sent: int
    skipped: int
    failed: int
    created_at: datetime
    finished_at: datetime | None
    _row: strawberry.Private[BulkSendRow]

    @strawberry.field
    async def created_by(self, info: Info) -> User | None:
        return await _user(info, self._row.created_by_id)  # type: ignore[attr-defined]

    @strawberry.field(description="The files every message of the bulk send carries.")  # type: ignore[untyped-decorator]
    async def attachments(self, info: Info) -> list[BulkSendAttachment]:
        rows = await info.context.loaders.bulk_files.load(self._row.id)
        return [BulkSendAttachment.from_row(r) for r in rows or []]

    @strawberry.field
    async def recipients(
        self,
        info: Info,
        outcome: BulkOutcome | None = None,
        first: int | None = 20,
        after: str | None = None,
    ) -> BulkRecipientConnection:
        ctx = info.context
        try:
            size = page_size(first, ctx.rt.settings.max_page_size)
            page = await sends.recipients_page(self._row, outcome, size, after, ctx.rt.cursors)
        except DomainError as error:
            raise top_level(error) from None
        return BulkRecipientConnection(
            edges=[Edge(cursor=c, node=BulkRecipient.from_row(r)) for c, r in page.items],
            page_info=page_info(page),  # type: ignore[arg-type]
            total_count=page.total_count,
        )

    @classmethod
    def from_row(cls, row: BulkSendRow) -> BulkSend:
        return cls(
            id=strawberry.ID(str(row.id)),
            status=row.status,
            total=row.total,
            sent=row.sent,
            skipped=row.skipped,
            failed=row.failed,
            created_at=row.created_at,
            finished_at=row.finished_at,
            _row=row,
        )


@strawberry.type
class BulkSendConnection:
    edges: list[Edge[BulkSend]]
    page_info: PageInfo
    total_count: int


@strawberry.type(description="A bulk send progressed; at least once a second while RUNNING.")
class BulkSendProgress:
    cursor: str
    bulk_send: BulkSend


@strawberry.input
class SendBulkMessageInput:
    partner_filter: PartnerFilter = strawberry.field(
        description="Which partnerships of the brand; the recipients are fixed at creation."
    )
    body: str | None = strawberry.field(
        default=None, description="With {{partner.name}}, {{brand.name}}, {{sender.name}}."
    )
    template_id: strawberry.ID | None = strawberry.field(
        default=None, description="Send a template's body instead of `body`."
    )
    attachments: list[Upload] | None = strawberry.field(
        default=None, description="GraphQL multipart request spec; shared by all messages."
    )
    client_bulk_id: str | None = strawberry.field(
        default=None, description="Idempotency key of the request, at most 255 characters."
    )


@strawberry.type
class SendBulkMessagePayload:
    bulk_send: BulkSend | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class CancelBulkSendInput:
    id: strawberry.ID


@strawberry.type
class CancelBulkSendPayload:
    bulk_send: BulkSend | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class CreateMessageTemplateInput:
    name: str
    body: str


@strawberry.input
class UpdateMessageTemplateInput:
    id: strawberry.ID
    name: str | None = None
    body: str | None = None


@strawberry.input
class DeleteMessageTemplateInput:
    id: strawberry.ID


@strawberry.type
class CreateMessageTemplatePayload:
    template: MessageTemplate | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class UpdateMessageTemplatePayload:
    template: MessageTemplate | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class DeleteMessageTemplatePayload:
    deleted_template_id: strawberry.ID | None = None
    errors: list[UserError] = strawberry.field(default_factory=list)
