"""CORS for the origins in LIAISON_ALLOWED_ORIGINS, preflight included; others get nothing."""

from __future__ import annotations

from typing import Any

import httpx

from tests.factories import Api, make_pair
from tests.test_operations import client_for, other_app

__all__ = ["other_app"]  # a fixture

ALLOWED = "https://app.example"
PREFLIGHT = {
    "access-control-request-method": "POST",
    "access-control-request-headers": "authorization, content-type",
}


async def test_preflight_and_post_from_an_allowed_origin(api: Api, other_app: Any) -> None:
    pair = await make_pair()
    async for client in client_for(other_app(allowed_origins=(ALLOWED,))):
        preflight = await client.options("/graphql", headers={"origin": ALLOWED, **PREFLIGHT})
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == ALLOWED
        assert "POST" in preflight.headers["access-control-allow-methods"]
        assert "authorization" in preflight.headers["access-control-allow-headers"].lower()
        token = Api(client, api.secret).token(pair.brand_user)
        posted = await client.post(
            "/graphql",
            json={"query": "{ viewer { permissions } }"},
            headers={"origin": ALLOWED, "authorization": f"Bearer {token}"},
        )
        assert posted.status_code == 200
        assert posted.headers["access-control-allow-origin"] == ALLOWED
        assert "x-request-id" in posted.headers["access-control-expose-headers"].lower()
        # The other routes too: a download answers (404 here) with CORS headers.
        download = await client.get(
            f"/attachments/{pair.brand.id}",
            headers={"origin": ALLOWED, "authorization": f"Bearer {token}"},
        )
        assert download.headers["access-control-allow-origin"] == ALLOWED


async def test_other_origins_get_no_cors_headers(api: Api, other_app: Any) -> None:
    pair = await make_pair()
    async for client in client_for(other_app(allowed_origins=(ALLOWED,))):
        for origin in ("https://evil.example", "https://app.example.evil", "null"):
            preflight = await client.options("/graphql", headers={"origin": origin, **PREFLIGHT})
            assert "access-control-allow-origin" not in preflight.headers
            token = Api(client, api.secret).token(pair.brand_user)
            posted = await client.post(
                "/graphql",
                json={"query": "{ viewer { permissions } }"},
                headers={"origin": origin, "authorization": f"Bearer {token}"},
            )
            assert "access-control-allow-origin" not in posted.headers


async def test_no_allowed_origins_means_no_cors(api: Api) -> None:
    client: httpx.AsyncClient = api.client
    preflight = await client.options("/graphql", headers={"origin": ALLOWED, **PREFLIGHT})
    assert "access-control-allow-origin" not in preflight.headers
