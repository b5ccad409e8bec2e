"""Live calls, call history, agents' state history, supervisors changing an
agent's state, and the audit trail.

Supervisors see their own queues (``Principal.sees_queue``), admins everything,
agents only their own calls. A supervisor may put an agent Not Ready (with a
reason), log them out, or make them Ready again, as a floor manager does; each
such change is audited with who did it.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Path, Query, Request, status
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from agents import AgentState, InvalidTransition
from callcenter.db.call_history import agent_state_history, call_history
from callcenter.web.audit_hook import audit
from callcenter.web.context import web_context
from callcenter.web.deps import AdminPrincipal, AgentPrincipal, Database, SupervisorPrincipal
from callcenter.web.guards import check_origin
from callcenter.web.routes_api import agent_id_of
from callcenter.web.scope import scoped_wallboard
from callcenter.web.views import agent_json, wallboard_json

Id = Annotated[int, Path(ge=1, le=2_000_000_000)]
Limit = Annotated[int, Query(ge=1, le=500)]
QueueName = Annotated[
    str | None, Query(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$")
]
Since = Annotated[AwareDatetime | None, Query()]


class AgentStateOrder(BaseModel):
    """What a supervisor may do to an agent's state."""

    model_config = ConfigDict(extra="forbid")

    state: Literal["ready", "not_ready", "logged_out"]
    reason: str | None = Field(default=None, max_length=100)


def history_router() -> APIRouter:
    router = APIRouter(prefix="/api", tags=["calls and history"])
    router.add_api_route("/calls/live", live_calls, methods=["GET"])
    router.add_api_route("/calls/history", history, methods=["GET"])
    router.add_api_route("/agent/history", my_history, methods=["GET"])
    router.add_api_route("/agents/{agent_id}/states", state_history, methods=["GET"])
    router.add_api_route(
        "/agents/{agent_id}/state",
        order_state,
        methods=["POST"],
        dependencies=[Depends(check_origin)],
    )
    router.add_api_route("/audit", audit_trail, methods=["GET"])
    return router


async def live_calls(principal: SupervisorPrincipal, request: Request) -> dict[str, Any]:
    """Callers waiting and calls with an agent, in the queues this user sees."""
    board = wallboard_json(scoped_wallboard(web_context(request).desk.wallboard(), principal))
    talking = [
        {
            "call_id": agent["call_id"],
            "queue": agent["queue"],
            "agent_id": agent["agent_id"],
            "state": agent["state"],
        }
        for agent in board["agents"]
        if agent["call_id"] is not None
    ]
    return {"at": board["at"], "waiting": board["waiting"], "with_agent": talking}


async def history(
    principal: SupervisorPrincipal,
    db: Database,
    queue: QueueName = None,
    agent_id: Annotated[int | None, Query(ge=1, le=2_000_000_000)] = None,
    since: Since = None,
    until: Since = None,
    limit: Limit = 100,
) -> dict[str, Any]:
    """Calls, newest first, filtered by queue, agent and time range."""
    if queue is not None and not principal.sees_queue(queue):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "not one of your queues")
    queues = (
        {queue} if queue is not None else (None if principal.sees_queue(None) else principal.queues)
    )
    calls = await call_history(
        db, queues=queues, agent_id=agent_id, since=since, until=until, limit=limit
    )
    return {"calls": calls}


async def my_history(
    principal: AgentPrincipal, db: Database, since: Since = None, limit: Limit = 50
) -> dict[str, Any]:
    """The calls this agent had a part in, newest first."""
    calls = await call_history(db, agent_id=agent_id_of(principal), since=since, limit=limit)
    return {"calls": calls}


async def state_history(
    agent_id: Id,
    principal: SupervisorPrincipal,
    db: Database,
    since: Since = None,
    limit: Limit = 200,
) -> dict[str, Any]:
    return {"states": await agent_state_history(db, [agent_id], since=since, limit=limit)}


async def order_state(
    agent_id: Id, body: AgentStateOrder, principal: SupervisorPrincipal, request: Request
) -> dict[str, Any]:
    """Change an agent's state for them. A change during a call waits for its
    end, as the agent's own would."""
    try:
        view = await web_context(request).desk.set_agent_state(
            agent_id, AgentState(body.state), body.reason
        )
    except InvalidTransition as exc:
        raise HTTPException(status.HTTP_409_CONFLICT, str(exc)) from exc
    except KeyError:
        raise HTTPException(status.HTTP_404_NOT_FOUND, "agent not found") from None
    await audit(
        request,
        "agent.state_ordered",
        f"agent {agent_id}",
        principal=principal,
        state=body.state,
        reason=body.reason,
    )
    return agent_json(view)


async def audit_trail(
    principal: AdminPrincipal,
    request: Request,
    action: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    username: Annotated[str | None, Query(min_length=1, max_length=64)] = None,
    since: Since = None,
    limit: Limit = 100,
) -> dict[str, Any]:
    """Logins, role changes, rule edits, pauses, pop views, supervision: newest first."""
    trail = web_context(request).audit
    if trail is None:
        raise HTTPException(status.HTTP_503_SERVICE_UNAVAILABLE, "the audit trail is not available")
    events = await trail.recent(limit=limit, action=action, username=username, since=since)
    return {
        "events": [
            {
                "at": event.at.isoformat(),
                "user_id": event.user_id,
                "username": event.username,
                "action": event.action,
                "target": event.target,
                "detail": dict(event.detail),
                "address": event.address,
            }
            for event in events
        ]
    }
