"""``callcenter simulate``: the PBX simulator on its own, for a service (or any AMI
client: panoramisk, asterisk-ami) started separately."""

from __future__ import annotations

import asyncio

import structlog

from callcenter import demo
from callcenter.db.directory import load_agents, load_queues, simulated_agents
from callcenter.db.migrate import run_migrations
from callcenter.db.seed import demo_caller_numbers
from callcenter.db.session import make_engine, make_session_factory
from callcenter.settings import Settings

log = structlog.get_logger(__name__)


async def run_simulator(settings: Settings) -> None:
    await asyncio.to_thread(run_migrations, settings.database_url)
    engine = make_engine(settings.database_url)
    sessions = make_session_factory(engine)
    try:
        agents = await load_agents(sessions)
        queues = await load_queues(sessions)
        simulated_ids = {a.agent_id for a in await simulated_agents(sessions)}
        numbers = await demo_caller_numbers(sessions)
    finally:
        await engine.dispose()
    pbx = settings.pbx[0]
    simulator = demo.build_simulator(
        pbx, settings.simulator, agents, simulated_ids, {q.did: q.name for q in queues if q.did}
    )
    await simulator.start()
    callers = demo.build_callers(simulator, settings.simulator, numbers, [q.name for q in queues])
    try:
        await callers.run()
    finally:
        await simulator.stop()
