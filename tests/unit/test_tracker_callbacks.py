"""Callbacks in the tracker, sans I/O: a waiting caller's ``CallCenterCallback``
UserEvent, and a callback attempt -- the agent's leg originated into
``callcenter-callback-out``, a call of its own named by the leg, whose caller is
the customer the leg's Dial makes. The frames are shaped as Asterisk 22 sends
them (Local agent phone, trunk channel born in the leg's Linkedid)."""

from __future__ import annotations

from callcenter.ami import events as ev
from callcenter.ami.message import Message
from callcenter.ami.tracker import CallTracker

PBX = "pbx1"
LINKEDID, CALLER = "pbx1-1795390000.10", "pbx1-1795390000.11"
CALLER_ONE = "Local/100@callcenter-inbound-00000010;1"
CALLER_TWO = "Local/100@callcenter-inbound-00000010;2"
NUMBER = "+14155550123"
LEG = "agentleg-c0042-ab12-3"
AGENT = "Local/1001@agent-sim"
LEG_ONE, LEG_TWO = "Local/1001@agent-sim-00000011;1", "Local/1001@agent-sim-00000011;2"
CUSTOMER, CUSTOMER_NAME = "pbx1-1795390100.20", "PJSIP/outbound-trunk-00000003"


def frame(event: str, channel: str, uniqueid: str, linkedid: str, **headers: str) -> Message:
    return Message.build(
        ("Event", event),
        ("Channel", channel),
        ("ChannelStateDesc", headers.pop("state", "Up")),
        ("CallerIDNum", NUMBER),
        ("Context", headers.pop("context", "callcenter-callback-out")),
        ("Uniqueid", uniqueid),
        ("Linkedid", linkedid),
        *headers.items(),
    )


def dial(event: str, status: str = "") -> Message:
    """A Dial event of the leg's ``Dial``: the leg first, the customer as Dest."""
    headers = [
        ("Event", event),
        ("Channel", LEG_ONE),
        ("Uniqueid", LEG),
        ("Linkedid", LEG),
        ("DestChannel", CUSTOMER_NAME),
        ("DestUniqueid", CUSTOMER),
        ("DestLinkedid", LEG),
    ]
    if status:
        headers.append(("DialStatus", status))
    return Message.build(*headers)


def originate_response(response: str, reason: str) -> Message:
    return Message.build(
        ("Event", "OriginateResponse"),
        ("ActionID", "cc-9"),
        ("Response", response),
        ("Channel", LEG_ONE if response == "Success" else AGENT),
        ("Context", "callcenter-callback-out"),
        ("Exten", NUMBER),
        ("Reason", reason),
        ("Uniqueid", LEG),
    )


class Run:
    """One tracker and the domain events it said, frame by frame."""

    def __init__(self) -> None:
        self.tracker = CallTracker(PBX)
        self.events: list[ev.DomainEvent] = []
        self.at = 1000.0

    def feed(self, *messages: Message) -> list[ev.DomainEvent]:
        out: list[ev.DomainEvent] = []
        for msg in messages:
            self.at += 0.1
            out += self.tracker.feed(msg, self.at)
        self.events += out
        return out

    def kinds(self) -> list[str]:
        return [type(e).__name__ for e in self.events]

    # -- a caller -------------------------------------------------------------

    def caller_waits(self) -> None:
        self.feed(
            frame("Newchannel", CALLER_ONE, LINKEDID, LINKEDID, context="callcenter-inbound"),
            frame("Newchannel", CALLER_TWO, CALLER, LINKEDID, context="callcenter-inbound"),
            frame(
                "UserEvent",
                CALLER_TWO,
                CALLER,
                LINKEDID,
                context="callcenter-inbound",
                UserEvent="CallCenterEnqueue",
                Queue="sales",
                Account="",
            ),
        )

    def caller_presses_1(self, *, uniqueid: str = CALLER, linkedid: str = LINKEDID) -> None:
        self.feed(
            frame(
                "UserEvent",
                CALLER_TWO,
                uniqueid,
                linkedid,
                context="callcenter-callback",
                UserEvent="CallCenterCallback",
                Queue="sales",
                Number=NUMBER,
            ),
            frame("HangupRequest", CALLER_ONE, linkedid, linkedid, Cause="16"),
            frame("Hangup", CALLER_TWO, uniqueid, linkedid, Cause="16"),
            frame("Hangup", CALLER_ONE, linkedid, linkedid, Cause="16"),
        )

    # -- a callback attempt -------------------------------------------------------

    def agent_rings(self) -> None:
        self.tracker.expect_callback_leg(
            leg_id=LEG, action_id="cc-9", agent_target=AGENT, call_id="c0042"
        )
        self.feed(
            frame("Newchannel", LEG_ONE, LEG, LEG, state="Down", context="agent-sim"),
            frame("Newchannel", LEG_TWO, f"{LEG};2", LEG, state="Ring", context="agent-sim"),
            frame("Newstate", LEG_ONE, LEG, LEG, state="Ringing", context="agent-sim"),
        )

    def agent_answers_and_customer_is_dialed(self, *, response_first: bool = True) -> None:
        answered = originate_response("Success", "4")
        self.feed(
            frame("Newstate", LEG_TWO, f"{LEG};2", LEG, context="agent-sim"),
            frame("Newstate", LEG_ONE, LEG, LEG, context="agent-sim"),
            *([answered] if response_first else []),
            frame("Newchannel", CUSTOMER_NAME, CUSTOMER, LEG, state="Down", context="c-i"),
            dial("DialBegin"),
            frame("Newstate", CUSTOMER_NAME, CUSTOMER, LEG, state="Ringing", context="c-i"),
            dial("DialState", "RINGING"),
        )

    def customer_answers(self) -> None:
        self.feed(
            frame("Newstate", CUSTOMER_NAME, CUSTOMER, LEG, context="c-i"),
            dial("DialEnd", "ANSWER"),
            frame("BridgeEnter", LEG_ONE, LEG, LEG, BridgeUniqueid="b1"),
            frame("BridgeEnter", CUSTOMER_NAME, CUSTOMER, LEG, BridgeUniqueid="b1"),
        )

    def customer_hangs_up(self) -> None:
        self.feed(
            frame("HangupRequest", CUSTOMER_NAME, CUSTOMER, LEG, Cause="16"),
            frame("BridgeLeave", CUSTOMER_NAME, CUSTOMER, LEG, BridgeUniqueid="b1"),
            frame("BridgeLeave", LEG_ONE, LEG, LEG, BridgeUniqueid="b1"),
            frame("Hangup", CUSTOMER_NAME, CUSTOMER, LEG, Cause="16"),
        )

    def customer_not_reached(self, status: str, cause: str) -> None:
        self.feed(
            dial("DialEnd", status), frame("Hangup", CUSTOMER_NAME, CUSTOMER, LEG, Cause=cause)
        )

    def leg_hangs_up(self, cause: str = "16") -> None:
        self.feed(
            frame("Hangup", LEG_ONE, LEG, LEG, Cause=cause),
            frame("Hangup", LEG_TWO, f"{LEG};2", LEG, Cause=cause),
        )


# -- the caller asks -------------------------------------------------------------


def test_a_waiting_caller_pressing_1_asks_for_a_callback_then_leaves_as_usual() -> None:
    run = Run()
    run.caller_waits()
    run.caller_presses_1()
    assert run.kinds() == ["CallArrived", "CallbackRequested", "CallerHungUp", "CallEnded"]
    _, asked, hung_up, ended = run.events
    assert asked == ev.CallbackRequested(PBX, LINKEDID, NUMBER, asked.at)
    assert isinstance(hung_up, ev.CallerHungUp) and hung_up.phase == "waiting"
    assert isinstance(ended, ev.CallEnded) and ended.linkedid == LINKEDID
    assert run.tracker.live_calls == []


def test_the_callers_own_number_stands_in_when_the_event_has_none() -> None:
    run = Run()
    run.caller_waits()
    asked = run.feed(
        frame(
            "UserEvent",
            CALLER_TWO,
            CALLER,
            LINKEDID,
            UserEvent="CallCenterCallback",
            Queue="sales",
            Number="",
        )
    )
    assert asked == [ev.CallbackRequested(PBX, LINKEDID, NUMBER, run.at)]


def test_a_callback_event_from_a_channel_that_is_no_call_of_ours_is_ignored() -> None:
    run = Run()
    run.caller_waits()
    before = len(run.events)
    run.caller_presses_1(uniqueid="pbx1-1795390000.90", linkedid="pbx1-1795390000.90")
    assert run.events[before:] == []


# -- the attempt ------------------------------------------------------------------


def test_an_answered_callback_is_a_call_of_its_own_named_by_the_leg() -> None:
    run = Run()
    run.agent_rings()
    run.agent_answers_and_customer_is_dialed()
    run.customer_answers()
    run.customer_hangs_up()
    run.leg_hangs_up()
    assert run.kinds() == [
        "AgentLegRinging",
        "AgentLegAnswered",
        "Bridged",
        "CallerHungUp",
        "CallEnded",
        "AgentHungUp",
    ]
    assert {(e.linkedid, getattr(e, "leg_id", LEG)) for e in run.events} == {(LEG, LEG)}
    hung_up, ended = run.events[3], run.events[4]
    assert isinstance(hung_up, ev.CallerHungUp) and hung_up.phase == "talking"
    assert isinstance(ended, ev.CallEnded) and ended.ended_by == "caller"
    assert run.tracker.live_calls == []


def test_the_agent_hanging_up_first_ends_the_callback_by_the_agent() -> None:
    run = Run()
    run.agent_rings()
    run.agent_answers_and_customer_is_dialed()
    run.customer_answers()
    run.feed(
        frame("HangupRequest", LEG_ONE, LEG, LEG, Cause="16"),
        frame("BridgeLeave", LEG_ONE, LEG, LEG, BridgeUniqueid="b1"),
        frame("BridgeLeave", CUSTOMER_NAME, CUSTOMER, LEG, BridgeUniqueid="b1"),
        frame("Hangup", CUSTOMER_NAME, CUSTOMER, LEG, Cause="16"),
    )
    run.leg_hangs_up()
    assert run.kinds()[3:] == ["CallerHungUp", "CallEnded", "AgentHungUp"]
    ended = run.events[4]
    assert isinstance(ended, ev.CallEnded) and ended.ended_by == "agent"


def test_an_agent_who_does_not_answer_fails_the_offer_and_nothing_else() -> None:
    run = Run()
    run.agent_rings()
    run.feed(originate_response("Failure", "3"))
    run.leg_hangs_up(cause="19")
    assert run.kinds() == ["AgentLegRinging", "AgentLegFailed"]
    failed = run.events[1]
    assert isinstance(failed, ev.AgentLegFailed)
    assert (failed.linkedid, failed.leg_id, failed.reason) == (LEG, LEG, "no_answer")
    assert run.tracker.live_calls == []


def unreached(status: str, cause: str) -> Run:
    run = Run()
    run.agent_rings()
    run.agent_answers_and_customer_is_dialed()
    run.customer_not_reached(status, cause)
    run.leg_hangs_up()
    return run


def test_a_customer_who_does_not_answer_is_unreached_and_no_offer_fails() -> None:
    run = unreached("NOANSWER", "16")
    assert run.kinds() == ["AgentLegRinging", "AgentLegAnswered", "CustomerUnreached", "CallEnded"]
    missed, ended = run.events[2], run.events[3]
    assert missed == ev.CustomerUnreached(PBX, LEG, LEG, "no_answer", missed.at)
    assert ended == ev.CallEnded(PBX, LEG, None, ended.at)
    assert run.tracker.live_calls == []


def test_the_attempt_ends_only_when_the_agents_leg_is_gone() -> None:
    run = Run()
    run.agent_rings()
    run.agent_answers_and_customer_is_dialed()
    run.customer_not_reached("NOANSWER", "16")
    assert run.kinds()[-1] == "CustomerUnreached"
    assert run.tracker.live_calls == [LEG]


def test_a_busy_or_congested_customer_is_told_apart() -> None:
    reasons = []
    for status, cause in (("BUSY", "17"), ("CONGESTION", "34"), ("CHANUNAVAIL", "0")):
        missed = [e for e in unreached(status, cause).events if isinstance(e, ev.CustomerUnreached)]
        reasons += [m.reason for m in missed]
    assert reasons == ["busy", "congestion", "unavailable"]


def test_a_dial_that_never_made_a_channel_is_an_unavailable_customer() -> None:
    run = Run()
    run.agent_rings()
    run.feed(
        frame("Newstate", LEG_ONE, LEG, LEG, context="agent-sim"),
        originate_response("Success", "4"),
    )
    run.leg_hangs_up()
    assert run.kinds() == ["AgentLegRinging", "AgentLegAnswered", "CustomerUnreached", "CallEnded"]
    missed = run.events[2]
    assert isinstance(missed, ev.CustomerUnreached) and missed.reason == "unavailable"


def test_an_answer_reported_after_the_busy_customer_left_is_still_just_answered() -> None:
    # The OriginateResponse races the dialplan: it may come after the Dial ended.
    run = Run()
    run.agent_rings()
    run.agent_answers_and_customer_is_dialed(response_first=False)
    run.customer_not_reached("BUSY", "17")
    run.feed(originate_response("Success", "4"))
    run.leg_hangs_up()
    assert run.kinds() == ["AgentLegRinging", "AgentLegAnswered", "CustomerUnreached", "CallEnded"]


def test_an_agent_who_hangs_up_while_the_customer_rings_did_not_take_the_attempt() -> None:
    run = Run()
    run.agent_rings()
    run.agent_answers_and_customer_is_dialed()
    run.feed(
        frame("HangupRequest", LEG_ONE, LEG, LEG, Cause="16"),
        dial("DialEnd", "CANCEL"),
        frame("Hangup", CUSTOMER_NAME, CUSTOMER, LEG, Cause="16"),
    )
    run.leg_hangs_up()
    assert run.kinds() == ["AgentLegRinging", "AgentLegAnswered", "AgentLegFailed", "CallEnded"]
    failed, ended = run.events[2], run.events[3]
    assert isinstance(failed, ev.AgentLegFailed) and failed.reason == "unconfirmed"
    assert isinstance(ended, ev.CallEnded) and ended.ended_by is None


def test_a_device_the_agents_local_leg_dials_is_not_the_customer() -> None:
    run = Run()
    run.agent_rings()
    device = "PJSIP/agent1001-00000009"
    run.feed(
        frame("Newchannel", device, "pbx1-1795390100.19", LEG, state="Down", context="c-a"),
        Message.build(
            ("Event", "DialBegin"),
            ("Channel", LEG_TWO),
            ("Uniqueid", f"{LEG};2"),
            ("Linkedid", LEG),
            ("DestChannel", device),
            ("DestUniqueid", "pbx1-1795390100.19"),
        ),
    )
    run.agent_answers_and_customer_is_dialed()
    run.customer_answers()
    # The call ends with the customer, whatever the agent's device still does.
    run.customer_hangs_up()
    assert run.kinds() == [
        "AgentLegRinging",
        "AgentLegAnswered",
        "Bridged",
        "CallerHungUp",
        "CallEnded",
    ]
