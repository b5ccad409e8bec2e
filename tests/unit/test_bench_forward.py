"""`callcenter bench forward` times API requests sent to the leader directly and
through a node that does not lead; every one must be answered by the leader
(times are not asserted, only that they exist)."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from callcenter.cli import app


def test_bench_forward_has_every_request_answered_through_the_other_node() -> None:
    result = CliRunner().invoke(app, ["bench", "forward", "--json", "--requests", "20"])
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    assert figures["benchmark"] == "forward" and figures["requests"] == 20
    assert figures["forwarded_p99_ms"] >= figures["forwarded_p50_ms"] > 0
    assert figures["direct_p99_ms"] >= figures["direct_p50_ms"] > 0
    assert figures["forwarded_per_s"] > 0
