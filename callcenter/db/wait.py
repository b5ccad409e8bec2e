"""Wait for the database at start-up, with backoff.

Why: in a deployment the service and its database start together (compose,
Kubernetes, a failover); the database may take seconds to accept connections.
Failing at once would make the process crash-loop and log a stack trace per
try; waiting with exponential backoff, one line per try, and then failing with
a clear error, is what an operator can read. The URL is never logged: it may
hold a password; its host and database name are enough to tell which one.
"""

from __future__ import annotations

import time

import structlog
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine
from tenacity import AsyncRetrying, RetryCallState, RetryError, stop_after_delay, wait_exponential

log = structlog.get_logger(__name__)

#: the longest pause between two tries
MAX_BACKOFF_S = 5.0


class DatabaseUnreachable(RuntimeError):
    """The database did not answer within the configured wait."""


def describe(engine: AsyncEngine) -> str:
    """Which database, without credentials: ``backend host:port/name``."""
    url = make_url(str(engine.url))
    where = f"{url.host}:{url.port}" if url.host else ""
    return f"{url.get_backend_name()} {where}/{url.database or ''}".replace(" /", " ")


async def _ping(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


async def wait_for_database(engine: AsyncEngine, wait_s: float) -> None:
    """Return once ``SELECT 1`` succeeds; retry with backoff (0.2 s doubling,
    at most ``MAX_BACKOFF_S``) for up to ``wait_s`` seconds, then raise
    ``DatabaseUnreachable`` naming the database and the last error."""
    which = describe(engine)
    started = time.monotonic()
    attempts = 0

    def before_sleep(state: RetryCallState) -> None:
        error = state.outcome.exception() if state.outcome is not None else None
        log.warning(
            "database not reachable yet, retrying",
            database=which,
            attempt=state.attempt_number,
            retry_in_s=round(state.upcoming_sleep, 2),
            error=type(error).__name__ if error is not None else None,
        )

    try:
        async for attempt in AsyncRetrying(
            stop=stop_after_delay(wait_s),
            wait=wait_exponential(multiplier=0.2, max=MAX_BACKOFF_S),
            before_sleep=before_sleep,
        ):
            with attempt:
                attempts += 1
                await _ping(engine)
    except RetryError as exc:
        last = exc.last_attempt.exception()
        raise DatabaseUnreachable(
            f"database {which} not reachable after {time.monotonic() - started:.1f} s: "
            f"{type(last).__name__}: {last}"
        ) from last
    if attempts > 1:
        log.info("database reachable", database=which, attempts=attempts)
