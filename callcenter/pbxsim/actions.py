"""The AMI actions that act on calls and channels, answered with Asterisk 22's own
texts (capture 11-errors) and list shapes (capture 10-resync-snapshot).

Each handler takes the switch, the action and a ``reply`` for the session that sent
it; events that follow go to every session through the switch.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable

from callcenter.ami.message import Message
from callcenter.pbxsim import (
    bridging,
    callback_out,
    callers,
    conference,
    dialplan,
    legs,
    outbound,
    recording,
    spy,
    transfers,
)
from callcenter.pbxsim.calls import AgentLeg
from callcenter.pbxsim.channels import SimChannel
from callcenter.pbxsim.events import (
    Headers,
    Reply,
    core_show_channel,
    list_complete,
    list_start,
    response,
    status_item,
)
from callcenter.pbxsim.pbx import Pbx

Handler = Callable[[Pbx, Message, Reply], None]

DEFAULT_ORIGINATE_TIMEOUT_MS = 30000
_INBOUND = re.compile(r"Local/(?P<did>[^@/]+)@" + callers.INBOUND + r"\Z")


def originate(pbx: Pbx, msg: Message, reply: Reply) -> None:
    channel = msg.get("Channel")
    if not channel:
        reply(response(msg.action_id, "Error", "Channel not specified"))
        return
    timeout = msg.get("Timeout") or str(DEFAULT_ORIGINATE_TIMEOUT_MS)
    if not timeout.isdigit():
        reply(response(msg.action_id, "Error", "Invalid timeout"))
        return
    number, name = parse_caller_id(msg.get("CallerID") or "")
    inbound = _INBOUND.match(channel)
    reply(response(msg.action_id, "Success", "Originate successfully queued"))
    if inbound is not None:
        _originate_customer(pbx, msg, inbound["did"], number, name)
        return
    leg = AgentLeg(
        leg_id=msg.get("ChannelId") or pbx.channels.new_uniqueid(),
        dial_string=channel,
        behaviour=pbx.phones.behaviour(channel),
        action_id=msg.action_id,
        context=msg.get("Context") or "",
        variables=dict(_variable(v) for v in msg.get_all("Variable")),
        caller_id=(number, name),
        timeout_s=int(timeout) / 1000,
        exten=msg.get("Exten") or "s",
    )
    legs.originate(pbx, leg)


def _variable(assignment: str) -> tuple[str, str]:
    name, _, value = assignment.partition("=")
    return name.strip(), value


def _originate_customer(pbx: Pbx, msg: Message, did: str, number: str, name: str) -> None:
    """``Local/<DID>@callcenter-inbound`` is how the captures play a customer; the
    simulator plays one too, so a client can drive callers over AMI alone."""
    headers: Headers = [] if msg.action_id is None else [("ActionID", msg.action_id)]
    application = [("Application", msg.get("Application") or ""), ("Data", msg.get("Data") or "")]
    queue = pbx.queue_of_did.get(did)
    if queue is None:
        # No such extension in callcenter-inbound: no channel comes up.
        failed = [("Response", "Failure"), ("Channel", msg.get("Channel") or ""), *application]
        pbx.emit("OriginateResponse", "call", headers, failed, [("Reason", "0")])
        return

    def answered(one: SimChannel) -> None:
        pbx.emit(
            "OriginateResponse",
            "call",
            headers,
            [("Response", "Success"), ("Channel", one.name), *application],
            [("Reason", "4"), ("Uniqueid", one.uniqueid)],
            [("CallerIDNum", number), ("CallerIDName", name)],
        )

    enter = functools.partial(
        callers.enter,
        pbx,
        did=did,
        queue=queue,
        caller_number=number,
        caller_name=name,
        account=callers.DIALPLAN_ACCOUNTS.get(did, ""),
        patience_s=None,
        talk_s=None,
        answered=answered,
    )
    pbx.later(0, enter)


def parse_caller_id(text: str) -> tuple[str, str]:
    """``"Name" <number>`` -> (number, name); a bare number has no name."""
    if "<" not in text:
        return text.strip(), ""
    name, _, rest = text.partition("<")
    return rest.partition(">")[0].strip(), name.strip().strip('"')


def hangup(pbx: Pbx, msg: Message, reply: Reply) -> None:
    name = msg.get("Channel") or ""
    if not name:
        reply(response(msg.action_id, "Error", "No channel specified"))
        return
    if len(name) > 2 and name.startswith("/") and name.endswith("/"):
        _hangup_matching(pbx, msg, name[1:-1], reply)
        return
    channel = pbx.channels.named(name)
    if channel is None:
        reply(response(msg.action_id, "Error", "No such channel"))
        return
    reply(response(msg.action_id, "Success", "Channel Hungup"))
    hang_up_channel(pbx, channel)


def _hangup_matching(pbx: Pbx, msg: Message, pattern: str, reply: Reply) -> None:
    """``Channel: /regex/`` hangs up every match and lists them (capture 05)."""
    try:
        regex = re.compile(pattern)
    except re.error:
        reply(response(msg.action_id, "Error", "Invalid regex"))
        return
    matched = [ch for ch in pbx.channels.live() if regex.search(ch.name)]
    reply(list_start(msg.action_id, "Channels hung up will follow"))
    tail: Headers = [] if msg.action_id is None else [("ActionID", msg.action_id)]
    for ch in matched:
        reply([("Event", "ChannelHungup"), ("Channel", ch.name), *tail])
    reply(list_complete("ChannelsHungupListComplete", msg.action_id, len(matched)))
    for ch in matched:
        if pbx.channels.alive(ch):
            hang_up_channel(pbx, ch)


def hang_up_channel(pbx: Pbx, channel: SimChannel) -> None:
    call = pbx.calls.get(channel.linkedid)
    if call is not None and channel in (call.one, call.two):
        bridging.caller_hangs_up(pbx, call)
        return
    if call is not None and channel is call.outside:
        outbound.outside_hangs_up(pbx, call)
        return
    attempt = pbx.legs.get(channel.linkedid)
    if attempt is not None and attempt.customer is channel:
        callback_out.customer_hangs_up(pbx, attempt)
        return
    leg = pbx.legs.get(channel.uniqueid.partition(";")[0])
    if leg is None or leg.channel is None:
        pbx.hangup(channel, 0)
    elif leg.answered and leg.call is not None:
        bridging.agent_hangs_up(pbx, leg)
    elif leg.answered and conference.member_of(pbx, leg.channel) is not None:
        conference.hang_up_member(pbx, leg)
    elif leg.answered and leg.context == spy.SPY:
        spy.hang_up(pbx, leg)
    elif leg.answered and leg.context == callback_out.CONTEXT:
        callback_out.agent_hangs_up(pbx, leg)
    else:
        legs.cancel_ringing(pbx, leg)


def redirect(pbx: Pbx, msg: Message, reply: Reply) -> None:
    name = msg.get("Channel") or ""
    if not name:
        reply(response(msg.action_id, "Error", "Channel not specified"))
        return
    channel = pbx.channels.named(name)
    if channel is None:
        reply(response(msg.action_id, "Error", f"Channel does not exist: {name}"))
        return
    context, exten = msg.get("Context") or "", msg.get("Exten") or ""
    if not context or not exten:
        reply(response(msg.action_id, "Error", "Exten not specified"))
        return
    reply(response(msg.action_id, "Success", "Redirect successful"))
    priority = msg.get("Priority") or "1"
    dialplan.redirect(pbx, channel, context, exten, int(priority) if priority.isdigit() else 1)


def core_show_channels(pbx: Pbx, msg: Message, reply: Reply) -> None:
    channels = pbx.channels.live()
    now = pbx.now()
    reply(list_start(msg.action_id, "Channels will follow"))
    for ch in channels:
        reply(core_show_channel(ch, msg.action_id, int(now - ch.created_at)))
    reply(list_complete("CoreShowChannelsComplete", msg.action_id, len(channels)))


def status(pbx: Pbx, msg: Message, reply: Reply) -> None:
    name = msg.get("Channel")
    if name:
        one = pbx.channels.named(name)
        if one is None:
            reply(response(msg.action_id, "Error", "No such channel"))
            return
        channels = [one]
    else:
        channels = pbx.channels.live()
    now = pbx.now()
    reply(list_start(msg.action_id, "Channel status will follow"))
    for ch in channels:
        reply(status_item(ch, msg.action_id, int(now - ch.created_at)))
    complete = list_complete("StatusComplete", msg.action_id, len(channels))
    reply([*complete, ("Items", str(len(channels)))])


def setvar(pbx: Pbx, msg: Message, reply: Reply) -> None:
    variable = msg.get("Variable") or ""
    if not variable:
        reply(response(msg.action_id, "Error", "No variable specified"))
        return
    value = msg.get("Value") or ""
    name = msg.get("Channel")
    if not name:
        pbx.global_variables[variable] = value
        reply(response(msg.action_id, "Success", "Variable Set"))
        return
    channel = pbx.channels.named(name)
    if channel is None:
        reply(response(msg.action_id, "Error", "No such channel"))
        return
    reply(response(msg.action_id, "Success", "Variable Set"))
    pbx.varset(channel, variable, value)


def getvar(pbx: Pbx, msg: Message, reply: Reply) -> None:
    variable = msg.get("Variable") or ""
    if not variable:
        reply(response(msg.action_id, "Error", "No variable specified"))
        return
    name = msg.get("Channel")
    if not name:
        value = pbx.global_variables.get(variable, "")
    else:
        channel = pbx.channels.named(name)
        if channel is None:
            reply(response(msg.action_id, "Error", "No such channel"))
            return
        value = channel.variables.get(variable, "")
    reply([*response(msg.action_id, "Success"), ("Variable", variable), ("Value", value)])


def user_event(pbx: Pbx, msg: Message, reply: Reply) -> None:
    name = msg.get("UserEvent")
    if not name:
        reply(response(msg.action_id, "Error", "UserEvent header missing"))
        return
    reply(response(msg.action_id, "Success", "Event Sent"))
    extra = [(k, v) for k, v in msg.headers if k not in ("Action", "ActionID", "UserEvent")]
    pbx.emit("UserEvent", "user", [("UserEvent", name)], extra)


HANDLERS: dict[str, Handler] = {
    "originate": originate,
    "hangup": hangup,
    "redirect": redirect,
    "coreshowchannels": core_show_channels,
    "status": status,
    "setvar": setvar,
    "getvar": getvar,
    "userevent": user_event,
    "mixmonitormute": recording.mixmonitor_mute,
    "blindtransfer": transfers.blind_transfer,
    "atxfer": transfers.atxfer,
    "bridge": transfers.bridge,
}
