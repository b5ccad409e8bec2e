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


def _cut_to(limit: int) -> AfterValidator:
    def cut(text: str) -> str:
        return text if len(text) <= limit else text[: limit - 1] + "…"

    return AfterValidator(cut)


Notes = Annotated[str, _cut_to(MAX_NOTES_CHARS)]
Text = Annotated[str, _cut_to(MAX_TEXT_CHARS)]


class CustomerCard(BaseModel):
    id: int
    name: Text
    tier: Text
    #: a decimal string ("12500.00"): money never goes through a float
    lifetime_value: Text
    account_number: Text
    notes: Notes = ""


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
    routed_because: Text = ""
    #: False when the CRM could not be read: the pop carries only what the PBX said
    crm_available: bool = True
