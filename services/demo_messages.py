"""Demo conversations, sent through the real send path with fixed clientMessageIds so that
seeding twice stores nothing new."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence

from models import Account, AccountKind
from services.auth import load_viewer_by_user
from services.blobs import BlobStore
from services.demo import DemoUser
from services.sending import SendRequest, send_message

SCRIPT = (
    ("Trail Blog", "brand", "Hi! Loved your autumn gear roundup. Want to review our new tent?"),
    ("Trail Blog", "partner", "Absolutely, send the details over."),
    ("Trail Blog", "brand", "Great, the media kit is on its way."),
    ("Peak Reviews", "brand", "Thanks for applying. We'll confirm your proposal this week."),
    ("Peak Reviews", "partner", "Sounds good, looking forward to it."),
    ("Camp Creator", "brand", "Hello! We think your audience would love our camp stoves."),
)


class _Quiet:
    async def notify(self, account_ids: Iterable[uuid.UUID]) -> None:
        return None

    async def enqueue(self, attachment_ids: Sequence[uuid.UUID]) -> None:
        return None


async def seed_demo_messages(users: list[DemoUser], blobs: BlobStore) -> None:
    brand_cm = next(u for u in users if u.role_name == "COMMUNITY_MANAGER")
    by_account = {u.account.name: u for u in users if u.account.kind is AccountKind.PARTNER}
    quiet = _Quiet()
    for index, (partner_name, side, body) in enumerate(SCRIPT):
        partner = by_account[partner_name]
        sender, recipient = (
            (brand_cm, partner.account) if side == "brand" else (partner, brand_cm.account)
        )
        viewer = await load_viewer_by_user(sender.user.id)
        await send_message(
            viewer,
            SendRequest(str(recipient.id), body, f"demo-{index}"),
            blobs=blobs,
            notifier=quiet,
            scans=quiet,
        )


__all__ = ["Account", "seed_demo_messages"]
