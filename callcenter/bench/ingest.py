"""How fast the AMI listener ingests call-center traffic, against a bare split and panoramisk.

Why synthetic traffic and not the captures (``bench codec`` replays those): the
captures are a dozen scenarios with one call at a time, while a call center has
dozens of calls in flight. Here a seeded ``random.Random`` writes thousands of
calls, interleaved ``concurrency`` at a time, each event with Asterisk 22's full
header set as in ``tests/fixtures/ami`` (Newchannel, Newexten, VarSet, NewCallerid,
LocalBridge, DialBegin/DialState/DialEnd, Newstate, UserEvent, OriginateResponse,
BridgeCreate/Enter/Leave/Destroy, HangupRequest, Hangup, DeviceStateChange), caller
names with multi-byte UTF-8 among them. Each call is a Local ``;1``/``;2`` caller
pair that raises ``UserEvent: CallCenterEnqueue``, then agent legs originated with
``ChannelId: agentleg-<call>-<n>``; calls are answered (the caller or the agent
hangs up first), answered after an offer that rang out, or abandoned while waiting
or while an agent rang. Callers are not originated by us in production (they come
from a trunk), so unlike the captures no OriginateResponse is written for them.

The whole byte stream is built first (not timed), cut into 64 KiB reads as a socket
delivers them, and the same reads go through three paths, each run ``repeats``
times, the best time kept:

- ``events_per_s``: the full listener path, what ``AmiClient`` and ``PbxLink`` do
  per read: ``AmiCodec.feed`` (banner included) with the tracker's frame filter
  (``wants_frame``: frames nobody reads are counted but not parsed, as live), the
  client's dispatch (Banner and MalformedFrame skipped, ``PendingActions.feed``
  for responses and list items),
  then ``CallTracker.feed`` into domain events. A stand-in for the orchestrator
  receives every domain event and places the generated offers the way the service
  does: ``expect_agent_leg`` when a call arrives (and again after an offer failed),
  before that leg's first event. Those calls are inside the timed path.
- ``baseline_events_per_s``: the least a parser can do (the baseline of ``bench
  codec``): split the buffer on blank lines across reads, split lines, split each
  on ``": "``, decode, build a dict. No tracking.
- ``panoramisk_events_per_s``: panoramisk 1.4's parser driven exactly as on a
  socket: an ``AMIProtocol`` gets ``connection_made`` with a do-nothing transport,
  then ``factory`` and ``encoding = "utf8"`` are set as ``Manager.connection_made``
  sets them, and every read goes to ``data_received`` (decode of the read, split on
  blank lines, ``Message.from_line``, ``handle_message``). The factory is a stub
  whose ``dispatch`` only counts events; a real ``Manager.dispatch`` would also
  match every registered pattern, so this figure is panoramisk at its fastest.

No timing is asserted anywhere: the figures are for people, the tests check the
traffic and the counts.
"""

from __future__ import annotations

import gc
import random
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any, Literal

from callcenter.ami import events as ev
from callcenter.ami.codec import FRAME_END, AmiCodec
from callcenter.ami.correlator import PendingActions
from callcenter.ami.message import MalformedFrame, Message
from callcenter.ami.tracker import CallTracker, wants_frame

READ_SIZE = 64 * 1024
BANNER = b"Asterisk Call Manager/11.0.0\r\n"
PBX = "pbx1"
_EPOCH = 1_795_400_000

CallKind = Literal[
    "answered", "agent_hangs_up", "no_answer_then_answered", "abandon_waiting", "abandon_ringing"
]
#: How often each kind of call happens (weights for the seeded choice).
CALL_MIX: dict[CallKind, int] = {
    "answered": 60,
    "agent_hangs_up": 8,
    "no_answer_then_answered": 10,
    "abandon_waiting": 12,
    "abandon_ringing": 10,
}
ANSWERED_KINDS: frozenset[CallKind] = frozenset(
    {"answered", "agent_hangs_up", "no_answer_then_answered"}
)

_ASCII_NAMES = (
    "Alice Martin",
    "Bob Stone",
    "Eva Novak",
    "Marco Rossi",
    "Sarah Connor",
    "Liam Walsh",
    "Nina Petrova",
    "Omar Haddad",
    "Grace Lee",
)
#: About one caller in ten: two-, three- and four-byte UTF-8 (a read may end mid-character).
UTF8_NAMES = (
    "Chloé Dubois",
    "Jürgen Groß",
    "李小龍",
    "Zoë Ångström",
    "Ayşe Yılmaz",
    "Ana 🙂 Sousa",
)
_QUEUES = ("sales", "support", "billing")
_DIDS = ("100", "101", "200")
_STATE_DESC = {0: "Down", 4: "Ring", 5: "Ringing", 6: "Up"}
_CAUSE_TXT = {0: "Unknown", 16: "Normal Clearing", 17: "User busy", 19: "User alerting, no answer"}
_CID_PRES = "CID-CallingPres: 0 (Presentation Allowed, Not Screened)\r\n"
_BRIDGE_HEAD = (
    "BridgeType: basic\r\nBridgeTechnology: simple_bridge\r\nBridgeCreator: <unknown>\r\n"
    "BridgeName: <unknown>\r\n"
)


# -- the synthetic traffic ------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Offer:
    """One agent leg the ACD originates (what ``expect_agent_leg`` is told)."""

    leg_id: str
    action_id: str
    agent_target: str
    caller_channel: str
    call_id: str


@dataclass(frozen=True, slots=True)
class PlannedCall:
    """What the generator wrote for one call, to check the tracker against."""

    linkedid: str
    kind: CallKind
    caller_number: str
    caller_name: str
    queue: str
    offers: tuple[Offer, ...]


@dataclass(frozen=True, slots=True)
class Traffic:
    data: bytes
    events: int
    calls: tuple[PlannedCall, ...]

    def offers(self) -> dict[str, tuple[Offer, ...]]:
        """The offers of each call, by Linkedid (what the ACD will originate)."""
        return {call.linkedid: call.offers for call in self.calls if call.offers}


@dataclass(slots=True)
class _Chan:
    """A channel's snapshot as Asterisk prints it in every channel event."""

    name: str
    uniqueid: str
    linkedid: str
    context: str
    exten: str
    state: int = 0
    priority: int = 1
    cid_num: str = "<unknown>"
    cid_name: str = "<unknown>"
    conn_num: str = "<unknown>"
    conn_name: str = "<unknown>"

    def snapshot(self, prefix: str = "") -> str:
        p = prefix
        return (
            f"{p}Channel: {self.name}\r\n{p}ChannelState: {self.state}\r\n"
            f"{p}ChannelStateDesc: {_STATE_DESC[self.state]}\r\n"
            f"{p}CallerIDNum: {self.cid_num}\r\n{p}CallerIDName: {self.cid_name}\r\n"
            f"{p}ConnectedLineNum: {self.conn_num}\r\n{p}ConnectedLineName: {self.conn_name}\r\n"
            f"{p}Language: en\r\n{p}AccountCode: \r\n{p}Context: {self.context}\r\n"
            f"{p}Exten: {self.exten}\r\n{p}Priority: {self.priority}\r\n"
            f"{p}Uniqueid: {self.uniqueid}\r\n{p}Linkedid: {self.linkedid}\r\n"
        )


class _Script:
    """The frames of one call, in the order Asterisk 22 sends them."""

    def __init__(self) -> None:
        self.frames: list[str] = []

    def event(self, name: str, body: str, privilege: str = "call") -> None:
        self.frames.append(
            f"Event: {name}\r\nPrivilege: {privilege},all\r\nSystemName: {PBX}\r\n{body}\r\n"
        )

    def channel(self, name: str, chan: _Chan, extra: str = "", privilege: str = "call") -> None:
        self.event(name, chan.snapshot() + extra, privilege)

    def dial(self, name: str, dest: _Chan, extra: str) -> None:
        self.event(name, dest.snapshot("Dest") + extra)

    def newexten(self, chan: _Chan, app: str, data: str) -> None:
        extra = f"Extension: {chan.exten}\r\nApplication: {app}\r\nAppData: {data}\r\n"
        self.channel("Newexten", chan, extra, "dialplan")

    def varset(self, chan: _Chan, variable: str, value: str) -> None:
        self.channel("VarSet", chan, f"Variable: {variable}\r\nValue: {value}\r\n", "dialplan")

    def newstate(self, chan: _Chan, state: int) -> None:
        chan.state = state
        self.channel("Newstate", chan)

    def caller_id(self, chan: _Chan, number: str, name: str) -> None:
        chan.cid_num, chan.cid_name = number, name
        self.channel("NewCallerid", chan, _CID_PRES)
        chan.conn_num, chan.conn_name = number, name
        self.channel("NewConnectedLine", chan)

    def local_bridge(self, one: _Chan, two: _Chan) -> None:
        tail = f"Context: {one.context}\r\nExten: {one.exten}\r\nLocalOptimization: Yes\r\n"
        self.event("LocalBridge", one.snapshot("LocalOne") + two.snapshot("LocalTwo") + tail)

    def bridge(self, name: str, bridge_id: str, members: int, chan: _Chan | None = None) -> None:
        body = (
            f"BridgeUniqueid: {bridge_id}\r\n{_BRIDGE_HEAD}BridgeNumChannels: {members}\r\n"
            "BridgeVideoSourceMode: none\r\n"
        )
        self.event(name, body + (chan.snapshot() if chan is not None else ""))

    def hangup_request(self, chan: _Chan, cause: int, *, soft: bool = False) -> None:
        self.channel("SoftHangupRequest" if soft else "HangupRequest", chan, f"Cause: {cause}\r\n")

    def hangup(self, chan: _Chan, cause: int) -> None:
        self.channel("Hangup", chan, f"Cause: {cause}\r\nCause-txt: {_CAUSE_TXT[cause]}\r\n")

    def device_state(self, device: str, state: str) -> None:
        self.event("DeviceStateChange", f"Device: {device}\r\nState: {state}\r\n")

    def originate_response(self, offer: Offer, channel: str, reason: int) -> None:
        response = "Success" if reason == 4 else "Failure"
        call_id = offer.call_id
        self.event(
            "OriginateResponse",
            f"ActionID: {offer.action_id}\r\nResponse: {response}\r\nChannel: {channel}\r\n"
            f"Context: callcenter-connect\r\nExten: s\r\nReason: {reason}\r\n"
            f"Uniqueid: {offer.leg_id}\r\nCallerIDNum: {call_id}\r\nCallerIDName: CC {call_id}\r\n",
        )


class _Generator:
    """Writes calls; holds the PBX-wide counters (channel names, Uniqueids, ActionIDs)."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self._local = 0
        self._uid = 0
        self._action = 1
        self._calls = 0

    def _local_name(self, target: str) -> tuple[str, str]:
        self._local += 1
        base = f"Local/{target}-{self._local:08x}"
        return f"{base};1", f"{base};2"

    def _uniqueid(self) -> str:
        self._uid += 1
        return f"{PBX}-{_EPOCH + self._uid // 8}.{self._uid}"

    def _bridge_id(self) -> str:
        return str(uuid.UUID(int=self.rng.getrandbits(128), version=4))

    def call(self) -> tuple[PlannedCall, list[str]]:
        rng = self.rng
        self._calls += 1
        call_id = f"c{self._calls:06d}"
        kind = rng.choices(list(CALL_MIX), weights=list(CALL_MIX.values()))[0]
        utf8 = rng.random() < 0.1
        name = rng.choice(UTF8_NAMES if utf8 else _ASCII_NAMES)
        number = f"+1415555{rng.randrange(10_000):04d}"
        queue, did = rng.choice(_QUEUES), rng.choice(_DIDS)
        s = _Script()

        # The customer: a Local pair; ;2 runs the dialplan and raises the enqueue event.
        one, two = self._local_name(f"{did}@callcenter-inbound")
        c1_uid = self._uniqueid()
        c1 = _Chan(one, c1_uid, c1_uid, "callcenter-inbound", did)
        c2 = _Chan(two, self._uniqueid(), c1_uid, "callcenter-inbound", did, state=4)
        s.channel("Newchannel", c1)
        s.channel("Newchannel", c2)
        s.newexten(c1, "AppDial2", "(Outgoing Line)")
        s.caller_id(c1, number, name)
        s.caller_id(c2, number, name)
        s.local_bridge(c1, c2)
        s.dial("DialBegin", c1, f"DialString: {did}@callcenter-inbound\r\n")
        s.newexten(c2, "Set", f"CC_QUEUE={queue}")
        s.varset(c2, "CC_QUEUE", queue)
        c2.priority = 2
        s.newexten(c2, "Goto", "enqueue,1")
        c2.exten, c2.priority = "enqueue", 1
        s.newexten(c2, "Answer", "")
        s.newstate(c2, 6)
        s.newstate(c1, 6)
        s.dial("DialEnd", c1, "DialStatus: ANSWER\r\n")
        s.device_state(f"Local/{did}@callcenter-inbound", "INUSE")
        c2.priority = 2
        s.newexten(c2, "UserEvent", f"CallCenterEnqueue,Queue: {queue},Account: ")
        s.channel(
            "UserEvent",
            c2,
            f"UserEvent: CallCenterEnqueue\r\nQueue: {queue}\r\nAccount: \r\n",
            "user",
        )
        c2.priority = 3
        s.newexten(c2, "Goto", "callcenter-wait,s,1")
        c2.context, c2.exten, c2.priority = "callcenter-wait", "s", 1
        s.newexten(c2, "NoOp", "CallCenter waiting")
        c2.priority = 2
        s.newexten(c2, "Wait", "600")

        offers: list[Offer] = []
        if kind == "abandon_waiting":
            self._caller_hangs_up(s, c1, c2, did)
        elif kind == "abandon_ringing":
            offer, l1, l2 = self._offer(s, offers, call_id, c2, f"{rng.randrange(2001, 2010)}")
            self._caller_hangs_up(s, c1, c2, did)
            s.dial("DialEnd", l1, "DialStatus: NOANSWER\r\n")
            s.hangup_request(l2, 0)
            s.originate_response(offer, offer.agent_target, 0)
            s.hangup_request(l2, 16, soft=True)
            s.hangup(l2, 0)
            s.hangup(l1, 0)
            s.device_state(offer.agent_target, "NOT_INUSE")
        else:
            if kind == "no_answer_then_answered":
                offer, l1, l2 = self._offer(s, offers, call_id, c2, f"{rng.randrange(2001, 2010)}")
                s.hangup_request(l2, 19)
                s.hangup_request(l2, 16, soft=True)
                s.originate_response(offer, offer.agent_target, 3)
                s.hangup(l1, 19)
                s.hangup(l2, 19)
                s.device_state(offer.agent_target, "NOT_INUSE")
            ext = f"{rng.randrange(1001, 1041)}"
            offer, l1, l2 = self._offer(s, offers, call_id, c2, ext)
            bridge_id = self._answer(s, offer, c1, c2, l1, l2)
            if kind == "agent_hangs_up":
                self._agent_ends(s, bridge_id, c1, c2, l1, l2, did, offer.agent_target)
            else:
                self._caller_ends(s, bridge_id, c1, c2, l1, l2, did, offer.agent_target)
        planned = PlannedCall(c1_uid, kind, number, name, queue, tuple(offers))
        return planned, s.frames

    def _offer(
        self, s: _Script, offers: list[Offer], call_id: str, caller: _Chan, ext: str
    ) -> tuple[Offer, _Chan, _Chan]:
        """An agent leg from its Originate to the agent's phone ringing."""
        target = f"Local/{ext}@agent-sim"
        leg_id = f"agentleg-{call_id}-{len(offers) + 1}"
        self._action += 1
        offer = Offer(leg_id, f"cc-{self._action}", target, caller.name, call_id)
        offers.append(offer)
        one, two = self._local_name(f"{ext}@agent-sim")
        l1 = _Chan(one, leg_id, leg_id, "agent-sim", ext)
        l2 = _Chan(two, f"{leg_id};2", leg_id, "agent-sim", ext, state=4)
        variables = (
            ("CC_RECORD", "0"),
            ("CC_CALLER_CHANNEL", caller.name),
            ("CC_CALL_ID", call_id),
        )
        s.channel("Newchannel", l1)
        s.channel("Newchannel", l2)
        s.newexten(l1, "AppDial2", "(Outgoing Line)")
        for variable, value in variables:
            s.varset(l1, variable, value)
        s.caller_id(l1, call_id, f"CC {call_id}")
        for variable, value in reversed(variables):
            s.varset(l2, variable, value)
        s.caller_id(l2, call_id, f"CC {call_id}")
        s.local_bridge(l1, l2)
        s.dial("DialBegin", l1, f"DialString: {ext}@agent-sim\r\n")
        s.newexten(l2, "Ringing", "")
        s.newstate(l1, 5)
        s.dial("DialState", l1, "DialStatus: RINGING\r\n")
        l2.priority = 2
        s.newexten(l2, "Wait", "1")
        s.device_state(target, "INUSE")
        return offer, l1, l2

    def _answer(self, s: _Script, offer: Offer, c1: _Chan, c2: _Chan, l1: _Chan, l2: _Chan) -> str:
        """The agent answers; the connect dialplan bridges the leg with the caller."""
        l2.priority = 3
        s.newexten(l2, "Answer", "")
        s.newstate(l2, 6)
        s.newstate(l1, 6)
        s.dial("DialEnd", l1, "DialStatus: ANSWER\r\n")
        l1.context, l1.exten = "callcenter-connect", "s"
        s.newexten(l1, "NoOp", f"CallCenter connect {offer.call_id} to {c2.name}")
        l1.priority = 2
        s.newexten(l1, "ExecIf", f"0?MixMonitor(/var/spool/asterisk/monitor/{offer.call_id}.wav,b)")
        l1.priority = 3
        s.newexten(l1, "Bridge", c2.name)
        bridge_id = self._bridge_id()
        s.bridge("BridgeCreate", bridge_id, 0)
        c2.priority = 3
        s.bridge("BridgeEnter", bridge_id, 1, c2)
        s.originate_response(offer, l1.name, 4)
        l1.linkedid = c1.linkedid  # Asterisk merges the leg into the caller's call
        s.bridge("BridgeEnter", bridge_id, 2, l1)
        s.varset(c2, "BRIDGEPEER", l1.name)
        s.varset(l1, "BRIDGEPEER", c2.name)
        l1.conn_num, l1.conn_name = c2.cid_num, c2.cid_name
        s.channel("NewConnectedLine", l1)
        c2.conn_num, c2.conn_name = l1.cid_num, l1.cid_name
        s.channel("NewConnectedLine", c2)
        l2.priority = 4
        s.newexten(l2, "Wait", "60")
        return bridge_id

    def _caller_hangs_up(self, s: _Script, c1: _Chan, c2: _Chan, did: str) -> None:
        s.hangup_request(c2, 16)
        s.hangup(c1, 16)
        s.hangup_request(c2, 16, soft=True)
        s.hangup(c2, 16)
        s.device_state(f"Local/{did}@callcenter-inbound", "NOT_INUSE")

    def _caller_ends(
        self,
        s: _Script,
        bridge_id: str,
        c1: _Chan,
        c2: _Chan,
        l1: _Chan,
        l2: _Chan,
        did: str,
        target: str,
    ) -> None:
        s.hangup_request(c2, 16)
        s.varset(c2, "BRIDGEPEER", "")
        s.varset(l1, "BRIDGEPEER", "")
        s.bridge("BridgeLeave", bridge_id, 1, c2)
        s.bridge("BridgeLeave", bridge_id, 0, l1)
        s.varset(l1, "BRIDGERESULT", "SUCCESS")
        l1.priority = 4
        s.newexten(l1, "Hangup", "")
        s.hangup_request(l1, 16, soft=True)
        s.hangup(c1, 16)
        s.hangup(c2, 16)
        s.hangup_request(l2, 16)
        s.hangup(l1, 16)
        s.bridge("BridgeDestroy", bridge_id, 0)
        s.hangup_request(l2, 16, soft=True)
        s.hangup(l2, 16)
        s.device_state(f"Local/{did}@callcenter-inbound", "NOT_INUSE")
        s.device_state(target, "NOT_INUSE")

    def _agent_ends(
        self,
        s: _Script,
        bridge_id: str,
        c1: _Chan,
        c2: _Chan,
        l1: _Chan,
        l2: _Chan,
        did: str,
        target: str,
    ) -> None:
        s.hangup_request(l2, 16, soft=True)
        s.hangup(l2, 16)
        s.hangup_request(l1, 16)
        s.varset(c2, "BRIDGEPEER", "")
        s.varset(l1, "BRIDGEPEER", "")
        s.bridge("BridgeLeave", bridge_id, 1, l1)
        s.bridge("BridgeLeave", bridge_id, 0, c2)
        s.bridge("BridgeDestroy", bridge_id, 0)
        s.hangup(l1, 16)
        s.device_state(target, "NOT_INUSE")
        c2.priority = 4
        s.newexten(c2, "Hangup", "")
        s.hangup_request(c2, 16, soft=True)
        s.hangup(c1, 16)
        s.hangup(c2, 16)
        s.device_state(f"Local/{did}@callcenter-inbound", "NOT_INUSE")


def generate(min_events: int, *, seed: int = 22, concurrency: int = 32) -> Traffic:
    """At least ``min_events`` events: calls are started until that many are planned,
    and their frames interleaved with up to ``concurrency`` calls in flight (each
    call's own frames stay in order). Deterministic for a given seed."""
    gen = _Generator(seed)
    rng = gen.rng
    calls: list[PlannedCall] = []
    active: list[Iterator[str]] = []
    out: list[bytes] = [BANNER]
    planned = 0
    while True:
        while len(active) < concurrency and planned < min_events:
            call, frames = gen.call()
            calls.append(call)
            planned += len(frames)
            active.append(iter(frames))
        if not active:
            break
        index = rng.randrange(len(active))
        frame = next(active[index], None)
        if frame is None:
            active[index] = active[-1]
            active.pop()
        else:
            out.append(frame.encode("utf-8"))
    return Traffic(b"".join(out), planned, tuple(calls))


def chunked(data: bytes, size: int = READ_SIZE) -> list[bytes]:
    """The reads a socket would deliver, ``size`` bytes each (the last one shorter)."""
    return [data[start : start + size] for start in range(0, len(data), size)]


# -- path 1: ours, the full listener ------------------------------------------------


class _Acd:
    """Stands in for the orchestrator: receives every domain event and originates the
    planned offers when the service would (on arrival, and after a failed offer)."""

    __slots__ = ("_offers", "_record", "_tracker")

    def __init__(
        self,
        tracker: CallTracker,
        offers: dict[str, tuple[Offer, ...]],
        record: list[ev.DomainEvent] | None,
    ) -> None:
        self._tracker = tracker
        self._offers = {linkedid: list(reversed(o)) for linkedid, o in offers.items()}
        self._record = record

    def on_event(self, event: ev.DomainEvent) -> None:
        if self._record is not None:
            self._record.append(event)
        if isinstance(event, ev.CallArrived | ev.AgentLegFailed):
            waiting = self._offers.get(event.linkedid)
            if waiting:
                offer = waiting.pop()
                self._tracker.expect_agent_leg(
                    leg_id=offer.leg_id,
                    action_id=offer.action_id,
                    agent_target=offer.agent_target,
                    caller_channel=offer.caller_channel,
                    call_id=offer.call_id,
                    linkedid=event.linkedid,
                )


@dataclass(frozen=True, slots=True)
class IngestResult:
    events: int
    domain_events: int
    malformed: int
    live_calls: tuple[str, ...]


def ingest(
    chunks: list[bytes],
    offers: dict[str, tuple[Offer, ...]],
    record: list[ev.DomainEvent] | None = None,
) -> IngestResult:
    """The listener path, read by read (see the module docstring)."""
    codec = AmiCodec(expect_banner=True, wanted=wants_frame)
    pending = PendingActions()
    tracker = CallTracker(PBX)
    acd = _Acd(tracker, offers, record)
    events = domain_events = malformed = 0
    at = 0.0
    for chunk in chunks:
        for frame in codec.feed(chunk):
            if not isinstance(frame, Message):
                malformed += isinstance(frame, MalformedFrame)  # logged and skipped
                continue
            if pending.feed(frame) is not None or frame.event is None:
                continue
            events += 1
            at += 1.0
            for event in tracker.feed(frame, at):
                domain_events += 1
                acd.on_event(event)
    # Frames the filter turned down are events read off the wire all the same.
    events += codec.skipped
    return IngestResult(events, domain_events, malformed, tuple(tracker.live_calls))


# -- path 2: the least a parser can do ------------------------------------------------


def bare_split(chunks: list[bytes]) -> int:
    """Frames split on blank lines across reads, each a decoded dict; events counted."""
    count = 0
    buffer = b""
    for chunk in chunks:
        buffer += chunk
        *frames, buffer = buffer.split(FRAME_END)
        for frame in frames:
            fields = dict(
                line.decode("utf-8", "replace").split(": ", 1)
                for line in frame.split(b"\r\n")
                if b": " in line
            )
            count += "Event" in fields
    return count


# -- path 3: panoramisk ---------------------------------------------------------------


class _NullTransport:
    """What ``AMIProtocol`` writes to (nothing is sent: the stream is only read)."""

    def write(self, data: bytes) -> None:
        pass

    def close(self) -> None:
        pass


class _CountingFactory:
    """Stands in for ``panoramisk.Manager`` as the protocol's factory."""

    def __init__(self) -> None:
        self.events = 0

    def dispatch(self, message: object) -> None:
        self.events += 1


def panoramisk_protocol_class() -> Any:
    """``panoramisk.ami_protocol.AMIProtocol``, or a clear error when it is missing."""
    try:
        from panoramisk.ami_protocol import AMIProtocol
    except ImportError as exc:
        raise RuntimeError(
            "bench ingest compares with panoramisk, which is not installed: "
            "install the dev extras (pip install -e '.[dev]', or make install)"
        ) from exc
    return AMIProtocol


def panoramisk_parse(chunks: list[bytes], protocol_class: Any = None) -> int:
    """panoramisk's parser as on a socket: every read to ``data_received``."""
    factory = _CountingFactory()
    protocol = (protocol_class or panoramisk_protocol_class())()
    protocol.connection_made(_NullTransport())
    protocol.factory = factory
    protocol.encoding = "utf8"  # Manager's default, set by Manager.connection_made
    for chunk in chunks:
        protocol.data_received(chunk)
    return factory.events


# -- the benchmark ----------------------------------------------------------------------


def _best(
    paths: dict[str, Callable[[], int]], repeats: int
) -> tuple[dict[str, float], dict[str, int]]:
    """Best wall time of each path; the paths take turns so drift hits them alike."""
    best = dict.fromkeys(paths, float("inf"))
    counts: dict[str, int] = {}
    for _ in range(repeats):
        for name, path in paths.items():
            gc.collect()
            started = time.perf_counter()
            counts[name] = path()
            best[name] = min(best[name], time.perf_counter() - started)
    return best, counts


def run(
    events: int = 200_000,
    *,
    seed: int = 22,
    chunk_bytes: int = READ_SIZE,
    repeats: int = 3,
    concurrency: int = 32,
) -> dict[str, Any]:
    """Generate the traffic, time the three paths over the same reads, return figures."""
    protocol_class = panoramisk_protocol_class()
    traffic = generate(events, seed=seed, concurrency=concurrency)
    chunks = chunked(traffic.data, chunk_bytes)
    offers = traffic.offers()
    domain: list[int] = []

    def ours() -> int:
        result = ingest(chunks, offers)
        if result.malformed or result.live_calls:
            raise RuntimeError(f"listener went wrong on generated traffic: {result}")
        domain.append(result.domain_events)
        return result.events

    seconds, counts = _best(
        {
            "ours": ours,
            "baseline": lambda: bare_split(chunks),
            "panoramisk": lambda: panoramisk_parse(chunks, protocol_class),
        },
        repeats,
    )
    if len(set(counts.values())) != 1 or counts["ours"] != traffic.events:
        raise RuntimeError(f"the paths disagree on the event count: {counts}")
    rate = {name: traffic.events / s for name, s in seconds.items()}
    return {
        "benchmark": "ami-ingest",
        "events": traffic.events,
        "events_per_s": round(rate["ours"]),
        "baseline_events_per_s": round(rate["baseline"]),
        "panoramisk_events_per_s": round(rate["panoramisk"]),
        "ratio_to_baseline": round(rate["ours"] / rate["baseline"], 3),
        "ratio_to_panoramisk": round(rate["ours"] / rate["panoramisk"], 3),
        "bytes": len(traffic.data),
        "chunk_bytes": chunk_bytes,
        "calls": len(traffic.calls),
        "domain_events": domain[-1],
        "repeats": repeats,
        "seed": seed,
    }
