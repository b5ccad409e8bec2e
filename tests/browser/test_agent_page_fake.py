"""The agent desktop and the wallboard in real Chromium, served by uvicorn over
loopback TCP in front of a fake desk."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from agents import AgentState
from callcenter.ports import AgentView, Principal, Role, WaitingCallView
from callcenter.web import Hub, create_web_app
from tests.conftest import serve_in_thread
from tests.web_fakes import FakeDesk, FakeDirectory

pytestmark = pytest.mark.browser

USERS = [
    (Principal(1, "alice", frozenset({Role.AGENT}), agent_id=7), "alice-pw"),
    (Principal(3, "sue", frozenset({Role.SUPERVISOR})), "sue-pw"),
]
PASSWORDS = {principal.username: password for principal, password in USERS}

POP = {
    "call_id": "call-42",
    "queue": "sales",
    "caller_number": "+15550142",
    "customer": {
        "id": 501,
        "name": "Dana Diaz",
        "tier": "gold",
        "lifetime_value": "18250.00",
        "account_number": "100234",
        "notes": "Prefers email follow-ups.",
    },
    "matches": [],
    "new_contact": False,
    "last_interactions": [
        {
            "channel": "voice",
            "occurred_at": "2025-03-01T10:15:00+00:00",
            "disposition": "resolved",
            "notes": "Upgraded plan",
        },
        {
            "channel": "email",
            "occurred_at": "2025-02-11T08:00:00+00:00",
            "disposition": "follow_up",
            "notes": "<b>not bold</b>",
        },
    ],
    "routed_because": "Longest-idle agent with skill sales (proficiency 4) for queue sales",
    "crm_available": True,
}


@dataclass
class Served:
    desk: FakeDesk
    hub: Hub
    base_url: str


@pytest.fixture
def served() -> Iterator[Served]:
    now = time.time()
    desk = FakeDesk(
        [
            AgentView(7, "alice", "Alice Archer", AgentState.LOGGED_OUT, since=now - 30),
            AgentView(8, "bob", "Bob Baker", AgentState.READY, since=now - 95),
        ],
        [WaitingCallView("call-1", "sales", "+15550100", enqueued_at=now - 42)],
        now=now,
    )
    hub = Hub()
    app = create_web_app(
        desk=desk,
        hub=hub,
        authenticate=FakeDirectory(USERS),
        session_secret="browser-test-session-secret",
        wallboard_interval_s=0.2,
    )
    with serve_in_thread(app) as base_url:
        yield Served(desk, hub, base_url)


def script_errors(console_errors: list[str]) -> list[str]:
    """What the page logged besides the fake app's 503s: it has no database, so
    the reason codes and the call history answer "not available" and the page
    falls back to its built-in reasons and free-text disposition."""
    return [e for e in console_errors if "status of 503" not in e]


def log_in_through_the_form(web_page: Page, served: Served, path: str, username: str) -> None:
    web_page.goto(served.base_url + path)
    expect(web_page).to_have_url(f"{served.base_url}/login?next={path}")
    web_page.fill("#login-username", username)
    web_page.fill("#login-password", PASSWORDS[username])
    web_page.click("#login-submit")
    expect(web_page).to_have_url(served.base_url + path)


def push(served: Served, agent_id: int, message: dict[str, Any]) -> None:
    served.hub.to_agent(agent_id, message)


def test_agent_goes_ready_then_sees_and_loses_a_screen_pop(
    web_page: Page, served: Served, console_errors: list[str]
) -> None:
    log_in_through_the_form(web_page, served, "/agent", "alice")
    expect(web_page.locator("#agent-state")).to_have_text("Logged out")
    expect(web_page.locator("#conn-status")).to_have_text("Live")

    web_page.click("#btn-ready")

    expect(web_page.locator("#agent-state")).to_have_text("Ready")
    assert served.desk.requests == [(7, AgentState.READY, None)]
    expect(web_page.locator("#btn-ready")).to_be_disabled()

    push(served, 7, {"type": "pop", "call_id": "call-42", "pop": POP})
    push(served, 7, {"type": "call", "call_id": "call-42", "status": "ringing"})

    expect(web_page.locator("#pop")).to_be_visible()
    expect(web_page.locator("#pop-customer-name")).to_have_text("Dana Diaz")
    expect(web_page.locator("#pop-tier")).to_have_text("gold")
    expect(web_page.locator("#pop-caller")).to_have_text("+15550142")
    expect(web_page.locator("#pop-why")).to_contain_text("proficiency 4")
    rows = web_page.locator("#pop-interactions tr")
    expect(rows).to_have_count(2)
    expect(rows.nth(0)).to_contain_text("Upgraded plan")
    # A note is shown as text, never interpreted as markup.
    expect(rows.nth(1)).to_contain_text("<b>not bold</b>")
    expect(web_page.locator("#pop-crm-unavailable")).to_be_hidden()
    expect(web_page.locator("#call-status")).to_have_text("Ringing\u2026")
    web_page.screenshot(path="/tmp/agent.png", full_page=True)

    push(served, 7, {"type": "pop_withdrawn", "call_id": "call-42"})

    expect(web_page.locator("#pop")).to_be_hidden()
    expect(web_page.locator("#pop-customer-name")).to_have_text("")
    expect(web_page.locator("#pop-empty")).to_be_visible()
    assert script_errors(console_errors) == []


def test_agent_sees_crm_outage_and_several_matches(web_page: Page, served: Served) -> None:
    log_in_through_the_form(web_page, served, "/agent", "alice")
    expect(web_page.locator("#conn-status")).to_have_text("Live")
    matches = [
        {"id": 1, "name": "Sam Lee", "tier": "silver", "account_number": "111"},
        {"id": 2, "name": "Sam Leigh", "tier": "bronze", "account_number": "222"},
    ]

    push(served, 7, {"type": "pop", "call_id": "c1", "pop": {**POP, "crm_available": False}})
    expect(web_page.locator("#pop-crm-unavailable")).to_be_visible()

    pop = {**POP, "call_id": "c2", "customer": None, "matches": matches, "crm_available": True}
    push(served, 7, {"type": "pop", "call_id": "c2", "pop": pop})
    expect(web_page.locator("#pop-crm-unavailable")).to_be_hidden()
    expect(web_page.locator("#pop-matches button")).to_have_count(2)
    expect(web_page.locator("#pop-no-customer")).to_be_visible()
    # Picking one asks the server (tests/browser/test_agent_pop_crm.py, over a CRM).
    expect(web_page.get_by_test_id("pop-match-0")).to_be_enabled()

    # Customers only the external CRM holds are shown but cannot be attached here.
    external = [
        {"id": None, "external_id": "CRM-77", "name": "Sam Lee", "tier": "gold"},
        {"id": None, "external_id": "CRM-78", "name": "Sam Leigh", "tier": "bronze"},
    ]
    pop = {**pop, "call_id": "c3", "matches": external, "crm_source": "external"}
    push(served, 7, {"type": "pop", "call_id": "c3", "pop": pop})
    expect(web_page.get_by_test_id("pop-match-1")).to_have_text("Sam Leigh \u00b7 bronze")
    expect(web_page.get_by_test_id("pop-match-0")).to_be_disabled()
    expect(web_page.get_by_test_id("pop-match-0")).to_have_attribute("title", re.compile("CRM-77"))


def test_an_unknown_caller_is_offered_as_a_new_contact(web_page: Page, served: Served) -> None:
    log_in_through_the_form(web_page, served, "/agent", "alice")
    expect(web_page.locator("#conn-status")).to_have_text("Live")
    pop = {**POP, "customer": None, "new_contact": True, "last_interactions": []}

    push(served, 7, {"type": "pop", "call_id": "c3", "pop": pop})

    expect(web_page.locator("#pop-new-contact")).to_be_visible()
    expect(web_page.locator("#pop-no-customer")).to_have_text("Unknown caller")
    expect(web_page.locator("#pop-customer-name")).to_have_text("")
    expect(web_page.locator("#pop-interactions tr")).to_have_count(0)


def test_supervisor_wallboard_shows_waiting_calls_agents_and_live_changes(
    web_page: Page, served: Served, console_errors: list[str]
) -> None:
    log_in_through_the_form(web_page, served, "/wallboard", "sue")

    waiting = web_page.locator("#wallboard-waiting tr")
    expect(waiting).to_have_count(1)
    expect(waiting.first).to_contain_text("+15550100")
    expect(waiting.first).to_contain_text("sales")
    expect(web_page.locator("#wallboard-agents tr[data-agent-login=alice]")).to_contain_text(
        "Logged out"
    )
    expect(web_page.locator("#wallboard-agents tr[data-agent-login=bob]")).to_contain_text("Ready")
    expect(web_page.locator("#count-ready")).to_have_text("1")
    expect(web_page.locator("#count-logged-out")).to_have_text("1")

    served.desk.waiting.append(
        WaitingCallView("call-2", "support", "+15550177", enqueued_at=served.desk.now - 100)
    )

    expect(waiting).to_have_count(2)
    expect(web_page.locator("#count-waiting")).to_have_text("2")
    web_page.screenshot(path="/tmp/wallboard.png", full_page=True)
    assert script_errors(console_errors) == []


def test_the_agent_page_is_not_shown_to_a_supervisor(web_page: Page, served: Served) -> None:
    web_page.goto(served.base_url + "/login")
    web_page.fill("#login-username", "sue")
    web_page.fill("#login-password", PASSWORDS["sue"])
    web_page.click("#login-submit")
    expect(web_page).to_have_url(served.base_url + "/wallboard")

    response = web_page.goto(served.base_url + "/agent")

    assert response is not None and response.status == 403


def test_the_api_reference_renders_every_operation_from_local_files(
    web_page: Page, served: Served, console_errors: list[str]
) -> None:
    """``/docs`` draws the app's own OpenAPI 3.1 schema with no CDN: an older
    Swagger UI refuses 3.1 outright ("does not specify a valid version field")."""
    web_page.goto(served.base_url + "/docs")
    operations = web_page.locator(".opblock")
    expect(operations.first).to_be_visible(timeout=15_000)
    expect(web_page.locator(".opblock-summary-path[data-path='/api/agent/state']")).to_have_count(1)
    expect(web_page.get_by_text("Unable to render this definition")).to_have_count(0)
    assert operations.count() >= 20
    assert console_errors == []
