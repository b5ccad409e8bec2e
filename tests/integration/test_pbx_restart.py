"""Asterisk restarts under the service: what was before ends, what comes after is new.

After a restart Asterisk reuses channel names (its counters start again) and,
within the same second, even Uniqueids and Linkedids. The service must close
every call it knew (how they ended is unknown: ``lost_during_disconnect``), free
their agents, and treat the calls that follow as new calls with records of their
own, never as the old ones.
"""

from __future__ import annotations

import pytest
from sqlalchemy import select

from agents import AgentState
from callcenter.db.directory import load_agents
from callcenter.db.models import CallRecord
from callcenter.db.session import make_engine, make_session_factory
from callcenter.pbxsim.channels import ChannelTable
from callcenter.service import create_app
from tests.conftest import demo_settings, eventually


async def test_calls_before_a_restart_end_lost_and_calls_after_it_are_new(
    seeded_db_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Pin the Uniqueid's epoch so the restart lands "within the same second":
    # the first call after it then gets the very Linkedid of the first before it.
    def same_second(table: ChannelTable) -> str:
        return f"{table._system_name}-1795400000.{next(table._ids)}"

    monkeypatch.setattr(ChannelTable, "new_uniqueid", same_second)
    settings = demo_settings(seeded_db_url, answer_delay_s=0.05)
    engine = make_engine(seeded_db_url)
    sessions = make_session_factory(engine)
    agents = await load_agents(sessions)
    sales = next(a for a in agents if a.skills.get("sales"))

    app = create_app(settings)
    async with app.router.lifespan_context(app):
        runtime = app.state.runtime
        desk, link, pbx = runtime.orchestrator, runtime.links["pbx1"], runtime.simulator
        await link.wait_in_step(10)
        await desk.set_agent_state(sales.agent_id, AgentState.READY)
        talking = pbx.place_call(queue="sales", caller_number="+12025550101", talk_s=60)

        async def on_call() -> bool:
            return desk.agent_view(sales.agent_id).state is AgentState.ON_CALL

        await eventually(on_call, "the first call is answered")
        pbx.place_call(queue="sales", caller_number="+12025550102", talk_s=60)

        async def both_known() -> bool:
            return bool(desk.live_call_count() == 2)

        await eventually(both_known, "the second call waits")

        await pbx.restart(down_s=0.1)

        async def freed() -> bool:
            view = desk.agent_view(sales.agent_id)
            return link.in_step and desk.live_call_count() == 0 and view.state is AgentState.READY

        await eventually(freed, "the old calls are closed and the agent is free again")

        # The same names, and within the same second the same ids, come back.
        after = pbx.place_call(queue="sales", caller_number="+12025550103", talk_s=0.3)
        assert after == talking, "the restart recycled the Linkedid"

        async def answered_and_over() -> bool:
            async with sessions() as session:
                rows = (await session.scalars(select(CallRecord))).all()
            return any(r.caller_number == "+12025550103" and r.ended_at for r in rows)

        await eventually(answered_and_over, "the call after the restart is answered and ends")
        await desk.settle()

    async with sessions() as session:
        records = {r.caller_number: r for r in (await session.scalars(select(CallRecord))).all()}
    await engine.dispose()
    assert len(records) == 3
    before_talking, before_waiting = records["+12025550101"], records["+12025550102"]
    assert before_talking.outcome == "lost_during_disconnect"
    assert before_talking.answered_at is not None, "its answer stays on record"
    assert before_waiting.outcome == "lost_during_disconnect"
    assert before_waiting.answered_at is None
    new = records["+12025550103"]
    assert new.outcome == "answered" and new.ended_by == "caller"
    assert new.id not in (before_talking.id, before_waiting.id)
    assert [o.result for o in new.offers] == ["answered"]
