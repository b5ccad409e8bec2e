"""The agent says who is calling: a customer picked from the pick list, or a new
contact created from the pop for an unknown number.

Why the agent and not the lookup: a shared line (a household, a switchboard)
cannot tell which customer is on it, and an unknown number is nobody yet. Once
named, the pop carries that customer's whole card and the call joins their
history. What the pop showed about the call itself (number, queue, why routed,
a transfer note) is kept.
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.db.models import Contact, Customer, PhoneNumber
from screenpop.document import ScreenPop
from screenpop.lookup import normalise_number
from screenpop.pop import customer_pop

#: account numbers of contacts created from a pop: digits (callers key them in
#: the IVR), long enough that a random one rarely needs a second try
NEW_ACCOUNT_DIGITS = 10


class NotOnThePop(Exception):
    """The customer asked for is not one the agent's pop offered."""


async def pop_naming(
    sessions: async_sessionmaker[AsyncSession],
    shown: dict[str, Any],
    customer_id: int,
    default_region: str,
) -> dict[str, Any]:
    """``shown`` (the pop on the agent's screen) for the customer they picked.

    Only a customer the pop offered (a match, or the one already shown) may be
    picked: the pick list is not a way to read any customer's record.
    """
    offered = {m.get("id") for m in shown.get("matches") or []}
    offered.add((shown.get("customer") or {}).get("id"))
    if customer_id not in offered:
        raise NotOnThePop(customer_id)
    async with sessions() as session:
        customer = await session.get(Customer, customer_id)
        if customer is None:
            raise NotOnThePop(customer_id)
        e164 = normalise_number(str(shown.get("caller_number", "")), default_region)
        found = await customer_pop(session, customer, e164)
    return _replace_customer(shown, found)


async def create_contact(
    sessions: async_sessionmaker[AsyncSession],
    shown: dict[str, Any],
    *,
    name: str,
    email: str,
    default_region: str,
) -> dict[str, Any]:
    """A new customer for the unknown caller on ``shown``, with the number they
    call from (when it is a phone number), and the pop that names them."""
    e164 = normalise_number(str(shown.get("caller_number", "")), default_region)
    now = datetime.now(UTC).replace(microsecond=0)
    async with sessions.begin() as session:
        customer = Customer(
            name=name,
            account_number=await _free_account_number(session),
            created_at=now,
        )
        session.add(customer)
        await session.flush()
        # The caller is the account's first contact; the number is theirs.
        contact = Contact(customer_id=customer.id, name=name, email=email, created_at=now)
        session.add(contact)
        await session.flush()
        if e164 is not None:
            session.add(
                PhoneNumber(
                    customer_id=customer.id, e164=e164, label="mobile", contact_id=contact.id
                )
            )
        await session.flush()
        found = await customer_pop(session, customer, e164)
    return _replace_customer(shown, found)


async def _free_account_number(session: AsyncSession) -> str:
    while True:
        number = str(
            secrets.randbelow(9 * 10 ** (NEW_ACCOUNT_DIGITS - 1)) + 10 ** (NEW_ACCOUNT_DIGITS - 1)
        )
        taken = await session.scalar(select(Customer.id).where(Customer.account_number == number))
        if taken is None:
            return number


def _replace_customer(shown: dict[str, Any], found: dict[str, Any]) -> dict[str, Any]:
    about_the_call = {
        key: shown[key]
        for key in ("call_id", "queue", "caller_number", "routed_because")
        if key in shown
    }
    pop = ScreenPop.model_validate(
        {**about_the_call, **found, "crm_available": True, "crm_source": "local"}
    ).model_dump(mode="json")
    # What the orchestrator added beside the document (a transfer note, a callback).
    extras = {k: v for k, v in shown.items() if k not in ScreenPop.model_fields}
    return {**pop, **extras}
