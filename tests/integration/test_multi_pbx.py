"""Several Asterisk servers at once: one link each, every call tagged with its PBX,
and one PBX going down holds only its own calls."""

from __future__ import annotations

from sqlalchemy import select, update

from agents import AgentState
from callcenter.db.directory import load_agents, load_queues
from callcenter.db.models import Agent, CallRecord
from callcenter.db.session import make_engine, make_session_factory
from callcenter.orchestration.dialing import DialPlan, offer_target
from callcenter.pbxsim import PbxSimulator, PhoneBehaviour
from callcenter.service import create_app
from callcenter.settings import Settings
from tests.conftest import eventually, free_port

SECRET = "callcenter-secret"

SITE_TRUNKS = DialPlan(
    site_trunks={("site-b", "site-a"): "to-site-a"}, sites=frozenset({"site-a", "site-b"})
)


async def test_two_pbxs_each_get_their_calls_answered_and_one_down_stops_only_itself(
    seeded_db_url: str,
) -> None:
    engine = make_engine(seeded_db_url)
    sessions = make_session_factory(engine)
    async with sessions.begin() as session:  # every agent's phone is on site A
        await session.execute(update(Agent).values(pbx="site-a"))
    agents = await load_agents(sessions)
    dids = {q.did: q.name for q in await load_queues(sessions) if q.did}
    sites: dict[str, PbxSimulator] = {}
    for name in ("site-a", "site-b"):
        sim = PbxSimulator(system_name=name, users={"callcenter": SECRET}, dids=dids, seed=1)
        for agent in agents:
            # Site B reaches site A's phones through its inter-site trunk.
            dial = offer_target(agent, name, SITE_TRUNKS).dial_string
            sim.add_phone(dial, PhoneBehaviour(answer_after_s=0.05))
        await sim.start()
        sites[name] = sim
    settings = Settings(
        database_url=seeded_db_url,
        http_port=free_port(),
        pbx=[
            {"name": "site-a", "port": sites["site-a"].port, "ping_interval_s": 0.5},
            {
                "name": "site-b",
                "port": sites["site-b"].port,
                "ping_interval_s": 0.5,
                "site_trunks": {"site-a": "to-site-a"},
            },
        ],
        simulator={"enabled": False},
        ring_timeout_s=3.0,
    )
    sales = [a for a in agents if a.skills.get("sales")][:3]
    app = create_app(settings)
    try:
        async with app.router.lifespan_context(app):
            runtime = app.state.runtime
            desk = runtime.orchestrator
            for link in runtime.links.values():
                await link.wait_in_step(10)
            for agent in sales:
                await desk.set_agent_state(agent.agent_id, AgentState.READY)
            a = sites["site-a"].place_call(queue="sales", caller_number="+12025550111", talk_s=0.2)
            b = sites["site-b"].place_call(queue="sales", caller_number="+12025550112", talk_s=0.2)

            async def ended(count: int) -> bool:
                async with sessions() as session:
                    rows = (await session.scalars(select(CallRecord))).all()
                return sum(r.ended_at is not None for r in rows) >= count

            await eventually(lambda: ended(2), "one call on each PBX answered and over")

            await sites["site-b"].stop()

            async def b_down() -> bool:
                return not runtime.links["site-b"].in_step

            await eventually(b_down, "site-b's link is seen down")
            c = sites["site-a"].place_call(queue="sales", caller_number="+12025550113", talk_s=0.2)
            await eventually(lambda: ended(3), "site-a still answers while site-b is down")
            await desk.settle()
    finally:
        for sim in sites.values():
            await sim.stop()

    async with sessions() as session:
        rows = (await session.scalars(select(CallRecord))).all()
    await engine.dispose()
    by_linkedid = {(r.pbx, r.linkedid): r for r in rows}
    assert set(by_linkedid) == {("site-a", a), ("site-b", b), ("site-a", c)}
    assert all(r.outcome == "answered" for r in rows)
