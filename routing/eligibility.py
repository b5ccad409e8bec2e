"""Who may take which call, and when a waiting call changes by itself.

Shared by the indexed router and the linear-scan reference router, so the two
differ only in how they search, never in what they decide.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field

from routing.compiled import CompiledQueue
from routing.model import AgentFacts, WaitingCall
from routing.priority import CallKey
from routing.rules import Location

PARTNER = Location.PARTNER.value


@dataclass(slots=True)
class Waiting:
    """A call's routing state while it is in the router (waiting or offered)."""

    call: WaitingCall
    queue: str
    #: when it entered its current queue: bullseye steps and max wait count from here
    entered_at: float
    key: CallKey
    step: int = 0
    #: agents who missed this call: never offered it again
    excluded: set[int] = field(default_factory=set)
    #: the known agent the call is kept for, until ``known_until``
    known: int | None = None
    known_until: float = 0.0
    #: the agent it is being offered to, if any
    offered_to: int | None = None


def admits(queue: CompiledQueue, step: int, agent: AgentFacts, gate_open: bool) -> bool:
    """May ``agent`` take a call of ``queue`` at bullseye step ``step``?"""
    current = queue.steps[step]
    if not current.skilled(agent.skills):
        return False
    return agent.location in current.locations or (agent.location == PARTNER and gate_open)


def known_skilled(queue: CompiledQueue, agent: AgentFacts) -> bool:
    """A known agent needs the queue's skills (at the widest step), any location."""
    return queue.steps[-1].skilled(agent.skills)


def gate_open(queue: CompiledQueue, waiting_in_queue: int) -> bool:
    """Partner agents are admitted for the whole queue while it is this loaded."""
    return queue.partner_min_waiting is not None and waiting_in_queue >= queue.partner_min_waiting


def known_agent_for(
    queue: CompiledQueue,
    call: WaitingCall,
    excluded: Collection[int],
    on_shift: Mapping[int, AgentFacts],
    now: float,
) -> tuple[int, float] | None:
    """The agent to keep this call for, and until when, or None.

    Only while the window (from the call's arrival) is open, only for an agent
    who served the customer recently enough, who has not missed this call, and
    who is Ready or busy (about to be free) and has the queue's skills: waiting
    for someone on a break or logged out would only delay the caller."""
    if queue.known_wait_s is None or queue.known_within_s is None:
        return None
    agent_id, served_at = call.last_agent_id, call.last_served_at
    if agent_id is None or served_at is None or agent_id in excluded:
        return None
    if now - served_at > queue.known_within_s:
        return None
    agent = on_shift.get(agent_id)
    if agent is None or not known_skilled(queue, agent):
        return None
    until = call.enqueued_at + queue.known_wait_s
    return (agent_id, until) if now < until else None


def next_change(queue: CompiledQueue, waiting: Waiting, now: float) -> float | None:
    """When this call next changes by itself: a step, the end of its known-agent
    window, or its max wait."""
    at = queue.next_step_at(waiting.entered_at, now)
    until = waiting.known_until
    if waiting.known is not None and until > now and (at is None or until < at):
        at = until
    if queue.max_wait_s is not None:
        # already past it (a call re-admitted after an outage): due at once
        overflow_at = max(now, waiting.entered_at + queue.max_wait_s)
        if at is None or overflow_at < at:
            at = overflow_at
    return at


def overflow_due(queue: CompiledQueue, waiting: Waiting, now: float) -> bool:
    # the same sum ``next_change`` wakes at, so the wake-up finds it due
    return queue.max_wait_s is not None and now >= waiting.entered_at + queue.max_wait_s
