"""Call history: every step of a call, written as it happens.

One short transaction per step, so a crash loses at most the step in flight and
what was written is always a consistent prefix of the call. Each step may be
written twice without harm: after a restart the service rebuilds live calls from
Asterisk and reports them again, and a second "enqueued" must not fail or fork
the record.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import structlog
from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.db.models import AgentStateChange, CallOffer, CallRecord, Interaction
from callcenter.db.session import Sessions
from callcenter.orchestration.ports import OpenCall

log = structlog.get_logger(__name__)

#: wrap-up notes longer than this are cut: they are typed by hand, and a pasted
#: e-mail thread does not belong in every future screen-pop
MAX_WRAP_UP_NOTES = 4000


@dataclass(frozen=True, slots=True)
class OfferView:
    leg_id: str
    agent_id: int
    agent_target: str
    result: str | None
    offered_at: datetime
    ended_at: datetime | None


@dataclass(frozen=True, slots=True)
class CallRecordView:
    call_id: str
    queue: str
    caller_number: str
    customer_id: int | None
    outcome: str | None
    abandon_phase: str | None
    agent_id: int | None
    agent_target: str | None
    ended_by: str | None
    enqueued_at: datetime
    answered_at: datetime | None
    ended_at: datetime | None
    offers: list[OfferView]
    pbx: str = ""
    linkedid: str = ""


LOST = "lost_during_disconnect"


class CallRecorder:
    """Implements ``callcenter.orchestration.ports.CallRecords`` on the database."""

    def __init__(self, sessions: Sessions) -> None:
        self._sessions = sessions

    async def call_enqueued(
        self,
        call_id: str,
        pbx: str,
        linkedid: str,
        queue: str,
        caller_number: str,
        customer_id: int | None,
        at: datetime,
    ) -> None:
        async with self._sessions.begin() as session:
            # The same call reported again is one still open under its Linkedid;
            # an ended one with that Linkedid was before an Asterisk restart.
            known = await session.scalar(
                select(CallRecord.id).where(
                    or_(
                        CallRecord.id == call_id,
                        (CallRecord.pbx == pbx)
                        & (CallRecord.linkedid == linkedid)
                        & CallRecord.ended_at.is_(None),
                    )
                )
            )
            if known is not None:
                log.info("call already recorded", call_id=call_id, recorded_as=known)
                return
            session.add(
                CallRecord(
                    id=call_id,
                    pbx=pbx,
                    linkedid=linkedid,
                    queue=queue,
                    caller_number=caller_number,
                    customer_id=customer_id,
                    enqueued_at=at,
                )
            )

    async def offer_made(
        self, call_id: str, leg_id: str, agent_id: int, agent_target: str, at: datetime
    ) -> None:
        async with self._sessions.begin() as session:
            if await _offer(session, leg_id) is not None:
                return
            session.add(
                CallOffer(
                    call_id=call_id,
                    leg_id=leg_id,
                    agent_id=agent_id,
                    agent_target=agent_target,
                    offered_at=at,
                )
            )

    async def offer_result(self, leg_id: str, result: str, at: datetime) -> None:
        """The first result wins: an answered leg that later hangs up stays answered."""
        async with self._sessions.begin() as session:
            offer = await _offer(session, leg_id)
            if offer is not None and offer.result is None:
                offer.result = result
                offer.ended_at = at

    async def call_answered(
        self, call_id: str, agent_id: int, agent_target: str, at: datetime
    ) -> None:
        async with self._sessions.begin() as session:
            record = await session.get(CallRecord, call_id)
            if record is not None and record.answered_at is None:
                record.answered_at = at
                record.agent_id = agent_id
                record.agent_target = agent_target

    async def call_ended(
        self,
        call_id: str,
        outcome: str,
        abandon_phase: str | None,
        ended_by: str | None,
        at: datetime,
    ) -> None:
        async with self._sessions.begin() as session:
            record = await session.get(CallRecord, call_id)
            if record is None or record.ended_at is not None:
                return
            record.ended_at = at
            record.outcome = outcome
            record.abandon_phase = abandon_phase
            record.ended_by = ended_by
            if outcome == LOST:
                for offer in record.offers:
                    if offer.result is None:
                        offer.result, offer.ended_at = LOST, at
            if record.customer_id is not None and outcome == "answered":
                # The call joins the customer's history, seen in the next pop;
                # the agent's wrap-up later fills in its disposition and notes.
                session.add(
                    Interaction(
                        customer_id=record.customer_id,
                        agent_id=record.agent_id,
                        channel="phone",
                        occurred_at=record.answered_at or at,
                        disposition="answered",
                        notes=f"Inbound call, queue {record.queue}, {_talk_time(record, at)}",
                        call_id=call_id,
                    )
                )

    async def open_calls(self) -> list[OpenCall]:
        """Calls recorded as started and never as ended, oldest first: at start-up
        they are matched against what the PBX still has."""
        async with self._sessions() as session:
            rows = await session.scalars(
                select(CallRecord)
                .where(CallRecord.ended_at.is_(None))
                .order_by(CallRecord.enqueued_at)
            )
            return [OpenCall(r.id, r.pbx, r.linkedid, r.queue, r.enqueued_at) for r in rows.all()]

    async def call_wrapped_up(self, call_id: str, disposition: str, notes: str) -> bool:
        """Store the agent's disposition and notes on the call's history entry.

        False when there is none (the caller was not a known customer, or the
        call was not answered): there is no customer history to add to.
        """
        async with self._sessions.begin() as session:
            entry = await session.scalar(
                select(Interaction)
                .where(Interaction.call_id == call_id)
                .order_by(Interaction.id)
                .limit(1)
            )
            if entry is None:
                return False
            entry.disposition = disposition[:64]
            entry.notes = notes[:MAX_WRAP_UP_NOTES]
            return True

    async def agent_state_changed(
        self, agent_id: int, state: str, reason: str | None, at: datetime
    ) -> None:
        async with self._sessions.begin() as session:
            session.add(AgentStateChange(agent_id=agent_id, state=state, reason=reason, at=at))


async def _offer(session: AsyncSession, leg_id: str) -> CallOffer | None:
    return await session.scalar(select(CallOffer).where(CallOffer.leg_id == leg_id))


def _talk_time(record: CallRecord, ended_at: datetime) -> str:
    if record.answered_at is None:
        return "talk time unknown"
    seconds = max(0, int((ended_at - record.answered_at).total_seconds()))
    return f"talked {seconds // 60}m{seconds % 60:02d}s"


async def get_call(sessions: Sessions, call_id: str) -> CallRecordView | None:
    """A call with its offers in the order they were made (reports and tests)."""
    async with sessions() as session:
        record = await session.get(CallRecord, call_id)
        if record is None:
            return None
        offers = sorted(record.offers, key=lambda o: (o.offered_at, o.id))
        return CallRecordView(
            call_id=record.id,
            queue=record.queue,
            caller_number=record.caller_number,
            customer_id=record.customer_id,
            outcome=record.outcome,
            abandon_phase=record.abandon_phase,
            agent_id=record.agent_id,
            agent_target=record.agent_target,
            ended_by=record.ended_by,
            enqueued_at=record.enqueued_at,
            answered_at=record.answered_at,
            ended_at=record.ended_at,
            offers=[
                OfferView(o.leg_id, o.agent_id, o.agent_target, o.result, o.offered_at, o.ended_at)
                for o in offers
            ],
            pbx=record.pbx,
            linkedid=record.linkedid,
        )
