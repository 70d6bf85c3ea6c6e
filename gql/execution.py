"""The executor Strawberry is given: compiled plans first, graphql-core otherwise.

`LiaisonExecutor.execute_operation` runs an operation from its compiled plan
(gql.compiled, docs/execution.md) when it has one and `LIAISON_EXECUTOR` allows, and as
graphql-core does otherwise; `execute_compiled` runs a plan outside Strawberry's pipeline.

When graphql-core executes, a cheaper way for the commonest field still applies: a plain
attribute holding a scalar or enum.

graphql-core executes every field the same way: a resolve info object, argument values,
the resolver, then value completion. For a Strawberry field with no resolver, no
extensions and a leaf type, all that amounts to `getattr(source, python_name)` and the
type's `serialize`; an inbox page has ~150 such fields. `LeafFastPath.execute_field` does
just that, and hands everything else — a null, an awaitable, a failed serialisation, any
exception — back to graphql-core's own `execute_field`, so results and errors stay exactly
what they were.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from copy import copy
from types import SimpleNamespace
from typing import Any

from graphql import (
    DocumentNode,
    ExecutionResult,
    FragmentDefinitionNode,
    GraphQLBoolean,
    GraphQLEnumType,
    GraphQLField,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    GraphQLSchema,
    OperationDefinitionNode,
    Undefined,
    default_field_resolver,
    default_type_resolver,
    parse,
    value_from_ast,
)
from graphql.execution.collect_fields import FragmentDetails
from graphql.execution.executor import CollectedErrors, Executor
from graphql.execution.values import VariableValues, get_variable_values
from graphql.pyutils import Path
from strawberry.execution.is_awaitable import optimized_is_awaitable
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter

from gql.compiled import CompiledExecution, Plan, PlanCache

# field -> (python attribute, serialize) when the fast path applies, else None.
_Plan = tuple[str, Callable[[Any], Any]] | None
_PLANS: dict[int, tuple[GraphQLField, _Plan]] = {}


def _plan(field: GraphQLField) -> _Plan:
    cached = _PLANS.get(id(field))
    if cached is not None and cached[0] is field:
        return cached[1]
    plan: _Plan = None
    definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    leaf = field.type.of_type if isinstance(field.type, GraphQLNonNull) else field.type
    if (
        getattr(field.resolve, "_is_default", False)
        and definition is not None
        and not definition.base_resolver
        and not definition.extensions
        and isinstance(leaf, GraphQLScalarType | GraphQLEnumType)
    ):
        plan = (definition.python_name, leaf.serialize)
    _PLANS[id(field)] = (field, plan)
    return plan


class LeafFastPath(StrawberryGraphQLCoreExecutionContext):
    leaf_fast_path = True  # False on the reference executor of the compare mode

    def build_per_event_executor(self, payload: Any) -> Any:
        # graphql-core copies the executor per subscription event and the copy shares its
        # cache of collected subfields, keyed by the ids of field nodes collected anew for
        # each event: without a cache of its own per event it grows by ~4 KB per event and
        # subscription, forever (3.3.0 and 3.3.2 alike).
        executor = super().build_per_event_executor(payload)
        executor._relevant_sub_fields = {}
        return executor

    def execute_field(
        self,
        parent_type: GraphQLObjectType,
        source: Any,
        field_details_list: Any,
        path: Path,
        position_context: Any = None,
    ) -> Any:
        manager = self.middleware_manager
        if self.leaf_fast_path and (manager is None or not manager.middlewares):
            field = self.schema.get_field(parent_type, field_details_list[0].node.name.value)
            plan = _plan(field) if field is not None else None
            if plan is not None:
                try:
                    value = getattr(source, plan[0])
                    if value is not None and not self.is_awaitable(value):
                        serialized = plan[1](value)
                        if serialized is not None and serialized is not Undefined:
                            return serialized
                except Exception:
                    pass
        return super().execute_field(
            parent_type, source, field_details_list, path, position_context
        )


# --- compiled plans (gql.compiled) ---------------------------------------------------------

COMPILED = "compiled"
GRAPHQL_CORE = "graphql-core"
COMPARE = "compare"
EXECUTORS = (COMPILED, GRAPHQL_CORE, COMPARE)

# Set on the context's extras by `LiaisonExecutor.execute_operation`: the operation it ran.
EXECUTED_OPERATION = "executed_operation"

# Differences the compare mode found (tests fail on any); also logged.
MISMATCHES: list[str] = []

log = logging.getLogger("liaison.execution")


def plan_cache(schema: GraphQLSchema) -> PlanCache:
    """The plans of one schema (kept on the schema object: plans hold its fields)."""
    cache: PlanCache | None = getattr(schema, "_liaison_plans", None)
    if cache is None:
        cache = PlanCache(maxsize=PLAN_CACHE_SIZE)
        schema._liaison_plans = cache  # type: ignore[attr-defined]
    return cache


PLAN_CACHE_SIZE = 1000


def record_mismatch(message: str) -> None:
    """A difference the compare mode found (gql.lane uses it too): logged, and the test
    that caused it fails (tests/conftest.py)."""
    log.error(message)
    MISMATCHES.append(message)


def _executor_mode(context: Any) -> str:
    settings = getattr(getattr(context, "rt", None), "settings", None)
    return str(getattr(settings, "executor", COMPILED))


class LiaisonExecutor(CompiledExecution, LeafFastPath):
    """Runs an operation from its compiled plan when it has one, else as graphql-core does.

    `LIAISON_EXECUTOR` chooses: `compiled` (default), `graphql-core` (plans off) or `compare`
    (tests: run both, return the compiled result, record any difference in MISMATCHES).
    """

    def execute_operation(self, serially: bool | None = None) -> Any:
        # What ran, for the known-document lane (gql.lane): only a validated document gets
        # this far.
        extras = getattr(self.context_value, "extras", None)
        if extras is not None:
            extras[EXECUTED_OPERATION] = self.operation
        plan = self._plan(serially)
        if plan is None:
            return super().execute_operation(serially)
        if _executor_mode(self.context_value) != COMPARE:
            return self.execute_plan(plan)
        reference = copy(self)
        reference.collected_errors = CollectedErrors()
        reference.leaf_fast_path = False
        compiled = self.execute_plan(plan)
        expected = Executor.execute_operation(reference, serially)
        if self.is_awaitable(compiled) or self.is_awaitable(expected):
            return self._compare_later(compiled, expected)
        _compare(self.operation, compiled, expected)
        return compiled

    async def _compare_later(self, compiled: Any, expected: Any) -> Any:
        if self.is_awaitable(compiled):
            compiled = await compiled
        if self.is_awaitable(expected):
            expected = await expected
        _compare(self.operation, compiled, expected)
        return compiled

    def _plan(self, serially: bool | None) -> Plan | None:
        if serially:
            return None
        manager = self.middleware_manager
        if manager is not None and manager.middlewares:
            return None
        if (
            self.abort_signal is not None
            or self.hooks is not None
            or not self.error_propagation
            or self.enable_early_execution
        ):
            return None
        if _executor_mode(self.context_value) == GRAPHQL_CORE:
            return None
        return plan_cache(self.schema).plan_for(self)


def _plain(result: Any) -> str:
    errors = [error.formatted for error in result.errors or ()]
    return json.dumps({"data": result.data, "errors": errors}, default=repr)


def _compare(operation: Any, compiled: Any, expected: Any) -> None:
    got, want = _plain(compiled), _plain(expected)
    if got != want:
        source = operation.loc.source.body if operation.loc else "?"
        message = f"compiled != graphql-core for {source!r}:\n  compiled: {got}\n  expected: {want}"
        record_mismatch(message)


def compile_document(schema: GraphQLSchema, body: str) -> int:
    """Build the plans of a document's operations ahead of its first request (start-up).

    Condition variables (`@skip`/`@include`) take their default values; other values get
    their plan on first use. Returns how many operations got a plan.
    """
    document = parse(body)
    fragment_definitions = {
        d.name.value: d for d in document.definitions if isinstance(d, FragmentDefinitionNode)
    }
    fragments = {name: FragmentDetails(d) for name, d in fragment_definitions.items()}
    built = 0
    for operation in document.definitions:
        if not isinstance(operation, OperationDefinitionNode):
            continue
        defaults = {
            v.variable.name.value: value_from_ast(v.default_value, GraphQLBoolean)
            for v in operation.variable_definitions or ()
            if v.default_value is not None
        }
        stand_in = SimpleNamespace(
            schema=schema,
            operation=operation,
            fragments=fragments,
            fragment_definitions=fragment_definitions,
            variable_values=VariableValues({}, defaults),
            hide_suggestions=False,
            field_resolver=default_field_resolver,
        )
        if plan_cache(schema).plan_for(stand_in) is not None:  # type: ignore[arg-type]
            built += 1
    return built


def plan_for(
    schema: GraphQLSchema,
    document: DocumentNode,
    operation_name: str | None = None,
    variables: Mapping[str, Any] | None = None,
) -> Plan | None:
    """The cached plan of a validated document's operation (built on first use), or None
    when graphql-core must execute it (see gql.compiled) or the variables do not coerce.

    Without a context, the plan decides no permission when built (every permission check
    runs when it executes): it may serve any viewer."""
    executor = LiaisonExecutor.build(
        schema,
        document,
        None,
        None,
        dict(variables or {}),
        operation_name,
        is_awaitable=optimized_is_awaitable,  # type: ignore[arg-type]
    )
    if isinstance(executor, list):
        return None
    return plan_cache(schema).plan_for(executor)


def execute_compiled(
    plan: Plan, root: Any, context: Any, variables: Mapping[str, Any] | VariableValues | None
) -> Any:
    """Execute a plan on `root` (an event, for a subscription) outside any Strawberry
    pipeline: an ExecutionResult, or an awaitable of one. `variables` are the raw request
    variables or graphql-core's coerced `VariableValues` (coerce once, reuse per event).

    The result is exactly graphql-core's for the same document, root and context; errors
    are neither masked nor logged here (do as the caller's pipeline does).
    """
    if not isinstance(variables, VariableValues):
        coerced = get_variable_values(
            plan.schema, plan.operation.variable_definitions or (), dict(variables or {})
        )
        if isinstance(coerced, list):
            return ExecutionResult(None, coerced)
        variables = coerced
    executor = LiaisonExecutor(
        plan.schema,
        plan.fragment_definitions,
        plan.fragments,
        root,
        context,
        plan.operation,
        variables,
        default_field_resolver,
        default_type_resolver,
        default_field_resolver,
        is_awaitable=optimized_is_awaitable,
    )
    return executor.execute_plan(plan)
