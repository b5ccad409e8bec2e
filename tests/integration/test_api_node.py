"""A node that does not lead serves agents and supervisors (an API node).

Two real ``callcenter serve`` processes on one PostgreSQL database and one
Redis, with ``ha_enabled`` and ``advertise_url``: node A leads (router, AMI
link to the simulator), node B stands by. Everything here goes through node B
only: the agent signs in there, opens the desktop there (its first state comes
from the leader, asked through Redis), presses Ready (the command is forwarded
to the leader), gets the pop of a call routed by the leader exactly once, and
hangs up from there. Supervisors' wallboards on node B get the leader's boards,
the scoped one too. The leader counts the page open on node B as a desktop:
the agent stays Ready past the grace period while it is open and is made Not
Ready once it has closed. Signing out on node B ends the session on the leader.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select

from callcenter.db.models import CallOffer, CallRecord
from callcenter.settings import PbxSettings
from tests.conftest import eventually, free_port, seed_database
from tests.integration.test_agent_socket_over_tcp import next_message
from tests.integration.test_redis_fanout import (  # noqa: F401 (fixtures)
    agent_socket,
    bearer_token,
    channel,
    page_socket,
    read_for,
    redis_url,
)
from tests.integration.test_restart_kill9 import (
    QUEUE,
    count,
    service_process,
    simulator_for,
    wait_ready,
)
from tests.integration.test_standby_takeover import (  # noqa: F401 (fixture)
    ha_env,
    pg_url,
    readiness,
    sales_agents,
    wait_standby,
)
from tests.integration.test_standby_takeover import node as node_env

pytestmark = pytest.mark.postgres

GRACE_S = 3.0


async def first_board(base_url: str, username: str) -> dict[str, Any]:
    token = await bearer_token(base_url, username)
    async with page_socket(base_url, token, "/ws/wallboard") as socket_:
        return await next_message(socket_, 10)


async def test_an_agent_works_a_call_entirely_through_a_node_that_does_not_lead(
    pg_url: str,  # noqa: F811
    redis_url: str,  # noqa: F811
    channel: str,  # noqa: F811
    tmp_path: Path,
) -> None:
    seed_database(pg_url, customers=20)
    agent, _ = await sales_agents(pg_url)
    pbx = PbxSettings(name="pbx1", port=free_port())
    ports = [free_port(), free_port()]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    logs = [tmp_path / "node-a.log", tmp_path / "node-b.log"]
    env = ha_env(
        pg_url,
        pbx,
        tmp_path,
        CALLCENTER_REDIS_URL=redis_url,
        CALLCENTER_FANOUT__CHANNEL=channel,
        CALLCENTER_FANOUT__PRESENCE_INTERVAL_S="0.5",
        CALLCENTER_DESKTOP_GRACE_S=str(GRACE_S),
    )

    def node(n: int) -> dict[str, str]:
        return {**node_env(env, ports[n]), "CALLCENTER_ADVERTISE_URL": urls[n]}

    node_b = urls[1]
    records = select(func.count()).select_from(CallRecord)
    ended = records.where(CallRecord.ended_at.is_not(None))
    offers = select(func.count()).select_from(CallOffer)
    async with simulator_for(pg_url, pbx) as simulator:
        with service_process(node(0), logs[0]) as leader:
            await wait_ready(urls[0], leader, logs[0])
            with service_process(node(1), logs[1]) as standby:
                await wait_standby(node_b, standby, logs[1])
                assert (await readiness(node_b))[1]["leader"] is False

                token = await bearer_token(node_b, agent)
                headers = {"Authorization": f"Bearer {token}", "Origin": node_b}
                async with (
                    httpx.AsyncClient(base_url=node_b, headers=headers, timeout=30) as api,
                    agent_socket(node_b, token) as page,
                ):
                    ready = await api.post("/api/agent/state", json={"state": "ready"})
                    assert ready.status_code == 200, ready.text
                    assert ready.json()["state"] == "ready"

                    simulator.place_call(queue=QUEUE, caller_number="+12025550100", talk_s=3600)
                    seen: list[dict[str, Any]] = []
                    while not any(m["type"] == "pop" for m in seen):
                        seen.append(await next_message(page, 20))
                    call_id = next(m for m in seen if m["type"] == "pop")["call_id"]

                    async def talking() -> bool:
                        me = await api.get("/api/agent/me")
                        return bool(me.json()["state"] == "on_call")

                    await eventually(talking, "the agent talking", timeout_s=20)
                    # Past the grace period with the page open on node B only.
                    await asyncio.sleep(GRACE_S + 1.0)
                    assert (await api.get("/api/agent/me")).json()["state"] == "on_call"

                    hangup = await api.post(f"/api/calls/{call_id}/hangup")
                    assert hangup.status_code == 200, hangup.text

                    async def call_closed() -> bool:
                        return await count(pg_url, ended) == 1

                    await eventually(call_closed, "the call closed", timeout_s=20)
                    seen += await read_for(page, 1.0)
                    pops = [m for m in seen if m["type"] == "pop"]
                    assert [m["call_id"] for m in pops] == [call_id], "one pop, once"
                    states = [m["agent"]["state"] for m in seen if m["type"] == "state"]
                    assert "ready" in states and "on_call" in states
                    assert await count(pg_url, offers) == 1

                    # Supervisors on node B: the full board, and a board scoped to
                    # the demo supervisor's queues, both made by the leader.
                    full = await first_board(node_b, "admin")
                    scoped = await first_board(node_b, "supervisor")
                    assert full["type"] == scoped["type"] == "wallboard"
                    assert any(a["login"] == agent for a in full["agents"])

                # The page on node B closed: the leader makes the agent Not Ready
                # once the grace period has passed.
                async def made_not_ready() -> bool:
                    me = (await _get_me(node_b, token)).json()
                    return bool(me["state"] == "not_ready")

                await eventually(made_not_ready, "the agent made Not Ready", timeout_s=30)
                assert "desktop closed" in json.dumps((await _get_me(node_b, token)).json())
                # Signing out on node B ends the session on the leader too.
                async with httpx.AsyncClient(base_url=node_b, timeout=30) as client:
                    out = await client.post(
                        "/api/logout", headers={"Authorization": f"Bearer {token}"}
                    )
                    assert out.status_code == 200

                async def signed_out_everywhere() -> bool:
                    return (await _get_me(node_b, token)).status_code == 401

                await eventually(signed_out_everywhere, "the leader refusing the token")
                async with httpx.AsyncClient(base_url=urls[0], timeout=30) as client:
                    mine = await client.get(
                        "/api/agent/me", headers={"Authorization": f"Bearer {token}"}
                    )
                    assert mine.status_code == 401
                assert simulator.connected_sessions() == 1, "node B never used the AMI"
                assert "Traceback" not in logs[1].read_text()


async def _get_me(base_url: str, token: str) -> httpx.Response:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as client:
        return await client.get("/api/agent/me", headers={"Authorization": f"Bearer {token}"})
