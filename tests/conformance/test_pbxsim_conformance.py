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

Ids, timestamps and the interleaving between different channels are not compared
(they differ between two runs of a real PBX, too). Left out on both sides:
``DeviceStateChange`` (device bookkeeping the simulator does not model),
``SuccessfulAuth`` (a security event), and ``FullyBooted``'s values.
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
IGNORED = frozenset({"DeviceStateChange", "SuccessfulAuth"})
SCENARIOS = [
    "01-happy-path",
    "02-agent-no-answer",
    "03-agent-busy",
    "04-abandon-waiting",
    "05-abandon-ringing",
    "06-agent-hangs-up-first",
    "12-agent-unreachable",
]
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
        "PJSIP/agent1001": PhoneBehaviour(registered=False),
    }


@dataclass(frozen=True)
class TimedAction:
    at_s: float
    headers: tuple[tuple[str, str], ...]

    @property
    def name(self) -> str:
        return self.headers[0][1]


def read_actions(name: str) -> list[TimedAction]:
    """The ``.actions`` file: blocks of headers, each after a ``--- +N ms`` line."""
    actions: list[TimedAction] = []
    for block in (FIXTURES / f"{name}.actions").read_text().split("--- +")[1:]:
        stamp, _, body = block.partition("\n")
        lines = [line for line in body.splitlines() if line.strip()]
        headers = tuple(
            (key, value.strip()) for key, _, value in (line.partition(":") for line in lines)
        )
        actions.append(TimedAction(int(stamp.split()[0]) / 1000, headers))
    return actions


def read_capture(name: str) -> list[Message]:
    frames = AmiCodec().feed((FIXTURES / f"{name}.ami").read_bytes())
    return [f for f in frames if isinstance(f, Message)]


def role_of_new_channel(msg: Message) -> str:
    """Callers by their half; agent legs by the ChannelId the client gave them."""
    if "@callcenter-inbound-" in msg["Channel"]:
        return "caller" + msg["Channel"][-2:]
    return msg["Uniqueid"]


def roles(messages: list[Message]) -> dict[str, str]:
    """Channel name -> role, from the stream's Newchannel events."""
    return {m["Channel"]: role_of_new_channel(m) for m in messages if m.event == "Newchannel"}


@dataclass
class Summary:
    per_role: dict[str, list[str]]
    outcomes: dict[str, list[str]]
    bridges: list[str]
    responses: list[str]
    header_names: dict[str, set[str]]


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
    by_uniqueid = {
        m["Uniqueid"]: role_of_new_channel(m) for m in messages if m.event == "Newchannel"
    }
    per_role: dict[str, list[str]] = defaultdict(list)
    outcomes: dict[str, list[str]] = defaultdict(list)
    bridges: list[str] = []
    responses: list[str] = []
    header_names: dict[str, set[str]] = defaultdict(set)
    for msg in messages:
        if msg.is_response:
            detail = msg.get("EventList") or msg.get("Message") or msg.get("Ping") or ""
            responses.append(f"{msg['Response']}: {detail}")
            continue
        if msg.event is None or msg.event in IGNORED:
            continue
        header_names[msg.event] |= {name for name, _ in msg}
        uniqueid = msg.get("Uniqueid") or msg.get("DestUniqueid") or msg.get("LocalOneUniqueid")
        role = by_uniqueid.get(uniqueid or "", uniqueid)
        if msg.event in ("BridgeCreate", "BridgeDestroy"):
            bridges.append(msg.event)
        elif msg.event == "OriginateResponse" and role is not None:
            outcomes[role].append(f"{msg['Response']}, reason {msg['Reason']}")
        elif role is not None:
            per_role[role].append(step(msg))
    return Summary(dict(per_role), dict(outcomes), bridges, responses, dict(header_names))


@pytest_asyncio.fixture
async def sim() -> AsyncIterator[PbxSimulator]:
    simulator = PbxSimulator(port=0, users={"callcenter": "callcenter-secret"})
    for dial_string, behaviour in agent_sim_phones().items():
        simulator.add_phone(dial_string, behaviour)
    await simulator.start()
    yield simulator
    await simulator.stop()


class Replayer:
    """Sends the capture's actions to the simulator, renaming the capture's channels to
    the simulator's and waiting, as the real client did, for an offer's outcome before
    the next offer."""

    def __init__(self, probe: AmiProbe, capture: list[Message]) -> None:
        self._probe = probe
        self._capture_roles = roles(capture)
        self._originates: list[str] = []

    async def run(self, actions: list[TimedAction]) -> None:
        loop = asyncio.get_running_loop()
        started = loop.time()
        for action in actions:
            await asyncio.sleep(max(0.0, started + action.at_s * SCALE - loop.time()))
            if action.name == "Originate":
                await self._offers_answered()
            headers = [(key, await self._translate(key, value)) for key, value in action.headers]
            self._probe.send_raw(encode_frame(headers))
            if action.name == "Login":
                await self._probe.wait_for(lambda m: m.event == "FullyBooted")
            if action.name == "Originate":
                self._originates.append(dict(action.headers)["ActionID"])
        await self._settle()

    async def _translate(self, key: str, value: str) -> str:
        if key == "Timeout":
            return str(int(int(value) * SCALE))
        for name in set(_CHANNEL_NAME.findall(value)):
            value = value.replace(name, await self._sim_channel(self._capture_roles[name]))
        return value

    async def _sim_channel(self, role: str) -> str:
        created = await self._probe.wait_for(
            lambda m: m.event == "Newchannel" and role_of_new_channel(m) == role
        )
        return created["Channel"]

    async def _settle(self) -> None:
        """Every channel hung up and every offer answered; then a moment for stragglers
        (a NewCallerid after a Hangup, say)."""
        await self._offers_answered()
        for created in [m for m in self._probe.frames if m.event == "Newchannel"]:
            await self._probe.wait_for(is_hangup_of(created["Uniqueid"]))
        await asyncio.sleep(0.05)

    async def _offers_answered(self) -> None:
        for action_id in self._originates:
            await self._probe.wait_for(is_outcome_of(action_id))


def is_outcome_of(action_id: str) -> Callable[[Message], bool]:
    return lambda m: m.event == "OriginateResponse" and m.action_id == action_id


def is_hangup_of(uniqueid: str) -> Callable[[Message], bool]:
    return lambda m: m.event == "Hangup" and m.get("Uniqueid") == uniqueid


@pytest.mark.parametrize("scenario", SCENARIOS)
async def test_the_simulator_answers_the_captured_actions_as_asterisk_did(
    scenario: str, sim: PbxSimulator
) -> None:
    capture = read_capture(scenario)
    probe = await AmiProbe.connect("127.0.0.1", sim.port)
    try:
        await Replayer(probe, capture).run(read_actions(scenario))
    finally:
        await probe.close()
    got, want = summarise(probe.frames), summarise(capture)
    assert got.per_role.keys() == want.per_role.keys()
    for role, steps in want.per_role.items():
        assert got.per_role[role] == steps, role
    assert got.outcomes == want.outcomes
    assert got.bridges == want.bridges
    assert got.responses == want.responses
    assert got.header_names == want.header_names
    assert sim.active_calls() == 0
