"""Admins editing the directory: skills, agents with their skills, queues, users.

Every refusal a form can act on is a ``Conflict`` naming the field (a login
taken, a skill nobody defined, the last admin losing the role) or a
``NotFound``; no ``IntegrityError`` escapes. Each edit checks first; when a
concurrent edit slips between the check and the write, the database's own
constraint refuses it and the same checks run again on what is now committed,
so the race ends in the same ``Conflict`` the check would have given.

Shapes (lengths, patterns, ranges) are the web layer's to check before calling
here; the few a database constraint also enforces (proficiency 1..5, the
location list, role names) are refused here as a ``Conflict`` too, rather than
as a database error. Passwords are hashed (argon2, on a worker thread) and never
returned.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from agents import Location
from callcenter.db.admin_errors import Conflict, NotFound
from callcenter.db.models import (
    Agent,
    AgentSkill,
    AgentStateChange,
    CallOffer,
    CallRecord,
    Interaction,
    Queue,
    Skill,
    SupervisorQueue,
    User,
)
from callcenter.db.session import Sessions
from callcenter.db.users import hash_password, parse_roles
from callcenter.ports import Role

#: what ``agent_skills``' CHECK allows
PROFICIENCY: Final = range(1, 6)
_LOCATIONS: Final = tuple(location.value for location in Location)


@dataclass(frozen=True, slots=True)
class SkillRecord:
    id: int
    name: str


@dataclass(frozen=True, slots=True)
class AgentRecord:
    id: int
    login: str
    name: str
    dial_string: str
    location: str
    pbx: str
    #: skill name -> proficiency 1..5
    skills: dict[str, int]


@dataclass(frozen=True, slots=True)
class QueueRecord:
    id: int
    name: str
    skill: str
    ring_timeout_s: int
    did: str | None


@dataclass(frozen=True, slots=True)
class UserRecord:
    id: int
    username: str
    roles: list[str]
    agent_id: int | None
    #: the queues this user supervises, sorted; none: every queue
    queues: list[str]


class _Unchanged:
    def __repr__(self) -> str:
        return "UNCHANGED"


#: "leave this field as it is" where None is a value (unlinking an agent, clearing a DID)
UNCHANGED: Final = _Unchanged()

Check = Callable[[AsyncSession], Awaitable[None]]


async def _write(sessions: Sessions, work: Check, checks: Check, fallback: Conflict) -> None:
    """Run ``work`` in one transaction; a constraint it trips (a concurrent edit
    between its own checks and its write) becomes the ``Conflict`` that
    ``checks`` finds on what is committed now, else ``fallback``."""
    try:
        async with sessions.begin() as session:
            await work(session)
    except IntegrityError as exc:
        async with sessions() as session:
            try:
                await checks(session)
            except Conflict as conflict:
                raise conflict from exc
        raise fallback from exc


# -- skills -------------------------------------------------------------------


async def list_skills(sessions: Sessions) -> list[SkillRecord]:
    async with sessions() as session:
        return [
            SkillRecord(s.id, s.name)
            for s in await session.scalars(select(Skill).order_by(Skill.name))
        ]


async def _skill_name_free(session: AsyncSession, name: str) -> None:
    if await session.scalar(select(Skill.id).where(Skill.name == name)) is not None:
        raise Conflict("name", "already taken")


async def create_skill(sessions: Sessions, name: str) -> SkillRecord:
    created: list[SkillRecord] = []

    async def checks(session: AsyncSession) -> None:
        await _skill_name_free(session, name)

    async def work(session: AsyncSession) -> None:
        await checks(session)
        skill = Skill(name=name)
        session.add(skill)
        await session.flush()
        created.append(SkillRecord(skill.id, skill.name))

    await _write(sessions, work, checks, Conflict("name", "already taken"))
    return created[0]


async def _skill_unused(session: AsyncSession, skill_id: int) -> None:
    queue = await session.scalar(
        select(Queue.name).where(Queue.skill_id == skill_id).order_by(Queue.name).limit(1)
    )
    if queue is not None:
        raise Conflict("skill", f"used by queue {queue!r}")
    agents = await session.scalar(
        select(func.count()).select_from(AgentSkill).where(AgentSkill.skill_id == skill_id)
    )
    if agents:
        raise Conflict("skill", f"used by {agents} agent(s): take it from them first")


async def delete_skill(sessions: Sessions, skill_id: int) -> None:
    async def checks(session: AsyncSession) -> None:
        await _skill_unused(session, skill_id)

    async def work(session: AsyncSession) -> None:
        if await session.get(Skill, skill_id) is None:
            raise NotFound(f"skill {skill_id}")
        await checks(session)
        await session.execute(delete(Skill).where(Skill.id == skill_id))

    await _write(sessions, work, checks, Conflict("skill", "in use"))


async def _skill_ids(session: AsyncSession, skills: Mapping[str, int]) -> dict[str, int]:
    """Skill name -> id for ``skills``; a Conflict naming the first unknown skill
    or proficiency out of range."""
    for name in sorted(skills):
        if skills[name] not in PROFICIENCY:
            raise Conflict(f"skills.{name}", "proficiency must be between 1 and 5")
    if not skills:
        return {}
    rows = await session.execute(select(Skill.name, Skill.id).where(Skill.name.in_(sorted(skills))))
    known = {name: skill_id for name, skill_id in rows}
    for name in sorted(skills):
        if name not in known:
            raise Conflict(f"skills.{name}", "no such skill")
    return known


# -- agents -------------------------------------------------------------------


def _agent_record(agent: Agent) -> AgentRecord:
    return AgentRecord(
        id=agent.id,
        login=agent.login,
        name=agent.name,
        dial_string=agent.dial_string,
        location=agent.location,
        pbx=agent.pbx,
        skills={s.skill.name: s.proficiency for s in sorted(agent.skills, key=_skill_name)},
    )


def _skill_name(agent_skill: AgentSkill) -> str:
    return agent_skill.skill.name


def _check_location(location: str | None) -> None:
    if location is not None and location not in _LOCATIONS:
        raise Conflict("location", f"must be one of {', '.join(_LOCATIONS)}")


async def list_agents(sessions: Sessions) -> list[AgentRecord]:
    async with sessions() as session:
        agents = await session.scalars(select(Agent).order_by(Agent.login))
        return [_agent_record(a) for a in agents]


async def get_agent(sessions: Sessions, agent_id: int) -> AgentRecord:
    async with sessions() as session:
        agent = await session.get(Agent, agent_id)
        if agent is None:
            raise NotFound(f"agent {agent_id}")
        return _agent_record(agent)


async def _login_free(session: AsyncSession, login: str) -> None:
    if await session.scalar(select(Agent.id).where(Agent.login == login)) is not None:
        raise Conflict("login", "already taken")


async def create_agent(
    sessions: Sessions,
    login: str,
    name: str,
    dial_string: str,
    location: str = Location.ON_SITE.value,
    pbx: str = "pbx1",
    skills: Mapping[str, int] = {},
) -> AgentRecord:
    _check_location(location)
    created: list[int] = []

    async def checks(session: AsyncSession) -> None:
        await _login_free(session, login)
        await _skill_ids(session, skills)

    async def work(session: AsyncSession) -> None:
        await _login_free(session, login)
        ids = await _skill_ids(session, skills)
        agent = Agent(login=login, name=name, dial_string=dial_string, location=location, pbx=pbx)
        session.add(agent)
        await session.flush()
        session.add_all(
            AgentSkill(agent_id=agent.id, skill_id=ids[skill], proficiency=proficiency)
            for skill, proficiency in skills.items()
        )
        created.append(agent.id)

    await _write(sessions, work, checks, Conflict("login", "already taken"))
    return await get_agent(sessions, created[0])


async def update_agent(
    sessions: Sessions,
    agent_id: int,
    *,
    name: str | None = None,
    dial_string: str | None = None,
    location: str | None = None,
    pbx: str | None = None,
    skills: Mapping[str, int] | None = None,
) -> AgentRecord:
    """Change what is given (None: unchanged); ``skills`` replaces the whole set."""
    _check_location(location)

    async def checks(session: AsyncSession) -> None:
        if skills is not None:
            await _skill_ids(session, skills)

    async def work(session: AsyncSession) -> None:
        agent = await session.get(Agent, agent_id)
        if agent is None:
            raise NotFound(f"agent {agent_id}")
        if name is not None:
            agent.name = name
        if dial_string is not None:
            agent.dial_string = dial_string
        if location is not None:
            agent.location = location
        if pbx is not None:
            agent.pbx = pbx
        if skills is not None:
            ids = await _skill_ids(session, skills)
            await session.execute(delete(AgentSkill).where(AgentSkill.agent_id == agent_id))
            session.add_all(
                AgentSkill(agent_id=agent_id, skill_id=ids[skill], proficiency=proficiency)
                for skill, proficiency in skills.items()
            )
        await session.flush()

    await _write(sessions, work, checks, Conflict("skills", "changed meanwhile: try again"))
    return await get_agent(sessions, agent_id)


_HISTORY = "has call history; it stays on record (rename or unlink it instead)"


async def _agent_without_history(session: AsyncSession, agent_id: int) -> None:
    for column in (
        CallRecord.agent_id,
        CallOffer.agent_id,
        AgentStateChange.agent_id,
        Interaction.agent_id,
    ):
        first = await session.scalar(select(column).where(column == agent_id).limit(1))
        if first is not None:
            raise Conflict("agent", _HISTORY)


async def delete_agent(sessions: Sessions, agent_id: int) -> None:
    """Only an agent nothing in the history points at (calls, legs, state
    changes, customer contacts): who handled each call is part of the record.
    Its skills go with it; a user linked to it stays, unlinked."""

    async def checks(session: AsyncSession) -> None:
        await _agent_without_history(session, agent_id)

    async def work(session: AsyncSession) -> None:
        if await session.get(Agent, agent_id) is None:
            raise NotFound(f"agent {agent_id}")
        await checks(session)
        await session.execute(update(User).where(User.agent_id == agent_id).values(agent_id=None))
        await session.execute(delete(AgentSkill).where(AgentSkill.agent_id == agent_id))
        await session.execute(delete(Agent).where(Agent.id == agent_id))

    await _write(sessions, work, checks, Conflict("agent", _HISTORY))


# -- queues -------------------------------------------------------------------


def _queue_record(queue: Queue) -> QueueRecord:
    return QueueRecord(queue.id, queue.name, queue.skill.name, queue.ring_timeout_s, queue.did)


async def list_queues(sessions: Sessions) -> list[QueueRecord]:
    async with sessions() as session:
        return [_queue_record(q) for q in await session.scalars(select(Queue).order_by(Queue.name))]


async def get_queue(sessions: Sessions, queue_id: int) -> QueueRecord:
    async with sessions() as session:
        queue = await session.get(Queue, queue_id)
        if queue is None:
            raise NotFound(f"queue {queue_id}")
        return _queue_record(queue)


async def _skill_id(session: AsyncSession, skill: str) -> int:
    skill_id = await session.scalar(select(Skill.id).where(Skill.name == skill))
    if skill_id is None:
        raise Conflict("skill", "no such skill")
    return skill_id


async def _queue_name_free(session: AsyncSession, name: str) -> None:
    if await session.scalar(select(Queue.id).where(Queue.name == name)) is not None:
        raise Conflict("name", "already taken")


async def _did_free(session: AsyncSession, did: str | None, queue_id: int | None) -> None:
    if did is None:
        return
    other = await session.scalar(select(Queue.id).where(Queue.did == did))
    if other is not None and other != queue_id:
        raise Conflict("did", "already taken")


async def create_queue(
    sessions: Sessions,
    name: str,
    skill: str,
    ring_timeout_s: int = 15,
    did: str | None = None,
) -> QueueRecord:
    created: list[int] = []

    async def checks(session: AsyncSession) -> None:
        await _queue_name_free(session, name)
        await _did_free(session, did, None)
        await _skill_id(session, skill)

    async def work(session: AsyncSession) -> None:
        await _queue_name_free(session, name)
        await _did_free(session, did, None)
        queue = Queue(
            name=name,
            skill_id=await _skill_id(session, skill),
            ring_timeout_s=ring_timeout_s,
            did=did,
        )
        session.add(queue)
        await session.flush()
        created.append(queue.id)

    await _write(sessions, work, checks, Conflict("name", "already taken"))
    return await get_queue(sessions, created[0])


async def update_queue(
    sessions: Sessions,
    queue_id: int,
    *,
    skill: str | None = None,
    ring_timeout_s: int | None = None,
    did: str | _Unchanged | None = UNCHANGED,
) -> QueueRecord:
    """Change what is given: ``skill`` and ``ring_timeout_s`` when not None,
    ``did`` when given at all (None clears it). A queue's name is its identity
    in the history and the routing rules, so it is not renamed."""

    async def checks(session: AsyncSession) -> None:
        if skill is not None:
            await _skill_id(session, skill)
        if not isinstance(did, _Unchanged):
            await _did_free(session, did, queue_id)

    async def work(session: AsyncSession) -> None:
        queue = await session.get(Queue, queue_id)
        if queue is None:
            raise NotFound(f"queue {queue_id}")
        if skill is not None:
            queue.skill_id = await _skill_id(session, skill)
        if ring_timeout_s is not None:
            queue.ring_timeout_s = ring_timeout_s
        if not isinstance(did, _Unchanged):
            await _did_free(session, did, queue_id)
            queue.did = did
        await session.flush()

    await _write(sessions, work, checks, Conflict("did", "already taken"))
    return await get_queue(sessions, queue_id)


async def delete_queue(sessions: Sessions, queue_id: int) -> None:
    """The queue leaves the directory (its DID stops being ours) and no longer
    is anyone's to supervise; the calls it took stay in the history under its
    name."""
    async with sessions.begin() as session:
        if await session.get(Queue, queue_id) is None:
            raise NotFound(f"queue {queue_id}")
        await session.execute(delete(SupervisorQueue).where(SupervisorQueue.queue_id == queue_id))
        await session.execute(delete(Queue).where(Queue.id == queue_id))


# -- users --------------------------------------------------------------------


async def _queue_names(session: AsyncSession, user_id: int) -> list[str]:
    return list(
        await session.scalars(
            select(Queue.name)
            .join(SupervisorQueue, SupervisorQueue.queue_id == Queue.id)
            .where(SupervisorQueue.user_id == user_id)
            .order_by(Queue.name)
        )
    )


def _user_record(user: User, queues: list[str]) -> UserRecord:
    return UserRecord(
        id=user.id,
        username=user.username,
        roles=sorted(role.value for role in parse_roles(user.roles)),
        agent_id=user.agent_id,
        queues=queues,
    )


async def list_users(sessions: Sessions) -> list[UserRecord]:
    async with sessions() as session:
        users = list(await session.scalars(select(User).order_by(User.username)))
        rows = await session.execute(
            select(SupervisorQueue.user_id, Queue.name)
            .join(Queue, Queue.id == SupervisorQueue.queue_id)
            .order_by(Queue.name)
        )
        queues: dict[int, list[str]] = {}
        for user_id, name in rows:
            queues.setdefault(user_id, []).append(name)
        return [_user_record(user, queues.get(user.id, [])) for user in users]


async def get_user(sessions: Sessions, user_id: int) -> UserRecord:
    async with sessions() as session:
        user = await session.get(User, user_id)
        if user is None:
            raise NotFound(f"user {user_id}")
        return _user_record(user, await _queue_names(session, user_id))


async def supervised_queues(sessions: Sessions, user_id: int) -> frozenset[str]:
    """The names of the queues ``user_id`` supervises (empty: none assigned,
    which the web layer reads as every queue)."""
    async with sessions() as session:
        return frozenset(await _queue_names(session, user_id))


async def _username_free(session: AsyncSession, username: str) -> None:
    if await session.scalar(select(User.id).where(User.username == username)) is not None:
        raise Conflict("username", "already taken")


async def _agent_linkable(session: AsyncSession, agent_id: int | None, user_id: int | None) -> None:
    if agent_id is None:
        return
    if await session.scalar(select(Agent.id).where(Agent.id == agent_id)) is None:
        raise Conflict("agent_id", "no such agent")
    holder = await session.scalar(
        select(User.username).where(User.agent_id == agent_id, User.id != (user_id or 0))
    )
    if holder is not None:
        raise Conflict("agent_id", f"already linked to user {holder!r}")


async def _queue_ids(session: AsyncSession, queues: Sequence[str]) -> dict[str, int]:
    wanted = sorted(set(queues))
    if not wanted:
        return {}
    rows = await session.execute(select(Queue.name, Queue.id).where(Queue.name.in_(wanted)))
    ids = {name: queue_id for name, queue_id in rows}
    for name in wanted:
        if name not in ids:
            raise Conflict(f"queues.{name}", "no such queue")
    return ids


async def _set_queues(session: AsyncSession, user_id: int, queues: Sequence[str]) -> None:
    ids = await _queue_ids(session, queues)
    await session.execute(delete(SupervisorQueue).where(SupervisorQueue.user_id == user_id))
    session.add_all(SupervisorQueue(user_id=user_id, queue_id=ids[name]) for name in sorted(ids))


def _roles_text(roles: Sequence[str]) -> str:
    known = []
    for role in roles:
        try:
            known.append(Role(role))
        except ValueError:
            raise Conflict("roles", f"no such role {role!r}") from None
    return ",".join(sorted({role.value for role in known}))


# Two admins demoting (or deleting) each other at once must not both succeed.
# On PostgreSQL every user row is locked, in id order (no deadlock), before the
# roles are read, so the second edit reads the first one's result. SQLite reads
# outside any lock and has one writer at a time: there the admins are counted
# again after the write, the write lock held, and the write undone if none is left.


async def _roles_locked(session: AsyncSession) -> dict[int, frozenset[Role]]:
    """Every user's roles, their rows locked on PostgreSQL (see above)."""
    rows = await session.execute(select(User.id, User.roles).order_by(User.id).with_for_update())
    return {user_id: parse_roles(roles) for user_id, roles in rows}


def _other_admins(roles: Mapping[int, frozenset[Role]], user_id: int) -> int:
    return sum(1 for other, granted in roles.items() if other != user_id and Role.ADMIN in granted)


async def _an_admin_is_left(session: AsyncSession) -> bool:
    """After this transaction's own write: is anyone still an admin?"""
    await session.flush()
    return any(
        Role.ADMIN in parse_roles(roles) for roles in await session.scalars(select(User.roles))
    )


async def create_user(
    sessions: Sessions,
    username: str,
    password: str,
    roles: Sequence[str],
    agent_id: int | None = None,
    queues: Sequence[str] = (),
) -> UserRecord:
    roles_text = _roles_text(roles)
    password_hash = await asyncio.to_thread(hash_password, password)
    created: list[int] = []

    async def checks(session: AsyncSession) -> None:
        await _username_free(session, username)
        await _agent_linkable(session, agent_id, None)
        await _queue_ids(session, queues)

    async def work(session: AsyncSession) -> None:
        await checks(session)
        user = User(
            username=username, password_hash=password_hash, roles=roles_text, agent_id=agent_id
        )
        session.add(user)
        await session.flush()
        await _set_queues(session, user.id, queues)
        await session.flush()
        created.append(user.id)

    await _write(sessions, work, checks, Conflict("username", "already taken"))
    return await get_user(sessions, created[0])


async def update_user(
    sessions: Sessions,
    user_id: int,
    *,
    roles: Sequence[str] | None = None,
    agent_id: int | _Unchanged | None = UNCHANGED,
    queues: Sequence[str] | None = None,
    password: str | None = None,
) -> UserRecord:
    """Change what is given: ``roles``, ``queues`` (replaced; empty: every
    queue) and ``password`` when not None, ``agent_id`` when given at all (None
    unlinks). The last admin keeps the admin role."""
    roles_text = None if roles is None else _roles_text(roles)
    password_hash = None if password is None else await asyncio.to_thread(hash_password, password)

    async def checks(session: AsyncSession) -> None:
        if not isinstance(agent_id, _Unchanged):
            await _agent_linkable(session, agent_id, user_id)
        if queues is not None:
            await _queue_ids(session, queues)

    async def work(session: AsyncSession) -> None:
        user = await session.get(User, user_id)
        if user is None:
            raise NotFound(f"user {user_id}")
        if roles_text is not None:
            current = await _roles_locked(session)
            demoted = Role.ADMIN in current.get(user_id, frozenset()) and (
                Role.ADMIN not in parse_roles(roles_text)
            )
            last = Conflict("roles", "the last admin cannot lose the admin role")
            if demoted and not _other_admins(current, user_id):
                raise last
            user.roles = roles_text
            if demoted and not await _an_admin_is_left(session):
                raise last
        if not isinstance(agent_id, _Unchanged):
            await _agent_linkable(session, agent_id, user_id)
            user.agent_id = agent_id
        if queues is not None:
            await _set_queues(session, user_id, queues)
        if password_hash is not None:
            user.password_hash = password_hash
        await session.flush()

    await _write(sessions, work, checks, Conflict("agent_id", "changed meanwhile: try again"))
    return await get_user(sessions, user_id)


async def delete_user(sessions: Sessions, user_id: int) -> None:
    """The user can no longer log in; the audit trails keep their name. The
    last admin cannot be deleted."""
    async with sessions.begin() as session:
        if await session.get(User, user_id) is None:
            raise NotFound(f"user {user_id}")
        current = await _roles_locked(session)
        admin = Role.ADMIN in current.get(user_id, frozenset())
        last = Conflict("user", "the last admin cannot be deleted")
        if admin and not _other_admins(current, user_id):
            raise last
        await session.execute(delete(SupervisorQueue).where(SupervisorQueue.user_id == user_id))
        await session.execute(delete(User).where(User.id == user_id))
        if admin and not await _an_admin_is_left(session):
            raise last
