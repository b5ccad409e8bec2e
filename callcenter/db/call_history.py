"""Reading the call history back: finished and live calls with their legs, and an
agent's state changes, for the history pages and the API.

Filters are applied in the query (queue, agent, time range) with a row limit, so
a supervisor asking for "yesterday, my queues" never loads the whole table. An
agent is matched on any leg they had on the call, not only the agent who
answered it: a transfer's receiver sees the call in their own history too.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime
from typing import Any

from sqlalchemy import or_, select

from callcenter.db.models import AgentStateChange, CallOffer, CallRecord
from callcenter.db.session import Sessions


async def call_history(
    sessions: Sessions,
    *,
    queues: Collection[str] | None = None,
    agent_id: int | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Calls enqueued in [since, until), newest first, with their legs and the
    disposition and notes given at wrap-up. ``queues`` None: every queue."""
    query = select(CallRecord)
    if queues is not None:
        query = query.where(CallRecord.queue.in_(sorted(queues)))
    if agent_id is not None:
        legs = select(CallOffer.call_id).where(CallOffer.agent_id == agent_id)
        query = query.where(or_(CallRecord.agent_id == agent_id, CallRecord.id.in_(legs)))
    if since is not None:
        query = query.where(CallRecord.enqueued_at >= since)
    if until is not None:
        query = query.where(CallRecord.enqueued_at < until)
    query = query.order_by(CallRecord.enqueued_at.desc(), CallRecord.id).limit(limit)
    async with sessions() as session:
        records = list(await session.scalars(query))
    return [_call_json(record) for record in records]


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at is not None else None


def _call_json(record: CallRecord) -> dict[str, Any]:
    wait_until = record.answered_at or record.ended_at
    return {
        "call_id": record.id,
        "queue": record.queue,
        "caller_number": record.caller_number,
        "customer_id": record.customer_id,
        "agent_id": record.agent_id,
        "enqueued_at": _iso(record.enqueued_at),
        "answered_at": _iso(record.answered_at),
        "ended_at": _iso(record.ended_at),
        "wait_s": (
            round((wait_until - record.enqueued_at).total_seconds(), 3)
            if wait_until is not None
            else None
        ),
        "outcome": record.outcome,
        "ended_by": record.ended_by,
        "hold_s": record.hold_s,
        "disposition": record.disposition,
        "notes": record.wrap_up_notes,
        "legs": [
            {
                "kind": leg.kind,
                "agent_id": leg.agent_id,
                "offered_at": _iso(leg.offered_at),
                "result": leg.result,
                "answered_at": _iso(leg.answered_at),
                "left_at": _iso(leg.left_at),
            }
            for leg in record.offers
        ],
    }


async def agent_state_history(
    sessions: Sessions,
    agent_ids: Collection[int],
    *,
    since: datetime | None = None,
    limit: int = 200,
) -> list[dict[str, Any]]:
    """State changes of these agents, newest first."""
    query = select(AgentStateChange).where(AgentStateChange.agent_id.in_(sorted(agent_ids)))
    if since is not None:
        query = query.where(AgentStateChange.at >= since)
    query = query.order_by(AgentStateChange.at.desc(), AgentStateChange.id.desc()).limit(limit)
    async with sessions() as session:
        rows = list(await session.scalars(query))
    return [
        {
            "agent_id": row.agent_id,
            "state": row.state,
            "reason": row.reason,
            "at": row.at.isoformat(),
        }
        for row in rows
    ]
