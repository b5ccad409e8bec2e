"""`callcenter bench recordings` keeps real recordings and prints figures a
script can read (times are not asserted)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from callcenter.cli import app


def test_bench_recordings_keeps_every_call_and_prints_json() -> None:
    result = CliRunner().invoke(
        app, ["bench", "recordings", "--json", "--calls", "3", "--minutes", "0.2"]
    )
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert figures["calls"] == 3 and figures["encrypted"] is True
    for step in ("join", "encrypt_and_store", "read_and_decrypt"):
        assert figures[step]["max_ms"] >= figures[step]["p50_ms"] > 0
    # 8 kHz 16-bit mono is 960,000 bytes a minute; the cipher adds a few bytes.
    assert 960_000 <= figures["stored_bytes_per_minute"] < 961_000
