"""Originated legs: an Originate of a phone (an agent's, or a supervisor's) into
the dialplan its Context names.

The phone's behaviour decides the outcome the ACD sees, each as its capture shows
it: unregistered -> Failure Reason 0 at once, no channel (12); busy -> Reason 5,
cause 17 (03); no answer within the Originate's Timeout -> Reason 3, cause 19 (02);
answered -> the Originate's Context runs (``dialplan.run_answered``), Reason 4
(01, 09, 16); hung up by the ACD while ringing -> Reason 0 (05). Congestion is
played as busy is, with Asterisk's own values for it (no capture has it):
``Congestion()`` leaves the channel in state Busy with cause 34, DialStatus
CONGESTION, Reason 8 (AST_CONTROL_CONGESTION).
"""

from __future__ import annotations

from dataclasses import dataclass

from callcenter.pbxsim import confirm, dialplan
from callcenter.pbxsim.calls import AgentLeg
from callcenter.pbxsim.channels import BUSY, RINGING, UP, SimChannel
from callcenter.pbxsim.pbx import Pbx

#: the context of the PJSIP agent endpoints (pjsip.conf), where their channels start
AGENTS_CONTEXT = "callcenter-agents"
#: how long the never-answering agent-sim extension waits, for the Wait's AppData
NEVER_ANSWERS_WAIT = "120"


def originate(pbx: Pbx, leg: AgentLeg) -> None:
    """Queue the leg; like Asterisk's Async Originate, it starts after the response."""
    pbx.legs[leg.leg_id] = leg
    pbx.later(0, start, pbx, leg)


def start(pbx: Pbx, leg: AgentLeg) -> None:
    if not leg.behaviour.registered:
        pbx.originate_response(leg, "Failure", 0)
        pbx.finish_leg(leg)
        return
    tech, _, resource = leg.dial_string.partition("/")
    if tech == "Local":
        _create_local(pbx, leg, resource)
    else:
        _create_tech(pbx, leg)
    assert leg.channel is not None
    pbx.dial("DialBegin", leg.channel, [("DialString", resource)])
    if leg.behaviour.congestion:
        _refused(pbx, leg, CONGESTION)
        return
    if leg.behaviour.busy or pbx.phones.in_use(leg.dial_string):
        _refused(pbx, leg, BUSY_SIGNAL)
        return
    leg.seized = True
    pbx.phones.seize(leg.dial_string)
    if leg.behaviour.rings:
        _ring(pbx, leg)
    else:
        _answer(pbx, leg)


def _variables_then_caller_id(pbx: Pbx, ch: SimChannel, leg: AgentLeg, *, reverse: bool) -> None:
    items = list(leg.variables.items())
    for key, value in reversed(items) if reverse else items:
        pbx.varset(ch, key, value)
    if any(leg.caller_id):
        # Without a CallerID in the Originate nothing changes (captures 09, 16).
        pbx.set_caller_id(ch, *leg.caller_id)


def _create_local(pbx: Pbx, leg: AgentLeg, resource: str) -> None:
    exten, _, context = resource.partition("@")
    one, two = pbx.local_pair(exten, context, leg.leg_id, f"{leg.leg_id};2", leg.leg_id)
    leg.channel, leg.half = one, two
    pbx.newchannel(one)
    pbx.newchannel(two)
    pbx.newexten(one, "AppDial2", "(Outgoing Line)")
    # Asterisk sets the Originate's variables on ;1 last-first, on ;2 in order.
    _variables_then_caller_id(pbx, one, leg, reverse=True)
    _variables_then_caller_id(pbx, two, leg, reverse=False)
    pbx.local_bridge(one, two)


def _create_tech(pbx: Pbx, leg: AgentLeg) -> None:
    ch = pbx.tech_channel(leg.dial_string, leg.leg_id, AGENTS_CONTEXT)
    leg.channel = ch
    pbx.newchannel(ch)
    pbx.newexten(ch, "AppDial2", "(Outgoing Line)")
    _variables_then_caller_id(pbx, ch, leg, reverse=True)


@dataclass(frozen=True, slots=True)
class Refusal:
    """How a phone (or the network on its way) turns an offer down at once."""

    #: what agent-sim's ``;2`` runs: ``Busy(5)`` or ``Congestion(5)``; both leave
    #: the channel in state Busy
    application: str
    dial_status: str
    cause: int
    reason: int


BUSY_SIGNAL = Refusal("Busy", "BUSY", 17, 5)
CONGESTION = Refusal("Congestion", "CONGESTION", 34, 8)


def _refused(pbx: Pbx, leg: AgentLeg, refusal: Refusal) -> None:
    """Capture 03's busy phone, event for event; congestion the same way."""
    assert leg.channel is not None
    phone = leg.phone or leg.channel
    if leg.half is not None:
        pbx.newexten(leg.half, refusal.application, "5")
        pbx.newstate(leg.half, BUSY)
    pbx.dial("DialEnd", leg.channel, [("DialStatus", refusal.dial_status)])
    pbx.hangup_request(phone, 0)
    pbx.hangup_request(phone, 16, soft=True)
    pbx.hangup(phone, refusal.cause)
    pbx.originate_response(leg, "Failure", refusal.reason)
    pbx.hangup(leg.channel, 0)
    pbx.finish_leg(leg)


def _ring(pbx: Pbx, leg: AgentLeg) -> None:
    assert leg.channel is not None
    answer_after = leg.behaviour.answer_after_s
    if leg.half is not None:
        pbx.newexten(leg.half, "Ringing", "")
    pbx.newstate(leg.channel, RINGING)
    if leg.half is not None:
        leg.half.priority = 2
        wait = NEVER_ANSWERS_WAIT if answer_after is None else f"{answer_after:g}"
        pbx.newexten(leg.half, "Wait", wait)
    pbx.device_state(leg.dial_string, "RINGING")
    pbx.dial("DialState", leg.channel, [("DialStatus", "RINGING")])
    if answer_after is not None and answer_after < leg.timeout_s:
        leg.timers.append(pbx.later(answer_after, _answer, pbx, leg))
    else:
        leg.timers.append(pbx.later(leg.timeout_s, _time_out, pbx, leg))


def _time_out(pbx: Pbx, leg: AgentLeg) -> None:
    if leg.ended or leg.channel is None:
        return
    phone = leg.phone or leg.channel
    pbx.hangup_request(phone, 19)
    pbx.hangup_request(phone, 16, soft=True)
    pbx.originate_response(leg, "Failure", 3)
    pbx.hangup(leg.channel, 19)
    if leg.half is not None:
        pbx.hangup(leg.half, 19)
    pbx.finish_leg(leg)


def _answer(pbx: Pbx, leg: AgentLeg) -> None:
    if leg.ended or leg.channel is None:
        return
    ch = leg.channel
    if leg.half is not None:
        # Answer() follows Ringing() and Wait(n) -- or is the first step.
        leg.half.priority = 3 if leg.behaviour.rings else 1
        pbx.newexten(leg.half, "Answer", "")
        pbx.newstate(leg.half, UP)
    pbx.newstate(ch, UP)
    pbx.dial("DialEnd", ch, [("DialStatus", "ANSWER")])
    pbx.device_state(leg.dial_string, "INUSE")
    dialplan.run_answered(pbx, leg)


def cancel_ringing(pbx: Pbx, leg: AgentLeg) -> None:
    """The ACD hangs up a leg that is still ringing (capture 05): Reason 0, cause 0.
    One that answered and is still asked to press 1 is hung up as what it is."""
    if leg.ended or leg.channel is None:
        return
    if confirm.asking(leg):
        confirm.hang_up(pbx, leg)
        return
    pbx.finish_leg(leg)
    pbx.dial("DialEnd", leg.channel, [("DialStatus", "NOANSWER")])
    phone = leg.phone or leg.channel
    pbx.hangup_request(phone, 0)
    pbx.originate_response(leg, "Failure", 0)
    if leg.half is not None:
        pbx.hangup_request(leg.half, 16, soft=True)
        pbx.hangup(leg.half, 0)
    pbx.hangup(leg.channel, 0)
