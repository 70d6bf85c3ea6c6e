"""Who may call what with a platform token (SPEC §8).

A platform token calls the provisioning mutations and nothing else: `PlatformScope` refuses
any other root field of its operations before they run, whatever a field's own checks are.
Users are kept out of the provisioning mutations by `platform_only()` on each of them.
Websockets never accept a platform token (services.auth.load_viewer refuses it).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import strawberry
from graphql import (
    ExecutionResult,
    FieldNode,
    FragmentDefinitionNode,
    FragmentSpreadNode,
    GraphQLError,
    InlineFragmentNode,
    OperationDefinitionNode,
    SelectionSetNode,
)
from strawberry.extensions import SchemaExtension
from strawberry.extensions.field_extension import FieldExtension
from strawberry.permission import BasePermission, PermissionExtension

PLATFORM_FIELDS = frozenset({"upsertAccounts", "upsertUsers", "upsertPartnerships", "__typename"})


def platform_denied() -> GraphQLError:
    return GraphQLError(
        "A platform token may call only upsertAccounts, upsertUsers and upsertPartnerships.",
        extensions={"code": "PERMISSION_DENIED"},
    )


def root_field_names(
    selection_set: SelectionSetNode, fragments: dict[str, FragmentDefinitionNode]
) -> set[str]:
    """Names of the fields an operation selects at its root, through fragments too (each
    fragment once, so the walk is linear)."""
    names: set[str] = set()
    seen: set[str] = set()
    pending = [selection_set]
    while pending:
        for selection in pending.pop().selections:
            if isinstance(selection, FieldNode):
                names.add(selection.name.value)
            elif isinstance(selection, InlineFragmentNode):
                pending.append(selection.selection_set)
            elif isinstance(selection, FragmentSpreadNode):
                name = selection.name.value
                if name not in seen and name in fragments:
                    seen.add(name)
                    pending.append(fragments[name].selection_set)
    return names


class PlatformScope(SchemaExtension):
    """Answers PERMISSION_DENIED, without running it, an operation of a platform token that
    selects anything but the provisioning mutations."""

    def on_execute(self) -> Iterator[None]:
        ctx = self.execution_context
        document = ctx.graphql_document
        if document is not None and not ctx.result and _is_platform(ctx.context):
            fragments = {
                d.name.value: d
                for d in document.definitions
                if isinstance(d, FragmentDefinitionNode)
            }
            for definition in document.definitions:
                if not isinstance(definition, OperationDefinitionNode):
                    continue
                if ctx.operation_name is not None and (
                    definition.name is None or definition.name.value != ctx.operation_name
                ):
                    continue
                if not root_field_names(definition.selection_set, fragments) <= PLATFORM_FIELDS:
                    ctx.result = ExecutionResult(data=None, errors=[platform_denied()])
                    break
        yield


def _is_platform(context: Any) -> bool:
    return bool(getattr(context, "platform", False))


class IsPlatform(BasePermission):
    message = "Only a platform token may call this mutation."
    error_extensions = {"code": "PERMISSION_DENIED"}

    def has_permission(self, source: Any, info: strawberry.Info, **kwargs: Any) -> bool:
        return _is_platform(info.context)


def platform_only() -> list[FieldExtension]:
    """Field extensions of a provisioning mutation: users get PERMISSION_DENIED."""
    return [PermissionExtension(permissions=[IsPlatform()])]
