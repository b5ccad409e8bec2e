"""An admin in real Chromium edits the routing rules: a mistake is refused with
its field, the fix is saved as a draft, what-if compares it with the live
rules, publishing makes it live, and the router then routes by it.

The real service runs with its simulator: customers call into every queue every
second and nobody is Ready, so callers wait. The draft sends every queue's calls
nowhere except billing, which it opens to agent01's own skill; once published
and agent01 goes Ready, agent01 is rung for a billing caller who was already
waiting, which the live rules would not have done (billing wants its own skill
at 2, and sales callers weigh more).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.browser.people import callers_for_people
from tests.conftest import RunningService, eventually_sync, run_service

pytestmark = pytest.mark.browser

NOBODY = "skill_nobody_has"


@pytest.fixture
def service(seeded_db_url: str) -> Iterator[RunningService]:
    settings = callers_for_people(seeded_db_url)
    yield from run_service(settings)


def _token(base_url: str, username: str) -> dict[str, str]:
    answer = httpx.post(
        f"{base_url}/api/token", json={"username": username, "password": "password"}
    )
    answer.raise_for_status()
    return {"Authorization": f"Bearer {answer.json()['access_token']}"}


def _set_editor(page: Page, document: dict[str, Any]) -> None:
    page.fill("#rules-editor", json.dumps(document, indent=2))


def test_admin_fixes_a_mistake_runs_what_if_publishes_and_routing_follows(
    service: RunningService, web_page: Page, console_errors: list[str]
) -> None:
    base = service.base_url
    admin = _token(base, "admin")
    agents = httpx.get(f"{base}/api/agents", headers=admin).json()["agents"]
    agent01 = next(a for a in agents if a["login"] == "agent01")
    skill = sorted(agent01["skills"])[0]

    page = web_page
    page.goto(f"{base}/admin")
    page.fill("#login-username", "admin")
    page.fill("#login-password", "password")
    page.click("#login-submit")
    expect(page.locator("#rules-source")).to_contain_text("live", timeout=10_000)
    live = json.loads(page.locator("#rules-editor").input_value())
    draft = json.loads(json.dumps(live))
    names = [queue["name"] for queue in live["queues"]]
    billing = names.index("billing")

    # The mistake is made in the queue settings form, which writes the document.
    ring = page.locator(f"[data-path='queues.{billing}.ring_timeout_s']")
    ring.fill("-1")
    assert (
        json.loads(page.locator("#rules-editor").input_value())["queues"][billing]["ring_timeout_s"]
        == -1
    )
    page.click("#btn-validate")
    errors = page.locator("#rules-errors")
    expect(errors).to_contain_text(f"queues.{billing}.ring_timeout_s")
    expect(errors).to_contain_text("greater than 0")
    expect(ring).to_have_class("invalid")
    expect(ring).to_have_attribute("title", "Input should be greater than 0")
    expect(page.locator("#rules-form .invalid")).to_have_count(1)

    # The survey is a box to tick, written into the document as a boolean.
    survey = page.locator(f"[data-path='queues.{billing}.survey']")
    expect(survey).not_to_be_checked()
    survey.check()
    edited = json.loads(page.locator("#rules-editor").input_value())
    assert edited["queues"][billing]["survey"] is True

    # The fix, and the change that matters: only billing can be served, by
    # agent01's own skill; every other queue wants a skill nobody has.
    for index, queue in enumerate(draft["queues"]):
        queue["skills"] = {skill: 1} if index == billing else {NOBODY: 1}
        queue["steps"] = []
        queue.pop("partner", None)
        queue["known_agent"] = None
    draft["queues"][billing]["ring_timeout_s"] = 20
    _set_editor(page, draft)
    # The document, edited by hand, redraws the form.
    expect(ring).to_have_value("20")
    expect(survey).not_to_be_checked()
    expect(page.locator(f"[data-path='queues.{billing}.skills']")).to_have_value(f"{skill}:1")
    page.click("#btn-validate")
    expect(page.locator("#rules-message")).to_have_text("Valid.")
    expect(errors.locator("li")).to_have_count(0)
    expect(page.locator("#rules-form .invalid")).to_have_count(0)

    page.fill("#rules-note", "billing by agent01's skill")
    page.click("#btn-save-draft")
    expect(page.locator("#rules-message")).to_contain_text("Saved as draft version")
    expect(page.locator("#diff-result")).to_contain_text(f"queues.billing.skills.{skill}")

    page.fill("#whatif-hours", "1")
    page.click("#btn-whatif")
    expect(page.locator("#rules-message")).to_contain_text("What-if done", timeout=20_000)
    calls = int(page.locator("#whatif-calls").inner_text())
    assert calls >= 1
    expect(page.locator("td[data-metric=calls][data-side=live]")).to_have_text(str(calls))
    expect(page.locator("td[data-metric=calls][data-side=draft]")).to_have_text(str(calls))

    page.click("#btn-publish")
    expect(page.locator("#rules-message")).to_contain_text("is live")
    rules = httpx.get(f"{base}/api/rules", headers=admin).json()
    assert rules["document"]["queues"][billing]["skills"] == {skill: 1}
    expect(page.locator("#versions tr .live-badge")).to_have_count(1)

    agent = _token(base, "agent01")
    httpx.post(f"{base}/api/agent/state", json={"state": "ready"}, headers=agent).raise_for_status()

    def agent01_call_queue() -> str | None:
        live_calls = httpx.get(f"{base}/api/calls/live", headers=admin).json()
        for call in live_calls["with_agent"]:
            if call["agent_id"] == agent01["id"]:
                return str(call["queue"])
        return None

    assert eventually_sync(agent01_call_queue, timeout_s=20.0) == "billing"
    # Chromium logs the refused validation (422) itself; nothing else may fail.
    assert [e for e in console_errors if "status of 422" not in e] == []
