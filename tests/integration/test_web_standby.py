"""A node with no router to answer (still starting, or a hot standby while
another node leads): its commands answer 503 with the reason and Retry-After,
and its agent and wallboard websockets close with 1013 (try again later), so
clients that retry through the load balancer reach the leader. Logging in and
health still work there."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from starlette.websockets import WebSocketDisconnect

from callcenter.ports import DeskUnavailable
from callcenter.web import Hub
from tests.integration.test_web_api import NOW, OWN_ORIGIN, TestClient, build_app, login
from tests.web_fakes import FakeDesk

STANDBY = "this node is a standby: another node leads the call center"


class StandbyDesk(FakeDesk):
    def agent_view(self, agent_id: int) -> Any:
        raise DeskUnavailable(STANDBY)

    def wallboard(self) -> Any:
        raise DeskUnavailable(STANDBY)


@pytest.fixture
def standby() -> Iterator[TestClient]:
    with TestClient(build_app(StandbyDesk([], [], now=NOW), Hub())) as client:
        yield client


def test_commands_on_a_standby_answer_503_with_the_reason(standby: TestClient) -> None:
    assert login(standby, "alice").status_code == 200, "logging in works on any node"
    answer = standby.get("/api/agent/me")
    assert answer.status_code == 503
    assert answer.json() == {"detail": STANDBY}
    assert answer.headers["retry-after"] == "2"
    assert standby.get("/healthz").status_code == 200


@pytest.mark.parametrize(("user", "path"), [("alice", "/ws/agent"), ("sue", "/ws/wallboard")])
def test_a_standbys_websockets_close_try_again_later(
    standby: TestClient, user: str, path: str
) -> None:
    login(standby, user)
    with (
        pytest.raises(WebSocketDisconnect) as closed,
        standby.websocket_connect(path, headers={"origin": OWN_ORIGIN}),
    ):
        pass
    assert closed.value.code == 1013
    assert closed.value.reason == STANDBY
