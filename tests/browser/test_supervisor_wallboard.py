"""A supervisor in real Chromium watches a queue move on the wallboard and
listens in on an agent's call.

The real service runs with its simulator: customers call in every second and a
half, and the only agent who takes calls is agent01 (a person whose simulated
phone answers after a moment), so callers pile up in the queue until agent01
goes Ready. The demo supervisor is given a phone (agent02's) for the test: a
supervisor listens in on their own phone.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from urllib.parse import urlparse

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.people import callers_for_people
from tests.conftest import RunningService, run_service

pytestmark = pytest.mark.browser


def _give_the_supervisor_a_phone(db_url: str) -> None:
    path = urlparse(db_url.replace("sqlite+aiosqlite", "file")).path
    with sqlite3.connect(path) as db:
        (agent02,) = db.execute("SELECT id FROM agents WHERE login = 'agent02'").fetchone()
        db.execute("UPDATE users SET agent_id = NULL WHERE agent_id = ?", (agent02,))
        db.execute("UPDATE users SET agent_id = ? WHERE username = 'supervisor'", (agent02,))


@pytest.fixture
def service(seeded_db_url: str) -> Iterator[RunningService]:
    _give_the_supervisor_a_phone(seeded_db_url)
    settings = callers_for_people(seeded_db_url, call_interval_s=1.5)
    yield from run_service(settings)


def _token(base_url: str, username: str) -> dict[str, str]:
    answer = httpx.post(
        f"{base_url}/api/token", json={"username": username, "password": "password"}
    )
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def test_the_supervisor_sees_the_queue_move_and_starts_monitoring(
    service: RunningService, web_page: Page, console_errors: list[str]
) -> None:
    page = web_page
    page.goto(f"{service.base_url}/wallboard")
    page.fill("#login-username", "supervisor")
    page.fill("#login-password", "password")
    page.click("#login-submit")
    expect(page.locator("#conn-status")).to_have_text("Live", timeout=10_000)

    # Nobody is Ready: callers wait, and the wallboard counts them.
    expect(page.locator("#wallboard-waiting tr")).not_to_have_count(0, timeout=15_000)
    waiting_rows = page.locator("#wallboard-queues tr td.waiting")
    expect(waiting_rows.filter(has_not_text="0").first).to_be_visible()
    before = int(page.locator("#count-waiting").inner_text())
    assert before >= 1
    waited = page.locator("#wallboard-waiting tr").evaluate_all(
        "rows => rows.map(row => row.dataset.callId)"
    )

    agent = _token(service.base_url, "agent01")
    httpx.post(
        f"{service.base_url}/api/agent/state", json={"state": "ready"}, headers=agent
    ).raise_for_status()

    row = page.locator("#wallboard-agents tr[data-agent-login=agent01]")
    expect(row).to_have_attribute("data-state", "on_call", timeout=15_000)
    # The call agent01 took is one the supervisor saw waiting.
    taken = row.locator("td").nth(3).inner_text().split("\u00b7")[-1].strip()
    assert taken in waited
    # The answered caller left the queue: its figures count one answered call.
    expect(
        page.locator("#wallboard-queues tr td:nth-child(7)").filter(has_text="1")
    ).not_to_have_count(0, timeout=10_000)

    row.locator("button[data-mode=monitor]").click()
    expect(page.locator("#supervise-status")).to_contain_text("Monitor started", timeout=10_000)

    admin = _token(service.base_url, "admin")
    trail = httpx.get(
        f"{service.base_url}/api/audit?action=supervision.started", headers=admin
    ).json()["events"]
    assert trail and trail[0]["username"] == "supervisor"
    assert trail[0]["detail"]["mode"] == "monitor"
    assert console_errors == []
