"""The router's decisions carried out against the PBX simulator over real TCP:
a max wait sends the caller to voicemail, and a published rules version reaches
callers who are already waiting."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from typing import Any

from fastapi import FastAPI
from sqlalchemy import select

from agents import AgentState
from callcenter.db.directory import load_agents, load_queues
from callcenter.db.models import CallRecord
from callcenter.db.routing_rules import publish_rules
from callcenter.db.session import Sessions, make_engine, make_session_factory
from callcenter.pbxsim import PbxSimulator, PhoneBehaviour
from callcenter.service import Runtime, create_app
from callcenter.settings import Settings
from routing import QueueRule, RoutingRules
from tests.conftest import eventually, free_port

SECRET = "callcenter-secret"


Scenario = Callable[[Runtime, PbxSimulator, Sessions], Awaitable[None]]


def sales_only(minimum: int, **changes: Any) -> RoutingRules:
    return RoutingRules(queues=[QueueRule(name="sales", skills={"sales": minimum}, **changes)])


@asynccontextmanager
async def service_with_simulator(
    db_url: str,
) -> AsyncIterator[tuple[FastAPI, PbxSimulator, Sessions]]:
    """The real service against its own PBX simulator over TCP, every demo agent's
    phone answering at once; yields once the AMI link is in step."""
    engine = make_engine(db_url)
    sessions = make_session_factory(engine)
    dids = {q.did: q.name for q in await load_queues(sessions) if q.did}
    sim = PbxSimulator(system_name="site-a", users={"callcenter": SECRET}, dids=dids, seed=1)
    for agent in await load_agents(sessions):
        sim.add_phone(agent.dial_string, PhoneBehaviour(answer_after_s=0.05))
    await sim.start()
    settings = Settings(
        database_url=db_url,
        http_port=free_port(),
        pbx=[{"name": "site-a", "port": sim.port, "ping_interval_s": 0.5}],
        simulator={"enabled": False},
        rules_poll_s=0.2,
    )
    app = create_app(settings)
    try:
        async with app.router.lifespan_context(app):
            await app.state.runtime.links["site-a"].wait_in_step(10)
            yield app, sim, sessions
    finally:
        await sim.stop()
        await engine.dispose()


async def run_service(db_url: str, scenario: Scenario) -> None:
    async with service_with_simulator(db_url) as (app, sim, sessions):
        runtime = app.state.runtime
        await scenario(runtime, sim, sessions)
        assert runtime.orchestrator is not None
        await runtime.orchestrator.settle()


async def test_a_caller_past_max_wait_is_sent_to_voicemail(seeded_db_url: str) -> None:
    engine = make_engine(seeded_db_url)
    await publish_rules(
        make_session_factory(engine),
        sales_only(1, max_wait_s=1.0, overflow="voicemail"),
        author="test",
    )
    await engine.dispose()

    async def scenario(runtime: Runtime, sim: PbxSimulator, sessions: Sessions) -> None:
        linkedid = sim.place_call(queue="sales", caller_number="+12025550111", patience_s=60)

        async def record() -> CallRecord | None:
            async with sessions() as session:
                query = select(CallRecord).where(CallRecord.linkedid == linkedid)
                row = await session.scalar(query)
            return row if row is not None and row.ended_at is not None else None

        async def ended() -> bool:
            return await record() is not None

        await eventually(ended, "the caller is sent to voicemail and, after it, hangs up")
        row = await record()
        assert row is not None and row.outcome == "voicemail"
        assert sim.active_calls() == 0

    await run_service(seeded_db_url, scenario)


async def test_a_published_rule_change_reaches_a_caller_already_waiting(
    seeded_db_url: str,
) -> None:
    engine = make_engine(seeded_db_url)
    sessions = make_session_factory(engine)
    novice = min(
        (a for a in await load_agents(sessions) if a.skills.get("sales")),
        key=lambda a: a.skills["sales"],
    )
    strict = novice.skills["sales"] + 1
    assert strict <= 5, "the demo has a sales agent below expert level"
    await publish_rules(sessions, sales_only(strict), author="test", note="experts only")
    await engine.dispose()

    async def scenario(runtime: Runtime, sim: PbxSimulator, sessions: Sessions) -> None:
        desk = runtime.orchestrator
        assert desk is not None
        await desk.set_agent_state(novice.agent_id, AgentState.READY)
        sim.place_call(queue="sales", caller_number="+12025550112", patience_s=60, talk_s=0.2)

        async def waiting() -> bool:
            return len(desk.wallboard().waiting) == 1

        await eventually(waiting, "the caller waits: nobody Ready is skilled enough")
        assert desk.agent_view(novice.agent_id).state is AgentState.READY
        version = await publish_rules(sessions, sales_only(1), author="test", note="relax")

        async def taken() -> bool:
            return desk.rules_version == version and desk.wallboard().waiting == []

        await eventually(taken, "the relaxed rules go live and the waiting caller is offered")

    await run_service(seeded_db_url, scenario)
