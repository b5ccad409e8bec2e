"""Simulated agent phones: how each answers an offer, and whether it is in use.

Why a phone in use answers busy: a second offer to an agent already ringing or
talking must not be connected on top of the first (call waiting is off on agent
phones), so the ACD sees Reason 5 as it would from a real busy device.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class PhoneBehaviour:
    #: seconds of ringing before it answers; None: it never answers (the
    #: Originate times out: Reason 3, Hangup cause 19)
    answer_after_s: float | None = 1.0
    #: the phone is busy: Reason 5, Hangup cause 17
    busy: bool = False
    #: False: no registered contact; the Originate fails at once, Reason 0,
    #: and no channel is ever created (capture 12)
    registered: bool = True
    #: the agent hangs up first after this many seconds of talk (capture 06)
    hangup_after_s: float | None = None
    #: False: the extension answers at once, with no Ringing() first (agent-sim's
    #: ``supervisor``: Answer(), Wait(60) — capture 09), so no RINGING is seen
    rings: bool = True
    #: the network refuses the call (a trunk out of circuits): Reason 8, Hangup
    #: cause 34, like ``busy`` but not the agent's doing
    congestion: bool = False
    #: asked to press 1 to take the call (``CC_CONFIRM=1``, ``pbxsim.confirm``),
    #: it does after this many seconds of the prompt; None: it never does, like a
    #: voicemail that picked up: answered, then hung up by the dialplan
    presses_1_after_s: float | None = 1.0


UNREGISTERED = PhoneBehaviour(registered=False)
#: how an outside number (dialed through ``callcenter-outbound``) answers unless
#: told otherwise: it rings a moment, then someone picks up
OUTSIDE_NUMBER = PhoneBehaviour(answer_after_s=0.5)
OUTBOUND_CONTEXT = "callcenter-outbound"
_OUTSIDE = re.compile(r"Local/\+?[0-9]+@" + OUTBOUND_CONTEXT + r"(?:/n)?\Z")


def outside_dial_string(number: str) -> str:
    """The dial string an outside number answers to, however it is reached (an
    Originate of it, or a caller Redirected to ``callcenter-outbound``)."""
    return f"Local/{number}@{OUTBOUND_CONTEXT}"


class Phones:
    """The agent phones the PBX knows, by dial string (``PJSIP/agent01``,
    ``Local/1001@agent-sim``). An unknown dial string has no registered contact,
    except an outside number (``Local/<number>@callcenter-outbound``): the trunk
    reaches any, and each answers as ``outside`` says unless set one by one."""

    def __init__(self) -> None:
        self._behaviour: dict[str, PhoneBehaviour] = {}
        self._in_use: set[str] = set()
        self.outside = OUTSIDE_NUMBER

    def set(self, dial_string: str, behaviour: PhoneBehaviour) -> None:
        self._behaviour[dial_string] = behaviour

    def behaviour(self, dial_string: str) -> PhoneBehaviour:
        found = self._behaviour.get(dial_string)
        if found is not None:
            return found
        return self.outside if _OUTSIDE.match(dial_string) else UNREGISTERED

    def in_use(self, dial_string: str) -> bool:
        return dial_string in self._in_use

    def seize(self, dial_string: str) -> None:
        self._in_use.add(dial_string)

    def release(self, dial_string: str) -> None:
        self._in_use.discard(dial_string)

    def free_all(self) -> None:
        """After a restart no phone is on a call any more."""
        self._in_use.clear()
