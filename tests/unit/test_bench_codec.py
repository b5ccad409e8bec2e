"""`callcenter bench codec` prints figures a script can read (times are not asserted)."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from callcenter.cli import app

CAPTURES = Path(__file__).parent.parent / "fixtures" / "ami"


def test_bench_codec_reads_every_frame_of_the_captures_and_prints_json() -> None:
    result = CliRunner().invoke(
        app, ["bench", "codec", "--captures", str(CAPTURES), "--min-events", "1000"]
    )
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    one_copy = sum(
        p.read_bytes().count(b"\r\n\r\n") for p in CAPTURES.glob("*.ami")
    )  # every frame ends with a blank line
    assert figures["frames"] % one_copy == 0 and figures["frames"] >= 1000
    assert figures["tracker_domain_events"] > 0
    for key in ("codec_frames_per_s", "bare_split_frames_per_s", "tracker_frames_per_s"):
        assert figures[key] > 0
