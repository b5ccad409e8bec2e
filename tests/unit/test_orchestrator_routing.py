"""The orchestrator driving the full router: customer priority and known agent
from the CRM, RONA, wrap-up, deadlines, overflow and closed actions, rule changes."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import pytest_asyncio

from agents import AgentProfile, AgentState
from callcenter.ami import events as ev
from callcenter.orchestration.orchestrator import Orchestrator
from callcenter.orchestration.ports import Arrival
from routing import BullseyeStep, Hours, KnownAgent, QueueRule, RoutingRules, RulesRefused
from tests.conftest import eventually
from tests.unit.test_orchestrator import PBX, FakeDialer, FakeNotifier, FakeRecords, fake_pop

ALICE = AgentProfile(1, "agent01", "Alice Agent", "PJSIP/agent01", skills={"sales": 3})
BOB = AgentProfile(2, "agent02", "Bob Agent", "PJSIP/agent02", skills={"sales": 3})
NOVICE = AgentProfile(3, "agent03", "Nia Novice", "PJSIP/agent03", skills={"sales": 1})

#: caller number -> what the CRM knows
CUSTOMERS: dict[str, dict[str, Any]] = {
    "+14155550001": {"customer": {"id": 1, "name": "Bronze Bob", "tier": "bronze"}},
    "+14155550002": {"customer": {"id": 2, "name": "Gold Gina", "tier": "gold"}},
    "+14155550003": {
        "customer": {"id": 3, "name": "Regular Rita", "tier": "silver"},
        "last_agent": {"agent_id": 1, "name": "Alice Agent", "at": "2026-11-20T10:00:00+00:00"},
    },
}


async def crm_pop(
    *, call_id: str, queue: str, caller_number: str, account: str, identified: Any = None
) -> dict[str, Any]:
    return {"call_id": call_id, **CUSTOMERS.get(caller_number, {"new_contact": True})}


def sales(**changes: Any) -> QueueRule:
    return QueueRule(name="sales", skills={"sales": 2}, **changes)


@dataclass
class Rig:
    orchestrator: Orchestrator
    dialer: FakeDialer
    records: FakeRecords
    now: list[float]

    def arrive(self, n: int, number: str) -> None:
        linkedid = f"pbx1-{n}.0"
        self.orchestrator.handle(
            ev.CallArrived(
                PBX, linkedid, f"Local/100@in-{n};2", f"u{n}", number, "", "sales", "", self.now[0]
            )
        )

    def targets(self) -> list[str]:
        return [o["agent_target"] for o in self.dialer.originates]

    def leg(self, index: int) -> str:
        return str(self.dialer.originates[index]["leg_id"])


Build = Callable[..., Any]


@pytest_asyncio.fixture
async def build() -> AsyncIterator[Build]:
    made: list[Orchestrator] = []

    async def make(rules: RoutingRules, agents: list[AgentProfile] | None = None) -> Rig:
        dialer, records, now = FakeDialer(), FakeRecords(), [1_795_000_000.0]
        orchestrator = Orchestrator(
            agents=agents or [ALICE, BOB, NOVICE],
            rules=rules,
            dialers={PBX: dialer},
            records=records,
            pops=crm_pop,
            notifier=FakeNotifier(),
            clock=lambda: now[0],
        )
        orchestrator.start()
        made.append(orchestrator)
        return Rig(orchestrator, dialer, records, now)

    yield make
    for orchestrator in made:
        await orchestrator.stop()


async def test_gold_customer_is_served_before_an_earlier_bronze_one(build: Build) -> None:
    rig = await build(RoutingRules(queues=[sales()]))
    o = rig.orchestrator
    rig.arrive(1, "+14155550001")
    rig.now[0] += 5
    rig.arrive(2, "+14155550002")
    await o.settle()
    await o.set_agent_state(ALICE.agent_id, AgentState.READY)
    await o.settle()
    [offer] = rig.dialer.originates
    assert offer["caller_id_number"] == "+14155550002"
    why = o.routing_of(offer["call_id"])
    assert why is not None and why["explanation"]["priority"]["tier"] == "gold"


async def test_returning_customer_waits_for_their_known_agent(build: Build) -> None:
    rules = RoutingRules(queues=[sales(known_agent=KnownAgent(within_days=30, wait_s=20))])
    rig = await build(rules)
    o = rig.orchestrator
    # Alice is on another call; Bob is Ready
    await o.set_agent_state(ALICE.agent_id, AgentState.READY)
    rig.arrive(1, "+14155550001")
    await o.settle()
    assert rig.targets() == ["PJSIP/agent01"]
    await o.set_agent_state(BOB.agent_id, AgentState.READY)
    rig.arrive(2, "+14155550003")  # Rita, served by Alice last
    await o.settle()
    assert rig.targets() == ["PJSIP/agent01"], "Rita is kept for Alice, not given to Bob"
    # Alice's call ends: she is free, and Rita is hers
    o.handle(ev.Bridged(PBX, "pbx1-1.0", rig.leg(0), "PJSIP/agent01", rig.now[0]))
    o.handle(ev.CallEnded(PBX, "pbx1-1.0", "caller", rig.now[0] + 5))
    await o.settle()
    assert rig.targets() == ["PJSIP/agent01", "PJSIP/agent01"]
    assert rig.dialer.originates[1]["caller_id_number"] == "+14155550003"


async def test_known_agent_window_ends_and_another_agent_takes_the_call(build: Build) -> None:
    rules = RoutingRules(queues=[sales(known_agent=KnownAgent(within_days=30, wait_s=20))])
    rig = await build(rules)
    o = rig.orchestrator
    await o.set_agent_state(ALICE.agent_id, AgentState.READY)
    rig.arrive(1, "+14155550001")
    await o.settle()
    await o.set_agent_state(BOB.agent_id, AgentState.READY)
    rig.arrive(2, "+14155550003")
    await o.settle()
    rig.now[0] += 20
    o.tick()
    await o.settle()
    assert rig.targets() == ["PJSIP/agent01", "PJSIP/agent02"]


async def test_rona_after_the_configured_number_of_misses(build: Build) -> None:
    rig = await build(RoutingRules(queues=[sales()], rona_misses=2), agents=[ALICE])
    o = rig.orchestrator
    await o.set_agent_state(ALICE.agent_id, AgentState.READY)
    rig.arrive(1, "+14155550001")
    rig.arrive(2, "+14155550002")
    await o.settle()
    assert rig.dialer.originates[0]["caller_id_number"] == "+14155550001"
    first = rig.leg(0)
    o.handle(ev.AgentLegFailed(PBX, "pbx1-1.0", first, "PJSIP/agent01", "no_answer", rig.now[0]))
    await o.settle()
    # one miss: still Ready, offered the other caller (never the one she missed)
    assert o.agent_view(ALICE.agent_id).state is AgentState.RESERVED
    assert rig.dialer.originates[1]["caller_id_number"] == "+14155550002"
    second = rig.leg(1)
    o.handle(ev.AgentLegFailed(PBX, "pbx1-2.0", second, "PJSIP/agent01", "no_answer", rig.now[0]))
    await o.settle()
    alice = o.agent_view(ALICE.agent_id)
    assert (alice.state, alice.reason) == (AgentState.NOT_READY, "no answer")


async def test_agent_wraps_up_after_a_call_and_is_not_offered_meanwhile(build: Build) -> None:
    rig = await build(RoutingRules(queues=[sales(wrap_up_s=0.2)]), agents=[ALICE])
    o = rig.orchestrator
    await o.set_agent_state(ALICE.agent_id, AgentState.READY)
    rig.arrive(1, "+14155550001")
    await o.settle()
    leg = rig.leg(0)
    o.handle(ev.Bridged(PBX, "pbx1-1.0", leg, "PJSIP/agent01", rig.now[0]))
    o.handle(ev.CallEnded(PBX, "pbx1-1.0", "caller", rig.now[0] + 30))
    assert o.agent_view(ALICE.agent_id).state is AgentState.WRAP_UP
    rig.arrive(2, "+14155550002")
    await o.settle()
    assert len(rig.dialer.originates) == 1, "no offer during wrap-up"

    async def ready_and_offered() -> bool:
        return len(rig.dialer.originates) == 2

    await eventually(ready_and_offered, "wrap-up ends by itself and the next caller is offered")


async def test_agent_may_end_wrap_up_early(build: Build) -> None:
    rig = await build(RoutingRules(queues=[sales(wrap_up_s=600)]), agents=[ALICE])
    o = rig.orchestrator
    await o.set_agent_state(ALICE.agent_id, AgentState.READY)
    rig.arrive(1, "+14155550001")
    await o.settle()
    o.handle(ev.Bridged(PBX, "pbx1-1.0", rig.leg(0), "PJSIP/agent01", rig.now[0]))
    o.handle(ev.CallEnded(PBX, "pbx1-1.0", "agent", rig.now[0] + 30))
    assert o.agent_view(ALICE.agent_id).state is AgentState.WRAP_UP
    await o.set_agent_state(ALICE.agent_id, AgentState.READY)
    assert o.agent_view(ALICE.agent_id).state is AgentState.READY


async def test_bullseye_step_lets_a_novice_take_a_long_waiting_call(build: Build) -> None:
    rules = RoutingRules(queues=[sales(steps=[BullseyeStep(after_s=30, min_proficiency=1)])])
    rig = await build(rules, agents=[NOVICE])
    o = rig.orchestrator
    await o.set_agent_state(NOVICE.agent_id, AgentState.READY)
    rig.arrive(1, "+14155550001")
    await o.settle()
    assert rig.dialer.originates == []
    rig.now[0] += 30
    o.tick()
    await o.settle()
    assert rig.targets() == ["PJSIP/agent03"]
    why = o.routing_of(rig.dialer.originates[0]["call_id"])
    assert why is not None and why["explanation"]["step"] == "after 30 s: proficiency >= 1"


async def test_the_alarm_wakes_the_router_by_itself(build: Build) -> None:
    rules = RoutingRules(queues=[sales(steps=[BullseyeStep(after_s=0.2, min_proficiency=1)])])
    rig = await build(rules, agents=[NOVICE])
    o = rig.orchestrator
    rig.now[0] = asyncio.get_running_loop().time()  # a clock that moves
    o._clock = asyncio.get_running_loop().time  # type: ignore[method-assign]
    await o.set_agent_state(NOVICE.agent_id, AgentState.READY)
    rig.arrive(1, "+14155550001")

    async def offered() -> bool:
        return rig.targets() == ["PJSIP/agent03"]

    await eventually(offered, "the step falls due and the novice is offered the call")


async def test_max_wait_overflows_to_voicemail_and_the_record_says_so(build: Build) -> None:
    rules = RoutingRules(queues=[sales(max_wait_s=60, overflow="voicemail")])
    rig = await build(rules, agents=[NOVICE])
    o = rig.orchestrator
    rig.arrive(1, "+14155550001")
    await o.settle()
    rig.now[0] += 60
    o.tick()
    await o.settle()
    assert rig.dialer.redirects == [("Local/100@in-1;2", "voicemail", "sales")]
    o.handle(ev.CallEnded(PBX, "pbx1-1.0", "caller", rig.now[0] + 20))
    await o.settle()
    [(_, outcome, phase, ended_by)] = rig.records.named("call_ended")
    assert (outcome, phase, ended_by) == ("voicemail", None, "caller")


async def test_a_failed_redirect_puts_the_caller_back_in_line(build: Build) -> None:
    rules = RoutingRules(queues=[sales(max_wait_s=60, overflow="voicemail")])
    rig = await build(rules, agents=[ALICE])
    o = rig.orchestrator
    rig.dialer.refuse = True
    rig.arrive(1, "+14155550001")
    await o.settle()
    rig.now[0] += 60
    o.tick()
    await o.settle()
    rig.dialer.refuse = False
    await o.set_agent_state(ALICE.agent_id, AgentState.READY)
    await o.settle()
    assert rig.targets() == ["PJSIP/agent01"], "the caller was not stranded"


async def test_closed_queue_sends_a_new_caller_to_its_closed_action(build: Build) -> None:
    closed = Hours(timezone="Europe/Berlin", weekly={})
    rules = RoutingRules(queues=[sales(hours=closed, closed_action="callback")])
    rig = await build(rules)
    o = rig.orchestrator
    await o.set_agent_state(ALICE.agent_id, AgentState.READY)
    rig.arrive(1, "+14155550001")
    await o.settle()
    assert rig.dialer.originates == []
    assert rig.dialer.redirects == [("Local/100@in-1;2", "callback", "sales")]


async def test_published_rules_apply_to_callers_already_waiting(build: Build) -> None:
    rig = await build(RoutingRules(queues=[sales()]), agents=[NOVICE])
    o = rig.orchestrator
    await o.set_agent_state(NOVICE.agent_id, AgentState.READY)
    rig.arrive(1, "+14155550001")
    await o.settle()
    assert rig.dialer.originates == []
    relaxed = RoutingRules(queues=[QueueRule(name="sales", skills={"sales": 1})])
    o.apply_rules(relaxed, version=2)
    await o.settle()
    assert rig.targets() == ["PJSIP/agent03"]
    assert o.rules_version == 2


async def test_rules_removing_a_queue_with_callers_are_refused(build: Build) -> None:
    rig = await build(RoutingRules(queues=[sales()]), agents=[NOVICE])
    o = rig.orchestrator
    rig.arrive(1, "+14155550001")
    await o.settle()
    other = RoutingRules(queues=[QueueRule(name="support", skills={"support": 1})])
    with pytest.raises(RulesRefused, match="sales"):
        o.apply_rules(other, version=3)
    assert o.rules.queue("sales") is not None


async def test_agent_with_an_unreachable_phone_is_never_offered(build: Build) -> None:
    rig = await build(RoutingRules(queues=[sales()]), agents=[ALICE])
    o = rig.orchestrator
    o.handle(ev.PhoneReachability(PBX, "PJSIP/agent01", False, rig.now[0]))
    await o.set_agent_state(ALICE.agent_id, AgentState.READY)
    rig.arrive(1, "+14155550001")
    await o.settle()
    alice = o.agent_view(ALICE.agent_id)
    assert (alice.state, alice.reason) == (AgentState.NOT_READY, "phone unreachable")
    assert rig.dialer.originates == []
    o.handle(ev.PhoneReachability(PBX, "PJSIP/agent01", True, rig.now[0] + 5))
    await o.settle()
    assert rig.targets() == ["PJSIP/agent01"], "back in service once the phone is back"


async def test_wallboard_shows_why_a_call_is_where_it_is(build: Build) -> None:
    rig = await build(RoutingRules(queues=[sales()]))
    o = rig.orchestrator
    await o.set_agent_state(ALICE.agent_id, AgentState.READY)
    rig.arrive(1, "+14155550002")
    await o.settle()
    [waiting] = o.wallboard().waiting
    assert waiting.routing is not None and "priority" in waiting.routing
    explained = o.routing_of(waiting.call_id)
    assert explained is not None
    candidates = explained["explanation"]["candidates"]
    assert candidates[0]["chosen"] and candidates[0]["id"] == str(ALICE.agent_id)


async def test_caller_is_routed_on_who_they_are_before_the_rest_of_the_pop_is_read() -> None:
    """The CRM says who is calling after two or three queries; the open cases,
    billing and orders take five more. The offer goes out on the first part."""
    departments_read = asyncio.Event()

    async def slow_pop(
        *, call_id: str, queue: str, caller_number: str, account: str, identified: Any = None
    ) -> dict[str, Any]:
        found = CUSTOMERS[caller_number]
        identified({"customer": found["customer"], "last_agent": None})
        await departments_read.wait()
        return {"call_id": call_id, **found, "open_cases": [{"id": 7}]}

    dialer, now = FakeDialer(), [1_795_000_000.0]
    o = Orchestrator(
        agents=[ALICE],
        rules=RoutingRules(queues=[sales()]),
        dialers={PBX: dialer},
        records=FakeRecords(),
        pops=slow_pop,
        notifier=FakeNotifier(),
        clock=lambda: now[0],
    )
    o.start()
    try:
        await o.set_agent_state(ALICE.agent_id, AgentState.READY)
        o.handle(
            ev.CallArrived(
                PBX, "pbx1-1.0", "Local/100@in-1;2", "u1", "+14155550002", "", "sales", "", now[0]
            )
        )

        async def offered() -> bool:
            return len(dialer.originates) == 1

        await eventually(offered, "the call offered while its pop is read")
        why = o.routing_of(dialer.originates[0]["call_id"])
        assert why is not None and why["explanation"]["priority"]["tier"] == "gold"
        assert not departments_read.is_set()
    finally:
        departments_read.set()
        await o.stop()


@dataclass
class SlowDatabase(FakeRecords):
    """A history whose writes wait until the test lets them through."""

    let_through: asyncio.Event = field(default_factory=asyncio.Event)

    @contextlib.asynccontextmanager
    async def batch(self) -> AsyncIterator[None]:
        await self.let_through.wait()
        yield

    def __getattr__(self, name: str) -> Any:
        write = super().__getattr__(name)

        async def record(*args: Any) -> None:
            await self.let_through.wait()
            await write(*args)

        return record


@dataclass
class FakeJournal:
    """The arrivals noted, and which of them were said to be written."""

    noted: list[Arrival] = field(default_factory=list)
    written: list[str] = field(default_factory=list)

    def note(self, arrival: Arrival) -> Callable[[], None]:
        self.noted.append(arrival)
        return lambda: self.written.append(arrival.call_id)


def arrival() -> ev.CallArrived:
    return ev.CallArrived(
        PBX, "pbx1-1.0", "Local/100@in-1;2", "u1", "+14155550002", "", "sales", "", 0.0
    )


async def test_an_offer_does_not_wait_for_the_database_and_the_arrival_is_journaled() -> None:
    """Killed after an offer, the service may restart after the call is over:
    then nothing but its arrival says it happened. The journal keeps it, at
    once, until the record is written; the offer waits for neither."""
    dialer, records, journal = FakeDialer(), SlowDatabase(), FakeJournal()
    o = Orchestrator(
        agents=[ALICE],
        rules=RoutingRules(queues=[sales()]),
        dialers={PBX: dialer},
        records=records,
        pops=fake_pop,
        notifier=FakeNotifier(),
        journal=journal,
    )
    o.start()
    try:
        await o.set_agent_state(ALICE.agent_id, AgentState.READY)
        o.handle(arrival())
        (noted,) = journal.noted
        assert (noted.pbx, noted.linkedid, noted.queue) == (PBX, "pbx1-1.0", "sales")
        assert noted.caller_number == "+14155550002"

        async def offered() -> bool:
            return len(dialer.originates) == 1

        await eventually(offered, "the call offered with its record still unwritten")
        assert dialer.originates[0]["call_id"] == noted.call_id
        assert records.named("call_enqueued") == [] and journal.written == []
        records.let_through.set()

        async def written() -> bool:
            return journal.written == [noted.call_id]

        await eventually(written, "the journal told once the record is written")
        assert len(records.named("call_enqueued")) == 1
    finally:
        records.let_through.set()
        await o.stop()
