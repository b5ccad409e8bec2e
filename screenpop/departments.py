"""What the other departments hold about a customer, as lines of the pop.

Why in the pop at all: a caller about an unpaid invoice, a late parcel or a
broken router should be helped by the first agent, not passed to billing,
logistics or support. Each reader is one query on an index that starts with
``customer_id`` and reads at most ``limit`` rows, so a customer with years of
history costs the same as a new one.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from callcenter.db.models import Contact, Invoice, Opportunity, Order, Payment, PhoneNumber, Ticket
from screenpop.document import (
    Billing,
    CaseLine,
    ContactLine,
    InvoiceLine,
    OpportunityLine,
    OrderLine,
    PaymentLine,
)

#: cases still being worked on; "pending" waits for the customer, so it is theirs to hear about
OPEN_CASE_STATUSES = ("open", "pending")
#: deals the agent may still mention
OPEN_STAGES = ("open", "proposal")


def money(amount: Decimal) -> str:
    return f"{amount:.2f}"


async def open_cases(session: AsyncSession, customer_id: int, limit: int) -> list[CaseLine]:
    """Open and pending cases, newest first."""
    tickets = await session.scalars(
        select(Ticket)
        .where(Ticket.customer_id == customer_id, Ticket.status.in_(OPEN_CASE_STATUSES))
        .order_by(Ticket.opened_at.desc(), Ticket.id.desc())
        .limit(limit)
    )
    return [
        CaseLine(
            id=f"T-{ticket.id}",
            subject=ticket.subject,
            status=ticket.status,
            priority=ticket.priority,
            opened_at=ticket.opened_at.isoformat(),
        )
        for ticket in tickets
    ]


async def billing(
    session: AsyncSession, customer_id: int, balance: Decimal, today: date, limit: int
) -> Billing:
    """The balance, unpaid invoices (oldest due first, marked overdue once past
    their due date) and the last payment."""
    invoices = await session.scalars(
        select(Invoice)
        .where(Invoice.customer_id == customer_id, Invoice.status == "open")
        .order_by(Invoice.due_on, Invoice.id)
        .limit(limit)
    )
    last_payment = await session.scalar(
        select(Payment)
        .where(Payment.customer_id == customer_id)
        .order_by(Payment.paid_at.desc(), Payment.id.desc())
        .limit(1)
    )
    return Billing(
        balance=money(balance),
        open_invoices=[
            InvoiceLine(
                number=invoice.number,
                issued_on=invoice.issued_on.isoformat(),
                due_on=invoice.due_on.isoformat(),
                amount=money(invoice.amount),
                status="overdue" if invoice.due_on < today else "open",
            )
            for invoice in invoices
        ],
        last_payment=None
        if last_payment is None
        else PaymentLine(
            paid_at=last_payment.paid_at.isoformat(),
            amount=money(last_payment.amount),
            method=last_payment.method,
        ),
    )


async def recent_orders(session: AsyncSession, customer_id: int, limit: int) -> list[OrderLine]:
    """The newest orders, each with its delivery in words."""
    orders = await session.scalars(
        select(Order)
        .where(Order.customer_id == customer_id)
        .order_by(Order.placed_at.desc(), Order.id.desc())
        .limit(limit)
    )
    return [
        OrderLine(
            number=order.number,
            placed_at=order.placed_at.isoformat(),
            status=order.status,
            total=money(order.total),
            delivery=delivery_words(order.status, order.carrier, order.delivery_on),
        )
        for order in orders
    ]


def delivery_words(status: str, carrier: str, on: date | None) -> str:
    """ "in transit with DHL, expected 2026-12-08", "delivered 2026-12-01", ..."""
    by = f" with {carrier}" if carrier else ""
    when = on.isoformat() if on is not None else None
    if status == "shipped":
        return f"in transit{by}, expected {when}" if when else f"in transit{by}"
    if status == "delivered":
        return f"delivered {when}" if when else "delivered"
    if status == "placed":
        return "not shipped yet"
    return status


async def open_opportunities(
    session: AsyncSession, customer_id: int, limit: int
) -> list[OpportunityLine]:
    """Deals in progress and renewals coming up, soonest first."""
    deals = await session.scalars(
        select(Opportunity)
        .where(Opportunity.customer_id == customer_id, Opportunity.stage.in_(OPEN_STAGES))
        .order_by(Opportunity.due_on, Opportunity.id)
        .limit(limit)
    )
    return [
        OpportunityLine(
            title=deal.title,
            kind=deal.kind,
            stage=deal.stage,
            value=money(deal.value),
            due_on=deal.due_on.isoformat(),
        )
        for deal in deals
    ]


async def contact_for_number(
    session: AsyncSession, customer_id: int, e164: str | None
) -> ContactLine | None:
    """The customer's named contact who uses ``e164`` (the phone-number index,
    then a primary key); None when the number is the customer's own."""
    if e164 is None:
        return None
    contact = await session.scalar(
        select(Contact)
        .join(PhoneNumber, PhoneNumber.contact_id == Contact.id)
        .where(PhoneNumber.e164 == e164, PhoneNumber.customer_id == customer_id)
        .limit(1)
    )
    if contact is None:
        return None
    return ContactLine(id=contact.id, name=contact.name, role=contact.role)
