"""How a simulated agent phone behaves when it is offered a call."""

from __future__ import annotations

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
