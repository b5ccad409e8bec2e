"""kill -9 of the service with 50 callers waiting and 20 talking, then a restart.

The PBX (the simulator, in this process) keeps every call through the crash, as
Asterisk would. The service runs as a process of its own (``callcenter serve``)
so it can be killed for real. After the restart every call must be accounted
for: the talking ones tracked to their end with their agents (no new offer), the
waiting ones taken over in their order and answered once agents are free, no
record lost or doubled, no agent stuck, no call offered twice.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import func, select

from callcenter import demo
from callcenter.chaos.service import service_process, wait_ready
from callcenter.db.models import Agent, AgentSkill, AgentStateChange, CallOffer, CallRecord, Skill
from callcenter.db.session import make_engine, make_session_factory
from callcenter.pbxsim.server import PbxSimulator
from callcenter.settings import PbxSettings, SimulatorSettings
from tests.conftest import eventually, free_port, seed_database

TALKING = 20
WAITING = 50
QUEUE = "sales"


@asynccontextmanager
async def simulator_for(url: str, pbx: PbxSettings) -> AsyncIterator[PbxSimulator]:
    engine = make_engine(url)
    try:
        directory = await demo.load_directory(make_session_factory(engine))
    finally:
        await engine.dispose()
    sim = SimulatorSettings(
        enabled=True,
        callers=False,
        auto_agents=False,
        answer_delay_s=0.1,
        person_answer_delay_s=0.1,
        seed=5,
    )
    simulator = demo.build_simulator(pbx, sim, directory)
    await simulator.start()
    try:
        yield simulator
    finally:
        await simulator.stop()


async def everyone_ready_for_sales(url: str) -> int:
    """Every agent takes sales calls, and was Ready when the service last ran."""
    engine = make_engine(url)
    try:
        async with make_session_factory(engine).begin() as session:
            sales = await session.scalar(select(Skill.id).where(Skill.name == QUEUE))
            agents = list(await session.scalars(select(Agent.id)))
            has = set(
                await session.scalars(
                    select(AgentSkill.agent_id).where(AgentSkill.skill_id == sales)
                )
            )
            for agent_id in agents:
                if agent_id not in has:
                    session.add(AgentSkill(agent_id=agent_id, skill_id=sales, proficiency=3))
                session.add(
                    AgentStateChange(
                        agent_id=agent_id, state="ready", reason=None, at=datetime.now(UTC)
                    )
                )
            return len(agents)
    finally:
        await engine.dispose()


async def count(url: str, query: object) -> int:
    engine = make_engine(url)
    try:
        async with make_session_factory(engine)() as session:
            return int(await session.scalar(query) or 0)  # type: ignore[call-overload]
    finally:
        await engine.dispose()


async def test_kill_9_with_calls_waiting_and_talking_loses_and_repeats_nothing(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'callcenter.db'}"
    seed_database(url, customers=50)
    agents = await everyone_ready_for_sales(url)
    assert agents == TALKING, "with more agents than talking calls, some callers would not wait"
    pbx = PbxSettings(name="pbx1", port=free_port())
    http_port = free_port()
    config = tmp_path / "callcenter.toml"
    config.write_text("")
    env = {
        **os.environ,
        "CALLCENTER_CONFIG": str(config),
        "CALLCENTER_DATABASE_URL": url,
        "CALLCENTER_HTTP_PORT": str(http_port),
        "CALLCENTER_SIMULATOR__ENABLED": "false",
        "CALLCENTER_PBX": json.dumps([{"name": "pbx1", "host": "127.0.0.1", "port": pbx.port}]),
        "CALLCENTER_RULES_POLL_S": "3600",
    }
    base_url = f"http://127.0.0.1:{http_port}"
    log = tmp_path / "service.log"
    records = select(func.count()).select_from(CallRecord)
    ended = records.where(CallRecord.ended_at.is_not(None))
    answered = records.where(CallRecord.answered_at.is_not(None))
    offers = select(func.count()).select_from(CallOffer)

    async with simulator_for(url, pbx) as simulator:
        with service_process(env, log) as first:
            await wait_ready(base_url, first, log)
            talking = [
                simulator.place_call(queue=QUEUE, caller_number=f"+1202555{n:04d}", talk_s=3600)
                for n in range(TALKING)
            ]

            async def all_talking() -> bool:
                return await count(url, answered) == TALKING

            await eventually(all_talking, f"{TALKING} calls answered", timeout_s=60)
            # Every agent is talking now, so these wait.
            for n in range(WAITING):
                simulator.place_call(
                    queue=QUEUE, caller_number=f"+1303555{n:04d}", patience_s=3600, talk_s=0.5
                )

            async def all_recorded() -> bool:
                return await count(url, records) == TALKING + WAITING

            await eventually(all_recorded, "every call recorded", timeout_s=60)
            assert await count(url, offers) == TALKING
            first.send_signal(signal.SIGKILL)
            first.wait(timeout=10)

        assert simulator.active_calls() == TALKING + WAITING, "the PBX kept every call"
        with service_process(env, log) as second:
            await wait_ready(base_url, second, log)
            await asyncio.sleep(1.0)
            assert await count(url, offers) == TALKING, "a talking call was offered again"
            assert await count(url, ended) == 0, "a live call was closed"

            for linkedid in talking:
                simulator.hangup_caller(linkedid)

            async def all_over() -> bool:
                return await count(url, ended) == TALKING + WAITING

            await eventually(all_over, "every call ended and recorded", timeout_s=120)
            assert simulator.active_calls() == 0
            assert await count(url, records) == TALKING + WAITING, "no record doubled"
            assert await count(url, answered) == TALKING + WAITING
            assert await count(url, offers) == TALKING + WAITING, "no call offered twice"
            lost = records.where(CallRecord.outcome != "answered")
            assert await count(url, lost) == 0
