"""Fixtures shared across the suite: free ports, a seeded demo database, a running
service (uvicorn + the built-in PBX simulator) on loopback."""

from __future__ import annotations

import asyncio
import os
import socket
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from callcenter.db import scratch
from callcenter.settings import Settings


@pytest.fixture(autouse=True, scope="session")
def _recordings_in_a_temp_dir(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Every service a test starts (in process or as a subprocess) writes its
    recordings and its arrival journal under the test run's temp dir, never
    into the checkout."""
    root = tmp_path_factory.mktemp("recordings")
    os.environ.setdefault("CALLCENTER_RECORDINGS__SPOOL_DIR", str(root / "spool"))
    os.environ.setdefault("CALLCENTER_RECORDINGS__STORE_DIR", str(root / "store"))
    os.environ.setdefault("CALLCENTER_JOURNAL_DIR", str(root / "journal"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def seed_database(url: str, *, customers: int = 200) -> None:
    from callcenter.db.migrate import run_migrations
    from callcenter.db.seed import seed_demo
    from callcenter.db.session import make_engine, make_session_factory

    run_migrations(url)

    async def run() -> None:
        engine = make_engine(url)
        try:
            await seed_demo(make_session_factory(engine), customers=customers)
        finally:
            await engine.dispose()

    # A thread of its own: the caller may be sync code under a running loop
    # (Playwright's sync API runs one).
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, run()).result()


@pytest.fixture
def seeded_db_url(tmp_path: Path) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path / 'callcenter.db'}"
    seed_database(url)
    return url


@pytest.fixture
def seeded_db_url_both(db_url: str) -> str:
    """The demo database on SQLite and on PostgreSQL (``db_url``'s two params),
    for the end-to-end tests that must hold on the production database too:
    one call from arrival to record, the survey, call control, callbacks."""
    seed_database(db_url)
    return db_url


def demo_settings(db_url: str, **simulator: Any) -> Settings:
    """Settings for a service on loopback with its own simulator, nothing automatic
    unless asked: no simulated callers, no simulated agents pressing Ready."""
    sim = {
        "enabled": True,
        "callers": False,
        "auto_agents": False,
        "answer_delay_s": 0.2,
        "person_answer_delay_s": 0.5,
        "talk_time_s": 1.0,
        "patience_s": 60.0,
        "seed": 3,
        **simulator,
    }
    return Settings(
        database_url=db_url,
        http_port=free_port(),
        pbx=[{"name": "pbx1", "host": "127.0.0.1", "port": free_port()}],
        simulator=sim,
        ring_timeout_s=5.0,
    )


@dataclass
class RunningService:
    settings: Settings
    app: Any
    base_url: str


@contextmanager
def serve_in_thread(app: Any, name: str = "web-under-test") -> Iterator[str]:
    """Serve an ASGI app with uvicorn on a loopback port, in a thread with its own
    event loop (as `callcenter serve` does); yields the base URL."""
    import uvicorn

    from callcenter.web.server_options import WEBSOCKET_OPTIONS

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    server = uvicorn.Server(
        uvicorn.Config(
            app,
            host="127.0.0.1",
            port=port,
            log_config=None,
            lifespan="on",
            **WEBSOCKET_OPTIONS,
        )
    )
    thread = threading.Thread(
        target=lambda: asyncio.run(server.serve(sockets=[listener])), name=name, daemon=True
    )
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        listener.close()


def run_service(settings: Settings) -> Iterator[RunningService]:
    """The real service (create_app) with its simulator, served over loopback."""
    from callcenter.service import create_app

    app = create_app(settings)
    with serve_in_thread(app, "callcenter-under-test") as base_url:
        yield RunningService(settings, app, base_url)


POSTGRES_ADMIN_DSN = scratch.ADMIN_DSN
_postgres_reachable = scratch.postgres_reachable
_create_pg_database = scratch.create_database
_drop_pg_database = scratch.drop_database


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database, on SQLite and (when the loopback server answers) PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'test.db'}"
        return
    if not _postgres_reachable():
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL must be reachable on 127.0.0.1:5432 in CI")
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432")
    name = f"cc_test_{uuid.uuid4().hex[:12]}"
    _create_pg_database(name)
    try:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    finally:
        _drop_pg_database(name)


async def eventually(
    check: Callable[[], Awaitable[bool]], what: str, timeout_s: float = 20
) -> None:
    """Wait until ``check()`` is true; fail saying ``what`` did not happen. Polls,
    because the things waited for (a record written, a link resynced) raise no event."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if await check():
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"not reached in {timeout_s} s: {what}")


def eventually_sync(value: Callable[[], Any], timeout_s: float = 20.0) -> Any:
    """Poll ``value()`` from sync code (a browser test) until it is not None;
    returns it, or None once the deadline passed (the caller asserts on it)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        result = value()
        if result is not None:
            return result
        time.sleep(0.1)
    return None
