"""The admin and history API over a real (seeded SQLite) database: routing rule
drafts, validation, diff, publish and rollback; directory edits reaching the
live desk; roles changes ending sessions; reason codes enforced; the audit trail.
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from starlette.exceptions import StarletteDeprecationWarning

with warnings.catch_warnings():
    warnings.simplefilter("ignore", StarletteDeprecationWarning)
    from starlette.testclient import TestClient

from agents import AgentState
from callcenter.ports import AgentView, Principal, Role, WaitingCallView
from tests.app_over_db import NOW, build_app_over_db, token_for
from tests.conftest import seed_database
from tests.web_fakes import FakeDesk

ADMIN = Principal(301, "root", frozenset({Role.ADMIN}))
AGENT = Principal(302, "agent1", frozenset({Role.AGENT}), agent_id=1)


def _bearer(principal: Principal) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_for(principal)}"}


@pytest.fixture
def desk() -> FakeDesk:
    return FakeDesk(
        [AgentView(1, "agent1", "Agent One", AgentState.READY, since=NOW)],
        [WaitingCallView("call-1", "support", "+15550100", enqueued_at=NOW - 10)],
        now=NOW,
    )


@pytest.fixture
def client(tmp_path: Path, desk: FakeDesk) -> Iterator[TestClient]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'callcenter.db'}"
    seed_database(url, customers=5)
    with TestClient(build_app_over_db(url, desk)) as client:
        yield client


def _live_document(client: TestClient) -> dict[str, Any]:
    versions = client.get("/api/rules/versions", headers=_bearer(ADMIN)).json()
    live = versions["live_version"]
    document: dict[str, Any] = client.get(
        f"/api/rules/versions/{live}", headers=_bearer(ADMIN)
    ).json()["document"]
    return document


def test_a_draft_with_a_mistake_is_refused_with_the_field_and_stored_once_fixed(
    client: TestClient, desk: FakeDesk
) -> None:
    document = _live_document(client)
    broken = copy.deepcopy(document)
    broken["queues"][0]["ring_timeout_s"] = -5
    refused = client.post(
        "/api/rules/drafts", json={"document": broken, "note": "oops"}, headers=_bearer(ADMIN)
    )
    assert refused.status_code == 422
    assert {"field": "queues.0.ring_timeout_s", "reason": "Input should be greater than 0"} in (
        refused.json()["detail"]
    )

    fixed = copy.deepcopy(document)
    fixed["queues"][0]["ring_timeout_s"] = 25.0
    created = client.post(
        "/api/rules/drafts", json={"document": fixed, "note": "longer ring"}, headers=_bearer(ADMIN)
    )
    assert created.status_code == 201
    draft = created.json()["version"]
    listed = client.get("/api/rules/versions", headers=_bearer(ADMIN)).json()
    row = next(v for v in listed["versions"] if v["version"] == draft)
    assert row["published_at"] is None and not row["live"] and row["created_by"] == "root"

    live = listed["live_version"]
    changes = client.get(f"/api/rules/diff?from={live}&to={draft}", headers=_bearer(ADMIN)).json()[
        "changes"
    ]
    name = document["queues"][0]["name"]
    assert changes == [
        {
            "path": f"queues.{name}.ring_timeout_s",
            "kind": "changed",
            "before": document["queues"][0]["ring_timeout_s"],
            "after": 25.0,
        }
    ]

    published = client.post(f"/api/rules/versions/{draft}/publish", headers=_bearer(ADMIN))
    assert published.status_code == 200, published.text
    assert desk.rules_version == draft
    assert desk.rules.queues[0].ring_timeout_s == 25.0
    again = client.post(f"/api/rules/versions/{draft}/publish", headers=_bearer(ADMIN))
    assert again.status_code == 409

    back = client.post(f"/api/rules/versions/{live}/rollback", headers=_bearer(ADMIN))
    assert back.status_code == 200
    assert back.json()["copy_of"] == live
    assert desk.rules_version == back.json()["version"] > draft
    assert desk.rules.queues[0].ring_timeout_s == document["queues"][0]["ring_timeout_s"]

    trail = client.get("/api/audit?limit=20", headers=_bearer(ADMIN)).json()["events"]
    actions = [event["action"] for event in trail]
    assert actions[:3] == ["rules.rolled_back", "rules.published", "rules.draft_saved"]


def test_publishing_rules_that_would_strand_waiting_callers_is_refused(
    client: TestClient, desk: FakeDesk
) -> None:
    document = _live_document(client)
    assert any(q["name"] == "support" for q in document["queues"])
    without_support = copy.deepcopy(document)
    without_support["queues"] = [q for q in document["queues"] if q["name"] != "support"]
    for queue in without_support["queues"]:
        for field in ("overflow", "closed_action"):
            if str(queue.get(field) or "").endswith("support") or (
                isinstance(queue.get(field), dict) and queue[field].get("queue") == "support"
            ):
                queue.pop(field)
                queue.pop("max_wait_s", None)
    draft = client.post(
        "/api/rules/drafts", json={"document": without_support}, headers=_bearer(ADMIN)
    )
    assert draft.status_code == 201, draft.text
    before = desk.rules_version
    refused = client.post(
        f"/api/rules/versions/{draft.json()['version']}/publish", headers=_bearer(ADMIN)
    )
    assert refused.status_code == 409
    assert "support" in refused.json()["detail"]
    assert desk.rules_version == before
    versions = client.get("/api/rules/versions", headers=_bearer(ADMIN)).json()
    assert versions["live_version"] != draft.json()["version"]


def test_what_if_compares_a_draft_with_the_live_rules(client: TestClient) -> None:
    document = _live_document(client)
    answer = client.post(
        "/api/rules/what-if", json={"document": document, "hours": 2}, headers=_bearer(ADMIN)
    )
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) >= {"live", "draft", "calls", "since", "until"}
    assert body["live"]["overall"]["calls"] == body["draft"]["overall"]["calls"] == body["calls"]
    neither = client.post("/api/rules/what-if", json={"hours": 2}, headers=_bearer(ADMIN))
    assert neither.status_code == 422


def test_an_agent_added_and_edited_by_an_admin_reaches_the_live_desk(
    client: TestClient, desk: FakeDesk
) -> None:
    skills = {s["name"] for s in client.get("/api/skills", headers=_bearer(ADMIN)).json()["skills"]}
    skill = sorted(skills)[0]
    created = client.post(
        "/api/agents",
        json={
            "login": "newbie",
            "name": "New Bie",
            "dial_string": "PJSIP/newbie",
            "skills": {skill: 2},
        },
        headers=_bearer(ADMIN),
    )
    assert created.status_code == 201, created.text
    agent_id = created.json()["id"]
    assert desk.profiles[agent_id].skills == {skill: 2}
    assert desk.agents[agent_id].state is AgentState.LOGGED_OUT

    taken = client.post(
        "/api/agents",
        json={"login": "newbie", "name": "Again", "dial_string": "PJSIP/x"},
        headers=_bearer(ADMIN),
    )
    assert taken.status_code == 409
    assert taken.json()["detail"] == [{"field": "login", "reason": "already taken"}]

    bad_phone = client.patch(
        f"/api/agents/{agent_id}", json={"dial_string": "0612345678"}, headers=_bearer(ADMIN)
    )
    assert bad_phone.status_code == 422
    assert bad_phone.json()["detail"][0]["field"] == "dial_string"

    edited = client.patch(
        f"/api/agents/{agent_id}", json={"skills": {skill: 5}}, headers=_bearer(ADMIN)
    )
    assert edited.status_code == 200
    assert desk.profiles[agent_id].skills == {skill: 5}

    assert client.delete(f"/api/agents/{agent_id}", headers=_bearer(ADMIN)).status_code == 200
    assert agent_id not in desk.agents


def test_a_role_change_ends_the_users_sessions(client: TestClient) -> None:
    created = client.post(
        "/api/users",
        json={"username": "temp-sup", "password": "long-enough-pw", "roles": ["supervisor"]},
        headers=_bearer(ADMIN),
    )
    assert created.status_code == 201, created.text
    user_id = created.json()["id"]
    login = client.post("/api/token", json={"username": "temp-sup", "password": "long-enough-pw"})
    assert login.status_code == 200
    token = {"Authorization": f"Bearer {login.json()['access_token']}"}
    assert client.get("/api/wallboard", headers=token).status_code == 200

    demoted = client.patch(
        f"/api/users/{user_id}", json={"roles": ["agent"]}, headers=_bearer(ADMIN)
    )
    assert demoted.status_code == 200
    assert client.get("/api/wallboard", headers=token).status_code == 401

    trail = client.get("/api/audit?action=user.roles_changed", headers=_bearer(ADMIN)).json()
    assert trail["events"][0]["detail"] == {"before": ["supervisor"], "after": ["agent"]}
    assert "long-enough-pw" not in str(
        client.get("/api/audit?limit=50", headers=_bearer(ADMIN)).json()
    )


def test_a_pause_needs_a_known_reason_code_and_is_audited(client: TestClient) -> None:
    codes = client.get("/api/reason-codes", headers=_bearer(AGENT)).json()["reason_codes"]
    assert codes, "the demo seed defines reason codes"
    refused = client.post(
        "/api/agent/state",
        json={"state": "not_ready", "reason": "made-up"},
        headers=_bearer(AGENT),
    )
    assert refused.status_code == 422
    assert refused.json()["detail"][0]["field"] == "reason"

    paused = client.post(
        "/api/agent/state",
        json={"state": "not_ready", "reason": codes[0]["code"]},
        headers=_bearer(AGENT),
    )
    assert paused.status_code == 200
    assert paused.json()["state"] == "not_ready"
    trail = client.get("/api/audit?action=agent.paused", headers=_bearer(ADMIN)).json()["events"]
    assert trail[0]["username"] == "agent1"
    assert trail[0]["detail"] == {"reason": codes[0]["code"]}


def test_logins_are_audited_failures_included(client: TestClient) -> None:
    assert (
        client.post("/api/token", json={"username": "admin", "password": "nope"}).status_code == 401
    )
    trail = client.get("/api/audit?action=login.failed", headers=_bearer(ADMIN)).json()["events"]
    assert trail[0]["username"] == "admin"
    assert trail[0]["user_id"] is None
    assert "nope" not in str(trail)


def test_holidays_for_the_hours_editor(client: TestClient) -> None:
    answer = client.get("/api/holidays?country=FR&year=2026", headers=_bearer(ADMIN))
    assert answer.status_code == 200
    dates = {h["date"] for h in answer.json()["holidays"]}
    assert "2026-07-14" in dates and "2026-12-25" in dates
    unknown = client.get("/api/holidays?country=ZZ&year=2026", headers=_bearer(ADMIN))
    assert unknown.status_code == 422
