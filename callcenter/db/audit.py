"""The audit trail in the database (``audit_events``): who did what, when, from
where. Append and read only: the migration's triggers refuse UPDATE and DELETE.

A write is retried a few times (a busy SQLite file, a PostgreSQL failover) before
the error reaches the caller, who decides what an unwritten row means for them.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select
from tenacity import AsyncRetrying, stop_after_attempt, wait_exponential

from callcenter.db.models import AuditEventRow
from callcenter.db.session import Sessions

#: the most rows one read returns
MAX_RECENT = 500
_ATTEMPTS = 3


@dataclass(frozen=True, slots=True)
class AuditEvent:
    at: datetime
    username: str
    action: str
    target: str = ""
    detail: Mapping[str, Any] = field(default_factory=dict)
    user_id: int | None = None
    address: str | None = None


class AuditTrail:
    def __init__(self, sessions: Sessions) -> None:
        self._sessions = sessions

    async def record(self, event: AuditEvent) -> None:
        row = {
            "at": event.at,
            "user_id": event.user_id,
            "username": event.username[:64],
            "action": event.action[:64],
            "target": event.target[:128],
            "detail": json.dumps(dict(event.detail), default=str, ensure_ascii=False),
            "address": (event.address or None) and event.address[:64],
        }
        async for attempt in AsyncRetrying(
            stop=stop_after_attempt(_ATTEMPTS),
            wait=wait_exponential(multiplier=0.05, max=0.5),
            reraise=True,
        ):
            with attempt:
                async with self._sessions.begin() as session:
                    session.add(AuditEventRow(**row))

    async def recent(
        self,
        *,
        limit: int = 100,
        action: str | None = None,
        username: str | None = None,
        since: datetime | None = None,
    ) -> list[AuditEvent]:
        """The newest events (at most ``MAX_RECENT``), newest first; ``action``
        matches exactly or, ending in ``.``, as a prefix (``rules.``)."""
        query = select(AuditEventRow)
        if action is not None:
            if action.endswith("."):
                query = query.where(AuditEventRow.action.startswith(action, autoescape=True))
            else:
                query = query.where(AuditEventRow.action == action)
        if username is not None:
            query = query.where(AuditEventRow.username == username)
        if since is not None:
            query = query.where(AuditEventRow.at >= since)
        query = query.order_by(AuditEventRow.at.desc(), AuditEventRow.id.desc()).limit(
            max(0, min(limit, MAX_RECENT))
        )
        async with self._sessions() as session:
            rows = list(await session.scalars(query))
        return [
            AuditEvent(
                at=row.at,
                username=row.username,
                action=row.action,
                target=row.target,
                detail=json.loads(row.detail),
                user_id=row.user_id,
                address=row.address,
            )
            for row in rows
        ]
