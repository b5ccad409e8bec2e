"""Domain events: what the rest of callcenter learns from a PBX.

Raw AMI never leaves ``callcenter/ami/``; the call tracker turns it into these.
A call is identified by ``(pbx, linkedid)``: Linkedid names the whole call in
Asterisk, while channel names repeat after a restart. An agent leg is identified
by ``leg_id``, the ``ChannelId`` we chose when we originated it.

``at`` is the receiving shell's clock (epoch seconds) when the frame arrived; the
tracker has no clock of its own, so a replay is deterministic.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

#: ``congestion``: the network, not the agent's phone, refused (OriginateResponse
#: Reason 8, or Hangup cause 34 / 38). ``unconfirmed``: the far end answered but
#: never reached ``Bridge()`` while the caller waited (asked to press 1, it did not:
#: a voicemail that picked up, or a person who declined).
OfferFailure = Literal[
    "no_answer",
    "busy",
    "unavailable",
    "congestion",
    "unconfirmed",
    "canceled",
    "lost_during_disconnect",
]
CallPhase = Literal["waiting", "ringing", "talking"]
Party = Literal["caller", "agent"]
#: ``hangup``: we saw it end. ``lost_during_disconnect``: it was gone when the link
#: came back (or the PBX restarted), so how it ended is not known.
EndCause = Literal["hangup", "lost_during_disconnect"]


@dataclass(frozen=True, slots=True)
class CallArrived:
    """A caller raised ``UserEvent(CallCenterEnqueue)`` and now waits in the dialplan."""

    pbx: str
    linkedid: str
    caller_channel: str
    caller_uniqueid: str
    caller_number: str
    caller_name: str
    queue: str
    account: str
    at: float
    #: Found waiting by a resync rather than seen arriving: ``at`` is then the
    #: enqueue time Asterisk's channel age gives (the call keeps its place).
    adopted: bool = False
    #: Found by a resync in its conference (``callcenter-conf``), or on hold from
    #: it: an earlier run had moved the call there; its legs follow as Bridged.
    in_conference: bool = False
    on_hold: bool = False


@dataclass(frozen=True, slots=True)
class AgentLegRinging:
    pbx: str
    linkedid: str
    leg_id: str
    agent_target: str
    at: float


@dataclass(frozen=True, slots=True)
class AgentLegAnswered:
    pbx: str
    linkedid: str
    leg_id: str
    agent_target: str
    at: float


@dataclass(frozen=True, slots=True)
class AgentLegFailed:
    """An offer that did not reach the agent; the caller is untouched and still waits."""

    pbx: str
    linkedid: str
    leg_id: str
    agent_target: str
    reason: OfferFailure
    at: float


@dataclass(frozen=True, slots=True)
class Bridged:
    """Caller and agent leg are in one bridge: the conversation has started."""

    pbx: str
    linkedid: str
    leg_id: str
    agent_target: str
    at: float


@dataclass(frozen=True, slots=True)
class CallerHungUp:
    """The caller's side went away; ``phase`` says where the call was at that moment."""

    pbx: str
    linkedid: str
    phase: CallPhase
    at: float


@dataclass(frozen=True, slots=True)
class AgentHungUp:
    """An answered agent leg ended (the agent hung up, or the call ended under it)."""

    pbx: str
    linkedid: str
    leg_id: str
    agent_target: str
    at: float


@dataclass(frozen=True, slots=True)
class CallEnded:
    """Every channel of the call is gone. ``ended_by`` is who left the bridge first."""

    pbx: str
    linkedid: str
    ended_by: Party | None
    at: float
    cause: EndCause = "hangup"


@dataclass(frozen=True, slots=True)
class PhoneReachability:
    """An agent's device (``PJSIP/agent01``) became reachable or not, from
    ``DeviceStateChange`` (UNAVAILABLE or not) and ``ContactStatus`` (Removed /
    Unreachable or Reachable / NonQualified)."""

    pbx: str
    device: str
    reachable: bool
    at: float


@dataclass(frozen=True, slots=True)
class LinkDown:
    """The AMI link to ``pbx`` dropped: until it is resynced, what happens there is
    unknown, so nothing is offered on it."""

    pbx: str
    at: float


@dataclass(frozen=True, slots=True)
class LinkResynced:
    """The link is back and the tracker agrees with the PBX's channel list again.
    ``live_calls`` are the Linkedids of our calls that still exist; ``restarted``
    says the PBX itself restarted (every earlier call is gone)."""

    pbx: str
    live_calls: frozenset[str]
    restarted: bool
    at: float
    #: agent legs of an earlier run still up but bridged to nobody (ringing, or
    #: answered into an empty bridge): never ours again, to be hung up
    stale_legs: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class CallbackRequested:
    """The waiting caller of call ``linkedid`` asked to be called back at
    ``number`` (``UserEvent: CallCenterCallback`` from ``[callcenter-callback]``)
    and is about to hang up: the call keeps its place in line without them."""

    pbx: str
    linkedid: str
    number: str
    at: float


@dataclass(frozen=True, slots=True)
class SurveyAnswered:
    """The caller of call ``linkedid`` keyed ``score`` (1-5) in the post-call
    survey (``UserEvent: CallCenterSurvey`` from ``[callcenter-survey]``), after
    its agent hung up; the caller hangs up next, which ends the call."""

    pbx: str
    linkedid: str
    score: int
    at: float


@dataclass(frozen=True, slots=True)
class CustomerUnreached:
    """A callback's agent leg (``leg_id``, whose Linkedid is the attempt's) was
    answered by the agent, but the customer it then dialled never answered
    (``reason``: ``no_answer``, ``busy``, ``congestion``, ``unavailable``)."""

    pbx: str
    linkedid: str
    leg_id: str
    reason: str
    at: float


DomainEvent = (
    CallArrived
    | AgentLegRinging
    | AgentLegAnswered
    | AgentLegFailed
    | Bridged
    | CallerHungUp
    | AgentHungUp
    | CallEnded
    | PhoneReachability
    | LinkDown
    | LinkResynced
    | CallbackRequested
    | CustomerUnreached
    | SurveyAnswered
)
