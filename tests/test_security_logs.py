"""Logs never contain message bodies written inline in a document (docs/security.md)."""

from __future__ import annotations

import logging
import re
from typing import Any

import pytest

from gql.schema import build_schema
from gql.settings import Settings
from models import PartnershipStatus
from tests.factories import Api, make_pair
from tests.test_operations import client_for, other_app

__all__ = ["other_app"]  # a fixture

SECRET = "the secret merger terms"

BAD_DOCUMENTS = [
    # An unknown input field next to the body: a validation error quoting the line.
    f'mutation Leak {{ sendMessage(input: {{recipientAccountId: "x", body: "{SECRET}", '
    "bogus: 1}) { errors { code } } }",
    # A body of the wrong type in a known field.
    f'mutation Leak {{ sendMessage(input: {{recipientAccountId: "{SECRET}", body: 12}}) '
    "{ errors { code } } }",
    # A syntax error after the body.
    f'mutation Leak {{ sendMessage(input: {{recipientAccountId: "x", body: "{SECRET}" }}) {{',
    # An execution error: another account's (here: no) conversation, the id a literal.
    f'query Leak {{ conversation(id: "{SECRET}") {{ messages(first: 0) {{ totalCount }} }} }}',
]


@pytest.mark.parametrize("document", BAD_DOCUMENTS)
async def test_inline_bodies_never_reach_the_log(
    api: Api, caplog: pytest.LogCaptureFixture, document: str
) -> None:
    pair = await make_pair(PartnershipStatus.ACTIVE)
    caplog.set_level(logging.DEBUG)
    response = await api.post(document, user=pair.brand_user)
    assert response.status_code in (200, 400)
    assert response.json()["errors"]
    for record in caplog.records:
        text = record.getMessage() + str(getattr(record, "fields", ""))
        assert SECRET not in text, record
        assert SECRET not in str(record.exc_info), record
        assert record.levelno < logging.ERROR or record.name.startswith("liaison.access"), record
    [logged] = [r for r in caplog.records if r.name == "liaison.graphql"][:1]
    assert logged.levelno == logging.INFO and logged.exc_info is None
    # A document that does not parse has no operation name to log.
    expected = "anonymous" if document.endswith("{") else "Leak"
    assert logged.fields["operation"] == expected  # type: ignore[attr-defined]
    assert len(logged.fields["document_hash"]) == 16  # type: ignore[attr-defined]


def root_fields() -> set[str]:
    from gql.schema import build_schema
    from gql.settings import Settings

    schema = build_schema(Settings(database_url="sqlite://:memory:"))._schema
    roots = (schema.query_type, schema.mutation_type, schema.subscription_type)
    return {name for root in roots if root is not None for name in root.fields}


async def test_junk_operation_names_do_not_grow_the_metrics(api: Api, other_app: Any) -> None:
    app = other_app(metrics_token="m-secret")
    pair = await make_pair(PartnershipStatus.ACTIVE)
    async for client in client_for(app):
        token = Api(client, api.secret).token(pair.brand_user)
        auth = {"authorization": f"Bearer {token}"}
        for i in range(300):
            await client.post(
                "/graphql",
                json={"query": f"query Junk{i} {{ viewer {{ permissions }} }}"},
                headers=auth,
            )
        for i in range(50):  # invalid documents with made-up root fields
            await client.post("/graphql", json={"query": f"{{ junk{i} }}"}, headers=auth)
        text = (await client.get("/metrics", headers={"authorization": "Bearer m-secret"})).text
        labels = set(re.findall(r'liaison_graphql_operations_total\{operation="([^"]*)"', text))
        assert not any("Junk" in label or "junk" in label for label in labels), labels
        assert {"viewer", "invalid"} <= labels
        # Every label comes from the schema (other tests in the process add theirs).
        roots = build_schema(Settings(database_url="sqlite://:memory:"))._schema
        fields = {
            name
            for root in (roots.query_type, roots.mutation_type, roots.subscription_type)
            if root is not None
            for name in root.fields
        }
        allowed = {"invalid", "(fragment)", *fields, *(f"{f}+" for f in fields)}
        assert labels <= allowed, labels - allowed
