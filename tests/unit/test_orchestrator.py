"""The orchestrator's call flow, driven by domain events, with in-memory fakes."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pytest_asyncio

from agents import AgentProfile, AgentState
from callcenter.ami import events as ev
from callcenter.orchestration.orchestrator import Orchestrator
from callcenter.orchestration.ports import OfferNotPlaced
from routing import QueueRule, RoutingRules

PBX = "pbx1"


@dataclass
class FakeDialer:
    originates: list[dict[str, Any]] = field(default_factory=list)
    hangups: list[str] = field(default_factory=list)
    redirects: list[tuple[str, str, str]] = field(default_factory=list)
    refuse: bool = False

    async def originate_agent_leg(self, **kwargs: Any) -> None:
        if self.refuse:
            raise OfferNotPlaced("link down")
        self.originates.append(kwargs)

    async def hangup_leg(self, leg_id: str) -> None:
        self.hangups.append(leg_id)

    async def send_caller(self, *, caller_channel: str, destination: str, queue: str) -> None:
        if self.refuse:
            raise OfferNotPlaced("link down")
        self.redirects.append((caller_channel, destination, queue))


@dataclass
class FakeRecords:
    steps: list[tuple[str, tuple[Any, ...]]] = field(default_factory=list)

    @contextlib.asynccontextmanager
    async def batch(self) -> AsyncIterator[None]:
        yield

    def __getattr__(self, name: str) -> Any:
        async def record(*args: Any) -> None:
            self.steps.append((name, tuple(a for a in args if not isinstance(a, datetime))))

        return record

    def named(self, name: str) -> list[tuple[Any, ...]]:
        return [args for step, args in self.steps if step == name]


@dataclass
class FakeNotifier:
    agent_messages: list[tuple[int, dict[str, Any]]] = field(default_factory=list)

    def to_agent(self, agent_id: int, message: dict[str, Any]) -> None:
        self.agent_messages.append((agent_id, message))

    def to_wallboards(self, message: dict[str, Any]) -> None:
        pass

    def of_type(self, kind: str) -> list[tuple[int, dict[str, Any]]]:
        return [(a, m) for a, m in self.agent_messages if m["type"] == kind]


async def fake_pop(
    *, call_id: str, queue: str, caller_number: str, account: str, identified: Any = None
) -> dict[str, Any]:
    return {"call_id": call_id, "caller_number": caller_number, "customer": {"name": "Alice"}}


ALICE = AgentProfile(1, "agent01", "Alice Agent", "PJSIP/agent01", skills={"sales": 3})
BOB = AgentProfile(2, "agent02", "Bob Agent", "PJSIP/agent02", skills={"sales": 3})


@dataclass
class Rig:
    orchestrator: Orchestrator
    dialer: FakeDialer
    records: FakeRecords
    notifier: FakeNotifier
    now: list[float]


@pytest_asyncio.fixture
async def rig() -> AsyncIterator[Rig]:
    dialer, records, notifier, now = FakeDialer(), FakeRecords(), FakeNotifier(), [1000.0]
    orchestrator = Orchestrator(
        agents=[ALICE, BOB],
        rules=RoutingRules(queues=[QueueRule(name="sales", skills={"sales": 1})]),
        dialers={PBX: dialer},
        records=records,
        pops=fake_pop,
        notifier=notifier,
        clock=lambda: now[0],
    )
    orchestrator.start()
    yield Rig(orchestrator, dialer, records, notifier, now)
    await orchestrator.stop()


def arrive(linkedid: str = "pbx1-1.0", at: float = 1000.0) -> ev.CallArrived:
    return ev.CallArrived(
        PBX,
        linkedid,
        f"Local/100@callcenter-inbound-{linkedid};2",
        linkedid + "1",
        "+14155550123",
        "Alice Martin",
        "sales",
        "",
        at,
    )


async def test_ready_agent_gets_the_call_and_the_record_is_complete(rig: Rig) -> None:
    o = rig.orchestrator
    await o.set_agent_state(ALICE.agent_id, AgentState.READY)
    o.handle(arrive())
    await o.settle()
    [originate] = rig.dialer.originates
    assert originate["agent_target"] == "PJSIP/agent01"
    assert originate["caller_channel"] == "Local/100@callcenter-inbound-pbx1-1.0;2"
    # reserved before the Originate went out; ringing once the phone rings
    assert o.agent_view(ALICE.agent_id).state is AgentState.RESERVED
    leg = originate["leg_id"]

    o.handle(ev.AgentLegRinging(PBX, "pbx1-1.0", leg, "PJSIP/agent01", 1001.0))
    await o.settle()
    assert o.agent_view(ALICE.agent_id).state is AgentState.RINGING
    [(to, pop)] = rig.notifier.of_type("pop")
    assert to == ALICE.agent_id and pop["pop"]["customer"]["name"] == "Alice"
    assert "agent 1 (on_site): idle" in pop["pop"]["routed_because"]
    assert "queue sales" in pop["pop"]["routed_because"]

    o.handle(ev.AgentLegAnswered(PBX, "pbx1-1.0", leg, "PJSIP/agent01", 1003.0))
    o.handle(ev.Bridged(PBX, "pbx1-1.0", leg, "PJSIP/agent01", 1003.0))
    assert o.agent_view(ALICE.agent_id).state is AgentState.ON_CALL
    assert o.wallboard().waiting == []
    o.handle(ev.CallerHungUp(PBX, "pbx1-1.0", "talking", 1030.0))
    o.handle(ev.CallEnded(PBX, "pbx1-1.0", "caller", 1030.0))
    await o.settle()

    assert o.agent_view(ALICE.agent_id).state is AgentState.READY
    call_id = originate["call_id"]
    assert rig.records.named("offer_result") == [(leg, "answered")]
    assert rig.records.named("call_answered") == [(call_id, 1, "PJSIP/agent01")]
    assert rig.records.named("call_ended") == [(call_id, "answered", None, "caller")]


async def test_no_answer_puts_agent_not_ready_and_reoffers_the_call(rig: Rig) -> None:
    o = rig.orchestrator
    await o.set_agent_state(ALICE.agent_id, AgentState.READY)
    o.handle(arrive())
    await o.settle()
    first_leg = rig.dialer.originates[0]["leg_id"]
    await o.set_agent_state(BOB.agent_id, AgentState.READY)
    assert len(rig.dialer.originates) == 1, "Bob must not get a call already offered to Alice"

    o.handle(ev.AgentLegFailed(PBX, "pbx1-1.0", first_leg, "PJSIP/agent01", "no_answer", 1015.0))
    await o.settle()
    alice = o.agent_view(ALICE.agent_id)
    assert (alice.state, alice.reason) == (AgentState.NOT_READY, "no answer")
    assert rig.dialer.originates[1]["agent_target"] == "PJSIP/agent02"
    assert (ALICE.agent_id, {"type": "pop_withdrawn", "call_id": alice_call(rig)}) in (
        rig.notifier.agent_messages
    )


def alice_call(rig: Rig) -> str:
    return str(rig.dialer.originates[0]["call_id"])


async def test_caller_hanging_up_while_ringing_cancels_the_leg_without_penalty(rig: Rig) -> None:
    o = rig.orchestrator
    await o.set_agent_state(ALICE.agent_id, AgentState.READY)
    o.handle(arrive())
    await o.settle()
    leg = rig.dialer.originates[0]["leg_id"]
    o.handle(ev.CallerHungUp(PBX, "pbx1-1.0", "ringing", 1005.0))
    await o.settle()
    assert rig.dialer.hangups == [leg]
    o.handle(ev.AgentLegFailed(PBX, "pbx1-1.0", leg, "PJSIP/agent01", "canceled", 1005.1))
    o.handle(ev.CallEnded(PBX, "pbx1-1.0", "caller", 1005.2))
    await o.settle()
    assert o.agent_view(ALICE.agent_id).state is AgentState.READY
    assert rig.records.named("call_ended") == [(alice_call(rig), "abandoned", "ringing", "caller")]


async def test_not_ready_asked_during_a_call_applies_after_it(rig: Rig) -> None:
    o = rig.orchestrator
    await o.set_agent_state(ALICE.agent_id, AgentState.READY)
    o.handle(arrive())
    await o.settle()
    leg = rig.dialer.originates[0]["leg_id"]
    o.handle(ev.Bridged(PBX, "pbx1-1.0", leg, "PJSIP/agent01", 1003.0))
    view = await o.set_agent_state(ALICE.agent_id, AgentState.NOT_READY, "break")
    assert view.state is AgentState.ON_CALL
    assert view.pending is AgentState.NOT_READY, "the page tells the agent it is queued"
    o.handle(ev.CallEnded(PBX, "pbx1-1.0", "agent", 1040.0))
    after = o.agent_view(ALICE.agent_id)
    assert (after.state, after.reason) == (AgentState.NOT_READY, "break")


async def test_refused_originate_leaves_the_caller_waiting(rig: Rig) -> None:
    o = rig.orchestrator
    rig.dialer.refuse = True
    await o.set_agent_state(ALICE.agent_id, AgentState.READY)
    o.handle(arrive())
    await o.settle()
    assert o.agent_view(ALICE.agent_id).state is AgentState.NOT_READY
    assert rig.notifier.of_type("pop") == [], "a phone that never rang shows no pop"
    assert [w.caller_number for w in o.wallboard().waiting] == ["+14155550123"]
    rig.dialer.refuse = False
    await o.set_agent_state(BOB.agent_id, AgentState.READY)
    await o.settle()
    assert rig.dialer.originates[0]["agent_target"] == "PJSIP/agent02"


async def test_abandoned_waiting_call_is_recorded_and_never_offered(rig: Rig) -> None:
    o = rig.orchestrator
    o.handle(arrive())
    o.handle(ev.CallerHungUp(PBX, "pbx1-1.0", "waiting", 1010.0))
    o.handle(ev.CallEnded(PBX, "pbx1-1.0", "caller", 1010.0))
    await o.set_agent_state(ALICE.agent_id, AgentState.READY)
    await o.settle()
    assert rig.dialer.originates == []
    [(_, outcome, phase, ended_by)] = rig.records.named("call_ended")
    assert (outcome, phase, ended_by) == ("abandoned", "waiting", "caller")
    await asyncio.sleep(0)


async def test_agents_start_logged_out_as_of_start_up(rig: Rig) -> None:
    view = rig.orchestrator.agent_view(ALICE.agent_id)
    assert (view.state, view.since) == (AgentState.LOGGED_OUT, 1000.0)


async def test_an_agent_who_answers_after_the_caller_left_did_not_take_the_call(rig: Rig) -> None:
    o = rig.orchestrator
    await o.set_agent_state(ALICE.agent_id, AgentState.READY)
    o.handle(arrive())
    await o.settle()
    leg = rig.dialer.originates[0]["leg_id"]
    o.handle(ev.CallerHungUp(PBX, "pbx1-1.0", "ringing", 1004.0))
    o.handle(ev.AgentLegAnswered(PBX, "pbx1-1.0", leg, "PJSIP/agent01", 1004.1))
    o.handle(ev.CallEnded(PBX, "pbx1-1.0", "caller", 1004.2))
    await o.settle()
    assert o.agent_view(ALICE.agent_id).state is AgentState.READY
    assert rig.records.named("call_answered") == []
    [(_, outcome, phase, _)] = rig.records.named("call_ended")
    assert (outcome, phase) == ("abandoned", "ringing")


async def test_the_pop_waits_for_the_phone_to_ring(rig: Rig) -> None:
    o = rig.orchestrator
    await o.set_agent_state(ALICE.agent_id, AgentState.READY)
    o.handle(arrive())
    await o.settle()
    assert rig.notifier.of_type("pop") == [], "nothing rings yet"
    leg = rig.dialer.originates[0]["leg_id"]
    o.handle(ev.AgentLegFailed(PBX, "pbx1-1.0", leg, "PJSIP/agent01", "unavailable", 1001.0))
    await o.settle()
    assert rig.notifier.of_type("pop") == [], "an unreachable phone never showed a customer"
    alice = o.agent_view(ALICE.agent_id)
    assert (alice.state, alice.reason) == (AgentState.NOT_READY, "unreachable")
