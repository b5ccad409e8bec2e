"""How long the router takes per decision at call-center scale, against the naive scan.

The workload (seeded ``random.Random``, the same rules at every size):

- ``skills`` skills in product lines of ten, one queue per skill requiring it at
  proficiency 1-3 (a quarter of them also need their line's general skill), a mix
  of the five strategies, bullseye steps on most (relax the proficiency, accept a
  sibling skill, admit home agents), partner gates on some (by queue load or by
  wait), known-agent routing on some, an overflow after 30 minutes on some.
- Agents each work in one product line: its general skill (usually) and one to
  three more at proficiency 1-5, some cross-trained in another line; on site,
  remote site, home or partner.
- Two fifths of the product lines are quiet (nobody waiting), the others are
  swamped: ``calls`` callers wait there, arrived over the last five minutes (so
  they sit at every bullseye step, some still kept for their known agent).
  Most agents are busy; a tenth are Ready, all of them agents that no swamped
  queue admits even at its widest step (the router's own invariant: a Ready
  agent and a waiting call it may take never coexist).

That steady state is built through the router's inputs; building it produced no
decision (checked), so it is a state the router can be in.

Then, alternately, a timed call arrival (half into quiet queues, where a Ready
agent often takes it at once, half into swamped ones, where it queues) and a
timed agent-becomes-Ready (a busy agent, often the one a waiting call was
waiting for). Each sample is one ``time.perf_counter_ns`` around one router
call, which includes what the router does in it: time-driven changes that fell
due (the clock advances ``TICK_S`` per sample), the offer and its explanation.
``cpu_*`` figures are the same calls in ``time.thread_time_ns`` (CPU time of this
thread: a wall figure far above it means the machine was busy with something
else). The garbage collector stays on, as in the service. Between samples,
untimed, the steady state is restored: offered calls are answered
(``call_left``), the agent who took one goes back to Ready (if it was one of the
Ready agents) or to busy, a measured caller still waiting hangs up, a measured
agent who got nothing goes busy again, and new callers fill the swamped queues
back to ``calls``.

The naive router is ``routing.ReferenceRouter``, fed the same events in the
same process. It scans calls x agents (and calls x calls, for queue loads) per
decision: seconds at 1,000 agents, minutes at 100,000. So it only takes the first
``naive_samples`` events after the steady state is built, and stops after the one
that takes it past ``naive_budget_s`` (so it always has one); ``naive_samples`` in
the results says how many it took. Those events go to both routers, with no
restoring between them (a restoring event would cost the naive router a whole
scan too), and their decisions are compared one by one (``same_decisions``); the
steady state is restored after the prefix, which has the same length however far
the naive router got, so the fast router's events never depend on a stopwatch.
The fast router is not timed on the prefix: its caches would be cold from the
naive scans. The naive router's setup is the same event stream through its own
input methods with its scan switched off: the fast router made no decision on
those events, so the scan would have found no pair (and had the loading left a
pair, the first compared decision would differ).

Every size is built (and its naive prefix run) before any timing; then the timed
samples are taken ``BLOCK`` at a time per size in turn, so that whatever else
the machine does meanwhile (on a shared machine, wall and CPU times drift by tens
of percent over minutes) weighs on every size alike.

Memory: ``tracemalloc``, on separate routers: the growth from making all the
agents Ready in an empty router, per agent, and from ``calls`` callers arriving
(over the same five minutes) with no agent Ready, per call. The ``AgentFacts``
and ``WaitingCall`` objects are the caller's and made beforehand, so these are
the router's own bytes (dict entries, pool and bucket entries, keys, deadlines).

No timing is asserted anywhere: the figures are for people, and ``targets``
only says whether they meet the issue's goals.
"""

from __future__ import annotations

import cProfile
import gc
import hashlib
import io
import math
import os
import pstats
import random
import sys
import time
import tracemalloc
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Protocol, TypeVar

from routing import (
    AgentFacts,
    BullseyeStep,
    Decision,
    KnownAgent,
    Location,
    Offer,
    PartnerOverflow,
    PriorityPolicy,
    QueueRule,
    ReferenceRouter,
    Round,
    Router,
    RoutingRules,
    Strategy,
    Target,
    ValueBand,
    WaitingCall,
)
from routing.compiled import CompiledRules, compile_rules
from routing.eligibility import admits

SIZES = (1_000, 10_000, 100_000)
SKILLS = 200
CALLS = 5_000
#: timed decisions per size, half arrivals and half agents becoming Ready
SAMPLES = 6_000
NAIVE_SAMPLES = 20
#: wall seconds of naive decisions per size: it stops after the sample that passes them
NAIVE_BUDGET_S = 60.0
SEED = 1
#: timed samples taken at one size before moving on to the next
BLOCK = 100

#: skills per product line
LINE_SIZE = 10
QUIET_SHARE = 0.4
READY_SHARE = 0.1
#: callers in the steady state arrived over this many seconds
BACKLOG_S = 300.0
#: simulated time between two timed decisions
TICK_S = 0.005
T0 = 1_795_400_000.0
#: restoring the steady state after a sample may take this many router calls at most
RESTORE_LIMIT = 100_000

_STRATEGIES = (
    (Strategy.LONGEST_IDLE, 40),
    (Strategy.LEAST_OCCUPIED, 15),
    (Strategy.HIGHEST_PROFICIENCY, 20),
    (Strategy.ROUND_ROBIN, 15),
    (Strategy.LOWEST_COST, 10),
)
_LOCATIONS = (("on_site", 50), ("remote_site", 15), ("home", 25), ("partner", 10))
_TIERS: tuple[tuple[str | None, int], ...] = (
    (None, 60),
    ("bronze", 15),
    ("silver", 13),
    ("gold", 10),
    ("platinum", 2),
)


_T = TypeVar("_T")


def _pick(rng: random.Random, weighted: Sequence[tuple[_T, int]]) -> _T:
    return rng.choices([v for v, _ in weighted], [w for _, w in weighted])[0]


# -- the workload ----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Layout:
    """The rules and what the load generator needs to know about them."""

    rules: RoutingRules
    #: product line -> its skills, the general one first
    lines: tuple[tuple[str, ...], ...]
    #: queues with callers waiting, and how the callers spread over them
    swamped: tuple[str, ...]
    swamped_weights: tuple[float, ...]
    quiet: tuple[str, ...]
    known: frozenset[str]


def _skill(index: int) -> str:
    return f"s{index:03d}"


def _queue(index: int) -> str:
    return f"q{index:03d}"


def build_layout(skills: int = SKILLS, seed: int = SEED) -> Layout:
    """One queue per skill, in product lines of ``LINE_SIZE`` skills."""
    if skills < 2:
        raise ValueError("the route benchmark needs at least two skills")
    rng = random.Random(seed)
    line_count = max(2, skills // LINE_SIZE)
    lines = tuple(
        tuple(_skill(i) for i in range(skills) if i * line_count // skills == line)
        for line in range(line_count)
    )
    queues: list[QueueRule] = []
    known: set[str] = set()
    for line in lines:
        general = line[0]
        for skill in line:
            index = int(skill[1:])
            name = _queue(index)
            sibling = rng.choice([s for s in line if s != skill] or [skill])
            required = {skill: _pick(rng, ((1, 20), (2, 40), (3, 40)))}
            if skill != general and rng.random() < 0.25:
                required[general] = 1
            steps: list[BullseyeStep] = []
            locations = [Location.ON_SITE, Location.REMOTE_SITE, Location.HOME]
            shape = rng.random()
            if shape < 0.25:
                steps = [BullseyeStep(after_s=30, min_proficiency=1, label="any proficiency")]
            elif shape < 0.50:
                locations = [Location.ON_SITE, Location.REMOTE_SITE]
                steps = [
                    BullseyeStep(after_s=20, min_proficiency=1),
                    BullseyeStep(after_s=45, also_skills={sibling: 3}),
                    BullseyeStep(after_s=90, add_locations=[Location.HOME]),
                ]
            elif shape < 0.65:
                steps = [BullseyeStep(after_s=60, also_skills={sibling: 4})]
            partner = None
            if rng.random() < 0.15:
                partner = _pick(
                    rng,
                    (
                        (PartnerOverflow(min_waiting=20), 1),
                        (PartnerOverflow(min_waiting=40, after_s=120), 1),
                        (PartnerOverflow(after_s=60), 1),
                    ),
                )
            known_agent = None
            if rng.random() < 0.1:
                known_agent = KnownAgent(within_days=30, wait_s=20)
                known.add(name)
            overflow: dict[str, Any] = {}
            if skill != general and rng.random() < 0.1:
                overflow = {
                    "max_wait_s": 1800,
                    "overflow": Target(kind="queue", queue=_queue(int(general[1:]))),
                }
            queues.append(
                QueueRule(
                    name=name,
                    skills=required,
                    strategy=_pick(rng, _STRATEGIES),
                    priority=100 if rng.random() < 0.1 else 0,
                    locations=locations,
                    steps=steps,
                    partner=partner,
                    known_agent=known_agent,
                    **overflow,
                )
            )
    rules = RoutingRules(
        queues=sorted(queues, key=lambda q: q.name),
        priority=PriorityPolicy(
            lifetime_value=[
                ValueBand(min_value=1_000, points=50),
                ValueBand(min_value=10_000, points=150),
            ]
        ),
    )
    quiet_lines = set(rng.sample(range(line_count), max(1, round(line_count * QUIET_SHARE))))
    swamped = [
        _queue(int(s[1:])) for i, line in enumerate(lines) if i not in quiet_lines for s in line
    ]
    quiet = [_queue(int(s[1:])) for i, line in enumerate(lines) if i in quiet_lines for s in line]
    rng.shuffle(swamped)
    return Layout(
        rules=rules,
        lines=lines,
        swamped=tuple(swamped),
        swamped_weights=tuple(1.0 / (rank + 1) for rank in range(len(swamped))),
        quiet=tuple(sorted(quiet)),
        known=frozenset(known),
    )


def build_agents(layout: Layout, count: int, rng: random.Random) -> list[AgentFacts]:
    agents: list[AgentFacts] = []
    for agent_id in range(1, count + 1):
        line_index = rng.randrange(len(layout.lines))
        line = layout.lines[line_index]
        skills: dict[str, int] = {}
        if rng.random() < 0.7:
            skills[line[0]] = rng.randint(1, 5)
        others = [s for s in line[1:]] or list(line)
        for skill in rng.sample(others, min(len(others), rng.randint(1, 3))):
            skills[skill] = rng.randint(1, 5)
        if rng.random() < 0.15:
            other = rng.choice([ln for i, ln in enumerate(layout.lines) if i != line_index])
            skills.setdefault(rng.choice(other), rng.randint(1, 3))
        agents.append(
            AgentFacts(
                agent_id=agent_id,
                skills=skills,
                location=_pick(rng, _LOCATIONS),
                idle_since=T0 - BACKLOG_S - rng.uniform(100, 3600),
                busy_s_today=rng.uniform(0, 20_000),
            )
        )
    return agents


def swamped_reach(compiled: CompiledRules, swamped: Iterable[str], agent: AgentFacts) -> bool:
    """Could a caller of a swamped queue ever be offered this agent: at its widest
    step, with its partner gate (if it has one) open?"""
    names = set(swamped)
    for skill in agent.skills:
        for name in compiled.queues_by_skill.get(skill, ()):
            if name in names:
                queue = compiled.queues[name]
                gate = queue.partner_min_waiting is not None
                if admits(queue, len(queue.steps) - 1, agent, gate):
                    return True
    return False


# -- events ---------------------------------------------------------------------------


class _Routes(Protocol):
    def call_arrived(self, call: WaitingCall, now: float) -> Round: ...
    def call_left(self, call_id: str, now: float) -> Round: ...
    def agent_available(self, agent: AgentFacts, now: float) -> Round: ...
    def agent_busy(self, agent: AgentFacts, now: float) -> Round: ...


@dataclass(frozen=True, slots=True)
class AgentEvent:
    agent: AgentFacts
    now: float
    ready: bool

    def to(self, router: _Routes) -> Round:
        if self.ready:
            return router.agent_available(self.agent, self.now)
        return router.agent_busy(self.agent, self.now)


@dataclass(frozen=True, slots=True)
class CallEvent:
    call: WaitingCall
    now: float

    def to(self, router: _Routes) -> Round:
        return router.call_arrived(self.call, self.now)


@dataclass(frozen=True, slots=True)
class LeftEvent:
    call_id: str
    now: float

    def to(self, router: _Routes) -> Round:
        return router.call_left(self.call_id, self.now)


Event = AgentEvent | CallEvent | LeftEvent


def load_without_scan(naive: ReferenceRouter, events: Iterable[Event]) -> None:
    """The events through the reference router's own inputs, its pairing scan off.

    Only for events on which ``Router`` decided nothing: then the scan would have
    found no pair, and skipping it (calls^2 + calls x agents each) is what makes a
    100,000-agent steady state loadable at all."""

    def no_scan(out: list[Decision], now: float) -> Round:
        del now
        return Round(tuple(out))

    naive.__dict__["_match"] = no_scan
    try:
        for event in events:
            event.to(naive)
    finally:
        del naive.__dict__["_match"]


# -- the run at one size --------------------------------------------------------------


def _percentile(values: Sequence[float], share: float) -> float:
    """Nearest rank: the smallest value with at least ``share`` of them at or below."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


class _Size:
    """The steady state at one size, and the samples taken from it."""

    def __init__(self, layout: Layout, agent_count: int, calls: int, seed: int) -> None:
        self.layout = layout
        self.calls = calls
        self.rng = random.Random(seed * 1_000_003 + agent_count)
        self.compiled = compile_rules(layout.rules)
        agents = build_agents(layout, agent_count, self.rng)
        self.facts = {a.agent_id: a for a in agents}
        # who has each queue's first skill: a returning customer's last agent
        self.skilled: dict[str, list[int]] = {}
        for agent in agents:
            for skill in agent.skills:
                for name in self.compiled.queues_by_skill.get(skill, ()):
                    if next(iter(self.compiled.queues[name].rule.skills)) == skill:
                        self.skilled.setdefault(name, []).append(agent.agent_id)
        idle = [a.agent_id for a in agents if not swamped_reach(self.compiled, layout.swamped, a)]
        ready_count = min(len(idle), round(agent_count * READY_SHARE))
        self.ready = frozenset(self.rng.sample(idle, ready_count))
        self.busy = [a.agent_id for a in agents if a.agent_id not in self.ready]
        self._calls_made = 0
        self.digest = hashlib.sha256()

    # -- building the steady state

    def setup_events(self) -> list[Event]:
        on_at = T0 - BACKLOG_S - 100
        events: list[Event] = [
            AgentEvent(self.facts[agent_id], on_at, ready=False) for agent_id in self.busy
        ]
        for agent_id in sorted(self.ready):
            self.facts[agent_id] = replace(
                self.facts[agent_id], idle_since=on_at - self.rng.uniform(0, 600)
            )
            events.append(AgentEvent(self.facts[agent_id], on_at, ready=True))
        arrivals = sorted(T0 - self.rng.uniform(0, BACKLOG_S) for _ in range(self.calls))
        for at in arrivals:
            events.append(CallEvent(self._call(self._swamped_queue(), at), at))
        return events

    def _swamped_queue(self) -> str:
        return self.rng.choices(self.layout.swamped, self.layout.swamped_weights)[0]

    def _call(self, queue: str, at: float, *, known: bool = True) -> WaitingCall:
        self._calls_made += 1
        last_agent: int | None = None
        last_served: float | None = None
        if known and queue in self.layout.known and self.rng.random() < 0.5:
            candidates = self.skilled.get(queue, [])
            if candidates:
                last_agent = self.rng.choice(candidates)
                if last_agent in self.ready and at <= T0:
                    last_agent = None  # the steady state keeps no caller for a Ready agent
                if last_agent is not None:
                    last_served = at - self.rng.uniform(3_600, 20 * 86_400)
        return WaitingCall(
            call_id=f"c{self._calls_made}",
            queue=queue,
            enqueued_at=at,
            tier=_pick(self.rng, _TIERS),
            lifetime_value=round(self.rng.lognormvariate(6, 1.5), 2),
            last_agent_id=last_agent,
            last_served_at=last_served,
        )

    # -- the samples

    def arrival(self, now: float) -> CallEvent:
        if self.rng.random() < 0.5:
            queue = self.rng.choice(self.layout.quiet)
        else:
            queue = self._swamped_queue()
        return CallEvent(self._call(queue, now), now)

    def becomes_ready(self, now: float, taken: set[int]) -> AgentEvent:
        while True:
            agent_id = self.rng.choice(self.busy)
            if agent_id not in taken:
                break
        taken.add(agent_id)
        facts = replace(
            self.facts[agent_id],
            idle_since=now,
            busy_s_today=self.facts[agent_id].busy_s_today + self.rng.uniform(60, 600),
        )
        self.facts[agent_id] = facts
        return AgentEvent(facts, now, ready=True)

    def record(self, decisions: Iterable[Decision]) -> list[Offer]:
        offers: list[Offer] = []
        for decision in decisions:
            self.digest.update(repr(decision).encode())
            if isinstance(decision, Offer):
                offers.append(decision)
        return offers

    def restore(
        self,
        router: Router,
        now: float,
        offers: list[Offer],
        calls: Iterable[str],
        agents: Iterable[int],
    ) -> int:
        """Back to the steady state, untimed; returns how many router calls it took."""
        work = list(offers)
        spent = 0

        def apply(event: Event) -> None:
            nonlocal spent
            spent += 1
            if spent > RESTORE_LIMIT:
                raise RuntimeError("the steady state does not come back")
            work.extend(self.record(event.to(router).decisions))

        def drain() -> None:
            while work:
                offer = work.pop(0)
                apply(LeftEvent(offer.call_id, now))  # answered
                agent_id = offer.agent_id
                again = agent_id in self.ready
                if again:
                    self.facts[agent_id] = replace(self.facts[agent_id], idle_since=now)
                apply(AgentEvent(self.facts[agent_id], now, ready=again))

        drain()
        for call_id in calls:
            if call_id in router.waiting:
                apply(LeftEvent(call_id, now))  # hung up
        for agent_id in agents:
            if router.is_available(agent_id):
                apply(AgentEvent(self.facts[agent_id], now, ready=False))
        drain()
        while len(router.waiting) < self.calls:
            apply(CallEvent(self._call(self._swamped_queue(), now, known=False), now))
            drain()
        return spent


@dataclass(slots=True)
class _Timings:
    """The fast router's nanoseconds per timed decision, by kind, and how many offered."""

    arrival: list[int] = field(default_factory=list)
    ready: list[int] = field(default_factory=list)
    cpu: list[int] = field(default_factory=list)
    arrival_offers: int = 0
    ready_offers: int = 0

    def add(self, is_arrival: bool, wall_ns: int, cpu_ns: int, offered: bool) -> None:
        (self.arrival if is_arrival else self.ready).append(wall_ns)
        self.cpu.append(cpu_ns)
        if is_arrival:
            self.arrival_offers += offered
        else:
            self.ready_offers += offered

    def figures(self) -> dict[str, Any]:
        both = self.arrival + self.ready
        return {
            "p50_us": _p_us(both, 0.5),
            "p99_us": _p_us(both, 0.99),
            "arrival_p50_us": _p_us(self.arrival, 0.5),
            "arrival_p99_us": _p_us(self.arrival, 0.99),
            "ready_p50_us": _p_us(self.ready, 0.5),
            "ready_p99_us": _p_us(self.ready, 0.99),
            "max_us": _p_us(both, 1.0),
            "cpu_p50_us": _p_us(self.cpu, 0.5),
            "cpu_p99_us": _p_us(self.cpu, 0.99),
            "samples": len(both),
            "arrival_offer_share": round(self.arrival_offers / max(1, len(self.arrival)), 3),
            "ready_offer_share": round(self.ready_offers / max(1, len(self.ready)), 3),
        }


def _p_us(values: Sequence[int], share: float) -> float | None:
    return None if not values else round(_percentile(values, share) / 1000, 2)


def _build(
    layout: Layout, agents: int, calls: int, seed: int, *, naive: bool
) -> tuple[_Size, Router, ReferenceRouter | None]:
    """The steady state in the fast router and (when asked) in the naive one."""
    size = _Size(layout, agents, calls, seed)
    events = size.setup_events()
    fast = Router(layout.rules)
    for event in events:
        decided = event.to(fast).decisions
        if decided:
            raise RuntimeError(f"building the steady state decided something: {decided[0]!r}")
    if len(fast.waiting) != calls:
        raise RuntimeError(f"{len(fast.waiting)} callers wait, not {calls}")
    reference = None
    if naive:
        reference = ReferenceRouter(layout.rules)
        load_without_scan(reference, events)
    return size, fast, reference


class _Bench:
    """One size: its steady state, the naive router's prefix, then timed samples."""

    def __init__(
        self, layout: Layout, agents: int, calls: int, seed: int, *, naive: bool, profile: bool
    ) -> None:
        started = time.perf_counter()
        self.layout, self.agents, self.calls = layout, agents, calls
        self.size, self.fast, self.naive = _build(layout, agents, calls, seed, naive=naive)
        self.setup_s = time.perf_counter() - started
        self.timings = _Timings()
        self.naive_ns: list[tuple[bool, int]] = []
        self.same: bool | None = None if self.naive is None else True
        self.untimed = 0
        self.measure_ns = 0
        self.profiler = cProfile.Profile() if profile else None
        #: events so far: the clock, and whether the next is an arrival
        self._events = 0

    def _next(self, taken: set[int]) -> tuple[float, CallEvent | AgentEvent]:
        self._events += 1
        now = T0 + self._events * TICK_S
        if self._events % 2:
            return now, self.size.arrival(now)
        return now, self.size.becomes_ready(now, taken)

    def naive_prefix(self, count: int, budget_s: float) -> None:
        """``count`` events through both routers (the fast one untimed), decisions
        compared; the naive router stops after the one that passes ``budget_s``.
        The steady state is restored once, at the end."""
        naive, self.naive = self.naive, None
        offers: list[Offer] = []
        calls: list[str] = []
        agents: list[int] = []
        taken: set[int] = set()
        spent_ns = 0
        now = T0
        for _ in range(count):
            now, event = self._next(taken)
            outcome = event.to(self.fast)
            offers.extend(self.size.record(outcome.decisions))
            if isinstance(event, CallEvent):
                calls.append(event.call.call_id)
            else:
                agents.append(event.agent.agent_id)
            if naive is None:
                continue
            started = time.perf_counter_ns()
            naive_outcome = event.to(naive)
            took = time.perf_counter_ns() - started
            spent_ns += took
            self.naive_ns.append((isinstance(event, CallEvent), took))
            self.same = bool(self.same) and naive_outcome.decisions == outcome.decisions
            if not self.same or spent_ns > budget_s * 1e9:
                naive = None
                gc.collect()
        del naive
        self.untimed += self.size.restore(self.fast, now, offers, calls, agents)

    def sample(self, count: int) -> None:
        """``count`` timed decisions, the steady state restored after each."""
        started = time.perf_counter_ns()
        taken: set[int] = set()
        for _ in range(count):
            now, event = self._next(taken)
            if self.profiler is not None:
                self.profiler.enable()
            cpu0 = time.thread_time_ns()
            wall0 = time.perf_counter_ns()
            outcome = event.to(self.fast)
            wall = time.perf_counter_ns() - wall0
            cpu = time.thread_time_ns() - cpu0
            if self.profiler is not None:
                self.profiler.disable()
            offers = self.size.record(outcome.decisions)
            self.timings.add(isinstance(event, CallEvent), wall, cpu, bool(offers))
            calls = [event.call.call_id] if isinstance(event, CallEvent) else []
            agents = [event.agent.agent_id] if isinstance(event, AgentEvent) else []
            self.untimed += self.size.restore(self.fast, now, offers, calls, agents)
            taken.clear()
        self.measure_ns += time.perf_counter_ns() - started

    def finish(self) -> dict[str, Any]:
        """Check the steady state held, free the router, measure memory, report."""
        if len(self.fast.waiting) != self.calls:
            raise RuntimeError(f"{len(self.fast.waiting)} callers wait, not {self.calls}")
        ready_after = sum(1 for agent_id in self.size.ready if self.fast.is_available(agent_id))
        del self.fast
        gc.collect()
        bytes_per_agent, bytes_per_call = measure_memory(self.layout, self.size, self.calls)
        figures = self.timings.figures()
        naive = [ns for _, ns in self.naive_ns]
        naive_arrival = [ns for is_arrival, ns in self.naive_ns if is_arrival]
        naive_ready = [ns for is_arrival, ns in self.naive_ns if not is_arrival]
        return {
            "agents": self.agents,
            "p50_us": figures.pop("p50_us"),
            "p99_us": figures.pop("p99_us"),
            "naive_p99_us": _p_us(naive, 0.99),
            "bytes_per_agent": round(bytes_per_agent, 1),
            "bytes_per_call": round(bytes_per_call, 1),
            **figures,
            "naive_p50_us": _p_us(naive, 0.5),
            "naive_arrival_p99_us": _p_us(naive_arrival, 0.99),
            "naive_ready_p99_us": _p_us(naive_ready, 0.99),
            "naive_samples": len(naive),
            "same_decisions": self.same,
            "ready_agents": len(self.size.ready),
            "ready_agents_after": ready_after,
            "waiting_calls": self.calls,
            "untimed_router_calls": self.untimed,
            "decisions_digest": self.size.digest.hexdigest()[:16],
            "setup_s": round(self.setup_s, 2),
            "measure_s": round(self.measure_ns / 1e9, 2),
            "naive_s": round(sum(naive) / 1e9, 2),
            **({"profile": _top(self.profiler)} if self.profiler is not None else {}),
        }


def _top(profiler: cProfile.Profile, lines: int = 25) -> str:
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(lines)
    return out.getvalue()


def measure_memory(layout: Layout, size: _Size, calls: int) -> tuple[float, float]:
    """Router bytes per Ready agent and per waiting caller (tracemalloc growth)."""
    agents = [replace(facts, idle_since=T0 - 1) for facts in size.facts.values()]
    router = Router(layout.rules)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for agent in agents:
            router.agent_available(agent, T0)
        gc.collect()
        per_agent = (tracemalloc.get_traced_memory()[0] - before) / len(agents)
    finally:
        tracemalloc.stop()
    del router
    rng = random.Random(size.rng.random())
    arrivals = sorted(T0 - rng.uniform(0, BACKLOG_S) for _ in range(calls))
    waiting = [
        WaitingCall(
            f"m{i}",
            rng.choices(layout.swamped, layout.swamped_weights)[0],
            at,
            tier=_pick(rng, _TIERS),
        )
        for i, at in enumerate(arrivals)
    ]
    router = Router(layout.rules)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for call in waiting:
            router.call_arrived(call, call.enqueued_at)
        router.tick(T0)
        gc.collect()
        per_call = (tracemalloc.get_traced_memory()[0] - before) / len(waiting)
    finally:
        tracemalloc.stop()
    return per_agent, per_call


# -- the benchmark --------------------------------------------------------------------


def run(
    sizes: Sequence[int] = SIZES,
    *,
    skills: int = SKILLS,
    calls: int = CALLS,
    samples: int = SAMPLES,
    naive_samples: int = NAIVE_SAMPLES,
    naive_budget_s: float = NAIVE_BUDGET_S,
    seed: int = SEED,
    profile: bool = False,
    progress: Callable[[str], None] | None = None,
) -> dict[str, Any]:
    """Every size built (and its naive prefix run) first, then the timed samples
    taken in turns of ``BLOCK`` per size, so that whatever else the machine does
    meanwhile weighs on every size alike."""
    if samples < 2:
        raise ValueError("take at least two samples (one arrival, one agent Ready)")
    say = progress or (lambda _: None)
    layout = build_layout(skills, seed)
    load_before = round(os.getloadavg()[0], 2)
    benches: list[_Bench] = []
    for agents in sizes:
        bench = _Bench(layout, agents, calls, seed, naive=naive_samples > 0, profile=profile)
        say(f"{agents} agents: built in {bench.setup_s:.1f} s, {len(bench.size.ready)} Ready")
        if naive_samples > 0:
            bench.naive_prefix(naive_samples, naive_budget_s)
            say(f"{agents} agents: naive router took {len(bench.naive_ns)} samples")
        benches.append(bench)
    gc.collect()
    done = 0
    while done < samples:
        count = min(BLOCK, samples - done)
        for bench in benches:
            bench.sample(count)
        done += count
        if done % 1000 < BLOCK or done == samples:
            say(f"timed {done}/{samples} samples at each size")
    results = []
    for bench in benches:
        results.append(bench.finish())
        say(f"{bench.agents} agents: memory measured")
    return {
        "benchmark": "route",
        "skills": skills,
        "queues": len(layout.rules.queues),
        "calls": calls,
        "samples": samples,
        "naive_samples": naive_samples,
        "naive_budget_s": naive_budget_s,
        "seed": seed,
        "python": sys.version.split()[0],
        "profiled": profile,
        "load_avg_1m": [load_before, round(os.getloadavg()[0], 2)],
        "results": results,
        "targets": targets(results),
    }


def targets(results: Sequence[dict[str, Any]]) -> dict[str, bool | None]:
    """The issue's goals, met or not (None: that size was not run)."""
    p99 = {r["agents"]: r["p99_us"] for r in results}
    at_10k = p99.get(10_000)
    small, large = p99.get(1_000), p99.get(100_000)
    return {
        "p99_us_at_10000_lt_100": None if at_10k is None else at_10k < 100,
        "p99_100000_within_3x_of_1000": (
            None if small is None or large is None else large <= 3 * small
        ),
    }


def table(result: dict[str, Any]) -> str:
    """The figures for people: one line per size."""
    head = (
        f"{'agents':>8} {'p50 us':>8} {'p99 us':>8} {'arr p99':>8} {'rdy p99':>8}"
        f" {'naive p99 us':>14} {'n':>3} {'same':>5} {'B/agent':>8} {'B/call':>8}"
    )
    lines = [head]
    for r in result["results"]:
        naive = "-" if r["naive_p99_us"] is None else f"{r['naive_p99_us']:.0f}"
        lines.append(
            f"{r['agents']:>8} {r['p50_us']:>8.1f} {r['p99_us']:>8.1f}"
            f" {r['arrival_p99_us']:>8.1f} {r['ready_p99_us']:>8.1f} {naive:>14}"
            f" {r['naive_samples']:>3} {r['same_decisions']!s:>5}"
            f" {r['bytes_per_agent']:>8.0f} {r['bytes_per_call']:>8.0f}"
        )
    lines.append("targets: " + ", ".join(f"{k}={v}" for k, v in result["targets"].items()))
    return "\n".join(lines)
