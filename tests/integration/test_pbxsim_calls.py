"""The PBX simulator, driven over real TCP by a raw AMI client, behaves as Asterisk 22
does for the ACD: logins, calls that wait, agent legs that are answered, time out,
are busy or unreachable, impatient callers, snapshots, and Asterisk's own error texts
(capture 11-errors)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable

import pytest
import pytest_asyncio

from callcenter.ami.message import Message
from callcenter.pbxsim import PbxSimulator, PhoneBehaviour
from callcenter.pbxsim.probe import AmiProbe, ProbeTimeout

USER, SECRET = "callcenter", "callcenter-secret"
PHONES = {
    "Local/1001@agent-sim": PhoneBehaviour(answer_after_s=0.05),
    "PJSIP/agent01": PhoneBehaviour(answer_after_s=0.05),
    "Local/2001@agent-sim": PhoneBehaviour(answer_after_s=None),
    "Local/2002@agent-sim": PhoneBehaviour(busy=True),
    "Local/2003@agent-sim": PhoneBehaviour(answer_after_s=0.05, hangup_after_s=0.1),
    "PJSIP/agent09": PhoneBehaviour(registered=False),
}


@pytest_asyncio.fixture
async def sim() -> AsyncIterator[PbxSimulator]:
    simulator = PbxSimulator(
        port=0,
        users={USER: SECRET, "viewer": "viewer-secret"},
        privileges={"viewer": ("call,user", "user")},
    )
    for dial_string, behaviour in PHONES.items():
        simulator.add_phone(dial_string, behaviour)
    await simulator.start()
    yield simulator
    await simulator.stop()


@pytest_asyncio.fixture
async def ami(sim: PbxSimulator) -> AsyncIterator[AmiProbe]:
    probe = await AmiProbe.connect("127.0.0.1", sim.port)
    answer = await probe.login(USER, SECRET)
    assert answer["Response"] == "Success"
    yield probe
    await probe.close()


def event(name: str, **headers: str) -> Callable[[Message], bool]:
    return lambda m: m.event == name and all(m.get(k) == v for k, v in headers.items())


def hangup_of(uniqueid: str) -> Callable[[Message], bool]:
    return event("Hangup", Uniqueid=uniqueid)


async def waiting_caller(sim: PbxSimulator, ami: AmiProbe, **call: object) -> Message:
    """Place a call and return its CallCenterEnqueue event."""
    linkedid = sim.place_call(
        queue=str(call.get("queue", "sales")),
        caller_number=str(call.get("number", "+14155550123")),
        caller_name=str(call.get("name", "Alice Martin")),
        talk_s=float(str(call.get("talk_s", 30.0))),
    )
    return await ami.wait_for(event("UserEvent", Linkedid=linkedid))


def offer(ami: AmiProbe, dial: str, leg_id: str, caller: Message, timeout_ms: int = 15000) -> str:
    return ami.send(
        "Originate",
        [
            ("Channel", dial),
            ("Context", "callcenter-connect"),
            ("Exten", "s"),
            ("Priority", "1"),
            ("Async", "true"),
            ("Timeout", str(timeout_ms)),
            ("ChannelId", leg_id),
            ("CallerID", '"CC c1" <c1>'),
            ("Variable", "CC_CALL_ID=c1"),
            ("Variable", f"CC_CALLER_CHANNEL={caller['Channel']}"),
        ],
    )


async def outcome(ami: AmiProbe, action_id: str) -> Message:
    queued = await ami.response_to(action_id)
    assert (queued["Response"], queued["Message"]) == ("Success", "Originate successfully queued")
    return await ami.wait_for(event("OriginateResponse", ActionID=action_id))


# -- logging in -----------------------------------------------------------------


async def test_login_is_accepted_after_the_asterisk_banner_and_the_pbx_says_it_booted(
    sim: PbxSimulator,
) -> None:
    probe = await AmiProbe.connect("127.0.0.1", sim.port)
    answer = await probe.login(USER, SECRET)
    assert probe.banner is not None and probe.banner.text == "Asterisk Call Manager/11.0.0"
    assert answer.headers[0] == ("Response", "Success")
    assert answer["Message"] == "Authentication accepted"
    booted = await probe.wait_for(event("FullyBooted"))
    assert booted["Status"] == "Fully Booted" and booted["Privilege"] == "system,all"
    await probe.close()


async def test_a_wrong_secret_is_refused_and_the_connection_closed(sim: PbxSimulator) -> None:
    probe = await AmiProbe.connect("127.0.0.1", sim.port)
    answer = await probe.login(USER, "wrong-secret")
    assert [*answer] == [
        ("Response", "Error"),
        ("ActionID", answer.action_id or ""),
        ("Message", "Authentication failed"),
    ]
    await probe.wait_closed()
    assert probe.closed
    await probe.close()


async def test_a_client_that_has_not_logged_in_gets_no_events_and_no_service(
    sim: PbxSimulator,
) -> None:
    probe = await AmiProbe.connect("127.0.0.1", sim.port)
    denied = await probe.request("CoreShowChannels")
    sim.place_call(queue="sales", caller_number="+14155550123")
    pong = await probe.request("Ping")
    assert denied["Message"] == "Permission denied"
    assert pong["Message"] == "Permission denied"
    assert probe.events() == []
    await probe.close()


async def test_every_logged_in_client_receives_every_event(
    sim: PbxSimulator, ami: AmiProbe
) -> None:
    second = await AmiProbe.connect("127.0.0.1", sim.port)
    await second.login(USER, SECRET)
    linkedid = sim.place_call(queue="support", caller_number="+442071838750", account="40012345")
    for probe in (ami, second):
        enqueue = await probe.wait_for(event("UserEvent", Linkedid=linkedid))
        assert (enqueue["Queue"], enqueue["Account"]) == ("support", "40012345")
    await second.close()


async def test_a_user_without_call_write_rights_may_not_originate_or_hang_up(
    sim: PbxSimulator,
) -> None:
    viewer = await AmiProbe.connect("127.0.0.1", sim.port)
    assert (await viewer.login("viewer", "viewer-secret"))["Response"] == "Success"
    caller = await waiting_caller(sim, viewer)
    refused = await viewer.request(
        "Originate", [("Channel", "Local/1001@agent-sim"), ("Exten", "s")]
    )
    hangup = await viewer.request("Hangup", [("Channel", caller["Channel"])])
    allowed = await viewer.request("UserEvent", [("UserEvent", "Note")])
    assert (refused["Response"], refused["Message"]) == ("Error", "Permission denied")
    assert hangup["Message"] == "Permission denied"
    assert allowed["Response"] == "Success"
    assert sim.active_calls() == 1
    assert viewer.events("Newchannel"), "call events are readable"
    assert not viewer.events("Newexten"), "dialplan events are not"
    await viewer.close()


async def test_a_value_with_a_stray_carriage_return_is_refused_and_the_session_goes_on(
    ami: AmiProbe,
) -> None:
    ami.send_raw(b"Action: Setvar\r\nActionID: cr-1\r\nVariable: X\r\nValue: a\rb\r\n\r\n")
    refused = await ami.response_to("cr-1")
    assert (refused["Response"], refused["Message"]) == ("Error", "Invalid header value")
    assert (await ami.request("Ping"))["Ping"] == "Pong"


async def test_ping_is_answered_with_pong_and_a_timestamp(ami: AmiProbe) -> None:
    pong = await ami.request("Ping")
    assert [name for name, _ in pong] == ["Response", "ActionID", "Ping", "Timestamp"]
    assert pong["Ping"] == "Pong"
    assert float(pong["Timestamp"]) > 0


# -- callers --------------------------------------------------------------------


async def test_a_placed_call_waits_in_the_dialplan_and_announces_itself(
    sim: PbxSimulator, ami: AmiProbe
) -> None:
    linkedid = sim.place_call(queue="sales", caller_number="+33142685300", caller_name="Chloé")
    enqueue = await ami.wait_for(event("UserEvent", Linkedid=linkedid))
    assert enqueue["UserEvent"] == "CallCenterEnqueue"
    assert (enqueue["Queue"], enqueue["Account"]) == ("sales", "")
    assert (enqueue["CallerIDNum"], enqueue["CallerIDName"]) == ("+33142685300", "Chloé")
    assert enqueue["Channel"].startswith("Local/100@callcenter-inbound-")
    assert enqueue["Channel"].endswith(";2")
    assert enqueue["Privilege"] == "user,all" and enqueue["SystemName"] == "pbx1"
    assert linkedid.startswith("pbx1-") and enqueue["Uniqueid"] != linkedid
    await ami.wait_for(event("Newexten", Uniqueid=enqueue["Uniqueid"], Application="Wait"))
    assert sim.active_calls() == 1


async def test_an_impatient_caller_hangs_up_both_halves_and_leaves(
    sim: PbxSimulator, ami: AmiProbe
) -> None:
    linkedid = sim.place_call(queue="sales", caller_number="+74951234567", patience_s=0.1)
    enqueue = await ami.wait_for(event("UserEvent", Linkedid=linkedid))
    await ami.wait_for(hangup_of(linkedid))
    await ami.wait_for(hangup_of(enqueue["Uniqueid"]))
    assert sim.active_calls() == 0


async def test_hangup_of_a_callers_channel_by_name_ends_the_call(
    sim: PbxSimulator, ami: AmiProbe
) -> None:
    enqueue = await waiting_caller(sim, ami)
    answer = await ami.request("Hangup", [("Channel", enqueue["Channel"])])
    assert (answer["Response"], answer["Message"]) == ("Success", "Channel Hungup")
    await ami.wait_for(hangup_of(enqueue["Linkedid"]))
    assert sim.active_calls() == 0


# -- agent legs -----------------------------------------------------------------


async def test_an_answering_agent_is_bridged_to_the_waiting_caller(
    sim: PbxSimulator, ami: AmiProbe
) -> None:
    caller = await waiting_caller(sim, ami, talk_s=0.1)
    answered = await outcome(ami, offer(ami, "Local/1001@agent-sim", "agentleg-a-1", caller))
    assert (answered["Response"], answered["Reason"]) == ("Success", "4")
    assert answered["Uniqueid"] == "agentleg-a-1"
    assert answered["Channel"].startswith("Local/1001@agent-sim-")
    assert answered["Channel"].endswith(";1")
    caller_in = await ami.wait_for(event("BridgeEnter", Uniqueid=caller["Uniqueid"]))
    agent_in = await ami.wait_for(event("BridgeEnter", Uniqueid="agentleg-a-1"))
    assert caller_in["BridgeUniqueid"] == agent_in["BridgeUniqueid"]
    assert agent_in["Linkedid"] == caller["Linkedid"], "the agent leg joins the caller's call"
    half = await ami.wait_for(event("Newchannel", Uniqueid="agentleg-a-1;2"))
    assert half["Channel"] == answered["Channel"].replace(";1", ";2")
    await ami.wait_for(hangup_of("agentleg-a-1;2"))
    assert sim.active_calls() == 0


async def test_a_pjsip_phone_is_one_channel_named_after_the_endpoint(
    sim: PbxSimulator, ami: AmiProbe
) -> None:
    caller = await waiting_caller(sim, ami, talk_s=0.1)
    answered = await outcome(ami, offer(ami, "PJSIP/agent01", "agentleg-p-1", caller))
    assert answered["Reason"] == "4"
    created = await ami.wait_for(event("Newchannel", Uniqueid="agentleg-p-1"))
    assert created["Channel"].startswith("PJSIP/agent01-")
    assert len(created["Channel"].rpartition("-")[2]) == 8
    await ami.wait_for(event("DialState", DestUniqueid="agentleg-p-1", DialStatus="RINGING"))
    await ami.wait_for(hangup_of("agentleg-p-1"))
    assert not ami.events("Newchannel")[-1]["Uniqueid"].endswith(";2")


async def test_a_phone_that_never_answers_times_out_with_reason_3_and_the_caller_waits_on(
    sim: PbxSimulator, ami: AmiProbe
) -> None:
    caller = await waiting_caller(sim, ami)
    failed = await outcome(
        ami, offer(ami, "Local/2001@agent-sim", "agentleg-n-1", caller, timeout_ms=300)
    )
    assert (failed["Response"], failed["Reason"]) == ("Failure", "3")
    assert failed["Channel"] == "Local/2001@agent-sim"
    gone = await ami.wait_for(hangup_of("agentleg-n-1"))
    assert gone["Cause"] == "19"
    assert sim.active_calls() == 1


async def test_a_busy_phone_fails_with_reason_5_and_cause_17(
    sim: PbxSimulator, ami: AmiProbe
) -> None:
    caller = await waiting_caller(sim, ami)
    failed = await outcome(ami, offer(ami, "Local/2002@agent-sim", "agentleg-b-1", caller))
    assert (failed["Response"], failed["Reason"]) == ("Failure", "5")
    phone = await ami.wait_for(hangup_of("agentleg-b-1;2"))
    assert (phone["Cause"], phone["Cause-txt"]) == ("17", "User busy")
    assert sim.active_calls() == 1


async def test_an_unregistered_phone_fails_at_once_with_reason_0_and_no_channel(
    sim: PbxSimulator, ami: AmiProbe
) -> None:
    caller = await waiting_caller(sim, ami)
    failed = await outcome(ami, offer(ami, "PJSIP/agent09", "agentleg-u-1", caller))
    assert (failed["Response"], failed["Reason"]) == ("Failure", "0")
    assert failed["Channel"] == "PJSIP/agent09"
    assert not [m for m in ami.events("Newchannel") if m["Uniqueid"].startswith("agentleg-u-1")]


async def test_the_agent_hanging_up_first_ends_the_callers_call(
    sim: PbxSimulator, ami: AmiProbe
) -> None:
    caller = await waiting_caller(sim, ami, talk_s=30)
    answered = await outcome(ami, offer(ami, "Local/2003@agent-sim", "agentleg-h-1", caller))
    assert answered["Reason"] == "4"
    agent_gone = await ami.wait_for(hangup_of("agentleg-h-1"))
    caller_gone = await ami.wait_for(hangup_of(caller["Linkedid"]))
    assert ami.frames.index(agent_gone) < ami.frames.index(caller_gone)
    assert sim.active_calls() == 0


async def test_a_ringing_leg_hung_up_after_the_caller_left_fails_with_reason_0(
    sim: PbxSimulator, ami: AmiProbe
) -> None:
    caller = await waiting_caller(sim, ami)
    action_id = offer(ami, "Local/2001@agent-sim", "agentleg-c-1", caller)
    ringing = await ami.wait_for(event("DialState", DestUniqueid="agentleg-c-1"))
    sim.hangup_caller(caller["Linkedid"])
    await ami.wait_for(hangup_of(caller["Uniqueid"]))
    answer = await ami.request("Hangup", [("Channel", ringing["DestChannel"])])
    assert answer["Message"] == "Channel Hungup"
    failed = await ami.wait_for(event("OriginateResponse", ActionID=action_id))
    assert (failed["Response"], failed["Reason"]) == ("Failure", "0")
    gone = await ami.wait_for(hangup_of("agentleg-c-1"))
    assert gone["Cause"] == "0"


async def test_a_phone_on_a_call_is_busy_for_another_offer_and_free_after_it(
    sim: PbxSimulator, ami: AmiProbe
) -> None:
    first = await waiting_caller(sim, ami, talk_s=0.2)
    second = await waiting_caller(sim, ami, number="+442071838750", talk_s=0.1)
    assert (await outcome(ami, offer(ami, "PJSIP/agent01", "leg-1", first)))["Reason"] == "4"
    assert (await outcome(ami, offer(ami, "PJSIP/agent01", "leg-2", second)))["Reason"] == "5"
    await ami.wait_for(hangup_of("leg-1"))
    assert (await outcome(ami, offer(ami, "PJSIP/agent01", "leg-3", second)))["Reason"] == "4"


async def test_redirecting_a_bridged_caller_ends_the_agent_leg_and_the_caller_waits_again(
    sim: PbxSimulator, ami: AmiProbe
) -> None:
    caller = await waiting_caller(sim, ami)
    await outcome(ami, offer(ami, "Local/1001@agent-sim", "agentleg-r-1", caller))
    await ami.wait_for(event("BridgeEnter", Uniqueid="agentleg-r-1"))
    start = len(ami.frames)
    moved = await ami.request(
        "Redirect",
        [("Channel", caller["Channel"]), ("Context", "callcenter-wait"), ("Exten", "s")],
    )
    assert (moved["Response"], moved["Message"]) == ("Success", "Redirect successful")
    await ami.wait_for(event("BridgeLeave", Uniqueid=caller["Uniqueid"]), start=start)
    await ami.wait_for(
        event("Newexten", Uniqueid=caller["Uniqueid"], Application="Wait"), start=start
    )
    await ami.wait_for(hangup_of("agentleg-r-1;2"))
    assert sim.active_calls() == 1
    with pytest.raises(ProbeTimeout):
        await ami.wait_for(hangup_of(caller["Uniqueid"]), timeout_s=0.2)


# -- snapshots and variables -------------------------------------------------------


async def test_core_show_channels_lists_every_live_channel(
    sim: PbxSimulator, ami: AmiProbe
) -> None:
    caller = await waiting_caller(sim, ami)
    action_id = ami.send("CoreShowChannels")
    start = await ami.response_to(action_id)
    assert [*start][:4] == [
        ("Response", "Success"),
        ("ActionID", action_id),
        ("EventList", "start"),
        ("Message", "Channels will follow"),
    ]
    done = await ami.wait_for(event("CoreShowChannelsComplete", ActionID=action_id))
    items = [m for m in ami.events("CoreShowChannel") if m.action_id == action_id]
    assert (done["EventList"], done["ListItems"]) == ("Complete", str(len(items)))
    assert {m["Uniqueid"] for m in items} == {caller["Linkedid"], caller["Uniqueid"]}
    waiting = next(m for m in items if m["Uniqueid"] == caller["Uniqueid"])
    assert (waiting["Context"], waiting["Application"]) == ("callcenter-wait", "Wait")


async def test_status_lists_every_live_channel_as_an_event_list(
    sim: PbxSimulator, ami: AmiProbe
) -> None:
    caller = await waiting_caller(sim, ami)
    action_id = ami.send("Status")
    start = await ami.response_to(action_id)
    assert (start["EventList"], start["Message"]) == ("start", "Channel status will follow")
    done = await ami.wait_for(event("StatusComplete", ActionID=action_id))
    items = [m for m in ami.events("Status") if m.action_id == action_id]
    assert done["ListItems"] == done["Items"] == str(len(items)) == "2"
    assert caller["Channel"] in {m["Channel"] for m in items}


async def test_setvar_sets_a_channel_variable_that_getvar_reads_back(
    sim: PbxSimulator, ami: AmiProbe
) -> None:
    caller = await waiting_caller(sim, ami)
    channel = ("Channel", caller["Channel"])
    done = await ami.request("Setvar", [channel, ("Variable", "CC_CALL_ID"), ("Value", "c9")])
    assert (done["Response"], done["Message"]) == ("Success", "Variable Set")
    await ami.wait_for(event("VarSet", Uniqueid=caller["Uniqueid"], Variable="CC_CALL_ID"))
    read = await ami.request("Getvar", [channel, ("Variable", "CC_CALL_ID")])
    assert (read["Variable"], read["Value"]) == ("CC_CALL_ID", "c9")
    queue = await ami.request("Getvar", [channel, ("Variable", "CC_QUEUE")])
    assert queue["Value"] == "sales"


# -- errors, as capture 11 shows them -------------------------------------------------


async def test_errors_read_exactly_as_asterisk_writes_them(ami: AmiProbe) -> None:
    no_channel = await ami.request("Originate", [("Context", "callcenter-connect")])
    unknown = await ami.request("NoSuchAction")
    no_such = await ami.request("Hangup", [("Channel", "PJSIP/nobody-00000000")])
    redirect = await ami.request(
        "Redirect",
        [("Channel", "Local/none"), ("Context", "x"), ("Exten", "s"), ("Priority", "1")],
    )
    assert [*no_channel] == [
        ("Response", "Error"),
        ("ActionID", no_channel.action_id or ""),
        ("Message", "Channel not specified"),
    ]
    assert unknown["Message"] == (
        "Invalid/unknown command: NoSuchAction. Use Action: ListCommands to show available "
        "commands."
    )
    assert no_such["Message"] == "No such channel"
    assert redirect["Message"] == "Channel does not exist: Local/none"
