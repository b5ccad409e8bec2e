"""Recordings' metadata: kept, searched and expired.

Who may see which recording is decided here, in the query, so a search never
loads another team's calls: an agent sees the recordings they are heard on, a
supervisor those of their queues (all queues when none is assigned), an admin
every one. The audio itself is in the recordings store; the row says where.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select, update

from callcenter.db.models import CallRecord, RecordingAgent, RecordingRow
from callcenter.db.session import Sessions

MAX_SEARCH = 500


@dataclass(frozen=True, slots=True)
class Audience:
    """Whose recordings a reader may see: ``agent_id`` set, only those they are
    heard on; ``queues`` set, only those queues'; neither, every recording."""

    agent_id: int | None = None
    queues: frozenset[str] | None = None


@dataclass(frozen=True, slots=True)
class NewRecording:
    call_id: str
    queue: str
    started_at: datetime
    duration_s: float
    size_bytes: int
    sha256: str
    path: str
    encrypted: bool
    sections: Sequence[dict[str, Any]]
    pauses: Sequence[dict[str, Any]]
    missing_legs: Sequence[str]
    retention_days: int | None
    agent_ids: Collection[int]


async def save_recording(sessions: Sessions, new: NewRecording) -> int:
    """Store a recording's metadata (the customer from the call record, which
    the CRM lookup filled in); returns its id."""
    async with sessions.begin() as session:
        customer_id = await session.scalar(
            select(CallRecord.customer_id).where(CallRecord.id == new.call_id)
        )
        row = RecordingRow(
            call_id=new.call_id,
            queue=new.queue,
            customer_id=customer_id,
            started_at=new.started_at,
            duration_s=new.duration_s,
            size_bytes=new.size_bytes,
            sha256=new.sha256,
            path=new.path,
            encrypted=new.encrypted,
            sections=json.dumps(list(new.sections)),
            pauses=json.dumps(list(new.pauses)),
            missing_legs=json.dumps(list(new.missing_legs)),
            retention_days=new.retention_days,
        )
        session.add(row)
        await session.flush()
        for agent_id in sorted(set(new.agent_ids)):
            session.add(RecordingAgent(recording_id=row.id, agent_id=agent_id))
        return row.id


def _visible_to(query: Any, audience: Audience) -> Any:
    if audience.agent_id is not None:
        heard = select(RecordingAgent.recording_id).where(
            RecordingAgent.agent_id == audience.agent_id
        )
        query = query.where(RecordingRow.id.in_(heard))
    if audience.queues is not None:
        query = query.where(RecordingRow.queue.in_(sorted(audience.queues)))
    return query


async def search_recordings(
    sessions: Sessions,
    audience: Audience,
    *,
    customer_id: int | None = None,
    agent_id: int | None = None,
    queue: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    disposition: str | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Recordings started in [since, until), newest first, that the audience
    may see and that match every filter given; deleted ones are left out."""
    query = (
        select(RecordingRow, CallRecord.disposition, CallRecord.caller_number)
        .join(CallRecord, CallRecord.id == RecordingRow.call_id)
        .where(RecordingRow.deleted_at.is_(None))
    )
    query = _visible_to(query, audience)
    if customer_id is not None:
        query = query.where(RecordingRow.customer_id == customer_id)
    if agent_id is not None:
        heard = select(RecordingAgent.recording_id).where(RecordingAgent.agent_id == agent_id)
        query = query.where(RecordingRow.id.in_(heard))
    if queue is not None:
        query = query.where(RecordingRow.queue == queue)
    if since is not None:
        query = query.where(RecordingRow.started_at >= since)
    if until is not None:
        query = query.where(RecordingRow.started_at < until)
    if disposition is not None:
        query = query.where(CallRecord.disposition == disposition)
    query = query.order_by(RecordingRow.started_at.desc(), RecordingRow.id.desc())
    query = query.limit(min(max(limit, 1), MAX_SEARCH))
    async with sessions() as session:
        rows = (await session.execute(query)).all()
    return [_json(row, dispo, caller) for row, dispo, caller in rows]


async def get_recording(
    sessions: Sessions, recording_id: int, audience: Audience
) -> dict[str, Any] | None:
    """One recording the audience may see (None also when it exists but is
    someone else's: the caller cannot tell the two apart)."""
    query = (
        select(RecordingRow, CallRecord.disposition, CallRecord.caller_number)
        .join(CallRecord, CallRecord.id == RecordingRow.call_id)
        .where(RecordingRow.id == recording_id)
    )
    query = _visible_to(query, audience)
    async with sessions() as session:
        found = (await session.execute(query)).first()
    if found is None:
        return None
    row, dispo, caller = found
    return _json(row, dispo, caller)


def _json(row: RecordingRow, disposition: str | None, caller: str) -> dict[str, Any]:
    return {
        "id": row.id,
        "call_id": row.call_id,
        "queue": row.queue,
        "customer_id": row.customer_id,
        "caller_number": caller,
        "disposition": disposition,
        "agent_ids": sorted(agent.agent_id for agent in row.agents),
        "started_at": row.started_at.isoformat(),
        "duration_s": round(row.duration_s, 3),
        "size_bytes": row.size_bytes,
        "sha256": row.sha256,
        "encrypted": row.encrypted,
        "sections": json.loads(row.sections),
        "pauses": json.loads(row.pauses),
        "missing_legs": json.loads(row.missing_legs),
        "retention_days": row.retention_days,
        "deleted_at": row.deleted_at.isoformat() if row.deleted_at else None,
        "path": row.path,
    }


@dataclass(frozen=True, slots=True)
class KeptRecording:
    id: int
    call_id: str
    queue: str
    started_at: datetime
    retention_days: int | None
    path: str


async def kept_recordings(sessions: Sessions) -> list[KeptRecording]:
    """Every recording whose file is still kept (retention reads these)."""
    query = select(RecordingRow).where(RecordingRow.deleted_at.is_(None))
    async with sessions() as session:
        rows = list(await session.scalars(query.order_by(RecordingRow.started_at)))
    return [
        KeptRecording(r.id, r.call_id, r.queue, r.started_at, r.retention_days, r.path)
        for r in rows
    ]


async def mark_deleted(sessions: Sessions, recording_id: int, at: datetime) -> None:
    async with sessions.begin() as session:
        await session.execute(
            update(RecordingRow).where(RecordingRow.id == recording_id).values(deleted_at=at)
        )
