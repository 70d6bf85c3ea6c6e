"""Findings of an outside security review, each reproduced through the public API."""

from __future__ import annotations

import asyncio
from datetime import timedelta

import pytest

from services.auth import issue_token
from tests import realtime_fixtures
from tests.conftest import JWT_SECRET
from tests.factories import Api, make_pair
from tests.realtime_fixtures import GqlWs, Server, WsClosed

cluster, server = realtime_fixtures.cluster, realtime_fixtures.server

PREVIEW = "query($b: String!, $p: ID!) { previewMessageTemplate(body: $b, partnerId: $p) }"
CREATE_TEMPLATE = """
mutation($input: CreateMessageTemplateInput!) {
  createMessageTemplate(input: $input) { template { id body } errors { code field } }
}"""


async def test_template_tokens_are_found_in_linear_time(api: Api) -> None:
    """`{{` with no `}}` after it used to be retried from every `{{` (a quadratic regular
    expression on the event loop): 100,000 characters held the whole server for minutes.
    Any brand user could send it to previewMessageTemplate, which has no length limit."""
    pair = await make_pair()
    user, partner = pair.brand_user, str(pair.partner.id)
    body = "{{" * 50_000
    async with asyncio.timeout(60):  # a generous deadline: quadratic took minutes
        preview = await api.data(PREVIEW, {"b": body, "p": partner}, user=user)
    assert preview["previewMessageTemplate"] == body
    # A variant: the longest template that may be saved, tokens after the unclosed braces.
    saved_body = "{{ " * 3_000 + "}} {{partner.name}}"
    created = await api.data(
        CREATE_TEMPLATE, {"input": {"name": "braces", "body": saved_body}}, user=user
    )
    assert created["createMessageTemplate"]["errors"] == [
        {"code": "INVALID_TEMPLATE", "field": ["body"]}
    ]
    # The semantics are unchanged: the first `}}` after a `{{` closes it.
    rendered = await api.data(
        PREVIEW, {"b": "Hi {{ partner.name }}} {{partner.name", "p": partner}, user=user
    )
    assert rendered["previewMessageTemplate"] == f"Hi {pair.partner.name}}} {{{{partner.name"


async def test_suggestion_stripping_is_linear_in_what_the_client_wrote(api: Api) -> None:
    """Outside development "Did you mean …?" is cut from error messages, which quote what
    the client wrote. The regular expression that cut it retried a run of spaces from every
    space: 40,000 spaces after "Did you mean" in a string literal held the event loop for
    5 s, 300,000 for minutes."""
    pair = await make_pair()
    # No "?" after it: the old expression failed at every space, each time after a full run.
    value = "Did you mean" + " " * 300_000 + "INBOX"
    document = '{ inbox(filter: {folder: "' + value + '"}) { totalCount } }'
    async with asyncio.timeout(60):  # a generous deadline: quadratic took minutes
        body = await api.gql(document, user=pair.brand_user)
    message = f"Enum 'InboxFolder' cannot represent non-enum value: \"{value}\"."
    assert body["errors"][0]["message"] == message
    # With the "?" the sentence is cut, spaces before it included, as before.
    cut = await api.gql(
        '{ inbox(filter: {folder: "x  Did you mean INBOX?"}) { totalCount } }',
        user=pair.brand_user,
    )
    assert (
        cut["errors"][0]["message"] == "Enum 'InboxFolder' cannot represent non-enum value: \"x\"."
    )


@realtime_fixtures.POSTGRES_ONLY
async def test_websocket_closes_4403_when_its_token_expires(server: Server) -> None:
    """A socket authenticated by a token kept receiving live events (message bodies
    included) after the token expired, for as long as the client kept it open."""
    user = (await make_pair()).partner_user
    token = issue_token(JWT_SECRET, user.id, ttl=timedelta(seconds=8))
    with pytest.raises(WsClosed) as closed:
        async with GqlWs.connect(server.ws_url, token) as ws, asyncio.timeout(120):
            await ws.subscribe()
            while True:  # keep-alive pings are answered inside receive
                await ws.receive(within=120)
    assert closed.value.code == 4403
