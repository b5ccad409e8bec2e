"""The simulator answers actions as Asterisk 22 does (texts from capture 11-errors)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest_asyncio

from callcenter.pbxsim import PbxSimulator, PhoneBehaviour
from tests.raw_ami import Client


@pytest_asyncio.fixture
async def sim() -> AsyncIterator[PbxSimulator]:
    simulator = PbxSimulator(port=0)
    simulator.add_phone("PJSIP/agent01", PhoneBehaviour(answer_after_s=0.05))
    await simulator.start()
    yield simulator
    await simulator.stop()


async def connect(sim: PbxSimulator, secret: str = "callcenter-secret") -> Client:
    reader, writer = await asyncio.open_connection("127.0.0.1", sim.port)
    client = Client(reader, writer)
    asyncio.get_running_loop().create_task(client.pump())
    client.send("Login", Username="callcenter", Secret=secret)
    await client.until(lambda m: m.action_id == "t-1")
    return client


def reply(client: Client, n: int) -> str | None:
    return next((m.get("Message") for m in client.messages if m.action_id == f"t-{n}"), None)


async def test_a_wrong_secret_is_refused_and_gets_no_events(sim: PbxSimulator) -> None:
    client = await connect(sim, secret="wrong")
    assert reply(client, 1) == "Authentication failed"
    sim.place_call(queue="sales", caller_number="+14155550123")
    await asyncio.sleep(0.1)
    assert not any(m.event for m in client.messages)
    client.writer.close()


async def test_errors_have_asterisks_own_texts(sim: PbxSimulator) -> None:
    client = await connect(sim)
    client.send("Originate", Exten="s")
    client.send("NoSuchAction")
    client.send("Hangup", Channel="PJSIP/none-00000001")
    await client.until(lambda m: m.action_id == "t-4")
    assert reply(client, 2) == "Channel not specified"
    assert reply(client, 3) == (
        "Invalid/unknown command: NoSuchAction. "
        "Use Action: ListCommands to show available commands."
    )
    assert reply(client, 4) == "No such channel"
    client.writer.close()


async def test_core_show_channels_lists_the_live_channels(sim: PbxSimulator) -> None:
    client = await connect(sim)
    sim.place_call(queue="sales", caller_number="+14155550123")
    sim.place_call(queue="support", caller_number="+442071838750")
    client.send("CoreShowChannels")
    done = await client.until(lambda m: m.event == "CoreShowChannelsComplete")
    items = [m for m in client.messages if m.event == "CoreShowChannel"]
    assert done["ListItems"] == str(len(items)) == "4"
    assert {m["Context"] for m in items} == {"callcenter-inbound", "callcenter-wait"}
    client.writer.close()


async def test_ping_is_answered_with_pong(sim: PbxSimulator) -> None:
    client = await connect(sim)
    client.send("Ping")
    pong = await client.until(lambda m: m.action_id == "t-2")
    assert (pong["Response"], pong["Ping"]) == ("Success", "Pong")
    client.writer.close()


async def test_a_pjsip_agent_answers_and_is_bridged_to_the_caller(sim: PbxSimulator) -> None:
    client = await connect(sim)
    sim.place_call(queue="sales", caller_number="+14155550123", talk_s=0.1)
    enqueue = await client.until(lambda m: m.event == "UserEvent")
    client.send(
        "Originate",
        Channel="PJSIP/agent01",
        Context="callcenter-connect",
        Exten="s",
        Priority="1",
        Async="true",
        ChannelId="agentleg-x-1",
        Variable=["CC_CALL_ID=x", f"CC_CALLER_CHANNEL={enqueue['Channel']}"],
    )
    answered = await client.until(lambda m: m.event == "OriginateResponse")
    assert (answered["Response"], answered["Reason"]) == ("Success", "4")
    entered = await client.until(
        lambda m: m.event == "BridgeEnter" and m["Channel"].startswith("PJSIP/agent01-")
    )
    assert entered["Uniqueid"] == "agentleg-x-1"
    assert entered["Linkedid"] == enqueue["Linkedid"], "the leg joins the caller's call"
    await client.until(lambda m: m.event == "Hangup" and m["Uniqueid"] == "agentleg-x-1")
    assert sim.active_calls() == 0
    client.writer.close()
