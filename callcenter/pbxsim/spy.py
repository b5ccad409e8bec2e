"""Supervisor legs: ``[callcenter-spy]`` runs ``ChanSpy(${CC_SPY_TARGET},
${CC_SPY_OPTIONS})`` on an agent's channel (capture 09: whisper, ``qw``).

Why the ACD must see it: a supervisor listening to (or whispering to) an agent is
a leg of its own that joins no bridge and merges no Linkedid; ChanSpyStart and
ChanSpyStop, which carry both channels, are the only events that tie it to the
agent's call.

ChanSpy listens to the first channel whose name begins with the target (the
agent's ``;1``, which runs the call's dialplan). When that channel hangs up the
spying stops; like the real application the leg stays up (it would go on to
scan for another target, which the simulator does not model) until its phone or
the ACD hangs up.
"""

from __future__ import annotations

from callcenter.pbxsim.calls import AgentLeg
from callcenter.pbxsim.channels import SimChannel
from callcenter.pbxsim.events import channel_block
from callcenter.pbxsim.pbx import Pbx

SPY = "callcenter-spy"


def run(pbx: Pbx, leg: AgentLeg) -> None:
    """The answered supervisor leg runs Answer() (it is Up already, so no state
    change shows) and ChanSpy."""
    ch = leg.channel
    assert ch is not None
    ch.goto(SPY, "s", 1)
    pbx.newexten(ch, "Answer", "")
    ch.priority = 2
    target = ch.variables.get("CC_SPY_TARGET", "")
    pbx.newexten(ch, "ChanSpy", f"{target},{ch.variables.get('CC_SPY_OPTIONS', '')}")
    spyee = _first_named(pbx, target, ch)
    if spyee is not None:
        _start(pbx, leg, spyee)
    if leg.behaviour.hangup_after_s is not None:
        leg.timers.append(pbx.later(leg.behaviour.hangup_after_s, phone_hangs_up, pbx, leg))


def _first_named(pbx: Pbx, target: str, spyer: SimChannel) -> SimChannel | None:
    if not target:
        return None
    prefix = target.lower()
    return next(
        (c for c in pbx.channels.live() if c is not spyer and c.name.lower().startswith(prefix)),
        None,
    )


def _start(pbx: Pbx, leg: AgentLeg, spyee: SimChannel) -> None:
    spyer = leg.channel
    assert spyer is not None
    leg.spying = spyee
    pbx.emit("ChanSpyStart", "call", channel_block(spyer, "Spyer"), channel_block(spyee, "Spyee"))
    peer = pbx.channels.named(spyee.variables.get("BRIDGEPEER", ""))
    if spyee.bridge_id is not None and peer is not None:
        # The spy's audiohook makes the bridge set both peers again (capture 09).
        pbx.varset(peer, "BRIDGEPEER", spyee.name)
        pbx.varset(spyee, "BRIDGEPEER", peer.name)
    pbx.on_hangup(spyee, lambda: _stop(pbx, leg, spyee))


def _stop(pbx: Pbx, leg: AgentLeg, spyee: SimChannel) -> None:
    if leg.spying is not spyee or leg.channel is None:
        return
    leg.spying = None
    pbx.emit(
        "ChanSpyStop", "call", channel_block(leg.channel, "Spyer"), channel_block(spyee, "Spyee")
    )


def phone_hangs_up(pbx: Pbx, leg: AgentLeg) -> None:
    """The supervisor's phone ends its Wait and hangs up; ChanSpy returns and the
    leg's Hangup() runs."""
    ch = leg.channel
    if leg.ended or ch is None:
        return
    pbx.finish_leg(leg)
    pbx.hangup_request(ch, 16)
    if leg.spying is not None:
        _stop(pbx, leg, leg.spying)
    ch.priority = 3
    pbx.newexten(ch, "Hangup", "")
    pbx.hangup_request(ch, 16, soft=True)
    pbx.hangup(ch, 16)
    if leg.half is not None:
        pbx.hangup(leg.half, 16)


def hang_up(pbx: Pbx, leg: AgentLeg) -> None:
    """The ACD hangs up the supervisor's leg: the spying stops, then both halves go."""
    ch = leg.channel
    if leg.ended or ch is None:
        return
    pbx.finish_leg(leg)
    if leg.spying is not None:
        _stop(pbx, leg, leg.spying)
    if leg.half is not None:
        pbx.hangup_request(leg.half, 16)
    pbx.hangup(ch, 16)
    if leg.half is not None:
        pbx.hangup_request(leg.half, 16, soft=True)
        pbx.hangup(leg.half, 16)
