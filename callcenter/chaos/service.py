"""The service under chaos, as the scenarios drive it: in this process or as a
``callcenter serve`` subprocess, and the simulated agents who keep pressing Ready.

Why both: most faults (a cut AMI link, a database gone, a stuck websocket, a
flapping phone) are best watched from inside, where the orchestrator's agent
states can be read directly; a kill -9 needs a process of its own, read only
through its HTTP API, as an operator would. ``AgentDesk`` is what both offer the
scenarios: every agent's state, and a way to make one Ready again.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, Protocol

import httpx
import structlog
import uvicorn

from agents import AgentState
from callcenter.orchestration.orchestrator import Orchestrator
from callcenter.service import create_app
from callcenter.settings import Settings
from callcenter.web.server_options import WEBSOCKET_OPTIONS

#: states a simulated agent leaves by pressing Ready (after a missed offer, a
#: page that went away, a site that was down)
NEEDS_READY = frozenset({AgentState.NOT_READY.value, AgentState.LOGGED_OUT.value})
DEMO_PASSWORD = "password"


class AgentDesk(Protocol):
    async def states(self) -> dict[str, str]:
        """Every agent's state now, by login."""
        ...

    async def make_ready(self, login: str) -> None: ...


class InProcessDesk:
    """The orchestrator of a service running in this process."""

    def __init__(self, desk: Orchestrator) -> None:
        self.desk = desk
        self._ids = {desk.agent_view(a).login: a for a in desk.agent_ids()}

    def agent_id(self, login: str) -> int:
        return self._ids[login]

    def login_of(self, agent_id: int) -> str:
        return self.desk.agent_view(agent_id).login

    async def states(self) -> dict[str, str]:
        return {login: self.desk.agent_view(a).state.value for login, a in self._ids.items()}

    async def make_ready(self, login: str) -> None:
        with contextlib.suppress(Exception):  # a transition refused now is tried later
            await self.desk.set_agent_state(self._ids[login], AgentState.READY)


class HttpDesk:
    """A service reached over its API: the wallboard (as the admin) for states,
    each agent's own bearer token to press Ready."""

    def __init__(self, base_url: str, logins: list[str]) -> None:
        self.base_url = base_url
        self.logins = logins
        self._tokens: dict[str, str] = {}
        self._client = httpx.AsyncClient(base_url=base_url, timeout=10)

    async def login_all(self) -> None:
        """A token per agent and one for the admin; kept while the service (or
        its successor, which shares the session secret) still takes them."""
        if self._tokens:
            answer = await self._client.get("/api/me", headers=self.bearer("admin"))
            if answer.status_code == 200:
                return
        logins = [*self.logins, "admin"]
        tokens = await asyncio.gather(*(self.token(login) for login in logins))
        self._tokens.update(zip(logins, tokens, strict=True))

    async def token(self, login: str) -> str:
        answer = await self._client.post(
            "/api/token", json={"username": login, "password": DEMO_PASSWORD}
        )
        answer.raise_for_status()
        return str(answer.json()["access_token"])

    def bearer(self, login: str) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._tokens[login]}"}

    async def states(self) -> dict[str, str]:
        answer = await self._client.get("/api/wallboard", headers=self.bearer("admin"))
        answer.raise_for_status()
        return {a["login"]: a["state"] for a in answer.json()["agents"]}

    async def make_ready(self, login: str) -> None:
        with contextlib.suppress(httpx.HTTPError):
            await self._client.post(
                "/api/agent/state", json={"state": "ready"}, headers=self.bearer(login)
            )

    async def close(self) -> None:
        await self._client.aclose()


async def keep_agents_ready(desk: AgentDesk, *, every_s: float = 0.1) -> None:
    """Simulated agents who press Ready again whenever they are not (run as a
    task, cancel it to let them be). Errors (a service restarting) are waited out."""
    while True:
        try:
            for login, state in (await desk.states()).items():
                if state in NEEDS_READY:
                    await desk.make_ready(login)
        except (httpx.HTTPError, OSError):
            pass
        await asyncio.sleep(every_s)


@contextmanager
def served_logging() -> Iterator[None]:
    """structlog set up as ``callcenter serve`` sets it up for a terminal
    (tracebacks formatted as plain text), restored afterwards.

    Why: left unconfigured (as in a test process), structlog renders every
    ``log.exception`` as a rich traceback with each frame's locals, which takes
    seconds of CPU per exception, on the event loop. Under a database outage
    every call logs one, and the loop (service and test alike) stalls for
    minutes: a fault of the test harness, not of the service. No logger is
    cached (``cache_logger_on_first_use`` off), so nothing outlives the block.
    """
    saved = structlog.get_config()
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso"),
            structlog.processors.format_exc_info,
            structlog.dev.ConsoleRenderer(colors=False),
        ],
        cache_logger_on_first_use=False,
    )
    try:
        yield
    finally:
        structlog.configure(**saved)


@asynccontextmanager
async def in_process(settings: Settings, *, http: bool = False) -> AsyncIterator[Any]:
    """``create_app(settings)`` started in this loop, logging as ``serve`` does;
    yields the app. With ``http`` it is served by uvicorn on
    ``settings.http_port`` (same loop), so real websockets and API clients can
    reach it."""
    with served_logging():
        async with _started(settings, http=http) as app:
            yield app


@asynccontextmanager
async def _started(settings: Settings, *, http: bool) -> AsyncIterator[Any]:
    app = create_app(settings)
    if not http:
        async with app.router.lifespan_context(app):
            yield app
        return
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", settings.http_port))
    config = uvicorn.Config(app, log_config=None, lifespan="on", **WEBSOCKET_OPTIONS)
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve(sockets=[listener]))
    deadline = time.monotonic() + 60
    while not server.started:
        if task.done() or time.monotonic() > deadline:
            raise RuntimeError("uvicorn did not start")
        await asyncio.sleep(0.02)
    try:
        yield app
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 60)
        listener.close()


@contextmanager
def service_process(env: Mapping[str, str], log: Path) -> Iterator[subprocess.Popen[bytes]]:
    """``callcenter serve`` in a process of its own, its output appended to ``log``."""
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "callcenter.cli", "serve"],
            env=dict(env),
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


async def wait_ready(base_url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    """Until /readyz says the database and the PBX link (resynced) are fine."""
    deadline = time.monotonic() + 90
    async with httpx.AsyncClient() as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise AssertionError(f"the service died: {log.read_text()[-3000:]}")
            try:
                if (await client.get(f"{base_url}/readyz")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.1)
    raise AssertionError(f"the service was not ready in time: {log.read_text()[-3000:]}")
