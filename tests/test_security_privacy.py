"""Privacy: a user of another account shows only `id` and `name` (docs/security.md)."""

from __future__ import annotations

from models import PartnershipStatus
from tests.factories import Api, make_pair, send

MESSAGES = """query($id: ID!) { conversation(id: $id) { messages(first: 10) { edges { node {
  sender { id name email role { id name permissions } } } } } } }"""

INBOX_LAST_SENDER = """{ inbox { edges { node { lastMessage { sender {
  id name email role { name } } } } } } }"""


async def test_another_accounts_sender_shows_only_id_and_name(api: Api) -> None:
    pair = await make_pair(PartnershipStatus.ACTIVE)
    sent = await send(api, pair.brand_user, pair.partner, "hello partner")
    conversation_id = sent["conversation"]["id"]
    seen_by_partner = await api.data(MESSAGES, {"id": conversation_id}, user=pair.partner_user)
    [edge] = seen_by_partner["conversation"]["messages"]["edges"]
    assert edge["node"]["sender"] == {
        "id": str(pair.brand_user.id),
        "name": pair.brand_user.name,
        "email": None,
        "role": None,
    }
    # The sender's own account still sees everything.
    seen_by_brand = await api.data(MESSAGES, {"id": conversation_id}, user=pair.brand_user)
    sender = seen_by_brand["conversation"]["messages"]["edges"][0]["node"]["sender"]
    assert sender["email"] == pair.brand_user.email
    assert sender["role"]["name"] == "COMMUNITY_MANAGER"


async def test_another_accounts_sender_is_private_through_last_message_too(api: Api) -> None:
    pair = await make_pair(PartnershipStatus.ACTIVE)
    await send(api, pair.partner_user, pair.brand, "hello brand")
    inbox = await api.data(INBOX_LAST_SENDER, user=pair.brand_user)
    [edge] = inbox["inbox"]["edges"]
    sender = edge["node"]["lastMessage"]["sender"]
    assert sender["email"] is None and sender["role"] is None
    assert sender["name"] == pair.partner_user.name


SEARCH_SENDERS = """query($q: String!) { searchMessages(query: $q) { edges { node {
  sender { id name email role { name } } } } } }"""


async def test_another_accounts_sender_is_private_in_search_hits(api: Api) -> None:
    pair = await make_pair(PartnershipStatus.ACTIVE)
    await send(api, pair.brand_user, pair.partner, "quarterly zebracorn figures")
    found = await api.data(SEARCH_SENDERS, {"q": "zebracorn"}, user=pair.partner_user)
    [edge] = found["searchMessages"]["edges"]
    assert edge["node"]["sender"]["email"] is None and edge["node"]["sender"]["role"] is None
    own = await api.data(SEARCH_SENDERS, {"q": "zebracorn"}, user=pair.brand_user)
    assert own["searchMessages"]["edges"][0]["node"]["sender"]["email"] == pair.brand_user.email
