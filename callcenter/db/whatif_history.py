"""The recorded traffic a what-if replays: calls and agents' logged-in spans.

Three queries whatever the period's size: the calls (with their customer's tier
and value), the state changes in the period plus each agent's last change
before it (were they logged in when it began?), and the agents' current skills.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime

from sqlalchemy import func, select

from callcenter.db.models import Agent, AgentStateChange, CallRecord, Customer
from callcenter.db.session import Sessions
from routing.whatif import PastCall, PastShift

LOGGED_OUT = "logged_out"


async def load_history(
    sessions: Sessions, *, since: datetime, until: datetime
) -> tuple[list[PastCall], list[PastShift]]:
    """Calls enqueued in [since, until) and the agents' logged-in spans in it."""
    async with sessions() as session:
        calls = await session.execute(
            select(
                CallRecord.id,
                CallRecord.queue,
                CallRecord.enqueued_at,
                CallRecord.answered_at,
                CallRecord.ended_at,
                CallRecord.outcome,
                Customer.tier,
                Customer.lifetime_value,
            )
            .outerjoin(Customer, Customer.id == CallRecord.customer_id)
            .where(CallRecord.enqueued_at >= since, CallRecord.enqueued_at < until)
            .order_by(CallRecord.enqueued_at, CallRecord.id)
        )
        past_calls = [_past_call(*row) for row in calls]

        before = (
            select(
                AgentStateChange.agent_id,
                AgentStateChange.state,
                func.row_number()
                .over(
                    partition_by=AgentStateChange.agent_id,
                    order_by=(AgentStateChange.at.desc(), AgentStateChange.id.desc()),
                )
                .label("newest"),
            )
            .where(AgentStateChange.at < since)
            .subquery()
        )
        at_start = {
            agent_id: state
            for agent_id, state in await session.execute(
                select(before.c.agent_id, before.c.state).where(before.c.newest == 1)
            )
        }
        changes = await session.execute(
            select(AgentStateChange.agent_id, AgentStateChange.state, AgentStateChange.at)
            .where(AgentStateChange.at >= since, AgentStateChange.at < until)
            .order_by(AgentStateChange.agent_id, AgentStateChange.at, AgentStateChange.id)
        )
        timelines: dict[int, list[tuple[str, datetime]]] = defaultdict(list)
        for agent_id, state, at in changes:
            timelines[agent_id].append((state, at))
        agents = {agent.id: agent for agent in await session.scalars(select(Agent))}
        profiles = {
            agent_id: ({s.skill.name: s.proficiency for s in agent.skills}, agent.location)
            for agent_id, agent in agents.items()
        }

    shifts: list[PastShift] = []
    for agent_id in sorted(set(at_start) | set(timelines)):
        if agent_id not in profiles:
            continue
        skills, location = profiles[agent_id]
        logged_in_at = since if at_start.get(agent_id, LOGGED_OUT) != LOGGED_OUT else None
        for state, at in timelines.get(agent_id, []):
            if state == LOGGED_OUT and logged_in_at is not None:
                shifts.append(_shift(agent_id, skills, location, logged_in_at, at))
                logged_in_at = None
            elif state != LOGGED_OUT and logged_in_at is None:
                logged_in_at = at
        if logged_in_at is not None:
            shifts.append(_shift(agent_id, skills, location, logged_in_at, until))
    return past_calls, shifts


def _past_call(
    call_id: str,
    queue: str,
    enqueued_at: datetime,
    answered_at: datetime | None,
    ended_at: datetime | None,
    outcome: str | None,
    tier: str | None,
    lifetime_value: object,
) -> PastCall:
    handle_s = None
    if answered_at is not None and ended_at is not None:
        handle_s = max(0.0, (ended_at - answered_at).total_seconds())
    patience_s = None
    if outcome == "abandoned" and answered_at is None and ended_at is not None:
        patience_s = max(0.0, (ended_at - enqueued_at).total_seconds())
    return PastCall(
        call_id=call_id,
        queue=queue,
        arrived_at=enqueued_at.timestamp(),
        tier=tier,
        lifetime_value=float(lifetime_value or 0),  # type: ignore[arg-type]
        handle_s=handle_s,
        patience_s=patience_s,
    )


def _shift(
    agent_id: int, skills: dict[str, int], location: str, start: datetime, end: datetime
) -> PastShift:
    return PastShift(agent_id, skills, location, start.timestamp(), end.timestamp())
