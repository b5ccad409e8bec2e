"""A call whose arrival an earlier run journaled but never wrote (it crashed,
or the database was down when it stopped) is in the history after the next
start, and is closed with a reason once the PBX says it is gone."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from callcenter.arrival_journal import FileArrivalJournal, directory_for
from callcenter.db.records import LOST, get_call
from callcenter.db.session import make_engine, make_session_factory
from callcenter.orchestration.ports import Arrival
from callcenter.service import create_app
from tests.conftest import demo_settings


async def test_a_call_journaled_but_never_written_is_recorded_and_closed_at_the_next_start(
    seeded_db_url_both: str, tmp_path: Path
) -> None:
    url = seeded_db_url_both
    settings = demo_settings(url)
    settings.journal_dir = tmp_path / "journal"
    journal_of_the_database = directory_for(settings.journal_dir, url)
    arrived = datetime.now(UTC) - timedelta(seconds=5)
    earlier_run = FileArrivalJournal(journal_of_the_database)
    earlier_run.note(Arrival("gone-call", "pbx1", "1765000000.7", "sales", "+14155550123", arrived))
    earlier_run.close()  # its record never written: the file stays

    engine = make_engine(url)
    sessions = make_session_factory(engine)
    app = create_app(settings)
    try:
        async with app.router.lifespan_context(app):
            deadline = time.monotonic() + 20
            while True:
                call = await get_call(sessions, "gone-call")
                if call is not None and call.ended_at is not None:
                    break
                assert time.monotonic() < deadline, f"not closed: {call}"
                await asyncio.sleep(0.05)
            # nothing of the earlier run is left to recover again
            assert FileArrivalJournal(journal_of_the_database).left_behind().arrivals == []
    finally:
        await engine.dispose()
    assert (call.queue, call.caller_number, call.enqueued_at) == (
        "sales",
        "+14155550123",
        arrived,
    )
    assert call.outcome == LOST
