"""Apply the Alembic migrations shipped inside the package.

Synchronous on purpose: Alembic's command API is synchronous and env.py runs an
event loop of its own for the async driver. From async code, call it as
``await asyncio.to_thread(run_migrations, url)``; called directly under a running
loop it moves itself to a worker thread, because ``asyncio.run`` cannot nest.
"""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from alembic import command
from alembic.config import Config

HERE = Path(__file__).parent
ALEMBIC_INI = HERE / "alembic.ini"
MIGRATIONS = HERE / "migrations"

# Alembic keeps the running migration in module-global state (``alembic.context``),
# so two upgrades in one process must not overlap. Across processes, env.py
# serialises them with an advisory lock on PostgreSQL.
_UPGRADING = threading.Lock()


def alembic_config(url: str) -> Config:
    """The packaged alembic.ini, pointed at ``url``.

    ``script_location`` is set again as an absolute path so the migrations are
    found whatever the working directory or install layout.
    """
    config = Config(str(ALEMBIC_INI)) if ALEMBIC_INI.exists() else Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    # configparser interpolates "%": a password containing one must survive.
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def run_migrations(url: str) -> None:
    """Upgrade the database at ``url`` to the newest schema; a no-op when it is there."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        _upgrade(url)
        return
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="migrations") as pool:
        pool.submit(_upgrade, url).result()


def _upgrade(url: str) -> None:
    with _UPGRADING:
        command.upgrade(alembic_config(url), "head")
