"""The simulator behaves like Asterisk 22 on the wire: each scenario, played in the
simulator through a raw TCP client, gives per channel the same event types in the
same order as the real capture, with the same header names.

Compared per channel role (caller ;1, caller ;2, agent leg ;1, agent leg ;2), so
the interleaving between channels may differ (it does on a real PBX, too). Left
out on both sides: DeviceStateChange (device bookkeeping that differs with the
phone technology), security and boot events, and the OriginateResponse of the
capture's own customer origination (the simulator's callers need none).

OriginateResponse comes from Asterisk's originate thread, concurrently with the
dialplan, so its place among a leg's events varies between real captures (after
the caller's BridgeEnter in 01, before the agent's DialEnd in 02): its outcomes
(Response, Reason, in order) are compared, not its place.
"""

from __future__ import annotations

import asyncio
import re
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest
import pytest_asyncio

from callcenter.ami.codec import AmiCodec
from callcenter.ami.message import Message
from callcenter.pbxsim import PbxSimulator, PhoneBehaviour
from tests.raw_ami import Client

FIXTURES = Path(__file__).parent.parent / "fixtures" / "ami"
IGNORED = {"DeviceStateChange", "SuccessfulAuth", "FullyBooted", "RequestBadFormat"}
LIST_ITEMS = {"ChannelHungup", "ChannelsHungupListComplete", "CoreShowChannel", "Status"}


def role_of(channel: str) -> str | None:
    if "@callcenter-inbound-" in channel:
        return "caller;2" if channel.endswith(";2") else "caller;1"
    if "@agent-sim-" in channel and "supervisor" not in channel:
        return "leg;2" if channel.endswith(";2") else "leg;1"
    if channel.startswith("PJSIP/"):
        return "leg;1"
    return None


Sequences = dict[str, list[str]]
HeaderNames = dict[str, set[str]]


def summarise(messages: list[Message], *, first_call_only: bool) -> tuple[Sequences, HeaderNames]:
    sequences: Sequences = defaultdict(list)
    headers: HeaderNames = defaultdict(set)
    outcomes: list[tuple[str, str]] = []
    caller_base: str | None = None
    for msg in messages:
        name = msg.event
        if name is None or name in IGNORED or name in LIST_ITEMS:
            continue
        channel = msg.get("Channel") or msg.get("DestChannel") or ""
        if name == "OriginateResponse" and "@callcenter-inbound" in channel:
            continue
        role = role_of(channel)
        if role is None and name != "OriginateResponse":
            continue
        if name == "OriginateResponse":
            outcomes.append((msg.get("Response") or "", msg.get("Reason") or ""))
            headers[name] |= {key for key, _ in msg.headers}
            continue
        if role.startswith("caller"):
            base = channel.rpartition(";")[0]
            caller_base = caller_base or base
            if first_call_only and base != caller_base:
                continue
        sequences[str(role)].append(name)
        headers[name] |= {key for key, _ in msg.headers}
    sequences["originate-outcomes"] = [f"{r} {reason}" for r, reason in outcomes]
    return dict(sequences), dict(headers)


def capture_messages(name: str) -> list[Message]:
    frames = AmiCodec().feed((FIXTURES / f"{name}.ami").read_bytes())
    return [f for f in frames if isinstance(f, Message)]


@pytest_asyncio.fixture
async def rig() -> AsyncIterator[tuple[PbxSimulator, Client]]:
    sim = PbxSimulator(port=0)
    for ext in ("1001", "1002", "1003"):
        sim.add_phone(f"Local/{ext}@agent-sim", PhoneBehaviour(answer_after_s=0.05))
    sim.add_phone("Local/2001@agent-sim", PhoneBehaviour(answer_after_s=None))
    sim.add_phone("Local/2002@agent-sim", PhoneBehaviour(busy=True))
    sim.add_phone("Local/2003@agent-sim", PhoneBehaviour(answer_after_s=0.05, hangup_after_s=0.1))
    sim.add_phone("PJSIP/agent1001", PhoneBehaviour(registered=False))
    await sim.start()
    reader, writer = await asyncio.open_connection("127.0.0.1", sim.port)
    client = Client(reader, writer)
    pump = asyncio.create_task(client.pump())
    client.send("Login", Username="callcenter", Secret="callcenter-secret")
    await client.until(lambda m: m.event == "FullyBooted")
    yield sim, client
    writer.close()
    await sim.stop()
    pump.cancel()
    await asyncio.gather(pump, return_exceptions=True)


def offer(client: Client, dial: str, leg: str, caller: str, timeout_ms: int = 15000) -> None:
    client.send(
        "Originate",
        Channel=dial,
        Context="callcenter-connect",
        Exten="s",
        Priority="1",
        Async="true",
        Timeout=str(timeout_ms),
        ChannelId=leg,
        CallerID='"CC c1" <c1>',
        Variable=["CC_CALL_ID=c1", f"CC_CALLER_CHANNEL={caller}", "CC_RECORD=0"],
    )


async def caller_channel(client: Client) -> str:
    enqueue = await client.until(lambda m: m.event == "UserEvent")
    return enqueue["Channel"]


def hung_up(name_pattern: str) -> Callable[[Message], bool]:
    return lambda m: (
        m.event == "Hangup" and re.search(name_pattern, m.get("Channel") or "") is not None
    )


async def scenario_01(sim: PbxSimulator, client: Client) -> None:
    linkedid = sim.place_call(
        queue="sales", caller_number="+14155550123", caller_name="A", talk_s=30
    )
    caller = await caller_channel(client)
    offer(client, "Local/1001@agent-sim", "agentleg-1", caller)
    await client.until(lambda m: m.event == "BridgeEnter" and "agent-sim" in m["Channel"])
    sim.hangup_caller(linkedid)
    await client.until(hung_up(r"agent-sim-.*;2$"))


async def scenario_02(sim: PbxSimulator, client: Client) -> None:
    sim.place_call(queue="sales", caller_number="+442071838750", caller_name="B", talk_s=0.2)
    caller = await caller_channel(client)
    offer(client, "Local/2001@agent-sim", "agentleg-1", caller, timeout_ms=300)
    await client.until(lambda m: m.event == "OriginateResponse")
    offer(client, "Local/1002@agent-sim", "agentleg-2", caller)
    await client.until(hung_up(r"1002@agent-sim-.*;2$"))


async def scenario_03(sim: PbxSimulator, client: Client) -> None:
    linkedid = sim.place_call(queue="sales", caller_number="+33142685300", caller_name="C")
    caller = await caller_channel(client)
    offer(client, "Local/2002@agent-sim", "agentleg-1", caller)
    await client.until(lambda m: m.event == "OriginateResponse")
    await client.until(hung_up(r"agent-sim-.*;1$"))
    sim.hangup_caller(linkedid)
    await client.until(hung_up(r"inbound-.*;1$"))


async def scenario_04(sim: PbxSimulator, client: Client) -> None:
    sim.place_call(
        queue="support", caller_number="+74951234567", account="40012345", patience_s=0.1
    )
    await client.until(hung_up(r"inbound-.*;2$"))


async def scenario_05(sim: PbxSimulator, client: Client) -> None:
    linkedid = sim.place_call(queue="sales", caller_number="+420224812345", caller_name="E")
    caller = await caller_channel(client)
    offer(client, "Local/2001@agent-sim", "agentleg-1", caller)
    await client.until(lambda m: m.get("DialStatus") == "RINGING")
    sim.hangup_caller(linkedid)
    await client.until(hung_up(r"inbound-.*;2$"))
    leg = await client.until(lambda m: m.event == "Newchannel" and "agent-sim" in m["Channel"])
    client.send("Hangup", Channel=leg["Channel"])
    await client.until(hung_up(r"agent-sim-.*;1$"))


async def scenario_06(sim: PbxSimulator, client: Client) -> None:
    sim.place_call(queue="sales", caller_number="+97144567890", caller_name="F", talk_s=30)
    caller = await caller_channel(client)
    offer(client, "Local/2003@agent-sim", "agentleg-1", caller)
    await client.until(hung_up(r"inbound-.*;1$"))


async def scenario_12(sim: PbxSimulator, client: Client) -> None:
    linkedid = sim.place_call(queue="sales", caller_number="+493012345678", caller_name="G")
    caller = await caller_channel(client)
    offer(client, "PJSIP/agent1001", "agentleg-1", caller)
    await client.until(lambda m: m.event == "OriginateResponse")
    sim.hangup_caller(linkedid)
    await client.until(hung_up(r"inbound-.*;1$"))


SCENARIOS = {
    "01-happy-path": scenario_01,
    "02-agent-no-answer": scenario_02,
    "03-agent-busy": scenario_03,
    "04-abandon-waiting": scenario_04,
    "05-abandon-ringing": scenario_05,
    "06-agent-hangs-up-first": scenario_06,
    "12-agent-unreachable": scenario_12,
}


@pytest.mark.parametrize("capture", sorted(SCENARIOS))
async def test_scenario_matches_the_real_capture(
    capture: str, rig: tuple[PbxSimulator, Client]
) -> None:
    sim, client = rig
    await SCENARIOS[capture](sim, client)
    await asyncio.sleep(0.05)
    got_sequences, got_headers = summarise(client.messages, first_call_only=False)
    want_sequences, want_headers = summarise(capture_messages(capture), first_call_only=True)
    assert got_sequences == want_sequences
    for name, names in got_headers.items():
        assert names == want_headers[name], name
