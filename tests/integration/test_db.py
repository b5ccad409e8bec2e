"""Persistence on SQLite and PostgreSQL: migrations, seed, users, call history."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Connection, select

from callcenter.db.directory import load_agents, load_queues, simulated_agents
from callcenter.db.migrate import run_migrations
from callcenter.db.models import Base, Interaction, PhoneNumber
from callcenter.db.records import CallRecorder, get_call
from callcenter.db.seed import seed_demo
from callcenter.db.session import make_engine, make_session_factory
from callcenter.db.users import authenticate
from callcenter.ports import Role


def _diff(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, Base.metadata))


async def test_migrations_create_exactly_the_models_schema(db_url: str) -> None:
    await asyncio.to_thread(run_migrations, db_url)
    await asyncio.to_thread(run_migrations, db_url)  # a second run is a no-op
    engine = make_engine(db_url)
    async with engine.connect() as conn:
        assert await conn.run_sync(_diff) == []
    await engine.dispose()


async def test_seed_is_idempotent_and_gives_a_working_demo(db_url: str) -> None:
    await asyncio.to_thread(run_migrations, db_url)
    engine = make_engine(db_url)
    sessions = make_session_factory(engine)
    first = await seed_demo(sessions, customers=150)
    second = await seed_demo(sessions, customers=150)
    assert first == second
    assert (first.queues, first.agents, first.users, first.customers) == (3, 20, 22, 150)
    assert first.phone_numbers >= 150 and first.interactions > 0

    agents = await load_agents(sessions)
    assert [a.login for a in agents[:2]] == ["agent01", "agent02"]
    assert all(a.skills for a in agents), "every agent can take some queue"
    assert {"sales", "support", "billing"} <= set(agents[0].skills)
    simulated = {a.login for a in await simulated_agents(sessions)}
    assert "agent01" not in simulated and "agent03" in simulated
    assert {(q.name, q.did) for q in await load_queues(sessions)} == {
        ("sales", "100"),
        ("support", "200"),
        ("billing", "300"),
    }
    async with sessions() as session:
        numbers = (await session.execute(select(PhoneNumber.e164))).scalars().all()
    assert all(n.startswith("+") and n[1:].isdigit() for n in numbers)
    await engine.dispose()


async def test_login_checks_the_hashed_password(db_url: str) -> None:
    await asyncio.to_thread(run_migrations, db_url)
    engine = make_engine(db_url)
    sessions = make_session_factory(engine)
    await seed_demo(sessions, customers=0)
    agent = await authenticate(sessions, "agent01", "password")
    assert agent is not None and agent.roles == {Role.AGENT} and agent.agent_id is not None
    admin = await authenticate(sessions, "admin", "password")
    assert admin is not None and admin.has(Role.ADMIN) and admin.agent_id is None
    assert await authenticate(sessions, "agent01", "wrong") is None
    assert await authenticate(sessions, "nobody", "password") is None
    await engine.dispose()


async def test_a_whole_call_is_recorded_and_joins_the_customers_history(db_url: str) -> None:
    await asyncio.to_thread(run_migrations, db_url)
    engine = make_engine(db_url)
    sessions = make_session_factory(engine)
    await seed_demo(sessions, customers=20)
    agents = await load_agents(sessions)
    recorder = CallRecorder(sessions)
    t0 = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)
    await recorder.call_enqueued("c1", "pbx1", "pbx1-1.0", "sales", "+14155550123", 3, t0)
    await recorder.offer_made("c1", "leg-1", agents[2].agent_id, "PJSIP/agent03", t0)
    await recorder.offer_result("leg-1", "no_answer", t0 + timedelta(seconds=15))
    await recorder.offer_made("c1", "leg-2", agents[0].agent_id, "PJSIP/agent01", t0)
    await recorder.offer_result("leg-2", "answered", t0 + timedelta(seconds=20))
    await recorder.call_answered("c1", agents[0].agent_id, "PJSIP/agent01", t0 + timedelta(20))
    await recorder.call_ended("c1", "answered", None, "caller", t0 + timedelta(seconds=90))
    await recorder.agent_state_changed(agents[0].agent_id, "ready", None, t0)

    call = await get_call(sessions, "c1")
    assert call is not None
    assert (call.outcome, call.ended_by, call.agent_id) == (
        "answered",
        "caller",
        agents[0].agent_id,
    )
    assert [(o.leg_id, o.result) for o in call.offers] == [
        ("leg-1", "no_answer"),
        ("leg-2", "answered"),
    ]
    assert call.enqueued_at == t0 and call.enqueued_at.tzinfo is not None
    async with sessions() as session:
        history = (
            (await session.execute(select(Interaction).where(Interaction.call_id == "c1")))
            .scalars()
            .all()
        )
    assert [(h.customer_id, h.channel, h.agent_id) for h in history] == [
        (3, "phone", agents[0].agent_id)
    ]
    await engine.dispose()
