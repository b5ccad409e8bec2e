"""The router: which Ready agent takes which waiting call, and when.

Semantics (``routing.reference.ReferenceRouter`` is the same thing as a plain
scan, and the property tests hold the two to identical decisions):

- After every input, no waiting call and Ready agent remain that could be paired:
  while a pair exists, the waiting call with the best priority among those that
  have an eligible agent gets its best agent by the queue's strategy.
- Time-driven changes (a bullseye step, a known-agent window closing, a max wait)
  that fell due by ``now`` are settled before the input itself is applied.
- A caller's priority order is fixed while they wait (see ``routing.priority``),
  and a failed offer puts the call back with the same key: its original place.

How it stays fast: that invariant means an input can only create pairs that
involve what it changed. So a call arriving looks only at the heads of its
queue's agent pools (one per bullseye step, sorted by the strategy's key), and an
agent becoming Ready looks only at the heads of the call buckets (one per queue
and step, sorted by priority) of the queues its skills could serve. Neither ever
scans all agents or all calls.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Iterable, Iterator, Mapping

from sortedcontainers import SortedList

from routing.compiled import CompiledQueue, compile_rules
from routing.eligibility import (
    PARTNER,
    Waiting,
    admits,
    gate_open,
    known_agent_for,
    known_skilled,
    next_change,
    overflow_due,
)
from routing.explain import Candidate, Explanation, Trigger
from routing.model import AgentFacts, Decision, Offer, Round, WaitingCall
from routing.priority import CallKey, breakdown, call_key
from routing.redirects import overflow_decision, serving_queue, stranded_queues
from routing.rules import RoutingRules, Target
from routing.strategies import AgentKey, agent_key, describe

#: how many runners-up an explanation names
RUNNERS_UP = 3


class UnknownQueue(KeyError):
    """A call arrived for a queue that has no rule."""


class RulesRefused(ValueError):
    """New rules would strand callers (their queue is gone)."""


class _Pooled:
    """An available agent and the pool entries to remove when it stops being so."""

    __slots__ = ("entries", "facts")

    def __init__(self, facts: AgentFacts) -> None:
        self.facts = facts
        self.entries: list[tuple[SortedList[AgentKey], AgentKey]] = []


class Router:
    def __init__(self, rules: RoutingRules) -> None:
        self._rules = compile_rules(rules)
        self._waiting: dict[str, Waiting] = {}
        self._offered: dict[str, Waiting] = {}
        #: Ready agents, with their pool entries
        self._agents: dict[int, _Pooled] = {}
        #: every agent Ready or busy (about to be free), with their facts
        self._on_shift: dict[int, AgentFacts] = {}
        # (queue, step) -> agents first admitted at that step, by strategy key
        self._pools: dict[tuple[str, int], SortedList[AgentKey]] = {}
        # (queue, step) -> partner agents skilled from that step (queue-load gate)
        self._gate_pools: dict[tuple[str, int], SortedList[AgentKey]] = {}
        # (queue, step) -> waiting calls at that step, by priority key
        self._buckets: dict[tuple[str, int], SortedList[CallKey]] = {}
        # agent -> calls kept for them as their known agent, by priority key
        self._kept: dict[int, SortedList[CallKey]] = {}
        self._in_queue: dict[str, int] = {}
        self._deadlines: list[tuple[float, CallKey]] = []
        self._due_at: dict[str, float] = {}
        self._turns: dict[tuple[str, int], int] = {}
        self._turn_counter = itertools.count(1)

    # -- inputs -----------------------------------------------------------

    def call_arrived(self, call: WaitingCall, now: float) -> Round:
        if call.queue not in self._rules.queues:
            raise UnknownQueue(call.queue)
        decisions = self._advance(now)
        if call.call_id in self._waiting or call.call_id in self._offered:
            return self._round(decisions, now)
        queue, closed = serving_queue(self._rules, call, now)
        decisions.extend(closed)
        if queue is not None:
            waiting = self._new_waiting(call, queue, now)
            if call.admitted_at is not None:
                waiting.entered_at = min(call.admitted_at, now)
            self._enter(waiting, now, "call arrived", decisions)
        return self._round(decisions, now)

    def call_left(self, call_id: str, now: float) -> Round:
        """The call no longer needs an agent (answered, abandoned or ended)."""
        decisions = self._advance(now)
        waiting = self._waiting.get(call_id)
        if waiting is not None:
            self._unqueue(waiting)
        self._offered.pop(call_id, None)
        return self._round(decisions, now)

    def offer_failed(self, call_id: str, now: float) -> Round:
        """The offered agent did not take the call: it waits again at its
        original place, and is never offered to that agent again."""
        decisions = self._advance(now)
        waiting = self._offered.pop(call_id, None)
        if waiting is not None:
            if waiting.offered_to is not None:
                waiting.excluded.add(waiting.offered_to)
            waiting.offered_to = None
            waiting.known = None
            self._enter(waiting, now, "offer failed", decisions)
        return self._round(decisions, now)

    def agent_available(self, agent: AgentFacts, now: float) -> Round:
        decisions = self._advance(now)
        self._on_shift[agent.agent_id] = agent
        if _offered_in(decisions, agent.agent_id):
            # already Ready, and a change that fell due just offered them a call:
            # they are ringing for it, so this report cannot free them again
            return self._round(decisions, now)
        self._unpool(agent.agent_id)
        pooled = _Pooled(agent)
        self._agents[agent.agent_id] = pooled
        best = self._best_call_for(agent)
        if best is None:
            self._pool(pooled)
        else:
            self._offer(best, agent.agent_id, now, "agent ready", decisions)
        return self._round(decisions, now)

    def agent_busy(self, agent: AgentFacts, now: float) -> Round:
        """On a call or in wrap-up: not offered, but about to be free, so calls
        kept for them as their known agent keep waiting."""
        decisions = self._advance(now)
        self._unpool(agent.agent_id)
        self._agents.pop(agent.agent_id, None)
        self._on_shift[agent.agent_id] = agent
        return self._round(decisions, now)

    def agent_away(self, agent_id: int, now: float) -> Round:
        """Not Ready or logged out: calls kept for them stop waiting for them."""
        decisions = self._advance(now)
        self._unpool(agent_id)
        self._agents.pop(agent_id, None)
        self._on_shift.pop(agent_id, None)
        self._release(list(self._kept.get(agent_id, ())), now, "agent away", decisions)
        return self._round(decisions, now)

    def _release(
        self, keys: list[CallKey], now: float, trigger: Trigger, out: list[Decision]
    ) -> None:
        released = [self._waiting[key[2]] for key in keys]
        for waiting in released:
            self._release_kept(waiting)
            self._bucket(waiting, now)
            self._schedule(waiting, now)
        self._settle(released, now, trigger, out)

    def tick(self, now: float) -> Round:
        """Wake-up at (or after) ``wake_at``: settle what fell due."""
        return self._round(self._advance(now), now)

    def replace_rules(self, rules: RoutingRules, now: float) -> Round:
        """Publish new rules. Waiting callers keep their arrival time and are
        re-evaluated at once under the new rules; a ringing offer is left alone."""
        compiled = compile_rules(rules)
        stranded = stranded_queues(
            self._rules, compiled, self._waiting.values(), self._offered.values(), now
        )
        if stranded:
            raise RulesRefused(
                "queues with callers in them cannot be removed: " + ", ".join(stranded)
            )
        decisions = self._advance(now)
        self._rules = compiled
        waiting = list(self._waiting.values())
        agents = [p.facts for p in self._agents.values()]
        self._pools.clear()
        self._gate_pools.clear()
        self._buckets.clear()
        self._kept.clear()
        self._deadlines.clear()
        self._due_at.clear()
        self._agents.clear()
        for agent in agents:
            pooled = _Pooled(agent)
            self._agents[agent.agent_id] = pooled
            self._pool(pooled)
        for w in (*waiting, *self._offered.values()):
            w.key = call_key(compiled.rules.priority, compiled.queues[w.queue].rule, w.call)
        for w in waiting:
            w.known = None
            self._keep_or_bucket(w, now)
            self._schedule(w, now)
        self._settle(waiting, now, "rules changed", decisions)
        return self._round(decisions, now)

    # -- views ------------------------------------------------------------

    @property
    def rules(self) -> RoutingRules:
        return self._rules.rules

    @property
    def waiting(self) -> Mapping[str, Waiting]:
        return self._waiting

    def is_available(self, agent_id: int) -> bool:
        return agent_id in self._agents

    def wake_at(self) -> float | None:
        while self._deadlines:
            at, key = self._deadlines[0]
            if self._due_at.get(key[2]) == at:
                return at
            heapq.heappop(self._deadlines)
        return None

    def queue_rule(self, name: str) -> CompiledQueue | None:
        return self._rules.queues.get(name)

    # -- time -------------------------------------------------------------

    def _advance(self, now: float) -> list[Decision]:
        """Apply every change due by ``now``, in priority order, then settle."""
        due: list[Waiting] = []
        while self._deadlines and self._deadlines[0][0] <= now:
            at, key = heapq.heappop(self._deadlines)
            call_id = key[2]
            if self._due_at.get(call_id) == at:
                del self._due_at[call_id]
                due.append(self._waiting[call_id])
        decisions: list[Decision] = []
        if not due:
            return decisions
        changed: list[Waiting] = []
        opened: set[str] = set()
        for waiting in sorted(due, key=lambda w: w.key):
            queue = self._rules.queues[waiting.queue]
            if overflow_due(queue, waiting, now):
                self._overflow(waiting, queue, now, decisions, changed, opened)
                continue
            if waiting.known is not None and now >= waiting.known_until:
                self._release_kept(waiting)
            self._bucket(waiting, now)
            self._schedule(waiting, now)
            changed.append(waiting)
        for name in sorted(opened):
            changed.extend(w for w in self._queued_in(name) if w not in changed)
        self._settle(changed, now, "step reached", decisions)
        return decisions

    def _overflow(
        self,
        waiting: Waiting,
        queue: CompiledQueue,
        now: float,
        decisions: list[Decision],
        changed: list[Waiting],
        opened: set[str],
    ) -> None:
        target = queue.overflow
        assert target is not None  # max_wait_s comes with an overflow target
        self._unqueue(waiting)
        decisions.append(overflow_decision(self._rules, waiting, queue, now))
        if target.queue is not None:
            moved = self._new_waiting(waiting.call, self._rules.queues[target.queue], now)
            moved.excluded = waiting.excluded
            was_open = self._gate_is_open(target.queue)
            self._insert(moved, now)
            changed.append(moved)
            if not was_open and self._gate_is_open(target.queue):
                opened.add(target.queue)

    # -- calls ------------------------------------------------------------

    def _new_waiting(self, call: WaitingCall, queue: CompiledQueue, now: float) -> Waiting:
        key = call_key(self._rules.rules.priority, queue.rule, call)
        return Waiting(call=call, queue=queue.name, entered_at=now, key=key)

    def _enter(self, waiting: Waiting, now: float, trigger: Trigger, out: list[Decision]) -> None:
        """A call starts (or resumes) waiting: pair it, or open the partner gate."""
        was_open = self._gate_is_open(waiting.queue)
        self._insert(waiting, now)
        if not was_open and self._gate_is_open(waiting.queue):
            self._settle(self._queued_in(waiting.queue), now, "queue load", out)
        else:
            self._settle([waiting], now, trigger, out)

    def _insert(self, waiting: Waiting, now: float) -> None:
        self._waiting[waiting.call.call_id] = waiting
        self._in_queue[waiting.queue] = self._in_queue.get(waiting.queue, 0) + 1
        self._keep_or_bucket(waiting, now)
        self._schedule(waiting, now)

    def _keep_or_bucket(self, waiting: Waiting, now: float) -> None:
        queue = self._rules.queues[waiting.queue]
        known = known_agent_for(queue, waiting.call, waiting.excluded, self._on_shift, now)
        if known is not None:
            waiting.known, waiting.known_until = known
            self._kept.setdefault(known[0], SortedList()).add(waiting.key)
        else:
            waiting.known = None
        self._bucket(waiting, now)

    def _bucket(self, waiting: Waiting, now: float) -> None:
        """(Re)file a waiting call under the step it has reached."""
        queue = self._rules.queues[waiting.queue]
        step = queue.step_at(now - waiting.entered_at)
        if waiting.known is not None:
            # kept for its known agent, so in no bucket: note the step in force
            # (explanations name it, and the rules may have fewer steps now)
            waiting.step = step
            return
        old = self._buckets.get((waiting.queue, waiting.step))
        if old is not None and waiting.key in old:
            if step == waiting.step:
                return
            old.remove(waiting.key)
        waiting.step = step
        self._buckets.setdefault((waiting.queue, step), SortedList()).add(waiting.key)

    def _release_kept(self, waiting: Waiting) -> None:
        if waiting.known is not None:
            kept = self._kept.get(waiting.known)
            if kept is not None:
                kept.discard(waiting.key)
                if not kept:
                    del self._kept[waiting.known]
            waiting.known = None

    def _unqueue(self, waiting: Waiting) -> None:
        """Take a waiting call out of every structure (offered, gone, moved)."""
        call_id = waiting.call.call_id
        del self._waiting[call_id]
        self._in_queue[waiting.queue] -= 1
        self._due_at.pop(call_id, None)
        if waiting.known is not None:
            self._release_kept(waiting)
        else:
            bucket = self._buckets.get((waiting.queue, waiting.step))
            if bucket is not None:
                bucket.discard(waiting.key)

    def _schedule(self, waiting: Waiting, now: float) -> None:
        at = next_change(self._rules.queues[waiting.queue], waiting, now)
        call_id = waiting.call.call_id
        if at is None:
            self._due_at.pop(call_id, None)
        elif self._due_at.get(call_id) != at:
            self._due_at[call_id] = at
            heapq.heappush(self._deadlines, (at, waiting.key))

    def _queued_in(self, queue: str) -> list[Waiting]:
        return [w for w in self._waiting.values() if w.queue == queue]

    def _gate_is_open(self, queue: str) -> bool:
        return gate_open(self._rules.queues[queue], self._in_queue.get(queue, 0))

    # -- matching ---------------------------------------------------------

    def _settle(
        self, calls: Iterable[Waiting], now: float, trigger: Trigger, out: list[Decision]
    ) -> None:
        """Pair these calls, best priority first: only they can have gained agents."""
        if not self._agents:
            return
        for waiting in sorted(calls, key=lambda w: w.key):
            if waiting.call.call_id not in self._waiting:
                continue
            best = self._best_agent_for(waiting)
            if best is not None:
                self._offer(waiting.key, best, now, trigger, out)
                if not self._agents:
                    return

    def _best_agent_for(self, waiting: Waiting) -> int | None:
        if waiting.known is not None:
            pooled = self._agents.get(waiting.known)
            queue = self._rules.queues[waiting.queue]
            if pooled is None or not known_skilled(queue, pooled.facts):
                return None
            return waiting.known
        best: AgentKey | None = None
        for pool in self._pools_for(waiting):
            for key in pool:
                if key[3] not in waiting.excluded:
                    if best is None or key < best:
                        best = key
                    break
        return None if best is None else best[3]

    def _pools_for(self, waiting: Waiting) -> Iterator[SortedList[AgentKey]]:
        queue = waiting.queue
        gate = self._gate_is_open(queue)
        for step in range(waiting.step + 1):
            pool = self._pools.get((queue, step))
            if pool:
                yield pool
            if gate:
                gated = self._gate_pools.get((queue, step))
                if gated:
                    yield gated

    def _best_call_for(self, agent: AgentFacts) -> CallKey | None:
        excluded_for = self._waiting
        best: CallKey | None = None
        for key in self._kept.get(agent.agent_id, ()):
            kept = excluded_for[key[2]]
            if known_skilled(self._rules.queues[kept.queue], agent):
                best = key
                break
        for name, first_step in self._admitting_queues(agent):
            queue = self._rules.queues[name]
            for step in range(first_step, len(queue.steps)):
                for key in self._buckets.get((name, step), ()):
                    if best is not None and key >= best:
                        break
                    if agent.agent_id not in excluded_for[key[2]].excluded:
                        best = key
                        break
        return best

    def _admitting_queues(self, agent: AgentFacts) -> Iterator[tuple[str, int]]:
        """Each queue the agent could serve now, with the first step admitting them."""
        for name in self._candidate_queues(agent):
            queue = self._rules.queues[name]
            gate = agent.location == PARTNER and self._gate_is_open(name)
            for step in range(len(queue.steps)):
                if admits(queue, step, agent, gate):
                    yield name, step
                    break

    def _candidate_queues(self, agent: AgentFacts) -> list[str]:
        by_skill = self._rules.queues_by_skill
        names: set[str] = set()
        for skill in agent.skills:
            names.update(by_skill.get(skill, ()))
        return sorted(names)

    def _pool(self, pooled: _Pooled) -> None:
        agent = pooled.facts
        for name in self._candidate_queues(agent):
            queue = self._rules.queues[name]
            key = self._agent_key(queue, agent)
            first = _first_step(queue, agent, gate=False)
            if first is not None:
                pool = self._pools.setdefault((name, first), SortedList())
                pool.add(key)
                pooled.entries.append((pool, key))
            if agent.location == PARTNER:
                gated_from = _first_step(queue, agent, gate=True)
                if gated_from is not None:
                    pool = self._gate_pools.setdefault((name, gated_from), SortedList())
                    pool.add(key)
                    pooled.entries.append((pool, key))

    def _unpool(self, agent_id: int) -> None:
        pooled = self._agents.get(agent_id)
        if pooled is not None:
            for pool, key in pooled.entries:
                pool.discard(key)
            pooled.entries.clear()

    def _agent_key(self, queue: CompiledQueue, agent: AgentFacts) -> AgentKey:
        turn = self._turns.get((queue.name, agent.agent_id), 0)
        return agent_key(self._rules, queue.strategy, queue.steps[-1], agent, turn)

    # -- offers -----------------------------------------------------------

    def _offer(
        self, call: CallKey, agent_id: int, now: float, trigger: Trigger, out: list[Decision]
    ) -> None:
        waiting = self._waiting[call[2]]
        queue = self._rules.queues[waiting.queue]
        explanation = self._explain(waiting, queue, agent_id, now, trigger)
        self._unqueue(waiting)
        self._unpool(agent_id)
        del self._agents[agent_id]
        waiting.offered_to = agent_id
        self._offered[waiting.call.call_id] = waiting
        self._turns[(queue.name, agent_id)] = next(self._turn_counter)
        out.append(
            Offer(
                waiting.call.call_id, agent_id, queue.name, queue.rule.ring_timeout_s, explanation
            )
        )

    def _explain(
        self, waiting: Waiting, queue: CompiledQueue, agent_id: int, now: float, trigger: Trigger
    ) -> Explanation:
        notes: list[str] = []
        if waiting.known == agent_id:
            notes.append(f"known agent: served this customer last; kept {queue.known_wait_s:g} s")
        chosen = self._agents[agent_id].facts
        if chosen.location == PARTNER and self._gate_is_open(queue.name):
            notes.append(
                f"partner agents admitted: {self._in_queue.get(queue.name, 0)} waiting"
                f" >= {queue.partner_min_waiting}"
            )
        if trigger == "agent ready":
            candidates = self._call_candidates(waiting, chosen, now)
        else:
            candidates = self._agent_candidates(waiting, queue, agent_id, now)
        return Explanation(
            trigger=trigger,
            queue=queue.name,
            step=queue.steps[waiting.step].label,
            strategy=queue.strategy.value,
            priority=breakdown(self._rules.rules.priority, queue.rule, waiting.call, now),
            candidates=candidates,
            notes=tuple(notes),
        )

    def _agent_candidates(
        self, waiting: Waiting, queue: CompiledQueue, agent_id: int, now: float
    ) -> tuple[Candidate, ...]:
        keys: dict[int, AgentKey] = {}
        if waiting.known is None:
            for pool in self._pools_for(waiting):
                taken = 0
                for key in pool:
                    if key[3] not in waiting.excluded:
                        keys.setdefault(key[3], key)
                        taken += 1
                        if taken > RUNNERS_UP:
                            break
        chosen_key = keys.get(agent_id) or self._agent_key(queue, self._agents[agent_id].facts)
        ranked = sorted(set(keys.values()) - {chosen_key})[:RUNNERS_UP]
        location = self._agents[agent_id].facts.location
        lines = [
            Candidate(
                "agent",
                str(agent_id),
                True,
                f"agent {agent_id} ({location}): "
                f"{describe(queue.strategy, chosen_key, now)}, best by {queue.strategy.value}",
            )
        ]
        for key in ranked:
            facts = self._agents[key[3]].facts
            lines.append(
                Candidate(
                    "agent",
                    str(key[3]),
                    False,
                    f"agent {key[3]} ({facts.location}): "
                    f"{describe(queue.strategy, key, now)}, ranked after agent {agent_id}",
                )
            )
        return tuple(lines)

    def _call_candidates(
        self, waiting: Waiting, agent: AgentFacts, now: float
    ) -> tuple[Candidate, ...]:
        policy = self._rules.rules.priority
        heads: list[CallKey] = []
        for name, first_step in self._admitting_queues(agent):
            queue = self._rules.queues[name]
            for step in range(first_step, len(queue.steps)):
                bucket = self._buckets.get((name, step), ())
                heads.extend(itertools.islice(bucket, RUNNERS_UP + 1))
        others = sorted(k for k in set(heads) if k != waiting.key)[:RUNNERS_UP]

        def why(w: Waiting) -> str:
            rule = self._rules.queues[w.queue].rule
            return breakdown(policy, rule, w.call, now).describe()

        lines = [
            Candidate(
                "call",
                waiting.call.call_id,
                True,
                f"call {waiting.call.call_id} in {waiting.queue}: {why(waiting)}, "
                f"highest for agent {agent.agent_id}",
            )
        ]
        for key in others:
            other = self._waiting[key[2]]
            # a call this agent missed ranks anywhere: it is just never offered again
            missed = agent.agent_id in other.excluded
            reason = f"agent {agent.agent_id} missed it before" if missed else "lower"
            lines.append(
                Candidate(
                    "call",
                    key[2],
                    False,
                    f"call {key[2]} in {other.queue}: {why(other)}, {reason}",
                )
            )
        return tuple(lines)

    def _round(self, decisions: list[Decision], now: float) -> Round:
        del now
        return Round(tuple(decisions), self.wake_at())


def _offered_in(decisions: Iterable[Decision], agent_id: int) -> bool:
    return any(isinstance(d, Offer) and d.agent_id == agent_id for d in decisions)


def _first_step(queue: CompiledQueue, agent: AgentFacts, *, gate: bool) -> int | None:
    for step in range(len(queue.steps)):
        if admits(queue, step, agent, gate):
            return step
    return None


__all__ = ["Router", "RulesRefused", "Target", "UnknownQueue"]
