"""Builders of the AMI actions callcenter sends, from validated values only.

Why so strict: Originate is as dangerous as a shell (AST-2012-012). An offer only
ever originates into our fixed ``callcenter-connect`` context, a conference leg
into ``callcenter-conf``, a supervisor's leg into ``callcenter-spy`` and a
callback attempt into ``callcenter-callback-out``, each with
an allowlisted set of variables; a Redirect only goes to a context of an
allowlist; and every value is checked against what it may look like (a dial
string, a channel name, an id, a phone number) before it is placed in a header.
Application and Data are never set. The codec refuses CR/LF on top of that.
"""

from __future__ import annotations

import re

CONNECT_CONTEXT = "callcenter-connect"
#: runs ``ChanSpy(${CC_SPY_TARGET},${CC_SPY_OPTIONS})`` (extensions.conf, capture 09)
SPY_CONTEXT = "callcenter-spy"
#: ChanSpy's options per supervision mode: ``q`` spares everyone the beep and the
#: spoken channel name; ``w`` lets the supervisor talk to the spied channel (the
#: agent) only; ``B`` to both parties of its bridge.
SPY_OPTIONS = {"monitor": "q", "whisper": "qw", "barge": "qB"}
#: runs ``ConfBridge(${CC_CALL_ID})``: the call's own conference (capture 16)
CONF_CONTEXT = "callcenter-conf"
#: where a caller waits to be offered, and is held (capture 08, capture 16)
WAIT_CONTEXT = "callcenter-wait"
#: a callback attempt: the agent's answered leg runs
#: ``Dial(PJSIP/${EXTEN}@outbound-trunk,...)``, the extension being the
#: customer's number (config/asterisk/extensions.conf)
CALLBACK_OUT_CONTEXT = "callcenter-callback-out"
#: dials ``${EXTEN}`` on the outside trunk (config/asterisk/extensions.conf)
OUTBOUND_CONTEXT = "callcenter-outbound"
#: set on an agent leg's channel, it sends the leg into the call's conference when
#: its ``Bridge()`` returns instead of hanging it up (``callcenter-connect``)
#: the post-call survey: the caller keys a 1-5 score, raised as a UserEvent
SURVEY_CONTEXT = "callcenter-survey"
AFTER_BRIDGE_VARIABLE = "CC_AFTER_BRIDGE"
AFTER_BRIDGE_CONF = "conf"
#: where ``redirect_caller`` may send an answered caller (the extension is ``s``,
#: but ``outbound``'s is the number dialed)
CALLER_DESTINATIONS = {
    "survey": SURVEY_CONTEXT,
    "hold": WAIT_CONTEXT,
    "wait": WAIT_CONTEXT,
    "conference": CONF_CONTEXT,
    "outbound": OUTBOUND_CONTEXT,
}
#: where a caller sent out of the queues goes; the extension is the queue's name
LEAVING_CONTEXTS = {
    "voicemail": "callcenter-voicemail",
    "callback": "callcenter-callback",
    "hangup": "callcenter-closed",
}

_DIAL_STRING = re.compile(r"(?:PJSIP|SIP|IAX2|DAHDI|Local)/[A-Za-z0-9_.@+\-/]{1,80}\Z")
_CHANNEL = re.compile(r"[A-Za-z0-9_.@+\-/;]{1,120}\Z")
#: ChanSpy takes its target as a name *prefix*: ``PJSIP/agent01`` would also match
#: ``PJSIP/agent010-...`` and a bare ``PJSIP/`` any call, so a target must be a
#: whole channel name (with its ``-<sequence>`` and, for Local, ``;1``/``;2``).
_SPY_TARGET = re.compile(
    r"(?:PJSIP|SIP|IAX2|DAHDI|Local)/[A-Za-z0-9_.@+\-/]{1,100}-[0-9A-Za-z]{1,16}(?:;[12])?\Z"
)
_ID = re.compile(r"[A-Za-z0-9_\-]{1,64}\Z")
_NUMBER = re.compile(r"\+?[0-9*#]{1,32}\Z")
#: an outside number the trunk may dial: no ``*``/``#`` feature codes, no
#: letters (a pattern match like ``_X.`` is not a number), not too short to be
#: an emergency or service code by accident
_OUTSIDE_NUMBER = re.compile(r"\+?[0-9]{3,20}\Z")
_OUTBOUND_LOCAL = re.compile(r"Local/(?P<number>[^@]*)@" + OUTBOUND_CONTEXT + r"(?:/n)?\Z")
_NAME_UNSAFE = re.compile(r"[\"<>\\\x00-\x1f\x7f]")
_VARIABLE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,63}\Z")
_LINE_BREAK = re.compile(r"[\r\n]")
#: the suffix that names a call's second and later recorded legs (``-2``, ...)
_RECORDING_PART = re.compile(r"-[0-9]{1,3}\Z")

Headers = list[tuple[str, str]]


class InvalidActionValue(ValueError):
    """A value that may not go into an AMI action; names the field and the reason."""

    def __init__(self, field: str, value: str, reason: str) -> None:
        super().__init__(f"{field}: {reason} (got {value[:40]!r})")
        self.field = field


def _check(field: str, value: str, pattern: re.Pattern[str], reason: str) -> str:
    if not pattern.match(value):
        raise InvalidActionValue(field, value, reason)
    return value


def caller_id(name: str, number: str) -> str:
    """A ``"Name" <number>`` string. A line break anywhere is refused outright (it
    is an injection attempt, not a typo); quotes and other unsafe characters are
    dropped from the name, and a number that is not digits is left out."""
    for field, value in (("caller_id_name", name), ("caller_id_number", number)):
        if _LINE_BREAK.search(value):
            raise InvalidActionValue(field, value, "contains a line break")
    clean_name = _NAME_UNSAFE.sub("", name)[:40].strip()
    clean_number = number if _NUMBER.match(number) else ""
    return f'"{clean_name}" <{clean_number}>'


def _leg_originate(
    *,
    leg_id: str,
    call_id: str,
    target: str,
    context: str,
    exten: str,
    ring_timeout_s: float,
    caller: str,
    variables: Headers | None = None,
    target_field: str = "agent_target",
) -> Headers:
    """The Originate shape every leg of a call shares (captures 01, 16): a fixed
    context of ours, Async, the ring time, our ChannelId, then ``CC_CALL_ID`` and
    the leg's own variables. Checks what all legs have: ids, dial string, time."""
    _check("leg_id", leg_id, _ID, "letters, digits, '-' and '_' only")
    _check("call_id", call_id, _ID, "letters, digits, '-' and '_' only")
    _check(target_field, target, _DIAL_STRING, "not a dial string (TECH/resource)")
    if not 0 < ring_timeout_s <= 600:
        raise InvalidActionValue("ring_timeout_s", str(ring_timeout_s), "must be 0-600 s")
    return [
        ("Channel", target),
        ("Context", context),
        ("Exten", exten),
        ("Priority", "1"),
        ("Async", "true"),
        ("Timeout", str(int(ring_timeout_s * 1000))),
        ("ChannelId", leg_id),
        ("CallerID", caller),
        ("Variable", f"CC_CALL_ID={call_id}"),
        *(variables or []),
    ]


def originate_agent_leg(
    *,
    leg_id: str,
    call_id: str,
    agent_target: str,
    caller_channel: str,
    ring_timeout_s: float,
    caller_id_number: str,
    caller_id_name: str,
    record: bool = False,
    recording_part: str = "",
    confirm: bool = False,
    survey: bool = False,
) -> Headers:
    """Headers of the Originate that rings an agent and bridges them to the caller.

    ``record``: ``callcenter-connect`` starts MixMonitor on the answered leg,
    into ``<call_id><recording_part>.wav``. A call's first recorded leg has no
    part (the captures' file name); later legs of the same call (after a
    transfer) get ``-2``, ``-3``..., since MixMonitor would truncate the first
    leg's file, and the service joins the parts into one recording.

    ``confirm``: ``callcenter-connect`` first asks the far end to press 1
    (``CC_CONFIRM=1``), so that a voicemail answering an outside number is not
    taken for the agent; anything but 1 hangs the leg up. Only set when asked
    for, so an offer without it is the captures' Originate, header for header.

    ``survey``: ``CC_SURVEY=1`` gives the leg's ``Bridge()`` the F option, so
    that when the agent hangs up the caller goes on to ``[callcenter-survey]``
    instead of being hung up. Only set when asked for, as ``confirm``."""
    _check("caller_channel", caller_channel, _CHANNEL, "not a channel name")
    return _leg_originate(
        leg_id=leg_id,
        call_id=call_id,
        target=agent_target,
        context=CONNECT_CONTEXT,
        exten="s",
        ring_timeout_s=ring_timeout_s,
        caller=caller_id(caller_id_name, caller_id_number),
        variables=[
            ("Variable", f"CC_CALLER_CHANNEL={caller_channel}"),
            ("Variable", f"CC_RECORD={1 if record else 0}"),
            *_recording_part(record, recording_part),
            *([("Variable", "CC_CONFIRM=1")] if confirm else []),
            *([("Variable", "CC_SURVEY=1")] if survey else []),
        ],
    )


def _recording_part(record: bool, part: str) -> Headers:
    if not record or not part:
        return []
    _check("recording_part", part, _RECORDING_PART, "not -<number>")
    return [("Variable", f"CC_REC_PART={part}")]


def originate_spy_leg(
    *,
    spy_leg_id: str,
    supervisor_target: str,
    spied_channel: str,
    mode: str,
    call_id: str,
) -> Headers:
    """Headers of the Originate that rings a supervisor's phone and, on answer,
    runs ChanSpy on ``spied_channel`` (the agent's channel of a call) with the
    options of ``mode`` (``SPY_OPTIONS``). Same shape as capture 09."""
    _check("spy_leg_id", spy_leg_id, _ID, "letters, digits, '-' and '_' only")
    _check("call_id", call_id, _ID, "letters, digits, '-' and '_' only")
    _check(
        "supervisor_target", supervisor_target, _DIAL_STRING, "not a dial string (TECH/resource)"
    )
    _check("spied_channel", spied_channel, _SPY_TARGET, "not a whole channel name")
    options = SPY_OPTIONS.get(mode)
    if options is None:
        raise InvalidActionValue("mode", mode, "not monitor, whisper or barge")
    return [
        ("Channel", supervisor_target),
        ("Context", SPY_CONTEXT),
        ("Exten", "s"),
        ("Priority", "1"),
        ("Async", "true"),
        ("ChannelId", spy_leg_id),
        # What the supervisor's phone shows while it rings: which call, which mode.
        ("CallerID", caller_id(f"CC {mode} {call_id}", "")),
        ("Variable", f"CC_SPY_TARGET={spied_channel}"),
        ("Variable", f"CC_SPY_OPTIONS={options}"),
    ]


def send_caller(*, caller_channel: str, destination: str, queue: str) -> Headers:
    """Headers of the Redirect that takes a waiting caller to voicemail, to the
    callback prompt or to the closed message: a fixed context chosen from an
    allowlist, the queue's name (checked) as the extension."""
    context = LEAVING_CONTEXTS.get(destination)
    if context is None:
        raise InvalidActionValue("destination", destination, "not voicemail, callback or hangup")
    return [
        ("Channel", _check("caller_channel", caller_channel, _CHANNEL, "not a channel name")),
        ("Context", context),
        ("Exten", _check("queue", queue, _ID, "letters, digits, '-' and '_' only")),
        ("Priority", "1"),
    ]


def set_call_id(*, channel: str, call_id: str) -> Headers:
    """Headers of the Setvar that names the caller's conference: ``callcenter-conf``
    runs ``ConfBridge(${CC_CALL_ID})`` on whoever enters it (capture 16, cc-3)."""
    return [
        ("Channel", _check("channel", channel, _CHANNEL, "not a channel name")),
        ("Variable", "CC_CALL_ID"),
        ("Value", _check("call_id", call_id, _ID, "letters, digits, '-' and '_' only")),
    ]


def follow_into_conference(*, agent_channel: str, follow: bool = True) -> Headers:
    """Headers of the Setvar that marks an agent leg's channel so that, when its
    ``Bridge()`` returns because the caller was Redirected away, it goes on into
    the call's conference instead of hanging up; ``follow=False`` clears it."""
    return [
        ("Channel", _check("agent_channel", agent_channel, _CHANNEL, "not a channel name")),
        ("Variable", AFTER_BRIDGE_VARIABLE),
        ("Value", AFTER_BRIDGE_CONF if follow else ""),
    ]


def redirect_caller(*, caller_channel: str, destination: str, number: str = "") -> Headers:
    """Headers of the Redirect that moves an answered caller: on hold or back to the
    queue (``callcenter-wait``), into its conference (``callcenter-conf``, whose
    name a ``set_call_id`` gave it first), or out to ``number`` on the trunk
    (``callcenter-outbound``, the number as the extension), or to the post-call
    survey (``callcenter-survey``, a caller its agents left). Only those five."""
    context = CALLER_DESTINATIONS.get(destination)
    if context is None:
        raise InvalidActionValue(
            "destination", destination, "not hold, wait, conference, outbound or survey"
        )
    exten = "s"
    if context == OUTBOUND_CONTEXT:
        exten = _check("number", number, _OUTSIDE_NUMBER, "not a phone number (+ and digits)")
    return [
        ("Channel", _check("caller_channel", caller_channel, _CHANNEL, "not a channel name")),
        ("Context", context),
        ("Exten", exten),
        ("Priority", "1"),
    ]


def originate_conference_leg(
    *,
    leg_id: str,
    call_id: str,
    target: str,
    ring_timeout_s: float,
    caller_id_number: str,
    caller_id_name: str,
) -> Headers:
    """Headers of the Originate that rings ``target`` into the call's conference
    (capture 16, cc-4 and cc-8): an agent's dial string, or
    ``Local/<number>@callcenter-outbound`` for an outside party, whose number is
    checked as a Redirect's would be. Only ``CC_CALL_ID`` is passed: the
    conference is found by it, and nothing else runs there."""
    headers = _leg_originate(
        leg_id=leg_id,
        call_id=call_id,
        target=target,
        context=CONF_CONTEXT,
        exten="s",
        ring_timeout_s=ring_timeout_s,
        caller=caller_id(caller_id_name, caller_id_number),
        target_field="target",
    )
    if f"@{OUTBOUND_CONTEXT}" in target:
        outside = _OUTBOUND_LOCAL.match(target)
        number = "" if outside is None else outside["number"]
        _check("target", number, _OUTSIDE_NUMBER, "not Local/<phone number>@callcenter-outbound")
    return headers


def originate_callback_leg(
    *,
    leg_id: str,
    call_id: str,
    agent_target: str,
    number: str,
    ring_timeout_s: float,
    caller_id_name: str,
) -> Headers:
    """Headers of the Originate of a callback attempt: the agent's phone rings
    first, showing the customer's name and number (the CallerID), and once the
    agent answers ``callcenter-callback-out`` dials ``number`` (the extension)
    on the trunk. The number is checked as a transfer out's is: whatever is in
    the extension is dialed. Only ``CC_CALL_ID`` is passed, for the record."""
    _check("number", number, _OUTSIDE_NUMBER, "not a phone number (+ and digits)")
    return _leg_originate(
        leg_id=leg_id,
        call_id=call_id,
        target=agent_target,
        context=CALLBACK_OUT_CONTEXT,
        exten=number,
        ring_timeout_s=ring_timeout_s,
        caller=caller_id(caller_id_name, number),
    )


def mute_recording(*, channel: str, muted: bool) -> Headers:
    """MixMonitorMute on the channel running the leg's MixMonitor (capture 07):
    both directions, so the paused part of the recording is silence (a card
    number read out is never on tape)."""
    _check("channel", channel, _CHANNEL, "not a channel name")
    return [("Channel", channel), ("Direction", "both"), ("State", "1" if muted else "0")]


def hangup(channel: str) -> Headers:
    return [("Channel", _check("channel", channel, _CHANNEL, "not a channel name"))]


def getvar(channel: str, variable: str) -> Headers:
    return [
        ("Channel", _check("channel", channel, _CHANNEL, "not a channel name")),
        ("Variable", _check("variable", variable, _VARIABLE, "not a variable name")),
    ]
