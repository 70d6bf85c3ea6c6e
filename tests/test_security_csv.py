"""CSV export: formulas behind whitespace are escaped; out-of-range dates are typed errors."""

from __future__ import annotations

import csv
import io

import pytest

from models import AccountKind, PartnershipStatus
from services.csv_export import escape_cell
from tests.factories import Api, make_account, make_partnership, make_user
from tests.test_analytics import FROM, STATS, TO, _send_at, build_world

HOSTILE_NAMES = [
    ' =HYPERLINK("http://x","y")',  # a space first
    "\n=1+1",  # a line break first
    "\u00a0@SUM(A1)",  # a no-break space
    "\u200b+1",  # a zero-width space
    "\t \r\n-2+3",  # a mix
    "＝1+1",  # a full-width equals sign
]


@pytest.mark.parametrize("name", HOSTILE_NAMES)
def test_escape_cell_sees_through_leading_whitespace(name: str) -> None:
    assert escape_cell(name) == "'" + name
    assert escape_cell("Acme " + name.strip()) == "Acme " + name.strip()


async def test_csv_escapes_partner_names_with_whitespace_before_a_formula(api: Api) -> None:
    world = await build_world(api)
    token = api.token(world.brand_analyst)
    ids = []
    for name in HOSTILE_NAMES[:3]:
        hostile = await make_account(AccountKind.PARTNER, name)
        await make_partnership(world.brand, hostile, PartnershipStatus.ACTIVE)
        await _send_at(api, world.brand_manager, hostile, "2025-03-08 10:00:00")
        ids.append(str(hostile.id))
    response = await api.client.get(
        "/analytics/messaging.csv",
        params={"from": FROM, "to": TO, "groupBy": "PARTNER", "partnerIds": ",".join(ids)},
        headers={"authorization": f"Bearer {token}"},
    )
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.text)))
    assert sorted(r["label"] for r in rows) == sorted("'" + n for n in HOSTILE_NAMES[:3])


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("9999-12-01T00:00:00Z", "9999-12-31T23:59:59Z"),
        ("9999-12-30", "9999-12-31"),
        ("0001-01-01T00:00:00Z", "0001-01-05T00:00:00Z"),
    ],
)
async def test_dates_out_of_range_are_typed_errors(api: Api, start: str, end: str) -> None:
    analyst = await make_user(await make_account(AccountKind.BRAND), "ANALYST")
    headers = {"authorization": f"Bearer {api.token(analyst)}"}
    for group_by in ("DAY", "WEEK", "MONTH"):
        response = await api.client.get(
            "/analytics/messaging.csv",
            params={"from": start, "to": end, "groupBy": group_by},
            headers=headers,
        )
        assert response.status_code == 400, response.text
        assert response.json()["errors"][0]["extensions"]["code"] == "INVALID_ARGUMENT"
    body = await api.gql(
        STATS, {"filter": {"from": start, "to": end}, "groupBy": "WEEK"}, user=analyst
    )
    assert body["errors"][0]["extensions"]["code"] == "INVALID_ARGUMENT", body
