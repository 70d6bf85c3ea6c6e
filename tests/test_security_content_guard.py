"""Permissions guard content, not entry points: MESSAGING on every path (docs/security.md)."""

from __future__ import annotations

from graphql import GraphQLObjectType, get_named_type

from gql.content_guard import content_edges, content_types
from gql.schema import build_schema
from gql.settings import Settings
from models import PartnershipStatus
from tests.factories import Api, make_pair, make_user, send

THROUGH_PARTNERS = """{ partners { edges { node { status conversation {
  lastMessage { body sender { name } attachments { filename } } } } } } }"""

THROUGH_PARTNERS_READ_STATE = """{ partners { edges { node { partner { name }
  conversation { unreadCount lastReadSeq } } } } }"""


async def test_analyst_reads_no_message_through_partners(api: Api) -> None:
    pair = await make_pair(PartnershipStatus.ACTIVE)
    await send(api, pair.partner_user, pair.brand, "confidential terms")
    analyst = await make_user(pair.brand, "ANALYST")
    body = await api.gql(THROUGH_PARTNERS, user=analyst)
    assert "confidential terms" not in str(body)
    [edge] = body["data"]["partners"]["edges"]
    assert edge["node"] == {"status": "ACTIVE", "conversation": None}
    [error] = body["errors"]
    assert error["extensions"]["code"] == "PERMISSION_DENIED"
    assert error["path"] == ["partners", "edges", 0, "node", "conversation"]


async def test_custom_role_without_messaging_reads_no_read_state_or_messages(api: Api) -> None:
    pair = await make_pair(PartnershipStatus.ACTIVE)
    await send(api, pair.partner_user, pair.brand, "another secret")
    admin = await make_user(pair.brand, "ACCOUNT_ADMIN")
    created = await api.data(
        'mutation { createRole(input: {name: "Partner desk", permissions: [PARTNERS_VIEW]}) '
        "{ role { id } } }",
        user=admin,
    )
    viewer = await make_user(pair.brand, "ANALYST")
    await api.data(
        "mutation($u: ID!, $r: ID!) { assignRole(input: {userId: $u, roleId: $r}) { user { id } } }",
        {"u": str(viewer.id), "r": created["createRole"]["role"]["id"]},
        user=admin,
    )
    body = await api.gql(THROUGH_PARTNERS_READ_STATE, user=viewer)
    node = body["data"]["partners"]["edges"][0]["node"]
    assert node["partner"]["name"] == pair.partner.name  # what PARTNERS_VIEW allows still shows
    assert node["conversation"] is None
    assert body["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"


async def test_messaging_users_still_read_content_through_partners(api: Api) -> None:
    pair = await make_pair(PartnershipStatus.ACTIVE)
    await send(api, pair.partner_user, pair.brand, "visible")
    admin = await make_user(pair.brand, "ACCOUNT_ADMIN")
    data = await api.data(THROUGH_PARTNERS, user=admin)
    conversation = data["partners"]["edges"][0]["node"]["conversation"]
    assert conversation["lastMessage"]["body"] == "visible"


def test_every_path_into_content_is_a_guarded_edge() -> None:
    """Generated from the schema: each field that leads into content from outside it."""
    schema = build_schema(Settings(database_url="sqlite://:memory:"))._schema
    edges = content_edges(schema)
    for expected in [
        ("Partnership", "conversation"),
        ("MessageCreated", "message"),
        ("AttachmentScanned", "attachment"),
        ("SendMessagePayload", "message"),
        ("Query", "inbox"),
        ("Subscription", "inboxEvents"),
    ]:
        assert expected in edges
    # Whatever reaches content from a non-content type is one of these edges.
    inside = content_types(schema)
    for name, type_ in schema.type_map.items():
        if name in inside or name.startswith("__") or not isinstance(type_, GraphQLObjectType):
            continue
        for field_name, field in type_.fields.items():
            if get_named_type(field.type).name in inside:
                assert (name, field_name) in edges
