"""Logs never contain message bodies written inline in a document (docs/security.md)."""

from __future__ import annotations

import logging

import pytest

from models import PartnershipStatus
from tests.factories import Api, make_pair

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
