"""The kinds of call the simulated PBX carries: a customer waiting in the inbound
dialplan, a leg originated by an AMI client (an agent's phone, or a supervisor's),
and a per-call conference they may meet in."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from callcenter.pbxsim.channels import SimChannel
from callcenter.pbxsim.phones import PhoneBehaviour


@dataclass
class SimCall:
    """A simulated customer: the Local pair in ``callcenter-inbound``. ``one`` (;1)
    is the customer's phone; ``two`` (;2) runs the dialplan and is what the ACD
    bridges. The call's Linkedid is ``one``'s Uniqueid."""

    linkedid: str
    one: SimChannel
    two: SimChannel
    queue: str
    talk_s: float
    patience_s: float
    leg: AgentLeg | None = None
    gone: bool = False
    patience: asyncio.TimerHandle | None = None
    #: a transfer sent the caller's ;2 on to another extension (capture 08): it is
    #: no longer waiting for an agent, and its hangup reads as a bridged party's
    transferred: bool = False
    #: the caller hangs up when this fires: ``talk_s`` after its first
    #: conversation began, whatever room (a Bridge(), its conference, on hold, an
    #: outside party) it is in by then
    talk: asyncio.TimerHandle | None = None
    #: the outside party ``callcenter-outbound`` dialed for the caller, once it
    #: exists (a blind transfer out)
    outside: SimChannel | None = None
    #: asked for a score after its agent hangs up (``survey``): the key it
    #: presses, or None to hang up during the prompt
    survey_key: str | None = None


@dataclass
class AgentLeg:
    """A phone originated by an AMI client into the dialplan its ``context`` names
    (``callcenter-connect``, ``callcenter-conf``, ``callcenter-spy`` or
    ``callcenter-callback-out``)."""

    leg_id: str
    dial_string: str
    behaviour: PhoneBehaviour
    action_id: str | None
    context: str
    variables: dict[str, str]
    caller_id: tuple[str, str]
    timeout_s: float
    #: the Local ;1 (runs callcenter-connect) or the only channel (PJSIP)
    channel: SimChannel | None = None
    #: the Local ;2, playing the phone in ``agent-sim``
    half: SimChannel | None = None
    call: SimCall | None = None
    answered: bool = False
    ended: bool = False
    #: this leg holds the phone (it rang); released when the leg ends
    seized: bool = False
    timers: list[asyncio.TimerHandle] = field(default_factory=list)
    #: the channel this leg's ChanSpy listens to now (``callcenter-spy``)
    spying: SimChannel | None = None
    #: the Originate's Exten: ``s``, or the number a callback attempt dials
    exten: str = "s"
    #: the customer a callback attempt's Dial made (``callcenter-callback-out``)
    customer: SimChannel | None = None

    @property
    def phone(self) -> SimChannel | None:
        """The channel that stands for the device itself."""
        return self.half or self.channel


@dataclass
class Conference:
    """One ConfBridge, named by the call's ``CC_CALL_ID``. Asterisk puts its own
    announcer channel (``CBAnn/<name>-<n>``, never announced by a Newchannel) in it
    first, which is why every count and BRIDGEPEER list includes it."""

    name: str
    bridge_id: str
    #: the announcer's ``;2``, the first peer every member sees
    announcer: str
    #: members in the order they joined
    members: list[SimChannel] = field(default_factory=list)
    #: Uniqueids of every channel that has been a member (a returning one, capture
    #: 16's caller after hold, is announced differently)
    former: set[str] = field(default_factory=set)

    @property
    def size(self) -> int:
        """BridgeNumChannels: the members and the announcer."""
        return len(self.members) + 1
