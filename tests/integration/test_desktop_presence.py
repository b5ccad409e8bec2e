"""An agent whose desktop is gone is made Not Ready after a grace period, never
because of a reload (the real websocket route, a fake desk)."""

from __future__ import annotations

import time
import warnings
from collections.abc import Callable, Iterator

import pytest
from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

from agents import AgentState
from callcenter.web import Hub, create_web_app
from callcenter.web.desktop_presence import DESKTOP_GONE
from tests.integration.test_web_api import PASSWORDS, PRINCIPALS, SECRET, login, make_desk
from tests.web_fakes import FakeDesk, FakeDirectory

GRACE_S = 0.3


@pytest.fixture
def desk() -> FakeDesk:
    return make_desk()


@pytest.fixture
def client(desk: FakeDesk) -> Iterator[TestClient]:
    app = create_web_app(
        desk=desk,
        hub=Hub(),
        authenticate=FakeDirectory((p, PASSWORDS[p.username]) for p in PRINCIPALS.values()),
        session_secret=SECRET,
        wallboard_interval_s=3600.0,
        desktop_grace_s=GRACE_S,
    )
    with TestClient(app) as test_client:
        yield test_client


def wait_for(predicate: Callable[[], bool], timeout_s: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return False


def test_a_ready_agent_whose_page_closed_is_made_not_ready_after_the_grace(
    client: TestClient, desk: FakeDesk
) -> None:
    login(client, "bob")  # bob is Ready
    with client.websocket_connect("/ws/agent") as socket:
        socket.receive_json()

    assert wait_for(lambda: desk.agents[8].state is AgentState.NOT_READY)
    assert desk.agents[8].reason == DESKTOP_GONE
    assert desk.requests == [(8, AgentState.NOT_READY, DESKTOP_GONE)]


def test_a_reload_within_the_grace_keeps_the_agent_ready(
    client: TestClient, desk: FakeDesk
) -> None:
    login(client, "bob")
    with client.websocket_connect("/ws/agent") as first:
        first.receive_json()
    with client.websocket_connect("/ws/agent") as second:  # the page reloaded
        second.receive_json()
        time.sleep(GRACE_S * 3)
        assert desk.agents[8].state is AgentState.READY

    assert desk.requests == []


def test_a_second_tab_keeps_the_agent_ready_when_the_first_closes(
    client: TestClient, desk: FakeDesk
) -> None:
    login(client, "bob")
    with client.websocket_connect("/ws/agent") as kept:
        kept.receive_json()
        with client.websocket_connect("/ws/agent") as closed:
            closed.receive_json()
        time.sleep(GRACE_S * 3)
        assert desk.agents[8].state is AgentState.READY
    assert wait_for(lambda: desk.agents[8].state is AgentState.NOT_READY)


def test_an_agent_already_away_is_left_as_they_were(client: TestClient, desk: FakeDesk) -> None:
    login(client, "alice")  # alice is logged out
    with client.websocket_connect("/ws/agent") as socket:
        socket.receive_json()
    time.sleep(GRACE_S * 3)

    assert desk.agents[7].state is AgentState.LOGGED_OUT and desk.requests == []
