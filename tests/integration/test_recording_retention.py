"""The retention job on a real database (SQLite and PostgreSQL) and a real
store: what is past its queue's retention is deleted, file and all, with an
audit row each; nothing else is touched."""

from __future__ import annotations

import asyncio
import io
import wave
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from callcenter.db.audit import AuditTrail
from callcenter.db.migrate import run_migrations
from callcenter.db.models import CallRecord
from callcenter.db.recordings import Audience, NewRecording, save_recording, search_recordings
from callcenter.db.session import Sessions, make_engine, make_session_factory
from callcenter.recording_retention import apply_retention
from recordings import RecordingStore
from routing import RoutingRules
from routing.rules import QueueRule, Recording

NOW = datetime(2026, 12, 5, 12, 0, tzinfo=UTC)


def tone(seconds: float) -> bytes:
    out = io.BytesIO()
    with wave.open(out, "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(8000)
        audio.writeframes(b"\x10\x00" * int(8000 * seconds))
    return out.getvalue()


@pytest.fixture
async def sessions(db_url: str) -> AsyncIterator[Sessions]:
    await asyncio.to_thread(run_migrations, db_url)
    engine = make_engine(db_url)
    yield make_session_factory(engine)
    await engine.dispose()


async def keep(
    sessions: Sessions,
    store: RecordingStore,
    call_id: str,
    queue: str,
    age_days: float,
    retention_days: int | None,
) -> tuple[int, Path]:
    started = NOW - timedelta(days=age_days)
    async with sessions.begin() as session:
        session.add(
            CallRecord(
                id=call_id,
                pbx="pbx1",
                linkedid=f"l-{call_id}",
                queue=queue,
                caller_number="+15550100",
                enqueued_at=started,
            )
        )
    stored = store.save(call_id, started, tone(0.5))
    recording_id = await save_recording(
        sessions,
        NewRecording(
            call_id=call_id,
            queue=queue,
            started_at=started,
            duration_s=0.5,
            size_bytes=stored.size_bytes,
            sha256=stored.sha256,
            path=stored.relative_path,
            encrypted=stored.encrypted,
            sections=[],
            pauses=[],
            missing_legs=[],
            retention_days=retention_days,
            agent_ids=[],
        ),
    )
    return recording_id, store.path_of(stored.relative_path)


RULES = RoutingRules(
    queues=[
        QueueRule(name="sales", skills={"sales": 1}, recording=Recording(retention_days=30)),
        QueueRule(name="support", skills={"support": 1}, recording=Recording(retention_days=None)),
        QueueRule(name="billing", skills={"billing": 1}),
    ]
)


async def test_retention_deletes_what_is_past_its_queues_retention_and_nothing_else(
    sessions: Sessions, tmp_path: Path
) -> None:
    store = RecordingStore(tmp_path / "store", None)
    old_sale, old_sale_file = await keep(sessions, store, "c-old-sale", "sales", 31, 90)
    edge_sale, edge_sale_file = await keep(sessions, store, "c-edge-sale", "sales", 30, 90)
    new_sale, new_sale_file = await keep(sessions, store, "c-new-sale", "sales", 2, 90)
    old_support, old_support_file = await keep(sessions, store, "c-support", "support", 900, 7)
    # billing is no longer recorded: its recordings keep the retention they had
    old_bill, old_bill_file = await keep(sessions, store, "c-old-bill", "billing", 11, 10)
    new_bill, new_bill_file = await keep(sessions, store, "c-new-bill", "billing", 9, 10)
    audit = AuditTrail(sessions)

    deleted = await apply_retention(sessions, store, RULES, audit, NOW)

    assert sorted(deleted) == sorted([old_sale, old_bill])
    assert not old_sale_file.exists() and not old_bill_file.exists()
    for kept_file in (edge_sale_file, new_sale_file, old_support_file, new_bill_file):
        assert kept_file.exists()
    visible = await search_recordings(sessions, Audience())
    assert sorted(r["id"] for r in visible) == sorted([edge_sale, new_sale, old_support, new_bill])
    trail = await audit.recent(action="recording.deleted")
    assert sorted(int(e.target) for e in trail) == sorted(deleted)
    assert {e.username for e in trail} == {"(retention)"}
    assert await apply_retention(sessions, store, RULES, audit, NOW) == [], "nothing twice"
