"""Messaging settings (SETTINGS_MANAGE) and the send rules they make, through the API."""

from __future__ import annotations

from typing import Any

from models import AccountKind, PartnershipStatus, User
from tests.factories import Api, make_account, make_pair, make_user, send

SETTINGS = "{ viewer { permissions account { messagingSettings { partnersMayStartConversations prospectMessagesBeforeReply acceptsProspectMessages } } } }"
UPDATE = """
mutation($input: UpdateMessagingSettingsInput!) {
  updateMessagingSettings(input: $input) {
    account { messagingSettings { partnersMayStartConversations prospectMessagesBeforeReply acceptsProspectMessages } }
    errors { code field }
  }
}
"""
INBOX = "{ inbox { totalCount } }"


async def update(api: Api, user: User, **values: Any) -> dict[str, Any]:
    payload: dict[str, Any] = (await api.data(UPDATE, {"input": values}, user=user))[
        "updateMessagingSettings"
    ]
    return payload


def code(payload: dict[str, Any]) -> str | None:
    errors = payload["errors"]
    return errors[0]["code"] if errors else None


async def test_defaults_and_partial_updates(api: Api) -> None:
    brand = await make_account(AccountKind.BRAND)
    admin = await make_user(brand, "ACCOUNT_ADMIN")
    viewer = (await api.data(SETTINGS, user=admin))["viewer"]
    assert "SETTINGS_MANAGE" in viewer["permissions"]
    assert viewer["account"]["messagingSettings"] == {
        "partnersMayStartConversations": True,
        "prospectMessagesBeforeReply": 2,
        "acceptsProspectMessages": True,
    }
    changed = await update(api, admin, prospectMessagesBeforeReply=5)
    assert changed["account"]["messagingSettings"]["prospectMessagesBeforeReply"] == 5
    changed = await update(api, admin, partnersMayStartConversations=False)
    assert changed["account"]["messagingSettings"] == {
        "partnersMayStartConversations": False,
        "prospectMessagesBeforeReply": 5,  # kept
        "acceptsProspectMessages": True,
    }


async def test_bad_settings_are_typed_errors(api: Api) -> None:
    pair = await make_pair()
    brand_admin = await make_user(pair.brand, "ACCOUNT_ADMIN")
    partner_admin = await make_user(pair.partner, "ACCOUNT_ADMIN")
    for value in (11, -1):
        result = await update(api, brand_admin, prospectMessagesBeforeReply=value)
        assert result == {
            "account": None,
            "errors": [{"code": "INVALID_INPUT", "field": ["prospectMessagesBeforeReply"]}],
        }
    wrong_kind = await update(api, partner_admin, partnersMayStartConversations=False)
    assert wrong_kind["errors"] == [
        {"code": "INVALID_INPUT", "field": ["partnersMayStartConversations"]}
    ]
    wrong_kind = await update(api, brand_admin, acceptsProspectMessages=False)
    assert code(wrong_kind) == "INVALID_INPUT"
    # Without SETTINGS_MANAGE: a top-level PERMISSION_DENIED, nothing changed.
    body = await api.gql(
        UPDATE, {"input": {"prospectMessagesBeforeReply": 0}}, user=pair.brand_user
    )
    assert body["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"
    settings = (await api.data(SETTINGS, user=brand_admin))["viewer"]["account"]
    assert settings["messagingSettings"]["prospectMessagesBeforeReply"] == 2


async def test_settings_of_other_accounts_are_null(api: Api) -> None:
    pair = await make_pair()
    analyst = await make_user(pair.brand, "ANALYST")
    data = await api.data(
        "{ partners { edges { node { partner { messagingSettings { acceptsProspectMessages } } brand { messagingSettings { prospectMessagesBeforeReply } } } } } }",
        user=analyst,
    )
    node = data["partners"]["edges"][0]["node"]
    assert node["partner"]["messagingSettings"] is None
    assert node["brand"]["messagingSettings"] == {"prospectMessagesBeforeReply": 2}


async def test_partners_may_not_start_conversations_when_the_brand_says_so(api: Api) -> None:
    pair = await make_pair(PartnershipStatus.ACTIVE)
    pending = await make_pair(PartnershipStatus.PENDING, brand=pair.brand)
    admin = await make_user(pair.brand, "ACCOUNT_ADMIN")
    assert code(await update(api, admin, partnersMayStartConversations=False)) is None
    for partner_user, brand in (
        (pair.partner_user, pair.brand),
        (pending.partner_user, pair.brand),
    ):
        refused = await send(api, partner_user, brand, "Hello brand")
        assert refused["message"] is None
        assert refused["errors"][0]["code"] == "CONVERSATION_NOT_ALLOWED"
        assert (await api.data(INBOX, user=partner_user))["inbox"]["totalCount"] == 0
    # Replies in a conversation the brand started stay allowed.
    assert (await send(api, pair.brand_user, pair.partner, "Hi partner"))["errors"] == []
    assert (await send(api, pair.partner_user, pair.brand, "Hi back"))["errors"] == []


async def test_prospects_that_do_not_accept_messages(api: Api) -> None:
    pair = await make_pair(PartnershipStatus.PROSPECT)
    partner_admin = await make_user(pair.partner, "ACCOUNT_ADMIN")
    assert code(await update(api, partner_admin, acceptsProspectMessages=False)) is None
    refused = await send(api, pair.brand_user, pair.partner, "Join us?")
    assert refused["errors"][0]["code"] == "RECIPIENT_NOT_ACCEPTING"
    assert (await api.data(INBOX, user=pair.brand_user))["inbox"]["totalCount"] == 0
    # Variant: a brand it works with (ACTIVE) still reaches it.
    active = await make_pair(PartnershipStatus.ACTIVE)
    await _link(active.brand, pair.partner)
    assert (await send(api, active.brand_user, pair.partner, "Hello"))["errors"] == []


async def _link(brand: Any, partner: Any) -> None:
    from tests.factories import make_partnership

    await make_partnership(brand, partner, PartnershipStatus.ACTIVE)


async def test_brands_await_a_prospects_reply_after_the_cap(api: Api) -> None:
    pair = await make_pair(PartnershipStatus.PROSPECT)
    for n in range(2):  # the default cap
        assert (await send(api, pair.brand_user, pair.partner, f"Message {n}"))["errors"] == []
    refused = await send(api, pair.brand_user, pair.partner, "One more")
    assert refused["message"] is None and refused["errors"][0]["code"] == "AWAITING_REPLY"
    # Another user of the same brand counts against the same cap.
    colleague = await make_user(pair.brand)
    assert (await send(api, colleague, pair.partner, "Me too"))["errors"][0]["code"] == (
        "AWAITING_REPLY"
    )
    assert (await send(api, pair.partner_user, pair.brand, "Tell me more"))["errors"] == []
    assert (await send(api, pair.brand_user, pair.partner, "Gladly"))["errors"] == []


async def test_a_cap_of_zero_means_no_cold_messages(api: Api) -> None:
    pair = await make_pair(PartnershipStatus.PROSPECT)
    admin = await make_user(pair.brand, "ACCOUNT_ADMIN")
    assert code(await update(api, admin, prospectMessagesBeforeReply=0)) is None
    refused = await send(api, pair.brand_user, pair.partner, "Hi")
    assert refused["errors"][0]["code"] == "AWAITING_REPLY"
    # Not a prospect: the cap does not apply.
    active = await make_pair(PartnershipStatus.ACTIVE, brand=pair.brand)
    assert (await send(api, pair.brand_user, active.partner, "Hi"))["errors"] == []
