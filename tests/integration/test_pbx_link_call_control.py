"""Agents' call control through the PBX link, over real TCP against the simulator:
a call talking through ``Bridge()`` is moved into its conference without dropping
anyone, held and resumed, handed to a consulted agent, transferred out to an
outside number, and hung up -- and the domain events say exactly that.

A second AMI connection (a probe) watches what the simulated Asterisk does, where
the domain events by design say nothing (a move, a hold)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass

import pytest
import pytest_asyncio

from callcenter.ami import events as ev
from callcenter.ami.message import Message
from callcenter.orchestration.ports import OfferNotPlaced
from callcenter.pbx_link import PbxLink
from callcenter.pbxsim import PbxSimulator, PhoneBehaviour
from callcenter.pbxsim.probe import AmiProbe
from callcenter.settings import PbxSettings

USER, SECRET = "callcenter", "callcenter-secret"
FIRST, SECOND = "Local/1001@agent-sim", "Local/1002@agent-sim"
CALL_ID = "c7"
LEG_1, LEG_2 = f"agentleg-{CALL_ID}-1", f"agentleg-{CALL_ID}-2"
OUTSIDE_NUMBER = "+442071234567"


@dataclass
class Rig:
    sim: PbxSimulator
    link: PbxLink
    probe: AmiProbe
    seen: list[ev.DomainEvent]

    async def event(
        self, kind: type[ev.DomainEvent], *, leg_id: str | None = None, timeout_s: float = 5.0
    ) -> ev.DomainEvent:
        async with asyncio.timeout(timeout_s):
            while True:
                for found in self.seen:
                    if isinstance(found, kind) and getattr(found, "leg_id", leg_id) == leg_id:
                        return found
                await asyncio.sleep(0.01)

    def kinds(self, since: int) -> list[str]:
        return [type(e).__name__ for e in self.seen[since:]]

    def legs(self, since: int) -> list[tuple[str, str]]:
        """(event, leg) of the events since ``since`` that name a leg or end the call."""
        return [
            (type(e).__name__, getattr(e, "leg_id", ""))
            for e in self.seen[since:]
            if not isinstance(e, (ev.LinkResynced, ev.LinkDown, ev.PhoneReachability))
        ]

    async def answered_call(self, *, talk_s: float = 60.0) -> ev.CallArrived:
        """A caller in the queue, offered to the first agent, talking through Bridge()."""
        self.sim.place_call(queue="sales", caller_number="+3512100000", talk_s=talk_s)
        arrived = await self.event(ev.CallArrived)
        assert isinstance(arrived, ev.CallArrived)
        await self.link.originate_agent_leg(
            leg_id=LEG_1,
            call_id=CALL_ID,
            linkedid=arrived.linkedid,
            agent_target=FIRST,
            caller_channel=arrived.caller_channel,
            ring_timeout_s=5,
            caller_id_number=arrived.caller_number,
            caller_id_name="CC c7",
        )
        await self.event(ev.Bridged, leg_id=LEG_1)
        return arrived

    async def watch(self, predicate: Callable[[Message], bool], since: int = 0) -> Message:
        return await self.probe.wait_for(predicate, start=since)


def joined(channel_or_leg: str) -> Callable[[Message], bool]:
    """The ConfbridgeJoin of a channel (by name) or an agent leg (by Uniqueid)."""
    return lambda m: (
        m.event == "ConfbridgeJoin"
        and channel_or_leg
        in (
            m.get("Channel"),
            m.get("Uniqueid"),
        )
    )


def entered(channel: str) -> Callable[[Message], bool]:
    return lambda m: m.event == "BridgeEnter" and m["Channel"] == channel


async def start_rig(*, after_bridge_goto: bool = True) -> AsyncIterator[Rig]:
    sim = PbxSimulator(users={USER: SECRET}, seed=7, after_bridge_goto=after_bridge_goto)
    for phone in (FIRST, SECOND):
        sim.add_phone(phone, PhoneBehaviour(answer_after_s=0.05))
    sim.set_outside_behaviour(PhoneBehaviour(answer_after_s=0.05))
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


@pytest_asyncio.fixture
async def rig() -> AsyncIterator[Rig]:
    async for ready in start_rig():
        yield ready


@pytest_asyncio.fixture
async def capture_dialplan_rig() -> AsyncIterator[Rig]:
    async for ready in start_rig(after_bridge_goto=False):
        yield ready


async def test_move_hold_consult_and_complete_drop_nobody_until_the_caller_hangs_up(
    rig: Rig,
) -> None:
    arrived = await rig.answered_call()
    caller = arrived.caller_channel

    # Move: both end up in the call's conference, and nothing has ended.
    moved_at = len(rig.seen)
    await rig.link.move_to_conference(call_id=CALL_ID, caller_channel=caller, agent_leg_id=LEG_1)
    caller_join = await rig.watch(joined(caller))
    agent_join = await rig.watch(joined(LEG_1))
    assert caller_join["Conference"] == agent_join["Conference"] == CALL_ID
    assert rig.kinds(moved_at) == []
    assert rig.sim.active_calls() == 1

    # Hold and resume: the caller waits in callcenter-wait while the agent stays.
    await rig.link.redirect_caller(call_id=CALL_ID, caller_channel=caller, destination="hold")
    await rig.watch(lambda m: m.event == "ConfbridgeLeave" and m["Channel"] == caller)
    resumed_from = len(rig.probe.frames)
    await rig.link.redirect_caller(call_id=CALL_ID, caller_channel=caller, destination="conference")
    rejoin = await rig.watch(joined(caller), since=resumed_from)
    assert rejoin["BridgeNumChannels"] == "3"  # the announcer, the agent, the caller
    assert rig.kinds(moved_at) == []

    # Consult: a second agent rings into the conference and answers.
    await rig.link.originate_conference_leg(
        leg_id=LEG_2,
        call_id=CALL_ID,
        linkedid=arrived.linkedid,
        target=SECOND,
        ring_timeout_s=5,
        caller_id_number=arrived.caller_number,
        caller_id_name="CC c7",
        caller_channel=caller,
    )
    await rig.event(ev.Bridged, leg_id=LEG_2)

    # Complete: the first agent leaves; the call goes on with the second.
    await rig.link.hangup_leg(LEG_1)
    await rig.event(ev.AgentHungUp, leg_id=LEG_1)
    await asyncio.sleep(0.1)
    assert not any(isinstance(e, ev.CallEnded | ev.CallerHungUp) for e in rig.seen)

    rig.sim.hangup_caller(arrived.linkedid)
    ended = await rig.event(ev.CallEnded)
    assert isinstance(ended, ev.CallEnded) and ended.ended_by == "caller"
    await rig.link.hangup_leg(LEG_2)  # alone in the conference: the ACD hangs it up
    await rig.event(ev.AgentHungUp, leg_id=LEG_2)

    assert rig.legs(moved_at) == [
        ("AgentLegRinging", LEG_2),
        ("AgentLegAnswered", LEG_2),
        ("Bridged", LEG_2),
        ("AgentHungUp", LEG_1),
        ("CallerHungUp", ""),
        ("CallEnded", ""),
        ("AgentHungUp", LEG_2),
    ]
    hung_up = next(e for e in rig.seen if isinstance(e, ev.CallerHungUp))
    assert hung_up.phase == "talking"


async def test_with_the_captures_dialplan_the_same_move_drops_the_agent(
    capture_dialplan_rig: Rig,
) -> None:
    """Why callcenter-connect needs its GotoIf: without it Bridge() returning hangs
    the agent up (capture 08), which is what the test above proves does not happen."""
    rig = capture_dialplan_rig
    arrived = await rig.answered_call()
    await rig.link.move_to_conference(
        call_id=CALL_ID, caller_channel=arrived.caller_channel, agent_leg_id=LEG_1
    )
    await rig.event(ev.AgentHungUp, leg_id=LEG_1)


async def test_a_moved_caller_still_hangs_up_when_its_talk_time_is_over(rig: Rig) -> None:
    arrived = await rig.answered_call(talk_s=0.6)
    await rig.link.move_to_conference(
        call_id=CALL_ID, caller_channel=arrived.caller_channel, agent_leg_id=LEG_1
    )
    await rig.link.redirect_caller(
        call_id=CALL_ID, caller_channel=arrived.caller_channel, destination="hold"
    )
    ended = await rig.event(ev.CallEnded)
    assert isinstance(ended, ev.CallEnded) and ended.ended_by == "caller"
    assert rig.sim.active_calls() == 0
    assert not any(isinstance(e, ev.AgentHungUp) for e in rig.seen), "the agent waits on"


async def test_a_blind_transfer_out_bridges_the_caller_to_the_outside_party(rig: Rig) -> None:
    arrived = await rig.answered_call()
    caller = arrived.caller_channel
    since, frames = len(rig.seen), len(rig.probe.frames)
    await rig.link.redirect_caller(
        call_id=CALL_ID, caller_channel=caller, destination="outbound", number=OUTSIDE_NUMBER
    )
    dial = await rig.watch(lambda m: m.event == "DialBegin" and m.get("Channel") == caller)
    assert dial["DialString"] == f"{OUTSIDE_NUMBER}@outbound-trunk"
    outside = dial["DestChannel"]
    assert outside.startswith("PJSIP/outbound-trunk-")
    enters = [await rig.watch(entered(name), frames) for name in (caller, outside)]
    assert enters[0]["BridgeUniqueid"] == enters[1]["BridgeUniqueid"]
    assert enters[1]["Linkedid"] == arrived.linkedid  # a dialed channel joins the call
    await rig.event(ev.AgentHungUp, leg_id=LEG_1)
    assert rig.kinds(since) == ["AgentHungUp"]

    rig.sim.hangup_caller(arrived.linkedid)
    await rig.event(ev.CallEnded)
    await rig.watch(lambda m: m.event == "Hangup" and m["Channel"] == outside)
    assert rig.kinds(since) == ["AgentHungUp", "CallerHungUp", "CallEnded"]


@pytest.mark.parametrize(
    "outside",
    [
        PhoneBehaviour(answer_after_s=0.05, hangup_after_s=0.1),
        PhoneBehaviour(busy=True),
        PhoneBehaviour(registered=False),
    ],
    ids=["hangs-up-first", "busy", "trunk-down"],
)
async def test_a_transfer_out_ends_the_call_when_the_outside_party_does(
    rig: Rig, outside: PhoneBehaviour
) -> None:
    """The caller's Dial returns (the outside party hung up, was busy, or the trunk
    could not be reached) and its dialplan's Hangup() ends the call."""
    rig.sim.add_phone(f"Local/{OUTSIDE_NUMBER}@callcenter-outbound", outside)
    arrived = await rig.answered_call()
    since = len(rig.seen)
    await rig.link.redirect_caller(
        call_id=CALL_ID,
        caller_channel=arrived.caller_channel,
        destination="outbound",
        number=OUTSIDE_NUMBER,
    )
    await rig.event(ev.CallEnded)
    await rig.event(ev.AgentHungUp, leg_id=LEG_1)
    assert sorted(rig.kinds(since)) == ["AgentHungUp", "CallEnded", "CallerHungUp"]
    assert rig.sim.active_calls() == 0


async def test_an_outside_party_joins_the_conference_like_an_agent_leg(rig: Rig) -> None:
    arrived = await rig.answered_call()
    await rig.link.move_to_conference(
        call_id=CALL_ID, caller_channel=arrived.caller_channel, agent_leg_id=LEG_1
    )
    await rig.link.originate_conference_leg(
        leg_id=LEG_2,
        call_id=CALL_ID,
        linkedid=arrived.linkedid,
        target=f"Local/{OUTSIDE_NUMBER}@callcenter-outbound",
        ring_timeout_s=5,
        caller_id_number=arrived.caller_number,
        caller_id_name="CC c7",
        caller_channel=arrived.caller_channel,
    )
    await rig.event(ev.Bridged, leg_id=LEG_2)
    await rig.watch(joined(LEG_2))


async def test_hanging_up_the_caller_ends_the_call_and_a_second_time_is_no_error(
    rig: Rig,
) -> None:
    arrived = await rig.answered_call()
    await rig.link.hangup_caller(caller_channel=arrived.caller_channel)
    ended = await rig.event(ev.CallEnded)
    assert isinstance(ended, ev.CallEnded) and ended.ended_by == "caller"
    await rig.event(ev.AgentHungUp, leg_id=LEG_1)
    await rig.link.hangup_caller(caller_channel=arrived.caller_channel)


@pytest.mark.parametrize(
    ("destination", "number"),
    [("voicemail", ""), ("callcenter-conf", ""), ("outbound", "0800CALLME"), ("outbound", "")],
)
async def test_a_refused_redirect_sends_nothing(rig: Rig, destination: str, number: str) -> None:
    arrived = await rig.answered_call()
    sent_before = len(rig.probe.frames)
    with pytest.raises(OfferNotPlaced) as refused:
        await rig.link.redirect_caller(
            call_id=CALL_ID,
            caller_channel=arrived.caller_channel,
            destination=destination,
            number=number,
        )
    assert not refused.value.link_down
    await asyncio.sleep(0.1)
    assert [m for m in rig.probe.frames[sent_before:] if m.event == "BridgeLeave"] == []


async def test_a_leg_without_a_live_channel_cannot_be_moved(rig: Rig) -> None:
    arrived = await rig.answered_call()
    with pytest.raises(OfferNotPlaced) as refused:
        await rig.link.move_to_conference(
            call_id=CALL_ID, caller_channel=arrived.caller_channel, agent_leg_id="agentleg-c7-9"
        )
    assert not refused.value.link_down


async def test_a_refused_redirect_leaves_the_agent_unmarked(rig: Rig) -> None:
    """The caller is gone by the time of the Redirect: the agent's mark is taken off
    again, so its Bridge() returning hangs it up as usual."""
    arrived = await rig.answered_call()
    agent = rig.link.tracker.leg_channel(LEG_1)
    assert agent is not None
    with pytest.raises(OfferNotPlaced):
        await rig.link.move_to_conference(
            call_id=CALL_ID, caller_channel=f"{arrived.caller_channel}x", agent_leg_id=LEG_1
        )
    value = await rig.probe.request("Getvar", [("Channel", agent), ("Variable", "CC_AFTER_BRIDGE")])
    assert value["Value"] == ""


async def test_call_control_on_a_link_out_of_step_says_link_down() -> None:
    link = PbxLink(PbxSettings(name="pbx1", port=1))
    channel = "Local/100@callcenter-inbound-00000000;2"
    with pytest.raises(OfferNotPlaced) as refused:
        await link.redirect_caller(call_id=CALL_ID, caller_channel=channel, destination="hold")
    assert refused.value.link_down
    with pytest.raises(OfferNotPlaced) as refused:
        await link.hangup_caller(caller_channel=channel)
    assert refused.value.link_down
    with pytest.raises(OfferNotPlaced) as refused:
        await link.originate_conference_leg(
            leg_id=LEG_2,
            call_id=CALL_ID,
            linkedid="pbx1-1.0",
            target=SECOND,
            ring_timeout_s=5,
            caller_id_number="",
            caller_id_name="",
            caller_channel=channel,
        )
    assert refused.value.link_down
