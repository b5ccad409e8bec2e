"""Outside numbers: ``[callcenter-outbound]`` runs ``Dial(PJSIP/${EXTEN}@outbound-trunk)``
(config/asterisk/extensions.conf), then ``Hangup()``.

Why the simulator plays it: an agent's blind transfer out Redirects the caller
there with the number as the extension. The ACD must see what a real switch
shows: the caller's Dial, the trunk channel it makes (born in the caller's
Linkedid, as every dialed channel is), the bridge they share, and the caller's
end when either side hangs up. The number answers as ``Phones.behaviour`` of
``Local/<number>@callcenter-outbound`` says (by default after a short ring):
the same setting an Originate of that dial string -- an outside party joining a
conference -- rings with.
"""

from __future__ import annotations

import uuid

from callcenter.pbxsim.calls import SimCall
from callcenter.pbxsim.channels import DOWN, RINGING, UP, SimChannel
from callcenter.pbxsim.events import Headers, bridge_block, channel_block
from callcenter.pbxsim.pbx import Pbx
from callcenter.pbxsim.phones import OUTBOUND_CONTEXT, PhoneBehaviour, outside_dial_string

OUTBOUND = OUTBOUND_CONTEXT
#: the operator's trunk endpoint (pjsip.conf)
TRUNK = "outbound-trunk"
#: that endpoint's context, where the channels it makes are born
TRUNK_CONTEXT = "callcenter-inbound"


def dial(pbx: Pbx, call: SimCall, number: str) -> None:
    """The caller's ;2 runs ``callcenter-outbound``: it dials ``number`` on the trunk."""
    two = call.two
    two.goto(OUTBOUND, number, 1)
    pbx.newexten(two, "Dial", f"PJSIP/{number}@{TRUNK}")
    behaviour = pbx.phones.behaviour(outside_dial_string(number))
    if not behaviour.registered:
        # The trunk cannot be reached: no channel is made, Dial returns at once.
        _dial_returned(pbx, call, "CHANUNAVAIL")
        return
    out = call.outside = trunk_channel(pbx, two, number)
    if behaviour.busy:
        dial_event(pbx, "DialEnd", two, out, [("DialStatus", "BUSY")])
        pbx.hangup(out, 17)
        call.outside = None
        _dial_returned(pbx, call, "BUSY")
        return
    if behaviour.rings:
        pbx.newstate(out, RINGING)
        dial_event(pbx, "DialState", two, out, [("DialStatus", "RINGING")])
    if behaviour.answer_after_s is not None:
        delay = behaviour.answer_after_s if behaviour.rings else 0.0
        pbx.later(delay, _answered, pbx, call, out, behaviour)
    # else it rings until the caller gives up (the dialplan sets no Dial timeout)


def trunk_channel(pbx: Pbx, dialing: SimChannel, number: str) -> SimChannel:
    """The channel Dial makes on the trunk for ``dialing`` (a caller sent out, or
    a callback's agent leg): created, given the dialer's caller id (Dial passes
    it on), and announced with DialBegin."""
    out = SimChannel(
        pbx.channels.tech_name(f"PJSIP/{TRUNK}"),
        pbx.channels.new_uniqueid(),
        dialing.linkedid,
        TRUNK_CONTEXT,
        "s",
        state=DOWN,
    )
    out.app, out.app_data = "AppDial", "(Outgoing Line)"
    pbx.channels.add(out, pbx.now())
    pbx.newchannel(out)
    pbx.set_caller_id(out, dialing.caller_num, dialing.caller_name)
    dial_event(pbx, "DialBegin", dialing, out, [("DialString", f"{number}@{TRUNK}")])
    return out


def dial_event(pbx: Pbx, name: str, dialing: SimChannel, out: SimChannel, extra: Headers) -> None:
    """Dial's events name the dialing channel first, then the dialed one."""
    pbx.emit(name, "call", channel_block(dialing), channel_block(out, "Dest"), extra)


def _answered(pbx: Pbx, call: SimCall, out: SimChannel, behaviour: PhoneBehaviour) -> None:
    """The outside party picks up: Dial bridges it to the caller."""
    two = call.two
    if call.gone or call.outside is not out or not pbx.channels.alive(out):
        return
    pbx.newstate(out, UP)
    dial_event(pbx, "DialEnd", two, out, [("DialStatus", "ANSWER")])
    bridge_id = str(uuid.UUID(int=pbx.rng.getrandbits(128)))
    pbx.emit("BridgeCreate", "call", bridge_block(bridge_id, 0))
    two.bridge_id = out.bridge_id = bridge_id
    pbx.emit("BridgeEnter", "call", bridge_block(bridge_id, 1), channel_block(two))
    pbx.emit("BridgeEnter", "call", bridge_block(bridge_id, 2), channel_block(out))
    pbx.varset(two, "BRIDGEPEER", out.name)
    pbx.varset(out, "BRIDGEPEER", two.name)
    pbx.new_connected_line(two, out.caller_num, out.caller_name)
    if behaviour.hangup_after_s is not None:
        pbx.later(behaviour.hangup_after_s, outside_hangs_up, pbx, call)


def outside_hangs_up(pbx: Pbx, call: SimCall) -> None:
    """The outside party puts the phone down (or the ACD hangs its channel up): the
    caller's Dial returns and its dialplan goes on to ``Hangup()``."""
    out = call.outside
    if call.gone or out is None or not pbx.channels.alive(out):
        return
    pbx.hangup_request(out, 16)
    bridge_id = out.bridge_id
    if bridge_id is not None:
        _leave(pbx, first=out, second=call.two, bridge_id=bridge_id)
    else:
        dial_event(pbx, "DialEnd", call.two, out, [("DialStatus", "NOANSWER")])
    pbx.hangup(out, 16)
    call.outside = None
    if bridge_id is not None:
        pbx.emit("BridgeDestroy", "call", bridge_block(bridge_id, 0))
    _dial_returned(pbx, call, "NOANSWER" if bridge_id is None else "ANSWER")


def caller_hangs_up(pbx: Pbx, call: SimCall) -> None:
    """The customer puts the phone down while dialing out or talking outside: the
    trunk channel is hung up behind it."""
    out = call.outside
    assert out is not None
    call.gone = True
    pbx.cancel(call.patience)
    pbx.cancel(call.talk)
    two = call.two
    pbx.hangup_request(two, 0)
    bridge_id = out.bridge_id
    if bridge_id is not None:
        _leave(pbx, first=two, second=out, bridge_id=bridge_id)
    else:
        dial_event(pbx, "DialEnd", two, out, [("DialStatus", "CANCEL")])
    pbx.hangup(call.one, 0)
    pbx.new_callerid(call.one, call.one.caller_num, call.one.caller_name)
    pbx.hangup(two, 16)
    pbx.hangup_request(out, 16, soft=True)
    pbx.hangup(out, 16)
    if bridge_id is not None:
        pbx.emit("BridgeDestroy", "call", bridge_block(bridge_id, 0))
    call.outside = None
    pbx.calls.pop(call.linkedid, None)


def _leave(pbx: Pbx, *, first: SimChannel, second: SimChannel, bridge_id: str) -> None:
    """Both leave the Dial's bridge, ``first`` (the one going away) first."""
    pbx.varset(first, "BRIDGEPEER", "")
    pbx.varset(second, "BRIDGEPEER", "")
    pbx.emit("BridgeLeave", "call", bridge_block(bridge_id, 1), channel_block(first))
    pbx.emit("BridgeLeave", "call", bridge_block(bridge_id, 0), channel_block(second))
    first.bridge_id = second.bridge_id = None


def _dial_returned(pbx: Pbx, call: SimCall, status: str) -> None:
    """Dial is over without the caller hanging up (``status``: its DIALSTATUS):
    ``Hangup()`` ends the caller, in capture 06's order for a caller whose
    dialplan reaches its Hangup()."""
    two = call.two
    call.gone = True
    pbx.cancel(call.patience)
    pbx.cancel(call.talk)
    pbx.varset(two, "DIALSTATUS", status)
    two.priority = 2
    pbx.newexten(two, "Hangup", "")
    pbx.hangup_request(two, 16, soft=True)
    pbx.hangup_request(call.one, 16)
    pbx.hangup(two, 16)
    pbx.hangup(call.one, 16)
    pbx.new_callerid(call.one, call.one.caller_num, call.one.caller_name)
    pbx.calls.pop(call.linkedid, None)
