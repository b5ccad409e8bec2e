"""Every endpoint and websocket against every role: who gets in, who is refused.

The table below is the access policy, written down once. The test walks the
app's own route list, so a new endpoint that nobody classified fails here
instead of shipping open; then for each route and each role (anonymous, agent,
supervisor, admin) it checks the answer: 401 without a login, 403 for a role
not admitted, and anything but 401/403 for one that is (a 404, 409 or 422 is
fine: the role got past the door, the request itself was wrong).

Websockets likewise: each role opens only its own feeds (4401 / 4403 for the
rest), and on a feed the only message a client may send is a ping; frames that
look like actions (a state change, a hang-up, a barge) get no answer and change
nothing, whoever sends them.

The app is the real one over a migrated, seeded SQLite database (so the admin
and history routes do their real work) with the fake desk for live state.
Requests carry bearer tokens, the API clients' way in.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi import FastAPI
from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

from starlette.websockets import WebSocketDisconnect

from callcenter.ports import Principal, Role
from tests.app_over_db import build_app_over_db, token_for
from tests.conftest import seed_database

ANON = "anonymous"
AGENT, SUPERVISOR, ADMIN = "agent", "supervisor", "admin"
ROLES = (ANON, AGENT, SUPERVISOR, ADMIN)
PUBLIC = frozenset(ROLES)
LOGGED_IN = frozenset({AGENT, SUPERVISOR, ADMIN})
AGENTS = frozenset({AGENT})
SUPERVISORS = frozenset({SUPERVISOR, ADMIN})
ADMINS = frozenset({ADMIN})

#: (method, path) -> who may call it
POLICY: dict[tuple[str, str], frozenset[str]] = {
    ("GET", "/healthz"): PUBLIC,
    ("GET", "/readyz"): PUBLIC,
    ("GET", "/metrics"): PUBLIC,
    ("POST", "/api/login"): PUBLIC,
    ("POST", "/api/token"): PUBLIC,
    ("POST", "/api/logout"): PUBLIC,
    ("GET", "/api/me"): LOGGED_IN,
    ("GET", "/api/agent/me"): AGENTS,
    ("POST", "/api/agent/state"): AGENTS,
    ("GET", "/api/agent/history"): AGENTS,
    ("POST", "/api/agent/wrap-up"): AGENTS,
    ("GET", "/api/wallboard"): SUPERVISORS,
    ("GET", "/api/calls/live"): SUPERVISORS,
    ("GET", "/api/calls/history"): SUPERVISORS,
    ("GET", "/api/calls/{call_id}/routing"): SUPERVISORS,
    # the desk checks the role so that an agent's attempt is audited too
    ("POST", "/api/calls/{call_id}/supervise"): SUPERVISORS,
    ("GET", "/api/supervision-events"): ADMINS,
    ("GET", "/api/audit"): ADMINS,
    **{
        ("POST", f"/api/calls/{{call_id}}/{action}"): AGENTS
        for action in (
            "hold",
            "resume",
            "hangup",
            "transfer",
            "conference",
            "complete",
            "join",
            "cancel",
        )
    },
    # the agent on the call only (tests/integration/test_web_crm_api.py)
    ("POST", "/api/calls/{call_id}/customer"): AGENTS,
    ("POST", "/api/calls/{call_id}/contact"): AGENTS,
    ("POST", "/api/calls/{call_id}/recording/pause"): AGENTS,
    ("POST", "/api/calls/{call_id}/recording/resume"): AGENTS,
    # every role, each seeing only its own (tests/integration/test_recordings_*)
    ("GET", "/api/recordings"): LOGGED_IN,
    ("GET", "/api/recordings/{recording_id}"): LOGGED_IN,
    ("GET", "/api/recordings/{recording_id}/audio"): LOGGED_IN,
    ("GET", "/api/skills"): SUPERVISORS,
    ("POST", "/api/skills"): ADMINS,
    ("DELETE", "/api/skills/{skill_id}"): ADMINS,
    ("GET", "/api/agents"): SUPERVISORS,
    ("POST", "/api/agents"): ADMINS,
    ("GET", "/api/agents/{agent_id}"): SUPERVISORS,
    ("PATCH", "/api/agents/{agent_id}"): ADMINS,
    ("DELETE", "/api/agents/{agent_id}"): ADMINS,
    ("GET", "/api/agents/{agent_id}/states"): SUPERVISORS,
    ("POST", "/api/agents/{agent_id}/state"): SUPERVISORS,
    ("GET", "/api/queues"): SUPERVISORS,
    ("POST", "/api/queues"): ADMINS,
    ("PATCH", "/api/queues/{queue_id}"): ADMINS,
    ("DELETE", "/api/queues/{queue_id}"): ADMINS,
    ("GET", "/api/users"): ADMINS,
    ("POST", "/api/users"): ADMINS,
    ("GET", "/api/users/{user_id}"): ADMINS,
    ("PATCH", "/api/users/{user_id}"): ADMINS,
    ("DELETE", "/api/users/{user_id}"): ADMINS,
    ("GET", "/api/reason-codes"): LOGGED_IN,
    ("PUT", "/api/reason-codes/{code}"): ADMINS,
    ("DELETE", "/api/reason-codes/{code}"): ADMINS,
    ("GET", "/api/disposition-codes"): LOGGED_IN,
    ("PUT", "/api/disposition-codes/{code}"): ADMINS,
    ("DELETE", "/api/disposition-codes/{code}"): ADMINS,
    ("GET", "/api/locations"): SUPERVISORS,
    ("GET", "/api/holidays"): SUPERVISORS,
    ("GET", "/api/rules"): ADMINS,
    ("GET", "/api/rules/versions"): ADMINS,
    ("GET", "/api/rules/versions/{version}"): ADMINS,
    ("POST", "/api/rules/validate"): ADMINS,
    ("POST", "/api/rules/drafts"): ADMINS,
    ("POST", "/api/rules/versions/{version}/publish"): ADMINS,
    ("POST", "/api/rules/versions/{version}/rollback"): ADMINS,
    ("GET", "/api/rules/diff"): ADMINS,
    ("POST", "/api/rules/what-if"): ADMINS,
    # supervisors see their own queues' figures (tests/integration/test_reports_api.py)
    **{
        ("GET", f"/api/reports/{report}"): SUPERVISORS
        for report in ("realtime", "history", "agents", "fcr", "seats", "dormant")
    },
}

#: websocket path -> who may open it
WEBSOCKETS = {"/ws/agent": AGENTS, "/ws/wallboard": SUPERVISORS, "/ws/supervisor": SUPERVISORS}

#: values for path parameters: ids nobody has, so an admitted write finds nothing
SAMPLE_PARAMS = {
    "call_id": "no-such-call",
    "agent_id": "999999",
    "skill_id": "999999",
    "queue_id": "999999",
    "user_id": "999999",
    "version": "999999",
    "code": "no-such-code",
    "recording_id": "999999",
}
#: query strings the GET routes need to get past validation
SAMPLE_QUERIES = {
    "/api/holidays": "?country=FR&year=2026",
    "/api/rules/diff": "?from=1&to=1",
}

#: bodies for routes that must get past validation to reach their role check
SAMPLE_BODIES = {"/api/calls/{call_id}/supervise": {"mode": "monitor"}}

PRINCIPALS = {
    AGENT: Principal(101, "matrix-agent", frozenset({Role.AGENT}), agent_id=1),
    SUPERVISOR: Principal(102, "matrix-supervisor", frozenset({Role.SUPERVISOR})),
    ADMIN: Principal(103, "matrix-admin", frozenset({Role.ADMIN})),
}


@pytest.fixture(scope="module")
def app(tmp_path_factory: pytest.TempPathFactory) -> FastAPI:
    db = Path(tmp_path_factory.mktemp("matrix")) / "callcenter.db"
    url = f"sqlite+aiosqlite:///{db}"
    seed_database(url, customers=5)
    return build_app_over_db(url)


@pytest.fixture(scope="module")
def client(app: FastAPI) -> Iterator[TestClient]:
    with TestClient(app) as client:
        yield client


def _api_routes(app: FastAPI) -> list[tuple[str, str]]:
    """Every operation the OpenAPI schema publishes (the pages are left out of
    it, and judged by tests of their own)."""
    paths = app.openapi()["paths"]
    return sorted((method.upper(), path) for path, item in paths.items() for method in item)


def test_every_endpoint_is_in_the_policy(app: FastAPI) -> None:
    routes = set(_api_routes(app))
    assert routes - POLICY.keys() == set(), "classify the new endpoints in POLICY"
    assert POLICY.keys() - routes == set(), "POLICY names endpoints the app no longer has"


def _url(path: str) -> str:
    filled = re.sub(r"\{(\w+)\}", lambda m: SAMPLE_PARAMS[m.group(1)], path)
    return filled + SAMPLE_QUERIES.get(path, "")


def _headers(role: str) -> dict[str, str]:
    if role == ANON:
        return {}
    return {"Authorization": f"Bearer {token_for(PRINCIPALS[role])}"}


@pytest.mark.parametrize(("method", "path"), sorted(POLICY))
def test_each_role_is_admitted_or_refused_as_the_policy_says(
    client: TestClient, method: str, path: str
) -> None:
    allowed = POLICY[(method, path)]
    for role in ROLES:
        body = None if method in ("GET", "DELETE") else SAMPLE_BODIES.get(path, {})
        response = client.request(method, _url(path), headers=_headers(role), json=body)
        if role in allowed:
            assert response.status_code not in (401, 403), (role, response.text)
            assert response.status_code < 500, (role, response.text)
        elif role == ANON:
            assert response.status_code == 401, (role, response.text)
        else:
            assert response.status_code == 403, (role, response.text)


def test_a_bad_or_foreign_token_is_not_a_login(client: TestClient) -> None:
    forged = token_for(PRINCIPALS[ADMIN], secret="another-secret-0123456789")
    for header in (f"Bearer {forged}", "Bearer nonsense", f"Basic {token_for(PRINCIPALS[ADMIN])}"):
        assert client.get("/api/users", headers={"Authorization": header}).status_code == 401


@pytest.mark.parametrize("path", sorted(WEBSOCKETS))
def test_each_role_opens_only_its_own_websockets(client: TestClient, path: str) -> None:
    for role in ROLES:
        if role in WEBSOCKETS[path]:
            with client.websocket_connect(path, headers=_headers(role)) as socket:
                first = socket.receive_json()
                assert first["type"] in ("state", "wallboard")
            continue
        with (
            pytest.raises(WebSocketDisconnect) as refused,
            client.websocket_connect(path, headers=_headers(role)) as socket,
        ):
            socket.receive_json()
        assert refused.value.code == (4401 if role == ANON else 4403), role


#: what a page may send on each socket: pings, answered with a pong. A socket is
#: a feed, never a way around the REST API's role checks.
CLIENT_MESSAGES = {"/ws/agent": {"ping"}, "/ws/wallboard": {"ping"}, "/ws/supervisor": {"ping"}}
#: frames that would be actions if a socket acted on them
NOT_ACTIONS: list[Any] = [
    {"type": "state", "state": "ready"},
    {"type": "wrap_up", "disposition": "sale"},
    {"type": "hangup", "call_id": "no-such-call"},
    {"type": "supervise", "call_id": "no-such-call", "mode": "barge"},
    {"type": "wallboard"},
    ["ping"],
    "not json at all",
]


@pytest.mark.parametrize("path", sorted(WEBSOCKETS))
def test_every_admitted_role_may_only_ping_on_a_socket(
    app: FastAPI, client: TestClient, path: str
) -> None:
    desk = app.state.web.desk
    assert CLIENT_MESSAGES[path] == {"ping"}
    for role in sorted(WEBSOCKETS[path]):
        before = (list(desk.requests), list(desk.controls), list(desk.supervisions))
        with client.websocket_connect(path, headers=_headers(role)) as socket:
            socket.receive_json()  # the snapshot
            for frame in NOT_ACTIONS:
                if isinstance(frame, str):
                    socket.send_text(frame)
                else:
                    socket.send_json(frame)
            socket.send_json({"type": "ping"})
            # Nothing answered the frames above: the next message is the pong.
            assert socket.receive_json() == {"type": "pong"}, role
        assert (desk.requests, desk.controls, desk.supervisions) == before, role
