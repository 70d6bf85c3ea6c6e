"""HTTP/1.1 load generator, run as its own process: `python -m bench.loadgen < spec.json`.

Raw asyncio streams over keep-alive connections (uvloop when present), so one core sends
several thousand requests a second. Two modes:

- closed loop (`rate` is null): `concurrency` connections each send the next request as
  soon as the previous answer arrives; measures throughput.
- open loop (`rate` set): requests are *scheduled* at a fixed rate and latency is counted
  from the scheduled instant, so a stalled server is not hidden by a generator that waits
  for it (no coordinated omission).

Request bodies may contain `{n}` (a per-request counter) and `{r}` (the next item of
`rotate`). Prints one JSON object: counts, throughput, latency percentiles and the
generator's own CPU use (to show it was not the bottleneck).
"""

from __future__ import annotations

import asyncio
import json
import resource
import sys
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit


@dataclass
class Spec:
    url: str
    body: str
    headers: dict[str, str]
    duration: float
    warmup: float = 1.0
    concurrency: int = 8
    rate: float | None = None
    rotate: list[str] | None = None
    expect: str | None = None  # a substring every 2xx answer must contain


class Connection:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    async def roundtrip(self, request: bytes) -> tuple[int, bytes]:
        self.writer.write(request)
        head = await self.reader.readuntil(b"\r\n\r\n")
        status = int(head[9:12])
        length = 0
        for line in head.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        body = await self.reader.readexactly(length) if length else b""
        return status, body


class Generator:
    def __init__(self, spec: Spec) -> None:
        self.spec = spec
        parts = urlsplit(spec.url)
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port or 80
        self.path = parts.path or "/"
        self.counter = 0
        self.latencies: list[float] = []
        self.statuses: dict[int, int] = {}
        self.bad_bodies = 0
        self.first_error: str | None = None
        self.recording = False
        self.templated = "{n}" in spec.body or "{r}" in spec.body
        self.fixed = self._build(spec.body)

    def _build(self, body: str) -> bytes:
        data = body.encode()
        head = [f"POST {self.path} HTTP/1.1", f"Host: {self.host}:{self.port}"]
        head += [f"{k}: {v}" for k, v in self.spec.headers.items()]
        head += ["Content-Type: application/json", f"Content-Length: {len(data)}", "", ""]
        return "\r\n".join(head).encode() + data

    def next_request(self) -> bytes:
        self.counter += 1  # also counts warm-up requests: the server's CPU covers those
        if not self.templated:
            return self.fixed
        rotate = self.spec.rotate or [""]
        body = self.spec.body.replace("{n}", str(self.counter)).replace(
            "{r}", rotate[self.counter % len(rotate)]
        )
        return self._build(body)

    async def connect(self) -> Connection:
        reader, writer = await asyncio.open_connection(self.host, self.port)
        return Connection(reader, writer)

    def record(self, started: float, status: int, body: bytes) -> None:
        if not self.recording:
            return
        self.latencies.append(time.perf_counter() - started)
        self.statuses[status] = self.statuses.get(status, 0) + 1
        ok = 200 <= status < 300 and not _top_level_errors(body)
        if ok and self.spec.expect is not None and self.spec.expect.encode() not in body:
            ok = False
        if not ok:
            self.bad_bodies += 1
            if self.first_error is None:
                self.first_error = body[:300].decode(errors="replace")

    async def closed_loop(self, stop_at: float) -> None:
        async def worker() -> None:
            conn = await self.connect()
            while time.perf_counter() < stop_at:
                started = time.perf_counter()
                try:
                    status, body = await conn.roundtrip(self.next_request())
                except (OSError, asyncio.IncompleteReadError) as error:
                    status, body = 0, repr(error).encode()
                    conn.writer.close()
                    conn = await self.connect()
                self.record(started, status, body)
            conn.writer.close()

        await asyncio.gather(*(worker() for _ in range(self.spec.concurrency)))

    async def open_loop(self, start: float, stop_at: float) -> None:
        assert self.spec.rate is not None
        pool: asyncio.Queue[Connection] = asyncio.Queue()
        for _ in range(self.spec.concurrency):
            pool.put_nowait(await self.connect())
        interval = 1.0 / self.spec.rate
        tasks: set[asyncio.Task[None]] = set()

        async def one(scheduled: float) -> None:
            conn = await pool.get()
            try:
                status, body = await conn.roundtrip(self.next_request())
            except (OSError, asyncio.IncompleteReadError) as error:
                status, body = 0, repr(error).encode()
                conn.writer.close()
                conn = await self.connect()
            finally:
                pool.put_nowait(conn)
            self.record(scheduled, status, body)

        i = 0
        while True:
            scheduled = start + i * interval
            if scheduled >= stop_at:
                break
            delay = scheduled - time.perf_counter()
            if delay > 0:
                await asyncio.sleep(delay)
            task = asyncio.create_task(one(scheduled))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            i += 1
        await asyncio.gather(*tasks)

    async def run(self) -> dict[str, Any]:
        spec = self.spec
        now = time.perf_counter()
        if spec.warmup > 0:
            if spec.rate is None:
                await self.closed_loop(now + spec.warmup)
            else:
                await self.open_loop(now, now + spec.warmup)
        self.recording = True
        cpu0 = _cpu()
        start = time.perf_counter()
        if spec.rate is None:
            await self.closed_loop(start + spec.duration)
        else:
            await self.open_loop(start, start + spec.duration)
        wall = time.perf_counter() - start
        return self.summary(wall, _cpu() - cpu0)

    def summary(self, wall: float, cpu: float) -> dict[str, Any]:
        lat = sorted(self.latencies)

        def pct(p: float) -> float:
            if not lat:
                return float("nan")
            return lat[min(len(lat) - 1, int(p / 100 * len(lat)))] * 1000

        return {
            "requests": len(lat),
            "wall_s": round(wall, 3),
            "rps": round(len(lat) / wall, 1) if wall else 0.0,
            "p50_ms": round(pct(50), 2),
            "p95_ms": round(pct(95), 2),
            "p99_ms": round(pct(99), 2),
            "max_ms": round(lat[-1] * 1000, 2) if lat else float("nan"),
            "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
            "errors": self.bad_bodies,
            "first_error": self.first_error,
            "generator_cpu_pct": round(100 * cpu / wall, 1) if wall else 0.0,
            "sent_including_warmup": self.counter,
        }


def _top_level_errors(body: bytes) -> bool:
    """GraphQL errors (`"errors":[{…`); an empty payload error list is a success."""
    return b'"errors":[{' in body or b'"errors": [{' in body


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def main() -> None:
    spec = Spec(**json.loads(sys.stdin.read()))
    try:
        import uvloop
    except ImportError:
        result = asyncio.run(Generator(spec).run())
    else:
        result = uvloop.run(Generator(spec).run())
    print(json.dumps(result))


if __name__ == "__main__":
    main()
