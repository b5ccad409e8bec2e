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

from agents import AgentProfile, AgentState, InvalidTransition, transition
from callcenter.ports import (
    AgentInUse,
    AgentView,
    CallControlError,
    Principal,
    QueueStatsView,
    SupervisionEvent,
    SupervisionMode,
    SupervisionRefused,
    SupervisionStarted,
    TransferTarget,
    WaitingCallView,
    Wallboard,
    may_supervise,
)
from routing import QueueRule, RoutingRules, RulesRefused


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
        #: the queues' wallboard figures (thresholds and targets the reports use)
        self.queues: list[QueueStatsView] = []
        self.pops: dict[int, dict[str, Any]] = {}
        self.routings: dict[str, dict[str, Any]] = {}
        self.requests: list[tuple[int, AgentState, str | None]] = []
        self.refused: set[tuple[AgentState, AgentState]] = set()
        #: talking calls a supervisor may listen in on: call id -> agent id
        self.talking: dict[str, int] = {}
        #: supervisions started: (call id, username, mode)
        self.supervisions: list[tuple[str, str, SupervisionMode]] = []
        #: call-control requests carried out: (action, call id, agent id, details)
        self.controls: list[tuple[str, str, int, dict[str, Any]]] = []
        #: a reason to refuse the next call-control request with, as the PBX might
        self.control_refusal: str | None = None
        #: the rules "live" and their version, as the admin API published them
        self.rules = RoutingRules(queues=[QueueRule(name="support", skills={"support": 1})])
        self.rules_version: int | None = None
        #: agent profiles the admin API added or edited
        self.profiles: dict[int, AgentProfile] = {}
        #: callers named by agents: (agent id, call id, the new pop)
        self.identified: list[tuple[int, str, dict[str, Any]]] = []

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
        return Wallboard(
            list(self.waiting), list(self.agents.values()), list(self.queues), at=self.now
        )

    def current_pop(self, agent_id: int) -> dict[str, Any] | None:
        return self.pops.get(agent_id)

    def caller_on_screen(self, agent_id: int, call_id: str) -> dict[str, Any]:
        pop = self.pops.get(agent_id)
        if pop is None or pop.get("call_id") != call_id:
            raise CallControlError("not_your_call", "not your call")
        return dict(pop)

    def show_identified_caller(
        self, agent_id: int, call_id: str, pop: dict[str, Any]
    ) -> dict[str, Any]:
        self.caller_on_screen(agent_id, call_id)
        self.pops[agent_id] = pop
        self.identified.append((agent_id, call_id, pop))
        return pop

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

    # -- call control: only the agent talking on the call, as the real desk --

    def _control(self, action: str, call_id: str, agent_id: int, **details: Any) -> dict[str, Any]:
        if call_id not in self.talking:
            raise CallControlError("no_such_call", "no live call with this id")
        if self.talking[call_id] != agent_id:
            raise CallControlError("not_your_call", "you are not the agent on this call")
        if self.control_refusal is not None:
            raise CallControlError(self.control_refusal, "refused by the fake desk")
        self.controls.append((action, call_id, agent_id, details))
        return {"call_id": call_id, "phase": "talking", "agent_id": agent_id, "action": action}

    async def hold(self, call_id: str, agent_id: int) -> dict[str, Any]:
        return self._control("hold", call_id, agent_id)

    async def pause_recording(self, call_id: str, agent_id: int, by: str) -> dict[str, Any]:
        return self._control("pause_recording", call_id, agent_id)

    async def resume_recording(self, call_id: str, agent_id: int) -> dict[str, Any]:
        return self._control("resume_recording", call_id, agent_id)

    async def resume(self, call_id: str, agent_id: int) -> dict[str, Any]:
        return self._control("resume", call_id, agent_id)

    async def hang_up(self, call_id: str, agent_id: int) -> dict[str, Any]:
        return self._control("hangup", call_id, agent_id)

    async def transfer(
        self,
        call_id: str,
        agent_id: int,
        target: TransferTarget,
        *,
        attended: bool,
        note: str | None = None,
    ) -> dict[str, Any]:
        return self._control(
            "transfer", call_id, agent_id, target=target, attended=attended, note=note
        )

    async def conference(
        self, call_id: str, agent_id: int, target: TransferTarget
    ) -> dict[str, Any]:
        return self._control("conference", call_id, agent_id, target=target)

    async def complete_transfer(self, call_id: str, agent_id: int) -> dict[str, Any]:
        return self._control("complete", call_id, agent_id)

    async def join_parties(self, call_id: str, agent_id: int) -> dict[str, Any]:
        return self._control("join", call_id, agent_id)

    async def cancel_party(self, call_id: str, agent_id: int) -> dict[str, Any]:
        return self._control("cancel", call_id, agent_id)

    async def wrap_up_done(self, agent_id: int, disposition: str, notes: str) -> AgentView:
        view = self.agents[agent_id]
        if view.state is not AgentState.WRAP_UP:
            raise CallControlError("wrong_phase", "no call to wrap up")
        self.controls.append(
            ("wrap_up", "", agent_id, {"disposition": disposition, "notes": notes})
        )
        self.agents[agent_id] = dataclasses.replace(view, state=AgentState.READY, since=self.now)
        return self.agents[agent_id]

    def current_rules(self) -> tuple[RoutingRules, int | None]:
        return self.rules, self.rules_version

    def rules_refusal(self, rules: RoutingRules) -> str | None:
        waiting_in = {call.queue for call in self.waiting}
        gone = sorted(waiting_in - {queue.name for queue in rules.queues})
        return f"queues with callers in them cannot be removed: {', '.join(gone)}" if gone else None

    def apply_rules(self, rules: RoutingRules, version: int | None) -> None:
        refusal = self.rules_refusal(rules)
        if refusal is not None:
            raise RulesRefused(refusal)
        self.rules, self.rules_version = rules, version

    def put_agent(self, profile: AgentProfile) -> None:
        self.profiles[profile.agent_id] = profile
        view = self.agents.get(profile.agent_id)
        if view is None:
            self.agents[profile.agent_id] = AgentView(
                agent_id=profile.agent_id,
                login=profile.login,
                name=profile.name,
                state=AgentState.LOGGED_OUT,
                since=self.now,
            )
        else:
            self.agents[profile.agent_id] = dataclasses.replace(
                view, login=profile.login, name=profile.name
            )

    def remove_agent(self, agent_id: int) -> None:
        view = self.agents.get(agent_id)
        if view is not None and view.state is not AgentState.LOGGED_OUT:
            raise AgentInUse(f"agent {agent_id} is {view.state.value}")
        self.agents.pop(agent_id, None)
        self.profiles.pop(agent_id, None)


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
