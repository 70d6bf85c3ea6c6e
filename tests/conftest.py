"""Shared fixtures: the app over HTTP on SQLite and on the real PostgreSQL, data factories.

Tests set up data with the factories (the models directly) and assert only through the
public API: HTTP here, websockets and the CLI in their own modules.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx
import pytest
from redis.asyncio import Redis
from tortoise import Tortoise
from tortoise.backends.base.executor import EXECUTOR_CACHE

from gql.app import create_app
from gql.cli import migrate
from gql.settings import Settings
from tests.factories import Api

if TYPE_CHECKING:
    from tests.realtime_fixtures import RedisServer

PG_ADMIN_URL = os.environ.get("LIAISON_TEST_PG", "postgres://postgres@127.0.0.1:5432/test")
JWT_SECRET = "test-secret-" + "x" * 32


def _psql(sql: str) -> None:
    subprocess.run(
        ["psql", PG_ADMIN_URL, "-v", "ON_ERROR_STOP=1", "-q", "-c", sql],
        check=True,
        capture_output=True,
    )


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    """A fresh database on the machine's real PostgreSQL, dropped at the end."""
    name = f"liaison_test_{os.getpid()}"
    _psql(f'DROP DATABASE IF EXISTS "{name}"')
    _psql(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    yield f"{base}/{name}"
    _psql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def make_settings(database_url: str, data_dir: Path, **overrides: Any) -> Settings:
    settings = Settings(
        database_url=database_url,
        data_dir=data_dir,
        jwt_secret=JWT_SECRET,
        env="test",
        # Every operation the suite sends runs compiled and through graphql-core, compared.
        executor="compare",
    )
    return settings.with_overrides(**overrides) if overrides else settings


@pytest.fixture(scope="session", params=["sqlite", "postgres"])
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def database_url(
    backend: str, request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> str:
    if backend == "sqlite":
        return f"sqlite://{tmp_path_factory.mktemp('sqlite') / 'liaison.db'}"
    return str(request.getfixturevalue("pg_database"))


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("data")


@pytest.fixture(scope="session")
async def app_settings(database_url: str, data_dir: Path) -> Settings:
    settings = make_settings(database_url, data_dir)
    await migrate(settings)
    return settings


@pytest.fixture(scope="session")
async def app(app_settings: Settings) -> AsyncIterator[Any]:
    # Tortoise caches insert statements per connection name: forget the other dialect's.
    EXECUTOR_CACHE.clear()
    application = create_app(app_settings)
    async with application.router.lifespan_context(application):
        yield application
    await Tortoise.close_connections()
    await _close_orphaned_sqlite_connections()


async def _close_orphaned_sqlite_connections() -> None:
    """A backstop: an aiosqlite connection's thread is not a daemon, so one that no Tortoise
    context owns any more (how `scanning_app` used to leave one, see its docstring) keeps the
    test process from exiting. Close whatever is left once the app is gone."""
    import gc

    import aiosqlite

    for obj in gc.get_objects():
        if isinstance(obj, aiosqlite.Connection) and obj._running:
            await obj.close()


@pytest.fixture
async def api(app: Any) -> AsyncIterator[Api]:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://testserver") as client:
        yield Api(client, JWT_SECRET)


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    """A private Redis on a free port for the module: tests may stop and restart it."""
    from tests.realtime_fixtures import RedisServer  # it imports this module

    server = RedisServer()
    server.start()
    try:
        yield server
    finally:
        server.close()


@pytest.fixture
async def redis(redis_server: RedisServer) -> AsyncIterator[Redis]:
    client = Redis.from_url(redis_server.url, decode_responses=True)
    try:
        yield client
    finally:
        await client.aclose()


@pytest.fixture(autouse=True)
def compiled_matches_graphql_core() -> Iterator[None]:
    """Fail a test whose operations answered differently compiled and in graphql-core."""
    from gql.execution import MISMATCHES

    MISMATCHES.clear()
    yield
    found = list(MISMATCHES)
    MISMATCHES.clear()
    assert not found, "\n".join(found)


@pytest.fixture
def unique() -> str:
    return uuid.uuid4().hex[:10]


@pytest.fixture(scope="module", params=[True, False], ids=["fast-path", "plain-path"])
def live_fast_path(request: pytest.FixtureRequest) -> bool:
    """Every test through `cluster` runs with the live fast path (gql.live) on and off."""
    return bool(request.param)


# --- the process must end once the summary is printed --------------------------------------
# CI once waited 80 minutes after "1189 passed": something kept the process (or its output pipe)
# alive after the summary. If the interpreter has not exited EXIT_GRACE_SECONDS after pytest
# unconfigures, this prints every thread's stack and the processes still attached to this one,
# then ends the process with pytest's own exit status, so the cause is on record instead of a
# timeout. scripts/test.sh does the same for processes still holding its output pipe.
EXIT_GRACE_SECONDS = 5
_exit_status = 0


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    global _exit_status
    _exit_status = int(exitstatus)


def pytest_unconfigure(config: pytest.Config) -> None:
    import faulthandler
    import sys
    import threading
    import time

    def watchdog() -> None:
        time.sleep(EXIT_GRACE_SECONDS)
        print(
            f"\nconftest: the test process did not exit {EXIT_GRACE_SECONDS} s after the summary;"
            " thread stacks and child processes follow",
            file=sys.stderr,
            flush=True,
        )
        faulthandler.dump_traceback(file=sys.stderr, all_threads=True)
        subprocess.run(["ps", "-o", "pid,ppid,etime,args", "--ppid", str(os.getpid())], check=False)
        os._exit(_exit_status)

    threading.Thread(target=watchdog, name="exit-watchdog", daemon=True).start()
