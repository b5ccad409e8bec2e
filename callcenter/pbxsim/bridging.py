"""An answered agent leg runs ``Bridge(${CC_CALLER_CHANNEL})``; this module is that
bridge's life: entering it, and each way out of it.

Who leaves first decides the order of events (captures 01, 06, 08): the caller
hanging up ends the agent leg after it; the agent hanging up sends the caller's
dialplan on to ``Hangup()``; a Redirect of the caller makes ``Bridge()`` return in
the agent's leg, which then hangs up while the caller waits again -- unless the
leg was marked ``CC_AFTER_BRIDGE=conf``: the production ``callcenter-connect``
then runs ``GotoIf`` after ``Bridge()`` and the agent follows the caller into the
call's conference (``Pbx.after_bridge_goto``; the captures' dialplan has
``Hangup()`` right after ``Bridge()``).

The caller's talk time starts with its first conversation and then runs whatever
room the caller is moved to, so a simulated caller always ends its call.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

from callcenter.pbxsim import callers, conference, outbound, survey
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
    start_talking(pbx, call)


def start_talking(pbx: Pbx, call: SimCall) -> None:
    """The caller's talk time runs from its first conversation (a Bridge(), its
    conference, an outside party) through every move and hold after it; a caller
    sent back to the queue (``redirect_caller_to_wait``) starts it anew."""
    if call.talk is None and not call.gone:
        call.talk = pbx.later(call.talk_s, caller_hangs_up, pbx, call)


def stop_talking(pbx: Pbx, call: SimCall) -> None:
    pbx.cancel(call.talk)
    call.talk = None


def talking_leg(call: SimCall) -> AgentLeg | None:
    """The agent leg whose Bridge() the caller is in, if it is."""
    leg = call.leg
    if leg is None or not leg.answered or leg.ended or leg.channel is None:
        return None
    return leg


def bridge_returned(pbx: Pbx, leg: AgentLeg, *, destroy: str | None = None) -> bool:
    """The agent's ``Bridge()`` returned (its caller left it): ``callcenter-connect``
    goes on at priority 4. True when the leg followed into the call's conference
    (``GotoIf`` with ``CC_AFTER_BRIDGE=conf``); False when it reached
    ``Hangup()``, whose hanging up is the caller's to play. ``destroy``: the
    bridge the leg was the last to leave, gone before it moves on."""
    ch = leg.channel
    assert ch is not None
    ch.priority = 4
    if pbx.after_bridge_goto:
        follows = ch.variables.get("CC_AFTER_BRIDGE") == "conf"
        pbx.newexten(ch, "GotoIf", f"{int(follows)}?{conference.CONF},s,1")
        if follows:
            if destroy:
                pbx.emit("BridgeDestroy", "call", bridge_block(destroy, 0))
            leg.call = None
            conference.enter(pbx, ch)
            return True
        ch.priority = 5
    pbx.newexten(ch, "Hangup", "")
    return False


def _half_talks(pbx: Pbx, half: SimChannel, caller: SimChannel) -> None:
    """The agent-sim phone's Answer() returned: Wait(60), and the caller's id arrives.
    If the leg was hung up meanwhile only the caller id still shows (capture 10)."""
    if pbx.channels.alive(half):
        half.priority += 1
        pbx.newexten(half, "Wait", "60")
    pbx.new_callerid(half, caller.caller_num, caller.caller_name)


def caller_hangs_up(pbx: Pbx, call: SimCall) -> None:
    """The customer puts the phone down: waiting or on hold (capture 04), talking
    to an agent (01), in its conference (16) or to an outside party."""
    if call.gone:
        return
    stop_talking(pbx, call)
    if (meeting := conference.member_of(pbx, call.two)) is not None:
        conference.caller_hangs_up(pbx, call, meeting)
        return
    if call.outside is not None:
        outbound.caller_hangs_up(pbx, call)
        return
    leg = talking_leg(call)
    if leg is None or leg.channel is None:
        callers.abandon(pbx, call)
        return
    call.gone = True
    pbx.cancel(call.patience)
    pbx.hangup_request(call.two, 0)
    bridge_id = _break_bridge(pbx, first=call.two, second=leg.channel)
    followed = bridge_returned(pbx, leg, destroy=bridge_id)
    if not followed:
        pbx.hangup_request(leg.channel, 16, soft=True)
    pbx.hangup(call.one, 0)
    # Asterisk reports the bridged party's caller id on the dead ;1 half.
    pbx.new_callerid(call.one, call.one.caller_num, call.one.caller_name)
    pbx.hangup(call.two, 16)
    if not followed:
        end_leg_after_caller(pbx, leg, bridge_id)
    pbx.calls.pop(call.linkedid, None)


def agent_hangs_up(pbx: Pbx, leg: AgentLeg) -> None:
    """The agent puts the phone down first (capture 06); the caller's dialplan then
    continues to Hangup(), or to the survey when the offer asked for it. An
    agent who followed the call into its conference leaves that, and the call
    goes on."""
    if not leg.ended and leg.channel is not None and conference.member_of(pbx, leg.channel):
        conference.hang_up_member(pbx, leg)
        return
    call = leg.call
    if leg.ended or call is None or call.gone or leg.channel is None:
        return
    stop_talking(pbx, call)
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
    if survey.wanted(leg.variables):
        # Bridge()'s F option: the caller goes on to be asked for a score.
        survey.enter(pbx, call)
        return
    callers.dialplan_hangs_up(pbx, call)


def redirect_caller_to_wait(pbx: Pbx, call: SimCall) -> None:
    """A Redirect of the caller back to ``callcenter-wait`` (capture 08): the caller
    waits again and ``Bridge()`` returns in the agent's leg, which hangs up -- or,
    marked to, goes on into the call's conference: then the caller is on hold."""
    leg = talking_leg(call)
    if leg is None:
        callers.wait_again(pbx, call.two)
        return
    two = call.two
    if redirect_out_of_bridge(
        pbx, call, leg, callers.WAIT, "s", lambda: callers.wait_again(pbx, two)
    ):
        return
    # Back in the queue: waiting for an offer again, its talk to start anew.
    stop_talking(pbx, call)
    call.patience = pbx.later(call.patience_s, callers.give_up, pbx, call)


def redirect_out_of_bridge(
    pbx: Pbx,
    call: SimCall,
    leg: AgentLeg,
    context: str,
    exten: str,
    run_caller: Callable[[], None],
) -> bool:
    """A Redirect takes the caller out of its agent's ``Bridge()`` (capture 08): the
    caller leaves the bridge and ``run_caller`` plays its new place; then the
    agent's ``Bridge()`` returns (``bridge_returned``). True when the agent
    followed into the conference; else its leg has hung up."""
    agent = leg.channel
    assert agent is not None
    bridge_id = call.two.bridge_id or agent.bridge_id or ""
    clear_peers(pbx, call.two, agent)
    call.two.goto(context, exten, 1)
    pbx.emit("BridgeLeave", "call", bridge_block(bridge_id, 1), channel_block(call.two))
    call.two.bridge_id = None
    call.leg = None
    run_caller()
    pbx.emit("BridgeLeave", "call", bridge_block(bridge_id, 0), channel_block(agent))
    agent.bridge_id = None
    pbx.emit("BridgeDestroy", "call", bridge_block(bridge_id, 0))
    pbx.varset(agent, "BRIDGERESULT", "SUCCESS")
    if bridge_returned(pbx, leg):
        return True
    pbx.hangup_request(agent, 16, soft=True)
    end_leg_after_caller(pbx, leg, None)
    return False


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
