"""The supervision audit trail (migration 0006) on SQLite and PostgreSQL: written,
read back newest first, and append-only at the database itself."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import pytest_asyncio
from alembic import command
from sqlalchemy import delete, inspect, text, update
from sqlalchemy.exc import DBAPIError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker
from sqlalchemy.sql.expression import Executable

from callcenter.db.migrate import alembic_config, run_migrations
from callcenter.db.models import SupervisionEventRow
from callcenter.db.session import make_engine, make_session_factory
from callcenter.db.supervision import (
    SupervisionAudit,
    recent_supervision_events,
    record_supervision_event,
)
from callcenter.ports import SupervisionEvent, SupervisionMode

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


def event(n: int, outcome: str = "started", **changes: object) -> SupervisionEvent:
    values: dict[str, object] = {
        "at": T0 + timedelta(seconds=n),
        "user_id": 3,
        "username": "supervisor",
        "call_id": f"call{n}",
        "mode": SupervisionMode.WHISPER,
        "outcome": outcome,
        "agent_id": 7,
        "spy_leg_id": f"spy-call{n}-0a1b2c3d",
        **changes,
    }
    return SupervisionEvent(**values)  # type: ignore[arg-type]


@pytest_asyncio.fixture
async def sessions(db_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    await asyncio.to_thread(run_migrations, db_url)
    engine = make_engine(db_url)
    try:
        yield make_session_factory(engine)
    finally:
        await engine.dispose()


async def test_events_are_read_back_newest_first_as_written(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    audit = SupervisionAudit(sessions)
    await audit.record(event(1))
    await audit.record(
        event(3, "refused:no_such_call", agent_id=None, spy_leg_id=None, call_id="nosuchcall")
    )
    await audit.record(event(2, "failed:link_down", mode=SupervisionMode.BARGE))

    newest = await audit.recent(2)

    assert [(e.call_id, e.mode, e.outcome) for e in newest] == [
        ("nosuchcall", SupervisionMode.WHISPER, "refused:no_such_call"),
        ("call2", SupervisionMode.BARGE, "failed:link_down"),
    ]
    assert newest[0].at == T0 + timedelta(seconds=3) and newest[0].at.tzinfo is not None
    assert (newest[0].agent_id, newest[0].spy_leg_id) == (None, None)
    assert newest[1] == event(2, "failed:link_down", mode=SupervisionMode.BARGE, id=newest[1].id)
    assert len(await recent_supervision_events(sessions, 100)) == 3


async def test_the_trail_cannot_be_edited_or_deleted(
    db_url: str, sessions: async_sessionmaker[AsyncSession]
) -> None:
    row_id = await record_supervision_event(sessions, event(1))
    changes: list[Executable] = [
        update(SupervisionEventRow).where(SupervisionEventRow.id == row_id).values(outcome="x"),
        delete(SupervisionEventRow),
    ]
    if db_url.startswith("postgresql"):  # SQLite has no TRUNCATE
        changes.append(text("TRUNCATE supervision_events"))

    for change in changes:
        with pytest.raises(DBAPIError, match="append-only"):
            async with sessions.begin() as session:
                await session.execute(change)

    [kept] = await recent_supervision_events(sessions, 10)
    assert kept.outcome == "started"


async def test_an_unknown_mode_is_refused_by_the_table(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    with pytest.raises(DBAPIError):
        async with sessions.begin() as session:
            session.add(
                SupervisionEventRow(
                    at=T0, user_id=1, username="x", call_id="c", mode="shout", outcome="started"
                )
            )


async def test_migration_0006_goes_down_and_up_again_keeping_its_triggers(db_url: str) -> None:
    await asyncio.to_thread(run_migrations, db_url)
    await asyncio.to_thread(command.downgrade, alembic_config(db_url), "0005")
    engine = make_engine(db_url)
    try:
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
        assert "supervision_events" not in tables
        assert "routing_rule_versions" in tables

        await asyncio.to_thread(run_migrations, db_url)
        sessions = make_session_factory(engine)
        await record_supervision_event(sessions, event(1))
        with pytest.raises(DBAPIError, match="append-only"):
            async with sessions.begin() as session:
                await session.execute(delete(SupervisionEventRow))
    finally:
        await engine.dispose()
