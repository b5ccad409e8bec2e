"""In-memory stand-ins for the call center behind the web layer.

Why they live in the package and not only in tests: they let the pages be run and
worked on without a PBX or a database (serve ``create_web_app`` with them), and
the API tests and the browser tests share one behaviour instead of two copies.
They enforce the same agent-state rules as the real desk (``agents.transition``).
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Iterable
from typing import Any

from agents import AgentState, InvalidTransition, transition
from callcenter.ports import (
    AgentView,
    Principal,
    SupervisionEvent,
    SupervisionMode,
    SupervisionRefused,
    SupervisionStarted,
    WaitingCallView,
    Wallboard,
    may_supervise,
)


class FakeDesk:
    """A ``CallCenterDesk`` over plain attributes a test may change at any time.

    ``refused`` holds (from, to) moves to refuse with ``InvalidTransition`` besides
    what ``agents.transition`` refuses, so a test can model a desk policy (e.g. no
    logging out mid-call). ``requests`` records every accepted state request.
    """

    def __init__(
        self,
        agents: Iterable[AgentView] = (),
        waiting: Iterable[WaitingCallView] = (),
        *,
        now: float | None = None,
    ) -> None:
        self.now = time.time() if now is None else now
        self.agents = {agent.agent_id: agent for agent in agents}
        self.waiting = list(waiting)
        self.pops: dict[int, dict[str, Any]] = {}
        self.routings: dict[str, dict[str, Any]] = {}
        self.requests: list[tuple[int, AgentState, str | None]] = []
        self.refused: set[tuple[AgentState, AgentState]] = set()
        #: talking calls a supervisor may listen in on: call id -> agent id
        self.talking: dict[str, int] = {}
        #: supervisions started: (call id, username, mode)
        self.supervisions: list[tuple[str, str, SupervisionMode]] = []

    def agent_view(self, agent_id: int) -> AgentView:
        return self.agents[agent_id]

    async def set_agent_state(
        self, agent_id: int, state: AgentState, reason: str | None = None
    ) -> AgentView:
        view = self.agents[agent_id]
        if (view.state, state) in self.refused:
            raise InvalidTransition(view.state, state)
        new_state = transition(view.state, state)
        self.requests.append((agent_id, state, reason))
        self.agents[agent_id] = dataclasses.replace(
            view,
            state=new_state,
            since=self.now if new_state != view.state else view.since,
            reason=reason if new_state is AgentState.NOT_READY else None,
        )
        return self.agents[agent_id]

    def wallboard(self) -> Wallboard:
        return Wallboard(list(self.waiting), list(self.agents.values()), at=self.now)

    def current_pop(self, agent_id: int) -> dict[str, Any] | None:
        return self.pops.get(agent_id)

    def routing_of(self, call_id: str) -> dict[str, Any] | None:
        return self.routings.get(call_id)

    async def supervise(
        self, call_id: str, supervisor: Principal, mode: SupervisionMode
    ) -> SupervisionStarted:
        """The real desk's refusals, in its order (see orchestration/supervision.py)."""
        if not may_supervise(supervisor):
            raise SupervisionRefused("forbidden", "needs the role supervisor or admin")
        agent_id = self.talking.get(call_id)
        if agent_id is None and any(c.call_id == call_id for c in self.waiting):
            raise SupervisionRefused("not_talking", "the call is waiting, not talking")
        if agent_id is None:
            raise SupervisionRefused("no_such_call", "no live call with this id")
        if supervisor.agent_id is None:
            raise SupervisionRefused("no_phone", "no phone on file for this user")
        self.supervisions.append((call_id, supervisor.username, mode))
        return SupervisionStarted(
            call_id, agent_id, mode, f"spy-{call_id}-{len(self.supervisions)}"
        )


class FakeSupervisionLog:
    """A ``SupervisionLog`` in a list (oldest first), numbering rows like the table."""

    def __init__(self, events: Iterable[SupervisionEvent] = ()) -> None:
        self.events: list[SupervisionEvent] = []
        for event in events:
            self.events.append(dataclasses.replace(event, id=len(self.events) + 1))

    async def record(self, event: SupervisionEvent) -> None:
        self.events.append(dataclasses.replace(event, id=len(self.events) + 1))

    async def recent(self, limit: int) -> list[SupervisionEvent]:
        return sorted(self.events, key=lambda e: (e.at, e.id or 0), reverse=True)[:limit]


class FakeDirectory:
    """An ``Authenticator`` over a fixed table of users (plain-text passwords: for
    tests and page development only)."""

    def __init__(self, users: Iterable[tuple[Principal, str]]) -> None:
        self._users = {principal.username: (principal, password) for principal, password in users}

    async def __call__(self, username: str, password: str) -> Principal | None:
        entry = self._users.get(username)
        if entry is None or entry[1] != password:
            return None
        return entry[0]
