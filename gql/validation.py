"""Validation that is cached where Strawberry's `ValidationCache` cannot hit.

`ValidationCache` keys its LRU on the parsed document and the operation's rule classes.
Two things defeat it: `QueryDepthLimiter` and `MaxAliasesLimiter` build a new rule class
per instance (we make one per operation), so every key is new; and the document is a
frozen dataclass tree whose hash is recomputed node by node on every lookup. Here the
limiters' rule classes are built once per schema, and results are keyed on the query text,
whose hash Python caches: the same text, schema and rules always validate the same way.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterator

from graphql import GraphQLError
from graphql.validation import ASTValidationRule
from strawberry.extensions import MaxAliasesLimiter, QueryDepthLimiter, SchemaExtension
from strawberry.schema.schema import validate_document

Key = tuple[str, tuple[type[ASTValidationRule], ...]]


def limiter_rules(max_depth: int, max_aliases: int) -> list[type[ASTValidationRule]]:
    """The depth and alias limits as rule classes, built once (add with AddValidationRules)."""
    return [
        *QueryDepthLimiter(max_depth=max_depth).validation_rules,
        *MaxAliasesLimiter(max_alias_count=max_aliases).validation_rules,
    ]


class ValidationResults:
    """A bounded LRU of validation errors per (query text, rule classes), for one schema."""

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._entries: OrderedDict[Key, list[GraphQLError]] = OrderedDict()

    def get(self, key: Key) -> list[GraphQLError] | None:
        errors = self._entries.get(key)
        if errors is not None:
            self._entries.move_to_end(key)
        return errors

    def put(self, key: Key, errors: list[GraphQLError]) -> None:
        self._entries[key] = errors
        if len(self._entries) > self.maxsize:
            self._entries.popitem(last=False)


class QueryTextValidationCache(SchemaExtension):
    def __init__(self, results: ValidationResults) -> None:
        self.results = results

    def on_validate(self) -> Iterator[None]:
        context = self.execution_context
        assert context.graphql_document is not None
        rules = context.validation_rules
        key = None if context.query is None else (context.query, rules)
        errors = None if key is None else self.results.get(key)
        if errors is None:
            errors = validate_document(context.schema._schema, context.graphql_document, rules)
            if key is not None:
                self.results.put(key, errors)
        context.pre_execution_errors = errors
        yield
