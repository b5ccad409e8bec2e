"""The pop in real Chromium over a real SQLite CRM: the agent sees billing,
orders, cases and deals, picks the caller off a pick list, and creates an
unknown caller as a new contact."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Page, expect

from agents import AgentState
from callcenter.db.models import Customer, Order, PhoneNumber, Ticket
from callcenter.db.session import make_engine, make_session_factory
from callcenter.ports import AgentView
from callcenter.web import Hub
from tests.app_over_db import build_app_over_db
from tests.conftest import seed_database, serve_in_thread
from tests.web_fakes import FakeDesk

pytestmark = pytest.mark.browser

SHARED_LINE = "+12025550147"


@dataclass
class Served:
    desk: FakeDesk
    hub: Hub
    base_url: str
    ids: dict[str, int]


async def _customers(url: str) -> dict[str, int]:
    engine = make_engine(url)
    at = datetime.now(UTC)
    try:
        async with make_session_factory(engine).begin() as session:
            sam = Customer(
                name="Sam Lee",
                tier="silver",
                lifetime_value=Decimal(800),
                account_number="71000001",
                created_at=at,
            )
            leigh = Customer(name="Sam Leigh", tier="gold", lifetime_value=Decimal(9000),
                             account_number="71000002", created_at=at, status="overdue",
                             balance=Decimal("120.00"))  # fmt: skip
            session.add_all([sam, leigh])
            await session.flush()
            session.add_all(
                [
                    PhoneNumber(customer_id=sam.id, e164=SHARED_LINE),
                    PhoneNumber(customer_id=leigh.id, e164=SHARED_LINE),
                    Ticket(customer_id=leigh.id, subject="Router keeps rebooting",
                           status="open", priority="high", opened_at=at - timedelta(days=1)),
                    Order(customer_id=leigh.id, number="ORD-77", placed_at=at,
                          status="shipped", total=Decimal("59.90"), carrier="UPS",
                          delivery_on=at.date() + timedelta(days=2)),
                ]
            )  # fmt: skip
            return {"sam": sam.id, "leigh": leigh.id}
    finally:
        await engine.dispose()


@pytest.fixture
def served(tmp_path: Path) -> Iterator[Served]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'crm.db'}"
    seed_database(url, customers=0)  # users agent01 / password, linked to agent 1
    ids: dict[str, int] = {}
    # Its own thread: Playwright's sync API runs an event loop in this one.
    worker = threading.Thread(target=lambda: ids.update(asyncio.run(_customers(url))))
    worker.start()
    worker.join()
    desk = FakeDesk(
        [AgentView(1, "agent01", "Agent One", AgentState.ON_CALL, since=time.time(),
                   call_id="call-7")]
    )  # fmt: skip
    app = build_app_over_db(url, desk)
    with serve_in_thread(app) as base_url:
        yield Served(desk, app.state.web.hub, base_url, ids)


def log_in(page: Page, served: Served) -> None:
    page.goto(served.base_url + "/agent")
    page.fill("#login-username", "agent01")
    page.fill("#login-password", "password")
    page.click("#login-submit")
    expect(page).to_have_url(served.base_url + "/agent")
    expect(page.locator("#conn-status")).to_have_text("Live")


def offer(served: Served, pop: dict[str, Any]) -> None:
    served.desk.pops[1] = pop
    served.hub.to_agent(1, {"type": "pop", "call_id": pop["call_id"], "pop": pop})


def test_the_agent_picks_the_caller_and_sees_their_cases_orders_and_balance(
    web_page: Page, served: Served, console_errors: list[str]
) -> None:
    log_in(web_page, served)
    offer(served, {
        "call_id": "call-7", "queue": "support", "caller_number": SHARED_LINE,
        "matches": [{"id": served.ids["sam"], "name": "Sam Lee", "tier": "silver",
                     "lifetime_value": "800.00", "account_number": "71000001"},
                    {"id": served.ids["leigh"], "name": "Sam Leigh", "tier": "gold",
                     "lifetime_value": "9000.00", "account_number": "71000002"}],
        "routed_because": "skill support",
    })  # fmt: skip
    expect(web_page.locator("#pop-matches button")).to_have_count(2)
    expect(web_page.locator("#pop-departments")).to_be_hidden()

    web_page.click("[data-testid=pop-match-1]")

    expect(web_page.locator("#pop-customer-name")).to_have_text("Sam Leigh")
    expect(web_page.locator("#pop-standing")).to_contain_text("overdue")
    expect(web_page.locator("#pop-standing")).to_contain_text("120.00")
    expect(web_page.locator("#pop-cases")).to_contain_text("Router keeps rebooting")
    expect(web_page.locator("#pop-orders")).to_contain_text("in transit with UPS")
    expect(web_page.locator("#pop-deals")).to_contain_text("Nothing open")
    expect(web_page.locator("#pop-matches-box")).to_be_hidden()
    assert served.desk.identified[0][:2] == (1, "call-7")
    assert [e for e in console_errors if "status of 503" not in e] == []


def test_an_unknown_caller_is_created_from_the_pop(web_page: Page, served: Served) -> None:
    log_in(web_page, served)
    offer(served, {"call_id": "call-7", "queue": "sales", "caller_number": "(202) 555-0188",
                   "new_contact": True})  # fmt: skip
    expect(web_page.locator("#pop-new-contact")).to_be_visible()

    web_page.fill("#new-contact-name", "Grace Hopper")
    web_page.click("#btn-new-contact")

    expect(web_page.locator("#pop-customer-name")).to_have_text("Grace Hopper")
    expect(web_page.locator("#pop-new-contact")).to_be_hidden()
    expect(web_page.locator("#pop-cases")).to_contain_text("No open cases")
    # Asked again for a contact, the server says the caller is known now.
    created = served.desk.identified[0][2]
    assert created["customer"]["name"] == "Grace Hopper" and created["new_contact"] is False
