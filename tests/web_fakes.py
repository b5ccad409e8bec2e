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
from callcenter.ports import AgentView, Principal, WaitingCallView, Wallboard


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
