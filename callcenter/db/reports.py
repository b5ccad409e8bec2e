"""What the reports read from the database, as the plain facts
``callcenter.reports`` computes figures from.

A handful of queries whatever the period: the calls whose queue part ended in
the period (with their answered legs), the agents' state changes in it plus each
agent's last change before it (their state when it began), the contacts of
customers on every channel (for first-contact resolution), and the dormant
valuable customers. The numbers themselves are computed in Python by the pure
core, so SQLite and PostgreSQL give the same answers.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from sqlalchemy import func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from callcenter.db.models import (
    Agent,
    AgentStateChange,
    CallRecord,
    Customer,
    Interaction,
    PhoneNumber,
)
from callcenter.db.session import Sessions
from callcenter.reports import CallFact, ContactFact, LegFact, Period, StateChange

WRAP_UP = "wrap_up"
#: a wrap-up that starts this close to a call's end is that call's wrap-up
#: (the state change and the hangup are written by separate steps)
WRAP_UP_SLACK = timedelta(seconds=5)


async def load_calls(
    sessions: Sessions, period: Period, *, queues: Collection[str] | None = None
) -> list[CallFact]:
    """Calls answered, abandoned or otherwise ended in the period, and calls
    still open that joined before its end; each with its answered legs and the
    answering agent's wrap-up."""
    query = (
        select(CallRecord)
        .options(selectinload(CallRecord.offers))
        .where(CallRecord.enqueued_at < period.end)
        .where(
            or_(
                CallRecord.answered_at >= period.start,
                CallRecord.ended_at >= period.start,
                CallRecord.ended_at.is_(None),
            )
        )
        .order_by(CallRecord.enqueued_at, CallRecord.id)
    )
    if queues is not None:
        query = query.where(CallRecord.queue.in_(sorted(queues)))
    async with sessions() as session:
        records = list(await session.scalars(query))
        agent_ids = sorted({r.agent_id for r in records if r.agent_id is not None})
        wrap_ups = await _wrap_up_starts(session, agent_ids, period) if agent_ids else {}
    return [_call_fact(record, wrap_ups) for record in records]


async def load_state_changes(
    sessions: Sessions, period: Period, *, agent_ids: Collection[int] | None = None
) -> list[StateChange]:
    """Every change in the period, and each agent's last change before it."""
    before = (
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
            .label("newest"),
        )
        .where(AgentStateChange.at < period.start)
        .subquery()
    )
    last_before = select(before.c.agent_id, before.c.state, before.c.reason, before.c.at).where(
        before.c.newest == 1
    )
    during = select(
        AgentStateChange.agent_id,
        AgentStateChange.state,
        AgentStateChange.reason,
        AgentStateChange.at,
    ).where(AgentStateChange.at >= period.start, AgentStateChange.at < period.end)
    if agent_ids is not None:
        wanted = sorted(agent_ids)
        last_before = last_before.where(before.c.agent_id.in_(wanted))
        during = during.where(AgentStateChange.agent_id.in_(wanted))
    during = during.order_by(AgentStateChange.at, AgentStateChange.id)
    async with sessions() as session:
        rows = [*await session.execute(last_before), *await session.execute(during)]
    return [
        StateChange(agent_id=agent_id, state=state, at=at, reason=reason)
        for agent_id, state, reason, at in rows
    ]


async def load_contacts(
    sessions: Sessions, since: datetime, until: datetime, *, queues: Collection[str] | None = None
) -> list[ContactFact]:
    """Customers' contacts on every channel in [since, until), each with the
    queue of its call when it was one. ``queues`` keeps the calls of those
    queues, but every contact of their customers stays: a repeat on another
    channel or queue is still a repeat."""
    query = (
        select(
            Interaction.customer_id,
            Interaction.occurred_at,
            Interaction.channel,
            CallRecord.queue,
            Interaction.agent_id,
        )
        .outerjoin(CallRecord, CallRecord.id == Interaction.call_id)
        .where(Interaction.occurred_at >= since, Interaction.occurred_at < until)
        .order_by(Interaction.occurred_at, Interaction.id)
    )
    async with sessions() as session:
        rows = list(await session.execute(query))
    contacts = [
        ContactFact(customer_id=c, at=at, channel=channel, queue=queue, agent_id=agent)
        for c, at, channel, queue, agent in rows
    ]
    if queues is None:
        return contacts
    customers = {c.customer_id for c in contacts if c.queue in queues}
    return [c for c in contacts if c.customer_id in customers]


async def agent_skills(sessions: Sessions) -> dict[int, dict[str, int]]:
    """Every agent's skills and proficiency, for who may take which queue's calls."""
    async with sessions() as session:
        agents = list(await session.scalars(select(Agent)))
    return {agent.id: {s.skill.name: s.proficiency for s in agent.skills} for agent in agents}


@dataclass(frozen=True, slots=True)
class DormantCustomer:
    customer_id: int
    name: str
    account_number: str
    tier: str
    lifetime_value: Decimal
    #: the last contact on any channel (None: never in touch)
    last_contact_at: datetime | None
    phone: str | None

    def as_json(self) -> dict[str, object]:
        return {
            "customer_id": self.customer_id,
            "name": self.name,
            "account_number": self.account_number,
            "tier": self.tier,
            "lifetime_value": str(self.lifetime_value),
            "last_contact_at": self.last_contact_at.isoformat() if self.last_contact_at else None,
            "phone": self.phone,
        }


async def dormant_customers(
    sessions: Sessions,
    *,
    now: datetime,
    days: int,
    min_lifetime_value: Decimal,
    limit: int = 1000,
) -> list[DormantCustomer]:
    """Active customers worth at least ``min_lifetime_value`` with no contact on
    any channel (an interaction or a call) for ``days`` days: the most valuable
    first, for a supervisor to have them called back."""
    horizon = now - timedelta(days=days)
    last_interaction = (
        select(Interaction.customer_id, func.max(Interaction.occurred_at).label("at"))
        .group_by(Interaction.customer_id)
        .subquery()
    )
    last_call = (
        select(CallRecord.customer_id, func.max(CallRecord.enqueued_at).label("at"))
        .where(CallRecord.customer_id.is_not(None))
        .group_by(CallRecord.customer_id)
        .subquery()
    )
    first_phone = (
        select(PhoneNumber.customer_id, func.min(PhoneNumber.e164).label("e164"))
        .group_by(PhoneNumber.customer_id)
        .subquery()
    )
    query = (
        select(Customer, last_interaction.c.at, last_call.c.at, first_phone.c.e164)
        .outerjoin(last_interaction, last_interaction.c.customer_id == Customer.id)
        .outerjoin(last_call, last_call.c.customer_id == Customer.id)
        .outerjoin(first_phone, first_phone.c.customer_id == Customer.id)
        .where(Customer.lifetime_value >= min_lifetime_value)
        .where(Customer.status == "active")
        .where(or_(last_interaction.c.at.is_(None), last_interaction.c.at < horizon))
        .where(or_(last_call.c.at.is_(None), last_call.c.at < horizon))
        .order_by(Customer.lifetime_value.desc(), Customer.id)
        .limit(limit)
    )
    async with sessions() as session:
        rows = list(await session.execute(query))
    return [
        DormantCustomer(
            customer_id=customer.id,
            name=customer.name,
            account_number=customer.account_number,
            tier=customer.tier,
            lifetime_value=customer.lifetime_value,
            last_contact_at=_latest(interaction_at, call_at),
            phone=phone,
        )
        for customer, interaction_at, call_at, phone in rows
    ]


def _latest(*instants: datetime | None) -> datetime | None:
    known = [at for at in instants if at is not None]
    return max(known) if known else None


#: per agent: (start, end) of each wrap-up, sorted by start
WrapUps = dict[int, list[tuple[datetime, datetime | None]]]


async def _wrap_up_starts(
    session: AsyncSession, agent_ids: Sequence[int], period: Period
) -> WrapUps:
    """The answering agents' wrap-ups around the period, each with its end (the
    agent's next state change)."""
    rows = await session.execute(
        select(AgentStateChange.agent_id, AgentStateChange.state, AgentStateChange.at)
        .where(AgentStateChange.agent_id.in_(list(agent_ids)))
        .where(AgentStateChange.at >= period.start - timedelta(days=1))
        .order_by(AgentStateChange.agent_id, AgentStateChange.at, AgentStateChange.id)
    )
    timelines: dict[int, list[tuple[str, datetime]]] = defaultdict(list)
    for agent_id, state, at in rows:
        timelines[agent_id].append((state, at))
    wrap_ups: WrapUps = {}
    for agent_id, timeline in timelines.items():
        spans = []
        for index, (state, at) in enumerate(timeline):
            if state == WRAP_UP:
                end = timeline[index + 1][1] if index + 1 < len(timeline) else None
                spans.append((at, end))
        wrap_ups[agent_id] = spans
    return wrap_ups


def _wrap_up_s(wrap_ups: WrapUps, agent_id: int | None, ended_at: datetime | None) -> float:
    """The wrap-up the answering agent began as the call ended (0: none, or
    still going on)."""
    if agent_id is None or ended_at is None:
        return 0.0
    spans = wrap_ups.get(agent_id, [])
    index = bisect_left(spans, ended_at - WRAP_UP_SLACK, key=lambda span: span[0])
    if index < len(spans):
        start, end = spans[index]
        if start <= ended_at + WRAP_UP_SLACK and end is not None:
            return max(0.0, (end - start).total_seconds())
    return 0.0


def _call_fact(record: CallRecord, wrap_ups: WrapUps) -> CallFact:
    legs = tuple(
        LegFact(
            agent_id=offer.agent_id,
            kind=offer.kind,
            answered_at=offer.answered_at,
            left_at=offer.left_at,
            held_s=offer.held_s,
        )
        for offer in record.offers
        if offer.answered_at is not None
    )
    return CallFact(
        call_id=record.id,
        queue=record.queue,
        enqueued_at=record.enqueued_at,
        outcome=record.outcome,
        answered_at=record.answered_at,
        ended_at=record.ended_at,
        agent_id=record.agent_id,
        hold_s=record.hold_s,
        wrap_up_s=_wrap_up_s(wrap_ups, record.agent_id, record.ended_at),
        customer_id=record.customer_id,
        abandon_phase=record.abandon_phase,
        csat=record.csat_score,
        legs=legs,
        callback=record.outcome == "callback",
    )
