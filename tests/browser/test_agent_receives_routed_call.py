"""A person logs in as an agent in real Chromium, presses Ready, and sees the
screen-pop of the call the router sends them, while their phone rings."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.browser.people import callers_for_people
from tests.conftest import RunningService, run_service

pytestmark = pytest.mark.browser


@pytest.fixture
def service(seeded_db_url: str) -> Iterator[RunningService]:
    # Simulated customers call in, but no simulated agent takes calls: the only
    # agent who can receive one is the person in the browser.
    settings = callers_for_people(seeded_db_url, person_answer_delay_s=3.0)
    yield from run_service(settings)


def test_agent_goes_ready_and_sees_the_pop_of_the_routed_call(
    service: RunningService, web_page: Page
) -> None:
    page = web_page
    page.goto(f"{service.base_url}/agent")
    expect(page.locator("#login-username")).to_be_visible()
    page.fill("#login-username", "agent01")
    page.fill("#login-password", "password")
    page.click("#login-submit")
    expect(page.locator("#agent-state")).to_have_text("Logged out", timeout=10_000)
    page.click("#btn-ready")

    pop = page.locator("#pop")
    expect(page.locator("#pop-caller")).not_to_be_empty(timeout=20_000)
    expect(page.locator("#call-status")).to_contain_text("ring", ignore_case=True, timeout=10_000)
    name = page.locator("#pop-customer-name").inner_text()
    caller = page.locator("#pop-caller").inner_text()
    assert caller.startswith("+")
    if name:  # a known customer (most demo callers): tier and history are shown
        expect(page.locator("#pop-tier")).not_to_be_empty()
        expect(page.locator("#pop-interactions tr")).not_to_have_count(0)
    else:
        expect(pop).to_contain_text("New contact", ignore_case=True)
    expect(page.locator("#call-status")).to_contain_text("talk", ignore_case=True, timeout=15_000)
    page.screenshot(path="test-results/agent-with-pop.png", full_page=True)
