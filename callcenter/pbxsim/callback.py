"""A caller asks for a callback: ``[callcenter-callback]`` (config/asterisk/extensions.conf).

A waiting caller presses 1 (``callcenter-wait``'s ``WaitExten`` takes the key:
``exten => 1`` sends it on with ``Goto(callcenter-callback,${CC_QUEUE},1)``);
an overflow or closed action Redirects one there. Either way the context plays
the confirmation, raises ``UserEvent(CallCenterCallback,Queue: <queue>,Number:
<caller id>)`` and hangs up, as a caller whose dialplan reaches ``Hangup()``
does in capture 06.

Why the simulator plays it event for event: the ACD learns of the request only
from that UserEvent on the caller's channel, then sees the caller go like any
caller does. A caller on hold (its conference named on it, ``CC_CALL_ID``)
pressing 1 only waits on (``GotoIf`` back to ``s,2``).

Simplification: the simulator's waiting caller runs the captures' ``Wait(600)``,
not the production ``WaitExten``, so the conformance replays keep their events;
the key is taken all the same.
"""

from __future__ import annotations

from callcenter.pbxsim import callers
from callcenter.pbxsim.calls import SimCall
from callcenter.pbxsim.channels import UNKNOWN
from callcenter.pbxsim.events import channel_block
from callcenter.pbxsim.pbx import Pbx

CONTEXT = "callcenter-callback"
USER_EVENT = "CallCenterCallback"
PROMPT = "callcenter/callback-confirm"
#: how long "we will call you back" plays before the event and the hang-up
PROMPT_S = 1.0
#: the key that asks for it in ``callcenter-wait``
KEY = "1"
DTMF_DURATION_MS = "120"


def press_1(pbx: Pbx, call: SimCall) -> bool:
    """The caller presses 1. True when that sends them to the callback prompt:
    only a caller waiting in ``callcenter-wait`` (not talking, not gone)."""
    two = call.two
    if call.gone or call.outside is not None or two.bridge_id is not None:
        return False
    if two.context != callers.WAIT:
        return False
    digit = [("Digit", KEY), ("Direction", "Received")]
    pbx.emit("DTMFBegin", "dtmf", channel_block(two), digit)
    pbx.emit("DTMFEnd", "dtmf", channel_block(two), digit, [("DurationMs", DTMF_DURATION_MS)])
    two.goto(callers.WAIT, KEY, 1)
    held = bool(two.variables.get("CC_CALL_ID"))
    pbx.newexten(two, "GotoIf", f"{int(held)}?s,2")
    if held:
        two.goto(callers.WAIT, "s", 2)
        pbx.newexten(two, "Wait", "600")
        two.priority = 3
        return False
    queue = two.variables.get("CC_QUEUE") or call.queue
    two.priority = 2
    pbx.newexten(two, "Goto", f"{CONTEXT},{queue},1")
    enter(pbx, call, queue)
    return True


def enter(pbx: Pbx, call: SimCall, queue: str) -> None:
    """The caller's ;2 runs ``callcenter-callback`` with the queue as extension."""
    pbx.cancel(call.patience)
    two = call.two
    two.goto(CONTEXT, queue, 1)
    pbx.newexten(two, "Playback", PROMPT)
    # The caller hanging up meanwhile cancels it, as it cancels their patience.
    call.patience = pbx.later(PROMPT_S, _prompt_played, pbx, call, queue)


def _prompt_played(pbx: Pbx, call: SimCall, queue: str) -> None:
    if call.gone:
        return
    two = call.two
    number = "" if two.caller_num == UNKNOWN else two.caller_num
    two.priority = 2
    pbx.newexten(two, "UserEvent", f"{USER_EVENT},Queue: {queue},Number: {number}")
    pbx.emit(
        "UserEvent",
        "user",
        channel_block(two),
        [("UserEvent", USER_EVENT), ("Queue", queue), ("Number", number)],
    )
    two.priority = 3
    callers.dialplan_hangs_up(pbx, call, was_bridged=False)
