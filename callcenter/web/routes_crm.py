"""The agent names the caller from the pop: picks a customer off the pick list,
or creates a new contact for an unknown number.

Only the agent whose call it is (ringing, talking or wrapping it up) may do
either, and a pick must be one of the customers that call's pop offered: these
routes never read an arbitrary customer. Both are audited.
"""

from __future__ import annotations

from typing import Annotated, Any

import structlog
from fastapi import APIRouter, Depends, HTTPException, Request, status
from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from callcenter.db.session import Sessions as Database
from callcenter.ports import CallCenterDesk, CallControlError, Principal, Role
from callcenter.web.audit_hook import audit
from callcenter.web.context import web_context
from callcenter.web.guards import check_origin, require_roles
from callcenter.web.routes_api import agent_id_of
from callcenter.web.routes_calls import CallId, call_control_http_error
from screenpop.identify import NotOnThePop, create_contact, pop_naming

log = structlog.get_logger(__name__)

AgentPrincipal = Annotated[Principal, Depends(require_roles(Role.AGENT))]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=128)]


class PickCustomer(BaseModel):
    model_config = ConfigDict(extra="forbid")

    customer_id: int = Field(ge=1)


class NewContact(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    email: str | None = Field(default=None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def crm_router() -> APIRouter:
    router = APIRouter(prefix="/api", dependencies=[Depends(check_origin)])
    router.add_api_route("/calls/{call_id}/customer", pick_customer, methods=["POST"])
    router.add_api_route("/calls/{call_id}/contact", new_contact, methods=["POST"], status_code=201)
    return router


async def pick_customer(
    body: PickCustomer, principal: AgentPrincipal, request: Request, call_id: CallId
) -> dict[str, Any]:
    """The caller is this customer of the pick list: the pop shows their whole
    record and the call joins their history. 422 when the customer was not on
    the call's pop."""
    context = web_context(request)
    agent_id = agent_id_of(principal)
    shown = _shown(context.desk, agent_id, call_id)
    database = _database(request)
    try:
        pop = await pop_naming(database, shown, body.customer_id, context.default_region)
    except NotOnThePop:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            [
                {
                    "field": "customer_id",
                    "reason": "not one of the customers this call's pop offered",
                }
            ],
        ) from None
    shown_now = _show(context.desk, agent_id, call_id, pop)
    await audit(request, "pop.customer_picked", call_id, principal=principal,
                customer_id=body.customer_id)  # fmt: skip
    return shown_now


async def new_contact(
    body: NewContact, principal: AgentPrincipal, request: Request, call_id: CallId
) -> dict[str, Any]:
    """Create the unknown caller as a customer, with the number they call from;
    409 when the pop already names a customer or offers a pick list."""
    context = web_context(request)
    agent_id = agent_id_of(principal)
    shown = _shown(context.desk, agent_id, call_id)
    if not shown.get("new_contact"):
        raise HTTPException(
            status.HTTP_409_CONFLICT, "the caller is known: pick them, do not create them"
        )
    pop = await create_contact(
        _database(request), shown, name=body.name, email=body.email or "",
        default_region=context.default_region,
    )  # fmt: skip
    shown_now = _show(context.desk, agent_id, call_id, pop)
    customer_id = (pop.get("customer") or {}).get("id")
    await audit(request, "crm.contact_created", call_id, principal=principal,
                customer_id=customer_id)  # fmt: skip
    log.info("contact created from the pop", call_id=call_id, customer_id=customer_id)
    return shown_now


def _shown(desk: CallCenterDesk, agent_id: int, call_id: str) -> dict[str, Any]:
    try:
        return desk.caller_on_screen(agent_id, call_id)
    except CallControlError as exc:
        raise call_control_http_error(exc) from exc


def _show(desk: CallCenterDesk, agent_id: int, call_id: str, pop: dict[str, Any]) -> dict[str, Any]:
    try:
        return desk.show_identified_caller(agent_id, call_id, pop)
    except CallControlError as exc:
        # The call ended (and its wrap-up too) while the CRM was being written.
        raise call_control_http_error(exc) from exc


def _database(request: Request) -> Database:
    database = web_context(request).database
    if database is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "no CRM database behind this app")
    return database
