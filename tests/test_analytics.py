"""messagingStats and the CSV export against a hand-computed fixture, on both databases.

The world (all UTC, range 2025-03-01 .. 2025-03-15):

  conv1 B–P1 ACTIVE   m1 B 03-03 10:00 | m2 P1 03-03 10:10 (reply 600 s)
                      m3 B 03-04 09:00 (1 attachment, CLEAN)
                      m4 P1 03-10 12:00 (2 attachments, one INFECTED)
  conv2 B–P2 PENDING  m5 B 03-04 08:00 | m6 P2 03-04 09:00 (reply 3600 s)
  conv3 B–P3 ACTIVE   m7 B 02-20 (before the range) | m8 P3 03-05 00:00
  conv4 B–P4 ACTIVE   m9 B 03-12 15:00 | m10 P4 03-15 00:00 (at `to`: excluded)
  conv5 B–P5 ACTIVE   m11 B 03-06 10:00 | m12 P5 03-06 10:01 (reply 60 s)
  conv6 B2–P1 ACTIVE  m13 B2 03-07 10:00 (another brand: never in B's figures)
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import pytest

from models import Account, AccountKind, Attachment, Message, PartnershipStatus, ScanStatus, User
from tests.factories import Api, make_account, make_partnership, make_user, send

FROM = "2025-03-01T00:00:00Z"
TO = "2025-03-15T00:00:00Z"
FIELDS = (
    "key label messagesSent messagesReceived conversationsStarted conversationsWithReply "
    "medianFirstResponseSeconds attachments attachmentsInfected"
)
STATS = f"""
query Stats($filter: MessagingStatsFilter!, $groupBy: StatsGroupBy!) {{
  messagingStats(filter: $filter, groupBy: $groupBy) {{
    groupBy buckets {{ {FIELDS} }} totals {{ {FIELDS} }}
  }}
}}
"""


@dataclass
class World:
    brand: Account
    other_brand: Account
    partners: list[Account]
    brand_analyst: User
    brand_manager: User
    partner_analyst: User  # P1's


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


async def _send_at(api: Api, user: User, to: Account, when: str) -> Message:
    sent = await send(api, user, to, f"message at {when}")
    assert sent["errors"] == [], sent
    message_id = sent["message"]["id"]
    await Message.filter(id=message_id).update(sent_at=at(when))
    return await Message.get(id=message_id)


async def _attach(message: Message, status: ScanStatus, position: int) -> None:
    await Attachment.create(
        message=message,
        position=position,
        filename="f.pdf",
        content_type="application/pdf",
        size=10,
        sha256="0" * 64,
        storage_key=f"test/{uuid.uuid4()}",
        scan_status=status,
    )


async def build_world(api: Api) -> World:
    brand = await make_account(AccountKind.BRAND)
    other_brand = await make_account(AccountKind.BRAND)
    partners = [await make_account(AccountKind.PARTNER) for _ in range(5)]
    statuses = [PartnershipStatus.ACTIVE, PartnershipStatus.PENDING] + [
        PartnershipStatus.ACTIVE
    ] * 3
    for partner, status in zip(partners, statuses, strict=True):
        await make_partnership(brand, partner, status)
    await make_partnership(other_brand, partners[0])
    b = await make_user(brand)
    b2 = await make_user(other_brand)
    p = [await make_user(partner) for partner in partners]
    p1, p2, p3, p4, p5 = partners

    await _send_at(api, b, p1, "2025-03-03 10:00:00")
    await _send_at(api, p[0], brand, "2025-03-03 10:10:00")
    m3 = await _send_at(api, b, p1, "2025-03-04 09:00:00")
    await _attach(m3, ScanStatus.CLEAN, 0)
    m4 = await _send_at(api, p[0], brand, "2025-03-10 12:00:00")
    await _attach(m4, ScanStatus.CLEAN, 0)
    await _attach(m4, ScanStatus.INFECTED, 1)
    await _send_at(api, b, p2, "2025-03-04 08:00:00")
    await _send_at(api, p[1], brand, "2025-03-04 09:00:00")
    await _send_at(api, b, p3, "2025-02-20 09:00:00")
    await _send_at(api, p[2], brand, "2025-03-05 00:00:00")
    await _send_at(api, b, p4, "2025-03-12 15:00:00")
    await _send_at(api, p[3], brand, "2025-03-15 00:00:00")
    await _send_at(api, b, p5, "2025-03-06 10:00:00")
    await _send_at(api, p[4], brand, "2025-03-06 10:01:00")
    await _send_at(api, b2, p1, "2025-03-07 10:00:00")
    return World(
        brand,
        other_brand,
        partners,
        await make_user(brand, "ANALYST"),
        b,
        await make_user(p1, "ANALYST"),
    )


def row(
    key: str,
    sent: int = 0,
    received: int = 0,
    started: int = 0,
    replied: int = 0,
    median: float | None = None,
    attachments: int = 0,
    infected: int = 0,
    label: str | None = None,
) -> dict[str, Any]:
    return {
        "key": key,
        "label": label or key,
        "messagesSent": sent,
        "messagesReceived": received,
        "conversationsStarted": started,
        "conversationsWithReply": replied,
        "medianFirstResponseSeconds": median,
        "attachments": attachments,
        "attachmentsInfected": infected,
    }


TOTALS = row("TOTAL", 5, 5, 4, 3, 600.0, 3, 1)


async def stats(api: Api, user: User, group_by: str, **flt: Any) -> dict[str, Any]:
    variables = {"filter": {"from": FROM, "to": TO, **flt}, "groupBy": group_by}
    result: dict[str, Any] = (await api.data(STATS, variables, user=user))["messagingStats"]
    return result


async def test_by_day_every_field_and_zero_filled_days(api: Api) -> None:
    world = await build_world(api)
    result = await stats(api, world.brand_analyst, "DAY")
    busy = {
        "2025-03-03": row("2025-03-03", 1, 1, 1, 1, 600.0),
        "2025-03-04": row("2025-03-04", 2, 1, 1, 1, 3600.0, 1, 0),
        "2025-03-05": row("2025-03-05", 0, 1),
        "2025-03-06": row("2025-03-06", 1, 1, 1, 1, 60.0),
        "2025-03-10": row("2025-03-10", 0, 1, 0, 0, None, 2, 1),
        "2025-03-12": row("2025-03-12", 1, 0, 1, 0, None),
    }
    expected = [busy.get(f"2025-03-{d:02}", row(f"2025-03-{d:02}")) for d in range(1, 15)]
    assert result["buckets"] == expected
    assert result["totals"] == TOTALS


async def test_by_week_and_month(api: Api) -> None:
    world = await build_world(api)
    weeks = await stats(api, world.brand_analyst, "WEEK")
    assert weeks["buckets"] == [
        row("2025-02-24"),
        row("2025-03-03", 4, 4, 3, 3, 600.0, 1, 0),
        row("2025-03-10", 1, 1, 1, 0, None, 2, 1),
    ]
    months = await stats(api, world.brand_analyst, "MONTH")
    assert months["buckets"] == [{**TOTALS, "key": "2025-03", "label": "2025-03"}]


async def test_by_partner_and_by_partnership_status(api: Api) -> None:
    world = await build_world(api)
    p1, p2, p3, p4, p5 = world.partners
    by_partner = await stats(api, world.brand_analyst, "PARTNER")
    expected = [
        row(str(p1.id), 2, 2, 1, 1, 600.0, 3, 1, label=p1.name),
        row(str(p2.id), 1, 1, 1, 1, 3600.0, label=p2.name),
        row(str(p3.id), 0, 1, label=p3.name),
        row(str(p4.id), 1, 0, 1, 0, None, label=p4.name),
        row(str(p5.id), 1, 1, 1, 1, 60.0, label=p5.name),
    ]
    assert by_partner["buckets"] == sorted(expected, key=lambda r: r["key"])
    by_status = await stats(api, world.brand_analyst, "PARTNERSHIP_STATUS")
    assert by_status["buckets"] == [
        row("ACTIVE", 4, 4, 3, 2, 330.0, 3, 1),
        row("PENDING", 1, 1, 1, 1, 3600.0),
    ]


async def test_filters_by_status_and_partner(api: Api) -> None:
    world = await build_world(api)
    pending = await stats(api, world.brand_analyst, "MONTH", partnershipStatuses=["PENDING"])
    assert pending["buckets"] == [row("2025-03", 1, 1, 1, 1, 3600.0)]
    assert pending["totals"] == row("TOTAL", 1, 1, 1, 1, 3600.0)
    p1 = world.partners[0]
    only_p1 = await stats(api, world.brand_analyst, "MONTH", partnerIds=[str(p1.id)])
    assert only_p1["buckets"] == [row("2025-03", 2, 2, 1, 1, 600.0, 3, 1)]


async def test_a_partner_sees_its_figures_per_brand(api: Api) -> None:
    world = await build_world(api)
    result = await stats(api, world.partner_analyst, "PARTNER")
    b, b2 = world.brand, world.other_brand
    assert result["buckets"] == sorted(
        [
            row(str(b.id), 2, 2, 1, 1, 600.0, 3, 1, label=b.name),
            row(str(b2.id), 0, 1, 1, 0, None, label=b2.name),
        ],
        key=lambda r: r["key"],
    )


async def test_tenant_isolation_other_accounts_ids_match_nothing(api: Api) -> None:
    world = await build_world(api)
    stranger = await make_account(AccountKind.PARTNER)
    other = await stats(
        api, world.brand_analyst, "MONTH", partnerIds=[str(stranger.id), str(world.other_brand.id)]
    )
    assert other["buckets"] == [row("2025-03")]
    assert other["totals"] == row("TOTAL")
    # The other brand's analyst sees only its own single message.
    other_analyst = await make_user(world.other_brand, "ANALYST")
    mine = await stats(api, other_analyst, "MONTH")
    assert mine["totals"] == row("TOTAL", 1, 0, 1, 0, None)


async def test_needs_analytics_view(api: Api) -> None:
    world = await build_world(api)
    variables = {"filter": {"from": FROM, "to": TO}, "groupBy": "DAY"}
    body = await api.gql(STATS, variables, user=world.brand_manager)
    assert body["data"] is None
    assert body["errors"][0]["extensions"]["code"] == "PERMISSION_DENIED"


@pytest.mark.parametrize(
    ("start", "end"),
    [(TO, FROM), (FROM, FROM), ("2024-01-01T00:00:00Z", "2025-01-02T00:00:01Z")],
)
async def test_rejects_bad_ranges(api: Api, start: str, end: str) -> None:
    brand = await make_account(AccountKind.BRAND)
    analyst = await make_user(brand, "ANALYST")
    body = await api.gql(
        STATS, {"filter": {"from": start, "to": end}, "groupBy": "DAY"}, user=analyst
    )
    assert body["errors"][0]["extensions"]["code"] == "INVALID_ARGUMENT"
