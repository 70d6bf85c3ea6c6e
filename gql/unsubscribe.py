"""``/notifications/unsubscribe?token=…``: RFC 8058 one-click unsubscribe.

``POST`` (what a mail client sends for ``List-Unsubscribe-Post: List-Unsubscribe=One-Click``,
and what the confirmation page's button sends) sets the token's user to ``OFF``. ``GET``
(a person following the link, or a link scanner) changes nothing: it answers a page whose
button posts.
"""

from __future__ import annotations

from html import escape

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, Response

from gql.runtime import Runtime
from gql.view import error_response
from services.notifications import preferences
from services.notifications.tokens import read_unsubscribe_token

INVALID = "This unsubscribe link is not valid."


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    return HTMLResponse(
        f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{escape(title)}"
        f"</title></head><body style='font-family:sans-serif'><h1>{escape(title)}</h1>"
        f"{body}</body></html>",
        status_code=status,
        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"},
    )


async def unsubscribe(request: Request) -> Response:
    rt: Runtime = request.app.state.rt
    token = request.query_params.get("token", "")
    user_id = read_unsubscribe_token(rt.settings.jwt_secret, token) if token else None
    if request.method == "GET":
        if user_id is None:
            return _page("Unsubscribe", f"<p>{INVALID}</p>", 400)
        return _page(
            "Stop e-mail notifications?",
            f'<form method="post" action="?token={escape(token)}">'
            "<p>You will no longer get e-mails about unread messages. You can turn them on "
            "again in your settings.</p><button type=submit>Unsubscribe</button></form>",
        )
    if user_id is None:
        return error_response(400, "INVALID_ARGUMENT", INVALID)
    if not await preferences.unsubscribe(user_id):
        return error_response(404, "NOT_FOUND", "No such user.")
    if "text/html" in request.headers.get("accept", ""):
        return _page("Unsubscribed", "<p>You will no longer get e-mail notifications.</p>")
    return JSONResponse({"unsubscribed": True, "notificationFrequency": "OFF"})
