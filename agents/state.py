"""Agent states and the transitions the call flow allows.

Why a table of allowed transitions: the anchors' worst bugs are agents stuck in a
stale state (Reserved forever, On call after hangup). Every change goes through
``transition`` so an impossible one is refused loudly instead of silently kept.
"""

from __future__ import annotations

from enum import StrEnum


class AgentState(StrEnum):
    LOGGED_OUT = "logged_out"
    READY = "ready"
    NOT_READY = "not_ready"
    RINGING = "ringing"
    ON_CALL = "on_call"


_ALLOWED: dict[AgentState, frozenset[AgentState]] = {
    AgentState.LOGGED_OUT: frozenset({AgentState.READY, AgentState.NOT_READY}),
    AgentState.READY: frozenset({AgentState.NOT_READY, AgentState.RINGING, AgentState.LOGGED_OUT}),
    AgentState.NOT_READY: frozenset({AgentState.READY, AgentState.LOGGED_OUT}),
    # A ringing offer ends answered (on call), or failed / withdrawn (back to
    # ready, or not ready when the agent missed it).
    AgentState.RINGING: frozenset(
        {AgentState.ON_CALL, AgentState.READY, AgentState.NOT_READY, AgentState.LOGGED_OUT}
    ),
    # After a call: Ready, or what the agent asked for during it.
    AgentState.ON_CALL: frozenset({AgentState.READY, AgentState.NOT_READY, AgentState.LOGGED_OUT}),
}


class InvalidTransition(ValueError):
    def __init__(self, current: AgentState, wanted: AgentState) -> None:
        super().__init__(f"an agent cannot go from {current} to {wanted}")
        self.current = current
        self.wanted = wanted


def transition(current: AgentState, wanted: AgentState) -> AgentState:
    """Return ``wanted`` if the move is allowed (staying put always is)."""
    if wanted == current or wanted in _ALLOWED[current]:
        return wanted
    raise InvalidTransition(current, wanted)
