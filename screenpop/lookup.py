"""Finding the customer behind a call: by the caller's number or by account digits."""

from __future__ import annotations

import phonenumbers
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.db.models import Customer, Interaction, PhoneNumber

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
) -> list[Interaction]:
    """The newest ``limit`` contacts, newest first (the customer/time index)."""
    rows = await session.scalars(
        select(Interaction)
        .where(Interaction.customer_id == customer_id)
        .order_by(Interaction.occurred_at.desc(), Interaction.id.desc())
        .limit(limit)
    )
    return list(rows)
