"""What-if: replay recorded traffic through the router under other rules.

Before publishing a draft, an admin asks "would these rules have served the
last day better?". The answer comes from running the real router (``Router``),
not a model of it, over the recorded arrivals, in simulated time: a discrete-
event simulation whose clock jumps from one event to the next (a day replays in
well under a second), deterministic like the router (same input, same figures;
ties broken by input order).

The model, and its limits (the admin page states them beside the figures):

- arrivals, the queue each call came to, and the caller's tier and value are
  the recorded ones;
- an answered call keeps the agent busy for its recorded handle time (talk and
  hold), then the queue's ``wrap_up_s``; a call never answered in reality gets
  the median handle time of its queue's answered calls (``default_handle_s``
  when there is none);
- a caller who hung up unanswered after waiting W seconds hangs up after W
  seconds here too, unless served sooner; one who was answered in reality is
  assumed to wait as long as it takes (their patience is unknown, only that it
  was at least their wait);
- agents are logged in when they were (``PastShift``), Ready whenever not on a
  call, with the skills and location they have now;
- an offer is answered at once: no ring time, no missed offers (RONA), no
  transfers. Overflows to a queue move the call as live; to voicemail, a
  callback or a hang-up they end it (``sent_elsewhere``), as a closed queue's
  non-queue action does.

This module is pure: no I/O, no clock of its own.
"""

from __future__ import annotations

import heapq
import statistics
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from routing.model import AgentFacts, Closed, Offer, Overflow, Round, WaitingCall
from routing.router import Router, UnknownQueue
from routing.rules import RoutingRules

# Event kinds, in the order they are handled at the same instant: an agent who
# finishes a call at t can take the call that arrives at t.
_DONE, _SHIFT_END, _SHIFT_START, _ARRIVE, _ABANDON, _WAKE = range(6)


@dataclass(frozen=True, slots=True)
class PastCall:
    """One recorded inbound call (times in epoch seconds)."""

    call_id: str
    queue: str
    arrived_at: float
    tier: str | None = None
    lifetime_value: float = 0.0
    #: talk + hold seconds of the real call, when it was answered
    handle_s: float | None = None
    #: seconds the caller waited before hanging up unanswered; None: unknown
    #: (answered), taken as "waits as long as needed"
    patience_s: float | None = None


@dataclass(frozen=True, slots=True)
class PastShift:
    """One span an agent was logged in."""

    agent_id: int
    skills: Mapping[str, int]
    location: str
    start: float
    end: float


@dataclass(frozen=True, slots=True)
class QueueFigures:
    calls: int = 0
    answered: int = 0
    abandoned: int = 0
    sent_elsewhere: int = 0
    #: still waiting when the replayed period ended
    unanswered: int = 0
    #: their queue is not in the rules
    unrouted: int = 0
    #: answered within the queue's ``service_level_s`` / answered (Asterisk's
    #: definition); None when nothing was answered
    service_level: float | None = None
    #: mean wait of the answered calls
    avg_wait_s: float | None = None
    #: abandoned / calls
    abandon_rate: float | None = None
    #: agents' busy time (calls and wrap-up) / their logged-in time (overall only)
    occupancy: float | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            name: round(value, 4) if isinstance(value, float) else value
            for name, value in (
                ("calls", self.calls),
                ("answered", self.answered),
                ("abandoned", self.abandoned),
                ("sent_elsewhere", self.sent_elsewhere),
                ("unanswered", self.unanswered),
                ("unrouted", self.unrouted),
                ("service_level", self.service_level),
                ("avg_wait_s", self.avg_wait_s),
                ("abandon_rate", self.abandon_rate),
                ("occupancy", self.occupancy),
            )
        }


@dataclass(frozen=True, slots=True)
class WhatIfFigures:
    overall: QueueFigures
    queues: dict[str, QueueFigures]

    def as_json(self) -> dict[str, Any]:
        return {
            "overall": self.overall.as_json(),
            "queues": {name: figures.as_json() for name, figures in self.queues.items()},
        }


@dataclass(slots=True)
class _Tally:
    calls: int = 0
    answered: int = 0
    within: int = 0
    abandoned: int = 0
    sent_elsewhere: int = 0
    unanswered: int = 0
    unrouted: int = 0
    wait_s: float = 0.0

    def add(self, other: _Tally) -> None:
        for name in self.__slots__:
            setattr(self, name, getattr(self, name) + getattr(other, name))

    def figures(self, occupancy: float | None = None) -> QueueFigures:
        return QueueFigures(
            calls=self.calls,
            answered=self.answered,
            abandoned=self.abandoned,
            sent_elsewhere=self.sent_elsewhere,
            unanswered=self.unanswered,
            unrouted=self.unrouted,
            service_level=self.within / self.answered if self.answered else None,
            avg_wait_s=self.wait_s / self.answered if self.answered else None,
            abandon_rate=self.abandoned / self.calls if self.calls else None,
            occupancy=occupancy,
        )


@dataclass(slots=True)
class _Agent:
    skills: Mapping[str, int]
    location: str
    shifts_open: int = 0
    busy: bool = False
    idle_since: float = 0.0
    busy_s: float = 0.0
    logged_since: float | None = None
    logged_s: float = 0.0

    def facts(self, agent_id: int) -> AgentFacts:
        return AgentFacts(
            agent_id=agent_id,
            skills=self.skills,
            location=self.location,
            idle_since=self.idle_since,
            busy_s_today=self.busy_s,
        )


@dataclass(slots=True)
class _Simulation:
    rules: RoutingRules
    calls: Sequence[PastCall]
    shifts: Sequence[PastShift]
    default_handle_s: float
    router: Router = field(init=False)
    events: list[tuple[float, int, int, Any]] = field(default_factory=list)
    sequence: int = 0
    agents: dict[int, _Agent] = field(default_factory=dict)
    waiting: dict[str, PastCall] = field(default_factory=dict)
    tallies: dict[str, _Tally] = field(default_factory=lambda: defaultdict(_Tally))
    handle_by_queue: dict[str, float] = field(default_factory=dict)
    wakes: set[float] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.router = Router(self.rules)
        answered: dict[str, list[float]] = defaultdict(list)
        for call in self.calls:
            if call.handle_s is not None:
                answered[call.queue].append(call.handle_s)
        self.handle_by_queue = {q: statistics.median(h) for q, h in answered.items()}

    def push(self, at: float, kind: int, payload: Any) -> None:
        self.sequence += 1
        heapq.heappush(self.events, (at, kind, self.sequence, payload))

    def run(self) -> WhatIfFigures:
        for call in self.calls:
            self.push(call.arrived_at, _ARRIVE, call)
        for shift in self.shifts:
            self.agents.setdefault(shift.agent_id, _Agent(shift.skills, shift.location))
            self.push(shift.start, _SHIFT_START, shift.agent_id)
            self.push(max(shift.start, shift.end), _SHIFT_END, shift.agent_id)
        ends = [c.arrived_at for c in self.calls] + [s.end for s in self.shifts]
        horizon = max(ends, default=0.0)
        now = horizon
        while self.events:
            at, kind, _, payload = heapq.heappop(self.events)
            if at > horizon and kind != _DONE:
                continue
            now = max(now, at) if at > horizon else at
            self.handle(at, kind, payload)
        for call in self.waiting.values():
            self.tallies[call.queue].unanswered += 1
        for agent in self.agents.values():
            if agent.logged_since is not None:
                agent.logged_s += max(0.0, now - agent.logged_since)
        return self.figures()

    def handle(self, now: float, kind: int, payload: Any) -> None:
        if kind == _ARRIVE:
            self.arrive(payload, now)
        elif kind == _ABANDON:
            call = self.waiting.pop(payload, None)
            if call is not None:
                self.tallies[call.queue].abandoned += 1
                self.apply(self.router.call_left(call.call_id, now), now)
        elif kind == _DONE:
            self.done(payload, now)
        elif kind == _SHIFT_START:
            agent = self.agents[payload]
            agent.shifts_open += 1
            if agent.logged_since is None:
                agent.logged_since = now
                agent.idle_since = now
                if not agent.busy:
                    self.apply(self.router.agent_available(agent.facts(payload), now), now)
        elif kind == _SHIFT_END:
            agent = self.agents[payload]
            agent.shifts_open -= 1
            if agent.shifts_open == 0 and not agent.busy:
                self.log_off(payload, agent, now)
        elif kind == _WAKE:
            self.wakes.discard(now)
            self.apply(self.router.tick(now), now)

    def arrive(self, call: PastCall, now: float) -> None:
        tally = self.tallies[call.queue]
        tally.calls += 1
        waiting = WaitingCall(
            call_id=call.call_id,
            queue=call.queue,
            enqueued_at=call.arrived_at,
            tier=call.tier,
            lifetime_value=call.lifetime_value,
        )
        try:
            result = self.router.call_arrived(waiting, now)
        except UnknownQueue:
            tally.unrouted += 1
            return
        self.waiting[call.call_id] = call
        if call.patience_s is not None:
            self.push(call.arrived_at + call.patience_s, _ABANDON, call.call_id)
        self.apply(result, now)

    def done(self, agent_id: int, now: float) -> None:
        agent = self.agents[agent_id]
        agent.busy = False
        agent.idle_since = now
        if agent.shifts_open > 0:
            self.apply(self.router.agent_available(agent.facts(agent_id), now), now)
        else:
            self.log_off(agent_id, agent, now)

    def log_off(self, agent_id: int, agent: _Agent, now: float) -> None:
        if agent.logged_since is not None:
            agent.logged_s += now - agent.logged_since
            agent.logged_since = None
        self.apply(self.router.agent_away(agent_id, now), now)

    def apply(self, result: Round, now: float) -> None:
        """Carry out a round's decisions (which may produce further rounds)."""
        pending = [result]
        while pending:
            current = pending.pop(0)
            for decision in current.decisions:
                if isinstance(decision, Offer):
                    pending.extend(self.answer(decision, now))
                elif isinstance(decision, Overflow | Closed):
                    target = decision.target if isinstance(decision, Overflow) else decision.action
                    if target.kind != "queue":
                        call = self.waiting.pop(decision.call_id, None)
                        if call is not None:
                            self.tallies[call.queue].sent_elsewhere += 1
                        pending.append(self.router.call_left(decision.call_id, now))
            if current.wake_at is not None and current.wake_at not in self.wakes:
                self.wakes.add(current.wake_at)
                self.push(max(current.wake_at, now), _WAKE, None)

    def answer(self, offer: Offer, now: float) -> list[Round]:
        call = self.waiting.pop(offer.call_id, None)
        if call is None:
            return [self.router.call_left(offer.call_id, now)]
        tally = self.tallies[call.queue]
        wait = now - call.arrived_at
        tally.answered += 1
        tally.wait_s += wait
        original = self.rules.queue(call.queue)
        if original is not None and wait <= original.service_level_s:
            tally.within += 1
        served_in = self.rules.queue(offer.queue)
        wrap_up = served_in.wrap_up_s if served_in is not None else 0.0
        handle = call.handle_s
        if handle is None:
            handle = self.handle_by_queue.get(call.queue, self.default_handle_s)
        agent = self.agents[offer.agent_id]
        agent.busy = True
        agent.busy_s += handle + wrap_up
        self.push(now + handle + wrap_up, _DONE, offer.agent_id)
        return [
            self.router.call_left(call.call_id, now),
            self.router.agent_busy(agent.facts(offer.agent_id), now),
        ]

    def figures(self) -> WhatIfFigures:
        overall = _Tally()
        for tally in self.tallies.values():
            overall.add(tally)
        logged = sum(a.logged_s for a in self.agents.values())
        busy = sum(a.busy_s for a in self.agents.values())
        return WhatIfFigures(
            overall=overall.figures(occupancy=min(1.0, busy / logged) if logged > 0 else None),
            queues={name: self.tallies[name].figures() for name in sorted(self.tallies)},
        )


def simulate(
    rules: RoutingRules,
    calls: Sequence[PastCall],
    shifts: Sequence[PastShift],
    *,
    default_handle_s: float = 180.0,
) -> WhatIfFigures:
    """Replay ``calls`` with agents logged in per ``shifts`` under ``rules``."""
    ordered = sorted(calls, key=lambda c: (c.arrived_at, c.call_id))
    return _Simulation(rules, ordered, list(shifts), default_handle_s).run()


def compare(
    live: RoutingRules,
    draft: RoutingRules,
    calls: Sequence[PastCall],
    shifts: Sequence[PastShift],
) -> dict[str, Any]:
    """The same traffic under the live rules and under a draft, side by side."""
    return {
        "calls": len(calls),
        "agents": len({shift.agent_id for shift in shifts}),
        "live": simulate(live, calls, shifts).as_json(),
        "draft": simulate(draft, calls, shifts).as_json(),
    }
