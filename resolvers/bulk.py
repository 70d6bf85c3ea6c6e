"""Resolvers of message templates and bulk sends (SPEC: templates and bulk messages)."""

from __future__ import annotations

from typing import cast

import strawberry

from gql.context import Info
from gql.types.bulk import (
    BulkSend,
    BulkSendConnection,
    CancelBulkSendInput,
    CancelBulkSendPayload,
    CreateMessageTemplateInput,
    CreateMessageTemplatePayload,
    DeleteMessageTemplateInput,
    DeleteMessageTemplatePayload,
    MessageTemplate,
    MessageTemplateConnection,
    SendBulkMessageInput,
    SendBulkMessagePayload,
    UpdateMessageTemplateInput,
    UpdateMessageTemplatePayload,
)
from gql.types.conversations import Edge, page_info
from gql.types.errors import top_level, user_error
from services import partnerships, templates
from services.attachments import AnyUpload
from services.bulk import sends
from services.cursors import page_size
from services.errors import DomainError


async def message_templates(
    info: Info, first: int | None = 20, after: str | None = None
) -> MessageTemplateConnection:
    ctx = info.context
    try:
        size = page_size(first, ctx.rt.settings.max_page_size)
        page = await templates.templates_page(ctx.viewer, size, after, ctx.rt.cursors)
    except DomainError as error:
        raise top_level(error) from None
    return MessageTemplateConnection(
        edges=[Edge(cursor=c, node=MessageTemplate.from_row(t)) for c, t in page.items],
        page_info=page_info(page),  # type: ignore[arg-type]
        total_count=page.total_count,
    )


async def preview_message_template(info: Info, body: str, partner_id: strawberry.ID) -> str:
    try:
        return await templates.preview(info.context.viewer, body, str(partner_id))
    except DomainError as error:
        raise top_level(error) from None


async def create_message_template(
    info: Info, input: CreateMessageTemplateInput
) -> CreateMessageTemplatePayload:
    try:
        row = await templates.create_template(info.context.viewer, input.name, input.body)
    except DomainError as error:
        return CreateMessageTemplatePayload(errors=[user_error(error)])
    return CreateMessageTemplatePayload(template=MessageTemplate.from_row(row))


async def update_message_template(
    info: Info, input: UpdateMessageTemplateInput
) -> UpdateMessageTemplatePayload:
    try:
        row = await templates.update_template(
            info.context.viewer, str(input.id), input.name, input.body
        )
    except DomainError as error:
        return UpdateMessageTemplatePayload(errors=[user_error(error)])
    return UpdateMessageTemplatePayload(template=MessageTemplate.from_row(row))


async def delete_message_template(
    info: Info, input: DeleteMessageTemplateInput
) -> DeleteMessageTemplatePayload:
    try:
        deleted = await templates.delete_template(info.context.viewer, str(input.id))
    except DomainError as error:
        return DeleteMessageTemplatePayload(errors=[user_error(error)])
    return DeleteMessageTemplatePayload(deleted_template_id=strawberry.ID(str(deleted)))


async def send_bulk_message(info: Info, input: SendBulkMessageInput) -> SendBulkMessagePayload:
    ctx = info.context
    flt = input.partner_filter
    try:
        row = await sends.create_bulk_send(
            ctx.viewer,
            sends.BulkRequest(
                partnerships.PartnerFilter(statuses=flt.statuses, search=flt.search),
                input.body,
                str(input.template_id) if input.template_id is not None else None,
                input.client_bulk_id,
                cast("list[AnyUpload]", input.attachments or []),
            ),
            ctx.rt.bulk,
            ctx.rt.sending,
        )
    except DomainError as error:
        return SendBulkMessagePayload(errors=[user_error(error)])
    return SendBulkMessagePayload(bulk_send=BulkSend.from_row(row))


async def cancel_bulk_send(info: Info, input: CancelBulkSendInput) -> CancelBulkSendPayload:
    ctx = info.context
    try:
        row = await sends.cancel_bulk_send(ctx.viewer, str(input.id), ctx.rt.bus)
    except DomainError as error:
        return CancelBulkSendPayload(errors=[user_error(error)])
    return CancelBulkSendPayload(bulk_send=BulkSend.from_row(row))


async def bulk_send(info: Info, id: strawberry.ID) -> BulkSend | None:
    try:
        row = await sends.access_bulk_send(info.context.viewer, str(id))
    except DomainError as error:
        if error.code == "NOT_FOUND":
            return None
        raise top_level(error) from None
    return BulkSend.from_row(row)


async def bulk_sends(
    info: Info, first: int | None = 20, after: str | None = None
) -> BulkSendConnection:
    ctx = info.context
    try:
        size = page_size(first, ctx.rt.settings.max_page_size)
        page = await sends.bulk_sends_page(ctx.viewer, size, after, ctx.rt.cursors)
    except DomainError as error:
        raise top_level(error) from None
    return BulkSendConnection(
        edges=[Edge(cursor=c, node=BulkSend.from_row(b)) for c, b in page.items],
        page_info=page_info(page),  # type: ignore[arg-type]
        total_count=page.total_count,
    )
