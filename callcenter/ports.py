"""The seams between the web layer and the running call center.

The web layer (``callcenter/web/``) depends only on these shapes, so its tests
drive it with small fakes and the orchestrator can change behind it.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal, Protocol

from agents.profile import AgentProfile
from agents.state import AgentState
from routing import RoutingRules


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
    #: the queues a supervisor watches; None: every queue (admins, and
    #: supervisors no queue was assigned to)
    queues: frozenset[str] | None = None

    def has(self, role: Role) -> bool:
        return role in self.roles

    def sees_queue(self, queue: str | None) -> bool:
        """Whether this user may watch (and listen in on) calls of ``queue``.

        Admins see every queue whatever is assigned; a call not in a queue yet
        (``None``) is seen only by those who see every queue."""
        if self.has(Role.ADMIN) or self.queues is None:
            return True
        return queue is not None and queue in self.queues


#: Checks a username and password; None when they do not match.
Authenticator = Callable[[str, str], Awaitable[Principal | None]]

#: Who may listen in on calls (a supervisor only on their queues' calls, see
#: ``Principal.sees_queue``).
SUPERVISING_ROLES = frozenset({Role.SUPERVISOR, Role.ADMIN})


def may_supervise(principal: Principal) -> bool:
    return any(principal.has(role) for role in SUPERVISING_ROLES)


class SupervisionMode(StrEnum):
    """How a supervisor joins a call: ``monitor`` listens; ``whisper`` also talks
    to the agent, whom the caller does not hear; ``barge`` talks to both."""

    MONITOR = "monitor"
    WHISPER = "whisper"
    BARGE = "barge"


@dataclass(frozen=True, slots=True)
class SupervisionStarted:
    """A supervision the PBX took: the supervisor's phone rings, and once answered
    it listens to the agent (ChanSpy). ``confirmed`` is False when the PBX's answer
    to the Originate was lost with the link (it may still ring)."""

    call_id: str
    agent_id: int
    mode: SupervisionMode
    spy_leg_id: str
    confirmed: bool = True


class SupervisionError(Exception):
    """Why a supervision did not start. ``reason`` is a stable name (it goes into
    the audit trail as ``refused:<reason>`` or ``failed:<reason>``).

    - ``SupervisionRefused``: the request is not allowed now: ``forbidden`` (not a
      supervisor or admin), ``no_such_call`` (not a live call), ``not_talking``
      (no agent is talking on it), ``no_phone`` (the supervisor's user has no
      agent profile with a dial string), ``phone_busy`` (the supervisor's own
      phone is on a call).
    - ``SupervisionFailed``: allowed, but the PBX did not take it: ``link_down``,
      ``pbx_refused``, ``error`` (something unexpected went wrong).
    - ``SupervisionNotAudited`` (``not_audited``): the audit trail could not be
      written; nothing is left running (a leg already originated is hung up).
    """

    def __init__(self, reason: str, message: str, *, agent_id: int | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        #: the agent on the call, when it got that far (for the audit trail)
        self.agent_id = agent_id


class SupervisionRefused(SupervisionError):
    pass


class SupervisionFailed(SupervisionError):
    pass


class SupervisionNotAudited(SupervisionError):
    pass


@dataclass(frozen=True, slots=True)
class SupervisionEvent:
    """One row of the supervision audit trail: who tried to supervise which call,
    how, and what came of it (``started``, ``refused:<reason>``,
    ``failed:<reason>``). ``agent_id`` and ``spy_leg_id`` are None when the
    attempt never got that far."""

    at: datetime
    user_id: int
    username: str
    call_id: str
    mode: SupervisionMode
    outcome: str
    agent_id: int | None = None
    spy_leg_id: str | None = None
    #: the row's id once stored
    id: int | None = None


class SupervisionLog(Protocol):
    """The append-only audit trail of supervision (database table
    ``supervision_events``)."""

    async def record(self, event: SupervisionEvent) -> None:
        """Append one event; raises when it could not be stored."""
        ...

    async def recent(self, limit: int) -> list[SupervisionEvent]:
        """The newest ``limit`` events, newest first."""
        ...


TargetKind = Literal["agent", "queue", "number"]
#: an outside number: E.164-like, as the dialplan's ``callcenter-outbound`` takes it
_NUMBER = re.compile(r"\+?[0-9]{3,20}\Z")


class DeskUnavailable(RuntimeError):
    """This node has no router to answer with: it is still starting, or it is a
    hot standby (another node leads). Answered 503 (a websocket: closed 1013,
    try again later), so a client goes back through the load balancer, which
    sends it to the node whose /readyz says it leads."""


class AgentInUse(Exception):
    """An agent cannot be removed while logged in (a call would lose its agent)."""


class CallControlError(Exception):
    """Why a call-control request was not carried out. ``reason`` is a stable name:

    - ``no_such_call``: not a live call;
    - ``not_your_call``: the asking agent is not the one talking on it;
    - ``wrong_phase``: not possible now (not talking, already on hold, no
      consultation to complete, another action under way...);
    - ``bad_target``: no such queue or agent, a number that is not one, the
      agent themselves;
    - ``target_busy``: the agent asked for is not Ready;
    - ``not_recorded``: a recording pause or resume on a call not recorded;
    - ``link_down`` / ``pbx_refused``: allowed, but the PBX did not take it.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class TransferTarget:
    """Whom a call goes to: an agent (by id), a queue (by name) or an outside
    number (digits with an optional leading ``+``)."""

    kind: TargetKind
    agent_id: int | None = None
    queue: str | None = None
    number: str | None = None

    def __post_init__(self) -> None:
        given = {"agent": self.agent_id, "queue": self.queue, "number": self.number}
        if given[self.kind] is None:
            raise CallControlError("bad_target", f"a {self.kind} target needs its {self.kind}")
        if self.kind == "number" and not _NUMBER.match(self.number or ""):
            raise CallControlError(
                "bad_target", "a number is 3 to 20 digits, with an optional leading +"
            )

    def describe(self) -> str:
        if self.kind == "agent":
            return f"agent {self.agent_id}"
        if self.kind == "queue":
            return f"queue {self.queue}"
        return f"number {self.number}"


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
class QueueStatsView:
    """One queue on the wallboard: who waits now, and how the last half hour
    went (definitions in ``callcenter.orchestration.queue_stats``)."""

    name: str
    waiting: int = 0
    #: epoch seconds the longest-waiting caller joined (None: nobody waits)
    oldest_enqueued_at: float | None = None
    #: the queue's service-level threshold, seconds
    service_level_s: float = 20.0
    #: the share to answer within ``service_level_s`` (the queue's target)
    service_level_target: float = 0.8
    service_level: float | None = None
    asa_s: float | None = None
    abandon_rate: float | None = None
    answered: int = 0
    abandoned: int = 0


@dataclass(frozen=True, slots=True)
class Wallboard:
    waiting: list[WaitingCallView] = field(default_factory=list)
    agents: list[AgentView] = field(default_factory=list)
    queues: list[QueueStatsView] = field(default_factory=list)
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

    async def supervise(
        self, call_id: str, supervisor: Principal, mode: SupervisionMode
    ) -> SupervisionStarted:
        """Ring the supervisor's own phone into a live call's agent channel.
        Every attempt is audited; raises a ``SupervisionError`` (see there)."""
        ...

    # Call control by the agent talking on the call. Each returns the call's
    # control state (``call_id``, ``phase``, ``on_hold``, ``in_conference``,
    # ``party``) and raises ``CallControlError`` (see there).

    async def hold(self, call_id: str, agent_id: int) -> dict[str, Any]: ...

    async def pause_recording(self, call_id: str, agent_id: int, by: str) -> dict[str, Any]:
        """Pause the call's recording (its paused part is silence); ``by`` who,
        kept in the recording's metadata. ``not_recorded`` when it is not."""
        ...

    async def resume_recording(self, call_id: str, agent_id: int) -> dict[str, Any]: ...

    async def resume(self, call_id: str, agent_id: int) -> dict[str, Any]: ...

    async def hang_up(self, call_id: str, agent_id: int) -> dict[str, Any]: ...

    async def transfer(
        self,
        call_id: str,
        agent_id: int,
        target: TransferTarget,
        *,
        attended: bool,
        note: str | None = None,
    ) -> dict[str, Any]:
        """Blind: the caller goes to the target at once and the agent's part ends.
        Attended: the caller is held while the target is rung into the call;
        ``complete_transfer`` then hands the call over."""
        ...

    async def conference(
        self, call_id: str, agent_id: int, target: TransferTarget
    ) -> dict[str, Any]:
        """Ring a third party into the call; the caller stays on the line."""
        ...

    async def complete_transfer(self, call_id: str, agent_id: int) -> dict[str, Any]:
        """The consulted party takes the call; the agent leaves it."""
        ...

    async def join_parties(self, call_id: str, agent_id: int) -> dict[str, Any]:
        """Bring the held caller into the consultation: a three-way call."""
        ...

    async def cancel_party(self, call_id: str, agent_id: int) -> dict[str, Any]:
        """Hang up the consulted or added party; a held caller comes back."""
        ...

    async def wrap_up_done(self, agent_id: int, disposition: str, notes: str) -> AgentView:
        """Save the disposition and notes of the agent's last call and end their
        wrap-up (Ready, or the state they asked for)."""
        ...

    def caller_on_screen(self, agent_id: int, call_id: str) -> dict[str, Any]:
        """The pop the agent sees for their ringing, talking or wrapping-up call
        ``call_id``; raises ``CallControlError`` (``not_your_call``, ``wrong_phase``)."""
        ...

    def show_identified_caller(
        self, agent_id: int, call_id: str, pop: dict[str, Any]
    ) -> dict[str, Any]:
        """``pop`` (naming the caller the agent picked or created) replaces the
        call's pop and is pushed to the agent; the record names the customer."""
        ...

    def current_rules(self) -> tuple[RoutingRules, int | None]:
        """The rules the router works by now, and their version (None: built
        from the queues table, nothing published)."""
        ...

    def rules_refusal(self, rules: RoutingRules) -> str | None:
        """Why ``rules`` could not go live now (they would strand waiting
        callers), or None."""
        ...

    def apply_rules(self, rules: RoutingRules, version: int | None) -> None:
        """Route by ``rules`` from now on; callers already waiting are weighed
        again at once. Raises ``routing.RulesRefused`` like ``rules_refusal``."""
        ...

    def put_agent(self, profile: AgentProfile) -> None:
        """An agent an admin added or edited, live."""
        ...

    def remove_agent(self, agent_id: int) -> None:
        """An agent an admin deleted; raises ``AgentInUse`` unless logged out."""
        ...


class Notifier(Protocol):
    """Pushes messages to browsers without ever blocking the caller."""

    def to_agent(self, agent_id: int, message: dict[str, Any]) -> None: ...

    def to_wallboards(self, message: dict[str, Any]) -> None: ...
