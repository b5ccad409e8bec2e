"""Property tests: random rules and random interleavings of calls, agents, failed
offers, wake-ups and rule changes.

Two streams. The raw stream feeds events as they come (time-driven changes are
settled inside whichever input arrives next); on it the indexed ``Router`` and the
linear-scan ``ReferenceRouter`` must decide alike, and a replay must reproduce
every decision and explanation. The checked stream wakes the router (``tick``) at
each instant before the next input, so every decision of a round follows that
round's input; there an independent model of the semantics, written from the
rules and not from the router's code, checks every decision as it is made.
"""

from __future__ import annotations

import math
import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Literal, Protocol

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from routing import (
    AgentFacts,
    BullseyeStep,
    Closed,
    Hours,
    KnownAgent,
    Location,
    LocationRule,
    Offer,
    Overflow,
    PartnerOverflow,
    PriorityPolicy,
    QueueRule,
    ReferenceRouter,
    Round,
    Router,
    RoutingRules,
    RulesRefused,
    Strategy,
    Target,
    UnknownQueue,
    ValueBand,
    WaitingCall,
)
from routing.compiled import compile_rules

DAY = 86_400.0
QUEUES = ("q0", "q1", "q2")
SKILLS = ("s0", "s1", "s2", "x")
AGENT_IDS = (1, 2, 3, 4, 5, 6)
TIERS = (None, "gold", "silver", "bronze", "vip")
LOCATIONS = ("on_site", "remote_site", "home", "partner")

SETTINGS = settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# -- random rules --------------------------------------------------------------
#
# Rules, rosters and acts are built from drawn integers with ``random.Random``:
# drawing every field through Hypothesis made generating cost more than running.
# Hypothesis still shrinks the act list (and each act's number) on a failure.


def queue_rule(rnd: random.Random, index: int, count: int) -> QueueRule:
    name = QUEUES[index]
    skills = {SKILLS[index]: rnd.randint(1, 3)}
    if rnd.random() < 0.25:
        skills["x"] = rnd.randint(1, 3)
    floor = min(skills.values())
    steps: list[BullseyeStep] = []
    after = 0.0
    for _ in range(rnd.randint(0, 3)):
        after += rnd.choice([5.0, 10.0, 20.0])
        relax = rnd.choice([None, rnd.randint(1, floor)])
        floor = relax if relax is not None else floor
        steps.append(
            BullseyeStep(
                after_s=after,
                min_proficiency=relax,
                also_skills=rnd.choice([{}, {}, {"x": 2}, {SKILLS[(index + 1) % 3]: 3}]),
                add_locations=rnd.choice(
                    [[], [], [Location.HOME], [Location.REMOTE_SITE, Location.HOME]]
                ),
            )
        )
    later = [f"queue:{other}" for other in QUEUES[index + 1 : count]]
    overflow = rnd.choice([None, None, "voicemail", "callback", *later])
    hours = None
    closed_action = "voicemail"
    if rnd.random() < 0.2:
        # 1970-01-01, where the clock starts, was a Thursday: open for two minutes
        hours = Hours(weekly={"thu": ["00:00-00:02"]})
        closed_action = rnd.choice(["voicemail", "hangup", *later])
    return QueueRule(
        name=name,
        skills=skills,
        strategy=rnd.choice(list(Strategy)),
        priority=rnd.choice([0, 0, 50]),
        max_wait_s=rnd.choice([30.0, 60.0]) if overflow else None,
        overflow=Target.model_validate(overflow) if overflow else None,
        hours=hours,
        closed_action=Target.model_validate(closed_action),
        locations=rnd.choice(
            [
                [Location.ON_SITE],
                [Location.ON_SITE, Location.REMOTE_SITE],
                [Location.ON_SITE, Location.REMOTE_SITE, Location.HOME],
            ]
        ),
        steps=steps,
        partner=rnd.choice(
            [
                None,
                PartnerOverflow(min_waiting=2),
                PartnerOverflow(after_s=12.0),
                PartnerOverflow(min_waiting=3, after_s=25.0),
            ]
        ),
        known_agent=rnd.choice(
            [None, KnownAgent(within_days=1, wait_s=8.0), KnownAgent(wait_s=30.0)]
        ),
    )


def make_rules(rnd: random.Random) -> RoutingRules:
    count = rnd.randint(2, 3)
    preferences = rnd.sample([0, 1, 2, 3], 4)
    return RoutingRules(
        queues=[queue_rule(rnd, index, count) for index in range(count)],
        locations=[
            LocationRule(
                location=Location(loc), preference=pref, cost_per_min=rnd.choice([0.2, 0.5, 1.0])
            )
            for loc, pref in zip(LOCATIONS, preferences, strict=True)
        ],
        priority=PriorityPolicy(
            aging_per_s=rnd.choice([0.5, 2.0, 10.0]),
            lifetime_value=rnd.choice([[], [ValueBand(min_value=1000, points=70)]]),
        ),
    )


def make_roster(rnd: random.Random) -> dict[int, AgentFacts]:
    """Each agent's skills and location, fixed for the whole run; in one world
    out of three every agent can serve every queue, so they compete for calls."""
    versatile = rnd.random() < 0.35
    return {
        agent_id: AgentFacts(
            agent_id,
            {
                skill: rnd.randint(2, 5)
                for skill in (SKILLS if versatile else rnd.sample(SKILLS, rnd.randint(1, 3)))
            },
            location=rnd.choice(LOCATIONS),
        )
        for agent_id in AGENT_IDS
    }


@dataclass(frozen=True)
class World:
    """The rules a run starts with, the rules it may switch to, and its agents."""

    rules: RoutingRules
    alternatives: list[RoutingRules]
    roster: dict[int, AgentFacts]


def make_world(seed: int) -> World:
    rnd = random.Random(seed)
    rules = make_rules(rnd)
    alternatives = [make_rules(rnd) for _ in range(rnd.randint(1, 2))]
    return World(rules, alternatives, make_roster(rnd))


worlds = st.integers(0, 2**32 - 1).map(make_world)


# -- random events ------------------------------------------------------------

Kind = Literal[
    "call_arrived",
    "call_again",
    "call_left",
    "offer_failed",
    "agent_available",
    "agent_busy",
    "agent_away",
    "tick",
    "replace_rules",
]


@dataclass(frozen=True)
class Act:
    """One random input, before it is pinned to the run's state (which call an
    ``offer_failed`` is for depends on what has been offered by then)."""

    kind: Kind
    dt: float
    pick: int
    tier: str | None = None
    value: float = 0.0
    last_agent: int | None = None
    served_days_ago: float | None = None
    early: float = 0.0
    readmitted: bool = False
    idle_back: float = 0.0
    busy_s: float = 0.0


WEIGHTS: dict[Kind, int] = {
    "tick": 2,
    "call_arrived": 10,
    "call_again": 1,
    "agent_available": 8,
    "call_left": 3,
    "offer_failed": 3,
    "agent_busy": 2,
    "agent_away": 1,
    "replace_rules": 1,
}
KINDS: list[Kind] = [kind for kind, weight in WEIGHTS.items() for _ in range(weight)]


def make_act(code: int) -> Act:
    rnd = random.Random(code)
    return Act(
        kind=KINDS[code % len(KINDS)],
        dt=rnd.choice([0.0, 0.0, 0.5, 1.0, 2.0, 3.0, 5.0, 10.0, 30.0]),
        pick=rnd.randint(0, 60),
        tier=rnd.choice(TIERS),
        value=rnd.choice([0.0, 0.0, 5000.0]),
        last_agent=rnd.choice([None, None, *AGENT_IDS]),
        served_days_ago=rnd.choice([None, 0.5, 3.0]),
        early=rnd.choice([0.0, 0.0, 4.0]),
        readmitted=rnd.random() < 0.1,
        idle_back=rnd.choice([0.0, 5.0, 60.0]),
        busy_s=rnd.choice([0.0, 100.0, 300.0]),
    )


acts = st.integers(0, 2**24).map(make_act)


@dataclass(frozen=True)
class Event:
    """A concrete input, replayable as it is."""

    kind: Literal[
        "call_arrived",
        "call_left",
        "offer_failed",
        "agent_available",
        "agent_busy",
        "agent_away",
        "tick",
        "replace_rules",
    ]
    now: float
    call: WaitingCall | None = None
    call_id: str = ""
    agent: AgentFacts | None = None
    agent_id: int = 0
    rules: RoutingRules | None = None


class Routes(Protocol):
    def call_arrived(self, call: WaitingCall, now: float) -> Round: ...
    def call_left(self, call_id: str, now: float) -> Round: ...
    def offer_failed(self, call_id: str, now: float) -> Round: ...
    def agent_available(self, agent: AgentFacts, now: float) -> Round: ...
    def agent_busy(self, agent: AgentFacts, now: float) -> Round: ...
    def agent_away(self, agent_id: int, now: float) -> Round: ...
    def tick(self, now: float) -> Round: ...
    def replace_rules(self, rules: RoutingRules, now: float) -> Round: ...


Outcome = Round | Literal["unknown queue", "rules refused"]


def feed(router: Routes, event: Event) -> Outcome:
    try:
        match event.kind:
            case "call_arrived":
                assert event.call is not None
                return router.call_arrived(event.call, event.now)
            case "call_left":
                return router.call_left(event.call_id, event.now)
            case "offer_failed":
                return router.offer_failed(event.call_id, event.now)
            case "agent_available":
                assert event.agent is not None
                return router.agent_available(event.agent, event.now)
            case "agent_busy":
                assert event.agent is not None
                return router.agent_busy(event.agent, event.now)
            case "agent_away":
                return router.agent_away(event.agent_id, event.now)
            case "tick":
                return router.tick(event.now)
            case "replace_rules":
                assert event.rules is not None
                return router.replace_rules(event.rules, event.now)
    except UnknownQueue:
        return "unknown queue"
    except RulesRefused:
        return "rules refused"


def same_outcome(fast: Outcome, slow: Outcome) -> bool:
    if isinstance(fast, Round) and isinstance(slow, Round):
        return fast.decisions == slow.decisions and fast.wake_at == slow.wake_at
    return fast == slow


class Pinner:
    """Turns random acts into concrete events, following what the router did."""

    def __init__(self, roster: dict[int, AgentFacts], alternatives: list[RoutingRules]) -> None:
        self.roster = roster
        self.alternatives = alternatives
        self.calls: dict[str, WaitingCall] = {}
        self.offered: dict[str, int] = {}
        self.serial = 0

    def pin(self, act: Act, now: float, router: Router) -> Event:
        match act.kind:
            case "call_arrived":
                return Event("call_arrived", now, call=self._new_call(act, now))
            case "call_again":
                present = sorted({*router.waiting, *self.offered})
                if not present:
                    return Event("tick", now)
                return Event("call_arrived", now, call=self.calls[present[act.pick % len(present)]])
            case "call_left":
                if not self.calls:
                    return Event("tick", now)
                ids = sorted(self.calls)
                return Event("call_left", now, call_id=ids[act.pick % len(ids)])
            case "offer_failed":
                if not self.offered:
                    return Event("tick", now)
                ids = sorted(self.offered)
                return Event("offer_failed", now, call_id=ids[act.pick % len(ids)])
            case "agent_available" | "agent_busy":
                base = self.roster[AGENT_IDS[act.pick % len(AGENT_IDS)]]
                facts = AgentFacts(
                    base.agent_id,
                    base.skills,
                    location=base.location,
                    idle_since=now - act.idle_back,
                    busy_s_today=act.busy_s,
                )
                return Event(act.kind, now, agent=facts)
            case "agent_away":
                return Event("agent_away", now, agent_id=AGENT_IDS[act.pick % len(AGENT_IDS)])
            case "tick":
                return Event("tick", now)
            case "replace_rules":
                rules = self.alternatives[act.pick % len(self.alternatives)]
                return Event("replace_rules", now, rules=rules)

    def _new_call(self, act: Act, now: float) -> WaitingCall:
        self.serial += 1
        served = None if act.served_days_ago is None else now - act.served_days_ago * DAY
        call = WaitingCall(
            f"c{self.serial:03d}",
            QUEUES[act.pick % len(QUEUES)],
            now - act.early,
            tier=act.tier,
            lifetime_value=act.value,
            last_agent_id=act.last_agent,
            last_served_at=served,
            admitted_at=now - 10.0 if act.readmitted else None,
        )
        self.calls[call.call_id] = call
        return call

    def saw(self, event: Event, outcome: Outcome) -> None:
        if event.kind in ("offer_failed", "call_left"):
            self.offered.pop(event.call_id, None)
        if isinstance(outcome, Round):
            for offer in outcome.offers:
                self.offered[offer.call_id] = offer.agent_id


# -- the model ----------------------------------------------------------------


@dataclass
class Caller:
    call: WaitingCall
    queue: str
    entered_at: float
    excluded: set[int] = field(default_factory=set)
    known: int | None = None
    known_until: float = 0.0


def meets(skills: dict[str, int], wanted: dict[str, int]) -> bool:
    return all(skills.get(skill, 0) >= level for skill, level in wanted.items())


def widened(rule: QueueRule, waited: float) -> tuple[list[dict[str, int]], set[str], bool]:
    """What the queue admits after ``waited`` seconds, read straight off the rule:
    the ways to qualify by skill, the locations, and whether partners are in."""
    required = dict(rule.skills)
    extra: list[dict[str, int]] = []
    locations = {loc.value for loc in rule.locations}
    for step in rule.steps:
        if step.after_s <= waited:
            if step.min_proficiency is not None:
                required = {s: min(m, step.min_proficiency) for s, m in required.items()}
            if step.also_skills:
                extra.append(dict(step.also_skills))
            locations |= {loc.value for loc in step.add_locations}
    partner = rule.partner
    by_wait = partner is not None and partner.after_s is not None and partner.after_s <= waited
    return [required, *extra], locations, by_wait


class Model:
    """The routing semantics as the issue states them, checked decision by decision."""

    def __init__(self, rules: RoutingRules, enabled: set[str]) -> None:
        self.checks = Checks(enabled)
        self.rules = rules
        self.compiled = compile_rules(rules)
        self.now = 0.0
        self.waiting: dict[str, Caller] = {}
        self.offered: dict[str, tuple[Caller, int]] = {}
        self.ready: dict[int, AgentFacts] = {}
        self.on_shift: dict[int, AgentFacts] = {}
        #: agent -> the call it is ringing for
        self.holding: dict[int, str] = {}
        self.turns: dict[tuple[str, int], int] = {}
        self.turn = 0

    # rules, read independently of the router's compiled form

    def rule(self, queue: str) -> QueueRule:
        rule = self.rules.queue(queue)
        assert rule is not None
        return rule

    def base(self, caller: Caller) -> float:
        policy = self.rules.priority
        call = caller.call
        tier = policy.tiers.get(call.tier, 0) if call.tier else 0
        value = max(
            (b.points for b in policy.lifetime_value if call.lifetime_value >= b.min_value),
            default=0,
        )
        return tier + value + self.rule(caller.queue).priority

    def key(self, caller: Caller) -> tuple[float, float, str]:
        static = self.base(caller) - self.rules.priority.aging_per_s * caller.call.enqueued_at
        return (-static, caller.call.enqueued_at, caller.call.call_id)

    def spread(self) -> float:
        """Highest minus lowest base priority any caller can have."""
        policy = self.rules.priority
        tiers = [policy.tiers.get(t, 0) if t else 0 for t in TIERS]
        values = [0, *(b.points for b in policy.lifetime_value)]
        queues = [q.priority for q in self.rules.queues]
        return max(tiers) + max(values) + max(queues) - min(tiers) - min(values) - min(queues)

    def in_queue(self, queue: str) -> int:
        return sum(1 for c in self.waiting.values() if c.queue == queue)

    def known_skilled(self, rule: QueueRule, agent: AgentFacts) -> bool:
        alternatives, _, _ = widened(rule, math.inf)
        return any(meets(dict(agent.skills), alt) for alt in alternatives)

    def eligible(self, caller: Caller, agent: AgentFacts) -> bool:
        rule = self.rule(caller.queue)
        if caller.known is not None:
            return agent.agent_id == caller.known and self.known_skilled(rule, agent)
        if agent.agent_id in caller.excluded:
            return False
        alternatives, locations, by_wait = widened(rule, self.now - caller.entered_at)
        if not any(meets(dict(agent.skills), alt) for alt in alternatives):
            return False
        if agent.location in locations:
            return True
        by_load = (
            rule.partner is not None
            and rule.partner.min_waiting is not None
            and self.in_queue(caller.queue) >= rule.partner.min_waiting
        )
        return agent.location == "partner" and (by_wait or by_load)

    def rank(self, queue: str, agent: AgentFacts) -> tuple[float, float, float, int]:
        rule = self.rule(queue)
        places = {r.location.value: (r.preference, r.cost_per_min) for r in self.rules.locations}
        preference, cost = places.get(agent.location, (1000, 0.0))
        match rule.strategy:
            case Strategy.LONGEST_IDLE:
                return (preference, agent.idle_since, 0.0, agent.agent_id)
            case Strategy.LEAST_OCCUPIED:
                return (preference, agent.busy_s_today, agent.idle_since, agent.agent_id)
            case Strategy.HIGHEST_PROFICIENCY:
                alternatives, _, _ = widened(rule, math.inf)
                skill = max(
                    (
                        sum(agent.skills.get(s, 0) for s in alt)
                        for alt in alternatives
                        if meets(dict(agent.skills), alt)
                    ),
                    default=0,
                )
                return (preference, -skill, agent.idle_since, agent.agent_id)
            case Strategy.ROUND_ROBIN:
                turn = self.turns.get((queue, agent.agent_id), 0)
                return (preference, turn, 0.0, agent.agent_id)
            case Strategy.LOWEST_COST:
                return (cost, preference, agent.idle_since, agent.agent_id)

    def keep_for_known_agent(self, caller: Caller) -> None:
        caller.known = None
        known = self.rule(caller.queue).known_agent
        call = caller.call
        agent_id, served_at = call.last_agent_id, call.last_served_at
        if known is None or agent_id is None or served_at is None:
            return
        if agent_id in caller.excluded or self.now - served_at > known.within_days * DAY:
            return
        facts = self.on_shift.get(agent_id)
        if facts is None or not self.known_skilled(self.rule(caller.queue), facts):
            return
        until = call.enqueued_at + known.wait_s
        if self.now < until:
            caller.known, caller.known_until = agent_id, until

    def file(self, caller: Caller) -> None:
        self.waiting[caller.call.call_id] = caller
        self.keep_for_known_agent(caller)

    def is_open(self, queue: str) -> bool:
        calendar = self.compiled.queues[queue].calendar
        return calendar is None or calendar.state_at(self.now).is_open

    # inputs

    def apply(self, event: Event, outcome: Outcome, router: Router) -> None:
        assert event.now >= self.now
        self.now = event.now
        for caller in self.waiting.values():
            if caller.known is not None and self.now >= caller.known_until:
                caller.known = None
        decisions = list(outcome.decisions) if isinstance(outcome, Round) else []
        match event.kind:
            case "call_arrived":
                assert event.call is not None
                decisions = self._arrived(event.call, outcome, decisions)
            case "call_left":
                self.waiting.pop(event.call_id, None)
                gone = self.offered.pop(event.call_id, None)
                if gone is not None and self.holding.get(gone[1]) == event.call_id:
                    del self.holding[gone[1]]
            case "offer_failed":
                caller, agent_id = self.offered.pop(event.call_id)
                if self.holding.get(agent_id) == event.call_id:
                    del self.holding[agent_id]
                caller.excluded.add(agent_id)
                self.file(caller)
            case "agent_available":
                assert event.agent is not None
                self.ready[event.agent.agent_id] = event.agent
                self.on_shift[event.agent.agent_id] = event.agent
                self.holding.pop(event.agent.agent_id, None)
            case "agent_busy":
                assert event.agent is not None
                self.ready.pop(event.agent.agent_id, None)
                self.on_shift[event.agent.agent_id] = event.agent
            case "agent_away":
                self.ready.pop(event.agent_id, None)
                self.on_shift.pop(event.agent_id, None)
                for caller in self.waiting.values():
                    if caller.known == event.agent_id:
                        caller.known = None
            case "replace_rules":
                assert event.rules is not None
                present = {c.queue for c in self.waiting.values()} | {
                    c.queue for c, _ in self.offered.values()
                }
                names = {q.name for q in event.rules.queues}
                assert (outcome == "rules refused") == bool(present - names)
                if outcome != "rules refused":
                    self.rules = event.rules
                    self.compiled = compile_rules(event.rules)
                    for caller in self.waiting.values():
                        self.keep_for_known_agent(caller)
            case "tick":
                pass
        for decision in decisions:
            if isinstance(decision, Overflow):
                self._overflowed(decision)
            elif isinstance(decision, Offer):
                self._offered(decision)
            else:
                raise AssertionError(f"unexpected {decision}")
        assert isinstance(outcome, Round) or not decisions
        self._after_round(outcome, router)

    def _arrived(
        self, call: WaitingCall, outcome: Outcome, decisions: list[Offer | Overflow | Closed]
    ) -> list[Offer | Overflow | Closed]:
        if self.rules.queue(call.queue) is None:
            assert outcome == "unknown queue"
            return []
        assert isinstance(outcome, Round)
        if call.call_id in self.waiting or call.call_id in self.offered:
            assert decisions == [], "a call reported twice is not queued twice"
            return []
        current: str | None = call.queue
        entered = self.now
        if call.admitted_at is not None:
            entered = min(call.admitted_at, self.now)
        while decisions and isinstance(closed := decisions[0], Closed):
            decisions.pop(0)
            assert call.admitted_at is None, "a re-admitted caller skips the opening hours"
            assert closed.queue == current and closed.call_id == call.call_id
            assert not self.is_open(closed.queue), f"{closed.queue} is open"
            assert closed.action == self.rule(closed.queue).closed_action
            current = closed.action.queue
        if current is not None:
            assert call.admitted_at is not None or self.is_open(current)
            self.file(Caller(call, current, entered))
        return decisions

    def _overflowed(self, overflow: Overflow) -> None:
        caller = self.waiting.pop(overflow.call_id)
        rule = self.rule(caller.queue)
        assert overflow.source_queue == caller.queue
        assert rule.max_wait_s is not None and overflow.target == rule.overflow
        assert self.now - caller.entered_at >= rule.max_wait_s, "overflowed before its max wait"
        if overflow.target.queue is not None:
            moved = Caller(caller.call, overflow.target.queue, self.now, caller.excluded)
            self.file(moved)

    def _offered(self, offer: Offer) -> None:
        self.checks.offer(self, offer)
        caller = self.waiting.pop(offer.call_id)
        self.ready.pop(offer.agent_id)
        self.offered[offer.call_id] = (caller, offer.agent_id)
        self.holding[offer.agent_id] = offer.call_id
        self.turn += 1
        self.turns[(offer.queue, offer.agent_id)] = self.turn

    def _after_round(self, outcome: Outcome, router: Router) -> None:
        self.checks.after_round(self, outcome, router)

    def next_change(self) -> float | None:
        """When the router should be woken: the earliest step, known-agent window
        end or max wait among the waiting callers (a max wait already passed: now)."""
        times: list[float] = []
        for caller in self.waiting.values():
            rule = self.rule(caller.queue)
            waited = self.now - caller.entered_at
            steps = [s.after_s for s in rule.steps]
            if rule.partner is not None and rule.partner.after_s is not None:
                steps.append(rule.partner.after_s)
            times.extend(caller.entered_at + s for s in steps if s > waited)
            if caller.known is not None:
                times.append(caller.known_until)
            if rule.max_wait_s is not None:
                times.append(max(self.now, caller.entered_at + rule.max_wait_s))
        return min(times) if times else None


class Checks:
    """What must hold at each offer and after each round; ``enabled`` picks which
    property a test holds the router to (the model itself always runs)."""

    def __init__(self, enabled: set[str]) -> None:
        self.enabled = enabled

    def offer(self, model: Model, offer: Offer) -> None:
        caller = model.waiting.get(offer.call_id)
        assert caller is not None, f"{offer.call_id} offered but not waiting"
        assert caller.queue == offer.queue
        assert offer.ring_timeout_s == model.rule(offer.queue).ring_timeout_s
        if "one offer per agent" in self.enabled:
            assert offer.agent_id not in model.holding, (
                f"agent {offer.agent_id} offered {offer.call_id} while still ringing for "
                f"{model.holding[offer.agent_id]}"
            )
        assert offer.agent_id in model.ready, f"agent {offer.agent_id} is not Ready"
        agent = model.ready[offer.agent_id]
        assert model.eligible(caller, agent), f"agent {offer.agent_id} not eligible"
        others = [c for c in model.waiting.values() if c is not caller]
        if "arrival order" in self.enabled:
            for other in others:
                if (
                    other.queue == caller.queue
                    and model.base(other) == model.base(caller)
                    and other.call.enqueued_at < caller.call.enqueued_at
                ):
                    assert not model.eligible(other, agent), (
                        f"{offer.call_id} overtook {other.call.call_id}, who arrived earlier "
                        f"with the same priority in {caller.queue}, for agent {offer.agent_id}"
                    )
        if "aging bound" in self.enabled:
            bound = model.spread() / model.rules.priority.aging_per_s
            for other in others:
                if caller.call.enqueued_at - other.call.enqueued_at > bound:
                    assert not model.eligible(other, agent), (
                        f"{offer.call_id} overtook {other.call.call_id}, who arrived more than "
                        f"{bound:g} s before it, for agent {offer.agent_id}"
                    )
        if "best pair" in self.enabled:
            mine = model.key(caller)
            for other in others:
                if model.key(other) < mine:
                    assert not any(model.eligible(other, a) for a in model.ready.values()), (
                        f"{other.call.call_id} has priority over {offer.call_id} and an agent"
                    )
            if caller.known is None:
                best = min(
                    model.rank(caller.queue, a)
                    for a in model.ready.values()
                    if model.eligible(caller, a)
                )
                assert model.rank(caller.queue, agent) == best, "not the strategy's best agent"

    def after_round(self, model: Model, outcome: Outcome, router: Router) -> None:
        assert set(router.waiting) == set(model.waiting)
        for call_id, caller in model.waiting.items():
            state = router.waiting[call_id]
            assert (state.queue, state.known) == (caller.queue, caller.known), call_id
        if "no idle pair" in self.enabled:
            for caller in model.waiting.values():
                for agent in model.ready.values():
                    assert not model.eligible(caller, agent), (
                        f"{caller.call.call_id} waits while agent {agent.agent_id} is Ready "
                        "and eligible for it"
                    )
        if "wake-ups" in self.enabled and isinstance(outcome, Round):
            assert outcome.wake_at == model.next_change()
            for caller in model.waiting.values():
                max_wait = model.rule(caller.queue).max_wait_s
                if max_wait is not None and model.now - caller.entered_at >= max_wait:
                    assert outcome.wake_at is not None and outcome.wake_at <= model.now


# -- running a stream -----------------------------------------------------------


@dataclass
class Run:
    events: list[Event] = field(default_factory=list)
    outcomes: list[Outcome] = field(default_factory=list)


def run_raw(world: World, stream: Iterable[Act]) -> Run:
    """Feed the stream to both routers, requiring identical outcomes each time."""
    router, reference = Router(world.rules), ReferenceRouter(world.rules)
    pinner = Pinner(world.roster, world.alternatives)
    run = Run()
    now = 0.0
    for act in stream:
        now += act.dt
        event = pinner.pin(act, now, router)
        fast, slow = feed(router, event), feed(reference, event)
        assert same_outcome(fast, slow), f"{event}\n fast: {fast}\n reference: {slow}"
        pinner.saw(event, fast)
        run.events.append(event)
        run.outcomes.append(fast)
    return run


def run_checked(world: World, stream: Iterable[Act], enabled: set[str]) -> Model:
    """Wake the router at each instant, then feed the input; the model checks the
    ``enabled`` properties at every decision and after every round."""
    router, reference = Router(world.rules), ReferenceRouter(world.rules)
    pinner = Pinner(world.roster, world.alternatives)
    model = Model(world.rules, enabled)
    now = 0.0
    for act in stream:
        now += act.dt
        event = pinner.pin(act, now, router)
        for each in (Event("tick", now), event) if event.kind != "tick" else (event,):
            fast, slow = feed(router, each), feed(reference, each)
            assert same_outcome(fast, slow), f"{each}\n fast: {fast}\n reference: {slow}"
            pinner.saw(each, fast)
            model.apply(each, fast, router)
    return model


streams = st.lists(acts, min_size=5, max_size=60)


# -- the properties ---------------------------------------------------------------


@SETTINGS
@given(worlds, streams)
def test_indexed_and_reference_routers_decide_alike(world: World, stream: list[Act]) -> None:
    run_raw(world, stream)


@SETTINGS
@given(worlds, streams)
def test_replaying_the_same_events_gives_the_same_decisions_and_explanations(
    world: World, stream: list[Act]
) -> None:
    first = run_raw(world, stream)
    replay = Router(world.rules)
    for event, before in zip(first.events, first.outcomes, strict=True):
        again = feed(replay, event)
        assert same_outcome(again, before), event
        if isinstance(again, Round) and isinstance(before, Round):
            assert [d.explanation.as_json() for d in again.decisions] == [
                d.explanation.as_json() for d in before.decisions
            ]
            assert [d.explanation.summary() for d in again.decisions] == [
                d.explanation.summary() for d in before.decisions
            ]


@SETTINGS
@given(worlds, streams)
def test_one_round_never_offers_an_agent_two_calls(world: World, stream: list[Act]) -> None:
    """Even when an already-Ready agent is reported Ready again at the instant a
    bullseye step gives them a call (the raw stream settles it inside that input)."""
    run = run_raw(world, stream)
    for event, outcome in zip(run.events, run.outcomes, strict=True):
        if isinstance(outcome, Round):
            agents = [offer.agent_id for offer in outcome.offers]
            assert len(agents) == len(set(agents)), f"{event}: {outcome}"


@SETTINGS
@given(worlds, streams)
def test_an_agent_is_never_offered_a_second_call_while_ringing(
    world: World, stream: list[Act]
) -> None:
    run_checked(world, stream, {"one offer per agent"})


@SETTINGS
@given(worlds, streams)
def test_no_ready_eligible_agent_and_waiting_call_remain_after_a_round(
    world: World, stream: list[Act]
) -> None:
    run_checked(world, stream, {"no idle pair"})


@SETTINGS
@given(worlds, streams)
def test_same_priority_callers_in_a_queue_are_offered_in_arrival_order(
    world: World, stream: list[Act]
) -> None:
    run_checked(world, stream, {"arrival order"})


@SETTINGS
@given(worlds, streams)
def test_aging_bounds_how_much_later_an_overtaking_caller_can_have_arrived(
    world: World, stream: list[Act]
) -> None:
    run_checked(world, stream, {"aging bound"})


@SETTINGS
@given(worlds, streams)
def test_each_offer_pairs_the_best_caller_with_its_best_agent(
    world: World, stream: list[Act]
) -> None:
    run_checked(world, stream, {"best pair"})


@SETTINGS
@given(worlds, streams)
def test_wake_at_is_the_next_step_window_or_max_wait_of_a_waiting_caller(
    world: World, stream: list[Act]
) -> None:
    run_checked(world, stream, {"wake-ups"})


@settings(max_examples=150, deadline=None)
@given(
    st.sampled_from([0.5, 1.0, 4.0]),
    st.lists(
        st.tuples(st.sampled_from(TIERS), st.sampled_from([0.0, 1.0, 5.0, 30.0])),
        min_size=2,
        max_size=30,
    ),
    st.sampled_from([2.0, 10.0, 60.0]),
)
def test_with_an_agent_always_coming_free_nobody_waits_behind_much_later_callers(
    aging: float, arrivals: list[tuple[str | None, float]], handling_s: float
) -> None:
    """One queue, one agent who takes a call, talks for ``handling_s`` and is free
    again, while callers of every tier keep arriving: a caller is never passed over
    for one who arrived more than (highest - lowest priority) / aging seconds later."""
    rules = RoutingRules(
        queues=[QueueRule(name="q0", skills={"s0": 1})],
        priority=PriorityPolicy(aging_per_s=aging),
    )
    tiers = [rules.priority.tiers.get(t, 0) if t else 0 for t in TIERS]
    bound = (max(tiers) - min(tiers)) / aging
    router = Router(rules)
    agent = AgentFacts(1, {"s0": 1})
    arrived: dict[str, float] = {}
    now = 0.0
    for n, (_, gap) in enumerate(arrivals):
        now += gap
        arrived[f"c{n:02d}"] = now
    pending = sorted(arrived.items(), key=lambda item: item[1])
    waiting: set[str] = set()
    free_at = 0.0
    while pending or waiting:
        if pending and (pending[0][1] <= free_at or not waiting):
            call_id, at = pending.pop(0)
            tier = arrivals[int(call_id[1:])][0]
            offers = router.call_arrived(WaitingCall(call_id, "q0", at, tier=tier), now=at).offers
            waiting.add(call_id)
            now = at
        else:
            now = max(now, free_at)
            offers = router.agent_available(agent, now=now).offers
            assert len(offers) == 1, "a free agent and waiting callers: someone is offered"
        for offer in offers:
            for other in waiting - {offer.call_id}:
                assert arrived[offer.call_id] - arrived[other] <= bound, (offer.call_id, other)
            waiting.discard(offer.call_id)
            router.call_left(offer.call_id, now=now)
            router.agent_busy(agent, now=now)
            free_at = now + handling_s
    assert router.waiting == {}
