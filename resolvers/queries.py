"""Query resolvers: read arguments, call one service, map the result."""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import strawberry
from strawberry.types.nodes import SelectedField, Selection

from gql.context import Info
from gql.types.accounts import Viewer
from gql.types.conversations import (
    Conversation,
    ConversationConnection,
    Edge,
    Message,
    Partnership,
    PartnershipConnection,
    page_info,
)
from gql.types.errors import top_level
from gql.types.inputs import InboxFilter, PartnerFilter
from gql.types.search import (
    MessageSearchConnection,
    MessageSearchEdge,
    MessageSearchFilter,
    TextRange,
)
from models import InboxFolder
from services import conversations, partnerships, search
from services import inbox as inbox_service
from services.cursors import page_size
from services.errors import DomainError
from services.inbox import AssigneeFilter


def _selections(selections: Sequence[Selection]) -> Iterator[Selection]:
    """The fields of a selection set, through fragment spreads and inline fragments."""
    for selection in selections:
        if isinstance(selection, SelectedField):
            yield selection
        else:
            yield from _selections(selection.selections)


def _fields(info: Info) -> Iterator[Selection]:
    for field in info.selected_fields:
        yield from _selections(field.selections)


def selects(info: Info, name: str) -> bool:
    """Whether the current field's selection asks for `name` (through fragments too)."""
    return any(getattr(f, "name", None) == name for f in _fields(info))


def selects_edge_cursors(info: Info) -> bool:
    """Whether the connection's selection reads `edges { cursor }` (through fragments too).
    Unread cursors need not be signed: only the page's first and last are (its pageInfo)."""
    for field in _fields(info):
        if getattr(field, "name", None) == "edges" and any(
            getattr(inner, "name", None) == "cursor" for inner in _selections(field.selections)
        ):
            return True
    return False


def viewer(info: Info) -> Viewer:
    return Viewer(permissions=sorted(info.context.viewer.permissions, key=lambda p: p.value))


async def partners(
    info: Info,
    filter: PartnerFilter | None = None,
    first: int | None = 20,
    after: str | None = None,
) -> PartnershipConnection:
    ctx = info.context
    flt = filter or PartnerFilter()
    try:
        size = page_size(first, ctx.rt.settings.max_page_size)
        page = await partnerships.partners_page(
            ctx.viewer,
            partnerships.PartnerFilter(statuses=flt.statuses, search=flt.search),
            size,
            after,
            ctx.rt.cursors,
            edge_cursors=selects_edge_cursors(info),
        )
    except DomainError as error:
        raise top_level(error) from None
    return PartnershipConnection(
        edges=[Edge(cursor=c, node=Partnership.from_partner_row(p)) for c, p in page.items],
        page_info=page_info(page),  # type: ignore[arg-type]
        total_count=page.total_count,
    )


async def inbox(
    info: Info, filter: InboxFilter | None = None, first: int | None = 20, after: str | None = None
) -> ConversationConnection:
    ctx = info.context
    flt = filter or InboxFilter()
    try:
        size = page_size(first, ctx.rt.settings.max_page_size)
        page = await inbox_service.inbox_page(
            ctx.viewer,
            inbox_service.InboxFilter(
                partnership_statuses=flt.partnership_statuses,
                search=flt.search,
                unread_only=bool(flt.unread_only),
                folder=flt.folder or (InboxFolder.DONE if flt.archived else InboxFolder.INBOX),
                priority_only=bool(flt.priority_only),
                assignee=flt.assignee or AssigneeFilter.ANYONE,
            ),
            size,
            after,
            ctx.rt.cursors,
            with_total=selects(info, "totalCount"),
            edge_cursors=selects_edge_cursors(info),
        )
    except DomainError as error:
        raise top_level(error) from None
    account_id = ctx.viewer.account_id
    return ConversationConnection(
        edges=[Edge(cursor=c, node=Conversation.from_inbox(i, account_id)) for c, i in page.items],
        page_info=page_info(page),  # type: ignore[arg-type]
        total_count=page.total_count,
    )


async def conversation(info: Info, id: strawberry.ID) -> Conversation | None:
    try:
        row = await conversations.access_conversation(info.context.viewer, id)
    except DomainError as error:
        raise top_level(error) from None
    return Conversation.from_row(row)


async def search_messages(
    info: Info,
    query: str,
    filter: MessageSearchFilter | None = None,
    first: int | None = 20,
    after: str | None = None,
) -> MessageSearchConnection:
    ctx = info.context
    flt = filter or MessageSearchFilter()
    try:
        page = await search.search_messages(
            ctx.viewer,
            query,
            search.SearchFilter(
                partnership_statuses=flt.partnership_statuses,
                counterpart_ids=None if flt.counterpart_ids is None else list(flt.counterpart_ids),
                sent_from=flt.from_,
                sent_to=flt.to,
                has_attachments=flt.has_attachments,
            ),
            page_size(first, ctx.rt.settings.max_page_size),
            after,
            ctx.rt.cursors,
            with_total=selects(info, "totalCount"),
            edge_cursors=selects_edge_cursors(info),
        )
    except DomainError as error:
        raise top_level(error) from None
    return MessageSearchConnection(
        edges=[
            MessageSearchEdge(
                cursor=cursor,
                node=Message.from_row(hit.message),
                snippet=hit.snippet,
                highlights=[TextRange(start=a, length=n) for a, n in hit.highlights],
                _conversation_id=hit.message.conversation_id,
            )
            for cursor, hit in page.items
        ],
        page_info=page_info(page),  # type: ignore[arg-type]
        total_count=page.total_count,
    )
