"""What the router reasons about: waiting calls, agents, and its decisions.

Plain frozen values: the router never sees a socket, a session or a clock, so the
same inputs always give the same decisions (and a replay reproduces a day).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from routing.explain import Explanation
from routing.rules import Target


@dataclass(frozen=True, slots=True)
class WaitingCall:
    """A caller in a queue, with what the CRM said about them.

    ``enqueued_at`` is kept across failed offers and overflows, so a caller whose
    offer failed goes back to its original place."""

    call_id: str
    queue: str
    enqueued_at: float
    tier: str | None = None
    lifetime_value: float = 0.0
    #: the agent who served this customer last, and when (epoch seconds)
    last_agent_id: int | None = None
    last_served_at: float | None = None
    #: set when the call was queued before (its PBX link broke and came back, or
    #: the service restarted): opening hours are not checked again and bullseye
    #: steps go on from this instant instead of starting over
    admitted_at: float | None = None


@dataclass(frozen=True, slots=True)
class AgentFacts:
    """An agent on shift (Ready, or busy and about to be free), with what
    eligibility and the strategies look at."""

    agent_id: int
    skills: Mapping[str, int] = field(default_factory=dict)
    #: on_site, remote_site, home or partner
    location: str = "on_site"
    #: when the agent last became free: longest idle goes first
    idle_since: float = 0.0
    #: seconds on calls (and wrap-up) today: least occupied goes first
    busy_s_today: float = 0.0


@dataclass(frozen=True, slots=True)
class Offer:
    """Ring ``agent_id`` for ``call_id``; the agent is reserved until the outcome."""

    call_id: str
    agent_id: int
    queue: str
    ring_timeout_s: float
    explanation: Explanation = field(compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Overflow:
    """The call waited its queue's maximum: it goes to ``target``. When the target
    is a queue the router has moved it there already (same place in line)."""

    call_id: str
    source_queue: str
    target: Target
    explanation: Explanation = field(compare=False, repr=False)


@dataclass(frozen=True, slots=True)
class Closed:
    """The call arrived while its queue was closed: ``action`` says what now.
    A queue action has been applied by the router already."""

    call_id: str
    queue: str
    action: Target
    explanation: Explanation = field(compare=False, repr=False)


Decision = Offer | Overflow | Closed


@dataclass(frozen=True, slots=True)
class Round:
    """What one input produced: decisions in order, and when to wake the router
    next (a bullseye step, a known-agent window or a max wait falls due)."""

    decisions: tuple[Decision, ...] = ()
    wake_at: float | None = None

    @property
    def offers(self) -> list[Offer]:
        return [d for d in self.decisions if isinstance(d, Offer)]
