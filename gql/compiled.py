"""Compiled execution plans for documents seen before (see docs/execution.md).

graphql-core executes a document by walking it field by field on every request: it collects
the fields of each selection set, builds a resolve info, coerces arguments and dispatches on
the return type for every field of every object. For a document it has seen before, all of
that is known in advance except the data. On first use of a (document, operation, values of
the variables in `@skip`/`@include`), `build_plan` collects every selection set once, with
graphql-core's own `collect_fields`, and turns each field into a `FieldPlan`: a constant
(`__typename`), a plain attribute read (a Strawberry field without resolver or extension),
or a call of the field's resolver exactly as graphql-core makes it (resolve info, argument
values, the Strawberry wrapper with its extensions: a permission is checked by the same
`PermissionExtension` and denied with the same error). Each return type becomes a chain of
small completion functions (non-null, list, leaf, object, abstract).

Execution (`CompiledExecution._run_fields` and the completers) follows graphql-core's
`Executor` step for step — the same order of work, the same `handle_field_error`, the same
`CollectedErrors`, the same messages for nulls in non-null fields — so `data` and `errors`
are identical. Where a value takes an unusual shape (an async iterable for a list, an
`is_type_of` check, an awaitable type resolution), the completer hands that one value to
graphql-core's own `complete_value`. Whatever the compiler does not support (mutations,
introspection, middleware, abort signals, fragment variables, incremental delivery) makes
`plan_for` answer None, and graphql-core executes that operation as before.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Hashable
from collections.abc import Awaitable as AbcAwaitable
from types import CoroutineType, GeneratorType, SimpleNamespace
from typing import TYPE_CHECKING, Any, TypeGuard

from cachetools import LRUCache
from graphql import (
    DirectiveNode,
    GraphQLAbstractType,
    GraphQLEnumType,
    GraphQLError,
    GraphQLField,
    GraphQLInterfaceType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLResolveInfo,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLUnionType,
    OperationType,
    Undefined,
    VariableNode,
    Visitor,
    visit,
)
from graphql.execution.collect_fields import (
    FieldDetailsList,
    GroupedFieldSet,
    collect_fields,
    collect_subfields,
)
from graphql.execution.executor import Executor, collect_iterator_awaitables
from graphql.execution.values import get_argument_values
from graphql.pyutils import Path, gather_with_cancel, is_iterable
from strawberry.permission import PermissionExtension
from strawberry.schema.schema_converter import GraphQLCoreConverter

from gql.permissions import HasPermission

if TYPE_CHECKING:
    from graphql import FieldNode, OperationDefinitionNode

ResolveInfo = GraphQLResolveInfo[Any]

# What a completer gets: the executor, the field's resolve info (None for a plain attribute:
# built from the path when needed, see `_info`), the value's path, the value.
Completer = Callable[[Any, ResolveInfo | None, Path, Any], Any]

# Classes whose instances are neither awaitable nor exceptions, so that a value's class
# answers both questions with one dict lookup. (graphql-core's `is_awaitable` also looks for
# an `__await__` set on an instance; `await` itself ignores one, and so do we.)
_ORDINARY: dict[type, bool] = {}


def _ordinary(cls: type) -> bool:
    known = _ORDINARY.get(cls)
    if known is None:
        known = not (
            issubclass(cls, BaseException | CoroutineType | GeneratorType | AbcAwaitable)
            or hasattr(cls, "__await__")
        )
        if len(_ORDINARY) < 10_000:
            _ORDINARY[cls] = known
    return known


TYPENAME = 0  # `__typename`: a constant per parent type
LEAF = 1  # a plain attribute holding a scalar or an enum
ATTRIBUTE = 2  # a plain attribute holding anything else
RESOLVE = 3  # the field's resolver, called as graphql-core calls it
DIRECT = 4  # a Strawberry resolver taking only self/info: called without the wrapper

_MISSING: Any = object()


class Unsupported(Exception):
    """The document uses something the compiler leaves to graphql-core."""


class FieldPlan:
    __slots__ = (
        "args",
        "attr",
        "coerce",
        "complete",
        "details",
        "direct",
        "field_def",
        "field_name",
        "kind",
        "leaf_type",
        "name",
        "node",
        "nodes",
        "parent_name",
        "parent_type",
        "resolve",
        "return_type",
        "subs",
        "typename",
    )

    def __init__(self, name: str, parent_type: GraphQLObjectType, details: FieldDetailsList):
        self.name = name
        self.parent_type = parent_type
        self.parent_name = parent_type.name
        self.details = details
        self.node: FieldNode = details[0].node
        self.nodes = [d.node for d in details]
        self.field_name = self.node.name.value
        self.kind = RESOLVE
        self.attr = ""
        self.coerce: Callable[[Any], Any] | None = None
        self.leaf_type: GraphQLScalarType | GraphQLEnumType | None = None
        self.resolve: Callable[..., Any] | None = None
        self.direct: DirectCall | None = None
        self.args: dict[str, Any] | None = None  # None: coerce per execution
        self.typename = ""
        self.subs: list[ObjectPlan] = []  # the plans of its object values (per runtime type)
        self.field_def: GraphQLField
        self.return_type: GraphQLOutputType
        self.complete: Completer


class ObjectPlan:
    __slots__ = ("fields", "type")

    def __init__(self, type_: GraphQLObjectType, fields: list[FieldPlan]) -> None:
        self.type = type_
        self.fields = fields


class Plan:
    """The compiled form of one operation of one document, for one set of condition values."""

    __slots__ = ("fragment_definitions", "fragments", "operation", "root", "schema")

    def __init__(self, executor: Executor[Any], root: ObjectPlan) -> None:
        self.schema: GraphQLSchema = executor.schema
        self.operation: OperationDefinitionNode = executor.operation
        self.fragment_definitions = executor.fragment_definitions
        self.fragments = executor.fragments
        self.root = root


# --- building ---------------------------------------------------------------------------


def _definition(field_def: GraphQLField) -> Any:
    return (field_def.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)


def _without_exception_handlers(resolve: Callable[..., Any]) -> bool:
    """Strawberry's `_resolver` wrapper with no exception handler to apply."""
    code = getattr(resolve, "__code__", None)
    if code is None:
        return False
    cells = dict(zip(code.co_freevars, getattr(resolve, "__closure__", None) or (), strict=True))
    handlers = cells.get("field_exception_handlers")
    return handlers is not None and not handlers.cell_contents


def permitted_at_plan_time(field_def: GraphQLField, viewer: Any) -> bool:
    """True when the field's extensions are only `@requiresPermission` checks (one
    PermissionExtension of `HasPermission`s) and the viewer passes every one of them.

    `HasPermission` depends on nothing but `viewer.permissions` (gql.permissions), which is
    part of every plan's key: the field then runs as if it had no extension. A denial is
    never decided here: the field keeps its extension, which raises its own error.
    """
    definition = _definition(field_def)
    if definition is None or viewer is None or len(definition.extensions) != 1:
        return False
    extension = definition.extensions[0]
    return (
        type(extension) is PermissionExtension
        and bool(extension.permissions)
        and all(
            type(p) is HasPermission and viewer.can(p.permission) for p in extension.permissions
        )
    )


def _is_plain_attribute(field_def: GraphQLField, permitted: bool = False) -> str | None:
    """The Python attribute a field reads when Strawberry would do nothing but `getattr`
    (`permitted`: its only extensions are permission checks that pass)."""
    definition = _definition(field_def)
    resolve = field_def.resolve
    if (
        definition is None
        or resolve is None
        or definition.base_resolver is not None
        or definition.default_resolver is not getattr
    ):
        return None
    if permitted:
        # Strawberry's sync wrapper: extensions, then `getattr` (no exception handlers).
        if resolve.__name__ != "_resolver" or not _without_exception_handlers(resolve):
            return None
    elif (
        resolve.__name__ != "_get_basic_result"
        or not getattr(resolve, "_is_default", False)
        or definition.extensions
    ):
        return None
    return str(definition.python_name)


class DirectCall:
    __slots__ = ("field", "function", "info_class", "info_name", "takes_self")

    def __init__(
        self,
        function: Callable[..., Any],
        takes_self: bool,
        info_name: str | None,
        info_class: Any,
        field: Any,
    ) -> None:
        self.function = function
        self.takes_self = takes_self
        self.info_name = info_name
        self.info_class = info_class
        self.field = field

    def __call__(self, source: Any, info: ResolveInfo) -> Any:
        kwargs = {}
        if self.info_name is not None:
            kwargs[self.info_name] = self.info_class(_raw_info=info, _field=self.field)
        if self.takes_self:
            return self.function(source, **kwargs)
        return self.function(**kwargs)


def _direct_resolver(
    schema: GraphQLSchema, field_def: GraphQLField, permitted: bool = False
) -> DirectCall | None:
    """(function, takes self, name of its info parameter, Info class) of a Strawberry
    resolver that its wrapper would call with nothing but `self` and `info`.

    For a field without arguments, extensions or exception handlers, Strawberry's wrapper
    (`GraphQLCoreConverter.from_resolver`) makes a `strawberry.Info` of the resolve info,
    converts no arguments and calls the function with the source as `self` and the info;
    calling the function so directly is the same call without the wrapper's layers.
    """
    definition = (field_def.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    resolve = field_def.resolve
    owner = (schema.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    if definition is None or resolve is None or owner is None:
        return None
    resolver = definition.base_resolver
    if (
        resolver is None
        or (definition.extensions and not permitted)
        or definition.arguments
        or getattr(resolve, "__name__", "") not in ("_resolver", "_async_resolver")
        or resolver.parent_parameter is not None
        or resolver.root_parameter is not None
    ):
        return None
    if not _without_exception_handlers(resolve):
        return None
    info = resolver.info_parameter
    return DirectCall(
        resolver.wrapped_func,
        resolver.self_parameter is not None,
        info.name if info is not None else None,
        owner.config.info_class,
        definition,
    )


class _Builder:
    def __init__(self, executor: Executor[Any], decide_permissions: bool) -> None:
        self.ex = executor
        self.schema: GraphQLSchema = executor.schema
        self.viewer = viewer_of(executor) if decide_permissions else None

    def root(self) -> ObjectPlan:
        ex = self.ex
        root_type = self.schema.get_root_type(ex.operation.operation)
        if root_type is None:
            raise Unsupported("no root type")
        collected = collect_fields(
            self.schema,
            ex.fragments,
            ex.variable_values,
            root_type,
            ex.operation,
            ex.hide_suggestions,
        )
        if collected.new_defer_usages or collected.forbidden_directive_instances:
            raise Unsupported("incremental delivery")
        return self.object_plan(root_type, collected.grouped_field_set)

    def object_plan(self, type_: GraphQLObjectType, grouped: GroupedFieldSet) -> ObjectPlan:
        fields = []
        for name, details in grouped.items():
            plan = self.field_plan(type_, name, details)
            if plan is not None:
                fields.append(plan)
        return ObjectPlan(type_, fields)

    def sub_plan(self, type_: GraphQLObjectType, details: FieldDetailsList) -> ObjectPlan:
        ex = self.ex
        collected = collect_subfields(
            self.schema,
            ex.fragments,
            ex.variable_values,
            ex.operation,
            type_,
            details,
            ex.hide_suggestions,
        )
        if collected.new_defer_usages or collected.forbidden_directive_instances:
            raise Unsupported("incremental delivery")
        return self.object_plan(type_, collected.grouped_field_set)

    def field_plan(
        self, parent_type: GraphQLObjectType, name: str, details: FieldDetailsList
    ) -> FieldPlan | None:
        if any(d.fragment_variable_values is not None for d in details):
            raise Unsupported("fragment variables")
        plan = FieldPlan(name, parent_type, details)
        field_def = self.schema.get_field(parent_type, plan.field_name)
        if field_def is None:
            return None  # graphql-core leaves it out of the result too
        if plan.field_name in ("__schema", "__type"):
            raise Unsupported("introspection")
        plan.field_def = field_def
        plan.return_type = field_def.type
        if plan.field_name == "__typename":
            plan.kind = TYPENAME
            plan.typename = parent_type.name
            plan.complete = self.completer(field_def.type, plan)
            return plan
        permitted = permitted_at_plan_time(field_def, self.viewer)
        attr = _is_plain_attribute(field_def, permitted)
        nullable = (
            field_def.type.of_type if isinstance(field_def.type, GraphQLNonNull) else field_def.type
        )
        if attr is not None:
            plan.attr = attr
            plan.kind = ATTRIBUTE
            if isinstance(nullable, GraphQLScalarType | GraphQLEnumType):
                plan.kind = LEAF
                plan.leaf_type = nullable
                plan.coerce = nullable.coerce_output_value
        else:
            plan.resolve = field_def.resolve or self.ex.field_resolver
            if not field_def.args and not plan.node.arguments:
                plan.args = {}
                plan.direct = _direct_resolver(self.schema, field_def, permitted)
                if plan.direct is not None:
                    plan.kind = DIRECT
        plan.complete = self.completer(field_def.type, plan)
        return plan

    def completer(self, type_: GraphQLOutputType, plan: FieldPlan) -> Completer:
        if isinstance(type_, GraphQLNonNull):
            return _non_null(self.completer(type_.of_type, plan), plan)
        if isinstance(type_, GraphQLList):
            return _list(self.completer(type_.of_type, plan), type_, plan)
        if isinstance(type_, GraphQLScalarType | GraphQLEnumType):
            return _leaf(type_)
        if isinstance(type_, GraphQLObjectType):
            sub = self.sub_plan(type_, plan.details)
            plan.subs.append(sub)
            return _object(type_, sub, plan)
        if isinstance(type_, GraphQLUnionType | GraphQLInterfaceType):
            plans = {
                t.name: self.sub_plan(t, plan.details)
                for t in self.schema.get_possible_types(type_)
            }
            plan.subs.extend(plans.values())
            return _abstract(type_, plans, plan)
        raise Unsupported(f"output type {type_}")


def build_plan(executor: Executor[Any], decide_permissions: bool = False) -> Plan:
    """Compile the executor's operation; raises Unsupported for what is left to graphql-core.

    `decide_permissions`: fields whose only extension is a permission check that the
    viewer passes run without it (the plan is then only for this permission set)."""
    operation = executor.operation
    if operation.operation is OperationType.MUTATION:
        raise Unsupported("mutations run serially in graphql-core")
    return Plan(executor, _Builder(executor, decide_permissions).root())


def permission_decided_fields(schema: GraphQLSchema) -> frozenset[str]:
    """Names of the fields (on any type) whose plan changes when a permission is granted."""
    names = set()
    for type_ in schema.type_map.values():
        if not isinstance(type_, GraphQLObjectType) or type_.name.startswith("__"):
            continue
        for name, field_def in type_.fields.items():
            definition = _definition(field_def)
            if definition is None or not definition.extensions:
                continue
            everything = SimpleNamespace(can=lambda _permission: True)
            if permitted_at_plan_time(field_def, everything) and (
                _is_plain_attribute(field_def, True) is not None
                or (not field_def.args and _direct_resolver(schema, field_def, True) is not None)
            ):
                names.add(name)
    return frozenset(names)


KIND_NAMES = {TYPENAME: "typename", LEAF: "leaf", ATTRIBUTE: "attribute", RESOLVE: "resolve"}
KIND_NAMES[DIRECT] = "direct"


def describe(plan: Plan) -> dict[str, str]:
    """How each field of a plan runs, by `Type.field` path from the root: for docs and tests."""
    described: dict[str, str] = {}

    def walk(objects: ObjectPlan, prefix: str) -> None:
        for field in objects.fields:
            path = f"{prefix}{field.parent_name}.{field.name}"
            described[path] = KIND_NAMES[field.kind]
            for sub in field.subs:
                walk(sub, path + "/")

    walk(plan.root, "")
    return described


# --- completion (graphql-core's `complete_value`, one function per type) ------------------


def _non_null(inner: Completer, plan: FieldPlan) -> Completer:
    message = f"Cannot return null for non-nullable field {plan.parent_name}.{plan.field_name}."

    def complete_non_null(ex: Any, info: ResolveInfo | None, path: Path, value: Any) -> Any:
        if isinstance(value, Exception):
            raise value
        completed = inner(ex, info, path, value)
        if completed is None:
            raise TypeError(message)
        return completed

    return complete_non_null


def _leaf(type_: GraphQLScalarType | GraphQLEnumType) -> Completer:
    coerce = type_.coerce_output_value

    def complete_leaf(ex: Any, info: ResolveInfo | None, path: Path, value: Any) -> Any:
        if isinstance(value, Exception):
            raise value
        if value is None or value is Undefined:
            return None
        coerced = coerce(value)
        if coerced is Undefined or coerced is None:
            return Executor.complete_leaf_value(type_, value)  # raises graphql-core's error
        return coerced

    return complete_leaf


def _list(item: Completer, type_: GraphQLList[Any], plan: FieldPlan) -> Completer:
    item_type = type_.of_type
    message = (
        f"Expected Iterable, but did not find one for field '{plan.parent_name}.{plan.field_name}'."
    )

    def complete_list(ex: Any, info: ResolveInfo | None, path: Path, value: Any) -> Any:
        if isinstance(value, Exception):
            raise value
        if value is None or value is Undefined:
            return None
        if ex.is_async_iterable(value):
            info = info or ex._info(plan, path)
            return ex.complete_value(type_, plan.details, info, path, value, None)
        if not is_iterable(value):
            raise GraphQLError(message)
        return ex._complete_items(item, item_type, plan, info, path, value)

    return complete_list


def _object(type_: GraphQLObjectType, sub: ObjectPlan, plan: FieldPlan) -> Completer:
    def complete_object(ex: Any, info: ResolveInfo | None, path: Path, value: Any) -> Any:
        if isinstance(value, Exception):
            raise value
        if value is None or value is Undefined:
            return None
        if type_.is_type_of:
            info = info or ex._info(plan, path)
            return ex.complete_value(type_, plan.details, info, path, value, None)
        return ex._run_fields(sub, value, path)

    return complete_object


def _abstract(
    type_: GraphQLAbstractType, plans: dict[str, ObjectPlan], plan: FieldPlan
) -> Completer:
    def complete_abstract(ex: Any, info: ResolveInfo | None, path: Path, value: Any) -> Any:
        if isinstance(value, Exception):
            raise value
        if value is None or value is Undefined:
            return None
        info = info or ex._info(plan, path)
        resolve_type = type_.resolve_type or ex.type_resolver
        runtime = resolve_type(value, info, type_)
        if ex.is_awaitable(runtime):
            return _complete_awaited_type(ex, type_, plans, plan, info, path, value, runtime)
        object_type = ex.ensure_valid_runtime_type(runtime, type_, plan.details, info, value)
        sub = plans.get(object_type.name)
        if sub is None or object_type.is_type_of:
            return ex.complete_object_value(object_type, plan.details, info, path, value, None)
        return ex._run_fields(sub, value, path)

    return complete_abstract


async def _complete_awaited_type(
    ex: Any,
    type_: GraphQLAbstractType,
    plans: dict[str, ObjectPlan],
    plan: FieldPlan,
    info: ResolveInfo,
    path: Path,
    value: Any,
    runtime: Any,
) -> Any:
    object_type = ex.ensure_valid_runtime_type(
        await ex.with_abort_signal(runtime), type_, plan.details, info, value
    )
    completed = ex.complete_object_value(object_type, plan.details, info, path, value, None)
    if ex.is_awaitable(completed):
        return await completed
    return completed


# --- execution ----------------------------------------------------------------------------


class CompiledExecution:
    """Mixed into the graphql-core executor: runs a `Plan` with the executor's own state."""

    # Provided by graphql-core's Executor.
    is_awaitable: Callable[[Any], TypeGuard[Awaitable[Any]]]
    collected_errors: Any
    root_value: Any
    handle_field_error: Callable[..., None]
    build_resolve_info: Callable[..., ResolveInfo]
    settle_in_background: Callable[..., None]
    complete_awaitable_list_item_value: Callable[..., Any]
    build_response: Callable[..., Any]
    finish: Callable[..., Any]
    with_abort_signal: Callable[..., Any]
    variable_values: Any
    hide_suggestions: bool

    def execute_plan(self, plan: Plan) -> Any:
        """graphql-core's `execute_operation` with the plan's root fields."""
        try:
            result = self._run_fields(plan.root, self.root_value, None)
            if self.is_awaitable(result):
                return self._await_root(result)
            data = result
        except GraphQLError as error:
            self.collected_errors.add(error, None)
            return self.finish(self.build_response(None))
        return self.finish(self.build_response(data))

    async def _await_root(self, result: Any) -> Any:
        try:
            data = await result
        except GraphQLError as error:
            self.collected_errors.add(error, None)
            return self.build_response(None)
        return self.build_response(data)

    def _info(self, field: FieldPlan, path: Path) -> ResolveInfo:
        """The resolve info of `field`, whose value (or an item of it) is at `path`."""
        while path.typename is None:  # list indices up to the field
            path = path.prev  # type: ignore[assignment]
        return self.build_resolve_info(field.field_def, field.nodes, field.parent_type, path)

    def _run_fields(self, plan: ObjectPlan, source: Any, path: Path | None) -> Any:
        """graphql-core's `execute_fields`, with plain leaf attributes inline."""
        results: dict[str, Any] = {}
        is_awaitable = self.is_awaitable
        awaitable_fields: list[str] = []
        try:
            for field in plan.fields:
                kind = field.kind
                if kind == LEAF:
                    # The common case at no cost; anything unusual (null, error, awaitable)
                    # takes the full path below, which reads the attribute again.
                    try:
                        value = getattr(source, field.attr)
                    except Exception:
                        value = _MISSING
                    if value is not None and value is not _MISSING and _ordinary(type(value)):
                        try:
                            coerced = field.coerce(value)  # type: ignore[misc]
                        except Exception:
                            coerced = None
                        if coerced is not None and coerced is not Undefined:
                            results[field.name] = coerced
                            continue
                elif kind == TYPENAME:
                    results[field.name] = field.typename
                    continue
                result = self._execute_field(field, source, path)
                results[field.name] = result
                if not _ordinary(type(result)) and is_awaitable(result):
                    awaitable_fields.append(field.name)
        except Exception:
            if awaitable_fields:
                self.settle_in_background([results[name] for name in awaitable_fields])
            raise

        if not awaitable_fields:
            return results
        return self._gather_fields(results, awaitable_fields)

    async def _gather_fields(self, results: dict[str, Any], names: list[str]) -> dict[str, Any]:
        if len(names) == 1:
            name = names[0]
            results[name] = await results[name]
        else:
            awaited = await gather_with_cancel(*(results[name] for name in names))
            results.update(zip(names, awaited, strict=True))
        return results

    def _execute_field(self, field: FieldPlan, source: Any, parent: Path | None) -> Any:
        """graphql-core's `execute_field` for one planned field."""
        path = Path(parent, field.name, field.parent_name)
        info = None
        try:
            if field.kind == DIRECT:
                info = self.build_resolve_info(
                    field.field_def, field.nodes, field.parent_type, path
                )
                result = field.direct(source, info)  # type: ignore[misc]
            elif field.kind == RESOLVE:
                info = self.build_resolve_info(
                    field.field_def, field.nodes, field.parent_type, path
                )
                args = field.args
                if args is None:
                    args = get_argument_values(
                        field.field_def,
                        field.node,
                        self.variable_values,
                        None,
                        self.hide_suggestions,
                    )
                result = field.resolve(source, info, **args)  # type: ignore[misc]
            elif field.kind == TYPENAME:
                result = field.typename
            else:
                result = getattr(source, field.attr)

            if not _ordinary(type(result)) and self.is_awaitable(result):
                return self._complete_awaitable(field, info, path, result)

            completed = field.complete(self, info, path, result)
            if not _ordinary(type(completed)) and self.is_awaitable(completed):
                return self._await_completed(field, path, completed)
        except Exception as raw_error:
            self.handle_field_error(raw_error, field.return_type, field.details, path)
            return None
        return completed

    async def _await_completed(self, field: FieldPlan, path: Path, completed: Any) -> Any:
        try:
            return await completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, field.return_type, field.details, path)
            return None

    async def _complete_awaitable(
        self, field: FieldPlan, info: ResolveInfo | None, path: Path, result: Any
    ) -> Any:
        """graphql-core's `complete_awaitable_value`."""
        try:
            resolved = await self.with_abort_signal(result)
            completed = field.complete(self, info, path, resolved)
            if self.is_awaitable(completed):
                completed = await completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, field.return_type, field.details, path)
            completed = None
        return completed

    def _complete_items(
        self,
        complete_item: Completer,
        item_type: GraphQLOutputType,
        field: FieldPlan,
        info: ResolveInfo | None,
        path: Path,
        items: Any,
    ) -> Any:
        """graphql-core's `complete_iterable_value` (without @stream, which we do not serve)."""
        is_awaitable = self.is_awaitable
        completed_results: list[Any] = []
        append = completed_results.append
        awaitable_indices: list[int] = []
        iterator = iter(items)
        index = 0
        try:
            for item in iterator:
                item_path = path.add_key(index, None)
                if not _ordinary(type(item)) and is_awaitable(item):
                    append(
                        self.complete_awaitable_list_item_value(
                            item,
                            item_type,
                            field.details,
                            info or self._info(field, path),
                            item_path,
                            None,
                        )
                    )
                    awaitable_indices.append(index)
                else:
                    try:
                        completed = complete_item(self, info, item_path, item)
                        if not _ordinary(type(completed)) and is_awaitable(completed):
                            append(self._await_item(completed, item_type, field, item_path))
                            awaitable_indices.append(index)
                        else:
                            append(completed)
                    except Exception as raw_error:
                        self.handle_field_error(raw_error, item_type, field.details, item_path)
                        append(None)
                index += 1
        except Exception:
            pending = [completed_results[i] for i in awaitable_indices]
            pending.extend(collect_iterator_awaitables(iterator, is_awaitable))
            if pending:
                self.settle_in_background(pending)
            raise

        if not awaitable_indices:
            return completed_results
        return self._gather_items(completed_results, awaitable_indices)

    async def _await_item(
        self, completed: Any, item_type: GraphQLOutputType, field: FieldPlan, item_path: Path
    ) -> Any:
        try:
            return await completed
        except Exception as raw_error:
            self.handle_field_error(raw_error, item_type, field.details, item_path)
            return None

    async def _gather_items(self, results: list[Any], indices: list[int]) -> list[Any]:
        if len(indices) == 1:
            index = indices[0]
            results[index] = await results[index]
        else:
            awaited = await gather_with_cancel(*(results[i] for i in indices))
            for index, value in zip(indices, awaited, strict=True):
                results[index] = value
        return results


# --- the cache ----------------------------------------------------------------------------


class _ConditionVariables(Visitor):
    def __init__(self) -> None:
        super().__init__()
        self.names: set[str] = set()
        self.fields: set[str] = set()

    def enter_field(self, node: FieldNode, *_: Any) -> None:
        self.fields.add(node.name.value)

    def enter_directive(self, node: DirectiveNode, *_: Any) -> None:
        if node.name.value in ("skip", "include"):
            for argument in node.arguments or ():
                if isinstance(argument.value, VariableNode):
                    self.names.add(argument.value.name.value)


def condition_variables(executor: Executor[Any]) -> tuple[tuple[str, ...], set[str]]:
    """Variables whose values decide an `@skip` or `@include` of the operation, and the
    names of the fields the document selects."""
    collector = _ConditionVariables()
    visit(executor.operation, collector)
    for fragment in executor.fragment_definitions.values():
        visit(fragment, collector)
    return tuple(sorted(collector.names)), collector.fields


def viewer_of(executor: Executor[Any]) -> Any:
    return getattr(getattr(executor, "context_value", None), "viewer_or_none", None)


def permission_key(executor: Executor[Any]) -> Hashable:
    """What plan-time permission decisions depend on: the viewer's permission set."""
    viewer = viewer_of(executor)
    return None if viewer is None else frozenset(viewer.permissions)


class PlanCache:
    """A bounded LRU of plans per (document text, operation name, condition values)."""

    def __init__(self, maxsize: int = 1000) -> None:
        self.maxsize = maxsize
        # document -> (condition variables, whether its plans depend on the permission set)
        self._documents: LRUCache[Hashable, tuple[tuple[str, ...], bool]] = LRUCache(maxsize)
        self._decided: dict[int, tuple[GraphQLSchema, frozenset[str]]] = {}
        self._plans: LRUCache[Hashable, Plan | None] = LRUCache(maxsize)

    def __len__(self) -> int:
        return len(self._plans)

    def plan_for(self, executor: Executor[Any]) -> Plan | None:
        """The operation's plan, built on first use; None when graphql-core must run it."""
        operation = executor.operation
        if operation.loc is None:
            return None
        document = (
            operation.loc.source.body,
            operation.name.value if operation.name else None,
            operation.loc.start,
        )
        entry = self._documents.get(document)
        if entry is None:
            names, fields = condition_variables(executor)
            entry = (names, not fields.isdisjoint(self._decided_fields(executor.schema)))
            self._documents[document] = entry
        names, by_permissions = entry
        coerced = executor.variable_values.coerced
        conditions = tuple(coerced.get(name) for name in names)
        key = (document, conditions, permission_key(executor) if by_permissions else None)
        plan: Plan | None = self._plans.get(key, _MISSING)
        if plan is _MISSING:
            try:
                plan = build_plan(executor, decide_permissions=by_permissions)
            except Unsupported:
                plan = None
            self._plans[key] = plan
        return plan

    def _decided_fields(self, schema: GraphQLSchema) -> frozenset[str]:
        known = self._decided.get(id(schema))
        if known is None or known[0] is not schema:
            known = (schema, permission_decided_fields(schema))
            self._decided[id(schema)] = known
        return known[1]
