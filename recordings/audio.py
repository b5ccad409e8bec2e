"""One recording per call, joined from the WAV file of each recorded agent leg.

Asterisk's MixMonitor writes one file per agent leg (``<call>.wav``,
``<call>-2.wav``...), each from that leg's answer to its hangup. The service
keeps one recording per call, so the legs are joined here:

* **In order of start.** Each leg contributes only what comes after the end of
  what the recording already holds. Legs overlap during a warm transfer (both
  agents are in the call's conference, so both files hold the same
  conversation); the overlap is taken once, from the earlier leg, because it is
  the same audio and hearing it twice would be wrong.
* **Gaps are not filled.** Between a blind transfer's legs the caller waited in
  the queue again; there is no agent audio for that time and inventing silence
  would make the recording longer than anything heard. Each :class:`Section`
  says where its leg's audio starts in the joined recording instead.
* **One format.** The first readable leg's format (rate, sample width,
  channels: 8000 Hz mono 16-bit from MixMonitor) is the recording's. A leg of
  another format is *not* converted: resampling or remixing would alter audio
  that may be evidence, and Asterisk writes every leg of a call alike, so a
  differing file is itself suspect. It is reported in ``missing`` like a file
  that is absent or unreadable; joining never raises for a bad leg.

Pauses (``MixMonitorMute``, so card numbers are not on tape) are observed as
wall-clock intervals per leg; :func:`pauses_in_recording` maps them to offsets
in the joined recording, where :func:`zero_runs` can confirm they are silence.

Only the stdlib ``wave`` and ``array`` modules: the files are plain PCM.
"""

from __future__ import annotations

import array
import io
import math
import re
import sys
import wave
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

#: what Asterisk's MixMonitor writes and an empty recording is made as
DEFAULT_RATE = 8000
DEFAULT_WIDTH = 2
DEFAULT_CHANNELS = 1

#: a signed PCM sample of this many bytes, as an ``array`` type code
_SIGNED_TYPECODES = {2: "h", 4: "i"}


@dataclass(frozen=True)
class LegAudio:
    """One recorded leg's file: ``started_at`` is when (epoch seconds) the
    file's first sample was recorded, i.e. the leg's MixMonitor start."""

    leg_id: str
    agent_id: int | None
    started_at: float
    path: Path


@dataclass(frozen=True)
class Section:
    """Where a leg's audio is in the joined recording: from ``offset_s`` for
    ``duration_s``. ``skipped_s`` is how much of the start of the leg's own
    file was left out because the earlier leg already held it (an overlap)."""

    leg_id: str
    agent_id: int | None
    offset_s: float
    duration_s: float
    skipped_s: float = 0.0

    @property
    def end_s(self) -> float:
        return self.offset_s + self.duration_s


@dataclass(frozen=True)
class Joined:
    """A call's recording: one complete WAV file, which leg is heard where, and
    the legs whose files could not be used (absent, unreadable, other format)."""

    wav: bytes
    duration_s: float
    sections: list[Section]
    missing: list[str]


@dataclass(frozen=True)
class Pause:
    """A paused (muted) span of the joined recording, and who paused it."""

    start_s: float
    duration_s: float
    by: str

    @property
    def end_s(self) -> float:
        return self.start_s + self.duration_s


@dataclass(frozen=True)
class _Format:
    rate: int
    width: int
    channels: int

    @property
    def frame_bytes(self) -> int:
        return self.width * self.channels


@dataclass(frozen=True)
class _Read:
    leg: LegAudio
    fmt: _Format
    frames: bytes

    @property
    def nframes(self) -> int:
        return len(self.frames) // self.fmt.frame_bytes


def join_legs(legs: Sequence[LegAudio]) -> Joined:
    """The call's recording from its legs' files (see the module docstring for
    overlaps, gaps and formats). Sections list only legs that contributed
    audio: a readable leg wholly inside earlier audio (or empty) has none and
    is not missing either. No usable leg gives a valid WAV of 0 frames."""
    missing: list[str] = []
    reads: list[_Read] = []
    fmt: _Format | None = None
    for leg in sorted(legs, key=lambda leg: (leg.started_at, leg.leg_id)):
        read = _read_leg(leg)
        if read is None or (fmt is not None and read.fmt != fmt):
            missing.append(leg.leg_id)
            continue
        fmt = read.fmt
        reads.append(read)
    if fmt is None:
        fmt = _Format(DEFAULT_RATE, DEFAULT_WIDTH, DEFAULT_CHANNELS)

    chunks: list[bytes] = []
    sections: list[Section] = []
    total = 0  # frames in the recording so far
    covered_until = -math.inf  # epoch time of the end of what it holds
    for read in reads:
        leg, nframes = read.leg, read.nframes
        skip = 0
        if leg.started_at < covered_until:
            skip = min(nframes, round((covered_until - leg.started_at) * fmt.rate))
        covered_until = max(covered_until, leg.started_at + nframes / fmt.rate)
        taken = nframes - skip
        if taken <= 0:
            continue
        chunks.append(read.frames[skip * fmt.frame_bytes : nframes * fmt.frame_bytes])
        sections.append(
            Section(
                leg_id=leg.leg_id,
                agent_id=leg.agent_id,
                offset_s=total / fmt.rate,
                duration_s=taken / fmt.rate,
                skipped_s=skip / fmt.rate,
            )
        )
        total += taken
    return Joined(
        wav=_wav_bytes(fmt, b"".join(chunks)),
        duration_s=total / fmt.rate,
        sections=sections,
        missing=missing,
    )


def _read_leg(leg: LegAudio) -> _Read | None:
    """The leg's PCM frames, or None for a file that is absent or not a plain
    PCM WAV. A header that promises more frames than the file holds (a file
    cut short) keeps what is there, whole frames only."""
    try:
        with wave.open(str(leg.path), "rb") as reader:
            fmt = _Format(reader.getframerate(), reader.getsampwidth(), reader.getnchannels())
            if reader.getcomptype() != "NONE" or fmt.rate <= 0 or fmt.frame_bytes <= 0:
                return None
            frames = reader.readframes(reader.getnframes())
    except (OSError, EOFError, wave.Error, ValueError):
        return None
    whole = len(frames) - len(frames) % fmt.frame_bytes
    return _Read(leg, fmt, frames[:whole])


def _wav_bytes(fmt: _Format, frames: bytes) -> bytes:
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as writer:
        writer.setnchannels(fmt.channels)
        writer.setsampwidth(fmt.width)
        writer.setframerate(fmt.rate)
        writer.writeframes(frames)
    return buffer.getvalue()


def zero_runs(wav: bytes, min_s: float) -> list[tuple[float, float]]:
    """``(start_s, length_s)`` of each run of exactly-silent frames (every
    channel's sample zero; 128 for unsigned 8-bit) at least ``min_s`` long.

    A muted MixMonitor writes exact digital silence, so a paused span of a
    recording shows up here, while speech (even quiet) almost never holds a
    true zero for long. Raises ValueError for bytes that are not a PCM WAV.
    """
    if min_s < 0:
        raise ValueError(f"min_s must not be negative, not {min_s!r}")
    try:
        with wave.open(io.BytesIO(wav), "rb") as reader:
            fmt = _Format(reader.getframerate(), reader.getsampwidth(), reader.getnchannels())
            frames = reader.readframes(reader.getnframes())
    except (EOFError, wave.Error) as error:
        raise ValueError(f"not a readable PCM WAV: {error}") from None
    size = fmt.frame_bytes
    if fmt.rate <= 0 or size <= 0:
        raise ValueError("not a readable PCM WAV: no rate or frame size")
    silence = b"\x80" if fmt.width == 1 else b"\x00"
    min_frames = max(1, math.ceil(min_s * fmt.rate - 1e-9))
    runs: list[tuple[float, float]] = []
    # Runs of silent bytes at least one frame long, found in C; each run is then
    # cut to the whole frames inside it (a run may start mid-frame).
    for match in re.finditer(re.escape(silence) + b"{%d,}" % size, frames):
        first = -(-match.start() // size)
        end = match.end() // size
        if end - first >= min_frames:
            runs.append((first / fmt.rate, (end - first) / fmt.rate))
    return runs


def samples(wav: bytes) -> array.array[int]:
    """The WAV's samples as integers (interleaved by channel), for tests and
    diagnostics; 16- and 32-bit signed PCM only."""
    with wave.open(io.BytesIO(wav), "rb") as reader:
        width = reader.getsampwidth()
        frames = reader.readframes(reader.getnframes())
    typecode = _SIGNED_TYPECODES.get(width)
    if typecode is None:
        raise ValueError(f"{width * 8}-bit samples are not supported here")
    values = array.array(typecode)
    values.frombytes(frames)
    if sys.byteorder == "big":  # WAV is little-endian
        values.byteswap()
    return values


def pauses_in_recording(
    leg: LegAudio,
    section: Section,
    mutes: Sequence[tuple[float, float, str]],
) -> list[Pause]:
    """The leg's mute intervals ``(epoch start, epoch end, who)`` as pauses in
    the joined recording, clipped to the part of the recording that is this
    leg's ``section`` (a mute during an overlap the earlier leg supplied is not
    this leg's to report). A mute still on at hangup may end at ``math.inf``."""
    if section.leg_id != leg.leg_id:
        raise ValueError(f"section of leg {section.leg_id!r} given for leg {leg.leg_id!r}")
    heard_from = leg.started_at + section.skipped_s  # epoch of the section's first sample
    heard_until = heard_from + section.duration_s
    pauses: list[Pause] = []
    for start, end, by in mutes:
        clipped_start, clipped_end = max(start, heard_from), min(end, heard_until)
        if clipped_end <= clipped_start:
            continue
        pauses.append(
            Pause(
                start_s=section.offset_s + (clipped_start - heard_from),
                duration_s=clipped_end - clipped_start,
                by=by,
            )
        )
    pauses.sort(key=lambda pause: pause.start_s)
    return pauses


def pauses_in_joined(
    legs: Sequence[LegAudio],
    joined: Joined,
    mutes_by_leg: Mapping[str, Sequence[tuple[float, float, str]]],
) -> list[Pause]:
    """Every pause of the joined recording, in order: each leg's observed mute
    intervals (keyed by leg id; a leg without any may be left out) mapped
    through that leg's section."""
    by_id = {leg.leg_id: leg for leg in legs}
    pauses: list[Pause] = []
    for section in joined.sections:
        leg = by_id.get(section.leg_id)
        mutes = mutes_by_leg.get(section.leg_id, ())
        if leg is not None and mutes:
            pauses.extend(pauses_in_recording(leg, section, mutes))
    pauses.sort(key=lambda pause: pause.start_s)
    return pauses
