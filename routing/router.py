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

What an agent's skills and location reach (queues, the first step admitting
them, the pool they join, the buckets they may take from) is worked out once
per agent and kept while their skills, their location and the rules stay the
same. Pools and buckets are plain sorted lists (``bisect``): reading a head is a
C-level index, and an insert or removal moves the tail of one list, which costs
less than a balanced structure's bookkeeping up to some thousands of entries per
list (one queue's Ready agents at one step, or its callers at one step); past
some tens of thousands it would cost more.
"""

from __future__ import annotations

import heapq
import itertools
from bisect import bisect_left, insort
from collections.abc import Callable, Iterable, Mapping
from functools import partial
from typing import Any, NamedTuple

from routing.compiled import CompiledQueue, CompiledRules, compile_rules
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
from routing.rules import PriorityPolicy, QueueRule, RoutingRules, Strategy, Target
from routing.strategies import AgentKey, agent_key, describe, key_of

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
        self.entries: list[tuple[list[AgentKey], AgentKey]] = []


class Router:
    def __init__(self, rules: RoutingRules) -> None:
        self._rules = compile_rules(rules)
        self._waiting: dict[str, Waiting] = {}
        self._offered: dict[str, Waiting] = {}
        #: Ready agents, with their pool entries
        self._agents: dict[int, _Pooled] = {}
        #: every agent Ready or busy (about to be free), with their facts
        self._on_shift: dict[int, AgentFacts] = {}
        # queue -> per step: agents first admitted at that step, by strategy key
        self._pools: dict[str, list[list[AgentKey]]] = {}
        # queue -> per step: partner agents skilled from that step (queue-load gate)
        self._gate_pools: dict[str, list[list[AgentKey]]] = {}
        # queue -> per step: waiting calls at that step, by priority key
        self._buckets: dict[str, list[list[CallKey]]] = {}
        #: agent -> the queues their skills and location reach (kept across Ready)
        self._reach: dict[int, _Reach] = {}
        self._make_indexes()
        # agent -> calls kept for them as their known agent, by priority key
        self._kept: dict[int, list[CallKey]] = {}
        self._in_queue: dict[str, int] = {}
        self._deadlines: list[tuple[float, CallKey]] = []
        self._due_at: dict[str, float] = {}
        self._turns: dict[tuple[str, int], int] = {}
        self._turn_counter = itertools.count(1)

    def _make_indexes(self) -> None:
        """Empty pools and buckets for every queue and step of the rules."""
        self._pools.clear()
        self._gate_pools.clear()
        self._buckets.clear()
        self._reach.clear()
        for name, queue in self._rules.queues.items():
            steps = len(queue.steps)
            self._pools[name] = [[] for _ in range(steps)]
            self._buckets[name] = [[] for _ in range(steps)]
            if queue.partner_min_waiting is not None:
                self._gate_pools[name] = [[] for _ in range(steps)]

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
        if decisions and _offered_in(decisions, agent.agent_id):
            # already Ready, and a change that fell due just offered them a call:
            # they are ringing for it, so this report cannot free them again
            return self._round(decisions, now)
        self._unpool(agent.agent_id)
        pooled = _Pooled(agent)
        self._agents[agent.agent_id] = pooled
        reach = self._reach_of(agent)
        best, heads = self._best_call_for(agent, reach)
        if best is None:
            self._pool(pooled, reach)
        else:
            self._offer(best, agent.agent_id, now, "agent ready", decisions, _CallsWeighed(heads))
        return self._round(decisions, now)

    def agent_busy(self, agent: AgentFacts, now: float) -> Round:
        """On a call or in wrap-up: not offered, but about to be free, so calls
        kept for them as their known agent keep waiting."""
        decisions = self._advance(now)
        self._unpool(agent.agent_id)
        self._agents.pop(agent.agent_id, None)
        self._on_shift[agent.agent_id] = agent
        self._reach_of(agent)  # worked out now, so becoming Ready costs less
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

    def refusal(self, rules: RoutingRules, now: float) -> str | None:
        """Why ``replace_rules(rules, now)`` would be refused now, or None: asked
        before a version is published, so a refused one never goes live on paper."""
        return self._refusal(compile_rules(rules), now)

    def _refusal(self, compiled: CompiledRules, now: float) -> str | None:
        stranded = stranded_queues(
            self._rules, compiled, self._waiting.values(), self._offered.values(), now
        )
        if stranded:
            return "queues with callers in them cannot be removed: " + ", ".join(stranded)
        return None

    def replace_rules(self, rules: RoutingRules, now: float) -> Round:
        """Publish new rules. Waiting callers keep their arrival time and are
        re-evaluated at once under the new rules; a ringing offer is left alone."""
        compiled = compile_rules(rules)
        refusal = self._refusal(compiled, now)
        if refusal is not None:
            raise RulesRefused(refusal)
        decisions = self._advance(now)
        self._rules = compiled
        waiting = list(self._waiting.values())
        agents = [p.facts for p in self._agents.values()]
        self._make_indexes()
        self._kept.clear()
        self._deadlines.clear()
        self._due_at.clear()
        self._agents.clear()
        for agent in agents:
            pooled = _Pooled(agent)
            self._agents[agent.agent_id] = pooled
            self._pool(pooled, self._reach_of(agent))
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
        """A call starts (or resumes) waiting: pair it, or open the partner gate.
        A call paired at once is never filed in a bucket or given a deadline."""
        was_open = self._gate_is_open(waiting.queue)
        self._register(waiting, now)
        if not was_open and self._gate_is_open(waiting.queue):
            self._file(waiting, now)
            self._settle(self._queued_in(waiting.queue), now, "queue load", out)
            return
        if self._agents:
            found = self._best_agents_for(waiting)
            if found is not None:
                agent_id, ranked = found
                self._offer(waiting.key, agent_id, now, trigger, out, _AgentsWeighed(ranked))
                return
        self._file(waiting, now)

    def _insert(self, waiting: Waiting, now: float) -> None:
        self._register(waiting, now)
        self._file(waiting, now)

    def _register(self, waiting: Waiting, now: float) -> None:
        """Count the call in, keep it for its known agent, note its step."""
        self._waiting[waiting.call.call_id] = waiting
        self._in_queue[waiting.queue] = self._in_queue.get(waiting.queue, 0) + 1
        self._keep(waiting, now)
        waiting.step = self._rules.queues[waiting.queue].step_at(waiting.entered_at, now)

    def _file(self, waiting: Waiting, now: float) -> None:
        """Into its bucket (unless kept), with its next deadline."""
        self._bucket(waiting, now)
        self._schedule(waiting, now)

    def _keep_or_bucket(self, waiting: Waiting, now: float) -> None:
        self._keep(waiting, now)
        self._bucket(waiting, now)

    def _keep(self, waiting: Waiting, now: float) -> None:
        queue = self._rules.queues[waiting.queue]
        known = known_agent_for(queue, waiting.call, waiting.excluded, self._on_shift, now)
        if known is not None:
            waiting.known, waiting.known_until = known
            insort(self._kept.setdefault(known[0], []), waiting.key)
        else:
            waiting.known = None

    def _bucket(self, waiting: Waiting, now: float) -> None:
        """(Re)file a waiting call under the step it has reached."""
        queue = self._rules.queues[waiting.queue]
        step = queue.step_at(waiting.entered_at, now)
        if waiting.known is not None:
            # kept for its known agent, so in no bucket: note the step in force
            # (explanations name it, and the rules may have fewer steps now)
            waiting.step = step
            return
        buckets = self._buckets[waiting.queue]
        if waiting.step < len(buckets):
            if step == waiting.step and _contains(buckets[step], waiting.key):
                return
            _discard(buckets[waiting.step], waiting.key)
        waiting.step = step
        insort(buckets[step], waiting.key)

    def _release_kept(self, waiting: Waiting) -> None:
        if waiting.known is not None:
            kept = self._kept.get(waiting.known)
            if kept is not None:
                _discard(kept, waiting.key)
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
            buckets = self._buckets[waiting.queue]
            if waiting.step < len(buckets):
                _discard(buckets[waiting.step], waiting.key)

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
        ordered = (
            calls
            if isinstance(calls, list) and len(calls) == 1
            else sorted(calls, key=lambda w: w.key)
        )
        for waiting in ordered:
            if waiting.call.call_id not in self._waiting:
                continue
            found = self._best_agents_for(waiting)
            if found is not None:
                agent_id, ranked = found
                self._offer(waiting.key, agent_id, now, trigger, out, _AgentsWeighed(ranked))
                if not self._agents:
                    return

    def _best_agents_for(self, waiting: Waiting) -> tuple[int, list[AgentKey]] | None:
        """The agent for this call, and the best keys of those it may take (the
        chosen one among them unless it is the known agent), for the explanation."""
        if waiting.known is not None:
            pooled = self._agents.get(waiting.known)
            queue = self._rules.queues[waiting.queue]
            if pooled is None or not known_skilled(queue, pooled.facts):
                return None
            return waiting.known, []
        excluded = waiting.excluded
        pools = self._pools[waiting.queue]
        gated = self._gate_pools.get(waiting.queue)
        if gated is not None and not self._gate_is_open(waiting.queue):
            gated = None
        top: list[AgentKey] = []
        for step in range(waiting.step + 1):
            for pool in (pools[step], gated[step]) if gated is not None else (pools[step],):
                for key in pool:
                    if len(top) > RUNNERS_UP and key >= top[-1]:
                        break
                    if key[3] in excluded or key in top:
                        continue
                    insort(top, key)
                    del top[RUNNERS_UP + 1 :]
        return None if not top else (top[0][3], top)

    def _best_call_for(
        self, agent: AgentFacts, reach: _Reach
    ) -> tuple[CallKey | None, list[CallKey]]:
        """The call for this agent, and the first keys of every bucket it looked
        at (whether or not the agent may take them), for the explanation: one
        walk over the heads of the buckets of the queues the agent can serve."""
        waiting_of = self._waiting
        agent_id = agent.agent_id
        best: CallKey | None = None
        for key in self._kept.get(agent_id, ()):
            kept = waiting_of[key[2]]
            if known_skilled(self._rules.queues[kept.queue], agent):
                best = key
                break
        heads: list[CallKey] = []
        partner = agent.location == PARTNER
        for served in reach.queues:
            buckets = served.buckets
            if partner and served.gated is not None and self._gate_is_open(served.queue.name):
                buckets = served.gated_buckets
            for bucket in buckets:
                if not bucket:
                    continue
                heads += bucket[: RUNNERS_UP + 1]
                head = bucket[0]
                if best is not None and head >= best:
                    continue
                if agent_id not in waiting_of[head[2]].excluded:
                    best = head
                    continue
                for key in bucket:  # the agent missed the head call: the next one
                    if best is not None and key >= best:
                        break
                    if agent_id not in waiting_of[key[2]].excluded:
                        best = key
                        break
        return best, heads

    def _reach_of(self, agent: AgentFacts) -> _Reach:
        """The queues this agent's skills and location could serve, kept while
        they (and the rules) stay the same: becoming Ready again costs no
        eligibility checks."""
        reach = self._reach.get(agent.agent_id)
        if (
            reach is None
            or reach.location != agent.location
            or (reach.skills is not agent.skills and reach.skills != agent.skills)
        ):
            reach = self._work_out_reach(agent)
            self._reach[agent.agent_id] = reach
        return reach

    def _pool(self, pooled: _Pooled, reach: _Reach) -> None:
        agent = pooled.facts
        rank = self._rules.rank(agent.location)
        entries = pooled.entries
        for queue, _, _, proficiency, pool, gate_pool, _, _ in reach.queues:
            strategy = queue.strategy
            turn = (
                self._turns.get((queue.name, agent.agent_id), 0)
                if strategy is Strategy.ROUND_ROBIN
                else 0
            )
            key = key_of(strategy, rank, agent, proficiency, turn)
            if pool is not None:
                insort(pool, key)
                entries.append((pool, key))
            if gate_pool is not None:
                insort(gate_pool, key)
                entries.append((gate_pool, key))

    def _work_out_reach(self, agent: AgentFacts) -> _Reach:
        rules = self._rules
        names: set[str] = set()
        for skill in agent.skills:
            names.update(rules.queues_by_skill.get(skill, ()))
        partner = agent.location == PARTNER
        served = []
        for name in sorted(names):
            queue = rules.queues[name]
            first = _first_step(queue, agent, gate=False)
            gate = partner and queue.partner_min_waiting is not None
            gated = _first_step(queue, agent, gate=True) if gate else None
            if first is None and gated is None:
                continue
            proficiency = (
                queue.steps[-1].proficiency(agent.skills)
                if queue.strategy is Strategy.HIGHEST_PROFICIENCY
                else 0
            )
            buckets = self._buckets[name]
            served.append(
                _Served(
                    queue,
                    first,
                    gated,
                    proficiency,
                    None if first is None else self._pools[name][first],
                    None if gated is None else self._gate_pools[name][gated],
                    () if first is None else tuple(buckets[first:]),
                    () if gated is None else tuple(buckets[gated:]),
                )
            )
        return _Reach(agent.skills, agent.location, tuple(served))

    def _unpool(self, agent_id: int) -> None:
        pooled = self._agents.get(agent_id)
        if pooled is not None:
            for pool, key in pooled.entries:
                _discard(pool, key)
            pooled.entries.clear()

    def _agent_key(self, queue: CompiledQueue, agent: AgentFacts) -> AgentKey:
        turn = self._turns.get((queue.name, agent.agent_id), 0)
        return agent_key(self._rules, queue.strategy, queue.steps[-1], agent, turn)

    # -- offers -----------------------------------------------------------

    def _offer(
        self,
        call: CallKey,
        agent_id: int,
        now: float,
        trigger: Trigger,
        out: list[Decision],
        weighed: _AgentsWeighed | _CallsWeighed,
    ) -> None:
        waiting = self._waiting[call[2]]
        queue = self._rules.queues[waiting.queue]
        explanation = self._explain(waiting, queue, agent_id, now, trigger, weighed)
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
        self,
        waiting: Waiting,
        queue: CompiledQueue,
        agent_id: int,
        now: float,
        trigger: Trigger,
        weighed: _AgentsWeighed | _CallsWeighed,
    ) -> Explanation:
        """Capture what was weighed (immutable values only); the words come when
        someone reads the explanation."""
        notes: tuple[str, ...] = ()
        if waiting.known == agent_id:
            notes = (f"known agent: served this customer last; kept {queue.known_wait_s:g} s",)
        chosen = self._agents[agent_id].facts
        if chosen.location == PARTNER and self._gate_is_open(queue.name):
            notes += (
                f"partner agents admitted: {self._in_queue.get(queue.name, 0)} waiting"
                f" >= {queue.partner_min_waiting}",
            )
        candidates_of: Callable[[], tuple[Candidate, ...]]
        if isinstance(weighed, _CallsWeighed):
            policy = self._rules.rules.priority
            others = []
            for key in sorted(weighed.heads)[: RUNNERS_UP + 1]:
                if key != waiting.key:
                    other = self._waiting[key[2]]
                    rule = self._rules.queues[other.queue].rule
                    others.append((other.call, rule, agent_id in other.excluded))
            candidates_of = partial(
                _call_candidates, policy, waiting.call, queue.rule, agent_id, others, now
            )
        else:
            chosen_key: AgentKey | None = None
            ranked: list[tuple[AgentKey, str]] = []
            for agent_key_ in weighed.keys:
                if agent_key_[3] == agent_id:
                    chosen_key = agent_key_
                elif len(ranked) < RUNNERS_UP:
                    ranked.append((agent_key_, self._agents[agent_key_[3]].facts.location))
            if chosen_key is None:  # the known agent, found without a search
                chosen_key = self._agent_key(queue, chosen)
            candidates_of = partial(
                _agent_candidates,
                queue.strategy,
                agent_id,
                chosen_key,
                chosen.location,
                ranked,
                now,
            )
        return Explanation(
            trigger=trigger,
            queue=queue.name,
            step=queue.steps[waiting.step].label,
            strategy=queue.strategy_name,
            notes=notes,
            priority_of=partial(
                breakdown, self._rules.rules.priority, queue.rule, waiting.call, now
            ),
            candidates_of=candidates_of,
        )

    def _round(self, decisions: list[Decision], now: float) -> Round:
        del now
        return Round(tuple(decisions), self.wake_at())


class _AgentsWeighed(NamedTuple):
    """A call's search: the best keys of the agents it could take, best first."""

    keys: list[AgentKey]


class _CallsWeighed(NamedTuple):
    """An agent's search: the first keys of each call bucket it looked at."""

    heads: list[CallKey]


class _Served(NamedTuple):
    """A queue an agent can serve, and where they go in it. The lists are the
    router's own pools and buckets (they live as long as the rules)."""

    queue: CompiledQueue
    #: the first step admitting the agent, and the first once the queue's
    #: partner gate is open (partner agents only)
    first: int | None
    gated: int | None
    #: the agent's proficiency for the queue (highest proficiency only)
    proficiency: int
    #: the pool the agent joins, and the gate pool (partner agents only)
    pool: list[AgentKey] | None
    gate_pool: list[AgentKey] | None
    #: the call buckets the agent may take from, without and with the gate open
    buckets: tuple[list[CallKey], ...]
    gated_buckets: tuple[list[CallKey], ...]


class _Reach(NamedTuple):
    skills: Mapping[str, int]
    location: str
    queues: tuple[_Served, ...]


def _agent_candidates(
    strategy: Strategy,
    agent_id: int,
    chosen_key: AgentKey,
    location: str,
    ranked: list[tuple[AgentKey, str]],
    now: float,
) -> tuple[Candidate, ...]:
    lines = [
        Candidate(
            "agent",
            str(agent_id),
            True,
            f"agent {agent_id} ({location}): "
            f"{describe(strategy, chosen_key, now)}, best by {strategy.value}",
        )
    ]
    for key, where in ranked:
        lines.append(
            Candidate(
                "agent",
                str(key[3]),
                False,
                f"agent {key[3]} ({where}): "
                f"{describe(strategy, key, now)}, ranked after agent {agent_id}",
            )
        )
    return tuple(lines)


def _call_candidates(
    policy: PriorityPolicy,
    call: WaitingCall,
    rule: QueueRule,
    agent_id: int,
    others: list[tuple[WaitingCall, QueueRule, bool]],
    now: float,
) -> tuple[Candidate, ...]:
    def why(c: WaitingCall, r: QueueRule) -> str:
        return breakdown(policy, r, c, now).describe()

    lines = [
        Candidate(
            "call",
            call.call_id,
            True,
            f"call {call.call_id} in {rule.name}: {why(call, rule)}, highest for agent {agent_id}",
        )
    ]
    for other, other_rule, missed in others[:RUNNERS_UP]:
        # a call this agent missed ranks anywhere: it is just never offered again
        reason = f"agent {agent_id} missed it before" if missed else "lower"
        lines.append(
            Candidate(
                "call",
                other.call_id,
                False,
                f"call {other.call_id} in {other_rule.name}: {why(other, other_rule)}, {reason}",
            )
        )
    return tuple(lines)


def _contains(ordered: list[Any], key: Any) -> bool:
    at = bisect_left(ordered, key)
    return at < len(ordered) and ordered[at] == key


def _discard(ordered: list[Any], key: Any) -> None:
    at = bisect_left(ordered, key)
    if at < len(ordered) and ordered[at] == key:
        del ordered[at]


def _offered_in(decisions: Iterable[Decision], agent_id: int) -> bool:
    return any(isinstance(d, Offer) and d.agent_id == agent_id for d in decisions)


def _first_step(queue: CompiledQueue, agent: AgentFacts, *, gate: bool) -> int | None:
    for step in range(len(queue.steps)):
        if admits(queue, step, agent, gate):
            return step
    return None


__all__ = ["Router", "RulesRefused", "Target", "UnknownQueue"]
