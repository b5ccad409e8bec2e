"""Asterisk-shaped AMI frames: the header blocks Asterisk 22 puts on every event.

Header names and their order follow the captures in ``tests/fixtures/ami``; the
conformance test compares them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

Headers = list[tuple[str, str]]

STATE_DESC = {0: "Down", 4: "Ring", 5: "Ringing", 6: "Up", 7: "Busy"}
CAUSE_TEXT = {
    0: "Unknown",
    16: "Normal Clearing",
    17: "User busy",
    19: "User alerting, no answer",
}
UNKNOWN = "<unknown>"


@dataclass
class SimChannel:
    """One simulated channel, as Asterisk would describe it."""

    name: str
    uniqueid: str
    linkedid: str
    context: str
    exten: str
    priority: int = 1
    state: int = 0
    caller_num: str = UNKNOWN
    caller_name: str = UNKNOWN
    connected_num: str = UNKNOWN
    connected_name: str = UNKNOWN
    variables: dict[str, str] = field(default_factory=dict)
    bridge_id: str | None = None
    created_at: float = 0.0

    def goto(self, context: str, exten: str, priority: int) -> None:
        self.context, self.exten, self.priority = context, exten, priority


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


def event(name: str, privilege: str, system: str, *parts: Headers) -> Headers:
    headers: Headers = [("Event", name), ("Privilege", f"{privilege},all"), ("SystemName", system)]
    for part in parts:
        headers.extend(part)
    return headers


def response(action_id: str | None, status: str, message: str | None = None) -> Headers:
    headers: Headers = [("Response", status)]
    if action_id is not None:
        headers.append(("ActionID", action_id))
    if message is not None:
        headers.append(("Message", message))
    return headers
