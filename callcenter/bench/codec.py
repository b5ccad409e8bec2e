"""How fast the AMI layer reads: codec framing and call tracking, on real traffic.

The input is the real Asterisk 22 captures shipped in ``tests/fixtures/ami``,
repeated until there are enough events, fed in 64 KiB reads as a socket would
deliver them. The baseline is the least a parser can do (split frames and lines,
decode, build a dict), so ``codec_vs_bare_split`` says what our framing costs.
"""

from __future__ import annotations

import time
from importlib.resources import files
from pathlib import Path
from typing import Any

from callcenter.ami.codec import FRAME_END, AmiCodec
from callcenter.ami.message import Message
from callcenter.ami.tracker import CallTracker

READ_SIZE = 64 * 1024


def capture_stream(captures: Path, min_events: int) -> tuple[bytes, int]:
    """The captures' frames (banners dropped) repeated to at least ``min_events``."""
    body = b""
    for path in sorted(captures.glob("*.ami")):
        data = path.read_bytes()
        for part in data.split(b"=== second connection ===\r\n"):
            body += part.split(b"\r\n", 1)[1] if part.startswith(b"Asterisk Call Manager") else part
    frames = body.count(FRAME_END)
    repeats = max(1, -(-min_events // frames))
    # Each copy gets its own Uniqueids and Linkedids, so the tracker sees new
    # calls rather than replays of the same ones.
    copies = [
        body.replace(b"pbx1-", b"pbx1-r%d-" % n).replace(b"agentleg-", b"agentleg-r%d-" % n)
        for n in range(repeats)
    ]
    return b"".join(copies), frames * repeats


def _bare_split(data: bytes) -> int:
    count = 0
    buffer = b""
    for start in range(0, len(data), READ_SIZE):
        buffer += data[start : start + READ_SIZE]
        *frames, buffer = buffer.split(FRAME_END)
        for frame in frames:
            fields = dict(
                line.decode("utf-8", "replace").split(": ", 1)
                for line in frame.split(b"\r\n")
                if b": " in line
            )
            count += bool(fields)
    return count


def _codec(data: bytes) -> list[Message]:
    codec = AmiCodec(expect_banner=False)
    out: list[Message] = []
    for start in range(0, len(data), READ_SIZE):
        out.extend(f for f in codec.feed(data[start : start + READ_SIZE]) if isinstance(f, Message))
    return out


def run(captures: Path | None = None, min_events: int = 200_000) -> dict[str, Any]:
    folder = captures or default_captures()
    data, _ = capture_stream(folder, min_events)

    started = time.perf_counter()
    bare = _bare_split(data)
    bare_s = time.perf_counter() - started

    started = time.perf_counter()
    messages = _codec(data)
    codec_s = time.perf_counter() - started

    tracker = CallTracker("bench")
    started = time.perf_counter()
    domain_events = 0
    for at, msg in enumerate(messages):
        domain_events += len(tracker.feed(msg, float(at)))
    tracker_s = time.perf_counter() - started

    return {
        "benchmark": "ami-codec",
        "input": str(folder),
        "bytes": len(data),
        "frames": len(messages),
        "bare_split_frames_per_s": round(bare / bare_s),
        "codec_frames_per_s": round(len(messages) / codec_s),
        "codec_vs_bare_split": round(bare_s / codec_s, 2),
        "tracker_frames_per_s": round(len(messages) / tracker_s),
        "tracker_domain_events": domain_events,
    }


def default_captures() -> Path:
    """The captures in a source checkout (the benchmark reads the same bytes as
    the conformance tests)."""
    here = Path(str(files("callcenter"))).parent / "tests" / "fixtures" / "ami"
    if not here.is_dir():
        raise FileNotFoundError("captures not found: pass --captures DIR (tests/fixtures/ami)")
    return here
