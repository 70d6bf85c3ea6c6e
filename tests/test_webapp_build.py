"""The web app's committed build: fresh, small, self-contained, and how `/app/` serves it.

`web/` (TypeScript, Vite) is built into `gql/static/app/`; `web/scripts/stamp.mjs` writes a
SHA-256 of the sources into `build-stamp.json`. A source change without a rebuild fails here
(`cd web && npm ci && npm run build`, see docs/webapp.md).
"""

from __future__ import annotations

import gzip
import hashlib
import json
import re
from pathlib import Path
from typing import Any

from gql.schema import build_schema, persisted_queries
from gql.settings import Settings
from tests.factories import Api

ROOT = Path(__file__).resolve().parent.parent
WEB = ROOT / "web"
BUILT = ROOT / "gql" / "static" / "app"
INPUTS = ["index.html", "package.json", "package-lock.json", "tsconfig.json", "vite.config.ts"]
FIRST_LOAD_LIMIT = 150 * 1024
# XML namespace names inside Preact: identifiers, never fetched.
NAMESPACES = {
    "http://www.w3.org/1999/xhtml",
    "http://www.w3.org/2000/svg",
    "http://www.w3.org/1998/Math/MathML",
}


def sources_hash() -> tuple[str, list[str]]:
    """The same digest as web/scripts/stamp.mjs."""
    files = sorted(
        INPUTS + [p.relative_to(WEB).as_posix() for p in (WEB / "src").rglob("*") if p.is_file()]
    )
    digest = hashlib.sha256()
    for name in files:
        digest.update(name.encode() + b"\0")
        digest.update((WEB / name).read_bytes())
        digest.update(b"\0")
    return digest.hexdigest(), files


def first_load_files() -> list[Path]:
    html = (BUILT / "index.html").read_text()
    refs = re.findall(r'(?:src|href)="(/app/[^"]+)"', html)
    return [BUILT / "index.html"] + [BUILT / ref.removeprefix("/app/") for ref in refs]


def test_the_committed_build_matches_the_sources() -> None:
    stamp = json.loads((BUILT / "build-stamp.json").read_text())
    digest, files = sources_hash()
    assert stamp["files"] == files
    assert stamp["sources"] == digest, "web/ changed since the build: cd web && npm run build"


def test_the_build_holds_only_what_index_html_loads() -> None:
    loaded = set(first_load_files())
    assert all(path.is_file() for path in loaded)
    assets = set((BUILT / "assets").iterdir())
    assert assets <= loaded, f"stale files in the build: {sorted(assets - loaded)}"


def test_the_first_load_is_at_most_150_kb_compressed() -> None:
    total = sum(len(gzip.compress(path.read_bytes(), 9)) for path in first_load_files())
    assert 0 < total <= FIRST_LOAD_LIMIT, total


def test_the_build_names_no_external_url() -> None:
    for path in first_load_files():
        urls = set(
            re.findall(r"(?:https?:)?//[A-Za-z0-9.-]+\.[a-z]{2,}[^\s\"'`)]*", path.read_text())
        )
        assert {u for u in urls if u not in NAMESPACES} == set(), path


def test_every_document_the_app_sends_is_valid_within_the_limits() -> None:
    """The build's persisted query manifest holds every document of web/src/queries.ts; the
    server's own start-up check (schema, depth, aliases, cost) must accept each of them, so a
    schema change that breaks the app fails here. It is also the production allowlist."""
    manifest = BUILT / "persisted-query-manifest.json"
    settings = Settings(
        database_url="sqlite://:memory:", env="production", persisted_queries=manifest
    )
    allowlist = persisted_queries(settings, build_schema(settings))
    assert allowlist.enforce
    names = {op["name"] for op in json.loads(manifest.read_text())["operations"]}
    assert {"Inbox", "Conversation", "Send", "Live", "Search", "Move", "Partners"} <= names
    assert len(allowlist.manifest) == len(names)


async def test_app_routes_serve_the_shell_assets_and_deep_links(api: Api) -> None:
    client = api.client
    redirect = await client.get("/app")
    assert redirect.status_code == 308 and redirect.headers["location"] == "/app/"

    for path in ("/app/", "/app/conversations/0b6f", "/app/settings"):
        page = await client.get(path)
        assert page.status_code == 200
        assert page.headers["content-type"].startswith("text/html")
        assert page.headers["cache-control"] == "no-cache"
        assert "default-src 'self'" in page.headers["content-security-policy"]
        assert page.text == (BUILT / "index.html").read_text()

    script = next(p for p in first_load_files() if p.suffix == ".js")
    asset = await client.get(f"/app/assets/{script.name}", headers={"accept-encoding": "gzip"})
    assert asset.status_code == 200
    assert asset.headers["content-encoding"] == "gzip"
    assert "immutable" in asset.headers["cache-control"]
    assert asset.content == script.read_bytes()  # httpx decodes the gzip

    missing = await client.get("/app/assets/nothing-here.js")
    assert missing.status_code == 404
    assert missing.json()["errors"][0]["extensions"]["code"] == "NOT_FOUND"


async def test_demo_users_are_listed_only_in_development(api: Api) -> None:
    response = await api.client.get("/app/demo-users.json")  # the test app is not development
    assert response.status_code == 200
    assert response.json() == {"users": []}
    assert response.headers["cache-control"] == "no-store"


async def test_demo_users_go_only_to_this_machine_in_development(
    app: Any, app_settings: Settings
) -> None:
    """In development the demo tokens are handed to a loopback client only: a development
    server listening on the network must not give them to another machine."""
    import httpx
    from starlette.applications import Starlette

    from gql.spa import _demo_users
    from services.demo import seed_demo

    await seed_demo()
    development = Starlette(routes=[_demo_users(app_settings.with_overrides(env="development"))])

    async def listed(client_host: str) -> list[dict[str, str]]:
        transport = httpx.ASGITransport(app=development, client=(client_host, 50000))
        async with httpx.AsyncClient(transport=transport, base_url="http://x") as client:
            response = await client.get("/demo-users.json")
        assert response.status_code == 200
        users: list[dict[str, str]] = response.json()["users"]
        return users

    assert len(await listed("127.0.0.1")) > 0 and len(await listed("::1")) > 0
    assert await listed("192.0.2.7") == []
    assert await listed("not-an-address") == []
