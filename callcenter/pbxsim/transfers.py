"""Transfers and bridges an AMI client asks for: ``BlindTransfer`` (capture 08),
``Atxfer`` and ``Bridge``, with Asterisk 22's texts (main/manager.c, main/bridge.c).

Why the ACD needs them: an agent hands a caller on (blind) or consults first
(attended), and a supervisor may join two channels; the ACD must see the caller
leave the agent's bridge and follow it into the new extension by the events a real
switch sends.
"""

from __future__ import annotations

from callcenter.ami.message import Message
from callcenter.pbxsim import bridging, dialplan
from callcenter.pbxsim.calls import AgentLeg, SimCall
from callcenter.pbxsim.channels import UP, SimChannel
from callcenter.pbxsim.events import Reply, bridge_block, channel_block, response
from callcenter.pbxsim.pbx import Pbx


def _answered_leg_of(pbx: Pbx, ch: SimChannel) -> AgentLeg | None:
    leg = pbx.legs.get(ch.uniqueid.partition(";")[0])
    if leg is None or leg.channel is not ch or not leg.answered or leg.call is None:
        return None
    return leg


def blind_transfer(pbx: Pbx, msg: Message, reply: Reply) -> None:
    """The bridged party of ``Channel`` is sent to ``Exten`` in ``Context`` (the
    channel's own context if none); the transferer's ``Bridge()`` returns and it
    hangs up. Only an agent leg bridged to its caller can transfer here."""
    name, exten = msg.get("Channel") or "", msg.get("Exten") or ""
    if not name:
        reply(response(msg.action_id, "Error", "No channel specified"))
        return
    if not exten:
        reply(response(msg.action_id, "Error", "No extension specified"))
        return
    channel = pbx.channels.named(name)
    if channel is None:
        reply(response(msg.action_id, "Error", "Channel specified does not exist"))
        return
    leg = _answered_leg_of(pbx, channel)
    if leg is None or leg.call is None or leg.call.gone:
        # Not in a bridge (or not one the simulator can take apart): nothing to
        # transfer, as ast_bridge_transfer_blind answers for an unbridged channel.
        reply(response(msg.action_id, "Error", "Transfer invalid"))
        return
    context = msg.get("Context") or channel.context
    reply(response(msg.action_id, "Success", "Transfer succeeded"))
    _blind_transfer(pbx, leg, leg.call, context, exten)


def _blind_transfer(pbx: Pbx, leg: AgentLeg, call: SimCall, context: str, exten: str) -> None:
    agent, caller = leg.channel, call.two
    assert agent is not None
    bridge_id = agent.bridge_id or caller.bridge_id or ""
    pbx.emit("Unhold", "call", channel_block(agent))
    pbx.varset(agent, "BLINDTRANSFER", caller.name)
    pbx.varset(caller, "BLINDTRANSFER", agent.name)
    pbx.varset(agent, "BRIDGEPEER", "")
    pbx.emit(
        "BlindTransfer",
        "call",
        [("Result", "Success")],
        channel_block(agent, "Transferer"),
        channel_block(caller, "Transferee"),
        bridge_block(bridge_id, 2),
        [("IsExternal", "Yes"), ("Context", context), ("Extension", exten)],
    )
    pbx.varset(caller, "BRIDGEPEER", "")
    pbx.emit("BridgeLeave", "call", bridge_block(bridge_id, 1), channel_block(agent))
    pbx.varset(agent, "BRIDGERESULT", "SUCCESS")
    caller.goto(context, exten, 1)
    pbx.emit("BridgeLeave", "call", bridge_block(bridge_id, 0), channel_block(caller))
    pbx.emit("BridgeDestroy", "call", bridge_block(bridge_id, 0))
    agent.bridge_id = caller.bridge_id = None
    call.leg = None
    call.transferred = True
    if not bridging.bridge_returned(pbx, leg):
        pbx.hangup_request(agent, 16, soft=True)
        leg.call = None
        _end_transferer(pbx, leg)
    dialplan.run_caller(pbx, call, context, exten)


def _end_transferer(pbx: Pbx, leg: AgentLeg) -> None:
    """The transferer's leg hangs up once its Bridge() returned (capture 08)."""
    assert leg.channel is not None
    pbx.finish_leg(leg)
    if leg.half is not None:
        pbx.hangup_request(leg.half, 16)
    pbx.hangup(leg.channel, 16)
    if leg.half is not None:
        pbx.hangup_request(leg.half, 16, soft=True)
        pbx.hangup(leg.half, 16)


def atxfer(pbx: Pbx, msg: Message, reply: Reply) -> None:
    """An attended transfer as the agent's phone would start it with the feature
    code: the caller is held while the agent consults ``Exten``. The simulator
    checks and acknowledges it and holds the caller; the consultation call itself
    is not simulated."""
    name, exten = msg.get("Channel") or "", msg.get("Exten") or ""
    if not name:
        reply(response(msg.action_id, "Error", "No channel specified"))
        return
    if not exten:
        reply(response(msg.action_id, "Error", "No extension specified"))
        return
    channel = pbx.channels.named(name)
    if channel is None:
        reply(response(msg.action_id, "Error", "Channel specified does not exist"))
        return
    context = msg.get("Context")
    if context:
        pbx.varset(channel, "TRANSFER_CONTEXT", context)
    reply(response(msg.action_id, "Success", "Atxfer successfully queued"))
    leg = _answered_leg_of(pbx, channel)
    if leg is not None and leg.call is not None:
        pbx.emit("Hold", "call", channel_block(leg.call.two))


def bridge(pbx: Pbx, msg: Message, reply: Reply) -> None:
    """``Bridge`` of a waiting caller (``Channel1`` or ``Channel2``) and an answered
    agent leg that is not bridged: the same bridge ``Bridge()`` in the dialplan
    makes. Other pairs are refused as Asterisk refuses a channel it cannot add."""
    first, second = msg.get("Channel1") or "", msg.get("Channel2") or ""
    if not first or not second:
        reply(response(msg.action_id, "Error", "Missing channel parameter in request"))
        return
    one = pbx.channels.named(first)
    if one is None:
        reply(response(msg.action_id, "Error", f"Channel1 does not exist: {first}"))
        return
    two = pbx.channels.named(second)
    if two is None:
        reply(response(msg.action_id, "Error", f"Channel2 does not exist: {second}"))
        return
    pair = _caller_and_free_leg(pbx, one, two) or _caller_and_free_leg(pbx, two, one)
    if pair is None:
        reply(response(msg.action_id, "Error", "Unable to add Channel2 to bridge"))
        return
    reply(response(msg.action_id, "Success", "Channels have been bridged"))
    caller, leg = pair
    bridging.connect(pbx, leg, caller, respond=False)


def _caller_and_free_leg(
    pbx: Pbx, caller: SimChannel, agent: SimChannel
) -> tuple[SimChannel, AgentLeg] | None:
    call = pbx.calls.get(caller.linkedid)
    if call is None or call.gone or call.two is not caller or caller.bridge_id is not None:
        return None
    if call.leg is not None and call.leg.answered:
        return None
    leg = pbx.legs.get(agent.uniqueid.partition(";")[0])
    if leg is None or leg.channel is not agent or leg.answered or leg.ended:
        return None
    if agent.state != UP:
        return None
    return caller, leg
