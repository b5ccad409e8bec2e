"""Call legs, per-leg credit and the call event log (migration 0007), on SQLite and
PostgreSQL: a transferred call keeps one record, and each agent is credited with
their own part of it only."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio
from alembic import command
from sqlalchemy import delete, select, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql.expression import Executable

from callcenter.db.directory import load_agents
from callcenter.db.migrate import alembic_config, run_migrations
from callcenter.db.models import CallEventRow, CallOffer
from callcenter.db.records import (
    CallRecorder,
    LegCredit,
    agent_talk_totals,
    call_events,
    get_call,
    leg_credit,
)
from callcenter.db.seed import seed_demo
from callcenter.db.session import make_engine, make_session_factory

T0 = datetime(2026, 11, 25, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def at(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


@pytest_asyncio.fixture
async def sessions(db_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    await asyncio.to_thread(run_migrations, db_url)
    engine = make_engine(db_url)
    try:
        sessions = make_session_factory(engine)
        await seed_demo(sessions, customers=0)
        yield sessions
    finally:
        await engine.dispose()


async def _two_agents(sessions: async_sessionmaker[AsyncSession]) -> tuple[int, int]:
    agents = await load_agents(sessions)
    return agents[0].agent_id, agents[1].agent_id


async def _transferred_call(recorder: CallRecorder, a: int, b: int) -> None:
    """c1: A answers at 5 s, puts the caller on hold 10 s, transfers to B, who
    talks from 70 s until the caller hangs up at 130 s (5 s more on hold)."""
    await recorder.call_enqueued("c1", "pbx1", "1800.1", "sales", "+15550001", None, T0)
    await recorder.offer_made("c1", "leg-a", a, "PJSIP/agent01", at(1))
    await recorder.offer_result("leg-a", "answered", at(5))
    await recorder.call_answered("c1", a, "PJSIP/agent01", at(5))
    await recorder.leg_connected("leg-a", at(5))
    await recorder.leg_added("c1", "leg-b", b, "PJSIP/agent02", "transfer", at(60))
    await recorder.offer_result("leg-b", "answered", at(70))
    await recorder.leg_connected("leg-b", at(70))
    await recorder.leg_left("leg-a", at(70), 10.0)
    await recorder.leg_left("leg-b", at(130), 5.0)
    await recorder.call_ended("c1", "answered", None, "caller", at(130))


async def test_a_transferred_call_credits_each_agent_with_their_own_part(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    a, b = await _two_agents(sessions)
    recorder = CallRecorder(sessions)
    await _transferred_call(recorder, a, b)

    assert await leg_credit(sessions, "c1") == [
        LegCredit("leg-a", a, "offer", 65.0, 10.0),
        LegCredit("leg-b", b, "transfer", 60.0, 5.0),
    ]
    call = await get_call(sessions, "c1")
    assert call is not None and call.hold_s == 15.0
    assert (call.agent_id, call.answered_at) == (a, at(5))  # who answered first
    assert [(o.leg_id, o.kind, o.answered_at, o.left_at, o.held_s) for o in call.offers] == [
        ("leg-a", "offer", at(5), at(70), 10.0),
        ("leg-b", "transfer", at(70), at(130), 5.0),
    ]
    assert await agent_talk_totals(sessions, T0, T0 + DAY) == {a: 65.0, b: 60.0}


async def test_reporting_a_leg_again_changes_nothing(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    a, b = await _two_agents(sessions)
    recorder = CallRecorder(sessions)
    await _transferred_call(recorder, a, b)
    # A restarted orchestrator reports the same steps again, later.
    await recorder.leg_added("c1", "leg-b", a, "PJSIP/elsewhere", "conference", at(200))
    await recorder.leg_connected("leg-b", at(201))
    await recorder.leg_left("leg-a", at(202), 99.0)

    call = await get_call(sessions, "c1")
    assert call is not None and call.hold_s == 15.0
    [leg_b] = [o for o in call.offers if o.leg_id == "leg-b"]
    assert (leg_b.agent_id, leg_b.agent_target, leg_b.kind, leg_b.offered_at) == (
        b, "PJSIP/agent02", "transfer", at(60),
    )  # fmt: skip
    assert [c.talk_s for c in await leg_credit(sessions, "c1")] == [65.0, 60.0]
    async with sessions() as session:
        legs = (await session.scalars(select(CallOffer.leg_id))).all()
    assert sorted(legs) == ["leg-a", "leg-b"]


async def test_a_leg_to_an_outside_number_has_no_agent_and_earns_no_agent_credit(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    a, _ = await _two_agents(sessions)
    recorder = CallRecorder(sessions)
    outside = "Local/+15557654321@callcenter-outbound"
    # c2: A sends the caller to an outside number (a blind transfer out).
    await recorder.call_enqueued("c2", "pbx1", "1800.2", "support", "+15550002", None, T0)
    await recorder.offer_made("c2", "leg-a", a, "PJSIP/agent01", at(0))
    await recorder.leg_connected("leg-a", at(2))
    await recorder.leg_added("c2", "leg-out", None, outside, "transfer", at(30))
    await recorder.leg_left("leg-a", at(30), 0.0)
    await recorder.call_ended("c2", "transferred_out", None, "agent", at(30))
    # c3: A brings an outside party into a conference for a while.
    await recorder.call_enqueued("c3", "pbx1", "1800.3", "support", "+15550003", None, T0)
    await recorder.offer_made("c3", "leg-a3", a, "PJSIP/agent01", at(0))
    await recorder.leg_connected("leg-a3", at(2))
    await recorder.leg_added("c3", "leg-out3", None, outside, "conference", at(30))
    await recorder.leg_connected("leg-out3", at(35))
    await recorder.leg_left("leg-out3", at(50), 0.0)
    await recorder.call_ended("c3", "answered", None, "caller", at(60))

    call = await get_call(sessions, "c2")
    assert call is not None and call.outcome == "transferred_out"
    assert [(o.leg_id, o.agent_id, o.agent_target, o.kind) for o in call.offers] == [
        ("leg-a", a, "PJSIP/agent01", "offer"),
        ("leg-out", None, outside, "transfer"),
    ]
    assert await leg_credit(sessions, "c2") == [LegCredit("leg-a", a, "offer", 28.0, 0.0)]
    assert await leg_credit(sessions, "c3") == [
        LegCredit("leg-a3", a, "offer", 58.0, 0.0),
        LegCredit("leg-out3", None, "conference", 15.0, 0.0),
    ]
    assert await agent_talk_totals(sessions, T0, T0 + DAY) == {a: 28.0 + 58.0}


async def test_a_leg_whose_departure_was_never_reported_talks_until_the_call_ended(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    a, b = await _two_agents(sessions)
    recorder = CallRecorder(sessions)
    await recorder.call_enqueued("c3", "pbx1", "1800.3", "sales", "+1", None, T0)
    await recorder.offer_made("c3", "leg-never", b, "PJSIP/agent02", at(0))
    await recorder.offer_result("leg-never", "no_answer", at(15))
    await recorder.offer_made("c3", "leg-a", a, "PJSIP/agent01", at(16))
    await recorder.leg_connected("leg-a", at(20))

    assert [c.talk_s for c in await leg_credit(sessions, "c3")] == [0.0]  # still talking
    assert [c.talk_s for c in await leg_credit(sessions, "c3", now=at(50))] == [30.0]
    await recorder.call_ended("c3", "answered", None, "caller", at(100))
    # The unanswered offer earns nothing and is not listed.
    assert await leg_credit(sessions, "c3") == [LegCredit("leg-a", a, "offer", 80.0, 0.0)]


async def test_talk_totals_count_a_leg_in_the_period_it_started(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    a, b = await _two_agents(sessions)
    recorder = CallRecorder(sessions)
    await _transferred_call(recorder, a, b)  # A from 5 s, B from 70 s

    assert await agent_talk_totals(sessions, T0, at(70)) == {a: 65.0}
    assert await agent_talk_totals(sessions, at(70), T0 + DAY) == {b: 60.0}
    assert await agent_talk_totals(sessions, T0 + DAY, T0 + 2 * DAY) == {}


async def test_the_event_log_reads_back_in_order_and_cannot_be_changed(
    db_url: str, sessions: async_sessionmaker[AsyncSession]
) -> None:
    recorder = CallRecorder(sessions)
    await recorder.call_event("c4", "answered", at(5), {"leg_id": "leg-a", "agent_id": 1})
    await recorder.call_event("c4", "enqueued", at(0), {"queue": "sales"})
    await recorder.call_event("c4", "hold", at(5), {"by": "agent", "when": at(5)})
    await recorder.call_event("other", "enqueued", at(1), {})

    log = await call_events(sessions, "c4")

    assert [(e.kind, e.at) for e in log] == [
        ("enqueued", at(0)),
        ("answered", at(5)),  # same instant: the order written
        ("hold", at(5)),
    ]
    assert log[1].detail == {"leg_id": "leg-a", "agent_id": 1}
    assert log[2].detail == {"by": "agent", "when": str(at(5))}
    assert all(e.call_id == "c4" and e.at.tzinfo is not None for e in log)

    changes: list[Executable] = [
        update(CallEventRow).where(CallEventRow.id == log[0].id).values(kind="x"),
        delete(CallEventRow),
    ]
    if db_url.startswith("postgresql"):  # SQLite has no TRUNCATE
        changes.append(text("TRUNCATE call_events"))
    for change in changes:
        with pytest.raises(DBAPIError, match="append-only"):
            async with sessions.begin() as session:
                await session.execute(change)
    assert await call_events(sessions, "c4") == log


async def test_last_agent_states_are_each_agents_newest_row(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    a, b = await _two_agents(sessions)
    recorder = CallRecorder(sessions)
    await recorder.agent_state_changed(a, "not_ready", "lunch", at(30))
    await recorder.agent_state_changed(a, "ready", None, at(10))  # older, written later
    await recorder.agent_state_changed(b, "ready", None, at(0))
    await recorder.agent_state_changed(b, "ringing", None, at(3))
    await recorder.agent_state_changed(b, "talking", None, at(3))  # same instant: by id

    assert await recorder.last_agent_states() == {
        a: ("not_ready", "lunch", at(30)),
        b: ("talking", None, at(3)),
    }


async def test_last_agent_states_of_an_empty_history(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    assert await CallRecorder(sessions).last_agent_states() == {}


async def test_migration_0007_fills_in_old_answered_offers_and_goes_down_again(
    db_url: str, sessions: async_sessionmaker[AsyncSession]
) -> None:
    a, b = await _two_agents(sessions)
    recorder = CallRecorder(sessions)
    await _transferred_call(recorder, a, b)
    await recorder.leg_added("c1", "leg-out", None, "Local/+1555@x", "transfer", at(90))
    await recorder.call_event("c1", "ended", at(130), {})

    # Down: the leg with no agent cannot be kept; the rest is.
    await asyncio.to_thread(command.downgrade, alembic_config(db_url), "0006")
    async with sessions.begin() as session:
        legs = (await session.execute(text("SELECT leg_id FROM call_offers"))).scalars().all()
        assert sorted(legs) == ["leg-a", "leg-b"]
        # An offer answered before 0007: its agent talked from the answer to the end.
        await session.execute(text("DELETE FROM call_offers WHERE leg_id = 'leg-b'"))

    await asyncio.to_thread(run_migrations, db_url)
    assert await leg_credit(sessions, "c1") == [LegCredit("leg-a", a, "offer", 125.0, 0.0)]
    assert await call_events(sessions, "c1") == []
    await recorder.call_event("c1", "again", at(131), {})
    with pytest.raises(DBAPIError, match="append-only"):
        async with sessions.begin() as session:
            await session.execute(delete(CallEventRow))
    assert [e.kind for e in await call_events(sessions, "c1")] == ["again"]
