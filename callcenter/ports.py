"""The seams between the web layer and the running call center.

The web layer (``callcenter/web/``) depends only on these shapes, so its tests
drive it with small fakes and the orchestrator can change behind it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Protocol

from agents.state import AgentState


class Role(StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is making a request: a user, their roles, and the agent they are (if any)."""

    user_id: int
    username: str
    roles: frozenset[Role]
    agent_id: int | None = None

    def has(self, role: Role) -> bool:
        return role in self.roles


#: Checks a username and password; None when they do not match.
Authenticator = Callable[[str, str], Awaitable[Principal | None]]


@dataclass(frozen=True, slots=True)
class AgentView:
    agent_id: int
    login: str
    name: str
    state: AgentState
    #: epoch seconds when the agent entered ``state``
    since: float
    reason: str | None = None
    #: the call the agent is ringing for or talking on
    call_id: str | None = None
    queue: str | None = None
    #: a state the agent asked for during a call, applied when it ends
    pending: AgentState | None = None

    def as_json(self) -> dict[str, Any]:
        """The shape the pages read (``state`` messages, the wallboard, the API)."""
        return {
            "agent_id": self.agent_id,
            "login": self.login,
            "name": self.name,
            "state": self.state.value,
            "since": self.since,
            "reason": self.reason,
            "call_id": self.call_id,
            "queue": self.queue,
            "pending": self.pending.value if self.pending else None,
        }


@dataclass(frozen=True, slots=True)
class WaitingCallView:
    call_id: str
    queue: str
    caller_number: str
    #: epoch seconds when the caller joined the queue
    enqueued_at: float
    #: the router's latest word on it (step in force, priority, why)
    routing: str | None = None


@dataclass(frozen=True, slots=True)
class Wallboard:
    waiting: list[WaitingCallView] = field(default_factory=list)
    agents: list[AgentView] = field(default_factory=list)
    #: epoch seconds the snapshot was taken
    at: float = 0.0


class CallCenterDesk(Protocol):
    """What agents' and supervisors' pages may ask of the running call center."""

    def agent_view(self, agent_id: int) -> AgentView:
        """Raises KeyError for an unknown agent."""
        ...

    async def set_agent_state(
        self, agent_id: int, state: AgentState, reason: str | None = None
    ) -> AgentView:
        """Only READY, NOT_READY and LOGGED_OUT may be asked for; raises
        ``agents.InvalidTransition`` when the move is not allowed now."""
        ...

    def wallboard(self) -> Wallboard: ...

    def routing_of(self, call_id: str) -> dict[str, Any] | None:
        """The router's latest explanation for a live call; None if not live."""
        ...

    def current_pop(self, agent_id: int) -> dict[str, Any] | None:
        """The pop of the call now offered to / talking with the agent, if any,
        so a page opened mid-call still shows the customer."""
        ...


class Notifier(Protocol):
    """Pushes messages to browsers without ever blocking the caller."""

    def to_agent(self, agent_id: int, message: dict[str, Any]) -> None: ...

    def to_wallboards(self, message: dict[str, Any]) -> None: ...
