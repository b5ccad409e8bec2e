"""Each outcome of an offer, through the whole service over real TCP: the built-in
PBX simulator rings the agent's phone as the test tells it to (no answer, busy,
unregistered, the caller or the agent hanging up), the AMI listener sees it, and
the orchestrator and router answer for it. What is asserted is what an agent, a
caller or a supervisor would notice: who is rung next, the agent's state, the
call record and its offers."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

import pytest
from pydantic import SecretStr
from sqlalchemy import select, update

from agents import AgentProfile, AgentState
from callcenter.db.directory import load_agents
from callcenter.db.models import Agent, CallOffer, CallRecord
from callcenter.db.routing_rules import live_rules_or_default, publish_rules
from callcenter.db.session import Sessions, make_engine, make_session_factory
from callcenter.pbxsim.phones import PhoneBehaviour
from callcenter.service import create_app
from routing import Location
from tests.conftest import demo_settings

T = TypeVar("T")

#: sales rings an agent this long before the offer counts as missed
RING_TIMEOUT_S = 2.0
ANSWERS = PhoneBehaviour(answer_after_s=0.2)
NEVER_ANSWERS = PhoneBehaviour(answer_after_s=None)
BUSY = PhoneBehaviour(busy=True)


async def wait_for(check: Callable[[], Awaitable[T | None]], timeout_s: float = 20.0) -> T:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = await check()
        if value:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


@dataclass
class Desk:
    """The running service, and two sales agents whose phones the test drives."""

    runtime: Any
    sessions: Sessions
    first: AgentProfile
    second: AgentProfile
    #: the ASGI app, for requests through the REST API
    app: Any = None

    def phone(self, agent: AgentProfile, behaviour: PhoneBehaviour) -> None:
        self.runtime.simulator.set_phone_behaviour(agent.dial_string, behaviour)

    async def ready(self, agent: AgentProfile) -> None:
        await self.runtime.orchestrator.set_agent_state(agent.agent_id, AgentState.READY)

    def state(self, agent: AgentProfile) -> tuple[AgentState, str | None]:
        view = self.runtime.orchestrator.agent_view(agent.agent_id)
        return view.state, view.reason

    async def becomes(
        self, agent: AgentProfile, state: AgentState, timeout_s: float = 20.0
    ) -> str | None:
        """Wait until the agent is in ``state``; returns the reason shown."""

        async def check() -> tuple[AgentState, str | None] | None:
            now = self.state(agent)
            return now if now[0] is state else None

        return (await wait_for(check, timeout_s))[1]

    def call(self, number: str, **caller: Any) -> str:
        return str(self.runtime.simulator.place_call(queue="sales", caller_number=number, **caller))

    async def record(self, linkedid: str) -> CallRecord | None:
        async with self.sessions() as session:
            return (
                await session.execute(select(CallRecord).where(CallRecord.linkedid == linkedid))
            ).scalar_one_or_none()

    async def ended(self, linkedid: str, timeout_s: float = 20.0) -> CallRecord:
        async def check() -> CallRecord | None:
            record = await self.record(linkedid)
            return record if record is not None and record.ended_at is not None else None

        return await wait_for(check, timeout_s)

    async def offers(self, record: CallRecord) -> list[tuple[int, str | None]]:
        await self.runtime.orchestrator.settle()
        async with self.sessions() as session:
            rows = (
                (
                    await session.execute(
                        select(CallOffer)
                        .where(CallOffer.call_id == record.id)
                        .order_by(CallOffer.offered_at, CallOffer.id)
                    )
                )
                .scalars()
                .all()
            )
        return [(row.agent_id, row.result) for row in rows]


@asynccontextmanager
async def running_desk(
    db_url: str, *, outbound_trunk: str | None = None, recordings_key: str | None = None
) -> AsyncIterator[Desk]:
    engine = make_engine(db_url)
    sessions = make_session_factory(engine)
    rules, _ = await live_rules_or_default(sessions)
    quick = rules.model_copy(
        update={
            "rona_misses": 1,
            "queues": [
                q.model_copy(
                    update={
                        "ring_timeout_s": RING_TIMEOUT_S,
                        "wrap_up_s": 0,
                        # home agents at once (the demo adds them after 45 s)
                        "locations": sorted({*q.locations, Location.HOME}),
                    }
                )
                if q.name == "sales"
                else q
                for q in rules.queues
            ],
        }
    )
    await publish_rules(sessions, type(rules).model_validate(quick.model_dump()), author="test")
    sales = sorted(
        (a for a in await load_agents(sessions) if a.skills.get("sales", 0) >= 3),
        key=lambda a: a.agent_id,
    )
    assert len(sales) >= 2, "the demo seed has at least two sales agents"
    settings = demo_settings(db_url)
    settings.pbx[0].outbound_trunk = outbound_trunk
    if recordings_key is not None:
        settings.recordings.encryption_key = SecretStr(recordings_key)
    app = create_app(settings)
    try:
        async with app.router.lifespan_context(app):
            runtime = app.state.runtime
            link = runtime.links["pbx1"]

            async def connected() -> bool:
                return bool(link.connected)

            await wait_for(connected)
            desk = Desk(runtime, sessions, sales[0], sales[1], app)
            for agent in sales:
                desk.phone(agent, ANSWERS)
            yield desk
    finally:
        await engine.dispose()


@pytest.fixture
async def desk(seeded_db_url: str) -> AsyncIterator[Desk]:
    async with running_desk(seeded_db_url) as running:
        yield running


async def test_an_unanswered_offer_makes_the_agent_not_ready_and_the_call_keeps_its_place(
    desk: Desk,
) -> None:
    desk.phone(desk.first, NEVER_ANSWERS)
    await desk.ready(desk.first)
    earlier = desk.call("+4930111111", talk_s=0.5)
    await desk.becomes(desk.first, AgentState.RINGING)
    later = desk.call("+4930222222", talk_s=0.5)

    reason = await desk.becomes(desk.first, AgentState.NOT_READY, timeout_s=RING_TIMEOUT_S + 15)
    assert reason == "no answer"

    await desk.ready(desk.second)
    first_served = await desk.ended(earlier)
    assert first_served.agent_id == desk.second.agent_id
    assert first_served.outcome == "answered"
    assert await desk.offers(first_served) == [
        (desk.first.agent_id, "no_answer"),
        (desk.second.agent_id, "answered"),
    ]
    # the caller who came later waited behind: never offered before the first
    still_waiting = await desk.record(later)
    assert still_waiting is not None and still_waiting.agent_id in (None, desk.second.agent_id)
    served_later = await desk.ended(later)
    assert served_later.answered_at is not None and first_served.answered_at is not None
    assert served_later.answered_at >= first_served.answered_at


async def test_a_busy_phone_counts_as_a_miss_and_the_next_agent_takes_the_call(
    desk: Desk,
) -> None:
    desk.phone(desk.first, BUSY)
    await desk.ready(desk.first)
    linkedid = desk.call("+4930333333", talk_s=0.5)
    assert await desk.becomes(desk.first, AgentState.NOT_READY) == "busy"

    await desk.ready(desk.second)
    record = await desk.ended(linkedid)
    assert record.outcome == "answered"
    assert await desk.offers(record) == [
        (desk.first.agent_id, "busy"),
        (desk.second.agent_id, "answered"),
    ]


async def test_a_caller_hanging_up_while_the_agent_rings_costs_the_agent_nothing(
    desk: Desk,
) -> None:
    desk.phone(desk.first, NEVER_ANSWERS)
    await desk.ready(desk.first)
    linkedid = desk.call("+4930444444")
    await desk.becomes(desk.first, AgentState.RINGING)

    desk.runtime.simulator.hangup_caller(linkedid)
    record = await desk.ended(linkedid)
    assert record.outcome != "answered" and record.agent_id is None
    assert await desk.offers(record) == [(desk.first.agent_id, "canceled")]
    # no penalty: straight back to Ready, not Not Ready
    assert await desk.becomes(desk.first, AgentState.READY) is None

    # and the ringing leg was hung up: the phone is free for the next caller
    desk.phone(desk.first, ANSWERS)
    again = desk.call("+4930555555", talk_s=0.5)
    next_record = await desk.ended(again)
    assert next_record.agent_id == desk.first.agent_id
    assert await desk.offers(next_record) == [(desk.first.agent_id, "answered")]


async def test_an_agent_hanging_up_first_ends_the_call_and_frees_the_agent(desk: Desk) -> None:
    desk.phone(desk.first, PhoneBehaviour(answer_after_s=0.2, hangup_after_s=0.5))
    await desk.ready(desk.first)
    linkedid = desk.call("+4930666666", talk_s=60.0)

    record = await desk.ended(linkedid)
    assert record.outcome == "answered"
    assert record.agent_id == desk.first.agent_id
    assert record.ended_by == "agent"
    await desk.becomes(desk.first, AgentState.READY)
    assert desk.runtime.simulator.active_calls() == 0


async def test_an_unreachable_phone_is_never_rung_until_it_registers_again(desk: Desk) -> None:
    desk.runtime.simulator.unregister_phone(desk.first.dial_string)
    await desk.ready(desk.first)
    assert await desk.becomes(desk.first, AgentState.NOT_READY) == "phone unreachable"

    linkedid = desk.call("+4930777777", talk_s=0.5)
    await asyncio.sleep(RING_TIMEOUT_S)  # a hot retry loop would have tried by now
    waiting = await desk.record(linkedid)
    assert waiting is not None and waiting.ended_at is None and waiting.agent_id is None

    desk.runtime.simulator.register_phone(desk.first.dial_string)
    record = await desk.ended(linkedid)
    assert record.agent_id == desk.first.agent_id
    # the only offer is the one that rang once the phone was back
    assert await desk.offers(record) == [(desk.first.agent_id, "answered")]


async def test_congestion_counts_as_a_miss_and_the_next_agent_takes_the_call(desk: Desk) -> None:
    desk.phone(desk.first, PhoneBehaviour(congestion=True))
    await desk.ready(desk.first)
    linkedid = desk.call("+4930333333", talk_s=0.3)
    reason = await desk.becomes(desk.first, AgentState.NOT_READY)
    assert reason == "network congestion"
    await desk.ready(desk.second)
    record = await desk.ended(linkedid)
    assert await desk.offers(record) == [
        (desk.first.agent_id, "congestion"),
        (desk.second.agent_id, "answered"),
    ]


HOME_NUMBER = "+4930555000"
HOME_LINE = f"PJSIP/{HOME_NUMBER}@outbound-trunk"


@pytest.fixture
async def home_desk(seeded_db_url: str) -> AsyncIterator[Desk]:
    """The first sales agent works from home: rung on their own number, through
    the PBX's outbound trunk, and asked to press 1 before the caller is put
    through."""
    engine = make_engine(seeded_db_url)
    sales = sorted(
        (
            a
            for a in await load_agents(make_session_factory(engine))
            if a.skills.get("sales", 0) >= 3
        ),
        key=lambda a: a.agent_id,
    )
    async with make_session_factory(engine).begin() as session:
        await session.execute(
            update(Agent)
            .where(Agent.id == sales[0].agent_id)
            .values(location="home", dial_string=HOME_NUMBER)
        )
    await engine.dispose()
    async with running_desk(seeded_db_url, outbound_trunk="outbound-trunk") as running:
        yield running


async def test_a_voicemail_that_picks_up_a_home_agents_line_is_not_taken_for_the_agent(
    home_desk: Desk,
) -> None:
    desk = home_desk
    desk.runtime.simulator.set_phone_behaviour(
        HOME_LINE, PhoneBehaviour(answer_after_s=0.1, presses_1_after_s=None)
    )
    await desk.ready(desk.first)
    linkedid = desk.call("+4930444444", talk_s=0.3)
    reason = await desk.becomes(desk.first, AgentState.NOT_READY, timeout_s=30)
    assert reason == "offer not confirmed"
    await desk.ready(desk.second)
    record = await desk.ended(linkedid, timeout_s=30)
    assert await desk.offers(record) == [
        (desk.first.agent_id, "unconfirmed"),
        (desk.second.agent_id, "answered"),
    ]


async def test_a_home_agent_who_presses_1_gets_the_caller(home_desk: Desk) -> None:
    desk = home_desk
    desk.runtime.simulator.set_phone_behaviour(
        HOME_LINE, PhoneBehaviour(answer_after_s=0.1, presses_1_after_s=0.2)
    )
    await desk.ready(desk.first)
    linkedid = desk.call("+4930666666", talk_s=0.3)
    record = await desk.ended(linkedid)
    assert (record.outcome, record.agent_id) == ("answered", desk.first.agent_id)
    assert record.agent_target == HOME_LINE
