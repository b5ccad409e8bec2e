"""The simulator can die and come back like Asterisk does, so the ACD's reconnect and
resync can be tested: sessions break without a word, calls vanish without Hangup
events, and the new process counts its uptime and names its channels afresh."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest_asyncio

from callcenter.ami.message import Message
from callcenter.pbxsim import PbxSimulator, PhoneBehaviour
from callcenter.pbxsim.probe import AmiProbe

USER, SECRET = "callcenter", "callcenter-secret"
AGENT = "Local/1001@agent-sim"


@pytest_asyncio.fixture
async def sim() -> AsyncIterator[PbxSimulator]:
    simulator = PbxSimulator(port=0, users={USER: SECRET})
    simulator.add_phone(AGENT, PhoneBehaviour(answer_after_s=0.01))
    await simulator.start()
    yield simulator
    await simulator.stop()


def event(name: str, **headers: str) -> Callable[[Message], bool]:
    return lambda m: m.event == name and all(m.get(k) == v for k, v in headers.items())


async def logged_in(sim: PbxSimulator) -> AmiProbe:
    probe = await AmiProbe.connect(sim.host, sim.port)
    assert (await probe.login(USER, SECRET))["Response"] == "Success"
    await probe.wait_for(event("FullyBooted"))
    return probe


async def talking_call(sim: PbxSimulator, probe: AmiProbe, leg_id: str) -> Message:
    """A caller bridged to the agent; returns the caller's CallCenterEnqueue."""
    linkedid = sim.place_call(queue="sales", caller_number="+14155550123", talk_s=60)
    enqueue = await probe.wait_for(event("UserEvent", Linkedid=linkedid))
    probe.send(
        "Originate",
        [
            ("Channel", AGENT),
            ("Context", "callcenter-connect"),
            ("Exten", "s"),
            ("Priority", "1"),
            ("Async", "true"),
            ("ChannelId", leg_id),
            ("Variable", f"CC_CALLER_CHANNEL={enqueue['Channel']}"),
        ],
    )
    await probe.wait_for(event("BridgeEnter", Uniqueid=leg_id))
    return enqueue


def names_of_new_channels(probe: AmiProbe) -> list[str]:
    return [m["Channel"] for m in probe.events("Newchannel")]


async def test_a_restart_breaks_sessions_silently_and_forgets_every_call(
    sim: PbxSimulator,
) -> None:
    before = await logged_in(sim)
    await talking_call(sim, before, "leg-before")
    seen = len(before.frames)
    port = sim.port

    await sim.restart()

    await before.wait_closed()
    assert before.closed
    assert before.frames[seen:] == [], "a crashed Asterisk says nothing, not even Hangup"
    assert sim.port == port
    assert sim.active_calls() == 0
    await before.close()

    after = await logged_in(sim)
    listing = await after.request("CoreShowChannels")
    assert listing["EventList"] == "start"
    done = await after.wait_for(event("CoreShowChannelsComplete"))
    assert done["ListItems"] == "0"
    assert not after.events("Hangup")
    await after.close()


async def test_after_a_restart_uptime_counts_again_and_channel_names_repeat(
    sim: PbxSimulator,
) -> None:
    first = await logged_in(sim)
    first_enqueue = await talking_call(sim, first, "leg-1")
    # Uptime has a one-second grain: age the first process by moving its start back.
    sim._started_at -= 100
    sim._reloaded_at -= 100
    await first.close()
    old = await logged_in(sim)
    old_boot = old.events("FullyBooted")[0]
    await old.close()

    await sim.restart(down_s=0.01)

    second = await logged_in(sim)
    new_boot = second.events("FullyBooted")[0]
    assert int(new_boot["Uptime"]) < int(old_boot["Uptime"])
    assert int(new_boot["LastReload"]) < int(old_boot["LastReload"])
    second_enqueue = await talking_call(sim, second, "leg-2")
    assert names_of_new_channels(second) == names_of_new_channels(first)
    assert second_enqueue["Channel"] == first_enqueue["Channel"]
    old_seq = first_enqueue["Linkedid"].rpartition(".")[2]
    assert second_enqueue["Linkedid"].rpartition(".")[2] == old_seq
    await second.close()


async def test_phones_and_dids_survive_a_restart(sim: PbxSimulator) -> None:
    await sim.restart()
    probe = await logged_in(sim)
    enqueue = await talking_call(sim, probe, "leg-after")
    assert enqueue["Queue"] == "sales"
    assert sim.active_calls() == 1
    await probe.close()


async def test_stop_then_start_serves_again_on_the_same_port(sim: PbxSimulator) -> None:
    probe = await logged_in(sim)
    port = sim.port
    sim.place_call(queue="sales", caller_number="+14155550123")
    await sim.stop()
    await probe.wait_closed()
    await probe.close()

    await sim.start()
    assert sim.port == port
    assert sim.active_calls() == 0
    again = await logged_in(sim)
    assert (await again.request("Ping"))["Ping"] == "Pong"
    await again.close()
