"""The screen-pop document: what an agent sees about a caller before answering.

Bounded in size on purpose: it travels over a websocket to a browser on every
offer, so every text is cut to a limit, the history is the newest few contacts
and a pick list holds at most a handful of customers.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field

MAX_NOTES_CHARS = 500
MAX_TEXT_CHARS = 200
MAX_INTERACTIONS = 5
MAX_MATCHES = 10
#: open cases, open invoices, orders and opportunities shown per department
MAX_DEPARTMENT_LINES = 5


def _cut_to(limit: int) -> AfterValidator:
    def cut(text: str) -> str:
        return text if len(text) <= limit else text[: limit - 1] + "…"

    return AfterValidator(cut)


Notes = Annotated[str, _cut_to(MAX_NOTES_CHARS)]
Text = Annotated[str, _cut_to(MAX_TEXT_CHARS)]


class CustomerCard(BaseModel):
    #: our customer's id; None for a customer only the external CRM knows
    id: int | None = None
    #: the external CRM's own id for the customer ("" for a local customer)
    external_id: Text = ""
    name: Text
    tier: Text
    #: a decimal string ("12500.00"): money never goes through a float
    lifetime_value: Text
    account_number: Text
    notes: Notes = ""
    #: the account's standing: active, overdue, suspended, closed
    status: Text = "active"
    #: a decimal string of what the customer owes now (negative: in credit)
    balance: Text = "0.00"
    #: how much the account earns us: high, medium, low (empty: not known)
    profitability: Text = ""


class ContactLine(BaseModel):
    """The person behind the number, when the number belongs to a named contact
    of the customer (a company's buyer, a household member)."""

    id: int | None = None
    name: Text
    role: Text = ""


class CaseLine(BaseModel):
    """A technical case (ticket) the customer has open."""

    id: Text
    subject: Text
    status: Text
    priority: Text = ""
    #: ISO 8601 with its UTC offset
    opened_at: Text = ""


class InvoiceLine(BaseModel):
    number: Text
    #: ISO dates
    issued_on: Text = ""
    due_on: Text = ""
    amount: Text
    #: open, overdue (open past its due date), paid
    status: Text


class PaymentLine(BaseModel):
    #: ISO 8601 with its UTC offset
    paid_at: Text
    amount: Text
    method: Text = ""


class Billing(BaseModel):
    balance: Text
    #: unpaid invoices, oldest due first
    open_invoices: list[InvoiceLine] = Field(default_factory=list, max_length=MAX_DEPARTMENT_LINES)
    last_payment: PaymentLine | None = None


class OrderLine(BaseModel):
    number: Text
    #: ISO 8601 with its UTC offset
    placed_at: Text = ""
    #: placed, shipped, delivered, cancelled, returned
    status: Text
    total: Text = ""
    #: the delivery in words: "in transit, expected 2026-12-08", "delivered 2026-12-01"
    delivery: Text = ""


class OpportunityLine(BaseModel):
    """A sale in progress or a renewal coming up: the agent may mention it."""

    title: Text
    #: new or renewal
    kind: Text
    stage: Text = ""
    value: Text = ""
    #: ISO date it is expected to close (a renewal: the day the contract ends)
    due_on: Text = ""


class InteractionLine(BaseModel):
    channel: Text
    #: ISO 8601 with its UTC offset
    occurred_at: Text
    disposition: Text
    notes: Notes = ""
    #: who handled it (None: self-service, or nobody recorded)
    agent_id: int | None = None
    agent_name: Text | None = None


class LastAgent(BaseModel):
    """The agent who served this customer last, for known-agent routing ("send a
    returning customer back to the agent they spoke to") and for the agent's eyes."""

    agent_id: int
    name: Text
    #: ISO 8601 with its UTC offset
    at: Text


class ScreenPop(BaseModel):
    call_id: Text
    queue: Text
    caller_number: Text
    customer: CustomerCard | None = None
    #: the customer's named contact who owns this number, when there is one
    contact: ContactLine | None = None
    #: several customers share the number: the agent picks one
    matches: list[CustomerCard] = Field(default_factory=list, max_length=MAX_MATCHES)
    #: nobody is known by this number or account: offer to create a contact
    new_contact: bool = False
    #: newest first
    last_interactions: list[InteractionLine] = Field(
        default_factory=list, max_length=MAX_INTERACTIONS
    )
    #: the newest contact that had an agent; None when unknown (a pick list, a new
    #: contact, a CRM that could not be read, or nobody ever served them)
    last_agent: LastAgent | None = None
    #: technical cases still open, newest first
    open_cases: list[CaseLine] = Field(default_factory=list, max_length=MAX_DEPARTMENT_LINES)
    billing: Billing | None = None
    #: the newest orders, with how their delivery stands
    orders: list[OrderLine] = Field(default_factory=list, max_length=MAX_DEPARTMENT_LINES)
    #: open sales opportunities and renewals, soonest first
    opportunities: list[OpportunityLine] = Field(
        default_factory=list, max_length=MAX_DEPARTMENT_LINES
    )
    routed_because: Text = ""
    #: False when the CRM could not be read: with an external CRM configured and
    #: down, what the local CRM holds (crm_source "local"); otherwise only what
    #: the PBX said (crm_source "")
    crm_available: bool = True
    #: where the customer data came from: "local" (our CRM tables), "external"
    #: (the configured HTTP CRM), "" (nothing could be read)
    crm_source: Text = "local"
