"""The history writer's cost per call: the sixteen steps of an answered call
(enqueued, offered, answered, ended, the agent's states, the event log) written
through ``OrderedWriter`` and ``CallRecorder`` in batches, as the service does.

Why it is a benchmark of its own: under load the history was the largest cost
on the service's event loop (``docs/performance.md``); this isolates it from
the AMI, the pages and the CRM.
"""

from __future__ import annotations

import asyncio
import functools
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

STEPS_PER_CALL = 16


def _steps(
    records: Any, i: int, agent_id: int, at: datetime
) -> list[Callable[[], Awaitable[None]]]:
    call_id, leg_id, p = f"c{i}", f"l{i}", functools.partial
    return [
        p(records.call_enqueued, call_id, "pbx1", f"pbx1-{i}.0", "sales", "+15550100", None, at),
        p(records.call_event, call_id, "enqueued", at, {"queue": "sales"}),
        p(records.offer_made, call_id, leg_id, agent_id, "PJSIP/a1", at),
        p(records.call_event, call_id, "offered", at, {"agent_id": agent_id}),
        p(records.agent_state_changed, agent_id, "reserved", None, at),
        p(records.offer_result, leg_id, "answered", at),
        p(records.call_answered, call_id, agent_id, "PJSIP/a1", at),
        p(records.leg_connected, leg_id, at),
        p(records.call_event, call_id, "answered", at, {}),
        p(records.agent_state_changed, agent_id, "busy", None, at),
        p(records.call_event, call_id, "talking", at, {}),
        p(records.leg_left, leg_id, at, 0.0),
        p(records.call_ended, call_id, "answered", None, "caller", at),
        p(records.call_event, call_id, "ended", at, {}),
        p(records.agent_state_changed, agent_id, "wrap_up", None, at),
        p(records.agent_state_changed, agent_id, "ready", None, at),
    ]


async def _measure(url: str, calls: int) -> dict[str, Any]:
    from sqlalchemy import func, select

    from callcenter.db.models import Agent, CallRecord
    from callcenter.db.records import CallRecorder
    from callcenter.db.session import make_engine, make_session_factory
    from callcenter.orchestration.writer import OrderedWriter

    engine = make_engine(url)
    try:
        sessions = make_session_factory(engine)
        async with sessions.begin() as session:
            session.add(Agent(login="bench", name="Bench Agent", dial_string="PJSIP/a1"))
        async with sessions() as session:
            agent_id = int(await session.scalar(select(Agent.id)) or 0)
        records = CallRecorder(sessions)
        writer = OrderedWriter(batch=records.batch, backlog_warning=10**9)
        writer.start()
        began = datetime.now(UTC)
        cpu, wall = time.process_time(), time.perf_counter()
        for i in range(calls):
            for step in _steps(records, i, agent_id, began + timedelta(seconds=i)):
                writer.submit("bench", step)
            if i % 50 == 0:
                await asyncio.sleep(0)  # the writer runs beside the submitting
        await writer.flush()
        cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
        await writer.stop()
        async with sessions() as session:
            closed = await session.scalar(
                select(func.count()).select_from(CallRecord).where(CallRecord.ended_at.is_not(None))
            )
    finally:
        await engine.dispose()
    return {
        "calls": calls,
        "steps": calls * STEPS_PER_CALL,
        "wall_s": round(wall, 2),
        "cpu_s": round(cpu, 2),
        "cpu_ms_per_call": round(cpu * 1000 / calls, 2),
        "calls_per_s": round(calls / wall, 1),
        #: records written whole: a figure for a writer that dropped steps is no figure
        "records_closed": int(closed or 0),
    }


def run(*, calls: int, databases: list[str]) -> dict[str, Any]:
    from callcenter.db import scratch
    from callcenter.db.migrate import run_migrations

    results: dict[str, Any] = {}
    skipped: dict[str, str] = {}
    for kind in databases:
        with tempfile.TemporaryDirectory(prefix="callcenter-history-") as tmp:
            if kind == "sqlite":
                url = f"sqlite+aiosqlite:///{Path(tmp) / 'history.db'}"
                run_migrations(url)
                results[kind] = asyncio.run(_measure(url, calls))
                continue
            if not scratch.postgres_reachable():
                skipped[kind] = "PostgreSQL not reachable"
                continue
            name = scratch.new_name("cc_history")
            scratch.create_database(name)
            try:
                url = scratch.URL.format(name=name)
                run_migrations(url)
                results[kind] = asyncio.run(_measure(url, calls))
            finally:
                scratch.drop_database(name)
    return {"benchmark": "history", "results": results, "skipped": skipped}
