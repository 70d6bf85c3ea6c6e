"""Partnerships as a brand sees them: the `partners` list, by partner name."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from tortoise.expressions import Q
from tortoise.queryset import QuerySet

from models import AccountKind, Conversation, Partnership, PartnershipStatus, Permission
from services.auth import Viewer
from services.conversations import Page, page_cursor, search_term
from services.cursors import CursorCodec
from services.errors import PermissionDenied
from services.inbox import CounterpartRow


@dataclass(frozen=True, slots=True)
class PartnerRow:
    """A partnership of the `partners` list and its partner account's shown fields, read in
    one statement as plain values (no model instances)."""

    id: uuid.UUID
    status: PartnershipStatus
    brand_id: uuid.UUID
    partner_id: uuid.UUID
    partner: CounterpartRow


@dataclass(frozen=True, slots=True)
class PartnerFilter:
    statuses: Sequence[PartnershipStatus] | None = None
    search: str | None = None


def matching(brand_id: uuid.UUID, flt: PartnerFilter) -> QuerySet[Partnership]:
    """The brand's partnerships `flt` selects: the `partners` list and a bulk send's
    recipients mean the same thing by a filter."""
    query = Partnership.filter(brand_id=brand_id)
    if flt.statuses is not None:
        query = query.filter(status__in=list(flt.statuses))
    term = search_term(flt.search)
    if term:
        query = query.filter(partner__name_folded__contains=term)
    return query


async def partners_page(
    viewer: Viewer,
    flt: PartnerFilter,
    first: int,
    after: str | None,
    cursors: CursorCodec,
    *,
    edge_cursors: bool = True,
) -> Page[PartnerRow]:
    """The viewer's brand's partnerships ordered by partner name. Brand users only.
    `edge_cursors=False`: only the first and last items' cursors are signed (see
    `conversations.page_cursor`)."""
    if not viewer.can(Permission.PARTNERS_VIEW):
        raise PermissionDenied("This needs the PARTNERS_VIEW permission.")
    if viewer.account_kind is not AccountKind.BRAND:
        raise PermissionDenied("Only brand accounts list their partners.")
    query = matching(viewer.account_id, flt)
    total = await query.count()
    if after is not None:
        name, pid = cursors.decode("partners", after)
        query = query.filter(
            Q(partner__name_folded__gt=name)
            | Q(partner__name_folded=name, id__gt=uuid.UUID(str(pid)))
        )
    rows = (
        await query.order_by("partner__name_folded", "id")
        .limit(first + 1)
        .values(
            "id",
            "status",
            "brand_id",
            "partner_id",
            "partner__name",
            "partner__name_folded",
            "partner__kind",
            "partner__terms_version_accepted",
        )
    )
    shown = rows[:first]
    items = [
        (
            page_cursor(
                cursors,
                edge_cursors,
                i,
                len(shown),
                "partners",
                r["partner__name_folded"],
                str(r["id"]),
            ),
            _partner_row(r),
        )
        for i, r in enumerate(shown)
    ]
    return Page(items, len(rows) > first, after is not None, total)


def _partner_row(row: dict[str, Any]) -> PartnerRow:
    partner_id = row["partner_id"]
    return PartnerRow(
        id=row["id"],
        status=row["status"],
        brand_id=row["brand_id"],
        partner_id=partner_id,
        partner=CounterpartRow(
            id=partner_id,
            name=row["partner__name"],
            kind=row["partner__kind"],
            terms_version_accepted=row["partner__terms_version_accepted"],
        ),
    )


async def partnerships_by_ids(ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Partnership]:
    return {p.id: p for p in await Partnership.filter(id__in=list(ids))}


async def conversation_ids_by_partnership(
    partnership_ids: Iterable[uuid.UUID],
) -> dict[uuid.UUID, uuid.UUID]:
    rows = await Conversation.filter(partnership_id__in=list(partnership_ids)).values_list(
        "partnership_id", "id"
    )
    return {pid: cid for pid, cid in rows}
