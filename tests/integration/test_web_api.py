"""The web API and websockets, driven through Starlette's TestClient against a
fake desk and a fake user directory."""

from __future__ import annotations

import dataclasses
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from starlette.exceptions import StarletteDeprecationWarning
from starlette.websockets import WebSocketDisconnect

with warnings.catch_warnings():
    # Starlette 1.x prefers the httpx2 fork; the pinned httpx works the same here.
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

from agents import AgentState
from callcenter.ports import AgentView, Principal, Role, WaitingCallView
from callcenter.web import Hub, create_web_app
from callcenter.web.auth import SESSION_COOKIE, Sessions
from callcenter.web.forwarding import Forwarding
from tests.web_fakes import FakeDesk, FakeDirectory

SECRET = "test-session-secret-0123456789"
NOW = 1_700_000_000.0
OWN_ORIGIN = "http://testserver"

ALICE = Principal(1, "alice", frozenset({Role.AGENT}), agent_id=7)
BOB = Principal(2, "bob", frozenset({Role.AGENT}), agent_id=8)
SUE = Principal(3, "sue", frozenset({Role.SUPERVISOR}))
PASSWORDS = {"alice": "alice-pw", "bob": "bob-pw", "sue": "sue-pw"}
PRINCIPALS = {p.username: p for p in (ALICE, BOB, SUE)}


def make_desk(now: float = NOW) -> FakeDesk:
    """Agents 7 (alice, logged out 30 s) and 8 (bob, ready 95 s), one call waiting
    42 s; like a real desk policy, logging out mid-call is refused."""
    desk = FakeDesk(
        [
            AgentView(7, "alice", "Alice Archer", AgentState.LOGGED_OUT, since=now - 30),
            AgentView(8, "bob", "Bob Baker", AgentState.READY, since=now - 95),
        ],
        [WaitingCallView("call-1", "sales", "+15550100", enqueued_at=now - 42)],
        now=now,
    )
    desk.refused.add((AgentState.ON_CALL, AgentState.LOGGED_OUT))
    return desk


def build_app(
    desk: FakeDesk,
    hub: Hub,
    *,
    readiness: Any = None,
    wallboard_interval_s: float = 3600.0,
    forwarding: Forwarding | None = None,
) -> FastAPI:
    return create_web_app(
        desk=desk,
        hub=hub,
        authenticate=FakeDirectory((p, PASSWORDS[p.username]) for p in PRINCIPALS.values()),
        session_secret=SECRET,
        allowed_origins=["https://wallboard.example.com"],
        readiness=readiness,
        wallboard_interval_s=wallboard_interval_s,
        forwarding=forwarding,
    )


@pytest.fixture
def desk() -> FakeDesk:
    return make_desk()


@pytest.fixture
def hub() -> Hub:
    return Hub()


@pytest.fixture
def client(desk: FakeDesk, hub: Hub) -> Iterator[TestClient]:
    with TestClient(build_app(desk, hub)) as test_client:
        yield test_client


def login(client: TestClient, username: str, password: str | None = None) -> Any:
    return client.post(
        "/api/login", json={"username": username, "password": password or PASSWORDS[username]}
    )


# -- login and sessions -----------------------------------------------------------


def test_login_sets_an_httponly_samesite_session_cookie(client: TestClient) -> None:
    response = login(client, "alice")

    assert response.status_code == 200
    assert response.json() == {
        "user_id": 1,
        "username": "alice",
        "roles": ["agent"],
        "agent_id": 7,
        "queues": None,
    }
    cookie = response.headers["set-cookie"].lower()
    assert cookie.startswith(f"{SESSION_COOKIE}=")
    assert "httponly" in cookie
    assert "samesite=lax" in cookie
    assert client.get("/api/me").json()["username"] == "alice"


def test_wrong_password_is_401_and_sets_no_cookie(client: TestClient) -> None:
    response = login(client, "alice", "guess")

    assert response.status_code == 401
    assert "set-cookie" not in response.headers
    assert client.get("/api/me").status_code == 401


def test_repeated_failed_logins_are_throttled_even_with_the_right_password(
    client: TestClient,
) -> None:
    for _ in range(5):
        assert login(client, "alice", "guess").status_code == 401

    throttled = login(client, "alice")

    assert throttled.status_code == 429
    assert int(throttled.headers["retry-after"]) >= 1
    # Another user from the same address is not locked out by alice's failures.
    assert login(client, "sue").status_code == 200


def test_a_tampered_cookie_is_not_a_session(client: TestClient) -> None:
    login(client, "alice")
    token = client.cookies[SESSION_COOKIE]
    # Change a character well inside the signature: the last base64 character
    # carries padding bits, so changing it may decode to the very same bytes.
    i = len(token) - 5
    tampered = token[:i] + ("A" if token[i] != "A" else "B") + token[i + 1 :]
    client.cookies.set(SESSION_COOKIE, tampered)

    assert client.get("/api/me").status_code == 401


def test_after_logout_the_old_cookie_no_longer_works(client: TestClient) -> None:
    login(client, "alice")
    token = client.cookies[SESSION_COOKIE]

    assert client.post("/api/logout").status_code == 200
    client.cookies.set(SESSION_COOKIE, token)

    assert client.get("/api/me").status_code == 401


def test_a_session_expires_after_its_lifetime() -> None:
    clock = [NOW]
    sessions = Sessions(SECRET, max_age_s=3600, clock=lambda: clock[0])
    token = sessions.issue(ALICE)
    assert sessions.read(token) == ALICE

    clock[0] += 3601

    assert sessions.read(token) is None


def test_a_session_ended_on_one_node_ends_on_the_others() -> None:
    here, there = Sessions(SECRET), Sessions(SECRET)
    shared: list[dict[str, Any]] = []
    here.on_revoke = shared.append
    alice, sue = here.issue(ALICE), here.issue(SUE)
    assert there.read(alice) == ALICE and there.read(sue) == SUE

    here.revoke(alice)  # a logout
    here.revoke_user(SUE.user_id)  # sue's roles changed
    assert [there.apply_revocation(revocation) for revocation in shared] == [True, True]

    assert there.read(alice) is None and there.read(sue) is None
    assert there.read(there.issue(ALICE)) == ALICE, "only the ended sessions"
    for nonsense in ({}, {"sid": "", "exp": 1.0}, {"user_id": "3", "cutoff": 1.0}, {"sid": 5}):
        assert there.apply_revocation(nonsense) is False


def test_a_login_post_from_a_foreign_page_is_refused(client: TestClient) -> None:
    response = client.post(
        "/api/login",
        json={"username": "alice", "password": PASSWORDS["alice"]},
        headers={"origin": "https://evil.example.net"},
    )

    assert response.status_code == 403


# -- agent state ------------------------------------------------------------------


def test_an_agent_reads_their_own_view(client: TestClient) -> None:
    login(client, "alice")

    response = client.get("/api/agent/me")

    assert response.status_code == 200
    assert response.json()["login"] == "alice"
    assert response.json()["state"] == "logged_out"


def test_an_agent_goes_ready_and_only_their_own_agent_changes(
    client: TestClient, desk: FakeDesk
) -> None:
    login(client, "alice")

    response = client.post("/api/agent/state", json={"state": "ready"})

    assert response.status_code == 200
    assert response.json()["state"] == "ready"
    assert desk.requests == [(7, AgentState.READY, None)]
    assert desk.agents[8].state is AgentState.READY  # bob untouched (was ready already)


def test_not_ready_carries_its_reason(client: TestClient, desk: FakeDesk) -> None:
    login(client, "alice")

    response = client.post("/api/agent/state", json={"state": "not_ready", "reason": "lunch"})

    assert response.json()["reason"] == "lunch"
    assert desk.requests == [(7, AgentState.NOT_READY, "lunch")]


def test_a_move_the_desk_refuses_is_409_with_its_message(
    client: TestClient, desk: FakeDesk
) -> None:
    desk.agents[7] = dataclasses.replace(desk.agents[7], state=AgentState.ON_CALL)
    login(client, "alice")

    response = client.post("/api/agent/state", json={"state": "logged_out"})

    assert response.status_code == 409
    assert response.json()["detail"] == "an agent cannot go from on_call to logged_out"
    assert desk.agents[7].state is AgentState.ON_CALL


def test_an_agent_cannot_ask_for_a_call_flow_state_and_is_told_which_field(
    client: TestClient, desk: FakeDesk
) -> None:
    login(client, "alice")

    response = client.post("/api/agent/state", json={"state": "on_call"})

    assert response.status_code == 422
    [error] = response.json()["detail"]
    assert error["field"] == "state"
    assert "ready" in error["reason"]
    assert desk.requests == []


def test_changing_state_needs_a_login(client: TestClient, desk: FakeDesk) -> None:
    response = client.post("/api/agent/state", json={"state": "ready"})

    assert response.status_code == 401
    assert desk.requests == []


def test_a_supervisor_without_an_agent_cannot_change_agent_state(client: TestClient) -> None:
    login(client, "sue")

    assert client.post("/api/agent/state", json={"state": "ready"}).status_code == 403


# -- wallboard --------------------------------------------------------------------


def test_an_agent_cannot_read_the_wallboard(client: TestClient) -> None:
    login(client, "alice")

    assert client.get("/api/wallboard").status_code == 403


def test_the_wallboard_needs_a_login(client: TestClient) -> None:
    assert client.get("/api/wallboard").status_code == 401


def test_a_supervisor_sees_waits_times_in_state_and_counts(client: TestClient) -> None:
    login(client, "sue")

    board = client.get("/api/wallboard").json()

    assert board["waiting"] == [
        {
            "call_id": "call-1",
            "queue": "sales",
            "caller_number": "+15550100",
            "enqueued_at": NOW - 42,
            "waited_s": 42.0,
            "routing": None,
        }
    ]
    assert {(a["login"], a["state"], a["in_state_s"]) for a in board["agents"]} == {
        ("alice", "logged_out", 30.0),
        ("bob", "ready", 95.0),
    }
    assert board["counts"] == {
        "logged_out": 1,
        "ready": 1,
        "not_ready": 0,
        "reserved": 0,
        "ringing": 0,
        "on_call": 0,
        "wrap_up": 0,
    }
    assert board["queues"] == {"sales": {"waiting": 1, "longest_wait_s": 42.0}}


def test_a_supervisor_reads_why_a_call_was_routed(client: TestClient, desk: FakeDesk) -> None:
    desk.routings["call-1"] = {"call_id": "call-1", "explanation": {"step": "initial"}}
    login(client, "sue")
    assert client.get("/api/calls/call-1/routing").json()["explanation"]["step"] == "initial"
    assert client.get("/api/calls/call-9/routing").status_code == 404
    assert client.get("/api/calls/bad%20id/routing").status_code == 422


def test_an_agent_may_not_read_routing_explanations(client: TestClient, desk: FakeDesk) -> None:
    desk.routings["call-1"] = {"call_id": "call-1", "explanation": {"step": "initial"}}
    login(client, "alice")
    assert client.get("/api/calls/call-1/routing").status_code == 403


# -- health -----------------------------------------------------------------------


def test_healthz_says_alive(client: TestClient) -> None:
    assert client.get("/healthz").json() == {"status": "alive"}


def test_readyz_is_503_naming_the_failing_check(desk: FakeDesk, hub: Hub) -> None:
    async def readiness() -> dict[str, bool]:
        return {"database": True, "pbx:pbx1": False}

    with TestClient(build_app(desk, hub, readiness=readiness)) as client:
        response = client.get("/readyz")

    assert response.status_code == 503
    assert response.json()["ready"] is False
    assert response.json()["failing"] == ["pbx:pbx1"]


def test_readyz_is_200_when_every_check_passes(desk: FakeDesk, hub: Hub) -> None:
    async def readiness() -> dict[str, bool]:
        return {"database": True, "pbx:pbx1": True}

    with TestClient(build_app(desk, hub, readiness=readiness)) as client:
        response = client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {"ready": True, "checks": {"database": True, "pbx:pbx1": True}}


# -- pages ------------------------------------------------------------------------


def test_the_agent_page_sends_a_visitor_to_login_and_back(client: TestClient) -> None:
    response = client.get("/agent", follow_redirects=False)

    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=/agent"


def test_the_agent_page_is_served_to_an_agent_with_a_strict_csp(client: TestClient) -> None:
    login(client, "alice")

    response = client.get("/agent")

    assert response.status_code == 200
    assert 'id="btn-ready"' in response.text
    assert "script-src 'self'" in response.headers["content-security-policy"]


def test_the_wallboard_page_is_forbidden_to_an_agent(client: TestClient) -> None:
    login(client, "alice")

    assert client.get("/wallboard").status_code == 403


# -- /ws/agent --------------------------------------------------------------------


def test_the_agent_socket_refuses_a_visitor_without_a_session(client: TestClient) -> None:
    with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect("/ws/agent"):
        pass

    assert refused.value.code == 4401


def test_the_agent_socket_refuses_a_foreign_origin(client: TestClient) -> None:
    login(client, "alice")

    with (
        pytest.raises(WebSocketDisconnect) as refused,
        client.websocket_connect("/ws/agent", headers={"origin": "https://evil.example.net"}),
    ):
        pass

    assert refused.value.code == 1008


def test_the_agent_socket_refuses_a_supervisor(client: TestClient) -> None:
    login(client, "sue")

    with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect("/ws/agent"):
        pass

    assert refused.value.code == 4403


def test_the_agent_socket_sends_the_state_on_connect(client: TestClient) -> None:
    login(client, "alice")

    with client.websocket_connect("/ws/agent", headers={"origin": OWN_ORIGIN}) as socket:
        first = socket.receive_json()

    assert first["type"] == "state"
    assert first["agent"]["login"] == "alice"
    assert first["agent"]["state"] == "logged_out"


def test_a_page_opened_mid_call_gets_the_current_pop(client: TestClient, desk: FakeDesk) -> None:
    desk.pops[7] = {"call_id": "call-9", "caller_number": "+15550199", "customer": None}
    login(client, "alice")

    with client.websocket_connect("/ws/agent") as socket:
        socket.receive_json()
        pop = socket.receive_json()

    assert pop == {"type": "pop", "call_id": "call-9", "pop": desk.pops[7]}


def test_the_agent_socket_relays_own_pushes_and_never_another_agents(
    client: TestClient, hub: Hub
) -> None:
    login(client, "alice")

    with client.websocket_connect("/ws/agent") as socket:
        socket.receive_json()  # state
        hub.to_agent(8, {"type": "pop", "call_id": "for-bob"})
        hub.to_agent(7, {"type": "pop", "call_id": "for-alice"})
        hub.to_agent(7, {"type": "pop_withdrawn", "call_id": "for-alice"})

        assert socket.receive_json() == {"type": "pop", "call_id": "for-alice"}
        assert socket.receive_json() == {"type": "pop_withdrawn", "call_id": "for-alice"}


def test_a_ping_gets_a_pong(client: TestClient) -> None:
    login(client, "alice")

    with client.websocket_connect("/ws/agent") as socket:
        socket.receive_json()
        socket.send_json({"type": "ping"})

        assert socket.receive_json() == {"type": "pong"}


def test_an_oversized_frame_closes_the_socket(client: TestClient) -> None:
    login(client, "alice")

    with client.websocket_connect("/ws/agent") as socket:
        socket.receive_json()
        socket.send_text("x" * 5000)

        with pytest.raises(WebSocketDisconnect) as closed:
            socket.receive_json()

    assert closed.value.code == 1009


def test_an_allowed_other_origin_may_open_the_agent_socket(client: TestClient) -> None:
    login(client, "alice")

    with client.websocket_connect(
        "/ws/agent", headers={"origin": "https://wallboard.example.com"}
    ) as socket:
        assert socket.receive_json()["type"] == "state"


# -- /ws/wallboard ----------------------------------------------------------------


def test_the_wallboard_socket_refuses_an_agent(client: TestClient) -> None:
    login(client, "alice")

    with pytest.raises(WebSocketDisconnect) as refused, client.websocket_connect("/ws/wallboard"):
        pass

    assert refused.value.code == 4403


def test_the_wallboard_socket_sends_a_snapshot_then_relays_pushes(
    client: TestClient, hub: Hub
) -> None:
    login(client, "sue")

    with client.websocket_connect("/ws/wallboard") as socket:
        snapshot = socket.receive_json()
        hub.to_wallboards({"type": "wallboard", "waiting": [], "agents": []})
        pushed = socket.receive_json()

    assert snapshot["type"] == "wallboard"
    assert [call["call_id"] for call in snapshot["waiting"]] == ["call-1"]
    assert pushed == {"type": "wallboard", "waiting": [], "agents": []}


def test_an_open_wallboard_keeps_receiving_fresh_snapshots(desk: FakeDesk, hub: Hub) -> None:
    with TestClient(build_app(desk, hub, wallboard_interval_s=0.01)) as client:
        login(client, "sue")
        with client.websocket_connect("/ws/wallboard") as socket:
            socket.receive_json()
            desk.waiting.append(WaitingCallView("call-2", "support", "+15550111", NOW - 5))
            desk.now += 1

            for _ in range(200):
                board = socket.receive_json()
                if len(board["waiting"]) == 2:
                    break

    assert board["type"] == "wallboard"
    assert [call["waited_s"] for call in board["waiting"]] == [43.0, 6.0]
