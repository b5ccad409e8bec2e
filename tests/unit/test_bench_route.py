"""`callcenter bench route` at a tiny size: the steady state is what it claims, the
JSON has its figures, and the naive router decided exactly as the fast one did.

Timings are never asserted: how fast the router is, is the benchmark's business."""

from __future__ import annotations

import json
from typing import Any

import pytest
from typer.testing import CliRunner

from callcenter.bench import route
from callcenter.cli import app
from routing import Router

AGENTS, SKILLS, CALLS = 200, 20, 50

RESULT_FIGURES = (
    "p50_us",
    "p99_us",
    "naive_p99_us",
    "bytes_per_agent",
    "bytes_per_call",
    "arrival_p50_us",
    "arrival_p99_us",
    "ready_p50_us",
    "ready_p99_us",
    "cpu_p50_us",
    "cpu_p99_us",
    "naive_p50_us",
    "naive_arrival_p99_us",
    "naive_ready_p99_us",
)


@pytest.fixture(scope="module")
def result() -> dict[str, Any]:
    return route.run([AGENTS], skills=SKILLS, calls=CALLS, samples=300, naive_samples=30, seed=5)


def test_the_layout_has_a_queue_per_skill_and_quiet_and_swamped_lines() -> None:
    layout = route.build_layout(SKILLS, seed=5)
    assert len(layout.rules.queues) == SKILLS
    assert {q.name for q in layout.rules.queues} == set(layout.swamped) | set(layout.quiet)
    assert layout.quiet and layout.swamped
    assert not set(layout.quiet) & set(layout.swamped)
    strategies = {q.strategy for q in layout.rules.queues}
    assert len(strategies) >= 3
    assert any(q.steps for q in layout.rules.queues)


def test_the_steady_state_has_every_caller_waiting_and_no_pair_left() -> None:
    layout = route.build_layout(SKILLS, seed=5)
    size = route._Size(layout, AGENTS, CALLS, seed=5)
    router = Router(layout.rules)
    for event in size.setup_events():
        assert event.to(router).decisions == ()
    assert len(router.waiting) == CALLS
    assert size.ready, "some agents are Ready"
    assert all(router.is_available(agent_id) for agent_id in size.ready)
    assert router.tick(route.T0).decisions == ()


def test_a_tiny_run_reports_positive_figures_as_json(result: dict[str, Any]) -> None:
    assert result["benchmark"] == "route"
    assert (result["skills"], result["calls"], result["samples"]) == (SKILLS, CALLS, 300)
    json.dumps(result)  # plain JSON values only
    (figures,) = result["results"]
    assert figures["agents"] == AGENTS
    for key in RESULT_FIGURES:
        assert isinstance(figures[key], float), key
        assert figures[key] > 0, key
    assert figures["samples"] == 300
    assert figures["waiting_calls"] == CALLS
    assert figures["ready_agents_after"] == figures["ready_agents"] > 0
    # the samples are decisions: arrivals and agents becoming Ready both make offers
    assert 0 < figures["arrival_offer_share"] <= 1
    assert 0 < figures["ready_offer_share"] <= 1
    assert set(result["targets"]) == {"p99_us_at_10000_lt_100", "p99_100000_within_3x_of_1000"}
    assert all(value is None for value in result["targets"].values())  # sizes not run


def test_the_naive_router_made_the_same_decisions(result: dict[str, Any]) -> None:
    (figures,) = result["results"]
    assert figures["naive_samples"] == 30
    assert figures["same_decisions"] is True


def test_the_same_seed_makes_the_same_decisions(result: dict[str, Any]) -> None:
    again = route.run([AGENTS], skills=SKILLS, calls=CALLS, samples=300, naive_samples=30, seed=5)
    assert again["results"][0]["decisions_digest"] == result["results"][0]["decisions_digest"]
    other = route.run([AGENTS], skills=SKILLS, calls=CALLS, samples=300, naive_samples=30, seed=6)
    assert other["results"][0]["decisions_digest"] != result["results"][0]["decisions_digest"]


def test_targets_are_computed_from_the_figures_not_asserted() -> None:
    rows = [
        {"agents": 1_000, "p99_us": 40.0},
        {"agents": 10_000, "p99_us": 90.0},
        {"agents": 100_000, "p99_us": 130.0},
    ]
    assert route.targets(rows) == {
        "p99_us_at_10000_lt_100": True,
        "p99_100000_within_3x_of_1000": False,
    }


def test_the_command_prints_one_json_object() -> None:
    args = ["bench", "route", "--json", "--sizes", str(AGENTS), "--skills", str(SKILLS)]
    args += ["--calls", str(CALLS), "--samples", "100", "--naive-samples", "10", "--seed", "3"]
    outcome = CliRunner().invoke(app, args)
    assert outcome.exit_code == 0, outcome.output
    printed = json.loads(outcome.stdout)
    assert [r["agents"] for r in printed["results"]] == [AGENTS]
    assert printed["results"][0]["same_decisions"] is True
    assert printed["naive_samples"] == 10


def test_the_command_without_json_prints_a_table_too() -> None:
    args = ["bench", "route", "--sizes", f"{AGENTS},{AGENTS * 2}", "--skills", str(SKILLS)]
    args += ["--calls", str(CALLS), "--samples", "20", "--naive-samples", "0"]
    outcome = CliRunner().invoke(app, args)
    assert outcome.exit_code == 0, outcome.output
    head, _, rest = outcome.stdout.partition("\n{")
    assert "p99 us" in head and "targets:" in head
    printed = json.loads("{" + rest)
    assert [r["agents"] for r in printed["results"]] == [AGENTS, AGENTS * 2]
    assert printed["results"][0]["naive_p99_us"] is None
    assert printed["results"][0]["same_decisions"] is None


def test_bad_sizes_are_refused() -> None:
    outcome = CliRunner().invoke(app, ["bench", "route", "--sizes", "1000,lots"])
    assert outcome.exit_code != 0
