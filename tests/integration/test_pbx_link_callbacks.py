"""Callbacks through the PBX link, over real TCP against the simulator: a waiting
caller presses 1 and leaves, and later a callback attempt rings the agent, then
dials the customer -- who answers, does not, or is busy. The domain events are
what the orchestrator acts on; a probe watches what the simulated Asterisk says
where the wire itself is the point (the UserEvent's headers)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest
import pytest_asyncio

from callcenter.ami import events as ev
from callcenter.orchestration.ports import OfferNotPlaced
from callcenter.pbx_link import PbxLink
from callcenter.pbxsim import PbxSimulator, PhoneBehaviour
from callcenter.pbxsim.probe import AmiProbe
from callcenter.settings import PbxSettings

USER, SECRET = "callcenter", "callcenter-secret"
AGENT, SLEEPY = "Local/1001@agent-sim", "Local/2001@agent-sim"
CUSTOMER = "+14155550123"
#: what the simulated callback-out's Dial rings a customer for (30 s on Asterisk)
RING_S = 0.4


@dataclass
class Rig:
    sim: PbxSimulator
    link: PbxLink
    probe: AmiProbe
    seen: list[ev.DomainEvent]

    async def until(self, kind: type[ev.DomainEvent], linkedid: str) -> ev.DomainEvent:
        async with asyncio.timeout(5):
            while True:
                for found in self.seen:
                    if isinstance(found, kind) and found.linkedid == linkedid:  # type: ignore[attr-defined]
                        return found
                await asyncio.sleep(0.01)

    def of(self, linkedid: str) -> list[ev.DomainEvent]:
        return [e for e in self.seen if getattr(e, "linkedid", None) == linkedid]

    def kinds(self, linkedid: str) -> list[str]:
        return [type(e).__name__ for e in self.of(linkedid)]

    async def attempt(self, leg_id: str, *, agent: str = AGENT) -> None:
        await self.link.originate_callback_leg(
            leg_id=leg_id,
            call_id="c0042",
            agent_target=agent,
            number=CUSTOMER,
            ring_timeout_s=1,
            caller_id_name="Alice Martin",
        )

    async def quiet(self, leg_id: str, s: float = 0.3) -> None:
        """Nothing more is said about ``leg_id`` for a while (stragglers)."""
        count = len(self.of(leg_id))
        await asyncio.sleep(s)
        assert len(self.of(leg_id)) == count


@pytest_asyncio.fixture
async def rig() -> AsyncIterator[Rig]:
    sim = PbxSimulator(users={USER: SECRET}, seed=42, callback_ring_s=RING_S, callback_talk_s=0.3)
    sim.add_phone(AGENT, PhoneBehaviour(answer_after_s=0.05))
    sim.add_phone(SLEEPY, PhoneBehaviour(answer_after_s=None))
    sim.set_number_behaviour(CUSTOMER, PhoneBehaviour(answer_after_s=0.1, hangup_after_s=0.3))
    await sim.start()
    link = PbxLink(PbxSettings(name="pbx1", port=sim.port), backoff_initial_s=0.05)
    seen: list[ev.DomainEvent] = []
    probe = await AmiProbe.connect("127.0.0.1", sim.port)
    await probe.login(USER, SECRET)
    try:
        await link.start(seen.append)
        await link.wait_in_step(5)
        yield Rig(sim, link, probe, seen)
    finally:
        await probe.close()
        await link.stop()
        await sim.stop()


async def test_a_waiting_caller_presses_1_for_a_callback_and_hangs_up(rig: Rig) -> None:
    linkedid = rig.sim.place_call(queue="sales", caller_number=CUSTOMER, caller_name="Alice")
    await rig.until(ev.CallArrived, linkedid)
    assert rig.sim.request_callback(linkedid)
    await rig.until(ev.CallEnded, linkedid)
    assert rig.kinds(linkedid) == ["CallArrived", "CallbackRequested", "CallerHungUp", "CallEnded"]
    _, asked, hung_up, _ = rig.of(linkedid)
    assert isinstance(asked, ev.CallbackRequested) and asked.number == CUSTOMER
    assert isinstance(hung_up, ev.CallerHungUp) and hung_up.phase == "waiting"
    user_event = await rig.probe.wait_for(
        lambda m: m.event == "UserEvent" and m.get("UserEvent") == "CallCenterCallback"
    )
    assert (user_event["Queue"], user_event["Number"]) == ("sales", CUSTOMER)
    assert user_event["Context"] == "callcenter-callback"
    assert rig.sim.active_calls() == 0


async def test_a_caller_may_press_1_by_itself_after_a_while(rig: Rig) -> None:
    linkedid = rig.sim.place_call(queue="sales", caller_number=CUSTOMER, callback_after_s=0.1)
    await rig.until(ev.CallEnded, linkedid)
    assert "CallbackRequested" in rig.kinds(linkedid)


async def test_a_caller_sent_to_the_callback_prompt_raises_the_request_too(rig: Rig) -> None:
    linkedid = rig.sim.place_call(queue="sales", caller_number=CUSTOMER)
    arrived = await rig.until(ev.CallArrived, linkedid)
    assert isinstance(arrived, ev.CallArrived)
    await rig.link.send_caller(
        caller_channel=arrived.caller_channel, destination="callback", queue="sales"
    )
    await rig.until(ev.CallEnded, linkedid)
    assert rig.kinds(linkedid)[1] == "CallbackRequested"


async def test_an_answered_callback_rings_the_agent_then_bridges_the_customer(rig: Rig) -> None:
    leg = "agentleg-c0042-ab12-1"
    await rig.attempt(leg)
    ended = await rig.until(ev.CallEnded, leg)
    await rig.quiet(leg)
    assert rig.kinds(leg) == [
        "AgentLegRinging",
        "AgentLegAnswered",
        "Bridged",
        "CallerHungUp",
        "CallEnded",
        "AgentHungUp",
    ]
    assert {getattr(e, "leg_id", leg) for e in rig.of(leg)} == {leg}
    assert isinstance(ended, ev.CallEnded) and ended.ended_by == "caller"
    assert rig.link.tracker.live_calls == []


async def test_the_agent_may_end_the_callback_first(rig: Rig) -> None:
    rig.sim.set_phone_behaviour(AGENT, PhoneBehaviour(answer_after_s=0.05, hangup_after_s=0.1))
    rig.sim.set_number_behaviour(CUSTOMER, PhoneBehaviour(answer_after_s=0.05, hangup_after_s=5))
    leg = "agentleg-c0042-ab12-2"
    await rig.attempt(leg)
    ended = await rig.until(ev.CallEnded, leg)
    assert isinstance(ended, ev.CallEnded) and ended.ended_by == "agent"


@pytest.mark.parametrize(
    ("customer", "reason"),
    [
        (PhoneBehaviour(answer_after_s=None), "no_answer"),
        (PhoneBehaviour(busy=True), "busy"),
        (PhoneBehaviour(congestion=True), "congestion"),
        (PhoneBehaviour(registered=False), "unavailable"),
    ],
)
async def test_a_customer_not_reached_frees_the_attempt_without_failing_an_offer(
    rig: Rig, customer: PhoneBehaviour, reason: str
) -> None:
    rig.sim.set_number_behaviour(CUSTOMER, customer)
    leg = f"agentleg-c0042-ab12-{reason}"
    await rig.attempt(leg)
    ended = await rig.until(ev.CallEnded, leg)
    await rig.quiet(leg)
    assert rig.kinds(leg) == [
        "AgentLegRinging",
        "AgentLegAnswered",
        "CustomerUnreached",
        "CallEnded",
    ]
    (missed,) = [e for e in rig.of(leg) if isinstance(e, ev.CustomerUnreached)]
    assert (missed.leg_id, missed.reason) == (leg, reason)
    assert isinstance(ended, ev.CallEnded) and ended.ended_by is None
    assert rig.link.tracker.live_calls == []


async def test_an_agent_who_does_not_answer_fails_the_attempt_as_an_offer(rig: Rig) -> None:
    leg = "agentleg-c0042-ab12-9"
    await rig.attempt(leg, agent=SLEEPY)
    failed = await rig.until(ev.AgentLegFailed, leg)
    await rig.quiet(leg)
    assert rig.kinds(leg) == ["AgentLegRinging", "AgentLegFailed"]
    assert isinstance(failed, ev.AgentLegFailed) and failed.reason == "no_answer"
    assert not rig.probe.events("DialBegin") or all(
        m.get("Uniqueid") != leg for m in rig.probe.events("DialBegin")
    ), "no customer was dialed"


@pytest.mark.parametrize("number", ["0800CALLME", "+1415\r\nApplication: System", "12"])
async def test_a_number_that_is_not_one_is_never_dialed(rig: Rig, number: str) -> None:
    with pytest.raises(OfferNotPlaced):
        await rig.link.originate_callback_leg(
            leg_id="agentleg-c0042-ab12-7",
            call_id="c0042",
            agent_target=AGENT,
            number=number,
            ring_timeout_s=1,
            caller_id_name="Alice Martin",
        )
    await asyncio.sleep(0.1)
    assert rig.probe.events("OriginateResponse") == []
