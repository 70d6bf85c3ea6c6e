"""Rate limits for sending: per user, per account, and uploaded bytes per account.

Each limit is a GCRA (generic cell rate algorithm) bucket: `limit` units per `window`
seconds, with bursts of up to `limit`. One call checks every bucket it names and charges
all of them only if all allow, so a refusal costs nothing. Backends: in-process
(`MemoryRateLimiter`, one process only) and Redis (`RedisRateLimiter`, one Lua script, the
clock of the Redis server: shared by every process). If Redis cannot be reached the
request is allowed and a warning logged: a rate limit must not stop messaging.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import redis.asyncio as redis

from services import metrics
from services.auth import Viewer
from services.errors import RateLimited

log = logging.getLogger("liaison.ratelimit")
KEY_PREFIX = "liaison:rl:"


@dataclass(frozen=True, slots=True)
class Charge:
    """`cost` units against a bucket of `limit` units per `window` seconds."""

    name: str
    key: str
    limit: int
    window: float
    cost: int = 1

    @property
    def interval(self) -> float:
        return self.window / self.limit

    @property
    def capped_cost(self) -> int:
        # A charge larger than the whole bucket is allowed once the bucket is empty.
        return min(self.cost, self.limit)


class RateLimiter(Protocol):
    async def acquire(self, charges: Sequence[Charge]) -> tuple[float, str]:
        """(0, "") and every bucket charged, or the seconds to wait and the name of the
        charge that needs the longest wait, and nothing charged."""
        ...

    async def close(self) -> None: ...


class MemoryRateLimiter:
    def __init__(self) -> None:
        self._tats: dict[str, float] = {}

    async def acquire(self, charges: Sequence[Charge]) -> tuple[float, str]:
        now = time.monotonic()
        new: dict[str, float] = {}
        wait, limit = 0.0, ""
        for c in charges:
            tat = max(self._tats.get(c.key, now), now) + c.capped_cost * c.interval
            if tat - now - c.window > wait:
                wait, limit = tat - now - c.window, c.name
            new[c.key] = tat
        if wait > 0:
            return wait, limit
        self._tats.update(new)
        if len(self._tats) > 100_000:  # forget drained buckets
            self._tats = {k: t for k, t in self._tats.items() if t > now}
        return 0.0, ""

    async def close(self) -> None:
        return None


# KEYS: bucket keys; ARGV: interval, window, cost per key. Returns "wait:i", i the 1-based
# index of the key that needs the longest wait (0 when allowed).
_GCRA = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local wait = 0
local worst = 0
local tats = {}
for i = 1, #KEYS do
  local interval = tonumber(ARGV[3 * i - 2])
  local window = tonumber(ARGV[3 * i - 1])
  local cost = tonumber(ARGV[3 * i])
  local stored = redis.call('GET', KEYS[i])
  local tat = now
  if stored then tat = math.max(tonumber(stored), now) end
  local new = tat + cost * interval
  if new - now - window > wait then
    wait = new - now - window
    worst = i
  end
  tats[i] = new
end
if wait > 0 then return tostring(wait) .. ':' .. worst end
for i = 1, #KEYS do
  local ttl = math.ceil((tats[i] - now) * 1000) + 1000
  redis.call('SET', KEYS[i], tostring(tats[i]), 'PX', ttl)
end
return '0:0'
"""


class RedisRateLimiter:
    def __init__(self, url: str) -> None:
        self._client: redis.Redis = redis.Redis.from_url(
            url, socket_connect_timeout=1.0, socket_timeout=1.0
        )
        self._script: Any = self._client.register_script(_GCRA)

    async def acquire(self, charges: Sequence[Charge]) -> tuple[float, str]:
        keys = [KEY_PREFIX + c.key for c in charges]
        args: list[float | int] = []
        for c in charges:
            args += [c.interval, c.window, c.capped_cost]
        try:
            reply = await self._script(keys=keys, args=args)
        except (redis.RedisError, OSError) as error:
            log.warning("rate limiter: Redis unavailable, allowing: %r", error)
            return 0.0, ""
        wait, _, index = (reply.decode() if isinstance(reply, bytes) else str(reply)).partition(":")
        worst = int(index or 0)
        return float(wait), charges[worst - 1].name if worst > 0 else ""

    async def close(self) -> None:
        await self._client.aclose()


def make_rate_limiter(redis_url: str | None) -> RateLimiter:
    return RedisRateLimiter(redis_url) if redis_url else MemoryRateLimiter()


class SendRateLimits:
    """The limits of `sendMessage`; `check_send` raises `RateLimited` with a retry-after."""

    def __init__(
        self,
        limiter: RateLimiter,
        *,
        per_user: int,
        per_account: int,
        upload_bytes: int,
        window: float = 60.0,
    ) -> None:
        self.limiter = limiter
        self.per_user = per_user
        self.per_account = per_account
        self.upload_bytes = upload_bytes
        self.window = window

    async def check_send(self, viewer: Viewer, upload_bytes: int = 0) -> None:
        charges = [
            Charge("user", f"send:user:{viewer.user_id}", self.per_user, self.window),
            Charge("account", f"send:account:{viewer.account_id}", self.per_account, self.window),
        ]
        if upload_bytes > 0:
            charges.append(
                Charge(
                    "upload_bytes",
                    f"bytes:account:{viewer.account_id}",
                    self.upload_bytes,
                    self.window,
                    upload_bytes,
                )
            )
        wait, limit = await self.limiter.acquire([c for c in charges if c.limit > 0])
        if wait > 0:
            metrics.RATE_LIMITED.labels(limit).inc()
            retry_after = math.ceil(wait * 10) / 10
            raise RateLimited(
                f"Sending rate limit reached; try again in {retry_after:g} seconds.",
                retry_after=retry_after,
            )

    async def close(self) -> None:
        await self.limiter.close()
