"""Asterisk-shaped AMI frames: the header blocks Asterisk 22 puts on its events and
responses, as pure functions of the channel state.

Header names and their order follow the captures in ``tests/fixtures/ami``; the
conformance tests compare them, so a client that works against the simulator sees
what it would see from a real PBX.
"""

from __future__ import annotations

from collections.abc import Callable

from callcenter.pbxsim.channels import STATE_DESC, UNKNOWN, SimChannel

Headers = list[tuple[str, str]]
#: sends a response or list item to the session that sent the action
Reply = Callable[[Headers], None]

CALLING_PRES = ("CID-CallingPres", "0 (Presentation Allowed, Not Screened)")


def channel_block(ch: SimChannel, prefix: str = "") -> Headers:
    return [
        (f"{prefix}Channel", ch.name),
        (f"{prefix}ChannelState", str(ch.state)),
        (f"{prefix}ChannelStateDesc", STATE_DESC.get(ch.state, "Unknown")),
        (f"{prefix}CallerIDNum", ch.caller_num),
        (f"{prefix}CallerIDName", ch.caller_name),
        (f"{prefix}ConnectedLineNum", ch.connected_num),
        (f"{prefix}ConnectedLineName", ch.connected_name),
        (f"{prefix}Language", "en"),
        (f"{prefix}AccountCode", ""),
        (f"{prefix}Context", ch.context),
        (f"{prefix}Exten", ch.exten),
        (f"{prefix}Priority", str(ch.priority)),
        (f"{prefix}Uniqueid", ch.uniqueid),
        (f"{prefix}Linkedid", ch.linkedid),
    ]


def bridge_block(bridge_id: str, members: int) -> Headers:
    return [
        ("BridgeUniqueid", bridge_id),
        ("BridgeType", "basic"),
        ("BridgeTechnology", "simple_bridge"),
        ("BridgeCreator", UNKNOWN),
        ("BridgeName", UNKNOWN),
        ("BridgeNumChannels", str(members)),
        ("BridgeVideoSourceMode", "none"),
    ]


def conference_bridge_block(bridge_id: str, name: str, members: int) -> Headers:
    """A ConfBridge's bridge: a ``softmix`` mixing bridge named after the conference."""
    return [
        ("BridgeUniqueid", bridge_id),
        ("BridgeType", "base"),
        ("BridgeTechnology", "softmix"),
        ("BridgeCreator", "ConfBridge"),
        ("BridgeName", name),
        ("BridgeNumChannels", str(members)),
        ("BridgeVideoSourceMode", "none"),
    ]


def event(name: str, privilege: str, system_name: str, *parts: Headers) -> Headers:
    headers: Headers = [
        ("Event", name),
        ("Privilege", f"{privilege},all"),
        ("SystemName", system_name),
    ]
    for part in parts:
        headers.extend(part)
    return headers


def response(action_id: str | None, status: str, message: str | None = None) -> Headers:
    """``Response``, then the echoed ``ActionID``, then ``Message`` (Asterisk's order)."""
    headers: Headers = [("Response", status)]
    if action_id is not None:
        headers.append(("ActionID", action_id))
    if message is not None:
        headers.append(("Message", message))
    return headers


def list_start(action_id: str | None, message: str) -> Headers:
    headers = response(action_id, "Success")
    return [*headers, ("EventList", "start"), ("Message", message)]


def list_complete(name: str, action_id: str | None, items: int) -> Headers:
    headers: Headers = [("Event", name)]
    if action_id is not None:
        headers.append(("ActionID", action_id))
    return [*headers, ("EventList", "Complete"), ("ListItems", str(items))]


def fully_booted(uptime_s: int, last_reload_s: int) -> Headers:
    """Sent to a session right after its login; it has no SystemName on the wire.
    Both are seconds: since the process started, and since its last reload (capture
    15's Asterisk had been reloaded since it started; a restart resets both)."""
    return [
        ("Event", "FullyBooted"),
        ("Privilege", "system,all"),
        ("Uptime", str(uptime_s)),
        ("LastReload", str(last_reload_s)),
        ("Status", "Fully Booted"),
    ]


def hh_mm_ss(seconds: int) -> str:
    return f"{seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def core_show_channel(ch: SimChannel, action_id: str | None, seconds: int) -> Headers:
    headers: Headers = [("Event", "CoreShowChannel")]
    if action_id is not None:
        headers.append(("ActionID", action_id))
    return [
        *headers,
        *channel_block(ch),
        ("Application", ch.app),
        ("ApplicationData", ch.app_data),
        ("Duration", hh_mm_ss(seconds)),
        ("BridgeId", ch.bridge_id or ""),
    ]


def status_item(ch: SimChannel, action_id: str | None, seconds: int) -> Headers:
    """One ``Status`` list item; Asterisk spells its Privilege ``Call`` and puts the
    ActionID last."""
    headers: Headers = [
        ("Event", "Status"),
        ("Privilege", "Call"),
        *channel_block(ch),
        ("Type", ch.tech),
        ("DNID", ""),
        ("EffectiveConnectedLineNum", ch.connected_num),
        ("EffectiveConnectedLineName", ch.connected_name),
        ("TimeToHangup", "0"),
        ("BridgeID", ch.bridge_id or ""),
        ("Application", ch.app or "(null)"),
        ("Data", ch.app_data if ch.app else "(null)"),
        ("Nativeformats", "(slin)"),
        ("Readformat", "slin"),
        ("Readtrans", ""),
        ("Writeformat", "slin"),
        ("Writetrans", ""),
        ("Callgroup", "0"),
        ("Pickupgroup", "0"),
        ("Seconds", str(seconds)),
    ]
    if action_id is not None:
        headers.append(("ActionID", action_id))
    return headers
