"""Engines and sessions, built on demand from a URL (never at import time)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event, make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)

Sessions = async_sessionmaker[AsyncSession]


#: SQLite connections kept open. Each aiosqlite connection is a thread of its
#: own, and one opened beyond the pool is closed again on return: under load
#: (a CRM lookup per arriving call) SQLAlchemy's default of 5 kept opening and
#: closing threads, and lookups waited for a connection until they timed out.
SQLITE_POOL_SIZE = 32


def make_engine(url: str) -> AsyncEngine:
    if url.startswith("sqlite"):
        database = make_url(url).database
        pooled = bool(database) and database != ":memory:" and "mode=memory" not in url
        sizing: dict[str, Any] = (
            {"pool_size": SQLITE_POOL_SIZE, "max_overflow": 0} if pooled else {}
        )
        engine = create_async_engine(url, connect_args={"timeout": 30}, **sizing)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    return create_async_engine(url, pool_pre_ping=True)


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets the wallboard read while calls are written; foreign keys are off
    # by default in SQLite.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_session_factory(engine: AsyncEngine) -> Sessions:
    return async_sessionmaker(engine, expire_on_commit=False)
