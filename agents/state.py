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
    #: picked by the router; the agent's phone is being dialled
    RESERVED = "reserved"
    RINGING = "ringing"
    ON_CALL = "on_call"
    #: after a call, finishing notes and disposition; not offered calls
    WRAP_UP = "wrap_up"


#: states in which an agent is working a call (not offered another)
BUSY = frozenset({AgentState.RESERVED, AgentState.RINGING, AgentState.ON_CALL, AgentState.WRAP_UP})

_AFTER_AN_OFFER = frozenset(
    {AgentState.ON_CALL, AgentState.READY, AgentState.NOT_READY, AgentState.LOGGED_OUT}
)

_ALLOWED: dict[AgentState, frozenset[AgentState]] = {
    AgentState.LOGGED_OUT: frozenset({AgentState.READY, AgentState.NOT_READY}),
    AgentState.READY: frozenset({AgentState.NOT_READY, AgentState.RESERVED, AgentState.LOGGED_OUT}),
    AgentState.NOT_READY: frozenset({AgentState.READY, AgentState.LOGGED_OUT}),
    # A reserved agent's phone rings, or is answered before any ringing was seen,
    # or the offer fails / is withdrawn.
    AgentState.RESERVED: _AFTER_AN_OFFER | {AgentState.RINGING},
    AgentState.RINGING: _AFTER_AN_OFFER,
    # After a call: wrap-up, or straight to Ready / what the agent asked for.
    AgentState.ON_CALL: frozenset(
        {AgentState.WRAP_UP, AgentState.READY, AgentState.NOT_READY, AgentState.LOGGED_OUT}
    ),
    AgentState.WRAP_UP: frozenset({AgentState.READY, AgentState.NOT_READY, AgentState.LOGGED_OUT}),
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
