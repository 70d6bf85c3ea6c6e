"""R0b in one process: the inbox query through Strawberry and through graphql-core directly,
with our schema extensions (permissions, limits, error masking) and without.

Variants, all on the same resolvers, the same database and a fresh context per operation:
- `graphql_core`: `graphql.execute` on the schema Strawberry built, document parsed and
  validated once (what ParserCache/ValidationCache give Strawberry);
- `strawberry_bare`: `Schema.execute` with only ParserCache + ValidationCache, and an
  `inbox` field without the permission extension;
- `strawberry_ours`: the production schema from `gql.schema.build_schema`.

Run: `python -m bench.inprocess '<json config>'`; prints JSON. `--profile` instead writes a
pyinstrument profile of the whole HTTP path (ASGI app, auth, view, schema, resolvers);
`--lane-ab` prints CPU ms per inbox request through the ASGI app with the known-document
lane on and off (`python -m bench --only-r0 --lane-ab` runs it with the bench's config).
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import time
import uuid
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import strawberry
from graphql import execute, parse
from starlette.requests import Request
from strawberry.extensions import ParserCache, ValidationCache
from tortoise import Tortoise

from bench.queries import INBOX, MESSAGES, PARTNERS
from gql.context import Context
from gql.schema import build_schema
from gql.settings import Settings
from gql.types.conversations import ConversationConnection
from gql.wiring import build_runtime
from resolvers import queries
from services.auth import load_viewer_by_user


@strawberry.type
class BareQuery:
    inbox: ConversationConnection = strawberry.field(resolver=queries.inbox)


async def _variants(
    settings: Settings, user_id: uuid.UUID
) -> dict[str, Callable[[], Awaitable[Any]]]:
    rt = build_runtime(settings)
    viewer = await load_viewer_by_user(user_id)
    request = Request({"type": "http", "method": "POST", "headers": [], "path": "/graphql"})
    ours = build_schema(settings)
    bare = strawberry.Schema(
        query=BareQuery,
        extensions=[lambda: ParserCache(maxsize=1000), lambda: ValidationCache(maxsize=1000)],
    )
    document = parse(INBOX)
    variables = {"first": 20}

    def ctx() -> Context:
        return Context(request=request, response=None, rt=rt, viewer_or_none=viewer)

    async def core() -> Any:
        result = await execute(
            bare._schema,
            document,
            context_value=ctx(),  # type: ignore[misc]
            variable_values=variables,
        )
        assert not result.errors, result.errors
        return result.data

    async def strawberry_bare() -> Any:
        result = await bare.execute(INBOX, variables, context_value=ctx())
        assert not result.errors, result.errors
        return result.data

    async def strawberry_ours() -> Any:
        result = await ours.execute(INBOX, variables, context_value=ctx())
        assert not result.errors, result.errors
        return result.data

    return {
        "graphql_core": core,
        "strawberry_bare": strawberry_bare,
        "strawberry_ours": strawberry_ours,
    }


async def _per_query(settings: Settings, config: dict[str, Any]) -> dict[str, Any]:
    """CPU ms per operation of each bench query through our schema, graphql-core vs compiled."""
    viewer = await load_viewer_by_user(uuid.UUID(config["user_id"]))
    request = Request({"type": "http", "method": "POST", "headers": [], "path": "/graphql"})
    schema = build_schema(settings)
    operations = {
        "inbox (20 conversations)": (INBOX, {"first": 20}),
        "partners ACTIVE + search": (
            PARTNERS,
            {"statuses": ["ACTIVE"], "search": config["search"]},
        ),
        "messages page 1 (50)": (MESSAGES, {"id": config["deep_id"], "after": None}),
    }
    runtimes = {
        mode: build_runtime(settings.with_overrides(executor=mode))
        for mode in ("graphql-core", "compiled")
    }
    table: dict[str, Any] = {}
    per_round = config.get("per_round", 40)
    for name, (query, variables) in operations.items():
        cpu: dict[str, list[float]] = {mode: [] for mode in runtimes}
        answers = set()
        for rt in runtimes.values():
            for _ in range(10):  # warm-up, and the plan is built
                result = await schema.execute(
                    query, variables, context_value=Context(request, None, rt, viewer)
                )
            assert not result.errors, result.errors
            answers.add(json.dumps(result.data))
        assert len(answers) == 1, f"{name}: executors disagree"
        for _ in range(config.get("rounds", 5)):
            for mode, rt in runtimes.items():
                cpu0 = time.process_time()
                for _ in range(per_round):
                    await schema.execute(
                        query, variables, context_value=Context(request, None, rt, viewer)
                    )
                cpu[mode].append((time.process_time() - cpu0) / per_round * 1000)
        table[name] = {mode: round(statistics.median(t), 3) for mode, t in cpu.items()}
    return table


async def measure(config: dict[str, Any]) -> dict[str, Any]:
    settings = Settings.from_env(config["env"])
    await Tortoise.init(config=settings.tortoise_config())
    try:
        variants = await _variants(settings, uuid.UUID(config["user_id"]))
        same = {json.dumps(await run(), sort_keys=True) for run in variants.values()}
        assert len(same) == 1, "variants disagree"
        wall: dict[str, list[float]] = {name: [] for name in variants}
        cpu: dict[str, list[float]] = {name: [] for name in variants}
        per_round = config.get("per_round", 60)
        for run in variants.values():  # warm-up
            for _ in range(20):
                await run()
        for _ in range(config.get("rounds", 5)):
            for name, run in variants.items():
                start, cpu0 = time.perf_counter(), time.process_time()
                for _ in range(per_round):
                    await run()
                wall[name].append((time.perf_counter() - start) / per_round * 1000)
                cpu[name].append((time.process_time() - cpu0) / per_round * 1000)
        per_query = await _per_query(settings, config) if "search" in config else {}
        return {
            "wall_ms": {name: round(statistics.median(t), 3) for name, t in wall.items()},
            "cpu_ms": {name: round(statistics.median(t), 3) for name, t in cpu.items()},
            "per_query_cpu_ms": per_query,
        }
    finally:
        await Tortoise.close_connections()


async def profile(config: dict[str, Any]) -> str:
    """pyinstrument over N inbox requests through the ASGI app (no uvicorn, no sockets)."""
    from pyinstrument import Profiler

    from gql.app import create_app
    from services.auth import issue_token

    settings = Settings.from_env(config["env"])
    app = create_app(settings)
    token = issue_token(settings.jwt_secret, uuid.UUID(config["user_id"]))
    body = json.dumps({"query": INBOX, "variables": {"first": 20}}).encode()
    scope = {
        "type": "http",
        "http_version": "1.1",
        "method": "POST",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "root_path": "",
        "scheme": "http",
        "query_string": b"",
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
        "headers": [
            (b"content-type", b"application/json"),
            (b"authorization", f"Bearer {token}".encode()),
            (b"content-length", str(len(body)).encode()),
        ],
    }

    async def one() -> None:
        sent: list[MutableMapping[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: MutableMapping[str, Any]) -> None:
            sent.append(message)

        await app(dict(scope, app=app), receive, send)
        assert sent[0]["status"] == 200, sent

    async with app.router.lifespan_context(app):
        for _ in range(30):
            await one()
        n = config.get("requests", 500)
        profiler = Profiler(interval=0.0005, async_mode="disabled")
        start = time.perf_counter()
        profiler.start()
        for _ in range(n):
            await one()
        profiler.stop()
        per = (time.perf_counter() - start) / n * 1000
    text = profiler.output_text(unicode=False, color=False, show_all="--all" in sys.argv)
    return f"{n} inbox requests through the ASGI app, {per:.2f} ms each (profiled)\n\n{text}"


async def lane_ab(config: dict[str, Any]) -> dict[str, Any]:
    """CPU ms per inbox request through the ASGI app (no uvicorn, sequential), with the
    known-document lane on and off, in alternating rounds; medians and minimums."""
    from gql.app import create_app
    from services.auth import issue_token

    settings = Settings.from_env(config["env"])
    apps = {
        mode: create_app(settings.with_overrides(known_document_lane=mode))
        for mode in ("on", "off")
    }
    token = issue_token(settings.jwt_secret, uuid.UUID(config["user_id"]))
    body = json.dumps({"query": INBOX, "variables": {"first": 20}}).encode()
    headers = [
        (b"content-type", b"application/json"),
        (b"authorization", f"Bearer {token}".encode()),
        (b"content-length", str(len(body)).encode()),
    ]
    scope = {
        "type": "http",
        "http_version": "1.1",
        "method": "POST",
        "path": "/graphql",
        "raw_path": b"/graphql",
        "root_path": "",
        "scheme": "http",
        "query_string": b"",
        "client": ("127.0.0.1", 1),
        "server": ("127.0.0.1", 80),
        "headers": headers,
    }

    async def one(app: Any) -> None:
        sent: list[MutableMapping[str, Any]] = []

        async def receive() -> dict[str, Any]:
            return {"type": "http.request", "body": body, "more_body": False}

        async def send(message: MutableMapping[str, Any]) -> None:
            sent.append(message)

        await app(dict(scope, app=app), receive, send)
        assert sent[0]["status"] == 200, sent

    cpu: dict[str, list[float]] = {mode: [] for mode in apps}
    first = apps["on"]
    async with first.router.lifespan_context(first):
        for app in apps.values():
            for _ in range(30):
                await one(app)
        n = config.get("requests", 300)
        for _ in range(config.get("rounds", 6)):
            for mode, app in apps.items():
                cpu0 = time.process_time()
                for _ in range(n):
                    await one(app)
                cpu[mode].append((time.process_time() - cpu0) / n * 1000)
    return {
        f"lane {mode}": {"median": round(statistics.median(t), 3), "min": round(min(t), 3)}
        for mode, t in cpu.items()
    }


def main() -> None:
    config = json.loads(sys.argv[-1])
    if "--profile" in sys.argv:
        print(asyncio.run(profile(config)))
    elif "--lane-ab" in sys.argv:
        print(json.dumps(asyncio.run(lane_ab(config))))
    else:
        print(json.dumps(asyncio.run(measure(config))))


if __name__ == "__main__":
    main()
