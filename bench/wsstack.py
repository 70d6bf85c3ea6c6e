"""RSS per idle websocket of the bare websocket stack: the floor under the live inbox's memory.

    .venv/bin/python -m bench.wsstack [--sockets 2000] [--stacks uvicorn-websockets-sansio,…]

For each stack, the raw Starlette broadcast app of bench/realtime.py (`baseline_app`) runs in
a server process, N idle websockets are opened from this process, and the server's RSS growth
is divided by N. Stacks: uvicorn with each of its websocket implementations
(`websockets-sansio`, `websockets`, `wsproto`) and, when installed, granian. Prints JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import subprocess
import sys
from pathlib import Path
from typing import Any

from bench.realtime import ROOT, Subscriber, close_all, open_many, open_raw, rss_kb, start
from tests.realtime_fixtures import free_port


def tree_rss_kb(pid: int) -> int:
    """RSS of `pid` and its descendants (granian serves from worker processes)."""
    total, todo = 0, [pid]
    while todo:
        current = todo.pop()
        total += rss_kb(current)
        for task in Path(f"/proc/{current}/task").iterdir():
            todo += [int(c) for c in (task / "children").read_text().split()]
    return total


def command(stack: str, port: int) -> list[str]:
    if stack.startswith("uvicorn-"):
        return [
            sys.executable,
            "-m",
            "uvicorn",
            "bench.realtime:baseline_app",
            "--factory",
            "--port",
            str(port),
            "--ws",
            stack.removeprefix("uvicorn-"),
            "--ws-per-message-deflate",
            "false",
            "--log-level",
            "warning",
        ]
    if stack == "granian":
        return [
            sys.executable,
            "-m",
            "granian",
            "--interface",
            "asgi",
            "--factory",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "bench.realtime:baseline_app",
        ]
    raise ValueError(stack)


async def measure(stack: str, sockets: int) -> float:
    port = free_port()
    process: subprocess.Popen[bytes] = start(command(stack, port), {}, port)
    try:
        await asyncio.sleep(1)
        before = tree_rss_kb(process.pid)
        subs: list[Subscriber] = await open_many(
            sockets, lambda s: open_raw(f"ws://127.0.0.1:{port}/ws", s)
        )
        await asyncio.sleep(2)
        per_socket = (tree_rss_kb(process.pid) - before) / sockets
        await close_all(subs)
        return round(per_socket, 1)
    finally:
        process.terminate()
        process.wait(20)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sockets", type=int, default=2000)
    parser.add_argument(
        "--stacks",
        default="uvicorn-websockets-sansio,uvicorn-websockets,uvicorn-wsproto,granian",
    )
    args = parser.parse_args()
    _soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    results: dict[str, Any] = {"sockets": args.sockets, "rss_per_idle_websocket_kb": {}}
    for stack in args.stacks.split(","):
        try:
            results["rss_per_idle_websocket_kb"][stack] = await measure(stack, args.sockets)
        except Exception as error:  # a stack that is not installed
            results["rss_per_idle_websocket_kb"][stack] = f"not measured: {error!r}"
    print(json.dumps(results, indent=2))


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    asyncio.run(main())
