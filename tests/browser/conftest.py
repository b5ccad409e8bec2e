"""Real Chromium for the browser tests: Debian's /usr/bin/chromium driven by
Playwright (Playwright cannot download a browser of its own here)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
# Without the networking switches Chromium keeps calling home, which this
# machine's closed network refuses.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail("Chromium is not installed at /usr/bin/chromium (make test installs it)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def web_page(chromium: Browser) -> Iterator[Page]:
    context = chromium.new_context(viewport={"width": 1366, "height": 800})
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def console_errors(web_page: Page) -> list[str]:
    """Errors the page logs (script errors, CSP violations, failed loads)."""
    errors: list[str] = []
    web_page.on(
        "console", lambda message: errors.append(message.text) if message.type == "error" else None
    )
    web_page.on("pageerror", lambda error: errors.append(str(error)))
    return errors
