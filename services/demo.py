"""Demo data (`liaison seed --demo`): idempotent, keyed by e-mail address and account name."""

from __future__ import annotations

from dataclasses import dataclass

from models import Account, AccountKind, Partnership, PartnershipStatus, User
from services import accounts

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


def _slug(name: str) -> str:
    return "".join(c for c in name.lower() if c.isalnum())


async def _account(name: str, kind: AccountKind) -> Account:
    found = await Account.filter(name=name, kind=kind).first()
    account = found or await accounts.create_account(name, kind)
    if not accounts.terms_accepted(account):
        account.terms_version_accepted = accounts.CURRENT_TERMS_VERSION
        await account.save(update_fields=["terms_version_accepted"])
    return account


async def _user(account: Account, email: str, name: str, role_name: str) -> DemoUser:
    user = await User.filter(email=email).first()
    if user is None:
        user = await accounts.create_user(account, email, name, role_name)
    return DemoUser(user, account, role_name)


async def seed_demo() -> list[DemoUser]:
    """Create (or find) the demo accounts, users and partnerships. Messages are separate."""
    users: list[DemoUser] = []
    brands = [await _account(name, AccountKind.BRAND) for name in BRANDS]
    for brand in brands:
        for role_name, local, person in ROLE_USERS:
            email = f"{local}@{_slug(brand.name)}.example"
            users.append(await _user(brand, email, person, role_name))
    for name, first_status, second_status in PARTNERS:
        partner = await _account(name, AccountKind.PARTNER)
        users.append(
            await _user(partner, f"owner@{_slug(name)}.example", f"{name} Owner", "ACCOUNT_ADMIN")
        )
        for brand, status in ((brands[0], first_status), (brands[1], second_status)):
            if status is not None:
                await Partnership.get_or_create(
                    brand=brand, partner=partner, defaults={"status": status}
                )
    return users


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
