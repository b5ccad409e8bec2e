"""Answer confirmation in ``callcenter-connect``: "press 1 to accept this call".

An offer to an outside number carries ``CC_CONFIRM=1``; the production dialplan
(config/asterisk/extensions.conf) then sends the answered leg from ``s,2`` to
``confirm,1`` before anything is bridged::

    exten => s,2,GotoIf($["${CC_CONFIRM}" = "1"]?confirm,1)
    exten => confirm,1,Read(CC_ACCEPT,callcenter/press-1-to-accept,1,,2,5)
     same => n,GotoIf($["${CC_ACCEPT}" = "1"]?s,connect)
     same => n,Hangup()

Why the simulator plays it step by step: the ACD must tell a leg that answered
and was connected from one that answered and never was (a voicemail picked up),
and it only sees AMI. So the Originate's Success goes out as the prompt starts
(Asterisk sends it from the originating thread once the far end answered; a
Read lasting seconds puts it before any bridge), then either the digit
(DTMFBegin/End, ``CC_ACCEPT=1``) and ``Bridge()``, or the tries running out and
``Hangup()`` (cause 16) with the caller left waiting. The phone's
``presses_1_after_s`` decides which.

Simplification: on a real PBX every leg runs the ``GotoIf`` at ``s,2``; the
simulator shows it only for legs that ask for confirmation, so the others keep
the event sequence of the captures' dialplan.
"""

from __future__ import annotations

from collections.abc import Callable

from callcenter.pbxsim import bridging
from callcenter.pbxsim.calls import AgentLeg
from callcenter.pbxsim.events import channel_block
from callcenter.pbxsim.pbx import Pbx

#: the context the leg runs (``dialplan.CONNECT``) and its confirmation extension
CONNECT = "callcenter-connect"
EXTEN = "confirm"
#: the variable the Originate sets to ask for it
VARIABLE = "CC_CONFIRM"
#: ``Read()``'s tries (its timeout per try is ``Pbx.confirm_timeout_s``)
READ_ATTEMPTS = 2
READ_DATA = "CC_ACCEPT,callcenter/press-1-to-accept,1,,2,5"
#: how long the far end holds the key down
DTMF_DURATION_MS = "120"


def wanted(leg: AgentLeg) -> bool:
    """The Originate asked for confirmation."""
    return leg.variables.get(VARIABLE) == "1"


def asking(leg: AgentLeg) -> bool:
    """The leg answered and is at the prompt, neither confirmed nor hung up."""
    ch = leg.channel
    return not leg.ended and ch is not None and (ch.context, ch.exten) == (CONNECT, EXTEN)


def ask(pbx: Pbx, leg: AgentLeg, connect: Callable[[], None]) -> None:
    """The leg answered and ran ``s,1``: ``GotoIf`` to ``confirm,1``, ``Read()``.
    ``connect`` plays ``s,connect`` onwards (``ExecIf``, ``Bridge()``) once 1 is
    pressed; its OriginateResponse is the one sent here."""
    ch = leg.channel
    assert ch is not None
    ch.priority = 2
    pbx.newexten(ch, "GotoIf", f"1?{EXTEN},1")
    ch.goto(CONNECT, EXTEN, 1)
    pbx.newexten(ch, "Read", READ_DATA)
    pbx.originate_response(leg, "Success", 4)
    window_s = pbx.confirm_timeout_s * READ_ATTEMPTS
    press_s = leg.behaviour.presses_1_after_s
    if press_s is not None and press_s < window_s:
        leg.timers.append(pbx.later(press_s, _pressed, pbx, leg, connect))
    else:
        leg.timers.append(pbx.later(window_s, _not_confirmed, pbx, leg))


def _pressed(pbx: Pbx, leg: AgentLeg, connect: Callable[[], None]) -> None:
    if not asking(leg):
        return
    ch = leg.channel
    assert ch is not None
    digit = [("Digit", "1"), ("Direction", "Received")]
    pbx.emit("DTMFBegin", "dtmf", channel_block(ch), digit)
    pbx.emit("DTMFEnd", "dtmf", channel_block(ch), digit, [("DurationMs", DTMF_DURATION_MS)])
    pbx.varset(ch, "CC_ACCEPT", "1")
    pbx.varset(ch, "READSTATUS", "OK")
    ch.priority = 2
    pbx.newexten(ch, "GotoIf", "1?s,connect")
    connect()


def _not_confirmed(pbx: Pbx, leg: AgentLeg) -> None:
    """Every try timed out (a voicemail talks on, and presses nothing):
    ``Hangup()``. The caller is untouched and still waits."""
    if not asking(leg):
        return
    ch = leg.channel
    assert ch is not None
    pbx.varset(ch, "CC_ACCEPT", "")
    pbx.varset(ch, "READSTATUS", "TIMEOUT")
    ch.priority = 2
    pbx.newexten(ch, "GotoIf", "0?s,connect")
    ch.priority = 3
    pbx.newexten(ch, "Hangup", "")
    pbx.hangup_request(ch, 16, soft=True)
    bridging.end_leg_after_caller(pbx, leg, None)


def hang_up(pbx: Pbx, leg: AgentLeg) -> None:
    """An AMI Hangup of a leg at the prompt (its caller went away meanwhile)."""
    ch = leg.channel
    assert ch is not None
    pbx.hangup_request(ch, 0)
    bridging.end_leg_after_caller(pbx, leg, None)
