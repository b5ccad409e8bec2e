"""Offers to outside numbers over real TCP: the simulator plays callcenter-connect's
"press 1 to accept" and a congested trunk, a PbxLink turns what it sends into
domain events. A phone that presses 1 is bridged; a voicemail that picks up is
hung up by the dialplan and the offer fails ``unconfirmed`` while the caller
still waits; a congested trunk fails ``congestion``."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field

import pytest_asyncio

from callcenter.ami import events as ev
from callcenter.ami.message import Message
from callcenter.pbx_link import PbxLink
from callcenter.pbxsim import PbxSimulator, PhoneBehaviour
from callcenter.pbxsim.probe import AmiProbe
from callcenter.settings import PbxSettings

SECRET = "callcenter-secret"
PERSON = "PJSIP/+493012345678@outbound-trunk"
VOICEMAIL = "PJSIP/+493087654321@outbound-trunk"
CONGESTED = "PJSIP/+493011111111@outbound-trunk"
#: each of Read()'s two tries; short, so a voicemail is hung up within a second
READ_TRY_S = 0.25


@dataclass
class Rig:
    sim: PbxSimulator
    link: PbxLink
    ami: AmiProbe
    seen: list[ev.DomainEvent] = field(default_factory=list)
    _legs: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    async def wait_for(
        self, wanted: Callable[[ev.DomainEvent], bool], timeout_s: float = 5.0
    ) -> ev.DomainEvent:
        async with asyncio.timeout(timeout_s):
            while True:
                for event in self.seen:
                    if wanted(event):
                        return event
                await asyncio.sleep(0.01)

    async def caller(self) -> ev.CallArrived:
        linkedid = self.sim.place_call(
            queue="sales", caller_number="+14155550123", patience_s=60, talk_s=30
        )
        arrived = await self.wait_for(
            lambda e: isinstance(e, ev.CallArrived) and e.linkedid == linkedid
        )
        assert isinstance(arrived, ev.CallArrived)
        return arrived

    async def offer(self, call: ev.CallArrived, target: str, *, confirm: bool) -> str:
        leg_id = f"agentleg-c1-{next(self._legs)}"
        await self.link.originate_agent_leg(
            leg_id=leg_id,
            call_id="c1",
            linkedid=call.linkedid,
            agent_target=target,
            caller_channel=call.caller_channel,
            ring_timeout_s=10,
            caller_id_number=call.caller_number,
            caller_id_name=call.caller_name,
            confirm=confirm,
        )
        return leg_id

    async def outcome(self, leg_id: str) -> ev.DomainEvent:
        """How the offer ended: Bridged, or AgentLegFailed."""
        return await self.wait_for(
            lambda e: isinstance(e, ev.Bridged | ev.AgentLegFailed) and e.leg_id == leg_id
        )

    def applications(self, leg_id: str) -> list[str]:
        """The dialplan steps the leg's own channel ran, as Newexten shows them."""
        return [
            m["Application"] or ""
            for m in self.ami.events("Newexten")
            if m.get("Uniqueid") == leg_id
        ]


@pytest_asyncio.fixture
async def rig() -> AsyncIterator[Rig]:
    sim = PbxSimulator(
        users={"callcenter": SECRET}, dids={"100": "sales"}, confirm_timeout_s=READ_TRY_S
    )
    sim.add_phone(PERSON, PhoneBehaviour(answer_after_s=0.05, presses_1_after_s=0.1))
    sim.add_phone(VOICEMAIL, PhoneBehaviour(answer_after_s=0.05, presses_1_after_s=None))
    sim.add_phone(CONGESTED, PhoneBehaviour(congestion=True))
    await sim.start()
    link = PbxLink(PbxSettings(name="pbx1", port=sim.port, ping_interval_s=1.0))
    ami = await AmiProbe.connect("127.0.0.1", sim.port)
    await ami.login("callcenter", SECRET)
    rig = Rig(sim, link, ami)
    await link.start(rig.seen.append)
    await link.wait_in_step(5)
    try:
        yield rig
    finally:
        await ami.close()
        await link.stop()
        await sim.stop()


def _is_frame(name: str, leg_id: str) -> Callable[[Message], bool]:
    return lambda m: m.event == name and m.get("Uniqueid") == leg_id


async def test_a_person_who_presses_1_is_bridged_to_the_caller(rig: Rig) -> None:
    call = await rig.caller()
    leg_id = await rig.offer(call, PERSON, confirm=True)
    outcome = await rig.outcome(leg_id)
    assert outcome == ev.Bridged("pbx1", call.linkedid, leg_id, PERSON, outcome.at)
    steps = rig.applications(leg_id)
    assert steps[steps.index("Read") :][:3] == ["Read", "GotoIf", "ExecIf"]
    assert "Bridge" in steps and "Hangup" not in steps
    pressed = await rig.ami.wait_for(_is_frame("DTMFEnd", leg_id))
    assert pressed["Digit"] == "1"
    # Answered before the prompt: its Success came once, before the bridge.
    responses = [m for m in rig.ami.events("OriginateResponse") if m["Uniqueid"] == leg_id]
    assert [(m["Response"], m["Reason"]) for m in responses] == [("Success", "4")]
    # The channel is named after the trunk's endpoint, as chan_pjsip names it.
    newchannel = await rig.ami.wait_for(_is_frame("Newchannel", leg_id))
    assert newchannel["Channel"].startswith("PJSIP/outbound-trunk-")  # type: ignore[union-attr]


async def test_a_voicemail_that_picks_up_fails_unconfirmed_and_the_caller_waits_on(
    rig: Rig,
) -> None:
    call = await rig.caller()
    leg_id = await rig.offer(call, VOICEMAIL, confirm=True)
    answered = await rig.wait_for(
        lambda e: isinstance(e, ev.AgentLegAnswered) and e.leg_id == leg_id
    )
    outcome = await rig.outcome(leg_id)
    assert outcome == ev.AgentLegFailed(
        "pbx1", call.linkedid, leg_id, VOICEMAIL, "unconfirmed", outcome.at
    )
    assert outcome.at - answered.at >= 2 * READ_TRY_S * 0.9, "after both tries, not before"
    assert rig.applications(leg_id)[-3:] == ["Read", "GotoIf", "Hangup"]
    hangup = await rig.ami.wait_for(_is_frame("Hangup", leg_id))
    assert hangup["Cause"] == "16"
    assert not any(isinstance(e, ev.CallerHungUp | ev.CallEnded) for e in rig.seen)
    assert rig.link.tracker.live_calls == [call.linkedid]
    assert rig.sim.active_calls() == 1
    # The caller really is still there: the next offer reaches them.
    again = await rig.offer(call, PERSON, confirm=True)
    assert isinstance(await rig.outcome(again), ev.Bridged)


async def test_without_confirmation_a_voicemail_is_taken_for_the_agent(rig: Rig) -> None:
    """Why confirmation exists: the same voicemail, not asked, is bridged."""
    call = await rig.caller()
    leg_id = await rig.offer(call, VOICEMAIL, confirm=False)
    assert isinstance(await rig.outcome(leg_id), ev.Bridged)
    assert "Read" not in rig.applications(leg_id)


async def test_a_congested_trunk_fails_congestion_and_the_caller_waits_on(rig: Rig) -> None:
    call = await rig.caller()
    leg_id = await rig.offer(call, CONGESTED, confirm=True)
    outcome = await rig.outcome(leg_id)
    assert outcome == ev.AgentLegFailed(
        "pbx1", call.linkedid, leg_id, CONGESTED, "congestion", outcome.at
    )
    response = await rig.ami.wait_for(_is_frame("OriginateResponse", leg_id))
    assert (response["Response"], response["Reason"]) == ("Failure", "8")
    hangup = await rig.ami.wait_for(_is_frame("Hangup", leg_id))
    assert hangup["Cause"] == "34"
    assert rig.link.tracker.live_calls == [call.linkedid]
    assert rig.sim.active_calls() == 1


async def test_a_caller_who_leaves_during_the_prompt_cancels_the_offer(rig: Rig) -> None:
    call = await rig.caller()
    leg_id = await rig.offer(call, VOICEMAIL, confirm=True)
    await rig.wait_for(lambda e: isinstance(e, ev.AgentLegAnswered) and e.leg_id == leg_id)
    rig.sim.hangup_caller(call.linkedid)
    hung_up = await rig.wait_for(lambda e: isinstance(e, ev.CallerHungUp))
    assert isinstance(hung_up, ev.CallerHungUp) and hung_up.phase == "ringing"
    await rig.link.hangup_leg(leg_id)  # what the orchestrator does for a ringing offer
    outcome = await rig.outcome(leg_id)
    assert isinstance(outcome, ev.AgentLegFailed) and outcome.reason == "canceled"
    await rig.wait_for(lambda e: isinstance(e, ev.CallEnded))
