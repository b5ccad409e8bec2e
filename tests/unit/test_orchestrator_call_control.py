"""Agents' call control in the orchestrator: hold, transfers, conference, hang up
and wrap-up, driven by domain events with an in-memory PBX that logs what the
orchestrator asked of it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest
import pytest_asyncio

from agents import AgentProfile, AgentState
from callcenter.ami import events as ev
from callcenter.orchestration.orchestrator import Orchestrator
from callcenter.orchestration.ports import OfferNotPlaced
from callcenter.ports import CallControlError, TransferTarget
from routing import QueueRule, RoutingRules
from tests.unit.test_orchestrator import FakeNotifier, FakeRecords, fake_pop

PBX = "pbx1"
LINKEDID = "pbx1-1.0"
CALLER = f"Local/100@callcenter-inbound-{LINKEDID};2"
ALICE = AgentProfile(1, "agent01", "Alice Agent", "PJSIP/agent01", skills={"sales": 3})
BOB = AgentProfile(2, "agent02", "Bob Agent", "PJSIP/agent02", skills={"sales": 3})
CAROL = AgentProfile(3, "agent03", "Carol Agent", "PJSIP/agent03", skills={"support": 3})


@dataclass
class ControlDialer:
    """Every action in order, as (name, details); ``refuse`` makes the next
    call-control action fail as a PBX refusal would."""

    actions: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    refuse: set[str] = field(default_factory=set)

    def _do(self, name: str, **details: Any) -> None:
        if name in self.refuse:
            raise OfferNotPlaced(f"{name} refused")
        self.actions.append((name, details))

    async def originate_agent_leg(self, **kwargs: Any) -> None:
        self._do("originate", **kwargs)

    async def hangup_leg(self, leg_id: str) -> None:
        self._do("hangup_leg", leg_id=leg_id)

    async def send_caller(self, **kwargs: Any) -> None:
        self._do("send_caller", **kwargs)

    async def move_to_conference(self, **kwargs: Any) -> None:
        self._do("move", **kwargs)

    async def redirect_caller(self, **kwargs: Any) -> None:
        self._do(f"redirect:{kwargs['destination']}", **kwargs)

    async def originate_conference_leg(self, **kwargs: Any) -> None:
        self._do("originate_party", **kwargs)

    async def hangup_caller(self, **kwargs: Any) -> None:
        self._do("hangup_caller", **kwargs)

    async def originate_callback_leg(self, **kwargs: Any) -> None:
        self._do("originate_callback", **kwargs)

    def names(self) -> list[str]:
        return [name for name, _ in self.actions]

    def last(self, name: str) -> dict[str, Any]:
        return [details for n, details in self.actions if n == name][-1]


@dataclass
class Rig:
    o: Orchestrator
    pbx: ControlDialer
    records: FakeRecords
    notifier: FakeNotifier
    now: list[float]

    async def talking_call(self) -> tuple[str, str]:
        """Alice answers a sales call; returns (call id, Alice's leg)."""
        await self.o.set_agent_state(ALICE.agent_id, AgentState.READY)
        self.o.handle(arrive())
        await self.o.settle()
        offer = self.pbx.last("originate")
        leg = offer["leg_id"]
        self.o.handle(ev.AgentLegRinging(PBX, LINKEDID, leg, ALICE.dial_string, 1001.0))
        self.o.handle(ev.Bridged(PBX, LINKEDID, leg, ALICE.dial_string, 1002.0))
        await self.o.settle()
        assert self.o.agent_view(ALICE.agent_id).state is AgentState.ON_CALL
        return offer["call_id"], leg

    def state(self, agent: AgentProfile) -> AgentState:
        return self.o.agent_view(agent.agent_id).state

    async def caller_hangs_up(self, at: float) -> None:
        self.o.handle(ev.CallerHungUp(PBX, LINKEDID, "talking", at))
        self.o.handle(ev.CallEnded(PBX, LINKEDID, "caller", at))
        await self.o.settle()


def arrive() -> ev.CallArrived:
    return ev.CallArrived(
        PBX, LINKEDID, CALLER, "u1", "+14155550123", "Alice Martin", "sales", "", 1000.0
    )


@asynccontextmanager
async def control_rig(rules: RoutingRules) -> AsyncIterator[Rig]:
    """Alice, Bob and Carol under ``rules``, on one in-memory PBX."""
    pbx, records, notifier, now = ControlDialer(), FakeRecords(), FakeNotifier(), [1000.0]
    o = Orchestrator(
        agents=[ALICE, BOB, CAROL],
        rules=rules,
        dialers={PBX: pbx},
        records=records,
        pops=fake_pop,
        notifier=notifier,
        clock=lambda: now[0],
    )
    o.start()
    try:
        yield Rig(o, pbx, records, notifier, now)
    finally:
        await o.stop()


@pytest_asyncio.fixture
async def rig() -> AsyncIterator[Rig]:
    rules = RoutingRules(
        queues=[
            QueueRule(name="sales", skills={"sales": 1}, wrap_up_s=30),
            QueueRule(name="support", skills={"support": 1}, wrap_up_s=30),
        ]
    )
    async with control_rig(rules) as rig:
        yield rig


async def test_hold_moves_the_call_into_its_conference_once_and_resume_brings_the_caller_back(
    rig: Rig,
) -> None:
    call_id, leg = await rig.talking_call()
    rig.now[0] = 1010.0
    view = await rig.o.hold(call_id, ALICE.agent_id)
    assert view["on_hold"] and view["in_conference"]
    assert rig.pbx.names()[-2:] == ["move", "redirect:hold"]
    assert rig.pbx.last("move") == {
        "call_id": call_id,
        "caller_channel": CALLER,
        "agent_leg_id": leg,
    }
    with pytest.raises(CallControlError) as twice:
        await rig.o.hold(call_id, ALICE.agent_id)
    assert twice.value.reason == "wrong_phase"

    rig.now[0] = 1025.0
    view = await rig.o.resume(call_id, ALICE.agent_id)
    assert not view["on_hold"]
    rig.now[0] = 1030.0
    await rig.o.hold(call_id, ALICE.agent_id)
    assert rig.pbx.names().count("move") == 1, "a call moves into its conference only once"
    rig.now[0] = 1040.0
    await rig.o.resume(call_id, ALICE.agent_id)

    # In a conference the caller hanging up leaves the agent's leg to be hung up.
    await rig.caller_hangs_up(1050.0)
    assert ("hangup_leg", {"leg_id": leg}) in rig.pbx.actions
    [(left_leg, held)] = rig.records.named("leg_left")
    assert (left_leg, held) == (leg, 25.0), "15 s + 10 s on hold, credited to Alice's leg"
    assert [k for _, k, *_ in rig.records.named("call_event")][-1] == "ended"


async def test_only_the_agent_on_the_call_controls_it(rig: Rig) -> None:
    call_id, _ = await rig.talking_call()
    with pytest.raises(CallControlError) as other:
        await rig.o.hold(call_id, BOB.agent_id)
    assert other.value.reason == "not_your_call"
    with pytest.raises(CallControlError) as unknown:
        await rig.o.hold("nope", ALICE.agent_id)
    assert unknown.value.reason == "no_such_call"
    assert "move" not in rig.pbx.names()


async def test_blind_transfer_to_a_queue_keeps_the_callers_place_and_credits_each_agent(
    rig: Rig,
) -> None:
    call_id, alice_leg = await rig.talking_call()
    await rig.o.set_agent_state(CAROL.agent_id, AgentState.READY)
    rig.now[0] = 1020.0
    await rig.o.transfer(
        call_id,
        ALICE.agent_id,
        TransferTarget("queue", queue="support"),
        attended=False,
        note="billing question",
    )
    await rig.o.settle()
    assert rig.pbx.last("redirect:wait")["caller_channel"] == CALLER
    assert rig.state(ALICE) is AgentState.WRAP_UP
    offer = rig.pbx.last("originate")
    assert offer["agent_target"] == CAROL.dial_string
    carol_leg = offer["leg_id"]
    assert carol_leg != alice_leg
    # Through Bridge() Asterisk hangs Alice up (capture 08): nothing to send.
    assert "hangup_leg" not in rig.pbx.names()

    rig.o.handle(ev.AgentLegRinging(PBX, LINKEDID, carol_leg, CAROL.dial_string, 1021.0))
    await rig.o.settle()
    [pop] = [m for a, m in rig.notifier.of_type("pop") if a == CAROL.agent_id]
    assert pop["pop"]["transfer"] == {"from": "Alice Agent", "note": "billing question"}
    # Alice's own leg ending now changes nothing.
    rig.o.handle(ev.AgentHungUp(PBX, LINKEDID, alice_leg, ALICE.dial_string, 1021.0))
    rig.o.handle(ev.Bridged(PBX, LINKEDID, carol_leg, CAROL.dial_string, 1023.0))
    await rig.o.settle()
    assert rig.state(CAROL) is AgentState.ON_CALL
    assert rig.state(ALICE) is AgentState.WRAP_UP
    await rig.caller_hangs_up(1060.0)
    assert rig.records.named("call_answered") == [(call_id, 1, ALICE.dial_string)]
    assert rig.records.named("leg_connected") == [(alice_leg,), (carol_leg,)]
    assert [leg for leg, _ in rig.records.named("leg_left")] == [alice_leg, carol_leg]
    assert rig.records.named("call_ended") == [(call_id, "answered", None, "caller")]


async def test_blind_transfer_to_an_agent_reserves_them_first_and_falls_back_to_the_queue(
    rig: Rig,
) -> None:
    call_id, _ = await rig.talking_call()
    await rig.o.set_agent_state(BOB.agent_id, AgentState.READY)
    await rig.o.transfer(
        call_id, ALICE.agent_id, TransferTarget("agent", agent_id=BOB.agent_id), attended=False
    )
    await rig.o.settle()
    bob_leg = rig.pbx.last("originate")["leg_id"]
    assert rig.pbx.last("originate")["agent_target"] == BOB.dial_string
    assert rig.records.named("leg_added")[-1][1:] == (
        bob_leg,
        BOB.agent_id,
        BOB.dial_string,
        "transfer",
    )
    assert rig.state(BOB) is AgentState.RESERVED
    # Bob does not answer: the call waits in its queue, offered to the next one.
    rig.o.handle(ev.AgentLegFailed(PBX, LINKEDID, bob_leg, BOB.dial_string, "no_answer", 1030.0))
    await rig.o.settle()
    assert rig.o.wallboard().waiting[0].call_id == call_id
    await rig.o.wrap_up_done(ALICE.agent_id, "", "")
    await rig.o.settle()
    assert rig.pbx.last("originate")["agent_target"] == ALICE.dial_string


async def test_a_transfer_to_a_busy_agent_or_a_missing_queue_is_refused_untouched(
    rig: Rig,
) -> None:
    call_id, _ = await rig.talking_call()
    before = list(rig.pbx.actions)
    with pytest.raises(CallControlError) as busy:
        await rig.o.transfer(
            call_id, ALICE.agent_id, TransferTarget("agent", agent_id=BOB.agent_id), attended=False
        )
    assert busy.value.reason == "target_busy"
    with pytest.raises(CallControlError) as missing:
        await rig.o.transfer(
            call_id, ALICE.agent_id, TransferTarget("queue", queue="nowhere"), attended=False
        )
    assert missing.value.reason == "bad_target"
    with pytest.raises(CallControlError) as own:
        await rig.o.transfer(
            call_id, ALICE.agent_id, TransferTarget("agent", agent_id=1), attended=True
        )
    assert own.value.reason == "bad_target"
    assert rig.pbx.actions == before
    assert rig.state(ALICE) is AgentState.ON_CALL


async def test_a_refused_redirect_frees_the_reserved_colleague_and_keeps_the_call(
    rig: Rig,
) -> None:
    call_id, _ = await rig.talking_call()
    await rig.o.set_agent_state(BOB.agent_id, AgentState.READY)
    rig.pbx.refuse.add("redirect:wait")
    with pytest.raises(CallControlError) as refused:
        await rig.o.transfer(
            call_id, ALICE.agent_id, TransferTarget("agent", agent_id=BOB.agent_id), attended=False
        )
    assert refused.value.reason == "pbx_refused"
    assert rig.state(BOB) is AgentState.READY
    assert rig.state(ALICE) is AgentState.ON_CALL
    # and the call can still be controlled
    await rig.o.hold(call_id, ALICE.agent_id)


async def test_blind_transfer_to_a_number_ends_the_agents_part_and_the_call_stays_answered(
    rig: Rig,
) -> None:
    call_id, _ = await rig.talking_call()
    await rig.o.transfer(
        call_id, ALICE.agent_id, TransferTarget("number", number="+33142685300"), attended=False
    )
    out = rig.pbx.last("redirect:outbound")
    assert (out["caller_channel"], out["number"]) == (CALLER, "+33142685300")
    assert rig.state(ALICE) is AgentState.WRAP_UP
    assert rig.o.wallboard().waiting == []
    await rig.caller_hangs_up(1100.0)
    [added] = rig.records.named("leg_added")
    assert added[2:] == (None, "+33142685300", "transfer")
    assert rig.records.named("call_ended") == [(call_id, "answered", None, "caller")]


async def test_attended_transfer_consults_with_the_caller_on_hold_then_hands_over(
    rig: Rig,
) -> None:
    call_id, alice_leg = await rig.talking_call()
    await rig.o.set_agent_state(BOB.agent_id, AgentState.READY)
    rig.now[0] = 1010.0
    view = await rig.o.transfer(
        call_id,
        ALICE.agent_id,
        TransferTarget("agent", agent_id=BOB.agent_id),
        attended=True,
        note="VIP",
    )
    assert view["on_hold"] and view["party"]["status"] == "ringing"
    assert rig.pbx.names()[-3:] == ["move", "redirect:hold", "originate_party"]
    party = rig.pbx.last("originate_party")
    assert party["target"] == BOB.dial_string and party["caller_channel"] == CALLER
    bob_leg = party["leg_id"]
    with pytest.raises(CallControlError) as early:
        await rig.o.complete_transfer(call_id, ALICE.agent_id)
    assert early.value.reason == "wrong_phase"

    rig.o.handle(ev.AgentLegRinging(PBX, LINKEDID, bob_leg, BOB.dial_string, 1011.0))
    rig.o.handle(ev.AgentLegAnswered(PBX, LINKEDID, bob_leg, BOB.dial_string, 1013.0))
    await rig.o.settle()
    assert rig.state(BOB) is AgentState.ON_CALL
    bob_pop = [m for a, m in rig.notifier.of_type("pop") if a == BOB.agent_id]
    assert bob_pop and bob_pop[0]["pop"]["transfer"]["note"] == "VIP"

    rig.now[0] = 1020.0
    view = await rig.o.complete_transfer(call_id, ALICE.agent_id)
    await rig.o.settle()
    assert view["agent_id"] == BOB.agent_id and not view["on_hold"]
    assert rig.pbx.names()[-2:] == ["redirect:conference", "hangup_leg"]
    assert rig.pbx.last("hangup_leg") == {"leg_id": alice_leg}
    assert rig.state(ALICE) is AgentState.WRAP_UP
    # Bob now has the call's controls; Alice has none.
    with pytest.raises(CallControlError):
        await rig.o.hold(call_id, ALICE.agent_id)
    await rig.o.hold(call_id, BOB.agent_id)
    await rig.o.resume(call_id, BOB.agent_id)

    # Bob hangs up in the conference: the caller, alone there, is hung up.
    rig.o.handle(ev.AgentHungUp(PBX, LINKEDID, bob_leg, BOB.dial_string, 1040.0))
    await rig.o.settle()
    assert rig.pbx.last("hangup_caller") == {"caller_channel": CALLER}
    assert rig.state(BOB) is AgentState.WRAP_UP
    await rig.caller_hangs_up(1040.5)
    legs = dict(rig.records.named("leg_left"))
    assert set(legs) == {alice_leg, bob_leg}
    assert legs[alice_leg] == pytest.approx(10.0), "the consultation's hold is Alice's"


async def test_agent_hanging_up_during_a_consultation_hands_the_call_over(rig: Rig) -> None:
    call_id, alice_leg = await rig.talking_call()
    await rig.o.set_agent_state(BOB.agent_id, AgentState.READY)
    await rig.o.transfer(
        call_id, ALICE.agent_id, TransferTarget("agent", agent_id=BOB.agent_id), attended=True
    )
    bob_leg = rig.pbx.last("originate_party")["leg_id"]
    rig.o.handle(ev.AgentLegAnswered(PBX, LINKEDID, bob_leg, BOB.dial_string, 1013.0))
    rig.o.handle(ev.AgentHungUp(PBX, LINKEDID, alice_leg, ALICE.dial_string, 1015.0))
    await rig.o.settle()
    assert rig.pbx.names()[-1] == "redirect:conference", "the held caller comes back to Bob"
    assert rig.o.call_control_view(rig.o._calls[call_id])["agent_id"] == BOB.agent_id
    assert rig.state(ALICE) is AgentState.WRAP_UP


async def test_agent_hanging_up_with_the_caller_on_hold_puts_the_caller_back_in_line(
    rig: Rig,
) -> None:
    call_id, alice_leg = await rig.talking_call()
    await rig.o.hold(call_id, ALICE.agent_id)
    rig.o.handle(ev.AgentHungUp(PBX, LINKEDID, alice_leg, ALICE.dial_string, 1015.0))
    await rig.o.settle()
    [waiting] = rig.o.wallboard().waiting
    assert waiting.call_id == call_id and waiting.enqueued_at == 1000.0
    assert "hangup_caller" not in rig.pbx.names()
    await rig.o.set_agent_state(BOB.agent_id, AgentState.READY)
    await rig.o.settle()
    assert rig.pbx.last("originate")["agent_target"] == BOB.dial_string


async def test_conference_keeps_the_caller_on_the_line_and_cancel_frees_the_party(
    rig: Rig,
) -> None:
    call_id, _ = await rig.talking_call()
    view = await rig.o.conference(
        call_id, ALICE.agent_id, TransferTarget("number", number="+14155550199")
    )
    assert not view["on_hold"]
    assert "redirect:hold" not in rig.pbx.names()
    party = rig.pbx.last("originate_party")
    assert party["target"] == "Local/+14155550199@callcenter-outbound"
    view = await rig.o.cancel_party(call_id, ALICE.agent_id)
    await rig.o.settle()
    assert view["party"] is None
    assert rig.pbx.last("hangup_leg") == {"leg_id": party["leg_id"]}
    assert rig.records.named("offer_result")[-1] == (party["leg_id"], "canceled")


async def test_a_consulted_agent_who_does_not_answer_is_freed_and_the_agent_keeps_the_call(
    rig: Rig,
) -> None:
    call_id, _ = await rig.talking_call()
    await rig.o.set_agent_state(BOB.agent_id, AgentState.READY)
    await rig.o.transfer(
        call_id, ALICE.agent_id, TransferTarget("agent", agent_id=BOB.agent_id), attended=True
    )
    bob_leg = rig.pbx.last("originate_party")["leg_id"]
    rig.o.handle(ev.AgentLegFailed(PBX, LINKEDID, bob_leg, BOB.dial_string, "no_answer", 1030.0))
    await rig.o.settle()
    assert rig.state(BOB) is AgentState.READY
    view = await rig.o.resume(call_id, ALICE.agent_id)
    assert view["party"] is None and not view["on_hold"]


async def test_hang_up_through_bridge_hangs_up_the_agents_leg_and_the_record_says_agent(
    rig: Rig,
) -> None:
    call_id, leg = await rig.talking_call()
    await rig.o.hang_up(call_id, ALICE.agent_id)
    assert rig.pbx.last("hangup_leg") == {"leg_id": leg}
    rig.o.handle(ev.AgentHungUp(PBX, LINKEDID, leg, ALICE.dial_string, 1030.0))
    await rig.caller_hangs_up(1030.1)
    assert rig.records.named("call_ended") == [(call_id, "answered", None, "agent")]


async def test_wrap_up_done_saves_the_disposition_and_makes_the_agent_ready(rig: Rig) -> None:
    call_id, _ = await rig.talking_call()
    with pytest.raises(CallControlError):
        await rig.o.wrap_up_done(BOB.agent_id, "sale", "")
    await rig.caller_hangs_up(1030.0)
    assert rig.state(ALICE) is AgentState.WRAP_UP
    view = await rig.o.wrap_up_done(ALICE.agent_id, "sale", "wants a quote")
    await rig.o.settle()
    assert view.state is AgentState.READY
    assert rig.records.named("call_wrapped_up") == [(call_id, "sale", "wants a quote")]


async def test_leg_ids_differ_between_two_runs_of_the_service(rig: Rig) -> None:
    _, leg = await rig.talking_call()
    other = Orchestrator(
        agents=[ALICE],
        rules=RoutingRules(queues=[QueueRule(name="sales", skills={"sales": 1})]),
        dialers={PBX: ControlDialer()},
        records=FakeRecords(),
        pops=fake_pop,
        notifier=FakeNotifier(),
    )
    assert other._new_leg_id("agentleg", rig.o._calls[leg.split("-")[1]]) != leg


async def test_the_agent_names_the_caller_and_the_pop_and_the_record_follow(rig: Rig) -> None:
    call_id, _ = await rig.talking_call()
    with pytest.raises(CallControlError) as refused:
        rig.o.caller_on_screen(BOB.agent_id, call_id)
    assert refused.value.reason == "not_your_call"
    shown = rig.o.caller_on_screen(ALICE.agent_id, call_id)
    assert shown["customer"] == {"name": "Alice"}

    named = {**shown, "customer": {"id": 77, "name": "Ana Berg"}}
    rig.o.show_identified_caller(ALICE.agent_id, call_id, named)
    await rig.o.settle()

    assert rig.records.named("call_identified") == [(call_id, 77)]
    assert rig.notifier.of_type("pop")[-1][1]["pop"]["customer"]["name"] == "Ana Berg"
    # A page reopened now shows the named customer.
    current = rig.o.current_pop(ALICE.agent_id)
    assert current is not None and current["customer"]["id"] == 77


async def test_the_caller_can_still_be_named_in_wrap_up_and_then_no_longer(rig: Rig) -> None:
    call_id, _ = await rig.talking_call()
    await rig.caller_hangs_up(1030.0)
    assert rig.state(ALICE) is AgentState.WRAP_UP
    prompt = rig.notifier.of_type("wrap_up")[-1]
    assert prompt == (ALICE.agent_id, {"type": "wrap_up", "call_id": call_id, "until": 1030.0 + 30})

    shown = rig.o.caller_on_screen(ALICE.agent_id, call_id)
    rig.o.show_identified_caller(ALICE.agent_id, call_id, {**shown, "customer": {"id": 5}})
    await rig.o.settle()
    assert rig.records.named("call_identified") == [(call_id, 5)]

    await rig.o.wrap_up_done(ALICE.agent_id, "sale", "")
    with pytest.raises(CallControlError):
        rig.o.caller_on_screen(ALICE.agent_id, call_id)
