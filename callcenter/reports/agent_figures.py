"""Per-agent figures over a period: calls handled and time in each state.

Definitions (docs/reports.md states them beside the numbers):

- **handled**: calls the agent took (an "offer" or "transfer" leg) whose leg
  was answered in the period and has ended; a call the agent took twice counts
  once. A call handed over without legs gets one offer leg for its answering
  agent, from the first answer to the end;
- **talk / hold**: summed over all the agent's ended legs answered in the period,
  consults and conferences included (helping on a call is work): talk = leg
  connected time - leg hold. So a transferred call's handle time is split
  between its agents by their legs;
- **wrap-up**: the call's ``wrap_up_s``, credited to the agent who answered first;
- **AHT**: (talk + hold + wrap-up) / handled;
- **time in states**: state spans from the agent's state changes, clipped to
  the period (the state at the period's start is the last change at or before
  it; the last span runs to the period's end);
- **logged in**: any state but logged_out; **busy**: reserved, ringing, on_call
  and wrap_up;
- **occupancy**: (on_call + wrap_up time) / (logged-in time - not_ready time),
  i.e. the share of the time available for calls spent on them; None when the
  agent was never available.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime
from typing import Any

from callcenter.reports.csat import csat_by_agent
from callcenter.reports.facts import (
    AGENT_STATES,
    BUSY_STATES,
    LOGGED_OUT,
    NOT_READY,
    OFFER,
    ON_CALL,
    READY,
    TAKING_KINDS,
    WRAP_UP,
    CallFact,
    LegFact,
    StateChange,
)
from callcenter.reports.periods import Period

_OCCUPIED_STATES = frozenset({ON_CALL, WRAP_UP})


@dataclass(frozen=True, slots=True)
class AgentFigures:
    agent_id: int
    handled: int
    talk_s: float
    hold_s: float
    wrap_up_s: float
    aht_s: float | None
    logged_in_s: float
    ready_s: float
    not_ready_s: float
    busy_s: float
    occupancy: float | None
    csat_avg: float | None
    csat_responses: int
    #: seconds in each state seen (logged_out left out)
    state_s: Mapping[str, float] = field(default_factory=dict)
    #: not-ready seconds by reason ("" when none was given)
    not_ready_by_reason_s: Mapping[str, float] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {f.name: _rounded(getattr(self, f.name)) for f in fields(self)}


@dataclass(frozen=True, slots=True)
class StateSpan:
    """An agent in one state over ``[start, end)``, already clipped to a period."""

    agent_id: int
    state: str
    start: datetime
    end: datetime
    reason: str | None = None

    @property
    def seconds(self) -> float:
        return max(0.0, (self.end - self.start).total_seconds())


@dataclass(slots=True)
class _Work:
    calls: set[str] = field(default_factory=set)
    talk_s: float = 0.0
    hold_s: float = 0.0
    wrap_up_s: float = 0.0


def agent_figures(
    calls: Iterable[CallFact], changes: Iterable[StateChange], period: Period
) -> dict[int, AgentFigures]:
    """Figures of every agent who was logged in or handled a call, by agent id."""
    calls = list(calls)
    work = _work_by_agent(calls, period)
    spans = _spans_by_agent(state_spans(changes, period))
    csat = csat_by_agent(calls, period)
    agents = set(work) | {agent for agent, items in spans.items() if _logged_in(items) > 0}
    return {
        agent: _figures(agent, work.get(agent, _Work()), spans.get(agent, []), csat.get(agent))
        for agent in sorted(agents)
    }


def floor_occupancy(changes: Iterable[StateChange], period: Period) -> float | None:
    """Occupancy of all agents together: their summed times, one ratio."""
    occupied = available = 0.0
    for span in state_spans(changes, period):
        if span.state in _OCCUPIED_STATES:
            occupied += span.seconds
        if span.state not in (LOGGED_OUT, NOT_READY):
            available += span.seconds
    return occupied / available if available else None


def agents_by_state(changes: Iterable[StateChange], at: datetime) -> dict[str, int]:
    """How many agents are in each state at ``at`` (their last change at or before it).

    Every known state is present, zero or not; agents who logged out are
    counted under "logged_out" (as far as the changes given reach back).
    """
    counts = dict.fromkeys(AGENT_STATES, 0)
    for state in last_states(changes, at).values():
        counts[state.state] = counts.get(state.state, 0) + 1
    return counts


def last_states(changes: Iterable[StateChange], at: datetime) -> dict[int, StateChange]:
    """Each agent's last change at or before ``at`` (input order breaks ties)."""
    last: dict[int, StateChange] = {}
    for change in _ordered(changes):
        if change.at <= at:
            last[change.agent_id] = change
    return last


def state_spans(changes: Iterable[StateChange], period: Period) -> list[StateSpan]:
    """Every agent's state spans clipped to ``period``, logged_out ones included."""
    by_agent: defaultdict[int, list[StateChange]] = defaultdict(list)
    for change in _ordered(changes):
        by_agent[change.agent_id].append(change)
    spans: list[StateSpan] = []
    for agent, agent_changes in sorted(by_agent.items()):
        for change, following in zip(agent_changes, [*agent_changes[1:], None], strict=True):
            end = period.end if following is None else following.at
            start, end = max(change.at, period.start), min(end, period.end)
            if start < end:
                spans.append(StateSpan(agent, change.state, start, end, change.reason))
    return spans


def _ordered(changes: Iterable[StateChange]) -> list[StateChange]:
    return sorted(changes, key=lambda change: change.at)


def _spans_by_agent(spans: Iterable[StateSpan]) -> dict[int, list[StateSpan]]:
    by_agent: defaultdict[int, list[StateSpan]] = defaultdict(list)
    for span in spans:
        by_agent[span.agent_id].append(span)
    return by_agent


def _logged_in(spans: Iterable[StateSpan]) -> float:
    return sum(span.seconds for span in spans if span.state != LOGGED_OUT)


def legs_of(call: CallFact) -> tuple[LegFact, ...]:
    """The call's legs, or one offer leg for its answering agent when none were given."""
    if call.legs or call.answered_at is None:
        return call.legs
    return (LegFact(call.agent_id, OFFER, call.answered_at, call.ended_at, call.hold_s),)


def _work_by_agent(calls: Iterable[CallFact], period: Period) -> dict[int, _Work]:
    work: defaultdict[int, _Work] = defaultdict(_Work)
    for call in calls:
        for leg in legs_of(call):
            connected = leg.connected_s
            if leg.agent_id is None or connected is None or leg.answered_at not in period:
                continue
            agent = work[leg.agent_id]
            agent.talk_s += max(0.0, connected - leg.held_s)
            agent.hold_s += leg.held_s
            if leg.kind in TAKING_KINDS:
                agent.calls.add(call.call_id)
        if call.agent_id is not None and call.ended_at is not None and call.counted_at in period:
            work[call.agent_id].wrap_up_s += call.wrap_up_s
    return work


def _figures(
    agent: int,
    work: _Work,
    spans: Sequence[StateSpan],
    csat: tuple[float | None, int] | None,
) -> AgentFigures:
    state_s: defaultdict[str, float] = defaultdict(float)
    by_reason: defaultdict[str, float] = defaultdict(float)
    for span in spans:
        if span.state == LOGGED_OUT:
            continue
        state_s[span.state] += span.seconds
        if span.state == NOT_READY:
            by_reason[span.reason or ""] += span.seconds
    logged_in = sum(state_s.values())
    not_ready = state_s.get(NOT_READY, 0.0)
    occupied = sum(state_s.get(state, 0.0) for state in _OCCUPIED_STATES)
    available = logged_in - not_ready
    handled = len(work.calls)
    csat_avg, csat_responses = csat if csat is not None else (None, 0)
    return AgentFigures(
        agent_id=agent,
        handled=handled,
        talk_s=work.talk_s,
        hold_s=work.hold_s,
        wrap_up_s=work.wrap_up_s,
        aht_s=(work.talk_s + work.hold_s + work.wrap_up_s) / handled if handled else None,
        logged_in_s=logged_in,
        ready_s=state_s.get(READY, 0.0),
        not_ready_s=not_ready,
        busy_s=sum(state_s.get(state, 0.0) for state in BUSY_STATES),
        occupancy=occupied / available if available > 0 else None,
        csat_avg=csat_avg,
        csat_responses=csat_responses,
        state_s=dict(state_s),
        not_ready_by_reason_s=dict(by_reason),
    )


def _rounded(value: object) -> object:
    if isinstance(value, float):
        return round(value, 4)
    if isinstance(value, Mapping):
        return {key: _rounded(item) for key, item in value.items()}
    return value
