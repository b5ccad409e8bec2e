"""The reference router: the router's semantics as a plain scan, kept as the
yardstick.

After every input it looks at every waiting call against every Ready agent,
best caller first, until no pair is left. That is obviously right and slow
(calls x agents per decision); ``routing.Router`` gets the same decisions from
sorted pools. Property tests feed both the same random events and require the
same decisions, and ``callcenter bench route`` times both.
"""

from __future__ import annotations

import itertools

from routing.compiled import CompiledRules, compile_rules
from routing.eligibility import (
    Waiting,
    admits,
    gate_open,
    known_agent_for,
    known_skilled,
    next_change,
    overflow_due,
)
from routing.explain import Explanation
from routing.model import AgentFacts, Decision, Offer, Round, WaitingCall
from routing.priority import call_key
from routing.redirects import overflow_decision, serving_queue, stranded_queues
from routing.router import RulesRefused, UnknownQueue
from routing.rules import RoutingRules
from routing.strategies import AgentKey, agent_key


class ReferenceRouter:
    """Same inputs and outputs as ``routing.Router`` (explanations aside)."""

    def __init__(self, rules: RoutingRules) -> None:
        self._rules: CompiledRules = compile_rules(rules)
        self._waiting: dict[str, Waiting] = {}
        self._offered: dict[str, Waiting] = {}
        self._due: dict[str, float | None] = {}
        self._ready: dict[int, AgentFacts] = {}
        self._on_shift: dict[int, AgentFacts] = {}
        self._turns: dict[tuple[str, int], int] = {}
        self._turn_counter = itertools.count(1)

    # -- inputs -----------------------------------------------------------

    def call_arrived(self, call: WaitingCall, now: float) -> Round:
        if call.queue not in self._rules.queues:
            raise UnknownQueue(call.queue)
        out = self._advance(now)
        if call.call_id not in self._waiting and call.call_id not in self._offered:
            queue, closed = serving_queue(self._rules, call, now)
            out.extend(closed)
            if queue is not None:
                key = call_key(self._rules.rules.priority, queue.rule, call)
                entered = now if call.admitted_at is None else min(call.admitted_at, now)
                self._file(Waiting(call=call, queue=queue.name, entered_at=entered, key=key), now)
        return self._match(out, now)

    def call_left(self, call_id: str, now: float) -> Round:
        out = self._advance(now)
        self._waiting.pop(call_id, None)
        self._offered.pop(call_id, None)
        return self._match(out, now)

    def offer_failed(self, call_id: str, now: float) -> Round:
        out = self._advance(now)
        waiting = self._offered.pop(call_id, None)
        if waiting is not None:
            if waiting.offered_to is not None:
                waiting.excluded.add(waiting.offered_to)
            waiting.offered_to = None
            self._file(waiting, now)
        return self._match(out, now)

    def agent_available(self, agent: AgentFacts, now: float) -> Round:
        out = self._advance(now)
        self._on_shift[agent.agent_id] = agent
        if not any(isinstance(d, Offer) and d.agent_id == agent.agent_id for d in out):
            self._ready[agent.agent_id] = agent
        return self._match(out, now)

    def agent_busy(self, agent: AgentFacts, now: float) -> Round:
        out = self._advance(now)
        self._ready.pop(agent.agent_id, None)
        self._on_shift[agent.agent_id] = agent
        return self._match(out, now)

    def agent_away(self, agent_id: int, now: float) -> Round:
        out = self._advance(now)
        self._ready.pop(agent_id, None)
        self._on_shift.pop(agent_id, None)
        for waiting in self._waiting.values():
            if waiting.known == agent_id:
                waiting.known = None
                waiting.step = self._rules.queues[waiting.queue].step_at(waiting.entered_at, now)
                self._due[waiting.call.call_id] = self._next(waiting, now)
        return self._match(out, now)

    def tick(self, now: float) -> Round:
        return self._match(self._advance(now), now)

    def replace_rules(self, rules: RoutingRules, now: float) -> Round:
        compiled = compile_rules(rules)
        stranded = stranded_queues(
            self._rules, compiled, self._waiting.values(), self._offered.values(), now
        )
        if stranded:
            raise RulesRefused(
                "queues with callers in them cannot be removed: " + ", ".join(stranded)
            )
        out = self._advance(now)
        self._rules = compiled
        for waiting in (*self._waiting.values(), *self._offered.values()):
            queue = self._rules.queues[waiting.queue]
            waiting.key = call_key(self._rules.rules.priority, queue.rule, waiting.call)
        for waiting in list(self._waiting.values()):
            self._file(waiting, now)
        return self._match(out, now)

    # -- the scan ---------------------------------------------------------

    def _file(self, waiting: Waiting, now: float) -> None:
        queue = self._rules.queues[waiting.queue]
        known = known_agent_for(queue, waiting.call, waiting.excluded, self._on_shift, now)
        waiting.known, waiting.known_until = known if known else (None, 0.0)
        waiting.step = queue.step_at(waiting.entered_at, now)
        self._waiting[waiting.call.call_id] = waiting
        self._due[waiting.call.call_id] = self._next(waiting, now)

    def _next(self, waiting: Waiting, now: float) -> float | None:
        return next_change(self._rules.queues[waiting.queue], waiting, now)

    def _advance(self, now: float) -> list[Decision]:
        due = sorted(
            (
                w
                for w in self._waiting.values()
                if (at := self._due.get(w.call.call_id)) is not None and at <= now
            ),
            key=lambda w: w.key,
        )
        out: list[Decision] = []
        for waiting in due:
            queue = self._rules.queues[waiting.queue]
            if overflow_due(queue, waiting, now):
                del self._waiting[waiting.call.call_id]
                out.append(overflow_decision(self._rules, waiting, queue, now))
                target = queue.overflow.queue if queue.overflow else None
                if target is not None:
                    rule = self._rules.queues[target].rule
                    key = call_key(self._rules.rules.priority, rule, waiting.call)
                    moved = Waiting(call=waiting.call, queue=target, entered_at=now, key=key)
                    moved.excluded = waiting.excluded
                    self._file(moved, now)
                continue
            if waiting.known is not None and now >= waiting.known_until:
                waiting.known = None
            waiting.step = queue.step_at(waiting.entered_at, now)
            self._due[waiting.call.call_id] = self._next(waiting, now)
        self._match(out, now)
        return out

    def _match(self, out: list[Decision], now: float) -> Round:
        while True:
            pair = self._best_pair()
            if pair is None:
                break
            waiting, agent = pair
            self._offer(waiting, agent, out)
        return Round(tuple(out), self._wake_at())

    def _best_pair(self) -> tuple[Waiting, AgentFacts] | None:
        for waiting in sorted(self._waiting.values(), key=lambda w: w.key):
            agents = self._eligible(waiting)
            if agents:
                return waiting, min(agents, key=lambda a: self._key(waiting, a))
        return None

    def _eligible(self, waiting: Waiting) -> list[AgentFacts]:
        queue = self._rules.queues[waiting.queue]
        if waiting.known is not None:
            agent = self._ready.get(waiting.known)
            if agent is not None and known_skilled(queue, agent):
                return [agent]
            return []
        in_queue = sum(1 for w in self._waiting.values() if w.queue == waiting.queue)
        gate = gate_open(queue, in_queue)
        return [
            agent
            for agent in self._ready.values()
            if agent.agent_id not in waiting.excluded and admits(queue, waiting.step, agent, gate)
        ]

    def _key(self, waiting: Waiting, agent: AgentFacts) -> AgentKey:
        queue = self._rules.queues[waiting.queue]
        turn = self._turns.get((queue.name, agent.agent_id), 0)
        return agent_key(self._rules, queue.strategy, queue.steps[-1], agent, turn)

    def _offer(self, waiting: Waiting, agent: AgentFacts, out: list[Decision]) -> None:
        queue = self._rules.queues[waiting.queue]
        del self._waiting[waiting.call.call_id]
        del self._ready[agent.agent_id]
        waiting.offered_to = agent.agent_id
        self._offered[waiting.call.call_id] = waiting
        self._turns[(queue.name, agent.agent_id)] = next(self._turn_counter)
        explanation = Explanation(
            trigger="call arrived", queue=queue.name, step="", strategy=queue.strategy_name
        )
        out.append(
            Offer(
                waiting.call.call_id,
                agent.agent_id,
                queue.name,
                queue.rule.ring_timeout_s,
                explanation,
            )
        )

    def _wake_at(self) -> float | None:
        times = [self._due[c] for c in self._waiting if self._due.get(c) is not None]
        return min(t for t in times if t is not None) if times else None
