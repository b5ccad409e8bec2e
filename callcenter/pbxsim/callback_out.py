"""A callback attempt: ``[callcenter-callback-out]`` (config/asterisk/extensions.conf)
on an agent's answered leg: ``NoOp``, ``Dial(PJSIP/${EXTEN}@outbound-trunk,30)``,
``Hangup()``, the extension being the customer's number.

Why the simulator plays it: the ACD follows the attempt as a call of its own,
named by the leg's ChannelId, whose caller is the channel the leg's ``Dial``
makes; it learns that the customer answered from the bridge, and that they did
not from the Dial's ``DialEnd`` status. So the events are Dial's, in the order
of an outgoing call (``outbound``): the trunk channel born in the leg's
Linkedid, ``DialBegin`` naming the leg first, ``DialState``, then ``DialEnd``
with ANSWER (and the bridge), NOANSWER after the ring time, BUSY, CONGESTION or
CHANUNAVAIL (no channel at all). The customer answers as
``Phones.behaviour(Local/<number>@callcenter-outbound)`` says, like any outside
number, and talks ``hangup_after_s`` (else ``Pbx.callback_talk_s``) unless the
agent's phone hangs up first (its own ``hangup_after_s``).
"""

from __future__ import annotations

import uuid

from callcenter.pbxsim import bridging
from callcenter.pbxsim.calls import AgentLeg
from callcenter.pbxsim.channels import RINGING, UP, SimChannel
from callcenter.pbxsim.events import bridge_block, channel_block
from callcenter.pbxsim.outbound import TRUNK, dial_event, trunk_channel
from callcenter.pbxsim.pbx import Pbx
from callcenter.pbxsim.phones import PhoneBehaviour, outside_dial_string

CONTEXT = "callcenter-callback-out"
#: how a customer's phone turns the call down at once: (DialStatus, Hangup cause)
_REFUSED = {"busy": ("BUSY", 17), "congestion": ("CONGESTION", 34)}


def run(pbx: Pbx, leg: AgentLeg) -> None:
    """The agent answered: their leg runs the context, which dials the customer."""
    ch = leg.channel
    assert ch is not None
    leg.answered = True
    number = leg.exten
    ch.goto(CONTEXT, number, 1)
    call_id = leg.variables.get("CC_CALL_ID", "")
    pbx.newexten(ch, "NoOp", f"CallCenter callback {call_id} to {number}")
    ch.priority = 2
    pbx.newexten(ch, "Dial", f"PJSIP/{number}@{TRUNK},{pbx.callback_ring_s:g}")
    behaviour = pbx.phones.behaviour(outside_dial_string(number))
    if not behaviour.registered:
        # The trunk cannot reach it: no channel is made, Dial returns at once.
        pbx.originate_response(leg, "Success", 4)
        _dial_returned(pbx, leg, "CHANUNAVAIL")
        return
    # Dial passes the leg's caller id on (the Originate's: the customer's own);
    # what the customer sees is the trunk's business (pjsip.conf from_user).
    out = leg.customer = trunk_channel(pbx, ch, number)
    # Sent from the originating thread once the agent answered (``legs``); here
    # it comes as the Dial starts, as in capture 01 it came with the Bridge().
    pbx.originate_response(leg, "Success", 4)
    refused = _refusal(behaviour)
    if refused is not None:
        status, cause = refused
        dial_event(pbx, "DialEnd", ch, out, [("DialStatus", status)])
        _customer_gone(pbx, leg, out, cause)
        _dial_returned(pbx, leg, status)
        return
    if behaviour.rings:
        pbx.newstate(out, RINGING)
        dial_event(pbx, "DialState", ch, out, [("DialStatus", "RINGING")])
    answer_after = behaviour.answer_after_s if behaviour.rings else 0.0
    if answer_after is not None and answer_after < pbx.callback_ring_s:
        leg.timers.append(pbx.later(answer_after, _answered, pbx, leg, out, behaviour))
    else:
        leg.timers.append(pbx.later(pbx.callback_ring_s, _no_answer, pbx, leg, out))


def _refusal(behaviour: PhoneBehaviour) -> tuple[str, int] | None:
    if behaviour.congestion:
        return _REFUSED["congestion"]
    if behaviour.busy:
        return _REFUSED["busy"]
    return None


def _answered(pbx: Pbx, leg: AgentLeg, out: SimChannel, behaviour: PhoneBehaviour) -> None:
    """The customer picks up: Dial bridges them with the agent."""
    ch = leg.channel
    if leg.ended or ch is None or leg.customer is not out or not pbx.channels.alive(out):
        return
    pbx.newstate(out, UP)
    dial_event(pbx, "DialEnd", ch, out, [("DialStatus", "ANSWER")])
    bridge_id = str(uuid.UUID(int=pbx.rng.getrandbits(128)))
    pbx.emit("BridgeCreate", "call", bridge_block(bridge_id, 0))
    ch.bridge_id = out.bridge_id = bridge_id
    pbx.emit("BridgeEnter", "call", bridge_block(bridge_id, 1), channel_block(ch))
    pbx.emit("BridgeEnter", "call", bridge_block(bridge_id, 2), channel_block(out))
    pbx.varset(ch, "BRIDGEPEER", out.name)
    pbx.varset(out, "BRIDGEPEER", ch.name)
    pbx.new_connected_line(ch, out.caller_num, out.caller_name)
    customer_talks = (
        behaviour.hangup_after_s if behaviour.hangup_after_s is not None else pbx.callback_talk_s
    )
    agent_talks = leg.behaviour.hangup_after_s
    if agent_talks is not None and agent_talks < customer_talks:
        leg.timers.append(pbx.later(agent_talks, agent_hangs_up, pbx, leg))
    else:
        leg.timers.append(pbx.later(customer_talks, customer_hangs_up, pbx, leg))


def _no_answer(pbx: Pbx, leg: AgentLeg, out: SimChannel) -> None:
    """Dial's ring time ran out: the customer's channel is dropped."""
    ch = leg.channel
    if leg.ended or ch is None or leg.customer is not out:
        return
    dial_event(pbx, "DialEnd", ch, out, [("DialStatus", "NOANSWER")])
    _customer_gone(pbx, leg, out, 16)
    _dial_returned(pbx, leg, "NOANSWER")


def customer_hangs_up(pbx: Pbx, leg: AgentLeg) -> None:
    """The customer puts the phone down (or the ACD hangs their channel up): the
    Dial returns in the agent's leg, whose dialplan reaches ``Hangup()``."""
    ch, out = leg.channel, leg.customer
    if leg.ended or ch is None or out is None or not pbx.channels.alive(out):
        return
    pbx.hangup_request(out, 16)
    bridge_id = out.bridge_id
    if bridge_id is not None:
        _leave(pbx, first=out, second=ch, bridge_id=bridge_id)
    else:
        dial_event(pbx, "DialEnd", ch, out, [("DialStatus", "NOANSWER")])
    _customer_gone(pbx, leg, out, 16)
    if bridge_id is not None:
        pbx.emit("BridgeDestroy", "call", bridge_block(bridge_id, 0))
    _dial_returned(pbx, leg, "ANSWER" if bridge_id is not None else "NOANSWER")


def agent_hangs_up(pbx: Pbx, leg: AgentLeg) -> None:
    """The agent puts the phone down (or the ACD hangs the leg up): the Dial
    running on the leg ends, and with it the customer's channel -- talking
    (the agent left the bridge first) or still ringing (DialEnd CANCEL)."""
    ch, out = leg.channel, leg.customer
    if leg.ended or ch is None:
        return
    if leg.half is not None:
        pbx.newexten(leg.half, "Hangup", "")
        pbx.hangup_request(leg.half, 16, soft=True)
    pbx.hangup_request(ch, 16)
    bridge_id = ch.bridge_id
    if out is not None and bridge_id is not None:
        _leave(pbx, first=ch, second=out, bridge_id=bridge_id)
    elif out is not None:
        dial_event(pbx, "DialEnd", ch, out, [("DialStatus", "CANCEL")])
    if out is not None:
        pbx.hangup_request(out, 16, soft=True)
        _customer_gone(pbx, leg, out, 16)
    if bridge_id is not None:
        pbx.emit("BridgeDestroy", "call", bridge_block(bridge_id, 0))
    pbx.hangup_request(ch, 16, soft=True)
    bridging.end_leg_after_caller(pbx, leg, None)


def _leave(pbx: Pbx, *, first: SimChannel, second: SimChannel, bridge_id: str) -> None:
    """Both leave the Dial's bridge, ``first`` (the one going away) first."""
    pbx.varset(first, "BRIDGEPEER", "")
    pbx.varset(second, "BRIDGEPEER", "")
    pbx.emit("BridgeLeave", "call", bridge_block(bridge_id, 1), channel_block(first))
    pbx.emit("BridgeLeave", "call", bridge_block(bridge_id, 0), channel_block(second))
    first.bridge_id = second.bridge_id = None


def _customer_gone(pbx: Pbx, leg: AgentLeg, out: SimChannel, cause: int) -> None:
    pbx.hangup(out, cause)
    if leg.customer is out:
        leg.customer = None


def _dial_returned(pbx: Pbx, leg: AgentLeg, status: str) -> None:
    """Dial is over (``status``: its DIALSTATUS) with the agent still there: the
    leg's ``Hangup()`` ends it, the agent's phone with it."""
    ch = leg.channel
    assert ch is not None
    pbx.varset(ch, "DIALSTATUS", status)
    ch.priority = 3
    pbx.newexten(ch, "Hangup", "")
    pbx.hangup_request(ch, 16, soft=True)
    bridging.end_leg_after_caller(pbx, leg, None)
