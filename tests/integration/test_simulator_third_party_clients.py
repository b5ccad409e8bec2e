"""Third-party AMI clients (panoramisk, asterisk-ami) use the simulator as they
would a real Asterisk: log in, receive a caller's events, get action replies."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio

from callcenter.pbxsim import PbxSimulator

pytestmark = [
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::PendingDeprecationWarning"),
]


@pytest_asyncio.fixture
async def simulator() -> AsyncIterator[PbxSimulator]:
    sim = PbxSimulator(port=0, users={"callcenter": "callcenter-secret"})
    await sim.start()
    yield sim
    await sim.stop()


async def eventually(predicate: Any, timeout_s: float = 10.0) -> None:
    for _ in range(int(timeout_s / 0.02)):
        if predicate():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not met in time")


async def test_panoramisk_logs_in_and_receives_the_enqueue_event(simulator: PbxSimulator) -> None:
    from panoramisk import Manager

    manager = Manager(
        host="127.0.0.1",
        port=simulator.port,
        username="callcenter",
        secret="callcenter-secret",
        ping_delay=0,
        loop=asyncio.get_running_loop(),
    )
    received: list[Any] = []
    manager.register_event("UserEvent", lambda _manager, message: received.append(message))
    await manager.connect()
    try:
        pong = await manager.send_action({"Action": "Ping"})
        assert pong.Response == "Success" and pong.Ping == "Pong"
        simulator.place_call(queue="sales", caller_number="+14155550123", caller_name="Alice")
        await eventually(lambda: received)
        assert received[0].UserEvent == "CallCenterEnqueue"
        assert received[0].Queue == "sales"
        assert received[0].CallerIDNum == "+14155550123"
    finally:
        manager.close()


async def test_asterisk_ami_logs_in_and_receives_the_enqueue_event(simulator: PbxSimulator) -> None:
    from asterisk.ami import AMIClient, SimpleAction

    events: list[Any] = []
    logged_in = threading.Event()
    client = AMIClient(address="127.0.0.1", port=simulator.port, timeout=5)

    def connect_and_login() -> Any:
        client.add_event_listener(
            lambda event, source: events.append(event), white_list=["UserEvent"]
        )
        future = client.login(username="callcenter", secret="callcenter-secret")
        result = future.response
        logged_in.set()
        return result

    login = await asyncio.to_thread(connect_and_login)
    try:
        assert login is not None and login.status == "Success"
        ping = await asyncio.to_thread(lambda: client.send_action(SimpleAction("Ping")).response)
        assert ping.status == "Success"
        simulator.place_call(queue="support", caller_number="+442071838750", caller_name="Bob")
        await eventually(lambda: events)
        assert events[0].name == "UserEvent"
        assert events[0]["UserEvent"] == "CallCenterEnqueue"
        assert events[0]["Queue"] == "support"
    finally:
        await asyncio.to_thread(client.logoff)
        client.disconnect()
