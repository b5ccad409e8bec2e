"""The router: which Ready agent takes which waiting call, and when.

For the walking skeleton: callers are served by priority, then first come first
served; each goes to the longest-idle Ready agent who has the queue's skill at
the queue's minimum proficiency. Ties are broken by agent id, then call id, so
decisions never depend on dict order or timing.

The router is single-writer state fed by the orchestrator: a call is either
waiting (in ``_waiting``) or being offered (``_offered``); an agent is either
available or not known to the router at all.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

from routing.model import AvailableAgent, Decision, Offer, QueueRule, WaitingCall


class UnknownQueue(KeyError):
    """A call arrived for a queue that has no rule."""


class Router:
    def __init__(self, queues: Iterable[QueueRule]) -> None:
        self._queues: dict[str, QueueRule] = {q.name: q for q in queues}
        self._waiting: dict[str, WaitingCall] = {}
        self._offered: dict[str, tuple[WaitingCall, int]] = {}
        self._available: dict[int, AvailableAgent] = {}

    # -- inputs -----------------------------------------------------------

    def call_arrived(self, call: WaitingCall, now: float) -> list[Decision]:
        if call.queue not in self._queues:
            raise UnknownQueue(call.queue)
        if call.call_id in self._waiting or call.call_id in self._offered:
            return []
        self._waiting[call.call_id] = call
        return self._match(now)

    def call_left(self, call_id: str, now: float) -> list[Decision]:
        """The call no longer needs an agent (answered, abandoned or ended)."""
        self._waiting.pop(call_id, None)
        self._offered.pop(call_id, None)
        return self._match(now)

    def offer_failed(self, call_id: str, now: float) -> list[Decision]:
        """The offered agent did not take the call: it waits again, same place."""
        entry = self._offered.pop(call_id, None)
        if entry is not None:
            self._waiting[call_id] = entry[0]
        return self._match(now)

    def agent_available(self, agent: AvailableAgent, now: float) -> list[Decision]:
        self._available[agent.agent_id] = agent
        return self._match(now)

    def agent_unavailable(self, agent_id: int) -> None:
        self._available.pop(agent_id, None)

    # -- views ------------------------------------------------------------

    @property
    def waiting(self) -> Mapping[str, WaitingCall]:
        return self._waiting

    def is_available(self, agent_id: int) -> bool:
        return agent_id in self._available

    # -- matching ---------------------------------------------------------

    def _match(self, now: float) -> list[Decision]:
        del now  # aging and bullseye steps will use it
        decisions: list[Decision] = []
        if not self._waiting or not self._available:
            return decisions
        for call in sorted(self._waiting.values(), key=_call_order):
            agent = self._best_agent_for(call)
            if agent is None:
                continue
            del self._waiting[call.call_id]
            del self._available[agent.agent_id]
            self._offered[call.call_id] = (call, agent.agent_id)
            decisions.append(Offer(call.call_id, agent.agent_id))
            if not self._available:
                break
        return decisions

    def _best_agent_for(self, call: WaitingCall) -> AvailableAgent | None:
        rule = self._queues[call.queue]
        eligible = [
            agent
            for agent in self._available.values()
            if agent.skills.get(rule.required_skill, 0) >= rule.min_proficiency
        ]
        if not eligible:
            return None
        return min(eligible, key=lambda a: (a.idle_since, a.agent_id))


def _call_order(call: WaitingCall) -> tuple[int, float, str]:
    return (-call.priority, call.enqueued_at, call.call_id)
