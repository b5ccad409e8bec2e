"""Persistence on SQLite and PostgreSQL: migrations, users, directory, call history.

Every test gets an empty database from the ``db_url`` fixture (tests/conftest.py):
a fresh SQLite file, and a freshly created PostgreSQL database when the loopback
server answers.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest_asyncio
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, inspect, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from agents import Location
from callcenter.db.directory import load_agents, load_queues, simulated_agents
from callcenter.db.migrate import alembic_config, run_migrations
from callcenter.db.models import Base, Customer, Interaction
from callcenter.db.records import CallRecorder, get_call
from callcenter.db.seed import seed_demo
from callcenter.db.session import make_engine, make_session_factory
from callcenter.db.users import authenticate, make_authenticator
from callcenter.orchestration.ports import Arrival
from callcenter.ports import Role

T0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


def _diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


def _tables(connection: Connection) -> set[str]:
    return set(inspect(connection).get_table_names())


async def _schema_diff(url: str) -> list[object]:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_diff)
    finally:
        await engine.dispose()


async def _table_names(url: str) -> set[str]:
    engine = make_engine(url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(_tables)
    finally:
        await engine.dispose()


@pytest_asyncio.fixture
async def sessions(db_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    await asyncio.to_thread(run_migrations, db_url)
    engine = make_engine(db_url)
    try:
        yield make_session_factory(engine)
    finally:
        await engine.dispose()


async def test_migrations_create_exactly_the_models_schema(db_url: str) -> None:
    await asyncio.to_thread(run_migrations, db_url)
    assert await _schema_diff(db_url) == []
    assert await _table_names(db_url) == set(Base.metadata.tables) | {"alembic_version"}


async def test_migrating_again_changes_nothing_and_keeps_data(db_url: str) -> None:
    await asyncio.to_thread(run_migrations, db_url)
    engine = make_engine(db_url)
    sessions = make_session_factory(engine)
    async with sessions.begin() as session:
        session.add(
            Customer(name="Zoë Kim", tier="gold", lifetime_value=Decimal("10"),
                     account_number="41", notes="", created_at=T0)
        )  # fmt: skip
    await asyncio.to_thread(run_migrations, db_url)
    async with sessions() as session:
        assert await session.scalar(select(Customer.name)) == "Zoë Kim"
    await engine.dispose()
    assert await _schema_diff(db_url) == []


def test_migrations_run_from_plain_synchronous_code(db_url: str) -> None:
    # The CLI (`callcenter migrate`) calls it with no event loop running.
    run_migrations(db_url)
    assert asyncio.run(_schema_diff(db_url)) == []


async def test_migrations_called_directly_under_a_running_loop_still_apply(db_url: str) -> None:
    # Synchronous code running under a loop (a start-up hook) may call it as is.
    run_migrations(db_url)
    assert await _schema_diff(db_url) == []


async def test_migrations_started_together_in_one_process_all_succeed(db_url: str) -> None:
    # The service and the simulator may both migrate at start-up.
    async with asyncio.timeout(120):
        await asyncio.gather(*(asyncio.to_thread(run_migrations, db_url) for _ in range(3)))
    assert await _schema_diff(db_url) == []


async def test_every_migration_can_be_undone_and_redone(db_url: str) -> None:
    await asyncio.to_thread(run_migrations, db_url)
    await asyncio.to_thread(command.downgrade, alembic_config(db_url), "base")
    assert await _table_names(db_url) <= {"alembic_version"}
    await asyncio.to_thread(run_migrations, db_url)
    assert await _schema_diff(db_url) == []


async def test_login_checks_the_hashed_password(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await seed_demo(sessions, customers=0, password="s3cret")
    agent = await authenticate(sessions, "agent01", "s3cret")
    assert agent is not None and agent.roles == {Role.AGENT} and agent.agent_id is not None
    admin = await authenticate(sessions, "admin", "s3cret")
    assert admin is not None and admin.roles == {Role.ADMIN, Role.SUPERVISOR}
    assert admin.agent_id is None
    supervisor = await make_authenticator(sessions)("supervisor", "s3cret")
    assert supervisor is not None and supervisor.roles == {Role.SUPERVISOR}


async def test_wrong_password_and_unknown_user_are_both_refused(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await seed_demo(sessions, customers=0, password="s3cret")
    assert await authenticate(sessions, "agent01", "S3cret") is None
    assert await authenticate(sessions, "agent01", "") is None
    assert await authenticate(sessions, "nobody", "s3cret") is None


async def test_passwords_are_stored_hashed_never_in_clear(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    from callcenter.db.models import User

    await seed_demo(sessions, customers=0, password="s3cret")
    async with sessions() as session:
        hashes = (await session.scalars(select(User.password_hash))).all()
    assert hashes and all(h.startswith("$argon2") and "s3cret" not in h for h in hashes)


async def test_directory_lists_agents_with_skills_and_queues_with_dids(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await seed_demo(sessions, customers=0)
    agents = await load_agents(sessions)
    assert [a.login for a in agents] == [f"agent{n:02d}" for n in range(1, 21)]
    first = agents[0]
    assert first.dial_string == "PJSIP/agent01" and first.pbx == "pbx1"
    assert first.location is Location.ON_SITE
    assert set(first.skills) == {"sales", "support", "billing"}
    assert all(1 <= level <= 5 for a in agents for level in a.skills.values())
    assert {a.login for a in await simulated_agents(sessions)} == {
        f"agent{n:02d}" for n in range(3, 21)
    }
    queues = {q.name: q for q in await load_queues(sessions)}
    assert {(q.name, q.skill, q.did, q.ring_timeout_s) for q in queues.values()} == {
        ("sales", "sales", "100", 15),
        ("support", "support", "200", 15),
        ("billing", "billing", "300", 15),
    }


async def _customer_with_history(sessions: async_sessionmaker[AsyncSession]) -> int:
    async with sessions.begin() as session:
        customer = Customer(
            name="Kofi Mensah", tier="platinum", lifetime_value=Decimal("70500.10"),
            account_number="40000077", notes="", created_at=T0 - timedelta(days=400),
        )  # fmt: skip
        session.add(customer)
        await session.flush()
        return customer.id


async def test_a_whole_call_is_recorded_and_joins_the_customers_history(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await seed_demo(sessions, customers=0)
    agents = await load_agents(sessions)
    customer_id = await _customer_with_history(sessions)
    recorder = CallRecorder(sessions)
    third, first = agents[2].agent_id, agents[0].agent_id

    await recorder.call_enqueued("c1", "pbx1", "1700.1", "sales", "+233241234567", customer_id, T0)
    await recorder.offer_made("c1", "leg-1", third, "PJSIP/agent03", T0 + timedelta(seconds=1))
    await recorder.offer_result("leg-1", "no_answer", T0 + timedelta(seconds=16))
    await recorder.offer_made("c1", "leg-2", first, "PJSIP/agent01", T0 + timedelta(seconds=17))
    await recorder.offer_result("leg-2", "answered", T0 + timedelta(seconds=20))
    await recorder.call_answered("c1", first, "PJSIP/agent01", T0 + timedelta(seconds=20))
    await recorder.call_ended("c1", "answered", None, "caller", T0 + timedelta(seconds=95))

    call = await get_call(sessions, "c1")
    assert call is not None
    assert (call.pbx, call.linkedid, call.queue, call.customer_id) == (
        "pbx1", "1700.1", "sales", customer_id,
    )  # fmt: skip
    assert (call.outcome, call.ended_by, call.agent_id, call.agent_target) == (
        "answered", "caller", first, "PJSIP/agent01",
    )  # fmt: skip
    assert [(o.leg_id, o.agent_id, o.result) for o in call.offers] == [
        ("leg-1", third, "no_answer"),
        ("leg-2", first, "answered"),
    ]
    assert call.offers[0].ended_at == T0 + timedelta(seconds=16)
    assert (call.enqueued_at, call.answered_at, call.ended_at) == (
        T0, T0 + timedelta(seconds=20), T0 + timedelta(seconds=95),
    )  # fmt: skip
    assert call.enqueued_at.utcoffset() == timedelta(0)

    async with sessions() as session:
        history = (
            await session.scalars(select(Interaction).where(Interaction.customer_id == customer_id))
        ).all()
    assert [(h.call_id, h.channel, h.agent_id, h.occurred_at) for h in history] == [
        ("c1", "phone", first, T0 + timedelta(seconds=20))
    ]
    assert "1m15s" in history[0].notes


async def test_wrap_up_fills_the_calls_history_entry(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await seed_demo(sessions, customers=0)
    agent = (await load_agents(sessions))[0]
    customer_id = await _customer_with_history(sessions)
    recorder = CallRecorder(sessions)
    await recorder.call_enqueued("c2", "pbx1", "1700.2", "billing", "+1", customer_id, T0)
    await recorder.call_answered("c2", agent.agent_id, agent.dial_string, T0)
    await recorder.call_ended("c2", "answered", None, "agent", T0 + timedelta(minutes=3))

    assert await recorder.call_wrapped_up("c2", "refund issued", "Refunded March invoice.")
    async with sessions() as session:
        entry = await session.scalar(select(Interaction).where(Interaction.call_id == "c2"))
    assert entry is not None
    assert (entry.disposition, entry.notes) == ("refund issued", "Refunded March invoice.")


async def test_unknown_or_abandoned_callers_add_no_customer_history(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await seed_demo(sessions, customers=0)
    customer_id = await _customer_with_history(sessions)
    recorder = CallRecorder(sessions)
    await recorder.call_enqueued("c3", "pbx1", "1700.3", "sales", "+1", customer_id, T0)
    await recorder.call_ended("c3", "abandoned", "queue", "caller", T0 + timedelta(seconds=40))
    await recorder.call_enqueued("c4", "pbx1", "1700.4", "sales", "anonymous", None, T0)
    await recorder.call_ended("c4", "answered", None, "caller", T0 + timedelta(seconds=40))

    call = await get_call(sessions, "c3")
    assert call is not None and (call.outcome, call.abandon_phase) == ("abandoned", "queue")
    async with sessions() as session:
        assert (await session.scalars(select(Interaction))).all() == []
    assert not await recorder.call_wrapped_up("c4", "resolved", "")


async def test_a_caller_named_in_wrap_up_gets_the_call_in_their_history(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await seed_demo(sessions, customers=0)
    agent = (await load_agents(sessions))[0]
    customer_id = await _customer_with_history(sessions)
    recorder = CallRecorder(sessions)
    # Unknown when it rang (a shared line, a new number); answered and ended.
    await recorder.call_enqueued("c5", "pbx1", "1700.5", "sales", "+1", None, T0)
    await recorder.call_answered("c5", agent.agent_id, agent.dial_string, T0)
    await recorder.call_ended("c5", "answered", None, "caller", T0 + timedelta(minutes=2))

    await recorder.call_identified("c5", customer_id)
    await recorder.call_identified("c5", customer_id)  # said twice: still one entry
    assert await recorder.call_wrapped_up("c5", "sale", "named in wrap-up")

    async with sessions() as session:
        entries = (
            await session.scalars(select(Interaction).where(Interaction.call_id == "c5"))
        ).all()
    assert [(e.customer_id, e.channel, e.disposition) for e in entries] == [
        (customer_id, "phone", "sale")
    ]
    call = await get_call(sessions, "c5")
    assert call is not None and call.customer_id == customer_id


async def test_a_call_reported_again_after_a_restart_keeps_one_record(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await seed_demo(sessions, customers=0)
    agent = (await load_agents(sessions))[0]
    recorder = CallRecorder(sessions)
    await recorder.call_enqueued("c5", "pbx1", "1700.5", "sales", "+1", None, T0)
    await recorder.offer_made("c5", "leg-5", agent.agent_id, agent.dial_string, T0)
    # A rebuilt orchestrator reports the same call and leg again.
    later = T0 + timedelta(seconds=30)
    await recorder.call_enqueued("c5", "pbx1", "1700.5", "sales", "+1", None, later)
    await recorder.call_enqueued("c5-new-id", "pbx1", "1700.5", "sales", "+1", None, later)
    await recorder.offer_made("c5", "leg-5", agent.agent_id, agent.dial_string, later)

    call = await get_call(sessions, "c5")
    assert call is not None and call.enqueued_at == T0
    assert [o.offered_at for o in call.offers] == [T0]
    assert await get_call(sessions, "c5-new-id") is None


async def test_arrivals_recovered_from_the_journal_add_only_what_is_not_recorded(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    recorder = CallRecorder(sessions)
    await recorder.call_enqueued("written", "pbx1", "1700.1", "sales", "+1", None, T0)
    await recorder.call_enqueued("other-node", "pbx1", "1700.2", "sales", "+1", None, T0)
    await recorder.call_ended("other-node", "answered", None, "caller", T0 + timedelta(minutes=2))
    await recorder.call_enqueued("yesterday", "pbx1", "1700.3", "sales", "+1", None, T0)
    await recorder.call_ended("yesterday", "answered", None, "caller", T0 + timedelta(minutes=2))
    tomorrow = T0 + timedelta(days=1)
    arrivals = [
        Arrival("written", "pbx1", "1700.1", "sales", "+1", T0),
        # the same PBX call, recorded and ended by the node that took it over
        Arrival("taken-over", "pbx1", "1700.2", "sales", "+1", T0 + timedelta(seconds=1)),
        # the same Linkedid a day later is another call (the PBX restarted)
        Arrival("lost", "pbx1", "1700.3", "support", "+14155550100", tomorrow),
    ]
    assert await recorder.arrivals_recovered(arrivals) == 1
    assert await recorder.arrivals_recovered(arrivals) == 0  # recovered twice: no harm

    lost = await get_call(sessions, "lost")
    assert lost is not None and (lost.queue, lost.caller_number) == ("support", "+14155550100")
    assert lost.enqueued_at == tomorrow and lost.ended_at is None
    assert await get_call(sessions, "taken-over") is None
    assert [c.call_id for c in await recorder.open_calls()] == ["written", "lost"]


async def test_agent_state_history_is_kept_in_order(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    from callcenter.db.models import AgentStateChange

    await seed_demo(sessions, customers=0)
    agent = (await load_agents(sessions))[1]
    recorder = CallRecorder(sessions)
    steps = [("ready", None), ("ringing", None), ("not_ready", "no answer")]
    for n, (state, reason) in enumerate(steps):
        await recorder.agent_state_changed(agent.agent_id, state, reason, T0 + timedelta(seconds=n))
    async with sessions() as session:
        rows = (
            await session.scalars(
                select(AgentStateChange)
                .where(AgentStateChange.agent_id == agent.agent_id)
                .order_by(AgentStateChange.at)
            )
        ).all()
    assert [(r.state, r.reason) for r in rows] == steps
    assert rows[-1].at == T0 + timedelta(seconds=2)
