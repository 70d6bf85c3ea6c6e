"""gql/ in two floors: what types, resolvers and subscriptions use sits below them and loads
nothing that runs the server; what assembles the schema, the app, the websocket transport and
the command line sits above, and nothing below imports it."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

# The lower floor of gql/: the context, loaders, the permission directive, settings, the
# runtime's type, and the GraphQL types.
LOWER_FLOOR = [
    "gql.context",
    "gql.loaders",
    "gql.permissions",
    "gql.runtime",
    "gql.settings",
    "gql.types.accounts",
    "gql.types.analytics",
    "gql.types.conversations",
    "gql.types.enums",
    "gql.types.errors",
    "gql.types.events",
    "gql.types.inputs",
]
# Above: the schema, the app, the transports, the command line and what builds the runtime.
UPPER_FLOOR = [
    "gql.analytics_csv",
    "gql.app",
    "gql.asgi",
    "gql.cli",
    "gql.downloads",
    "gql.live",
    "gql.schema",
    "gql.view",
    "gql.wiring",
    "gql.ws",
    "gql.wsserver",
]
# What runs the server: collaborators with connections, tasks or servers of their own.
# (The redis client library itself may load: services.bulk imports it for its job store.)
RUNS_THE_SERVER = [
    "uvicorn",
    "services.hub",
    "services.bus",
    "services.scanning",
    "services.ratelimit",
    "services.sessions",
]


def loaded_by(modules: list[str]) -> set[str]:
    code = (
        "import importlib, json, sys\n"
        f"for name in {modules!r}: importlib.import_module(name)\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], check=True, capture_output=True, text=True
    ).stdout
    return set(json.loads(out))


def under(loaded: set[str], roots: list[str]) -> set[str]:
    return {m for m in loaded if any(m == r or m.startswith(r + ".") for r in roots)}


def test_the_lower_floor_loads_nothing_that_runs_the_server() -> None:
    loaded = loaded_by(LOWER_FLOOR)
    assert under(loaded, UPPER_FLOOR) == set()
    assert under(loaded, RUNS_THE_SERVER) == set()


@pytest.mark.parametrize("package", ["resolvers", "subscriptions"])
def test_resolvers_and_subscriptions_import_nothing_above_them(package: str) -> None:
    import pkgutil

    root = __import__(package)
    modules = [package] + [f"{package}.{m.name}" for m in pkgutil.iter_modules(root.__path__)]
    assert under(loaded_by(modules), UPPER_FLOOR) == set()


def test_the_upper_floor_is_where_the_server_is() -> None:
    """The check above can fail: the app does load what runs the server."""
    loaded = loaded_by(["gql.app"])
    assert {"gql.ws", "gql.live", "services.hub", "services.scanning"} <= loaded
