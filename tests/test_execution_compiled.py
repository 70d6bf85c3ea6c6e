"""Compiled plans answer exactly what graphql-core answers: data, errors, paths, nulls.

A schema made to misbehave — nulls in non-null fields at every depth, resolvers that raise
(sync and async), values no scalar can serialise, unions, `@skip`/`@include` by variable,
a permission that is denied — executed once compiled and once by graphql-core alone.
"""

from __future__ import annotations

import asyncio
import json
from enum import Enum
from types import SimpleNamespace
from typing import Annotated, Any

import pytest
import strawberry

from gql import compiled
from gql.execution import LiaisonExecutor, plan_cache
from gql.permissions import requires
from models import Permission


@strawberry.enum
class Colour(Enum):
    RED = "RED"
    BLUE = "BLUE"


@strawberry.type
class Leaf:
    name: str
    maybe: str | None
    count: int
    colour: Colour

    @strawberry.field
    def fails(self) -> str | None:
        raise ValueError(f"fails on {self.name}")

    @strawberry.field
    async def later(self) -> str:
        await asyncio.sleep(0)
        if self.name == "boom":
            raise RuntimeError("async boom")
        return self.name.upper()

    @strawberry.field
    def exception_value(self) -> str | None:
        return ValueError("returned, not raised")  # type: ignore[return-value]


@strawberry.type
class Cat:
    name: str
    lives: int


@strawberry.type
class Dog:
    name: str
    good: bool


Pet = Annotated[Cat | Dog, strawberry.union("Pet")]


@strawberry.interface
class Named:
    name: str


@strawberry.type
class Person(Named):
    age: int | None


@strawberry.type
class Lazy:
    """Plain attributes holding awaitables and exceptions: graphql-core awaits or raises them."""

    value: str
    nested: Leaf
    failing: str | None


async def _later(value: Any) -> Any:
    await asyncio.sleep(0)
    return value


@strawberry.type
class Guarded:
    """Fields behind `@requiresPermission`: decided when the plan is built, per permission set."""

    open: str
    secret_attr: str = strawberry.field(extensions=requires(Permission.MESSAGING))
    figures_attr: str | None = strawberry.field(extensions=requires(Permission.ANALYTICS_VIEW))

    @strawberry.field(extensions=requires(Permission.MESSAGING))
    def secret_method(self) -> str:
        return self.open.upper()


@strawberry.type
class Query:
    @strawberry.field
    def guarded(self) -> list[Guarded]:
        return [Guarded(open="o", secret_attr="s", figures_attr="f")]

    @strawberry.field
    def leaves(self) -> list[Leaf]:
        return [
            Leaf(name="a", maybe=None, count=1, colour=Colour.RED),
            Leaf(name="boom", maybe="x", count="not a number", colour=Colour.BLUE),  # type: ignore[arg-type]
            Leaf(name=None, maybe="y", count=3, colour=Colour.RED),  # type: ignore[arg-type]
        ]

    @strawberry.field
    def strict_leaves(self) -> list[Leaf] | None:
        return self.leaves()  # type: ignore[no-any-return]

    @strawberry.field
    def one(self, name: str = "one", count: int = 1) -> Leaf:
        return Leaf(name=name, maybe=None, count=count, colour=Colour.BLUE)

    @strawberry.field
    async def later_one(self, name: str) -> Leaf | None:
        await asyncio.sleep(0)
        return Leaf(name=name, maybe=None, count=0, colour=Colour.RED)

    @strawberry.field
    def pets(self) -> list[Pet]:
        return [Cat(name="Tom", lives=9), Dog(name="Rex", good=True), Cat(name="Kit", lives=None)]  # type: ignore[arg-type]

    @strawberry.field
    def people(self) -> list[Named]:
        return [Person(name="Ann", age=30), Person(name="Bo", age=None)]

    @strawberry.field
    def numbers(self) -> list[int | None]:
        return [1, None, "x", 4]  # type: ignore[list-item]

    @strawberry.field
    def strict_numbers(self) -> list[int] | None:
        return [1, None, 3]  # type: ignore[list-item]

    @strawberry.field
    def not_a_list(self) -> list[int] | None:
        return 5  # type: ignore[return-value]

    @strawberry.field
    def lazy(self) -> Lazy:
        return Lazy(
            value=_later("v"),  # type: ignore[arg-type]
            nested=_later(Leaf(name="n", maybe=None, count=1, colour=Colour.RED)),  # type: ignore[arg-type]
            failing=ValueError("an exception as a value"),  # type: ignore[arg-type]
        )

    @strawberry.field
    def broken(self) -> Leaf:
        raise ValueError("root boom")

    @strawberry.field(extensions=requires(Permission.MESSAGING))
    def secret(self) -> str:
        return "secret"

    @strawberry.field(extensions=requires(Permission.ANALYTICS_VIEW))
    def figures(self) -> list[int]:
        return [1, 2]


QUERIES: list[tuple[str, dict[str, Any]]] = [
    ("{ leaves { name maybe count colour } }", {}),
    ("{ leaves { name fails later exceptionValue } }", {}),
    ("{ strictLeaves { name } }", {}),
    ("{ strictLeaves { later } one { name count } }", {}),
    ('{ a: one(name: "x") { name } b: one(count: 3) { count __typename } }', {}),
    ("query($n: String!) { laterOne(name: $n) { name later } }", {"n": "boom"}),
    ("query($n: String!) { laterOne(name: $n) { name later } }", {"n": "fine"}),
    ("{ pets { __typename ... on Cat { name lives } ... on Dog { name good } } }", {}),
    ("{ pets { ... on Dog { good } } }", {}),
    ("{ people { name ... on Person { age } __typename } }", {}),
    ("{ numbers strictNumbers notAList }", {}),
    ("{ broken { name } }", {}),
    ("{ lazy { value failing nested { name later } } }", {}),
    ("{ one { name } broken { name } }", {}),
    ("{ secret figures one { name } }", {}),
    ("{ guarded { open secretAttr figuresAttr secretMethod } }", {}),
    ("{ guarded { open figuresAttr } }", {}),
    (
        "query($s: Boolean!, $i: Boolean!) { one { name @skip(if: $s) count @include(if: $i) } }",
        {"s": True, "i": False},
    ),
    (
        "query($s: Boolean!, $i: Boolean!) { one { name @skip(if: $s) count @include(if: $i) } }",
        {"s": False, "i": True},
    ),
    (
        "query Q { ...F one { ...G name } } fragment F on Query { one { count } } "
        "fragment G on Leaf { colour later }",
        {},
    ),
]

schema = strawberry.Schema(Query, types=[Person], execution_context_class=LiaisonExecutor)


def _viewer(*permissions: Permission) -> Any:
    granted = frozenset(permissions)
    return SimpleNamespace(permissions=granted, can=lambda permission: permission in granted)


MESSAGING_ONLY = _viewer(Permission.MESSAGING)


def _context(executor: str, viewer: Any = MESSAGING_ONLY) -> Any:
    return SimpleNamespace(
        rt=SimpleNamespace(settings=SimpleNamespace(executor=executor)), viewer_or_none=viewer
    )


def _plain(result: Any) -> str:
    errors = [error.formatted for error in result.errors or ()]
    return json.dumps({"data": result.data, "errors": errors})


@pytest.mark.parametrize(("query", "variables"), QUERIES)
async def test_compiled_answers_exactly_what_graphql_core_answers(
    query: str, variables: dict[str, Any]
) -> None:
    reference = await schema.execute(query, variables, context_value=_context("graphql-core"))
    calls: list[object] = []
    original = compiled.CompiledExecution.execute_plan

    def spy(self: Any, plan: compiled.Plan) -> Any:
        calls.append(plan)
        return original(self, plan)

    compiled.CompiledExecution.execute_plan = spy  # type: ignore[method-assign]
    try:
        result = await schema.execute(query, variables, context_value=_context("compiled"))
    finally:
        compiled.CompiledExecution.execute_plan = original  # type: ignore[method-assign]
    assert calls, "the compiled plan was not used"
    assert _plain(result) == _plain(reference)


async def test_errors_of_the_compiled_run_are_the_interesting_ones() -> None:
    """The comparison above would pass on two empty results: check some answers by hand."""
    result = await schema.execute(
        "{ strictNumbers secret leaves { name } }", context_value=_context("compiled")
    )
    assert result.data is None  # leaves[2].name is null in a non-null chain up to the root
    messages = {(e.message, tuple(e.path or ())) for e in result.errors or ()}
    assert (
        "Cannot return null for non-nullable field Leaf.name.",
        ("leaves", 2, "name"),
    ) in messages
    denied = await schema.execute("{ one { name } figures }", context_value=_context("compiled"))
    assert denied.data is None
    assert [(e.path, e.extensions) for e in denied.errors or ()] == [
        (["figures"], {"code": "PERMISSION_DENIED"})
    ]


async def test_skip_and_include_values_get_their_own_plans() -> None:
    query = "query($s: Boolean!) { one { name @skip(if: $s) } }"
    cache = plan_cache(schema._schema)
    before = len(cache)
    await schema.execute(query, {"s": True}, context_value=_context("compiled"))
    await schema.execute(query, {"s": False}, context_value=_context("compiled"))
    await schema.execute(query, {"s": True}, context_value=_context("compiled"))
    assert len(cache) == before + 2


async def test_introspection_and_mutations_fall_back_to_graphql_core() -> None:
    result = await schema.execute(
        "{ __schema { queryType { name } } }", context_value=_context("compiled")
    )
    assert result.data == {"__schema": {"queryType": {"name": "Query"}}}
    assert not result.errors


async def test_the_plan_cache_is_bounded() -> None:
    cache = compiled.PlanCache(maxsize=3)
    small = strawberry.Schema(Query, types=[Person], execution_context_class=LiaisonExecutor)
    small._schema._liaison_plans = cache  # type: ignore[attr-defined]
    for n in range(6):
        await small.execute(
            f"{{ one(count: {n}) {{ count }} }}", context_value=_context("compiled")
        )
    assert len(cache) == 3


@pytest.mark.parametrize(("query", "variables"), QUERIES)
async def test_execute_compiled_outside_strawberry_matches_graphql_core(
    query: str, variables: dict[str, Any]
) -> None:
    """The entry point for subscriptions: a plan, a root (the event), a context, variables."""
    from graphql import parse

    from gql.execution import execute_compiled, plan_for

    reference = await schema.execute(query, variables, context_value=_context("graphql-core"))
    plan = plan_for(schema._schema, parse(query), None, variables)
    assert plan is not None
    result = execute_compiled(plan, None, _context("compiled"), variables)
    if asyncio.iscoroutine(result):
        result = await result
    assert _plain(result) == _plain(reference)


@pytest.mark.parametrize(
    "viewer",
    [_viewer(), _viewer(Permission.MESSAGING), _viewer(Permission.ANALYTICS_VIEW), None],
    ids=["none granted", "messaging", "analytics", "no viewer"],
)
async def test_permissions_decided_at_plan_time_give_each_permission_set_its_answer(
    viewer: Any,
) -> None:
    """The same document for viewers of different permissions, alternately: each gets
    exactly graphql-core's answer for its own permissions, never another set's plan."""
    query = "{ guarded { open secretAttr figuresAttr secretMethod } }"
    others = [_viewer(Permission.MESSAGING, Permission.ANALYTICS_VIEW), viewer]
    for who in [*others, viewer]:
        reference = await schema.execute(query, context_value=_context("graphql-core", who))
        result = await schema.execute(query, context_value=_context("compiled", who))
        assert _plain(result) == _plain(reference)
    denied = {tuple(e.path or ()) for e in result.errors or ()}
    granted = set() if viewer is None else viewer.permissions
    # secretAttr is non-null: its denial nulls the row before figuresAttr runs
    assert (("guarded", 0, "secretAttr") in denied) == (Permission.MESSAGING not in granted)
    if Permission.MESSAGING in granted:
        assert (("guarded", 0, "figuresAttr") in denied) == (
            Permission.ANALYTICS_VIEW not in granted
        )


def test_a_granted_permission_makes_a_guarded_attribute_a_plain_read() -> None:
    from graphql import parse

    document = parse("{ guarded { secretAttr figuresAttr secretMethod } }")
    stand_in = SimpleNamespace(
        schema=schema._schema,
        operation=document.definitions[0],
        fragments={},
        fragment_definitions={},
        variable_values=SimpleNamespace(coerced={}),
        hide_suggestions=False,
        field_resolver=None,
        context_value=_context("compiled"),
    )
    plan = compiled.build_plan(stand_in, decide_permissions=True)  # type: ignore[arg-type]
    assert compiled.describe(plan) == {
        "Query.guarded": "direct",
        "Query.guarded/Guarded.secretAttr": "leaf",  # MESSAGING granted: read directly
        "Query.guarded/Guarded.figuresAttr": "resolve",  # denied: its extension raises
        "Query.guarded/Guarded.secretMethod": "direct",
    }


async def test_a_plan_from_plan_for_serves_viewers_of_any_permissions() -> None:
    from graphql import parse

    from gql.execution import execute_compiled, plan_for

    query = "{ guarded { open figuresAttr secretMethod } }"
    plan = plan_for(schema._schema, parse(query))
    assert plan is not None
    for viewer in (_viewer(Permission.MESSAGING, Permission.ANALYTICS_VIEW), _viewer(), None):
        reference = await schema.execute(query, context_value=_context("graphql-core", viewer))
        result = execute_compiled(plan, None, _context("compiled", viewer), None)
        if asyncio.iscoroutine(result):
            result = await result
        assert _plain(result) == _plain(reference)
