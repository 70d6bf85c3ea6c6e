"""Processes the bench starts: `liaison serve`, the baseline app, the load generator."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
LOGS = ROOT / ".run" / "bench-logs"  # server output (e.g. access logs), kept out of the table


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _wait_ready(url: str, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=1):
                return
        except OSError as error:
            if getattr(error, "code", None):  # an HTTP status: the server answers
                return
            time.sleep(0.1)
    raise RuntimeError(f"{url} not ready after {timeout}s")


@contextmanager
def _process(args: list[str], env: dict[str, str], ready_url: str) -> Iterator[ServerProc]:
    LOGS.mkdir(parents=True, exist_ok=True)
    log = (LOGS / f"{Path(args[0]).name}-{Path(args[2]).name}.log").open("ab")
    proc = subprocess.Popen(args, env=env, cwd=ROOT, start_new_session=True, stdout=log, stderr=log)
    try:
        _wait_ready(ready_url, proc)
        yield ServerProc(proc)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)  # the session we created: server and workers
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        log.close()


class ServerProc:
    def __init__(self, proc: subprocess.Popen[bytes]) -> None:
        self.proc = proc

    def cpu_seconds(self) -> float:
        """User+system CPU of the server and its worker processes so far."""
        tick = os.sysconf("SC_CLK_TCK")
        total = 0.0
        for pid in _tree(self.proc.pid):
            try:
                fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            total += (int(fields[11]) + int(fields[12])) / tick
        return total


def _tree(root: int) -> list[int]:
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(entry.name)] = int(fields[1])
    found, frontier = [root], [root]
    while frontier:
        children = [pid for pid, ppid in parents.items() if ppid in frontier]
        found += children
        frontier = children
    return found


@contextmanager
def liaison(env: dict[str, str], workers: int = 1) -> Iterator[tuple[str, ServerProc]]:
    port = free_port()
    args = [
        str(BIN / "liaison"),
        "serve",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(workers),
    ]
    with _process(args, {**os.environ, **env}, f"http://127.0.0.1:{port}/healthz") as proc:
        yield f"http://127.0.0.1:{port}", proc


@contextmanager
def baseline(dsn: str, secret: str, pool: int) -> Iterator[tuple[str, ServerProc]]:
    port = free_port()
    args = [
        sys.executable,
        "-m",
        "bench.baseline",
        "--port",
        str(port),
        "--dsn",
        dsn,
        "--secret",
        secret,
        "--pool",
        str(pool),
    ]
    with _process(args, dict(os.environ), f"http://127.0.0.1:{port}/inbox") as proc:
        yield f"http://127.0.0.1:{port}", proc


def load(server: ServerProc, **spec: Any) -> dict[str, Any]:
    """Run the load generator in its own process; add the server's CPU use to its report."""
    cpu0, t0 = server.cpu_seconds(), time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "bench.loadgen"],
        input=json.dumps(spec),
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=True,
    )
    result: dict[str, Any] = json.loads(done.stdout)
    cpu = server.cpu_seconds() - cpu0
    # Over the whole generator run, warm-up included (hence per request *sent*).
    result["server_cpu_pct"] = round(100 * cpu / (time.monotonic() - t0), 1)
    result["server_cpu_ms_per_req"] = round(1000 * cpu / max(result["sent_including_warmup"], 1), 3)
    result["loadavg_after"] = Path("/proc/loadavg").read_text().split()[0]
    return result


def post_json(url: str, body: dict[str, Any], token: str) -> dict[str, Any]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={"Content-Type": "application/json", "Authorization": f"Bearer {token}"},
    )
    with urllib.request.urlopen(request, timeout=30) as answer:
        return json.loads(answer.read())  # type: ignore[no-any-return]
