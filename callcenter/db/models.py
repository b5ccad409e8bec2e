"""The database schema (SQLAlchemy 2, typed). Alembic migrations create it.

Times are timezone-aware UTC. Phone numbers are stored in E.164 so a caller's
number finds its customer with one indexed equality lookup.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes on every backend (SQLite keeps no zone of its own)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Skill(Base):
    __tablename__ = "skills"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)


class Queue(Base):
    __tablename__ = "queues"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    skill_id: Mapped[int] = mapped_column(ForeignKey("skills.id"))
    ring_timeout_s: Mapped[int] = mapped_column(Integer, default=15)
    #: the inbound number (dialplan exten) that feeds this queue
    did: Mapped[str | None] = mapped_column(String(32), unique=True)

    skill: Mapped[Skill] = relationship(lazy="joined")


class Agent(Base):
    __tablename__ = "agents"
    __table_args__ = (
        CheckConstraint(
            "location IN ('on_site', 'remote_site', 'home', 'partner')", name="location"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    login: Mapped[str] = mapped_column(String(64), unique=True)
    name: Mapped[str] = mapped_column(String(128))
    dial_string: Mapped[str] = mapped_column(String(128))
    location: Mapped[str] = mapped_column(String(16), default="on_site")
    pbx: Mapped[str] = mapped_column(String(32), default="pbx1")
    #: played by the demo simulator rather than by a person
    simulated: Mapped[bool] = mapped_column(default=False)

    skills: Mapped[list[AgentSkill]] = relationship(lazy="selectin", cascade="all, delete-orphan")


class AgentSkill(Base):
    __tablename__ = "agent_skills"
    __table_args__ = (CheckConstraint("proficiency BETWEEN 1 AND 5", name="proficiency"),)

    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"), primary_key=True)
    skill_id: Mapped[int] = mapped_column(ForeignKey("skills.id"), primary_key=True)
    proficiency: Mapped[int] = mapped_column(Integer)

    skill: Mapped[Skill] = relationship(lazy="joined")


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    #: comma-separated: agent, supervisor, admin
    roles: Mapped[str] = mapped_column(String(64))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), unique=True)


class Customer(Base):
    __tablename__ = "customers"
    """A customer and their account (one account per customer: tier, value,
    standing), which is what routing and the pop read first."""

    __table_args__ = (
        CheckConstraint("tier IN ('bronze', 'silver', 'gold', 'platinum')", name="tier"),
        CheckConstraint(
            "status IN ('active', 'overdue', 'suspended', 'closed')", name="account_status"
        ),
        CheckConstraint("profitability IN ('', 'high', 'medium', 'low')", name="profitability"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    tier: Mapped[str] = mapped_column(String(16), default="bronze")
    lifetime_value: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal("0"))
    account_number: Mapped[str] = mapped_column(String(32), unique=True)
    notes: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    #: the account's standing: active, overdue (an invoice past due), suspended, closed
    status: Mapped[str] = mapped_column(String(16), default="active", server_default="active")
    #: what the customer owes now (negative: in credit); billing keeps it current
    balance: Mapped[Decimal] = mapped_column(
        Numeric(12, 2), default=Decimal("0"), server_default="0"
    )
    #: how much the account earns us: high, medium, low ('': not assessed)
    profitability: Mapped[str] = mapped_column(String(8), default="", server_default="")

    # "raise": the screen-pop's lookup must stay one query, so numbers are only
    # loaded where asked for (``selectinload``), never as a side effect.
    phone_numbers: Mapped[list[PhoneNumber]] = relationship(lazy="raise", back_populates="customer")


class PhoneNumber(Base):
    """A number a customer calls from, in E.164.

    Unique per customer but deliberately not across customers: a household line
    or an office switchboard is shared, and then the agent gets a pick list.
    The index on ``e164`` keeps the caller lookup one indexed equality query.
    """

    __tablename__ = "phone_numbers"
    __table_args__ = (
        UniqueConstraint("customer_id", "e164", name="uq_phone_numbers_customer_e164"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    e164: Mapped[str] = mapped_column(String(20), index=True)
    label: Mapped[str] = mapped_column(String(32), default="mobile")
    #: the customer's named person who uses this number (None: the customer's own)
    contact_id: Mapped[int | None] = mapped_column(ForeignKey("contacts.id"))

    customer: Mapped[Customer] = relationship(lazy="raise", back_populates="phone_numbers")


class Contact(Base):
    """A person who speaks for a customer: a company's buyer, a household member.
    Their numbers are the customer's numbers, so their call finds the account."""

    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"), index=True)
    name: Mapped[str] = mapped_column(String(128))
    role: Mapped[str] = mapped_column(String(64), default="")
    email: Mapped[str] = mapped_column(String(254), default="")
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())


class Invoice(Base):
    """Billing: what was charged. Unpaid invoices are what a caller often rings about."""

    __tablename__ = "invoices"
    __table_args__ = (
        Index("ix_invoices_customer_due", "customer_id", "due_on"),
        CheckConstraint("status IN ('open', 'paid', 'void')", name="status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    number: Mapped[str] = mapped_column(String(32), unique=True)
    issued_on: Mapped[date] = mapped_column(Date)
    due_on: Mapped[date] = mapped_column(Date)
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    status: Mapped[str] = mapped_column(String(8), default="open")


class Payment(Base):
    __tablename__ = "payments"
    __table_args__ = (Index("ix_payments_customer_time", "customer_id", "paid_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    paid_at: Mapped[datetime] = mapped_column(UtcDateTime())
    amount: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    method: Mapped[str] = mapped_column(String(32), default="")


class Order(Base):
    """Orders and their deliveries: "where is my parcel" without a transfer."""

    __tablename__ = "orders"
    __table_args__ = (
        Index("ix_orders_customer_time", "customer_id", "placed_at"),
        CheckConstraint(
            "status IN ('placed', 'shipped', 'delivered', 'cancelled', 'returned')",
            name="status",
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    number: Mapped[str] = mapped_column(String(32), unique=True)
    placed_at: Mapped[datetime] = mapped_column(UtcDateTime())
    status: Mapped[str] = mapped_column(String(16), default="placed")
    total: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    carrier: Mapped[str] = mapped_column(String(32), default="")
    #: when it is expected (shipped) or arrived (delivered)
    delivery_on: Mapped[date | None] = mapped_column(Date)


class Ticket(Base):
    """A technical case, opened by support on any channel."""

    __tablename__ = "tickets"
    __table_args__ = (
        Index("ix_tickets_customer_status", "customer_id", "status"),
        CheckConstraint("status IN ('open', 'pending', 'closed')", name="status"),
        CheckConstraint("priority IN ('low', 'normal', 'high', 'urgent')", name="priority"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    subject: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(8), default="open")
    priority: Mapped[str] = mapped_column(String(8), default="normal")
    opened_at: Mapped[datetime] = mapped_column(UtcDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UtcDateTime())


class Opportunity(Base):
    """Sales: a deal in progress or a contract coming up for renewal."""

    __tablename__ = "opportunities"
    __table_args__ = (
        Index("ix_opportunities_customer_due", "customer_id", "due_on"),
        CheckConstraint("kind IN ('new', 'renewal')", name="kind"),
        CheckConstraint("stage IN ('open', 'proposal', 'won', 'lost')", name="stage"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    title: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(8))
    stage: Mapped[str] = mapped_column(String(8), default="open")
    value: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=Decimal("0"))
    due_on: Mapped[date] = mapped_column(Date)


class Interaction(Base):
    """A contact with a customer on any channel: the history an agent sees."""

    __tablename__ = "interactions"
    __table_args__ = (Index("ix_interactions_customer_time", "customer_id", "occurred_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id"))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    channel: Mapped[str] = mapped_column(String(16))
    occurred_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    disposition: Mapped[str] = mapped_column(String(64), default="")
    notes: Mapped[str] = mapped_column(Text, default="")
    #: the call this contact was (wrap-up finds its entry by it)
    call_id: Mapped[str | None] = mapped_column(String(64), index=True)
    #: the post-call survey's 1-5 score, when this interaction is a call that had one
    csat_score: Mapped[int | None] = mapped_column(SmallInteger)


class CallRecord(Base):
    """One inbound call from enqueue to end: the source of every report."""

    __tablename__ = "call_records"
    # Not unique: Asterisk reuses Linkedids after a restart (migration 0004).
    __table_args__ = (Index("ix_call_records_pbx_linkedid", "pbx", "linkedid"),)

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    pbx: Mapped[str] = mapped_column(String(32))
    linkedid: Mapped[str] = mapped_column(String(64))
    queue: Mapped[str] = mapped_column(String(64), index=True)
    caller_number: Mapped[str] = mapped_column(String(32))
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    enqueued_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    outcome: Mapped[str | None] = mapped_column(String(32))
    abandon_phase: Mapped[str | None] = mapped_column(String(16))
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"), index=True)
    agent_target: Mapped[str | None] = mapped_column(String(128))
    ended_by: Mapped[str | None] = mapped_column(String(16))
    #: seconds the caller spent on hold, summed over the legs (``leg_left``)
    hold_s: Mapped[float] = mapped_column(Float, default=0.0, server_default=false())
    #: the agent's wrap-up (also on the customer's history when the caller is known)
    disposition: Mapped[str | None] = mapped_column(String(64), index=True)
    wrap_up_notes: Mapped[str | None] = mapped_column(Text)
    #: the caller's 1-5 answer to the post-call survey (None: no survey, no answer)
    csat_score: Mapped[int | None] = mapped_column(SmallInteger)

    offers: Mapped[list[CallOffer]] = relationship(lazy="selectin", order_by="CallOffer.offered_at")


class CallOffer(Base):
    """One leg of a call: an agent leg we originated (``offer``), or a party that
    joined later by a transfer, a consultation or a conference (``kind``).

    A call keeps one ``call_records`` row however many people it passes through;
    each leg says when its party talked (``answered_at`` to ``left_at``) so each
    agent is credited with their own part only. ``agent_id`` is None for a leg
    to an outside number. ``result`` and ``ended_at`` are the ringing's outcome
    (``offer_result``); the talk is ``answered_at``..``left_at``.
    """

    __tablename__ = "call_offers"
    __table_args__ = (
        CheckConstraint("kind IN ('offer', 'transfer', 'consult', 'conference')", name="kind"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("call_records.id"), index=True)
    leg_id: Mapped[str] = mapped_column(String(96), unique=True)
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("agents.id"))
    agent_target: Mapped[str] = mapped_column(String(128))
    offered_at: Mapped[datetime] = mapped_column(UtcDateTime())
    result: Mapped[str | None] = mapped_column(String(32))
    ended_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    kind: Mapped[str] = mapped_column(String(16), default="offer", server_default="offer")
    #: the party started talking on the call (indexed: talk-time reports by day)
    answered_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)
    left_at: Mapped[datetime | None] = mapped_column(UtcDateTime())
    #: seconds the caller was on hold while this leg's party had the call
    held_s: Mapped[float] = mapped_column(Float, default=0.0, server_default=false())


class AgentStateChange(Base):
    __tablename__ = "agent_state_changes"
    __table_args__ = (Index("ix_agent_state_changes_agent_time", "agent_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"))
    state: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime())


class RoutingRuleVersion(Base):
    """One version of the routing rules document (``routing.RoutingRules`` as JSON).

    Rows are never edited in place once published: a change is a new version, so
    a report can say which rules routed a call and a rollback is publishing an
    older document again. A row without ``published_at`` is a draft. The live
    rules are the version published last.
    """

    __tablename__ = "routing_rule_versions"

    #: chosen by the publisher (the newest + 1), not by a sequence, so numbers
    #: have no gaps and read the same on SQLite and PostgreSQL
    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    #: the whole document as JSON text (validated again when it is loaded)
    document: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UtcDateTime())
    created_by: Mapped[str] = mapped_column(String(64))
    note: Mapped[str] = mapped_column(String(500), default="")
    published_at: Mapped[datetime | None] = mapped_column(UtcDateTime(), index=True)


class SupervisionEventRow(Base):
    """One attempt to monitor, whisper or barge (``callcenter.ports.SupervisionEvent``).

    Append-only: the migration adds triggers that refuse UPDATE and DELETE (and
    TRUNCATE on PostgreSQL). No foreign keys on purpose: an attempt on a call id
    that never existed is audited too, and the trail must outlive the users and
    agents it names (hence ``username`` beside ``user_id``).
    """

    __tablename__ = "supervision_events"
    __table_args__ = (CheckConstraint("mode IN ('monitor', 'whisper', 'barge')", name="mode"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    user_id: Mapped[int] = mapped_column(Integer)
    username: Mapped[str] = mapped_column(String(64))
    call_id: Mapped[str] = mapped_column(String(64), index=True)
    agent_id: Mapped[int | None] = mapped_column(Integer)
    mode: Mapped[str] = mapped_column(String(16))
    #: started, started:unconfirmed, refused:<reason>, failed:<reason>
    outcome: Mapped[str] = mapped_column(String(64))
    #: the supervisor leg's ChannelId, to find it in the PBX's own records
    spy_leg_id: Mapped[str | None] = mapped_column(String(96))


class CallEventRow(Base):
    """One step of a call's life (queued, offered, held, transferred...), in order.

    Append-only like ``supervision_events``: the migration adds triggers that
    refuse UPDATE and DELETE (and TRUNCATE on PostgreSQL), so the log is a
    trustworthy account of what happened. No foreign key to ``call_records``:
    a step is logged even when its call's record could not be written.
    """

    __tablename__ = "call_events"
    __table_args__ = (Index("ix_call_events_call_time", "call_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    kind: Mapped[str] = mapped_column(String(64))
    #: a JSON object (ids, reasons, targets)
    detail: Mapped[str] = mapped_column(Text, default="{}")


class ReasonCode(Base):
    """Why an agent is Not Ready (break, lunch, training...): reports group
    pauses by it, so agents choose from these instead of typing."""

    __tablename__ = "reason_codes"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    label: Mapped[str] = mapped_column(String(100))
    #: paid, productive time (training, coaching) rather than a break
    productive: Mapped[bool] = mapped_column(default=False, server_default=false())
    active: Mapped[bool] = mapped_column(default=True, server_default=true())


class DispositionCode(Base):
    """How a call ended, chosen by the agent at wrap-up (resolved, sale...)."""

    __tablename__ = "disposition_codes"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    label: Mapped[str] = mapped_column(String(100))
    requires_notes: Mapped[bool] = mapped_column(default=False, server_default=false())
    active: Mapped[bool] = mapped_column(default=True, server_default=true())


class AuditEventRow(Base):
    """One audited action: a login, a role change, a rule edit, a pause, a pop
    shown to an agent, a supervisor listening in...

    Append-only (triggers refuse UPDATE and DELETE, and TRUNCATE on PostgreSQL)
    and without foreign keys, so the trail outlives the users it names.
    """

    __tablename__ = "audit_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    user_id: Mapped[int | None] = mapped_column(Integer)
    username: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    target: Mapped[str] = mapped_column(String(128), default="")
    #: a JSON object
    detail: Mapped[str] = mapped_column(Text, default="{}")
    address: Mapped[str | None] = mapped_column(String(64))


class SupervisorQueue(Base):
    """A queue a supervisor watches. A supervisor with none watches every queue."""

    __tablename__ = "supervisor_queues"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    queue_id: Mapped[int] = mapped_column(
        ForeignKey("queues.id", ondelete="CASCADE"), primary_key=True
    )


class RecordingRow(Base):
    """One call's recording: its legs' files joined into one, kept under the
    recordings store (``path`` is relative to it). ``sections`` lists which leg
    (agent) speaks from which offset, ``pauses`` where it was paused and by
    whom (silence there), both as JSON. A deleted recording keeps its row, with
    ``deleted_at`` and no file, so the history says it existed and when it went."""

    __tablename__ = "recordings"

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[str] = mapped_column(ForeignKey("call_records.id"), unique=True)
    queue: Mapped[str] = mapped_column(String(64), index=True)
    customer_id: Mapped[int | None] = mapped_column(ForeignKey("customers.id"), index=True)
    started_at: Mapped[datetime] = mapped_column(UtcDateTime(), index=True)
    duration_s: Mapped[float] = mapped_column(Float)
    size_bytes: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(String(255))
    encrypted: Mapped[bool] = mapped_column(Boolean)
    sections: Mapped[str] = mapped_column(Text)
    pauses: Mapped[str] = mapped_column(Text)
    #: leg ids whose file never arrived (their part of the call is missing)
    missing_legs: Mapped[str] = mapped_column(Text)
    #: days it is kept, from its queue's rules when it was made; None: for ever
    retention_days: Mapped[int | None] = mapped_column(Integer)
    deleted_at: Mapped[datetime | None] = mapped_column(UtcDateTime())

    agents: Mapped[list[RecordingAgent]] = relationship(lazy="selectin")


class RecordingAgent(Base):
    """An agent heard on a recording (one row per agent), for search by agent
    and for "agents hear their own calls"."""

    __tablename__ = "recording_agents"

    recording_id: Mapped[int] = mapped_column(
        ForeignKey("recordings.id", ondelete="CASCADE"), primary_key=True
    )
    agent_id: Mapped[int] = mapped_column(ForeignKey("agents.id"), primary_key=True, index=True)
