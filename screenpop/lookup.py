"""Finding the customer behind a call: by the caller's number or by account digits."""

from __future__ import annotations

from datetime import datetime

import phonenumbers
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.db.models import Agent, Customer, Interaction, PhoneNumber

#: longer than any account number or phone number a caller could key in
_MAX_DIGITS = 32


def normalise_number(raw: str, default_region: str) -> str | None:
    """E.164 for anything a PBX may hand us (``+4420...``, ``020 7183 8750``, ``00 44...``),
    None for what is not a possible phone number (``anonymous``, ``<unknown>``).

    "Possible" rather than "valid": a number from a range newer than the
    phonenumbers metadata must still find its customer.
    """
    if not raw or len(raw) > 64:
        return None
    try:
        parsed = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


async def find_customers_by_number(
    session: AsyncSession, e164: str, *, limit: int | None = None
) -> list[Customer]:
    """Every customer who calls from ``e164``, oldest customer first.

    One query on the ``phone_numbers.e164`` index. Several rows mean a shared
    line (a household, a switchboard).
    """
    query = (
        select(Customer)
        .join(PhoneNumber, PhoneNumber.customer_id == Customer.id)
        .where(PhoneNumber.e164 == e164)
        .order_by(Customer.id)
        .limit(limit)
    )
    return list(await session.scalars(query))


async def find_customer_by_account(session: AsyncSession, digits: str) -> Customer | None:
    """The customer whose account number the caller keyed in; None for non-digits."""
    if not digits.isascii() or not digits.isdigit() or len(digits) > _MAX_DIGITS:
        return None
    return await session.scalar(select(Customer).where(Customer.account_number == digits))


async def last_interactions(
    session: AsyncSession, customer_id: int, limit: int
) -> list[tuple[Interaction, str | None]]:
    """The newest ``limit`` contacts, newest first (the customer/time index), each
    with the name of the agent who handled it (a primary-key join; None: no agent)."""
    rows = await session.execute(
        select(Interaction, Agent.name)
        .outerjoin(Agent, Agent.id == Interaction.agent_id)
        .where(Interaction.customer_id == customer_id)
        .order_by(Interaction.occurred_at.desc(), Interaction.id.desc())
        .limit(limit)
    )
    return [(interaction, name) for interaction, name in rows]


async def last_served_by(
    session: AsyncSession, customer_id: int
) -> tuple[int, str, datetime] | None:
    """(agent id, name, when) of the newest contact that had an agent, or None.

    Walks the customer/time index newest first and stops at the first row with an
    agent, so it stays cheap however long the history is.
    """
    row = (
        await session.execute(
            select(Agent.id, Agent.name, Interaction.occurred_at)
            .select_from(Interaction)
            .join(Agent, Agent.id == Interaction.agent_id)
            .where(Interaction.customer_id == customer_id)
            .order_by(Interaction.occurred_at.desc(), Interaction.id.desc())
            .limit(1)
        )
    ).first()
    return None if row is None else (row[0], row[1], row[2])
