"""What the router reasons about: waiting calls, available agents, decisions.

Plain frozen values: the router never sees a socket, a session or a clock, so the
same inputs always give the same decisions (and a replay reproduces a day).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class QueueRule:
    """How one queue is served. Later issues add strategies, bullseye steps, hours."""

    name: str
    required_skill: str
    min_proficiency: int = 1


@dataclass(frozen=True, slots=True)
class WaitingCall:
    """A caller in a queue. ``enqueued_at`` is kept across failed offers so a
    caller whose offer failed goes back to its original place."""

    call_id: str
    queue: str
    enqueued_at: float
    priority: int = 0


@dataclass(frozen=True, slots=True)
class AvailableAgent:
    """An agent who is Ready. ``idle_since`` orders agents for longest-idle."""

    agent_id: int
    skills: Mapping[str, int] = field(default_factory=dict)
    idle_since: float = 0.0


@dataclass(frozen=True, slots=True)
class Offer:
    """Ring ``agent_id`` for ``call_id``; the agent is reserved until the outcome."""

    call_id: str
    agent_id: int


Decision = Offer
