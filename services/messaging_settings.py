"""Messaging settings of an account (SPEC §9) and the send rules they make.

Brands: `partners_may_start_conversations` (default true) and
`prospect_messages_before_reply` (0–10, default 2: how many messages a brand may send a
`PROSPECT` partner that has not replied). Partners: `accepts_prospect_messages` (default
true). Changing them needs SETTINGS_MANAGE; a field of the other kind of account is
INVALID_INPUT. The rules are checked by the send path under the partnership's lock.
"""

from __future__ import annotations

from dataclasses import dataclass

from tortoise.backends.base.client import BaseDBAsyncClient

from models import (
    Account,
    AccountKind,
    Conversation,
    Message,
    Partnership,
    PartnershipStatus,
    Permission,
)
from services.auth import Viewer
from services.errors import ErrorCode, InvalidInput, PermissionDenied

MAX_PROSPECT_MESSAGES = 10
BRAND_FIELDS = ("partners_may_start_conversations", "prospect_messages_before_reply")
PARTNER_FIELDS = ("accepts_prospect_messages",)
_PUBLIC = {
    "partners_may_start_conversations": "partnersMayStartConversations",
    "prospect_messages_before_reply": "prospectMessagesBeforeReply",
    "accepts_prospect_messages": "acceptsProspectMessages",
}


@dataclass(frozen=True, slots=True)
class SettingsChange:
    """A partial update: None keeps the stored value."""

    partners_may_start_conversations: bool | None = None
    prospect_messages_before_reply: int | None = None
    accepts_prospect_messages: bool | None = None


async def update_settings(viewer: Viewer, change: SettingsChange) -> Account:
    """Change the viewer's account's settings. Needs SETTINGS_MANAGE."""
    if not viewer.can(Permission.SETTINGS_MANAGE):
        raise PermissionDenied("This needs the SETTINGS_MANAGE permission.")
    wanted = {k: v for k, v in vars_of(change).items() if v is not None}
    other_kind = PARTNER_FIELDS if viewer.account_kind is AccountKind.BRAND else BRAND_FIELDS
    for name in wanted:
        if name in other_kind:
            raise InvalidInput(
                ErrorCode.INVALID_INPUT,
                f"{_PUBLIC[name]} is not a setting of {viewer.account_kind.value} accounts.",
                (_PUBLIC[name],),
            )
    count = wanted.get("prospect_messages_before_reply")
    if isinstance(count, int) and not 0 <= count <= MAX_PROSPECT_MESSAGES:
        raise InvalidInput(
            ErrorCode.INVALID_INPUT,
            f"prospectMessagesBeforeReply is between 0 and {MAX_PROSPECT_MESSAGES}.",
            ("prospectMessagesBeforeReply",),
        )
    if wanted:
        await Account.filter(id=viewer.account_id).update(**wanted)
    return await Account.get(id=viewer.account_id)


def vars_of(change: SettingsChange) -> dict[str, object]:
    return {name: getattr(change, name) for name in _PUBLIC}


async def check_messaging_settings(
    conn: BaseDBAsyncClient,
    side: AccountKind,
    partnership: Partnership,
    conversation: Conversation | None,
) -> None:
    """SPEC §9, for a message `side` is about to send in `partnership`:

    - a partner's first message (no conversation yet) to a brand that does not let partners
      start conversations: CONVERSATION_NOT_ALLOWED;
    - a brand writing to a PROSPECT that has not replied: RECIPIENT_NOT_ACCEPTING if the
      partner does not accept prospect messages, AWAITING_REPLY once the brand has sent
      `prospect_messages_before_reply` messages. Once the partner has replied, neither
      applies.
    """
    brand_id = partnership.brand_id  # type: ignore[attr-defined]
    partner_id = partnership.partner_id  # type: ignore[attr-defined]
    if side is AccountKind.PARTNER:
        if conversation is None:
            brand = await _account(conn, brand_id)
            if not brand.partners_may_start_conversations:
                raise InvalidInput(
                    ErrorCode.CONVERSATION_NOT_ALLOWED,
                    "This brand does not let partners start conversations; it may write first.",
                    ("recipientAccountId",),
                )
        return
    if partnership.status is not PartnershipStatus.PROSPECT:
        return
    sent = 0
    if conversation is not None:
        messages = Message.filter(conversation_id=conversation.id).using_db(conn)
        if await messages.filter(sender_account_id=partner_id).exists():
            return
        sent = await messages.filter(sender_account_id=brand_id).count()
    partner = await _account(conn, partner_id)
    if not partner.accepts_prospect_messages:
        raise InvalidInput(
            ErrorCode.RECIPIENT_NOT_ACCEPTING,
            "This partner does not accept messages from brands it is not working with.",
            ("recipientAccountId",),
        )
    brand = await _account(conn, brand_id)
    if sent >= brand.prospect_messages_before_reply:
        raise InvalidInput(
            ErrorCode.AWAITING_REPLY,
            f"{sent} message(s) sent to this prospect without a reply: wait for one.",
            ("recipientAccountId",),
        )


async def _account(conn: BaseDBAsyncClient, account_id: object) -> Account:
    return await Account.get(id=account_id, using_db=conn)
