"""Query cost: an upper bound on the work an operation asks for, refused before execution.

Costs (documented in the README, "Query cost"):

- A scalar or enum field costs 0; any field returning an object costs 1 (or its entry in
  `FIELD_COSTS`) plus its children.
- A field with a `first` or `last` argument multiplies its children by that value (from
  the literal, the variable, or the argument's default; `DEFAULT_PAGE` when none).
- `edges` inside a connection is already counted by its `first`, so it multiplies by 1;
  any other list field multiplies its children by `DEFAULT_LIST_SIZE`.
- Fragments count where they are spread; every inline fragment is counted (an upper bound).

Over `LIAISON_MAX_QUERY_COST`, the operation is answered with one error,
`extensions.code = QUERY_TOO_COSTLY` (with `cost` and `maxCost`), and never executed.
"""

from __future__ import annotations

import json
from collections import OrderedDict
from collections.abc import Iterator, Mapping
from typing import Any

from graphql import (
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    VariableNode,
    get_named_type,
    get_nullable_type,
    is_leaf_type,
    is_list_type,
    value_from_ast_untyped,
)
from graphql.execution import ExecutionResult as GraphQLExecutionResult
from strawberry.extensions import SchemaExtension

DEFAULT_PAGE = 20
DEFAULT_LIST_SIZE = 10
# Fields whose resolver does more work than one object fetch.
FIELD_COSTS: Mapping[str, int] = {
    "Query.messagingStats": 100,
    "MessagingStats.totals": 50,
}
PAGE_ARGUMENTS = ("first", "last")


class _Coster:
    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables

    def selection_set(self, parent: Any, selections: SelectionSetNode | None) -> int:
        if selections is None:
            return 0
        return sum(self.field(type_, node) for type_, node in self._fields(parent, selections))

    def _fields(
        self, parent: Any, selections: SelectionSetNode, seen: frozenset[str] = frozenset()
    ) -> Iterator[tuple[Any, FieldNode]]:
        for node in selections.selections:
            if isinstance(node, FieldNode):
                yield parent, node
            elif isinstance(node, InlineFragmentNode):
                type_ = parent
                if node.type_condition is not None:
                    type_ = self.schema.get_type(node.type_condition.name.value)
                yield from self._fields(type_, node.selection_set, seen)
            elif isinstance(node, FragmentSpreadNode):
                name = node.name.value
                fragment = self.fragments.get(name)
                if fragment is None or name in seen:
                    continue
                type_ = self.schema.get_type(fragment.type_condition.name.value)
                yield from self._fields(type_, fragment.selection_set, seen | {name})

    def field(self, parent: Any, node: FieldNode) -> int:
        if not isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            return 0
        definition: GraphQLField | None = parent.fields.get(node.name.value)
        if definition is None:  # __typename, introspection
            return 0 if node.selection_set is None else 1
        named = get_named_type(definition.type)
        if is_leaf_type(named):
            return 0
        own = FIELD_COSTS.get(f"{parent.name}.{node.name.value}", 1)
        return own + self._multiplier(parent, node, definition) * self.selection_set(
            named, node.selection_set
        )

    def _multiplier(self, parent: Any, node: FieldNode, definition: GraphQLField) -> int:
        if any(name in definition.args for name in PAGE_ARGUMENTS):
            sizes = [self._argument(node, definition, name) for name in PAGE_ARGUMENTS]
            given = [s for s in sizes if isinstance(s, int) and not isinstance(s, bool)]
            return max(max(given, default=DEFAULT_PAGE), 0)
        if not is_list_type(get_nullable_type(definition.type)):
            return 1
        if node.name.value == "edges" and parent.name.endswith("Connection"):
            return 1
        return DEFAULT_LIST_SIZE

    def _argument(self, node: FieldNode, definition: GraphQLField, name: str) -> Any:
        for argument in node.arguments or ():
            if argument.name.value == name:
                if isinstance(argument.value, VariableNode):
                    return self.variables.get(argument.value.name.value)
                return value_from_ast_untyped(argument.value)
        spec = definition.args.get(name)
        return None if spec is None else spec.default_value


def operation_cost(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any],
) -> int:
    defaults = {
        d.variable.name.value: value_from_ast_untyped(d.default_value)
        for d in operation.variable_definitions or ()
        if d.default_value is not None
    }
    root = schema.get_root_type(operation.operation)
    coster = _Coster(schema, fragments, {**defaults, **variables})
    return coster.selection_set(root, operation.selection_set)


class CostCache:
    """Costs already computed, by query text, operation name and variables (a bounded LRU
    shared by every operation of one schema): a repeated query is not walked again."""

    def __init__(self, maxsize: int = 1000) -> None:
        self.maxsize = maxsize
        self._costs: OrderedDict[tuple[str, str | None, str], int] = OrderedDict()

    def get(self, key: tuple[str, str | None, str]) -> int | None:
        cost = self._costs.get(key)
        if cost is not None:
            self._costs.move_to_end(key)
        return cost

    def put(self, key: tuple[str, str | None, str], cost: int) -> None:
        self._costs[key] = cost
        if len(self._costs) > self.maxsize:
            self._costs.popitem(last=False)


class QueryCostLimiter(SchemaExtension):
    """Answers an operation over `max_cost` with QUERY_TOO_COSTLY instead of running it."""

    def __init__(self, max_cost: int, cache: CostCache | None = None) -> None:
        super().__init__()
        self.max_cost = max_cost
        self.cache = cache or CostCache()

    def on_execute(self) -> Iterator[None]:
        ctx = self.execution_context
        document = ctx.graphql_document
        if document is not None and not ctx.result:
            definitions = document.definitions
            fragments = {
                d.name.value: d for d in definitions if isinstance(d, FragmentDefinitionNode)
            }
            operations = [d for d in definitions if isinstance(d, OperationDefinitionNode)]
            chosen = [
                op
                for op in operations
                if ctx.operation_name is None or (op.name and op.name.value == ctx.operation_name)
            ]
            if chosen:
                cost = self._cost(ctx.query or "", chosen[0], fragments, ctx.variables or {})
                if cost > self.max_cost:
                    error = GraphQLError(
                        f"This operation costs {cost}, more than the maximum of "
                        f"{self.max_cost}: ask for fewer items (smaller `first`) or fewer levels.",
                        extensions={
                            "code": "QUERY_TOO_COSTLY",
                            "cost": cost,
                            "maxCost": self.max_cost,
                        },
                    )
                    ctx.result = GraphQLExecutionResult(data=None, errors=[error])
        yield

    def _cost(
        self,
        query: str,
        operation: OperationDefinitionNode,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
    ) -> int:
        try:
            key = (
                query,
                self.execution_context.operation_name,
                json.dumps(variables, sort_keys=True),
            )
        except (TypeError, ValueError):  # variables holding uploads: no caching
            return operation_cost(
                self.execution_context.schema._schema, operation, fragments, variables
            )
        cost = self.cache.get(key)
        if cost is None:
            cost = operation_cost(
                self.execution_context.schema._schema, operation, fragments, variables
            )
            self.cache.put(key, cost)
        return cost
