"""Generated queries over the demo data answer the same compiled and in graphql-core.

`hypothesis-graphql` writes queries from the schema (any field, argument, alias, fragment
and variable it can make valid); each is sent over HTTP by a demo user of every role, brand
and partner — so permission denials (an analyst's inbox, a partner's `partners`), nulls and
resolver errors (bad ids, page sizes over the limit) are in the mix. The suite runs in the
`compare` executor mode: every operation executes compiled and in graphql-core, and any
difference is recorded in `gql.execution.MISMATCHES`, asserted empty after every query.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import graphql
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis_graphql import from_schema

from gql import compiled
from gql.execution import MISMATCHES
from gql.schema import print_schema_sdl
from services.blobs import LocalBlobStore
from services.demo import DemoUser, seed_demo
from services.demo_messages import seed_demo_messages
from tests.factories import Api

SDL = print_schema_sdl()

_datetimes = st.datetimes(
    min_value=datetime(2020, 1, 1), max_value=datetime(2030, 1, 1), timezones=st.just(UTC)
).map(lambda value: graphql.StringValueNode(value=value.isoformat()))

QUERIES = from_schema(
    SDL,
    fields=["viewer", "partners", "inbox", "conversation", "messagingStats"],
    custom_scalars={"DateTime": _datetimes, "Upload": st.just(graphql.NullValueNode())},
)

# Denied for some roles, null fields, a resolver error (page size), a bad id.
HAND_PICKED = [
    "{ viewer { permissions user { name email role { name permissions } } account { name kind } } }",
    "{ inbox(first: 5) { totalCount edges { cursor node { id counterpart { name } partnership { status brand { name } } lastMessage { body sentAt sender { name } attachments { filename downloadUrl } } messages(first: 2) { edges { node { body } } } } } } }",
    "{ partners(first: 3) { totalCount pageInfo { hasNextPage endCursor } edges { node { status partner { name } conversation { id unreadCount } } } } }",
    "{ inbox(first: 1000) { totalCount } viewer { permissions } }",
    '{ conversation(id: "nope") { id } viewer { account { name } } }',
]


@pytest.fixture
async def demo(app: Any) -> list[DemoUser]:
    """The demo data, seeded once per database (the app is one per backend)."""
    users: list[DemoUser] | None = getattr(app.state, "demo_users", None)
    if users is None:
        users = await seed_demo()
        await seed_demo_messages(users, LocalBlobStore(app.state.rt.settings.data_dir / "blobs"))
        app.state.demo_users = users
    return users


@settings(
    max_examples=60,
    deadline=None,
    derandomize=True,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(query=QUERIES, who=st.integers(min_value=0, max_value=100))
async def test_generated_queries_answer_the_same_compiled(
    api: Api, demo: list[DemoUser], query: str, who: int
) -> None:
    user = demo[who % len(demo)]
    response = await api.post(query, user=user.user)
    assert response.status_code == 200, response.text
    assert not MISMATCHES, MISMATCHES


async def test_generated_queries_do_run_compiled(api: Api, demo: list[DemoUser]) -> None:
    """The comparison is only worth something if the plans run: count them."""
    calls: list[object] = []
    original = compiled.CompiledExecution.execute_plan

    def spy(self: Any, plan: compiled.Plan) -> Any:
        calls.append(plan)
        return original(self, plan)

    compiled.CompiledExecution.execute_plan = spy  # type: ignore[method-assign]
    try:
        for user in demo:
            for query in HAND_PICKED:
                response = await api.post(query, user=user.user)
                assert response.status_code == 200, response.text
    finally:
        compiled.CompiledExecution.execute_plan = original  # type: ignore[method-assign]
    assert len(calls) == len(demo) * len(HAND_PICKED)
    assert not MISMATCHES, MISMATCHES
