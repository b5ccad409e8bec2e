"""The screen-pop: who is calling, read from the CRM (SQLite, and PostgreSQL when up)."""

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
from callcenter.db.models import Agent, Customer, Interaction, PhoneNumber
from callcenter.db.session import make_engine, make_session_factory
from screenpop import ScreenPop, build_pop, normalise_number
from screenpop.document import MAX_INTERACTIONS, MAX_NOTES_CHARS

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
Sessions = async_sessionmaker[AsyncSession]


@pytest_asyncio.fixture
async def crm(db_url: str) -> AsyncIterator[Sessions]:
    await asyncio.to_thread(run_migrations, db_url)
    engine = make_engine(db_url)
    sessions = make_session_factory(engine)
    async with sessions.begin() as session:
        chloe = Customer(
            name="Chloé Dubois",
            tier="gold",
            lifetime_value=Decimal("12500"),
            account_number="40012345",
            notes="x" * 2000,
            created_at=NOW,
        )
        jonas = Customer(
            name="Jonas Berg",
            tier="silver",
            lifetime_value=Decimal("900.5"),
            account_number="40000002",
            notes="",
            created_at=NOW,
        )
        ana = Customer(
            name="Ana Berg",
            tier="bronze",
            lifetime_value=Decimal("90"),
            account_number="40000003",
            notes="",
            created_at=NOW,
        )
        mei = Customer(
            name="Mei Tanaka",
            tier="silver",
            lifetime_value=Decimal("3000"),
            account_number="40000004",
            notes="",
            created_at=NOW,
        )
        priya = Agent(login="agent01", name="Priya Raman", dial_string="PJSIP/agent01")
        tomas = Agent(login="agent02", name="Tomás Ortega", dial_string="PJSIP/agent02")
        session.add_all([chloe, jonas, ana, mei, priya, tomas])
        await session.flush()
        session.add_all(
            [
                PhoneNumber(customer_id=chloe.id, e164="+33142685300", label="work"),
                PhoneNumber(customer_id=jonas.id, e164="+46812345670", label="home"),
                PhoneNumber(customer_id=ana.id, e164="+46812345670", label="home"),
                PhoneNumber(customer_id=ana.id, e164="+46701234567", label="mobile"),
            ]
        )
        # Written out of order on purpose: the pop must sort, not trust insertion.
        # Phone contacts on days 2 and 6 had an agent; day 0's call went unanswered.
        for days in (3, 0, 7, 1, 5, 2, 6, 4):
            session.add(
                Interaction(
                    customer_id=chloe.id,
                    agent_id={2: priya.id, 6: tomas.id}.get(days),
                    channel="email" if days % 2 else "phone",
                    occurred_at=NOW - timedelta(days=days),
                    disposition=f"d{days}",
                    notes="n" * 5000 if days == 0 else "",
                )
            )
        # Mei: a full page of emails, and an older call that Tomás took.
        session.add(PhoneNumber(customer_id=mei.id, e164="+81312345678", label="mobile"))
        for days in range(6):
            session.add(
                Interaction(customer_id=mei.id, channel="email",
                            occurred_at=NOW - timedelta(days=days), disposition=f"e{days}")
            )  # fmt: skip
        session.add(
            Interaction(customer_id=mei.id, agent_id=tomas.id, channel="phone",
                        occurred_at=NOW - timedelta(days=9), disposition="sale")
        )  # fmt: skip
        session.add(
            Interaction(
                customer_id=jonas.id, channel="chat", occurred_at=NOW, disposition="not Chloé's"
            )
        )
    yield sessions
    await engine.dispose()


async def pop_for(sessions: Sessions, number: str, account: str = "") -> ScreenPop:
    return await build_pop(
        sessions, call_id="c1", queue="sales", caller_number=number, account=account,
        default_region="FR", routed_because="skill sales, longest idle",
    )  # fmt: skip


@pytest.mark.parametrize(
    ("raw", "region", "e164"),
    [
        ("+33142685300", "FR", "+33142685300"),
        ("01 42 68 53 00", "FR", "+33142685300"),
        ("0142685300", "FR", "+33142685300"),
        ("0044 20 7183 8750", "FR", "+442071838750"),
        ("(202) 555-0147", "US", "+12025550147"),
        ("2025550147", "US", "+12025550147"),
        ("+1 202-555-0147", "FR", "+12025550147"),
        ("<unknown>", "FR", None),
        ("anonymous", "US", None),
        ("", "US", None),
        ("12", "FR", None),
        ("1" * 80, "US", None),
    ],
)
def test_numbers_are_read_as_e164_with_the_default_region(
    raw: str, region: str, e164: str | None
) -> None:
    assert normalise_number(raw, region) == e164


async def test_known_caller_shows_name_tier_and_newest_interactions_first(crm: Sessions) -> None:
    pop = await pop_for(crm, "01 42 68 53 00")
    assert pop.customer is not None
    assert (pop.customer.name, pop.customer.tier, pop.customer.lifetime_value) == (
        "Chloé Dubois", "gold", "12500.00",
    )  # fmt: skip
    assert pop.customer.account_number == "40012345"
    assert [i.disposition for i in pop.last_interactions] == ["d0", "d1", "d2", "d3", "d4"]
    assert pop.last_interactions[0].occurred_at == NOW.isoformat()
    assert [i.channel for i in pop.last_interactions[:2]] == ["phone", "email"]
    assert pop.crm_available and not pop.new_contact and pop.matches == []
    assert [i.agent_name for i in pop.last_interactions] == [None, None, "Priya Raman", None, None]
    assert pop.last_interactions[2].agent_id is not None
    assert pop.last_interactions[0].agent_id is None
    assert (pop.call_id, pop.queue, pop.routed_because) == (
        "c1",
        "sales",
        "skill sales, longest idle",
    )


async def test_the_pop_names_the_agent_who_served_the_customer_last(crm: Sessions) -> None:
    # For known-agent routing: the newest contact that had an agent, and when.
    pop = await pop_for(crm, "+33142685300")
    assert pop.last_agent is not None and pop.customer is not None
    assert (pop.last_agent.name, pop.last_agent.at) == (
        "Priya Raman", (NOW - timedelta(days=2)).isoformat(),
    )  # fmt: skip
    assert pop.last_agent.agent_id == pop.last_interactions[2].agent_id
    assert pop.model_dump(mode="json")["last_agent"] == {
        "agent_id": pop.last_agent.agent_id, "name": "Priya Raman",
        "at": (NOW - timedelta(days=2)).isoformat(),
    }  # fmt: skip


async def test_who_is_calling_is_told_before_the_rest_of_the_pop_is_read(
    crm: Sessions,
) -> None:
    # Routing waits for this part only: the card and the last agent.
    told: list[dict[str, object]] = []
    pop = await build_pop(
        crm, call_id="c1", queue="sales", caller_number="+33142685300", account="",
        default_region="FR", routed_because="", identified=told.append,
    )  # fmt: skip
    assert pop.customer is not None and pop.last_agent is not None
    [identity] = told
    assert identity == {
        "customer": pop.customer.model_dump(mode="json"),
        "last_agent": pop.last_agent.model_dump(mode="json"),
    }
    for unknown in ("+46812345670", "+15550000000"):  # a shared line, a new contact
        told.clear()
        await build_pop(
            crm, call_id="c2", queue="sales", caller_number=unknown, account="",
            default_region="FR", routed_because="", identified=told.append,
        )  # fmt: skip
        assert told == [{}]


async def test_the_last_agent_is_found_beyond_a_page_of_self_service_contacts(
    crm: Sessions,
) -> None:
    pop = await pop_for(crm, "+81 3-1234-5678")
    assert pop.customer is not None and pop.customer.name == "Mei Tanaka"
    assert len(pop.last_interactions) == MAX_INTERACTIONS
    assert all(i.agent_id is None for i in pop.last_interactions)
    assert pop.last_agent is not None
    assert (pop.last_agent.name, pop.last_agent.at) == (
        "Tomás Ortega", (NOW - timedelta(days=9)).isoformat(),
    )  # fmt: skip


async def test_no_last_agent_when_nobody_served_the_customer_or_it_is_unclear(
    crm: Sessions,
) -> None:
    # Jonas by account: one chat, no agent; his shared line: a pick list.
    assert (await pop_for(crm, "+46812345670", account="40000002")).last_agent is None
    assert (await pop_for(crm, "+46812345670")).last_agent is None
    assert (await pop_for(crm, "+12025550147")).last_agent is None


async def test_long_crm_notes_are_cut_so_the_pop_stays_small(crm: Sessions) -> None:
    pop = await pop_for(crm, "+33142685300")
    assert pop.customer is not None
    assert len(pop.customer.notes) == MAX_NOTES_CHARS and pop.customer.notes.endswith("…")
    assert len(pop.last_interactions) == MAX_INTERACTIONS
    assert len(pop.last_interactions[0].notes) == MAX_NOTES_CHARS
    assert len(pop.model_dump_json()) < 8_000


async def test_unknown_caller_is_a_new_contact(crm: Sessions) -> None:
    pop = await pop_for(crm, "+12025550147")
    assert pop.new_contact and pop.customer is None and pop.matches == []
    assert pop.crm_available and pop.last_interactions == []


async def test_withheld_number_is_a_new_contact(crm: Sessions) -> None:
    pop = await pop_for(crm, "anonymous")
    assert pop.new_contact and pop.caller_number == "anonymous" and pop.crm_available


async def test_account_digits_from_the_ivr_select_the_customer(crm: Sessions) -> None:
    # Calling from the Bergs' shared line, but keying in Chloé's account.
    pop = await pop_for(crm, "+46812345670", account="40012345")
    assert pop.customer is not None and pop.customer.name == "Chloé Dubois"
    assert pop.matches == [] and pop.last_interactions[0].disposition == "d0"


async def test_unknown_account_digits_fall_back_to_the_number(crm: Sessions) -> None:
    pop = await pop_for(crm, "+46701234567", account="99999999")
    assert pop.customer is not None and pop.customer.name == "Ana Berg"
    garbage = await pop_for(crm, "+46701234567", account="4001'; --")
    assert garbage.customer is not None and garbage.customer.name == "Ana Berg"


async def test_shared_number_gives_a_pick_list(crm: Sessions) -> None:
    pop = await pop_for(crm, "+46 8 123 456 70")
    assert pop.customer is None and not pop.new_contact and pop.last_interactions == []
    assert [(m.name, m.tier, m.lifetime_value) for m in pop.matches] == [
        ("Jonas Berg", "silver", "900.50"),
        ("Ana Berg", "bronze", "90.00"),
    ]


async def test_crm_without_its_schema_still_gives_a_pop_marked_unavailable(
    tmp_path: Path,
) -> None:
    engine = make_engine(f"sqlite+aiosqlite:///{tmp_path / 'missing-schema.db'}")
    pop = await pop_for(make_session_factory(engine), "+33142685300")
    assert pop.crm_available is False and pop.caller_number == "+33142685300"
    assert pop.customer is None and not pop.new_contact and pop.last_agent is None
    await engine.dispose()


async def test_crm_that_never_answers_gives_an_unavailable_pop_in_time() -> None:
    # A database server that accepts the connection and then says nothing.
    silent: list[asyncio.StreamWriter] = []

    async def accept(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        silent.append(writer)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    engine = make_engine(f"postgresql+asyncpg://nobody@127.0.0.1:{port}/crm")
    try:
        # Without its own bound the lookup would wait out asyncpg's 60 s connect
        # timeout; this outer guard turns that into a failure.
        async with asyncio.timeout(20):
            pop = await build_pop(
                make_session_factory(engine), call_id="c9", queue="support",
                caller_number="+33142685300", account="", default_region="FR",
                routed_because="", timeout_s=0.3,
            )  # fmt: skip
    finally:
        for writer in silent:
            writer.close()
        server.close()
        await server.wait_closed()
        await engine.dispose()
    assert pop.crm_available is False and pop.call_id == "c9"
