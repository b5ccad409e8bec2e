"""Simulated channels and how Asterisk names and numbers them.

Why the ids look as they do: the ACD correlates by them. ``Uniqueid`` is
``<systemname>-<epoch>.<n>`` unless the Originate chose one (``ChannelId``, whose
Local ``;2`` half gets ``<id>;2``); ``Linkedid`` is the Uniqueid of the call's first
channel. Local channels share one ``%08x`` counter per pair, other technologies
(PJSIP) another — as in the captures.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field

from callcenter.pbxsim.audio import Tape

UNKNOWN = "<unknown>"

DOWN, RING, RINGING, UP, BUSY = 0, 4, 5, 6, 7
STATE_DESC = {DOWN: "Down", RING: "Ring", RINGING: "Ringing", UP: "Up", BUSY: "Busy"}

CAUSE_TEXT = {
    0: "Unknown",
    16: "Normal Clearing",
    17: "User busy",
    19: "User alerting, no answer",
    34: "Circuit/channel congestion",
    38: "Network out of order",
}


@dataclass
class SimChannel:
    """One simulated channel, as Asterisk would describe it."""

    name: str
    uniqueid: str
    linkedid: str
    context: str
    exten: str
    priority: int = 1
    state: int = DOWN
    caller_num: str = UNKNOWN
    caller_name: str = UNKNOWN
    connected_num: str = UNKNOWN
    connected_name: str = UNKNOWN
    variables: dict[str, str] = field(default_factory=dict)
    bridge_id: str | None = None
    #: the dialplan application running now, for CoreShowChannels and Status
    app: str = ""
    app_data: str = ""
    #: loop time of creation, for Duration / Seconds
    created_at: float = 0.0
    #: the file a MixMonitor on this channel writes, if one runs
    mixmonitor: str | None = None
    #: that MixMonitor's file as it is being recorded, when the simulator writes one
    tape: Tape | None = None

    @property
    def tech(self) -> str:
        return self.name.partition("/")[0]

    def goto(self, context: str, exten: str, priority: int) -> None:
        self.context, self.exten, self.priority = context, exten, priority


class ChannelTable:
    """The live channels of one PBX, and the counters that name new ones."""

    def __init__(self, system_name: str) -> None:
        self._system_name = system_name
        self._by_uniqueid: dict[str, SimChannel] = {}
        #: name -> Uniqueid: Hangup, Redirect and every answer look channels up by
        #: name, and a scan of all live channels made the simulator quadratic.
        self._by_name: dict[str, str] = {}
        self._ids = itertools.count()
        self._local_ids = itertools.count()
        self._tech_ids = itertools.count(1)

    def new_uniqueid(self) -> str:
        return f"{self._system_name}-{int(time.time())}.{next(self._ids)}"

    def local_base(self, exten: str, context: str) -> str:
        return f"Local/{exten}@{context}-{next(self._local_ids):08x}"

    def announcer_name(self, conference: str) -> str:
        """ConfBridge's announcer is an unreal channel like Local, on the same counter
        (capture 16: the second agent's Local is numbered after it)."""
        return f"CBAnn/{conference}-{next(self._local_ids):08x}"

    def tech_name(self, dial_string: str) -> str:
        """``PJSIP/agent01`` -> ``PJSIP/agent01-00000001``. A dial string routed
        through an endpoint (``PJSIP/+4930...@outbound-trunk``) names the channel
        after that endpoint, as chan_pjsip does."""
        tech, _, resource = dial_string.partition("/")
        endpoint = resource.rpartition("@")[2]
        return f"{tech}/{endpoint}-{next(self._tech_ids):08x}"

    def add(self, channel: SimChannel, now: float) -> SimChannel:
        channel.created_at = now
        self._by_uniqueid[channel.uniqueid] = channel
        self._by_name[channel.name] = channel.uniqueid
        return channel

    def remove(self, channel: SimChannel) -> bool:
        """Forget a channel; False if it was already gone (hung up twice)."""
        if self._by_name.get(channel.name) == channel.uniqueid:
            del self._by_name[channel.name]
        return self._by_uniqueid.pop(channel.uniqueid, None) is not None

    def alive(self, channel: SimChannel) -> bool:
        return self._by_uniqueid.get(channel.uniqueid) is channel

    def named(self, name: str) -> SimChannel | None:
        uniqueid = self._by_name.get(name)
        channel = None if uniqueid is None else self._by_uniqueid.get(uniqueid)
        return channel if channel is not None and channel.name == name else None

    def live(self) -> list[SimChannel]:
        """Live channels, oldest first."""
        return sorted(self._by_uniqueid.values(), key=lambda c: c.created_at)
