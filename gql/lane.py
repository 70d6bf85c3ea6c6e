"""The known-document lane: a query the server has already run, answered without
Strawberry's HTTP view and extension pipeline (docs/execution.md).

Strawberry's path costs ~0.4-0.7 ms of CPU per request around execution: the request
adapter, the JSON body through `json.loads`, an execution context, eight extension objects
with their generator hooks, the parse and validation cache look-ups. For a document that
already parsed, validated and executed as a query, nothing of that can change the answer
but the variables. `KnownDocumentLane.answer` does only what still can:

1. the body through orjson: an object with `query` (or a persisted-query hash, resolved by
   the same `PersistedQueries`), `variables`, `operationName`, `extensions`;
2. the (query text, operation name) looked up among the documents this process ran as
   queries (registered after the normal path executed them: parsed, validated, a query);
3. the document from Strawberry's own parse cache (the same LRU as `DocumentCache`), the
   operation limits for these variables from the same cache as `OperationLimits`;
4. execution by graphql-core's `execute` with the schema's executor class — the compiled
   plan when there is one, exactly as in the normal path;
5. what the extensions do after execution, in their order: errors logged
   (`LiaisonSchema.process_errors`), suggestions stripped (`OperationLimits`), outages typed
   503 (`DependencyFaults`), unexpected errors masked (`MaskErrors`), metrics and the access
   log's operation name (`OperationObserver`);
6. the body encoded by the view's own `process_result` and `create_response`.

Anything else — an unknown document, a body orjson refuses or that is not a single
operation, variables that do not coerce, a limit exceeded, a platform or anonymous caller,
a streaming Accept, a multipart body — returns None and the request takes the normal path,
which answers it (errors included) as it always did. Authentication, CSRF and body limits
happen before the lane, in the same code for both paths.

With `LIAISON_KNOWN_DOCUMENT_LANE=compare` (tests/test_lane.py) the lane runs without side
effects (no log, no metrics), the normal path answers, and any difference in status, headers
or body is recorded in `gql.execution.MISMATCHES`.
"""

from __future__ import annotations

import inspect
import json
import time
from collections.abc import Hashable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson
from cachetools import LRUCache
from graphql import (
    DocumentNode,
    ExecutionResult,
    GraphQLError,
    OperationDefinitionNode,
    OperationType,
    execute,
    validate,
)
from graphql.execution import MiddlewareManager
from starlette.requests import Request
from starlette.responses import Response
from strawberry.execution.is_awaitable import optimized_is_awaitable
from strawberry.extensions.parser_cache import _get_parse_cache
from strawberry.types import ExecutionResult as StrawberryResult

from gql.faults import rewrite_outages
from gql.observability import record_operation, root_fields
from gql.query_limits import _SUGGESTION, operation_limits_rule, without_suggestions

if TYPE_CHECKING:
    from gql.schema import LiaisonSchema, PipelineParts
    from gql.view import LiaisonGraphQL

LANE_CACHE_SIZE = 1000


@dataclass(frozen=True, slots=True)
class _Request:
    query: str | None
    variables: dict[str, Any] | None
    operation_name: str | None
    extensions: dict[str, Any] | None


@dataclass(slots=True)
class LaneRun:
    """What `log_operation_errors` reads of an execution context."""

    query: str
    operation_name: str | None


class KnownDocumentLane:
    def __init__(self, view: LiaisonGraphQL, schema: LiaisonSchema) -> None:
        self.view = view
        self.schema = schema
        parts = schema.pipeline
        assert parts is not None, "gql.schema.build_schema makes the schema's PipelineParts"
        self.parts: PipelineParts = parts
        self.parse = _get_parse_cache(parts.parse_cache_size)
        self.known: LRUCache[tuple[str, str | None], bool] = LRUCache(LANE_CACHE_SIZE)
        self.answered = 0  # requests the lane answered (tests read it)

    # --- the request ------------------------------------------------------------------

    @staticmethod
    def _read(body: bytes) -> _Request | None:
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            return None
        if not isinstance(data, dict):
            return None
        query = data.get("query")
        variables = data.get("variables")
        operation_name = data.get("operationName")
        extensions = data.get("extensions")
        if (
            not isinstance(query, str | None)
            or not isinstance(variables, dict | None)
            or not isinstance(operation_name, str | None)
            or not isinstance(extensions, dict | None)
        ):
            return None
        return _Request(query, variables, operation_name, extensions)

    def key(self, request: Request, raw: bytes) -> tuple[_Request, str] | None:
        """The parsed request and its query text, when the lane may answer it."""
        read = self._read(raw)
        if read is None:
            return None
        # The same resolution (and the same errors) as the normal path's parse_http_body.
        query = self.view.persisted.resolve(read.query, read.extensions)
        if not isinstance(query, str) or (query, read.operation_name) not in self.known:
            return None
        return read, query

    def register(self, query: str | None, operation_name: Any, operation: Any) -> None:
        """After the normal path executed `operation` of `query`: a query is known."""
        if (
            isinstance(query, str)
            and isinstance(operation_name, str | None)
            and isinstance(operation, OperationDefinitionNode)
            and operation.operation is OperationType.QUERY
        ):
            self.known[(query, operation_name)] = True

    # --- the answer -------------------------------------------------------------------

    def _document(self, query: str) -> DocumentNode | None:
        try:
            document: DocumentNode = self.parse(query, max_tokens=self.parts.max_tokens)
        except GraphQLError:
            return None
        return document

    @staticmethod
    def _operation_name(document: DocumentNode, provided: str | None) -> str | None:
        """Strawberry's `ExecutionContext.operation_name`: the one given, else the first
        operation's."""
        if provided is not None:
            return provided
        for definition in document.definitions:
            if isinstance(definition, OperationDefinitionNode):
                return definition.name.value if definition.name else None
        return None

    def _within_limits(
        self, query: str, name: str | None, document: DocumentNode, variables: Any
    ) -> bool:
        """`OperationLimits._limit_errors`, same cache and key: True when there are none."""
        values = variables or {}
        key: Hashable = None
        try:
            key = (query, name, json.dumps(values, sort_keys=True))
        except (TypeError, ValueError):
            key = None
        caches = self.parts.caches
        errors = None if key is None else caches.limits.get(key)
        if errors is None:
            rule = operation_limits_rule(self.parts.limits, name, values)
            errors = validate(self.schema._schema, document, [rule])
            if key is not None:
                caches.limits[key] = errors
        return not errors

    async def answer(
        self, request: Request, read: _Request, query: str, *, dry: bool = False
    ) -> Response | None:
        """The response of the normal path for a known document, or None (take that path).
        `dry`: no logs, no metrics (the compare mode runs the normal path afterwards)."""
        started = time.perf_counter()
        document = self._document(query)
        if document is None:
            return None
        name = self._operation_name(document, read.operation_name)
        if not self._within_limits(query, name, document, read.variables):
            return None
        view = self.view
        sub_response = await view.get_sub_response(request)
        context = await view.get_context(request, response=sub_response)
        result: Any = execute(
            self.schema._schema,
            document,
            root_value=None,
            context_value=context,
            variable_values=read.variables,
            operation_name=read.operation_name,
            middleware=MiddlewareManager(),
            executor_class=self.schema.execution_context_class,
            is_awaitable=optimized_is_awaitable,  # type: ignore[arg-type]
            operation_extensions=read.extensions,
        )
        if inspect.isawaitable(result):
            result = await result
        assert isinstance(result, ExecutionResult)
        if result.data is None and result.errors and all(e.path is None for e in result.errors):
            return None  # the variables did not coerce: nothing ran, the normal path answers
        errors = result.errors
        if errors:
            # Strawberry's Schema._process_errors: suggestions out, then the log.
            if self.schema.config.disable_field_suggestions:
                for error in errors:
                    self.schema.remove_field_suggestion(error)
            if not dry:
                self.schema.process_errors(errors, LaneRun(query, name))  # type: ignore[arg-type]
        if errors and self.parts.hide_suggestions:
            for error in errors:
                if _SUGGESTION in error.message:
                    error.message = without_suggestions(error.message)
        rewritten = rewrite_outages(errors, sub_response, log_outages=not dry)
        if rewritten is not None:
            errors = rewritten
        if errors:
            mask = self.parts.mask
            errors = [mask.anonymise_error(e) if mask.should_mask_error(e) else e for e in errors]
        if not dry:
            record_operation(
                name,
                OperationType.QUERY.value,
                root_fields(document, name, self.schema._schema),
                bool(errors),
                started,
                request,
            )
        self.answered += 1
        final = StrawberryResult(data=result.data, errors=errors or None)
        processed = await view.process_result(request, final)
        return view.create_response(processed, sub_response)
