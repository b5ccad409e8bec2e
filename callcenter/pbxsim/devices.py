"""Agent phones as devices: registration (``ContactStatus``, ``PeerStatus``) and
device state (``DeviceStateChange``) of PJSIP endpoints, in capture 15's order.

Why: the ACD learns that an agent's phone is reachable, ringing, in use or gone
from these events, before and without any call; the simulator must raise them
when a simulated phone registers, rings, talks, hangs up and unregisters.
Local ``agent-sim`` phones are dialplan, not devices, and raise none of them.
"""

from __future__ import annotations

import dataclasses

from callcenter.pbxsim.pbx import Pbx

NOT_INUSE, UNAVAILABLE = "NOT_INUSE", "UNAVAILABLE"
#: where the simulated SIP phones register from
CONTACT_HOST = "127.0.0.1:5080"


def _endpoint(dial_string: str) -> str:
    return dial_string.partition("/")[2]


def _contact(dial_string: str, status: str, roundtrip_usec: int) -> list[tuple[str, str]]:
    endpoint = _endpoint(dial_string)
    return [
        ("URI", f"sip:{endpoint}@{CONTACT_HOST}"),
        ("ContactStatus", status),
        ("AOR", endpoint),
        ("EndpointName", endpoint),
        ("RoundtripUsec", str(roundtrip_usec)),
    ]


def _peer(dial_string: str, status: str) -> list[tuple[str, str]]:
    return [("ChannelType", "PJSIP"), ("Peer", dial_string), ("PeerStatus", status)]


def register(pbx: Pbx, dial_string: str) -> None:
    """The phone registers: a contact appears (not yet qualified), the first qualify
    answers, and the device is free."""
    phones = pbx.phones
    phones.set(dial_string, dataclasses.replace(phones.behaviour(dial_string), registered=True))
    pbx.emit("ContactStatus", "system", _contact(dial_string, "NonQualified", 0))
    pbx.emit("PeerStatus", "system", _peer(dial_string, "Reachable"))
    pbx.emit("ContactStatus", "system", _contact(dial_string, "Reachable", 426))
    pbx.device_state(dial_string, NOT_INUSE)


def unregister(pbx: Pbx, dial_string: str) -> None:
    """The phone unregisters: offers to it now fail at once (capture 12's outcome)."""
    phones = pbx.phones
    phones.set(dial_string, dataclasses.replace(phones.behaviour(dial_string), registered=False))
    pbx.emit("PeerStatus", "system", _peer(dial_string, "Unreachable"))
    pbx.device_state(dial_string, UNAVAILABLE)
    pbx.emit("ContactStatus", "system", _contact(dial_string, "Removed", 0))
