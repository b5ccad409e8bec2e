"""Throwaway PostgreSQL databases on the loopback server, for the tests and the
benchmarks: each run gets an empty database of its own and drops it after.

Why in the package and not in the tests: ``callcenter bench e2e`` measures on
PostgreSQL too, and the test suite and the benchmark must make and drop their
databases the same way. Names are built here (a prefix and random hex), never
taken from input, since they are spliced into the SQL.
"""

from __future__ import annotations

import asyncio
import socket
import uuid

#: the loopback server's maintenance connection (trust auth, as on CI)
ADMIN_DSN = "postgresql://postgres@127.0.0.1:5432/test"
URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"


def postgres_reachable() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 5432), timeout=1):
            return True
    except OSError:
        return False


def new_name(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:12]}"


def _admin(*statements: str) -> None:
    import asyncpg  # type: ignore[import-untyped]

    async def run() -> None:
        conn = await asyncpg.connect(ADMIN_DSN)
        try:
            for statement in statements:
                await conn.execute(statement)
        finally:
            await conn.close()

    asyncio.run(run())


def create_database(name: str) -> None:
    _admin(f'DROP DATABASE IF EXISTS "{name}"', f'CREATE DATABASE "{name}"')


def drop_database(name: str) -> None:
    _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
