"""The screen-pop document: what an agent sees about a caller before answering.

Bounded in size on purpose: it travels over a websocket to a browser on every
offer, so long CRM notes are cut and the history is the newest few contacts.
"""

from __future__ import annotations

from pydantic import BaseModel, Field, field_validator

MAX_NOTES_CHARS = 500
MAX_INTERACTIONS = 5
MAX_MATCHES = 10


def _cut(text: str) -> str:
    return text if len(text) <= MAX_NOTES_CHARS else text[: MAX_NOTES_CHARS - 1] + "…"


class CustomerCard(BaseModel):
    id: int
    name: str
    tier: str
    lifetime_value: str
    account_number: str
    notes: str = ""

    @field_validator("notes")
    @classmethod
    def _bounded_notes(cls, value: str) -> str:
        return _cut(value)


class InteractionLine(BaseModel):
    channel: str
    occurred_at: str
    disposition: str
    notes: str = ""

    @field_validator("notes")
    @classmethod
    def _bounded_notes(cls, value: str) -> str:
        return _cut(value)


class ScreenPop(BaseModel):
    call_id: str
    queue: str
    caller_number: str
    customer: CustomerCard | None = None
    #: several customers share the number: the agent picks one
    matches: list[CustomerCard] = Field(default_factory=list, max_length=MAX_MATCHES)
    #: nobody is known by this number or account: offer to create a contact
    new_contact: bool = False
    last_interactions: list[InteractionLine] = Field(
        default_factory=list, max_length=MAX_INTERACTIONS
    )
    routed_because: str = ""
    crm_available: bool = True
