"""Provisioning inputs and payloads (SPEC §8)."""

from __future__ import annotations

import strawberry

from gql.types.enums import AccountKind, PartnershipStatus
from gql.types.errors import UserError, user_error
from services import platform


@strawberry.input
class UpsertAccountInput:
    external_id: str = strawberry.field(description="The platform's id, 1–128 characters.")
    kind: AccountKind = strawberry.field(description="Fixed once the account exists.")
    name: str


@strawberry.input
class UpsertUserInput:
    external_id: str = strawberry.field(
        description="The platform's id, 1–128 characters; the `id` returned is the `sub` "
        "of the user's tokens."
    )
    account_external_id: str
    email: str
    name: str
    role_name: str = strawberry.field(description="A role of the user's account, by name.")
    active: bool | None = strawberry.field(
        default=True, description="false: the user's tokens and websockets stop at once."
    )


@strawberry.input
class UpsertPartnershipInput:
    brand_external_id: str
    partner_external_id: str
    status: PartnershipStatus


@strawberry.type
class UpsertResult:
    external_id: str = strawberry.field(
        description="The item's key; for a partnership `<brandExternalId>:<partnerExternalId>`."
    )
    id: strawberry.ID | None
    created: bool
    error: UserError | None

    @classmethod
    def from_outcome(cls, outcome: platform.Outcome) -> UpsertResult:
        return cls(
            external_id=outcome.external_id,
            id=None if outcome.id is None else strawberry.ID(str(outcome.id)),
            created=outcome.created,
            error=None if outcome.error is None else user_error(outcome.error),
        )


@strawberry.type
class UpsertAccountsPayload:
    results: list[UpsertResult] = strawberry.field(description="One per item, in input order.")


@strawberry.type
class UpsertUsersPayload:
    results: list[UpsertResult] = strawberry.field(description="One per item, in input order.")


@strawberry.type
class UpsertPartnershipsPayload:
    results: list[UpsertResult] = strawberry.field(description="One per item, in input order.")
