"""The JSON API: login/logout, the agent's own state, the wallboard snapshot, why
the router put a live call where it is, listening in on a call (supervisors) and
the audit trail of that (admins)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

import structlog
from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from agents import AgentState, InvalidTransition
from callcenter.db.codes import list_reason_codes
from callcenter.ports import Principal, SupervisionError, SupervisionMode
from callcenter.web.audit_hook import audit, client_address
from callcenter.web.auth import SESSION_COOKIE
from callcenter.web.context import web_context
from callcenter.web.deps import AdminPrincipal, AgentPrincipal, AnyPrincipal, SupervisorPrincipal
from callcenter.web.guards import check_origin, principal_of
from callcenter.web.scope import scoped_wallboard
from callcenter.web.snapshots import wallboard_message
from callcenter.web.views import (
    agent_json,
    principal_json,
    supervision_event_json,
    supervision_started_json,
)

log = structlog.get_logger(__name__)

CallId = Annotated[str, Path(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")]

#: HTTP status of each ``SupervisionError`` reason
SUPERVISION_STATUS = {
    "forbidden": status.HTTP_403_FORBIDDEN,
    "no_such_call": status.HTTP_404_NOT_FOUND,
    "not_talking": status.HTTP_409_CONFLICT,
    "no_phone": status.HTTP_409_CONFLICT,
    "phone_busy": status.HTTP_409_CONFLICT,
    "pbx_refused": status.HTTP_502_BAD_GATEWAY,
    "error": status.HTTP_502_BAD_GATEWAY,
    "link_down": status.HTTP_503_SERVICE_UNAVAILABLE,
    "not_audited": status.HTTP_503_SERVICE_UNAVAILABLE,
}


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=150)
    password: str = Field(min_length=1, max_length=1024)


class StateRequest(BaseModel):
    """Only what an agent may ask for: ringing and on-call are the call flow's."""

    model_config = ConfigDict(extra="forbid")

    state: Literal["ready", "not_ready", "logged_out"]
    reason: str | None = Field(default=None, max_length=100)


class SuperviseRequest(BaseModel):
    """How the supervisor joins: listen only, talk to the agent, or to both."""

    model_config = ConfigDict(extra="forbid")

    mode: SupervisionMode


def api_router() -> APIRouter:
    router = APIRouter(prefix="/api")
    router.add_api_route("/login", login, methods=["POST"], dependencies=[Depends(check_origin)])
    router.add_api_route("/token", issue_token, methods=["POST"])
    router.add_api_route("/logout", logout, methods=["POST"], dependencies=[Depends(check_origin)])
    router.add_api_route("/me", me, methods=["GET"])
    router.add_api_route("/agent/me", my_agent, methods=["GET"])
    router.add_api_route(
        "/agent/state", set_my_state, methods=["POST"], dependencies=[Depends(check_origin)]
    )
    router.add_api_route("/wallboard", wallboard, methods=["GET"])
    router.add_api_route("/calls/{call_id}/routing", call_routing, methods=["GET"])
    router.add_api_route(
        "/calls/{call_id}/supervise",
        supervise_call,
        methods=["POST"],
        status_code=status.HTTP_202_ACCEPTED,
        dependencies=[Depends(check_origin)],
    )
    router.add_api_route("/supervision-events", supervision_events, methods=["GET"])
    return router


async def _checked_login(body: LoginRequest, request: Request, how: str) -> Principal:
    """The user behind a username and password, throttled and audited either way."""
    context = web_context(request)
    address = client_address(request)
    retry_after_s = context.throttle.retry_after_s(body.username, address)
    if retry_after_s is not None:
        log.warning("login throttled", username=body.username, address=address)
        await audit(request, "login.throttled", username=body.username, via=how)
        raise HTTPException(
            status.HTTP_429_TOO_MANY_REQUESTS,
            "too many failed logins, try again later",
            headers={"Retry-After": str(max(1, round(retry_after_s)))},
        )
    principal = await context.authenticate(body.username, body.password)
    if principal is None:
        context.throttle.failed(body.username, address)
        log.info("login failed", username=body.username, address=address)
        await audit(request, "login.failed", username=body.username, via=how)
        raise HTTPException(status.HTTP_401_UNAUTHORIZED, "wrong username or password")
    context.throttle.succeeded(body.username, address)
    await audit(request, "login", principal=principal, via=how)
    return principal


async def login(body: LoginRequest, request: Request, response: Response) -> dict[str, Any]:
    """Log in for the pages: the session is an HttpOnly, SameSite cookie."""
    context = web_context(request)
    principal = await _checked_login(body, request, "cookie")
    response.set_cookie(
        SESSION_COOKIE,
        context.sessions.issue(principal),
        max_age=context.sessions.max_age_s,
        httponly=True,
        samesite="lax",
        secure=request.url.scheme == "https",
        path="/",
    )
    log.info("login", username=principal.username, user_id=principal.user_id)
    return principal_json(principal)


async def issue_token(body: LoginRequest, request: Request) -> dict[str, Any]:
    """Log in for API clients: a bearer token (``Authorization: Bearer ...``),
    valid for one shift. No cookie is set, and since browsers never attach a
    bearer token on their own, requests carrying it need no Origin check."""
    context = web_context(request)
    principal = await _checked_login(body, request, "token")
    return {
        "access_token": context.sessions.issue(principal),
        "token_type": "bearer",
        "expires_in": context.sessions.max_age_s,
        "user": principal_json(principal),
    }


async def logout(request: Request, response: Response) -> dict[str, bool]:
    """End this session (cookie) or this token (``Authorization: Bearer``)."""
    principal = principal_of(request)
    authorization = request.headers.get("authorization", "")
    token = (
        authorization.partition(" ")[2].strip()
        if authorization
        else request.cookies.get(SESSION_COOKIE)
    )
    web_context(request).sessions.revoke(token)
    response.delete_cookie(SESSION_COOKIE, path="/", httponly=True, samesite="lax")
    if principal is not None:
        await audit(request, "logout", principal=principal)
    return {"ok": True}


async def me(principal: AnyPrincipal) -> dict[str, Any]:
    return principal_json(principal)


async def my_agent(principal: AgentPrincipal, request: Request) -> dict[str, Any]:
    agent_id = agent_id_of(principal)
    try:
        view = web_context(request).desk.agent_view(agent_id)
    except KeyError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "agent not found") from None
    return agent_json(view)


async def set_my_state(
    body: StateRequest, principal: AgentPrincipal, request: Request
) -> dict[str, Any]:
    agent_id = agent_id_of(principal)
    await check_reason_code(request, body.state, body.reason)
    try:
        view = await web_context(request).desk.set_agent_state(
            agent_id, AgentState(body.state), body.reason
        )
    except InvalidTransition as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    except KeyError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "agent not found") from None
    log.info("agent state asked", agent_id=agent_id, state=body.state, reason=body.reason)
    if body.state == "not_ready":
        await audit(
            request, "agent.paused", f"agent {agent_id}", principal=principal, reason=body.reason
        )
    return agent_json(view)


async def check_reason_code(request: Request, state: str, reason: str | None) -> None:
    """A Not Ready reason must be one of the active reason codes, once admins
    have defined any (422 on ``reason`` otherwise): reports group pauses by it."""
    database = web_context(request).database
    if state != "not_ready" or reason is None or database is None:
        return
    known = [code for code in await list_reason_codes(database) if code.active]
    if known and reason not in {code.code for code in known}:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            [
                {
                    "field": "reason",
                    "reason": "not one of the reason codes: " + ", ".join(c.code for c in known),
                }
            ],
        )


async def wallboard(principal: SupervisorPrincipal, request: Request) -> dict[str, Any]:
    return wallboard_message(scoped_wallboard(web_context(request).desk.wallboard(), principal))


async def call_routing(
    principal: SupervisorPrincipal,
    request: Request,
    call_id: CallId,
) -> dict[str, Any]:
    """The router's explanation for a live call: step in force, priority, the
    candidates weighed and why. Gone once the call has ended."""
    routing = web_context(request).desk.routing_of(call_id)
    if routing is None or not principal.sees_queue(routing.get("queue")):
        raise HTTPException(status.HTTP_404_NOT_FOUND, "no live call with this id")
    return routing


async def supervise_call(
    body: SuperviseRequest, principal: AnyPrincipal, request: Request, call_id: CallId
) -> dict[str, Any]:
    """Ring the supervisor's own phone into a talking call (202: it rings now).

    Supervisors and admins only, but the role is checked by the desk, not by a
    dependency here, so that an agent's attempt is audited too
    (``refused:forbidden``) like every other refusal."""
    try:
        started = await web_context(request).desk.supervise(call_id, principal, body.mode)
    except SupervisionError as exc:
        await audit(
            request,
            "supervision.refused",
            call_id,
            principal=principal,
            mode=body.mode.value,
            reason=exc.reason,
        )
        raise HTTPException(
            SUPERVISION_STATUS.get(exc.reason, status.HTTP_500_INTERNAL_SERVER_ERROR),
            {"reason": exc.reason, "message": str(exc)},
        ) from exc
    await audit(
        request,
        "supervision.started",
        call_id,
        principal=principal,
        mode=body.mode.value,
        agent_id=started.agent_id,
    )
    return supervision_started_json(started)


async def supervision_events(
    principal: AdminPrincipal,
    request: Request,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> dict[str, Any]:
    """The supervision audit trail, newest first."""
    trail = web_context(request).supervision_log
    if trail is None:
        raise HTTPException(
            status.HTTP_503_SERVICE_UNAVAILABLE, "the supervision audit trail is not available"
        )
    return {"events": [supervision_event_json(event) for event in await trail.recent(limit)]}


def agent_id_of(principal: Principal) -> int:
    if principal.agent_id is None:
        raise HTTPException(status.HTTP_403_FORBIDDEN, "this user is not linked to an agent")
    return principal.agent_id
