"""The audio a simulated MixMonitor writes: speech-like sound, silence where the
recording was muted, as the 8 kHz mono 16-bit PCM WAV Asterisk's ``wav`` format
writes.

Why it sounds like speech rather than a test tone: the service's recording path
(joining legs, finding the paused parts, playing them back) must be exercised on
audio that has what speech has -- syllables, pitch, short pauses, noise -- and
never a run of exact zeros, so that the only digital silence in a file is a
MixMonitorMute. Why tables: a call is 16,000 bytes a second and the simulator
runs on one event loop, so a file is a concatenation of syllables synthesised
once per process, not a per-sample loop per call.
"""

from __future__ import annotations

import functools
import math
import os
import random
import secrets
import sys
import wave
import zlib
from array import array
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

RATE = 8000
SAMPLE_WIDTH = 2
#: the sides of a channel's audio MixMonitor mixes; muting both is silence
SIDES = frozenset({"read", "write"})

#: the syllable tables are the same in every process, so a call's file is too
_TABLE_SEED = 0x5EED
_SYLLABLES = 24
_PAUSES = 6
#: how often a syllable is followed by a short pause (between words)
_PAUSE_SHARE = 0.2
_MAX = 32767

#: (first sample, end sample) of a stretch of the file
Span = tuple[int, int]


@dataclass
class Tape:
    """One MixMonitor as it runs: where its file goes, when it started and when
    both sides were muted, in seconds of the simulator's clock (``Pbx.now``)."""

    path: Path
    started_at: float
    muted: frozenset[str] = frozenset()
    silent_since: float | None = None
    #: (from, to) in clock seconds, closed stretches of silence
    silences: list[tuple[float, float]] = field(default_factory=list)

    @property
    def seed(self) -> int:
        """From the file name: the same call gives the same bytes."""
        return zlib.crc32(self.path.name.encode())

    def mute(self, now: float, direction: str, muted: bool) -> None:
        """``MixMonitorMute``: ``direction`` is read, write or both. The file is
        silent while both sides are muted; one side muted still records the
        other, which is speech too (the synthetic sound has no sides)."""
        was_silent = self.muted == SIDES
        sides = SIDES if direction == "both" else frozenset({direction}) & SIDES
        self.muted = self.muted | sides if muted else self.muted - sides
        silent = self.muted == SIDES
        if silent and not was_silent:
            self.silent_since = now
        elif was_silent and not silent and self.silent_since is not None:
            self.silences.append((self.silent_since, now))
            self.silent_since = None

    def samples_until(self, ended_at: float) -> int:
        return self._sample(ended_at, ended_at)

    def silent_spans(self, ended_at: float) -> list[Span]:
        """The muted stretches as sample ranges of a file that ends at ``ended_at``
        (a mute still on at hangup lasts to the end)."""
        stretches = list(self.silences)
        if self.silent_since is not None:
            stretches.append((self.silent_since, ended_at))
        spans = [(self._sample(a, ended_at), self._sample(b, ended_at)) for a, b in stretches]
        return [(a, b) for a, b in spans if b > a]

    def _sample(self, at: float, ended_at: float) -> int:
        end = max(0, round((ended_at - self.started_at) * RATE))
        return min(end, max(0, round((at - self.started_at) * RATE)))


def recording_frames(seed: int, n_samples: int, silences: Sequence[Span]) -> bytearray:
    """``n_samples`` of speech (little-endian 16-bit), exact zeros over ``silences``."""
    frames = speech(seed, n_samples)
    for start, end in silences:
        frames[start * SAMPLE_WIDTH : end * SAMPLE_WIDTH] = bytes((end - start) * SAMPLE_WIDTH)
    return frames


def speech(seed: int, n_samples: int) -> bytearray:
    """Syllables and pauses drawn from the tables by ``seed``; no sample is 0."""
    syllables, pauses = _tables()
    rng = random.Random(seed)
    need = n_samples * SAMPLE_WIDTH
    parts: list[bytes] = []
    size = 0
    while size < need:
        block = rng.choice(pauses if rng.random() < _PAUSE_SHARE else syllables)
        parts.append(block)
        size += len(block)
    frames = bytearray().join(parts)
    del frames[need:]
    return frames


def write_wav(path: Path, frames: bytes | bytearray) -> None:
    """Write the file under a temporary name beside it, then rename it into place,
    so a reader of the directory sees the whole file or none (the temporary name
    starts with a dot and does not end in ``.wav``). Blocking: run it off the loop."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(4)}.part")
    fd = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
    try:
        with os.fdopen(fd, "wb") as raw, wave.open(raw, "wb") as out:
            out.setnchannels(1)
            out.setsampwidth(SAMPLE_WIDTH)
            out.setframerate(RATE)
            out.writeframes(frames)
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


@functools.cache
def _tables() -> tuple[tuple[bytes, ...], tuple[bytes, ...]]:
    """Syllables (125-300 ms) and pauses (50-200 ms), synthesised once."""
    rng = random.Random(_TABLE_SEED)
    syllables = tuple(_syllable(rng) for _ in range(_SYLLABLES))
    pauses = tuple(_pause(rng) for _ in range(_PAUSES))
    return syllables, pauses


def _syllable(rng: random.Random) -> bytes:
    """A voiced sound: a pitch with two harmonics and a formant-like tone, swelling
    and fading at syllable rate, over a little noise."""
    n = rng.randrange(1000, 2400)
    voice = 2 * math.pi * rng.uniform(110.0, 240.0) / RATE
    formant = 2 * math.pi * rng.uniform(500.0, 1100.0) / RATE
    peak = rng.uniform(5000.0, 11000.0) / 1.25
    samples = array("h")
    for i in range(n):
        envelope = 0.04 + 0.96 * math.sin(math.pi * i / n) ** 2
        tone = (
            0.6 * math.sin(voice * i)
            + 0.3 * math.sin(2 * voice * i)
            + 0.1 * math.sin(3 * voice * i)
            + 0.25 * math.sin(formant * i)
        )
        samples.append(_nonzero(peak * envelope * tone + rng.gauss(0.0, 120.0)))
    return _little_endian(samples)


def _pause(rng: random.Random) -> bytes:
    """Between words: room noise, quiet but never digital silence."""
    samples = array("h", (_nonzero(rng.gauss(0.0, 40.0)) for _ in range(rng.randrange(400, 1600))))
    return _little_endian(samples)


def _nonzero(value: float) -> int:
    """The sample nearest ``value``, never 0: exact zeros mean a mute."""
    sample = max(-_MAX, min(_MAX, round(value)))
    return sample or (1 if value >= 0 else -1)


def _little_endian(samples: array[int]) -> bytes:
    """WAV's byte order, whatever the machine's."""
    if sys.byteorder == "big":
        samples.byteswap()
    return samples.tobytes()
