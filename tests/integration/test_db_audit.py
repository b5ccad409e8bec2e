"""The audit trail (migration 0008) on SQLite and PostgreSQL: written as given,
read back newest first through its filters, retried when the database hiccups,
and append-only at the database itself."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import pytest_asyncio
from alembic import command
from sqlalchemy import delete, inspect, text, update
from sqlalchemy.exc import DBAPIError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.expression import Executable

from callcenter.db.audit import AuditEvent, AuditTrail
from callcenter.db.migrate import alembic_config, run_migrations
from callcenter.db.models import AuditEventRow
from callcenter.db.session import Sessions, make_engine, make_session_factory

T0 = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)


@pytest_asyncio.fixture
async def sessions(db_url: str) -> AsyncIterator[Sessions]:
    await asyncio.to_thread(run_migrations, db_url)
    engine = make_engine(db_url)
    try:
        yield make_session_factory(engine)
    finally:
        await engine.dispose()


def event(n: int, action: str = "login", username: str = "sue", **changes: Any) -> AuditEvent:
    values: dict[str, Any] = {
        "at": T0 + timedelta(seconds=n),
        "username": username,
        "action": action,
        "target": f"t{n}",
        "detail": {"n": n},
        "user_id": n,
        "address": "127.0.0.1",
        **changes,
    }
    return AuditEvent(**values)


async def test_an_event_reads_back_as_it_was_written(sessions: Sessions) -> None:
    trail = AuditTrail(sessions)
    full = event(
        1,
        "user.roles_changed",
        "root",
        target="sue",
        detail={"before": ["agent"], "after": ["agent", "supervisor"], "note": "Zoë's promotion"},
        user_id=1,
        address="2001:db8::1",
    )
    await trail.record(full)
    bare = AuditEvent(at=T0 + timedelta(seconds=2), username="system", action="service.started")
    await trail.record(bare)

    assert await trail.recent() == [bare, full]
    [_, read] = await trail.recent()
    assert read.at.tzinfo is not None and read.at == T0 + timedelta(seconds=1)
    assert (bare.target, dict(bare.detail), bare.user_id, bare.address) == ("", {}, None, None)


async def test_recent_is_newest_first_and_filters(sessions: Sessions) -> None:
    trail = AuditTrail(sessions)
    actions = ["login", "rules.published", "rules.draft_saved", "login", "user.created"]
    # Written out of order: the order read is by time, not by insertion.
    for n in (3, 0, 4, 1, 2):
        await trail.record(event(n, actions[n], "root" if n % 2 else "sue"))

    def targets(events: list[AuditEvent]) -> list[str]:
        return [e.target for e in events]

    assert targets(await trail.recent()) == ["t4", "t3", "t2", "t1", "t0"]
    assert targets(await trail.recent(limit=2)) == ["t4", "t3"]
    assert await trail.recent(limit=0) == []
    assert targets(await trail.recent(action="login")) == ["t3", "t0"]
    assert targets(await trail.recent(action="rules.")) == ["t2", "t1"]  # a prefix
    assert targets(await trail.recent(action="rules")) == []  # exact otherwise
    assert targets(await trail.recent(username="root")) == ["t3", "t1"]
    assert targets(await trail.recent(action="login", username="sue")) == ["t0"]
    assert targets(await trail.recent(since=T0 + timedelta(seconds=2))) == ["t4", "t3", "t2"]
    assert targets(await trail.recent(since=T0 + timedelta(seconds=9))) == []
    assert targets(await trail.recent(username="root", since=T0 + timedelta(seconds=2))) == ["t3"]


async def test_the_same_instant_keeps_the_order_written(sessions: Sessions) -> None:
    trail = AuditTrail(sessions)
    for n in range(3):
        await trail.record(event(n, at=T0))
    assert [e.target for e in await trail.recent()] == ["t2", "t1", "t0"]


async def test_the_trail_cannot_be_edited_or_deleted(db_url: str, sessions: Sessions) -> None:
    trail = AuditTrail(sessions)
    await trail.record(event(1))
    changes: list[Executable] = [
        update(AuditEventRow).values(username="someone else"),
        delete(AuditEventRow),
    ]
    if db_url.startswith("postgresql"):  # SQLite has no TRUNCATE
        changes.append(text("TRUNCATE audit_events"))
    for change in changes:
        with pytest.raises(DBAPIError, match="append-only"):
            async with sessions.begin() as session:
                await session.execute(change)
    assert await trail.recent() == [event(1)]


class FlakySessions:
    """A session factory whose first ``failures`` transactions fail to start,
    as a busy SQLite file or a PostgreSQL failover would."""

    def __init__(self, sessions: Sessions, failures: int) -> None:
        self.sessions = sessions
        self.failures = failures
        self.attempts = 0

    def begin(self) -> AbstractAsyncContextManager[AsyncSession]:
        self.attempts += 1
        if self.attempts <= self.failures:
            raise OperationalError("INSERT", {}, Exception("database is locked"))
        return self.sessions.begin()

    def __call__(self) -> AsyncSession:
        return self.sessions()


async def test_a_write_is_retried_then_given_up(sessions: Sessions) -> None:
    flaky = FlakySessions(sessions, failures=2)
    await AuditTrail(flaky).record(event(1))  # type: ignore[arg-type]
    assert flaky.attempts == 3
    assert await AuditTrail(sessions).recent() == [event(1)]

    down = FlakySessions(sessions, failures=100)
    with pytest.raises(OperationalError):
        await AuditTrail(down).record(event(2))  # type: ignore[arg-type]
    assert 1 < down.attempts < 10
    assert len(await AuditTrail(sessions).recent()) == 1


async def test_migration_0008_goes_down_and_up_again_keeping_its_triggers(db_url: str) -> None:
    await asyncio.to_thread(run_migrations, db_url)
    await asyncio.to_thread(command.downgrade, alembic_config(db_url), "0007")
    engine = make_engine(db_url)
    try:
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda c: set(inspect(c).get_table_names()))
        assert not tables & {
            "audit_events",
            "reason_codes",
            "disposition_codes",
            "supervisor_queues",
        }
        assert {"call_events", "supervision_events", "users", "queues"} <= tables

        await asyncio.to_thread(run_migrations, db_url)
        sessions = make_session_factory(engine)
        await AuditTrail(sessions).record(event(1))
        with pytest.raises(DBAPIError, match="append-only"):
            async with sessions.begin() as session:
                await session.execute(delete(AuditEventRow))
    finally:
        await engine.dispose()
