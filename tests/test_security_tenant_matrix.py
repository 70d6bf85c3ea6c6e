"""Tenant isolation, generated from the schema: every id slot, every foreign id, 0 successes.

The cases are not listed by hand. Every root field (query, mutation, subscription) is
walked, with its arguments and the fields of its input objects, for slots of type `ID`
(alone or in lists). Each slot is called with each id of another account — its account,
users, custom role, partnership, conversation, message and attachment — while the other
slots hold the caller's own valid ids, so a refusal can only come from the foreign id. A
query succeeds when the answer holds anything of the other account (its names, bodies,
e-mails, ids) or a non-null object for a nullable field; a mutation when its payload has no
errors. `GET /attachments/{id}` is tried with every foreign id too.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import Any

import pytest
from graphql import (
    GraphQLArgument,
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInputType,
    GraphQLList,
    GraphQLNonNull,
    GraphQLObjectType,
    GraphQLOutputType,
    GraphQLScalarType,
    GraphQLSchema,
    GraphQLUnionType,
    Undefined,
    get_named_type,
    is_leaf_type,
    is_non_null_type,
)

from gql.schema import build_schema
from gql.settings import Settings
from models import AccountKind, Attachment, BulkSend, Message, PartnershipStatus, Role, ScanStatus
from services import templates
from services.auth import load_viewer_by_user
from tests.factories import Api, make_account, make_partnership, make_user, send

SCHEMA: GraphQLSchema = build_schema(Settings(database_url="sqlite://:memory:"))._schema


@dataclass
class Slot:
    """One place an id goes: `path` from the root field's arguments, e.g. input.userId."""

    operation: str  # query | mutation | subscription
    field: str
    path: tuple[str, ...]


@dataclass
class Tenant:
    ids: dict[str, str]  # kind -> id
    markers: set[str] = field(default_factory=set)


def _root(operation: str) -> GraphQLObjectType | None:
    root: GraphQLObjectType | None = getattr(SCHEMA, f"{operation}_type")
    return root


def _slots() -> list[Slot]:
    slots: list[Slot] = []
    for operation in ("query", "mutation", "subscription"):
        root = _root(operation)
        if root is None:
            continue
        for name, definition in root.fields.items():
            for arg_name, arg in definition.args.items():
                for path in _id_paths(arg.type, (arg_name,), set()):
                    slots.append(Slot(operation, name, path))
    return slots


def _id_paths(
    type_: GraphQLInputType, path: tuple[str, ...], seen: set[str]
) -> list[tuple[str, ...]]:
    named = get_named_type(type_)
    if isinstance(named, GraphQLScalarType):
        return [path] if named.name == "ID" else []
    if isinstance(named, GraphQLInputObjectType) and named.name not in seen:
        paths = []
        for name, input_field in named.fields.items():
            paths += _id_paths(input_field.type, (*path, name), seen | {named.name})
        return paths
    return []


OWN_SLOT = {  # which of the caller's own ids fits a slot, by its name
    "recipientAccountId": "partner",
    "partnerIds": "partner",
    "conversationId": "conversation",
    "id": "conversation",
    "userId": "user",
    "assigneeId": "user",
    "partnerId": "partner",
    "counterpartIds": "partner",
    "roleId": "role",
    "messageId": "message",
    "attachmentId": "attachment",
    "templateId": "template",
}
# Where the slot's name alone does not say which kind of id it takes.
OWN_SLOT_OF_FIELD = {
    ("updateMessageTemplate", "id"): "template",
    ("deleteMessageTemplate", "id"): "template",
    ("bulkSend", "id"): "bulk_send",
    ("cancelBulkSend", "id"): "bulk_send",
}


def _own_kind(field_name: str, name: str) -> str:
    return OWN_SLOT_OF_FIELD.get((field_name, name)) or OWN_SLOT.get(name, "account")


def _value(
    type_: GraphQLInputType,
    name: str,
    path: tuple[str, ...],
    target: Slot,
    foreign: str,
    own: Tenant,
) -> Any:
    """A valid value for an input position; the foreign id at the target slot."""
    if isinstance(type_, GraphQLNonNull):
        return _value(type_.of_type, name, path, target, foreign, own)
    if isinstance(type_, GraphQLList):
        return [_value(type_.of_type, name, path, target, foreign, own)]
    if isinstance(type_, GraphQLScalarType):
        if type_.name == "ID":
            if path == target.path:
                return foreign
            return own.ids.get(_own_kind(target.field, name), own.ids["account"])
        return {
            # Unique (never an idempotent replay), with a placeholder: a template rendered
            # with another account's partner would show its name.
            "String": f"x-{uuid.uuid4().hex[:8]} {{{{partner.name}}}}",
            "Int": 1,
            "Boolean": True,
            "Float": 1.0,
            "DateTime": "2025-02-01T00:00:00Z" if name == "to" else "2025-01-01T00:00:00Z",
        }.get(type_.name)
    if isinstance(type_, GraphQLEnumType):
        return next(iter(type_.values))
    assert isinstance(type_, GraphQLInputObjectType)
    value = {}
    for field_name, input_field in type_.fields.items():
        sub_path = (*path, field_name)
        needed = is_non_null_type(input_field.type) and input_field.default_value is Undefined
        # Optional plain values are filled in too (a body, say), so that a refusal can only
        # come from the id; lists, uploads and nested inputs are left out.
        plain = get_named_type(input_field.type).name in ("String", "Int", "Boolean")
        if plain and isinstance(input_field.type, GraphQLList):
            plain = False
        if field_name == "body" and "templateId" in type_.fields and "templateId" in target.path:
            plain = False  # a template is sent instead of a body, never with one
        if needed or plain or _leads_to(sub_path, target.path):
            value[field_name] = _value(input_field.type, field_name, sub_path, target, foreign, own)
    return value


def _leads_to(path: tuple[str, ...], target: tuple[str, ...]) -> bool:
    return target[: len(path)] == path


def _selection(type_: GraphQLOutputType, depth: int = 3) -> str:
    named = get_named_type(type_)
    if is_leaf_type(named):
        return ""
    if isinstance(named, GraphQLUnionType) or depth == 0:
        return "{ __typename }"
    assert isinstance(named, GraphQLObjectType)
    parts = ["__typename"]
    for name, definition in named.fields.items():
        if any(
            is_non_null_type(a.type) and a.default_value is None for a in definition.args.values()
        ):
            continue
        sub = _selection(definition.type, depth - 1)
        if sub or is_leaf_type(get_named_type(definition.type)):
            parts.append(f"{name} {sub}")
    return "{ " + " ".join(parts) + " }"


def _document(slot: Slot, foreign: str, own: Tenant) -> tuple[str, dict[str, Any]]:
    root = _root(slot.operation)
    assert root is not None
    definition = root.fields[slot.field]
    variables: dict[str, Any] = {}
    declared, passed = [], []
    for arg_name, arg in definition.args.items():
        arg_type: GraphQLArgument = arg
        needed = is_non_null_type(arg_type.type) and arg_type.default_value is Undefined
        if not (needed or _leads_to((arg_name,), slot.path)):
            continue
        variables[arg_name] = _value(arg_type.type, arg_name, (arg_name,), slot, foreign, own)
        declared.append(f"${arg_name}: {arg_type.type}")
        passed.append(f"{arg_name}: ${arg_name}")
    args = f"({', '.join(passed)})" if passed else ""
    head = f"({', '.join(declared)})" if declared else ""
    return (
        f"{slot.operation} Probe{head} {{ {slot.field}{args} {_selection(definition.type)} }}",
        variables,
    )


async def _tenant(api: Api, label: str) -> tuple[Tenant, Any]:
    brand = await make_account(AccountKind.BRAND, f"Brand {label}")
    partner = await make_account(AccountKind.PARTNER, f"Partner {label}")
    partnership = await make_partnership(brand, partner, PartnershipStatus.ACTIVE)
    admin = await make_user(brand, "ACCOUNT_ADMIN")
    partner_user = await make_user(partner, "ACCOUNT_ADMIN")
    body = f"body of {label}"
    sent = await send(api, admin, partner, body)
    assert sent["errors"] == [], sent
    message = await Message.get(id=sent["message"]["id"])
    attachment = await Attachment.create(
        message=message,
        position=0,
        filename=f"file-{label}.pdf",
        content_type="application/pdf",
        size=10,
        sha256="0" * 64,
        storage_key=f"test/{uuid.uuid4()}",
        scan_status=ScanStatus.CLEAN,
    )
    role = await Role.create(
        account=brand, name=f"Role {label}", built_in=False, permissions="MESSAGING"
    )
    template = await templates.create_template(
        await load_viewer_by_user(admin.id), f"Template {label}", f"template of {label}"
    )
    bulk = await BulkSend.create(
        account=brand, created_by=admin, request_digest="-", body=f"bulk of {label}", total=0
    )
    tenant = Tenant(
        ids={
            "account": str(brand.id),
            "partner": str(partner.id),
            "user": str(admin.id),
            "partner_user": str(partner_user.id),
            "role": str(role.id),
            "partnership": str(partnership.id),
            "conversation": sent["conversation"]["id"],
            "message": str(message.id),
            "attachment": str(attachment.id),
            "template": str(template.id),
            "bulk_send": str(bulk.id),
        }
    )
    tenant.markers = {
        body,
        brand.name,
        partner.name,
        admin.email,
        partner_user.email,
        role.name,
        attachment.filename,
        template.name,
        *tenant.ids.values(),
    }
    return tenant, admin


def test_the_matrix_covers_every_id_slot_of_the_schema() -> None:
    slots = {(s.operation, s.field, s.path) for s in _slots()}
    # The generator finds these (and whatever is added later) without a list to keep.
    assert ("query", "conversation", ("id",)) in slots
    assert ("mutation", "sendMessage", ("input", "recipientAccountId")) in slots
    assert ("mutation", "assignRole", ("input", "userId")) in slots
    assert ("mutation", "assignRole", ("input", "roleId")) in slots
    assert ("query", "messagingStats", ("filter", "partnerIds")) in slots


@pytest.mark.parametrize("slot", _slots(), ids=lambda s: f"{s.field}.{'.'.join(s.path)}")
async def test_another_accounts_ids_succeed_nowhere(api: Api, slot: Slot) -> None:
    victim, _ = await _tenant(api, f"victim-{uuid.uuid4().hex[:6]}")
    attacker, attacker_user = await _tenant(api, f"attacker-{uuid.uuid4().hex[:6]}")
    successes = []
    for kind, foreign in victim.ids.items():
        document, variables = _document(slot, foreign, attacker)
        if slot.operation == "subscription":
            pytest.fail(f"a subscription takes an id ({slot}): probe it over the websocket")
        response = await api.post(document, variables, user=attacker_user)
        assert response.status_code == 200, (document, response.text)
        answer = response.json()
        # A probe the server could not even run proves nothing: every error must be coded.
        uncoded = [e for e in answer.get("errors", []) if "code" not in e.get("extensions", {})]
        assert uncoded == [], (document, variables, uncoded)
        text = json.dumps(answer.get("data"))
        data = (answer.get("data") or {}).get(slot.field)
        leaked = sorted(m for m in victim.markers if m in text)
        if slot.operation == "mutation":
            succeeded = data is not None and not data.get("errors") and not answer.get("errors")
        else:
            root = _root(slot.operation)
            assert root is not None
            nullable = not is_non_null_type(root.fields[slot.field].type)
            succeeded = bool(leaked) or (nullable and data is not None)
        if succeeded or leaked:
            successes.append((kind, document, variables, answer))
    assert successes == []
    # Control: the same probe with the caller's own id does succeed, so the probe can tell.
    own = attacker.ids.get(_own_kind(slot.field, slot.path[-1]), attacker.ids["account"])
    document, variables = _document(slot, own, attacker)
    answer = (await api.post(document, variables, user=attacker_user)).json()
    data = (answer.get("data") or {}).get(slot.field)
    assert data is not None and not answer.get("errors"), answer
    assert not isinstance(data, dict) or not data.get("errors"), answer


async def test_downloads_of_another_accounts_ids_are_not_found(api: Api) -> None:
    victim, _ = await _tenant(api, f"victim-{uuid.uuid4().hex[:6]}")
    _, attacker_user = await _tenant(api, f"attacker-{uuid.uuid4().hex[:6]}")
    headers = {"authorization": f"Bearer {api.token(attacker_user)}"}
    for foreign in victim.ids.values():
        response = await api.client.get(f"/attachments/{foreign}", headers=headers)
        assert response.status_code == 404, (foreign, response.text)
        assert response.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"
