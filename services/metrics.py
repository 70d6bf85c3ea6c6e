"""Prometheus metrics: every counter, gauge and histogram of the service, in one place.

Import and update them where the thing happens; `/metrics` (gql.ops) renders the default
registry. Label values must come from small fixed sets (operation names are capped by
`operation_label`), never from user input as such.
"""

from __future__ import annotations

import threading

from prometheus_client import Counter, Gauge, Histogram

GRAPHQL_OPERATIONS = Counter(
    "liaison_graphql_operations_total",
    "GraphQL operations executed, by operation name, type and outcome (ok, error).",
    ["operation", "type", "outcome"],
)
GRAPHQL_DURATION = Histogram(
    "liaison_graphql_operation_duration_seconds",
    "Time to answer a GraphQL operation, by operation name.",
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
WEBSOCKET_CONNECTIONS = Gauge(
    "liaison_websocket_connections", "Open websocket connections in this process."
)
ACTIVE_SUBSCRIPTIONS = Gauge(
    "liaison_active_subscriptions",
    "Running GraphQL subscriptions in this process (subscribers of the hub).",
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

MAX_OPERATION_LABELS = 200
_operations: set[str] = set()
_lock = threading.Lock()


def operation_label(name: str | None) -> str:
    """A bounded label for an operation name: the first 200 distinct names, then `other`."""
    if not name:
        return "anonymous"
    name = name[:100]
    with _lock:
        if name in _operations:
            return name
        if len(_operations) < MAX_OPERATION_LABELS:
            _operations.add(name)
            return name
    return "other"
