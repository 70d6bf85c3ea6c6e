"""`liaison serve --workers 2`: /metrics, answered by either worker, counts both."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import time
from pathlib import Path

import httpx

from gql.settings import Settings
from tests.realtime_fixtures import (
    LIAISON,
    POSTGRES_ONLY,
    ROOT,
    RedisServer,
    free_port,
    redis_server,
    server_env,
)

__all__ = ["redis_server"]

pytestmark = POSTGRES_ONLY


def test_metrics_are_summed_over_worker_processes(
    backend: str, app: object, app_settings: Settings, redis_server: RedisServer, tmp_path: Path
) -> None:
    env = server_env(app_settings.database_url, tmp_path, redis_server.url)
    env["LIAISON_METRICS_TOKEN"] = "metrics-token"
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    port = free_port()
    with (tmp_path / "serve.log").open("wb") as log:
        process = subprocess.Popen(
            [LIAISON, "serve", "--port", str(port), "--workers", "2"],
            env={**os.environ, **env},
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        pids: set[str] = set()
        total = 60
        for _ in range(total):  # new connections: the kernel spreads them over both workers
            with httpx.Client() as client:
                client.get(f"{base}/healthz")
        metrics = httpx.get(
            f"{base}/metrics", headers={"authorization": "Bearer metrics-token"}
        ).text
        counted = sum(
            float(m.group(1))
            for m in re.finditer(
                r'^liaison_http_requests_total\{route="/healthz",status="200"\} (\S+)$',
                metrics,
                re.M,
            )
        )
        assert counted >= total, metrics[:2000]
        files = list((tmp_path / "prometheus").glob("*.db"))
        pids = {f.stem.rsplit("_", 1)[-1] for f in files}
        assert len(pids) >= 2, files  # both workers wrote their metrics
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(5)
