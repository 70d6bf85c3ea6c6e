"""A cheaper way to execute the commonest field: a plain attribute holding a scalar or enum.

graphql-core executes every field the same way: a resolve info object, argument values,
the resolver, then value completion. For a Strawberry field with no resolver, no
extensions and a leaf type, all that amounts to `getattr(source, python_name)` and the
type's `serialize`; an inbox page has ~150 such fields. `LeafFastPath.execute_field` does
just that, and hands everything else — a null, an awaitable, a failed serialisation, any
exception — back to graphql-core's own `execute_field`, so results and errors stay exactly
what they were.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import (
    GraphQLEnumType,
    GraphQLField,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLScalarType,
    Undefined,
)
from graphql.pyutils import Path
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.schema.schema_converter import GraphQLCoreConverter

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
        if manager is None or not manager.middlewares:
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
