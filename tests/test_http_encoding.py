"""Response bodies are encoded with orjson; what orjson refuses still answers 200 JSON."""

from __future__ import annotations

from tests.factories import Api, make_pair


async def test_a_lone_surrogate_echoed_in_an_error_still_answers_json(api: Api) -> None:
    pair = await make_pair()
    body = '{"query": "query($n: Int) { inbox(first: $n) { totalCount } }", "variables": {"n": "\\ud800"}}'
    response = await api.client.post(
        "/graphql",
        content=body,
        headers={
            "content-type": "application/json",
            "authorization": f"Bearer {api.token(pair.brand_user)}",
        },
    )
    assert response.status_code == 200
    [error] = response.json()["errors"]
    assert "\\ud800" in response.text and "Int cannot represent" in error["message"]


async def test_responses_are_compact_json(api: Api) -> None:
    pair = await make_pair()
    response = await api.post("{ viewer { permissions } }", user=pair.brand_user)
    assert response.headers["content-type"] == "application/json"
    assert response.content.startswith(b'{"data":{"viewer":{"permissions":[')
