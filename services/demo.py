"""Demo data (`liaison seed --demo`): idempotent, built through the platform API's services."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from models import Account, AccountKind, PartnershipStatus, User
from services import accounts, platform
from services.auth import load_viewer_by_user

BRANDS = ("Acme Outdoor", "Borealis Cosmetics")
ROLE_USERS = (
    ("ACCOUNT_ADMIN", "admin", "Ada Admin"),
    ("COMMUNITY_MANAGER", "cm", "Cory Community"),
    ("ANALYST", "analyst", "Ana Analyst"),
)
PARTNERS: tuple[tuple[str, PartnershipStatus, PartnershipStatus | None], ...] = (
    # (partner name, status with the first brand, status with the second brand or None)
    ("Trail Blog", PartnershipStatus.ACTIVE, PartnershipStatus.ACTIVE),
    ("Peak Reviews", PartnershipStatus.PENDING, None),
    ("Camp Creator", PartnershipStatus.PROSPECT, None),
    ("Old Deals", PartnershipStatus.EXPIRED, None),
    ("No Thanks Media", PartnershipStatus.DECLINED, None),
    ("Former Friend", PartnershipStatus.DEACTIVATED, PartnershipStatus.PROSPECT),
)


@dataclass(frozen=True)
class DemoUser:
    user: User
    account: Account
    role_name: str


class _Quiet:
    async def notify(self, account_ids: Iterable[uuid.UUID]) -> None:
        return None


def _slug(name: str) -> str:
    return "".join(c for c in name.lower() if c.isalnum())


def _check(outcomes: list[platform.Outcome]) -> list[uuid.UUID]:
    for outcome in outcomes:
        if outcome.error is not None:
            raise RuntimeError(f"demo data {outcome.external_id}: {outcome.error.message}")
    return [o.id for o in outcomes if o.id is not None]


async def seed_demo() -> list[DemoUser]:
    """Create (or find) the demo accounts, users and partnerships through the platform
    API's services (keyed by `demo:` externalIds), and accept the messaging terms as each
    account's admin would. Messages are separate (services.demo_messages)."""
    account_items = [platform.AccountItem(f"demo:{_slug(n)}", AccountKind.BRAND, n) for n in BRANDS]
    account_items += [
        platform.AccountItem(f"demo:{_slug(n)}", AccountKind.PARTNER, n) for n, _, _ in PARTNERS
    ]
    await _adopt_earlier_demo(account_items)
    _check(await platform.upsert_accounts(account_items))
    user_items: list[tuple[platform.UserItem, str]] = []
    for brand in BRANDS:
        for role_name, local, person in ROLE_USERS:
            email = f"{local}@{_slug(brand)}.example"
            user_items.append(
                (
                    platform.UserItem(
                        f"demo:{email}", f"demo:{_slug(brand)}", email, person, role_name
                    ),
                    role_name,
                )
            )
    for name, _, _ in PARTNERS:
        email = f"owner@{_slug(name)}.example"
        user_items.append(
            (
                platform.UserItem(
                    f"demo:{email}", f"demo:{_slug(name)}", email, f"{name} Owner", "ACCOUNT_ADMIN"
                ),
                "ACCOUNT_ADMIN",
            )
        )
    await _adopt_earlier_demo([item for item, _ in user_items])
    user_ids = _check(await platform.upsert_users([item for item, _ in user_items]))
    partnership_items = [
        platform.PartnershipItem(f"demo:{_slug(brand)}", f"demo:{_slug(name)}", status)
        for name, first, second in PARTNERS
        for brand, status in ((BRANDS[0], first), (BRANDS[1], second))
        if status is not None
    ]
    _check(await platform.upsert_partnerships(partnership_items, notifier=_Quiet()))
    users = {u.id: u for u in await User.filter(id__in=user_ids).select_related("account")}
    demo = [
        DemoUser(users[uid], users[uid].account, role_name)
        for uid, (_, role_name) in zip(user_ids, user_items, strict=True)
    ]
    for member in demo:
        if member.role_name == "ACCOUNT_ADMIN" and not accounts.terms_accepted(member.account):
            viewer = await load_viewer_by_user(member.user.id)
            await accounts.accept_messaging_terms(viewer)
    return demo


async def _adopt_earlier_demo(
    items: Sequence[platform.AccountItem] | Sequence[platform.UserItem],
) -> None:
    """Give demo rows seeded before externalIds existed their externalId, so that seeding
    again finds them instead of clashing with them."""
    for item in items:
        if isinstance(item, platform.AccountItem):
            found = await Account.filter(name=item.name, kind=item.kind, external_id=None).first()
            if found is not None:
                await Account.filter(id=found.id).update(external_id=item.external_id)
        else:
            await User.filter(email=item.email, external_id=None).update(
                external_id=item.external_id
            )


def demo_emails() -> list[str]:
    """The e-mail addresses `seed_demo` creates, in its order."""
    emails = [f"{local}@{_slug(brand)}.example" for brand in BRANDS for _, local, _ in ROLE_USERS]
    return emails + [f"owner@{_slug(name)}.example" for name, _first, _second in PARTNERS]


async def seeded_demo_users() -> list[User]:
    """The demo users present in the database (none unless `seed --demo` ran), in seed order."""
    emails = demo_emails()
    found = {
        u.email: u for u in await User.filter(email__in=emails).prefetch_related("account", "role")
    }
    return [found[email] for email in emails if email in found]
