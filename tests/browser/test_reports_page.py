"""A supervisor in real Chromium reads the reports page and the wallboard's
counted figures over the hand-built hour of tests/integration/test_reports_api.py
(sales: SL 50 %, SL2 33.3 %, AHT 1:45; support: one call within its threshold)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Page, expect

from callcenter.db.migrate import run_migrations
from callcenter.ports import Principal, Role
from callcenter.settings import ReportSettings
from callcenter.web.auth import SESSION_COOKIE
from tests.app_over_db import build_app_over_db, token_for
from tests.browser.people import off_the_loop
from tests.conftest import serve_in_thread
from tests.integration.test_reports_api import board, build_traffic

pytestmark = pytest.mark.browser

SUPERVISOR = Principal(5, "sue", frozenset({Role.SUPERVISOR}))
DAY = "2025-03-03"


@pytest.fixture
def base_url(tmp_path: Path) -> Iterator[str]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'reports.db'}"
    run_migrations(url)
    off_the_loop(lambda: build_traffic(url))
    app = build_app_over_db(url, board(), reports=ReportSettings(timezone="UTC"))
    with serve_in_thread(app) as served:
        yield served


def logged_in(page: Page, base_url: str) -> None:
    page.context.add_cookies(
        [{"name": SESSION_COOKIE, "value": token_for(SUPERVISOR), "url": base_url}]
    )


def test_the_reports_page_shows_the_day_by_queue_with_charts_and_csv(
    web_page: Page, base_url: str, console_errors: list[str]
) -> None:
    logged_in(web_page, base_url)
    web_page.goto(f"{base_url}/reports")
    web_page.fill("#report-since", DAY)
    web_page.fill("#report-until", DAY)
    web_page.select_option("#report-group", "queue")
    web_page.click("#report-form button[type=submit]")

    sales = web_page.locator("#report-rows tr[data-key=sales]")
    expect(sales.locator(".sl")).to_have_text("50.0 %")
    expect(sales.locator(".sl2")).to_have_text("33.3 %")
    expect(sales.locator(".aht")).to_have_text("1:45")
    expect(sales.locator(".csat")).to_have_text("4.00")
    expect(web_page.locator("#report-rows tr[data-key=support] .sl")).to_have_text("100.0 %")
    # the charts are drawn by the page: one answered bar per queue, sales' SL at half
    answered = web_page.locator("#chart-volume rect.bar.answered[data-key=sales]")
    expect(answered).to_have_attribute("data-value", "2")
    expect(web_page.locator("#chart-sl rect[data-key=sales]")).to_have_attribute(
        "data-value", "0.5"
    )

    href = web_page.locator("#report-csv").get_attribute("href")
    assert href is not None and "format=csv" in href and "group_by=queue" in href
    exported = httpx.get(base_url + href, cookies={SESSION_COOKIE: token_for(SUPERVISOR)})
    rows = {row["key"]: row for row in csv.DictReader(io.StringIO(exported.text))}
    assert rows["sales"]["answered"] == "2"

    # agents, first-contact resolution and seats for the same day
    expect(web_page.locator("#agent-rows tr[data-agent-id='1'] .handled")).to_have_text("2")
    expect(web_page.locator("#fcr-rows tr[data-queue=sales] .fcr-rate")).to_have_text("50.0 %")
    expect(web_page.locator(f"#seat-rows tr[data-day='{DAY}'] .peak")).to_have_text("2")
    assert not console_errors


def test_the_dormant_customers_list(
    web_page: Page, base_url: str, console_errors: list[str]
) -> None:
    logged_in(web_page, base_url)
    web_page.goto(f"{base_url}/reports")
    web_page.click("#dormant-form button[type=submit]")
    rows = web_page.locator("#dormant-rows tr")
    expect(rows).to_have_count(2)
    # shown as text, never as markup or a formula
    expect(rows.first.locator("td").first).to_have_text('=HYPERLINK("x")')
    expect(rows.nth(1).locator("td").first).to_have_text("Gus")
    assert not console_errors


def test_the_wallboard_shows_service_level_occupancy_and_staffing(
    web_page: Page, base_url: str, console_errors: list[str]
) -> None:
    logged_in(web_page, base_url)
    web_page.goto(f"{base_url}/wallboard")
    sales = web_page.locator("#figures-queues tr[data-queue=sales]")
    expect(sales.locator(".sl-window")).to_have_text("50%")
    expect(sales.locator(".aht-today")).to_have_text("1:45")
    expect(sales.locator(".logged-in")).to_have_text("2")
    expect(web_page.locator("#chart-queue-sl rect[data-key=sales]")).to_have_attribute(
        "data-value", "0.5"
    )
    expect(web_page.locator("#figures-occupancy")).to_contain_text("Occupancy")
    # calls per hour since local midnight: the three answered calls fell in 09:00
    hours = web_page.locator("#chart-hourly rect.bar.answered")
    expect(hours).to_have_count(10)
    expect(hours.nth(9)).to_have_attribute("data-value", "3")
    assert not console_errors
