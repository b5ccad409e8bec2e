"""A person at the agent desktop in real Chromium puts the caller on hold, takes
them back, hangs up, and finishes the wrap-up with a disposition and notes."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TypeVar

import pytest
from playwright.sync_api import Page, expect
from sqlalchemy import select

from callcenter.db.models import Interaction
from callcenter.db.session import make_engine, make_session_factory
from tests.browser.people import callers_for_people, change_every_queue, off_the_loop
from tests.conftest import RunningService, run_service

pytestmark = pytest.mark.browser
T = TypeVar("T")


def dispositions(db_url: str) -> list[tuple[str, str]]:
    async def run() -> list[tuple[str, str]]:
        engine = make_engine(db_url)
        try:
            async with make_session_factory(engine)() as session:
                rows = await session.execute(
                    select(Interaction.disposition, Interaction.notes).where(
                        Interaction.disposition == "follow_up"
                    )
                )
                return [(d, n) for d, n in rows]
        finally:
            await engine.dispose()

    return off_the_loop(run)


@pytest.fixture
def service(seeded_db_url: str) -> Iterator[RunningService]:
    change_every_queue(seeded_db_url, wrap_up_s=120.0)  # whichever call comes first
    settings = callers_for_people(seeded_db_url)
    yield from run_service(settings)


def test_agent_holds_resumes_hangs_up_and_wraps_up(
    service: RunningService, web_page: Page, seeded_db_url: str
) -> None:
    page = web_page
    page.goto(f"{service.base_url}/agent")
    page.fill("#login-username", "agent01")
    page.fill("#login-password", "password")
    page.click("#login-submit")
    expect(page.locator("#agent-state")).to_have_text("Logged out", timeout=10_000)
    page.click("#btn-ready")
    status = page.locator("#call-status")
    expect(status).to_have_text("Talking", timeout=30_000)
    expect(page.locator("#call-controls")).to_be_visible()

    page.click("#btn-hold")
    expect(status).to_have_text("Caller on hold", timeout=10_000)
    expect(page.locator("#btn-resume")).to_be_visible()
    page.click("#btn-resume")
    expect(status).to_have_text("Talking", timeout=10_000)
    expect(page.locator("#btn-hold")).to_be_visible()
    page.screenshot(path="test-results/agent-call-controls.png", full_page=True)

    # A transfer to a queue that does not exist is refused, and says why.
    page.select_option("#transfer-kind", "queue")
    page.fill("#transfer-target", "nowhere")
    page.click("#btn-transfer")
    expect(page.locator("#call-error")).to_contain_text("no queue", timeout=10_000)
    expect(status).to_have_text("Talking")

    page.click("#btn-hangup")
    expect(page.locator("#wrap-up")).to_be_visible(timeout=10_000)
    expect(page.locator("#agent-state")).to_have_text("Wrap-up")
    # The dispositions are the admins' codes; "follow_up" asks for notes.
    call_id = page.locator("#pop").get_attribute("data-call-id")
    page.select_option("#wrap-disposition-code", "follow_up")
    page.click("#btn-wrap-done")
    expect(page.locator("#wrap-error")).to_contain_text("notes")
    expect(page.locator("#wrap-up")).to_be_visible()
    page.fill("#wrap-notes", "Wants the annual plan; call back Friday.")
    page.click("#btn-wrap-done")
    expect(page.locator("#wrap-up")).to_be_hidden(timeout=10_000)
    expect(page.locator("#agent-state")).not_to_have_text("Wrap-up")
    # The call is in the agent's own history with its disposition, known caller
    # or not, and on the customer's history when the caller is a customer.
    row = page.locator(f"#history tr[data-call-id='{call_id}']")
    expect(row.locator("td.disposition")).to_have_text("follow_up", timeout=10_000)
    for _ in range(50):
        saved = dispositions(seeded_db_url)
        if saved:
            assert saved == [("follow_up", "Wants the annual plan; call back Friday.")]
            break
        page.wait_for_timeout(100)
