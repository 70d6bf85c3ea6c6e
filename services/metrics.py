"""Prometheus metrics: every counter, gauge and histogram of the service, in one place.

Import and update them where the thing happens; `/metrics` (gql.ops) renders the default
registry. Label values must come from small fixed sets (operations are labelled by their
root field, `operation_label`), never from user input as such.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

GRAPHQL_OPERATIONS = Counter(
    "liaison_graphql_operations_total",
    "GraphQL operations executed, by root field (`invalid` when the document is not valid), "
    "type and outcome (ok, error).",
    ["operation", "type", "outcome"],
)
GRAPHQL_DURATION = Histogram(
    "liaison_graphql_operation_duration_seconds",
    "Time to answer a GraphQL operation, by root field.",
    ["operation"],
)
HTTP_REQUESTS = Counter(
    "liaison_http_requests_total",
    "HTTP requests answered, by route and status code.",
    ["route", "status"],
)
HTTP_DURATION = Histogram(
    "liaison_http_request_duration_seconds",
    "Time to answer an HTTP request, by route.",
    ["route"],
)
# With `serve --workers N` (prometheus multiprocess mode) the gauges are summed over the live
# worker processes; otherwise they are this process's.
WEBSOCKET_CONNECTIONS = Gauge(
    "liaison_websocket_connections",
    "Open websocket connections.",
    multiprocess_mode="livesum",
)
ACTIVE_SUBSCRIPTIONS = Gauge(
    "liaison_active_subscriptions",
    "Running GraphQL subscriptions (subscribers of the hubs).",
    multiprocess_mode="livesum",
)
EVENTS_PUBLISHED = Counter(
    "liaison_events_published_total", "Notifications published to the event bus (one per commit)."
)
EVENTS_DELIVERED = Counter(
    "liaison_events_delivered_total",
    "Events (live and replayed) handed to subscribers' websockets, one per subscriber.",
)
SCAN_JOBS = Counter(
    "liaison_scan_jobs_total",
    "Attachment scan jobs finished, by status (CLEAN, INFECTED, FAILED, RETRY).",
    ["status"],
)
SCAN_DURATION = Histogram(
    "liaison_scan_duration_seconds",
    "Time clamd took to scan one attachment.",
    buckets=(0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
RATE_LIMITED = Counter(
    "liaison_rate_limited_total",
    "Requests refused by a rate limit, by the limit that refused (user, account, upload_bytes).",
    ["limit"],
)

INVALID_OPERATION = "invalid"


def operation_label(root_fields: list[str] | None) -> str:
    """A bounded label for an operation: its first root field, with `+` when it selects more.

    Client-chosen operation names are not labels: any client could make up a new one per
    request and grow the metrics without bound (or fill a capped set and push real names
    out). Root fields come from the schema, so the labels are a small fixed set; a document
    that failed to parse or validate is `invalid`.
    """
    if not root_fields:
        return INVALID_OPERATION
    return root_fields[0] + ("+" if len(root_fields) > 1 else "")
