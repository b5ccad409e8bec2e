"""One active router, a hot standby, on one PostgreSQL database.

The leader holds an advisory lock (``callcenter.leadership``); a standby serves
its health endpoint, does not connect to the PBX, and waits for the lock. When
the leader is killed (``kill -9``) the standby gets the lock, rebuilds its state
from the database and the PBX (the path of ``test_restart_kill9``) and carries
on: a talking call stays with its agent, waiting callers are answered once an
agent is Ready through the new leader, and no call is recorded or offered twice.
A leader whose lock connection dies exits (its supervisor restarts it as standby).
The takeover time is printed and recorded (``takeover_s``), never asserted.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import asyncpg  # type: ignore[import-untyped]
import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from callcenter.db.models import Agent, AgentSkill, CallOffer, CallRecord, Skill
from callcenter.db.session import make_engine, make_session_factory
from callcenter.leadership import EXIT_LEADERSHIP_LOST, Leadership
from callcenter.settings import PbxSettings
from tests.conftest import (
    _create_pg_database,
    _drop_pg_database,
    _postgres_reachable,
    eventually,
    free_port,
    seed_database,
)
from tests.integration.test_restart_kill9 import (
    QUEUE,
    count,
    service_process,
    simulator_for,
    wait_ready,
)

pytestmark = pytest.mark.postgres

WAITING = 5
STANDBY_LINE = "standby: another node leads"
#: ends the session holding the (only) advisory lock of the test's database
TERMINATE_LOCK_HOLDER = (
    "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' "
    "AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
)


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh PostgreSQL database of its own (advisory locks are per database)."""
    if not _postgres_reachable():
        if os.environ.get("CI"):
            pytest.fail("PostgreSQL must be reachable on 127.0.0.1:5432 in CI")
        pytest.skip("PostgreSQL is not reachable on 127.0.0.1:5432: leadership needs it")
    name = f"cc_ha_{os.urandom(6).hex()}"
    _create_pg_database(name)
    try:
        yield f"postgresql+asyncpg://postgres@127.0.0.1:5432/{name}"
    finally:
        _drop_pg_database(name)


async def admin(url: str, query: str) -> object:
    """One value, read on a plain connection (not through the code under test)."""
    conn = await asyncpg.connect(f"postgresql://postgres@127.0.0.1:5432/{make_url(url).database}")
    try:
        return await conn.fetchval(query)
    finally:
        await conn.close()


async def other_sessions(url: str) -> int:
    return int(
        str(
            await admin(
                url,
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()",
            )
        )
    )


async def test_sqlite_leads_at_once() -> None:
    leadership = Leadership("sqlite+aiosqlite:///unused.db")
    await leadership.acquire()
    assert leadership.is_leader
    await leadership.close()


async def test_one_node_leads_the_other_waits_for_its_session_to_end(pg_url: str) -> None:
    first = Leadership(pg_url, poll_s=0.05)
    second = Leadership(pg_url, poll_s=0.05)
    await first.acquire()
    assert first.is_leader
    waiting = asyncio.create_task(second.acquire())
    await asyncio.sleep(0.5)  # ten tries
    assert not waiting.done() and not second.is_leader

    # A standby told to stop while waiting leaves no connection behind.
    third = Leadership(pg_url, poll_s=0.05)
    stopped = asyncio.create_task(third.acquire())
    await asyncio.sleep(0.2)
    stopped.cancel()
    await asyncio.gather(stopped, return_exceptions=True)
    await third.close()
    assert not third.is_leader

    await first.close()
    assert not first.is_leader
    await asyncio.wait_for(waiting, 10)
    assert second.is_leader
    await second.close()
    assert await other_sessions(pg_url) == 0


async def test_a_leader_whose_lock_connection_dies_stops_leading(pg_url: str) -> None:
    lost: list[str] = []
    leadership = Leadership(pg_url, poll_s=0.05, on_lost=lost.append)
    await leadership.acquire()
    killed = await admin(pg_url, TERMINATE_LOCK_HOLDER)
    assert killed is True

    async def noticed() -> bool:
        return bool(lost)

    await eventually(noticed, "the leader noticed its lock connection died")
    assert not leadership.is_leader
    assert "lock connection failed" in lost[0]
    await leadership.close()


async def sales_agents(url: str) -> list[str]:
    """The logins of agents first in line for sales (on site, top proficiency)."""
    engine = make_engine(url)
    try:
        async with make_session_factory(engine).begin() as session:
            sales = await session.scalar(select(Skill.id).where(Skill.name == QUEUE))
            agents = list(
                await session.execute(
                    select(Agent.id, Agent.login)
                    .where(Agent.location == "on_site", Agent.pbx == "pbx1")
                    .order_by(Agent.id)
                    .limit(2)
                )
            )
            for agent_id, _login in agents:
                skill = await session.get(AgentSkill, (agent_id, sales))
                if skill is None:
                    session.add(AgentSkill(agent_id=agent_id, skill_id=sales, proficiency=5))
                else:
                    skill.proficiency = 5
            return [login for _id, login in agents]
    finally:
        await engine.dispose()


async def make_ready(base_url: str, login: str) -> None:
    """The agent logs in on that node and presses Ready."""
    async with httpx.AsyncClient(base_url=base_url) as client:
        token = await client.post("/api/token", json={"username": login, "password": "password"})
        assert token.status_code == 200, token.text
        ready = await client.post(
            "/api/agent/state",
            json={"state": "ready"},
            headers={"Authorization": f"Bearer {token.json()['access_token']}"},
        )
        assert ready.status_code == 200, ready.text


async def wait_standby(base_url: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    """Until the node serves /healthz and has found the lock taken."""

    async def standing_by() -> bool:
        if proc.poll() is not None:
            raise AssertionError(f"the standby died: {log.read_text()[-3000:]}")
        try:
            async with httpx.AsyncClient() as client:
                alive = (await client.get(f"{base_url}/healthz")).status_code == 200
        except httpx.TransportError:
            return False
        return alive and STANDBY_LINE in log.read_text()

    await eventually(standing_by, "the second node standing by", timeout_s=60)


async def readiness(base_url: str) -> tuple[int, dict[str, bool]]:
    async with httpx.AsyncClient() as client:
        response = await client.get(f"{base_url}/readyz")
    return response.status_code, response.json()["checks"]


def ha_env(pg_url: str, pbx: PbxSettings, tmp_path: Path, **more: str) -> dict[str, str]:
    """The environment of a node of an HA pair on ``pg_url``, linked to ``pbx``
    (the test's own simulator), nothing automatic; ``more`` on top."""
    config = tmp_path / "callcenter.toml"
    config.write_text("")
    return {
        **os.environ,
        "CALLCENTER_CONFIG": str(config),
        "CALLCENTER_DATABASE_URL": pg_url,
        "CALLCENTER_HA_ENABLED": "true",
        "CALLCENTER_SIMULATOR__ENABLED": "false",
        "CALLCENTER_PBX": json.dumps([{"name": "pbx1", "host": "127.0.0.1", "port": pbx.port}]),
        "CALLCENTER_RULES_POLL_S": "3600",
        "CALLCENTER_DESKTOP_GRACE_S": "3600",
        "CALLCENTER_LOG_JSON": "true",
        **more,
    }


def node(env: dict[str, str], http_port: int) -> dict[str, str]:
    return {**env, "CALLCENTER_HTTP_PORT": str(http_port)}


async def test_the_standby_takes_over_when_the_leader_is_killed(
    pg_url: str, tmp_path: Path, record_property: Callable[[str, object], None]
) -> None:
    seed_database(pg_url, customers=20)
    talker, answerer = await sales_agents(pg_url)
    pbx = PbxSettings(name="pbx1", port=free_port())
    env = ha_env(pg_url, pbx, tmp_path)
    ports = [free_port() for _ in range(3)]
    urls = [f"http://127.0.0.1:{port}" for port in ports]
    logs = [tmp_path / f"node{n}.log" for n in (1, 2, 3)]
    records = select(func.count()).select_from(CallRecord)
    answered = records.where(CallRecord.answered_at.is_not(None))
    ended = records.where(CallRecord.ended_at.is_not(None))
    offers = select(func.count()).select_from(CallOffer)

    async with simulator_for(pg_url, pbx) as simulator:
        with service_process(node(env, ports[0]), logs[0]) as first:
            await wait_ready(urls[0], first, logs[0])
            assert (await readiness(urls[0]))[1]["leader"] is True
            with service_process(node(env, ports[1]), logs[1]) as second:
                await wait_standby(urls[1], second, logs[1])
                status, checks = await readiness(urls[1])
                assert status == 503 and checks["leader"] is False
                assert checks["database"] is True
                assert simulator.connected_sessions() == 1, "the standby must not use the AMI"

                await make_ready(urls[0], talker)
                talking = simulator.place_call(
                    queue=QUEUE, caller_number="+12025550100", talk_s=3600
                )

                async def one_talking() -> bool:
                    return await count(pg_url, answered) == 1

                await eventually(one_talking, "the first call answered", timeout_s=30)
                for n in range(WAITING):  # nobody else is Ready: these wait
                    simulator.place_call(
                        queue=QUEUE,
                        caller_number=f"+1303555{n:04d}",
                        patience_s=3600,
                        talk_s=0.5,
                    )

                async def all_recorded() -> bool:
                    return await count(pg_url, records) == 1 + WAITING

                await eventually(all_recorded, "every call recorded", timeout_s=30)
                assert await count(pg_url, offers) == 1
                assert simulator.connected_sessions() == 1

                first.send_signal(signal.SIGKILL)
                killed_at = time.monotonic()
                first.wait(timeout=10)
                await wait_ready(urls[1], second, logs[1])
                takeover_s = time.monotonic() - killed_at
                print(f"\nstandby ready as leader {takeover_s:.2f} s after kill -9")
                record_property("takeover_s", round(takeover_s, 3))

                status, checks = await readiness(urls[1])
                assert status == 200 and checks["leader"] is True
                assert "leadership acquired" in logs[1].read_text()
                assert simulator.connected_sessions() == 1
                assert simulator.active_calls() == 1 + WAITING, "the PBX kept every call"
                await asyncio.sleep(1.0)
                assert await count(pg_url, offers) == 1, "the talking call was offered again"
                assert await count(pg_url, ended) == 0, "a live call was closed"

                # Another standby, behind the new leader, stops cleanly.
                with service_process(node(env, ports[2]), logs[2]) as third:
                    await wait_standby(urls[2], third, logs[2])
                    assert (await readiness(urls[2]))[1]["leader"] is False
                    assert simulator.connected_sessions() == 1
                    third.send_signal(signal.SIGTERM)
                    # uvicorn re-raises the signal it stopped on once it has stopped
                    assert third.wait(timeout=30) == -signal.SIGTERM
                third_log = logs[2].read_text()
                assert "Application shutdown complete" in third_log
                assert "Traceback" not in third_log and "shutdown failed" not in third_log

                await make_ready(urls[1], answerer)

                async def all_answered() -> bool:
                    return await count(pg_url, answered) == 1 + WAITING

                await eventually(all_answered, "every waiting call answered", timeout_s=60)
                simulator.hangup_caller(talking)

                async def all_over() -> bool:
                    return await count(pg_url, ended) == 1 + WAITING

                await eventually(all_over, "every call ended and recorded", timeout_s=60)

                # The leader's lock connection dies: it stops acting by exiting.
                await admin(pg_url, TERMINATE_LOCK_HOLDER)
                assert second.wait(timeout=30) == EXIT_LEADERSHIP_LOST
                assert "leadership lost" in logs[1].read_text()

        assert simulator.active_calls() == 0
        assert await count(pg_url, records) == 1 + WAITING, "no record doubled"
        per_call = await offers_per_call(pg_url)
        assert len(per_call) == 1 + WAITING
        assert all(n == (1, 1) for n in per_call.values()), f"offered twice: {per_call}"
        lost = records.where(CallRecord.outcome != "answered")
        assert await count(pg_url, lost) == 0


async def offers_per_call(url: str) -> dict[str, tuple[int, int]]:
    """Each call's (offers, answered offers)."""
    engine = make_engine(url)
    try:
        async with make_session_factory(engine)() as session:
            rows = await session.execute(
                select(
                    CallOffer.call_id,
                    func.count(),
                    func.count(CallOffer.answered_at),
                ).group_by(CallOffer.call_id)
            )
            return {call_id: (n, talked) for call_id, n, talked in rows}
    finally:
        await engine.dispose()
