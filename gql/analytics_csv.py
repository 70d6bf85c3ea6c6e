"""`GET /analytics/messaging.csv`: `messagingStats` as a streamed CSV download.

Query parameters mirror the GraphQL arguments: `from`, `to` (ISO 8601), `groupBy`,
`partnershipStatuses` and `partnerIds` (each repeated or comma-separated). Same bearer
token and permission (ANALYTICS_VIEW) as the query.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from gql.view import error_response
from models import PartnershipStatus
from services import analytics
from services.auth import load_viewer
from services.csv_export import csv_lines
from services.errors import DomainError, PermissionDenied, Unauthenticated


def _many(request: Request, name: str) -> list[str] | None:
    values = [p.strip() for v in request.query_params.getlist(name) for p in v.split(",")]
    values = [v for v in values if v]
    return values or None


def _filter(request: Request) -> tuple[analytics.StatsFilter, analytics.GroupBy]:
    params = request.query_params
    try:
        start = datetime.fromisoformat(params["from"])
        end = datetime.fromisoformat(params["to"])
        group_by = analytics.GroupBy(params.get("groupBy", "DAY"))
        statuses = _many(request, "partnershipStatuses")
        flt = analytics.StatsFilter(
            start=start,
            end=end,
            partnership_statuses=None
            if statuses is None
            else [PartnershipStatus(s) for s in statuses],
            counterpart_ids=_many(request, "partnerIds"),
        )
    except (KeyError, ValueError):
        raise ValueError(
            "Pass `from` and `to` (ISO 8601), `groupBy` (DAY, WEEK, MONTH, PARTNER, "
            "PARTNERSHIP_STATUS), optionally `partnershipStatuses` and `partnerIds`."
        ) from None
    return flt, group_by


async def messaging_csv(request: Request) -> Response:
    settings = request.app.state.rt.settings
    try:
        viewer = await load_viewer(settings.jwt_secret, request.headers.get("authorization"))
    except Unauthenticated as error:
        return error_response(401, error.code, error.message, **{"WWW-Authenticate": "Bearer"})
    request.state.viewer = viewer
    try:
        flt, group_by = _filter(request)
        buckets = await analytics.messaging_stats(viewer, flt, group_by)
    except ValueError as error:
        return error_response(400, "INVALID_ARGUMENT", str(error))
    except PermissionDenied as error:
        return error_response(403, error.code, error.message)
    except DomainError as error:
        return error_response(400, error.code, error.message)

    async def body() -> AsyncIterator[str]:
        for line in csv_lines(buckets):
            yield line

    name = f"messaging-{group_by.value.lower()}-{flt.start:%Y%m%d}-{flt.end:%Y%m%d}.csv"
    return StreamingResponse(
        body(),
        media_type="text/csv; charset=utf-8",
        headers={
            "Content-Disposition": f'attachment; filename="{name}"',
            "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-store",
        },
    )
