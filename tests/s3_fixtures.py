"""An S3-protocol server for the tests: moto in server mode, a process on a free port.

Production uses a real object store (any S3-compatible service); moto speaks the same protocol
over HTTP on 127.0.0.1, so the code under test is the code that runs in production.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import obstore
import pytest
from obstore.store import S3Store

from tests.realtime_fixtures import free_port, wait_for_port

MOTO = str(Path(sys.executable).with_name("moto_server"))
CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "liaison-test",
    "AWS_SECRET_ACCESS_KEY": "liaison-test-secret",
    "AWS_DEFAULT_REGION": "us-east-1",
}


class S3Server:
    """moto_server on a free port; `stop()`/`start()` by pid (its state is kept in memory, so
    a restarted server is empty: tests that restart it recreate the bucket)."""

    def __init__(self) -> None:
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="liaison-s3-"))
        self.process: subprocess.Popen[bytes] | None = None
        self.bucket = f"liaison-{uuid.uuid4().hex[:8]}"

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def url(self) -> str:
        return f"s3://{self.bucket}?endpoint={self.endpoint}&region=us-east-1"

    def start(self) -> None:
        with (self.dir / "moto.log").open("ab") as log:
            self.process = subprocess.Popen(
                [MOTO, "-H", "127.0.0.1", "-p", str(self.port)],
                stdout=log,
                stderr=subprocess.STDOUT,
                env={**os.environ, **CREDENTIALS},
            )
        wait_for_port(self.port, timeout=30)
        httpx.put(f"{self.endpoint}/{self.bucket}", timeout=10).raise_for_status()

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.kill(self.process.pid, signal.SIGKILL)
            self.process.wait(10)
        self.process = None

    def objects(self) -> list[str]:
        store = S3Store(
            self.bucket,
            region="us-east-1",
            config={
                "endpoint": self.endpoint,
                "access_key_id": CREDENTIALS["AWS_ACCESS_KEY_ID"],
                "secret_access_key": CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
            },
            client_options={"allow_http": True},
        )
        return [meta["path"] for batch in obstore.list(store) for meta in batch]

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def s3_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[S3Server]:
    for name, value in CREDENTIALS.items():
        monkeypatch.setenv(name, value)
    server = S3Server()
    server.start()
    try:
        yield server
    finally:
        server.close()
