"""Two AMI clients we did not write — panoramisk (asyncio) and asterisk-ami (threads) —
use the simulator as they would a real Asterisk: they log in, see a caller arrive
and leave, get answers to Ping, CoreShowChannels and an agent Originate. If the
simulator spoke a dialect only our own codec understood, these would fail."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
import pytest_asyncio

from callcenter.pbxsim import PbxSimulator, PhoneBehaviour

# Both libraries predate Python 3.11's asyncio and threading deprecations.
pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::PendingDeprecationWarning"),
]

USER, SECRET = "callcenter", "callcenter-secret"
AGENT = "Local/1001@agent-sim"


@pytest_asyncio.fixture
async def sim() -> AsyncIterator[PbxSimulator]:
    simulator = PbxSimulator(port=0, users={USER: SECRET})
    simulator.add_phone(AGENT, PhoneBehaviour(answer_after_s=0.05))
    await simulator.start()
    yield simulator
    await simulator.stop()


async def eventually(condition: Callable[[], bool], timeout_s: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    while not condition():
        if loop.time() > deadline:
            raise AssertionError("the client never saw it")
        await asyncio.sleep(0.01)


async def test_panoramisk_follows_a_call_from_enqueue_to_hangup(sim: PbxSimulator) -> None:
    from panoramisk import Manager

    manager = Manager(host="127.0.0.1", port=sim.port, username=USER, secret=SECRET, ping_delay=0)
    seen: list[Any] = []
    manager.register_event("*", lambda _manager, message: seen.append(message))
    await manager.connect()
    try:
        pong = await manager.send_action({"Action": "Ping"})
        assert (pong.Response, pong.Ping) == ("Success", "Pong")

        linkedid = sim.place_call(queue="sales", caller_number="+14155550123", talk_s=0.1)
        await eventually(lambda: any(m.Event == "UserEvent" for m in seen))
        enqueue = next(m for m in seen if m.Event == "UserEvent")
        assert (enqueue.UserEvent, enqueue.Queue, enqueue.Linkedid) == (
            "CallCenterEnqueue",
            "sales",
            linkedid,
        )

        listing = await manager.send_action({"Action": "CoreShowChannels"})
        items = [m for m in listing if m.Event == "CoreShowChannel"]
        assert listing[-1].Event == "CoreShowChannelsComplete"
        assert listing[-1].ListItems == str(len(items)) == "2"

        outcome = await manager.send_action(
            {
                "Action": "Originate",
                "Channel": AGENT,
                "Context": "callcenter-connect",
                "Exten": "s",
                "Priority": "1",
                "Async": "true",
                "ChannelId": "agentleg-p-1",
                "Variable": ["CC_CALL_ID=p", f"CC_CALLER_CHANNEL={enqueue.Channel}"],
            }
        )
        assert (outcome[-1].Event, outcome[-1].Reason) == ("OriginateResponse", "4")

        await eventually(lambda: any(m.Event == "Hangup" and m.Uniqueid == linkedid for m in seen))
        assert sim.active_calls() == 0
    finally:
        manager.close()


async def test_asterisk_ami_sees_a_caller_abandon_and_answers_actions(
    sim: PbxSimulator,
) -> None:
    from asterisk.ami import AMIClient, SimpleAction

    events: list[Any] = []
    lock = threading.Lock()

    def record(event: Any, source: Any) -> None:
        with lock:
            events.append(event)

    def names() -> list[str]:
        with lock:
            return [event.name for event in events]

    client = AMIClient(address="127.0.0.1", port=sim.port, timeout=5)
    client.add_event_listener(record)

    def login() -> Any:
        return client.login(username=USER, secret=SECRET).response

    answer = await asyncio.to_thread(login)
    try:
        assert answer is not None and answer.status == "Success"
        ping = await asyncio.to_thread(lambda: client.send_action(SimpleAction("Ping")).response)
        assert ping.status == "Success" and ping.keys["Ping"] == "Pong"

        linkedid = sim.place_call(queue="support", caller_number="+442071838750", patience_s=0.1)
        await eventually(lambda: "UserEvent" in names())
        with lock:
            enqueue = next(event for event in events if event.name == "UserEvent")
        assert enqueue["UserEvent"] == "CallCenterEnqueue"
        assert enqueue["Queue"] == "support"
        await eventually(lambda: names().count("Hangup") == 2)
        with lock:
            hangups = [event for event in events if event.name == "Hangup"]
        assert {event["Linkedid"] for event in hangups} == {linkedid}

        listing = await asyncio.to_thread(
            lambda: client.send_action(SimpleAction("CoreShowChannels")).response
        )
        assert listing.status == "Success"
        await eventually(lambda: "CoreShowChannelsComplete" in names())
        with lock:
            done = next(event for event in events if event.name == "CoreShowChannelsComplete")
        assert done["ListItems"] == "0", "the abandoned caller left no channel behind"
    finally:
        await asyncio.to_thread(lambda: client.logoff().response)
        client.disconnect()
