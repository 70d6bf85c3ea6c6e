"""Upload bench: a 25 MiB attachment through `sendMessage` on a real `liaison serve`.

Reports the server's peak RSS growth while it receives the file (VmHWM after the upload minus
VmRSS before it, with the peak reset through /proc/<pid>/clear_refs) and the upload
throughput as a ratio against a raw Starlette endpoint defined below that only streams the
request body to disk. Both servers run under uvicorn in their own process on 127.0.0.1.

    .venv/bin/python bench/upload.py [--rounds 5] [--size-mib 25] [--s3]

With `--s3` the server stores attachments in an S3-protocol server (moto in server mode, a
process on 127.0.0.1) and the baseline is the same bytes put into the same bucket by the S3
client alone (obstore reading the file itself, 5 MiB parts, two in flight), instead of the raw
Starlette endpoint.

Scanning is not part of the measurement: the server runs without clamd and Redis (the
attachment stays PENDING), on an SQLite database in a temporary directory.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
SEND = """mutation($input: SendMessageInput!) { sendMessage(input: $input) {
  message { attachments { size scanStatus } } errors { code message } } }"""


def raw_app(directory: str) -> Any:
    """The baseline: a Starlette endpoint that writes the raw body to a file as it arrives."""
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    async def receive(request: Request) -> JSONResponse:
        size = 0
        with tempfile.NamedTemporaryFile(dir=directory, delete=True) as out:
            async for chunk in request.stream():
                out.write(chunk)
                size += len(chunk)
        return JSONResponse({"size": size})

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse({"status": "ok"})

    return Starlette(
        routes=[Route("/upload", receive, methods=["POST"]), Route("/healthz", healthz)]
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def rss_kib(pid: int) -> dict[str, int]:
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0])
    return fields


def reset_peak(pid: int) -> None:
    Path(f"/proc/{pid}/clear_refs").write_text("5")  # resets VmHWM to the current RSS


@contextmanager
def process(args: list[str], env: dict[str, str], port: int, log: Path) -> Iterator[int]:
    with log.open("wb") as out:
        proc = subprocess.Popen(args, env={**os.environ, **env}, cwd=ROOT, stdout=out, stderr=out)
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"{args} exited:\n{log.read_text()}")
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        yield proc.pid
    finally:
        os.kill(proc.pid, signal.SIGTERM)
        proc.wait(15)


def make_file(path: Path, size: int) -> None:
    """A valid PDF of exactly ``size`` bytes (comment lines before %%EOF)."""
    head = (ROOT / "tests/corpus/valid.pdf").read_bytes().rpartition(b"%%EOF")[0]
    line = b"%" + b"x" * 1022 + b"\n"
    room = size - len(head) - 6
    with path.open("wb") as out:
        out.write(head)
        for _ in range(room // len(line)):
            out.write(line)
        rest = room % len(line)
        out.write(b"%" + b"y" * (rest - 2) + b"\n" if rest >= 2 else b"\n" * rest)
        out.write(b"%%EOF\n")
    assert path.stat().st_size == size


def upload_liaison(port: int, token: str, recipient: str, path: Path) -> float:
    variables = {"input": {"recipientAccountId": recipient, "body": "", "attachments": [None]}}
    with path.open("rb") as file:
        started = time.perf_counter()
        response = httpx.post(
            f"http://127.0.0.1:{port}/graphql",
            data={
                "operations": json.dumps({"query": SEND, "variables": variables}),
                "map": json.dumps({"0": ["variables.input.attachments.0"]}),
            },
            files={"0": (path.name, file, "application/pdf")},
            headers={"authorization": f"Bearer {token}", "apollo-require-preflight": "1"},
            timeout=120,
        )
        elapsed = time.perf_counter() - started
    result = response.json()["data"]["sendMessage"]
    assert response.status_code == 200 and not result["errors"], response.text
    assert result["message"]["attachments"][0]["size"] == path.stat().st_size
    return elapsed


def upload_raw(port: int, path: Path) -> float:
    with path.open("rb") as file:
        started = time.perf_counter()
        response = httpx.post(
            f"http://127.0.0.1:{port}/upload",
            files={"0": (path.name, file, "application/pdf")},
            timeout=120,
        )
        elapsed = time.perf_counter() - started
    assert response.status_code == 200 and response.json()["size"] > path.stat().st_size
    return elapsed


def demo_sender(env: dict[str, str]) -> str:
    """The token of a community manager of the first demo brand."""
    seeded = subprocess.run(
        [str(BIN / "liaison"), "seed", "--demo"],
        env={**os.environ, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    users = json.loads(seeded.stdout)["users"]
    return str(next(u["token"] for u in users if u["role"] == "COMMUNITY_MANAGER"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--size-mib", type=int, default=25)
    parser.add_argument("--s3", action="store_true", help="store in an S3 server (moto)")
    parser.add_argument("--raw-server", nargs=2, metavar=("PORT", "DIR"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.raw_server:
        import uvicorn

        port, directory = args.raw_server
        uvicorn.run(raw_app(directory), host="127.0.0.1", port=int(port), log_level="warning")
        return

    size = args.size_mib * 1024 * 1024
    with tempfile.TemporaryDirectory(prefix="liaison-bench-upload-") as tmp_dir:
        tmp = Path(tmp_dir)
        path = tmp / "upload.pdf"
        make_file(path, size)
        env = {
            "LIAISON_DATA_DIR": str(tmp / "data"),
            "LIAISON_JWT_SECRET": "bench-" + "x" * 40,
            "LIAISON_ENV": "test",
            "LIAISON_RATE_LIMIT_UPLOAD_BYTES_PER_MINUTE": str(100 * size),
            "LIAISON_RATE_LIMIT_USER_PER_MINUTE": "100000",
        }
        s3 = None
        if args.s3:
            sys.path.insert(0, str(ROOT))
            from tests.s3_fixtures import CREDENTIALS, S3Server

            os.environ.update(CREDENTIALS)
            s3 = S3Server()
            s3.start()
            env.update(CREDENTIALS, LIAISON_BLOB_URL=s3.url)
        token = demo_sender(env)
        port = free_port()
        liaison = [str(BIN / "liaison"), "serve", "--port", str(port)]
        with process(liaison, env, port, tmp / "serve.log") as pid:
            recipient = active_partner(port, token)
            upload_liaison(port, token, recipient, path)  # warm-up: imports, first connections
            peaks, times = [], []
            for _ in range(args.rounds):
                before = rss_kib(pid)["VmRSS"]
                reset_peak(pid)
                times.append(upload_liaison(port, token, recipient, path))
                peaks.append(rss_kib(pid)["VmHWM"] - before)
            after = rss_kib(pid)
        if s3 is not None:
            raw_times, raw_peaks = put_with_s3_client(s3, path, args.rounds)
            s3.close()
        else:
            raw_port = free_port()
            raw = [sys.executable, __file__, "--raw-server", str(raw_port), str(tmp)]
            with process(raw, {}, raw_port, tmp / "raw.log") as raw_pid:
                upload_raw(raw_port, path)
                raw_times, raw_peaks = [], []
                for _ in range(args.rounds):
                    before = rss_kib(raw_pid)["VmRSS"]
                    reset_peak(raw_pid)
                    raw_times.append(upload_raw(raw_port, path))
                    raw_peaks.append(rss_kib(raw_pid)["VmHWM"] - before)

    mib = size / (1024 * 1024)
    liaison_s, raw_s = statistics.median(times), statistics.median(raw_times)
    report = {
        "store": "s3 (moto)" if args.s3 else "file",
        "baseline": "obstore put alone" if args.s3 else "raw Starlette endpoint",
        "file_mib": mib,
        "rounds": args.rounds,
        "liaison_peak_rss_growth_mib": round(max(peaks) / 1024, 1),
        "liaison_rss_after_mib": round(after["VmRSS"] / 1024, 1),
        "raw_peak_rss_growth_mib": round(max(raw_peaks) / 1024, 1),
        "liaison_median_s": round(liaison_s, 3),
        "raw_median_s": round(raw_s, 3),
        "liaison_mib_per_s": round(mib / liaison_s, 1),
        "raw_mib_per_s": round(mib / raw_s, 1),
        "throughput_ratio": round(raw_s / liaison_s, 2),
    }
    print(json.dumps(report, indent=2))


def put_with_s3_client(s3: Any, path: Path, rounds: int) -> tuple[list[float], list[int]]:
    """The same bytes into the same bucket by the S3 client alone (5 MiB parts)."""
    import asyncio

    import obstore
    from obstore.store import S3Store

    store = S3Store(
        s3.bucket,
        region="us-east-1",
        config={"endpoint": s3.endpoint},
        client_options={"allow_http": True},
    )

    async def put(key: str) -> float:
        # The fastest of the configurations measured (a Path read by obstore itself, two parts
        # in flight); the server sends one part at a time to bound its memory.
        started = time.perf_counter()
        await obstore.put_async(
            store, key, path, use_multipart=True, chunk_size=5 * 1024 * 1024, max_concurrency=2
        )
        return time.perf_counter() - started

    asyncio.run(put("warm-up"))
    times = [asyncio.run(put(f"baseline-{i}")) for i in range(rounds)]
    return times, [0]


def active_partner(port: int, token: str) -> str:
    query = (
        "{ partners(first: 1, filter: {statuses: [ACTIVE]}) { edges { node { partner { id } } } } }"
    )
    response = httpx.post(
        f"http://127.0.0.1:{port}/graphql",
        json={"query": query},
        headers={"authorization": f"Bearer {token}"},
        timeout=30,
    )
    edges = response.json()["data"]["partners"]["edges"]
    return str(edges[0]["node"]["partner"]["id"])


if __name__ == "__main__":
    main()
