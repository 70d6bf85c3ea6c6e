"""Permissions guard content, not entry points: MESSAGING for every path to a conversation.

`@requiresPermission(MESSAGING)` guards the root fields that lead to messaging content, but
content is reachable by other paths too (`partners { … conversation { lastMessage } }`, event
payloads, mutation payloads). `guard_content` finds, in the built schema, every field that
leads *into* content from outside it — a field whose type is a content type (a conversation,
message, attachment or read state, or a connection or edge of them) on a type that is not —
and checks the viewer's MESSAGING before its resolver runs. Fields inside content are not
wrapped: once an edge is passed, everything below it is already allowed, so the inbox's
per-node fields keep their fast path and the decision costs one set lookup per edge.

The schema is walked when it is built, so a field added later is guarded without anyone
remembering to; `tests/test_security_content_guard.py` also checks the list of guarded edges.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from graphql import (
    GraphQLError,
    GraphQLField,
    GraphQLObjectType,
    GraphQLSchema,
    default_field_resolver,
    get_named_type,
)
from strawberry.schema.schema_converter import GraphQLCoreConverter

from models import Permission

# Types that are messaging content themselves (read state lives on Conversation and
# ConversationRead; InboxCounts is the viewer's unread figures).
CONTENT_TYPES = frozenset(
    {"Conversation", "Message", "Attachment", "ConversationRead", "InboxCounts"}
)
DENIED = "Messaging content needs the MESSAGING permission."


def content_types(schema: GraphQLSchema) -> set[str]:
    """CONTENT_TYPES plus the connections and edges of them (a `node` or `edges` field)."""
    found = {name for name in CONTENT_TYPES if name in schema.type_map}
    changed = True
    while changed:
        changed = False
        for name, type_ in schema.type_map.items():
            if name in found or not isinstance(type_, GraphQLObjectType):
                continue
            for key in ("node", "edges"):
                field = type_.fields.get(key)
                if field is not None and get_named_type(field.type).name in found:
                    found.add(name)
                    changed = True
                    break
    return found


def content_edges(schema: GraphQLSchema) -> list[tuple[str, str]]:
    """(type, field) of every field that leads from outside content into it."""
    inside = content_types(schema)
    edges = []
    for name, type_ in schema.type_map.items():
        if name.startswith("__") or name in inside or not isinstance(type_, GraphQLObjectType):
            continue
        for field_name, field in type_.fields.items():
            target = get_named_type(field.type)
            members = getattr(target, "types", None)  # a union: any content member counts
            names = {target.name, *(m.name for m in members or ())}
            if names & inside:
                edges.append((name, field_name))
    return sorted(edges)


def _requires_messaging(field: GraphQLField) -> bool:
    """True for a field whose `@requiresPermission(MESSAGING)` already checks (root fields)."""
    definition = (field.extensions or {}).get(GraphQLCoreConverter.DEFINITION_BACKREF)
    for extension in getattr(definition, "extensions", None) or ():
        for permission in getattr(extension, "permissions", ()):
            if getattr(permission, "permission", None) is Permission.MESSAGING:
                return True
    return False


def _guarded(resolve: Callable[..., Any]) -> Callable[..., Any]:
    def resolve_content(source: Any, info: Any, **arguments: Any) -> Any:
        viewer = getattr(info.context, "viewer_or_none", None)
        if viewer is None or Permission.MESSAGING not in viewer.permissions:
            raise GraphQLError(DENIED, extensions={"code": "PERMISSION_DENIED"})
        return resolve(source, info, **arguments)

    return resolve_content


def guard_content(schema: GraphQLSchema) -> list[tuple[str, str]]:
    """Wrap the resolver of every content edge with the MESSAGING check, except where the
    permission directive already checks it; returns every content edge."""
    edges = content_edges(schema)
    for type_name, field_name in edges:
        type_ = schema.type_map[type_name]
        assert isinstance(type_, GraphQLObjectType)
        field: GraphQLField = type_.fields[field_name]
        if _requires_messaging(field):
            continue
        field.resolve = _guarded(field.resolve or default_field_resolver)
    return edges
