"""The post-call survey: ``[callcenter-survey]`` (config/asterisk/extensions.conf).

A caller gets there two ways. Its agent hangs up a call whose offer carried
``CC_SURVEY=1``: the agent leg's ``Bridge()`` had the F option, so the caller's
;2 leaves the bridge and starts ``callcenter-survey,s,1`` instead of going on
to its own ``Hangup()`` (capture 06). Or callcenter Redirects a caller left
alone in its conference there.

The context plays the prompt in a ``Read`` of one digit; a 1-5 raises
``UserEvent(CallCenterSurvey,Score: <digit>)`` on the caller's channel, plays
the thanks and hangs up; any other digit hangs up unscored. What the simulated
caller does is ``SimCall.survey_key``: the digit it presses, or None to hang up
during the prompt, as most real callers do.

Why the simulator plays it event for event: the ACD learns of the score only
from that UserEvent on the caller's channel, then sees the caller go like any
caller whose dialplan reaches ``Hangup()``.
"""

from __future__ import annotations

from callcenter.pbxsim import callers
from callcenter.pbxsim.calls import SimCall
from callcenter.pbxsim.events import channel_block
from callcenter.pbxsim.pbx import Pbx

CONTEXT = "callcenter-survey"
USER_EVENT = "CallCenterSurvey"
VARIABLE = "CC_SURVEY"
#: the Bridge() option the dialplan adds when ``CC_SURVEY=1``
BRIDGE_OPTION = f"F({CONTEXT}^s^1)"
READ = "CC_SCORE,callcenter/survey-score,1,,2,5"
SCORES = frozenset("12345")
#: how long into the prompt the caller presses its key (or hangs up)
KEY_AFTER_S = 1.0
#: how long "thank you" plays before the Hangup()
THANKS_S = 0.5
DTMF_DURATION_MS = "120"


def wanted(variables: dict[str, str]) -> bool:
    """Whether an agent leg's Originate asked for the survey."""
    return variables.get(VARIABLE) == "1"


def enter(pbx: Pbx, call: SimCall) -> None:
    """The caller's ;2 runs ``callcenter-survey`` from its first priority."""
    pbx.cancel(call.patience)
    pbx.cancel(call.talk)
    call.talk = None
    call.leg = None
    two = call.two
    two.goto(CONTEXT, "s", 1)
    pbx.newexten(two, "NoOp", "CallCenter survey")
    two.priority = 2
    pbx.newexten(two, "Read", READ)
    key = call.survey_key
    if key is None:
        call.patience = pbx.later(KEY_AFTER_S, callers.abandon, pbx, call)
    else:
        call.patience = pbx.later(KEY_AFTER_S, _keyed, pbx, call, key)


def _keyed(pbx: Pbx, call: SimCall, key: str) -> None:
    if call.gone:
        return
    two = call.two
    digit = [("Digit", key), ("Direction", "Received")]
    pbx.emit("DTMFBegin", "dtmf", channel_block(two), digit)
    pbx.emit("DTMFEnd", "dtmf", channel_block(two), digit, [("DurationMs", DTMF_DURATION_MS)])
    pbx.varset(two, "CC_SCORE", key)
    valid = key in SCORES
    two.priority = 3
    pbx.newexten(two, "GotoIf", f"{int(valid)}?scored")
    if not valid:
        two.priority = 4
        callers.dialplan_hangs_up(pbx, call)
        return
    two.priority = 5
    pbx.newexten(two, "UserEvent", f"{USER_EVENT},Score: {key}")
    pbx.emit("UserEvent", "user", channel_block(two), [("UserEvent", USER_EVENT), ("Score", key)])
    two.priority = 6
    pbx.newexten(two, "Playback", "callcenter/survey-thanks")
    call.patience = pbx.later(THANKS_S, _thanked, pbx, call)


def _thanked(pbx: Pbx, call: SimCall) -> None:
    if call.gone:
        return
    call.two.priority = 7
    callers.dialplan_hangs_up(pbx, call)
