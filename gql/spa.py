"""The single-page inbox at `/app/`: the built files of `web/` (in `gql/static/app/`).

`web/` is built with Vite into `gql/static/app/` and the output is committed, so serving it
needs no Node. Hashed assets are cached for a year; every other path under `/app/` answers
`index.html` (the app routes on the client, e.g. `/app/conversations/<id>` from e-mails).
Responses are gzipped when the browser accepts it. In development, `/app/demo-users.json`
lists the seeded demo users with fresh tokens for the sign-in page's one-click buttons.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path

from starlette.middleware.gzip import GZipMiddleware
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, RedirectResponse, Response
from starlette.routing import Mount, Route, Router
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Scope

from gql.settings import Settings
from services.auth import issue_token
from services.demo import seeded_demo_users

APP_DIR = Path(__file__).parent / "static" / "app"

# Everything from our own origin ('self' covers its websocket too); blobs for downloads.
CSP = (
    "default-src 'self'; connect-src 'self'; img-src 'self' data: blob:; "
    "style-src 'self'; script-src 'self'; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'none'"
)
HTML_HEADERS = {
    "Cache-Control": "no-cache",
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}


class _Assets(StaticFiles):
    """Vite's content-hashed files: immutable."""

    async def get_response(self, path: str, scope: Scope) -> Response:
        response = await super().get_response(path, scope)
        if response.status_code == 200:
            response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
            response.headers["X-Content-Type-Options"] = "nosniff"
        return response


def _index(request: Request) -> Response:
    index = APP_DIR / "index.html"
    if not index.is_file():
        return JSONResponse(
            {
                "errors": [
                    {"message": "The web app is not built.", "extensions": {"code": "NOT_FOUND"}}
                ]
            },
            status_code=404,
        )
    return FileResponse(index, media_type="text/html; charset=utf-8", headers=HTML_HEADERS)


def _redirect(request: Request) -> Response:
    return RedirectResponse("/app/", status_code=308)


def _from_this_machine(request: Request) -> bool:
    host = request.client.host if request.client else ""
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _demo_users(settings: Settings) -> Route:
    async def demo_users(request: Request) -> Response:
        # Tokens for anyone who asks: only in development, and only to this machine (a
        # development server started with `--host 0.0.0.0` must not hand them to the network).
        if not settings.development or not _from_this_machine(request):
            return JSONResponse({"users": []}, headers={"Cache-Control": "no-store"})
        users = [
            {
                "email": user.email,
                "name": user.name,
                "account": user.account.name,
                "role": user.role.name,
                "token": issue_token(settings.jwt_secret, user.id),
            }
            for user in await seeded_demo_users()
        ]
        return JSONResponse({"users": users}, headers={"Cache-Control": "no-store"})

    return Route("/demo-users.json", demo_users, methods=["GET"])


def spa_routes(settings: Settings) -> list[Route | Mount]:
    """`/app` and everything under it."""
    inner = Router(
        routes=[
            _demo_users(settings),
            Mount("/assets", app=_Assets(directory=APP_DIR / "assets", check_dir=False)),
            Route("/{path:path}", _index, methods=["GET", "HEAD"]),
        ]
    )
    app: ASGIApp = GZipMiddleware(inner, minimum_size=500)
    return [
        Route("/app", _redirect, methods=["GET", "HEAD"]),
        Mount("/app", app=app),
    ]
