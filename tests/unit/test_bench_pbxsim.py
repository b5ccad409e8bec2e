"""The simulator benchmark runs end to end at a small size and reports its figures.

Only that the figures are there and consistent is checked: how fast they are is
the benchmark's business, not a test's."""

from __future__ import annotations

from callcenter.bench.pbxsim import bench_scenario, run


def test_the_bench_scenario_has_the_asked_rate_and_phones() -> None:
    scenario = bench_scenario(calls_per_s=500, seconds=10, phones=5000, seed=1)
    assert sum(scenario.rates_per_s(["bench"]).values()) == 500
    assert len(scenario.own_phones()) == 5000
    assert scenario.duration_s == 10


def test_a_small_bench_run_answers_every_call_and_reports_json_figures() -> None:
    result = run(calls_per_s=40, phones=100, seconds=1, seed=3)
    assert result["benchmark"] == "pbxsim"
    assert result["phones"] == 100
    assert result["calls_placed"] > 0
    assert result["calls_answered"] == result["calls_placed"]
    assert result["offers_failed"] == 0
    assert result["calls_left_active"] == 0
    assert result["events"] > 20 * result["calls_placed"]
    for key in ("achieved_calls_per_s", "events_per_s", "sim_cpu_s_per_s", "sim_peak_rss_mb"):
        assert result[key] > 0, key
