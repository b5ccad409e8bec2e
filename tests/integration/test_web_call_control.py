"""Call control over the web API: the agent on the call holds, transfers,
conferences, hangs up and finishes wrap-up; everyone else is refused. Through
Starlette's TestClient against the fake desk (which refuses as the real one);
the flows themselves are tested against the orchestrator and the simulator."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

from agents import AgentState
from callcenter.ports import AgentView, Principal, Role, TransferTarget
from callcenter.web import Hub, create_web_app
from tests.web_fakes import FakeDesk, FakeDirectory

SECRET = "test-session-secret-0123456789"
NOW = 1_700_000_000.0

ALICE = Principal(1, "alice", frozenset({Role.AGENT}), agent_id=7)
BOB = Principal(2, "bob", frozenset({Role.AGENT}), agent_id=8)
SUE = Principal(3, "sue", frozenset({Role.SUPERVISOR}), agent_id=9)
USERS = (ALICE, BOB, SUE)


@pytest.fixture
def desk() -> FakeDesk:
    """Alice (agent 7) talks on call-9; Bob (agent 8) is in wrap-up."""
    desk = FakeDesk(
        [
            AgentView(7, "alice", "Alice Archer", AgentState.ON_CALL, since=NOW - 30),
            AgentView(8, "bob", "Bob Baker", AgentState.WRAP_UP, since=NOW - 5),
        ],
        now=NOW,
    )
    desk.talking["call-9"] = 7
    return desk


@pytest.fixture
def client(desk: FakeDesk) -> Iterator[TestClient]:
    app = create_web_app(
        desk=desk,
        hub=Hub(),
        authenticate=FakeDirectory((p, f"{p.username}-pw") for p in USERS),
        session_secret=SECRET,
        wallboard_interval_s=3600.0,
    )
    with TestClient(app) as test_client:
        yield test_client


def log_in(client: TestClient, principal: Principal) -> None:
    response = client.post(
        "/api/login", json={"username": principal.username, "password": f"{principal.username}-pw"}
    )
    assert response.status_code == 200


def post(client: TestClient, path: str, body: Any = None, **headers: str) -> Any:
    return client.post(path, json=body, headers=headers)


@pytest.mark.parametrize("action", ["hold", "resume", "hangup", "complete", "join", "cancel"])
def test_the_agent_on_the_call_runs_each_simple_action(
    client: TestClient, desk: FakeDesk, action: str
) -> None:
    log_in(client, ALICE)
    response = post(client, f"/api/calls/call-9/{action}")
    assert response.status_code == 200
    assert response.json()["action"] == action
    assert desk.controls == [(action, "call-9", 7, {})]


def test_a_blind_transfer_to_a_queue_and_an_attended_one_to_a_number(
    client: TestClient, desk: FakeDesk
) -> None:
    log_in(client, ALICE)
    blind = {"target": {"kind": "queue", "queue": "support"}, "note": "billing"}
    assert post(client, "/api/calls/call-9/transfer", blind).status_code == 200
    attended = {"target": {"kind": "number", "number": "+33142685300"}, "mode": "attended"}
    assert post(client, "/api/calls/call-9/transfer", attended).status_code == 200
    assert [details for *_, details in desk.controls] == [
        {"target": TransferTarget("queue", queue="support"), "attended": False, "note": "billing"},
        {"target": TransferTarget("number", number="+33142685300"), "attended": True, "note": None},
    ]


def test_a_conference_with_an_agent(client: TestClient, desk: FakeDesk) -> None:
    log_in(client, ALICE)
    response = post(
        client, "/api/calls/call-9/conference", {"target": {"kind": "agent", "agent_id": 8}}
    )
    assert response.status_code == 200
    assert desk.controls[0][3] == {"target": TransferTarget("agent", agent_id=8)}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"target": {"kind": "number", "number": "12ab"}}, "number"),
        ({"target": {"kind": "agent"}}, "target"),
        ({"target": {"kind": "queue", "queue": "sales;drop"}}, "queue"),
        ({"target": {"kind": "fax", "number": "123"}}, "kind"),
        ({"target": {"kind": "queue", "queue": "s"}, "mode": "warm"}, "mode"),
        ({"target": {"kind": "queue", "queue": "s"}, "channel": "PJSIP/x"}, "channel"),
    ],
)
def test_a_bad_target_is_422_naming_the_field(
    client: TestClient, desk: FakeDesk, body: dict[str, Any], field: str
) -> None:
    log_in(client, ALICE)
    response = post(client, "/api/calls/call-9/transfer", body)
    assert response.status_code == 422
    fields = [error["field"] for error in response.json()["detail"]]
    assert any(field in name.split(".") for name in fields), fields
    assert desk.controls == []


def test_another_agent_cannot_touch_the_call(client: TestClient, desk: FakeDesk) -> None:
    log_in(client, BOB)
    response = post(client, "/api/calls/call-9/hangup")
    assert response.status_code == 403
    assert response.json()["detail"]["reason"] == "not_your_call"
    assert post(client, "/api/calls/call-1/hold").status_code == 404
    assert desk.controls == []


def test_a_supervisor_without_the_agent_role_and_a_stranger_are_refused(
    client: TestClient, desk: FakeDesk
) -> None:
    assert post(client, "/api/calls/call-9/hold").status_code == 401
    log_in(client, SUE)
    assert post(client, "/api/calls/call-9/hold").status_code == 403
    assert desk.controls == []


def test_a_foreign_origin_is_refused(client: TestClient, desk: FakeDesk) -> None:
    log_in(client, ALICE)
    response = post(client, "/api/calls/call-9/hold", Origin="https://evil.example")
    assert response.status_code == 403
    assert desk.controls == []


@pytest.mark.parametrize(("reason", "code"), [("link_down", 503), ("pbx_refused", 502)])
def test_a_pbx_that_does_not_take_the_action_is_5xx_with_the_reason(
    client: TestClient, desk: FakeDesk, reason: str, code: int
) -> None:
    log_in(client, ALICE)
    desk.control_refusal = reason
    response = post(client, "/api/calls/call-9/hold")
    assert response.status_code == code
    assert response.json()["detail"]["reason"] == reason


def test_wrap_up_done_saves_and_makes_the_agent_ready(client: TestClient, desk: FakeDesk) -> None:
    log_in(client, BOB)
    response = post(client, "/api/agent/wrap-up", {"disposition": "sale", "notes": "quote sent"})
    assert response.status_code == 200
    assert response.json()["state"] == "ready"
    assert desk.controls == [("wrap_up", "", 8, {"disposition": "sale", "notes": "quote sent"})]
    again = post(client, "/api/agent/wrap-up", {"disposition": "sale"})
    assert again.status_code == 409
    too_long = post(client, "/api/agent/wrap-up", {"notes": "x" * 5000})
    assert too_long.status_code == 422
