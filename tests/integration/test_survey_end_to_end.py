"""The post-call survey through the whole service over real TCP: a known customer
calls a queue whose rules ask for a survey, the agent hangs up first, the PBX
simulator sends the caller to ``[callcenter-survey]`` (Bridge()'s F option), the
caller keys a score, the UserEvent reaches the tracker, and the score lands on
the call record, on the customer's history entry and in the CSAT report."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import select

from agents import AgentState
from callcenter.ami.message import Message
from callcenter.db.directory import load_agents
from callcenter.db.models import CallRecord, Interaction, PhoneNumber
from callcenter.db.records import call_events
from callcenter.db.reports import load_calls
from callcenter.db.routing_rules import publish_rules
from callcenter.db.session import Sessions, make_engine, make_session_factory
from callcenter.pbxsim import PhoneBehaviour
from callcenter.pbxsim.probe import AmiProbe
from callcenter.reports.csat import csat_by_queue
from callcenter.reports.periods import Period
from tests.conftest import eventually
from tests.integration.test_routing_live import SECRET, sales_only, service_with_simulator


async def _known_customer(sessions: Sessions) -> PhoneNumber:
    async with sessions() as session:
        phone = await session.scalar(select(PhoneNumber).order_by(PhoneNumber.id).limit(1))
    assert phone is not None, "the demo data has customers"
    return phone


async def _ended(sessions: Sessions, linkedid: str) -> CallRecord | None:
    async with sessions() as session:
        row = await session.scalar(select(CallRecord).where(CallRecord.linkedid == linkedid))
    return row if row is not None and row.ended_at is not None else None


async def _survey_call(
    db_url: str, *, survey: bool, key: str | None
) -> tuple[CallRecord, Interaction | None, list[str], list[Message]]:
    """One sales call that the agent hangs up first; the caller, if asked, keys
    ``key`` (None: hangs up instead). Returns its record, its history entry,
    its event log's kinds and what the PBX said about the caller's channel."""
    engine = make_engine(db_url)
    sessions = make_session_factory(engine)
    await publish_rules(sessions, sales_only(1, survey=survey), author="test")
    agent = min(
        (a for a in await load_agents(sessions) if a.skills.get("sales")),
        key=lambda a: a.agent_id,
    )
    phone = await _known_customer(sessions)
    async with service_with_simulator(db_url) as (app, sim, _):
        sim.set_phone_behaviour(
            agent.dial_string, PhoneBehaviour(answer_after_s=0.05, hangup_after_s=0.3)
        )
        probe = await AmiProbe.connect("127.0.0.1", sim.port)
        await probe.login("callcenter", SECRET)
        desk = app.state.runtime.orchestrator
        await desk.set_agent_state(agent.agent_id, AgentState.READY)
        linkedid = sim.place_call(
            queue="sales", caller_number=phone.e164, talk_s=30, survey_key=key
        )

        async def ended() -> bool:
            return await _ended(sessions, linkedid) is not None

        await eventually(ended, "the call ends once the caller has hung up")
        await desk.settle()
        record = await _ended(sessions, linkedid)
        assert record is not None
        events = [m for m in probe.events() if m.get("Linkedid") == linkedid]
        await probe.close()
    async with sessions() as session:
        entry = await session.scalar(select(Interaction).where(Interaction.call_id == record.id))
    kinds = [e.kind for e in await call_events(sessions, record.id)]
    await engine.dispose()
    assert record.outcome == "answered" and record.ended_by == "agent"
    assert record.agent_id == agent.agent_id
    assert entry is not None, "a known customer's answered call joins their history"
    return record, entry, kinds, events


def _surveyed(events: list[Message]) -> bool:
    return any(m.get("Context") == "callcenter-survey" for m in events)


async def test_a_score_keyed_after_the_agent_hung_up_is_stored_and_reported(
    seeded_db_url_both: str,
) -> None:
    seeded_db_url = seeded_db_url_both
    record, entry, kinds, events = await _survey_call(seeded_db_url, survey=True, key="4")
    assert _surveyed(events)
    [user_event] = [
        m for m in events if m.event == "UserEvent" and m.get("UserEvent") == "CallCenterSurvey"
    ]
    assert user_event["Score"] == "4"
    assert record.csat_score == 4
    assert entry is not None and entry.csat_score == 4
    assert "survey_answered" in kinds

    engine = make_engine(seeded_db_url)
    now = datetime.now(UTC)
    period = Period(now - timedelta(hours=1), now + timedelta(minutes=1))
    calls = await load_calls(make_session_factory(engine), period, queues={"sales"})
    await engine.dispose()
    assert csat_by_queue(calls, period) == {"sales": (4.0, 1)}


@pytest.mark.parametrize(
    "key", [None, "9"], ids=["caller hangs up during the survey", "a key that is not 1-5"]
)
async def test_a_survey_left_unanswered_stores_no_score(
    seeded_db_url: str, key: str | None
) -> None:
    record, entry, kinds, events = await _survey_call(seeded_db_url, survey=True, key=key)
    assert _surveyed(events), "the caller was asked"
    assert record.csat_score is None and entry is not None and entry.csat_score is None
    assert "survey_answered" not in kinds


async def test_a_queue_without_a_survey_hangs_the_caller_up_with_the_agent(
    seeded_db_url: str,
) -> None:
    record, _, kinds, events = await _survey_call(seeded_db_url, survey=False, key="5")
    assert not _surveyed(events), "the caller's dialplan ends as in capture 06"
    assert record.csat_score is None and "survey_answered" not in kinds
