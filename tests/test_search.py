"""searchMessages through HTTP on both databases: matching rules, snippets and highlights,
filters, keyset pages, tenant isolation and bad input."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from models import AccountKind, PartnershipStatus, User
from services import search
from tests.attachments_fixtures import send_files
from tests.factories import Api, make_account, make_pair, make_user, send

SEARCH = """query($q: String!, $f: MessageSearchFilter, $first: Int, $after: String) {
  searchMessages(query: $q, filter: $f, first: $first, after: $after) {
    totalCount pageInfo { hasNextPage endCursor }
    edges { cursor snippet highlights { start length }
      node { id body senderAccount { id } }
      conversation { id counterpart { id name } } } } }"""
CSV = b"name,amount\nalpha,1\nbeta,2\n"


async def _search(api: Api, user: User, q: str, **variables: Any) -> dict[str, Any]:
    data = await api.data(SEARCH, {"q": q, **variables}, user=user)
    return data["searchMessages"]  # type: ignore[no-any-return]


async def _bodies(api: Api, user: User, q: str, **variables: Any) -> list[str]:
    found = await _search(api, user, q, **variables)
    return [e["node"]["body"] for e in found["edges"]]


def _marked(edge: dict[str, Any]) -> list[str]:
    text = edge["snippet"]
    return [text[h["start"] : h["start"] + h["length"]] for h in edge["highlights"]]


async def _error_code(api: Api, user: User, q: str, **variables: Any) -> str:
    body = await api.gql(SEARCH, {"q": q, **variables}, user=user)
    assert body["data"] is None
    return str(body["errors"][0]["extensions"]["code"])


async def test_case_and_accent_insensitive_with_prefix_on_the_last_word(api: Api) -> None:
    pair = await make_pair()
    await send(api, pair.brand_user, pair.partner, "Le Café est prêt à Zürich")
    await send(api, pair.partner_user, pair.brand, "Commission RATES for ÉTÉ")
    user = pair.brand_user
    assert await _bodies(api, user, "cafe") == ["Le Café est prêt à Zürich"]
    assert await _bodies(api, user, "CAFÉ PRET") == ["Le Café est prêt à Zürich"]
    assert await _bodies(api, user, "zuri") == ["Le Café est prêt à Zürich"]  # prefix
    assert await _bodies(api, user, "ete commission") == ["Commission RATES for ÉTÉ"]
    assert await _bodies(api, user, "comm") == ["Commission RATES for ÉTÉ"]
    assert await _bodies(api, user, "comm rates") == []  # only the last word is a prefix
    assert await _bodies(api, user, "cafe nowhere") == []  # every word must match
    [edge] = (await _search(api, user, "cafe pret"))["edges"]
    assert edge["snippet"] == "Le Café est prêt à Zürich"
    assert _marked(edge) == ["Café", "prêt"]
    # The partner's side finds the same conversation's messages.
    assert await _bodies(api, pair.partner_user, "rates") == ["Commission RATES for ÉTÉ"]


async def test_attachment_filenames_are_searched(api: Api) -> None:
    pair = await make_pair()
    await send_files(api, pair, [("Q3-Payouts_final.csv", CSV)], body="see attached")
    await send(api, pair.brand_user, pair.partner, "no file here")
    found = await _search(api, pair.brand_user, "payouts")
    [edge] = found["edges"]
    assert edge["node"]["body"] == "see attached"
    assert edge["snippet"] == "Q3-Payouts_final.csv"
    assert _marked(edge) == ["Payouts"]
    assert await _bodies(api, pair.brand_user, "final csv") == ["see attached"]
    assert await _bodies(api, pair.partner_user, "q3") == ["see attached"]
    with_files = await _bodies(api, pair.brand_user, "see", f={"hasAttachments": True})
    assert with_files == ["see attached"]
    assert await _bodies(api, pair.brand_user, "see", f={"hasAttachments": False}) == []


async def test_snippet_is_a_window_around_the_first_match(api: Api) -> None:
    pair = await make_pair()
    body = " ".join(["filler"] * 100) + " the needle is here " + " ".join(["tail"] * 100)
    await send(api, pair.brand_user, pair.partner, body)
    [edge] = (await _search(api, pair.brand_user, "needle"))["edges"]
    assert len(edge["snippet"]) <= 200
    assert edge["snippet"].startswith("…") and edge["snippet"].endswith("…")
    assert _marked(edge) == ["needle"]
    assert "filler" in edge["snippet"] and "tail" in edge["snippet"]


async def test_newest_first_keyset_pages_and_total(api: Api) -> None:
    pair = await make_pair()
    for n in range(5):
        await send(api, pair.brand_user, pair.partner, f"invoice number {n}")
    await send(api, pair.brand_user, pair.partner, "unrelated")
    user = pair.brand_user
    page1 = await _search(api, user, "invoice", first=2)
    assert [e["node"]["body"] for e in page1["edges"]] == ["invoice number 4", "invoice number 3"]
    assert page1["totalCount"] == 5
    assert page1["pageInfo"]["hasNextPage"] is True
    page2 = await _search(api, user, "invoice", first=2, after=page1["pageInfo"]["endCursor"])
    page3 = await _search(api, user, "invoice", first=2, after=page2["pageInfo"]["endCursor"])
    assert [e["node"]["body"] for e in page2["edges"]] == ["invoice number 2", "invoice number 1"]
    assert [e["node"]["body"] for e in page3["edges"]] == ["invoice number 0"]
    assert page3["pageInfo"]["hasNextPage"] is False
    code = await _error_code(api, user, "invoice", after="forged-cursor")
    assert code == "INVALID_CURSOR"


async def test_filters(api: Api) -> None:
    brand = await make_account(AccountKind.BRAND)
    active = await make_pair(PartnershipStatus.ACTIVE, brand=brand, partner_name="Active")
    pending = await make_pair(PartnershipStatus.PENDING, brand=brand, partner_name="Pending")
    user = active.brand_user
    await send(api, user, active.partner, "launch plan for active")
    await send(api, user, pending.partner, "launch plan for pending")
    statuses = {"partnershipStatuses": ["PENDING"]}
    assert await _bodies(api, user, "launch", f=statuses) == ["launch plan for pending"]
    counterpart = {"counterpartIds": [str(active.partner.id)]}
    assert await _bodies(api, user, "launch", f=counterpart) == ["launch plan for active"]
    nobody = {"counterpartIds": [str(brand.id), "not-an-id"]}
    assert await _bodies(api, user, "launch", f=nobody) == []
    now = datetime.now(UTC)
    past = {"to": (now - timedelta(days=1)).isoformat()}
    assert await _bodies(api, user, "launch", f=past) == []
    window = {
        "from": (now - timedelta(hours=1)).isoformat(),
        "to": (now + timedelta(hours=1)).isoformat(),
    }
    assert len(await _bodies(api, user, "launch", f=window)) == 2
    future = {"from": (now + timedelta(hours=1)).isoformat()}
    assert await _bodies(api, user, "launch", f=future) == []
    code = await _error_code(api, user, "launch", f={"counterpartIds": ["x"] * 101})
    assert code == "INVALID_ARGUMENT"


async def test_tenant_isolation(api: Api) -> None:
    mine = await make_pair()
    other = await make_pair()
    third = await make_pair(brand=mine.brand)
    await send(api, mine.brand_user, mine.partner, "secret roadmap for mine")
    await send(api, other.brand_user, other.partner, "secret roadmap for other")
    await send(api, third.partner_user, mine.brand, "secret roadmap from third")
    assert sorted(await _bodies(api, mine.brand_user, "secret roadmap")) == [
        "secret roadmap for mine",
        "secret roadmap from third",
    ]
    # A partner sees only its own conversation, never the brand's others.
    assert await _bodies(api, mine.partner_user, "secret") == ["secret roadmap for mine"]
    assert await _bodies(api, other.partner_user, "secret") == ["secret roadmap for other"]
    # Another tenant's counterpart id in the filter matches nothing.
    foreign = {"counterpartIds": [str(other.partner.id)]}
    assert await _bodies(api, mine.brand_user, "secret", f=foreign) == []


async def test_search_needs_messaging(api: Api) -> None:
    pair = await make_pair()
    analyst = await make_user(pair.brand, "ANALYST")
    body = await api.gql(SEARCH, {"q": "hello"}, user=analyst)
    assert body["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"


@pytest.mark.parametrize("query", ["", "   ", "?!…", "*", '"', "(:)", "--- ...", "_"])
async def test_a_query_without_a_word_is_invalid_argument(api: Api, query: str) -> None:
    pair = await make_pair()
    assert await _error_code(api, pair.brand_user, query) == "INVALID_ARGUMENT"


async def test_long_queries_are_refused_cleanly(api: Api) -> None:
    pair = await make_pair()
    await send(api, pair.brand_user, pair.partner, "word")
    assert await _error_code(api, pair.brand_user, "a" * 10_000) == "INVALID_ARGUMENT"
    assert await _error_code(api, pair.brand_user, "word " * 2_000) == "INVALID_ARGUMENT"
    assert await _error_code(api, pair.brand_user, " ".join(["w"] * 17)) == "INVALID_ARGUMENT"


@pytest.mark.parametrize(
    ("query", "both"),
    [
        ('"alpha', True),
        ('alpha"', True),
        ("alpha*", True),
        ("alpha:beta", False),
        ("(alpha", True),
        ("alpha)", True),
        ("NEAR(alpha beta)", False),
        ("alpha NEAR beta", False),
        ("alpha AND beta", False),
        ("alpha OR zzz", None),
        ("alpha NOT beta", False),
        ("-alpha", True),
        ("alpha & beta | !zzz", None),
        ("alpha <-> beta", False),
        ("^alpha", True),
        ("{alpha}", True),
        ("alpha'beta", False),
        ("alpha\\beta", False),
        ("alpha%_", True),
    ],
)
async def test_fts_syntax_is_text(api: Api, query: str, both: bool | None) -> None:
    """Operators and syntax characters are words or separators: `both` says whether the
    query matches both messages (True), only the one holding every word (False), or none."""
    pair = await make_pair()
    body = "alpha near beta and not"
    await send(api, pair.brand_user, pair.partner, body)
    await send(api, pair.brand_user, pair.partner, "alpha alone")
    found = await _bodies(api, pair.brand_user, query)
    expected = {True: ["alpha alone", body], False: [body], None: []}[both]
    assert found == expected, query


@pytest.mark.parametrize("window", [2, 3])
async def test_pages_across_the_window_and_the_index(
    api: Api, monkeypatch: pytest.MonkeyPatch, window: int
) -> None:
    """On PostgreSQL a page is filled from the newest WINDOW rows first, then through the
    GIN index from older ones: with a tiny window both statements take part."""
    monkeypatch.setattr(search, "WINDOW", window)
    pair = await make_pair()
    bodies = ["invoice 0", "other 1", "invoice 2", "other 3", "other 4", "invoice 5"]
    for body in bodies:
        await send(api, pair.brand_user, pair.partner, body)
    user = pair.brand_user
    page1 = await _search(api, user, "invoice", first=2)
    assert [e["node"]["body"] for e in page1["edges"]] == ["invoice 5", "invoice 2"]
    assert page1["pageInfo"]["hasNextPage"] is True
    page2 = await _search(api, user, "invoice", first=2, after=page1["pageInfo"]["endCursor"])
    assert [e["node"]["body"] for e in page2["edges"]] == ["invoice 0"]
    assert page2["pageInfo"]["hasNextPage"] is False
    assert await _bodies(api, user, "other", first=5) == ["other 4", "other 3", "other 1"]
    assert await _bodies(api, user, "nothing") == []


async def test_a_page_costs_the_same_statements_for_2_or_20_hits(api: Api) -> None:
    from tests.test_core_inbox import count_sql

    brand = await make_account(AccountKind.BRAND)
    pairs = [await make_pair(brand=brand) for _ in range(3)]
    for n in range(25):
        pair = pairs[n % 3]
        await send(api, pair.brand_user, pair.partner, f"weekly report {n}")
    user = pairs[0].brand_user
    query = """query($q: String!, $first: Int) { searchMessages(query: $q, first: $first) {
      edges { snippet node { id body senderAccount { name } sender { name } }
              conversation { id counterpart { name } } } } }"""
    with count_sql() as small:
        data = await api.data(query, {"q": "weekly", "first": 2}, user=user)
    assert len(data["searchMessages"]["edges"]) == 2
    with count_sql() as large:
        data = await api.data(query, {"q": "weekly", "first": 20}, user=user)
    assert len(data["searchMessages"]["edges"]) == 20
    # Bounded by a constant, whatever the page size: no statement per hit. (Exactly equal
    # counts are not the property: how the dataloaders batch the senders of 2 hits may take
    # one more round than for 20.)
    assert len(small) <= 8 and len(large) <= 8, (small, large)
