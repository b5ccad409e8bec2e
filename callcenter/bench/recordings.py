"""How long keeping a recording takes once its call is over: the legs joined
into one WAV, encrypted and written to the store, then read back and
decrypted as the audio endpoint does.

The workload: ``calls`` calls of ``minutes`` minutes of 8 kHz 16-bit mono (what
MixMonitor writes for a phone call), every third one transferred once, so two
legs with a second of overlap. The figures are wall time per call for the
join, the store (AES-256-GCM and the atomic write) and the read, and the
stored bytes per recorded minute; everything runs in a temporary directory.
"""

from __future__ import annotations

import os
import random
import statistics
import tempfile
import time
import wave
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from recordings import LegAudio, RecordingCipher, RecordingStore, join_legs

RATE = 8000


def _write_leg(path: Path, seconds: float, rng: random.Random) -> None:
    frames = int(seconds * RATE)
    # Noise-like audio: what compresses least, so sizes are not flattered.
    samples = rng.randbytes(frames * 2)
    with wave.open(str(path), "wb") as audio:
        audio.setnchannels(1)
        audio.setsampwidth(2)
        audio.setframerate(RATE)
        audio.writeframes(samples)


def _legs(spool: Path, call: int, minutes: float, rng: random.Random) -> list[LegAudio]:
    seconds = minutes * 60.0
    start = 1_800_000_000.0 + call * 3600.0
    if call % 3 != 2:
        path = spool / f"call{call}.wav"
        _write_leg(path, seconds, rng)
        return [LegAudio(f"leg{call}", 1, start, path)]
    first, second = spool / f"call{call}.wav", spool / f"call{call}-2.wav"
    _write_leg(first, seconds / 2 + 1.0, rng)
    _write_leg(second, seconds / 2, rng)
    return [
        LegAudio(f"leg{call}a", 1, start, first),
        LegAudio(f"leg{call}b", 2, start + seconds / 2, second),
    ]


def _ms(values: list[float]) -> dict[str, float]:
    ordered = sorted(values)
    return {
        "p50_ms": round(statistics.median(ordered) * 1000, 2),
        "max_ms": round(ordered[-1] * 1000, 2),
    }


def run(*, calls: int, minutes: float, seed: int) -> dict[str, Any]:
    rng = random.Random(seed)
    cipher = RecordingCipher(os.urandom(32))
    join_s: list[float] = []
    store_s: list[float] = []
    read_s: list[float] = []
    stored_bytes = 0
    with tempfile.TemporaryDirectory(prefix="cc-bench-rec-") as root:
        spool = Path(root) / "spool"
        spool.mkdir()
        store = RecordingStore(Path(root) / "store", cipher)
        for call in range(calls):
            legs = _legs(spool, call, minutes, rng)
            began = time.perf_counter()
            joined = join_legs(legs)
            joined_at = time.perf_counter()
            stored = store.save(
                f"call{call}", datetime.fromtimestamp(legs[0].started_at, UTC), joined.wav
            )
            stored_at = time.perf_counter()
            played = store.read(stored.relative_path)
            read_at = time.perf_counter()
            assert played == joined.wav
            join_s.append(joined_at - began)
            store_s.append(stored_at - joined_at)
            read_s.append(read_at - stored_at)
            stored_bytes += (store.root / stored.relative_path).stat().st_size
            for leg in legs:
                leg.path.unlink()
    return {
        "calls": calls,
        "minutes_per_call": minutes,
        "encrypted": True,
        "join": _ms(join_s),
        "encrypt_and_store": _ms(store_s),
        "read_and_decrypt": _ms(read_s),
        "stored_bytes_per_minute": round(stored_bytes / (calls * minutes)),
        "seed": seed,
    }
