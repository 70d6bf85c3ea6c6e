"""The leaf fast path answers exactly what graphql-core's full path answers, errors included."""

from __future__ import annotations

from collections.abc import AsyncGenerator
from enum import Enum
from typing import Any

import pytest
import strawberry
from strawberry.types.execution import PreExecutionError

from gql.execution import LeafFastPath


@strawberry.enum
class Colour(Enum):
    RED = "RED"


@strawberry.type
class Node:
    name: str
    count: int
    maybe: str | None
    colour: Colour
    broken: int  # holds a value int cannot serialise

    @strawberry.field
    def computed(self) -> str:
        return self.name.upper()


@strawberry.type
class Query:
    @strawberry.field
    def nodes(self) -> list[Node]:
        return [
            Node(name="a", count=1, maybe=None, colour=Colour.RED, broken=2),
            Node(name="b", count=2, maybe="x", colour=Colour.RED, broken="nope"),  # type: ignore[arg-type]
            Node(name=None, count=3, maybe="y", colour=Colour.RED, broken=4),  # type: ignore[arg-type]
        ]


QUERIES = [
    "{ nodes { name count maybe colour computed } }",
    "{ nodes { count broken } }",
    "{ nodes { name } }",
    "{ nodes { alias: count __typename } }",
]


def _plain(result: Any) -> Any:
    errors = [(e.message, e.path) for e in result.errors or []]
    return result.data, sorted(errors, key=str)


@pytest.mark.parametrize("query", QUERIES)
async def test_same_data_and_errors_as_graphql_core(query: str) -> None:
    fast = strawberry.Schema(Query, execution_context_class=LeafFastPath)
    full = strawberry.Schema(Query)
    assert _plain(await fast.execute(query)) == _plain(await full.execute(query))


async def test_the_fast_path_is_taken_for_plain_leaf_attributes_only() -> None:
    from gql import execution

    fast = strawberry.Schema(Query, execution_context_class=LeafFastPath)
    await fast.execute("{ nodes { name count computed } }")
    node = fast._schema.type_map["Node"]
    plans = {name: execution._plan(field) for name, field in node.fields.items()}  # type: ignore[attr-defined]
    assert plans["count"] is not None and plans["count"][0] == "count"
    assert plans["name"] is not None
    assert plans["computed"] is None  # a resolver: the full path


# Subscription events: graphql-core copies the executor per event; the copies must not grow a
# cache shared with the subscription's executor (it held ~4 KB per event, forever).

executors: list[LeafFastPath] = []


class RecordingExecutor(LeafFastPath):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        executors.append(self)


@strawberry.type
class Tick:
    value: int

    @strawberry.field
    def inner(self) -> Node:
        return Node(name="n", count=self.value, maybe=None, colour=Colour.RED, broken=0)


@strawberry.type
class Ticks:
    @strawberry.subscription
    async def ticks(self) -> AsyncGenerator[Tick, None]:
        for value in range(200):
            yield Tick(value=value)


async def test_subscription_events_keep_no_cache_per_event() -> None:
    schema = strawberry.Schema(
        query=Query, subscription=Ticks, execution_context_class=RecordingExecutor
    )
    executors.clear()
    stream = await schema.subscribe("subscription { ticks { value inner { name count } } }")
    assert not isinstance(stream, PreExecutionError)
    results = [result async for result in stream]
    assert len(results) == 200 and not any(r.errors for r in results)
    assert results[-1].data == {"ticks": {"value": 199, "inner": {"name": "n", "count": 199}}}
    subscription_executor = executors[0]
    assert len(subscription_executor._relevant_sub_fields) < 5
