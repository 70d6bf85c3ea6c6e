from models import PartnershipStatus
from tests.factories import Api, make_pair, send


async def test_brand_sends_and_partner_sees_unread(api: Api) -> None:
    pair = await make_pair(PartnershipStatus.ACTIVE)
    sent = await send(api, pair.brand_user, pair.partner, "Hello partner")
    assert sent["errors"] == []
    assert sent["message"]["seq"] == 1
    inbox = await api.data(
        "{ inbox { totalCount edges { node { unreadCount counterpart { id } lastMessage { body } } } } }",
        user=pair.partner_user,
    )
    node = inbox["inbox"]["edges"][0]["node"]
    assert inbox["inbox"]["totalCount"] == 1
    assert node["unreadCount"] == 1
    assert node["counterpart"]["id"] == str(pair.brand.id)
    assert node["lastMessage"]["body"] == "Hello partner"
