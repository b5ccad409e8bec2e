"""Demo data: queues, skills, agents, users and a few thousand CRM customers.

Deterministic for a given ``rng_seed`` so a demo, a test and a bug report all see
the same customers. Idempotent: each part is only added when it is missing, so
``callcenter seed`` can run on every ``make run``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import phonenumbers
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.db.models import (
    Agent,
    AgentSkill,
    Customer,
    Interaction,
    PhoneNumber,
    Queue,
    Skill,
    User,
)
from callcenter.db.session import Sessions
from callcenter.db.users import hash_password

QUEUES = [("sales", "100"), ("support", "200"), ("billing", "300")]
#: agents meant for people in the demo (everyone else is played by the simulator)
PEOPLE = ("agent01", "agent02")
LOCATIONS = ["on_site"] * 6 + ["remote_site"] * 2 + ["home"] * 2 + ["partner"]
TIERS = [("bronze", 55), ("silver", 28), ("gold", 13), ("platinum", 4)]
TIER_VALUE = {"bronze": 400, "silver": 2_500, "gold": 12_000, "platinum": 60_000}
REGIONS = ["US", "US", "US", "GB", "FR", "DE", "ES", "IT", "NL", "SE", "PL", "BR", "MX", "IN",
           "JP", "AU", "CA", "CZ", "PT", "GH", "AE"]  # fmt: skip
FIRST = ["Alice", "Chloé", "Jonas", "Kofi", "Hiro", "Inês", "Lena", "Mateo", "Zoë", "Søren",
         "Amélie", "Björn", "Priya", "Olusegun", "Mei", "Diego", "Fatima", "Łukasz", "Noah",
         "Aisha", "Élodie", "Jürgen", "Ana", "Yusuf", "Sofía", "Tomás", "Ingrid", "Raj",
         "Hannah", "Kenji", "Lucía", "Ömer", "Maja", "Liam", "Nadia", "Émile"]  # fmt: skip
LAST = ["Martin", "Dubois", "Berg", "Mensah", "Tanaka", "Costa", "Fischer", "García", "Novák",
        "Kowalski", "Müller", "Rossi", "Jansen", "Lindqvist", "Okafor", "Patel", "Nguyen",
        "Silva", "Smith", "O'Brien", "Haddad", "Yılmaz", "Svensson", "Moreau", "Kim",
        "Andersen", "Petrović", "Schröder", "López", "Ibrahim", "Chen", "Dvořák"]  # fmt: skip
CHANNELS = ["phone", "phone", "phone", "email", "web", "chat"]
DISPOSITIONS = {
    "phone": ["resolved", "callback promised", "escalated", "sale", "info given"],
    "email": ["replied", "waiting for customer", "closed"],
    "web": ["form submitted", "order placed", "password reset"],
    "chat": ["resolved", "transferred to phone", "abandoned"],
}
NOTES = [
    "Asked about the renewal price.",
    "Invoice 2024-117 disputed, credit note issued.",
    "Router replaced under warranty.",
    "Wants a call back after 5 pm.",
    "Upgrade to the premium plan discussed.",
    "Delivery late; courier contacted.",
    "Prefers email for invoices.",
    "Reported intermittent outage; ticket opened.",
]


@dataclass(frozen=True, slots=True)
class SeedSummary:
    queues: int
    agents: int
    users: int
    customers: int
    phone_numbers: int
    interactions: int


async def seed_demo(
    sessions: Sessions,
    *,
    customers: int = 3000,
    agents: int = 20,
    rng_seed: int = 7,
    password: str = "password",
) -> SeedSummary:
    rng = random.Random(rng_seed)
    async with sessions.begin() as session:
        skills = await _ensure_skills(session)
        await _ensure_queues(session, skills)
        agent_ids = await _ensure_agents(session, skills, agents, rng)
        await _ensure_users(session, agent_ids, password)
        if not await session.scalar(select(func.count()).select_from(Customer)):
            await _add_customers(session, customers, agent_ids, rng)
    return await summarise(sessions)


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
        )


async def _ensure_skills(session: AsyncSession) -> dict[str, int]:
    existing = {s.name: s.id for s in (await session.execute(select(Skill))).scalars()}
    for name, _did in QUEUES:
        if name not in existing:
            skill = Skill(name=name)
            session.add(skill)
            await session.flush()
            existing[name] = skill.id
    return existing


async def _ensure_queues(session: AsyncSession, skills: dict[str, int]) -> None:
    existing = set((await session.execute(select(Queue.name))).scalars())
    for name, did in QUEUES:
        if name not in existing:
            session.add(Queue(name=name, skill_id=skills[name], ring_timeout_s=15, did=did))
    await session.flush()


async def _ensure_agents(
    session: AsyncSession, skills: dict[str, int], count: int, rng: random.Random
) -> dict[str, int]:
    existing = {a.login: a.id for a in (await session.execute(select(Agent))).scalars()}
    for n in range(1, count + 1):
        login = f"agent{n:02d}"
        name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
        location = "on_site" if login in PEOPLE else rng.choice(LOCATIONS)
        if login in existing:
            continue
        agent = Agent(
            login=login,
            name=name,
            dial_string=f"PJSIP/{login}",
            location=location,
            pbx="pbx1",
            simulated=login not in PEOPLE,
        )
        session.add(agent)
        await session.flush()
        existing[login] = agent.id
        # People get every skill so the demo routes any queue to them; everyone
        # else gets some, never none.
        skill_ids = sorted(skills.values())
        chosen = [s for s in skill_ids if login in PEOPLE or rng.random() < 0.7]
        for skill_id in chosen or [rng.choice(skill_ids)]:
            session.add(
                AgentSkill(agent_id=agent.id, skill_id=skill_id, proficiency=rng.randint(1, 5))
            )
    await session.flush()
    return existing


async def _ensure_users(session: AsyncSession, agent_ids: dict[str, int], password: str) -> None:
    existing = set((await session.execute(select(User.username))).scalars())
    wanted: list[tuple[str, str, int | None]] = [
        (login, "agent", agent_id) for login, agent_id in sorted(agent_ids.items())
    ]
    wanted += [("supervisor", "supervisor", None), ("admin", "admin,supervisor", None)]
    for username, roles, agent_id in wanted:
        if username not in existing:
            session.add(
                User(
                    username=username,
                    password_hash=hash_password(password),
                    roles=roles,
                    agent_id=agent_id,
                )
            )
    await session.flush()


async def _add_customers(
    session: AsyncSession, count: int, agent_ids: dict[str, int], rng: random.Random
) -> None:
    now = datetime.now(UTC).replace(microsecond=0)
    tiers = [t for t, _ in TIERS]
    weights = [w for _, w in TIERS]
    customers, numbers, interactions = [], [], []
    used_numbers: set[str] = set()
    agents = sorted(agent_ids.values())
    for customer_id in range(1, count + 1):
        tier = rng.choices(tiers, weights)[0]
        value = Decimal(TIER_VALUE[tier] * rng.uniform(0.3, 2.0)).quantize(Decimal("0.01"))
        customers.append(
            {
                "id": customer_id,
                "name": f"{rng.choice(FIRST)} {rng.choice(LAST)}",
                "tier": tier,
                "lifetime_value": value,
                "account_number": f"4{customer_id:07d}",
                "notes": rng.choice(["", "", *NOTES]),
                "created_at": now - timedelta(days=rng.randint(30, 3000)),
            }
        )
        for label in ["mobile", "work"][: rng.choice([1, 1, 2])]:
            number = _unique_number(rng, used_numbers)
            numbers.append({"customer_id": customer_id, "e164": number, "label": label})
        for _ in range(rng.randint(0, 5)):
            channel = rng.choice(CHANNELS)
            interactions.append(
                {
                    "customer_id": customer_id,
                    "agent_id": rng.choice(agents) if channel == "phone" else None,
                    "channel": channel,
                    "occurred_at": now - timedelta(minutes=rng.randint(60, 60 * 24 * 400)),
                    "disposition": rng.choice(DISPOSITIONS[channel]),
                    "notes": rng.choice(NOTES),
                }
            )
    if customers:
        await session.execute(insert(Customer), customers)
        await session.execute(insert(PhoneNumber), numbers)
    if interactions:
        await session.execute(insert(Interaction), interactions)


def _unique_number(rng: random.Random, used: set[str]) -> str:
    while True:
        region = rng.choice(REGIONS)
        example = phonenumbers.example_number_for_type(region, phonenumbers.PhoneNumberType.MOBILE)
        assert example is not None
        national = str(example.national_number)
        keep = max(1, len(national) - 6)
        digits = national[:keep] + "".join(str(rng.randint(0, 9)) for _ in national[keep:])
        candidate = phonenumbers.PhoneNumber(
            country_code=example.country_code, national_number=int(digits)
        )
        e164 = phonenumbers.format_number(candidate, phonenumbers.PhoneNumberFormat.E164)
        if e164 not in used:
            used.add(e164)
            return e164


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
