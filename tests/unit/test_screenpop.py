"""The screen-pop: who is calling, from the local CRM (SQLite)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import pytest_asyncio
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.db.migrate import run_migrations
from callcenter.db.models import Customer, Interaction, PhoneNumber
from callcenter.db.session import make_engine, make_session_factory
from screenpop import build_pop, normalise_number
from screenpop.document import MAX_NOTES_CHARS

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)


@pytest_asyncio.fixture
async def crm(tmp_path: Path) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    url = f"sqlite+aiosqlite:///{tmp_path / 'crm.db'}"
    await asyncio.to_thread(run_migrations, url)
    engine = make_engine(url)
    sessions = make_session_factory(engine)
    async with sessions.begin() as session:
        session.add_all(
            [
                Customer(id=1, name="Chloé Dubois", tier="gold", lifetime_value=Decimal("12500"),
                         account_number="40012345", notes="x" * 2000, created_at=NOW),
                Customer(id=2, name="Jonas Berg", tier="silver", lifetime_value=Decimal("900"),
                         account_number="40000002", notes="", created_at=NOW),
                Customer(id=3, name="Ana Berg", tier="bronze", lifetime_value=Decimal("90"),
                         account_number="40000003", notes="", created_at=NOW),
                PhoneNumber(customer_id=1, e164="+33142685300"),
                PhoneNumber(customer_id=2, e164="+4681234567"),
                PhoneNumber(customer_id=3, e164="+4681234568"),
            ]
        )  # fmt: skip
        for days in range(8):
            session.add(
                Interaction(customer_id=1, channel="email" if days % 2 else "phone",
                            occurred_at=NOW - timedelta(days=days), disposition=f"d{days}")
            )  # fmt: skip
    yield sessions
    await engine.dispose()


async def pop_for(sessions: async_sessionmaker[AsyncSession], number: str, account: str = ""):  # type: ignore[no-untyped-def]
    return await build_pop(
        sessions, call_id="c1", queue="sales", caller_number=number, account=account,
        default_region="FR", routed_because="skill",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("raw", "e164"),
    [
        ("+33142685300", "+33142685300"),
        ("01 42 68 53 00", "+33142685300"),
        ("0044 20 7183 8750", "+442071838750"),
        ("<unknown>", None),
        ("anonymous", None),
        ("12", None),
    ],
)
def test_numbers_are_read_as_e164_with_the_default_region(raw: str, e164: str | None) -> None:
    assert normalise_number(raw, "FR") == e164


async def test_known_caller_shows_name_tier_and_newest_interactions(crm) -> None:  # type: ignore[no-untyped-def]
    pop = await pop_for(crm, "01 42 68 53 00")
    assert pop.customer is not None
    assert (pop.customer.name, pop.customer.tier, pop.customer.lifetime_value) == (
        "Chloé Dubois", "gold", "12500.00",
    )  # fmt: skip
    assert [i.disposition for i in pop.last_interactions] == ["d0", "d1", "d2", "d3", "d4"]
    assert len(pop.customer.notes) == MAX_NOTES_CHARS
    assert pop.crm_available and not pop.new_contact


async def test_unknown_caller_is_a_new_contact(crm) -> None:  # type: ignore[no-untyped-def]
    pop = await pop_for(crm, "+12025550147")
    assert pop.new_contact and pop.customer is None and pop.crm_available


async def test_account_digits_from_the_ivr_select_the_customer(crm) -> None:  # type: ignore[no-untyped-def]
    pop = await pop_for(crm, "+4681234567", account="40012345")
    assert pop.customer is not None and pop.customer.name == "Chloé Dubois"


async def test_shared_number_gives_a_pick_list(crm) -> None:  # type: ignore[no-untyped-def]
    async with crm.begin() as session:
        session.add(PhoneNumber(customer_id=3, e164="+4681234567"))  # the Bergs' home line
    pop = await pop_for(crm, "+4681234567")
    assert pop.customer is None and not pop.new_contact
    assert [m.name for m in pop.matches] == ["Jonas Berg", "Ana Berg"]


async def test_crm_down_still_gives_a_pop_marked_unavailable(tmp_path: Path) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'missing-schema.db'}")
    pop = await pop_for(make_session_factory(engine), "+33142685300")
    assert pop.crm_available is False and pop.caller_number == "+33142685300"
    await engine.dispose()
