"""The simulator answers the real client's actions as the real Asterisk 22 did.

Each scenario replays the capture's own ``NN-name.actions`` (the customer too is
originated as ``Local/<DID>@callcenter-inbound``, as the captures did) against the
simulator, with every delay — the gaps between actions, the phones' ringing and
talking, the Originate Timeouts — scaled by ``SCALE``, and compares the event
stream with ``NN-name.ami``:

* per channel role (caller ;1, caller ;2, each agent leg's ;1 and ;2, keyed by the
  ChannelId the client chose), the same events in the same order, with the details
  the ACD acts on: Hangup ``Cause``, ``DialStatus``, and the dialplan
  ``Application`` of each Newexten;
* per role, the OriginateResponse outcomes (``Response``, ``Reason``). They are not
  placed in the sequence: Asterisk sends them from the originating thread while the
  dialplan runs in another, so their place among a channel's events varies from
  one capture to the next (before the Bridge in 06, after it in 02);
* the bridges' BridgeCreate/BridgeDestroy in the same order;
* the responses to the actions (``Response`` and ``Message``/``EventList``) in order;
* for every event type, the same set of header NAMES.

* which roles each snapshot (CoreShowChannels, Status) listed (capture 10); not
  its place among a channel's events, which races the dialplan on a real PBX;
* per PJSIP phone, its ContactStatus, PeerStatus and DeviceStateChange in order
  (capture 15; the replay registers and unregisters the simulated phone where the
  capture shows the real one did).

Before each action the replay waits for the Originate outcomes the capture shows the
real client had received before that action's answer (what it knew when it acted);
a client's second connection (``[conn2]``, capture 11) is a probe of its own.

A capture the recorder stopped before every channel hung up (09) is compared up to
where it stops: see ``CUT_SHORT``.

Ids, timestamps and the interleaving between different channels are not compared
(they differ between two runs of a real PBX, too). Left out on both sides: the
DeviceStateChange of Local ``agent-sim`` phones (dialplan, not devices), security
events (SuccessfulAuth, RequestBadFormat, ChallengeSent), channels left over from an
earlier scenario, and ``FullyBooted``'s values.
"""

from __future__ import annotations

import asyncio
import re
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import pytest_asyncio

from callcenter.ami.codec import AmiCodec, encode_frame
from callcenter.ami.message import Message
from callcenter.pbxsim import PbxSimulator, PhoneBehaviour
from callcenter.pbxsim.probe import AmiProbe

FIXTURES = Path(__file__).parent.parent / "fixtures" / "ami"
SCALE = 0.1
#: how long stragglers (a NewCallerid after a Hangup) get once every channel is gone;
#: longer than the simulator's own lag for a Local ;2 (bridging.HALF_LAG_S)
SETTLE_S = 0.15
#: security events (the simulator does not raise them) and device bookkeeping
IGNORED = frozenset({"DeviceStateChange", "SuccessfulAuth", "RequestBadFormat", "ChallengeSent"})
#: the items of a snapshot EventList
LIST_ITEMS = frozenset({"CoreShowChannel", "Status"})
SCENARIOS = [
    "08-transfer",
    "07-recording-pause",
    "01-happy-path",
    "02-agent-no-answer",
    "03-agent-busy",
    "04-abandon-waiting",
    "05-abandon-ringing",
    "06-agent-hangs-up-first",
    "10-resync-snapshot",
    "11-errors",
    "12-agent-unreachable",
    "15-pjsip-agent-register-answer-unregister",
    "09-supervisor-whisper",
    "16-conference-hold-warm-transfer",
]
#: Captures the recorder stopped before every channel had hung up. 09 ends with the
#: agent leg's SoftHangupRequest: the legs' Hangups, the ChanSpyStop the spied
#: channel's hangup raises and the supervisor leg's end never reached the file, yet
#: the simulator must get there (the replay waits for every channel to hang up).
#: So a channel that never hung up in such a capture is compared as far as its
#: recording goes, and an event type the simulator raises only after the cut must
#: carry the header names of the captured event named here (Asterisk documents
#: ChanSpyStop with ChanSpyStart's headers: the spyer's and the spyee's snapshots).
CUT_SHORT: dict[str, dict[str, str]] = {
    "09-supervisor-whisper": {"ChanSpyStop": "ChanSpyStart"},
}
_CHANNEL_NAME = re.compile(r"(?:Local|PJSIP)/[^\s;,]+-[0-9a-f]{8}(?:;[12])?")


def agent_sim_phones() -> dict[str, PhoneBehaviour]:
    """``[agent-sim]`` of the capture dialplan, with its waits scaled."""
    talker = PhoneBehaviour(answer_after_s=1.0 * SCALE)
    return {
        "Local/1001@agent-sim": talker,
        "Local/1002@agent-sim": talker,
        "Local/1003@agent-sim": talker,
        "Local/2001@agent-sim": PhoneBehaviour(answer_after_s=None),
        "Local/2002@agent-sim": PhoneBehaviour(busy=True),
        "Local/2003@agent-sim": PhoneBehaviour(
            answer_after_s=1.0 * SCALE, hangup_after_s=2.0 * SCALE
        ),
        # Answer(), Wait(60): no ringing. The capture ends long before the Wait does,
        # so any hangup after its end is alike; a short one keeps the replay quick.
        "Local/supervisor@agent-sim": PhoneBehaviour(rings=False, hangup_after_s=6.0 * SCALE),
        # No contact until a SIP phone registers (15); baresip then auto-answers.
        "PJSIP/agent1001": PhoneBehaviour(answer_after_s=0.1 * SCALE, registered=False),
    }


@dataclass(frozen=True)
class TimedAction:
    at_s: float
    headers: tuple[tuple[str, str], ...]
    #: which of the client's connections sent it (``[conn2]`` in the file), from 1
    connection: int = 1

    @property
    def name(self) -> str:
        return self.headers[0][1]

    @property
    def action_id(self) -> str:
        return dict(self.headers).get("ActionID", "")


_CONNECTION = re.compile(r"\[conn(?P<n>\d+)\] ")


def read_actions(name: str) -> list[TimedAction]:
    """The ``.actions`` file: blocks of headers, each after a ``--- +N ms`` line; an
    action a second connection sent starts with ``[conn2]``."""
    actions: list[TimedAction] = []
    for block in (FIXTURES / f"{name}.actions").read_text().split("--- +")[1:]:
        stamp, _, body = block.partition("\n")
        connection = 1
        if marked := _CONNECTION.match(body):
            connection, body = int(marked["n"]), body[marked.end() :]
        lines = [line for line in body.splitlines() if line.strip()]
        headers = tuple(
            (key, value.strip()) for key, _, value in (line.partition(":") for line in lines)
        )
        actions.append(TimedAction(int(stamp.split()[0]) / 1000, headers, connection))
    return actions


def read_capture(name: str) -> list[Message]:
    """The capture's frames; a capture of several connections marks where the next
    one starts (``=== second connection ===``), each with its own banner."""
    data = (FIXTURES / f"{name}.ami").read_bytes()
    messages: list[Message] = []
    for part in re.split(rb"(?m)^=== [^\r\n]* ===\r\n", data):
        messages += [f for f in AmiCodec().feed(part) if isinstance(f, Message)]
    return messages


def channel_roles(messages: list[Message]) -> dict[str, str]:
    """Uniqueid -> role, from the stream's Newchannel events: the n-th customer's
    halves are ``caller<n>;1`` and ``caller<n>;2``; agent legs are named by the
    ChannelId the client gave them."""
    found: dict[str, str] = {}
    callers = 0
    for m in messages:
        if m.event != "Newchannel":
            continue
        if "@callcenter-inbound-" in m["Channel"]:
            half = m["Channel"][-2:]
            callers += half == ";1"
            found[m["Uniqueid"]] = f"caller{callers}{half}"
        else:
            found[m["Uniqueid"]] = m["Uniqueid"]
    return found


def roles(messages: list[Message]) -> dict[str, str]:
    """Channel name -> role."""
    by_uniqueid = channel_roles(messages)
    return {m["Channel"]: by_uniqueid[m["Uniqueid"]] for m in messages if m.event == "Newchannel"}


@dataclass
class Summary:
    per_role: dict[str, list[str]]
    outcomes: dict[str, list[str]]
    bridges: list[str]
    responses: list[str]
    header_names: dict[str, set[str]]
    #: list item event -> the roles it listed (snapshots, capture 10)
    listed: dict[str, set[str]]
    #: each PJSIP device's registration and state changes, in order (capture 15)
    devices: dict[str, list[str]]


def step(msg: Message) -> str:
    """An event with the details the ACD acts on."""
    name = msg.event or ""
    if name == "Hangup":
        return f"Hangup(cause {msg['Cause']})"
    if name in ("DialState", "DialEnd"):
        return f"{name}({msg['DialStatus']})"
    if name == "Newexten":
        return f"Newexten({msg['Application']})"
    return name


def summarise(messages: list[Message]) -> Summary:
    by_uniqueid = channel_roles(messages)
    per_role: dict[str, list[str]] = defaultdict(list)
    outcomes: dict[str, list[str]] = defaultdict(list)
    bridges: list[str] = []
    responses: list[str] = []
    header_names: dict[str, set[str]] = defaultdict(set)
    listed: dict[str, set[str]] = defaultdict(set)
    devices: dict[str, list[str]] = defaultdict(list)
    for msg in messages:
        if msg.is_response:
            detail = msg.get("EventList") or msg.get("Message") or msg.get("Ping") or ""
            responses.append(f"{msg['Response']}: {detail}")
            continue
        if (device := device_change(msg)) is not None:
            devices[device[0]].append(device[1])
        if msg.event is None or msg.event in IGNORED:
            continue
        header_names[msg.event] |= {name for name, _ in msg}
        uniqueid = msg.get("Uniqueid") or msg.get("DestUniqueid") or msg.get("LocalOneUniqueid")
        role = by_uniqueid.get(uniqueid or "", uniqueid)
        if msg.event in LIST_ITEMS:
            # A snapshot's place among a channel's events is a race with the channel
            # (it is taken while the dialplan runs); what it lists is not. Channels
            # left over from an earlier scenario were never born in this stream.
            if uniqueid in by_uniqueid:
                listed[msg.event].add(by_uniqueid[uniqueid])
        elif msg.event in ("BridgeCreate", "BridgeDestroy"):
            bridges.append(msg.event)
        elif msg.event == "OriginateResponse" and role is not None:
            outcomes[role].append(f"{msg['Response']}, reason {msg['Reason']}")
        elif role is not None:
            per_role[role].append(step(msg))
    return Summary(
        dict(per_role),
        dict(outcomes),
        bridges,
        responses,
        dict(header_names),
        dict(listed),
        dict(devices),
    )


def cut_where_the_capture_was(got: Summary, want: Summary, scenario: str) -> None:
    """For a capture cut short (``CUT_SHORT``): drop what the simulator said after the
    capture's end from ``got`` -- the rest of each channel that never hung up in the
    capture, only once it did hang up in the simulator -- and expect the events
    raised only after the end to have their documented twin's header names."""
    twins = CUT_SHORT.get(scenario, {})
    if not twins:
        return
    for role, steps in want.per_role.items():
        mine = got.per_role.get(role, [])
        if not any(step.startswith("Hangup(") for step in steps) and len(mine) > len(steps):
            assert mine[-1].startswith("Hangup("), role
            got.per_role[role] = mine[: len(steps)]
    for late, twin in twins.items():
        assert late not in want.header_names, f"{scenario} has {late}: not cut short there"
        want.header_names[late] = want.header_names[twin]


def device_change(msg: Message) -> tuple[str, str] | None:
    """(device, change) for a PJSIP phone's ContactStatus, PeerStatus or device state;
    Local phones are dialplan, and their device states are not modelled."""
    if msg.event == "ContactStatus":
        return f"PJSIP/{msg['EndpointName']}", f"ContactStatus({msg['ContactStatus']})"
    if msg.event == "PeerStatus":
        return msg["Peer"], f"PeerStatus({msg['PeerStatus']})"
    if msg.event == "DeviceStateChange" and msg["Device"].startswith("PJSIP/"):
        return msg["Device"], f"DeviceStateChange({msg['State']})"
    return None


def registrations_before(capture: list[Message]) -> dict[str, list[tuple[str, bool]]]:
    """ActionID -> the phones that registered (True) or unregistered (False) after the
    previous action's response and before this one's: a SIP phone acts on its own,
    so the replay has the simulated phone do it where the capture shows it."""
    pending: list[tuple[str, bool]] = []
    before: dict[str, list[tuple[str, bool]]] = {}
    for msg in capture:
        if msg.event == "ContactStatus" and msg["ContactStatus"] in ("NonQualified", "Removed"):
            pending.append((f"PJSIP/{msg['EndpointName']}", msg["ContactStatus"] != "Removed"))
        elif msg.is_response and msg.action_id and msg.action_id not in before:
            before[msg.action_id], pending = pending, []
    return before


@pytest_asyncio.fixture
async def sim() -> AsyncIterator[PbxSimulator]:
    # The captures' dialplan: Hangup() right after callcenter-connect's Bridge().
    simulator = PbxSimulator(
        port=0, users={"callcenter": "callcenter-secret"}, after_bridge_goto=False
    )
    for dial_string, behaviour in agent_sim_phones().items():
        simulator.add_phone(dial_string, behaviour)
    await simulator.start()
    yield simulator
    await simulator.stop()


def originates_seen_before(capture: list[Message]) -> dict[str, set[str]]:
    """ActionID -> the Originates (by ActionID) whose outcome the client had received
    before that action's response: what the real client knew when it acted."""
    seen: set[str] = set()
    before: dict[str, set[str]] = {}
    for msg in capture:
        if msg.event == "OriginateResponse" and msg.action_id:
            seen.add(msg.action_id)
        elif msg.is_response and msg.action_id and msg.action_id not in before:
            before[msg.action_id] = set(seen)
    return before


class Replayer:
    """Sends the capture's actions to the simulator, renaming the capture's channels to
    the simulator's and waiting, as the real client did, for an offer's outcome before
    the next offer, and for every outcome the capture shows the client had seen
    before it acted. Each of the client's connections is a probe of its own."""

    def __init__(self, sim: PbxSimulator, capture: list[Message]) -> None:
        self._sim = sim
        self._port = sim.port
        self._registrations = registrations_before(capture)
        self._capture_roles = roles(capture)
        self._known_before = originates_seen_before(capture)
        #: Originates that have an outcome to wait for (not those refused outright)
        self._with_outcome = {m.action_id for m in capture if m.event == "OriginateResponse"}
        self._originates: list[str] = []
        self.probes: dict[int, AmiProbe] = {}
        self._probe: AmiProbe | None = None

    @property
    def frames(self) -> list[Message]:
        """What every connection received, connection after connection."""
        return [frame for _, probe in sorted(self.probes.items()) for frame in probe.frames]

    async def close(self) -> None:
        for probe in self.probes.values():
            await probe.close()

    async def run(self, actions: list[TimedAction]) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        for action in actions:
            await asyncio.sleep(max(0.0, started + action.at_s * SCALE - loop.time()))
            probe = await self._connection(action.connection)
            if action.name == "Originate":
                await self._offers_answered()
            await self._outcomes_known(self._known_before.get(action.action_id, set()))
            for phone, registers in self._registrations.get(action.action_id, []):
                if registers:
                    self._sim.register_phone(phone)
                else:
                    self._sim.unregister_phone(phone)
            headers = [(key, await self._translate(key, value)) for key, value in action.headers]
            probe.send_raw(encode_frame(headers))
            if action.name == "Login":
                await probe.response_to(action.action_id)
            if action.name == "Originate" and action.action_id in self._with_outcome:
                self._originates.append(action.action_id)
        await self._settle()

    async def _connection(self, number: int) -> AmiProbe:
        if number not in self.probes:
            self.probes[number] = await AmiProbe.connect("127.0.0.1", self._port)
        self._probe = self.probes[number]
        return self._probe

    @property
    def _main(self) -> AmiProbe:
        assert self._probe is not None
        return self._probe

    async def _translate(self, key: str, value: str) -> str:
        if key == "Timeout":
            return str(int(int(value) * SCALE))
        for name in set(_CHANNEL_NAME.findall(value)):
            role = self._capture_roles.get(name)
            if role is not None:
                value = value.replace(name, await self._sim_channel(role))
        return value

    async def _sim_channel(self, role: str) -> str:
        probe = self._main
        await probe.wait_for(lambda _: role in roles(probe.frames).values())
        return next(name for name, r in roles(probe.frames).items() if r == role)

    async def _settle(self) -> None:
        """Every channel hung up and every offer answered; then a moment for stragglers
        (a NewCallerid after a Hangup, say)."""
        await self._offers_answered()
        for probe in self.probes.values():
            for created in [m for m in probe.frames if m.event == "Newchannel"]:
                await probe.wait_for(is_hangup_of(created["Uniqueid"]))
        await asyncio.sleep(SETTLE_S)

    async def _offers_answered(self) -> None:
        await self._outcomes_known(set(self._originates))

    async def _outcomes_known(self, action_ids: set[str]) -> None:
        for action_id in sorted(action_ids):
            await self._main.wait_for(is_outcome_of(action_id))


def is_outcome_of(action_id: str) -> Callable[[Message], bool]:
    return lambda m: m.event == "OriginateResponse" and m.action_id == action_id


def is_hangup_of(uniqueid: str) -> Callable[[Message], bool]:
    return lambda m: m.event == "Hangup" and m.get("Uniqueid") == uniqueid


async def replay(sim: PbxSimulator, scenario: str, capture: list[Message]) -> list[Message]:
    """Everything the simulator sent the replayed client, connection after connection."""
    replayer = Replayer(sim, capture)
    try:
        await replayer.run(read_actions(scenario))
    finally:
        await replayer.close()
    return replayer.frames


@pytest.mark.parametrize("scenario", SCENARIOS)
async def test_the_simulator_answers_the_captured_actions_as_asterisk_did(
    scenario: str, sim: PbxSimulator
) -> None:
    capture = read_capture(scenario)
    got, want = summarise(await replay(sim, scenario, capture)), summarise(capture)
    cut_where_the_capture_was(got, want, scenario)
    assert got.per_role.keys() == want.per_role.keys()
    for role, steps in want.per_role.items():
        assert got.per_role[role] == steps, role
    assert got.outcomes == want.outcomes
    assert got.bridges == want.bridges
    assert got.responses == want.responses
    assert got.listed == want.listed
    assert got.devices == want.devices
    assert got.header_names == want.header_names
    assert sim.active_calls() == 0
