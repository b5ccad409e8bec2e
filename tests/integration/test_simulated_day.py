"""Ten minutes of the demo scenario through the whole service, time compressed 100x:
every call the simulator placed ends answered or abandoned, with a closed call
record, and nothing is left open anywhere (simulator, orchestrator, database).

The service is the real one (``create_app`` served by uvicorn, as ``run_service``
does), its simulator on a loopback TCP port, a seeded SQLite database. Nothing
here measures wall time: the waits are deadlines for a state to be reached.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import select

from agents import AgentState
from callcenter.db.models import AgentStateChange, CallOffer, CallRecord
from callcenter.db.session import make_engine, make_session_factory
from callcenter.demo import WRAP_UP, DemoSimulator
from callcenter.settings import Settings
from tests.conftest import free_port, run_service

DEMO = Path("config/scenarios/demo.toml")
SCALE = 0.01
DAY_S = 600
SEED = 11


def _day_settings(db_url: str, tmp_path: Path) -> Settings:
    # The demo scenario as shipped, plus a duration (the demo has none: it runs
    # until stopped). Only the scenario and the time scale are set, so none of the
    # one-number settings override the scenario.
    scenario = tmp_path / "day.toml"
    scenario.write_text(f"duration_s = {DAY_S}\n" + DEMO.read_text(encoding="utf-8"))
    return Settings(
        database_url=db_url,
        http_port=free_port(),
        pbx=[{"name": "pbx1", "host": "127.0.0.1", "port": free_port()}],
        simulator={
            "enabled": True,
            "callers": True,
            "auto_agents": True,
            "scenario": scenario,
            "time_scale": SCALE,
            "seed": SEED,
        },
        # The service's own timers shrink with the scenario's.
        ring_timeout_s=15 * SCALE,
    )


def _reached(condition: Callable[[], Any], timeout_s: float = 30.0) -> bool:
    """Poll ``condition`` until it holds or the deadline passes (a deadline, not a
    timing assertion: the state is what is checked)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            if condition():
                return True
        except RuntimeError:  # a dict of the service's thread changed mid-read
            pass
        time.sleep(0.05)
    return False


def _wrap_ups(db_url: str) -> int:
    async def read() -> int:
        engine = make_engine(db_url)
        try:
            async with make_session_factory(engine)() as session:
                rows = await session.execute(
                    select(AgentStateChange).where(AgentStateChange.reason == WRAP_UP)
                )
                return len(rows.all())
        finally:
            await engine.dispose()

    return asyncio.run(read())


def _records(db_url: str) -> tuple[list[CallRecord], list[CallOffer]]:
    async def read() -> tuple[list[CallRecord], list[CallOffer]]:
        engine = make_engine(db_url)
        try:
            async with make_session_factory(engine)() as session:
                records = (await session.execute(select(CallRecord))).scalars().all()
                offers = (await session.execute(select(CallOffer))).scalars().all()
                return list(records), list(offers)
        finally:
            await engine.dispose()

    return asyncio.run(read())


def _open_calls(db_url: str) -> str:
    """What is left open, to name in a failure: each call record without an end,
    with its offers (leg, phone, result)."""
    records, offers = _records(db_url)
    lines = []
    for record in records:
        if record.ended_at is None:
            legs = [(o.leg_id, o.agent_target, o.result) for o in offers if o.call_id == record.id]
            lines.append(f"linkedid={record.linkedid} queue={record.queue} offers={legs}")
    return "\n".join(lines) or "(every call record is closed)"


def test_every_call_of_a_simulated_day_is_accounted_for(seeded_db_url: str, tmp_path: Path) -> None:
    settings = _day_settings(seeded_db_url, tmp_path)
    with contextmanager(run_service)(settings) as service:
        runtime = service.app.state.runtime
        simulator = runtime.simulator
        assert isinstance(simulator, DemoSimulator)
        assert _reached(lambda: simulator.callers is not None), "the callers never started"
        callers = simulator.callers
        assert callers is not None
        assert _reached(callers.finished.is_set, timeout_s=120), "the simulated day never ended"
        placed = {p.linkedid: p.call for p in list(callers.placed)}

        def settled() -> bool:
            records, _ = _records(seeded_db_url)
            return (
                simulator.active_calls() == 0
                and runtime.orchestrator.live_call_count() == 0
                and len(records) >= len(placed)
                and all(r.ended_at for r in records)
            )

        if not _reached(settled):
            busy = [
                (view.login, view.state.value, view.call_id)
                for agent_id in runtime.orchestrator.agent_ids()
                if (view := runtime.orchestrator.agent_view(agent_id)).state
                in (AgentState.RINGING, AgentState.ON_CALL)
            ]
            raise AssertionError(
                f"calls left open after the day: simulator has {simulator.active_calls()}, "
                f"ACD has {runtime.orchestrator.live_call_count()} live; agents stuck: {busy}\n"
                + _open_calls(seeded_db_url)
            )

    records, offers = _records(seeded_db_url)
    by_linkedid = {r.linkedid: r for r in records}
    # A 10-minute demo day has about 200 calls (1,200 an hour).
    assert len(placed) > 100
    assert set(by_linkedid) == set(placed), "one call record per placed call, no more"
    for linkedid, call in placed.items():
        record = by_linkedid[linkedid]
        assert record.pbx == "pbx1"
        assert record.queue == call.queue, linkedid
        assert record.ended_at is not None, linkedid
        assert record.outcome in ("answered", "abandoned"), (linkedid, record.outcome)
        if record.outcome == "answered":
            assert record.answered_at is not None and record.agent_id is not None, linkedid
        else:
            assert record.abandon_phase in ("waiting", "ringing"), linkedid
    assert all(o.result is not None and o.ended_at is not None for o in offers), [
        (o.leg_id, o.result) for o in offers if o.result is None
    ]
    assert [r.outcome for r in records].count("answered") > 0
    assert _wrap_ups(seeded_db_url) > 0, "the simulated agents wrapped up after their calls"
