"""The agent and supervisor websockets over real TCP: the web app served by
uvicorn (with the service's websocket options) on loopback, a real ``websockets``
client on the other end, as an API client or a browser would connect.

The close codes of the refusals are covered in ``test_web_api.py`` (through
Starlette's TestClient); over TCP a refusal before ``accept`` is the HTTP 403 a
client sees instead of a websocket.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from typing import Any

import pytest
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.typing import Origin

from callcenter.ports import Principal
from callcenter.web import Hub
from callcenter.web.auth import Sessions
from tests.conftest import serve_in_thread
from tests.integration.test_web_api import ALICE, BOB, SECRET, SUE, build_app, make_desk
from tests.web_fakes import FakeDesk

#: small, so a page that stops reading overflows it quickly
QUEUE_SIZE = 5


class Served:
    def __init__(self, desk: FakeDesk, hub: Hub, base_url: str) -> None:
        self.desk = desk
        self.hub = hub
        self.base_url = base_url
        self.ws_url = base_url.replace("http://", "ws://")
        self.sessions = Sessions(SECRET)

    def token(self, principal: Principal) -> str:
        return self.sessions.issue(principal)


@pytest.fixture
def served() -> Iterator[Served]:
    desk = make_desk()
    hub = Hub(queue_size=QUEUE_SIZE)
    with serve_in_thread(build_app(desk, hub), "ws-over-tcp") as base_url:
        yield Served(desk, hub, base_url)


def open_socket(
    served: Served,
    path: str,
    token: str | None,
    *,
    origin: str | None = None,
    **options: Any,
) -> Any:
    headers = {} if token is None else {"Authorization": f"Bearer {token}"}
    return connect(
        served.ws_url + path,
        additional_headers=headers,
        origin=Origin(origin or served.base_url),
        open_timeout=10,
        **options,
    )


async def next_message(socket: ClientConnection, timeout: float = 5.0) -> dict[str, Any]:
    return dict(json.loads(await asyncio.wait_for(socket.recv(), timeout)))


async def messages_until(socket: ClientConnection, call_id: str) -> list[dict[str, Any]]:
    """Every message up to and including the pop of ``call_id``."""
    seen = []
    while True:
        message = await next_message(socket)
        seen.append(message)
        if message.get("call_id") == call_id:
            return seen


async def test_an_agent_with_a_bearer_token_gets_their_state_then_their_pops(
    served: Served,
) -> None:
    async with open_socket(served, "/ws/agent", served.token(ALICE)) as socket:
        first = await next_message(socket)
        assert first["type"] == "state" and first["agent"]["agent_id"] == 7
        served.hub.to_agent(7, {"type": "pop", "call_id": "c-1", "pop": {"call_id": "c-1"}})
        pop = await next_message(socket)
        assert (pop["type"], pop["pop"]["call_id"]) == ("pop", "c-1")


@pytest.mark.parametrize(
    "token",
    [
        None,
        "not-a-token",
        "tampered",
        "expired",
        "other-secret",
    ],
)
async def test_no_valid_token_no_socket(served: Served, token: str | None) -> None:
    good = served.token(ALICE)
    tokens = {
        "tampered": good[:-3] + ("AAA" if not good.endswith("AAA") else "BBB"),
        "expired": Sessions(SECRET, clock=lambda: time.time() - 13 * 3600).issue(ALICE),
        "other-secret": Sessions("a-different-secret-0123456789").issue(ALICE),
    }
    with pytest.raises(InvalidStatus) as refused:
        async with open_socket(served, "/ws/agent", tokens.get(token or "", token)):
            pass
    assert refused.value.response.status_code == 403


async def test_a_page_of_another_site_cannot_open_the_socket_even_with_a_token(
    served: Served,
) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with open_socket(
            served, "/ws/agent", served.token(ALICE), origin="https://evil.example.net"
        ):
            pass
    assert refused.value.response.status_code == 403


@pytest.mark.parametrize(
    ("path", "principal"),
    [("/ws/agent", SUE), ("/ws/supervisor", ALICE), ("/ws/wallboard", BOB)],
    ids=["supervisor-on-agent-socket", "agent-on-supervisor-socket", "agent-on-wallboard"],
)
async def test_the_wrong_role_is_refused(served: Served, path: str, principal: Principal) -> None:
    with pytest.raises(InvalidStatus) as refused:
        async with open_socket(served, path, served.token(principal)):
            pass
    assert refused.value.response.status_code == 403


async def test_a_supervisor_gets_the_wallboard_over_the_supervisor_socket(
    served: Served,
) -> None:
    async with open_socket(served, "/ws/supervisor", served.token(SUE)) as socket:
        board = await next_message(socket)
    assert board["type"] == "wallboard"
    assert [call["call_id"] for call in board["waiting"]] == ["call-1"]


async def test_an_agent_never_receives_another_agents_pop(served: Served) -> None:
    async with (
        open_socket(served, "/ws/agent", served.token(ALICE)) as alice,
        open_socket(served, "/ws/agent", served.token(BOB)) as bob,
    ):
        assert (await next_message(alice))["type"] == "state"
        assert (await next_message(bob))["type"] == "state"
        served.hub.to_agent(8, {"type": "pop", "call_id": "for-bob", "pop": {"name": "secret"}})
        served.hub.to_agent(7, {"type": "pop", "call_id": "for-alice", "pop": {}})
        alice_got = await messages_until(alice, "for-alice")
        bob_got = await messages_until(bob, "for-bob")
    assert [m["call_id"] for m in alice_got] == ["for-alice"]
    assert [m["call_id"] for m in bob_got] == ["for-bob"]


async def test_a_page_that_stops_reading_is_closed_and_slows_nobody(served: Served) -> None:
    # Alice's laptop lid is closed: her client buffers one frame and then leaves
    # the socket unread. Pops of 60 KB each fill the kernel's buffers, then her
    # hub queue (QUEUE_SIZE); Bob, reading, must get every one of his.
    blob = "x" * 60_000
    async with (
        open_socket(served, "/ws/agent", served.token(ALICE), max_queue=1) as alice,
        open_socket(served, "/ws/agent", served.token(BOB), max_size=None) as bob,
    ):
        assert (await next_message(bob))["type"] == "state"
        received: list[str] = []
        total = 300
        for index in range(total):
            served.hub.to_agent(7, {"type": "pop", "call_id": f"a-{index}", "pop": {"b": blob}})
            served.hub.to_agent(8, {"type": "pop", "call_id": f"b-{index}", "pop": {"b": blob}})
            # Bob reads as pops come, like a page does.
            while True:
                try:
                    message = json.loads(await asyncio.wait_for(bob.recv(), 0.001))
                except TimeoutError:
                    break
                received.append(message["call_id"])
        while len(received) < total:
            received.append((await next_message(bob, 10))["call_id"])
        assert received == [f"b-{index}" for index in range(total)]

        # Alice reads again: what reached her socket before the server gave up
        # on her, then the close that tells her page to reconnect for a fresh
        # picture. She did not get every pop: the rest were dropped, not queued.
        alice_got = 0
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await asyncio.wait_for(alice.recv(), 10)
                alice_got += 1
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 1013
        assert 0 < alice_got < total + 1


async def test_a_reconnecting_agent_gets_the_pop_of_the_call_they_are_on(
    served: Served,
) -> None:
    served.desk.pops[7] = {"call_id": "live-1", "customer": {"name": "Chloé Dubois"}}
    async with open_socket(served, "/ws/agent", served.token(ALICE)) as socket:
        assert (await next_message(socket))["type"] == "state"
        served.hub.to_agent(7, {"type": "pop", "call_id": "ignored-by-this-test", "pop": {}})
    async with open_socket(served, "/ws/agent", served.token(ALICE)) as again:
        assert (await next_message(again))["type"] == "state"
        pop = await next_message(again)
    assert pop["type"] == "pop" and pop["call_id"] == "live-1"
    assert pop["pop"]["customer"]["name"] == "Chloé Dubois"


async def test_a_frame_bigger_than_a_page_sends_closes_the_socket(served: Served) -> None:
    async with open_socket(served, "/ws/agent", served.token(ALICE)) as socket:
        assert (await next_message(socket))["type"] == "state"
        await socket.send("x" * 10_000)
        with pytest.raises(ConnectionClosed) as closed:
            while True:
                await asyncio.wait_for(socket.recv(), 5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
