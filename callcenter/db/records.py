"""Call history: every step of a call, written as it happens.

One short transaction per step, so a crash loses at most the step in flight and
what was written is always a consistent prefix of the call.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from callcenter.db.models import AgentStateChange, CallOffer, CallRecord, Interaction
from callcenter.db.session import Sessions


@dataclass(frozen=True, slots=True)
class OfferView:
    leg_id: str
    agent_id: int
    agent_target: str
    result: str | None


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
        async with self._sessions.begin() as session:
            offer = (
                await session.execute(select(CallOffer).where(CallOffer.leg_id == leg_id))
            ).scalar_one_or_none()
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
            if record.customer_id is not None and outcome == "answered":
                # The call joins the customer's history, seen in the next pop.
                session.add(
                    Interaction(
                        customer_id=record.customer_id,
                        agent_id=record.agent_id,
                        channel="phone",
                        occurred_at=record.answered_at or at,
                        disposition="answered",
                        notes=f"Inbound call, queue {record.queue}",
                        call_id=call_id,
                    )
                )

    async def agent_state_changed(
        self, agent_id: int, state: str, reason: str | None, at: datetime
    ) -> None:
        async with self._sessions.begin() as session:
            session.add(AgentStateChange(agent_id=agent_id, state=state, reason=reason, at=at))


async def get_call(sessions: Sessions, call_id: str) -> CallRecordView | None:
    async with sessions() as session:
        record = await session.get(CallRecord, call_id)
        if record is None:
            return None
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
                OfferView(o.leg_id, o.agent_id, o.agent_target, o.result) for o in record.offers
            ],
        )
