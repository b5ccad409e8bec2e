"""Call history: every step of a call, written as it happens.

One short transaction per step (or per batch of steps, ``CallRecorder.batch``),
so a crash loses at most what is in flight and what was written is always a
consistent prefix of the call. Each step may be written twice without harm:
after a restart the service rebuilds live calls from Asterisk and reports them
again, and a second "enqueued" must not fail or fork the record.

Why the steps of a live call are plain SQL statements, not ORM objects: a call
is some sixteen steps, and through the ORM (load the row, its offers, flush
the change) they cost over 13 ms of the event loop per call on SQLite, more
than the rest of the service together; at 100 calls/s the history fell
behind for good. Each step is now one guarded statement (``UPDATE ... WHERE
answered_at IS NULL``: the first report wins, a repeat changes nothing), and
the append-only rows (the event log, agent states) of a batch go in as one
multi-row insert at its end.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, cast

import structlog
from sqlalchemy import CursorResult, Row, Table, bindparam, func, insert, or_, select, update
from sqlalchemy.ext.asyncio import AsyncConnection

from callcenter.db.models import (
    AgentStateChange,
    CallEventRow,
    CallOffer,
    CallRecord,
    Interaction,
)
from callcenter.db.session import Sessions
from callcenter.metrics import OFFERS
from callcenter.orchestration.ports import Arrival, LegKind, OpenCall

log = structlog.get_logger(__name__)

#: wrap-up notes longer than this are cut: they are typed by hand, and a pasted
#: e-mail thread does not belong in every future screen-pop
MAX_WRAP_UP_NOTES = 4000
#: a recovered arrival is taken as recorded already by a record of the same
#: PBX call begun this close to it (a Linkedid repeats only across PBX restarts)
RECOVERY_WINDOW = timedelta(hours=1)


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


_RECORDS = cast(Table, CallRecord.__table__)
_OFFERS = cast(Table, CallOffer.__table__)
_EVENTS = cast(Table, CallEventRow.__table__)
_STATES = cast(Table, AgentStateChange.__table__)
_INTERACTIONS = cast(Table, Interaction.__table__)
#: what a call's history entry copies from its record (``_add_history_entry``)
_HISTORY_SOURCE = (
    _RECORDS.c.agent_id,
    _RECORDS.c.answered_at,
    _RECORDS.c.queue,
    _RECORDS.c.csat_score,
)

# The statements of the steps every call takes, built once with named
# parameters. Why: building a statement for each step (its clauses, their
# coercions, its cache key) was over a third of the history writer's time on
# PostgreSQL (py-spy on ``callcenter bench history``). A parameter's name is
# never a column's: the SET clause reserves those.
#: the record of this call: its own id, or the same PBX call still open
_RECORD_OF_CALL = select(_RECORDS.c.id).where(
    or_(
        _RECORDS.c.id == bindparam("p_call"),
        (_RECORDS.c.pbx == bindparam("p_pbx"))
        & (_RECORDS.c.linkedid == bindparam("p_linkedid"))
        & _RECORDS.c.ended_at.is_(None),
    )
)
#: a record of the same PBX call begun near a time (``arrivals_recovered``)
_SAME_CALL_NEAR = select(_RECORDS.c.id).where(
    _RECORDS.c.pbx == bindparam("p_pbx"),
    _RECORDS.c.linkedid == bindparam("p_linkedid"),
    _RECORDS.c.enqueued_at.between(bindparam("p_from"), bindparam("p_until")),
)
_NEW_RECORD = insert(_RECORDS)
_LEG = select(_OFFERS.c.id).where(_OFFERS.c.leg_id == bindparam("p_leg"))
_NEW_LEG = insert(_OFFERS)
_OFFER_RESULT = (
    update(_OFFERS)
    .where(_OFFERS.c.leg_id == bindparam("p_leg"), _OFFERS.c.result.is_(None))
    .values(result=bindparam("p_result"), ended_at=bindparam("p_at"))
)
_ANSWERED = (
    update(_RECORDS)
    .where(_RECORDS.c.id == bindparam("p_call"), _RECORDS.c.answered_at.is_(None))
    .values(
        answered_at=bindparam("p_at"),
        agent_id=bindparam("p_agent"),
        agent_target=bindparam("p_target"),
    )
)
_ENDED = (
    update(_RECORDS)
    .where(_RECORDS.c.id == bindparam("p_call"), _RECORDS.c.ended_at.is_(None))
    .values(
        ended_at=bindparam("p_at"),
        outcome=bindparam("p_outcome"),
        abandon_phase=bindparam("p_phase"),
        ended_by=bindparam("p_by"),
    )
    .returning(_RECORDS.c.customer_id, *_HISTORY_SOURCE)
)
_LEG_CONNECTED = (
    update(_OFFERS)
    .where(_OFFERS.c.leg_id == bindparam("p_leg"), _OFFERS.c.answered_at.is_(None))
    .values(answered_at=bindparam("p_at"))
)
_LEG_LEFT = (
    update(_OFFERS)
    .where(_OFFERS.c.leg_id == bindparam("p_leg"), _OFFERS.c.left_at.is_(None))
    .values(left_at=bindparam("p_at"), held_s=bindparam("p_held"))
    .returning(_OFFERS.c.call_id)
)


@dataclass
class _Batch:
    """The open transaction of ``CallRecorder.batch``, and the append-only rows
    it will insert at its end (in the order they were written, per table)."""

    connection: AsyncConnection
    appended: dict[Table, list[dict[str, Any]]] = field(default_factory=dict)


#: the open batch of this task, if any
_BATCH: ContextVar[_Batch | None] = ContextVar("callcenter_history_batch", default=None)


class CallRecorder:
    """Implements ``callcenter.orchestration.ports.CallRecords`` on the database."""

    def __init__(self, sessions: Sessions) -> None:
        self._sessions = sessions

    @asynccontextmanager
    async def batch(self) -> AsyncIterator[None]:
        async with self._sessions.begin() as session:
            connection = await session.connection()
            batch = _Batch(connection)
            token = _BATCH.set(batch)
            try:
                yield
                for table, rows in batch.appended.items():
                    await connection.execute(insert(table), rows)
            finally:
                _BATCH.reset(token)

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[AsyncConnection]:
        """The batch's connection when inside one (committed with the batch),
        else a transaction of its own. A connection, not the ORM session: the
        steps are plain statements, and through the session each cost more
        (``callcenter bench history``: 6.1 ms of CPU per call on SQLite, 4.1
        on PostgreSQL; 4.7 and 3.2 on the connection)."""
        batch = _BATCH.get()
        if batch is not None:
            yield batch.connection
            return
        async with self._sessions.begin() as own:
            yield await own.connection()

    async def _append(self, table: Table, row: dict[str, Any]) -> None:
        """An append-only row: with the batch's others at its end, or now."""
        batch = _BATCH.get()
        if batch is not None:
            batch.appended.setdefault(table, []).append(row)
            return
        async with self._transaction() as connection:
            await connection.execute(insert(table), [row])

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
        arrival = Arrival(call_id, pbx, linkedid, queue, caller_number, at)
        async with self._transaction() as connection:
            # The same call reported again is one still open under its Linkedid;
            # an ended one with that Linkedid was before an Asterisk restart.
            known = await connection.scalar(
                _RECORD_OF_CALL, {"p_call": call_id, "p_pbx": pbx, "p_linkedid": linkedid}
            )
            if known is not None:
                log.info("call already recorded", call_id=call_id, recorded_as=known)
                return
            await _insert_record(connection, arrival, customer_id)

    async def arrivals_recovered(self, arrivals: Sequence[Arrival]) -> int:
        """Record the arrivals an earlier process noted and may not have written
        (``callcenter.arrival_journal``), in one transaction; how many were not
        recorded yet. Recorded already: a record with the call's id, or one for
        the same PBX call (Linkedid) still open or begun within the hour, as
        when another node took over the call and recorded it as its own."""
        added = 0
        async with self._transaction() as connection:
            for arrival in arrivals:
                call = {
                    "p_call": arrival.call_id,
                    "p_pbx": arrival.pbx,
                    "p_linkedid": arrival.linkedid,
                }
                near = {
                    "p_from": arrival.enqueued_at - RECOVERY_WINDOW,
                    "p_until": arrival.enqueued_at + RECOVERY_WINDOW,
                }
                if await connection.scalar(_RECORD_OF_CALL, call) is not None:
                    continue
                if await connection.scalar(_SAME_CALL_NEAR, call | near) is not None:
                    continue
                await _insert_record(connection, arrival, None)
                added += 1
        return added

    async def offer_made(
        self, call_id: str, leg_id: str, agent_id: int, agent_target: str, at: datetime
    ) -> None:
        await self.leg_added(call_id, leg_id, agent_id, agent_target, "offer", at)

    async def offer_result(self, leg_id: str, result: str, at: datetime) -> None:
        """The first result wins: an answered leg that later hangs up stays answered."""
        async with self._transaction() as connection:
            stored = await _changed(
                connection, _OFFER_RESULT, {"p_leg": leg_id, "p_result": result, "p_at": at}
            )
        if stored:  # counted once committed, so a retried write counts once
            OFFERS.labels(outcome=result).inc()

    async def call_answered(
        self, call_id: str, agent_id: int, agent_target: str, at: datetime
    ) -> None:
        async with self._transaction() as connection:
            await connection.execute(
                _ANSWERED,
                {"p_call": call_id, "p_at": at, "p_agent": agent_id, "p_target": agent_target},
            )

    async def call_ended(
        self,
        call_id: str,
        outcome: str,
        abandon_phase: str | None,
        ended_by: str | None,
        at: datetime,
    ) -> None:
        async with self._transaction() as connection:
            ended = (
                await connection.execute(
                    _ENDED,
                    {
                        "p_call": call_id,
                        "p_at": at,
                        "p_outcome": outcome,
                        "p_phase": abandon_phase,
                        "p_by": ended_by,
                    },
                )
            ).first()
            if ended is None:
                return  # not recorded, or ended already
            if outcome == LOST:
                await connection.execute(
                    update(_OFFERS)
                    .where(_OFFERS.c.call_id == call_id, _OFFERS.c.result.is_(None))
                    .values(result=LOST, ended_at=at)
                )
            if ended.customer_id is not None and outcome == "answered":
                # The call joins the customer's history, seen in the next pop;
                # the agent's wrap-up later fills in its disposition and notes.
                await _add_history_entry(connection, call_id, ended, ended.customer_id, at)

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
        disposition, notes = disposition[:64], notes[:MAX_WRAP_UP_NOTES]
        async with self._transaction() as connection:
            await connection.execute(
                update(_RECORDS)
                .where(_RECORDS.c.id == call_id)
                .values(disposition=disposition, wrap_up_notes=notes)
            )
            return await _changed(
                connection,
                update(_INTERACTIONS)
                .where(_INTERACTIONS.c.call_id == call_id)
                .values(disposition=disposition, notes=notes),
            )

    async def survey_answered(self, call_id: str, score: int) -> None:
        """The caller's post-call survey score, on the record and on the call's
        history entry (made when the call ends, if not yet: it copies the
        record's). The first answer stands: the dialplan asks once. When it was
        keyed is in the call's event log."""
        async with self._transaction() as connection:
            first = await _changed(
                connection,
                update(_RECORDS)
                .where(_RECORDS.c.id == call_id, _RECORDS.c.csat_score.is_(None))
                .values(csat_score=score),
            )
            if first:
                await connection.execute(
                    update(_INTERACTIONS)
                    .where(_INTERACTIONS.c.call_id == call_id)
                    .values(csat_score=score)
                )

    async def call_identified(self, call_id: str, customer_id: int) -> None:
        """The customer the agent named for the call. A call that already ended
        answered (named in its wrap-up) gets its history entry now; one still
        going gets it when it ends. A call whose history entry exists already
        (the lookup had found someone) moves to the named customer."""
        async with self._transaction() as connection:
            record = (
                await connection.execute(
                    update(_RECORDS)
                    .where(_RECORDS.c.id == call_id)
                    .values(customer_id=customer_id)
                    .returning(_RECORDS.c.ended_at, _RECORDS.c.outcome, *_HISTORY_SOURCE)
                )
            ).first()
            if record is None:
                return
            moved = await _changed(
                connection,
                update(_INTERACTIONS)
                .where(_INTERACTIONS.c.call_id == call_id)
                .values(customer_id=customer_id),
            )
            if not moved and record.ended_at is not None and record.outcome == "answered":
                await _add_history_entry(connection, call_id, record, customer_id, record.ended_at)

    async def agent_state_changed(
        self, agent_id: int, state: str, reason: str | None, at: datetime
    ) -> None:
        await self._append(
            _STATES, {"agent_id": agent_id, "state": state, "reason": reason, "at": at}
        )

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
        """A leg of the call: a routed offer (``offer_made``) or one beside the
        offers; one reported again (after a restart) keeps what was first written."""
        async with self._transaction() as connection:
            if await _leg_known(connection, leg_id):
                return
            await connection.execute(
                _NEW_LEG,
                {
                    "call_id": call_id,
                    "leg_id": leg_id,
                    "agent_id": agent_id,
                    "agent_target": target,
                    "offered_at": at,
                    "kind": kind,
                    "held_s": 0.0,
                },
            )

    async def leg_connected(self, leg_id: str, at: datetime) -> None:
        """The first report wins: a leg's credit starts when its party first talked."""
        async with self._transaction() as connection:
            changed = await _changed(connection, _LEG_CONNECTED, {"p_leg": leg_id, "p_at": at})
            if not changed and not await _leg_known(connection, leg_id):
                log.warning("connected leg not recorded", leg_id=leg_id)

    async def leg_left(self, leg_id: str, at: datetime, held_s: float) -> None:
        """The first report wins, so the call's hold total counts each leg once."""
        held = max(0.0, held_s)
        async with self._transaction() as connection:
            left = (
                await connection.execute(_LEG_LEFT, {"p_leg": leg_id, "p_at": at, "p_held": held})
            ).first()
            if left is None:
                if not await _leg_known(connection, leg_id):
                    log.warning("departed leg not recorded", leg_id=leg_id)
                return
            if held:
                await connection.execute(
                    update(_RECORDS)
                    .where(_RECORDS.c.id == left.call_id)
                    .values(hold_s=_RECORDS.c.hold_s + held)
                )

    async def call_event(
        self, call_id: str, kind: str, at: datetime, detail: Mapping[str, object]
    ) -> None:
        # default=str: a stray datetime or enum in a detail must not lose the step
        text = json.dumps(dict(detail), default=str, sort_keys=True, ensure_ascii=False)
        await self._append(_EVENTS, {"call_id": call_id, "at": at, "kind": kind, "detail": text})

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


async def _leg_known(connection: AsyncConnection, leg_id: str) -> bool:
    found = await connection.execute(_LEG, {"p_leg": leg_id})
    return found.first() is not None


async def _changed(
    connection: AsyncConnection, statement: Any, parameters: Mapping[str, Any] | None = None
) -> bool:
    """Run a guarded UPDATE; True when it changed a row (the first report)."""
    result = cast(CursorResult[Any], await connection.execute(statement, parameters))
    return bool(result.rowcount)


async def _add_history_entry(
    connection: AsyncConnection,
    call_id: str,
    record: Row[Any],
    customer_id: int,
    ended_at: datetime,
) -> None:
    """An answered call as an entry of the customer's history (``record`` holds
    the ``_HISTORY_SOURCE`` columns); the agent's wrap-up later fills in its
    disposition and notes."""
    talk = _talk_time(record.answered_at, ended_at)
    await connection.execute(
        insert(_INTERACTIONS).values(
            customer_id=customer_id,
            agent_id=record.agent_id,
            channel="phone",
            occurred_at=record.answered_at or ended_at,
            disposition="answered",
            notes=f"Inbound call, queue {record.queue}, {talk}",
            call_id=call_id,
            csat_score=record.csat_score,
        )
    )


def _talk_time(answered_at: datetime | None, ended_at: datetime) -> str:
    if answered_at is None:
        return "talk time unknown"
    seconds = max(0, int((ended_at - answered_at).total_seconds()))
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


async def _insert_record(
    connection: AsyncConnection, arrival: Arrival, customer_id: int | None
) -> None:
    await connection.execute(
        _NEW_RECORD,
        {
            "id": arrival.call_id,
            "pbx": arrival.pbx,
            "linkedid": arrival.linkedid,
            "queue": arrival.queue,
            "caller_number": arrival.caller_number,
            "customer_id": customer_id,
            "enqueued_at": arrival.enqueued_at,
            "hold_s": 0.0,
        },
    )
