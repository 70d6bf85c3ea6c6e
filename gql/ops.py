"""Operator endpoints: `/healthz` (alive), `/readyz` (dependencies), `/metrics` (Prometheus).

`/metrics` is not public: without `LIAISON_METRICS_TOKEN` it answers 404, and with it only
a request bearing `Authorization: Bearer <LIAISON_METRICS_TOKEN>` gets the figures.
`/readyz` says which dependency failed, never why (details go to the log).
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import os
from collections.abc import Awaitable, Callable

import redis.asyncio as redis
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from tortoise import Tortoise

from gql.settings import Settings
from services.blobs import BlobStore
from services.scanner import ClamdScanner

log = logging.getLogger("liaison.ops")
CHECK_TIMEOUT = 2.0


async def healthz(request: Request) -> Response:
    return JSONResponse({"status": "ok"})


async def check_database() -> None:
    await Tortoise.get_connection("default").execute_query("SELECT 1")


def check_redis(url: str) -> Callable[[], Awaitable[None]]:
    async def check() -> None:
        client = redis.Redis.from_url(
            url, socket_connect_timeout=CHECK_TIMEOUT, socket_timeout=CHECK_TIMEOUT
        )
        try:
            await client.ping()
        finally:
            await client.aclose()

    return check


def check_clamd(address: str) -> Callable[[], Awaitable[None]]:
    async def check() -> None:
        if not await ClamdScanner(address, timeout=CHECK_TIMEOUT).ping():
            raise ConnectionError("clamd did not answer PONG")

    return check


def readiness_checks(
    settings: Settings, blobs: BlobStore | None = None
) -> dict[str, Callable[[], Awaitable[None]]]:
    checks: dict[str, Callable[[], Awaitable[None]]] = {"database": check_database}
    if blobs is not None:
        checks["storage"] = blobs.check
    if settings.redis_url:
        checks["redis"] = check_redis(settings.redis_url)
    if settings.clamd:
        checks["clamd"] = check_clamd(settings.clamd)
    return checks


async def _run(name: str, check: Callable[[], Awaitable[None]]) -> bool:
    try:
        async with asyncio.timeout(CHECK_TIMEOUT + 1):
            await check()
    except Exception as error:
        log.warning("readiness check %s failed: %r", name, error)
        return False
    return True


def make_readyz(
    settings: Settings, shutting_down: asyncio.Event, blobs: BlobStore | None = None
) -> Callable[[Request], Awaitable[Response]]:
    checks = readiness_checks(settings, blobs)

    async def readyz(request: Request) -> Response:
        if shutting_down.is_set():
            return JSONResponse({"status": "shutting_down", "failed": []}, status_code=503)
        names = list(checks)
        results = await asyncio.gather(*(_run(n, checks[n]) for n in names))
        status = {n: "ok" if ok else "failed" for n, ok in zip(names, results, strict=True)}
        failed = [n for n, ok in zip(names, results, strict=True) if not ok]
        body = {"status": "unavailable" if failed else "ready", "checks": status, "failed": failed}
        return JSONResponse(body, status_code=503 if failed else 200)

    return readyz


def _registry() -> CollectorRegistry:
    """This process's registry, or with `serve --workers N` (PROMETHEUS_MULTIPROC_DIR set by
    `liaison serve`) one that collects every worker process's files."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return REGISTRY
    registry = CollectorRegistry()
    MultiProcessCollector(registry)  # type: ignore[no-untyped-call]
    return registry


def make_metrics(settings: Settings) -> Callable[[Request], Awaitable[Response]]:
    token = settings.metrics_token

    async def metrics(request: Request) -> Response:
        if token is None:
            return JSONResponse({"error": "not found"}, status_code=404)
        given = request.headers.get("authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return JSONResponse(
                {"error": "unauthorized"}, status_code=401, headers={"WWW-Authenticate": "Bearer"}
            )
        return Response(generate_latest(_registry()), media_type=CONTENT_TYPE_LATEST)

    return metrics
