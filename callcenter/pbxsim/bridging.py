"""An answered agent leg runs ``Bridge(${CC_CALLER_CHANNEL})``; this module is that
bridge's life: entering it, and each way out of it.

Who leaves first decides the order of events (captures 01, 06, 08): the caller
hanging up ends the agent leg after it; the agent hanging up sends the caller's
dialplan on to ``Hangup()``; a Redirect of the caller makes ``Bridge()`` return in
the agent's leg, which then hangs up while the caller waits again.
"""

from __future__ import annotations

import uuid

from callcenter.pbxsim import callers, conference
from callcenter.pbxsim.calls import AgentLeg, SimCall
from callcenter.pbxsim.channels import SimChannel
from callcenter.pbxsim.events import bridge_block, channel_block
from callcenter.pbxsim.pbx import Pbx

#: The Local ;2 (the phone) runs on its own thread in Asterisk and reaches its next
#: step a moment after the bridge forms: a client acting at once (capture 10 hangs
#: up 3 ms after the answer) sees the leg end before the phone's Wait(60).
HALF_LAG_S = 0.05


def connect(pbx: Pbx, leg: AgentLeg, caller: SimChannel | None, *, respond: bool = True) -> None:
    """The answered leg reached ``Bridge()``; ``caller`` is CC_CALLER_CHANNEL if live.
    ``respond``: the leg's OriginateResponse is still due (not when an AMI
    ``Bridge`` joins a leg that was answered long ago)."""
    ch = leg.channel
    assert ch is not None
    call = pbx.calls.get(caller.linkedid) if caller is not None else None
    if caller is None or call is None or call.gone or call.two is not caller:
        # Bridge() to a channel that is gone returns at once; the leg hangs up.
        if respond:
            pbx.originate_response(leg, "Success", 4)
        end_leg_after_caller(pbx, leg, None)
        return
    leg.answered = True
    leg.call = call
    call.leg = leg
    pbx.cancel(call.patience)
    bridge_id = str(uuid.UUID(int=pbx.rng.getrandbits(128)))
    pbx.emit("BridgeCreate", "call", bridge_block(bridge_id, 0))
    caller.bridge_id = bridge_id
    pbx.emit("BridgeEnter", "call", bridge_block(bridge_id, 1), channel_block(caller))
    if respond:
        pbx.originate_response(leg, "Success", 4)
    ch.linkedid = caller.linkedid
    ch.bridge_id = bridge_id
    pbx.emit("BridgeEnter", "call", bridge_block(bridge_id, 2), channel_block(ch))
    pbx.varset(caller, "BRIDGEPEER", ch.name)
    if ch.tech == "PJSIP":
        # The SIP Call-ID of the peer, which chan_pjsip shares across the bridge (15).
        pbx.varset(caller, "BRIDGEPVTCALLID", str(uuid.UUID(int=pbx.rng.getrandbits(128))))
    pbx.varset(ch, "BRIDGEPEER", caller.name)
    pbx.new_connected_line(ch, caller.caller_num, caller.caller_name)
    if (caller.connected_num, caller.connected_name) != leg.caller_id:
        # Unchanged when a caller is re-offered with the same CallerID (08).
        pbx.new_connected_line(caller, *leg.caller_id)
    if leg.half is not None:
        pbx.later(HALF_LAG_S, _half_talks, pbx, leg.half, caller)
    hangup_after = leg.behaviour.hangup_after_s
    if hangup_after is not None and hangup_after < call.talk_s:
        leg.timers.append(pbx.later(hangup_after, agent_hangs_up, pbx, leg))
    else:
        leg.timers.append(pbx.later(call.talk_s, caller_hangs_up, pbx, call))


def _half_talks(pbx: Pbx, half: SimChannel, caller: SimChannel) -> None:
    """The agent-sim phone's Answer() returned: Wait(60), and the caller's id arrives.
    If the leg was hung up meanwhile only the caller id still shows (capture 10)."""
    if pbx.channels.alive(half):
        half.priority += 1
        pbx.newexten(half, "Wait", "60")
    pbx.new_callerid(half, caller.caller_num, caller.caller_name)


def caller_hangs_up(pbx: Pbx, call: SimCall) -> None:
    """The customer puts the phone down: waiting (capture 04) or talking (01)."""
    if call.gone:
        return
    if (meeting := conference.member_of(pbx, call.two)) is not None:
        conference.caller_hangs_up(pbx, call, meeting)
        return
    leg = call.leg if call.leg is not None and call.leg.answered else None
    if leg is None or leg.channel is None or leg.ended:
        callers.abandon(pbx, call)
        return
    call.gone = True
    pbx.cancel(call.patience)
    pbx.hangup_request(call.two, 0)
    bridge_id = _break_bridge(pbx, first=call.two, second=leg.channel)
    pbx.newexten(leg.channel, "Hangup", "")
    pbx.hangup_request(leg.channel, 16, soft=True)
    pbx.hangup(call.one, 0)
    # Asterisk reports the bridged party's caller id on the dead ;1 half.
    pbx.new_callerid(call.one, call.one.caller_num, call.one.caller_name)
    pbx.hangup(call.two, 16)
    end_leg_after_caller(pbx, leg, bridge_id)
    pbx.calls.pop(call.linkedid, None)


def agent_hangs_up(pbx: Pbx, leg: AgentLeg) -> None:
    """The agent puts the phone down first (capture 06); the caller's dialplan then
    continues to Hangup()."""
    call = leg.call
    if leg.ended or call is None or call.gone or leg.channel is None:
        return
    phone = leg.phone
    if leg.half is not None:
        pbx.newexten(leg.half, "Hangup", "")
        pbx.hangup_request(leg.half, 16, soft=True)
    pbx.hangup_request(leg.channel, 16)
    pbx.varset(leg.channel, "BRIDGEPEER", "")
    pbx.varset(call.two, "BRIDGEPEER", "")
    call.two.variables.pop("BRIDGEPVTCALLID", None)
    pbx.emit(
        "BridgeLeave",
        "call",
        bridge_block(leg.channel.bridge_id or "", 1),
        channel_block(leg.channel),
    )
    pbx.varset(leg.channel, "BRIDGERESULT", "SUCCESS")
    pbx.hangup_request(leg.channel, 16, soft=True)
    pbx.hangup(leg.channel, 16)
    if phone is not None and phone is not leg.channel:
        pbx.hangup(phone, 16)
    pbx.finish_leg(leg)
    bridge_id = call.two.bridge_id or ""
    pbx.emit("BridgeLeave", "call", bridge_block(bridge_id, 0), channel_block(call.two))
    pbx.emit("BridgeDestroy", "call", bridge_block(bridge_id, 0))
    call.two.bridge_id = None
    call.gone = True
    pbx.cancel(call.patience)
    pbx.newexten(call.two, "Hangup", "")
    pbx.hangup_request(call.two, 16, soft=True)
    pbx.hangup_request(call.one, 16)
    pbx.hangup(call.two, 16)
    pbx.hangup(call.one, 16)
    pbx.new_callerid(call.one, call.one.caller_num, call.one.caller_name)
    pbx.calls.pop(call.linkedid, None)


def redirect_caller_to_wait(pbx: Pbx, call: SimCall) -> None:
    """A Redirect of the caller back to ``callcenter-wait`` (capture 08): the caller
    waits again and ``Bridge()`` returns in the agent's leg, which hangs up."""
    leg = call.leg if call.leg is not None and call.leg.answered else None
    if leg is None or leg.channel is None or leg.ended:
        callers.wait_again(pbx, call.two)
        return
    agent = leg.channel
    bridge_id = call.two.bridge_id or agent.bridge_id or ""
    clear_peers(pbx, call.two, agent)
    call.two.goto(callers.WAIT, "s", 1)
    pbx.emit("BridgeLeave", "call", bridge_block(bridge_id, 1), channel_block(call.two))
    call.two.bridge_id = None
    call.leg = None
    callers.wait_again(pbx, call.two)
    pbx.emit("BridgeLeave", "call", bridge_block(bridge_id, 0), channel_block(agent))
    agent.bridge_id = None
    pbx.emit("BridgeDestroy", "call", bridge_block(bridge_id, 0))
    pbx.varset(agent, "BRIDGERESULT", "SUCCESS")
    pbx.newexten(agent, "Hangup", "")
    pbx.hangup_request(agent, 16, soft=True)
    end_leg_after_caller(pbx, leg, None)
    call.patience = pbx.later(call.patience_s, callers.give_up, pbx, call)


def clear_peers(pbx: Pbx, caller: SimChannel, agent: SimChannel) -> None:
    """Leaving the bridge empties BRIDGEPEER (and a SIP peer's BRIDGEPVTCALLID)."""
    pbx.varset(caller, "BRIDGEPEER", "")
    if "BRIDGEPVTCALLID" in caller.variables:
        pbx.varset(caller, "BRIDGEPVTCALLID", "")
        del caller.variables["BRIDGEPVTCALLID"]
    pbx.varset(agent, "BRIDGEPEER", "")


def _break_bridge(pbx: Pbx, *, first: SimChannel, second: SimChannel) -> str:
    bridge_id = first.bridge_id or second.bridge_id or ""
    clear_peers(pbx, first, second)
    pbx.emit("BridgeLeave", "call", bridge_block(bridge_id, 1), channel_block(first))
    pbx.emit("BridgeLeave", "call", bridge_block(bridge_id, 0), channel_block(second))
    first.bridge_id = second.bridge_id = None
    pbx.varset(second, "BRIDGERESULT", "SUCCESS")
    return bridge_id


def end_leg_after_caller(pbx: Pbx, leg: AgentLeg, bridge_id: str | None) -> None:
    """The agent's leg ends after its caller left the bridge (capture 01's order)."""
    if leg.ended or leg.channel is None:
        return
    pbx.finish_leg(leg)
    if leg.half is not None:
        pbx.hangup_request(leg.half, 16)
    pbx.hangup(leg.channel, 16)
    if bridge_id:
        pbx.emit("BridgeDestroy", "call", bridge_block(bridge_id, 0))
    if leg.half is not None:
        pbx.hangup_request(leg.half, 16, soft=True)
        pbx.hangup(leg.half, 16)
