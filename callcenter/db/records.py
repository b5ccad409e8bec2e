"""Call history: every step of a call, written as it happens.

One short transaction per step, so a crash loses at most the step in flight and
what was written is always a consistent prefix of the call. Each step may be
written twice without harm: after a restart the service rebuilds live calls from
Asterisk and reports them again, and a second "enqueued" must not fail or fork
the record.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import structlog
from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.db.models import (
    AgentStateChange,
    CallEventRow,
    CallOffer,
    CallRecord,
    Interaction,
)
from callcenter.db.session import Sessions
from callcenter.metrics import OFFERS
from callcenter.orchestration.ports import LegKind, OpenCall

log = structlog.get_logger(__name__)

#: wrap-up notes longer than this are cut: they are typed by hand, and a pasted
#: e-mail thread does not belong in every future screen-pop
MAX_WRAP_UP_NOTES = 4000


@dataclass(frozen=True, slots=True)
class OfferView:
    """One leg of a call. The fields after ``ended_at`` came with transfers and
    conferences (migration 0007); they have defaults so older callers still work."""

    leg_id: str
    #: None for a leg to an outside number
    agent_id: int | None
    agent_target: str
    result: str | None
    offered_at: datetime
    ended_at: datetime | None
    kind: str = "offer"
    answered_at: datetime | None = None
    left_at: datetime | None = None
    held_s: float = 0.0


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
    #: seconds on hold over the whole call, every leg's hold added up
    hold_s: float = 0.0


@dataclass(frozen=True, slots=True)
class LegCredit:
    """What one party of a call is credited with: talk from when they started
    talking to when they left (hold they put the caller on included, and also
    given apart as ``held_s``)."""

    leg_id: str
    agent_id: int | None
    kind: str
    talk_s: float
    held_s: float


@dataclass(frozen=True, slots=True)
class CallEventView:
    """One step of a call's event log, as written."""

    id: int
    call_id: str
    at: datetime
    kind: str
    detail: dict[str, Any] = field(default_factory=dict)


LOST = "lost_during_disconnect"


#: the open transaction of ``CallRecorder.batch`` in this task, if any
_BATCH: ContextVar[AsyncSession | None] = ContextVar("callcenter_history_batch", default=None)


class CallRecorder:
    """Implements ``callcenter.orchestration.ports.CallRecords`` on the database."""

    def __init__(self, sessions: Sessions) -> None:
        self._sessions = sessions

    @asynccontextmanager
    async def batch(self) -> AsyncIterator[None]:
        async with self._sessions.begin() as session:
            token = _BATCH.set(session)
            try:
                yield
            finally:
                _BATCH.reset(token)

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[AsyncSession]:
        """The batch's session when inside one (committed with the batch), else a
        transaction of its own."""
        session = _BATCH.get()
        if session is not None:
            yield session
            return
        async with self._sessions.begin() as own:
            yield own

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
        async with self._transaction() as session:
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
        async with self._transaction() as session:
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
        async with self._transaction() as session:
            offer = await _offer(session, leg_id)
            stored = offer is not None and offer.result is None
            if offer is not None and stored:
                offer.result = result
                offer.ended_at = at
        if stored:  # counted once committed, so a retried write counts once
            OFFERS.labels(outcome=result).inc()

    async def call_answered(
        self, call_id: str, agent_id: int, agent_target: str, at: datetime
    ) -> None:
        async with self._transaction() as session:
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
        async with self._transaction() as session:
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
                session.add(_call_interaction(record, record.customer_id, at))

    async def open_calls(self) -> list[OpenCall]:
        """Calls recorded as started and never as ended, oldest first: at start-up
        they are matched against what the PBX still has."""
        async with self._sessions() as session:
            rows = (
                await session.scalars(
                    select(CallRecord)
                    .where(CallRecord.ended_at.is_(None))
                    .order_by(CallRecord.enqueued_at)
                )
            ).all()
            legs: dict[str, dict[str, int]] = {}
            for call_id, leg_id, agent_id in await session.execute(
                select(CallOffer.call_id, CallOffer.leg_id, CallOffer.agent_id)
                .join(CallRecord, CallRecord.id == CallOffer.call_id)
                .where(CallRecord.ended_at.is_(None), CallOffer.agent_id.is_not(None))
            ):
                if agent_id is not None:
                    legs.setdefault(call_id, {})[leg_id] = agent_id
            return [
                OpenCall(
                    r.id,
                    r.pbx,
                    r.linkedid,
                    r.queue,
                    r.enqueued_at,
                    answered=r.answered_at is not None,
                    legs=legs.get(r.id, {}),
                )
                for r in rows
            ]

    async def call_wrapped_up(self, call_id: str, disposition: str, notes: str) -> bool:
        """Store the agent's disposition and notes on the call record and on the
        call's history entry.

        False when there is no history entry (the caller was not a known
        customer, or the call was not answered): the record keeps them alone.
        """
        async with self._transaction() as session:
            record = await session.get(CallRecord, call_id)
            if record is not None:
                record.disposition = disposition[:64]
                record.wrap_up_notes = notes[:MAX_WRAP_UP_NOTES]
            entry = await _history_entry(session, call_id)
            if entry is None:
                return False
            entry.disposition = disposition[:64]
            entry.notes = notes[:MAX_WRAP_UP_NOTES]
            return True

    async def survey_answered(self, call_id: str, score: int) -> None:
        """The caller's post-call survey score, on the record and on the call's
        history entry (made when the call ends, if not yet: it copies the
        record's). The first answer stands: the dialplan asks once. When it was
        keyed is in the call's event log."""
        async with self._transaction() as session:
            record = await session.get(CallRecord, call_id)
            if record is None or record.csat_score is not None:
                return
            record.csat_score = score
            entry = await _history_entry(session, call_id)
            if entry is not None:
                entry.csat_score = score

    async def call_identified(self, call_id: str, customer_id: int) -> None:
        """The customer the agent named for the call. A call that already ended
        answered (named in its wrap-up) gets its history entry now; one still
        going gets it when it ends. A call whose history entry exists already
        (the lookup had found someone) moves to the named customer."""
        async with self._transaction() as session:
            record = await session.get(CallRecord, call_id)
            if record is None:
                return
            record.customer_id = customer_id
            entry = await _history_entry(session, call_id)
            if entry is not None:
                entry.customer_id = customer_id
            elif record.ended_at is not None and record.outcome == "answered":
                session.add(_call_interaction(record, customer_id, record.ended_at))

    async def agent_state_changed(
        self, agent_id: int, state: str, reason: str | None, at: datetime
    ) -> None:
        async with self._transaction() as session:
            session.add(AgentStateChange(agent_id=agent_id, state=state, reason=reason, at=at))

    # -- legs and the event log (transfers, conferences, holds) -----------------

    async def leg_added(
        self,
        call_id: str,
        leg_id: str,
        agent_id: int | None,
        target: str,
        kind: LegKind,
        at: datetime,
    ) -> None:
        """A leg beside the routed offers; one reported again (after a restart)
        keeps what was first written."""
        async with self._transaction() as session:
            if await _offer(session, leg_id) is not None:
                return
            session.add(
                CallOffer(
                    call_id=call_id,
                    leg_id=leg_id,
                    agent_id=agent_id,
                    agent_target=target,
                    offered_at=at,
                    kind=kind,
                )
            )

    async def leg_connected(self, leg_id: str, at: datetime) -> None:
        """The first report wins: a leg's credit starts when its party first talked."""
        async with self._transaction() as session:
            leg = await _offer(session, leg_id)
            if leg is None:
                log.warning("connected leg not recorded", leg_id=leg_id)
            elif leg.answered_at is None:
                leg.answered_at = at

    async def leg_left(self, leg_id: str, at: datetime, held_s: float) -> None:
        """The first report wins, so the call's hold total counts each leg once."""
        async with self._transaction() as session:
            leg = await _offer(session, leg_id)
            if leg is None:
                log.warning("departed leg not recorded", leg_id=leg_id)
                return
            if leg.left_at is not None:
                return
            held = max(0.0, held_s)
            leg.left_at, leg.held_s = at, held
            record = await session.get(CallRecord, leg.call_id)
            if record is not None and held:
                record.hold_s += held

    async def call_event(
        self, call_id: str, kind: str, at: datetime, detail: Mapping[str, object]
    ) -> None:
        # default=str: a stray datetime or enum in a detail must not lose the step
        text = json.dumps(dict(detail), default=str, sort_keys=True, ensure_ascii=False)
        async with self._transaction() as session:
            session.add(CallEventRow(call_id=call_id, at=at, kind=kind, detail=text))

    async def last_agent_states(self) -> dict[int, tuple[str, str | None, datetime]]:
        """Each agent's newest state row; rows at the same instant go by id (the
        one written last wins). One window query, the same on both backends."""
        newest = (
            select(
                AgentStateChange.agent_id,
                AgentStateChange.state,
                AgentStateChange.reason,
                AgentStateChange.at,
                func.row_number()
                .over(
                    partition_by=AgentStateChange.agent_id,
                    order_by=(AgentStateChange.at.desc(), AgentStateChange.id.desc()),
                )
                .label("rank"),
            )
        ).subquery()
        query = select(newest.c.agent_id, newest.c.state, newest.c.reason, newest.c.at).where(
            newest.c.rank == 1
        )
        async with self._sessions() as session:
            rows = (await session.execute(query)).all()
        return {row.agent_id: (row.state, row.reason, row.at) for row in rows}


async def _history_entry(session: AsyncSession, call_id: str) -> Interaction | None:
    """The call's entry in its customer's history (the first, should there be two)."""
    return await session.scalar(
        select(Interaction).where(Interaction.call_id == call_id).order_by(Interaction.id).limit(1)
    )


async def _offer(session: AsyncSession, leg_id: str) -> CallOffer | None:
    return await session.scalar(select(CallOffer).where(CallOffer.leg_id == leg_id))


def _call_interaction(record: CallRecord, customer_id: int, ended_at: datetime) -> Interaction:
    """An answered call as an entry of the customer's history; the agent's
    wrap-up later fills in its disposition and notes."""
    return Interaction(
        customer_id=customer_id,
        agent_id=record.agent_id,
        channel="phone",
        occurred_at=record.answered_at or ended_at,
        disposition="answered",
        notes=f"Inbound call, queue {record.queue}, {_talk_time(record, ended_at)}",
        call_id=record.id,
        csat_score=record.csat_score,
    )


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
                OfferView(
                    o.leg_id,
                    o.agent_id,
                    o.agent_target,
                    o.result,
                    o.offered_at,
                    o.ended_at,
                    kind=o.kind,
                    answered_at=o.answered_at,
                    left_at=o.left_at,
                    held_s=o.held_s,
                )
                for o in offers
            ],
            pbx=record.pbx,
            linkedid=record.linkedid,
            hold_s=record.hold_s,
        )


def _talk_s(answered_at: datetime, left_at: datetime | None, end: datetime | None) -> float:
    """A leg's talk: until it left, else until the call ended (a leg still on when
    the call ended, or whose departure was never reported), else nothing yet."""
    until = left_at or end
    return 0.0 if until is None else max(0.0, (until - answered_at).total_seconds())


async def leg_credit(
    sessions: Sessions, call_id: str, *, now: datetime | None = None
) -> list[LegCredit]:
    """Each party's part of a call, in the order they started talking. Legs that
    never talked (an offer not answered) earn nothing and are left out; ``now``
    stands in for the end of a call still in progress."""
    query = (
        select(CallOffer, CallRecord.ended_at)
        .join(CallRecord, CallRecord.id == CallOffer.call_id)
        .where(CallOffer.call_id == call_id, CallOffer.answered_at.is_not(None))
        .order_by(CallOffer.answered_at, CallOffer.id)
    )
    async with sessions() as session:
        rows = (await session.execute(query)).all()
    credits = []
    for leg, call_ended_at in rows:
        if leg.answered_at is None:  # excluded by the query; narrows the type
            continue
        talk = _talk_s(leg.answered_at, leg.left_at, call_ended_at or now)
        credits.append(LegCredit(leg.leg_id, leg.agent_id, leg.kind, talk, leg.held_s))
    return credits


async def agent_talk_totals(
    sessions: Sessions, since: datetime, until: datetime
) -> dict[int, float]:
    """Seconds each agent talked on legs they picked up in ``[since, until)``.

    Per leg, not per call: on a transferred call each agent gets their own
    part. A leg counts wholly in the period it started in, so a report by day
    never splits one conversation. Legs to outside numbers count for no one.
    """
    query = (
        select(CallOffer.agent_id, CallOffer.answered_at, CallOffer.left_at, CallRecord.ended_at)
        .join(CallRecord, CallRecord.id == CallOffer.call_id)
        .where(
            CallOffer.agent_id.is_not(None),
            CallOffer.answered_at >= since,
            CallOffer.answered_at < until,
        )
    )
    totals: dict[int, float] = {}
    async with sessions() as session:
        for agent_id, answered_at, left_at, call_ended_at in await session.execute(query):
            if agent_id is None or answered_at is None:  # excluded by the query
                continue
            talk = _talk_s(answered_at, left_at, call_ended_at)
            totals[agent_id] = totals.get(agent_id, 0.0) + talk
    return totals


async def call_events(sessions: Sessions, call_id: str) -> list[CallEventView]:
    """A call's event log in the order things happened (written order on a tie)."""
    query = (
        select(CallEventRow)
        .where(CallEventRow.call_id == call_id)
        .order_by(CallEventRow.at, CallEventRow.id)
    )
    async with sessions() as session:
        rows = (await session.scalars(query)).all()
    return [CallEventView(r.id, r.call_id, r.at, r.kind, json.loads(r.detail)) for r in rows]
