"""The `liaison` command line: serve, worker, migrate, seed, token, export-schema."""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import shutil
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from tortoise import Tortoise
from tortoise.exceptions import BaseORMException

from gql.settings import Settings, SettingsError


def _log_to_stderr() -> None:
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="%(message)s")


async def _with_db(settings: Settings, work: Callable[[], Awaitable[Any]]) -> Any:
    await Tortoise.init(config=settings.tortoise_config())
    try:
        return await work()
    finally:
        await Tortoise.close_connections()


async def migrate(settings: Settings) -> None:
    from tortoise.migrations.api import migrate as run_migrations

    try:
        await run_migrations(config=settings.tortoise_config())
    finally:
        # Also after a failure: an open aiosqlite connection is a thread that keeps the process
        # alive (`liaison migrate` hung after printing the error).
        await Tortoise.close_connections()


def cmd_migrate(settings: Settings, args: argparse.Namespace) -> int:
    try:
        asyncio.run(migrate(settings))
    except (BaseORMException, OSError) as error:
        print(
            f"liaison migrate: failed: {error}",
            file=sys.stderr,
        )
        return 1
    print("migrations applied", file=sys.stderr)
    return 0


def _prometheus_multiprocess(settings: Settings) -> None:
    """Each uvicorn worker is a process with its own metrics: prometheus-client's
    multiprocess mode writes them to files in one directory, and /metrics (answered by any
    worker) sums them. The directory is emptied at start, as the client requires."""
    directory = Path(os.environ.get("PROMETHEUS_MULTIPROC_DIR") or settings.data_dir / "prometheus")
    shutil.rmtree(directory, ignore_errors=True)
    directory.mkdir(parents=True)
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = str(directory)


def cmd_serve(settings: Settings, args: argparse.Namespace) -> int:
    import uvicorn

    from gql import http_protocol

    http_protocol.configure(
        http_protocol.HeaderLimits(settings.max_header_bytes, settings.header_timeout_seconds)
    )
    if args.workers > 1 and not settings.redis_url:
        # The in-process broker and scan queue serve one process: events published in one
        # worker would never reach a subscriber connected to another.
        print(
            "liaison serve: --workers > 1 needs LIAISON_REDIS_URL (the in-process broker "
            "serves one process)",
            file=sys.stderr,
        )
        return 2
    if args.workers > 1:
        _prometheus_multiprocess(settings)
    if args.migrate:
        asyncio.run(migrate(settings))
    print(f"Liaison on http://{args.host}:{args.port}/graphql", file=sys.stderr)
    print(f"Web app on http://{args.host}:{args.port}/app/", file=sys.stderr)
    uvicorn.run(
        "gql.asgi:app",
        host=args.host,
        port=args.port,
        workers=args.workers,
        log_level="warning",
        ws="gql.wsserver:LiaisonWebSocketProtocol",  # 64 KiB frames until authenticated
        ws_max_size=settings.ws_max_message_bytes,
        ws_per_message_deflate=settings.ws_compression,
        timeout_graceful_shutdown=10,
        timeout_keep_alive=5,
        **http_protocol.uvicorn_options(),
    )
    return 0


def cmd_token(settings: Settings, args: argparse.Namespace) -> int:
    from models import User
    from services.auth import issue_platform_token, issue_token

    if args.platform == bool(args.email):
        print("liaison token: give either an e-mail address or --platform", file=sys.stderr)
        return 2
    if args.platform:
        print(issue_platform_token(settings.jwt_secret))
        return 0

    async def find() -> User | None:
        return await User.filter(email=args.email.lower()).first()

    user = asyncio.run(_with_db(settings, find))
    if user is None:
        print(f"no user with e-mail {args.email}", file=sys.stderr)
        return 1
    print(issue_token(settings.jwt_secret, user.id))
    return 0


def cmd_seed(settings: Settings, args: argparse.Namespace) -> int:
    from services.auth import issue_token
    from services.blobs import make_blob_store
    from services.demo import seed_demo

    if not args.demo:
        print("nothing to seed: pass --demo", file=sys.stderr)
        return 2

    async def run() -> dict[str, Any]:
        from tortoise.migrations.api import migrate as run_migrations

        await run_migrations(config=settings.tortoise_config())
        from services.demo_messages import seed_demo_messages

        users = await seed_demo()
        await seed_demo_messages(users, make_blob_store(settings.blob_url, settings.data_dir))
        return {
            "graphql": f"{settings.public_url}/graphql",
            "users": [
                {
                    "email": u.user.email,
                    "name": u.user.name,
                    "role": u.role_name,
                    "account": u.account.name,
                    "accountKind": u.account.kind.value,
                    "token": issue_token(settings.jwt_secret, u.user.id),
                }
                for u in users
            ],
        }

    print(json.dumps(asyncio.run(_with_db(settings, run)), indent=2))
    return 0


def cmd_export_schema(settings: Settings, args: argparse.Namespace) -> int:
    from gql.schema import print_schema_sdl

    sdl = print_schema_sdl()
    if args.check:
        current = Path(args.output).read_text() if Path(args.output).exists() else ""
        if current != sdl:
            print(f"{args.output} is out of date: run 'liaison export-schema'", file=sys.stderr)
            return 1
        return 0
    Path(args.output).write_text(sdl)
    print(f"wrote {args.output}", file=sys.stderr)
    return 0


def cmd_worker(settings: Settings, args: argparse.Namespace) -> int:
    from services.scanning import run_worker

    asyncio.run(run_worker(settings, burst=args.burst, policy=settings.scan_policy))
    return 0


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="liaison", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the HTTP and websocket server (uvicorn)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=8000)
    serve.add_argument("--workers", type=int, default=1)
    serve.add_argument("--migrate", action="store_true", help="apply migrations first")
    serve.set_defaults(run=cmd_serve)
    worker = sub.add_parser("worker", help="run the attachment scan worker")
    worker.add_argument("--burst", action="store_true", help="exit when the queue is empty")
    worker.set_defaults(run=cmd_worker)
    sub.add_parser("migrate", help="apply database migrations").set_defaults(run=cmd_migrate)
    seed = sub.add_parser("seed", help="load data")
    seed.add_argument("--demo", action="store_true", help="demo accounts, users and messages")
    seed.set_defaults(run=cmd_seed)
    token = sub.add_parser("token", help="issue a token for a user, or the platform's")
    token.add_argument("email", nargs="?")
    token.add_argument(
        "--platform", action="store_true", help="a platform token (the provisioning API)"
    )
    token.set_defaults(run=cmd_token)
    export = sub.add_parser("export-schema", help="write schema.graphql")
    export.add_argument("--output", default="schema.graphql")
    export.add_argument("--check", action="store_true", help="fail if the file differs")
    export.set_defaults(run=cmd_export_schema)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    _log_to_stderr()
    try:
        settings = Settings.from_env()
    except SettingsError as error:
        print(f"liaison: {error}", file=sys.stderr)
        return 2
    result: int = args.run(settings, args)
    return result


if __name__ == "__main__":
    sys.exit(main())
