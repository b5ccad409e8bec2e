"""What a node that does not lead adds to an API request it forwards to the leader.

Two real web apps (``create_web_app``, the real ``NodeForwarding`` middleware,
real session tokens from one shared secret) are served by uvicorn on loopback
ports in threads of this process, as ``callcenter serve`` serves one: the leader
over a stand-in desk holding one Ready agent, and a node with no router (the
service's own ``DeskProxy``, which has no orchestrator) whose ``Forwarding``
points at the leader. The client, in a process of its own (a client sharing
the servers' process and GIL measures its own waits, not the servers), sends
``requests`` ``GET /api/agent/me`` one after the other on one keep-alive
connection with the agent's bearer token, first to the leader, then to the
other node, and times each answer; every answer must be a 200 with the agent.

Both servers share this process's GIL, so the forwarded figures include the
leader and the forwarding node taking turns on one interpreter; across machines
the network round trip between the nodes comes on top.
"""

from __future__ import annotations

import multiprocessing
import time
from multiprocessing.connection import Connection
from typing import Any, cast

from callcenter.bench.pop import (
    _BenchDesk,
    _ms,
    _nobody,
    _percentile,
    _quiet_logs,
    _receive,
    _serving,
)

AGENT_ID = 1


def _apps(secret: str) -> tuple[Any, Any, Any]:
    """The leader's app, the other node's (forwarding to ``leader_url`` once
    set), and the object where that URL goes."""
    from callcenter.ports import CallCenterDesk
    from callcenter.service import DeskProxy
    from callcenter.web.app import create_web_app
    from callcenter.web.forwarding import Forwarding
    from callcenter.web.hub import Hub

    class Address:
        url: str | None = None

        async def leader_url(self) -> str | None:
            return self.url

        def forget(self) -> None:
            pass

    address = Address()
    common: dict[str, Any] = {"authenticate": _nobody, "session_secret": secret}
    leader = create_web_app(
        desk=cast(CallCenterDesk, _BenchDesk([AGENT_ID])),
        hub=Hub(),
        desktop_grace_s=None,
        **common,
    )
    standby = create_web_app(
        desk=DeskProxy(),
        hub=Hub(),
        desktop_grace_s=None,
        forwarding=Forwarding(lookup=address, routes_here=lambda: False),
        **common,
    )
    return leader, standby, address


def _timed(client: Any, url: str, token: str, requests: int) -> list[float]:
    headers = {"Authorization": f"Bearer {token}"}
    took: list[float] = []
    for _ in range(requests):
        started = time.perf_counter()
        answer = client.get(url, headers=headers)
        took.append(time.perf_counter() - started)
        if answer.status_code != 200 or answer.json().get("agent_id") != AGENT_ID:
            raise RuntimeError(f"{url} answered {answer.status_code}: {answer.text[:200]}")
    return took


def _client_main(
    conn: Connection, direct: str, forwarded: str, token: str, requests: int, warmup: int
) -> None:
    """The child process: warm both paths up, then time each; send the figures."""
    import httpx

    try:
        with httpx.Client(timeout=30, trust_env=False) as client:
            _timed(client, direct, token, warmup)
            _timed(client, forwarded, token, warmup)
            direct_s = _timed(client, direct, token, requests)
            started = time.perf_counter()
            forwarded_s = _timed(client, forwarded, token, requests)
            wall_s = time.perf_counter() - started
        conn.send(("done", direct_s, forwarded_s, wall_s))
    except Exception as error:
        conn.send(("error", f"{type(error).__name__}: {error}"))


def run(*, requests: int = 2000, warmup: int = 50) -> dict[str, Any]:
    import secrets

    from callcenter.ports import Principal, Role
    from callcenter.web.app import web_context_of

    secret = secrets.token_urlsafe(32)
    leader, standby, address = _apps(secret)
    token = web_context_of(leader).sessions.issue(
        Principal(AGENT_ID, "agent1", frozenset({Role.AGENT}), agent_id=AGENT_ID)
    )
    with _quiet_logs(), _serving(leader) as leader_port, _serving(standby) as standby_port:
        address.url = f"http://127.0.0.1:{leader_port}"
        direct = f"{address.url}/api/agent/me"
        forwarded = f"http://127.0.0.1:{standby_port}/api/agent/me"
        ours, theirs = multiprocessing.Pipe()
        client = multiprocessing.get_context("spawn").Process(
            target=_client_main,
            args=(theirs, direct, forwarded, token, requests, warmup),
            name="bench-forward-client",
        )
        client.start()
        try:
            _, direct_s, forwarded_s, forwarded_wall_s = _receive(ours, client, 60 + requests * 0.1)
        finally:
            client.join(timeout=10)
            if client.is_alive():
                client.kill()
    direct_s.sort()
    forwarded_s.sort()
    return {
        "benchmark": "forward",
        "requests": requests,
        "direct_p50_ms": _ms(_percentile(direct_s, 0.5)),
        "direct_p99_ms": _ms(_percentile(direct_s, 0.99)),
        "forwarded_p50_ms": _ms(_percentile(forwarded_s, 0.5)),
        "forwarded_p99_ms": _ms(_percentile(forwarded_s, 0.99)),
        "added_p50_ms": _ms(_percentile(forwarded_s, 0.5) - _percentile(direct_s, 0.5)),
        "forwarded_per_s": round(requests / forwarded_wall_s, 1),
    }
