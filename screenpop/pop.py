"""Building the pop for a call: from the external CRM when one is configured,
from the local CRM tables otherwise or when the external one does not know the
caller or cannot answer.

A CRM failure never stops a call: the pop still goes out, marked
``crm_available = False``, with what the local CRM holds (``crm_source``
"local") or, when nothing could be read, what the PBX told us (the number).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import structlog
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from callcenter.db.models import Customer, Interaction
from screenpop.departments import (
    billing,
    contact_for_number,
    open_cases,
    open_opportunities,
    recent_orders,
)
from screenpop.document import (
    MAX_DEPARTMENT_LINES,
    MAX_INTERACTIONS,
    MAX_MATCHES,
    CustomerCard,
    InteractionLine,
    LastAgent,
    ScreenPop,
)
from screenpop.external import CrmUnavailable, ExternalCrm
from screenpop.lookup import (
    find_customer_by_account,
    find_customers_by_number,
    last_interactions,
    last_served_by,
    normalise_number,
)

log = structlog.get_logger(__name__)

#: told who the caller is (the pop's "customer" and "last_agent" as JSON, or
#: neither) before the rest of the pop is read: routing needs no more
Identified = Callable[[dict[str, Any]], None]


def customer_card(customer: Customer) -> CustomerCard:
    return CustomerCard(
        id=customer.id,
        name=customer.name,
        tier=customer.tier,
        lifetime_value=f"{customer.lifetime_value:.2f}",
        account_number=customer.account_number,
        notes=customer.notes,
        status=customer.status,
        balance=f"{customer.balance:.2f}",
        profitability=customer.profitability,
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
    timeout_s: float = 2.0,
    external: ExternalCrm | None = None,
    identified: Identified | None = None,
) -> ScreenPop:
    """The pop for one call; never raises for a CRM problem.

    ``timeout_s`` bounds the local lookup (the external CRM has its own bound):
    the agent's phone is already ringing, and a pop without customer data beats
    one that arrives after the answer.

    ``identified`` hears who the caller is as soon as the local CRM has said
    (two or three queries), before the departments' part of the pop is read
    (five more): the caller is routed meanwhile. From the external CRM, the
    whole pop comes in one answer, and ``identified`` is not called.
    """
    call = {
        "call_id": call_id,
        "queue": queue,
        "caller_number": caller_number,
        "routed_because": routed_because,
    }
    external_down = False
    if external is not None:
        try:
            found = await _external_lookup(
                external, call_id, caller_number, account, default_region
            )
        except CrmUnavailable:
            external_down = True
        else:
            if found is not None:
                return ScreenPop.model_validate({**call, **found, "crm_source": "external"})
    try:
        async with asyncio.timeout(timeout_s), sessions() as session:
            found = await _lookup(session, caller_number, account, default_region, identified)
    except Exception as exc:
        # Any failure (database down, schema missing, driver error, too slow) must
        # not stop the call; the agent still gets the number the PBX gave us.
        if isinstance(exc, TimeoutError | OSError | SQLAlchemyError):
            # Expected when the database is slow or away: one line, no traceback.
            # Rendering a traceback costs milliseconds of the event loop, and
            # under load it is paid for every call, which makes the next lookup
            # later still.
            log.warning(
                "CRM lookup failed; the pop goes out without customer data",
                call_id=call_id,
                # the type only: a driver's message carries the SQL and its
                # parameters, the caller's number among them
                error=type(exc).__name__,
            )
        else:
            log.exception(
                "CRM lookup failed; the pop goes out without customer data", call_id=call_id
            )
        return ScreenPop.model_validate({**call, "crm_available": False, "crm_source": ""})
    if external_down:
        return ScreenPop.model_validate({**call, **found, "crm_available": False})
    return ScreenPop.model_validate({**call, **found})


async def _external_lookup(
    external: ExternalCrm, call_id: str, caller_number: str, account: str, default_region: str
) -> dict[str, Any] | None:
    """The pop's customer part from the external CRM; None when it does not know
    the caller (the local CRM is asked next). Raises ``CrmUnavailable``."""
    e164 = normalise_number(caller_number, default_region)
    records = await external.lookup(call_id=call_id, e164=e164, account=account, limit=MAX_MATCHES)
    if not records:
        return None
    try:
        if len(records) > 1:
            return {"matches": [CustomerCard.model_validate(r["customer"]) for r in records]}
        record = records[0]
        return {
            "customer": CustomerCard.model_validate(record["customer"]),
            "open_cases": record["open_cases"][:MAX_DEPARTMENT_LINES],
            "last_interactions": record["last_interactions"][:MAX_INTERACTIONS],
        }
    except ValueError:
        # A field map that does not fit the CRM's answer: the CRM is no use for
        # this call, which the agent is told like any other outage.
        log.warning("external CRM answer does not fit the pop", call_id=call_id, exc_info=True)
        raise CrmUnavailable("answer does not fit the field map") from None


async def _lookup(
    session: AsyncSession,
    caller_number: str,
    account: str,
    default_region: str,
    identified: Identified | None = None,
) -> dict[str, Any]:
    # Account digits keyed in the IVR name the customer more surely than a
    # number that a household or an office may share.
    by_account = await find_customer_by_account(session, account) if account else None
    e164 = normalise_number(caller_number, default_region)
    if by_account is not None:
        matches = [by_account]
    else:
        matches = await find_customers_by_number(session, e164, limit=MAX_MATCHES) if e164 else []
    if not matches:
        if identified is not None:
            identified({})
        return {"new_contact": True}
    if len(matches) > 1:
        if identified is not None:
            identified({})  # the agent picks who it is; routed as unknown
        return {"matches": [customer_card(c) for c in matches]}
    return await customer_pop(session, matches[0], e164, identified)


async def customer_pop(
    session: AsyncSession,
    customer: Customer,
    e164: str | None,
    identified: Identified | None = None,
) -> dict[str, Any]:
    """Everything the pop shows about one known customer: the card, who is
    calling, the latest contacts and what billing, orders, support and sales hold.

    Also used when the agent picks a customer from a pick list or creates one.
    """
    history = await last_interactions(session, customer.id, MAX_INTERACTIONS)
    card = customer_card(customer)
    last_agent = await _last_agent(session, customer.id, history)
    if identified is not None:
        identified(
            {
                "customer": card.model_dump(mode="json"),
                "last_agent": None if last_agent is None else last_agent.model_dump(mode="json"),
            }
        )
    today = datetime.now(UTC).date()
    return {
        "customer": card,
        "contact": await contact_for_number(session, customer.id, e164),
        "open_cases": await open_cases(session, customer.id, MAX_DEPARTMENT_LINES),
        "billing": await billing(
            session, customer.id, customer.balance, today, MAX_DEPARTMENT_LINES
        ),
        "orders": await recent_orders(session, customer.id, MAX_DEPARTMENT_LINES),
        "opportunities": await open_opportunities(session, customer.id, MAX_DEPARTMENT_LINES),
        "last_interactions": [
            InteractionLine(
                channel=i.channel,
                occurred_at=i.occurred_at.isoformat(),
                disposition=i.disposition,
                notes=i.notes,
                agent_id=i.agent_id,
                agent_name=agent_name,
            )
            for i, agent_name in history
        ],
        "last_agent": last_agent,
    }


async def _last_agent(
    session: AsyncSession, customer_id: int, history: list[tuple[Interaction, str | None]]
) -> LastAgent | None:
    """Who served the customer last. Usually among the contacts already read; one
    more indexed query only when a full page of history had no agent in it (a run
    of emails and web forms), since older contacts may still have one."""
    for interaction, name in history:
        if interaction.agent_id is not None and name is not None:
            return LastAgent(
                agent_id=interaction.agent_id, name=name, at=interaction.occurred_at.isoformat()
            )
    if len(history) < MAX_INTERACTIONS:
        return None  # that was the whole history
    found = await last_served_by(session, customer_id)
    if found is None:
        return None
    agent_id, name, at = found
    return LastAgent(agent_id=agent_id, name=name, at=at.isoformat())
