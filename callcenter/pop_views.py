"""Every screen-pop shown to an agent goes into the audit trail ("pop views").

A pop is customer data (tier, value, notes, history) put in front of a person,
so who saw which customer's record, and when, is kept like any other access.
This wraps the notifier the orchestrator pushes through: each pop is forwarded
at once and, besides, queued for the trail, which a background task writes.
Offers never wait for the database; if the trail falls far behind (the
database is down), further pop views are counted and logged as not audited
instead of growing memory without bound.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import structlog

from callcenter.db.audit import AuditEvent, AuditTrail
from callcenter.ports import Notifier

log = structlog.get_logger(__name__)

#: pop views waiting to be written before new ones are dropped (and counted)
MAX_PENDING = 10_000


class AuditedPops:
    """A ``Notifier`` that also records each pop an agent receives."""

    def __init__(
        self,
        inner: Notifier,
        trail: AuditTrail,
        login_of: Callable[[int], str],
        *,
        max_pending: int = MAX_PENDING,
    ) -> None:
        self._inner = inner
        self._trail = trail
        self._login_of = login_of
        self._pending: asyncio.Queue[AuditEvent] = asyncio.Queue(max_pending)
        self.dropped = 0

    def to_agent(self, agent_id: int, message: dict[str, Any]) -> None:
        self._inner.to_agent(agent_id, message)
        if message.get("type") == "pop":
            self.record_view(agent_id, message.get("call_id"), message.get("pop"), via="offer")

    def to_wallboards(self, message: dict[str, Any]) -> None:
        self._inner.to_wallboards(message)

    def record_view(self, agent_id: int, call_id: object, pop: object, *, via: str) -> None:
        """Queue one pop view (also used when a reconnecting page gets the pop again)."""
        try:
            login = self._login_of(agent_id)
        except KeyError:
            login = ""
        customers = _customer_ids(pop)
        event = AuditEvent(
            at=datetime.now(UTC),
            username=login,
            action="pop.viewed",
            target=str(call_id or ""),
            detail={"agent_id": agent_id, "customers": customers, "via": via},
        )
        try:
            self._pending.put_nowait(event)
        except asyncio.QueueFull:
            self.dropped += 1
            if self.dropped == 1 or self.dropped % 1000 == 0:
                log.error("pop views not audited: the audit trail is behind", dropped=self.dropped)

    async def run(self) -> None:
        """Write queued pop views until cancelled."""
        while True:
            event = await self._pending.get()
            try:
                await self._trail.record(event)
            except Exception:
                log.exception("pop view not audited", call_id=event.target)


def _customer_ids(pop: object) -> list[int]:
    """The customers whose records the pop shows (one, or a pick list)."""
    if not isinstance(pop, dict):
        return []
    ids = []
    customer = pop.get("customer")
    if isinstance(customer, dict) and isinstance(customer.get("id"), int):
        ids.append(customer["id"])
    for match in pop.get("matches") or ():
        if isinstance(match, dict) and isinstance(match.get("id"), int):
            ids.append(match["id"])
    return ids
