"""``callcenter bench history``: the figures come from a writer that wrote every call."""

from __future__ import annotations

from callcenter.bench.history import STEPS_PER_CALL, run


def test_history_bench_writes_every_call_and_reports_its_cost() -> None:
    result = run(calls=30, databases=["sqlite"])
    figures = result["results"]["sqlite"]
    assert figures["records_closed"] == 30
    assert figures["steps"] == 30 * STEPS_PER_CALL
    assert figures["cpu_ms_per_call"] > 0 and figures["calls_per_s"] > 0
