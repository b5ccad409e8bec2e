"""Demo data: queues, skills, agents, users and a few thousand CRM customers.

Deterministic for a given ``rng_seed`` (and ``now``) so a demo, a test and a bug
report all see the same people. Each part draws from its own random stream, so
the customers do not change when the number of agents does. Idempotent: each
part is only added when it is missing, so ``callcenter seed`` can run on every
``make run``; customers are only added to an empty CRM, never on top of a real one,
and the example routing rules (``config/routing.toml``) are only published into a
database that has no rules version yet, never over an admin's. Reason and
disposition codes are only added to an empty table; the demo ``supervisor``
supervises every demo queue when this run creates the account.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import structlog
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.db.demo_departments import demo_departments
from callcenter.db.demo_people import mobile_number, person_name, pick_region
from callcenter.db.models import (
    Agent,
    AgentSkill,
    Customer,
    DispositionCode,
    Interaction,
    Invoice,
    Opportunity,
    Order,
    Payment,
    PhoneNumber,
    Queue,
    ReasonCode,
    RoutingRuleVersion,
    Skill,
    SupervisorQueue,
    Ticket,
    User,
)
from callcenter.db.routing_rules import publish_rules_if_none, read_rules_file
from callcenter.db.session import Sessions
from callcenter.db.users import hash_password

log = structlog.get_logger(__name__)

#: (queue name, DID, skill it needs)
QUEUES = (("sales", "100", "sales"), ("support", "200", "support"), ("billing", "300", "billing"))
SKILLS = tuple(skill for _name, _did, skill in QUEUES)
#: agents meant for people in the demo (everyone else is played by the simulator)
PEOPLE = ("agent01", "agent02")
LOCATIONS = (("on_site", 10), ("remote_site", 4), ("home", 4), ("partner", 2))
TIERS = (("bronze", 55), ("silver", 28), ("gold", 13), ("platinum", 4))
TIER_VALUE = {"bronze": 400, "silver": 2_500, "gold": 12_000, "platinum": 60_000}
#: the example routing rules, relative to the checkout like the other config files
DEFAULT_RULES_FILE = Path("config/routing.toml")
#: one customer in this many shares a home line with the customer before
#: (a household), so the demo shows the pick list
HOUSEHOLD_EVERY = 40
CHANNELS = (("phone", 5), ("email", 2), ("web", 1), ("chat", 2))
DISPOSITIONS = {
    "phone": ("resolved", "callback promised", "escalated", "sale", "info given"),
    "email": ("replied", "waiting for customer", "closed"),
    "web": ("form submitted", "order placed", "password reset"),
    "chat": ("resolved", "transferred to phone", "abandoned"),
}
CONTACT_NOTES = (
    "Asked about the renewal price.",
    "Invoice disputed; credit note issued.",
    "Router replaced under warranty.",
    "Wants a call back after 5 pm.",
    "Upgrade to the premium plan discussed.",
    "Delivery late; courier contacted.",
    "Prefers email for invoices.",
    "Reported intermittent outage; ticket opened.",
    "Changed billing address.",
    "Asked to cancel; retention offer accepted.",
)
CUSTOMER_NOTES = (
    "",
    "",
    "",
    "Prefers French-speaking agents.",
    "VIP: escalate billing issues to the account manager.",
    "Hard of hearing: speak slowly.",
    "Has two sites; confirm which one before changes.",
    "Pays by bank transfer only.",
)


@dataclass(frozen=True, slots=True)
class SeedSummary:
    queues: int
    agents: int
    users: int
    customers: int
    phone_numbers: int
    interactions: int
    rule_versions: int


@dataclass(frozen=True, slots=True)
class DemoAgent:
    login: str
    name: str
    location: str
    skills: dict[str, int]
    simulated: bool


@dataclass(frozen=True, slots=True)
class DemoContact:
    channel: str
    occurred_at: datetime
    disposition: str
    notes: str
    #: the agent who handled it (phone contacts only), as an index into the roster
    agent_index: int | None


@dataclass(slots=True)
class DemoCustomer:
    account_number: str
    name: str
    tier: str
    lifetime_value: Decimal
    notes: str
    created_at: datetime
    numbers: list[tuple[str, str]] = field(default_factory=list)
    history: list[DemoContact] = field(default_factory=list)


async def seed_demo(
    sessions: Sessions,
    *,
    customers: int = 3000,
    agents: int = 20,
    rng_seed: int = 7,
    password: str = "password",
    now: datetime | None = None,
    rules_file: Path | None = None,
) -> SeedSummary:
    """Fill an empty database with the demo call center, or top up what is missing.

    ``now`` anchors the customers' history (default: the current time), so the
    demo's "last contact" dates stay recent whenever it is seeded. ``rules_file``
    (default: ``example_rules_file()``) is published as the first routing rules
    version when there is none.
    """
    at = (now or datetime.now(UTC)).astimezone(UTC).replace(microsecond=0)
    roster = demo_roster(agents, rng_seed)
    async with sessions.begin() as session:
        skills = await _ensure_skills(session)
        await _ensure_queues(session, skills)
        agent_ids = await _ensure_agents(session, skills, roster)
        created_users = await _ensure_users(session, agent_ids, password)
        if "supervisor" in created_users:
            await _supervise_demo_queues(session, "supervisor")
        await _ensure_codes(session)
        if not await session.scalar(select(func.count()).select_from(Customer)):
            people = demo_customers(customers, rng_seed, at, agents=len(roster))
            roster_ids = [agent_ids[a.login] for a in roster]
            await _add_customers(session, people, roster_ids, rng_seed=rng_seed, now=at)
    await _ensure_rules(sessions, rules_file or example_rules_file())
    return await summarise(sessions)


def example_rules_file() -> Path | None:
    """``config/routing.toml``: in the working directory first (``make run`` runs
    from the checkout, as for ``config/callcenter.toml``), else in the checkout
    this package was imported from (tests started elsewhere); None when neither
    has it (an installed wheel ships no config)."""
    checkout = Path(__file__).resolve().parents[2] / DEFAULT_RULES_FILE
    for candidate in (DEFAULT_RULES_FILE, checkout):
        if candidate.is_file():
            return candidate
    return None


async def _ensure_rules(sessions: Sessions, rules_file: Path | None) -> None:
    """Publish the example rules as version 1 into a database without rules.

    Any existing version (even a draft) means someone manages the rules: the
    file is then not even read. Without a file the router falls back to the
    queues table (``live_rules_or_default``), which says so in its log.
    """
    async with sessions() as session:
        if await session.scalar(select(func.count()).select_from(RoutingRuleVersion)):
            return
    if rules_file is None:
        log.warning("no config/routing.toml found; no routing rules published")
        return
    await publish_rules_if_none(
        sessions,
        read_rules_file(rules_file),
        author="seed",
        note=f"example rules from {rules_file.name}",
    )


async def summarise(sessions: Sessions) -> SeedSummary:
    async with sessions() as session:

        async def count(model: type) -> int:
            return int(await session.scalar(select(func.count()).select_from(model)) or 0)

        return SeedSummary(
            queues=await count(Queue),
            agents=await count(Agent),
            users=await count(User),
            customers=await count(Customer),
            phone_numbers=await count(PhoneNumber),
            interactions=await count(Interaction),
            rule_versions=await count(RoutingRuleVersion),
        )


def demo_roster(count: int, rng_seed: int) -> list[DemoAgent]:
    """agent01..agentNN: distinct names, a mix of locations, every queue covered.

    Each agent has a primary skill (taken in turn, so every queue has agents) at
    proficiency 3-5 and maybe others at 1-3; the people's agents have every skill
    so any demo call can reach them.
    """
    rng = random.Random(f"{rng_seed}:agents")
    names: set[str] = set()
    roster = []
    for n in range(1, count + 1):
        login = f"agent{n:02d}"
        name = person_name(rng, pick_region(rng))
        while name in names:
            name = person_name(rng, pick_region(rng))
        names.add(name)
        person = login in PEOPLE
        primary = SKILLS[(n - 1) % len(SKILLS)]
        skills = {primary: rng.randint(3, 5)}
        for other in SKILLS:
            if other != primary and (person or rng.random() < 0.4):
                skills[other] = rng.randint(1, 3) if not person else rng.randint(3, 5)
        location = "on_site" if person else _weighted(rng, LOCATIONS)
        roster.append(DemoAgent(login, name, location, skills, simulated=not person))
    return roster


def demo_customers(count: int, rng_seed: int, now: datetime, *, agents: int) -> list[DemoCustomer]:
    """Customers with 1-2 numbers (E.164, varied countries) and 0-5 past contacts."""
    rng = random.Random(f"{rng_seed}:customers")
    used: set[str] = set()
    people: list[DemoCustomer] = []
    for n in range(1, count + 1):
        region = pick_region(rng)
        customer = _customer(rng, n, person_name(rng, region), now)
        if people and n % HOUSEHOLD_EVERY == 0:
            # Shares the previous customer's line and surname: a household.
            before = people[-1]
            surname = before.name.split(" ", 1)[1]
            customer.name = f"{customer.name.split(' ', 1)[0]} {surname}"
            customer.numbers.append((before.numbers[0][0], "home"))
        else:
            customer.numbers.append((_fresh_number(rng, region, used), "mobile"))
        if rng.random() < 0.3:
            customer.numbers.append((_fresh_number(rng, region, used), "work"))
        customer.history = _history(rng, customer.created_at, now, agents)
        people.append(customer)
    return people


def _customer(rng: random.Random, n: int, name: str, now: datetime) -> DemoCustomer:
    tier = _weighted(rng, TIERS)
    value = Decimal(TIER_VALUE[tier] * rng.uniform(0.3, 2.0)).quantize(Decimal("0.01"))
    return DemoCustomer(
        account_number=f"4{n:07d}",
        name=name,
        tier=tier,
        lifetime_value=value,
        notes=rng.choice(CUSTOMER_NOTES),
        created_at=now - timedelta(days=rng.randint(30, 3000)),
    )


def _history(rng: random.Random, since: datetime, now: datetime, agents: int) -> list[DemoContact]:
    span_min = int((now - since).total_seconds() // 60) - 60
    contacts = []
    for _ in range(rng.randint(0, 5)):
        channel = _weighted(rng, CHANNELS)
        contacts.append(
            DemoContact(
                channel=channel,
                occurred_at=now - timedelta(minutes=60 + rng.randint(0, span_min)),
                disposition=rng.choice(DISPOSITIONS[channel]),
                notes=rng.choice(CONTACT_NOTES),
                agent_index=rng.randrange(agents) if channel == "phone" and agents else None,
            )
        )
    return contacts


def _fresh_number(rng: random.Random, region: str, used: set[str]) -> str:
    while True:
        number = mobile_number(rng, region)
        if number not in used:
            used.add(number)
            return number


def _weighted(rng: random.Random, choices: tuple[tuple[str, int], ...]) -> str:
    return rng.choices([c for c, _ in choices], [w for _, w in choices])[0]


async def _ensure_skills(session: AsyncSession) -> dict[str, int]:
    existing = {s.name: s.id for s in (await session.execute(select(Skill))).scalars()}
    for name in SKILLS:
        if name not in existing:
            skill = Skill(name=name)
            session.add(skill)
            await session.flush()
            existing[name] = skill.id
    return existing


async def _ensure_queues(session: AsyncSession, skills: dict[str, int]) -> None:
    existing = set((await session.execute(select(Queue.name))).scalars())
    for name, did, skill in QUEUES:
        if name not in existing:
            session.add(Queue(name=name, skill_id=skills[skill], ring_timeout_s=15, did=did))
    await session.flush()


async def _ensure_agents(
    session: AsyncSession, skills: dict[str, int], roster: list[DemoAgent]
) -> dict[str, int]:
    existing = {a.login: a.id for a in (await session.execute(select(Agent))).scalars()}
    for spec in roster:
        if spec.login in existing:
            continue
        agent = Agent(
            login=spec.login,
            name=spec.name,
            dial_string=f"PJSIP/{spec.login}",
            location=spec.location,
            pbx="pbx1",
            simulated=spec.simulated,
        )
        agent.skills = [
            AgentSkill(skill_id=skills[name], proficiency=level)
            for name, level in spec.skills.items()
        ]
        session.add(agent)
        await session.flush()
        existing[spec.login] = agent.id
    return existing


async def _ensure_users(
    session: AsyncSession, agent_ids: dict[str, int], password: str
) -> set[str]:
    """Add the demo accounts that are missing; returns the usernames added."""
    existing = set((await session.execute(select(User.username))).scalars())
    wanted: list[tuple[str, str, int | None]] = [
        (login, "agent", agent_id) for login, agent_id in sorted(agent_ids.items())
    ]
    wanted += [("supervisor", "supervisor", None), ("admin", "admin,supervisor", None)]
    missing = [w for w in wanted if w[0] not in existing]
    if not missing:
        return set()
    # One hash for every demo account: they share a published password, so
    # per-user salts would protect nothing, and 20 argon2 runs would cost seconds.
    # Hashed on a thread so a service seeding at start-up keeps its loop free.
    password_hash = await asyncio.to_thread(hash_password, password)
    for username, roles, agent_id in missing:
        session.add(
            User(username=username, password_hash=password_hash, roles=roles, agent_id=agent_id)
        )
    await session.flush()
    return {username for username, _roles, _agent_id in missing}


async def _supervise_demo_queues(session: AsyncSession, username: str) -> None:
    """``username`` (just created) supervises every demo queue. Only for an
    account this run added: an existing supervisor's queues are the admin's,
    and none assigned already means every queue."""
    user_id = await session.scalar(select(User.id).where(User.username == username))
    queue_ids = await session.scalars(
        select(Queue.id).where(Queue.name.in_([name for name, _did, _skill in QUEUES]))
    )
    session.add_all(SupervisorQueue(user_id=user_id, queue_id=queue_id) for queue_id in queue_ids)
    await session.flush()


#: (code, label, productive): why an agent is Not Ready
DEMO_REASON_CODES = (
    ("break", "Break", False),
    ("lunch", "Lunch", False),
    ("training", "Training", True),
    ("meeting", "Meeting", True),
    ("coaching", "Coaching", True),
    ("technical_issue", "Technical issue", False),
)
#: (code, label, requires_notes): how a call ended
DEMO_DISPOSITION_CODES = (
    ("resolved", "Resolved", False),
    ("sale", "Sale", False),
    ("follow_up", "Follow-up needed", True),
    ("escalated", "Escalated", False),
    ("wrong_number", "Wrong number", False),
)


async def _ensure_codes(session: AsyncSession) -> None:
    """The demo's reason and disposition codes, added only where the table is
    empty: codes an admin defined (or deleted) are theirs."""
    if not await session.scalar(select(func.count()).select_from(ReasonCode)):
        session.add_all(
            ReasonCode(code=code, label=label, productive=productive, active=True)
            for code, label, productive in DEMO_REASON_CODES
        )
    if not await session.scalar(select(func.count()).select_from(DispositionCode)):
        session.add_all(
            DispositionCode(code=code, label=label, requires_notes=notes, active=True)
            for code, label, notes in DEMO_DISPOSITION_CODES
        )
    await session.flush()


async def _add_customers(
    session: AsyncSession,
    people: list[DemoCustomer],
    roster_ids: list[int],
    *,
    rng_seed: int,
    now: datetime,
) -> None:
    if not people:
        return
    rows = [
        {
            "name": p.name,
            "tier": p.tier,
            "lifetime_value": p.lifetime_value,
            "account_number": p.account_number,
            "notes": p.notes,
            "created_at": p.created_at,
        }
        for p in people
    ]
    # Ids come from the database (never chosen here), so PostgreSQL's sequence
    # stays ahead of them and later contacts can be added.
    departments = [
        demo_departments(rng_seed, int(p.account_number), p.tier, p.lifetime_value, now)
        for p in people
    ]
    for row, held in zip(rows, departments, strict=True):
        row.update(status=held.status, balance=held.balance, profitability=held.profitability)
    ids = list(
        await session.scalars(
            insert(Customer).returning(Customer.id, sort_by_parameter_order=True), rows
        )
    )
    tables: dict[str, list[dict[str, Any]]] = {}
    for cid, held in zip(ids, departments, strict=True):
        for name, table_rows in held.rows_for(cid).items():
            tables.setdefault(name, []).extend(table_rows)
    numbers = [
        {"customer_id": cid, "e164": e164, "label": label}
        for cid, p in zip(ids, people, strict=True)
        for e164, label in p.numbers
    ]
    contacts = [
        {
            "customer_id": cid,
            "agent_id": None if c.agent_index is None else roster_ids[c.agent_index],
            "channel": c.channel,
            "occurred_at": c.occurred_at,
            "disposition": c.disposition,
            "notes": c.notes,
        }
        for cid, p in zip(ids, people, strict=True)
        for c in p.history
    ]
    await session.execute(insert(PhoneNumber), numbers)
    if contacts:
        await session.execute(insert(Interaction), contacts)
    for model in (Invoice, Payment, Order, Ticket, Opportunity):
        if tables.get(model.__tablename__):
            await session.execute(insert(model), tables[model.__tablename__])


async def demo_caller_numbers(sessions: Sessions, limit: int = 500) -> list[tuple[str, str]]:
    """(E.164, name) of demo customers, for the simulator's callers."""
    async with sessions() as session:
        rows = await session.execute(
            select(PhoneNumber.e164, Customer.name)
            .join(Customer, Customer.id == PhoneNumber.customer_id)
            .order_by(PhoneNumber.id)
            .limit(limit)
        )
        return [(e164, name) for e164, name in rows]
