"""The Starlette application: routes, middleware and a lifespan that owns connections."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.cors import CORSMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route, WebSocketRoute
from tortoise import Tortoise

from gql.analytics_csv import messaging_csv
from gql.downloads import download_attachment
from gql.faults import JsonServerErrors
from gql.limits import BodyLimitMiddleware
from gql.observability import RequestObservability
from gql.ops import healthz, make_metrics, make_readyz
from gql.schema import build_schema, persisted_queries
from gql.settings import Settings
from gql.spa import spa_routes
from gql.unsubscribe import unsubscribe
from gql.view import LiaisonGraphQL, error_response
from gql.wiring import build_runtime

log = logging.getLogger("liaison.app")


async def http_error(request: Request, exc: Exception) -> Response:
    """Routing errors (unknown path, wrong method) as JSON like every other error."""
    assert isinstance(exc, HTTPException)
    code = {404: "NOT_FOUND", 405: "METHOD_NOT_ALLOWED"}.get(exc.status_code, "BAD_REQUEST")
    return error_response(exc.status_code, code, str(exc.detail), **(exc.headers or {}))


# What a single-page app sends and may read across origins.
CORS_REQUEST_HEADERS = (
    "authorization",
    "content-type",
    "accept",
    "apollo-require-preflight",
    "x-apollo-operation-name",
    "x-request-id",
)
CORS_EXPOSED_HEADERS = ("x-request-id", "retry-after", "content-disposition")


def cors_middleware(settings: Settings) -> list[Middleware]:
    """Starlette's CORSMiddleware for the origins in LIAISON_ALLOWED_ORIGINS (none: no CORS).
    Tokens travel in the Authorization header, never in cookies: no credentials mode."""
    if not settings.allowed_origins:
        return []
    return [
        Middleware(
            CORSMiddleware,
            allow_origins=list(settings.allowed_origins),
            allow_methods=["GET", "POST"],
            allow_headers=list(CORS_REQUEST_HEADERS),
            expose_headers=list(CORS_EXPOSED_HEADERS),
            max_age=600,
        )
    ]


def create_app(settings: Settings) -> Starlette:
    rt = build_runtime(settings)
    schema = build_schema(settings)
    graphql = LiaisonGraphQL(rt, schema=schema, persisted=persisted_queries(settings, schema))

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # Lifespan runs in its own task under uvicorn: requests need the global fallback.
        await Tortoise.init(config=settings.tortoise_config(), _enable_global_fallback=True)
        await rt.hub.start()  # starts the bus
        await rt.scans.start()
        await rt.sessions.start()
        await rt.bulk.start()
        if rt.notifications:
            await rt.notifications.start()
        # What start-up made (schema, models, pools) lives as long as the process: keep it
        # out of every collection, whose pauses set the live inbox's p99.
        gc.freeze()
        try:
            yield
        finally:
            rt.shutting_down.set()
            await rt.sessions.stop()
            await rt.send_limits.close()
            await rt.bulk.stop()
            if rt.notifications:
                await rt.notifications.stop()
            await rt.scans.stop()
            await rt.hub.stop()  # stops the bus
            await Tortoise.close_connections()

    app = Starlette(
        routes=[
            Route("/graphql", graphql),  # the view answers other methods with a JSON 405
            WebSocketRoute("/graphql", graphql),
            Route("/healthz", healthz),
            Route("/readyz", make_readyz(settings, rt.shutting_down, rt.blobs)),
            Route("/metrics", make_metrics(settings)),
            Route("/analytics/messaging.csv", messaging_csv, methods=["GET"]),
            Route("/attachments/{attachment_id}", download_attachment, methods=["GET"]),
            *spa_routes(settings),
            Route("/notifications/unsubscribe", unsubscribe, methods=["GET", "POST"]),
        ],
        middleware=[
            Middleware(RequestObservability),
            *cors_middleware(settings),
            Middleware(JsonServerErrors),
            Middleware(BodyLimitMiddleware, multipart_limit=settings.max_request_bytes),
        ],
        exception_handlers={HTTPException: http_error},
        lifespan=lifespan,
    )
    app.state.rt = rt
    app.state.graphql = graphql
    return app
