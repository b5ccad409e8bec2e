"""One active router, a hot standby: leadership through a PostgreSQL advisory lock.

Why: the router keeps the live state of the center in memory (who waits, who
rings) and acts on it (it originates offers over AMI). Two routers acting on one
PBX would offer one caller to two agents, so exactly one node may act. Another
node is a hot standby: it serves ``/healthz`` and waits; once it leads it rebuilds
its state from the database (open calls, last agent states) and from the PBX
(``CoreShowChannels``), the very path a restart after ``kill -9`` takes.

How: the leader holds a session-level ``pg_try_advisory_lock`` on a connection of
its own. PostgreSQL lets the lock go when that session ends: the leader stopped,
or died (a crash, ``kill -9``: the kernel closes its socket), and the standby,
trying every ``poll_s``, gets it. The lock lives as long as the connection, so the
connection is a dedicated one (a pooled connection handed back would still hold
it) in autocommit (no transaction left open for hours).

Losing that connection while leading means PostgreSQL may already have handed the
lock to the standby, so this node must stop acting at once: it exits the process
(``step_down``). Not a graceful stop: that keeps the AMI links and the router
running for seconds (recordings are drained) while the other node leads, and two
leaders would offer calls twice. The supervisor restarts the process, which comes
back as the standby; what it knew is in the database and the PBX.

On SQLite (one node, the embedded default) there is nobody to share with:
leadership is held at once and for ever.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
import sys
from collections.abc import Callable
from typing import NoReturn

import structlog
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.pool import NullPool

log = structlog.get_logger(__name__)

#: the name the advisory lock's key is derived from
LOCK_NAME = "callcenter.router"
#: the exit status of a node that lost leadership (EX_TEMPFAIL: restart it)
EXIT_LEADERSHIP_LOST = 75


def lock_key(name: str) -> int:
    """A fixed signed 64-bit key (advisory locks take a bigint) from a readable
    name: the same on every node and every release, unlikely to meet another's."""
    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big", signed=True)


def step_down(reason: str) -> NoReturn:
    """Stop acting now: log why and end the process without a graceful stop (see
    the module docstring); its supervisor restarts it as the standby."""
    log.error("leadership lost: exiting, to come back as standby", reason=reason)
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(EXIT_LEADERSHIP_LOST)


class Leadership:
    """Whether this node may act on calls; ``acquire()`` returns once it may."""

    def __init__(
        self,
        database_url: str,
        *,
        poll_s: float = 1.0,
        check_timeout_s: float | None = None,
        name: str = LOCK_NAME,
        on_lost: Callable[[str], object] = step_down,
    ) -> None:
        self._url = database_url
        self._shared = make_url(database_url).get_backend_name() == "postgresql"
        self.poll_s = poll_s
        #: how long a lock try or a liveness check may take before it counts as failed
        self.check_timeout_s = check_timeout_s if check_timeout_s else max(2.0, 2 * poll_s)
        self.key = lock_key(name)
        self._on_lost = on_lost
        self._engine: AsyncEngine | None = None
        self._conn: AsyncConnection | None = None
        self._watch: asyncio.Task[None] | None = None
        self._leading = False

    @property
    def is_leader(self) -> bool:
        return self._leading

    def lost(self, reason: str) -> None:
        """This node must not act any more (the lock's connection failed, or it
        could not start acting): stop leading and tell ``on_lost``."""
        self._leading = False
        self._on_lost(reason)

    async def acquire(self) -> None:
        """Return once this node leads: at once on SQLite; on PostgreSQL once the
        lock is had, trying every ``poll_s`` (through database outages too)."""
        if self._leading:
            return
        if not self._shared:
            self._leading = True
            log.info("leading: single-node database, no standby to share with")
            return
        if self._engine is None:
            self._engine = create_async_engine(self._url, poolclass=NullPool)
        waited = False
        while not await self._try_lock():
            if not waited:
                log.info("standby: another node leads, waiting for its lock", poll_s=self.poll_s)
                waited = True
            await asyncio.sleep(self.poll_s)
        self._leading = True
        log.info("leadership acquired", key=self.key)
        self._watch = asyncio.create_task(self._keep(), name="leadership-watch")

    async def _try_lock(self) -> bool:
        assert self._engine is not None
        try:
            async with asyncio.timeout(self.check_timeout_s):
                if self._conn is None:
                    conn = await self._engine.connect()
                    self._conn = await conn.execution_options(isolation_level="AUTOCOMMIT")
                got = await self._conn.scalar(
                    text("SELECT pg_try_advisory_lock(CAST(:key AS bigint))"), {"key": self.key}
                )
        except (SQLAlchemyError, OSError, TimeoutError) as exc:
            # The database is down or failing over: a new connection next time.
            log.warning("standby: database not reachable, retrying", error=type(exc).__name__)
            await self._drop_connection()
            return False
        return bool(got)

    async def _keep(self) -> None:
        """While leading: the lock is held as long as its connection lives, so check
        the connection every ``poll_s``; once it fails, leadership is gone."""
        while True:
            await asyncio.sleep(self.poll_s)
            try:
                assert self._conn is not None
                async with asyncio.timeout(self.check_timeout_s):
                    await self._conn.execute(text("SELECT 1"))
            except Exception as exc:  # whatever failed, the lock may be someone else's
                self.lost(f"lock connection failed: {type(exc).__name__}: {exc}")
                return

    async def close(self) -> None:
        """Let leadership go (closing the connection ends the lock's session) or stop
        waiting for it; safe whether it was ever had."""
        if self._watch is not None:
            self._watch.cancel()
            await asyncio.gather(self._watch, return_exceptions=True)
            self._watch = None
        self._leading = False
        await self._drop_connection()
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None

    async def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is None:
            return
        try:
            await conn.close()
        except Exception as exc:  # already broken: nothing more to let go
            log.debug("leadership connection closed with an error", error=type(exc).__name__)
