"""``GET /attachments/{id}``: the bytes of a CLEAN attachment, streamed, for a participant.

The access rule is ``services.downloads.access_attachment``; this module only maps its
answers onto HTTP (401 / 403 / 404, one body for every kind of 404) and sets the headers
that make a browser save the file rather than render it.
"""

from __future__ import annotations

import logging
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from gql.runtime import Runtime
from gql.view import error_response
from services.auth import load_viewer
from services.downloads import NOT_FOUND_MESSAGE, access_attachment
from services.errors import NotFound, PermissionDenied, Unauthenticated
from services.filenames import ascii_fallback

log = logging.getLogger("liaison.downloads")


def content_disposition(filename: str) -> str:
    """``attachment`` with an ASCII ``filename`` and the exact name as RFC 5987 ``filename*``."""
    fallback, exact = ascii_fallback(filename), quote(filename, safe="")
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{exact}"


def _not_found() -> Response:
    return error_response(404, "NOT_FOUND", NOT_FOUND_MESSAGE)


async def download_attachment(request: Request) -> Response:
    rt: Runtime = request.app.state.rt
    try:
        viewer = await load_viewer(rt.settings.jwt_secret, request.headers.get("authorization"))
    except Unauthenticated as error:
        return error_response(401, error.code, error.message, **{"WWW-Authenticate": "Bearer"})
    try:
        row = await access_attachment(viewer, request.path_params["attachment_id"])
    except PermissionDenied as error:
        return error_response(403, error.code, error.message)
    except NotFound:
        return _not_found()
    try:
        size = await rt.blobs.size(row.storage_key)
    except (FileNotFoundError, ValueError):
        log.error("attachment %s is CLEAN but its stored file is missing", row.id)
        return _not_found()
    content_type = row.content_type
    if content_type.startswith("text/"):
        content_type += "; charset=utf-8"
    headers = {
        "Content-Disposition": content_disposition(row.filename),
        "Content-Length": str(size),
        "X-Content-Type-Options": "nosniff",
        "Cache-Control": "private, no-store",
        "Content-Security-Policy": "default-src 'none'; sandbox",
    }
    if request.method == "HEAD":
        return Response(media_type=content_type, headers=headers)
    return StreamingResponse(
        rt.blobs.open_chunks(row.storage_key), media_type=content_type, headers=headers
    )
