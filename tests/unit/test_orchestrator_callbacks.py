"""Callbacks: a waiting caller asks to be called back and hangs up; the call keeps
its place, and when its turn comes an agent is rung first, then the customer."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest_asyncio

from agents import AgentState
from callcenter.ami import events as ev
from callcenter.orchestration.orchestrator import Orchestrator
from callcenter.ports import TransferTarget
from routing import QueueRule, RoutingRules
from tests.unit.test_orchestrator import FakeNotifier, FakeRecords, fake_pop
from tests.unit.test_orchestrator_call_control import ALICE, BOB, PBX, ControlDialer

FIRST, SECOND = "pbx1-1.0", "pbx1-2.0"
NUMBER = "+14155550123"


class Rig:
    def __init__(self, o: Orchestrator, pbx: ControlDialer, records: FakeRecords) -> None:
        self.o, self.pbx, self.records = o, pbx, records

    def arrive(self, linkedid: str, at: float) -> None:
        self.o.handle(
            ev.CallArrived(
                PBX,
                linkedid,
                f"Local/100@callcenter-inbound-{linkedid};2",
                linkedid + "u",
                NUMBER if linkedid == FIRST else "+14155550999",
                "Caller",
                "sales",
                "",
                at,
            )
        )

    async def leaves_for_callback(self, linkedid: str, at: float) -> None:
        self.o.handle(ev.CallbackRequested(PBX, linkedid, NUMBER, at))
        self.o.handle(ev.CallerHungUp(PBX, linkedid, "waiting", at))
        self.o.handle(ev.CallEnded(PBX, linkedid, "caller", at))
        await self.o.settle()


@pytest_asyncio.fixture
async def rig() -> AsyncIterator[Rig]:
    pbx, records = ControlDialer(), FakeRecords()
    o = Orchestrator(
        agents=[ALICE, BOB],
        rules=RoutingRules(queues=[QueueRule(name="sales", skills={"sales": 1})]),
        dialers={PBX: pbx},
        records=records,
        pops=fake_pop,
        notifier=FakeNotifier(),
        callback_retry_s=0.01,
        callback_attempts=2,
    )
    o.start()
    yield Rig(o, pbx, records)
    await o.stop()


async def test_a_callback_keeps_its_place_and_rings_the_agent_before_the_customer(
    rig: Rig,
) -> None:
    rig.arrive(FIRST, 1000.0)
    rig.arrive(SECOND, 1005.0)
    await rig.o.settle()
    await rig.leaves_for_callback(FIRST, 1010.0)
    waiting = rig.o.wallboard().waiting
    assert len(waiting) == 2, "the call that asked for a callback still waits"
    assert rig.records.named("call_ended") == []

    await rig.o.set_agent_state(ALICE.agent_id, AgentState.READY)
    await rig.o.settle()
    attempt = rig.pbx.last("originate_callback")
    assert (attempt["agent_target"], attempt["number"]) == (ALICE.dial_string, NUMBER)
    assert "originate" not in rig.pbx.names(), "the first in line was the callback"
    leg = attempt["leg_id"]
    # The attempt is a call of its own on the PBX, named by the leg.
    rig.o.handle(ev.AgentLegRinging(PBX, leg, leg, ALICE.dial_string, 1020.0))
    rig.o.handle(ev.AgentLegAnswered(PBX, leg, leg, ALICE.dial_string, 1021.0))
    rig.o.handle(ev.Bridged(PBX, leg, leg, ALICE.dial_string, 1025.0))
    await rig.o.settle()
    assert rig.o.agent_view(ALICE.agent_id).state is AgentState.ON_CALL
    rig.o.handle(ev.CallerHungUp(PBX, leg, "talking", 1060.0))
    rig.o.handle(ev.CallEnded(PBX, leg, "caller", 1060.0))
    await rig.o.settle()
    call_id = attempt["call_id"]
    assert rig.records.named("call_ended") == [(call_id, "answered", None, "caller")]
    kinds = [k for c, k, _ in rig.records.named("call_event") if c == call_id]
    steps = ["enqueued", "callback_requested", "caller_left_for_callback", "offered"]
    assert [k for k in kinds if k in steps] == steps
    assert kinds.index("offered") < kinds.index("callback_attempt") < kinds.index("answered")


async def test_an_unreached_customer_frees_the_agent_and_is_tried_again_then_given_up(
    rig: Rig,
) -> None:
    rig.arrive(FIRST, 1000.0)
    await rig.o.settle()
    await rig.leaves_for_callback(FIRST, 1010.0)
    await rig.o.set_agent_state(ALICE.agent_id, AgentState.READY)
    await rig.o.settle()
    for attempt_number in (1, 2):
        attempt = rig.pbx.last("originate_callback")
        leg = attempt["leg_id"]
        rig.o.handle(ev.AgentLegAnswered(PBX, leg, leg, ALICE.dial_string, 1020.0))
        rig.o.handle(ev.CustomerUnreached(PBX, leg, leg, "no_answer", 1050.0))
        rig.o.handle(ev.CallEnded(PBX, leg, None, 1050.0))
        await rig.o.settle()
        alice = rig.o.agent_view(ALICE.agent_id)
        assert alice.reason is None, "an unanswered customer is not the agent's miss"
        if attempt_number == 1:
            for _ in range(50):
                await asyncio.sleep(0.01)
                if len([n for n in rig.pbx.names() if n == "originate_callback"]) == 2:
                    break
            assert len([n for n in rig.pbx.names() if n == "originate_callback"]) == 2
    call_id = attempt["call_id"]
    assert rig.records.named("call_ended") == [(call_id, "callback_failed", None, None)]
    assert rig.o.wallboard().waiting == []
    assert rig.o.agent_view(ALICE.agent_id).state is AgentState.READY


async def test_a_callback_asked_while_an_agent_rings_cancels_that_offer_and_keeps_the_place(
    rig: Rig,
) -> None:
    await rig.o.set_agent_state(ALICE.agent_id, AgentState.READY)
    rig.arrive(FIRST, 1000.0)
    await rig.o.settle()
    leg = rig.pbx.last("originate")["leg_id"]
    await rig.leaves_for_callback(FIRST, 1003.0)
    assert rig.pbx.last("hangup_leg") == {"leg_id": leg}
    rig.o.handle(ev.AgentLegFailed(PBX, FIRST, leg, ALICE.dial_string, "canceled", 1003.5))
    await rig.o.settle()
    # Alice is free again (no penalty) and is offered the callback at once.
    assert rig.pbx.last("originate_callback")["agent_target"] == ALICE.dial_string


async def test_a_caller_transferred_back_into_a_queue_may_ask_for_a_callback_too(
    rig: Rig,
) -> None:
    await rig.o.set_agent_state(ALICE.agent_id, AgentState.READY)
    rig.arrive(FIRST, 1000.0)
    await rig.o.settle()
    leg = rig.pbx.last("originate")["leg_id"]
    rig.o.handle(ev.Bridged(PBX, FIRST, leg, ALICE.dial_string, 1002.0))
    call_id = rig.pbx.last("originate")["call_id"]
    # Alice goes on a break after this call (asked during it, applied after).
    await rig.o.set_agent_state(ALICE.agent_id, AgentState.NOT_READY, "break")
    await rig.o.transfer(
        call_id, ALICE.agent_id, TransferTarget("queue", queue="sales"), attended=False
    )
    await rig.leaves_for_callback(FIRST, 1010.0)
    assert [w.call_id for w in rig.o.wallboard().waiting] == [call_id]
    await rig.o.set_agent_state(BOB.agent_id, AgentState.READY)
    await rig.o.settle()
    assert rig.pbx.last("originate_callback")["agent_target"] == BOB.dial_string
