"""Several Asterisk servers at once: one link each, every call tagged with its PBX,
one PBX going down holds only its own calls, and the agents whose phones are on
a site cut off get no offers until it is back."""

from __future__ import annotations

from sqlalchemy import select, update

from agents import AgentState
from callcenter.chaos.proxy import FaultProxy
from callcenter.db.directory import load_agents, load_queues
from callcenter.db.models import Agent, CallOffer, CallRecord
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


async def test_a_site_cut_off_gets_no_offers_and_its_frozen_caller_is_answered_once_after(
    seeded_db_url: str,
) -> None:
    """Site B's AMI goes through a fault proxy and is cut off (black-holed) while
    its caller waits. Bob, whose phone is on site B, is taken out of routing
    ("site unreachable") and a caller on site A is not sent to him through the
    trunk; B's caller is not hung up. Once the link is back and resynced, Bob
    takes both calls in arrival order, each offered exactly once."""
    engine = make_engine(seeded_db_url)
    sessions = make_session_factory(engine)
    agents = await load_agents(sessions)
    bob = next(a for a in agents if a.skills.get("sales"))
    async with sessions.begin() as session:
        await session.execute(update(Agent).values(pbx="site-a"))
        await session.execute(update(Agent).where(Agent.id == bob.agent_id).values(pbx="site-b"))
    agents = await load_agents(sessions)
    bob = next(a for a in agents if a.agent_id == bob.agent_id)
    dids = {q.did: q.name for q in await load_queues(sessions) if q.did}
    plan = DialPlan(
        site_trunks={("site-a", "site-b"): "to-site-b"}, sites=frozenset({"site-a", "site-b"})
    )
    sites: dict[str, PbxSimulator] = {}
    for name in ("site-a", "site-b"):
        sim = PbxSimulator(system_name=name, users={"callcenter": SECRET}, dids=dids, seed=2)
        sim.add_phone(
            offer_target(bob, name, plan).dial_string, PhoneBehaviour(answer_after_s=0.05)
        )
        await sim.start()
        sites[name] = sim
    proxy = FaultProxy("127.0.0.1", sites["site-b"].port, seed=3)
    await proxy.start()
    settings = Settings(
        database_url=seeded_db_url,
        http_port=free_port(),
        pbx=[
            {
                "name": "site-a",
                "port": sites["site-a"].port,
                "ping_interval_s": 0.3,
                "site_trunks": {"site-b": "to-site-b"},
            },
            {"name": "site-b", "port": proxy.port, "ping_interval_s": 0.3},
        ],
        simulator={"enabled": False},
    )
    app = create_app(settings)
    try:
        async with app.router.lifespan_context(app):
            runtime = app.state.runtime
            desk = runtime.orchestrator
            for link in runtime.links.values():
                await link.wait_in_step(10)
            b_call = sites["site-b"].place_call(
                queue="sales", caller_number="+12025550121", talk_s=0.3, patience_s=120
            )

            async def known(linkedid: str) -> bool:
                async with sessions() as session:
                    row = await session.scalar(
                        select(CallRecord).where(CallRecord.linkedid == linkedid)
                    )
                return row is not None

            await eventually(lambda: known(b_call), "site B's caller is recorded")
            proxy.black_hole()

            async def b_down() -> bool:
                return not runtime.links["site-b"].in_step

            await eventually(b_down, "site B's link is seen down")
            await desk.set_agent_state(bob.agent_id, AgentState.READY)
            view = desk.agent_view(bob.agent_id)
            assert (view.state, view.reason) == (AgentState.NOT_READY, "site unreachable")
            a_call = sites["site-a"].place_call(
                queue="sales", caller_number="+12025550122", talk_s=0.3, patience_s=120
            )
            await eventually(lambda: known(a_call), "site A's caller is recorded")
            await desk.settle()
            async with sessions() as session:
                assert (await session.scalars(select(CallOffer))).all() == [], "no offer"
            assert sites["site-b"].active_calls() == 1, "B's caller is frozen, not hung up"

            proxy.heal()
            proxy.cut()  # the black-holed connection is dropped; the link dials again
            await runtime.links["site-b"].wait_in_step(15)

            async def both_answered() -> bool:
                async with sessions() as session:
                    rows = (await session.scalars(select(CallRecord))).all()
                return len(rows) == 2 and all(r.ended_at is not None for r in rows)

            await eventually(both_answered, "Bob takes both calls once site B is back")
            await desk.settle()
    finally:
        await proxy.stop()
        for sim in sites.values():
            await sim.stop()

    async with sessions() as session:
        rows = {r.linkedid: r for r in (await session.scalars(select(CallRecord))).all()}
        offers = (await session.scalars(select(CallOffer))).all()
    await engine.dispose()
    assert {k: (r.outcome, r.agent_id) for k, r in rows.items()} == {
        b_call: ("answered", bob.agent_id),
        a_call: ("answered", bob.agent_id),
    }
    by_call = {rows[k].id: k for k in rows}
    assert sorted((by_call[o.call_id], o.result) for o in offers) == sorted(
        [(b_call, "answered"), (a_call, "answered")]
    ), "each caller offered exactly once"
    assert rows[b_call].answered_at < rows[a_call].answered_at, "the first in is the first served"
