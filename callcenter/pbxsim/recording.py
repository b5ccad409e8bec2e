"""Call recording: the dialplan's ``MixMonitor`` and the ``MixMonitorMute`` action
(capture 07), with Asterisk's own texts from app_mixmonitor.c, and the file a
MixMonitor writes.

Why the wire comes first: the ACD pauses and resumes a recording (PCI: card
numbers must not be on tape) and must see the same answers and
``MixMonitorMute`` events it gets from a real switch. Why files too: the
service's whole recording path (waiting for a leg's file, joining legs, finding
the paused parts) should run against the simulator as against Asterisk. Given a
recordings directory (the spool as the service sees it), ``MixMonitor`` of
``/var/spool/asterisk/monitor/<name>.wav`` writes ``<dir>/<name>.wav`` once its
channel hangs up: speech-like sound from the start to the hangup, exact silence
while both directions were muted (``audio``). Without one nothing is written.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import structlog

from callcenter.ami.message import Message
from callcenter.pbxsim import audio
from callcenter.pbxsim.channels import SimChannel
from callcenter.pbxsim.events import Headers, Reply, channel_block, response
from callcenter.pbxsim.pbx import Pbx

log = structlog.get_logger(__name__)

DIRECTIONS = frozenset({"read", "write", "both"})
#: where the dialplan's MixMonitor writes, as Asterisk names it
#: (extensions.conf, ``callcenter-connect``)
SPOOL = "/var/spool/asterisk/monitor"
#: a file name the simulator writes: no path, no leading dot, a ``.wav``
_BASE_NAME = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]*\.wav")


def start(pbx: Pbx, ch: SimChannel, filename: str) -> None:
    """``MixMonitor(<filename>,b)`` ran on the channel."""
    ch.mixmonitor = filename
    pbx.varset(ch, "MIXMONITOR_FILENAME", filename)
    pbx.emit("MixMonitorStart", "call", channel_block(ch))
    if pbx.recordings_dir is None:
        return
    path = spool_file(pbx.recordings_dir, filename)
    if path is None:
        log.warning("simulator: MixMonitor file outside the spool, not written", filename=filename)
        return
    tape = audio.Tape(path, pbx.now())
    ch.tape = tape
    pbx.on_hangup(ch, functools.partial(_finish, pbx, ch, tape))


def spool_file(recordings_dir: Path, filename: str) -> Path | None:
    """Where ``filename`` (as Asterisk names it) lands in ``recordings_dir``; None
    for anything but a plain ``.wav`` name right in the spool, so no variable an
    Originate sets can make the simulator write elsewhere."""
    directory, _, name = filename.rpartition("/")
    if directory != SPOOL or not _BASE_NAME.fullmatch(name) or ".." in name:
        return None
    return recordings_dir / name


def _finish(pbx: Pbx, ch: SimChannel, tape: audio.Tape) -> None:
    """The channel hung up: MixMonitor closes its file. The audio is made and
    written on a worker thread (a long call is megabytes)."""
    if ch.tape is tape:
        ch.tape = None
    ended_at = pbx.now()
    silences = tape.silent_spans(ended_at)
    samples = tape.samples_until(ended_at)
    pbx.in_background(functools.partial(_write, tape.path, tape.seed, samples, silences))


def _write(path: Path, seed: int, samples: int, silences: list[audio.Span]) -> None:
    try:
        audio.write_wav(path, audio.recording_frames(seed, samples, silences))
    except OSError as error:
        log.warning("simulator: recording not written", path=str(path), error=str(error))


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
    if channel.tape is not None:
        channel.tape.mute(pbx.now(), direction, muted == "1")
    extra: Headers = [("Direction", direction), ("State", muted)]
    pbx.emit("MixMonitorMute", "call", channel_block(channel), extra)


def _is_true(text: str) -> bool:
    """Asterisk's ``ast_true``, which the event's State reports."""
    return text.strip().lower() in {"yes", "true", "y", "t", "1", "on"}
