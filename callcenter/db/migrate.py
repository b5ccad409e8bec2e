"""Apply the Alembic migrations shipped inside the package.

Synchronous on purpose: Alembic's command API is synchronous and its env.py runs
its own event loop for the async driver, so call this from a thread
(``asyncio.to_thread``) when a loop is already running.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from alembic import command
from alembic.config import Config

MIGRATIONS = Path(__file__).with_name("migrations")


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    config.attributes["configure_logging"] = False
    return config


def run_migrations(url: str) -> None:
    config = alembic_config(url)
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        command.upgrade(config, "head")
        return
    # Called by synchronous code that runs under an event loop: env.py needs a
    # loop of its own, so the upgrade runs on a worker thread.
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(command.upgrade, config, "head").result()
