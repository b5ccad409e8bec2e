"""The live channels of one PBX, by Uniqueid, and who is in which bridge.

Why Uniqueid and not the channel name: names are recycled (the ``-0000000e``
counter restarts with Asterisk) and change on a masquerade, while Uniqueid is fixed
for the channel's life. ``origin_linkedid`` is the Linkedid a channel was created
with: it tells the caller's own channels (created inside the caller's call) from an
agent leg, whose Linkedid Asterisk rewrites to the caller's at BridgeEnter.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from callcenter.ami.message import Message


@dataclass(slots=True)
class Channel:
    uniqueid: str
    name: str
    origin_linkedid: str
    state: str = ""
    bridge_id: str | None = None


class Channels:
    """Channel records plus three indexes (by name, by origin Linkedid, by bridge)."""

    __slots__ = ("_bridges", "_by_id", "_by_name", "_by_origin")

    def __init__(self) -> None:
        self._by_id: dict[str, Channel] = {}
        self._by_name: dict[str, str] = {}
        self._by_origin: dict[str, set[str]] = {}
        self._bridges: dict[str, set[str]] = {}

    def __len__(self) -> int:
        return len(self._by_id)

    def __iter__(self) -> Iterator[Channel]:
        return iter(list(self._by_id.values()))

    def get(self, uniqueid: str) -> Channel | None:
        return self._by_id.get(uniqueid)

    def named(self, name: str) -> Channel | None:
        """The live channel called ``name`` (names are unique among live channels)."""
        uniqueid = self._by_name.get(name)
        return None if uniqueid is None else self._by_id.get(uniqueid)

    def born_in(self, linkedid: str) -> list[Channel]:
        """Live channels that were created inside the call ``linkedid``."""
        return [self._by_id[u] for u in sorted(self._by_origin.get(linkedid, ()))]

    def members(self, bridge_id: str) -> list[Channel]:
        return [self._by_id[u] for u in sorted(self._bridges.get(bridge_id, ()))]

    def observe(self, msg: Message) -> Channel | None:
        """The channel an event is about, created on first sight; None if the event
        names no channel."""
        uniqueid = msg.get("Uniqueid")
        if not uniqueid:
            return None
        channel = self._by_id.get(uniqueid)
        name = msg.get("Channel", "") or ""
        if channel is None:
            channel = Channel(uniqueid, name, msg.get("Linkedid") or uniqueid)
            self._by_id[uniqueid] = channel
            self._by_origin.setdefault(channel.origin_linkedid, set()).add(uniqueid)
            if name:
                self._by_name[name] = uniqueid
        state = msg.get("ChannelStateDesc")
        if state:
            channel.state = state
        return channel

    def rename(self, channel: Channel, new_name: str) -> None:
        if self._by_name.get(channel.name) == channel.uniqueid:
            del self._by_name[channel.name]
        channel.name = new_name
        self._by_name[new_name] = channel.uniqueid

    def enter_bridge(self, channel: Channel, bridge_id: str) -> None:
        if channel.bridge_id is not None:
            self.leave_bridge(channel)
        channel.bridge_id = bridge_id
        self._bridges.setdefault(bridge_id, set()).add(channel.uniqueid)

    def leave_bridge(self, channel: Channel) -> None:
        bridge_id = channel.bridge_id
        if bridge_id is None:
            return
        channel.bridge_id = None
        members = self._bridges.get(bridge_id)
        if members is not None:
            members.discard(channel.uniqueid)
            if not members:
                del self._bridges[bridge_id]

    def remove(self, channel: Channel) -> None:
        self.leave_bridge(channel)
        self._by_id.pop(channel.uniqueid, None)
        if self._by_name.get(channel.name) == channel.uniqueid:
            del self._by_name[channel.name]
        born = self._by_origin.get(channel.origin_linkedid)
        if born is not None:
            born.discard(channel.uniqueid)
            if not born:
                del self._by_origin[channel.origin_linkedid]
