"""Call recording: the dialplan's ``MixMonitor`` and the ``MixMonitorMute`` action
(capture 07), with Asterisk's own texts from app_mixmonitor.c.

Why the simulator records nothing yet says so: the ACD pauses and resumes a
recording (PCI: card numbers must not be on tape) and must see the same answers
and ``MixMonitorMute`` events it gets from a real switch.
"""

from __future__ import annotations

from callcenter.ami.message import Message
from callcenter.pbxsim.channels import SimChannel
from callcenter.pbxsim.events import Headers, Reply, channel_block, response
from callcenter.pbxsim.pbx import Pbx

DIRECTIONS = frozenset({"read", "write", "both"})


def start(pbx: Pbx, ch: SimChannel, filename: str) -> None:
    """``MixMonitor(<filename>,b)`` ran on the channel."""
    ch.mixmonitor = filename
    pbx.varset(ch, "MIXMONITOR_FILENAME", filename)
    pbx.emit("MixMonitorStart", "call", channel_block(ch))


def mixmonitor_mute(pbx: Pbx, msg: Message, reply: Reply) -> None:
    direction = (msg.get("Direction") or "").lower()
    name, state = msg.get("Channel") or "", msg.get("State") or ""
    error = None
    channel = pbx.channels.named(name) if name else None
    if direction not in DIRECTIONS:
        error = "Invalid direction specified. Must be read, write or both"
    elif not name:
        error = "No channel specified"
    elif not state:
        error = "No state specified"
    elif channel is None:
        error = "No such channel"
    elif channel.mixmonitor is None:
        error = "Cannot set mute flag"
    if error is not None or channel is None:
        reply(response(msg.action_id, "Error", error))
        return
    reply(response(msg.action_id, "Success"))
    muted = "1" if _is_true(state) else "0"
    extra: Headers = [("Direction", direction), ("State", muted)]
    pbx.emit("MixMonitorMute", "call", channel_block(channel), extra)


def _is_true(text: str) -> bool:
    """Asterisk's ``ast_true``, which the event's State reports."""
    return text.strip().lower() in {"yes", "true", "y", "t", "1", "on"}
