"""A callback through the whole service over real TCP: a caller waits with nobody
Ready, presses 1 for a callback and hangs up; the call keeps its place; when an
agent goes Ready, the built-in PBX simulator rings the agent's phone first and,
once answered, the customer's; they talk, the customer hangs up, and the call's
record says it was answered, its log how."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any, TypeVar

import pytest
from sqlalchemy import select

from agents import AgentProfile, AgentState
from callcenter.ami.message import Message
from callcenter.db.directory import load_agents
from callcenter.db.models import CallRecord
from callcenter.db.records import call_events, get_call
from callcenter.db.session import Sessions, make_engine, make_session_factory
from callcenter.pbxsim.phones import PhoneBehaviour
from callcenter.pbxsim.probe import AmiProbe
from callcenter.service import create_app
from tests.conftest import demo_settings

T = TypeVar("T")
CUSTOMER = "+14155550123"


async def wait_for(check: Callable[[], Awaitable[T | None]], timeout_s: float = 20.0) -> T:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = await check()
        if value:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


@pytest.fixture
async def service(seeded_db_url_both: str) -> AsyncIterator[tuple[Any, Sessions, AgentProfile]]:
    seeded_db_url = seeded_db_url_both
    engine = make_engine(seeded_db_url)
    sessions = make_session_factory(engine)
    agent = min(
        (a for a in await load_agents(sessions) if a.skills.get("sales", 0) >= 3),
        key=lambda a: a.agent_id,
    )
    app = create_app(demo_settings(seeded_db_url))
    try:
        async with app.router.lifespan_context(app):
            runtime = app.state.runtime
            link = runtime.links["pbx1"]

            async def in_step() -> bool:
                return bool(link.connected and link.in_step)

            await wait_for(in_step)
            yield runtime, sessions, agent
    finally:
        await engine.dispose()


def rings(uniqueid_prefix: str) -> Callable[[Message], bool]:
    return lambda m: (
        m.event == "Newstate"
        and m.get("ChannelStateDesc") == "Ringing"
        and (m.get("Uniqueid") or "").startswith(uniqueid_prefix)
    )


async def test_a_callback_rings_the_agent_first_then_the_customer_and_is_answered(
    service: tuple[Any, Sessions, AgentProfile],
) -> None:
    runtime, sessions, agent = service
    sim, orchestrator = runtime.simulator, runtime.orchestrator
    sim.set_phone_behaviour(agent.dial_string, PhoneBehaviour(answer_after_s=0.3))
    sim.set_number_behaviour(CUSTOMER, PhoneBehaviour(answer_after_s=0.3, hangup_after_s=0.5))
    probe = await AmiProbe.connect("127.0.0.1", sim.port)
    await probe.login("callcenter", "callcenter-secret")
    try:
        linkedid = sim.place_call(queue="sales", caller_number=CUSTOMER, caller_name="Alice")

        async def recorded() -> CallRecord | None:
            async with sessions() as session:
                query = select(CallRecord).where(CallRecord.linkedid == linkedid)
                return (await session.execute(query)).scalar_one_or_none()

        record = await wait_for(recorded)
        assert sim.request_callback(linkedid), "the caller was waiting"

        async def caller_gone() -> bool:
            return sim.active_calls() == 0

        await wait_for(caller_gone)
        await orchestrator.settle()
        assert [w.call_id for w in orchestrator.wallboard().waiting] == [record.id]

        await orchestrator.set_agent_state(agent.agent_id, AgentState.READY)
        agent_rang = await probe.wait_for(rings("agentleg-"), timeout_s=10)
        customer_rang = await probe.wait_for(rings(f"{sim.system_name}-"), timeout_s=10)
        dialed = await probe.wait_for(lambda m: m.event == "DialBegin" and "Uniqueid" in m)
        assert probe.events().index(agent_rang) < probe.events().index(dialed)
        assert dialed["Uniqueid"] == agent_rang["Uniqueid"], "the agent's leg dials the customer"
        assert customer_rang["Linkedid"] == agent_rang["Uniqueid"]

        async def ended() -> Any:
            await orchestrator.settle()
            call = await get_call(sessions, record.id)
            return call if call is not None and call.ended_at is not None else None

        call = await wait_for(ended)
        assert (call.outcome, call.agent_id, call.ended_by) == (
            "answered",
            agent.agent_id,
            "caller",
        )
        assert [(o.agent_id, o.result) for o in call.offers] == [(agent.agent_id, "answered")]
        kinds = [e.kind for e in await call_events(sessions, record.id)]
        for step in ("callback_requested", "caller_left_for_callback", "callback_attempt"):
            assert step in kinds
        assert kinds.index("callback_requested") < kinds.index("callback_attempt")
        assert kinds.index("callback_attempt") < kinds.index("answered")
        assert orchestrator.agent_view(agent.agent_id).state is not AgentState.ON_CALL
    finally:
        await probe.close()
