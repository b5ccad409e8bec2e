"""The contexts of ``asterisk-config/extensions.conf`` a channel can be sent to: by
an Originate's ``Context`` (what an answered leg runs), by a Redirect, or by a
transfer.

Why only these: the simulator plays the dialplan contract, not a dialplan engine.
An answered leg runs ``callcenter-connect`` (Bridge() to the caller, capture 01),
``callcenter-conf`` (the call's ConfBridge, 16), ``callcenter-spy`` (ChanSpy,
09) or ``callcenter-callback-out`` (a callback attempt dialing its customer,
``callback_out``). A caller Redirected to ``callcenter-wait`` waits again (08) or is put on hold
(16), to ``callcenter-conf`` joins its call's conference (16) -- out of its
agent's ``Bridge()`` too, the agent following it there when marked
``CC_AFTER_BRIDGE=conf`` -- and to ``callcenter-outbound`` dials an outside
number (a blind transfer out), to ``callcenter-callback`` hears the callback
prompt and raises its UserEvent (``callback``), to ``callcenter-survey`` is
asked for a score (``survey``); an ``agent-sim`` extension plays that simulated
phone (08's BlindTransfer to 1003); anything else is entered and left running,
as a ``NoOp``.
"""

from __future__ import annotations

import functools
from collections.abc import Callable

from callcenter.pbxsim import (
    bridging,
    callback,
    callback_out,
    callers,
    conference,
    confirm,
    outbound,
    recording,
    spy,
    survey,
)
from callcenter.pbxsim.calls import AgentLeg, Conference, SimCall
from callcenter.pbxsim.channels import SimChannel
from callcenter.pbxsim.pbx import Pbx

CONNECT = "callcenter-connect"
#: where the capture PBX's MixMonitor writes (extensions.conf, callcenter-connect)
RECORDINGS = recording.SPOOL

AGENT_SIM = "agent-sim"
#: how long an answered agent-sim extension talks before its Hangup()
AGENT_SIM_TALK = "60"


def run_answered(pbx: Pbx, leg: AgentLeg) -> None:
    """The leg's phone answered: its ;1 runs the Originate's Context. A context the
    contract does not know runs ``callcenter-connect``, as every leg did before
    the others were modelled."""
    _ANSWERED.get(leg.context, _connect)(pbx, leg)


def _connect(pbx: Pbx, leg: AgentLeg) -> None:
    """``[callcenter-connect]``: NoOp, ExecIf(MixMonitor), Bridge(${CC_CALLER_CHANNEL});
    with ``CC_CONFIRM=1`` the far end must press 1 in between (``confirm``)."""
    ch = leg.channel
    assert ch is not None
    ch.goto(CONNECT, "s", 1)
    call_id = leg.variables.get("CC_CALL_ID", "")
    caller_name = leg.variables.get("CC_CALLER_CHANNEL", "")
    pbx.newexten(ch, "NoOp", f"CallCenter connect {call_id} to {caller_name}")
    if confirm.wanted(leg):
        confirm.ask(pbx, leg, functools.partial(_record_and_bridge, pbx, leg, 3, respond=False))
        return
    _record_and_bridge(pbx, leg, 2)


def _record_and_bridge(pbx: Pbx, leg: AgentLeg, priority: int, *, respond: bool = True) -> None:
    """``callcenter-connect`` from its ``ExecIf(MixMonitor)`` (at ``priority``) on.
    ``respond``: the Originate's response is still due (not after a confirmation)."""
    ch = leg.channel
    assert ch is not None
    ch.goto(CONNECT, "s", priority)
    call_id = leg.variables.get("CC_CALL_ID", "")
    caller_name = leg.variables.get("CC_CALLER_CHANNEL", "")
    record = leg.variables.get("CC_RECORD") == "1"
    # A call's later recorded legs (after a transfer) are parts -2, -3...: MixMonitor
    # without the a option would truncate the first leg's file.
    part = leg.variables.get("CC_REC_PART", "")
    filename = f"{RECORDINGS}/{call_id}{part}.wav"
    pbx.newexten(ch, "ExecIf", f"{int(record)}?MixMonitor({filename},b)")
    if record:
        recording.start(pbx, ch, filename)
    ch.priority = priority + 1
    # With CC_SURVEY=1 the dialplan gives Bridge() the F option; without it the
    # AppData is the captures' (the production line's empty options aside).
    options = f",{survey.BRIDGE_OPTION}" if survey.wanted(leg.variables) else ""
    pbx.newexten(ch, "Bridge", f"{caller_name}{options}")
    bridging.connect(pbx, leg, pbx.channels.named(caller_name), respond=respond)


def _conference(pbx: Pbx, leg: AgentLeg) -> None:
    """``[callcenter-conf]``: the leg joins the call's ConfBridge."""
    assert leg.channel is not None
    leg.answered = True
    pbx.originate_response(leg, "Success", 4)
    conference.enter(pbx, leg.channel, leg)
    _phone_talks(pbx, leg)


def _spy(pbx: Pbx, leg: AgentLeg) -> None:
    """``[callcenter-spy]``: a supervisor's ChanSpy on an agent's channel."""
    leg.answered = True
    pbx.originate_response(leg, "Success", 4)
    spy.run(pbx, leg)
    _phone_talks(pbx, leg)


def _phone_talks(pbx: Pbx, leg: AgentLeg) -> None:
    """The agent-sim phone's Answer() returned: its Wait(60) shows a moment later
    (the ;2 runs on its own thread; ``bridging.HALF_LAG_S``)."""
    half = leg.half
    if half is not None:
        pbx.later(bridging.HALF_LAG_S, _half_waits, pbx, half)


def _half_waits(pbx: Pbx, half: SimChannel) -> None:
    if pbx.channels.alive(half):
        half.priority += 1
        pbx.newexten(half, "Wait", AGENT_SIM_TALK)


def _callback_out(pbx: Pbx, leg: AgentLeg) -> None:
    """``[callcenter-callback-out]``: the agent answered a callback attempt, whose
    leg now dials the customer (``callback_out``)."""
    callback_out.run(pbx, leg)
    _phone_talks(pbx, leg)


_ANSWERED: dict[str, Callable[[Pbx, AgentLeg], None]] = {
    CONNECT: _connect,
    conference.CONF: _conference,
    spy.SPY: _spy,
    callback_out.CONTEXT: _callback_out,
}


def redirect(pbx: Pbx, channel: SimChannel, context: str, exten: str, priority: int) -> None:
    """A Redirect sends ``channel`` to ``context``: a caller's ;2 waits again, goes on
    hold out of its conference, joins the conference or dials out; anything else
    just runs there."""
    call = pbx.calls.get(channel.linkedid)
    caller = call is not None and channel is call.two and not call.gone and not call.outside
    if caller and call is not None and _redirect_caller(pbx, call, context, exten):
        return
    channel.goto(context, exten, priority)
    pbx.newexten(channel, "NoOp", "")


def _redirect_caller(pbx: Pbx, call: SimCall, context: str, exten: str) -> bool:
    """The caller's ;2 Redirected where the contract says what happens; False for
    anywhere else."""
    two = call.two
    current = conference.member_of(pbx, two)
    talking = bridging.talking_leg(call)
    if context == callers.WAIT and current is not None:
        conference.hold(pbx, call, current)
    elif context == callers.WAIT:
        bridging.redirect_caller_to_wait(pbx, call)
    elif context == conference.CONF and talking is not None:
        enter = functools.partial(conference.enter, pbx, two)
        bridging.redirect_out_of_bridge(pbx, call, talking, context, "s", enter)
    elif context == conference.CONF and current is None and two.bridge_id is None:
        pbx.cancel(call.patience)
        conference.enter(pbx, two)
        bridging.start_talking(pbx, call)
    elif context == outbound.OUTBOUND:
        _dial_out(pbx, call, exten, talking, current)
    elif context == callback.CONTEXT and two.bridge_id is None and current is None:
        callback.enter(pbx, call, exten)
    elif context == survey.CONTEXT:
        _to_survey(pbx, call, talking, current)
    elif context in LEAVING and two.bridge_id is None:
        _leave_the_queues(pbx, call, context, exten)
    else:
        return False
    return True


def _dial_out(
    pbx: Pbx, call: SimCall, number: str, talking: AgentLeg | None, current: Conference | None
) -> None:
    """A blind transfer out: the caller leaves wherever it is (its agent's
    ``Bridge()``, whose leg then hangs up; its conference, whose members stay;
    the queue) and dials ``number``."""
    dial = functools.partial(outbound.dial, pbx, call, number)
    pbx.cancel(call.patience)
    if talking is not None:
        bridging.redirect_out_of_bridge(pbx, call, talking, outbound.OUTBOUND, number, dial)
        return
    if current is not None:
        conference.caller_leaves(pbx, call, current, outbound.OUTBOUND, number)
    dial()
    bridging.start_talking(pbx, call)


def _to_survey(
    pbx: Pbx, call: SimCall, talking: AgentLeg | None, current: Conference | None
) -> None:
    """The caller is Redirected to the survey (callcenter does so for a caller
    left alone in its conference): it leaves where it is and is asked."""
    enter = functools.partial(survey.enter, pbx, call)
    if talking is not None:
        bridging.redirect_out_of_bridge(pbx, call, talking, survey.CONTEXT, "s", enter)
        return
    if current is not None:
        conference.caller_leaves(pbx, call, current, survey.CONTEXT, "s")
    enter()


#: contexts a caller is sent to out of the queues, with what runs there and how
#: long the simulated caller stays (leaving a message, hearing a prompt); the
#: callback prompt is ``callback``'s, which raises its UserEvent too
LEAVING = {
    "callcenter-voicemail": ("VoiceMail", 4.0),
    "callcenter-closed": ("Playback", 2.0),
}


def _leave_the_queues(pbx: Pbx, call: SimCall, context: str, exten: str) -> None:
    """Voicemail, callback prompt or closed message: the caller listens (or leaves
    a message) and hangs up; no agent is involved any more."""
    app, stay_s = LEAVING[context]
    pbx.cancel(call.patience)
    two = call.two
    two.goto(context, exten, 1)
    pbx.newexten(two, app, exten)
    call.patience = pbx.later(stay_s, bridging.caller_hangs_up, pbx, call)


def run_caller(pbx: Pbx, call: SimCall, context: str, exten: str) -> None:
    two = call.two
    if context == callers.WAIT:
        callers.wait_again(pbx, two)
        return
    two.goto(context, exten, 1)
    if context == AGENT_SIM:
        _agent_sim(pbx, call, exten)
        return
    pbx.newexten(two, "NoOp", "")


def _agent_sim(pbx: Pbx, call: SimCall, exten: str) -> None:
    """``agent-sim``'s phones: Ringing(), Wait(n), Answer(), Wait(60); a busy one runs
    Busy(5). The caller is Up already, so no state changes show."""
    behaviour = pbx.phones.behaviour(f"Local/{exten}@{AGENT_SIM}")
    two = call.two
    if behaviour.busy:
        pbx.newexten(two, "Busy", "5")
        return
    pbx.newexten(two, "Ringing", "")
    two.priority = 2
    answer_after = behaviour.answer_after_s
    pbx.newexten(two, "Wait", "120" if answer_after is None else f"{answer_after:g}")
    if answer_after is not None:
        pbx.later(answer_after, _agent_sim_answers, pbx, call)


def _agent_sim_answers(pbx: Pbx, call: SimCall) -> None:
    two = call.two
    if call.gone or not pbx.channels.alive(two) or two.context != AGENT_SIM:
        return
    two.priority = 3
    pbx.newexten(two, "Answer", "")
    two.priority = 4
    pbx.newexten(two, "Wait", AGENT_SIM_TALK)
