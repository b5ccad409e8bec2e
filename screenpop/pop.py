"""Building the pop for a call from the local CRM.

A CRM failure never stops a call: the pop still goes out, marked
``crm_available = False``, with what the PBX told us (the caller's number).
"""

from __future__ import annotations

import structlog
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.db.models import Customer
from screenpop.document import MAX_INTERACTIONS, CustomerCard, InteractionLine, ScreenPop
from screenpop.lookup import (
    find_customer_by_account,
    find_customers_by_number,
    last_interactions,
    normalise_number,
)

log = structlog.get_logger(__name__)


def customer_card(customer: Customer) -> CustomerCard:
    return CustomerCard(
        id=customer.id,
        name=customer.name,
        tier=customer.tier,
        lifetime_value=f"{customer.lifetime_value:.2f}",
        account_number=customer.account_number,
        notes=customer.notes,
    )


async def build_pop(
    sessions: async_sessionmaker[AsyncSession],
    *,
    call_id: str,
    queue: str,
    caller_number: str,
    account: str,
    default_region: str,
    routed_because: str,
) -> ScreenPop:
    pop = ScreenPop(
        call_id=call_id, queue=queue, caller_number=caller_number, routed_because=routed_because
    )
    try:
        async with sessions() as session:
            return await _fill(session, pop, account, default_region)
    except Exception:
        log.exception("CRM lookup failed; the pop goes out without customer data")
        return pop.model_copy(update={"crm_available": False})


async def _fill(
    session: AsyncSession, pop: ScreenPop, account: str, default_region: str
) -> ScreenPop:
    # Account digits keyed in the IVR name the customer more surely than a
    # number that a household or an office may share.
    by_account = await find_customer_by_account(session, account) if account else None
    if by_account is not None:
        matches = [by_account]
    else:
        e164 = normalise_number(pop.caller_number, default_region)
        matches = await find_customers_by_number(session, e164) if e164 else []
    if not matches:
        return pop.model_copy(update={"new_contact": True})
    if len(matches) > 1:
        cards = [customer_card(c) for c in matches[:10]]
        return pop.model_copy(update={"matches": cards})
    customer = matches[0]
    history = await last_interactions(session, customer.id, MAX_INTERACTIONS)
    return pop.model_copy(
        update={
            "customer": customer_card(customer),
            "last_interactions": [
                InteractionLine(
                    channel=i.channel,
                    occurred_at=i.occurred_at.isoformat(),
                    disposition=i.disposition,
                    notes=i.notes,
                )
                for i in history
            ],
        }
    )
