"""What the reports are computed from: plain facts the DB loader hands over.

The reports core never reads the database or the clock; the loader turns rows
into these frozen value objects and passes every instant in. All datetimes are
timezone-aware UTC, durations are float seconds.

Where a call counts: a call counts in the period in which it *ended its queue
part* (``CallFact.counted_at``): its first answer for an answered call, its end
for any other outcome. That is what a sliding window over "now" needs (a call
shows up as soon as the caller stops waiting), and a call crossing midnight
counts on the day it was answered or abandoned.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

# Call outcomes (``CallFact.outcome``); None means the call is still open.
ANSWERED = "answered"
ABANDONED = "abandoned"
VOICEMAIL = "voicemail"
CALLBACK = "callback"
CALLBACK_FAILED = "callback_failed"
CLOSED = "closed"
LOST_DURING_DISCONNECT = "lost_during_disconnect"

# Agent states (``StateChange.state``).
LOGGED_OUT = "logged_out"
READY = "ready"
NOT_READY = "not_ready"
RESERVED = "reserved"
RINGING = "ringing"
ON_CALL = "on_call"
WRAP_UP = "wrap_up"
AGENT_STATES = (LOGGED_OUT, READY, NOT_READY, RESERVED, RINGING, ON_CALL, WRAP_UP)
#: states in which an agent is taken by a call (the "busy" of the wallboard)
BUSY_STATES = frozenset({RESERVED, RINGING, ON_CALL, WRAP_UP})

# Leg kinds (``LegFact.kind``): "offer" and "transfer" legs are the agent
# taking the call; "consult" and "conference" legs are the agent helping on it.
OFFER = "offer"
TRANSFER = "transfer"
CONSULT = "consult"
CONFERENCE = "conference"
TAKING_KINDS = frozenset({OFFER, TRANSFER})


def _seconds(start: datetime, end: datetime) -> float:
    return max(0.0, (end - start).total_seconds())


@dataclass(frozen=True, slots=True)
class LegFact:
    """One agent's connected part of a call."""

    agent_id: int | None
    kind: str
    answered_at: datetime
    left_at: datetime | None
    held_s: float = 0.0

    @property
    def connected_s(self) -> float | None:
        """Answer to leaving, hold included; None while still connected."""
        return None if self.left_at is None else _seconds(self.answered_at, self.left_at)


@dataclass(frozen=True, slots=True)
class CallFact:
    """One inbound call (or callback) through one queue.

    A call with an answer time is answered whatever its outcome says (an
    answered call lost in an AMI disconnect was still answered).
    """

    call_id: str
    queue: str
    enqueued_at: datetime
    outcome: str | None
    answered_at: datetime | None = None
    ended_at: datetime | None = None
    agent_id: int | None = None
    hold_s: float = 0.0
    wrap_up_s: float = 0.0
    customer_id: int | None = None
    abandon_phase: str | None = None
    csat: int | None = None
    legs: tuple[LegFact, ...] = ()
    callback: bool = False

    @property
    def answered(self) -> bool:
        return self.answered_at is not None

    @property
    def counted_at(self) -> datetime | None:
        """The instant the call ended its queue part; None while still waiting.

        An ended call missing its end time (a gap in the records) is placed at
        its enqueue time rather than dropped.
        """
        if self.answered_at is not None:
            return self.answered_at
        if self.outcome is None:
            return None
        return self.ended_at if self.ended_at is not None else self.enqueued_at

    @property
    def wait_s(self) -> float | None:
        """Seconds in the queue: from joining it to the answer or the end."""
        at = self.counted_at
        return None if at is None else _seconds(self.enqueued_at, at)

    @property
    def connected_s(self) -> float | None:
        """First answer to the end of the call (transfers included)."""
        if self.answered_at is None or self.ended_at is None:
            return None
        return _seconds(self.answered_at, self.ended_at)

    @property
    def talk_s(self) -> float | None:
        """Connected time less the caller's hold time; None until the call ended."""
        connected = self.connected_s
        return None if connected is None else max(0.0, connected - self.hold_s)

    @property
    def handle_s(self) -> float | None:
        """Talk + hold + wrap-up; None until the call ended."""
        connected = self.connected_s
        return None if connected is None else connected + self.wrap_up_s


@dataclass(frozen=True, slots=True)
class StateChange:
    """One agent state change (``agent_state_changes`` row); any order."""

    agent_id: int
    state: str
    at: datetime
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class ContactFact:
    """One contact of a customer on any channel (``interactions`` row)."""

    customer_id: int
    at: datetime
    channel: str
    queue: str | None = None
    agent_id: int | None = None
