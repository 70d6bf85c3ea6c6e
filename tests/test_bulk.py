"""Templates and bulk sends through the public API, on SQLite and PostgreSQL (in-process jobs)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

from models import AccountKind, BulkSend, PartnershipStatus, User
from tests.factories import SEND, Api, make_account, make_pair, make_partnership, make_user

CREATE_TEMPLATE = """
mutation($input: CreateMessageTemplateInput!) {
  createMessageTemplate(input: $input) {
    template { id name body updatedAt createdBy { id } }
    errors { code field }
  }
}"""
UPDATE_TEMPLATE = """
mutation($input: UpdateMessageTemplateInput!) {
  updateMessageTemplate(input: $input) { template { id name body } errors { code } }
}"""
DELETE_TEMPLATE = """
mutation($input: DeleteMessageTemplateInput!) {
  deleteMessageTemplate(input: $input) { deletedTemplateId errors { code } }
}"""
TEMPLATES = "{ messageTemplates(first: 10) { totalCount edges { node { id name } } } }"
PREVIEW = "query($b: String!, $p: ID!) { previewMessageTemplate(body: $b, partnerId: $p) }"
SEND_BULK = """
mutation($input: SendBulkMessageInput!) {
  sendBulkMessage(input: $input) {
    bulkSend { id status total sent skipped failed }
    errors { code field }
  }
}"""
BULK = """
query($id: ID!) {
  bulkSend(id: $id) {
    id status total sent skipped failed finishedAt createdBy { id }
    recipients(first: 100) {
      totalCount
      edges { node { outcome reason partner { id name } message { id seq body } } }
    }
  }
}"""
MOVE = """
mutation($input: MoveConversationInput!) { moveConversation(input: $input) { errors { code } } }"""
SEARCH = "query($q: String!) { searchMessages(query: $q) { edges { node { body } } } }"
BULKS = "{ bulkSends(first: 10) { totalCount edges { node { id status } } } }"
INBOX = """
{ inbox(first: 10) { edges { node { id unreadCount lastMessage { body seq } } } } }"""


async def wait_done(api: Api, user: User, bulk_id: str, within: float = 60) -> dict[str, Any]:
    """The bulk send through the API once it has ended. The wait reads the database: the
    test suite executes each operation twice (compiled and graphql-core) and compares, which
    a bulk send still running would fail."""
    deadline = time.monotonic() + within
    while (await BulkSend.get(id=bulk_id)).status not in ("DONE", "CANCELLED"):
        assert time.monotonic() < deadline, "the bulk send did not end"
        await asyncio.sleep(0.05)
    return dict((await api.data(BULK, {"id": bulk_id}, user=user))["bulkSend"])


async def test_templates_crud_tokens_and_preview(api: Api) -> None:
    pair = await make_pair(partner_name="Ada {{brand.name}} Lovelace")
    user = pair.brand_user
    created = await api.data(
        CREATE_TEMPLATE,
        {"input": {"name": "Welcome", "body": "Hi {{partner.name}}, {{ brand.name }} here."}},
        user=user,
    )
    template = created["createMessageTemplate"]["template"]
    assert template["createdBy"]["id"] == str(user.id)
    bad = await api.data(
        CREATE_TEMPLATE, {"input": {"name": "x", "body": "Hi {{partner.email}}"}}, user=user
    )
    assert bad["createMessageTemplate"]["errors"] == [
        {"code": "INVALID_TEMPLATE", "field": ["body"]}
    ]
    updated = await api.data(
        UPDATE_TEMPLATE,
        {"input": {"id": template["id"], "body": "{{sender.name}} to {{partner.name}}"}},
        user=user,
    )
    assert updated["updateMessageTemplate"]["template"]["name"] == "Welcome"
    refused = await api.data(
        UPDATE_TEMPLATE, {"input": {"id": template["id"], "body": "{{nope}}"}}, user=user
    )
    assert refused["updateMessageTemplate"]["errors"] == [{"code": "INVALID_TEMPLATE"}]
    listed = await api.data(TEMPLATES, user=user)
    assert listed["messageTemplates"]["totalCount"] == 1
    # Tokens are plain text, substituted once: a name containing a token stays as written.
    preview = await api.data(
        PREVIEW,
        {"b": "Dear {{partner.name}} from {{brand.name}}", "p": str(pair.partner.id)},
        user=user,
    )
    assert preview["previewMessageTemplate"] == (
        f"Dear Ada {{{{brand.name}}}} Lovelace from {pair.brand.name}"
    )
    invalid = await api.gql(PREVIEW, {"b": "{{x}}", "p": str(pair.partner.id)}, user=user)
    assert invalid["errors"][0]["extensions"]["code"] == "INVALID_TEMPLATE"
    # Another brand sees neither the template nor the partner.
    other = await make_user(await make_account(AccountKind.BRAND))
    gone = await api.data(
        UPDATE_TEMPLATE, {"input": {"id": template["id"], "name": "x"}}, user=other
    )
    assert gone["updateMessageTemplate"]["errors"] == [{"code": "NOT_FOUND"}]
    hidden = await api.gql(PREVIEW, {"b": "hi", "p": str(pair.partner.id)}, user=other)
    assert hidden["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    deleted = await api.data(DELETE_TEMPLATE, {"input": {"id": template["id"]}}, user=user)
    assert deleted["deleteMessageTemplate"]["deletedTemplateId"] == template["id"]
    assert (await api.data(TEMPLATES, user=user))["messageTemplates"]["totalCount"] == 0
    partner = await api.gql(TEMPLATES, user=pair.partner_user)
    assert partner["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"


async def test_bulk_send_applies_single_send_rules_per_recipient(api: Api) -> None:
    brand = await make_account(AccountKind.BRAND, "Acme")
    sender = await make_user(brand)
    active = [await make_pair(brand=brand, partner_name=f"Active {n}") for n in range(3)]
    declined = await make_pair(PartnershipStatus.DECLINED, brand=brand, partner_name="Declined")
    prospect = await make_pair(PartnershipStatus.PROSPECT, brand=brand, partner_name="Prospect")
    # An existing conversation continues at the next seq, like a single send.
    first = await api.data(
        SEND,
        {"input": {"recipientAccountId": str(active[0].partner.id), "body": "before"}},
        user=sender,
    )
    assert first["sendMessage"]["errors"] == []
    # The partner has filed that conversation as DONE: a new message brings it back.
    moved = await api.data(
        MOVE,
        {"input": {"conversationId": first["sendMessage"]["conversation"]["id"], "folder": "DONE"}},
        user=active[0].partner_user,
    )
    assert moved["moveConversation"]["errors"] == []
    template = (
        await api.data(
            CREATE_TEMPLATE,
            {
                "input": {
                    "name": "t",
                    "body": "Hello {{partner.name}}, {{sender.name}} of {{brand.name}}",
                }
            },
            user=sender,
        )
    )["createMessageTemplate"]["template"]
    created = await api.data(
        SEND_BULK,
        {"input": {"partnerFilter": {}, "templateId": template["id"], "clientBulkId": "nl-1"}},
        user=sender,
    )
    bulk = created["sendBulkMessage"]["bulkSend"]
    assert created["sendBulkMessage"]["errors"] == [] and bulk["total"] == 5
    done = await wait_done(api, sender, bulk["id"])
    assert done["status"] == "DONE" and done["finishedAt"]
    assert (done["sent"], done["skipped"], done["failed"]) == (4, 1, 0)
    by_name = {e["node"]["partner"]["name"]: e["node"] for e in done["recipients"]["edges"]}
    assert by_name["Declined"]["outcome"] == "SKIPPED"
    assert by_name["Declined"]["reason"] == "PARTNERSHIP_INACTIVE"
    assert by_name["Declined"]["message"] is None
    assert by_name["Active 0"]["message"]["seq"] == 2
    assert by_name["Prospect"]["message"]["seq"] == 1
    assert by_name["Active 1"]["message"]["body"] == f"Hello Active 1, {sender.name} of Acme"
    # Each message is an ordinary one for its recipient: inbox, unread, last message.
    for pair in (*active, prospect):
        inbox = (await api.data(INBOX, user=pair.partner_user))["inbox"]["edges"]
        assert len(inbox) == 1
        node = inbox[0]["node"]
        assert node["lastMessage"]["body"].startswith(f"Hello {pair.partner.name},")
        assert node["unreadCount"] == (2 if pair is active[0] else 1)
    assert (await api.data(INBOX, user=declined.partner_user))["inbox"]["edges"] == []
    # ... and searchable, like any message.
    found = await api.data(SEARCH, {"q": "hello"}, user=active[1].partner_user)
    bodies = [e["node"]["body"] for e in found["searchMessages"]["edges"]]
    assert bodies == [f"Hello Active 1, {sender.name} of Acme"]
    # The same clientBulkId again is the same bulk send; with another body, a conflict.
    again = await api.data(
        SEND_BULK,
        {"input": {"partnerFilter": {}, "templateId": template["id"], "clientBulkId": "nl-1"}},
        user=sender,
    )
    assert again["sendBulkMessage"]["bulkSend"]["id"] == bulk["id"]
    conflict = await api.data(
        SEND_BULK,
        {"input": {"partnerFilter": {}, "body": "other", "clientBulkId": "nl-1"}},
        user=sender,
    )
    assert conflict["sendBulkMessage"]["errors"][0]["code"] == "IDEMPOTENCY_CONFLICT"
    listed = (await api.data(BULKS, user=sender))["bulkSends"]
    assert listed["totalCount"] == 1


async def test_bulk_recipients_are_fixed_at_creation_by_the_filter(api: Api) -> None:
    brand = await make_account(AccountKind.BRAND)
    sender = await make_user(brand, "ACCOUNT_ADMIN")
    await make_pair(brand=brand, partner_name="Zed Active")
    await make_pair(PartnershipStatus.PENDING, brand=brand, partner_name="Zed Pending")
    await make_pair(brand=brand, partner_name="Other")
    created = await api.data(
        SEND_BULK,
        {"input": {"partnerFilter": {"statuses": ["ACTIVE"], "search": "zed"}, "body": "Hi"}},
        user=sender,
    )
    bulk = created["sendBulkMessage"]["bulkSend"]
    assert bulk["total"] == 1
    # A partnership made afterwards is not a recipient.
    await make_partnership(brand, await make_account(AccountKind.PARTNER, "Zed Late"))
    done = await wait_done(api, sender, bulk["id"])
    names = [e["node"]["partner"]["name"] for e in done["recipients"]["edges"]]
    assert names == ["Zed Active"] and done["sent"] == 1


async def test_bulk_send_refusals(api: Api) -> None:
    pair = await make_pair()
    analyst = await make_user(pair.brand, "ANALYST")
    denied = await api.gql(SEND_BULK, {"input": {"partnerFilter": {}, "body": "x"}}, user=analyst)
    assert denied["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"
    partner = await api.data(
        SEND_BULK, {"input": {"partnerFilter": {}, "body": "x"}}, user=pair.partner_user
    )
    assert partner["sendBulkMessage"]["errors"][0]["code"] == "PERMISSION_DENIED"
    cases = [
        ({"body": "{{partner.id}}"}, "INVALID_TEMPLATE"),
        ({"body": "   "}, "INVALID_BODY"),
        ({"body": "x" * 10_001}, "INVALID_BODY"),
        ({"templateId": "00000000-0000-0000-0000-000000000000"}, "NOT_FOUND"),
        ({"body": "x", "clientBulkId": ""}, "INVALID_INPUT"),
    ]
    for extra, code in cases:
        answer = await api.data(
            SEND_BULK, {"input": {"partnerFilter": {}, **extra}}, user=pair.brand_user
        )
        assert answer["sendBulkMessage"]["errors"][0]["code"] == code, extra
    no_terms = await make_account(AccountKind.BRAND, terms=False)
    no_terms_user = await make_user(no_terms)
    refused = await api.data(
        SEND_BULK, {"input": {"partnerFilter": {}, "body": "x"}}, user=no_terms_user
    )
    assert refused["sendBulkMessage"]["errors"][0]["code"] == "TERMS_NOT_ACCEPTED"
    other = await make_user(await make_account(AccountKind.BRAND))
    created = await api.data(
        SEND_BULK, {"input": {"partnerFilter": {}, "body": "x"}}, user=pair.brand_user
    )
    bulk_id = created["sendBulkMessage"]["bulkSend"]["id"]
    assert (await api.data(BULK, {"id": bulk_id}, user=other))["bulkSend"] is None


SETTINGS = """
mutation($input: UpdateMessagingSettingsInput!) {
  updateMessagingSettings(input: $input) { errors { code } }
}
"""


async def test_bulk_send_applies_the_messaging_settings_per_recipient(api: Api) -> None:
    """SPEC §9 holds for a bulk send as for a single one: a prospect that does not accept
    prospect messages is skipped, and so is one the brand already wrote to up to its cap."""
    brand = await make_account(AccountKind.BRAND, "Settings Brand")
    sender = await make_user(brand)
    admin = await make_user(brand, "ACCOUNT_ADMIN")
    closed = await make_pair(PartnershipStatus.PROSPECT, brand=brand, partner_name="Closed")
    capped = await make_pair(PartnershipStatus.PROSPECT, brand=brand, partner_name="Capped")
    await make_pair(PartnershipStatus.PROSPECT, brand=brand, partner_name="Fresh")
    partner_admin = await make_user(closed.partner, "ACCOUNT_ADMIN")
    refused = await api.data(
        SETTINGS, {"input": {"acceptsProspectMessages": False}}, user=partner_admin
    )
    assert refused["updateMessagingSettings"]["errors"] == []
    cap = await api.data(SETTINGS, {"input": {"prospectMessagesBeforeReply": 1}}, user=admin)
    assert cap["updateMessagingSettings"]["errors"] == []
    first = await api.data(
        SEND,
        {"input": {"recipientAccountId": str(capped.partner.id), "body": "first contact"}},
        user=sender,
    )
    assert first["sendMessage"]["errors"] == []
    created = await api.data(
        SEND_BULK,
        {"input": {"partnerFilter": {}, "body": "News", "clientBulkId": "settings-1"}},
        user=sender,
    )
    bulk = created["sendBulkMessage"]["bulkSend"]
    assert created["sendBulkMessage"]["errors"] == [] and bulk["total"] == 3
    done = await wait_done(api, sender, bulk["id"])
    by_name = {e["node"]["partner"]["name"]: e["node"] for e in done["recipients"]["edges"]}
    assert (by_name["Closed"]["outcome"], by_name["Closed"]["reason"]) == (
        "SKIPPED",
        "RECIPIENT_NOT_ACCEPTING",
    )
    assert (by_name["Capped"]["outcome"], by_name["Capped"]["reason"]) == (
        "SKIPPED",
        "AWAITING_REPLY",
    )
    assert by_name["Fresh"]["outcome"] == "SENT"
