"""Provisioning by the platform (SPEC §8): accounts, users and partnerships upserted in
batches, keyed by the platform's own ids.

Rules of every batch:
- At most `MAX_BATCH` items, else `BatchTooLarge` (INVALID_ARGUMENT) and nothing is written.
- One `Outcome` per item, in input order. An item fails on its own with a typed error and
  changes nothing; the others are applied.
- Idempotent: an item equal to what is stored changes nothing (no write, no event).
- Two items of one batch with the same key (externalId; for partnerships the brand and
  partner pair) both fail with DUPLICATE_EXTERNAL_ID: the batch contradicts itself.

Accounts and users are written one item per transaction. Partnerships, the bulk of a
platform's data, are written set-wise: every item is checked first, then all of them go in
one transaction (a few statements for the whole batch); a status change emits
`PARTNERSHIP_UPDATED` to both accounts, announced after the commit.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Awaitable, Callable, Hashable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from email_validator import EmailNotValidError, validate_email
from tortoise.backends.base.client import BaseDBAsyncClient
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from models import Account, AccountKind, EventKind, Partnership, PartnershipStatus, Role, User
from services import accounts, events_log
from services.errors import DomainError, ErrorCode, InvalidInput, NotFound
from services.sql import fetch, is_sqlite

MAX_BATCH = 500
MAX_EXTERNAL_ID = 128
MAX_NAME = 200


class BatchTooLarge(DomainError):
    """A batch over `MAX_BATCH` items: refused whole, as a top-level error."""

    code = ErrorCode.INVALID_ARGUMENT


@dataclass(frozen=True, slots=True)
class AccountItem:
    external_id: str
    kind: AccountKind
    name: str


@dataclass(frozen=True, slots=True)
class UserItem:
    external_id: str
    account_external_id: str
    email: str
    name: str
    role_name: str
    active: bool = True


@dataclass(frozen=True, slots=True)
class PartnershipItem:
    brand_external_id: str
    partner_external_id: str
    status: PartnershipStatus

    @property
    def external_id(self) -> str:
        """How results name the item: `<brandExternalId>:<partnerExternalId>`."""
        return f"{self.brand_external_id}:{self.partner_external_id}"


@dataclass(frozen=True, slots=True)
class Outcome:
    external_id: str
    id: uuid.UUID | None = None
    created: bool = False
    error: DomainError | None = None


# Told the ids of users just deactivated, after the commit: their open websockets close.
OnDeactivated = Callable[[Sequence[uuid.UUID]], Awaitable[object]]


def check_batch(items: Sequence[object]) -> None:
    if len(items) > MAX_BATCH:
        raise BatchTooLarge(f"At most {MAX_BATCH} items per call; this one has {len(items)}.")


def _check_id(value: str, field: str) -> None:
    if not 1 <= len(value) <= MAX_EXTERNAL_ID or "\x00" in value:
        raise InvalidInput(
            ErrorCode.INVALID_INPUT, f"{field} has 1 to {MAX_EXTERNAL_ID} characters.", (field,)
        )


def _check_name(value: str) -> str:
    name = value.strip()
    if not 1 <= len(name) <= MAX_NAME or any(ord(c) < 32 for c in name):
        raise InvalidInput(
            ErrorCode.INVALID_INPUT, f"name has 1 to {MAX_NAME} printable characters.", ("name",)
        )
    return name


def _check_email(value: str) -> str:
    try:
        # Syntax only (no DNS); `.test` addresses are accepted for test and demo data.
        checked = validate_email(value, check_deliverability=False, test_environment=True)
    except EmailNotValidError as error:
        raise InvalidInput(
            ErrorCode.INVALID_INPUT, f"email is not an address: {error}", ("email",)
        ) from None
    return str(checked.normalized).lower()


def _duplicates(keys: Sequence[Hashable]) -> set[Hashable]:
    return {key for key, count in Counter(keys).items() if count > 1}


def _duplicate_error(field: str) -> InvalidInput:
    return InvalidInput(
        ErrorCode.DUPLICATE_EXTERNAL_ID,
        "The same key appears more than once in this batch.",
        (field,),
    )


async def _accounts_by_external_id(ids: set[str]) -> dict[str, tuple[uuid.UUID, AccountKind]]:
    rows = await Account.filter(external_id__in=list(ids)).values_list("external_id", "id", "kind")
    return {ext: (aid, AccountKind(kind)) for ext, aid, kind in rows}


# Accounts


async def upsert_accounts(items: Sequence[AccountItem]) -> list[Outcome]:
    """Create or rename accounts by externalId; an account's kind never changes."""
    check_batch(items)
    duplicates = _duplicates([i.external_id for i in items])
    return [await _upsert_account(item, item.external_id in duplicates) for item in items]


async def _upsert_account(item: AccountItem, duplicate: bool) -> Outcome:
    try:
        if duplicate:
            raise _duplicate_error("externalId")
        _check_id(item.external_id, "externalId")
        name = _check_name(item.name)
        for _attempt in range(2):
            existing = await Account.filter(external_id=item.external_id).first()
            if existing is not None:
                return await _update_account(existing, item, name)
            try:
                account = await accounts.create_account(
                    name, item.kind, external_id=item.external_id
                )
            except IntegrityError:
                continue  # created meanwhile by a concurrent call: update it instead
            return Outcome(item.external_id, account.id, created=True)
        raise InvalidInput(ErrorCode.INVALID_INPUT, "The account could not be written; retry.")
    except DomainError as error:
        return Outcome(item.external_id, error=error)


async def _update_account(existing: Account, item: AccountItem, name: str) -> Outcome:
    if existing.kind is not item.kind:
        raise InvalidInput(
            ErrorCode.INVALID_INPUT,
            f"This account is a {existing.kind.value}; its kind cannot change.",
            ("kind",),
        )
    if existing.name != name:
        await Account.filter(id=existing.id).update(name=name, name_folded=name.casefold())
    return Outcome(item.external_id, existing.id, created=False)


# Users


async def upsert_users(
    items: Sequence[UserItem], *, on_deactivated: OnDeactivated | None = None
) -> list[Outcome]:
    """Create or update users by externalId. A user stays in its account; its e-mail is
    unique (EMAIL_TAKEN); its role is named within the account; `active: false` revokes its
    tokens at once and closes its websockets (`on_deactivated`). LAST_ADMIN holds."""
    check_batch(items)
    duplicates = _duplicates([i.external_id for i in items])
    refs = await _accounts_by_external_id({i.account_external_id for i in items})
    outcomes: list[Outcome] = []
    deactivated: list[uuid.UUID] = []
    for item in items:
        try:
            if item.external_id in duplicates:
                raise _duplicate_error("externalId")
            outcome, was_deactivated = await _upsert_user(item, refs)
        except DomainError as error:
            outcome, was_deactivated = Outcome(item.external_id, error=error), False
        except IntegrityError:  # the e-mail was taken meanwhile by a concurrent call
            outcome, was_deactivated = Outcome(item.external_id, error=_email_taken()), False
        outcomes.append(outcome)
        if was_deactivated and outcome.id is not None:
            deactivated.append(outcome.id)
    if deactivated and on_deactivated is not None:
        await on_deactivated(deactivated)
    return outcomes


def _email_taken() -> InvalidInput:
    return InvalidInput(ErrorCode.EMAIL_TAKEN, "Another user has this e-mail address.", ("email",))


async def _upsert_user(
    item: UserItem, refs: dict[str, tuple[uuid.UUID, AccountKind]]
) -> tuple[Outcome, bool]:
    _check_id(item.external_id, "externalId")
    _check_id(item.account_external_id, "accountExternalId")
    email = _check_email(item.email)
    name = _check_name(item.name)
    ref = refs.get(item.account_external_id)
    if ref is None:
        raise NotFound("No account with that externalId.", field=("accountExternalId",))
    account_id = ref[0]
    role = await Role.filter(account_id=account_id, name=item.role_name).first()
    if role is None:
        raise NotFound("The account has no role of that name.", field=("roleName",))
    async with in_transaction() as conn:
        await accounts.lock_account(conn, account_id)
        existing = await User.filter(external_id=item.external_id).using_db(conn).first()
        if await (
            User.filter(email=email).exclude(external_id=item.external_id).using_db(conn).exists()
        ):
            raise _email_taken()
        if existing is None:
            user = await User.create(
                using_db=conn,
                account_id=account_id,
                role_id=role.id,
                email=email,
                name=name,
                external_id=item.external_id,
                active=item.active,
                deactivated_at=None if item.active else datetime.now(UTC),
            )
            return Outcome(item.external_id, user.id, created=True), False
        if existing.account_id != account_id:  # type: ignore[attr-defined]
            raise InvalidInput(
                ErrorCode.INVALID_INPUT,
                "A user cannot move to another account.",
                ("accountExternalId",),
            )
        return await _update_user(conn, existing, item, email, name, role)


async def _update_user(
    conn: BaseDBAsyncClient, user: User, item: UserItem, email: str, name: str, role: Role
) -> tuple[Outcome, bool]:
    changes: dict[str, object] = {}
    if user.email != email:
        changes["email"] = email
    if user.name != name:
        changes["name"] = name
    if user.role_id != role.id:  # type: ignore[attr-defined]
        changes["role_id"] = role.id
    if user.active != item.active:
        changes["active"] = item.active
        changes["deactivated_at"] = None if item.active else datetime.now(UTC)
    if "role_id" in changes or "active" in changes:
        await accounts.check_keeps_an_admin(conn, user, new_role=role, active=item.active)
    if changes:
        await User.filter(id=user.id).using_db(conn).update(**changes)
    deactivated = user.active and not item.active
    return Outcome(item.external_id, user.id, created=False), deactivated


# Partnerships


async def upsert_partnerships(
    items: Sequence[PartnershipItem], *, notifier: events_log.Notifier
) -> list[Outcome]:
    """Create partnerships or change their status, by (brand, partner) externalIds."""
    check_batch(items)
    outcomes: list[Outcome | None] = [None] * len(items)
    duplicates = _duplicates([(i.brand_external_id, i.partner_external_id) for i in items])
    refs = await _accounts_by_external_id(
        {i.brand_external_id for i in items} | {i.partner_external_id for i in items}
    )
    wanted: dict[tuple[uuid.UUID, uuid.UUID], tuple[int, PartnershipStatus]] = {}
    for index, item in enumerate(items):
        try:
            if (item.brand_external_id, item.partner_external_id) in duplicates:
                raise _duplicate_error("partnerExternalId")
            brand = _side(refs, item.brand_external_id, AccountKind.BRAND, "brandExternalId")
            partner = _side(
                refs, item.partner_external_id, AccountKind.PARTNER, "partnerExternalId"
            )
        except DomainError as error:
            outcomes[index] = Outcome(item.external_id, error=error)
            continue
        wanted[(brand, partner)] = (index, item.status)
    if wanted:
        ids, audience = await _write_partnerships(wanted)
        for (index, _status), (partnership_id, created) in zip(wanted.values(), ids, strict=True):
            outcomes[index] = Outcome(items[index].external_id, partnership_id, created)
        if audience:
            await notifier.notify(audience)
    return [o for o in outcomes if o is not None]


def _side(
    refs: dict[str, tuple[uuid.UUID, AccountKind]], external_id: str, kind: AccountKind, field: str
) -> uuid.UUID:
    _check_id(external_id, field)
    ref = refs.get(external_id)
    if ref is None:
        raise NotFound("No account with that externalId.", field=(field,))
    if ref[1] is not kind:
        raise InvalidInput(
            ErrorCode.INVALID_INPUT,
            f"That account is a {ref[1].value}, not a {kind.value}.",
            (field,),
        )
    return ref[0]


async def _existing(
    conn: BaseDBAsyncClient, pairs: Sequence[tuple[uuid.UUID, uuid.UUID]]
) -> dict[tuple[uuid.UUID, uuid.UUID], tuple[uuid.UUID, PartnershipStatus]]:
    query = Partnership.filter(
        brand_id__in=list({b for b, _ in pairs}), partner_id__in=list({p for _, p in pairs})
    ).using_db(conn)
    if not is_sqlite(conn):
        query = query.select_for_update()
    wanted = set(pairs)
    found: dict[tuple[uuid.UUID, uuid.UUID], tuple[uuid.UUID, PartnershipStatus]] = {}
    for pid, brand, partner, status in await query.values_list(
        "id", "brand_id", "partner_id", "status"
    ):
        if (brand, partner) in wanted:
            found[(brand, partner)] = (pid, PartnershipStatus(status))
    return found


async def _write_partnerships(
    wanted: dict[tuple[uuid.UUID, uuid.UUID], tuple[int, PartnershipStatus]],
) -> tuple[list[tuple[uuid.UUID, bool]], list[uuid.UUID]]:
    """(id, created) per wanted pair in its order, and the audience of the events."""
    pairs = list(wanted)
    async with in_transaction() as conn:
        existing = await _existing(conn, pairs)
        new = [
            (uuid.uuid4(), brand, partner, wanted[(brand, partner)][1])
            for brand, partner in pairs
            if (brand, partner) not in existing
        ]
        created: set[uuid.UUID] = set()
        if new:
            created = await _insert_new(conn, new)
            if len(created) < len(new):  # some were created meanwhile by a concurrent call
                existing |= await _existing(
                    conn, [(b, p) for i, b, p, _ in new if i not in created]
                )
            for pid, brand, partner, status in new:
                if pid in created:
                    existing[(brand, partner)] = (pid, status)
        changes: dict[PartnershipStatus, list[uuid.UUID]] = {}
        events: list[tuple[list[uuid.UUID], dict[str, object]]] = []
        for (brand, partner), (pid, status) in existing.items():
            target = wanted[(brand, partner)][1]
            if pid not in created and status is not target:
                changes.setdefault(target, []).append(pid)
                events.append(([brand, partner], {"partnership_id": pid}))
        now = datetime.now(UTC)
        for status, ids in changes.items():
            await (
                Partnership.filter(id__in=ids).using_db(conn).update(status=status, updated_at=now)
            )
        audience = (
            await events_log.append_batch(conn, EventKind.PARTNERSHIP_UPDATED, events)
            if events
            else []
        )
    written = [(existing[pair][0], existing[pair][0] in created) for pair in pairs]
    return written, audience


async def _insert_new(
    conn: BaseDBAsyncClient,
    rows: Sequence[tuple[uuid.UUID, uuid.UUID, uuid.UUID, PartnershipStatus]],
) -> set[uuid.UUID]:
    """Insert partnerships unless their pair exists; the ids actually inserted."""
    if is_sqlite(conn):
        await Partnership.bulk_create(
            [Partnership(id=i, brand_id=b, partner_id=p, status=s) for i, b, p, s in rows],
            ignore_conflicts=True,
            using_db=conn,
        )
        inserted = (
            await Partnership.filter(id__in=[r[0] for r in rows])
            .using_db(conn)
            .values_list("id", flat=True)
        )
        return {uuid.UUID(str(i)) for i in inserted}
    # One statement for the whole batch (tortoise's bulk_create runs one per row).
    found = await fetch(
        conn,
        "INSERT INTO partnerships (id, brand_id, partner_id, status, created_at, updated_at)"
        " SELECT i, b, p, s, now(), now()"
        " FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::text[]) AS t(i, b, p, s)"
        " ON CONFLICT (brand_id, partner_id) DO NOTHING RETURNING id",
        [r[0] for r in rows],
        [r[1] for r in rows],
        [r[2] for r in rows],
        [r[3].value for r in rows],
    )
    return {row["id"] for row in found}
