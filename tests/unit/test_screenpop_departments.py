"""The pop shows what billing, orders, support and sales hold about the caller,
so the first agent can help (SQLite, and PostgreSQL when up)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.db.migrate import run_migrations
from callcenter.db.models import (
    Contact,
    Customer,
    Invoice,
    Opportunity,
    Order,
    Payment,
    PhoneNumber,
    Ticket,
)
from callcenter.db.session import make_engine, make_session_factory
from screenpop import ScreenPop, build_pop
from screenpop.document import MAX_DEPARTMENT_LINES

NOW = datetime.now(UTC).replace(microsecond=0)
TODAY = NOW.date()
Sessions = async_sessionmaker[AsyncSession]


@pytest_asyncio.fixture
async def crm(db_url: str) -> AsyncIterator[Sessions]:
    await asyncio.to_thread(run_migrations, db_url)
    engine = make_engine(db_url)
    sessions = make_session_factory(engine)
    async with sessions.begin() as session:
        acme = Customer(
            name="Acme Logistics", tier="platinum", lifetime_value=Decimal("250000"),
            account_number="50000001", created_at=NOW, status="overdue",
            balance=Decimal("1234.5"), profitability="high",
        )  # fmt: skip
        quiet = Customer(
            name="Quiet Customer", tier="bronze", lifetime_value=Decimal("10"),
            account_number="50000002", created_at=NOW,
        )  # fmt: skip
        session.add_all([acme, quiet])
        await session.flush()
        buyer = Contact(customer_id=acme.id, name="Ines Moreau", role="buyer", created_at=NOW)
        session.add(buyer)
        await session.flush()
        session.add_all(
            [
                PhoneNumber(customer_id=acme.id, e164="+33140000000", label="switchboard"),
                PhoneNumber(
                    customer_id=acme.id, e164="+33611111111", label="mobile", contact_id=buyer.id
                ),
                PhoneNumber(customer_id=quiet.id, e164="+33622222222"),
            ]
        )
        # Invoices: one paid, one overdue, one due later, one void.
        for number, due, status in (
            ("INV-1", TODAY - timedelta(days=60), "paid"),
            ("INV-3", TODAY + timedelta(days=10), "open"),
            ("INV-2", TODAY - timedelta(days=5), "open"),
            ("INV-4", TODAY - timedelta(days=90), "void"),
        ):
            session.add(
                Invoice(customer_id=acme.id, number=number, issued_on=due - timedelta(days=30),
                        due_on=due, amount=Decimal("617.25"), status=status)
            )  # fmt: skip
        session.add_all(
            [
                Payment(customer_id=acme.id, paid_at=NOW - timedelta(days=40),
                        amount=Decimal("617.25"), method="card"),
                Payment(customer_id=acme.id, paid_at=NOW - timedelta(days=70),
                        amount=Decimal("10"), method="transfer"),
            ]
        )  # fmt: skip
        # Seven orders: the pop shows the newest five.
        for n in range(7):
            session.add(
                Order(
                    customer_id=acme.id, number=f"ORD-{n}", placed_at=NOW - timedelta(days=n),
                    status="shipped" if n == 0 else "delivered", total=Decimal("99.9"),
                    carrier="DHL" if n == 0 else "",
                    delivery_on=TODAY + timedelta(days=2) if n == 0 else TODAY - timedelta(days=n),
                )
            )  # fmt: skip
        for subject, status, days in (
            ("Router drops Wi-Fi", "open", 1),
            ("Waiting for logs", "pending", 3),
            ("Old billing question", "closed", 30),
        ):
            session.add(
                Ticket(customer_id=acme.id, subject=subject, status=status, priority="high",
                       opened_at=NOW - timedelta(days=days))
            )  # fmt: skip
        for title, kind, stage, due in (
            ("Fleet renewal", "renewal", "open", TODAY + timedelta(days=20)),
            ("Extra depot", "new", "proposal", TODAY + timedelta(days=5)),
            ("Lost deal", "new", "lost", TODAY + timedelta(days=1)),
        ):
            session.add(
                Opportunity(customer_id=acme.id, title=title, kind=kind, stage=stage,
                            value=Decimal("5000"), due_on=due)
            )  # fmt: skip
    yield sessions
    await engine.dispose()


async def pop_for(sessions: Sessions, number: str, account: str = "") -> ScreenPop:
    return await build_pop(
        sessions, call_id="c1", queue="support", caller_number=number, account=account,
        default_region="FR", routed_because="",
    )  # fmt: skip


async def test_the_card_shows_the_accounts_standing(crm: Sessions) -> None:
    pop = await pop_for(crm, "01 40 00 00 00")
    assert pop.customer is not None
    assert (pop.customer.status, pop.customer.balance, pop.customer.profitability) == (
        "overdue",
        "1234.50",
        "high",
    )
    assert pop.contact is None  # the switchboard is the company's own number
    assert pop.crm_source == "local" and pop.crm_available


async def test_a_contacts_number_names_the_person_calling_for_the_customer(
    crm: Sessions,
) -> None:
    pop = await pop_for(crm, "+33 6 11 11 11 11")
    assert pop.customer is not None and pop.customer.name == "Acme Logistics"
    assert pop.contact is not None and (pop.contact.name, pop.contact.role) == (
        "Ines Moreau",
        "buyer",
    )


async def test_billing_lists_unpaid_invoices_oldest_due_first_and_marks_the_overdue(
    crm: Sessions,
) -> None:
    pop = await pop_for(crm, "+33140000000")
    assert pop.billing is not None and pop.billing.balance == "1234.50"
    assert [(i.number, i.status) for i in pop.billing.open_invoices] == [
        ("INV-2", "overdue"),
        ("INV-3", "open"),
    ]
    assert pop.billing.last_payment is not None
    assert (pop.billing.last_payment.amount, pop.billing.last_payment.method) == ("617.25", "card")


async def test_orders_are_the_newest_with_their_delivery_in_words(crm: Sessions) -> None:
    pop = await pop_for(crm, "+33140000000")
    assert [o.number for o in pop.orders] == [f"ORD-{n}" for n in range(MAX_DEPARTMENT_LINES)]
    expected = (TODAY + timedelta(days=2)).isoformat()
    assert pop.orders[0].delivery == f"in transit with DHL, expected {expected}"
    assert pop.orders[1].delivery == f"delivered {(TODAY - timedelta(days=1)).isoformat()}"


async def test_only_open_and_pending_cases_are_shown_newest_first(crm: Sessions) -> None:
    pop = await pop_for(crm, "+33140000000")
    assert [(c.subject, c.status) for c in pop.open_cases] == [
        ("Router drops Wi-Fi", "open"),
        ("Waiting for logs", "pending"),
    ]
    assert pop.open_cases[0].id.startswith("T-")


async def test_open_deals_and_renewals_soonest_first_and_lost_ones_left_out(
    crm: Sessions,
) -> None:
    pop = await pop_for(crm, "+33140000000")
    assert [(o.title, o.kind) for o in pop.opportunities] == [
        ("Extra depot", "new"),
        ("Fleet renewal", "renewal"),
    ]
    assert date.fromisoformat(pop.opportunities[0].due_on) == TODAY + timedelta(days=5)


async def test_a_customer_with_no_departments_data_gets_empty_sections(crm: Sessions) -> None:
    pop = await pop_for(crm, "+33622222222")
    assert pop.customer is not None and pop.customer.status == "active"
    assert pop.open_cases == [] and pop.orders == [] and pop.opportunities == []
    assert pop.billing is not None and pop.billing.open_invoices == []
    assert pop.billing.last_payment is None


async def test_a_full_pop_stays_small_enough_for_every_offer(crm: Sessions) -> None:
    pop = await pop_for(crm, "+33611111111")
    assert len(pop.model_dump_json()) < 12_000
