"""Inbox, conversation pages, read positions, archive, partners: through HTTP on both databases."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from models import AccountKind, PartnershipStatus
from tests.factories import Api, make_account, make_pair, send

S = PartnershipStatus
INBOX = """query($f: InboxFilter, $first: Int, $after: String) {
  inbox(filter: $f, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { cursor node { id unreadCount archived lastMessageAt counterpart { id name } partnership { status }
      lastMessage { body seq sender { id } senderAccount { id } attachments { id } } } }
  }
}"""


async def _inbox(api: Api, user: object, **variables: object) -> dict[str, object]:
    data = await api.data(INBOX, variables, user=user)  # type: ignore[arg-type]
    return data["inbox"]  # type: ignore[no-any-return]


def _names(inbox: dict[str, object]) -> list[str]:
    return [e["node"]["counterpart"]["name"] for e in inbox["edges"]]  # type: ignore[attr-defined, index]


async def _brand_with_partners(
    api: Api, statuses: list[PartnershipStatus], names: list[str] | None = None
):  # type: ignore[no-untyped-def]
    brand = await make_account(AccountKind.BRAND)
    pairs = []
    for i, status in enumerate(statuses):
        name = names[i] if names else None
        pair = await make_pair(status, brand=brand, partner_name=name)
        pairs.append(pair)
    return brand, pairs


async def test_inbox_is_newest_activity_first_with_keyset_pages(api: Api) -> None:
    brand, pairs = await _brand_with_partners(
        api, [S.ACTIVE] * 5, [f"P{i} {brand_id}" for i, brand_id in enumerate("abcde")]
    )
    user = pairs[0].brand_user
    for pair in pairs:
        await send(api, user, pair.partner, f"to {pair.partner.name}")
    await send(api, pairs[0].partner_user, brand, "bump")  # P0 becomes the newest
    page1 = await _inbox(api, user, first=2)
    assert page1["totalCount"] == 5
    assert _names(page1) == ["P0 a", "P4 e"]
    assert page1["pageInfo"]["hasNextPage"] is True  # type: ignore[index]
    page2 = await _inbox(api, user, first=2, after=page1["pageInfo"]["endCursor"])  # type: ignore[index]
    page3 = await _inbox(api, user, first=2, after=page2["pageInfo"]["endCursor"])  # type: ignore[index]
    assert _names(page2) == ["P3 d", "P2 c"]
    assert _names(page3) == ["P1 b"]
    assert page3["pageInfo"]["hasNextPage"] is False  # type: ignore[index]


async def test_inbox_filters_by_status_search_unread_and_archive(api: Api) -> None:
    brand, pairs = await _brand_with_partners(
        api, [S.ACTIVE, S.PENDING, S.PROSPECT], ["Éclair Média", "Zeta Blog", "Camp ÉCLAIR"]
    )
    user = pairs[0].brand_user
    for pair in pairs:
        await send(api, user, pair.partner, "hello")
    await send(api, pairs[1].partner_user, brand, "reply")  # Zeta now unread for the brand
    active = await _inbox(api, user, f={"partnershipStatuses": ["ACTIVE", "PENDING"]})
    assert sorted(_names(active)) == ["Zeta Blog", "Éclair Média"]
    found = await _inbox(api, user, f={"search": "éclair"})
    assert sorted(_names(found)) == ["Camp ÉCLAIR", "Éclair Média"]
    assert _names(await _inbox(api, user, f={"search": "  ZETA "})) == ["Zeta Blog"]
    assert _names(await _inbox(api, user, f={"search": "%"})) == []
    unread = await _inbox(api, user, f={"unreadOnly": True})
    assert _names(unread) == ["Zeta Blog"]
    assert unread["edges"][0]["node"]["unreadCount"] == 1  # type: ignore[index]

    conversation_id = unread["edges"][0]["node"]["id"]  # type: ignore[index]
    archived = await api.data(
        "mutation($i: SetConversationArchivedInput!) { setConversationArchived(input: $i) { conversation { archived } errors { code } } }",
        {"i": {"conversationId": conversation_id, "archived": True}},
        user=user,
    )
    assert archived["setConversationArchived"] == {"conversation": {"archived": True}, "errors": []}
    assert "Zeta Blog" not in _names(await _inbox(api, user))
    assert _names(await _inbox(api, user, f={"archived": True})) == ["Zeta Blog"]
    # The partner's side is independent, and a new message brings it back to the inbox.
    assert _names(await _inbox(api, pairs[1].partner_user)) == [brand.name]
    await send(api, pairs[1].partner_user, brand, "are you there?")
    assert "Zeta Blog" in _names(await _inbox(api, user))


async def test_mark_read_moves_forward_only_and_per_side(api: Api) -> None:
    pair = await make_pair(S.ACTIVE)
    for i in range(3):
        sent = await send(api, pair.brand_user, pair.partner, f"m{i}")
    conversation_id = sent["conversation"]["id"]
    mark = "mutation($i: MarkConversationReadInput!) { markConversationRead(input: $i) { conversation { unreadCount lastReadSeq } errors { code } } }"
    partial = await api.data(
        mark, {"i": {"conversationId": conversation_id, "lastReadSeq": 2}}, user=pair.partner_user
    )
    assert partial["markConversationRead"]["conversation"] == {"unreadCount": 1, "lastReadSeq": 2}
    back = await api.data(
        mark, {"i": {"conversationId": conversation_id, "lastReadSeq": 1}}, user=pair.partner_user
    )
    assert back["markConversationRead"]["conversation"] == {"unreadCount": 1, "lastReadSeq": 2}
    beyond = await api.data(
        mark, {"i": {"conversationId": conversation_id, "lastReadSeq": 99}}, user=pair.partner_user
    )
    assert beyond["markConversationRead"]["conversation"] == {"unreadCount": 0, "lastReadSeq": 3}
    brand_side = await _inbox(api, pair.brand_user)
    assert brand_side["edges"][0]["node"]["unreadCount"] == 0  # type: ignore[index]
    # Replying marks the replier's side read.
    await send(api, pair.brand_user, pair.partner, "m3")
    await send(api, pair.partner_user, pair.brand, "reply")
    partner_side = await _inbox(api, pair.partner_user)
    assert partner_side["edges"][0]["node"]["unreadCount"] == 0  # type: ignore[index]


async def test_messages_pages_forward_and_backward(api: Api) -> None:
    pair = await make_pair(S.ACTIVE)
    for i in range(1, 8):
        sent = await send(api, pair.brand_user, pair.partner, f"m{i}")
    cid = sent["conversation"]["id"]
    q = """query($id: ID!, $first: Int, $after: String, $last: Int, $before: String) { conversation(id: $id) {
      messages(first: $first, after: $after, last: $last, before: $before) {
        totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor } edges { node { seq } } } } }"""

    async def page(**v: object) -> dict[str, object]:
        return (await api.data(q, {"id": cid, **v}, user=pair.partner_user))["conversation"][
            "messages"
        ]  # type: ignore[no-any-return]

    def seqs(p: dict[str, object]) -> list[int]:
        return [e["node"]["seq"] for e in p["edges"]]  # type: ignore[attr-defined, index]

    first = await page(first=3)
    assert seqs(first) == [1, 2, 3] and first["totalCount"] == 7
    assert first["pageInfo"]["hasNextPage"] is True  # type: ignore[index]
    second = await page(first=3, after=first["pageInfo"]["endCursor"])  # type: ignore[index]
    assert seqs(second) == [4, 5, 6]
    latest = await page(last=2)
    assert seqs(latest) == [6, 7]
    assert latest["pageInfo"]["hasPreviousPage"] is True  # type: ignore[index]
    earlier = await page(last=10, before=latest["pageInfo"]["startCursor"])  # type: ignore[index]
    assert seqs(earlier) == [1, 2, 3, 4, 5]
    assert earlier["pageInfo"]["hasPreviousPage"] is False  # type: ignore[index]


@pytest.mark.parametrize("first", [101, -1, 1000])
async def test_first_out_of_range_is_a_typed_error(api: Api, first: int) -> None:
    pair = await make_pair(S.ACTIVE)
    body = await api.gql(
        "query($n: Int) { inbox(first: $n) { totalCount } }", {"n": first}, user=pair.brand_user
    )
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "INVALID_ARGUMENT"
    body = await api.gql(
        "query($n: Int) { partners(first: $n) { totalCount } }", {"n": first}, user=pair.brand_user
    )
    assert body["errors"][0]["extensions"]["code"] == "INVALID_ARGUMENT"


@pytest.mark.parametrize("cursor", ["garbage", "", "eyJhIjoxfQ", "A" * 400])
async def test_malformed_cursor_is_a_typed_error(api: Api, cursor: str) -> None:
    pair = await make_pair(S.ACTIVE)
    body = await api.gql(
        "query($c: String) { inbox(after: $c) { totalCount } }", {"c": cursor}, user=pair.brand_user
    )
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "INVALID_CURSOR"


async def test_tampered_and_foreign_cursors_are_refused(api: Api) -> None:
    pair = await make_pair(S.ACTIVE)
    await send(api, pair.brand_user, pair.partner, "a")
    inbox = await _inbox(api, pair.brand_user)
    cursor = inbox["edges"][0]["cursor"]  # type: ignore[index]
    flipped = cursor[:-3] + ("A" if cursor[-3] != "A" else "B") + cursor[-2:]
    body = await api.gql(
        "query($c: String) { inbox(after: $c) { totalCount } }",
        {"c": flipped},
        user=pair.brand_user,
    )
    assert body["errors"][0]["extensions"]["code"] == "INVALID_CURSOR"
    # An inbox cursor is not a partners cursor.
    body = await api.gql(
        "query($c: String) { partners(after: $c) { totalCount } }",
        {"c": cursor},
        user=pair.brand_user,
    )
    assert body["errors"][0]["extensions"]["code"] == "INVALID_CURSOR"


async def test_another_tenants_conversation_is_not_found_everywhere(api: Api) -> None:
    mine = await make_pair(S.ACTIVE)
    theirs = await make_pair(S.ACTIVE)
    sent = await send(api, theirs.brand_user, theirs.partner, "private")
    foreign = sent["conversation"]["id"]
    body = await api.gql(
        "query($id: ID!) { conversation(id: $id) { id } }", {"id": foreign}, user=mine.brand_user
    )
    assert body["data"]["conversation"] is None
    assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    for bad_id in ("nope", "00000000-0000-0000-0000-000000000000"):
        body = await api.gql(
            "query($id: ID!) { conversation(id: $id) { id } }", {"id": bad_id}, user=mine.brand_user
        )
        assert body["errors"][0]["extensions"]["code"] == "NOT_FOUND"
    for mutation, extra in (
        ("markConversationRead(input: {conversationId: $id})", ""),
        ("setConversationArchived(input: {conversationId: $id, archived: true})", ""),
    ):
        data = await api.data(
            f"mutation($id: ID!) {{ {mutation} {{ conversation {{ id }} errors {{ code }} }} }}{extra}",
            {"id": foreign},
            user=mine.partner_user,
        )
        assert next(iter(data.values())) == {
            "conversation": None,
            "errors": [{"code": "NOT_FOUND"}],
        }
    # Nothing changed for the owners.
    theirs_inbox = await _inbox(api, theirs.partner_user)
    assert theirs_inbox["edges"][0]["node"]["unreadCount"] == 1  # type: ignore[index]
    assert theirs_inbox["edges"][0]["node"]["archived"] is False  # type: ignore[index]


async def test_partners_lists_the_brands_partnerships_by_name(api: Api) -> None:
    brand, pairs = await _brand_with_partners(
        api,
        [S.ACTIVE, S.PENDING, S.ACTIVE, S.EXPIRED],
        ["Delta", "alpha", "Charlie Ältere", "Bravo"],
    )
    q = """query($f: PartnerFilter, $first: Int, $after: String) { partners(filter: $f, first: $first, after: $after) {
      totalCount pageInfo { hasNextPage endCursor } edges { node { status partner { name } brand { id } conversation { id } } } } }"""
    user = pairs[0].brand_user
    await send(api, user, pairs[0].partner, "hi")
    page = (await api.data(q, {"first": 3}, user=user))["partners"]
    assert [e["node"]["partner"]["name"] for e in page["edges"]] == [
        "alpha",
        "Bravo",
        "Charlie Ältere",
    ]
    assert page["totalCount"] == 4
    rest = (await api.data(q, {"first": 3, "after": page["pageInfo"]["endCursor"]}, user=user))[
        "partners"
    ]
    assert [e["node"]["partner"]["name"] for e in rest["edges"]] == ["Delta"]
    assert rest["edges"][0]["node"]["conversation"] is not None
    active = (await api.data(q, {"f": {"statuses": ["ACTIVE"], "search": "ÄLT"}}, user=user))[
        "partners"
    ]
    assert [e["node"]["partner"]["name"] for e in active["edges"]] == ["Charlie Ältere"]
    assert all(e["node"]["brand"]["id"] == str(brand.id) for e in page["edges"])


async def test_partners_is_for_brand_users(api: Api) -> None:
    pair = await make_pair(S.ACTIVE)
    body = await api.gql("{ partners { totalCount } }", user=pair.partner_user)
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"


@contextmanager
def count_sql() -> Iterator[list[str]]:
    statements: list[str] = []

    class Collect(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            statements.append(record.getMessage())

    logger = logging.getLogger("tortoise.db_client")
    handler = Collect(level=logging.DEBUG)
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield statements
    finally:
        logger.removeHandler(handler)
        logger.setLevel(previous)


async def test_inbox_page_of_twenty_uses_a_constant_number_of_statements(api: Api) -> None:
    brand, pairs = await _brand_with_partners(api, [S.ACTIVE] * 25)
    user = pairs[0].brand_user
    for pair in pairs:
        await send(api, user, pair.partner, "hi")
        await send(api, pair.partner_user, brand, "hello back")
    with count_sql() as small:
        assert len((await _inbox(api, user, first=2))["edges"]) == 2  # type: ignore[arg-type]
    with count_sql() as large:
        assert len((await _inbox(api, user, first=20))["edges"]) == 20  # type: ignore[arg-type]
    # viewer, count, page (with joins), messages, users, accounts, attachments.
    print(f"inbox statements: first=2 -> {len(small)}, first=20 -> {len(large)}")
    assert len(large) == len(small) <= 8, large


async def test_every_edge_cursor_read_is_signed_and_resumes_after_its_edge(api: Api) -> None:
    """Unread edge cursors are not signed (services.conversations.page_cursor); every cursor
    a selection reads — directly or through a fragment — must resume right after its edge."""
    _, pairs = await _brand_with_partners(api, [S.ACTIVE] * 4)
    user = pairs[0].brand_user
    for pair in pairs:
        await send(api, user, pair.partner, "hi")
    direct = (
        "query($after: String) { inbox(first: 4, after: $after) { edges { cursor node { id } } } }"
    )
    spread = """query($after: String) { inbox(first: 4, after: $after) { ...Page } }
      fragment Page on ConversationConnection { totalCount edges { cursor node { id } } }"""
    for query in (direct, spread):
        edges = (await api.data(query, {"after": None}, user=user))["inbox"]["edges"]
        ids = [e["node"]["id"] for e in edges]
        assert len(ids) == 4 and all(e["cursor"] for e in edges)
        if query is spread:  # totalCount through a named fragment is counted too
            total = (await api.data(query, {"after": None}, user=user))["inbox"]["totalCount"]
            assert total == 4
        for i, edge in enumerate(edges):
            after = (await api.data(query, {"after": edge["cursor"]}, user=user))["inbox"]
            assert [e["node"]["id"] for e in after["edges"]] == ids[i + 1 :]
