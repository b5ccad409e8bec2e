"""In real Chromium: the agent pauses the recording while the caller reads out a
card number and resumes it; after the call the supervisor finds it on the
wallboard and its player loads the audio."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import Browser, Page, expect

from routing.rules import Recording
from tests.browser.people import callers_for_people, change_every_queue
from tests.conftest import RunningService, run_service

pytestmark = pytest.mark.browser


@pytest.fixture
def service(seeded_db_url: str) -> Iterator[RunningService]:
    change_every_queue(seeded_db_url, recording=Recording(mode="all"), wrap_up_s=0)
    settings = callers_for_people(seeded_db_url)
    yield from run_service(settings)


def log_in(page: Page, base_url: str, path: str, username: str) -> None:
    page.goto(f"{base_url}{path}")
    page.fill("#login-username", username)
    page.fill("#login-password", "password")
    page.click("#login-submit")


def test_the_agent_pauses_the_recording_and_the_supervisor_plays_it(
    service: RunningService, web_page: Page, chromium: Browser
) -> None:
    page = web_page
    log_in(page, service.base_url, "/agent", "agent01")
    expect(page.locator("#agent-state")).to_have_text("Logged out", timeout=10_000)
    page.click("#btn-ready")
    expect(page.locator("#call-status")).to_have_text("Talking", timeout=30_000)
    status = page.locator("#rec-status")
    expect(status).to_have_text("Recording", timeout=10_000)
    page.click("#btn-rec-pause")
    expect(status).to_have_text("Recording paused", timeout=10_000)
    expect(page.locator("#btn-rec-resume")).to_be_visible()
    page.wait_for_timeout(1_000)
    page.click("#btn-rec-resume")
    expect(status).to_have_text("Recording", timeout=10_000)
    call_id = page.locator("#pop").get_attribute("data-call-id")
    assert call_id
    page.click("#btn-hangup")
    expect(page.locator("#call-controls")).to_be_hidden(timeout=10_000)

    context = chromium.new_context(viewport={"width": 1366, "height": 800})
    try:
        board = context.new_page()
        log_in(board, service.base_url, "/wallboard", "supervisor")
        row = board.locator(f"#recordings tr[data-call-id='{call_id}']")
        for _ in range(30):  # kept a moment after the call ends
            board.click("#recordings-form button[type=submit]")
            if row.count():
                break
            board.wait_for_timeout(500)
        expect(row).to_have_count(1)
        expect(row.locator("td.pauses")).to_contain_text("1 (")
        audio = row.locator("audio")
        loaded = audio.evaluate(
            """async (player) => {
                player.preload = "auto";
                player.load();
                await new Promise((ok, fail) => {
                    player.onloadedmetadata = ok;
                    player.onerror = () => fail(new Error("audio did not load"));
                });
                return player.duration;
            }"""
        )
        assert loaded > 0.5
    finally:
        context.close()
