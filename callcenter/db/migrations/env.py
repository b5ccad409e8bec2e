"""Alembic environment: runs migrations through the async engine callcenter uses.

The URL comes from ``run_migrations`` (``sqlalchemy.url``), else from
``-x url=...`` on the Alembic command line, else from CALLCENTER_DATABASE_URL.
"""

from __future__ import annotations

import asyncio
import os

from alembic import context
from sqlalchemy import text
from sqlalchemy.engine import Connection

from callcenter.db.models import Base
from callcenter.db.session import make_engine

target_metadata = Base.metadata

#: Serialises migrators on PostgreSQL (a service and `callcenter simulate`
#: starting together): the second waits, then finds the schema at head.
_PG_MIGRATION_LOCK = 0x63616C6C  # "call"


def _url() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url")
    url = url or context.config.get_main_option("sqlalchemy.url")
    url = url or os.environ.get("CALLCENTER_DATABASE_URL")
    if not url:
        raise RuntimeError("no database URL: pass -x url=... or set CALLCENTER_DATABASE_URL")
    return url


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            connection.execute(text(f"SELECT pg_advisory_xact_lock({_PG_MIGRATION_LOCK})"))
        context.run_migrations()


async def _run_async(url: str) -> None:
    engine = make_engine(url)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(_run)
            await connection.commit()
    finally:
        await engine.dispose()


if context.is_offline_mode():
    raise RuntimeError("offline (--sql) migrations are not supported; run them online")
asyncio.run(_run_async(_url()))
