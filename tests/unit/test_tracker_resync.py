"""The tracker after a reconnect or a PBX restart: nothing lost, nothing confused.

The captures give the calls; the snapshot a resync gets is built the way
CoreShowChannels describes channels (capture 10 shows the real shape).
"""

from __future__ import annotations

from pathlib import Path

from callcenter.ami import events as ev
from callcenter.ami.codec import AmiCodec
from callcenter.ami.message import Message
from callcenter.ami.tracker import CallTracker
from callcenter.replay import announce, read_actions, split_connections

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ami"


def _messages(capture: str) -> list[Message]:
    streams = split_connections((FIXTURES / capture).read_bytes())
    return [f for s in streams for f in AmiCodec().feed(s) if isinstance(f, Message)]


def _originates(capture: str) -> dict[str, Message]:
    return {
        a.message.action_id: a.message
        for a in read_actions((FIXTURES / capture).with_suffix(".actions"))
        if a.message.action_id and a.message.action == "Originate"
    }


def _kinds(events: list[ev.DomainEvent]) -> list[str]:
    return [type(e).__name__ for e in events]


def _item(
    uniqueid: str,
    linkedid: str,
    channel: str,
    *,
    context: str = "callcenter-wait",
    state: str = "Up",
    bridge: str = "",
    duration: str = "00:00:05",
    number: str = "+4681234567",
) -> Message:
    return Message.build(
        Event="CoreShowChannel",
        Channel=channel,
        ChannelStateDesc=state,
        CallerIDNum=number,
        CallerIDName="Jonas Berg",
        Context=context,
        Uniqueid=uniqueid,
        Linkedid=linkedid,
        Duration=duration,
        BridgeId=bridge,
    )


def _fed_until(
    tracker: CallTracker, capture: str, stop: str, *, announce_offers: bool = True
) -> None:
    """Feed a capture up to and including the first ``stop`` event."""
    originates = _originates(capture)
    for i, msg in enumerate(_messages(capture)):
        if announce_offers and msg.is_response and msg.action_id in originates:
            announce(tracker, originates[msg.action_id])
        tracker.feed(msg, float(i))
        if msg.event == stop:
            return
    raise AssertionError(f"{stop} not in {capture}")


def test_a_call_gone_while_disconnected_ends_lost_not_abandoned() -> None:
    tracker = CallTracker("pbx1")
    _fed_until(tracker, "04-abandon-waiting.ami", "UserEvent")
    assert tracker.live_calls == ["pbx1-1795387858.16"]
    tracker.connection_lost()
    events = tracker.resync([], at=500.0)
    assert events == [
        ev.CallerHungUp("pbx1", "pbx1-1795387858.16", "waiting", 500.0),
        ev.CallEnded("pbx1", "pbx1-1795387858.16", None, 500.0, cause="lost_during_disconnect"),
        ev.LinkResynced("pbx1", frozenset(), False, 500.0),
    ]
    assert tracker.live_calls == []


def test_an_offer_whose_leg_never_appeared_fails_lost_and_the_caller_still_waits() -> None:
    originates = _originates("05-abandon-ringing.ami")
    tracker = CallTracker("pbx1")
    _fed_until(tracker, "05-abandon-ringing.ami", "UserEvent", announce_offers=False)
    announce(tracker, originates["cc-3"])  # sent, then the link died before any answer
    tracker.connection_lost()
    caller = [
        _item(
            "pbx1-1795387862.18", "pbx1-1795387862.18", "Local/100@callcenter-inbound-0000000a;1"
        ),
        _item(
            "pbx1-1795387862.19", "pbx1-1795387862.18", "Local/100@callcenter-inbound-0000000a;2"
        ),
    ]
    events = tracker.resync(caller, at=500.0)
    assert events == [
        ev.AgentLegFailed(
            "pbx1",
            "pbx1-1795387862.18",
            "agentleg-c0005-1",
            "Local/2001@agent-sim",
            "lost_during_disconnect",
            500.0,
        ),
        ev.LinkResynced("pbx1", frozenset({"pbx1-1795387862.18"}), False, 500.0),
    ]


def test_a_ringing_leg_still_up_after_resync_ends_by_its_hangup_cause() -> None:
    tracker = CallTracker("pbx1")
    _fed_until(tracker, "02-agent-no-answer.ami", "DialState")
    tracker.connection_lost()
    live = [
        _item("pbx1-1795387846.5", "pbx1-1795387846.5", "Local/100@callcenter-inbound-00000002;1"),
        _item("pbx1-1795387846.6", "pbx1-1795387846.5", "Local/100@callcenter-inbound-00000002;2"),
        _item("agentleg-c0002-1", "agentleg-c0002-1", "Local/2001@agent-sim-00000004;1",
              context="callcenter-connect", state="Ringing"),
        _item("agentleg-c0002-1;2", "agentleg-c0002-1", "Local/2001@agent-sim-00000004;2",
              context="agent-sim", state="Ring"),
    ]  # fmt: skip
    assert _kinds(tracker.resync(live, at=50.0)) == ["LinkResynced"]
    # The OriginateResponse went to the old connection; the Hangup cause tells.
    hangup = next(
        m
        for m in _messages("02-agent-no-answer.ami")
        if m.event == "Hangup" and m.get("Uniqueid") == "agentleg-c0002-1"
    )
    (failed,) = tracker.feed(hangup, 60.0)
    assert isinstance(failed, ev.AgentLegFailed) and failed.reason == "no_answer"


def test_an_answer_and_bridge_missed_during_the_cut_are_found_in_the_snapshot() -> None:
    tracker = CallTracker("pbx1")
    _fed_until(tracker, "01-happy-path.ami", "DialState")
    tracker.connection_lost()
    caller = "pbx1-1795387815.0"
    bridge = "b0000000-0000-0000-0000-000000000001"
    live = [
        _item("pbx1-1795387815.0", caller, "Local/100@callcenter-inbound-00000000;1"),
        _item("pbx1-1795387815.1", caller, "Local/100@callcenter-inbound-00000000;2",
              bridge=bridge),
        _item("agentleg-c0001", caller, "Local/1001@agent-sim-00000001;1",
              context="callcenter-connect", bridge=bridge),
    ]  # fmt: skip
    events = tracker.resync(live, at=50.0)
    assert _kinds(events) == ["AgentLegAnswered", "Bridged", "LinkResynced"]


def test_a_caller_that_arrived_while_disconnected_is_adopted_with_its_waiting_time() -> None:
    tracker = CallTracker("pbx1")
    snapshot = [m for m in _messages("10-resync-snapshot.ami") if m.event == "CoreShowChannel"]
    # Of the ten channels (spy legs, an old agent leg, a talking call, a waiting
    # caller), the callers to adopt are the one talking with a leg of ours
    # (agentleg-c0010-1 shares its bridge) and the one waiting unbridged.
    wanted = tracker.calls_needing_variables(snapshot)
    assert wanted == ["pbx1-1795387896.50", "pbx1-1795387895.48"]
    variables = {"pbx1-1795387895.48": {"CC_QUEUE": "sales", "CC_ACCOUNT": ""}}
    events = tracker.resync(snapshot, at=1000.0, variables=variables)
    arrived = events[0]
    assert isinstance(arrived, ev.CallArrived)
    assert arrived.adopted and arrived.queue == "sales"
    assert arrived.caller_number == "+4681234567"
    item = next(m for m in snapshot if m.get("Uniqueid") == "pbx1-1795387895.48")
    hours, minutes, seconds = (int(p) for p in (item.get("Duration") or "").split(":"))
    assert arrived.at == 1000.0 - (hours * 3600 + minutes * 60 + seconds)
    assert _kinds(events) == ["CallArrived", "LinkResynced"]
    # The old agent leg of scenario 09, bridged to nobody, is for the service to
    # hang up: nobody will ever act on it otherwise.
    assert events[-1].stale_legs == frozenset({"agentleg-c0009-1"})  # type: ignore[union-attr]
    # Its hangup later ends it as an ordinary abandoned call.
    hangup = Message.build(
        Event="Hangup", Uniqueid="pbx1-1795387895.48", Linkedid=arrived.linkedid, Cause="16"
    )
    one = Message.build(Event="Hangup", Uniqueid=arrived.linkedid, Linkedid=arrived.linkedid)
    ended = tracker.feed(one, 1001.0) + tracker.feed(hangup, 1001.0)
    assert _kinds(ended) == ["CallerHungUp", "CallEnded"]


def test_a_channel_first_seen_after_the_reconnect_is_not_taken_for_gone() -> None:
    tracker = CallTracker("pbx1")
    tracker.connection_lost()
    messages = _messages("04-abandon-waiting.ami")
    enqueue = next(i for i, m in enumerate(messages) if m.event == "UserEvent")
    for i, msg in enumerate(messages[: enqueue + 1]):
        tracker.feed(msg, float(i))
    # The snapshot was taken just before these channels came up.
    assert _kinds(tracker.resync([], at=99.0)) == ["LinkResynced"]
    assert tracker.live_calls == ["pbx1-1795387858.16"]


def test_a_restarted_pbx_ends_every_call_before_recycled_names_come_back() -> None:
    tracker = CallTracker("pbx1")
    _fed_until(tracker, "01-happy-path.ami", "BridgeEnter")
    booted = Message.build(Event="FullyBooted", Uptime="3", LastReload="3")
    events = tracker.feed(booted, 1000.0)
    assert [(type(e).__name__, getattr(e, "cause", None)) for e in events][-1] == (
        "CallEnded",
        "lost_during_disconnect",
    )
    assert tracker.live_calls == []
    (resynced,) = tracker.resync([], at=1001.0)
    assert isinstance(resynced, ev.LinkResynced) and resynced.restarted
    # A new channel reusing an old name is a stranger, not the old caller.
    reused = Message.build(
        Event="Hangup", Channel="Local/100@callcenter-inbound-00000000;2",
        Uniqueid="pbx1-1795399999.1", Linkedid="pbx1-1795399999.0",
    )  # fmt: skip
    assert tracker.feed(reused, 1002.0) == []


def test_a_pbx_that_was_not_restarted_keeps_its_calls_across_logins() -> None:
    tracker = CallTracker("pbx1")
    _fed_until(tracker, "01-happy-path.ami", "BridgeEnter")
    # The capture's own FullyBooted said Uptime 20 at "time" 1: booted at -19.
    later = Message.build(Event="FullyBooted", Uptime="1080")
    assert tracker.feed(later, 1060.5) == []
    assert tracker.live_calls == ["pbx1-1795387815.0"]
    # Uptime still grew, but the boot time jumped by minutes: it restarted.
    assert tracker.feed(Message.build(Event="FullyBooted", Uptime="1090"), 1400.0) != []
    assert tracker.live_calls == []


def test_phone_reachability_follows_contact_and_device_state_once_per_change() -> None:
    tracker = CallTracker("pbx1")
    events = [
        e
        for i, m in enumerate(_messages("15-pjsip-agent-register-answer-unregister.ami"))
        for e in tracker.feed(m, float(i))
        if isinstance(e, ev.PhoneReachability)
    ]
    assert [(e.device, e.reachable) for e in events] == [
        ("PJSIP/agent1001", True),
        ("PJSIP/agent1001", False),
    ]


def test_a_local_leg_optimized_away_lives_on_in_the_agents_device_channel() -> None:
    tracker = CallTracker("pbx1")
    _fed_until(tracker, "01-happy-path.ami", "BridgeEnter")
    _fed_until_second_bridge_enter(tracker)
    leg, device = "agentleg-c0001", "pbx1-1795387815.9"
    caller_bridge = "pbx1-bridge-caller"
    steps = [
        Message.build(Event="DialBegin", Uniqueid=f"{leg};2", DestUniqueid=device,
                      DestChannel="PJSIP/agent1001-00000001"),
        Message.build(Event="LocalOptimizationBegin", LocalOneUniqueid=leg,
                      LocalTwoUniqueid=f"{leg};2", SourceUniqueid=device, Id="1"),
        Message.build(Event="BridgeEnter", Uniqueid=device, Linkedid="pbx1-1795387815.0",
                      Channel="PJSIP/agent1001-00000001", BridgeUniqueid=caller_bridge),
        Message.build(Event="BridgeLeave", Uniqueid=leg, BridgeUniqueid=caller_bridge),
        Message.build(Event="Hangup", Uniqueid=leg, Cause="16"),
        Message.build(Event="Hangup", Uniqueid=f"{leg};2", Cause="16"),
        Message.build(Event="LocalOptimizationEnd", LocalOneUniqueid=leg, Success="Yes", Id="1"),
    ]  # fmt: skip
    events = [e for i, m in enumerate(steps) for e in tracker.feed(m, 100.0 + i)]
    assert not any(isinstance(e, ev.AgentHungUp | ev.CallEnded) for e in events)
    (gone,) = tracker.feed(Message.build(Event="Hangup", Uniqueid=device, Cause="16"), 200.0)
    assert isinstance(gone, ev.AgentHungUp) and gone.leg_id == leg
    assert tracker.leg_channel(leg) is None


def _fed_until_second_bridge_enter(tracker: CallTracker) -> None:
    """01 puts the caller's ;2 and the leg in one bridge with two BridgeEnters."""
    messages = _messages("01-happy-path.ami")
    enters = [i for i, m in enumerate(messages) if m.event == "BridgeEnter"]
    for i in range(enters[0] + 1, enters[1] + 1):
        tracker.feed(messages[i], float(i))


def test_an_agent_who_picks_up_after_the_caller_left_ends_the_offer_and_the_call() -> None:
    tracker = CallTracker("pbx1")
    _fed_until(tracker, "01-happy-path.ami", "DialState")
    caller, leg = "pbx1-1795387815.0", "agentleg-c0001"
    steps = [
        Message.build(Event="Hangup", Uniqueid=caller, Linkedid=caller, Cause="16"),
        Message.build(Event="Hangup", Uniqueid="pbx1-1795387815.1", Linkedid=caller, Cause="16"),
        Message.build(Event="OriginateResponse", Response="Success", Reason="4", Uniqueid=leg),
        Message.build(Event="Hangup", Uniqueid=leg, Linkedid=leg, Cause="16"),
        Message.build(Event="Hangup", Uniqueid=f"{leg};2", Linkedid=leg, Cause="16"),
    ]
    events = [e for i, m in enumerate(steps) for e in tracker.feed(m, 100.0 + i)]
    assert _kinds(events) == ["CallerHungUp", "AgentLegFailed", "CallEnded"]
    failed = events[1]
    assert isinstance(failed, ev.AgentLegFailed) and failed.reason == "canceled"
    assert tracker.live_calls == []


def test_a_caller_talking_with_a_leg_of_an_earlier_run_is_adopted_with_that_leg() -> None:
    """A restarted service meets capture 10's talking call: it is taken over, its
    agent leg bridged, and the caller's hangup ends it as an ordinary call."""
    tracker = CallTracker("pbx1")
    messages = _messages("10-resync-snapshot.ami")
    snapshot = [m for m in messages if m.event == "CoreShowChannel"]
    talking = "pbx1-1795387896.50"
    variables = {talking: {"CC_QUEUE": "support", "CC_ACCOUNT": "40012345"}}
    events = tracker.resync(snapshot, at=1000.0, variables=variables)
    assert _kinds(events) == ["CallArrived", "Bridged", "LinkResynced"]
    arrived, bridged, resynced = events
    assert isinstance(arrived, ev.CallArrived) and arrived.queue == "support"
    assert isinstance(bridged, ev.Bridged) and bridged.leg_id == "agentleg-c0010-1"
    assert bridged.linkedid == arrived.linkedid == "pbx1-1795387896.49"
    assert isinstance(resynced, ev.LinkResynced)
    assert "agentleg-c0010-1" not in resynced.stale_legs
