"""Call control over REST, for the agent talking on the call: hold, resume, hang
up, blind and attended transfer, three-way conference, and wrap-up done.

Every route needs the agent role and a user linked to an agent; the desk then
checks that this agent is the one on the call (``not_your_call`` otherwise), so
no agent can touch a colleague's call. Targets are validated here (422 names
the field); what only live state can tell (busy agent, wrong phase) is a 409.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Literal, Self

import structlog
from fastapi import APIRouter, Depends, HTTPException, Path, Request, status
from pydantic import BaseModel, ConfigDict, Field, model_validator

from callcenter.db.codes import list_disposition_codes
from callcenter.ports import CallControlError, Principal, Role, TransferTarget
from callcenter.web.audit_hook import audit
from callcenter.web.context import web_context
from callcenter.web.guards import check_origin, require_roles
from callcenter.web.routes_api import agent_id_of
from callcenter.web.views import agent_json

log = structlog.get_logger(__name__)

AgentPrincipal = Annotated[Principal, Depends(require_roles(Role.AGENT))]
CallId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]

#: HTTP status of each ``CallControlError`` reason
CALL_CONTROL_STATUS = {
    "no_such_call": status.HTTP_404_NOT_FOUND,
    "not_your_call": status.HTTP_403_FORBIDDEN,
    "wrong_phase": status.HTTP_409_CONFLICT,
    "target_busy": status.HTTP_409_CONFLICT,
    "bad_target": status.HTTP_422_UNPROCESSABLE_CONTENT,
    "not_recorded": status.HTTP_409_CONFLICT,
    "pbx_refused": status.HTTP_502_BAD_GATEWAY,
    "link_down": status.HTTP_503_SERVICE_UNAVAILABLE,
}


class TargetBody(BaseModel):
    """Whom the call goes to; the field named by ``kind`` is required."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["agent", "queue", "number"]
    agent_id: int | None = Field(default=None, ge=1)
    queue: str | None = Field(default=None, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    number: str | None = Field(default=None, pattern=r"^\+?[0-9]{3,20}$")

    @model_validator(mode="after")
    def _names_its_target(self) -> Self:
        field = "agent_id" if self.kind == "agent" else self.kind
        if getattr(self, field) is None:
            raise ValueError(f"a {self.kind} target needs {field}")
        return self

    def target(self) -> TransferTarget:
        return TransferTarget(self.kind, self.agent_id, self.queue, self.number)


class TransferRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    target: TargetBody
    mode: Literal["blind", "attended"] = "blind"
    #: shown to whoever takes the call, in their pop
    note: str | None = Field(default=None, max_length=500)


class ConferenceRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    target: TargetBody


class WrapUpRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    disposition: str = Field(default="", max_length=64)
    notes: str = Field(default="", max_length=4000)


def calls_router() -> APIRouter:
    router = APIRouter(prefix="/api", dependencies=[Depends(check_origin)])
    for action in ("hold", "resume", "hangup", "complete", "join", "cancel"):
        router.add_api_route(
            f"/calls/{{call_id}}/{action}",
            _simple_action(action),
            methods=["POST"],
            name=f"call_{action}",
        )
    router.add_api_route("/calls/{call_id}/transfer", transfer, methods=["POST"])
    router.add_api_route("/calls/{call_id}/conference", conference, methods=["POST"])
    router.add_api_route("/agent/wrap-up", wrap_up_done, methods=["POST"])
    router.add_api_route("/calls/{call_id}/recording/pause", pause_recording, methods=["POST"])
    router.add_api_route("/calls/{call_id}/recording/resume", resume_recording, methods=["POST"])
    return router


async def pause_recording(
    principal: AgentPrincipal, request: Request, call_id: CallId
) -> dict[str, Any]:
    """Pause the call's recording while a card number is read out (PCI): the
    paused part is silence, and the pause is kept in the recording's metadata.
    409 ``not_recorded`` when the call is not recorded, ``wrong_phase`` when
    it is paused already."""
    agent_id = agent_id_of(principal)
    work = web_context(request).desk.pause_recording(
        call_id, agent_id, f"agent:{principal.username}"
    )
    result = await _answer("recording:pause", call_id, agent_id, work)
    await audit(request, "recording.paused", call_id, principal=principal)
    return result


async def resume_recording(
    principal: AgentPrincipal, request: Request, call_id: CallId
) -> dict[str, Any]:
    """Resume a paused recording."""
    agent_id = agent_id_of(principal)
    work = web_context(request).desk.resume_recording(call_id, agent_id)
    result = await _answer("recording:resume", call_id, agent_id, work)
    await audit(request, "recording.resumed", call_id, principal=principal)
    return result


def _simple_action(
    action: str,
) -> Callable[[AgentPrincipal, Request, CallId], Awaitable[dict[str, Any]]]:
    async def run(principal: AgentPrincipal, request: Request, call_id: CallId) -> dict[str, Any]:
        desk = web_context(request).desk
        methods = {
            "hold": desk.hold,
            "resume": desk.resume,
            "hangup": desk.hang_up,
            "complete": desk.complete_transfer,
            "join": desk.join_parties,
            "cancel": desk.cancel_party,
        }
        agent_id = agent_id_of(principal)
        return await _answer(action, call_id, agent_id, methods[action](call_id, agent_id))

    run.__doc__ = f"{action.capitalize()} (the agent on the call only)."
    return run


async def transfer(
    body: TransferRequest, principal: AgentPrincipal, request: Request, call_id: CallId
) -> dict[str, Any]:
    """Blind: the caller goes to the target now. Attended: the caller is held
    while the target rings; then ``complete``, ``join`` or ``cancel``."""
    agent_id = agent_id_of(principal)
    work = web_context(request).desk.transfer(
        call_id, agent_id, body.target.target(), attended=body.mode == "attended", note=body.note
    )
    return await _answer(f"transfer:{body.mode}", call_id, agent_id, work)


async def conference(
    body: ConferenceRequest, principal: AgentPrincipal, request: Request, call_id: CallId
) -> dict[str, Any]:
    """Ring a third party into the call while the caller stays on the line."""
    agent_id = agent_id_of(principal)
    work = web_context(request).desk.conference(call_id, agent_id, body.target.target())
    return await _answer("conference", call_id, agent_id, work)


async def wrap_up_done(
    body: WrapUpRequest, principal: AgentPrincipal, request: Request
) -> dict[str, Any]:
    """Disposition and notes for the agent's last call; ends their wrap-up.

    Once admins have defined disposition codes, the disposition must be an
    active one, with notes when the code asks for them (422 naming the field):
    reports count outcomes by code, which free text would scatter."""
    agent_id = agent_id_of(principal)
    await _check_disposition(request, body)
    try:
        view = await web_context(request).desk.wrap_up_done(agent_id, body.disposition, body.notes)
    except CallControlError as exc:
        raise call_control_http_error(exc) from exc
    log.info("wrap-up done", agent_id=agent_id, disposition=body.disposition)
    return agent_json(view)


async def _check_disposition(request: Request, body: WrapUpRequest) -> None:
    database = web_context(request).database
    if database is None:
        return
    known = {code.code: code for code in await list_disposition_codes(database) if code.active}
    if not known:
        return
    code = known.get(body.disposition)
    if code is None:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            [{"field": "disposition", "reason": "choose one of: " + ", ".join(sorted(known))}],
        )
    if code.requires_notes and not body.notes.strip():
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            [{"field": "notes", "reason": f"the disposition {code.code!r} needs notes"}],
        )


async def _answer(
    action: str, call_id: str, agent_id: int, work: Awaitable[dict[str, Any]]
) -> dict[str, Any]:
    try:
        result = await work
    except CallControlError as exc:
        log.info("call control refused", action=action, call_id=call_id, reason=exc.reason)
        raise call_control_http_error(exc) from exc
    log.info("call control", action=action, call_id=call_id, agent_id=agent_id)
    return result


def call_control_http_error(exc: CallControlError) -> HTTPException:
    return HTTPException(
        CALL_CONTROL_STATUS.get(exc.reason, status.HTTP_500_INTERNAL_SERVER_ERROR),
        {"reason": exc.reason, "message": str(exc)},
    )
