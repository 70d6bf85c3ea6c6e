"""sendMessage rules (SPEC §1–§2) through HTTP, on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid

import pytest

from models import AccountKind, PartnershipStatus
from tests.factories import Api, make_account, make_pair, make_user, send

S = PartnershipStatus
MESSAGES = "query($id: ID!) { conversation(id: $id) { messages(first: 100) { totalCount edges { node { seq body } } } } }"


async def _messages(api: Api, user: object, conversation_id: str) -> list[dict[str, object]]:
    data = await api.data(MESSAGES, {"id": conversation_id}, user=user)  # type: ignore[arg-type]
    return [e["node"] for e in data["conversation"]["messages"]["edges"]]


async def _inbox_count(api: Api, user: object) -> int:
    data = await api.data("{ inbox(filter: {archived: false}) { totalCount } }", user=user)  # type: ignore[arg-type]
    return int(data["inbox"]["totalCount"])


@pytest.mark.parametrize("status", [S.PROSPECT, S.PENDING, S.ACTIVE])
async def test_brand_may_send(api: Api, status: PartnershipStatus) -> None:
    pair = await make_pair(status)
    result = await send(api, pair.brand_user, pair.partner, "hi")
    assert result["errors"] == []
    assert result["message"]["seq"] == 1
    assert result["message"]["senderAccount"]["id"] == str(pair.brand.id)


@pytest.mark.parametrize("status", [S.EXPIRED, S.DECLINED, S.DEACTIVATED])
async def test_brand_may_not_send_in_closed_statuses(api: Api, status: PartnershipStatus) -> None:
    pair = await make_pair(status)
    result = await send(api, pair.brand_user, pair.partner, "hi")
    assert [e["code"] for e in result["errors"]] == ["PARTNERSHIP_INACTIVE"]
    assert result["message"] is None
    assert await _inbox_count(api, pair.brand_user) == 0


@pytest.mark.parametrize("status", [S.PENDING, S.ACTIVE])
async def test_partner_may_send(api: Api, status: PartnershipStatus) -> None:
    pair = await make_pair(status)
    result = await send(api, pair.partner_user, pair.brand, "hello brand")
    assert result["errors"] == []


@pytest.mark.parametrize("status", [S.PROSPECT, S.EXPIRED, S.DECLINED, S.DEACTIVATED])
async def test_partner_may_not_start_outside_pending_active(
    api: Api, status: PartnershipStatus
) -> None:
    pair = await make_pair(status)
    result = await send(api, pair.partner_user, pair.brand, "hello brand")
    assert [e["code"] for e in result["errors"]] == ["PARTNERSHIP_INACTIVE"]
    assert await _inbox_count(api, pair.partner_user) == 0


async def test_prospect_may_reply_to_a_conversation_the_brand_started(api: Api) -> None:
    pair = await make_pair(S.PROSPECT)
    await send(api, pair.brand_user, pair.partner, "we found you")
    reply = await send(api, pair.partner_user, pair.brand, "thanks!")
    assert reply["errors"] == []
    assert reply["message"]["seq"] == 2


async def test_closed_partnership_keeps_history_readable_but_refuses_replies(api: Api) -> None:
    pair = await make_pair(S.ACTIVE)
    first = await send(api, pair.brand_user, pair.partner, "before expiry")
    pair.partnership.status = S.EXPIRED
    await pair.partnership.save()
    reply = await send(api, pair.partner_user, pair.brand, "too late")
    assert [e["code"] for e in reply["errors"]] == ["PARTNERSHIP_INACTIVE"]
    history = await _messages(api, pair.partner_user, first["conversation"]["id"])
    assert [m["body"] for m in history] == ["before expiry"]


async def test_terms_must_be_accepted_before_sending(api: Api) -> None:
    brand = await make_account(AccountKind.BRAND, terms=False)
    pair = await make_pair(S.ACTIVE, brand=brand)
    refused = await send(api, pair.brand_user, pair.partner, "hi")
    assert [e["code"] for e in refused["errors"]] == ["TERMS_NOT_ACCEPTED"]
    assert await _inbox_count(api, pair.brand_user) == 0
    viewer = await api.data(
        "{ viewer { account { messagingTermsAccepted } } }", user=pair.brand_user
    )
    assert viewer["viewer"]["account"]["messagingTermsAccepted"] is False
    accepted = await api.data(
        "mutation { acceptMessagingTerms { account { messagingTermsAccepted } errors { code } } }",
        user=pair.brand_user,
    )
    assert accepted["acceptMessagingTerms"] == {
        "account": {"messagingTermsAccepted": True},
        "errors": [],
    }
    assert (await send(api, pair.brand_user, pair.partner, "hi"))["errors"] == []


async def test_analyst_cannot_accept_terms(api: Api) -> None:
    brand = await make_account(AccountKind.BRAND, terms=False)
    analyst = await make_user(brand, "ANALYST")
    data = await api.data(
        "mutation { acceptMessagingTerms { account { id } errors { code } } }", user=analyst
    )
    assert data["acceptMessagingTerms"] == {
        "account": None,
        "errors": [{"code": "PERMISSION_DENIED"}],
    }


@pytest.mark.parametrize("body", ["", "   \n\t ", None, "x" * 10_001, "nul\x00byte"])
async def test_invalid_bodies_store_nothing(api: Api, body: str | None) -> None:
    pair = await make_pair(S.ACTIVE)
    result = await send(api, pair.brand_user, pair.partner, body)
    assert [e["code"] for e in result["errors"]] == ["INVALID_BODY"]
    assert result["errors"][0]["field"] == ["body"]
    assert await _inbox_count(api, pair.brand_user) == 0


async def test_body_is_trimmed_and_ten_thousand_characters_allowed(api: Api) -> None:
    pair = await make_pair(S.ACTIVE)
    result = await send(api, pair.brand_user, pair.partner, "  " + "y" * 10_000 + "\n")
    assert result["errors"] == []
    assert result["message"]["body"] == "y" * 10_000


@pytest.mark.parametrize("recipient", ["not-a-uuid", str(uuid.uuid4()), ""])
async def test_unknown_recipient_is_not_found(api: Api, recipient: str) -> None:
    pair = await make_pair(S.ACTIVE)
    data = await api.data(
        "mutation($i: SendMessageInput!) { sendMessage(input: $i) { message { id } errors { code field } } }",
        {"i": {"recipientAccountId": recipient, "body": "hi"}},
        user=pair.brand_user,
    )
    assert data["sendMessage"]["errors"] == [{"code": "NOT_FOUND", "field": ["recipientAccountId"]}]


async def test_another_brands_partner_is_not_found(api: Api) -> None:
    mine = await make_pair(S.ACTIVE)
    theirs = await make_pair(S.ACTIVE)
    result = await send(api, mine.brand_user, theirs.partner, "poach")
    assert [e["code"] for e in result["errors"]] == ["NOT_FOUND"]
    # A brand is not a partner: messaging another brand is refused the same way.
    result = await send(api, mine.brand_user, theirs.brand, "hi")
    assert [e["code"] for e in result["errors"]] == ["NOT_FOUND"]


async def test_seq_is_gap_free_across_both_sides(api: Api) -> None:
    pair = await make_pair(S.ACTIVE)
    seqs = []
    for i in range(6):
        sender, recipient = (
            (pair.brand_user, pair.partner) if i % 2 == 0 else (pair.partner_user, pair.brand)
        )
        seqs.append((await send(api, sender, recipient, f"m{i}"))["message"]["seq"])
    assert seqs == [1, 2, 3, 4, 5, 6]


async def test_same_client_message_id_returns_the_first_message(api: Api) -> None:
    pair = await make_pair(S.ACTIVE)
    first = await send(api, pair.brand_user, pair.partner, "once", clientMessageId="c-1")
    again = await send(api, pair.brand_user, pair.partner, "once", clientMessageId="c-1")
    assert again["errors"] == []
    assert again["message"]["id"] == first["message"]["id"]
    assert again["message"]["clientMessageId"] == "c-1"
    assert [
        m["body"] for m in await _messages(api, pair.brand_user, first["conversation"]["id"])
    ] == ["once"]


async def test_client_message_id_is_per_sending_user(api: Api) -> None:
    pair = await make_pair(S.ACTIVE)
    colleague = await make_user(pair.brand)
    a = await send(api, pair.brand_user, pair.partner, "same", clientMessageId="shared")
    b = await send(api, colleague, pair.partner, "same", clientMessageId="shared")
    assert a["message"]["id"] != b["message"]["id"]


async def test_reused_client_message_id_with_other_content_conflicts(api: Api) -> None:
    pair = await make_pair(S.ACTIVE)
    other = await make_pair(S.ACTIVE, brand=pair.brand)
    first = await send(api, pair.brand_user, pair.partner, "original", clientMessageId="dup")
    changed_body = await send(api, pair.brand_user, pair.partner, "edited", clientMessageId="dup")
    assert [e["code"] for e in changed_body["errors"]] == ["IDEMPOTENCY_CONFLICT"]
    changed_recipient = await send(
        api, pair.brand_user, other.partner, "original", clientMessageId="dup"
    )
    assert [e["code"] for e in changed_recipient["errors"]] == ["IDEMPOTENCY_CONFLICT"]
    assert len(await _messages(api, pair.brand_user, first["conversation"]["id"])) == 1
    assert await _inbox_count(api, other.partner_user) == 0


async def test_client_message_id_longer_than_255_is_refused(api: Api) -> None:
    pair = await make_pair(S.ACTIVE)
    result = await send(api, pair.brand_user, pair.partner, "hi", clientMessageId="k" * 256)
    assert [e["code"] for e in result["errors"]] == ["INVALID_INPUT"]
    assert (await send(api, pair.brand_user, pair.partner, "hi", clientMessageId="k" * 255))[
        "errors"
    ] == []
