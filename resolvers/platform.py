"""Provisioning mutations (platform tokens only): each maps its items and calls one service."""

from __future__ import annotations

from gql.context import Info
from gql.types.errors import top_level
from gql.types.platform import (
    UpsertAccountInput,
    UpsertAccountsPayload,
    UpsertPartnershipInput,
    UpsertPartnershipsPayload,
    UpsertResult,
    UpsertUserInput,
    UpsertUsersPayload,
)
from services import platform
from services.errors import DomainError


async def upsert_accounts(info: Info, input: list[UpsertAccountInput]) -> UpsertAccountsPayload:
    items = [platform.AccountItem(i.external_id, i.kind, i.name) for i in input]
    try:
        outcomes = await platform.upsert_accounts(items)
    except DomainError as error:
        raise top_level(error) from None
    return UpsertAccountsPayload(results=[UpsertResult.from_outcome(o) for o in outcomes])


async def upsert_users(info: Info, input: list[UpsertUserInput]) -> UpsertUsersPayload:
    items = [
        platform.UserItem(
            i.external_id,
            i.account_external_id,
            i.email,
            i.name,
            i.role_name,
            i.active is not False,
        )
        for i in input
    ]
    try:
        outcomes = await platform.upsert_users(
            items, on_deactivated=info.context.rt.sessions.close_users
        )
    except DomainError as error:
        raise top_level(error) from None
    return UpsertUsersPayload(results=[UpsertResult.from_outcome(o) for o in outcomes])


async def upsert_partnerships(
    info: Info, input: list[UpsertPartnershipInput]
) -> UpsertPartnershipsPayload:
    items = [
        platform.PartnershipItem(i.brand_external_id, i.partner_external_id, i.status)
        for i in input
    ]
    try:
        outcomes = await platform.upsert_partnerships(items, notifier=info.context.rt.bus)
    except DomainError as error:
        raise top_level(error) from None
    return UpsertPartnershipsPayload(results=[UpsertResult.from_outcome(o) for o in outcomes])
