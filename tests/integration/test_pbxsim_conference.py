"""A per-call ConfBridge (capture 16's contract) on the simulator: the members keep
their own Linkedids, the caller can be held and resumed while the agent stays in,
and the conference ends with its last member."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest_asyncio

from callcenter.ami.message import Message
from callcenter.pbxsim import PbxSimulator, PhoneBehaviour
from callcenter.pbxsim.probe import AmiProbe

USER, SECRET = "callcenter", "callcenter-secret"
AGENTS = ("Local/1001@agent-sim", "Local/1002@agent-sim")
CALL_ID = "c42"


@pytest_asyncio.fixture
async def sim() -> AsyncIterator[PbxSimulator]:
    simulator = PbxSimulator(port=0, users={USER: SECRET})
    for agent in AGENTS:
        simulator.add_phone(agent, PhoneBehaviour(answer_after_s=0.01))
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


async def enqueued_caller(sim: PbxSimulator, ami: AmiProbe) -> tuple[str, Message]:
    """A waiting caller whose ;2 carries the call's CC_CALL_ID (the ACD's Setvar)."""
    linkedid = sim.place_call(queue="sales", caller_number="+3512100000")
    enqueue = await ami.wait_for(lambda m: m.event == "UserEvent" and m["Linkedid"] == linkedid)
    await ami.request(
        "Setvar",
        [("Channel", enqueue["Channel"]), ("Variable", "CC_CALL_ID"), ("Value", CALL_ID)],
    )
    return linkedid, enqueue


async def agent_joins(ami: AmiProbe, agent: str, leg_id: str) -> Message:
    ami.send(
        "Originate",
        [
            ("Channel", agent),
            ("Context", "callcenter-conf"),
            ("Exten", "s"),
            ("Priority", "1"),
            ("Async", "true"),
            ("ChannelId", leg_id),
            ("Variable", f"CC_CALL_ID={CALL_ID}"),
        ],
    )
    return await ami.wait_for(is_event("ConfbridgeJoin", leg_id))


async def redirect(ami: AmiProbe, channel: str, context: str) -> None:
    answer = await ami.request(
        "Redirect",
        [("Channel", channel), ("Context", context), ("Exten", "s"), ("Priority", "1")],
    )
    assert answer["Response"] == "Success"


async def test_the_members_keep_their_linkedids_and_meet_under_the_call_id(
    sim: PbxSimulator, ami: AmiProbe
) -> None:
    linkedid, enqueue = await enqueued_caller(sim, ami)
    caller = enqueue["Channel"]
    agent_join = await agent_joins(ami, AGENTS[0], "leg-1")
    await redirect(ami, caller, "callcenter-conf")
    caller_join = await ami.wait_for(
        lambda m: m.event == "ConfbridgeJoin" and m["Channel"] == caller
    )

    assert (agent_join["Conference"], caller_join["Conference"]) == (CALL_ID, CALL_ID)
    assert agent_join["BridgeUniqueid"] == caller_join["BridgeUniqueid"]
    assert (agent_join["Linkedid"], caller_join["Linkedid"]) == ("leg-1", linkedid)
    start = ami.events("ConfbridgeStart")
    assert [s["Conference"] for s in start] == [CALL_ID]


async def test_a_held_caller_waits_while_the_agent_stays_and_comes_back(
    sim: PbxSimulator, ami: AmiProbe
) -> None:
    _, enqueue = await enqueued_caller(sim, ami)
    caller = enqueue["Channel"]
    await agent_joins(ami, AGENTS[0], "leg-1")
    await redirect(ami, caller, "callcenter-conf")
    await ami.wait_for(lambda m: m.event == "ConfbridgeJoin" and m["Channel"] == caller)

    await redirect(ami, caller, "callcenter-wait")
    await ami.wait_for(lambda m: m.event == "ConfbridgeLeave" and m["Channel"] == caller)
    status = await ami.request("Status", [("Channel", caller)])
    item = await ami.wait_for(lambda m: m.event == "Status" and m.action_id == status.action_id)
    assert (item["Context"], item["Application"], item["BridgeID"]) == (
        "callcenter-wait",
        "Wait",
        "",
    )
    assert ami.events("ConfbridgeEnd") == []

    resumed_from = len(ami.frames)
    await redirect(ami, caller, "callcenter-conf")
    rejoin = await ami.wait_for(
        lambda m: m.event == "ConfbridgeJoin" and m["Channel"] == caller, start=resumed_from
    )
    assert rejoin["BridgeNumChannels"] == "3"  # the announcer, the agent, the caller


async def test_a_warm_transfer_hands_the_caller_on_and_the_last_one_out_ends_it(
    sim: PbxSimulator, ami: AmiProbe
) -> None:
    linkedid, enqueue = await enqueued_caller(sim, ami)
    await agent_joins(ami, AGENTS[0], "leg-1")
    await redirect(ami, enqueue["Channel"], "callcenter-conf")
    await agent_joins(ami, AGENTS[1], "leg-2")

    first = await ami.wait_for(lambda m: m.event == "Newchannel" and m["Uniqueid"] == "leg-1")
    await ami.request("Hangup", [("Channel", first["Channel"])])
    await ami.wait_for(is_event("Hangup", "leg-1"))
    assert ami.events("ConfbridgeEnd") == []

    sim.hangup_caller(linkedid)
    await ami.wait_for(lambda m: m.event == "Hangup" and m["Channel"] == enqueue["Channel"])
    assert ami.events("ConfbridgeEnd") == []
    assert sim.active_calls() == 0

    second = await ami.wait_for(lambda m: m.event == "Newchannel" and m["Uniqueid"] == "leg-2")
    await ami.request("Hangup", [("Channel", second["Channel"])])
    end = await ami.wait_for(lambda m: m.event == "ConfbridgeEnd")
    destroyed = await ami.wait_for(lambda m: m.event == "BridgeDestroy")
    assert end["Conference"] == CALL_ID
    assert destroyed["BridgeUniqueid"] == end["BridgeUniqueid"]
    await ami.wait_for(is_event("Hangup", "leg-2;2"))


async def test_setvar_reaches_an_agent_legs_channel_and_refuses_a_missing_one(
    sim: PbxSimulator, ami: AmiProbe
) -> None:
    await enqueued_caller(sim, ami)
    join = await agent_joins(ami, AGENTS[0], "leg-1")
    answer = await ami.request(
        "Setvar",
        [("Channel", join["Channel"]), ("Variable", "CC_AFTER_BRIDGE"), ("Value", "conf")],
    )
    assert (answer["Response"], answer["Message"]) == ("Success", "Variable Set")
    varset = await ami.wait_for(
        lambda m: m.event == "VarSet" and m["Variable"] == "CC_AFTER_BRIDGE"
    )
    assert (varset["Uniqueid"], varset["Value"]) == ("leg-1", "conf")
    missing = await ami.request(
        "Setvar", [("Channel", "PJSIP/nobody-00000001"), ("Variable", "X"), ("Value", "1")]
    )
    assert (missing["Response"], missing["Message"]) == ("Error", "No such channel")


async def test_a_caller_left_alone_and_redirected_to_the_survey_scores_and_hangs_up(
    sim: PbxSimulator, ami: AmiProbe
) -> None:
    linkedid = sim.place_call(queue="sales", caller_number="+3512100001", survey_key="5")
    enqueue = await ami.wait_for(lambda m: m.event == "UserEvent" and m["Linkedid"] == linkedid)
    caller = enqueue["Channel"]
    await ami.request(
        "Setvar", [("Channel", caller), ("Variable", "CC_CALL_ID"), ("Value", CALL_ID)]
    )
    await agent_joins(ami, AGENTS[0], "leg-1")
    await redirect(ami, caller, "callcenter-conf")
    await ami.wait_for(lambda m: m.event == "ConfbridgeJoin" and m["Channel"] == caller)
    agent = await ami.wait_for(lambda m: m.event == "Newchannel" and m["Uniqueid"] == "leg-1")
    await ami.request("Hangup", [("Channel", agent["Channel"])])
    await ami.wait_for(is_event("Hangup", "leg-1"))

    await redirect(ami, caller, "callcenter-survey")
    await ami.wait_for(lambda m: m.event == "ConfbridgeLeave" and m["Channel"] == caller)
    await ami.wait_for(lambda m: m.event == "ConfbridgeEnd")
    score = await ami.wait_for(
        lambda m: m.event == "UserEvent" and m.get("UserEvent") == "CallCenterSurvey"
    )
    assert (score["Channel"], score["Linkedid"], score["Score"]) == (caller, linkedid, "5")
    assert score["Context"] == "callcenter-survey"
    await ami.wait_for(lambda m: m.event == "Hangup" and m["Channel"] == caller)
    assert sim.active_calls() == 0
