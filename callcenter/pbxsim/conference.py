"""Per-call conferences: ``[callcenter-conf]`` runs ``ConfBridge(${CC_CALL_ID})``.

Why the ACD uses them: with one ConfBridge per call, the caller can be put on hold
(Redirected to ``callcenter-wait``) and brought back, and a second agent can join
before the first leaves (a warm transfer), without anyone being dropped. Unlike
``Bridge()`` a conference does NOT merge Linkedids: every member keeps its own, so
the ACD correlates by ``CC_CALL_ID`` and the ``Conference`` header.

Each step emits capture 16's events in its per-channel order, including two
orders that are Asterisk's and not causal: the first member's ConfbridgeJoin comes
a moment after its BridgeEnter (after the caller, entering just then, is in), and
a member coming back has its ConfbridgeJoin ahead of its own dialplan steps.

A caller's talk time (``place_call``'s ``talk_s``) runs on in the conference, on
hold and after a transfer out (``bridging.start_talking``): a simulated caller
hangs up when it is over, whichever room it is in. Agents stay until they hang
up (``PhoneBehaviour.hangup_after_s``) or the ACD hangs them up.
"""

from __future__ import annotations

import uuid

from callcenter.pbxsim import callers
from callcenter.pbxsim.calls import AgentLeg, Conference, SimCall
from callcenter.pbxsim.channels import SimChannel
from callcenter.pbxsim.events import Headers, channel_block, conference_bridge_block
from callcenter.pbxsim.pbx import Pbx

CONF = "callcenter-conf"
#: how long after a member's BridgeEnter app_confbridge announces its ConfbridgeJoin
JOIN_LAG_S = 0.05
#: what ConfBridge() leaves in CONFBRIDGE_RESULT when a member is taken out of it
LEFT = "HANGUP"


def member_of(pbx: Pbx, ch: SimChannel) -> Conference | None:
    return next((c for c in pbx.conferences.values() if ch in c.members), None)


def enter(pbx: Pbx, ch: SimChannel, leg: AgentLeg | None = None) -> None:
    """``ch`` runs ``[callcenter-conf]``: NoOp, then ConfBridge(${CC_CALL_ID}), which
    makes the conference if it is the first and joins it. A leg's Originate set
    CC_CALL_ID; a caller's was set by Setvar before its Redirect."""
    name = ch.variables.get("CC_CALL_ID", "")
    conference = pbx.conferences.get(name)
    returning = conference is not None and ch.uniqueid in conference.former
    if returning and conference is not None:
        ch.goto(CONF, "s", 2)
        pbx.emit("ConfbridgeJoin", "call", *_joined(conference, ch, conference.size + 1))
    ch.goto(CONF, "s", 1)
    pbx.newexten(ch, "NoOp", f"CallCenter conference {name}")
    ch.priority = 2
    pbx.newexten(ch, "ConfBridge", name)
    if conference is None:
        conference = _start(pbx, name)
    conference.members.append(ch)
    conference.former.add(ch.uniqueid)
    ch.bridge_id = conference.bridge_id
    pbx.emit("BridgeEnter", "call", _bridge(conference), channel_block(ch))
    _update_peers(pbx, conference)
    if not returning:
        pbx.later(JOIN_LAG_S, _announce_join, pbx, conference, ch)
    if leg is not None and leg.behaviour.hangup_after_s is not None:
        leg.timers.append(pbx.later(leg.behaviour.hangup_after_s, hang_up_member, pbx, leg))


def _start(pbx: Pbx, name: str) -> Conference:
    bridge_id = str(uuid.UUID(int=pbx.rng.getrandbits(128)))
    conference = Conference(name, bridge_id, f"{pbx.channels.announcer_name(name)};2")
    pbx.conferences[name] = conference
    pbx.emit("BridgeCreate", "call", conference_bridge_block(bridge_id, name, 0))
    pbx.emit("ConfbridgeStart", "call", [("Conference", name)], _bridge(conference))
    return conference


def _announce_join(pbx: Pbx, conference: Conference, ch: SimChannel) -> None:
    if ch in conference.members:
        pbx.emit("ConfbridgeJoin", "call", *_joined(conference, ch, conference.size))


def _joined(conference: Conference, ch: SimChannel, size: int) -> list[Headers]:
    return [
        [("Conference", conference.name)],
        conference_bridge_block(conference.bridge_id, conference.name, size),
        channel_block(ch),
        [("Admin", "No"), ("Muted", "No")],
    ]


def _left(pbx: Pbx, conference: Conference, ch: SimChannel, size: int) -> None:
    pbx.emit(
        "ConfbridgeLeave",
        "call",
        [("Conference", conference.name)],
        conference_bridge_block(conference.bridge_id, conference.name, size),
        channel_block(ch),
        [("Admin", "No")],
    )


def _bridge(conference: Conference) -> Headers:
    return conference_bridge_block(conference.bridge_id, conference.name, conference.size)


def _update_peers(pbx: Pbx, conference: Conference) -> None:
    """Every member's BRIDGEPEER lists the announcer, then the others as they joined."""
    for member in conference.members:
        others = [m.name for m in conference.members if m is not member]
        pbx.varset(member, "BRIDGEPEER", ",".join([conference.announcer, *others]))


def _take_out(pbx: Pbx, conference: Conference, ch: SimChannel) -> None:
    """``ch`` leaves the mixing bridge; those still in see their peers change."""
    conference.members.remove(ch)
    ch.bridge_id = None
    pbx.emit("BridgeLeave", "call", _bridge(conference), channel_block(ch))
    _update_peers(pbx, conference)


def _end_if_empty(pbx: Pbx, conference: Conference) -> bool:
    """The last member left: ConfbridgeEnd; the caller destroys the bridge after."""
    if conference.members:
        return False
    pbx.conferences.pop(conference.name, None)
    pbx.emit("ConfbridgeEnd", "call", [("Conference", conference.name)], _bridge(conference))
    return True


def hold(pbx: Pbx, call: SimCall, conference: Conference) -> None:
    """The caller is Redirected to ``callcenter-wait`` while the agents stay in; it
    waits there (MusicOnHold in production) until it is Redirected back."""
    two = call.two
    size = conference.size
    two.goto(callers.WAIT, "s", 1)
    _left(pbx, conference, two, size)
    pbx.varset(two, "BRIDGEPEER", "")
    # The switch reports the old application at the new place (capture 16).
    pbx.newexten(two, "ConfBridge", conference.name)
    _take_out(pbx, conference, two)
    pbx.varset(two, "CONFBRIDGE_RESULT", LEFT)
    two.priority = 2
    pbx.newexten(two, "Wait", "600")
    two.priority = 3
    if _end_if_empty(pbx, conference):
        pbx.emit("BridgeDestroy", "call", _destroyed(conference))


def caller_leaves(
    pbx: Pbx, call: SimCall, conference: Conference, context: str, exten: str
) -> None:
    """The caller is Redirected out of its conference to somewhere that is not hold
    (a transfer out to ``callcenter-outbound``): it leaves as for hold, and what
    runs at ``context`` is the caller of this function's to play."""
    two = call.two
    size = conference.size
    two.goto(context, exten, 1)
    _left(pbx, conference, two, size)
    pbx.varset(two, "BRIDGEPEER", "")
    _take_out(pbx, conference, two)
    pbx.varset(two, "CONFBRIDGE_RESULT", LEFT)
    if _end_if_empty(pbx, conference):
        pbx.emit("BridgeDestroy", "call", _destroyed(conference))


def caller_hangs_up(pbx: Pbx, call: SimCall, conference: Conference) -> None:
    """The customer's phone hangs up; its ;2 is taken out of the conference, which
    goes on for whoever is still in it."""
    call.gone = True
    pbx.cancel(call.patience)
    pbx.cancel(call.talk)
    two = call.two
    size = conference.size
    pbx.hangup_request(two, 0)
    pbx.hangup(call.one, 0)
    pbx.varset(two, "BRIDGEPEER", "")
    _take_out(pbx, conference, two)
    pbx.varset(two, "CONFBRIDGE_RESULT", LEFT)
    pbx.hangup_request(two, 16, soft=True)
    pbx.hangup(two, 16)
    _left(pbx, conference, two, size)
    if _end_if_empty(pbx, conference):
        pbx.emit("BridgeDestroy", "call", _destroyed(conference))
    pbx.calls.pop(call.linkedid, None)


def hang_up_member(pbx: Pbx, leg: AgentLeg) -> None:
    """A leg in the conference is hung up (the ACD's Hangup, capture 16): it leaves,
    and its phone half after it. The last one out ends the conference."""
    ch = leg.channel
    conference = member_of(pbx, ch) if ch is not None else None
    if leg.ended or ch is None or conference is None:
        return
    pbx.finish_leg(leg)
    _left(pbx, conference, ch, conference.size)
    pbx.varset(ch, "BRIDGEPEER", "")
    _take_out(pbx, conference, ch)
    pbx.varset(ch, "CONFBRIDGE_RESULT", LEFT)
    ended = _end_if_empty(pbx, conference)
    pbx.hangup_request(ch, 16, soft=True)
    if leg.half is not None:
        pbx.hangup_request(leg.half, 16)
    pbx.hangup(ch, 16)
    if ended:
        pbx.emit("BridgeDestroy", "call", _destroyed(conference))
    if leg.half is not None:
        pbx.hangup_request(leg.half, 16, soft=True)
        pbx.hangup(leg.half, 16)


def _destroyed(conference: Conference) -> Headers:
    return conference_bridge_block(conference.bridge_id, conference.name, 0)
