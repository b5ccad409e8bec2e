"""The directory, for admins: skills, agents (skills with proficiency, location,
phone), queues and users (roles, linked agent, supervised queues).

Shapes are checked here (422 names the field); what only the database knows (a
login taken, a skill in use, the last admin) comes back from it as
``Conflict`` → 409 with the field. An agent's change reaches the live router at
once (their skills and location count for the next offer), and a user whose
roles, queues or password change is logged out everywhere in this process, since
their session still carries the old grants. Every change is audited.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, NoReturn

import structlog
from fastapi import APIRouter, Depends, HTTPException, Path, Request, status
from pydantic import BaseModel, ConfigDict, Field

from agents import AgentProfile, Location
from agents.dial_strings import InvalidDialString, check_dial_string
from callcenter.db import directory_admin as directory
from callcenter.db.admin_errors import Conflict, NotFound
from callcenter.ports import AgentInUse
from callcenter.web.audit_hook import audit
from callcenter.web.context import web_context
from callcenter.web.deps import AdminPrincipal, Database, SupervisorPrincipal
from callcenter.web.guards import check_origin

log = structlog.get_logger(__name__)

Id = Annotated[int, Path(ge=1, le=2_000_000_000)]
Name = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$")]
Login = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]*$")]
PbxName = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9][A-Za-z0-9_-]*$")]
Did = Annotated[str, Field(min_length=1, max_length=32, pattern=r"^\+?[0-9]+$")]
Proficiency = Annotated[int, Field(ge=1, le=5)]
LocationName = Literal["on_site", "remote_site", "home", "partner"]
RoleName = Literal["agent", "supervisor", "admin"]


class SkillIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name


class AgentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    login: Login
    name: str = Field(min_length=1, max_length=128)
    dial_string: str = Field(min_length=1, max_length=128)
    location: LocationName = "on_site"
    pbx: PbxName = "pbx1"
    skills: dict[Name, Proficiency] = Field(default_factory=dict)


class AgentPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str | None = Field(default=None, min_length=1, max_length=128)
    dial_string: str | None = Field(default=None, min_length=1, max_length=128)
    location: LocationName | None = None
    pbx: PbxName | None = None
    skills: dict[Name, Proficiency] | None = None


class QueueIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    skill: Name
    ring_timeout_s: int = Field(default=15, ge=1, le=600)
    did: Did | None = None


class QueuePatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    skill: Name | None = None
    ring_timeout_s: int | None = Field(default=None, ge=1, le=600)
    did: Did | None = None


class UserIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: Login
    password: str = Field(min_length=8, max_length=1024)
    roles: list[RoleName] = Field(min_length=1, max_length=3)
    agent_id: int | None = Field(default=None, ge=1, le=2_000_000_000)
    #: the queues a supervisor watches; empty: every queue
    queues: list[Name] = Field(default_factory=list, max_length=500)


class UserPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    password: str | None = Field(default=None, min_length=8, max_length=1024)
    roles: list[RoleName] | None = Field(default=None, min_length=1, max_length=3)
    agent_id: int | None = Field(default=None, ge=1, le=2_000_000_000)
    #: true: unlink the user from their agent (``agent_id`` null means "unchanged")
    unlink_agent: bool = False
    queues: list[Name] | None = Field(default=None, max_length=500)


def admin_router() -> APIRouter:
    router = APIRouter(prefix="/api", tags=["directory"])
    write = {"dependencies": [Depends(check_origin)]}
    for path, read, create in (
        ("/skills", list_skills, create_skill),
        ("/agents", list_agents, create_agent),
        ("/queues", list_queues, create_queue),
        ("/users", list_users, create_user),
    ):
        router.add_api_route(path, read, methods=["GET"])
        router.add_api_route(
            path,
            create,
            methods=["POST"],
            status_code=status.HTTP_201_CREATED,
            **write,  # type: ignore[arg-type]
        )
    router.add_api_route("/skills/{skill_id}", delete_skill, methods=["DELETE"], **write)  # type: ignore[arg-type]
    router.add_api_route("/agents/{agent_id}", get_agent, methods=["GET"])
    router.add_api_route("/agents/{agent_id}", update_agent, methods=["PATCH"], **write)  # type: ignore[arg-type]
    router.add_api_route("/agents/{agent_id}", delete_agent, methods=["DELETE"], **write)  # type: ignore[arg-type]
    router.add_api_route("/queues/{queue_id}", update_queue, methods=["PATCH"], **write)  # type: ignore[arg-type]
    router.add_api_route("/queues/{queue_id}", delete_queue, methods=["DELETE"], **write)  # type: ignore[arg-type]
    router.add_api_route("/users/{user_id}", get_user, methods=["GET"])
    router.add_api_route("/users/{user_id}", update_user, methods=["PATCH"], **write)  # type: ignore[arg-type]
    router.add_api_route("/users/{user_id}", delete_user, methods=["DELETE"], **write)  # type: ignore[arg-type]
    return router


def _refused(exc: Conflict | NotFound) -> NoReturn:
    if isinstance(exc, NotFound):
        raise HTTPException(status.HTTP_404_NOT_FOUND, f"no {exc}") from exc
    raise HTTPException(
        status.HTTP_409_CONFLICT, [{"field": exc.field, "reason": exc.reason}]
    ) from exc


def _checked_phone(login: str, dial_string: str, location: str) -> None:
    """A dial string no offer could ring is refused with the field named."""
    try:
        check_dial_string(
            AgentProfile(
                agent_id=0,
                login=login,
                name=login,
                dial_string=dial_string,
                location=Location(location),
            )
        )
    except InvalidDialString as exc:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            [{"field": "dial_string", "reason": str(exc).split(": ", 2)[-1]}],
        ) from exc


def _profile(agent: directory.AgentRecord) -> AgentProfile:
    return AgentProfile(
        agent_id=agent.id,
        login=agent.login,
        name=agent.name,
        dial_string=agent.dial_string,
        location=Location(agent.location),
        skills=dict(agent.skills),
        pbx=agent.pbx,
    )


def _agent_json(agent: directory.AgentRecord) -> dict[str, Any]:
    return {
        "id": agent.id,
        "login": agent.login,
        "name": agent.name,
        "dial_string": agent.dial_string,
        "location": agent.location,
        "pbx": agent.pbx,
        "skills": dict(agent.skills),
    }


def _queue_json(queue: directory.QueueRecord) -> dict[str, Any]:
    return {
        "id": queue.id,
        "name": queue.name,
        "skill": queue.skill,
        "ring_timeout_s": queue.ring_timeout_s,
        "did": queue.did,
    }


def _user_json(user: directory.UserRecord) -> dict[str, Any]:
    return {
        "id": user.id,
        "username": user.username,
        "roles": list(user.roles),
        "agent_id": user.agent_id,
        "queues": list(user.queues),
    }


# -- skills -------------------------------------------------------------------


async def list_skills(principal: SupervisorPrincipal, db: Database) -> dict[str, Any]:
    return {"skills": [{"id": s.id, "name": s.name} for s in await directory.list_skills(db)]}


async def create_skill(
    body: SkillIn, principal: AdminPrincipal, db: Database, request: Request
) -> dict[str, Any]:
    try:
        skill = await directory.create_skill(db, body.name)
    except Conflict as exc:
        _refused(exc)
    await audit(request, "skill.created", skill.name, principal=principal)
    return {"id": skill.id, "name": skill.name}


async def delete_skill(
    skill_id: Id, principal: AdminPrincipal, db: Database, request: Request
) -> dict[str, Any]:
    try:
        await directory.delete_skill(db, skill_id)
    except (Conflict, NotFound) as exc:
        _refused(exc)
    await audit(request, "skill.deleted", f"skill {skill_id}", principal=principal)
    return {"deleted": skill_id}


# -- agents -------------------------------------------------------------------


async def list_agents(principal: SupervisorPrincipal, db: Database) -> dict[str, Any]:
    return {"agents": [_agent_json(a) for a in await directory.list_agents(db)]}


async def get_agent(agent_id: Id, principal: SupervisorPrincipal, db: Database) -> dict[str, Any]:
    try:
        return _agent_json(await directory.get_agent(db, agent_id))
    except NotFound as exc:
        _refused(exc)


async def create_agent(
    body: AgentIn, principal: AdminPrincipal, db: Database, request: Request
) -> dict[str, Any]:
    _checked_phone(body.login, body.dial_string, body.location)
    try:
        agent = await directory.create_agent(
            db,
            login=body.login,
            name=body.name,
            dial_string=body.dial_string,
            location=body.location,
            pbx=body.pbx,
            skills=body.skills,
        )
    except Conflict as exc:
        _refused(exc)
    web_context(request).desk.put_agent(_profile(agent))
    await audit(request, "agent.created", f"agent {agent.id}", principal=principal)
    return _agent_json(agent)


async def update_agent(
    agent_id: Id, body: AgentPatch, principal: AdminPrincipal, db: Database, request: Request
) -> dict[str, Any]:
    try:
        current = await directory.get_agent(db, agent_id)
        _checked_phone(
            current.login,
            body.dial_string or current.dial_string,
            body.location or current.location,
        )
        agent = await directory.update_agent(
            db,
            agent_id,
            name=body.name,
            dial_string=body.dial_string,
            location=body.location,
            pbx=body.pbx,
            skills=body.skills,
        )
    except (Conflict, NotFound) as exc:
        _refused(exc)
    web_context(request).desk.put_agent(_profile(agent))
    await audit(
        request,
        "agent.updated",
        f"agent {agent_id}",
        principal=principal,
        changed=sorted(body.model_dump(exclude_none=True)),
    )
    return _agent_json(agent)


async def delete_agent(
    agent_id: Id, principal: AdminPrincipal, db: Database, request: Request
) -> dict[str, Any]:
    """Only an agent with no history and logged out (409 otherwise): the history
    keeps who handled each call."""
    try:
        await directory.get_agent(db, agent_id)
        web_context(request).desk.remove_agent(agent_id)
    except NotFound as exc:
        _refused(exc)
    except AgentInUse as exc:
        raise HTTPException(
            status.HTTP_409_CONFLICT, [{"field": "agent", "reason": str(exc)}]
        ) from exc
    try:
        await directory.delete_agent(db, agent_id)
    except (Conflict, NotFound) as exc:
        # Still in the database (it has history): back into the live directory.
        web_context(request).desk.put_agent(_profile(await directory.get_agent(db, agent_id)))
        _refused(exc)
    await audit(request, "agent.deleted", f"agent {agent_id}", principal=principal)
    return {"deleted": agent_id}


# -- queues -------------------------------------------------------------------


async def list_queues(principal: SupervisorPrincipal, db: Database) -> dict[str, Any]:
    queues = [q for q in await directory.list_queues(db) if principal.sees_queue(q.name)]
    return {"queues": [_queue_json(q) for q in queues]}


async def create_queue(
    body: QueueIn, principal: AdminPrincipal, db: Database, request: Request
) -> dict[str, Any]:
    try:
        queue = await directory.create_queue(
            db, name=body.name, skill=body.skill, ring_timeout_s=body.ring_timeout_s, did=body.did
        )
    except Conflict as exc:
        _refused(exc)
    await audit(request, "queue.created", queue.name, principal=principal)
    return _queue_json(queue)


async def update_queue(
    queue_id: Id, body: QueuePatch, principal: AdminPrincipal, db: Database, request: Request
) -> dict[str, Any]:
    changes: dict[str, Any] = body.model_dump(exclude_unset=True)
    try:
        queue = await directory.update_queue(db, queue_id, **changes)
    except (Conflict, NotFound) as exc:
        _refused(exc)
    await audit(request, "queue.updated", queue.name, principal=principal, changed=sorted(changes))
    return _queue_json(queue)


async def delete_queue(
    queue_id: Id, principal: AdminPrincipal, db: Database, request: Request
) -> dict[str, Any]:
    try:
        await directory.delete_queue(db, queue_id)
    except (Conflict, NotFound) as exc:
        _refused(exc)
    await audit(request, "queue.deleted", f"queue {queue_id}", principal=principal)
    return {"deleted": queue_id}


# -- users --------------------------------------------------------------------


async def list_users(principal: AdminPrincipal, db: Database) -> dict[str, Any]:
    return {"users": [_user_json(u) for u in await directory.list_users(db)]}


async def get_user(user_id: Id, principal: AdminPrincipal, db: Database) -> dict[str, Any]:
    try:
        return _user_json(await directory.get_user(db, user_id))
    except NotFound as exc:
        _refused(exc)


async def create_user(
    body: UserIn, principal: AdminPrincipal, db: Database, request: Request
) -> dict[str, Any]:
    try:
        user = await directory.create_user(
            db,
            username=body.username,
            password=body.password,
            roles=sorted(set(body.roles)),
            agent_id=body.agent_id,
            queues=body.queues,
        )
    except Conflict as exc:
        _refused(exc)
    await audit(request, "user.created", user.username, principal=principal, roles=list(user.roles))
    return _user_json(user)


async def update_user(
    user_id: Id, body: UserPatch, principal: AdminPrincipal, db: Database, request: Request
) -> dict[str, Any]:
    """Roles, queues, linked agent or password; the user's sessions end (they
    carry the old grants) and a role change is audited as such."""
    if body.unlink_agent and body.agent_id is not None:
        raise HTTPException(
            status.HTTP_422_UNPROCESSABLE_CONTENT,
            [{"field": "unlink_agent", "reason": "give agent_id or unlink_agent, not both"}],
        )
    try:
        before = await directory.get_user(db, user_id)
        changes: dict[str, Any] = {}
        if body.roles is not None:
            changes["roles"] = sorted(set(body.roles))
        if body.queues is not None:
            changes["queues"] = body.queues
        if body.password is not None:
            changes["password"] = body.password
        if body.unlink_agent:
            changes["agent_id"] = None
        elif body.agent_id is not None:
            changes["agent_id"] = body.agent_id
        user = await directory.update_user(db, user_id, **changes)
    except (Conflict, NotFound) as exc:
        _refused(exc)
    web_context(request).sessions.revoke_user(user_id)
    if list(before.roles) != list(user.roles):
        await audit(
            request,
            "user.roles_changed",
            user.username,
            principal=principal,
            before=list(before.roles),
            after=list(user.roles),
        )
    # Never the password itself: only that it changed.
    await audit(
        request, "user.updated", user.username, principal=principal, changed=sorted(changes)
    )
    return _user_json(user)


async def delete_user(
    user_id: Id, principal: AdminPrincipal, db: Database, request: Request
) -> dict[str, Any]:
    try:
        user = await directory.get_user(db, user_id)
        await directory.delete_user(db, user_id)
    except (Conflict, NotFound) as exc:
        _refused(exc)
    web_context(request).sessions.revoke_user(user_id)
    await audit(request, "user.deleted", user.username, principal=principal)
    return {"deleted": user_id}
