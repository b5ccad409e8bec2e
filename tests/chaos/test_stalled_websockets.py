"""Chaos 4: 5% of the agents' pages stop reading their websocket (the socket
stays open, nothing is read: a frozen tab, a laptop whose network stalled)
while calls come in. Every agent has a real websocket client on the service
(uvicorn, bearer token from ``/api/token``); the stalled ones never read again.

Calls must still be routed and popped to the pages that read, the server must
keep answering (an API probe runs throughout; none of its requests may fail or
go unanswered for 10 s), and afterwards every invariant holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import socket
from collections import defaultdict
from typing import Any

import httpx
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed
from websockets.typing import Origin

from callcenter.chaos.invariants import load_records
from callcenter.chaos.service import HttpDesk, InProcessDesk, in_process, keep_agents_ready
from callcenter.chaos.traffic import Traffic
from callcenter.pbx_link import PbxLink
from callcenter.settings import Settings
from tests.chaos.harness import NO_RECORDING_WAIT, closing_check, pbx_for, pick, seeded
from tests.conftest import free_port

SEED = seeded(404)
STALLED_SHARE = 0.05


async def _read(socket_: ClientConnection, pops: list[str]) -> None:
    """A page that reads: keeps the call id of every pop it is sent."""
    with contextlib.suppress(ConnectionClosed):
        async for raw in socket_:
            message: dict[str, Any] = json.loads(raw)
            if message.get("type") == "pop" and message.get("call_id"):
                pops.append(str(message["call_id"]))


async def _small_window(port: int) -> socket.socket:
    """A TCP connection whose receive buffer (so its window) is 4 KiB from the
    start: once its reader stops, the server's writes back up at once."""
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
    return sock


async def _probe_api(
    base_url: str, headers: dict[str, str], failures: list[str], stop: asyncio.Event
) -> int:
    """Asks the API for an agent's state every 0.2 s until ``stop``; returns how
    many requests were answered, noting each one that failed or hung."""
    answered = 0
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as client:
        while not stop.is_set():
            try:
                reply = await client.get("/api/agent/me", headers=headers)
                if reply.status_code != 200:
                    failures.append(f"HTTP {reply.status_code}")
                answered += 1
            except httpx.HTTPError as exc:
                failures.append(repr(exc))
            await asyncio.sleep(0.2)
    return answered


async def test_stalled_websockets(chaos_db_url: str) -> None:
    url = chaos_db_url
    rng = random.Random(SEED)
    async with pbx_for(url, seed=SEED) as pbx:
        http_port = free_port()
        base_url = f"http://127.0.0.1:{http_port}"
        settings = Settings(
            database_url=url,
            http_port=http_port,
            pbx=[{"name": "pbx1", "port": pbx.simulator.port}],
            simulator={"enabled": False},
            recordings=NO_RECORDING_WAIT,
        )
        async with in_process(settings, http=True) as app:
            runtime = app.state.runtime
            link: PbxLink = runtime.links["pbx1"]
            desk = InProcessDesk(runtime.orchestrator)
            await link.wait_in_step(30)
            logins = sorted(pbx.phones)
            api = HttpDesk(base_url, logins)
            await api.login_all()
            stalled = set(rng.sample(logins, max(1, round(len(logins) * STALLED_SHARE))))
            pops: dict[str, list[str]] = defaultdict(list)
            sockets: list[ClientConnection] = []
            readers: list[asyncio.Task[None]] = []
            for login in logins:
                socket_ = await connect(
                    base_url.replace("http://", "ws://") + "/ws/agent",
                    additional_headers=api.bearer(login),
                    origin=Origin(base_url),
                    open_timeout=10,
                    max_queue=1,
                    sock=await _small_window(http_port) if login in stalled else None,
                )
                sockets.append(socket_)
                if login in stalled:
                    socket_.transport.pause_reading()  # the page reads no more
                else:
                    readers.append(asyncio.create_task(_read(socket_, pops[login])))
            ready = asyncio.create_task(keep_agents_ready(desk))
            failures: list[str] = []
            stop_probe = asyncio.Event()
            probe = asyncio.create_task(
                _probe_api(base_url, api.bearer(logins[0]), failures, stop_probe)
            )
            traffic = Traffic(pbx.simulator, pbx.queues, seed=SEED, interval_s=0.05)
            traffic.start()
            await asyncio.sleep(pick(3.0, 30.0))
            placed = await traffic.stop()
            try:
                report = await closing_check(
                    "stalled_websockets",
                    placed=placed,
                    pbx=pbx,
                    desk=desk,
                    records_url=url,
                    faults=len(stalled),
                )
            finally:
                stop_probe.set()
                probed = await probe
                ready.cancel()
                for task in readers:
                    task.cancel()
                for socket_ in sockets:
                    socket_.transport.abort()
                await api.close()
    by_agent = {desk.agent_id(login): login for login in logins}
    records = await load_records(url)
    offered_to_stalled = [
        o.leg_id for r in records for o in r.offers if by_agent.get(o.agent_id or 0) in stalled
    ]
    not_popped = [
        (r.id, by_agent[r.agent_id])
        for r in records
        if r.outcome == "answered"
        and r.agent_id is not None
        and by_agent[r.agent_id] not in stalled
        and r.id not in pops[by_agent[r.agent_id]]
    ]
    assert report.ok, report.explain()
    assert report.answered > report.placed // 2, "most calls should have been answered"
    assert offered_to_stalled, "no call was offered to a stalled page's agent: no fault"
    assert not_popped == [], "answered calls whose agent's (reading) page got no pop"
    assert probed > 0 and failures == [], f"the API stalled or failed: {failures[:5]}"
