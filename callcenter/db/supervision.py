"""The supervision audit trail in the database (``supervision_events``).

Only two operations exist, append and read the newest: the table is append-only
(its migration adds triggers that refuse UPDATE and DELETE).
"""

from __future__ import annotations

from sqlalchemy import select

from callcenter.db.models import SupervisionEventRow
from callcenter.db.session import Sessions
from callcenter.ports import SupervisionEvent, SupervisionMode

#: the most rows one read returns
MAX_RECENT = 500


async def record_supervision_event(sessions: Sessions, event: SupervisionEvent) -> int:
    """Append one event in its own transaction; returns its id. Raises whatever the
    database raised: the caller decides (it must not be skipped silently)."""
    row = SupervisionEventRow(
        at=event.at,
        user_id=event.user_id,
        username=event.username,
        call_id=event.call_id,
        agent_id=event.agent_id,
        mode=event.mode.value,
        outcome=event.outcome,
        spy_leg_id=event.spy_leg_id,
    )
    async with sessions.begin() as session:
        session.add(row)
        await session.flush()
        return row.id


async def recent_supervision_events(sessions: Sessions, limit: int) -> list[SupervisionEvent]:
    """The newest ``limit`` events (at most ``MAX_RECENT``), newest first."""
    limit = max(0, min(limit, MAX_RECENT))
    async with sessions() as session:
        rows = (
            await session.execute(
                select(SupervisionEventRow)
                .order_by(SupervisionEventRow.at.desc(), SupervisionEventRow.id.desc())
                .limit(limit)
            )
        ).scalars()
        return [_event(row) for row in rows]


def _event(row: SupervisionEventRow) -> SupervisionEvent:
    return SupervisionEvent(
        id=row.id,
        at=row.at,
        user_id=row.user_id,
        username=row.username,
        call_id=row.call_id,
        agent_id=row.agent_id,
        mode=SupervisionMode(row.mode),
        outcome=row.outcome,
        spy_leg_id=row.spy_leg_id,
    )


class SupervisionAudit:
    """Implements ``callcenter.ports.SupervisionLog`` on the database."""

    def __init__(self, sessions: Sessions) -> None:
        self._sessions = sessions

    async def record(self, event: SupervisionEvent) -> None:
        await record_supervision_event(self._sessions, event)

    async def recent(self, limit: int) -> list[SupervisionEvent]:
        return await recent_supervision_events(self._sessions, limit)
