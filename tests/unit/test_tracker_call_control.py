"""The tracker around agents' call control: a caller on hold is not a new call, and
a conference's own device states are not phones."""

from __future__ import annotations

from pathlib import Path

from callcenter.ami import events as ev
from callcenter.ami.message import Message
from callcenter.ami.tracker import CallTracker
from callcenter.replay import replay_events

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ami"
CALLER = "pbx1-1795388904.2385"
LINKEDID = "pbx1-1795388904.2384"


def _item(uniqueid: str, linkedid: str, channel: str, **headers: str) -> Message:
    values = {
        "Event": "CoreShowChannel",
        "Channel": channel,
        "ChannelStateDesc": "Up",
        "CallerIDNum": "+982112345678",
        "Uniqueid": uniqueid,
        "Linkedid": linkedid,
        "Duration": "00:01:05",
        "BridgeId": "",
    }
    return Message.build(**(values | headers))


def _held_caller_snapshot(*, agent_in_conference: bool) -> list[Message]:
    """A fresh tracker's first resync (a restarted service): a caller waiting in
    callcenter-wait whose CC_CALL_ID is c0016, and maybe an agent in ConfBridge(c0016)."""
    snapshot = [
        _item(LINKEDID, LINKEDID, "Local/100@callcenter-inbound-0000042b;1", Context="c-i"),
        _item(
            CALLER,
            LINKEDID,
            "Local/100@callcenter-inbound-0000042b;2",
            Context="callcenter-wait",
            Application="Wait",
            ApplicationData="600",
        ),
    ]
    if agent_in_conference:
        snapshot.append(
            _item(
                "agentleg-c0016-1",
                "agentleg-c0016-1",
                "Local/1001@agent-sim-0000042c;1",
                Context="callcenter-conf",
                Application="ConfBridge",
                ApplicationData="c0016",
                BridgeId="5a5f1093-98ca-47a2-8d76-d7bd4af5be34",
            )
        )
    return snapshot


def _adopt(snapshot: list[Message]) -> list[ev.DomainEvent]:
    tracker = CallTracker("pbx1")
    assert tracker.calls_needing_variables(snapshot) == [CALLER]
    variables = {CALLER: {"CC_QUEUE": "sales", "CC_ACCOUNT": "", "CC_CALL_ID": "c0016"}}
    return tracker.resync(snapshot, at=1000.0, variables=variables)


def test_a_caller_on_hold_while_its_agent_waits_in_the_conference_is_taken_over_on_hold() -> None:
    """Not a new call to offer: the call of an earlier run, on hold, whose agent
    leg is in its conference (the orchestrator knows whose leg that is)."""
    events = _adopt(_held_caller_snapshot(agent_in_conference=True))
    arrived = [e for e in events if isinstance(e, ev.CallArrived)]
    assert [(e.linkedid, e.in_conference, e.on_hold) for e in arrived] == [(LINKEDID, True, True)]
    bridged = [e for e in events if isinstance(e, ev.Bridged)]
    assert [(e.linkedid, e.leg_id) for e in bridged] == [(LINKEDID, "agentleg-c0016-1")]


def test_a_caller_talking_in_its_conference_is_taken_over_with_its_legs() -> None:
    bridge = "5a5f1093-98ca-47a2-8d76-d7bd4af5be34"
    snapshot = [
        _item(LINKEDID, LINKEDID, "Local/100@callcenter-inbound-0000042b;1", Context="c-i"),
        _item(
            CALLER,
            LINKEDID,
            "Local/100@callcenter-inbound-0000042b;2",
            Context="callcenter-conf",
            Application="ConfBridge",
            ApplicationData="c0016",
            BridgeId=bridge,
        ),
        _item(
            "agentleg-c0016-1",
            "agentleg-c0016-1",
            "Local/1001@agent-sim-0000042c;1",
            Context="callcenter-conf",
            Application="ConfBridge",
            ApplicationData="c0016",
            BridgeId=bridge,
        ),
        _item(
            "pbx1-1795388904.2390",
            "pbx1-1795388904.2390",
            "CBAnn/c0016-0000042d;2",
            Context="default",
            Application="ConfBridge",
            ApplicationData="c0016",
            BridgeId=bridge,
        ),
    ]
    events = _adopt(snapshot)
    arrived = [e for e in events if isinstance(e, ev.CallArrived)]
    assert [(e.linkedid, e.in_conference, e.on_hold) for e in arrived] == [(LINKEDID, True, False)]
    assert [e.leg_id for e in events if isinstance(e, ev.Bridged)] == ["agentleg-c0016-1"]


def test_a_caller_back_in_the_queue_with_its_conference_gone_is_adopted() -> None:
    events = _adopt(_held_caller_snapshot(agent_in_conference=False))
    arrived = [e for e in events if isinstance(e, ev.CallArrived)]
    assert [(e.linkedid, e.adopted) for e in arrived] == [(LINKEDID, True)]


def test_a_conference_and_its_announcer_are_not_phones() -> None:
    events = list(replay_events(FIXTURES / "16-conference-hold-warm-transfer.ami"))
    assert not [e for e in events if isinstance(e, ev.PhoneReachability)]
    kinds = [type(e).__name__ for e in events]
    assert kinds.count("AgentHungUp") == 2 and kinds.count("CallEnded") == 1
