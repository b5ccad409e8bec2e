"""Where the node that leads can be reached, published in Redis for the others.

Why: with ``ha_enabled`` only the leader has a router; the other nodes still
serve pages and websockets (API nodes) and must hand commands to it
(``callcenter.web.forwarding``). The leader holds its PostgreSQL advisory lock,
which says *that* someone leads, not *where*: so the leader writes its
``advertise_url`` under one Redis key with a time to live, and renews it while
it leads. Another node reads the key (cached for a second, so a burst of clicks
costs one read). When the leader dies the key outlives it by at most its TTL,
but the standby that takes over writes its own URL at once; a forward to a dead
leader fails, is answered 503 and makes the reader look again.

The Redis URL may hold a password: only its host, port and database are logged.
"""

from __future__ import annotations

import asyncio
import time

import structlog
from redis.asyncio import Redis
from redis.exceptions import RedisError

from callcenter.web.hub_fanout import redis_location

log = structlog.get_logger(__name__)

#: how long the key outlives a leader that stopped renewing it
DEFAULT_TTL_S = 10.0
#: how long a read leader URL is used before Redis is asked again
DEFAULT_CACHE_S = 1.0
_FAILURES = (RedisError, OSError)


def leader_key(channel: str) -> str:
    """The key beside the fan-out channel: one per call center on a shared Redis."""
    return f"{channel}:leader"


class LeaderAddress:
    """Publishes this node's URL while it leads; tells the others the leader's."""

    def __init__(
        self,
        redis_url: str,
        key: str,
        *,
        ttl_s: float = DEFAULT_TTL_S,
        cache_s: float = DEFAULT_CACHE_S,
    ) -> None:
        if ttl_s <= 0 or cache_s < 0:
            raise ValueError("ttl_s must be positive and cache_s not negative")
        self._client = Redis.from_url(redis_url, socket_connect_timeout=2, socket_timeout=2)
        self.where = redis_location(redis_url)
        self.key = key
        self._ttl_ms = int(ttl_s * 1000)
        self._cache_s = cache_s
        self._cached: str | None = None
        self._read_at = float("-inf")
        self._failing = False

    async def advertise(self, url: str) -> None:
        """Write ``url`` as the leader's and renew it until cancelled (the node
        stops leading); at a third of the TTL, so two missed renewals are survived."""
        log.info("advertising this node as the leader", url=url, key=self.key)
        while True:
            try:
                await self._client.set(self.key, url, px=self._ttl_ms)
                self._reachable()
            except _FAILURES as error:
                self._unreachable("cannot advertise the leader", error)
            await asyncio.sleep(self._ttl_ms / 3000)

    async def leader_url(self) -> str | None:
        """The leader's URL, or None when none is advertised or Redis is away."""
        now = time.monotonic()
        if now - self._read_at < self._cache_s:
            return self._cached
        try:
            raw = await self._client.get(self.key)
            self._reachable()
        except _FAILURES as error:
            self._unreachable("cannot read the leader's address", error)
            raw = None
        self._cached = raw.decode() if isinstance(raw, bytes) else raw
        self._read_at = now
        return self._cached

    def forget(self) -> None:
        """The leader read last did not answer: read again next time."""
        self._read_at = float("-inf")

    async def aclose(self) -> None:
        await self._client.aclose()

    def _unreachable(self, what: str, error: BaseException) -> None:
        if not self._failing:
            self._failing = True
            log.warning(what, redis=self.where, error=type(error).__name__)

    def _reachable(self) -> None:
        if self._failing:
            self._failing = False
            log.info("redis reachable again for the leader's address", redis=self.where)
