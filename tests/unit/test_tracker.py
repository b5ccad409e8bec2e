"""The call tracker: raw AMI in, domain events out (captures of a real Asterisk 22)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from callcenter.ami import events as ev
from callcenter.ami.codec import AmiCodec, encode_message
from callcenter.ami.message import Message
from callcenter.ami.tracker import CallTracker, wants_frame
from callcenter.replay import announce, read_actions, replay_events, split_connections

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "ami"


def _messages(capture: str) -> list[Message]:
    streams = split_connections((FIXTURES / capture).read_bytes())
    return [f for s in streams for f in AmiCodec().feed(s) if isinstance(f, Message)]


def _events(capture: str) -> list[ev.DomainEvent]:
    return list(replay_events(FIXTURES / capture))


def _kinds(events: list[ev.DomainEvent]) -> list[str]:
    return [type(e).__name__ for e in events]


def _timeless(events: list[ev.DomainEvent]) -> list[ev.DomainEvent]:
    return [dataclasses.replace(e, at=0.0) for e in events]


def _originates(capture: str) -> dict[str, Message]:
    return {
        a.message.action_id: a.message
        for a in read_actions((FIXTURES / capture).with_suffix(".actions"))
        if a.message.action_id and a.message.action == "Originate"
    }


def test_happy_path_reports_the_whole_life_of_the_call_in_order() -> None:
    events = _events("01-happy-path.ami")
    assert _kinds(events) == [
        "CallArrived",
        "AgentLegRinging",
        "AgentLegAnswered",
        "Bridged",
        "CallerHungUp",
        "CallEnded",
        "AgentHungUp",
    ]
    arrived = events[0]
    assert isinstance(arrived, ev.CallArrived)
    assert arrived.caller_channel == "Local/100@callcenter-inbound-00000000;2"
    assert arrived.caller_uniqueid == "pbx1-1795387815.1"
    assert (arrived.caller_number, arrived.caller_name) == ("+14155550123", "Alice Martin")
    assert (arrived.queue, arrived.account) == ("sales", "")
    assert all(e.linkedid == "pbx1-1795387815.0" for e in events)


def test_account_digits_reach_the_call() -> None:
    (arrived, *_) = _events("04-abandon-waiting.ami")
    assert isinstance(arrived, ev.CallArrived)
    assert (arrived.queue, arrived.account) == ("support", "40012345")


def test_caller_hanging_up_during_ringing_cancels_the_offer_before_the_call_ends() -> None:
    events = _events("05-abandon-ringing.ami")
    assert _kinds(events)[-3:] == ["CallerHungUp", "AgentLegFailed", "CallEnded"]
    hung_up, failed, ended = events[-3:]
    assert isinstance(hung_up, ev.CallerHungUp) and hung_up.phase == "ringing"
    assert isinstance(failed, ev.AgentLegFailed) and failed.reason == "canceled"
    assert isinstance(ended, ev.CallEnded) and ended.ended_by == "caller"


def test_unreachable_pjsip_agent_fails_at_once_without_any_channel() -> None:
    failed = [e for e in _events("12-agent-unreachable.ami") if isinstance(e, ev.AgentLegFailed)]
    assert [(f.leg_id, f.agent_target, f.reason) for f in failed] == [
        ("agentleg-c0012-1", "PJSIP/agent1001", "unavailable")
    ]


def test_no_answer_and_busy_are_told_apart() -> None:
    reasons = [
        e.reason
        for capture in ("02-agent-no-answer.ami", "03-agent-busy.ami")
        for e in _events(capture)
        if isinstance(e, ev.AgentLegFailed)
    ]
    assert reasons == ["no_answer", "busy"]


def test_agent_hanging_up_first_ends_the_call_by_the_agent() -> None:
    events = _events("06-agent-hangs-up-first.ami")
    assert _kinds(events).index("AgentHungUp") < _kinds(events).index("CallerHungUp")
    ended = events[-1]
    assert isinstance(ended, ev.CallEnded) and ended.ended_by == "agent"


def test_agent_leg_with_the_callers_linkedid_is_never_taken_for_the_caller() -> None:
    # After BridgeEnter the agent leg carries the caller's Linkedid (wire fact);
    # its hangup must be the agent's, and the caller hangs up exactly once.
    events = _events("01-happy-path.ami")
    assert _kinds(events).count("CallerHungUp") == 1
    (agent_gone,) = [e for e in events if isinstance(e, ev.AgentHungUp)]
    assert agent_gone.leg_id == "agentleg-c0001"


def test_conference_legs_are_tied_to_the_call_by_call_id_not_linkedid() -> None:
    events = _events("16-conference-hold-warm-transfer.ami")
    bridged = [e for e in events if isinstance(e, ev.Bridged)]
    assert [(b.leg_id, b.linkedid) for b in bridged] == [
        ("agentleg-c0016-1", "pbx1-1795388904.2384"),
        ("agentleg-c0016-2", "pbx1-1795388904.2384"),
    ]
    ended = events[_kinds(events).index("CallEnded")]
    assert isinstance(ended, ev.CallEnded) and ended.ended_by == "caller"


def test_hold_in_the_conference_is_not_a_new_conversation() -> None:
    # The caller leaves the ConfBridge for hold and comes back: one Bridged per leg.
    events = _events("16-conference-hold-warm-transfer.ami")
    assert _kinds(events).count("Bridged") == 2


def test_redirect_out_of_the_bridge_and_a_second_offer_keep_one_call() -> None:
    events = _events("08-transfer.ami")
    assert {e.linkedid for e in events} == {"pbx1-1795387878.32"}
    assert [e.leg_id for e in events if isinstance(e, ev.Bridged)] == [
        "agentleg-c0008-1",
        "agentleg-c0008-2",
    ]
    assert _kinds(events).count("CallArrived") == 1


def test_supervisor_and_leftover_channels_never_become_calls() -> None:
    events = _events("09-supervisor-whisper.ami") + _events("10-resync-snapshot.ami")
    arrived = [e.linkedid for e in events if isinstance(e, ev.CallArrived)]
    assert arrived == ["pbx1-1795387888.40", "pbx1-1795387895.47", "pbx1-1795387896.49"]
    assert not any("spy" in getattr(e, "leg_id", "") for e in events)


def test_a_snapshot_list_fed_to_the_tracker_changes_nothing() -> None:
    tracker = CallTracker("pbx1")
    snapshot = [m for m in _messages("10-resync-snapshot.ami") if m.event == "CoreShowChannel"]
    assert len(snapshot) == 10
    assert [e for m in snapshot for e in tracker.feed(m, 1.0)] == []
    assert tracker.live_calls == []


def test_a_recycled_channel_name_is_a_different_channel() -> None:
    tracker = CallTracker("pbx1")
    for i, msg in enumerate(_messages("04-abandon-waiting.ami")):
        tracker.feed(msg, float(i))
    reuse = dict(
        Channel="Local/200@callcenter-inbound-00000007;2",
        Uniqueid="pbx1-1795399999.1",
        Linkedid="pbx1-1795399999.0",
    )
    assert tracker.feed(Message.build(Event="Newchannel", **reuse), 100.0) == []
    assert tracker.feed(Message.build(Event="Hangup", Cause="16", **reuse), 101.0) == []


def test_the_same_capture_always_gives_the_same_events() -> None:
    assert _events("16-conference-hold-warm-transfer.ami") == _events(
        "16-conference-hold-warm-transfer.ami"
    )


def test_an_offer_announced_after_its_response_is_caught_up_on_the_next_frame() -> None:
    originates = _originates("01-happy-path.ami")
    tracker = CallTracker("pbx1")
    events: list[ev.DomainEvent] = []
    for i, msg in enumerate(_messages("01-happy-path.ami")):
        events += tracker.feed(msg, float(i))
        if msg.event == "OriginateResponse" and msg.action_id == "cc-3":
            announce(tracker, originates["cc-3"])
    # The leg's phone is already up by then, so only its ringing is lost.
    assert _kinds(events) == [
        "CallArrived",
        "AgentLegAnswered",
        "Bridged",
        "CallerHungUp",
        "CallEnded",
        "AgentHungUp",
    ]


def test_an_offer_announced_before_the_call_arrives_binds_when_its_leg_shows_up() -> None:
    originates = _originates("02-agent-no-answer.ami")
    tracker = CallTracker("pbx1")
    for action in originates.values():
        announce(tracker, action)
    events: list[ev.DomainEvent] = []
    for i, msg in enumerate(_messages("02-agent-no-answer.ami")):
        events += tracker.feed(msg, float(i))
    assert _timeless(events) == _timeless(_events("02-agent-no-answer.ami"))


def test_announcing_the_same_offer_twice_reports_it_once() -> None:
    originates = _originates("01-happy-path.ami")
    tracker = CallTracker("pbx1")
    events: list[ev.DomainEvent] = []
    for i, msg in enumerate(_messages("01-happy-path.ami")):
        if msg.is_response and msg.action_id == "cc-3":
            announce(tracker, originates["cc-3"])
            announce(tracker, originates["cc-3"])
        events += tracker.feed(msg, float(i))
    assert _kinds(events).count("Bridged") == 1
    assert _kinds(events).count("AgentLegAnswered") == 1


def test_the_frame_filter_changes_no_domain_event_of_any_capture() -> None:
    """The live link skips frames the tracker never reads; every capture must give
    the same domain events with and without that filter."""
    for capture in sorted(FIXTURES.glob("*.ami")):
        streams = split_connections(capture.read_bytes())
        for stream in streams:
            codec = AmiCodec(wanted=wants_frame)
            filtered = [f for f in codec.feed(stream) if isinstance(f, Message)]
            full = [f for f in AmiCodec().feed(stream) if isinstance(f, Message)]
            assert codec.skipped > 0 or len(full) < 20, capture.name
            kept = [m for m in full if wants_frame(encode_message(m)[:-4])]
            assert filtered == kept
        assert _timeless(list(replay_events(capture, wanted=wants_frame))) == _timeless(
            _events(capture.name)
        ), capture.name


# -- answer confirmation and congestion (no capture has them: frames as Asterisk
# shapes them, a caller's Local pair in callcenter-inbound and an offer's leg) --------

CALL = "pbx1-1795400000.0"
CALLER_TWO = "Local/100@callcenter-inbound-00000040;2"
LEG = "agentleg-c0100-1"
LEG_ONE = "PJSIP/outbound-trunk-00000007"
TARGET = "PJSIP/+493012345678@outbound-trunk"


def _channel(event: str, uniqueid: str, name: str, linkedid: str, **extra: str) -> Message:
    return Message.build(Event=event, Channel=name, Uniqueid=uniqueid, Linkedid=linkedid, **extra)


def _feed(tracker: CallTracker, *frames: Message) -> list[ev.DomainEvent]:
    out: list[ev.DomainEvent] = []
    for frame in frames:
        out += tracker.feed(frame, 10.0)
    return out


def _offer_answered(*, must_bridge: bool = True) -> CallTracker:
    """A caller waits; an offer to an outside number rings and is answered (its
    OriginateResponse Success): the far end is now asked to press 1."""
    tracker = CallTracker("pbx1")
    _feed(
        tracker,
        _channel("Newchannel", CALL, "Local/100@callcenter-inbound-00000040;1", CALL),
        _channel("Newchannel", "pbx1-1795400000.1", CALLER_TWO, CALL),
        _channel(
            "UserEvent", "pbx1-1795400000.1", CALLER_TWO, CALL,
            UserEvent="CallCenterEnqueue", Queue="sales", CallerIDNum="+14155550123",
        ),
    )  # fmt: skip
    tracker.expect_agent_leg(
        leg_id=LEG,
        action_id="cc-7",
        agent_target=TARGET,
        caller_channel=CALLER_TWO,
        call_id="c0100",
        linkedid=CALL,
        must_bridge=must_bridge,
    )
    _feed(
        tracker,
        _channel("Newchannel", LEG, LEG_ONE, LEG, ChannelStateDesc="Down"),
        _channel("Newstate", LEG, LEG_ONE, LEG, ChannelStateDesc="Ringing"),
        _channel("Newstate", LEG, LEG_ONE, LEG, ChannelStateDesc="Up"),
        Message.build(
            Event="OriginateResponse", ActionID="cc-7", Response="Success", Channel=LEG_ONE,
            Context="callcenter-connect", Exten="s", Reason="4", Uniqueid=LEG,
        ),
    )  # fmt: skip
    return tracker


def _leg_hangs_up(tracker: CallTracker, cause: str = "16") -> list[ev.DomainEvent]:
    return _feed(tracker, _channel("Hangup", LEG, LEG_ONE, LEG, Cause=cause))


def _caller_hangs_up(tracker: CallTracker) -> list[ev.DomainEvent]:
    one = "Local/100@callcenter-inbound-00000040;1"
    return _feed(
        tracker,
        _channel("HangupRequest", CALL, one, CALL, Cause="0"),
        _channel("Hangup", CALL, one, CALL, Cause="0"),
        _channel("Hangup", "pbx1-1795400000.1", CALLER_TWO, CALL, Cause="16"),
    )


def test_an_answered_offer_hung_up_before_its_bridge_fails_unconfirmed() -> None:
    tracker = _offer_answered()
    events = _leg_hangs_up(tracker)
    assert events == [ev.AgentLegFailed("pbx1", CALL, LEG, TARGET, "unconfirmed", 10.0)]
    assert tracker.live_calls == [CALL], "the caller still waits, to be offered again"
    later = _caller_hangs_up(tracker)
    assert later == [
        ev.CallerHungUp("pbx1", CALL, "waiting", 10.0),
        ev.CallEnded("pbx1", CALL, "caller", 10.0),
    ]


def test_an_offer_being_confirmed_keeps_the_call_ringing_until_the_leg_ends() -> None:
    tracker = _offer_answered()
    events = _caller_hangs_up(tracker)
    assert events == [ev.CallerHungUp("pbx1", CALL, "ringing", 10.0)]
    assert tracker.live_calls == [CALL], "its offer is still open"
    assert _leg_hangs_up(tracker) == [
        ev.AgentLegFailed("pbx1", CALL, LEG, TARGET, "canceled", 10.0),
        ev.CallEnded("pbx1", CALL, "caller", 10.0),
    ]


def test_a_confirmed_offer_is_bridged_and_ends_as_any_conversation() -> None:
    tracker = _offer_answered()
    bridge = "b7c5d3a0-0000-4000-8000-000000000001"
    events = _feed(
        tracker,
        _channel("BridgeEnter", "pbx1-1795400000.1", CALLER_TWO, CALL, BridgeUniqueid=bridge),
        _channel("BridgeEnter", LEG, LEG_ONE, CALL, BridgeUniqueid=bridge),
    )
    assert events == [ev.Bridged("pbx1", CALL, LEG, TARGET, 10.0)]
    ended = _leg_hangs_up(tracker)
    assert ev.AgentHungUp("pbx1", CALL, LEG, TARGET, 10.0) in ended
    assert not [e for e in ended if isinstance(e, ev.AgentLegFailed)]


def test_a_conference_leg_talks_once_answered_so_its_hangup_is_not_a_failure() -> None:
    tracker = _offer_answered(must_bridge=False)
    assert _leg_hangs_up(tracker) == [ev.AgentHungUp("pbx1", CALL, LEG, TARGET, 10.0)]


def _offer_ringing(tracker: CallTracker) -> None:
    _feed(
        tracker,
        _channel("Newchannel", CALL, "Local/100@callcenter-inbound-00000040;1", CALL),
        _channel(
            "UserEvent", "pbx1-1795400000.1", CALLER_TWO, CALL,
            UserEvent="CallCenterEnqueue", Queue="sales",
        ),
    )  # fmt: skip
    tracker.expect_agent_leg(
        leg_id=LEG,
        action_id="cc-7",
        agent_target=TARGET,
        caller_channel=CALLER_TWO,
        call_id="c0100",
        linkedid=CALL,
        must_bridge=True,
    )
    _feed(tracker, _channel("Newchannel", LEG, LEG_ONE, LEG, ChannelStateDesc="Ringing"))


def test_originate_reason_8_is_congestion() -> None:
    tracker = CallTracker("pbx1")
    _offer_ringing(tracker)
    events = _feed(
        tracker,
        _channel("Hangup", LEG, LEG_ONE, LEG, Cause="34"),
        Message.build(
            Event="OriginateResponse", ActionID="cc-7", Response="Failure", Channel=TARGET,
            Context="callcenter-connect", Exten="s", Reason="8", Uniqueid=LEG,
        ),
    )  # fmt: skip
    assert [e for e in events if isinstance(e, ev.AgentLegFailed)] == [
        ev.AgentLegFailed("pbx1", CALL, LEG, TARGET, "congestion", 10.0)
    ]
    assert tracker.live_calls == [CALL]


def test_hangup_causes_34_and_38_are_congestion_when_only_the_channel_can_tell() -> None:
    for cause in ("34", "38"):
        tracker = CallTracker("pbx1")
        _offer_ringing(tracker)
        tracker.connection_lost()  # its OriginateResponse went to the dead connection
        events = _leg_hangs_up(tracker, cause)
        assert events == [ev.AgentLegFailed("pbx1", CALL, LEG, TARGET, "congestion", 10.0)]
