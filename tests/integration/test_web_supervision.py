"""Supervising a call over the web API (monitor / whisper / barge) and reading its
audit trail, through Starlette's TestClient against a fake desk and directory.
Roles, the Origin check and input validation are the web layer's; the refusals
after that come from the desk (the real one audits them)."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

from agents import AgentState
from callcenter.ports import (
    AgentView,
    Principal,
    Role,
    SupervisionEvent,
    SupervisionMode,
    WaitingCallView,
)
from callcenter.web import Hub, create_web_app
from tests.web_fakes import FakeDesk, FakeDirectory, FakeSupervisionLog

SECRET = "test-session-secret-0123456789"
NOW = 1_700_000_000.0
T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)

ALICE = Principal(1, "alice", frozenset({Role.AGENT}), agent_id=7)
SUE = Principal(3, "sue", frozenset({Role.SUPERVISOR}), agent_id=9)
PAT = Principal(4, "pat", frozenset({Role.SUPERVISOR}))  # no phone on file
ADA = Principal(5, "ada", frozenset({Role.ADMIN, Role.SUPERVISOR}), agent_id=10)
USERS = (ALICE, SUE, PAT, ADA)


@pytest.fixture
def desk() -> FakeDesk:
    """Agent 7 talks on call-9; call-1 waits."""
    desk = FakeDesk(
        [AgentView(7, "alice", "Alice Archer", AgentState.ON_CALL, since=NOW - 30)],
        [WaitingCallView("call-1", "sales", "+15550100", enqueued_at=NOW - 42)],
        now=NOW,
    )
    desk.talking["call-9"] = 7
    return desk


@pytest.fixture
def trail() -> FakeSupervisionLog:
    return FakeSupervisionLog(
        SupervisionEvent(T0 + timedelta(seconds=n), 3, "sue", f"call-{n}", mode, outcome)
        for n, (mode, outcome) in enumerate(
            [
                (SupervisionMode.MONITOR, "started"),
                (SupervisionMode.WHISPER, "refused:not_talking"),
                (SupervisionMode.BARGE, "failed:link_down"),
            ]
        )
    )


@pytest.fixture
def client(desk: FakeDesk, trail: FakeSupervisionLog) -> Iterator[TestClient]:
    app = create_web_app(
        desk=desk,
        hub=Hub(),
        authenticate=FakeDirectory((p, f"{p.username}-pw") for p in USERS),
        session_secret=SECRET,
        wallboard_interval_s=3600.0,
        supervision_log=trail,
    )
    with TestClient(app) as test_client:
        yield test_client


def log_in(client: TestClient, principal: Principal) -> None:
    response = client.post(
        "/api/login", json={"username": principal.username, "password": f"{principal.username}-pw"}
    )
    assert response.status_code == 200


def supervise(client: TestClient, call_id: str, body: Any, **headers: str) -> Any:
    return client.post(f"/api/calls/{call_id}/supervise", json=body, headers=headers)


def test_a_supervisor_whispers_on_a_talking_call(client: TestClient, desk: FakeDesk) -> None:
    log_in(client, SUE)

    response = supervise(client, "call-9", {"mode": "whisper"})

    assert response.status_code == 202
    assert response.json() == {
        "call_id": "call-9",
        "agent_id": 7,
        "mode": "whisper",
        "spy_leg_id": "spy-call-9-1",
        "confirmed": True,
    }
    assert desk.supervisions == [("call-9", "sue", SupervisionMode.WHISPER)]


@pytest.mark.parametrize("mode", ["monitor", "barge"])
def test_an_admin_may_monitor_and_barge_too(client: TestClient, desk: FakeDesk, mode: str) -> None:
    log_in(client, ADA)

    assert supervise(client, "call-9", {"mode": mode}).status_code == 202
    assert desk.supervisions == [("call-9", "ada", SupervisionMode(mode))]


def test_an_agent_is_refused_with_403(client: TestClient, desk: FakeDesk) -> None:
    log_in(client, ALICE)

    response = supervise(client, "call-9", {"mode": "monitor"})

    assert response.status_code == 403
    assert response.json()["detail"]["reason"] == "forbidden"
    assert desk.supervisions == []


def test_supervising_needs_a_login(client: TestClient, desk: FakeDesk) -> None:
    assert supervise(client, "call-9", {"mode": "monitor"}).status_code == 401
    assert desk.supervisions == []


@pytest.mark.parametrize("body", [{"mode": "shout"}, {}, {"mode": "whisper", "to": "caller"}])
def test_a_bad_body_is_422_naming_the_field(
    client: TestClient, desk: FakeDesk, body: dict[str, str]
) -> None:
    log_in(client, SUE)

    response = supervise(client, "call-9", body)

    assert response.status_code == 422
    fields = [error["field"] for error in response.json()["detail"]]
    assert fields == ["to" if "to" in body else "mode"]
    assert desk.supervisions == []


def test_a_call_id_that_is_not_an_id_is_422(client: TestClient) -> None:
    log_in(client, SUE)

    response = supervise(client, "call;9", {"mode": "monitor"})

    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "call_id"


@pytest.mark.parametrize(
    ("principal", "call_id", "status", "reason"),
    [
        (SUE, "call-404", 404, "no_such_call"),
        (SUE, "call-1", 409, "not_talking"),
        (PAT, "call-9", 409, "no_phone"),
    ],
)
def test_refusals_say_why_with_their_status(
    client: TestClient,
    desk: FakeDesk,
    principal: Principal,
    call_id: str,
    status: int,
    reason: str,
) -> None:
    log_in(client, principal)

    response = supervise(client, call_id, {"mode": "whisper"})

    assert response.status_code == status
    assert response.json()["detail"]["reason"] == reason
    assert desk.supervisions == []


def test_a_supervise_post_from_a_foreign_page_is_refused(
    client: TestClient, desk: FakeDesk
) -> None:
    log_in(client, SUE)

    response = supervise(client, "call-9", {"mode": "barge"}, origin="https://evil.example.com")

    assert response.status_code == 403
    assert response.json()["detail"] == "origin not allowed"
    assert desk.supervisions == []


def test_an_admin_reads_the_audit_trail_newest_first(client: TestClient) -> None:
    log_in(client, ADA)

    response = client.get("/api/supervision-events", params={"limit": 2})

    assert response.status_code == 200
    events = response.json()["events"]
    assert [(e["call_id"], e["mode"], e["outcome"]) for e in events] == [
        ("call-2", "barge", "failed:link_down"),
        ("call-1", "whisper", "refused:not_talking"),
    ]
    assert events[0]["username"] == "sue" and events[0]["at"] == "2026-11-24T09:00:02+00:00"


@pytest.mark.parametrize("principal", [SUE, ALICE])
def test_only_admins_read_the_audit_trail(client: TestClient, principal: Principal) -> None:
    log_in(client, principal)

    assert client.get("/api/supervision-events").status_code == 403


@pytest.mark.parametrize("limit", [0, 501, "many"])
def test_the_trail_limit_is_checked(client: TestClient, limit: object) -> None:
    log_in(client, ADA)

    response = client.get("/api/supervision-events", params={"limit": limit})

    assert response.status_code == 422
    assert response.json()["detail"][0]["field"] == "limit"
