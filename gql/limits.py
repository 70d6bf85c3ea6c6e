"""Request body limits, enforced while the body streams in (never buffered whole)."""

from __future__ import annotations

from collections.abc import Awaitable

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

JSON_BODY_LIMIT = 1024 * 1024
# Headers a request may carry at most once.
SINGLE_HEADERS = (b"content-type", b"content-length", b"transfer-encoding")


class BodyTooLarge(Exception):
    pass


class BodyLimitMiddleware:
    """413 for a body over the limit: at once from Content-Length, else as bytes arrive.
    400 `AMBIGUOUS_HEADERS` for a request with two Content-Type (or Content-Length, or
    Transfer-Encoding) headers.

    Multipart bodies (uploads) may be as large as `multipart_limit`; others `other_limit`.
    """

    def __init__(
        self, app: ASGIApp, *, multipart_limit: int, other_limit: int = JSON_BODY_LIMIT
    ) -> None:
        self.app = app
        self.multipart_limit = multipart_limit
        self.other_limit = other_limit

    def __call__(self, scope: Scope, receive: Receive, send: Send) -> Awaitable[None]:
        if scope["type"] != "http":  # returned, not awaited: no frame held for a websocket
            return self.app(scope, receive, send)
        return self._http(scope, receive, send)

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        names = [k.lower() for k, _ in scope["headers"]]
        repeated = [n.decode("latin-1") for n in SINGLE_HEADERS if names.count(n) > 1]
        if repeated:
            # The limit and the body parser must read the same header: with two, one could
            # choose the JSON limit and the other the multipart parser.
            await _ambiguous(repeated[0])(scope, receive, send)
            return
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        multipart = headers.get("content-type", "").startswith("multipart/")
        limit = self.multipart_limit if multipart else self.other_limit
        declared = headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await _too_large(limit)(scope, receive, send)
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise BodyTooLarge
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge:
            if not started:
                await _too_large(limit)(scope, receive, send)


def _too_large(limit: int) -> JSONResponse:
    message = f"The request body is larger than {limit} bytes."
    body = {"errors": [{"message": message, "extensions": {"code": "PAYLOAD_TOO_LARGE"}}]}
    return JSONResponse(body, status_code=413, headers={"Connection": "close"})


def _ambiguous(header: str) -> JSONResponse:
    message = f"The request carries more than one {header} header."
    body = {"errors": [{"message": message, "extensions": {"code": "AMBIGUOUS_HEADERS"}}]}
    return JSONResponse(body, status_code=400, headers={"Connection": "close"})
