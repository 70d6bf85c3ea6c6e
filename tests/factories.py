"""Small async factories for test data, and an HTTP helper for GraphQL calls."""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass
from typing import Any

import httpx

from models import Account, AccountKind, Partnership, PartnershipStatus, User
from services import accounts
from services.auth import issue_token


async def make_account(
    kind: AccountKind, name: str | None = None, *, terms: bool = True
) -> Account:
    account = await accounts.create_account(
        name or f"{kind.value.title()} {uuid.uuid4().hex[:8]}", kind
    )
    if terms:
        account.terms_version_accepted = accounts.CURRENT_TERMS_VERSION
        await account.save(update_fields=["terms_version_accepted"])
    return account


async def make_user(account: Account, role: str = "COMMUNITY_MANAGER") -> User:
    return await accounts.create_user(
        account, f"{uuid.uuid4().hex[:12]}@example.test", f"User {uuid.uuid4().hex[:6]}", role
    )


async def make_partnership(
    brand: Account, partner: Account, status: PartnershipStatus = PartnershipStatus.ACTIVE
) -> Partnership:
    return await Partnership.create(brand=brand, partner=partner, status=status)


@dataclass
class Pair:
    """A brand and a partner in a partnership, each with a messaging user."""

    brand: Account
    partner: Account
    partnership: Partnership
    brand_user: User
    partner_user: User


async def make_pair(
    status: PartnershipStatus = PartnershipStatus.ACTIVE,
    *,
    brand: Account | None = None,
    partner_name: str | None = None,
) -> Pair:
    brand = brand or await make_account(AccountKind.BRAND)
    partner = await make_account(AccountKind.PARTNER, partner_name)
    partnership = await make_partnership(brand, partner, status)
    return Pair(brand, partner, partnership, await make_user(brand), await make_user(partner))


class Api:
    """GraphQL over HTTP as a front end does it."""

    def __init__(self, client: httpx.AsyncClient, secret: str) -> None:
        self.client = client
        self.secret = secret

    def token(self, user: User) -> str:
        return issue_token(self.secret, user.id)

    async def post(
        self,
        query: str,
        variables: dict[str, Any] | None = None,
        *,
        user: User | None = None,
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> httpx.Response:
        all_headers = dict(headers or {})
        if user is not None:
            token = self.token(user)
        if token is not None:
            all_headers["authorization"] = f"Bearer {token}"
        return await self.client.post(
            "/graphql", json={"query": query, "variables": variables or {}}, headers=all_headers
        )

    async def gql(
        self, query: str, variables: dict[str, Any] | None = None, *, user: User
    ) -> dict[str, Any]:
        """The JSON of a call that must answer 200; never a 500."""
        response = await self.post(query, variables, user=user)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def data(
        self, query: str, variables: dict[str, Any] | None = None, *, user: User
    ) -> dict[str, Any]:
        """`data` of a call that must succeed without errors."""
        body = await self.gql(query, variables, user=user)
        assert "errors" not in body, json.dumps(body["errors"], indent=1)
        result: dict[str, Any] = body["data"]
        return result

    async def upload(
        self,
        query: str,
        variables: dict[str, Any],
        files: dict[str, tuple[str, bytes, str]],
        *,
        user: User,
        preflight: bool = True,
    ) -> httpx.Response:
        """A GraphQL multipart request: `files` maps a variable path (e.g. `input.attachments.0`)
        to (filename, bytes, client content type)."""
        operations = json.dumps({"query": query, "variables": variables})
        mapping = {str(i): [f"variables.{path}"] for i, path in enumerate(files)}
        form_files = {str(i): spec for i, spec in enumerate(files.values())}
        headers = {"authorization": f"Bearer {self.token(user)}"}
        if preflight:
            headers["apollo-require-preflight"] = "true"
        return await self.client.post(
            "/graphql",
            data={"operations": operations, "map": json.dumps(mapping)},
            files=form_files,
            headers=headers,
        )


SEND = """
mutation Send($input: SendMessageInput!) {
  sendMessage(input: $input) {
    message { id seq body clientMessageId senderAccount { id } attachments { id filename contentType size scanStatus downloadUrl } }
    conversation { id unreadCount }
    errors { code message field }
  }
}
"""


async def send(
    api: Api, user: User, recipient: Account, body: str | None = "hello", **extra: Any
) -> dict[str, Any]:
    variables = {"input": {"recipientAccountId": str(recipient.id), "body": body, **extra}}
    payload: dict[str, Any] = (await api.data(SEND, variables, user=user))["sendMessage"]
    return payload
