"""One call, end to end, over real TCP: simulator -> AMI -> router -> Originate ->
bridge -> hangup -> call record in the database."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
from sqlalchemy import select

from agents import AgentState
from callcenter.db.directory import load_agents
from callcenter.db.models import CallOffer, CallRecord, Interaction, PhoneNumber
from callcenter.db.session import make_engine, make_session_factory
from callcenter.service import create_app
from tests.conftest import demo_settings


async def wait_for(predicate, timeout_s: float = 20.0):  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = await predicate()
        if value:
            return value
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


async def test_one_call_from_arrival_to_a_written_call_record(seeded_db_url_both: str) -> None:
    settings = demo_settings(seeded_db_url_both)
    engine = make_engine(seeded_db_url_both)
    sessions = make_session_factory(engine)
    agents = await load_agents(sessions)
    sales_agent = next(a for a in agents if a.skills.get("sales"))
    async with sessions() as session:
        phone = (
            (
                await session.execute(
                    select(PhoneNumber).where(
                        PhoneNumber.customer_id.in_(select(Interaction.customer_id))
                    )
                )
            )
            .scalars()
            .first()
        )
        assert phone is not None
        interactions_before = len(
            (
                await session.execute(
                    select(Interaction).where(Interaction.customer_id == phone.customer_id)
                )
            ).all()
        )

    app = create_app(settings)
    async with app.router.lifespan_context(app):
        runtime = app.state.runtime
        link = runtime.links["pbx1"]
        await wait_for(lambda: _true(link.connected))
        await runtime.orchestrator.set_agent_state(sales_agent.agent_id, AgentState.READY)
        linkedid = runtime.simulator.place_call(
            queue="sales", caller_number=phone.e164, caller_name="Test Caller", talk_s=0.5
        )

        async def ended() -> CallRecord | None:
            async with sessions() as session:
                record = (
                    await session.execute(select(CallRecord).where(CallRecord.linkedid == linkedid))
                ).scalar_one_or_none()
            return record if record is not None and record.ended_at is not None else None

        record = await wait_for(ended)
        await wait_for(
            lambda: _true(
                runtime.orchestrator.agent_view(sales_agent.agent_id).state is AgentState.READY
            )
        )

    async with sessions() as session:
        offers = (
            (await session.execute(select(CallOffer).where(CallOffer.call_id == record.id)))
            .scalars()
            .all()
        )
        interactions_after = len(
            (
                await session.execute(
                    select(Interaction).where(Interaction.customer_id == phone.customer_id)
                )
            ).all()
        )
    await engine.dispose()

    assert record.queue == "sales"
    assert record.caller_number == phone.e164
    assert record.outcome == "answered"
    assert record.agent_id == sales_agent.agent_id
    assert record.agent_target == sales_agent.dial_string
    assert record.ended_by == "caller"
    assert record.answered_at is not None and record.answered_at >= record.enqueued_at
    assert [(o.agent_id, o.result) for o in offers] == [(sales_agent.agent_id, "answered")]
    assert interactions_after == interactions_before + 1


async def _true(value: bool) -> bool:
    return value


async def test_the_service_starts_on_an_empty_database_and_says_it_is_ready(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
    app = create_app(demo_settings(url, callers=True, auto_agents=True))
    async with app.router.lifespan_context(app):
        link = app.state.runtime.links["pbx1"]
        await wait_for(lambda: _true(link.connected))
        async with httpx.AsyncClient(
            transport=httpx.ASGITransport(app=app), base_url="http://test"
        ) as client:
            ready = await client.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["checks"] == {"database": True, "pbx:pbx1": True}
