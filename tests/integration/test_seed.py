"""The demo seed on SQLite and PostgreSQL: counts, idempotence, determinism, realism."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import phonenumbers
import pytest_asyncio
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from callcenter.db.migrate import run_migrations
from callcenter.db.models import (
    Agent,
    Customer,
    Interaction,
    Invoice,
    Opportunity,
    Order,
    Payment,
    PhoneNumber,
    Ticket,
    User,
)
from callcenter.db.seed import SeedSummary, demo_caller_numbers, seed_demo
from callcenter.db.session import make_engine, make_session_factory
from screenpop import build_pop

NOW = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)


@pytest_asyncio.fixture
async def sessions(db_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    await asyncio.to_thread(run_migrations, db_url)
    engine = make_engine(db_url)
    try:
        yield make_session_factory(engine)
    finally:
        await engine.dispose()


async def _fresh_sessions(path: Path) -> tuple[async_sessionmaker[AsyncSession], AsyncEngine]:
    url = f"sqlite+aiosqlite:///{path}"
    await asyncio.to_thread(run_migrations, url)
    engine = make_engine(url)
    return make_session_factory(engine), engine


async def _customers(sessions: async_sessionmaker[AsyncSession]) -> list[tuple[object, ...]]:
    async with sessions() as session:
        rows = await session.execute(
            select(Customer.account_number, Customer.name, Customer.tier, Customer.lifetime_value,
                   Customer.created_at, PhoneNumber.e164)
            .join(PhoneNumber, PhoneNumber.customer_id == Customer.id)
            .order_by(Customer.account_number, PhoneNumber.e164)
        )  # fmt: skip
        return [tuple(r) for r in rows]


async def test_the_full_demo_seeds_once_and_a_second_run_adds_nothing(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    first = await seed_demo(sessions, now=NOW)
    second = await seed_demo(sessions, now=NOW)
    assert first == second
    assert (first.queues, first.agents, first.users, first.customers) == (3, 20, 22, 3000)
    assert 3000 < first.phone_numbers <= 6000
    assert 3000 < first.interactions <= 5 * 3000


async def test_seed_tops_up_what_is_missing_without_touching_the_rest(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    small = await seed_demo(sessions, customers=50, agents=5, now=NOW)
    assert (small.agents, small.users, small.customers) == (5, 7, 50)
    grown = await seed_demo(sessions, customers=80, agents=8, now=NOW)
    # New agents and their users arrive; a CRM that already has customers is left alone.
    assert (grown.agents, grown.users, grown.customers) == (8, 10, 50)


async def test_the_same_seed_gives_the_same_customers(tmp_path: Path) -> None:
    one, engine_one = await _fresh_sessions(tmp_path / "one.db")
    two, engine_two = await _fresh_sessions(tmp_path / "two.db")
    other, engine_other = await _fresh_sessions(tmp_path / "other.db")
    await seed_demo(one, customers=200, rng_seed=11, now=NOW)
    await seed_demo(two, customers=200, rng_seed=11, now=NOW)
    await seed_demo(other, customers=200, rng_seed=12, now=NOW)
    assert await _customers(one) == await _customers(two)
    assert await _customers(one) != await _customers(other)
    for engine in (engine_one, engine_two, engine_other):
        await engine.dispose()


async def test_demo_people_look_real(sessions: async_sessionmaker[AsyncSession]) -> None:
    await seed_demo(sessions, customers=600, now=NOW)
    async with sessions() as session:
        customers = (await session.scalars(select(Customer))).all()
        numbers = (await session.execute(select(PhoneNumber.customer_id, PhoneNumber.e164))).all()
        per_customer = Counter(cid for cid, _ in numbers)
        contacts = Counter(cid for cid in await session.scalars(select(Interaction.customer_id)))
        channels = set(await session.scalars(select(Interaction.channel).distinct()))
        agents = (await session.scalars(select(Agent))).all()

    assert all(1 <= per_customer[c.id] <= 2 for c in customers)
    assert all(contacts[c.id] <= 5 for c in customers)
    assert channels == {"phone", "email", "web", "chat"}
    assert {c.tier for c in customers} == {"bronze", "silver", "gold", "platinum"}
    assert all(c.lifetime_value > Decimal(0) for c in customers)
    assert all(c.account_number.isdigit() for c in customers)
    assert len({c.account_number for c in customers}) == len(customers)
    assert any(not c.name.isascii() for c in customers), "accented names are part of the demo"
    parsed = [phonenumbers.parse(e164) for _, e164 in numbers]
    assert all(phonenumbers.is_valid_number(p) for p in parsed)
    assert len({phonenumbers.region_code_for_number(p) for p in parsed}) >= 8
    assert len({a.name for a in agents}) == len(agents)
    assert {a.location for a in agents} == {"on_site", "remote_site", "home", "partner"}
    assert all(c.created_at.tzinfo is not None and c.created_at < NOW for c in customers)


async def test_a_household_line_pops_a_pick_list(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await seed_demo(sessions, customers=200, now=NOW)
    async with sessions() as session:
        shared = await session.scalar(
            select(PhoneNumber.e164).group_by(PhoneNumber.e164).having(func.count() > 1).limit(1)
        )
    assert shared is not None, "the demo has households sharing a line"
    pop = await build_pop(
        sessions, call_id="c1", queue="sales", caller_number=shared, account="",
        default_region="US", routed_because="skill sales",
    )  # fmt: skip
    assert pop.customer is None and len(pop.matches) == 2
    assert len({m.name.split(" ", 1)[1] for m in pop.matches}) == 1, "one family name"


async def test_customers_added_after_the_seed_get_new_ids(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    # On PostgreSQL ids chosen by the seed would leave the sequence behind and
    # the first contact an agent creates would collide.
    await seed_demo(sessions, customers=30, now=NOW)
    async with sessions.begin() as session:
        session.add(
            Customer(name="Ingrid Nyström", tier="bronze", lifetime_value=Decimal("0"),
                     account_number="99000001", notes="", created_at=NOW)
        )  # fmt: skip
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Customer)) == 31


async def test_every_agent_and_the_staff_can_log_in_by_name(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await seed_demo(sessions, customers=0, agents=4)
    async with sessions() as session:
        users = {u.username: u for u in await session.scalars(select(User))}
        agents = {a.login: a.id for a in await session.scalars(select(Agent))}
    assert set(users) == {"agent01", "agent02", "agent03", "agent04", "supervisor", "admin"}
    assert all(users[login].agent_id == agent_id for login, agent_id in agents.items())
    assert (users["admin"].roles, users["supervisor"].roles) == ("admin,supervisor", "supervisor")


async def test_simulated_callers_dial_from_customers_numbers(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    summary: SeedSummary = await seed_demo(sessions, customers=100, now=NOW)
    callers = await demo_caller_numbers(sessions, limit=40)
    assert len(callers) == 40 <= summary.phone_numbers
    async with sessions() as session:
        known = set(await session.scalars(select(PhoneNumber.e164)))
    assert all(e164 in known and name for e164, name in callers)


async def test_the_demo_crm_holds_billing_orders_cases_and_deals_that_agree(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await seed_demo(sessions, customers=300, now=NOW)
    async with sessions() as session:
        customers = {c.id: c for c in await session.scalars(select(Customer))}
        unpaid: Counter[int] = Counter()
        overdue: set[int] = set()
        for invoice in await session.scalars(select(Invoice).where(Invoice.status == "open")):
            unpaid[invoice.customer_id] += invoice.amount  # type: ignore[assignment]
            if invoice.due_on < NOW.date():
                overdue.add(invoice.customer_id)
        orders = (await session.scalars(select(Order))).all()
        tickets = (await session.scalars(select(Ticket))).all()
        deals = (await session.scalars(select(Opportunity))).all()
        payments = await session.scalar(select(func.count()).select_from(Payment))

    # The account's balance is what its open invoices add up to, and an
    # invoice past its due date makes the account overdue.
    assert all(c.balance == unpaid.get(cid, 0) for cid, c in customers.items())
    assert {cid for cid, c in customers.items() if c.status == "overdue"} == overdue
    assert overdue and payments
    assert {o.status for o in orders} == {"shipped", "delivered"}
    assert {t.status for t in tickets} >= {"open", "closed"}
    assert {d.kind for d in deals} == {"new", "renewal"}
    assert all(customers[d.customer_id].tier in ("gold", "platinum") for d in deals
               if d.kind == "renewal")  # fmt: skip


async def test_seeding_again_never_overwrites_an_existing_admin(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """An operator who changed the admin's password and roles keeps them when the
    demo seed runs again (``make run`` seeds at every start)."""
    await seed_demo(sessions, customers=0, agents=2)
    async with sessions.begin() as session:
        admin = await session.scalar(select(User).where(User.username == "admin"))
        assert admin is not None
        admin.password_hash, admin.roles = "operator-chosen-hash", "admin"
    await seed_demo(sessions, customers=0, agents=2, password="another-password")
    async with sessions() as session:
        admin = await session.scalar(select(User).where(User.username == "admin"))
    assert admin is not None and (admin.password_hash, admin.roles) == (
        "operator-chosen-hash",
        "admin",
    )
