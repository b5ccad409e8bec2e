"""Who works here and which queues exist, as the domain packages want them."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select

from agents import AgentProfile, Location
from agents.dial_strings import check_dial_string
from callcenter.db.models import Agent, Queue
from callcenter.db.session import Sessions


@dataclass(frozen=True, slots=True)
class QueueInfo:
    name: str
    skill: str
    ring_timeout_s: int
    did: str | None


def _profile(agent: Agent) -> AgentProfile:
    """The agent as the router and the dialer see it. A dial string no offer
    could ring (a home agent's number not in E.164, say) stops the load with
    ``InvalidDialString`` naming the agent: better at start-up than as a
    stream of failed offers."""
    profile = AgentProfile(
        agent_id=agent.id,
        login=agent.login,
        name=agent.name,
        dial_string=agent.dial_string,
        location=Location(agent.location),
        skills={s.skill.name: s.proficiency for s in agent.skills},
        pbx=agent.pbx,
    )
    check_dial_string(profile)
    return profile


async def load_agents(sessions: Sessions) -> list[AgentProfile]:
    async with sessions() as session:
        agents = (await session.execute(select(Agent).order_by(Agent.id))).scalars().all()
        return [_profile(a) for a in agents]


async def simulated_agents(sessions: Sessions) -> list[AgentProfile]:
    async with sessions() as session:
        agents = (
            (await session.execute(select(Agent).where(Agent.simulated).order_by(Agent.id)))
            .scalars()
            .all()
        )
        return [_profile(a) for a in agents]


async def load_queues(sessions: Sessions) -> list[QueueInfo]:
    async with sessions() as session:
        queues = (await session.execute(select(Queue).order_by(Queue.id))).scalars().all()
        return [QueueInfo(q.name, q.skill.name, q.ring_timeout_s, q.did) for q in queues]
