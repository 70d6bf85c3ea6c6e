"""Operation limits in one linear pass: depth, aliases, repeated fields and cost.

`OperationLimitsRule` is a graphql-core validation rule that walks the operation once and
computes, for every selection set, its depth, its number of aliases, its cost and how many
times each response key is selected in it. A named fragment is walked once and its result
memoised, so `...F1 ...F1` costs a dictionary lookup, not a second walk: checking any
document is linear in its size, however its fragments nest. (Strawberry's depth and alias
rules and the earlier cost walk re-walked every spread: 20 fragments that each spread the
next twice took seconds.)

`OperationLimits`, a schema extension, runs this rule before graphql-core's own rules and
only runs those when the limits hold: a 100× repeated field is refused here instead of
being compared pairwise by `OverlappingFieldsCanBeMergedRule`. It is a validation step, so
it applies to every operation the schema runs — HTTP queries and mutations and websocket
subscriptions alike. Results are cached: the limits per (query text, operation name,
variables), graphql-core's rules per (query text, rules).

Costs (documented in docs/security.md):

- A scalar or enum field costs 0; any field returning an object costs 1 (or its entry in
  `FIELD_COSTS`) plus its children.
- A field with a `first` or `last` argument multiplies its children by that value (from
  the literal, the variable, or the argument's default; `DEFAULT_PAGE` when none).
- `edges` inside a connection is already counted by its `first`, so it multiplies by 1;
  any other list field multiplies its children by `DEFAULT_LIST_SIZE`.
- Fragments count where they are spread; every inline fragment is counted (an upper bound).
"""

from __future__ import annotations

import json
from collections.abc import Hashable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from cachetools import LRUCache
from graphql import (
    BREAK,
    DocumentNode,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
    ValidationContext,
    VariableNode,
    get_named_type,
    get_nullable_type,
    is_leaf_type,
    is_list_type,
    validate,
    value_from_ast_untyped,
)
from graphql.validation import ASTValidationRule
from strawberry.extensions import SchemaExtension
from strawberry.schema.validation_rules.maybe_null import MaybeNullValidationRule
from strawberry.schema.validation_rules.one_of import OneOfInputValidationRule

DEFAULT_PAGE = 20
DEFAULT_LIST_SIZE = 10
# Fields whose resolver does more work than one object fetch.
FIELD_COSTS: Mapping[str, int] = {
    "Query.messagingStats": 100,
    "MessagingStats.totals": 50,
}
PAGE_ARGUMENTS = ("first", "last")
# Reported costs are clamped so that clients parsing JSON numbers as doubles read them.
MAX_REPORTED_COST = 2**53 - 1
TOO_COMPLEX = "QUERY_TOO_COMPLEX"
TOO_COSTLY = "QUERY_TOO_COSTLY"
_SUGGESTION = "Did you mean "


def without_suggestions(message: str) -> str:
    """`message` without its "Did you mean …?" sentences (and the spaces before each).

    One pass with `str.find`, linear in the message: the regular expression
    `\\s*Did you mean [^?]*\\?` retried its `\\s*` from every space of a long run, and a
    client writes what these messages quote (40,000 spaces in a string literal held the
    event loop for 5 s)."""
    kept: list[str] = []
    pos = 0
    while (start := message.find(_SUGGESTION, pos)) >= 0:
        end = message.find("?", start)
        if end < 0:
            break  # no "?" after this one, so none after any later one either
        kept.append(message[pos:start].rstrip())
        pos = end + 1
    kept.append(message[pos:])
    return "".join(kept)


@dataclass(frozen=True, slots=True)
class Limits:
    max_depth: int = 10
    max_aliases: int = 30
    max_cost: int = 50_000
    # How often one response key may be selected in one selection set (fragments included).
    max_repeats: int = 30


@dataclass(slots=True)
class _Summary:
    depth: int = 0
    aliases: int = 0
    cost: int = 0
    keys: dict[str, int] = field(default_factory=dict)

    def add(self, other: _Summary) -> None:
        self.depth = max(self.depth, other.depth)
        self.aliases += other.aliases
        self.cost += other.cost
        for key, count in other.keys.items():
            self.keys[key] = self.keys.get(key, 0) + count


class _TooComplex(Exception):
    def __init__(self, error: GraphQLError) -> None:
        self.error = error


class _Walker:
    """One walk of an operation; fragment summaries are memoised for the walk."""

    def __init__(
        self,
        schema: GraphQLSchema,
        fragments: Mapping[str, FragmentDefinitionNode],
        variables: Mapping[str, Any],
        limits: Limits,
    ) -> None:
        self.schema = schema
        self.fragments = fragments
        self.variables = variables
        self.limits = limits
        self.memo: dict[str, _Summary] = {}
        self.walking: set[str] = set()

    def selection_set(self, parent: Any, selections: SelectionSetNode) -> _Summary:
        summary = _Summary()
        for node in selections.selections:
            if isinstance(node, FieldNode):
                summary.add(self.field(parent, node))
            elif isinstance(node, InlineFragmentNode):
                type_ = parent
                if node.type_condition is not None:
                    type_ = self.schema.get_type(node.type_condition.name.value)
                summary.add(self.selection_set(type_, node.selection_set))
            elif isinstance(node, FragmentSpreadNode):
                summary.add(self.fragment(node.name.value))
        for key, count in summary.keys.items():
            if count > self.limits.max_repeats:
                raise _TooComplex(
                    GraphQLError(
                        f"'{key}' is selected {count} times in one selection set; at most "
                        f"{self.limits.max_repeats} are allowed.",
                        selections,
                        extensions={"code": TOO_COMPLEX},
                    )
                )
        return summary

    def fragment(self, name: str) -> _Summary:
        memoised = self.memo.get(name)
        if memoised is not None:
            return memoised
        definition = self.fragments.get(name)
        if definition is None or name in self.walking:
            return _Summary()  # unknown or cyclic: graphql-core's own rules refuse it
        self.walking.add(name)
        type_ = self.schema.get_type(definition.type_condition.name.value)
        summary = self.selection_set(type_, definition.selection_set)
        self.walking.discard(name)
        self.memo[name] = summary
        return summary

    def field(self, parent: Any, node: FieldNode) -> _Summary:
        name = node.name.value
        definition = None
        if isinstance(parent, GraphQLObjectType | GraphQLInterfaceType):
            definition = parent.fields.get(name)
        named = None if definition is None else get_named_type(definition.type)
        child = (
            _Summary()
            if node.selection_set is None
            else self.selection_set(named, node.selection_set)
        )
        summary = _Summary(aliases=child.aliases + (node.alias is not None))
        summary.keys[node.alias.value if node.alias else name] = 1
        if node.selection_set is not None and not name.startswith("__"):
            summary.depth = 1 + child.depth
        if definition is None:  # __typename, introspection, or unknown (refused later)
            summary.cost = 0 if node.selection_set is None else 1
        elif named is not None and not is_leaf_type(named):
            own = FIELD_COSTS.get(f"{parent.name}.{name}", 1)
            summary.cost = own + self._multiplier(parent, node, definition) * child.cost
        return summary

    def _multiplier(self, parent: Any, node: FieldNode, definition: Any) -> int:
        if any(name in definition.args for name in PAGE_ARGUMENTS):
            sizes = [self._argument(node, definition, name) for name in PAGE_ARGUMENTS]
            given = [s for s in sizes if isinstance(s, int) and not isinstance(s, bool)]
            return max(max(given, default=DEFAULT_PAGE), 0)
        if not is_list_type(get_nullable_type(definition.type)):
            return 1
        if node.name.value == "edges" and parent.name.endswith("Connection"):
            return 1
        return DEFAULT_LIST_SIZE

    def _argument(self, node: FieldNode, definition: Any, name: str) -> Any:
        for argument in node.arguments or ():
            if argument.name.value == name:
                if isinstance(argument.value, VariableNode):
                    return self.variables.get(argument.value.name.value)
                return value_from_ast_untyped(argument.value)
        spec = definition.args.get(name)
        return None if spec is None else spec.default_value


def check_operation(
    schema: GraphQLSchema,
    operation: OperationDefinitionNode,
    fragments: Mapping[str, FragmentDefinitionNode],
    variables: Mapping[str, Any],
    limits: Limits,
) -> GraphQLError | None:
    """The first limit `operation` breaks, as a coded GraphQL error, or None."""
    defaults = {
        d.variable.name.value: value_from_ast_untyped(d.default_value)
        for d in operation.variable_definitions or ()
        if d.default_value is not None
    }
    walker = _Walker(schema, fragments, {**defaults, **variables}, limits)
    root = schema.get_root_type(operation.operation)
    try:
        summary = walker.selection_set(root, operation.selection_set)
    except _TooComplex as refused:
        return refused.error
    label = operation.name.value if operation.name else "anonymous"
    if summary.depth > limits.max_depth:
        return GraphQLError(
            f"'{label}' exceeds maximum operation depth of {limits.max_depth}",
            operation,
            extensions={"code": TOO_COMPLEX},
        )
    if summary.aliases > limits.max_aliases:
        return GraphQLError(
            f"{summary.aliases} aliases found. Allowed: {limits.max_aliases}",
            operation,
            extensions={"code": TOO_COMPLEX},
        )
    if summary.cost > limits.max_cost:
        return GraphQLError(
            f"This operation costs {summary.cost}, more than the maximum of "
            f"{limits.max_cost}: ask for fewer items (smaller `first`) or fewer levels.",
            extensions={
                "code": TOO_COSTLY,
                "cost": min(summary.cost, MAX_REPORTED_COST),
                "maxCost": limits.max_cost,
            },
        )
    return None


def operation_limits_rule(
    limits: Limits, operation_name: str | None, variables: Mapping[str, Any]
) -> type[ASTValidationRule]:
    """The limits as a validation rule for one request (its operation name and variables)."""

    class OperationLimitsRule(ASTValidationRule):
        def enter_document(self, node: DocumentNode, *_: Any) -> Any:
            context = self.context
            assert isinstance(context, ValidationContext)
            fragments = {
                d.name.value: d for d in node.definitions if isinstance(d, FragmentDefinitionNode)
            }
            for definition in node.definitions:
                if not isinstance(definition, OperationDefinitionNode):
                    continue
                name = definition.name.value if definition.name else None
                if operation_name is not None and name != operation_name:
                    continue
                error = check_operation(context.schema, definition, fragments, variables, limits)
                if error is not None:
                    context.report_error(error)
                    break
            return BREAK

    return OperationLimitsRule


class ValidationCaches:
    """Bounded caches shared by every operation of one schema."""

    def __init__(self, maxsize: int = 1000) -> None:
        self.limits: LRUCache[Hashable, list[GraphQLError]] = LRUCache(maxsize)
        self.rules: LRUCache[Hashable, list[GraphQLError]] = LRUCache(maxsize)


class OperationLimits(SchemaExtension):
    """Validation: the limits first (one linear pass), then graphql-core's rules."""

    def __init__(self, limits: Limits, caches: ValidationCaches, *, suggestions: bool) -> None:
        self.limits = limits
        self.caches = caches
        self.hide_suggestions = not suggestions

    def on_operation(self) -> Iterator[None]:
        yield
        if not self.hide_suggestions:
            return
        # Variable values are coerced during execution, where Strawberry does not pass
        # graphql-core's `hide_suggestions`: strip what those errors suggest.
        ctx = self.execution_context
        errors = ctx.result.errors if ctx.result is not None else None
        for error in [*(errors or ()), *(ctx.pre_execution_errors or ())]:
            if _SUGGESTION in error.message:
                error.message = without_suggestions(error.message)

    def on_validate(self) -> Iterator[None]:
        ctx = self.execution_context
        document = ctx.graphql_document
        assert document is not None
        errors = self._limit_errors(document)
        if not errors:
            errors = self._rule_errors(document)
        ctx.pre_execution_errors = errors
        yield

    def _limit_errors(self, document: DocumentNode) -> list[GraphQLError]:
        ctx = self.execution_context
        variables = ctx.variables or {}
        key: Hashable = None
        if ctx.query is not None:
            try:
                key = (ctx.query, ctx.operation_name, json.dumps(variables, sort_keys=True))
            except (TypeError, ValueError):  # variables holding uploads: not cached
                key = None
        errors = None if key is None else self.caches.limits.get(key)
        if errors is None:
            rule = operation_limits_rule(self.limits, ctx.operation_name, variables)
            errors = validate(ctx.schema._schema, document, [rule])
            if key is not None:
                self.caches.limits[key] = errors
        return errors

    def _rule_errors(self, document: DocumentNode) -> list[GraphQLError]:
        ctx = self.execution_context
        rules = (*ctx.validation_rules, MaybeNullValidationRule, OneOfInputValidationRule)
        key = None if ctx.query is None else (ctx.query, rules)
        errors = None if key is None else self.caches.rules.get(key)
        if errors is None:
            errors = validate(
                ctx.schema._schema, document, rules, hide_suggestions=self.hide_suggestions
            )
            if key is not None:
                self.caches.rules[key] = errors
        return errors
