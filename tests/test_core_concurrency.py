"""Concurrency: idempotency under a burst, gap-free seq under load — on the real PostgreSQL
(row locks) and on the embedded SQLite (one writer at a time)."""

from __future__ import annotations

import asyncio

from models import PartnershipStatus
from tests.factories import Api, make_pair, make_user, send


async def test_fifty_concurrent_sends_with_one_client_message_id_store_one(api: Api) -> None:
    pair = await make_pair(PartnershipStatus.ACTIVE)
    results = await asyncio.gather(
        *(
            send(api, pair.brand_user, pair.partner, "exactly once", clientMessageId="burst")
            for _ in range(50)
        )
    )
    assert all(r["errors"] == [] for r in results), [r["errors"] for r in results if r["errors"]]
    assert len({r["message"]["id"] for r in results}) == 1
    page = await api.data(
        "query($id: ID!) { conversation(id: $id) { messages(first: 100) { totalCount edges { node { seq } } } } }",
        {"id": results[0]["conversation"]["id"]},
        user=pair.partner_user,
    )
    assert page["conversation"]["messages"]["totalCount"] == 1
    assert [e["node"]["seq"] for e in page["conversation"]["messages"]["edges"]] == [1]


async def test_five_senders_times_one_hundred_give_gap_free_seq(api: Api) -> None:
    pair = await make_pair(PartnershipStatus.ACTIVE)
    senders = [
        (pair.brand_user, pair.partner),
        (await make_user(pair.brand), pair.partner),
        (await make_user(pair.brand), pair.partner),
        (pair.partner_user, pair.brand),
        (await make_user(pair.partner), pair.brand),
    ]

    async def sender(index: int) -> list[int]:
        user, recipient = senders[index]
        seqs = []
        for n in range(100):
            result = await send(
                api, user, recipient, f"{index}-{n}", clientMessageId=f"{index}-{n}"
            )
            assert result["errors"] == []
            seqs.append(result["message"]["seq"])
        return seqs

    per_sender = await asyncio.gather(*(sender(i) for i in range(5)))
    assert all(s == sorted(s) for s in per_sender)
    all_seqs = sorted(seq for seqs in per_sender for seq in seqs)
    assert all_seqs == list(range(1, 501))
    conversation = await api.data(
        "{ inbox(first: 1) { edges { node { id lastMessage { seq } } } } }", user=pair.brand_user
    )
    node = conversation["inbox"]["edges"][0]["node"]
    assert node["lastMessage"]["seq"] == 500
    seen: list[int] = []
    after = None
    while True:
        page = await api.data(
            "query($id: ID!, $after: String) { conversation(id: $id) { messages(first: 100, after: $after) { pageInfo { hasNextPage endCursor } edges { node { seq } } } } }",
            {"id": node["id"], "after": after},
            user=pair.partner_user,
        )
        messages = page["conversation"]["messages"]
        seen += [e["node"]["seq"] for e in messages["edges"]]
        if not messages["pageInfo"]["hasNextPage"]:
            break
        after = messages["pageInfo"]["endCursor"]
    assert seen == list(range(1, 501))
