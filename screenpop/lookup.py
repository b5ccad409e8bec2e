"""Finding the customer behind a call: by the caller's number or by account digits."""

from __future__ import annotations

import phonenumbers
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.db.models import Customer, Interaction, PhoneNumber


def normalise_number(raw: str, default_region: str) -> str | None:
    """E.164 for anything a PBX may hand us (``+4420...``, ``020 7183 8750``, ``00 44...``),
    None for what is not a possible phone number (``anonymous``, ``<unknown>``)."""
    try:
        parsed = phonenumbers.parse(raw, default_region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


async def find_customers_by_number(session: AsyncSession, e164: str) -> list[Customer]:
    """One indexed lookup (``phone_numbers.e164`` is unique)."""
    rows = await session.execute(
        select(Customer)
        .join(PhoneNumber, PhoneNumber.customer_id == Customer.id)
        .where(PhoneNumber.e164 == e164)
        .order_by(Customer.id)
    )
    return list(rows.scalars())


async def find_customer_by_account(session: AsyncSession, digits: str) -> Customer | None:
    if not digits.isdigit():
        return None
    return (
        await session.execute(select(Customer).where(Customer.account_number == digits))
    ).scalar_one_or_none()


async def last_interactions(
    session: AsyncSession, customer_id: int, limit: int
) -> list[Interaction]:
    rows = await session.execute(
        select(Interaction)
        .where(Interaction.customer_id == customer_id)
        .order_by(Interaction.occurred_at.desc(), Interaction.id.desc())
        .limit(limit)
    )
    return list(rows.scalars())
