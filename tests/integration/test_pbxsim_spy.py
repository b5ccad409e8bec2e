"""A supervisor's ChanSpy (capture 09's contract) on the simulator: it names the
agent's channel it listens to, merges no Linkedid, stops when that channel hangs
up, and the supervisor's leg lives on until it is hung up."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest_asyncio

from callcenter.ami.message import Message
from callcenter.pbxsim import PbxSimulator, PhoneBehaviour
from callcenter.pbxsim.probe import AmiProbe

USER, SECRET = "callcenter", "callcenter-secret"
AGENT = "Local/1001@agent-sim"
SUPERVISOR = "Local/supervisor@agent-sim"
#: a supervisor phone that hangs up by itself
IMPATIENT = "Local/boss@agent-sim"


@pytest_asyncio.fixture
async def sim() -> AsyncIterator[PbxSimulator]:
    simulator = PbxSimulator(port=0, users={USER: SECRET})
    simulator.add_phone(AGENT, PhoneBehaviour(answer_after_s=0.01))
    simulator.add_phone(SUPERVISOR, PhoneBehaviour(rings=False))
    simulator.add_phone(IMPATIENT, PhoneBehaviour(rings=False, hangup_after_s=0.05))
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest_asyncio.fixture
async def ami(sim: PbxSimulator) -> AsyncIterator[AmiProbe]:
    probe = await AmiProbe.connect("127.0.0.1", sim.port)
    await probe.login(USER, SECRET)
    yield probe
    await probe.close()


def is_event(name: str, uniqueid: str) -> Callable[[Message], bool]:
    return lambda m: m.event == name and m.get("Uniqueid") == uniqueid


async def talking_agent(sim: PbxSimulator, ami: AmiProbe) -> tuple[str, Message]:
    """A caller bridged to the agent's leg ``leg-1``; returns the Linkedid and the
    leg's BridgeEnter."""
    linkedid = sim.place_call(queue="sales", caller_number="+3512100000", talk_s=60)
    enqueue = await ami.wait_for(lambda m: m.event == "UserEvent" and m["Linkedid"] == linkedid)
    ami.send(
        "Originate",
        [
            ("Channel", AGENT),
            ("Context", "callcenter-connect"),
            ("Exten", "s"),
            ("Async", "true"),
            ("ChannelId", "leg-1"),
            ("Variable", "CC_CALL_ID=c1"),
            ("Variable", f"CC_CALLER_CHANNEL={enqueue['Channel']}"),
        ],
    )
    return linkedid, await ami.wait_for(is_event("BridgeEnter", "leg-1"))


def spy_on(ami: AmiProbe, phone: str, leg_id: str, target: str = AGENT) -> None:
    ami.send(
        "Originate",
        [
            ("Channel", phone),
            ("Context", "callcenter-spy"),
            ("Exten", "s"),
            ("Priority", "1"),
            ("Async", "true"),
            ("ChannelId", leg_id),
            ("Variable", f"CC_SPY_TARGET={target}"),
            ("Variable", "CC_SPY_OPTIONS=qw"),
        ],
    )


async def test_a_whisper_names_the_agent_leg_and_stops_when_it_hangs_up(
    sim: PbxSimulator, ami: AmiProbe
) -> None:
    linkedid, agent = await talking_agent(sim, ami)
    spy_on(ami, SUPERVISOR, "spy-1")

    start = await ami.wait_for(lambda m: m.event == "ChanSpyStart")
    outcome = await ami.wait_for(
        lambda m: m.event == "OriginateResponse" and m["Uniqueid"] == "spy-1"
    )
    assert (start["SpyerUniqueid"], start["SpyeeChannel"]) == ("spy-1", agent["Channel"])
    assert (start["SpyerLinkedid"], start["SpyeeLinkedid"]) == ("spy-1", linkedid)
    assert (outcome["Response"], outcome["Reason"]) == ("Success", "4")
    assert not any(
        m.event == "Newstate"
        and m["ChannelStateDesc"] == "Ringing"
        and m["Uniqueid"].startswith("spy-1")
        for m in ami.frames
    )

    sim.hangup_caller(linkedid)
    stop = await ami.wait_for(lambda m: m.event == "ChanSpyStop")
    assert (stop["SpyerUniqueid"], stop["SpyeeUniqueid"]) == ("spy-1", "leg-1")
    assert not any(m.event == "Hangup" and m["Uniqueid"].startswith("spy-1") for m in ami.frames)

    spyer = await ami.wait_for(lambda m: m.event == "Newchannel" and m["Uniqueid"] == "spy-1")
    answer = await ami.request("Hangup", [("Channel", spyer["Channel"])])
    assert answer["Response"] == "Success"
    await ami.wait_for(is_event("Hangup", "spy-1"))
    await ami.wait_for(is_event("Hangup", "spy-1;2"))
    assert len(ami.events("ChanSpyStop")) == 1


async def test_the_supervisor_hanging_up_ends_the_spying(sim: PbxSimulator, ami: AmiProbe) -> None:
    linkedid, _ = await talking_agent(sim, ami)
    spy_on(ami, IMPATIENT, "spy-2")
    await ami.wait_for(lambda m: m.event == "ChanSpyStart")

    stop = await ami.wait_for(lambda m: m.event == "ChanSpyStop")
    await ami.wait_for(is_event("Hangup", "spy-2;2"))
    assert stop["SpyeeUniqueid"] == "leg-1"
    assert not any(m.event == "Hangup" and m["Uniqueid"] == "leg-1" for m in ami.frames)
    sim.hangup_caller(linkedid)


async def test_with_nobody_to_listen_to_the_supervisor_just_waits(
    sim: PbxSimulator, ami: AmiProbe
) -> None:
    spy_on(ami, SUPERVISOR, "spy-3", target="Local/1009@agent-sim")
    chanspy = await ami.wait_for(
        lambda m: (
            m.event == "Newexten" and m["Uniqueid"] == "spy-3" and m["Application"] == "ChanSpy"
        )
    )
    assert chanspy["AppData"] == "Local/1009@agent-sim,qw"
    await ami.wait_for(
        lambda m: (
            m.event == "Newexten" and m["Uniqueid"] == "spy-3;2" and m["Application"] == "Wait"
        )
    )
    assert ami.events("ChanSpyStart") == []
