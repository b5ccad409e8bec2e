"""The two kinds of call the simulated PBX carries: a customer waiting in the
inbound dialplan, and an agent leg originated by an AMI client."""

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


@dataclass
class AgentLeg:
    """An agent phone originated into ``callcenter-connect``."""

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

    @property
    def phone(self) -> SimChannel | None:
        """The channel that stands for the device itself."""
        return self.half or self.channel
